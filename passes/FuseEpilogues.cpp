//===- FuseEpilogues.cpp - Fuse the ops around products and norms -*- C++ -*-//
//
// attn-fuse-epilogues: the elementwise work that follows a matrix product
// in a Transformer block costs a pass over memory of its own when it runs as
// separate ops. Three rewrites remove those passes:
//
//   x·Wq, x·Wk, x·Wv  (constant W)    →  slices of x·[Wq Wk Wv]
//   act(x·W + b) + r                  →  attn.linear x, W bias b residual r
//   layer_norm(a + r)                 →  attn.layer_norm a residual r
//
// and, first, a patch embedding (conv2d with stride = kernel) becomes a
// product of the patches with the weights, which the second rewrite then
// fuses with its bias.
//
// Every intermediate must have no other user. With `report`, each rewrite
// gets a remark (attnc --report=fusion counts them).
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Dialect/Attn/IR/ConstantData.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNFUSEEPILOGUES
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

Value i64Vector(OpBuilder &b, Location loc, int64_t v) {
  auto type = RankedTensorType::get({1}, b.getI64Type());
  return b.create<ConstantOp>(
      loc, cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef(v))));
}

/// The value other than `x` of a binary op.
Value otherOperand(Operation *op, Value x) {
  return op->getOperand(0) == x ? op->getOperand(1) : op->getOperand(0);
}

