//===- Artifacts.h - What the artifact writers share ------------*- C++ -*-===//
//
// Internal to lib/Target/Halide: the lowered model, scratch folders,
// exceptions turned into diagnostics, linking and writing files.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_HALIDE_ARTIFACTS_H
#define ATTNC_LIB_TARGET_HALIDE_ARTIFACTS_H

#include "PipelineBuilder.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <memory>
#include <string>
#include <utility>

namespace mlir::attn::halide {

/// A lowered model: the Halide module and what the JIT needs.
struct Lowered {
  std::unique_ptr<PipelineBuilder> builder;
  Halide::Target target;
  /// The target CPU has AVX512-VNNI: kernels of 8-bit dot products are
  /// compiled with withVnni(target).
  bool vnni = false;
  std::string name;
};

/// The Halide target of a resolved target string (resolveHalideTarget),
/// without attnc's own features; `vnni` tells whether it has AVX512-VNNI.
Halide::Target halideTargetOf(llvm::StringRef resolved, bool *vnni = nullptr);
/// `t` with the Halide feature that enables its vpdpbusd patterns
/// (avx512_sapphirerapids): the target Halide writes the bitcode of a
/// kernel of 8-bit dot products for.
Halide::Target withVnni(Halide::Target t);
/// The LLVM CPU and features that bitcode is lowered for instead: those of
/// the AVX-512 target `t` (without Sapphire Rapids), and AVX512-VNNI.
std::pair<std::string, std::string> vnniMachine(const Halide::Target &t);

/// Builds the pipelines of the module's one function for `options`.
FailureOr<Lowered> buildPipelines(ModuleOp module,
                                  const HalideEmitOptions &options);
/// The Halide module of a whole-model pipeline and its `_output_shapes`.
Halide::Module toModule(Lowered &lowered);

/// Runs `body`, turning Halide's and the standard library's exceptions into
/// an error at `loc`.
template <typename Fn> LogicalResult guarded(Location loc, Fn body) {
  try {
    return body();
  } catch (const Halide::Error &e) {
    emitError(loc) << "Halide: " << e.what();
  } catch (const std::exception &e) {
    emitError(loc) << "code generation failed: " << e.what();
  }
  return failure();
}

/// A scratch directory removed on destruction.
struct ScratchDir {
  llvm::SmallString<128> path;
  ScratchDir() {
    if (llvm::sys::fs::createUniqueDirectory("attnc", path))
      path.clear();
  }
  ~ScratchDir() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

/// Finds the C++ compiler that links shared libraries for `target`.
std::string linkerFor(const Halide::Target &target);
/// Links `objects` into the shared library `path` with the C++ compiler.
LogicalResult linkSharedLibrary(Location loc, const Halide::Target &target,
                                llvm::ArrayRef<std::string> objects,
                                const std::string &path,
                                const ScratchDir &scratch);
/// Combines `objects` into the one object `path` (`ld -r`).
LogicalResult linkObject(Location loc, const Halide::Target &target,
                         llvm::ArrayRef<std::string> objects,
                         const std::string &path, const ScratchDir &scratch);
/// Writes one artifact into `path` (a temporary name) from the module.
LogicalResult writeArtifact(Location loc, Lowered &lowered,
                            Halide::Module &module, ArtifactKind kind,
                            const std::string &path, const ScratchDir &scratch);
/// Rewrites the header Halide wrote at `path` for `finalPath`.
LogicalResult finishHeader(Location loc, const std::string &path,
                           llvm::StringRef finalPath,
                           const std::string &preamble);
/// The name under which `path` is written before it is renamed into place.
std::string temporaryPath(const std::string &path);
/// Renames every temporary file into place; on failure removes them all.
LogicalResult
commitFiles(Location loc,
            llvm::ArrayRef<std::pair<std::string, std::string>> renames);
/// Concatenates `parts` into `path`.
LogicalResult concatenate(Location loc, llvm::ArrayRef<std::string> parts,
                          const std::string &path);

} // namespace mlir::attn::halide

#endif // ATTNC_LIB_TARGET_HALIDE_ARTIFACTS_H
