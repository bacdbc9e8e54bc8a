//===- HeadMerges.cpp - Attention written over merged batch and heads ----===//
//
// Some models compute attention over batch and heads merged into one axis:
// DeBERTa-v2 reshapes Q, K and V from [B, H, S, D] to [B·H, S, D], takes
// both products as rank-3 batched products, and reshapes the scores to
// [B, H, S, S] only around the mask and the softmax, and back to
// [B·H, S, S] for the product with V. Written that way the scores' product
// reads no heads, the mask broadcast over heads has nothing to reach, and
// the probabilities have a reshape and the Shape ops sizing it as users.
//
// liftHeadMerges moves the merge after the ops that do not care about it,
// so that the split after them meets the merge and both vanish:
//
//   merge(X) @ merge(Y)          -> merge(X @ Y)    (same head extent)
//   transpose(merge(Y), [0,2,1]) -> merge(transpose(Y, [0,1,3,2]))
//   merge(Y) op scalar           -> merge(Y op scalar)
//   split(a + b), a = merge(X)   -> X + split(b)
//   split(merge(X))              -> X               (same head extent)
//
// where merge(X) is a reshape of a rank-4 X [A, B, M, N] to [A·B, M, N] and
// split(Z) a reshape of a rank-3 Z [C, M, N] to [P, Q, M, N]: reshapes that
// keep the two innermost extents (the graph proves them equal: extentOf).
// What is left of the merges is dead or feeds other consumers (DeBERTa's
// position terms, which stay rank-3 and are split once, as an additive
// bias).
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

bool isReshape(Operation *op) {
  return op && isa<ReshapeOp, ReshapeDynamicOp>(op);
}

/// Whether the reshape `r` keeps the two innermost extents of its input,
/// from rank `from` to rank `to`.
bool keepsInner(Operation *r, int64_t from, int64_t to) {
  if (!isReshape(r))
    return false;
  Value in = r->getOperand(0), out = r->getResult(0);
  if (typeOf(in).getRank() != from || typeOf(out).getRank() != to)
    return false;
  for (int64_t k = 1; k <= 2; ++k)
    if (!(extentOf(out, to - k) == extentOf(in, from - k)))
      return false;
  return true;
}

/// X when `v` is merge(X): X [A, B, M, N] reshaped to [A·B, M, N].
Value mergedFrom(Value v) {
  Operation *r = v.getDefiningOp();
  return keepsInner(r, 4, 3) ? r->getOperand(0) : Value();
}

/// Whether `r` is split(Z): Z [C, M, N] reshaped to [P, Q, M, N].
bool isSplit(Operation *r) { return keepsInner(r, 3, 4); }

/// merge(x) of type `type`: the two leading axes of the rank-4 `x` as one.
Value buildMerge(OpBuilder &b, Location loc, Value x, Type type) {
  auto i64 = b.getI64Type();
  auto one = RankedTensorType::get({1}, i64);
  Value inferred = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(one, b.getI64IntegerAttr(-1).getValue()));
  // One entry per extent, each read off its own axis (as extentOf reads
  // a shape back).
  SmallVector<Value> entries = {inferred};
  for (int64_t axis : {2, 3})
    entries.push_back(b.create<ShapeOp>(loc, one, x, b.getI64IntegerAttr(axis),
                                        b.getI64IntegerAttr(axis + 1),
                                        nullptr));
  Value shape = b.create<ConcatOp>(loc, RankedTensorType::get({3}, i64),
                                   entries, b.getI64IntegerAttr(0), nullptr);
  return b.create<ReshapeDynamicOp>(loc, type, x, shape,
                                    /*allowzero=*/nullptr, nullptr);
}

int64_t broadcastDim(int64_t a, int64_t b) {
  if (a == 1)
    return b;
  if (b == 1 || a == b)
    return a;
  return ShapedType::kDynamic;
}

bool isScalarLike(Value v) {
  auto t = typeOf(v);
  return t.hasStaticShape() && t.getNumElements() == 1;
}

