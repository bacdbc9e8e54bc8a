//===- Pipelines.cpp - The named attnc pipelines ---------------*- C++ -*-===//
//
// `attnc-default-pipeline`: the one sequence that the driver, the Python
// package and the tests run, built from an options struct.
//
//===----------------------------------------------------------------------===//

#include "attnc/Passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::buildDefaultPipeline(OpPassManager &pm,
                                      const PipelineOptions &options) {
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createAttnResolveReshapes());
  funcPm.addPass(createCanonicalizerPass());
  if (options.fuse) {
    funcPm.addPass(createAttnLiftHeadMerges());
    AttnFuseAttentionOptions fuseOptions;
    fuseOptions.report = options.fusionReport;
    funcPm.addPass(createAttnFuseAttention(fuseOptions));
    // Head merges read their extents off attention's output, which
    // extentOf follows through attn.sdpa.
    funcPm.addPass(createAttnResolveReshapes());
    AttnFuseNormActOptions normActOptions;
    normActOptions.report = options.fusionReport;
    funcPm.addPass(createAttnFuseNormAct(normActOptions));
    AttnFuseEpiloguesOptions epilogueOptions;
    epilogueOptions.report = options.fusionReport;
    funcPm.addPass(createAttnFuseEpilogues(epilogueOptions));
    funcPm.addPass(createCanonicalizerPass());
  }
  if (!options.attentionProbs.empty()) {
    std::vector<std::string> ops(options.attentionProbs.begin(),
                                 options.attentionProbs.end());
    AttnExposeProbsOptions probsOptions;
    probsOptions.ops = ops;
    pm.addPass(createAttnExposeProbs(probsOptions));
  }
  OpPassManager &tailPm = pm.nest<func::FuncOp>();
  tailPm.addPass(createCSEPass());
  AttnTileOptions tileOptions;
  tileOptions.target = options.target;
  tileOptions.bf16 = options.bf16;
  tileOptions.weightsParam = options.weightsParam;
  tailPm.addPass(createAttnTile(tileOptions));
  AttnPackWeightsOptions packOptions;
  packOptions.weightsParam = options.weightsParam;
  packOptions.releaseSources = options.releasePackedSources;
  pm.addPass(createAttnPackWeights(packOptions));
}

void mlir::attn::registerAttncPasses() {
  registerAttnPasses();
  PassPipelineRegistration<PipelineOptions>(
      "attnc-default-pipeline",
      "Canonicalize, fuse attention, and schedule every op for a target",
      buildDefaultPipeline);
}
