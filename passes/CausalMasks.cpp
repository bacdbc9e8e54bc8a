//===- CausalMasks.cpp - Causal masks of attn.sdpa as `causal` -*- C++ -*-===//
//
// Exporters rarely hand attention a causal flag. They build the mask:
// a constant triangle, Trilu of ones, or, with dynamic lengths, positions
// compared at run time (`not(greater(kv_pos, q_pos))`, LessOrEqual, ...),
// and-ed with a padding mask, turned additive through a select, expanded to
// [B, H, Nq, Nk]. recognizeCausalMask splits the mask of an attn.sdpa into
// its leaves, and when one leaf is provably the causal triangle, replaces it
// by the `causal` attribute; the other leaves (padding) stay the op's mask,
// without the N × N expansion.
//
// A run-time comparison is the causal triangle when its two sides are
// positions i + c along the query axis and j + c' along the key axis
// (range(0, n) unsqueezed, plus a constant) whose extents n are those of the
// attention's queries and keys (see Extents.cpp): a range that broadcast a
// single position over all queries would not be causal.
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The value of an integer constant with one value (a splat or one element).
std::optional<int64_t> scalarInt(Value value) {
  DenseIntElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) ||
      !(attr.isSplat() || attr.getNumElements() == 1))
    return std::nullopt;
  return (*attr.getValues<APInt>().begin()).getSExtValue();
}

/// Whether `value` is a constant i1 tensor holding only `bit`.
bool isAll(Value value, bool bit) {
  DenseElementsAttr attr;
  if (matchPattern(value, m_Constant(&attr)) && attr.isSplat() &&
      attr.getElementType().isInteger(1))
    return attr.getSplatValue<bool>() == bit;
  if (auto fill = value.getDefiningOp<ConstantOfShapeOp>()) {
    auto dense = dyn_cast<DenseElementsAttr>(fill.getValue());
    return dense && dense.isSplat() && dense.getElementType().isInteger(1) &&
           dense.getSplatValue<bool>() == bit;
  }
  return false;
}

bool isZero(Value value) {
  std::optional<double> c = getScalarConstant(value);
  return c && *c == 0.0;
}

enum class Kind { Keep, Drop, Additive };

/// The value every element of `x` holds when it is a fill: a splat
/// constant, a ConstantOfShape, or an Expand of either.
std::optional<double> fillOf(Value x) {
  for (int steps = 0; steps < 8 && x; ++steps) {
    if (auto fill = x.getDefiningOp<ConstantOfShapeOp>()) {
      auto dense = dyn_cast<DenseElementsAttr>(fill.getValue());
      if (!dense || !dense.isSplat())
        return std::nullopt;
      if (isa<FloatType>(dense.getElementType()))
        return dense.getSplatValue<APFloat>().convertToDouble();
      return static_cast<double>(dense.getSplatValue<APInt>().getSExtValue());
    }
    if (auto expand = x.getDefiningOp<ExpandOp>()) {
      x = expand.getInput();
      continue;
    }
    DenseElementsAttr attr;
    if (!matchPattern(x, m_Constant(&attr)) || !attr.isSplat())
      return std::nullopt;
    if (isa<FloatType>(attr.getElementType()))
      return attr.getSplatValue<APFloat>().convertToDouble();
    return static_cast<double>(attr.getSplatValue<APInt>().getSExtValue());
  }
  return std::nullopt;
}

/// Whether an element of a mask of `kind` keeps its key: non-zero for keep
/// masks (true or 1), zero for drop and additive masks.
bool keeps(Kind kind, double v) { return kind == Kind::Keep ? v != 0 : v == 0; }
/// Whether it masks its key: the opposite for boolean masks; a masked-score
/// value (at most -10000) for additive ones.
bool masks(Kind kind, double v) {
  return kind == Kind::Additive ? v <= -1e4 : !keeps(kind, v);
}

