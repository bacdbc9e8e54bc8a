//===- MicrosoftOps.cpp - ONNX Runtime's com.microsoft operators -*- C++
//-*-===//
//
// Handlers of the com.microsoft operators ONNX Runtime's transformer
// optimizer writes: the attention operators (packed or separate Q/K/V,
// every mask_index form), the fused layer norms and the fused bias
// operators.
//
//===----------------------------------------------------------------------===//

#include "AttentionBuilder.h"
#include "Importer.h"

#include <array>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {
namespace {
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

/// The value of a static or dynamic extent as an i64 tensor of one element.
Value extentOf(Importer &im, Value x, int64_t axis) {
  int64_t d = cast<RankedTensorType>(x.getType()).getDimSize(axis);
  if (!ShapedType::isDynamic(d))
    return im.i64Constant({d});
  return im.builder.create<ShapeOp>(
      im.currentLoc, RankedTensorType::get({1}, im.builder.getI64Type()), x,
      im.builder.getI64IntegerAttr(axis),
      im.builder.getI64IntegerAttr(axis + 1), nullptr);
}

/// The keys ONNX Runtime's mask_index / key_padding_mask lets each query
/// attend, as an i1 mask broadcastable to [B, N, S, T] (q4 [B, N, S, H],
/// k4 [B, N, T, H]): a 1-D [B] mask holds each batch entry's end of keys, a
/// [2·B] one its ends then its starts, a [3·B + 2] one the key lengths then
/// cumulative starts of a packing; 2-D [B, T] and 3-D [B, S, T] masks
/// are 0/1 per key; a 4-D [B, 1, M, M] mask (M ≥ S, T) is read at [:, :, :S,
/// :T].
FailureOr<Value> microsoftAllowedKeys(Importer &im, Value mask, Value q4,
                                      Value k4, StringRef what) {
  AttentionBuilder ab{im};
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  auto type = cast<RankedTensorType>(mask.getType());
  auto i1 = b.getI1Type(), i64 = b.getI64Type();
  int64_t batch = ab.shapeOf(q4)[0];
  auto nonZero = [&](Value m) -> Value {
    auto t = cast<RankedTensorType>(m.getType());
    Value zero = b.create<ConstantOp>(
        loc, DenseElementsAttr::get(
                 RankedTensorType::get({}, t.getElementType()),
                 APInt::getZero(t.getElementType().getIntOrFloatBitWidth())));
    auto boolType = RankedTensorType::get(t.getShape(), i1);
    Value isZero = b.create<EqualOp>(loc, boolType, m, zero, nullptr);
    return b.create<NotOp>(loc, boolType, isZero, nullptr);
  };
  switch (type.getRank()) {
  case 1: {
    int64_t n = type.getDimSize(0);
    bool known = !ShapedType::isDynamic(n) && !ShapedType::isDynamic(batch);
    bool withStarts = known && n == 2 * batch;
    // [3·B + 2]: the B key lengths, then the cumulative query and key
    // starts of a padding-free packing (B + 1 each), which do not change
    // which keys of the padded batch are attended (as ONNX Runtime's CPU
    // kernel reads it).
    bool packed = known && n == 3 * batch + 2;
    if (known && n != batch && !withStarts && !packed) {
      im.nodeError() << what << " " << type << " is not supported: a 1-D "
                     << what << " holds the " << batch
                     << " key ends of the batch, those and the " << batch
                     << " key starts (" << 2 * batch
                     << " entries), or the key lengths and the cumulative "
                        "query and key starts ("
                     << 3 * batch + 2 << " entries)";
      return failure();
    }
    Value m = mask;
    if (!type.getElementType().isInteger(64))
      m = b.create<CastOp>(loc, RankedTensorType::get(type.getShape(), i64), m,
                           nullptr);
    Value keys = buildPositions(b, loc, k4, 2, 4, 3);
    auto part = [&](int64_t index) {
      Value p =
          withStarts || packed ? ab.lastAxisSlice(m, index * batch, batch) : m;
      return ab.reshape(p, {-1, 1, 1, 1}, {batch, 1, 1, 1});
    };
    Value allowed = ab.binary<LessOp>(keys, part(0), i1);
    if (withStarts) {
      Value before = ab.binary<LessOp>(keys, part(1), i1);
      allowed = ab.binary<AndOp>(
          allowed, b.create<NotOp>(loc, before.getType(), before, nullptr), i1);
    }
    return allowed;
  }
  case 2:
    return ab.keyPaddingMask(mask);
  case 3: {
    ArrayRef<int64_t> s = type.getShape();
    return b
        .create<ExpandDimsOp>(
            loc, RankedTensorType::get({s[0], 1, s[1], s[2]}, i1),
            nonZero(mask), b.getDenseI64ArrayAttr({1}), UnitAttr(), nullptr)
        .getResult();
  }
  case 4: {
    // The queries' and keys' rows of a mask made for the longest sequence.
    ArrayRef<int64_t> s = type.getShape();
    int64_t nq = ab.shapeOf(q4)[2], nk = ab.shapeOf(k4)[2];
    Value starts = im.i64Constant({0, 0});
    Value queries = extentOf(im, q4, 2);
    Value keys = extentOf(im, k4, 2);
    Value ends = b.create<ConcatOp>(loc, RankedTensorType::get({2}, i64),
                                    ValueRange{queries, keys},
                                    b.getI64IntegerAttr(0), nullptr);
    Value rows = b.create<SliceOp>(
        loc, RankedTensorType::get({s[0], s[1], nq, nk}, type.getElementType()),
        mask, starts, ends, b.getDenseI64ArrayAttr({2, 3}),
        b.getDenseI64ArrayAttr({1, 1}), nullptr);
    return nonZero(rows);
  }
  default:
    im.nodeError() << what << " " << type
                   << " is not supported (supported: ranks 1 to 4)";
    return failure();
  }
}

/// The additive mask of ONNX Runtime's attention operators: the keys a mask
/// excludes get mask_filter_value (-10000 by default) added to their scores,
/// and an attention_bias is added as it is.
FailureOr<Value> microsoftMask(Importer &im, const onnx::NodeProto &node,
                               Value mask, Value bias, Value q4, Value k4,
                               StringRef what) {
  if (!mask)
    return bias;
  FailureOr<Value> allowed = microsoftAllowedKeys(im, mask, q4, k4, what);
  if (failed(allowed))
    return failure();
  AttentionBuilder ab{im};
  Type element = cast<RankedTensorType>(q4.getType()).getElementType();
  auto scalar = RankedTensorType::get({}, element);
  auto constant = [&](double v) -> Value {
    return im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(scalar, FloatAttr::get(element, v)));
  };
  Value filter =
      constant(im.floatAttribute(node, "mask_filter_value", -10000.0f));
  ArrayRef<int64_t> shape = ab.shapeOf(*allowed);
  Value additive = im.builder.create<SelectOp>(
      im.currentLoc, RankedTensorType::get(shape, element), *allowed,
      constant(0.0), filter, nullptr);
  return bias ? ab.binary<AddOp>(bias, additive, element) : additive;
}

