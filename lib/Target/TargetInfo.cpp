//===- TargetInfo.cpp - What the tiling pass knows of a target -*- C++ -*-===//
//
// Reads a Halide target string (`arch-bits-os[-feature...]`) into the few
// facts the tiling heuristics need.
//
//===----------------------------------------------------------------------===//

#include "attnc/Target/TargetInfo.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::attn;

FailureOr<TargetInfo> TargetInfo::fromHalideTarget(llvm::StringRef target) {
  llvm::SmallVector<llvm::StringRef> parts;
  target.split(parts, '-');
  if (parts.size() < 3)
    return failure();
  TargetInfo info;
  info.halideTarget = target.str();
  llvm::StringRef arch = parts[0];
  if (arch == "arm") {
    info.isArm = true;
    info.vectorBytes = 16;
    info.vectorRegisters = 32;
    info.l1Bytes = 64 * 1024;
    info.l2Bytes = 1024 * 1024;
  } else if (arch == "x86") {
    info.vectorBytes = 16;
  } else {
    return failure();
  }
  for (llvm::StringRef feature : llvm::ArrayRef(parts).drop_front(3)) {
    if (feature.starts_with("avx512")) {
      info.vectorBytes = 64;
      info.vectorRegisters = 32;
    } else if ((feature == "avx2" || feature == "avx") && info.vectorBytes < 32)
      info.vectorBytes = 32;
    else if (feature == "cuda" || feature.starts_with("cuda_capability"))
      info.isGpu = true;
  }
  return info;
}