/// One rewrite at `op`, or failure where none applies.
LogicalResult liftAt(Operation *op) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    Value x = mergedFrom(mm.getLhs()), y = mergedFrom(mm.getRhs());
    if (!x || !y || !(extentOf(x, 1) == extentOf(y, 1)))
      return failure();
    auto tx = typeOf(x), ty = typeOf(y);
    auto type =
        RankedTensorType::get({broadcastDim(tx.getDimSize(0), ty.getDimSize(0)),
                               broadcastDim(tx.getDimSize(1), ty.getDimSize(1)),
                               tx.getDimSize(2), ty.getDimSize(3)},
                              typeOf(mm.getResult()).getElementType());
    Value product = b.create<MatMulOp>(loc, type, x, y, nullptr);
    mm.getResult().replaceAllUsesWith(
        buildMerge(b, loc, product, mm.getResult().getType()));
    return success();
  }
  if (auto t = dyn_cast<TransposeOp>(op)) {
    Value y = mergedFrom(t.getInput());
    if (!y || t.getPerm() != ArrayRef<int64_t>{0, 2, 1})
      return failure();
    Value swapped = swapLast(b, loc, y);
    t.getResult().replaceAllUsesWith(
        buildMerge(b, loc, swapped, t.getResult().getType()));
    return success();
  }
  if (isa<AddOp, SubOp, MulOp, DivOp>(op)) {
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    Value y = mergedFrom(lhs);
    int64_t merged = 0;
    if (!y || !isScalarLike(rhs)) {
      y = mergedFrom(rhs);
      merged = 1;
      if (!y || !isScalarLike(lhs))
        return failure();
    }
    auto ty = typeOf(y);
    Operation *inner = b.clone(*op);
    inner->setOperand(merged, y);
    inner->getResult(0).setType(RankedTensorType::get(
        ty.getShape(), typeOf(op->getResult(0)).getElementType()));
    op->getResult(0).replaceAllUsesWith(
        buildMerge(b, loc, inner->getResult(0), op->getResult(0).getType()));
    return success();
  }
  if (!isSplit(op))
    return failure();
  Value z = op->getOperand(0), split = op->getResult(0);
  if (Value x = mergedFrom(z)) {
    if (!(extentOf(split, 1) == extentOf(x, 1)))
      return failure();
    // The split's type may be less refined than x's; a copy of every axis
    // keeps the users' types until the canonicalizer refines them.
    split.replaceAllUsesWith(
        b.create<ReshapeOp>(loc, split.getType(), x,
                            b.getDenseI64ArrayAttr({0, 0, 0, 0}), nullptr)
            .getResult());
    return success();
  }
  // split(a + b) with a = merge(X): X + split(b'), b' = Expand(b, Shape(a))
  // (ONNX's two-way broadcast: the sum's shape). Where a broadcasts
  // (extents of 1), so does X. Shape ops reading the sum read b' instead,
  // so that the sum itself goes dead.
  auto add = z.getDefiningOp<AddOp>();
  if (!add || !llvm::all_of(add->getUsers(), [&](Operation *user) {
        return user == op || isa<ShapeOp>(user);
      }))
    return failure();
  for (int64_t m = 0; m < 2; ++m) {
    Value a = add->getOperand(m), other = add->getOperand(1 - m);
    Value x = mergedFrom(a);
    if (!x || !(extentOf(split, 1) == extentOf(x, 1)) ||
        typeOf(other).getRank() != 3)
      continue;
    bool same = true;
    for (int64_t k = 0; k < 3; ++k)
      same &= extentOf(other, k) == extentOf(a, k);
    Value full = other;
    if (!same) {
      // Right after the sum: its shape readers come before the split.
      OpBuilder eb(add->getContext());
      eb.setInsertionPointAfter(add);
      // Shape(a) read off x, [A·B, M, N], so that nothing reads a.
      auto one = RankedTensorType::get({1}, eb.getI64Type());
      auto extent = [&](int64_t axis) -> Value {
        return eb.create<ShapeOp>(loc, one, x, eb.getI64IntegerAttr(axis),
                                  eb.getI64IntegerAttr(axis + 1), nullptr);
      };
      Value rows = eb.create<MulOp>(loc, one, extent(0), extent(1), nullptr);
      Value shape =
          eb.create<ConcatOp>(loc, RankedTensorType::get({3}, eb.getI64Type()),
                              ValueRange{rows, extent(2), extent(3)},
                              eb.getI64IntegerAttr(0), nullptr);
      full = eb.create<ExpandOp>(loc, z.getType(), other, shape, nullptr);
    }
    for (Operation *user : llvm::make_early_inc_range(add->getUsers())) {
      auto reader = dyn_cast<ShapeOp>(user);
      if (!reader)
        continue;
      OpBuilder rb(reader);
      Value read = rb.create<ShapeOp>(reader.getLoc(), reader.getType(), full,
                                      reader.getStartAttr(),
                                      reader.getEndAttr(), nullptr);
      reader.getResult().replaceAllUsesWith(read);
      reader.erase();
    }
    Operation *otherSplit = b.clone(*op);
    otherSplit->setOperand(0, full);
    Value lifted = b.create<ReshapeOp>(
        loc, split.getType(), x, b.getDenseI64ArrayAttr({0, 0, 0, 0}), nullptr);
    Value sum = b.create<AddOp>(
        loc, split.getType(), m == 0 ? lifted : otherSplit->getResult(0),
        m == 0 ? otherSplit->getResult(0) : lifted, nullptr);
    split.replaceAllUsesWith(sum);
    return success();
  }
  return failure();
}

} // namespace

bool mlir::attn::fusion::liftHeadMerges(Operation *root) {
  bool changed = false;
  // Each rewrite replaces an op by ops after the merges it read; sweeping
  // in program order until nothing applies reaches the splits.
  for (int sweep = 0; sweep < 8; ++sweep) {
    SmallVector<Operation *> ops;
    root->walk([&](Operation *op) {
      if (isa<MatMulOp, TransposeOp, AddOp, SubOp, MulOp, DivOp, ReshapeOp,
              ReshapeDynamicOp>(op))
        ops.push_back(op);
    });
    bool any = false;
    for (Operation *op : ops) {
      if (op->use_empty() || failed(liftAt(op)))
        continue;
      any = true;
      op->erase();
    }
    if (!any)
      break;
    changed = true;
  }
  if (changed)
    eraseDeadAttnOps(root);
  return changed;
}
