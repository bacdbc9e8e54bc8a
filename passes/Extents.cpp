//===- Extents.cpp - Which tensor extents are equal at run time -*- C++ -*-===//
//
// With dynamic shapes a matcher often has to know that two extents are the
// same, e.g. that a causal mask built from range(0, n) has as many rows as
// the attention has queries. extentOf follows an axis back through the ops
// that keep its extent (elementwise ops, transposes, matmuls, gathers,
// reshapes whose target entries were read off shapes, ...) to where it comes
// from: a static size, a named input dimension (ONNX dim_param; the
// generated code checks that inputs sharing a name agree), or the first
// tensor it cannot be traced past.
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

bool Extent::operator==(const Extent &other) const {
  if (!ShapedType::isDynamic(size) || !ShapedType::isDynamic(other.size))
    return size == other.size;
  if (name || other.name)
    return name == other.name;
  return value == other.value && axis == other.axis;
}

namespace {

/// How far back a chain of producers is followed (a query is memoized, so
/// the cost is linear in the ops visited): enough for the whole encoder of
/// a 24-layer model, whose every layer adds a dozen ops between one
/// projection's rows and the next (quantized products add more).
constexpr int kMaxDepth = 1024;

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

Extent staticExtent(int64_t size) {
  Extent e;
  e.size = size;
  return e;
}

Extent opaqueExtent(Value x, int64_t axis) {
  Extent e;
  e.value = x;
  e.axis = axis;
  return e;
}

/// Extents already traced. Tensors feeding several ops (residual streams)
/// are reached along many paths; each is traced once.
thread_local DenseMap<std::pair<Value, int64_t>, Extent> *traced = nullptr;

Extent extentAt(Value x, int64_t axis, int depth);
std::optional<Extent> heldExtent(Value scalar, int depth);

/// The element at `at` of a shape tensor, or of a concatenation of them
/// (shapes read axis by axis).
std::optional<Extent> shapeAxis(Value shape, std::optional<int64_t> at,
                                int depth) {
  if (!at)
    return std::nullopt;
  while (auto concat = shape.getDefiningOp<ConcatOp>()) {
    int64_t total = typeOf(shape).getDimSize(0);
    if (ShapedType::isDynamic(total))
      return std::nullopt;
    int64_t k = *at < 0 ? *at + total : *at;
    Value piece;
    for (Value in : concat.getInputs()) {
      int64_t n = typeOf(in).getDimSize(0);
      if (ShapedType::isDynamic(n))
        return std::nullopt;
      if (k < n) {
        piece = in;
        break;
      }
      k -= n;
    }
    if (!piece)
      return std::nullopt;
    if (!piece.getDefiningOp<ShapeOp>() && !piece.getDefiningOp<ConcatOp>())
      return typeOf(piece).getNumElements() == 1 ? heldExtent(piece, depth + 1)
                                                 : std::nullopt;
    shape = piece;
    at = k;
  }
  auto s = shape.getDefiningOp<ShapeOp>();
  if (!s)
    return std::nullopt;
  int64_t n = s.getEnd() - s.getStart();
  int64_t k = *at < 0 ? *at + n : *at;
  if (k < 0 || k >= n)
    return std::nullopt;
  return extentAt(s.getInput(), s.getStart() + k, depth + 1);
}

/// The extent of result axis `axis` (of rank `rank`) of a broadcast over
/// `operands` (aligned on the right): the one extent of the operands that
/// reach the axis with other than a static 1, when they agree.
std::optional<Extent> broadcastExtent(ValueRange operands, int64_t rank,
                                      int64_t axis, int depth) {
  std::optional<Extent> found;
  for (Value operand : operands) {
    auto t = dyn_cast<RankedTensorType>(operand.getType());
    if (!t)
      continue;
    int64_t a = axis - (rank - t.getRank());
    if (a < 0 || t.getDimSize(a) == 1)
      continue;
    Extent e = extentAt(operand, a, depth + 1);
    if (found && !(*found == e))
      return std::nullopt;
    found = e;
  }
  return found;
}

/// Entry `k` of the 1-D shape tensor `shape` as an extent: its value where
/// known, else the extent held by the scalar it was built from.
std::optional<Extent> shapeEntryExtent(Value shape, int64_t k, int depth) {
  auto [known, scalar] = shapeEntry(shape, k);
  if (known)
    return staticExtent(*known);
  if (scalar)
    return heldExtent(scalar, depth + 1);
  return shapeAxis(shape, k, depth);
}

/// Result axis `k` of a reshape of `input` to `out`, given its target entry
/// (`entry`: the extent, 0 to copy the input's, -1 inferred).
std::optional<Extent> reshapedExtent(Operation *op, Value input, int64_t k,
                                     std::optional<int64_t> entry,
                                     std::optional<Extent> fromScalar,
                                     int depth) {
  auto in = typeOf(input), out = typeOf(op->getResult(0));
  if (fromScalar)
    return fromScalar;
  if (entry && *entry > 0)
    return staticExtent(*entry);
  if (entry && *entry == 0 && k < in.getRank())
    return extentAt(input, k, depth + 1);
  if (!entry || *entry != -1 || in.getRank() != out.getRank())
    return std::nullopt;
  // The one inferred axis of a same-rank reshape whose other axes keep the
  // input's extents keeps the input's extent too.
  for (int64_t j = 0; j < out.getRank(); ++j) {
    if (j == k)
      continue;
    if (!(extentAt(op->getResult(0), j, depth + 1) ==
          extentAt(input, j, depth + 1)))
      return std::nullopt;
  }
  return extentAt(input, k, depth + 1);
}

/// The axis of `input` that becomes result axis `axis` when the input axes
/// `dropped` are removed (squeeze, a reduction without keepdims).
int64_t keptAxis(Value input, ArrayRef<int64_t> dropped, int64_t axis) {
  int64_t in = 0, seen = -1;
  for (; in < typeOf(input).getRank(); ++in)
    if (!llvm::is_contained(dropped, in) && ++seen == axis)
      break;
  return in;
}

/// One step back: the extent of `axis` of `x`, computed by its producer.
std::optional<Extent> producedExtent(Value x, int64_t axis, int depth) {
  Operation *def = x.getDefiningOp();
  if (!def)
    return std::nullopt;
  int64_t rank = typeOf(x).getRank();
  if (auto t = dyn_cast<TransposeOp>(def))
    return extentAt(t.getInput(), t.getPerm()[axis], depth + 1);
  if (isa<MatMulOp, MatMulIntegerOp, LinearOp>(def)) {
    Value lhs = def->getOperand(0), rhs = def->getOperand(1);
    auto l = typeOf(lhs), r = typeOf(rhs);
    if (l.getRank() < 2 || r.getRank() < 2)
      return std::nullopt;
    if (axis == rank - 1)
      return extentAt(rhs, r.getRank() - 1, depth + 1);
    if (axis == rank - 2)
      return extentAt(lhs, l.getRank() - 2, depth + 1);
    // Batch axes broadcast between the two operands.
    return broadcastExtent({lhs, rhs}, rank, axis, depth);
  }
  if (isa<QuantizeOp, DequantizeOp>(def))
    return extentAt(def->getOperand(0), axis, depth + 1);
  if (auto norm = dyn_cast<LayerNormOp>(def))
    return extentAt(norm.getInput(), axis, depth + 1);
  if (auto sdpa = dyn_cast<SdpaOp>(def))
    return axis == 3 ? extentAt(sdpa.getV(), 3, depth + 1)
                     : extentAt(sdpa.getQ(), axis, depth + 1);
  if (auto gather = dyn_cast<GatherOp>(def)) {
    int64_t g = gather.getAxis();
    int64_t indexRank = typeOf(gather.getIndices()).getRank();
    if (axis < g)
      return extentAt(gather.getData(), axis, depth + 1);
    if (axis < g + indexRank)
      return extentAt(gather.getIndices(), axis - g, depth + 1);
    return extentAt(gather.getData(), axis - indexRank + 1, depth + 1);
  }
  // GatherND's result: indices.shape[:-1] + data.shape[batch_dims + q:].
  if (auto gather = dyn_cast<GatherNdOp>(def)) {
    auto indices = typeOf(gather.getIndices());
    int64_t leading = indices.getRank() - 1;
    if (axis < leading)
      return extentAt(gather.getIndices(), axis, depth + 1);
    int64_t q = indices.getDimSize(leading);
    if (ShapedType::isDynamic(q))
      return std::nullopt;
    return extentAt(gather.getData(),
                    static_cast<int64_t>(gather.getBatchDims()) + q + axis -
                        leading,
                    depth + 1);
  }
  // GatherElements' result has the shape of its indices.
  if (auto gather = dyn_cast<GatherElementsOp>(def))
    return extentAt(gather.getIndices(), axis, depth + 1);
  if (auto e = dyn_cast<ExpandDimsOp>(def)) {
    ArrayRef<int64_t> axes = e.getAxes();
    if (!e.getSqueeze()) {
      // `axes` are new result axes (of extent 1).
      int64_t before =
          llvm::count_if(axes, [&](int64_t a) { return a < axis; });
      return extentAt(e.getInput(), axis - before, depth + 1);
    }
    // `axes` are dropped input axes.
    return extentAt(e.getInput(), keptAxis(e.getInput(), axes, axis),
                    depth + 1);
  }
  if (auto reduce = dyn_cast<ReduceOp>(def)) {
    ArrayRef<int64_t> axes = reduce.getAxes();
    if (reduce.getKeepdims())
      return llvm::is_contained(axes, axis)
                 ? std::nullopt
                 : std::optional<Extent>(
                       extentAt(reduce.getInput(), axis, depth + 1));
    return extentAt(reduce.getInput(), keptAxis(reduce.getInput(), axes, axis),
                    depth + 1);
  }
  if (auto slice = dyn_cast<SliceOp>(def)) {
    for (int64_t a : slice.getAxes())
      if (a == axis || a + rank == axis)
        return std::nullopt;
    return extentAt(slice.getInput(), axis, depth + 1);
  }
  if (auto concat = dyn_cast<ConcatOp>(def)) {
    int64_t along = concat.getAxis();
    if (along < 0)
      along += rank;
    if (along == axis)
      return std::nullopt;
    return broadcastExtent(concat.getInputs(), rank, axis, depth);
  }
  if (auto range = dyn_cast<RangeOp>(def)) {
    auto start = getKnownElements(range.getStart());
    auto delta = getKnownElements(range.getDelta());
    if (start.size() == 1 && start[0] == 0 && delta.size() == 1 &&
        delta[0] == 1)
      return heldExtent(range.getLimit(), depth + 1);
    return std::nullopt;
  }
  if (auto expand = dyn_cast<ExpandOp>(def)) {
    auto in = typeOf(expand.getInput());
    int64_t a = axis - (rank - in.getRank());
    std::optional<Extent> target =
        shapeEntryExtent(expand.getShape(), axis, depth);
    if (a < 0 || in.getDimSize(a) == 1)
      return target;
    Extent own = extentAt(expand.getInput(), a, depth + 1);
    if (!target || (!ShapedType::isDynamic(target->size) && target->size == 1))
      return target ? std::optional<Extent>(own) : std::nullopt;
    return *target == own ? std::optional<Extent>(own) : std::nullopt;
  }
  if (auto fill = dyn_cast<ConstantOfShapeOp>(def))
    return shapeEntryExtent(fill.getShape(), axis, depth);
  if (auto r = dyn_cast<ReshapeOp>(def)) {
    ArrayRef<int64_t> target = r.getShape();
    if (axis >= static_cast<int64_t>(target.size()))
      return std::nullopt;
    return reshapedExtent(def, r.getInput(), axis, target[axis], std::nullopt,
                          depth);
  }
  if (auto r = dyn_cast<ReshapeDynamicOp>(def)) {
    auto [known, scalar] = shapeEntry(r.getShape(), axis);
    std::optional<Extent> held;
    if (scalar)
      held = heldExtent(scalar, depth + 1);
    else if (!known)
      held = shapeAxis(r.getShape(), axis, depth);
    if (!known && !held)
      return std::nullopt;
    return reshapedExtent(def, r.getInput(), axis, known, held, depth);
  }
  // Elementwise ops with numpy broadcasting, and ops that keep the shape.
  if (isa<AddOp, SubOp, MulOp, DivOp, PowOp, ModOp, MaxOp, MinOp, AndOp, OrOp,
          EqualOp, LessOp, GreaterOp, SelectOp, CastOp, IsNanOp, GeluOp,
          SoftmaxOp, LogSoftmaxOp, TriluOp>(def) ||
      def->hasTrait<OpTrait::SameOperandsAndResultType>())
    return broadcastExtent(def->getOperands(), rank, axis, depth);
  return std::nullopt;
}

Extent extentAt(Value x, int64_t axis, int depth) {
  auto type = typeOf(x);
  if (axis < 0 || axis >= type.getRank())
    return opaqueExtent(x, axis);
  if (!type.isDynamicDim(axis))
    return staticExtent(type.getDimSize(axis));
  if (auto arg = dyn_cast<BlockArgument>(x)) {
    auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (func)
      if (auto dims =
              func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "attn.dims");
          dims && axis < static_cast<int64_t>(dims.size()))
        if (auto name = dyn_cast<StringAttr>(dims[axis]);
            name && !name.getValue().empty() && name.getValue() != "?") {
          Extent e;
          e.name = name;
          return e;
        }
    return opaqueExtent(x, axis);
  }
  if (traced)
    if (auto it = traced->find({x, axis}); it != traced->end())
      return it->second;
  Extent e = opaqueExtent(x, axis);
  if (depth < kMaxDepth)
    if (std::optional<Extent> produced = producedExtent(x, axis, depth))
      e = *produced;
  if (traced)
    (*traced)[{x, axis}] = e;
  return e;
}

