//===- Lowering.cpp - The model as Halide pipelines -------------*- C++ -*-===//
//
// Builds the PipelineBuilder of the module's one function for the target
// (optionally scheduled by a Halide autoscheduler instead of attnc's
// schedules), and the Halide module of a whole-model pipeline.
//
//===----------------------------------------------------------------------===//

#include "Artifacts.h"
#include "PipelineBuilder.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;

namespace {

/// The function to compile: the module's only func.func.
FailureOr<func::FuncOp> soleFunction(ModuleOp module) {
  func::FuncOp found;
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal() || fn->hasAttr("attn.kernel"))
      continue;
    if (found) {
      module.emitError("expects one function to compile, found '")
          << found.getSymName() << "' and '" << fn.getSymName() << "'";
      return failure();
    }
    found = fn;
  }
  if (!found) {
    module.emitError("expects a function to compile, found none");
    return failure();
  }
  return found;
}

/// Loads the plugin of Halide autoscheduler `name`, sets estimates on every
/// input and output from their static shapes, and schedules the pipeline.
LogicalResult runAutoscheduler(func::FuncOp fn, PipelineBuilder &pb,
                               const Halide::Target &target,
                               const std::string &name) {
  static const llvm::StringMap<const char *> plugins = {
      {"Adams2019", "libautoschedule_adams2019.so"},
      {"Li2018", "libautoschedule_li2018.so"},
      {"Mullapudi2016", "libautoschedule_mullapudi2016.so"}};
  auto plugin = plugins.find(name);
  if (plugin == plugins.end())
    return fn.emitError("unknown autoscheduler '")
           << name << "' (supported: Adams2019, Li2018, Mullapudi2016)";
  llvm::SmallString<256> path(ATTNC_HALIDE_PLUGIN_DIR);
  llvm::sys::path::append(path, plugin->second);
  if (!llvm::sys::fs::exists(path))
    return fn.emitError("the Halide autoscheduler plugin for '")
           << name << "' is not installed (looked for " << path << ")";
  // Adams2019's default beam search (32 states) exhausts memory on
  // attention pipelines; attnc runs it greedily unless told otherwise.
  if (name == "Adams2019")
    setenv("HL_BEAM_SIZE", "1", /*overwrite=*/0);
  static llvm::StringSet<> loaded;
  if (!loaded.contains(path)) {
    Halide::load_plugin(path.str().str());
    loaded.insert(path);
  }
  auto region = [](llvm::ArrayRef<int64_t> shape) {
    Halide::Region r;
    for (int64_t extent : llvm::reverse(shape))
      r.emplace_back(0, static_cast<int>(extent));
    return r;
  };
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
    auto ranked = cast<RankedTensorType>(type);
    if (!ranked.hasStaticShape())
      return fn.emitError("the autoscheduler needs static input shapes: "
                          "input ")
             << i << " ('" << pb.params[i].name() << "') has type " << ranked
             << "; pin it with --input-shape";
    pb.params[i].set_estimates(region(ranked.getShape()));
  }
  for (PipelineBuilder::Weight &w : pb.weights)
    w.param.set_estimates(region(w.shape));
  for (auto [out, shape] : llvm::zip(pb.outputs, pb.outputShapes)) {
    std::vector<int64_t> extents;
    for (const Halide::Expr &e : shape) {
      Halide::Expr simplified =
          Halide::Internal::simplify(Halide::cast<int64_t>(e));
      const int64_t *c = Halide::Internal::as_const_int(simplified);
      if (!c)
        return fn.emitError("the autoscheduler needs static output shapes: "
                            "output '")
               << out.name() << "' has an extent known only at run time";
      extents.push_back(*c);
    }
    out.set_estimates(region(extents));
  }
  Halide::MachineParams machine(
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
      32 * 1024 * 1024, 40);
  pb.pipeline().auto_schedule(name, target, machine);
  return success();
}

} // namespace

namespace mlir::attn::halide {

FailureOr<Lowered> buildPipelines(ModuleOp module,
                                  const HalideEmitOptions &options) {
  FailureOr<func::FuncOp> fn = soleFunction(module);
  if (failed(fn))
    return failure();
  FailureOr<std::string> targetString = resolveHalideTarget(options.target);
  if (failed(targetString)) {
    module.emitError("unknown Halide target '") << options.target << "'";
    return failure();
  }
  Lowered lowered;
  lowered.target = halideTargetOf(*targetString, &lowered.vnni);
  lowered.name = options.functionName.empty() ? fn->getSymName().str()
                                              : options.functionName;
  lowered.name = cIdentifier(lowered.name);
  bool autoschedule = !options.autoscheduler.empty();
  if (autoschedule)
    // The autoscheduler sees the plain algorithm: no op is register-blocked
    // or tiled by attnc.
    fn->walk([](Operation *op) { op->removeAttr("schedule"); });
  lowered.builder = std::make_unique<PipelineBuilder>(*fn);
  lowered.builder->progress = options.progress;
  lowered.builder->weightsAsParams = options.weightsAsParams;
  lowered.builder->applySchedules = !autoschedule;
  lowered.builder->kernelPrefix = lowered.name;
  if (failed(lowered.builder->build(lowered.target)))
    return failure();
  if (!lowered.builder->kernels.empty() && autoschedule)
    return fn->emitError("the autoscheduler schedules one pipeline: compile "
                         "the model without attn-outline-kernels");
  if (autoschedule &&
      failed(runAutoscheduler(*fn, *lowered.builder, lowered.target,
                              options.autoscheduler)))
    return failure();
  if (options.stage && lowered.builder->kernels.empty())
    options.stage("lowering the Halide pipeline and generating code");
  return lowered;
}

Halide::Module toModule(Lowered &lowered) {
  PipelineBuilder &pb = *lowered.builder;
  // One pipeline is lowered by Halide whole: its 8-bit dot products get
  // the target's generic code (vpdpbusd needs the program's own lowering of
  // their kernel, MachineCode.h).
  Halide::Module module = pb.pipeline().compile_to_module(
      pb.arguments(), lowered.name, lowered.target);
  Halide::Module shapes = pb.shapesPipeline().compile_to_module(
      pb.arguments(), lowered.name + "_output_shapes", lowered.target);
  for (const auto &f : shapes.functions())
    module.append(f);
  return module;
}

} // namespace mlir::attn::halide
