//===- Linking.cpp - Shared libraries and combined objects ------*- C++ -*-===//
//
// The external tools attnc runs on objects it wrote: the C++ compiler
// driver that links shared libraries, and binutils' `ld -r`, which combines
// a program's objects into one.
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

namespace mlir::attn::halide {

/// Finds the C++ compiler that links shared libraries for `target`.
std::string linkerFor(const Halide::Target &target) {
  bool hostIsArm = Halide::get_host_target().arch == Halide::Target::ARM;
  if (target.arch == Halide::Target::ARM && !hostIsArm) {
    if (auto p = llvm::sys::findProgramByName("aarch64-linux-gnu-g++"))
      return *p;
    return "";
  }
  for (const char *name : {"c++", "g++", "clang++"})
    if (auto p = llvm::sys::findProgramByName(name))
      return *p;
  return "";
}

/// Links `objects` into the shared library `path` with the C++ compiler.
LogicalResult linkSharedLibrary(Location loc, const Halide::Target &target,
                                llvm::ArrayRef<std::string> objects,
                                const std::string &path,
                                const ScratchDir &scratch) {
  std::string linker = linkerFor(target);
  if (linker.empty())
    return emitError(loc) << "no C++ compiler found to link a shared "
                             "library for "
                          << target.to_string()
                          << (target.arch == Halide::Target::ARM
                                  ? " (install g++-aarch64-linux-gnu)"
                                  : "");
  std::string errorLog = scratch.file("link.log");
  llvm::SmallVector<llvm::StringRef> argv = {linker, "-shared", "-o", path};
  // LLVM's linker where it is installed (for the host's own compiler; a
  // cross compiler's driver looks for a prefixed one): it maps the objects
  // and copies the weights once, in parallel, where binutils' takes about
  // twice as long on a model's hundreds of megabytes.
  bool cross = target.arch != Halide::get_host_target().arch;
  if (!cross && llvm::sys::findProgramByName("ld.lld"))
    argv.push_back("-fuse-ld=lld");
  argv.append(objects.begin(), objects.end());
  argv.append({"-lpthread", "-ldl", "-lm"});
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, errorLog,
                                                errorLog};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0,
                                     0, &message);
  if (rc != 0) {
    auto log = llvm::MemoryBuffer::getFile(errorLog);
    return emitError(loc) << "linking the shared library with " << linker
                          << " failed"
                          << (message.empty() ? "" : ": " + message)
                          << (log ? ("\n" + (*log)->getBuffer()).str() : "");
  }
  return success();
}

/// The linker that combines objects for `target` into one (`ld -r`):
/// binutils' own, else the C++ compiler's driver.
std::string relocatableLinkerFor(const Halide::Target &target, bool &driver) {
  bool hostIsArm = Halide::get_host_target().arch == Halide::Target::ARM;
  const char *ld = target.arch == Halide::Target::ARM && !hostIsArm
                       ? "aarch64-linux-gnu-ld"
                       : "ld";
  driver = false;
  if (auto p = llvm::sys::findProgramByName(ld))
    return *p;
  driver = true;
  return linkerFor(target);
}

/// Links `objects` into one relocatable object `path`.
LogicalResult linkObject(Location loc, const Halide::Target &target,
                         llvm::ArrayRef<std::string> objects,
                         const std::string &path, const ScratchDir &scratch) {
  bool driver = false;
  std::string linker = relocatableLinkerFor(target, driver);
  if (linker.empty())
    return emitError(loc) << "no linker (ld) found to combine the kernels "
                             "into one object for "
                          << target.to_string();
  std::string errorLog = scratch.file("link-r.log");
  llvm::SmallVector<llvm::StringRef> argv = {linker, "-r"};
  if (driver)
    argv.push_back("-nostdlib");
  argv.append({"-o", path});
  argv.append(objects.begin(), objects.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, errorLog,
                                                errorLog};
  std::string message;
  if (llvm::sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0, 0,
                                &message) != 0) {
    auto log = llvm::MemoryBuffer::getFile(errorLog);
    return emitError(loc) << "combining the kernels with " << linker
                          << " failed"
                          << (message.empty() ? "" : ": " + message)
                          << (log ? ("\n" + (*log)->getBuffer()).str() : "");
  }
  return success();
}

} // namespace mlir::attn::halide