/// Shared by com.microsoft Attention and MultiHeadAttention: q, k, v as
/// [B, N, S, H] (k and v after `past` keys, if any), the mask inputs as the
/// node has them. `unidirectional` is causal after the past: a static
/// offset, or at a past of run-time length the query positions shifted by
/// it in the mask.
LogicalResult finishMicrosoftAttention(Importer &im,
                                       const onnx::NodeProto &node, Value q4,
                                       Value k4, Value v4, Value keyMask,
                                       Value bias, StringRef maskName,
                                       Value past = nullptr) {
  AttentionBuilder ab{im};
  FailureOr<Value> mask =
      microsoftMask(im, node, keyMask, bias, q4, k4, maskName);
  if (failed(mask))
    return failure();
  bool causal = im.intAttribute(node, "unidirectional", 0) != 0;
  int64_t offset = past ? ab.shapeOf(past)[2] : 0;
  if (causal && ShapedType::isDynamic(offset)) {
    Value length = ab.pastLength(past);
    *mask = ab.restrictMask(
        *mask, ab.allowedKeys(q4, k4, nullptr, 0, true, -1, -1, length));
    causal = false;
    offset = 0;
  }
  FailureOr<Value> y =
      ab.sdpa(q4, k4, v4, *mask, optionalScale(im, node), causal, std::nullopt,
              /*zeroMaskedRows=*/false, causal ? offset : 0);
  if (failed(y))
    return failure();
  im.setOutput(node, 0, ab.mergeHeads(*y));
  return success();
}