/// The only user of `v`, if it has exactly one use.
Operation *onlyUser(Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

/// Whether `bias` is a vector along the last axis of `type` ([N] or
/// [1, ..., N]).
bool isBiasFor(Value bias, RankedTensorType type) {
  auto b = typeOf(bias);
  if (b.getElementType() != type.getElementType() || b.getRank() == 0 ||
      b.getRank() > type.getRank())
    return false;
  for (int64_t d = 0; d + 1 < b.getRank(); ++d)
    if (b.getDimSize(d) != 1)
      return false;
  int64_t n = b.getDimSize(b.getRank() - 1);
  return !ShapedType::isDynamic(n) && n == type.getDimSize(type.getRank() - 1);
}

//===----------------------------------------------------------------------===//
// Projections of one input
//===----------------------------------------------------------------------===//

struct Projection {
  MatMulOp matmul;
  /// The add of a constant bias [N], when that is the product's only user.
  AddOp biasAdd;
  ConstantBytes weight, bias;
  int64_t n = 0;
};

/// Merges the matmuls of `group` (one input, constant [K, N] weights) into
/// one over the concatenated weights.
void mergeProjections(MutableArrayRef<Projection> group) {
  MatMulOp first = group.front().matmul;
  auto weightType = typeOf(first.getRhs());
  Type element = weightType.getElementType();
  int64_t k = weightType.getDimSize(0);
  int64_t bytesPer = element.getIntOrFloatBitWidth() / 8;
  bool withBias = llvm::all_of(
      group, [](const Projection &p) { return static_cast<bool>(p.biasAdd); });
  int64_t total = 0;
  for (Projection &p : group)
    total += p.n;

  // [K, ΣN] row by row, and the biases end to end.
  std::vector<char> weights, biases;
  weights.reserve(k * total * bytesPer);
  for (int64_t row = 0; row < k; ++row)
    for (Projection &p : group)
      p.weight.append(weights, row * p.n, p.n);
  if (withBias)
    for (Projection &p : group)
      p.bias.append(biases, 0, p.n);

  OpBuilder b(first);
  Location loc = b.getFusedLoc(llvm::to_vector(
      llvm::map_range(group, [](Projection &p) { return p.matmul.getLoc(); })));
  Value w = makeConstant(b, loc, RankedTensorType::get({k, total}, element),
                         std::move(weights), "attn_weight_merged");
  auto outType = first.getType();
  SmallVector<int64_t> shape(outType.getShape());
  shape.back() = total;
  auto mergedType = RankedTensorType::get(shape, element);
  Value merged = b.create<MatMulOp>(loc, mergedType, first.getLhs(), w,
                                    /*schedule=*/nullptr);
  if (withBias) {
    Value bias = makeConstant(b, loc, RankedTensorType::get({total}, element),
                              std::move(biases), "attn_weight_merged");
    merged = b.create<AddOp>(loc, mergedType, merged, bias, nullptr);
  }
  // Each projection reads its columns back through a slice that its
  // consumers read through (no copy).
  auto inlined = ScheduleAttr::get(b.getContext(), 1, {}, false,
                                   /*inlined=*/true, 0);
  int64_t offset = 0;
  int64_t axis = outType.getRank() - 1;
  for (Projection &p : group) {
    Value replaced = withBias ? p.biasAdd.getResult() : p.matmul.getResult();
    auto slice = b.create<SliceOp>(
        p.matmul.getLoc(), replaced.getType(), merged,
        i64Vector(b, loc, offset), i64Vector(b, loc, offset + p.n),
        b.getDenseI64ArrayAttr({axis}), b.getDenseI64ArrayAttr({1}), inlined);
    replaced.replaceAllUsesWith(slice.getResult());
    offset += p.n;
  }
}

/// A patch embedding (ViT's first op): a conv2d whose stride equals its
/// kernel, without padding, dilation or groups, over whole patches, with
/// constant weights, is the product of the patches with the weights:
///
///   x [B, C, H, W] → [B, C, H/P, P, W/Q, Q] → [B, H/P, W/Q, C, P, Q]
///     → patches [B, L, C·P·Q] · W [C·P·Q, O] (+ bias) → [B, L, O]
///     → [B, O, L] → [B, O, H/P, W/Q]
///
/// so that it runs as a register-tiled product (attn.linear once its bias
/// is fused, weights packed into panels) instead of a direct convolution.
/// The batch may be a run-time extent; everything else must be static.
bool lowerPatchEmbedding(Conv2dOp conv) {
  auto in = cast<RankedTensorType>(conv.getInput().getType());
  auto wType = cast<RankedTensorType>(conv.getWeight().getType());
  auto outType = conv.getType();
  if (conv.getGroup() != 1 || in.getRank() != 4 || !wType.hasStaticShape() ||
      wType.getRank() != 4 || outType.getRank() != 4)
    return false;
  int64_t c = wType.getDimSize(1), p = wType.getDimSize(2),
          q = wType.getDimSize(3), o = wType.getDimSize(0);
  if (in.isDynamicDim(1) || in.isDynamicDim(2) || in.isDynamicDim(3) ||
      in.getDimSize(1) != c)
    return false;
  int64_t h = in.getDimSize(2), w = in.getDimSize(3);
  if (conv.getStrides() != ArrayRef<int64_t>{p, q} || h % p != 0 ||
      w % q != 0 || llvm::any_of(conv.getPads(), [](int64_t x) { return x; }) ||
      llvm::any_of(conv.getDilations(), [](int64_t x) { return x != 1; }))
    return false;
  std::optional<ConstantBytes> weights = constantBytes(conv.getWeight());
  if (!weights || weights->splat)
    return false;
  int64_t hp = h / p, wq = w / q, l = hp * wq, k = c * p * q;
  int64_t batch = in.getDimSize(0);
  Type element = in.getElementType();
  // [O, C·P·Q] row-major to [C·P·Q, O].
  int64_t bytes = weights->elementBytes;
  std::vector<char> wt(static_cast<size_t>(k * o * bytes));
  for (int64_t j = 0; j < o; ++j)
    for (int64_t i = 0; i < k; ++i)
      std::memcpy(wt.data() + (i * o + j) * bytes, weights->at(j * k + i),
                  bytes);
  OpBuilder b(conv);
  Location loc = conv.getLoc();
  auto typed = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, element);
  };
  Value x = b.create<ReshapeOp>(
      loc, typed({batch, c, hp, p, wq, q}), conv.getInput(),
      b.getDenseI64ArrayAttr({0, c, hp, p, wq, q}), nullptr);
  x = b.create<TransposeOp>(loc, typed({batch, hp, wq, c, p, q}), x,
                            ArrayRef<int64_t>{0, 2, 4, 1, 3, 5}, nullptr);
  x = b.create<ReshapeOp>(loc, typed({batch, l, k}), x,
                          b.getDenseI64ArrayAttr({0, l, k}), nullptr);
  Value wm =
      makeConstant(b, loc, typed({k, o}), std::move(wt), "attn_weight_patches");
  Value y = b.create<MatMulOp>(loc, typed({batch, l, o}), x, wm, nullptr);
  if (Value bias = conv.getBias())
    y = b.create<AddOp>(loc, typed({batch, l, o}), y, bias, nullptr);
  y = b.create<TransposeOp>(loc, typed({batch, o, l}), y,
                            ArrayRef<int64_t>{0, 2, 1}, nullptr);
  y = b.create<ReshapeOp>(loc, outType, y,
                          b.getDenseI64ArrayAttr({0, o, hp, wq}), nullptr);
  conv.getResult().replaceAllUsesWith(y);
  conv.erase();
  return true;
}

