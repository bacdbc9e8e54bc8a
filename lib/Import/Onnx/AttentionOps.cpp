//===- AttentionOps.cpp - ONNX attention operators --------------*- C++ -*-===//
//
// Handlers of attention operators of the default and com.microsoft domains,
// rotary embeddings, SkipLayerNormalization.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {

//===----------------------------------------------------------------------===//
// Attention-family operators (opset 23 and com.microsoft)
//===----------------------------------------------------------------------===//

namespace {
/// Builders shared by the attention handlers.
struct AttentionBuilder {
  Importer &im;

  RankedTensorType withShape(Value v, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(
        shape, cast<RankedTensorType>(v.getType()).getElementType());
  }
  ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }

  Value transpose(Value x, ArrayRef<int64_t> perm) {
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(shapeOf(x)[p]);
    return im.builder.create<TransposeOp>(im.currentLoc, withShape(x, shape), x,
                                          im.builder.getDenseI64ArrayAttr(perm),
                                          nullptr);
  }

  Value reshape(Value x, ArrayRef<int64_t> spec, ArrayRef<int64_t> shape) {
    return im.builder.create<ReshapeOp>(im.currentLoc, withShape(x, shape), x,
                                        im.builder.getDenseI64ArrayAttr(spec),
                                        nullptr);
  }

  /// [B, S, N·H] → [B, N, S, H]; fails unless N·H is static.
  FailureOr<Value> splitHeads(Value x, int64_t heads, StringRef what) {
    ArrayRef<int64_t> s = shapeOf(x);
    if (s.size() != 3 || ShapedType::isDynamic(s[2]) || heads <= 0 ||
        s[2] % heads != 0) {
      im.nodeError() << what << " must be [batch, sequence, " << heads
                     << " x head size] with a static last extent, got "
                     << x.getType();
      return failure();
    }
    Value r = reshape(x, {0, 0, heads, -1}, {s[0], s[1], heads, s[2] / heads});
    return transpose(r, {0, 2, 1, 3});
  }

  /// [B, N, S, H] → [B, S, N·H].
  Value mergeHeads(Value y) {
    Value t = transpose(y, {0, 2, 1, 3});
    ArrayRef<int64_t> s = shapeOf(t);
    int64_t hidden = ShapedType::isDynamic(s[2]) || ShapedType::isDynamic(s[3])
                         ? ShapedType::kDynamic
                         : s[2] * s[3];
    return reshape(t, {0, 0, -1}, {s[0], s[1], hidden});
  }

