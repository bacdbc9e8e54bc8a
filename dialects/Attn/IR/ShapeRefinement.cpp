//===- ShapeRefinement.cpp - Result shapes that follow from operands -===//
//
// ONNX shape inference leaves an extent `?` wherever it was computed by
// shape arithmetic it could not follow (a reshape to Concat(Shape(x)[0], 4,
// 8), a slice whose ends are Shape(w)[-1], a scale of Shape(q)[-1] ** 0.5).
// Once attnc's folders know those extents, the ops' result types should say
// so: broadcasts then see static 1s, squeezes see static lengths, fusion
// sees constant scales, and the emitter generates code for static shapes.
//
// inferResultShape is the one statement of how an op's result extents follow
// from its operands' types and the integers known before the run
// (getKnownElements). Two canonicalization patterns of the dialect use it:
// one gives a result the extents that follow (only where every user is an
// attn op, so that a function's signature never changes), one replaces
// small integer tensors whose every element is known by a constant.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

constexpr int64_t kDynamic = ShapedType::kDynamic;

/// The numpy broadcast of `operands`' shapes; nullopt when two static
/// extents disagree (the verifier reports that).
std::optional<SmallVector<int64_t>> broadcastOf(ValueRange operands) {
  SmallVector<int64_t> shape;
  for (Value v : operands) {
    FailureOr<SmallVector<int64_t>> b = broadcastShapes(shape, shapeOf(v));
    if (failed(b))
      return std::nullopt;
    shape = *b;
  }
  return shape;
}

/// A target shape given as an i64 tensor: known entries, `?` elsewhere.
SmallVector<int64_t> knownShape(Value shape) {
  SmallVector<int64_t> out;
  for (const std::optional<int64_t> &e : getKnownElements(shape))
    out.push_back(e ? *e : kDynamic);
  return out;
}

/// ONNX Reshape's rule: 0 copies the input's extent (unless `allowZero`),
/// one -1 is what remains of the element count.
std::optional<SmallVector<int64_t>>
reshaped(ArrayRef<int64_t> in, ArrayRef<int64_t> spec, bool allowZero) {
  SmallVector<int64_t> out;
  int64_t inferred = -1;
  for (auto [k, e] : llvm::enumerate(spec)) {
    if (e == 0 && !allowZero)
      out.push_back(k < in.size() ? in[k] : kDynamic);
    else if (e == -1) {
      inferred = static_cast<int64_t>(k);
      out.push_back(kDynamic);
    } else if (e < 0 || (e == 0 && allowZero)) {
      out.push_back(kDynamic);
    } else {
      out.push_back(e);
    }
  }
  if (inferred < 0)
    return out;
  // The -1 is the element count over the other entries'. An input extent
  // that a 0 entry copies to the same axis is a factor of both and cancels,
  // even when it is only known at run time.
  auto copied = [&](size_t k) {
    return k < spec.size() && spec[k] == 0 && !allowZero;
  };
  int64_t total = 1, rest = 1;
  bool known = true;
  for (auto [k, d] : llvm::enumerate(in)) {
    if (copied(k))
      continue;
    known &= !ShapedType::isDynamic(d);
    total *= ShapedType::isDynamic(d) ? 1 : d;
  }
  for (auto [k, d] : llvm::enumerate(out))
    if (static_cast<int64_t>(k) != inferred && !copied(k)) {
      known &= !ShapedType::isDynamic(d);
      rest *= ShapedType::isDynamic(d) ? 1 : d;
    }
  if (known && rest > 0 && total % rest == 0)
    out[inferred] = total / rest;
  return out;
}

/// The extents of the axes of `shape` that are not in `axes`.
SmallVector<int64_t> without(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out;
  for (auto [k, d] : llvm::enumerate(shape))
    if (!llvm::is_contained(axes, static_cast<int64_t>(k)))
      out.push_back(d);
  return out;
}

} // namespace

