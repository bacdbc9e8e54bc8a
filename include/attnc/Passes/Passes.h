//===- Passes.h - attn dialect passes and pipelines -------------*- C++ -*-===//
//
// Declarations of the attn passes and of the named pipeline that the driver,
// the Python package and the tests all run.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_PASSES_PASSES_H
#define ATTNC_PASSES_PASSES_H

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include <memory>
#include <string>

namespace mlir::attn {

#define GEN_PASS_DECL
#include "attnc/Passes/Passes.h.inc"

/// Options of the `attnc-default-pipeline`.
struct PipelineOptions : public PassPipelineOptions<PipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Halide target string the schedules are chosen for"),
      llvm::cl::init("x86-64-linux-avx512")};
  Option<bool> fuse{*this, "fuse",
                    llvm::cl::desc("Fuse attention into attn.sdpa"),
                    llvm::cl::init(true)};
  Option<bool> fusionReport{
      *this, "fusion-report",
      llvm::cl::desc("Remark on every fusion candidate: fused, or why not"),
      llvm::cl::init(false)};
  Option<bool> bf16{
      *this, "bf16",
      llvm::cl::desc("Products of attention and of matmuls with constant "
                     "weights in bfloat16 with float32 accumulation"),
      llvm::cl::init(false)};
  Option<bool> weightsParam{
      *this, "weights-param",
      llvm::cl::desc("Constants are filled in at run time (attnc "
                     "--weights=param)"),
      llvm::cl::init(false)};
  Option<bool> releasePackedSources{
      *this, "release-packed-sources",
      llvm::cl::desc("attn-pack-weights frees the weights it re-lays out "
                     "(the module shares its constants with no clone)"),
      llvm::cl::init(false)};
  ListOption<std::string> attentionProbs{
      *this, "attention-probs",
      llvm::cl::desc("Also return the probabilities of these attention ops "
                     "(node names or parts of them; 'all')")};
};

/// Appends the default pipeline: canonicalize, fuse, canonicalize, tile.
void buildDefaultPipeline(OpPassManager &pm, const PipelineOptions &options);

/// Registers every attn pass and the `attnc-default-pipeline`.
void registerAttncPasses();

#define GEN_PASS_REGISTRATION
#include "attnc/Passes/Passes.h.inc"

} // namespace mlir::attn

#endif // ATTNC_PASSES_PASSES_H
