//===- FoldWeights.h - Computations on weights alone, at compile time -----===//
//
// Internal to lib/Driver (FoldWeights.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DRIVER_FOLDWEIGHTS_H
#define ATTNC_DRIVER_FOLDWEIGHTS_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::attn {

/// Replaces the costly computations of `module`'s functions that read only
/// constants (products, norms, reductions, softmaxes, convolutions on
/// weights) by constants holding their results, computed once through the
/// JIT for `target` (a resolved Halide target of this machine); `folded`
/// counts the values replaced.
LogicalResult foldWeightComputations(ModuleOp module, const std::string &target,
                                     int64_t *folded = nullptr);

} // namespace mlir::attn

#endif // ATTNC_DRIVER_FOLDWEIGHTS_H
