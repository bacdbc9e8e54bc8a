//===- AttnBuilders.cpp - Builders of common attn op chains ---------------===//

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::attn;

namespace {

Value i64Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    b.getI64Type());
  return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, values));
}

Value i64Scalar(OpBuilder &b, Location loc, int64_t v) {
  return b.create<ConstantOp>(
      loc, DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                  ArrayRef<int64_t>{v}));
}

Value floatScalar(OpBuilder &b, Location loc, Type element, double v) {
  return b.create<ConstantOp>(
      loc, DenseElementsAttr::get(RankedTensorType::get({}, element),
                                  FloatAttr::get(element, v)));
}

RankedTensorType withShape(Value v, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(
      shape, cast<RankedTensorType>(v.getType()).getElementType());
}

} // namespace

std::string mlir::attn::getNodeName(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

std::string mlir::attn::describeNode(Operation *op) {
  std::string name = getNodeName(op->getLoc());
  return "'" + (name.empty() ? op->getName().getStringRef().str() : name) + "'";
}

void mlir::attn::eraseDeadAttnOps(Operation *root) {
  IRRewriter rewriter(root->getContext());
  root->walk<WalkOrder::PostOrder, ReverseIterator>([&](Operation *op) {
    if (op != root && op->getDialect() && isa<AttnDialect>(op->getDialect()) &&
        op->use_empty() && isPure(op))
      rewriter.eraseOp(op);
  });
}

std::optional<double> mlir::attn::getScalarConstant(Value value) {
  DenseElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)) ||
      !isa<FloatType>(attr.getElementType()) ||
      (!attr.isSplat() && attr.getNumElements() != 1))
    return std::nullopt;
  return (*attr.getValues<APFloat>().begin()).convertToDouble();
}