/// Splits q, k and v of [B, S, N·H] into heads.
FailureOr<std::array<Value, 3>> splitAllHeads(Importer &im, Value q, Value k,
                                              Value v, int64_t heads) {
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
  return std::array<Value, 3>{*q4, *k4, *v4};
}
} // namespace

/// com.microsoft Attention: packed Q/K/V projection of one input, a
/// mask_index of any form ONNX Runtime defines, an
/// attention_bias.
LogicalResult importMicrosoftAttention(Importer &im,
                                       const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(
          rejectInputs(im, node, {{4, "past"}, {6, "past_sequence_length"}})))
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
  FailureOr<std::array<Value, 3>> heads =
      splitAllHeads(im, q, k, v, im.intAttribute(node, "num_heads", 0));
  if (failed(heads))
    return failure();
  auto [q4, k4, v4] = *heads;
  return finishMicrosoftAttention(im, node, q4, k4, v4, im.input(node, 3),
                                  im.input(node, 5), "mask_index");
}

namespace {
/// Part `index` of a packed [B, S, N, P, H] projection as [B, N, S, H], its
/// bias (of [P·N·H]) added.
Value packedPart(Importer &im, Value packed, int64_t index, Value bias) {
  AttentionBuilder ab{im};
  ArrayRef<int64_t> s = ab.shapeOf(packed);
  SmallVector<int64_t> one(s);
  one[3] = 1;
  Value slice = im.builder.create<SliceOp>(
      im.currentLoc, ab.withShape(packed, one), packed, im.i64Constant({index}),
      im.i64Constant({index + 1}), im.builder.getDenseI64ArrayAttr({3}),
      im.builder.getDenseI64ArrayAttr({1}), nullptr);
  Value part = im.builder.create<ExpandDimsOp>(
      im.currentLoc, ab.withShape(packed, {s[0], s[1], s[2], s[4]}), slice,
      im.builder.getDenseI64ArrayAttr({3}), im.builder.getUnitAttr(), nullptr);
  if (bias) {
    Value b = ab.lastAxisSlice(bias, index * s[2] * s[4], s[2] * s[4]);
    part = ab.add(part, ab.reshape(b, {s[2], s[4]}, {s[2], s[4]}));
  }
  return ab.transpose(part, {0, 2, 1, 3});
}

/// q, k, v of a MultiHeadAttention node as [B, N, S, H]: separate 3-D
/// projections, query with packed K/V ([B, L, N, 2, H]), packed Q/K/V
/// ([B, S, N, 3, H]), or key and value already split into heads
/// ([B, N, L, H], without a bias).
FailureOr<std::array<Value, 3>>
multiHeadInputs(Importer &im, const onnx::NodeProto &node, int64_t heads) {
  AttentionBuilder ab{im};
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  Value bias = im.input(node, 3);
  size_t qr = ab.shapeOf(q).size(), kr = k ? ab.shapeOf(k).size() : 0,
         vr = v ? ab.shapeOf(v).size() : 0;
  auto packedHeads = [&](Value x, int64_t parts) {
    ArrayRef<int64_t> s = ab.shapeOf(x);
    return s.size() == 5 && s[2] == heads && s[3] == parts &&
           !ShapedType::isDynamic(s[4]);
  };
  if (qr == 5 && !k && !v && packedHeads(q, 3))
    return std::array<Value, 3>{packedPart(im, q, 0, bias),
                                packedPart(im, q, 1, bias),
                                packedPart(im, q, 2, bias)};
  auto biasSlice = [&](int64_t start, int64_t size) -> Value {
    return bias ? ab.lastAxisSlice(bias, start, size) : Value();
  };
  auto withBias = [&](Value x, Value b) { return b ? ab.add(x, b) : x; };
  if (qr == 3 && kr == 5 && !v && packedHeads(k, 2)) {
    int64_t d = ab.shapeOf(q)[2];
    FailureOr<Value> q4 =
        ab.splitHeads(withBias(q, biasSlice(0, d)), heads, "query");
    if (failed(q4))
      return failure();
    // The packed part reads the K and V bias at [d, 3·d).
    Value kvBias = bias ? ab.lastAxisSlice(bias, d, 2 * d) : Value();
    return std::array<Value, 3>{*q4, packedPart(im, k, 0, kvBias),
                                packedPart(im, k, 1, kvBias)};
  }
  if (qr == 3 && kr == 4 && vr == 4) {
    if (bias) {
      im.nodeError() << "input 3 (bias) with key and value already split "
                        "into heads ([batch, heads, sequence, head size]) is "
                        "not supported";
      return failure();
    }
    FailureOr<Value> q4 = ab.splitHeads(q, heads, "query");
    if (failed(q4))
      return failure();
    return std::array<Value, 3>{*q4, k, v};
  }
  if (qr != 3 || kr != 3 || vr != 3) {
    im.nodeError() << "supports query, key, value as [batch, sequence, "
                      "hidden], key and value as [batch, heads, sequence, "
                      "head size], packed K/V [batch, sequence, heads, 2, "
                      "head size] or packed Q/K/V [batch, sequence, heads, 3, "
                      "head size]; got "
                   << q.getType() << ", " << (k ? k.getType() : Type()) << ", "
                   << (v ? v.getType() : Type());
    return failure();
  }
  int64_t dq = ab.shapeOf(q)[2], dk = ab.shapeOf(k)[2], dv = ab.shapeOf(v)[2];
  Value qb = withBias(q, biasSlice(0, dq));
  Value kb = withBias(k, biasSlice(dq, dk));
  Value vb = withBias(v, biasSlice(dq + dk, dv));
  return splitAllHeads(im, qb, kb, vb, heads);
}
} // namespace

