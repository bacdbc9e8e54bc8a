//===- TargetInfo.h - What the tiling pass knows of a target ----*- C++ -*-===//
//
// A target is described once, here, from its Halide target string: vector
// width, cache sizes, whether it is a GPU. The tiling pass reads this; the
// Halide emitter reads the schedules the pass wrote, never the target's
// features, so x86, ARM and CUDA differ in one place.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_TARGETINFO_H
#define ATTNC_TARGET_TARGETINFO_H

#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace mlir::attn {

/// The facts of a code generation target that schedules depend on.
struct TargetInfo {
  /// The Halide target string, e.g. `x86-64-linux-avx512`.
  std::string halideTarget;
  /// Width of one SIMD register in bytes (16 for SSE and NEON).
  int64_t vectorBytes = 16;
  /// Architectural SIMD registers (32 with AVX-512 and on AArch64).
  int64_t vectorRegisters = 16;
  /// Data cache sizes per core, in bytes.
  int64_t l1Bytes = 32 * 1024;
  int64_t l2Bytes = 1024 * 1024;
  /// True for CUDA targets: ops are mapped onto GPU blocks and threads.
  bool isGpu = false;
  /// True for 64-bit ARM.
  bool isArm = false;

  /// SIMD lanes for elements of `elementBytes` bytes.
  int64_t lanes(int64_t elementBytes) const {
    return vectorBytes / elementBytes;
  }

  /// Describes a concrete Halide target string (not `host`: resolve that
  /// first). Fails on strings whose architecture is not x86 or ARM.
  static FailureOr<TargetInfo> fromHalideTarget(llvm::StringRef target);
};

} // namespace mlir::attn

#endif // ATTNC_TARGET_TARGETINFO_H