/// The diagonal of `mask` when it is exactly the causal pattern over scores
/// of `rows` × `cols` (queries × keys), every other axis of extent 1: key j
/// is kept for query i exactly when j <= i + offset. Recognized: Trilu of a
/// fill (ones or true for boolean masks, -inf or another masked-score value
/// for additive ones, as torch.triu(torch.full((n, n), -inf), 1) exports)
/// at any extents that are the attention's, and constants at static ones.
std::optional<int64_t> causalOffset(Value mask, Kind kind, const Extent &rows,
                                    const Extent &cols) {
  auto type = cast<RankedTensorType>(mask.getType());
  int64_t rank = type.getRank();
  if (rank < 2)
    return std::nullopt;
  for (int64_t d = 0; d < rank - 2; ++d)
    if (type.getDimSize(d) != 1)
      return std::nullopt;
  if (!(extentOf(mask, rank - 2) == rows) ||
      !(extentOf(mask, rank - 1) == cols))
    return std::nullopt;
  // Trilu keeps j - i >= k (upper) or j - i <= k (lower) of its input and
  // zeroes the rest.
  if (auto trilu = mask.getDefiningOp<TriluOp>()) {
    std::optional<double> fill = fillOf(trilu.getInput());
    int64_t k = 0;
    if (Value kv = trilu.getK()) {
      DenseIntElementsAttr kAttr;
      if (!matchPattern(kv, m_Constant(&kAttr)))
        return std::nullopt;
      k = (*kAttr.getValues<APInt>().begin()).getSExtValue();
    }
    if (!fill)
      return std::nullopt;
    // Keep masks: ones on and below diagonal k. Drop masks and additive
    // ones: the masking value from diagonal k = offset + 1 up.
    if (kind == Kind::Keep && *fill != 0 && !trilu.getUpper())
      return k;
    if (kind != Kind::Keep && trilu.getUpper() && masks(kind, *fill))
      return k - 1;
    return std::nullopt;
  }
  if (ShapedType::isDynamic(rows.size) || ShapedType::isDynamic(cols.size))
    return std::nullopt;
  int64_t nq = rows.size, nk = cols.size;
  std::optional<SmallVector<double>> values =
      getConstantValues(mask, /*maxElements=*/int64_t(1) << 22);
  if (!values || values->size() != static_cast<size_t>(nq * nk))
    return std::nullopt;
  for (int64_t candidate : {int64_t(0), nk - nq}) {
    bool ok = true;
    for (int64_t i = 0; i < nq && ok; ++i)
      for (int64_t j = 0; j < nk && ok; ++j) {
        double v = (*values)[i * nk + j];
        ok = j <= i + candidate ? keeps(kind, v) : masks(kind, v);
      }
    if (ok)
      return candidate;
  }
  return std::nullopt;
}

Extent staticExtent(int64_t size) {
  Extent e;
  e.size = size;
  return e;
}

/// Whether the reshape `op` only puts axes of extent 1 in front of its
/// input, which changes nothing for a mask broadcast from the right.
bool addsLeadingUnitAxes(Operation *op) {
  Value in = op->getOperand(0), out = op->getResult(0);
  int64_t lead = typeOf(out).getRank() - typeOf(in).getRank();
  if (lead < 0)
    return false;
  for (int64_t a = 0; a < lead; ++a)
    if (typeOf(out).getDimSize(a) != 1)
      return false;
  for (int64_t a = 0; a < typeOf(in).getRank(); ++a)
    if (!(extentOf(out, lead + a) == extentOf(in, a)))
      return false;
  return true;
}

/// Splits a mask into the leaves it combines: boolean masks through
/// and/or/not (and a select turning them additive), additive masks through
/// add. Expands are dropped: the mask broadcasts to the scores anyway.
void collectLeaves(Value mask, Kind kind, ScoreChain &leaves, int depth = 0) {
  Operation *def = mask.getDefiningOp();
  if (depth < 16 && def) {
    if (auto expand = dyn_cast<ExpandOp>(def))
      return collectLeaves(expand.getInput(), kind, leaves, depth + 1);
    if (isa<ExpandDimsOp, ReshapeOp, ReshapeDynamicOp>(def) &&
        addsLeadingUnitAxes(def))
      return collectLeaves(def->getOperand(0), kind, leaves, depth + 1);
    switch (kind) {
    case Kind::Keep:
    case Kind::Drop: {
      // Keep masks combine with and, drop masks with or; not flips them.
      bool keep = kind == Kind::Keep;
      if (isAll(mask, keep))
        return;
      if (keep ? isa<AndOp>(def) : isa<OrOp>(def)) {
        for (Value operand : def->getOperands())
          collectLeaves(operand, kind, leaves, depth + 1);
        return;
      }
      if (auto n = dyn_cast<NotOp>(def))
        return collectLeaves(n.getInput(), keep ? Kind::Drop : Kind::Keep,
                             leaves, depth + 1);
      break;
    }
    case Kind::Additive:
      if (isZero(mask))
        return;
      if (isa<AddOp>(def)) {
        for (Value operand : def->getOperands())
          collectLeaves(operand, kind, leaves, depth + 1);
        return;
      }
      if (auto select = dyn_cast<SelectOp>(def)) {
        // select(c, x, fill): c keeps; select(c, fill, x): c drops.
        if (isMaskFill(select.getRhs())) {
          collectLeaves(select.getCond(), Kind::Keep, leaves, depth + 1);
          return collectLeaves(select.getLhs(), kind, leaves, depth + 1);
        }
        if (isMaskFill(select.getLhs())) {
          collectLeaves(select.getCond(), Kind::Drop, leaves, depth + 1);
          return collectLeaves(select.getRhs(), kind, leaves, depth + 1);
        }
      }
      break;
    }
  }
  (kind == Kind::Keep   ? leaves.keepMasks
   : kind == Kind::Drop ? leaves.dropMasks
                        : leaves.additiveMasks)
      .push_back(mask);
}