/// com.microsoft MultiHeadAttention: separate or packed projections, a
/// key_padding_mask and an attention_bias, past_key and past_value
/// concatenated before the new keys and values (returned as the present).
LogicalResult importMultiHeadAttention(Importer &im,
                                       const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value pastK = im.input(node, 6), pastV = im.input(node, 7);
  if ((pastK == nullptr) != (pastV == nullptr)) {
    im.nodeError() << "needs both past_key and past_value or neither";
    return failure();
  }
  FailureOr<std::array<Value, 3>> qkv =
      multiHeadInputs(im, node, im.intAttribute(node, "num_heads", 0));
  if (failed(qkv))
    return failure();
  auto [q4, k4, v4] = *qkv;
  AttentionBuilder ab{im};
  if (pastK) {
    // The cache [B, N, P, H] before the new keys and values.
    for (Value past : {pastK, pastV})
      if (ab.shapeOf(past).size() != 4) {
        im.nodeError() << "past_key and past_value must be [batch, heads, "
                          "past sequence, head size], got "
                       << past.getType();
        return failure();
      }
    k4 = ab.appendToPast(pastK, k4);
    v4 = ab.appendToPast(pastV, v4);
  }
  if (hasOutput(node, 1))
    im.setOutput(node, 1, k4);
  if (hasOutput(node, 2))
    im.setOutput(node, 2, v4);
  return finishMicrosoftAttention(im, node, q4, k4, v4, im.input(node, 4),
                                  im.input(node, 5), "key_padding_mask", pastK);
}

/// com.microsoft SkipLayerNormalization: LayerNorm(input + skip + bias);
/// SkipSimplifiedLayerNormalization: the RMS norm of the same sum.
LogicalResult importSkipLayerNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "mean")) ||
      failed(im.requireNoOutput(node, 2, "inv_std_var")))
    return failure();
  bool rms = node.op_type() == "SkipSimplifiedLayerNormalization";
  AttentionBuilder ab{im};
  Value sum = ab.add(im.input(node, 0), im.input(node, 1));
  if (Value bias = im.input(node, rms ? 3 : 4))
    sum = ab.add(sum, bias);
  im.setOutput(node, 0,
               im.builder.create<LayerNormOp>(
                   im.currentLoc, *type, sum, im.input(node, 2),
                   rms ? Value() : im.input(node, 3), /*residual=*/nullptr,
                   im.builder.getI64IntegerAttr(type->getRank() - 1),
                   im.builder.getF64FloatAttr(
                       im.floatAttribute(node, "epsilon", 1e-12f)),
                   rms ? im.builder.getUnitAttr() : UnitAttr(), nullptr));
  if (hasOutput(node, 3))
    im.setOutput(node, 3, sum);
  return success();
}