void mergeSharedInputProjections(func::FuncOp func, bool report) {
  llvm::MapVector<Value, SmallVector<Projection>> byInput;
  func.walk([&](MatMulOp mm) {
    auto w = typeOf(mm.getRhs());
    std::optional<ConstantBytes> bytes = constantBytes(mm.getRhs());
    if (w.getRank() != 2 || !bytes || typeOf(mm.getLhs()).getRank() < 2)
      return;
    Projection p;
    p.matmul = mm;
    p.weight = *bytes;
    p.n = w.getDimSize(1);
    if (auto add = dyn_cast_or_null<AddOp>(onlyUser(mm.getResult()))) {
      Value bias = otherOperand(add, mm.getResult());
      std::optional<ConstantBytes> biasBytes = constantBytes(bias);
      if (biasBytes && typeOf(bias).getRank() == 1 &&
          isBiasFor(bias, mm.getType()) && add.getType() == mm.getType()) {
        p.biasAdd = add;
        p.bias = *biasBytes;
      }
    }
    byInput[mm.getLhs()].push_back(p);
  });
  for (auto &[input, group] : byInput) {
    if (group.size() < 2)
      continue;
    mergeProjections(group);
    if (!report)
      continue;
    SmallVector<std::string> names;
    for (Projection &p : group)
      names.push_back(describeNode(p.matmul));
    group.front().matmul.emitRemark("fusion: projection ")
        << llvm::join(names, " + ") << " fused into one attn.matmul";
  }
}

//===----------------------------------------------------------------------===//
// Matmul epilogues
//===----------------------------------------------------------------------===//

/// Grows the epilogue of `mm` as far as it goes and rewrites it into
/// attn.linear; returns the parts fused (empty when none).
/// `product` (attn.matmul, or the Mul of a quantized product found by
/// matchQuantizedProduct) with `lhs`, `rhs` and, for 8-bit products, the
/// quantization operands of attn.linear. A quantized product becomes an
/// attn.linear even when nothing follows it.
SmallVector<std::string> fuseEpilogue(Value product, Value lhs, Value rhs,
                                      ValueRange quantization = {}) {
  auto type = typeOf(product);
  Value current = product;
  Location loc = product.getDefiningOp()->getLoc();
  Value bias, residual;
  std::string activation = "none";
  SmallVector<std::string> parts;

  if (auto add = dyn_cast_or_null<AddOp>(onlyUser(current))) {
    Value other = otherOperand(add, current);
    if (other != current && add.getType() == type && isBiasFor(other, type)) {
      bias = other;
      current = add.getResult();
      parts.push_back("bias");
    }
  }

  // The activation: one op, or SiLU written as x · sigmoid(x).
  Operation *user = onlyUser(current);
  auto sameType = [&](Operation *op) {
    return op && op->getNumResults() == 1 && op->getResult(0).getType() == type;
  };
  if (sameType(user) && isa<ReluOp, GeluOp, SigmoidOp, TanhOp>(user)) {
    if (auto g = dyn_cast<GeluOp>(user))
      activation = g.getApproximate() == "none"
                       ? "gelu"
                       : "gelu_" + g.getApproximate().str();
    else
      activation = isa<ReluOp>(user)      ? "relu"
                   : isa<SigmoidOp>(user) ? "sigmoid"
                                          : "tanh";
    current = user->getResult(0);
  } else if (!user && llvm::range_size(current.getUses()) == 2) {
    SigmoidOp sigmoid;
    MulOp mul;
    for (Operation *u : current.getUsers()) {
      if (auto s = dyn_cast<SigmoidOp>(u))
        sigmoid = s;
      else if (auto m = dyn_cast<MulOp>(u))
        mul = m;
    }
    if (sigmoid && mul && onlyUser(sigmoid.getResult()) == mul &&
        otherOperand(mul, current) == sigmoid.getResult() &&
        mul.getType() == type) {
      activation = "silu";
      current = mul.getResult();
    }
  }
  if (activation != "none")
    parts.push_back(activation);

  if (auto add = dyn_cast_or_null<AddOp>(onlyUser(current))) {
    Value other = otherOperand(add, current);
    if (other != current && add.getType() == type &&
        typeOf(other).getElementType() == type.getElementType()) {
      residual = other;
      current = add.getResult();
      parts.push_back("residual");
    }
  }
  if (parts.empty() && quantization.empty())
    return parts;

  Operation *last = current.getDefiningOp();
  OpBuilder b(last);
  auto linear =
      b.create<LinearOp>(loc, type, lhs, rhs, bias, residual, quantization,
                         b.getStringAttr(activation), nullptr);
  current.replaceAllUsesWith(linear.getResult());
  return parts;
}

