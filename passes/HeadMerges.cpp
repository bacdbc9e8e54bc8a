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
#include "attnc/Passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNLIFTHEADMERGES
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

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

/// Whether entry 0 of the target shape of the 4-to-3 reshape `r` is the
/// product of the extents of axes 0 and 1 of its input: a constant equal to
/// the static product, or a Mul of the two extents (BLOOM writes
/// `view(batch · heads, -1, head_dim)`).
bool leadsWithProduct(Operation *r) {
  Value in = r->getOperand(0);
  auto t = typeOf(in);
  Extent e0 = extentOf(in, 0), e1 = extentOf(in, 1);
  std::optional<int64_t> known;
  Value scalar;
  if (auto s = dyn_cast<ReshapeOp>(r))
    known = s.getShape().front();
  else
    std::tie(known, scalar) =
        shapeEntry(cast<ReshapeDynamicOp>(r).getShape(), 0);
  if (known)
    return !t.isDynamicDim(0) && !t.isDynamicDim(1) &&
           *known == t.getDimSize(0) * t.getDimSize(1);
  while (scalar && isa_and_nonnull<CastOp, ReshapeOp, ExpandDimsOp>(
                       scalar.getDefiningOp()))
    scalar = scalar.getDefiningOp()->getOperand(0);
  auto mul = scalar ? scalar.getDefiningOp<MulOp>() : MulOp();
  if (!mul)
    return false;
  std::optional<Extent> a = extentHeldBy(mul.getLhs()),
                        b = extentHeldBy(mul.getRhs());
  return a && b && ((*a == e0 && *b == e1) || (*a == e1 && *b == e0));
}

/// Whether `r` is merge(X): X [A, B, M, N] reshaped to [A·B, M, N], proven
/// by the two inner extents, or by the leading product and one inner extent
/// (the element count fixes the other).
bool isMerge(Operation *r) {
  if (keepsInner(r, 4, 3))
    return true;
  if (!isReshape(r) || typeOf(r->getOperand(0)).getRank() != 4 ||
      typeOf(r->getResult(0)).getRank() != 3)
    return false;
  Value in = r->getOperand(0), out = r->getResult(0);
  return (extentOf(out, 1) == extentOf(in, 2) ||
          extentOf(out, 2) == extentOf(in, 3)) &&
         leadsWithProduct(r);
}

/// X when `v` is merge(X).
Value mergedFrom(Value v) {
  Operation *r = v ? v.getDefiningOp() : nullptr;
  return isMerge(r) ? r->getOperand(0) : Value();
}

/// Whether `r` is a reshape of a rank-3 tensor to rank 4.
bool isSplitShaped(Operation *r) {
  return isReshape(r) && typeOf(r->getOperand(0)).getRank() == 3 &&
         typeOf(r->getResult(0)).getRank() == 4;
}

/// Whether the rank-4 `split` of the rank-3 `z` gives z's rows the two
/// leading extents of `x` ([A, B, M, N] where z has A·B rows): its second
/// extent is B, and its two inner extents are z's (the element count then
/// fixes A), or its first is A and one inner extent is z's (the count fixes
/// the other).
bool splitsLike(Value split, Value z, Value x) {
  if (!(extentOf(split, 1) == extentOf(x, 1)))
    return false;
  bool m = extentOf(split, 2) == extentOf(z, 1);
  bool n = extentOf(split, 3) == extentOf(z, 2);
  return (m && n) || ((m || n) && extentOf(split, 0) == extentOf(x, 0));
}

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