/// com.microsoft EmbedLayerNormalization: LayerNorm(word[input_ids] +
/// position[position_ids or 0..S-1] + segment[segment_ids]); mask_index is
/// the number of ones in each row of `mask` (0 without one).
LogicalResult importEmbedLayerNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  Value ids = im.input(node, 0);
  ArrayRef<int64_t> is = ab.shapeOf(ids);
  if (is.size() != 2) {
    im.nodeError() << "input_ids must be [batch, sequence], got "
                   << ids.getType();
    return failure();
  }
  auto lookup = [&](Value table, Value indices) -> Value {
    SmallVector<int64_t> shape(ab.shapeOf(indices));
    shape.push_back(ab.shapeOf(table)[1]);
    return b.create<GatherOp>(loc, ab.withShape(table, shape), table, indices,
                              b.getI64IntegerAttr(0), nullptr);
  };
  Value positions = im.input(node, 8);
  if (!positions)
    positions = buildPositions(b, loc, ids, 1, 1, 0);
  Type element = type->getElementType();
  Value words = lookup(im.input(node, 2), ids);
  Value places = lookup(im.input(node, 3), positions);
  Value sum = ab.binary<AddOp>(words, places, element);
  Value segments = im.input(node, 1), segmentTable = im.input(node, 4);
  if ((segments == nullptr) != (segmentTable == nullptr)) {
    im.nodeError() << "needs both segment_ids and segment_embedding or "
                      "neither";
    return failure();
  }
  if (segments)
    sum = ab.binary<AddOp>(sum, lookup(segmentTable, segments), element);
  im.setOutput(
      node, 0,
      b.create<LayerNormOp>(
          loc, *type, sum, im.input(node, 5), im.input(node, 6),
          /*residual=*/nullptr, b.getI64IntegerAttr(2),
          b.getF64FloatAttr(im.floatAttribute(node, "epsilon", 1e-12f)),
          UnitAttr(), nullptr));
  if (hasOutput(node, 1)) {
    auto i32 = b.getI32Type();
    auto indexType = RankedTensorType::get({is[0]}, i32);
    Value maskIndex;
    if (Value mask = im.input(node, 7)) {
      auto ones = b.create<CastOp>(
          loc, RankedTensorType::get(ab.shapeOf(mask), b.getI64Type()),
          ab.binary<EqualOp>(
              mask,
              b.create<ConstantOp>(
                  loc, DenseElementsAttr::get(RankedTensorType::get({}, i32),
                                              APInt(32, 1))),
              b.getI1Type()),
          nullptr);
      Value count = b.create<ReduceOp>(
          loc, RankedTensorType::get({is[0]}, b.getI64Type()), ones,
          b.getStringAttr("sum"), b.getDenseI64ArrayAttr({1}),
          b.getBoolAttr(false), nullptr);
      maskIndex = b.create<CastOp>(loc, indexType, count, nullptr);
    } else {
      Value zero = b.create<ConstantOp>(
          loc,
          DenseElementsAttr::get(RankedTensorType::get({}, i32), APInt(32, 0)));
      maskIndex = b.create<ExpandOp>(loc, indexType, zero, extentOf(im, ids, 0),
                                     nullptr);
    }
    im.setOutput(node, 1, maskIndex);
  }
  if (hasOutput(node, 2))
    im.setOutput(node, 2, sum);
  return success();
}

/// com.microsoft BiasAdd: X + bias + skip.
LogicalResult importBiasAdd(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  Value sum = ab.binary<AddOp>(im.input(node, 0), im.input(node, 1),
                               type->getElementType());
  im.setOutput(
      node, 0,
      ab.binary<AddOp>(sum, im.input(node, 2), type->getElementType()));
  return success();
}

/// com.microsoft BiasSplitGelu: with h = X + bias split in halves along the
/// last axis, h₁ · Gelu(h₂) (exact Gelu).
LogicalResult importBiasSplitGelu(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  Value h = ab.binary<AddOp>(im.input(node, 0), im.input(node, 1),
                             type->getElementType());
  int64_t d = ab.shapeOf(h).back();
  if (ShapedType::isDynamic(d) || d % 2) {
    im.nodeError() << "needs an even static last extent, got " << h.getType();
    return failure();
  }
  Value left = ab.lastAxisSlice(h, 0, d / 2);
  Value right = ab.lastAxisSlice(h, d / 2, d / 2);
  Value gelu =
      im.builder.create<GeluOp>(im.currentLoc, right.getType(), right,
                                im.builder.getStringAttr("none"), nullptr);
  im.setOutput(
      node, 0,
      im.builder.create<MulOp>(im.currentLoc, *type, left, gelu, nullptr));
  return success();
}