/// A dequantized 8-bit product as ONNX Runtime's dynamic quantization
/// writes it: `cast<f32>(matmul_integer(x, W, x_zero, W_zero)) · s`, with
/// a [K, N] right operand, a scalar left zero point and `s` a float32
/// scalar or [N] (the product of the two scales). Returns the Mul; fills
/// the quantized attn.linear's operands.
MulOp matchQuantizedProduct(MatMulIntegerOp mm,
                            SmallVectorImpl<Value> &quantization) {
  auto rhsType = typeOf(mm.getRhs());
  if (rhsType.getRank() != 2 ||
      typeOf(mm.getLhsZeroPoint()).getNumElements() != 1)
    return nullptr;
  auto cast = dyn_cast_or_null<CastOp>(onlyUser(mm.getResult()));
  if (!cast || !typeOf(cast.getResult()).getElementType().isF32())
    return nullptr;
  auto mul = dyn_cast_or_null<MulOp>(onlyUser(cast.getResult()));
  if (!mul || mul.getType() != cast.getType())
    return nullptr;
  Value scale = otherOperand(mul, cast.getResult());
  auto scaleType = typeOf(scale);
  int64_t n = rhsType.getDimSize(1);
  bool scalar = scaleType.getNumElements() == 1;
  bool perColumn = scaleType.getRank() >= 1 &&
                   scaleType.getDimSize(scaleType.getRank() - 1) == n &&
                   scaleType.getNumElements() == n;
  if (!scaleType.getElementType().isF32() || !(scalar || perColumn) ||
      scale == cast.getResult())
    return nullptr;
  if (scaleType.getRank() > 1 || (scalar && scaleType.getRank() != 0)) {
    // As a scalar or a vector along the columns.
    OpBuilder b(mul);
    auto flat = scalar ? RankedTensorType::get({}, b.getF32Type())
                       : RankedTensorType::get({n}, b.getF32Type());
    scale =
        b.create<ReshapeOp>(mul.getLoc(), flat, scale,
                            b.getDenseI64ArrayAttr(flat.getShape()), nullptr);
  }
  quantization.assign({scale, mm.getLhsZeroPoint(), mm.getRhsZeroPoint()});
  return mul;
}

/// An activation applied after a reshape of a product (exporters flatten
/// the rows of a Linear into one matrix product and restore them with a
/// reshape before the activation) is applied before it instead, where the
/// epilogue can take it: elementwise ops commute with reshapes.
void sinkActivationsBelowReshapes(func::FuncOp func) {
  SmallVector<Operation *> activations;
  func.walk([&](Operation *op) {
    if (isa<ReluOp, GeluOp, SigmoidOp, TanhOp>(op))
      activations.push_back(op);
  });
  for (Operation *act : activations) {
    Operation *reshape = act->getOperand(0).getDefiningOp();
    if (!reshape || !isa<ReshapeOp, ReshapeDynamicOp>(reshape) ||
        !reshape->getResult(0).hasOneUse())
      continue;
    Value rows = reshape->getOperand(0);
    Operation *producer = rows.getDefiningOp();
    if (!producer || !isa<MatMulOp, AddOp>(producer) || !rows.hasOneUse())
      continue;
    OpBuilder b(act);
    IRMapping map;
    map.map(act->getOperand(0), rows);
    Operation *early = b.clone(*act, map);
    early->getResult(0).setType(rows.getType());
    IRMapping again;
    again.map(rows, early->getResult(0));
    Operation *late = b.clone(*reshape, again);
    act->getResult(0).replaceAllUsesWith(late->getResult(0));
    act->erase();
    reshape->erase();
  }
}

//===----------------------------------------------------------------------===//
// Quantized projections of one input
//===----------------------------------------------------------------------===//