  /// softmax(scale·QKᵀ + mask)·V over [B, H, S, D] operands.
  FailureOr<Value> sdpa(Value q, Value k, Value v, Value mask,
                        std::optional<double> scale, bool causal,
                        std::optional<double> softcap = std::nullopt,
                        bool zeroMaskedRows = false, int64_t causalOffset = 0) {
    int64_t hq = shapeOf(q)[1], hkv = shapeOf(k)[1];
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv) ||
        hq % hkv != 0) {
      im.nodeError() << "needs static head counts with query heads a "
                        "multiple of key/value heads, got "
                     << q.getType() << " and " << k.getType();
      return failure();
    }
    ArrayRef<int64_t> qs = shapeOf(q);
    auto type = withShape(q, {qs[0], qs[1], qs[2], shapeOf(v)[3]});
    OpBuilder &b = im.builder;
    return b
        .create<SdpaOp>(im.currentLoc, type, q, k, v, mask,
                        scale ? b.getF64FloatAttr(*scale) : FloatAttr(),
                        causal ? b.getUnitAttr() : UnitAttr(),
                        b.getI64IntegerAttr(hq / hkv),
                        softcap ? b.getF64FloatAttr(*softcap) : FloatAttr(),
                        zeroMaskedRows ? b.getUnitAttr() : UnitAttr(),
                        b.getI64IntegerAttr(causalOffset), nullptr)
        .getResult();
  }

  /// Slices [start, start + size) of the last axis.
  Value lastAxisSlice(Value x, int64_t start, int64_t size) {
    SmallVector<int64_t> shape(shapeOf(x));
    int64_t axis = shape.size() - 1;
    shape[axis] = size;
    return im.builder.create<SliceOp>(
        im.currentLoc, withShape(x, shape), x, im.i64Constant({start}),
        im.i64Constant({start + size}), im.builder.getDenseI64ArrayAttr({axis}),
        im.builder.getDenseI64ArrayAttr({1}), nullptr);
  }

  Value add(Value a, Value b) {
    return im.builder.create<AddOp>(im.currentLoc, a.getType(), a, b, nullptr);
  }

  /// An elementwise binary op whose result shape is the broadcast of its
  /// operands' and whose element type is `element`.
  template <typename OpT> Value binary(Value lhs, Value rhs, Type element) {
    SmallVector<int64_t> shape = *broadcastShapes(shapeOf(lhs), shapeOf(rhs));
    return im.builder.create<OpT>(im.currentLoc,
                                  RankedTensorType::get(shape, element), lhs,
                                  rhs, nullptr);
  }

  /// The keys query i may attend, as an i1 mask over [B, H, Nq, Nk]
  /// (broadcastable; k is [B, H, Nk, D]): with `kvLengths` ([B], the valid
  /// keys of each batch entry) keys j < kvLengths[b], and query i sits at
  /// position p = i + kvLengths[b] - Nq; otherwise at p = i + `offset`.
  /// `causal` keeps j <= p; a window bound w >= 0 keeps p - left <= j or
  /// j <= p + right.
  Value allowedKeys(Value q, Value k, Value kvLengths, int64_t offset,
                    bool causal, int64_t left, int64_t right) {
    OpBuilder &b = im.builder;
    Location loc = im.currentLoc;
    auto i1 = b.getI1Type(), i64 = b.getI64Type();
    Value keys = buildPositions(b, loc, k, 2, 4, 3);
    Value pos = buildPositions(b, loc, q, 2, 4, 2);
    Value allowed;
    auto both = [&](Value cond) {
      allowed = allowed ? binary<AndOp>(allowed, cond, i1) : cond;
    };
    auto shift = [&](Value x, int64_t by) -> Value {
      return by == 0 ? x : binary<AddOp>(x, im.i64Constant({by}), i64);
    };
    if (kvLengths) {
      auto lt = cast<RankedTensorType>(kvLengths.getType());
      if (!lt.getElementType().isInteger(64))
        kvLengths = b.create<CastOp>(
            loc, RankedTensorType::get(lt.getShape(), i64), kvLengths, nullptr);
      Value lengths =
          reshape(kvLengths, {-1, 1, 1, 1}, {lt.getDimSize(0), 1, 1, 1});
      both(binary<LessOp>(keys, lengths, i1));
      Value queries = b.create<ShapeOp>(loc, RankedTensorType::get({1}, i64), q,
                                        b.getI64IntegerAttr(2),
                                        b.getI64IntegerAttr(3), nullptr);
      pos = binary<AddOp>(pos, binary<SubOp>(lengths, queries, i64), i64);
    } else {
      pos = shift(pos, offset);
    }
    if (causal)
      both(b.create<NotOp>(
          loc,
          RankedTensorType::get(*broadcastShapes(shapeOf(keys), shapeOf(pos)),
                                i1),
          binary<GreaterOp>(keys, pos, i1), nullptr));
    if (left >= 0) {
      Value before = binary<LessOp>(keys, shift(pos, -left), i1);
      both(b.create<NotOp>(loc, before.getType(), before, nullptr));
    }
    if (right >= 0) {
      Value after = binary<GreaterOp>(keys, shift(pos, right), i1);
      both(b.create<NotOp>(loc, after.getType(), after, nullptr));
    }
    return allowed;
  }

  /// `mask` (i1: true attends; float: added to the scores) restricted to the
  /// keys `allowed` marks.
  Value restrictMask(Value mask, Value allowed) {
    if (!mask)
      return allowed;
    auto maskType = cast<RankedTensorType>(mask.getType());
    Type element = maskType.getElementType();
    if (element.isInteger(1))
      return binary<AndOp>(mask, allowed, element);
    Value negInf = im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get({}, element),
            FloatAttr::get(element, -std::numeric_limits<double>::infinity())));
    SmallVector<int64_t> shape =
        *broadcastShapes(shapeOf(mask), shapeOf(allowed));
    return im.builder.create<SelectOp>(im.currentLoc,
                                       RankedTensorType::get(shape, element),
                                       allowed, mask, negInf, nullptr);
  }

  /// Pads the last axis of `mask` to `total` keys with keys never attended
  /// (false, or -inf for a float mask).
  FailureOr<Value> padMaskKeys(Value mask, int64_t total) {
    ArrayRef<int64_t> s = shapeOf(mask);
    int64_t last = s.back();
    if (ShapedType::isDynamic(last) || ShapedType::isDynamic(total) ||
        last == total || last == 1)
      return mask;
    if (last > total || llvm::any_of(s.drop_back(), ShapedType::isDynamic)) {
      im.nodeError() << "attn_mask " << mask.getType() << " does not cover the "
                     << total << " keys";
      return failure();
    }
    SmallVector<int64_t> padShape(s);
    padShape.back() = total - last;
    Type element = cast<RankedTensorType>(mask.getType()).getElementType();
    auto padType = RankedTensorType::get(padShape, element);
    Attribute fill =
        element.isInteger(1)
            ? Attribute(DenseElementsAttr::get(padType, false))
            : Attribute(DenseElementsAttr::get(
                  padType,
                  FloatAttr::get(element,
                                 -std::numeric_limits<double>::infinity())));
    Value pad =
        im.builder.create<ConstantOp>(im.currentLoc, cast<ElementsAttr>(fill));
    SmallVector<int64_t> shape(s);
    shape.back() = total;
    return im.builder
        .create<ConcatOp>(im.currentLoc, withShape(mask, shape),
                          ValueRange{mask, pad},
                          im.builder.getI64IntegerAttr(s.size() - 1), nullptr)
        .getResult();
  }

  /// An int 0/1 mask [B, L] (1 = attend) as an i1 mask [B, 1, 1, L].
  Value keyPaddingMask(Value mask) {
    ArrayRef<int64_t> s = shapeOf(mask);
    OpBuilder &b = im.builder;
    auto boolType = RankedTensorType::get(s, b.getI1Type());
    Value zero = b.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get(
                {}, cast<RankedTensorType>(mask.getType()).getElementType()),
            APInt::getZero(cast<RankedTensorType>(mask.getType())
                               .getElementType()
                               .getIntOrFloatBitWidth())));
    Value isZero =
        b.create<EqualOp>(im.currentLoc, boolType, mask, zero, nullptr);
    Value keep = b.create<NotOp>(im.currentLoc, boolType, isZero, nullptr);
    return b.create<ExpandDimsOp>(
        im.currentLoc, RankedTensorType::get({s[0], 1, 1, s[1]}, b.getI1Type()),
        keep, b.getDenseI64ArrayAttr({1, 2}), UnitAttr(), nullptr);
  }
};

