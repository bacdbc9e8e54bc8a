//===- PrebuiltRuntime.h - Halide runtimes compiled at build time -*- C++
//-*-===//
//
// The kernels of a program are compiled without Halide's runtime and share
// one copy of it. Its code depends on the architecture, the operating
// system and the non-instruction-set features of the target (GPU APIs,
// profiling, tracing, sanitizers), not on the instruction sets the kernels
// use, which the kernels check themselves at run time. attnc's build
// compiles it for the base CPU targets (runtime/GenerateRuntime.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_HALIDE_PREBUILTRUNTIME_H
#define ATTNC_TARGET_HALIDE_PREBUILTRUNTIME_H

#include <cstddef>

namespace mlir::attn::halide {

/// One runtime object embedded in attnc.
struct PrebuiltRuntime {
  /// Its Halide target, such as "x86-64-linux".
  const char *target;
  const char *begin, *end;
};

extern const PrebuiltRuntime kPrebuiltRuntimes[];
extern const size_t kNumPrebuiltRuntimes;

} // namespace mlir::attn::halide

#endif // ATTNC_TARGET_HALIDE_PREBUILTRUNTIME_H
