//===- MultiTarget.cpp - Libraries for several targets ----------*- C++ -*-===//
//
// One variant of the model per target, each compiled as one pipeline, and
// a dispatcher that picks the best variant the running CPU supports.
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

/// The name of the variant of `function` for `target`: its features past
/// arch-bits-os (`model_avx512_avx2...`), or `baseline`.
std::string variantName(const std::string &function,
                        const Halide::Target &target) {
  Halide::Target bare(target.os, target.arch, target.bits);
  std::string full =
                  target.without_feature(Halide::Target::NoRuntime).to_string(),
              prefix = bare.to_string();
  std::string features = full.size() > prefix.size()
                             ? full.substr(prefix.size() + 1)
                             : std::string("baseline");
  return cIdentifier(function + "_" + features);
}

/// The features of `target` as the bit words halide_can_use_target_features
/// takes.
std::vector<uint64_t> featureWords(const Halide::Target &target) {
  std::vector<uint64_t> words((Halide::Target::FeatureEnd + 63) / 64, 0);
  for (int f = 0; f < Halide::Target::FeatureEnd; ++f)
    if (target.has_feature(static_cast<Halide::Target::Feature>(f)))
      words[f / 64] |= uint64_t(1) << (f % 64);
  return words;
}

/// The dispatching entry point: on its first call it asks the runtime,
/// target by target, whether the CPU has the target's features, and calls
/// (and remembers) the first variant that can run; its result is the
/// variant's.
Halide::Module dispatchModule(
    const std::string &function, const Halide::Target &base,
    const std::vector<Halide::Internal::LoweredArgument> &args,
    const std::vector<std::pair<Halide::Target, std::string>> &variants) {
  using namespace Halide::Internal;
  std::vector<Halide::Expr> choices;
  for (size_t i = 0; i < variants.size(); ++i) {
    Halide::Expr usable = Halide::Expr(1);
    if (i + 1 < variants.size()) {
      std::vector<Halide::Expr> words;
      for (uint64_t w : featureWords(variants[i].first))
        words.push_back(UIntImm::make(Halide::UInt(64), w));
      usable =
          Call::make(Halide::Int(32), "halide_can_use_target_features",
                     {static_cast<int>(words.size()),
                      Call::make(Halide::type_of<uint64_t *>(),
                                 Call::make_struct, words, Call::Intrinsic)},
                     Call::Extern);
    }
    choices.push_back(usable != 0);
    choices.push_back(StringImm::make(variants[i].second));
  }
  Halide::Expr result =
      Call::make(Halide::Int(32), Call::call_cached_indirect_function, choices,
                 Call::Intrinsic);
  std::string resultName = function + "_variant_result";
  Halide::Expr resultVar = Variable::make(Halide::Int(32), resultName);
  Stmt body = AssertStmt::make(resultVar == 0, resultVar);
  body = LetStmt::make(resultName, result, body);
  // Asserts on: they carry the variant's error code back.
  Halide::Target target = base.with_feature(Halide::Target::NoRuntime)
                              .with_feature(Halide::Target::NoBoundsQuery)
                              .without_feature(Halide::Target::NoAsserts);
  Halide::Module module(function, target);
  module.append(LoweredFunc(function, args, body,
                            Halide::LinkageType::ExternalPlusMetadata));
  return module;
}

} // namespace