bool hasOutput(const onnx::NodeProto &node, int i) {
  return i < node.output_size() && !node.output(i).empty();
}

std::optional<double> optionalScale(Importer &im, const onnx::NodeProto &node) {
  if (!im.attribute(node, "scale"))
    return std::nullopt;
  return im.floatAttribute(node, "scale", 0.0f);
}
} // namespace

/// Output 3 of ONNX Attention (qk_matmul_output): the scores at the stage
/// qk_matmul_output_mode names.
static LogicalResult importAttentionScores(Importer &im,
                                           const onnx::NodeProto &node,
                                           AttentionBuilder &ab, Value q,
                                           Value k, Value mask, bool causal,
                                           int64_t causalOffset,
                                           std::optional<double> softcap) {
  int64_t d = ab.shapeOf(q)[3];
  std::optional<double> scale = optionalScale(im, node);
  if (!scale && ShapedType::isDynamic(d)) {
    im.nodeError() << "output 3 (qk_matmul_output) needs a static head size "
                      "or a 'scale' attribute";
    return failure();
  }
  int64_t mode = im.intAttribute(node, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) {
    im.nodeError() << "attribute 'qk_matmul_output_mode' = " << mode
                   << " is not supported (supported: 0, 1, 2, 3)";
    return failure();
  }
  ScoresOptions scores;
  scores.scale = scale ? *scale : 1.0 / std::sqrt(double(d));
  scores.softcap = softcap;
  scores.causal = causal;
  scores.causalOffset = causalOffset;
  scores.zeroMaskedRows = true;
  scores.stage = mode < 2    ? ScoresStage::Scaled
                 : mode == 2 ? ScoresStage::Masked
                             : ScoresStage::Probabilities;
  FailureOr<Value> qk =
      buildAttentionScores(im.builder, im.currentLoc, q, k, mask, scores);
  if (failed(qk))
    return failure();
  im.setOutput(node, 3, *qk);
  return success();
}