std::optional<SmallVector<double>>
mlir::attn::getConstantValues(Value value, int64_t maxElements) {
  auto c = value ? value.getDefiningOp<ConstantOp>() : ConstantOp();
  auto type = value ? dyn_cast<RankedTensorType>(value.getType()) : nullptr;
  if (!c || !type || !type.hasStaticShape() ||
      type.getNumElements() > maxElements)
    return std::nullopt;
  int64_t n = type.getNumElements();
  Type element = type.getElementType();
  SmallVector<double> out;
  out.reserve(n);
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
    if (isa<FloatType>(element)) {
      for (const APFloat &v : dense.getValues<APFloat>())
        out.push_back(v.convertToDouble());
    } else if (element.isInteger(1)) {
      for (bool v : dense.getValues<bool>())
        out.push_back(v ? 1.0 : 0.0);
    } else if (auto integer = dyn_cast<IntegerType>(element)) {
      for (const APInt &v : dense.getValues<APInt>())
        out.push_back(integer.isUnsigned()
                          ? static_cast<double>(v.getZExtValue())
                          : static_cast<double>(v.getSExtValue()));
    } else {
      return std::nullopt;
    }
    return out;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(c.getValue());
  AsmResourceBlob *blob =
      resource ? resource.getRawHandle().getBlob() : nullptr;
  if (!blob || !element.isIntOrFloat() ||
      element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  ArrayRef<char> raw = blob->getData();
  int64_t width = element.getIntOrFloatBitWidth() / 8;
  if (static_cast<int64_t>(raw.size()) != n * width)
    return std::nullopt;
  for (int64_t i = 0; i < n; ++i) {
    APInt bits(width * 8, 0);
    for (int64_t b = 0; b < width; ++b)
      bits.insertBits(APInt(8, static_cast<uint8_t>(raw[i * width + b])),
                      8 * b);
    if (auto f = dyn_cast<FloatType>(element))
      out.push_back(APFloat(f.getFloatSemantics(), bits).convertToDouble());
    else if (element.isUnsignedInteger())
      out.push_back(static_cast<double>(bits.getZExtValue()));
    else
      out.push_back(static_cast<double>(bits.getSExtValue()));
  }
  return out;
}

namespace {
using Known = SmallVector<std::optional<int64_t>>;

Known knownElements(Value value, int depth) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      !isa<IntegerType>(type.getElementType()) || depth > 32)
    return {};
  int64_t n = type.getNumElements();
  Known unknown(n, std::nullopt);
  Operation *def = value.getDefiningOp();
  if (!def)
    return unknown;
  DenseIntElementsAttr attr;
  if (matchPattern(value, m_Constant(&attr))) {
    Known known;
    for (const APInt &v : attr.getValues<APInt>())
      known.push_back(v.getSExtValue());
    return known;
  }
  // Elementwise ops over operands of length n or 1 (broadcast).
  auto operand = [&](Value x) -> Known {
    Known k = knownElements(x, depth + 1);
    if (k.size() == 1 && n != 1)
      return Known(n, k[0]);
    return k.size() == static_cast<size_t>(n) ? k : unknown;
  };
  auto elementwise = [&](auto fn) -> Known {
    Known a = operand(def->getOperand(0)), b = operand(def->getOperand(1));
    Known r(n);
    for (int64_t i = 0; i < n; ++i)
      if (a[i] && b[i])
        r[i] = fn(*a[i], *b[i]);
    return r;
  };
  if (isa<AddOp>(def))
    return elementwise([](int64_t a, int64_t b) { return a + b; });
  if (isa<SubOp>(def))
    return elementwise([](int64_t a, int64_t b) { return a - b; });
  if (isa<MulOp>(def))
    return elementwise([](int64_t a, int64_t b) { return a * b; });
  if (isa<EqualOp>(def))
    return elementwise(
        [](int64_t a, int64_t b) { return static_cast<int64_t>(a == b); });
  if (auto select = dyn_cast<SelectOp>(def)) {
    Known c = operand(select.getCond()), a = operand(select.getLhs()),
          b = operand(select.getRhs());
    Known r(n);
    for (int64_t i = 0; i < n; ++i) {
      if (c[i])
        r[i] = *c[i] ? a[i] : b[i];
      else if (a[i] && b[i] && *a[i] == *b[i])
        r[i] = a[i];
    }
    return r;
  }
  if (isa<CastOp, ReshapeOp, ExpandDimsOp>(def))
    return operand(def->getOperand(0));
  if (auto concat = dyn_cast<ConcatOp>(def)) {
    Known r;
    for (Value x : concat.getInputs()) {
      Known k = knownElements(x, depth + 1);
      auto xt = cast<RankedTensorType>(x.getType());
      if (!xt.hasStaticShape())
        return unknown;
      if (k.empty())
        k = Known(xt.getNumElements(), std::nullopt);
      r.append(k.begin(), k.end());
    }
    return r.size() == static_cast<size_t>(n) ? r : unknown;
  }
  if (auto gather = dyn_cast<GatherOp>(def)) {
    Known data = knownElements(gather.getData(), depth + 1);
    Known index = knownElements(gather.getIndices(), depth + 1);
    if (data.empty() || index.size() != static_cast<size_t>(n))
      return unknown;
    Known r(n);
    for (int64_t i = 0; i < n; ++i) {
      if (!index[i])
        continue;
      int64_t j = *index[i] < 0 ? *index[i] + data.size() : *index[i];
      if (j >= 0 && j < static_cast<int64_t>(data.size()))
        r[i] = data[j];
    }
    return r;
  }
  if (auto slice = dyn_cast<SliceOp>(def)) {
    auto inType = cast<RankedTensorType>(slice.getInput().getType());
    if (inType.getRank() != 1 || slice.getAxes().size() != 1)
      return unknown;
    Known data = knownElements(slice.getInput(), depth + 1);
    Known start = knownElements(slice.getStarts(), depth + 1);
    Known end = knownElements(slice.getEnds(), depth + 1);
    if (data.empty() || start.size() != 1 || end.size() != 1 || !start[0] ||
        !end[0])
      return unknown;
    int64_t dim = static_cast<int64_t>(data.size());
    int64_t step = slice.getSteps()[0];
    if (sliceExtent(dim, *start[0], *end[0], step) != n)
      return unknown;
    int64_t first = *start[0] < 0 ? *start[0] + dim : *start[0];
    first = step > 0 ? std::clamp<int64_t>(first, 0, dim)
                     : std::clamp<int64_t>(first, 0, dim - 1);
    Known r;
    for (int64_t i = 0; i < n; ++i)
      r.push_back(data[first + i * step]);
    return r;
  }
  if (auto shape = dyn_cast<ShapeOp>(def)) {
    auto in = cast<RankedTensorType>(shape.getInput().getType());
    Known r;
    for (int64_t d = shape.getStart(); d < shape.getEnd(); ++d)
      r.push_back(in.isDynamicDim(d)
                      ? std::nullopt
                      : std::optional<int64_t>(in.getDimSize(d)));
    return r.size() == static_cast<size_t>(n) ? r : unknown;
  }
  if (auto fill = dyn_cast<ConstantOfShapeOp>(def)) {
    auto value = dyn_cast<DenseIntElementsAttr>(fill.getValue());
    if (value && value.getNumElements() == 1)
      return Known(n, (*value.getValues<APInt>().begin()).getSExtValue());
  }
  return unknown;
}
} // namespace