/// A quantized attn.linear with a constant [K, N] right operand and
/// zero point, optionally a constant bias, no activation or residual.
struct QuantizedProjection {
  LinearOp linear;
  ConstantBytes weight, rhsZero, bias;
  bool hasBias = false;
  int64_t n = 0;
};

std::optional<QuantizedProjection> quantizedProjection(LinearOp l) {
  if (!l.isQuantized() || l.getResidual() || l.getActivation() != "none")
    return std::nullopt;
  auto w = typeOf(l.getRhs());
  std::optional<ConstantBytes> weight = constantBytes(l.getRhs());
  std::optional<ConstantBytes> zero = constantBytes(l.getRhsZeroPoint());
  if (w.getRank() != 2 || !weight || !zero)
    return std::nullopt;
  QuantizedProjection p;
  p.linear = l;
  p.weight = *weight;
  p.rhsZero = *zero;
  p.n = w.getDimSize(1);
  if (Value bias = l.getBias()) {
    std::optional<ConstantBytes> b = constantBytes(bias);
    if (!b || typeOf(bias).getRank() != 1)
      return std::nullopt;
    p.bias = *b;
    p.hasBias = true;
  }
  return p;
}

/// A QDQ product: `matmul(dequantize(x), dequantize(W))` with x 8-bit and
/// quantized per tensor, W a constant [K, N] 8-bit matrix quantized per
/// tensor or per column (axis 1). Fills the quantized attn.linear's
/// operands (the scale is the product of the two, computed before `mm`)
/// and returns whether it matched.
bool matchQdqProduct(MatMulOp mm, Value &lhs, Value &rhs,
                     SmallVectorImpl<Value> &quantization) {
  auto dx = mm.getLhs().getDefiningOp<DequantizeOp>();
  auto dw = mm.getRhs().getDefiningOp<DequantizeOp>();
  if (!dx || !dw || dx.getBlockSize() != 0 || dw.getBlockSize() != 0 ||
      !mm.getType().getElementType().isF32())
    return false;
  auto x = typeOf(dx.getInput()), w = typeOf(dw.getInput());
  auto sx = typeOf(dx.getScale()), sw = typeOf(dw.getScale());
  if (!x.getElementType().isInteger(8) || !w.getElementType().isInteger(8) ||
      x.getRank() < 2 || w.getRank() != 2 || !w.hasStaticShape() ||
      !constantBytes(dw.getInput()) || !sx.getElementType().isF32() ||
      !sw.getElementType().isF32() || sx.getNumElements() != 1 ||
      sx.getRank() > 1)
    return false;
  int64_t n = w.getDimSize(1);
  bool perColumn = sw.getNumElements() != 1;
  if (perColumn &&
      (sw.getRank() != 1 || sw.getDimSize(0) != n || dw.getAxis() != 1))
    return false;
  OpBuilder b(mm);
  auto scaleType = perColumn ? RankedTensorType::get({n}, b.getF32Type())
                             : RankedTensorType::get({}, b.getF32Type());
  Value xs = dx.getScale(), ws = dw.getScale();
  if (sx.getRank() != 0)
    xs = b.create<ReshapeOp>(mm.getLoc(),
                             RankedTensorType::get({}, b.getF32Type()), xs,
                             b.getDenseI64ArrayAttr({}), nullptr);
  if (!perColumn && sw.getRank() != 0)
    ws = b.create<ReshapeOp>(mm.getLoc(), scaleType, ws,
                             b.getDenseI64ArrayAttr({}), nullptr);
  Value scale = b.create<MulOp>(mm.getLoc(), scaleType, xs, ws, nullptr);
  Value xZero = dx.getZeroPoint();
  if (typeOf(xZero).getRank() != 0)
    xZero = b.create<ReshapeOp>(mm.getLoc(),
                                RankedTensorType::get({}, x.getElementType()),
                                xZero, b.getDenseI64ArrayAttr({}), nullptr);
  lhs = dx.getInput();
  rhs = dw.getInput();
  quantization.assign({scale, xZero, dw.getZeroPoint()});
  return true;
}

/// Moves the ops that compute `v` (pure ops of one block) before `point`
/// where they come after it, operands first.
void hoistBefore(Value v, Operation *point) {
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != point->getBlock() ||
      def->isBeforeInBlock(point))
    return;
  for (Value operand : def->getOperands())
    hoistBefore(operand, point);
  def->moveBefore(point);
}