/// ONNX Attention (opset 23).
LogicalResult importAttention(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  std::optional<double> softcap;
  if (float c = im.floatAttribute(node, "softcap", 0.0f); c > 0.0f)
    softcap = c;
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  Value mask = im.input(node, 3);
  Value pastK = im.input(node, 4), pastV = im.input(node, 5);
  bool causal = im.intAttribute(node, "is_causal", 0) != 0;
  int64_t rank = cast<RankedTensorType>(q.getType()).getRank();
  if (rank == 3) {
    int64_t qHeads = im.intAttribute(node, "q_num_heads", 0);
    int64_t kvHeads = im.intAttribute(node, "kv_num_heads", 0);
    FailureOr<Value> q4 = ab.splitHeads(q, qHeads, "Q");
    if (failed(q4))
      return failure();
    FailureOr<Value> k4 = ab.splitHeads(k, kvHeads, "K");
    if (failed(k4))
      return failure();
    FailureOr<Value> v4 = ab.splitHeads(v, kvHeads, "V");
    if (failed(v4))
      return failure();
    q = *q4, k = *k4, v = *v4;
  }
  if ((pastK == nullptr) != (pastV == nullptr)) {
    im.nodeError() << "needs both past_key and past_value or neither";
    return failure();
  }
  // With a cache, the causal mask is aligned to the past length.
  int64_t causalOffset = 0;
  if (pastK && (causal || im.attribute(node, "left_window_size") ||
                im.attribute(node, "right_window_size"))) {
    causalOffset = ab.shapeOf(pastK)[2];
    if (ShapedType::isDynamic(causalOffset)) {
      im.nodeError() << "is_causal or a window with past_key of dynamic length "
                     << pastK.getType() << " is not supported";
      return failure();
    }
  }
  if (pastK) {
    auto concat = [&](Value past, Value now) -> Value {
      SmallVector<int64_t> shape(ab.shapeOf(now));
      int64_t p = ab.shapeOf(past)[2];
      shape[2] = ShapedType::isDynamic(p) || ShapedType::isDynamic(shape[2])
                     ? ShapedType::kDynamic
                     : p + shape[2];
      return im.builder.create<ConcatOp>(
          im.currentLoc, ab.withShape(now, shape), ValueRange{past, now},
          im.builder.getI64IntegerAttr(2), nullptr);
    };
    k = concat(pastK, k);
    v = concat(pastV, v);
  }
  if (mask) {
    // A mask shorter than the keys leaves the keys after it unattended.
    FailureOr<Value> padded = ab.padMaskKeys(mask, ab.shapeOf(k)[2]);
    if (failed(padded))
      return failure();
    mask = *padded;
  }
  // Opset 24's external cache (valid keys per batch entry) and opset 25's
  // sliding windows become an i1 mask computed from key and query positions;
  // it absorbs the causal bound, whose offset may then differ per batch.
  Value kvLengths = im.input(node, 6);
  int64_t left = im.intAttribute(node, "left_window_size", -1);
  int64_t right = im.intAttribute(node, "right_window_size", -1);
  if (kvLengths && pastK) {
    im.nodeError() << "nonpad_kv_seqlen cannot be combined with past_key and "
                      "past_value";
    return failure();
  }
  if (kvLengths || left >= 0 || right >= 0) {
    mask = ab.restrictMask(mask, ab.allowedKeys(q, k, kvLengths, causalOffset,
                                                causal, left, right));
    causal = false;
    causalOffset = 0;
  }
  if (hasOutput(node, 3) &&
      failed(importAttentionScores(im, node, ab, q, k, mask, causal,
                                   causalOffset, softcap)))
    return failure();
  FailureOr<Value> y =
      ab.sdpa(q, k, v, mask, optionalScale(im, node), causal, softcap,
              /*zeroMaskedRows=*/true, causalOffset);
  if (failed(y))
    return failure();
  Value out = rank == 3 ? ab.mergeHeads(*y) : *y;
  im.setOutput(node, 0, out);
  if (hasOutput(node, 1))
    im.setOutput(node, 1, k);
  if (hasOutput(node, 2))
    im.setOutput(node, 2, v);
  return success();
}