/// Positions i + offset along one axis, i in [0, extent).
struct Positions {
  /// The axis, counted from the last.
  int64_t fromRight = 0;
  int64_t offset = 0;
  std::optional<Extent> extent;
};

/// `x` as positions: a range from a constant start by 1 (or a constant
/// holding such a sequence) with its one axis moved by unit-axis reshapes,
/// plus or minus constants, cast between integer types.
std::optional<Positions> positionsOf(Value x) {
  auto type = typeOf(x);
  int64_t live = -1;
  for (int64_t a = 0; a < type.getRank(); ++a) {
    if (type.getDimSize(a) == 1)
      continue;
    if (live >= 0)
      return std::nullopt;
    live = a;
  }
  if (live < 0)
    return std::nullopt;
  Positions p;
  p.fromRight = type.getRank() - 1 - live;
  for (int steps = 0; steps < 16; ++steps) {
    auto t = typeOf(x);
    if (!isa<IntegerType>(t.getElementType()))
      return std::nullopt;
    DenseIntElementsAttr constant;
    if (matchPattern(x, m_Constant(&constant))) {
      SmallVector<int64_t> values;
      for (const APInt &e : constant.getValues<APInt>())
        values.push_back(e.getSExtValue());
      for (auto [i, e] : llvm::enumerate(values))
        if (e != values[0] + static_cast<int64_t>(i))
          return std::nullopt;
      p.offset += values.empty() ? 0 : values[0];
      Extent e;
      e.size = static_cast<int64_t>(values.size());
      p.extent = e;
      return p;
    }
    Operation *def = x.getDefiningOp();
    if (!def)
      return std::nullopt;
    if (auto range = dyn_cast<RangeOp>(def)) {
      std::optional<int64_t> start = scalarInt(range.getStart());
      if (!start || scalarInt(range.getDelta()) != 1)
        return std::nullopt;
      p.offset += *start;
      if (!t.isDynamicDim(0)) {
        Extent e;
        e.size = t.getDimSize(0);
        p.extent = e;
      } else if (*start == 0) {
        p.extent = extentHeldBy(range.getLimit());
      }
      return p;
    }
    if (isa<AddOp, SubOp>(def)) {
      Value lhs = def->getOperand(0), rhs = def->getOperand(1);
      bool sub = isa<SubOp>(def);
      if (std::optional<int64_t> c = scalarInt(rhs);
          c && typeOf(rhs).getNumElements() == 1) {
        p.offset += sub ? -*c : *c;
        x = lhs;
        continue;
      }
      if (std::optional<int64_t> c = scalarInt(lhs);
          c && !sub && typeOf(lhs).getNumElements() == 1) {
        p.offset += *c;
        x = rhs;
        continue;
      }
      return std::nullopt;
    }
    // Casts keep the elements; reshapes between tensors with one axis of
    // other than a static 1 keep their order and count.
    if (isa<CastOp, ExpandDimsOp, ReshapeOp, ReshapeDynamicOp>(def)) {
      Value in = def->getOperand(0);
      auto inType = typeOf(in);
      if (llvm::count_if(inType.getShape(), [](int64_t d) { return d != 1; }) !=
              1 &&
          !isa<CastOp>(def))
        return std::nullopt;
      x = in;
      continue;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

/// The diagonal of a causal comparison leaf of `sdpa`: key j is kept for
/// query i exactly when j <= i + offset.
std::optional<int64_t> comparisonOffset(Value leaf, Kind kind, SdpaOp sdpa) {
  Operation *def = leaf.getDefiningOp();
  Value greater, smaller;
  if (auto g = dyn_cast_or_null<GreaterOp>(def))
    greater = g.getLhs(), smaller = g.getRhs();
  else if (auto l = dyn_cast_or_null<LessOp>(def))
    greater = l.getRhs(), smaller = l.getLhs();
  else
    return std::nullopt;
  std::optional<Positions> a = positionsOf(greater), b = positionsOf(smaller);
  if (!a || !b || !a->extent || !b->extent)
    return std::nullopt;
  bool keysGreater = a->fromRight == 0 && b->fromRight == 1;
  if (!keysGreater && !(a->fromRight == 1 && b->fromRight == 0))
    return std::nullopt;
  const Positions &keys = keysGreater ? *a : *b;
  const Positions &queries = keysGreater ? *b : *a;
  // The comparison covers every query and key: no extent broadcast.
  if (!(*keys.extent == extentOf(sdpa.getK(), 2)) ||
      !(*queries.extent == extentOf(sdpa.getQ(), 2)))
    return std::nullopt;
  int64_t d = queries.offset - keys.offset;
  // (j + ck > i + cq) drops j > i + d; (i + cq > j + ck) keeps j <= i + d - 1.
  if (keysGreater && kind == Kind::Drop)
    return d;
  if (!keysGreater && kind == Kind::Keep)
    return d - 1;
  return std::nullopt;
}

/// A scalar (a one-element tensor) read through casts and reshapes.
Value scalarSource(Value x) {
  for (int steps = 0; steps < 8 && x; ++steps) {
    Operation *def = x.getDefiningOp();
    if (!def || !isa<CastOp, ExpandDimsOp, ReshapeOp>(def))
      return x;
    x = def->getOperand(0);
  }
  return x;
}

/// The start (`start`) and extent of one sliced axis, as far as known: a
/// constant start, or `a - b` with `b` ... `a`, whose extent is `b` and
/// whose start is 0 when `a` and `b` hold the same extent.
struct SlicedAxis {
  std::optional<int64_t> start;
  std::optional<Extent> extent;
};

SlicedAxis slicedAxis(SliceOp slice, int64_t axis) {
  SlicedAxis out;
  int64_t rank = typeOf(slice.getInput()).getRank();
  ArrayRef<int64_t> axes = slice.getAxes();
  auto at = llvm::find_if(
      axes, [&](int64_t a) { return (a < 0 ? a + rank : a) == axis; });
  if (at == axes.end()) {
    // Not sliced: the whole axis.
    out.start = 0;
    out.extent = extentOf(slice.getInput(), axis);
    return out;
  }
  int64_t k = at - axes.begin();
  if (slice.getSteps()[k] != 1)
    return out;
  auto [startKnown, startScalar] = shapeEntry(slice.getStarts(), k);
  auto [endKnown, endScalar] = shapeEntry(slice.getEnds(), k);
  if (startKnown && *startKnown >= 0) {
    out.start = *startKnown;
    int64_t dim = typeOf(slice.getInput()).getDimSize(axis);
    if (endKnown && !ShapedType::isDynamic(dim)) {
      Extent e;
      e.size = sliceExtent(dim, *startKnown, *endKnown, 1);
      out.extent = e;
    } else if (*startKnown == 0 && endScalar) {
      out.extent = extentHeldBy(endScalar);
    }
    return out;
  }
  // start = a - b, end = a: the last b rows; start 0 when a and b agree.
  auto sub =
      startScalar ? scalarSource(startScalar).getDefiningOp<SubOp>() : SubOp();
  if (!sub || !endScalar ||
      scalarSource(endScalar) != scalarSource(sub.getLhs()))
    return out;
  std::optional<Extent> a = extentHeldBy(sub.getLhs());
  std::optional<Extent> b = extentHeldBy(sub.getRhs());
  if (a && b && *a == *b)
    out.start = 0;
  out.extent = b;
  return out;
}

/// The diagonal of a leaf sliced from a constant causal buffer (as older
/// GPT-2 exports slice `bias[:, :, Nk - Nq : Nk, :Nk]`, or a triangle of
/// -inf sliced to `[:n, :n]`, one Slice per axis or one for both): key j
/// is kept for query i exactly when j <= i + offset.
std::optional<int64_t> slicedOffset(Value leaf, Kind kind, SdpaOp sdpa) {
  SmallVector<SliceOp> chain;
  Value buffer = leaf;
  while (auto slice = buffer.getDefiningOp<SliceOp>()) {
    if (chain.size() == 4)
      return std::nullopt;
    chain.push_back(slice);
    buffer = slice.getInput();
  }
  auto type = typeOf(buffer);
  int64_t rank = type.getRank();
  if (chain.empty() || rank < 2 || !type.hasStaticShape())
    return std::nullopt;
  std::optional<int64_t> diagonal =
      causalOffset(buffer, kind, staticExtent(type.getDimSize(rank - 2)),
                   staticExtent(type.getDimSize(rank - 1)));
  if (!diagonal)
    return std::nullopt;
  // The slice of the chain that cuts `axis` (at most one), else all of it.
  auto sliced = [&](int64_t axis) {
    SliceOp owner;
    for (SliceOp slice : chain)
      for (int64_t a : slice.getAxes())
        if ((a < 0 ? a + rank : a) == axis) {
          if (owner)
            return SlicedAxis();
          owner = slice;
        }
    if (owner)
      return slicedAxis(owner, axis);
    SlicedAxis whole;
    whole.start = 0;
    whole.extent = staticExtent(type.getDimSize(axis));
    return whole;
  };
  SlicedAxis rows = sliced(rank - 2);
  SlicedAxis cols = sliced(rank - 1);
  // Every query and key covered, so no row or column is broadcast.
  if (!rows.start || !cols.start || !rows.extent || !cols.extent ||
      !(*rows.extent == extentOf(sdpa.getQ(), 2)) ||
      !(*cols.extent == extentOf(sdpa.getK(), 2)))
    return std::nullopt;
  // leaf[i, j] = buffer[i + rs, j + cs]: kept when j + cs <= i + rs + d.
  return *rows.start - *cols.start + *diagonal;
}

} // namespace

bool mlir::attn::fusion::recognizeCausalMask(SdpaOp sdpa) {
  Value mask = sdpa.getMask();
  if (!mask || sdpa.getCausal())
    return false;
  ScoreChain leaves;
  bool boolean = getElementTypeOrSelf(mask.getType()).isInteger(1);
  collectLeaves(mask, boolean ? Kind::Keep : Kind::Additive, leaves);
  Extent rows = extentOf(sdpa.getQ(), 2), cols = extentOf(sdpa.getK(), 2);
  std::optional<int64_t> offset;
  auto take = [&](SmallVector<Value> &list, Kind kind) {
    for (auto *it = list.begin(); it != list.end() && !offset; ++it) {
      Value leaf = *it;
      // A mask of 0s and 1s turned boolean (non-zero keeps): its source.
      if (auto cast = leaf.getDefiningOp<CastOp>();
          cast && kind != Kind::Additive &&
          !getElementTypeOrSelf(cast.getInput().getType()).isInteger(1))
        leaf = cast.getInput();
      offset = causalOffset(leaf, kind, rows, cols);
      if (!offset && kind != Kind::Additive)
        offset = comparisonOffset(leaf, kind, sdpa);
      if (!offset)
        offset = slicedOffset(leaf, kind, sdpa);
      if (offset) {
        list.erase(it);
        return;
      }
    }
  };
  take(leaves.keepMasks, Kind::Keep);
  take(leaves.dropMasks, Kind::Drop);
  take(leaves.additiveMasks, Kind::Additive);
  if (!offset)
    return false;
  OpBuilder b(sdpa);
  Type element = leaves.additiveMasks.empty()
                     ? getElementTypeOrSelf(sdpa.getQ().getType())
                     : getElementTypeOrSelf(leaves.additiveMasks[0]);
  Value rest = combineMasks(b, sdpa.getLoc(), leaves, element);
  if (rest)
    sdpa.getMaskMutable().assign(rest);
  else
    sdpa.getMaskMutable().clear();
  sdpa.setCausal(true);
  sdpa.setCausalOffset(*offset);
  return true;
}