/// The quantized linears of `group` (one input and left zero point,
/// weights of one element type) as one over the concatenated weights, with
/// per-column scales and right zero points; each reads its columns back
/// through a slice.
void mergeQuantizedProjections(MutableArrayRef<QuantizedProjection> group) {
  LinearOp first = group.front().linear;
  auto weightType = typeOf(first.getRhs());
  Type element = weightType.getElementType();
  int64_t k = weightType.getDimSize(0);
  int64_t total = 0;
  for (QuantizedProjection &p : group)
    total += p.n;
  std::vector<char> weights, zeros, biases;
  weights.reserve(k * total);
  for (int64_t row = 0; row < k; ++row)
    for (QuantizedProjection &p : group)
      p.weight.append(weights, row * p.n, p.n);
  for (QuantizedProjection &p : group) {
    bool perColumn = typeOf(p.linear.getRhsZeroPoint()).getNumElements() != 1;
    for (int64_t c = 0; c < p.n; ++c)
      zeros.push_back(*p.rhsZero.at(perColumn ? c : 0));
    if (p.hasBias)
      p.bias.append(biases, 0, p.n);
  }

  // The merged product goes where the first one was: what the others'
  // scales are computed from moves up before it.
  for (QuantizedProjection &p : group)
    hoistBefore(p.linear.getProductScale(), first);
  OpBuilder b(first);
  Location loc = b.getFusedLoc(llvm::to_vector(llvm::map_range(
      group, [](QuantizedProjection &p) { return p.linear.getLoc(); })));
  Value w = makeConstant(b, loc, RankedTensorType::get({k, total}, element),
                         std::move(weights), "attn_weight_merged");
  Value zero = makeConstant(b, loc, RankedTensorType::get({total}, element),
                            std::move(zeros), "attn_weight_merged");
  // The scales, one per column: each projection's scalar broadcast over
  // its columns.
  auto f32 = b.getF32Type();
  SmallVector<Value> scales;
  for (QuantizedProjection &p : group) {
    Value s = p.linear.getProductScale();
    auto vector = RankedTensorType::get({p.n}, f32);
    if (typeOf(s).getNumElements() == 1)
      s = b.create<ExpandOp>(loc, vector, s, i64Vector(b, loc, p.n), nullptr);
    scales.push_back(s);
  }
  Value scale = b.create<ConcatOp>(loc, RankedTensorType::get({total}, f32),
                                   scales, b.getI64IntegerAttr(0), nullptr);
  Value bias;
  if (group.front().hasBias)
    bias = makeConstant(b, loc, RankedTensorType::get({total}, f32),
                        std::move(biases), "attn_weight_merged");
  auto outType = first.getType();
  SmallVector<int64_t> shape(outType.getShape());
  shape.back() = total;
  auto mergedType = RankedTensorType::get(shape, f32);
  Value merged =
      b.create<LinearOp>(loc, mergedType, first.getLhs(), w, bias, Value(),
                         ValueRange{scale, first.getLhsZeroPoint(), zero},
                         b.getStringAttr("none"), nullptr);
  auto inlined = ScheduleAttr::get(b.getContext(), 1, {}, false,
                                   /*inlined=*/true, 0);
  int64_t offset = 0;
  int64_t axis = outType.getRank() - 1;
  for (QuantizedProjection &p : group) {
    auto slice = b.create<SliceOp>(
        p.linear.getLoc(), p.linear.getType(), merged,
        i64Vector(b, loc, offset), i64Vector(b, loc, offset + p.n),
        b.getDenseI64ArrayAttr({axis}), b.getDenseI64ArrayAttr({1}), inlined);
    p.linear.getResult().replaceAllUsesWith(slice.getResult());
    offset += p.n;
  }
  for (QuantizedProjection &p : group)
    p.linear.erase();
}

void mergeSharedInputQuantizedProjections(func::FuncOp func, bool report) {
  // By input, left zero point, weight type and whether there is a bias.
  llvm::MapVector<std::tuple<Value, Value, Type, int>,
                  SmallVector<QuantizedProjection>>
      groups;
  func.walk([&](LinearOp l) {
    if (std::optional<QuantizedProjection> p = quantizedProjection(l))
      groups[{l.getLhs(), l.getLhsZeroPoint(),
              typeOf(l.getRhs()).getElementType(), p->hasBias}]
          .push_back(*p);
  });
  for (auto &[key, group] : groups) {
    if (group.size() < 2)
      continue;
    SmallVector<std::string> names;
    for (QuantizedProjection &p : group)
      names.push_back(describeNode(p.linear));
    Location loc = group.front().linear.getLoc();
    mergeQuantizedProjections(group);
    if (report)
      emitRemark(loc, "fusion: projection ")
          << llvm::join(names, " + ") << " fused into one attn.linear";
  }
}