/// ONNX RotaryEmbedding (opset 23): X is [B, H, S, D] or [B, S, H·D].
LogicalResult importRotaryEmbedding(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  Value x = im.input(node, 0);
  int64_t rank = type->getRank();
  if (rank == 3) {
    FailureOr<Value> x4 =
        ab.splitHeads(x, im.intAttribute(node, "num_heads", 0), "X");
    if (failed(x4))
      return failure();
    x = *x4;
  } else if (rank != 4) {
    im.nodeError() << "X must be of rank 3 or 4, got " << x.getType();
    return failure();
  }
  Value y = im.builder.create<RotaryOp>(
      im.currentLoc, x.getType(), x, im.input(node, 1), im.input(node, 2),
      im.input(node, 3),
      im.intAttribute(node, "interleaved", 0) ? im.builder.getUnitAttr()
                                              : UnitAttr(),
      im.builder.getI64IntegerAttr(
          im.intAttribute(node, "rotary_embedding_dim", 0)),
      nullptr);
  im.setOutput(node, 0, rank == 3 ? ab.mergeHeads(y) : y);
  return success();
}

/// com.microsoft SkipLayerNormalization: LayerNorm(input + skip + bias).
LogicalResult importSkipLayerNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "mean")) ||
      failed(im.requireNoOutput(node, 2, "inv_std_var")))
    return failure();
  AttentionBuilder ab{im};
  Value sum = ab.add(im.input(node, 0), im.input(node, 1));
  if (Value bias = im.input(node, 4))
    sum = ab.add(sum, bias);
  im.setOutput(node, 0,
               im.builder.create<LayerNormOp>(
                   im.currentLoc, *type, sum, im.input(node, 2),
                   im.input(node, 3), /*residual=*/nullptr,
                   im.builder.getI64IntegerAttr(type->getRank() - 1),
                   im.builder.getF64FloatAttr(
                       im.floatAttribute(node, "epsilon", 1e-12f)),
                   UnitAttr(), nullptr));
  if (hasOutput(node, 3))
    im.setOutput(node, 3, sum);
  return success();
}

namespace {
/// Shared by com.microsoft Attention and MultiHeadAttention: q, k, v as
/// [B, S, hidden], the heads, an optional i1 or float mask.
LogicalResult finishMicrosoftAttention(Importer &im,
                                       const onnx::NodeProto &node, Value q,
                                       Value k, Value v, int64_t heads,
                                       Value mask, bool causal) {
  AttentionBuilder ab{im};
  FailureOr<Value> q4 = ab.splitHeads(q, heads, "query");
  if (failed(q4))
    return failure();
  FailureOr<Value> k4 = ab.splitHeads(k, heads, "key");
  if (failed(k4))
    return failure();
  FailureOr<Value> v4 = ab.splitHeads(v, heads, "value");
  if (failed(v4))
    return failure();
  FailureOr<Value> y =
      ab.sdpa(*q4, *k4, *v4, mask, optionalScale(im, node), causal);
  if (failed(y))
    return failure();
  im.setOutput(node, 0, ab.mergeHeads(*y));
  return success();
}

/// Fails naming the first of `inputs` (index, name) that the node has.
LogicalResult
rejectInputs(Importer &im, const onnx::NodeProto &node,
             std::initializer_list<std::pair<int, const char *>> inputs) {
  for (auto [i, what] : inputs)
    if (im.input(node, i)) {
      im.nodeError() << "input " << i << " (" << what << ") is not supported";
      return failure();
    }
  return success();
}

/// The i1 mask of a 2-D int key mask, or an error for other forms.
FailureOr<Value> microsoftKeyMask(Importer &im, Value mask, StringRef what) {
  if (!mask)
    return Value();
  auto type = cast<RankedTensorType>(mask.getType());
  if (type.getRank() != 2) {
    im.nodeError() << what << " " << type
                   << " is not supported (supported: a [batch, total "
                      "sequence] 0/1 mask)";
    return failure();
  }
  return AttentionBuilder{im}.keyPaddingMask(mask);
}
} // namespace