LogicalResult mlir::attn::emitHalideMultiTarget(
    llvm::ArrayRef<ModuleOp> modules, llvm::ArrayRef<std::string> targets,
    const HalideEmitOptions &options,
    llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files) {
  using Halide::OutputFileType;
  Location loc = ModuleOp(modules.front()).getLoc();
  for (const auto &[kind, path] : files)
    if (kind != ArtifactKind::StaticLibrary &&
        kind != ArtifactKind::SharedLibrary && kind != ArtifactKind::Header)
      return emitError(loc) << "several targets make one library: use "
                               "--emit=static-lib or --emit=shared-lib";
  std::vector<std::pair<std::string, std::string>> renames;
  LogicalResult status = guarded(loc, [&]() -> LogicalResult {
    ScratchDir scratch;
    if (scratch.path.empty())
      return emitError(loc) << "cannot create a temporary directory";
    std::vector<Lowered> lowered;
    for (size_t i = 0; i < modules.size(); ++i) {
      HalideEmitOptions variantOptions = options;
      variantOptions.target = targets[i];
      FailureOr<Lowered> l =
          buildPipelines(ModuleOp(modules[i]), variantOptions);
      if (failed(l))
        return failure();
      lowered.push_back(std::move(*l));
    }
    const Halide::Target base = lowered.back().target;
    const std::string function = lowered.back().name;
    for (const Lowered &l : lowered)
      if (l.target.os != base.os || l.target.arch != base.arch ||
          l.target.bits != base.bits)
        return emitError(loc)
               << "the targets of one library must share architecture and "
                  "operating system: "
               << l.target.to_string() << " and " << base.to_string();

    // Each variant without a runtime; one runtime with the features every
    // target has; the shapes pipeline once; the dispatcher.
    std::vector<std::string> objects;
    std::vector<std::pair<Halide::Target, std::string>> variants;
    std::vector<Halide::Internal::LoweredArgument> args;
    std::vector<uint64_t> common(featureWords(base).size(), ~uint64_t(0));
    for (Lowered &l : lowered) {
      std::string name = variantName(function, l.target);
      Halide::Target t = l.target.with_feature(Halide::Target::NoRuntime);
      Halide::Module m = l.builder->pipeline().compile_to_module(
          l.builder->arguments(), name, t);
      args = m.get_function_by_name(name).args;
      objects.push_back(scratch.file(name + ".o"));
      m.compile({{OutputFileType::object, objects.back()}});
      variants.push_back({l.target, name});
      std::vector<uint64_t> words = featureWords(l.target);
      for (size_t w = 0; w < words.size(); ++w)
        common[w] &= words[w];
    }
    PipelineBuilder &pb = *lowered.back().builder;
    Halide::Module shapes = pb.shapesPipeline().compile_to_module(
        pb.arguments(), function + "_output_shapes",
        base.with_feature(Halide::Target::NoRuntime));
    objects.push_back(scratch.file("shapes.o"));
    shapes.compile({{OutputFileType::object, objects.back()}});
    Halide::Target runtimeTarget(base.os, base.arch, base.bits);
    for (int f = 0; f < Halide::Target::FeatureEnd; ++f)
      if (f != Halide::Target::NoRuntime && (common[f / 64] >> (f % 64)) & 1)
        runtimeTarget.set_feature(static_cast<Halide::Target::Feature>(f));
    objects.push_back(scratch.file("runtime.o"));
    Halide::compile_standalone_runtime(objects.back(), runtimeTarget);
    objects.push_back(scratch.file("dispatch.o"));
    dispatchModule(function, base, args, variants)
        .compile({{OutputFileType::object, objects.back()}});

    for (const auto &[kind, path] : files) {
      std::string tmp = temporaryPath(path);
      renames.push_back({tmp, path});
      if (kind == ArtifactKind::StaticLibrary) {
        Halide::create_static_library(objects, base, tmp);
      } else if (kind == ArtifactKind::SharedLibrary) {
        if (failed(linkSharedLibrary(loc, base, objects, tmp, scratch)))
          return failure();
      } else {
        // Declarations only: the entry point as the variants take it, and
        // the shapes pipeline.
        Halide::Module header(function, base);
        header.append(Halide::Internal::LoweredFunc(
            function, args, {}, Halide::LinkageType::ExternalPlusMetadata));
        for (const auto &f : shapes.functions())
          header.append(f);
        header.compile({{OutputFileType::c_header, tmp}});
        if (failed(finishHeader(loc, tmp, path, options.headerPreamble)))
          return failure();
      }
    }
    return success();
  });
  if (failed(status)) {
    for (auto &[tmp, dst] : renames)
      llvm::sys::fs::remove(tmp);
    return failure();
  }
  return commitFiles(loc, renames);
}