std::optional<SmallVector<int64_t>>
mlir::attn::inferResultShape(Operation *op) {
  if (op->getNumResults() != 1 || op->getNumOperands() == 0 ||
      !llvm::all_of(op->getOperandTypes(),
                    [](Type t) { return isa<RankedTensorType>(t); }))
    return std::nullopt;
  using Result = std::optional<SmallVector<int64_t>>;
  auto same = [&](Value v) -> Result {
    return SmallVector<int64_t>(shapeOf(v));
  };
  return llvm::TypeSwitch<Operation *, Result>(op)
      .Case<AddOp, SubOp, MulOp, DivOp, PowOp, ModOp, MaxOp, MinOp, AndOp, OrOp,
            EqualOp, LessOp, GreaterOp, SelectOp>(
          [&](Operation *) { return broadcastOf(op->getOperands()); })
      .Case<CastOp, IsNanOp, TriluOp, SoftmaxOp, LogSoftmaxOp, GeluOp, SqrtOp,
            ScatterElementsOp, ScatterNdOp>(
          [&](Operation *) { return same(op->getOperand(0)); })
      .Case([&](GatherElementsOp g) { return same(g.getIndices()); })
      .Case([&](TransposeOp t) -> Result {
        ArrayRef<int64_t> in = shapeOf(t.getInput());
        SmallVector<int64_t> out;
        for (int64_t p : t.getPerm()) {
          if (p < 0 || p >= static_cast<int64_t>(in.size()))
            return std::nullopt;
          out.push_back(in[p]);
        }
        return out;
      })
      .Case([&](ExpandDimsOp e) -> Result {
        ArrayRef<int64_t> in = shapeOf(e.getInput());
        if (e.getSqueeze())
          return without(in, e.getAxes());
        SmallVector<int64_t> out;
        size_t next = 0;
        int64_t rank = static_cast<int64_t>(in.size() + e.getAxes().size());
        for (int64_t k = 0; k < rank; ++k) {
          if (llvm::is_contained(e.getAxes(), k))
            out.push_back(1);
          else if (next < in.size())
            out.push_back(in[next++]);
          else
            return std::nullopt;
        }
        return out;
      })
      .Case([&](ReshapeOp r) {
        return reshaped(shapeOf(r.getInput()), r.getShape(), false);
      })
      .Case([&](ReshapeDynamicOp r) -> Result {
        SmallVector<int64_t> spec = knownShape(r.getShape());
        if (spec.size() != static_cast<size_t>(r.getType().getRank()))
          return std::nullopt;
        // An unknown entry may be 0 or -1: its axis stays unknown.
        SmallVector<int64_t> marked;
        for (int64_t e : spec)
          marked.push_back(ShapedType::isDynamic(e) ? -2 : e);
        return reshaped(shapeOf(r.getInput()), marked, r.getAllowzero());
      })
      .Case([&](SliceOp s) -> Result {
        return inferSliceShape(s.getInput(), s.getStarts(), s.getEnds(),
                               s.getAxes(), s.getSteps());
      })
      .Case([&](MatMulOp m) -> Result {
        ArrayRef<int64_t> l = shapeOf(m.getLhs()), r = shapeOf(m.getRhs());
        if (l.size() < 2 || r.size() < 2)
          return std::nullopt;
        FailureOr<SmallVector<int64_t>> batch =
            broadcastShapes(l.drop_back(2), r.drop_back(2));
        if (failed(batch))
          return std::nullopt;
        SmallVector<int64_t> out = *batch;
        out.push_back(l[l.size() - 2]);
        out.push_back(r.back());
        return out;
      })
      .Case([&](ConcatOp c) -> Result {
        int64_t rank = c.getType().getRank();
        int64_t axis = c.getAxis() < 0 ? c.getAxis() + rank : c.getAxis();
        SmallVector<int64_t> out(rank, kDynamic);
        int64_t along = 0;
        for (Value in : c.getInputs()) {
          ArrayRef<int64_t> s = shapeOf(in);
          if (static_cast<int64_t>(s.size()) != rank)
            return std::nullopt;
          for (int64_t k = 0; k < rank; ++k)
            if (k != axis && !ShapedType::isDynamic(s[k]))
              out[k] = s[k];
          along = ShapedType::isDynamic(along) || ShapedType::isDynamic(s[axis])
                      ? kDynamic
                      : along + s[axis];
        }
        if (axis >= 0 && axis < rank)
          out[axis] = along;
        return out;
      })
      .Case([&](ExpandOp e) -> Result {
        SmallVector<int64_t> target = knownShape(e.getShape());
        // An unknown entry may be 1 (keep the input's extent) or the
        // extent: only where the input's is not 1 is the result known.
        FailureOr<SmallVector<int64_t>> out =
            broadcastShapes(shapeOf(e.getInput()), target);
        if (failed(out))
          return std::nullopt;
        return *out;
      })
      .Case([&](ConstantOfShapeOp c) -> Result {
        return knownShape(c.getShape());
      })
      .Case([&](TileOp t) -> Result {
        SmallVector<int64_t> repeats = knownShape(t.getRepeats());
        ArrayRef<int64_t> in = shapeOf(t.getInput());
        if (repeats.size() != in.size())
          return std::nullopt;
        SmallVector<int64_t> out;
        for (auto [d, r] : llvm::zip(in, repeats))
          out.push_back(ShapedType::isDynamic(d) || ShapedType::isDynamic(r)
                            ? kDynamic
                            : d * r);
        return out;
      })
      .Case([&](RangeOp r) -> Result {
        auto start = getKnownElements(r.getStart());
        auto limit = getKnownElements(r.getLimit());
        auto delta = getKnownElements(r.getDelta());
        if (start.size() != 1 || limit.size() != 1 || delta.size() != 1 ||
            !start[0] || !limit[0] || !delta[0] || *delta[0] == 0)
          return SmallVector<int64_t>{kDynamic};
        int64_t d = *delta[0], span = *limit[0] - *start[0];
        int64_t n = d > 0 ? (span + d - 1) / d : (span + d + 1) / d;
        return SmallVector<int64_t>{std::max<int64_t>(n, 0)};
      })
      .Case([&](GatherOp g) -> Result {
        ArrayRef<int64_t> data = shapeOf(g.getData());
        int64_t axis = g.getAxis();
        if (axis < 0 || axis >= static_cast<int64_t>(data.size()))
          return std::nullopt;
        SmallVector<int64_t> out(data.begin(), data.begin() + axis);
        llvm::append_range(out, shapeOf(g.getIndices()));
        out.append(data.begin() + axis + 1, data.end());
        return out;
      })
      .Case([&](ReduceOp r) -> Result {
        ArrayRef<int64_t> in = shapeOf(r.getInput());
        if (!r.getKeepdims())
          return without(in, r.getAxes());
        SmallVector<int64_t> out(in);
        for (int64_t a : r.getAxes())
          if (a >= 0 && a < static_cast<int64_t>(out.size()))
            out[a] = 1;
        return out;
      })
      .Default([](Operation *) -> Result { return std::nullopt; });
}