/// com.microsoft Attention: packed Q/K/V projection of one input.
LogicalResult importMicrosoftAttention(Importer &im,
                                       const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(rejectInputs(
          im, node,
          {{4, "past"}, {5, "attention_bias"}, {6, "past_sequence_length"}})))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "present")))
    return failure();
  if (im.intAttribute(node, "do_rotary", 0)) {
    im.nodeError() << "attribute 'do_rotary' = 1 is not supported "
                      "(supported: 0)";
    return failure();
  }
  AttentionBuilder ab{im};
  Value x = im.input(node, 0), w = im.input(node, 1);
  ArrayRef<int64_t> xs = ab.shapeOf(x), ws = ab.shapeOf(w);
  if (xs.size() != 3 || ws.size() != 2 || ShapedType::isDynamic(ws[1])) {
    im.nodeError() << "expects input [batch, sequence, hidden] and weights "
                      "[hidden, q + k + v hidden] with static extents, got "
                   << x.getType() << " and " << w.getType();
    return failure();
  }
  SmallVector<int64_t> sizes = im.intsAttribute(node, "qkv_hidden_sizes");
  if (sizes.empty())
    sizes.assign(3, ws[1] / 3);
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != ws[1]) {
    im.nodeError() << "qkv_hidden_sizes do not add up to the weights' " << ws[1]
                   << " columns";
    return failure();
  }
  Value qkv = im.builder.create<MatMulOp>(
      im.currentLoc, ab.withShape(x, {xs[0], xs[1], ws[1]}), x, w, nullptr);
  if (Value bias = im.input(node, 2))
    qkv = ab.add(qkv, bias);
  Value q = ab.lastAxisSlice(qkv, 0, sizes[0]);
  Value k = ab.lastAxisSlice(qkv, sizes[0], sizes[1]);
  Value v = ab.lastAxisSlice(qkv, sizes[0] + sizes[1], sizes[2]);
  FailureOr<Value> mask = microsoftKeyMask(im, im.input(node, 3), "mask_index");
  if (failed(mask))
    return failure();
  return finishMicrosoftAttention(im, node, q, k, v,
                                  im.intAttribute(node, "num_heads", 0), *mask,
                                  im.intAttribute(node, "unidirectional", 0));
}

/// com.microsoft MultiHeadAttention with separate 3-D query, key, value.
LogicalResult importMultiHeadAttention(Importer &im,
                                       const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(rejectInputs(im, node, {{6, "past_key"}, {7, "past_value"}})))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "present_key")) ||
      failed(im.requireNoOutput(node, 2, "present_value")))
    return failure();
  AttentionBuilder ab{im};
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  if (!k || !v || ab.shapeOf(q).size() != 3 || ab.shapeOf(k).size() != 3 ||
      ab.shapeOf(v).size() != 3) {
    im.nodeError() << "supports 3-D query, key and value (packed forms are "
                      "not supported)";
    return failure();
  }
  if (Value bias = im.input(node, 3)) {
    int64_t dq = ab.shapeOf(q)[2], dk = ab.shapeOf(k)[2], dv = ab.shapeOf(v)[2];
    q = ab.add(q, ab.lastAxisSlice(bias, 0, dq));
    k = ab.add(k, ab.lastAxisSlice(bias, dq, dk));
    v = ab.add(v, ab.lastAxisSlice(bias, dq + dk, dv));
  }
  Value keyMask = im.input(node, 4), bias = im.input(node, 5);
  if (keyMask && bias) {
    im.nodeError() << "key_padding_mask together with attention_bias is not "
                      "supported";
    return failure();
  }
  Value mask = bias;
  if (keyMask) {
    FailureOr<Value> m = microsoftKeyMask(im, keyMask, "key_padding_mask");
    if (failed(m))
      return failure();
    mask = *m;
  }
  return finishMicrosoftAttention(im, node, q, k, v,
                                  im.intAttribute(node, "num_heads", 0), mask,
                                  im.intAttribute(node, "unidirectional", 0));
}

