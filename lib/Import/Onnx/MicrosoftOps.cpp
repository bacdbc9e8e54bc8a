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

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {
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

void mlir::attn::onnx_import::addMicrosoftHandlers(HandlerTable &table) {
  table.add("com.microsoft", "SkipLayerNormalization", 1, importSkipLayerNorm);
  table.add("com.microsoft", "Attention", 1, importMicrosoftAttention);
  table.add("com.microsoft", "MultiHeadAttention", 1, importMultiHeadAttention);
  table.add("com.microsoft", "GroupQueryAttention", 1,
            importGroupQueryAttention);
}