SmallVector<std::optional<int64_t>> mlir::attn::getKnownElements(Value value) {
  return knownElements(value, 0);
}

int64_t mlir::attn::sliceExtent(int64_t dim, int64_t start, int64_t end,
                                int64_t step) {
  // Bounds beyond ±2^62 are "to the end" either way; clamping them first
  // keeps the arithmetic below from overflowing.
  constexpr int64_t big = int64_t(1) << 62;
  start = std::clamp(start, -big, big);
  end = std::clamp(end, -big, big);
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start + step - 1) / step : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return start > end ? (start - end - step - 1) / -step : 0;
}

SmallVector<int64_t> mlir::attn::inferSliceShape(Value input, Value starts,
                                                 Value ends,
                                                 ArrayRef<int64_t> axes,
                                                 ArrayRef<int64_t> steps) {
  auto inType = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(inType.getShape());
  Known s = getKnownElements(starts), e = getKnownElements(ends);
  for (auto [k, axis] : llvm::enumerate(axes)) {
    int64_t a = axis < 0 ? axis + inType.getRank() : axis;
    if (a < 0 || a >= inType.getRank())
      continue;
    int64_t dim = inType.getDimSize(a);
    if (ShapedType::isDynamic(dim) || k >= s.size() || k >= e.size() || !s[k] ||
        !e[k] || k >= steps.size() || steps[k] == 0) {
      shape[a] = ShapedType::kDynamic;
      continue;
    }
    shape[a] = sliceExtent(dim, *s[k], *e[k], steps[k]);
  }
  return shape;
}

Value mlir::attn::buildPositions(OpBuilder &b, Location loc, Value x,
                                 int64_t axis, int64_t rank, int64_t at) {
  auto i64 = b.getI64Type();
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(axis);
  Value iota;
  if (!ShapedType::isDynamic(n)) {
    SmallVector<int64_t> values;
    for (int64_t v = 0; v < n; ++v)
      values.push_back(v);
    iota = i64Constant(b, loc, values);
  } else {
    auto scalarType = RankedTensorType::get({}, i64);
    Value extent = b.create<ShapeOp>(loc, RankedTensorType::get({1}, i64), x,
                                     b.getI64IntegerAttr(axis),
                                     b.getI64IntegerAttr(axis + 1), nullptr);
    Value limit = b.create<ReshapeOp>(loc, scalarType, extent,
                                      b.getDenseI64ArrayAttr({}), nullptr);
    iota = b.create<RangeOp>(loc, RankedTensorType::get({n}, i64),
                             i64Scalar(b, loc, 0), limit, i64Scalar(b, loc, 1),
                             nullptr);
  }
  if (rank == 1)
    return iota;
  SmallVector<int64_t> spec(rank, 1), shape(rank, 1);
  spec[at] = -1;
  shape[at] = n;
  return b.create<ReshapeOp>(loc, RankedTensorType::get(shape, i64), iota,
                             b.getDenseI64ArrayAttr(spec), nullptr);
}