/// com.microsoft GroupQueryAttention, prompt form: causal, keys past
/// seqlens_k[b] masked, no KV cache and no fused rotary.
LogicalResult importGroupQueryAttention(Importer &im,
                                        const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  for (auto [i, what] :
       {std::pair<int, const char *>{3, "past_key"}, {4, "past_value"}})
    if (Value past = im.input(node, i)) {
      int64_t len = cast<RankedTensorType>(past.getType()).getRank() == 4
                        ? cast<RankedTensorType>(past.getType()).getDimSize(2)
                        : -1;
      if (len != 0) {
        im.nodeError() << "input " << i << " (" << what << ") "
                       << past.getType()
                       << " is not supported: a KV cache must be empty";
        return failure();
      }
    }
  for (auto [attr, what] : {std::pair<const char *, int64_t>{"do_rotary", 0},
                            {"local_window_size", -1}})
    if (int64_t value = im.intAttribute(node, attr, what); value != what) {
      im.nodeError() << "attribute '" << attr << "' = " << value
                     << " is not supported (supported: " << what << ")";
      return failure();
    }
  if (float softcap = im.floatAttribute(node, "softcap", 0.0f);
      softcap != 0.0f) {
    im.nodeError() << "attribute 'softcap' = " << softcap
                   << " is not supported (supported: 0)";
    return failure();
  }
  AttentionBuilder ab{im};
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  if (!k || !v) {
    im.nodeError() << "packed QKV (no key input) is not supported";
    return failure();
  }
  FailureOr<Value> q4 =
      ab.splitHeads(q, im.intAttribute(node, "num_heads", 0), "query");
  if (failed(q4))
    return failure();
  int64_t kvHeads = im.intAttribute(node, "kv_num_heads", 0);
  FailureOr<Value> k4 = ab.splitHeads(k, kvHeads, "key");
  if (failed(k4))
    return failure();
  FailureOr<Value> v4 = ab.splitHeads(v, kvHeads, "value");
  if (failed(v4))
    return failure();

  // keep[b, 0, 0, j] = j <= seqlens_k[b].
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  Value seqlens = im.input(node, 5);
  auto seqType = cast<RankedTensorType>(seqlens.getType());
  int64_t batch = seqType.getRank() == 1 ? seqType.getDimSize(0) : -2;
  if (batch == -2) {
    im.nodeError() << "seqlens_k must be 1-D, got " << seqType;
    return failure();
  }
  int64_t keys = ab.shapeOf(*k4)[2];
  auto i64 = b.getI64Type();
  Value shape = b.create<ShapeOp>(loc, RankedTensorType::get({4}, i64), *k4,
                                  b.getI64IntegerAttr(0),
                                  b.getI64IntegerAttr(4), nullptr);
  auto scalar = RankedTensorType::get({}, i64);
  Value two = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, ArrayRef<int64_t>{2}));
  Value count = b.create<GatherOp>(loc, scalar, shape, two,
                                   b.getI64IntegerAttr(0), nullptr);
  Value zero = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, ArrayRef<int64_t>{0}));
  Value one = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, ArrayRef<int64_t>{1}));
  Value positions = b.create<RangeOp>(loc, RankedTensorType::get({keys}, i64),
                                      zero, count, one, nullptr);
  Value lengths = b.create<CastOp>(loc, RankedTensorType::get({batch}, i64),
                                   seqlens, nullptr);
  Value lengths4 = b.create<ExpandDimsOp>(
      loc, RankedTensorType::get({batch, 1, 1, 1}, i64), lengths,
      b.getDenseI64ArrayAttr({1, 2, 3}), UnitAttr(), nullptr);
  auto maskType = RankedTensorType::get({batch, 1, 1, keys}, b.getI1Type());
  Value past = b.create<GreaterOp>(loc, maskType, positions, lengths4, nullptr);
  Value keep = b.create<NotOp>(loc, maskType, past, nullptr);

  FailureOr<Value> y =
      ab.sdpa(*q4, *k4, *v4, keep, optionalScale(im, node), /*causal=*/true);
  if (failed(y))
    return failure();
  im.setOutput(node, 0, ab.mergeHeads(*y));
  if (hasOutput(node, 1))
    im.setOutput(node, 1, *k4);
  if (hasOutput(node, 2))
    im.setOutput(node, 2, *v4);
  return success();
}

} // namespace

void mlir::attn::onnx_import::addAttentionHandlers(HandlerTable &table) {
  table.add("", "Attention", 23, importAttention);
  table.add("", "RotaryEmbedding", 23, importRotaryEmbedding);
  table.add("com.microsoft", "SkipLayerNormalization", 1, importSkipLayerNorm);
  table.add("com.microsoft", "Attention", 1, importMicrosoftAttention);
  table.add("com.microsoft", "MultiHeadAttention", 1, importMultiHeadAttention);
  table.add("com.microsoft", "GroupQueryAttention", 1,
            importGroupQueryAttention);
}
