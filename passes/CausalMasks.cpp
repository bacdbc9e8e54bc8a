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

/// Whether the constant or Trilu-built `mask` is exactly the causal pattern
/// over scores of Nq × Nk: `kind` 0 for an i1 keep mask, 1 for an i1 drop
/// mask (true = masked), 2 for an additive mask (0 kept, at most -10000
/// masked). On success `offset` is the diagonal: key j is kept for query i
/// when j <= i + offset.
bool isCausalMask(Value mask, int kind, int64_t nq, int64_t nk,
                  int64_t &offset) {
  auto type = cast<RankedTensorType>(mask.getType());
  int64_t rank = type.getRank();
  if (rank < 2 || ShapedType::isDynamic(nq) || ShapedType::isDynamic(nk) ||
      type.getDimSize(rank - 2) != nq || type.getDimSize(rank - 1) != nk)
    return false;
  for (int64_t d = 0; d < rank - 2; ++d)
    if (type.getDimSize(d) != 1)
      return false;
  // Trilu of a tensor of ones (or true): lower keeps j - i <= k, upper
  // keeps j - i >= k.
  if (auto trilu = mask.getDefiningOp<TriluOp>()) {
    DenseElementsAttr ones;
    if (kind == 2 || !matchPattern(trilu.getInput(), m_Constant(&ones)) ||
        !ones.isSplat())
      return false;
    bool allOnes = isa<IntegerType>(ones.getElementType())
                       ? !ones.getSplatValue<APInt>().isZero()
                       : !ones.getSplatValue<APFloat>().isZero();
    DenseIntElementsAttr kAttr;
    int64_t k = 0;
    if (Value kv = trilu.getK()) {
      if (!matchPattern(kv, m_Constant(&kAttr)))
        return false;
      k = (*kAttr.getValues<APInt>().begin()).getSExtValue();
    }
    if (!allOnes)
      return false;
    // keep: lower with diagonal k; drop: upper from diagonal k = offset + 1.
    if (kind == 0 && !trilu.getUpper()) {
      offset = k;
      return true;
    }
    if (kind == 1 && trilu.getUpper()) {
      offset = k - 1;
      return true;
    }
    return false;
  }
  DenseElementsAttr attr;
  if (!matchPattern(mask, m_Constant(&attr)) || attr.isSplat())
    return false;
  auto kept = [&](int64_t index) {
    if (kind == 2)
      return (*(attr.getValues<APFloat>().begin() + index)).convertToDouble() ==
             0.0;
    bool bit = *(attr.getValues<bool>().begin() + index);
    return kind == 0 ? bit : !bit;
  };
  auto masked = [&](int64_t index) {
    if (kind != 2)
      return !kept(index);
    return (*(attr.getValues<APFloat>().begin() + index)).convertToDouble() <=
           -1e4;
  };
  for (int64_t candidate : {int64_t(0), nk - nq}) {
    bool ok = true;
    for (int64_t i = 0; i < nq && ok; ++i)
      for (int64_t j = 0; j < nk && ok; ++j) {
        int64_t index = i * nk + j;
        ok = j <= i + candidate ? kept(index) : masked(index);
      }
    if (ok) {
      offset = candidate;
      return true;
    }
  }
  return false;
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

enum class Kind { Keep, Drop, Additive };

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
    if (*startKnown == 0 && endScalar)
      out.extent = extentHeldBy(endScalar);
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
/// GPT-2 exports slice `bias[:, :, Nk - Nq : Nk, :Nk]`): key j is kept for
/// query i exactly when j <= i + offset.
std::optional<int64_t> slicedOffset(Value leaf, Kind kind, SdpaOp sdpa) {
  auto slice = leaf.getDefiningOp<SliceOp>();
  if (!slice || kind == Kind::Additive)
    return std::nullopt;
  auto buffer = typeOf(slice.getInput());
  int64_t rank = buffer.getRank();
  int64_t diagonal = 0;
  if (rank < 2 || !buffer.hasStaticShape() ||
      !isCausalMask(slice.getInput(), static_cast<int>(kind),
                    buffer.getDimSize(rank - 2), buffer.getDimSize(rank - 1),
                    diagonal))
    return std::nullopt;
  SlicedAxis rows = slicedAxis(slice, rank - 2);
  SlicedAxis cols = slicedAxis(slice, rank - 1);
  // Every query and key covered, so no row or column is broadcast.
  if (!rows.start || !cols.start || !rows.extent || !cols.extent ||
      !(*rows.extent == extentOf(sdpa.getQ(), 2)) ||
      !(*cols.extent == extentOf(sdpa.getK(), 2)))
    return std::nullopt;
  // leaf[i, j] = buffer[i + rs, j + cs]: kept when j + cs <= i + rs + d.
  return *rows.start - *cols.start + diagonal;
}

} // namespace

bool mlir::attn::fusion::recognizeCausalMask(SdpaOp sdpa) {
  Value mask = sdpa.getMask();
  if (!mask || sdpa.getCausal())
    return false;
  ScoreChain leaves;
  bool boolean = getElementTypeOrSelf(mask.getType()).isInteger(1);
  collectLeaves(mask, boolean ? Kind::Keep : Kind::Additive, leaves);
  int64_t nq = typeOf(sdpa.getQ()).getDimSize(2);
  int64_t nk = typeOf(sdpa.getK()).getDimSize(2);
  std::optional<int64_t> offset;
  auto take = [&](SmallVector<Value> &list, Kind kind) {
    for (auto *it = list.begin(); it != list.end() && !offset; ++it) {
      int64_t diagonal = 0;
      if (isCausalMask(*it, static_cast<int>(kind), nq, nk, diagonal))
        offset = diagonal;
      else if (kind != Kind::Additive)
        offset = comparisonOffset(*it, kind, sdpa);
      if (!offset)
        offset = slicedOffset(*it, kind, sdpa);
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