FailureOr<Value> mlir::attn::buildAttentionScores(OpBuilder &b, Location loc,
                                                  Value q, Value k, Value mask,
                                                  const ScoresOptions &opts) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  Type element = qType.getElementType();
  int64_t batch = qType.getDimSize(0), heads = qType.getDimSize(1),
          nq = qType.getDimSize(2), nk = kType.getDimSize(2);
  int64_t kvHeads = kType.getDimSize(1);
  if (heads != kvHeads) {
    // Query head h reads key head h / group.
    if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(kvHeads) ||
        heads % kvHeads != 0)
      return emitError(loc, "needs static head counts, query heads a "
                            "multiple of key/value heads, to build the "
                            "attention scores; got ")
             << qType << " and " << kType;
    SmallVector<int64_t> index;
    for (int64_t h = 0; h < heads; ++h)
      index.push_back(h / (heads / kvHeads));
    k = b.create<GatherOp>(
        loc,
        withShape(k, {kType.getDimSize(0), heads, nk, kType.getDimSize(3)}), k,
        i64Constant(b, loc, index), b.getI64IntegerAttr(1), nullptr);
  }
  Value kt = b.create<TransposeOp>(
      loc, withShape(k, {kType.getDimSize(0), heads, kType.getDimSize(3), nk}),
      k, b.getDenseI64ArrayAttr({0, 1, 3, 2}), nullptr);
  auto type = RankedTensorType::get({batch, heads, nq, nk}, element);
  Value s = b.create<MatMulOp>(loc, type, q, kt, nullptr);
  s = b.create<MulOp>(loc, type, s, floatScalar(b, loc, element, opts.scale),
                      nullptr);
  if (opts.softcap) {
    Value c = floatScalar(b, loc, element, *opts.softcap);
    s = b.create<MulOp>(
        loc, type,
        b.create<TanhOp>(loc, type, b.create<DivOp>(loc, type, s, c, nullptr),
                         nullptr),
        c, nullptr);
  }
  if (opts.stage == ScoresStage::Scaled)
    return s;
  Value masked = floatScalar(b, loc, element, opts.maskedValue);
  if (mask) {
    if (cast<RankedTensorType>(mask.getType()).getElementType().isInteger(1))
      s = b.create<SelectOp>(loc, type, mask, s, masked, nullptr);
    else
      s = b.create<AddOp>(loc, type, s, mask, nullptr);
  }
  if (opts.causal) {
    // Key j is masked for query i when j > i + causalOffset.
    auto boolType = RankedTensorType::get({nq, nk}, b.getI1Type());
    Value rows = buildPositions(b, loc, q, 2, 2, 0);
    if (opts.causalOffset)
      rows = b.create<AddOp>(loc, rows.getType(), rows,
                             i64Scalar(b, loc, opts.causalOffset), nullptr);
    Value cols = buildPositions(b, loc, k, 2, 1, 0);
    Value after = b.create<GreaterOp>(loc, boolType, cols, rows, nullptr);
    s = b.create<SelectOp>(loc, type, after, masked, s, nullptr);
  }
  if (opts.stage == ScoresStage::Masked)
    return s;
  Value p = b.create<SoftmaxOp>(loc, type, s, b.getI64IntegerAttr(3), nullptr);
  if (!opts.zeroMaskedRows)
    return p;
  auto rowType = RankedTensorType::get({batch, heads, nq, 1}, element);
  Value rowMax = b.create<ReduceOp>(loc, rowType, s, b.getStringAttr("max"),
                                    b.getDenseI64ArrayAttr({3}),
                                    b.getBoolAttr(true), nullptr);
  Value allMasked = b.create<EqualOp>(
      loc, RankedTensorType::get({batch, heads, nq, 1}, b.getI1Type()), rowMax,
      masked, nullptr);
  return b
      .create<SelectOp>(loc, type, allMasked, floatScalar(b, loc, element, 0.0),
                        p, nullptr)
      .getResult();
}