namespace {

/// Gives an attn op's result the static extents that follow from its
/// operands, where every user is an attn op (and the same to the users
/// whose type is their operand's).
struct RefineResultType : RewritePattern {
  RefineResultType(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa_and_nonnull<AttnDialect>(op->getDialect()) ||
        op->getNumResults() != 1)
      return failure();
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || type.hasStaticShape())
      return failure();
    std::optional<SmallVector<int64_t>> inferred = inferResultShape(op);
    if (!inferred || inferred->size() != static_cast<size_t>(type.getRank()))
      return failure();
    SmallVector<int64_t> shape(type.getShape());
    bool changed = false;
    for (auto [d, e] : llvm::zip(shape, *inferred))
      if (ShapedType::isDynamic(d) && !ShapedType::isDynamic(e) && e >= 0) {
        d = e;
        changed = true;
      }
    if (!changed)
      return failure();
    // Users whose result type is their operand's (SameOperandsAndResultType
    // ops infer it, and verify that they agree) take the new type along,
    // and so on down the chain.
    SmallVector<Operation *> chain = {op};
    for (size_t i = 0; i < chain.size(); ++i)
      for (Operation *user : chain[i]->getUsers()) {
        if (!isa_and_nonnull<AttnDialect>(user->getDialect()))
          return failure();
        if (user->hasTrait<OpTrait::SameOperandsAndResultType>() &&
            !llvm::is_contained(chain, user))
          chain.push_back(user);
      }
    auto refined = RankedTensorType::get(shape, type.getElementType());
    for (Operation *each : chain)
      rewriter.modifyOpInPlace(each, [&] {
        each->getResult(0).setType(
            each == op ? refined
                       : RankedTensorType::get(
                             shape, getElementTypeOrSelf(each->getResult(0))));
      });
    return success();
  }
};

/// Replaces a small integer tensor whose every element is known before the
/// run (shape arithmetic over static extents) by a constant.
struct FoldKnownIntegers : RewritePattern {
  FoldKnownIntegers(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa_and_nonnull<AttnDialect>(op->getDialect()) ||
        op->getNumResults() != 1 || isa<ConstantOp>(op))
      return failure();
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.hasStaticShape() || type.getRank() > 1 ||
        type.getNumElements() > 64 || !isa<IntegerType>(type.getElementType()))
      return failure();
    SmallVector<std::optional<int64_t>> known =
        getKnownElements(op->getResult(0));
    if (known.size() != static_cast<size_t>(type.getNumElements()) ||
        !llvm::all_of(known, [](auto &v) { return v.has_value(); }))
      return failure();
    unsigned width = type.getElementType().getIntOrFloatBitWidth();
    SmallVector<APInt> values;
    for (auto &v : known)
      values.push_back(APInt(width, static_cast<uint64_t>(*v),
                             /*isSigned=*/width > 1));
    rewriter.replaceOpWithNewOp<ConstantOp>(
        op, DenseElementsAttr::get(type, values));
    return success();
  }
};

} // namespace

void AttnDialect::getCanonicalizationPatterns(
    RewritePatternSet &results) const {
  results.add<RefineResultType, FoldKnownIntegers>(getContext());
}
