//===- AttnOps.h - attn dialect operations and attributes -------*- C++ -*-===//
//
// Operation and attribute classes of the attn dialect, generated from
// AttnOps.td, plus the helpers their definitions share.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_IR_ATTNOPS_H
#define ATTNC_DIALECT_ATTN_IR_ATTNOPS_H

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "attnc/Dialect/Attn/IR/AttnEnums.h.inc"

namespace mlir::attn {

/// Under `attnc --weights=param`, constants of more elements than this are
/// inputs of the generated code, filled in at run time; smaller ones, and
/// boolean ones, are compiled in.
constexpr int64_t kMaxCompiledInWeightElements = 64;

/// True when `v` is a floating-point or 8-bit integer attn.constant of
/// static shape whose
/// data the compiler may re-lay out: compiled in, not filled in at run time
/// (see kMaxCompiledInWeightElements).
bool isCompiledInWeight(Value v, bool weightsParam);

/// Checks an op's #attn.schedule against the op: the kind is one the op
/// has, and its tiles and the op's types are what that kind needs. Run by
/// every attn op's verifier (the ScheduledOp trait).
LogicalResult verifyScheduleOf(Operation *op);

/// Parses `[a, b, ...]` for the `tiles` field of #attn.schedule.
FailureOr<SmallVector<int64_t>> parseTileList(AsmParser &parser);
/// Prints the `tiles` field of #attn.schedule as `[a, b, ...]`.
void printTileList(AsmPrinter &printer, ArrayRef<int64_t> tiles);

/// Computes the numpy broadcast of two shapes. Dynamic extents broadcast
/// with 1 to themselves and must otherwise agree; returns failure when a
/// static pair disagrees, with the offending axis (counted from the right)
/// in `badAxis` when it is non-null.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                ArrayRef<int64_t> rhs,
                                                int64_t *badAxis = nullptr);

/// Makes `name` a C identifier (other characters become `_`, a leading digit
/// gets a `_` before it): ONNX names become the parameter and entry-point
/// names of the generated header.
std::string toCIdentifier(llvm::StringRef name);

} // namespace mlir::attn

namespace mlir::OpTrait::attn {
/// Verifies the op's schedule (mlir::attn::verifyScheduleOf).
template <typename ConcreteType>
class ScheduledOp : public TraitBase<ConcreteType, ScheduledOp> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return ::mlir::attn::verifyScheduleOf(op);
  }
};
} // namespace mlir::OpTrait::attn

#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/IR/AttnAttrs.h.inc"

#define GET_OP_CLASSES
#include "attnc/Dialect/Attn/IR/AttnOps.h.inc"

#endif // ATTNC_DIALECT_ATTN_IR_ATTNOPS_H