//===----------------------------------------------------------------------===//
// Residual add + norm
//===----------------------------------------------------------------------===//

bool fuseResidualNorm(LayerNormOp norm) {
  if (norm.getResidual())
    return false;
  auto add = norm.getInput().getDefiningOp<AddOp>();
  if (!add || onlyUser(add.getResult()) != norm)
    return false;
  // The operand of the add's own shape is the input; the other broadcasts.
  Value input = add.getLhs(), residual = add.getRhs();
  if (input.getType() != add.getType())
    std::swap(input, residual);
  if (input.getType() != add.getType())
    return false;
  norm.getInputMutable().assign(input);
  norm.getResidualMutable().assign(residual);
  add.erase();
  return true;
}

struct AttnFuseEpiloguesPass
    : public mlir::attn::impl::AttnFuseEpiloguesBase<AttnFuseEpiloguesPass> {
  using AttnFuseEpiloguesBase::AttnFuseEpiloguesBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<Conv2dOp> convs;
    func.walk([&](Conv2dOp c) { convs.push_back(c); });
    for (Conv2dOp c : convs) {
      std::string name = describeNode(c);
      if (lowerPatchEmbedding(c) && report)
        func.emitRemark("fusion: patch embedding ")
            << name << " computed as a product of patches with its weights";
    }
    mergeSharedInputProjections(func, report);
    // The projections the merged ones replaced.
    eraseDeadAttnOps(func);

    sinkActivationsBelowReshapes(func);
    SmallVector<MatMulOp> matmuls;
    func.walk([&](MatMulOp mm) { matmuls.push_back(mm); });
    // QDQ products first: their 8-bit operands multiply as integers.
    llvm::erase_if(matmuls, [&](MatMulOp mm) {
      Value lhs, rhs;
      SmallVector<Value> quantization;
      if (!matchQdqProduct(mm, lhs, rhs, quantization))
        return false;
      SmallVector<std::string> parts = {"dequantization"};
      parts.append(fuseEpilogue(mm.getResult(), lhs, rhs, quantization));
      if (report)
        mm.emitRemark("fusion: epilogue ")
            << describeNode(mm) << " fused into a quantized attn.linear ("
            << llvm::join(parts, ", ") << ")";
      return true;
    });
    for (MatMulOp mm : matmuls) {
      SmallVector<std::string> parts =
          fuseEpilogue(mm.getResult(), mm.getLhs(), mm.getRhs());
      if (report && !parts.empty())
        mm.emitRemark("fusion: epilogue ")
            << describeNode(mm) << " fused into attn.linear ("
            << llvm::join(parts, ", ") << ")";
    }
    SmallVector<MatMulIntegerOp> integerProducts;
    func.walk([&](MatMulIntegerOp mm) { integerProducts.push_back(mm); });
    for (MatMulIntegerOp mm : integerProducts) {
      SmallVector<Value> quantization;
      MulOp mul = matchQuantizedProduct(mm, quantization);
      if (!mul)
        continue;
      SmallVector<std::string> parts = {"dequantization"};
      parts.append(fuseEpilogue(mul.getResult(), mm.getLhs(), mm.getRhs(),
                                quantization));
      if (report)
        mm.emitRemark("fusion: epilogue ")
            << describeNode(mm) << " fused into a quantized attn.linear ("
            << llvm::join(parts, ", ") << ")";
    }
    eraseDeadAttnOps(func);
    mergeSharedInputQuantizedProjections(func, report);

    SmallVector<LayerNormOp> norms;
    func.walk([&](LayerNormOp n) { norms.push_back(n); });
    for (LayerNormOp norm : norms) {
      std::string name = describeNode(norm);
      if (fuseResidualNorm(norm) && report)
        norm.emitRemark("fusion: epilogue residual add of ")
            << name << " fused into attn.layer_norm (residual)";
    }
    eraseDeadAttnOps(func);
  }
};

} // namespace