/// The tensor whose first extent the scalar `s` holds, read off its shape
/// (Shape, Gather of index 0, Slice from 0, through casts and reshapes).
Value leadingExtentOf(Value s) {
  for (int steps = 0; steps < 8 && s; ++steps) {
    Operation *def = s.getDefiningOp();
    if (!def || typeOf(s).getNumElements() != 1)
      return {};
    if (isa<CastOp, ReshapeOp, ExpandDimsOp>(def)) {
      s = def->getOperand(0);
      continue;
    }
    if (auto shape = dyn_cast<ShapeOp>(def))
      return shape.getStart() == 0 ? shape.getInput() : Value();
    SmallVector<std::optional<int64_t>> at;
    Value from;
    if (auto gather = dyn_cast<GatherOp>(def)) {
      if (gather.getAxis() != 0)
        return {};
      at = getKnownElements(gather.getIndices());
      from = gather.getData();
    } else if (auto slice = dyn_cast<SliceOp>(def)) {
      at = getKnownElements(slice.getStarts());
      from = slice.getInput();
    } else {
      return {};
    }
    auto shape = from.getDefiningOp<ShapeOp>();
    if (!shape || at.size() != 1 || !at[0] || *at[0] != 0 ||
        shape.getStart() != 0)
      return {};
    return shape.getInput();
  }
  return {};
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
  if (auto div = dyn_cast<DivOp>(op)) {
    // Shape(merge(X))[0] / B, the batch a head merge written back as
    // `x.shape[0] // num_heads` recovers (BLOOM's _merge_heads): X's first
    // extent, read off X.
    if (Value x = mergedFrom(leadingExtentOf(div.getLhs()))) {
      std::optional<Extent> d = extentHeldBy(div.getRhs());
      if (d && *d == extentOf(x, 1)) {
        auto t = typeOf(div.getResult());
        Value read = b.create<ShapeOp>(
            loc, RankedTensorType::get({1}, b.getI64Type()), x,
            b.getI64IntegerAttr(0), b.getI64IntegerAttr(1), nullptr);
        if (t.getRank() == 0)
          read =
              b.create<ExpandDimsOp>(loc, t, read, b.getDenseI64ArrayAttr({0}),
                                     b.getUnitAttr(), nullptr);
        if (read.getType() != t)
          return failure();
        div.getResult().replaceAllUsesWith(read);
        return success();
      }
    }
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
  if (!isSplitShaped(op))
    return failure();
  Value z = op->getOperand(0), split = op->getResult(0);
  if (Value x = mergedFrom(z)) {
    if (!splitsLike(split, z, x))
      return failure();
    // The split's type may be less refined than x's; a copy of every axis
    // keeps the users' types until the canonicalizer refines them.
    split.replaceAllUsesWith(
        b.create<ReshapeOp>(loc, split.getType(), x,
                            b.getDenseI64ArrayAttr({0, 0, 0, 0}), nullptr)
            .getResult());
    return success();
  }
  // split(a + b) with a = merge(X): X + split'(b). Where b has the sum's
  // shape, split' is the split itself. Otherwise b is broadcast over the
  // sum's rows only, b' = Expand(b, [A·B, 1, 1]), and split into
  // [A, B, b'1, b'2], so that a bias constant along an axis (ALiBi's
  // [B·H, 1, S]) keeps that axis of 1: X + split'(b) broadcasts as the sum
  // did. Shape ops reading the sum read a tensor of its shape instead
  // (b, or b expanded to it), so that the sum itself goes dead.
  auto add = z.getDefiningOp<AddOp>();
  if (!add || !llvm::all_of(add->getUsers(), [&](Operation *user) {
        return user == op || isa<ShapeOp>(user);
      }))
    return failure();
  for (int64_t m = 0; m < 2; ++m) {
    Value a = add->getOperand(m), other = add->getOperand(1 - m);
    Value x = mergedFrom(a);
    if (!x || !splitsLike(split, z, x) || typeOf(other).getRank() != 3)
      continue;
    bool same = true;
    for (int64_t k = 0; k < 3; ++k)
      same &= extentOf(other, k) == extentOf(a, k);
    // Right after the sum: its shape readers come before the split.
    OpBuilder eb(add->getContext());
    eb.setInsertionPointAfter(add);
    auto i64 = eb.getI64Type();
    auto one = RankedTensorType::get({1}, i64);
    auto extent = [&](Value of, int64_t axis) -> Value {
      return eb.create<ShapeOp>(loc, one, of, eb.getI64IntegerAttr(axis),
                                eb.getI64IntegerAttr(axis + 1), nullptr);
    };
    auto vector = [&](ValueRange entries) -> Value {
      return eb.create<ConcatOp>(
          loc, RankedTensorType::get({(int64_t)entries.size()}, i64), entries,
          eb.getI64IntegerAttr(0), nullptr);
    };
    // a's shape, [A·B, M, N], read off x so that nothing reads a.
    Value rows =
        same ? Value()
             : eb.create<MulOp>(loc, one, extent(x, 0), extent(x, 1), nullptr)
                   .getResult();
    Value shaped = other;
    bool readers = llvm::any_of(add->getUsers(),
                                [&](Operation *u) { return isa<ShapeOp>(u); });
    if (!same && readers)
      shaped = eb.create<ExpandOp>(loc, z.getType(), other,
                                   vector({rows, extent(x, 2), extent(x, 3)}),
                                   nullptr);
    for (Operation *user : llvm::make_early_inc_range(add->getUsers())) {
      auto reader = dyn_cast<ShapeOp>(user);
      if (!reader)
        continue;
      OpBuilder rb(reader);
      Value read = rb.create<ShapeOp>(reader.getLoc(), reader.getType(), shaped,
                                      reader.getStartAttr(),
                                      reader.getEndAttr(), nullptr);
      reader.getResult().replaceAllUsesWith(read);
      reader.erase();
    }
    // The readers are gone (one may have been the insertion point): the
    // rest goes before the split.
    eb.setInsertionPoint(op);
    Value otherSplit;
    if (same) {
      Operation *clone = b.clone(*op);
      clone->setOperand(0, other);
      otherSplit = clone->getResult(0);
    } else {
      Value unit = eb.create<ConstantOp>(
          loc, DenseElementsAttr::get(one, eb.getI64IntegerAttr(1).getValue()));
      auto ot = typeOf(other);
      auto fullType = RankedTensorType::get(
          {ShapedType::kDynamic, ot.getDimSize(1), ot.getDimSize(2)},
          ot.getElementType());
      Value rowsOnly = eb.create<ExpandOp>(loc, fullType, other,
                                           vector({rows, unit, unit}), nullptr);
      auto tx = typeOf(x);
      auto splitType =
          RankedTensorType::get({tx.getDimSize(0), tx.getDimSize(1),
                                 ot.getDimSize(1), ot.getDimSize(2)},
                                ot.getElementType());
      otherSplit = b.create<ReshapeDynamicOp>(
          loc, splitType, rowsOnly,
          vector({extent(x, 0), extent(x, 1), extent(rowsOnly, 1),
                  extent(rowsOnly, 2)}),
          /*allowzero=*/nullptr, nullptr);
    }
    Value lifted =
        x.getType() == split.getType()
            ? x
            : b.create<ReshapeOp>(loc, split.getType(), x,
                                  b.getDenseI64ArrayAttr({0, 0, 0, 0}), nullptr)
                  .getResult();
    Value sum =
        b.create<AddOp>(loc, split.getType(), m == 0 ? lifted : otherSplit,
                        m == 0 ? otherSplit : lifted, nullptr);
    split.replaceAllUsesWith(sum);
    return success();
  }
  return failure();
}

} // namespace

bool mlir::attn::fusion::liftHeadMerges(Operation *root) {
  bool changed = false;
  // Merges proven by their leading product get the canonical target shape
  // [-1, Shape(X)[2], Shape(X)[3]], whose entries extentOf reads back.
  SmallVector<Operation *> merges;
  root->walk([&](Operation *op) {
    if (isMerge(op) && !keepsInner(op, 4, 3))
      merges.push_back(op);
  });
  for (Operation *op : merges) {
    OpBuilder b(op);
    op->getResult(0).replaceAllUsesWith(buildMerge(
        b, op->getLoc(), op->getOperand(0), op->getResult(0).getType()));
    op->erase();
    changed = true;
  }
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

namespace {
struct AttnLiftHeadMergesPass
    : public mlir::attn::impl::AttnLiftHeadMergesBase<AttnLiftHeadMergesPass> {
  void runOnOperation() override {
    if (!liftHeadMerges(getOperation()))
      return;
    RewritePatternSet patterns(&getContext());
    for (RegisteredOperationName op : getContext().getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, &getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