/// com.microsoft FusedMatMul: alpha · op(A) · op(B), op transposing the last
/// two axes where transA / transB say.
LogicalResult importFusedMatMul(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  for (const char *attr : {"transBatchA", "transBatchB"})
    if (im.intAttribute(node, attr, 0)) {
      im.nodeError() << "attribute '" << attr
                     << "' = 1 is not supported (supported: 0)";
      return failure();
    }
  AttentionBuilder ab{im};
  auto operand = [&](int i, const char *trans) -> FailureOr<Value> {
    Value x = im.input(node, i);
    int64_t rank = ab.shapeOf(x).size();
    if (rank < 2) {
      im.nodeError() << "operands must have rank 2 or more, got "
                     << x.getType();
      return failure();
    }
    if (!im.intAttribute(node, trans, 0))
      return x;
    SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(perm[rank - 1], perm[rank - 2]);
    return ab.transpose(x, perm);
  };
  FailureOr<Value> a = operand(0, "transA"), b = operand(1, "transB");
  if (failed(a) || failed(b))
    return failure();
  Value y = im.builder.create<MatMulOp>(im.currentLoc, *type, *a, *b, nullptr);
  if (float alpha = im.floatAttribute(node, "alpha", 1.0f); alpha != 1.0f) {
    Type element = type->getElementType();
    Value scale = im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(RankedTensorType::get({}, element),
                               FloatAttr::get(element, alpha)));
    y = im.builder.create<MulOp>(im.currentLoc, *type, y, scale, nullptr);
  }
  im.setOutput(node, 0, y);
  return success();
}

/// com.microsoft RotaryEmbedding: input [B, S, N·H] or [B, N, S, H],
/// position_ids [B, S], or [1] holding the first position of every row.
LogicalResult importMicrosoftRotary(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (im.intAttribute(node, "is_packed_batching", 0)) {
    im.nodeError() << "attribute 'is_packed_batching' = 1 is not supported "
                      "(supported: 0)";
    return failure();
  }
  if (float scale = im.floatAttribute(node, "scale", 1.0f); scale != 1.0f) {
    im.nodeError() << "attribute 'scale' = " << scale
                   << " is not supported (supported: 1)";
    return failure();
  }
  AttentionBuilder ab{im};
  int64_t rank = type->getRank();
  FailureOr<Value> x4 = ab.inHeads(
      im.input(node, 0), im.intAttribute(node, "num_heads", 0), "input");
  if (failed(x4))
    return failure();
  Value x = *x4;
  Value positions = im.input(node, 1), cos = im.input(node, 2),
        sin = im.input(node, 3);
  if (ab.shapeOf(positions).size() == 1) {
    // An offset: rows offset .. offset + S - 1 of the caches.
    Value rowIds =
        ab.binary<AddOp>(buildPositions(im.builder, im.currentLoc, x, 2, 1, 0),
                         positions, im.builder.getI64Type());
    auto rows = [&](Value cache) -> Value {
      return im.builder.create<GatherOp>(
          im.currentLoc,
          ab.withShape(cache, {ab.shapeOf(x)[2], ab.shapeOf(cache)[1]}), cache,
          rowIds, im.builder.getI64IntegerAttr(0), nullptr);
    };
    cos = rows(cos);
    sin = rows(sin);
    positions = nullptr;
  }
  im.setOutput(node, 0, ab.rotary(node, x, cos, sin, positions, rank));
  return success();
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

void mlir::attn::onnx_import::addMicrosoftHandlers(HandlerTable &table) {
  table.add("com.microsoft", "SkipLayerNormalization", 1, importSkipLayerNorm);
  table.add("com.microsoft", "SkipSimplifiedLayerNormalization", 1,
            importSkipLayerNorm);
  table.add("com.microsoft", "EmbedLayerNormalization", 1,
            importEmbedLayerNorm);
  table.add("com.microsoft", "BiasAdd", 1, importBiasAdd);
  table.add("com.microsoft", "BiasSplitGelu", 1, importBiasSplitGelu);
  table.add("com.microsoft", "FusedMatMul", 1, importFusedMatMul);
  table.add("com.microsoft", "RotaryEmbedding", 1, importMicrosoftRotary);
  table.add("com.microsoft", "Attention", 1, importMicrosoftAttention);
  table.add("com.microsoft", "MultiHeadAttention", 1, importMultiHeadAttention);
  table.add("com.microsoft", "GroupQueryAttention", 1,
            importGroupQueryAttention);
}
