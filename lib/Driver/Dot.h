//===- Dot.h - The attn graph as Graphviz DOT -------------------*- C++ -*-===//
//
// Internal to lib/Driver.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_DRIVER_DOT_H
#define ATTNC_LIB_DRIVER_DOT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::attn {

/// Writes every function of `module` as a Graphviz digraph: ops as nodes
/// (fused ones filled), uses as edges; constants are left out.
void writeDot(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::attn

#endif // ATTNC_LIB_DRIVER_DOT_H