std::optional<Extent> heldExtent(Value x, int depth) {
  for (; depth < kMaxDepth; ++depth) {
    SmallVector<std::optional<int64_t>> known = getKnownElements(x);
    if (known.size() == 1 && known[0])
      return staticExtent(*known[0]);
    Operation *def = x.getDefiningOp();
    if (!def || typeOf(x).getNumElements() != 1)
      return std::nullopt;
    if (isa<CastOp, ReshapeOp, ExpandDimsOp, ReshapeDynamicOp>(def)) {
      x = def->getOperand(0);
      continue;
    }
    if (auto s = dyn_cast<ShapeOp>(def))
      return shapeAxis(s, 0, depth);
    if (auto gather = dyn_cast<GatherOp>(def)) {
      SmallVector<std::optional<int64_t>> index =
          getKnownElements(gather.getIndices());
      if (gather.getAxis() != 0 || index.size() != 1)
        return std::nullopt;
      return shapeAxis(gather.getData(), index[0], depth);
    }
    if (auto slice = dyn_cast<SliceOp>(def)) {
      SmallVector<std::optional<int64_t>> start =
          getKnownElements(slice.getStarts());
      if (start.size() != 1)
        return std::nullopt;
      return shapeAxis(slice.getInput(), start[0], depth);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace

namespace {
/// Installs a cache for the duration of one query.
struct TraceScope {
  DenseMap<std::pair<Value, int64_t>, Extent> cache;
  DenseMap<std::pair<Value, int64_t>, Extent> *outer;
  TraceScope() : outer(traced) {
    if (!traced)
      traced = &cache;
  }
  ~TraceScope() { traced = outer; }
};
} // namespace

Extent mlir::attn::fusion::extentOf(Value x, int64_t axis) {
  TraceScope scope;
  return extentAt(x, axis, 0);
}

std::optional<Extent> mlir::attn::fusion::extentHeldBy(Value scalar) {
  TraceScope scope;
  return heldExtent(scalar, 0);
}

std::pair<std::optional<int64_t>, Value>
mlir::attn::fusion::shapeEntry(Value shape, int64_t k) {
  SmallVector<std::optional<int64_t>> known = getKnownElements(shape);
  if (k < static_cast<int64_t>(known.size()) && known[k])
    return {known[k], nullptr};
  auto type = typeOf(shape);
  if (type.getRank() == 1 && type.getNumElements() == 1 && k == 0)
    return {std::nullopt, shape};
  if (auto concat = shape.getDefiningOp<ConcatOp>()) {
    for (Value piece : concat.getInputs()) {
      int64_t n = typeOf(piece).getDimSize(0);
      if (ShapedType::isDynamic(n))
        return {std::nullopt, nullptr};
      if (k < n)
        return shapeEntry(piece, k);
      k -= n;
    }
  }
  if (auto e = shape.getDefiningOp<ExpandDimsOp>();
      e && !e.getSqueeze() && k == 0 && typeOf(e.getInput()).getRank() == 0)
    return {std::nullopt, e.getInput()};
  // where(s == c, t, s), as the TorchScript exporter writes an Expand's
  // target (-1 entries replaced by 1): s's entry where it is known to
  // differ from c, or an extent while c is negative (extents never are).
  if (auto select = shape.getDefiningOp<SelectOp>()) {
    auto equal = select.getCond().getDefiningOp<EqualOp>();
    if (!equal || equal.getLhs() != select.getRhs())
      return {std::nullopt, nullptr};
    SmallVector<std::optional<int64_t>> c = getKnownElements(equal.getRhs());
    std::optional<int64_t> ck = c.size() == 1 ? c[0]
                                : k < static_cast<int64_t>(c.size())
                                    ? c[k]
                                    : std::nullopt;
    if (!ck)
      return {std::nullopt, nullptr};
    auto [entry, scalar] = shapeEntry(select.getRhs(), k);
    if (entry)
      return *entry == *ck ? shapeEntry(select.getLhs(), k)
                           : std::make_pair(entry, Value());
    if (scalar && *ck < 0 && extentHeldBy(scalar))
      return {std::nullopt, scalar};
  }
  return {std::nullopt, nullptr};
}
