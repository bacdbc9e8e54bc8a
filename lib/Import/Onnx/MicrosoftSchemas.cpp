//===- MicrosoftSchemas.cpp - Schemas of ONNX Runtime's operators -*- C++
//-*-===//
//
// The com.microsoft operators attnc imports (and ONNX Runtime's
// SimplifiedLayerNormalization, which it defines in the default domain),
// written from ONNX Runtime's contrib operator documentation: signatures
// and type and shape inference only.
//
//===----------------------------------------------------------------------===//

#include "SchemaUtil.h"

#include <algorithm>

namespace mlir::attn::onnx_import {
namespace {

/// A com.microsoft schema of version 1, to be completed by the caller.
OpSchema &microsoft(OpSchema &&schema, const char *name) {
  return schema.SetName(name).SetDomain(kMicrosoft).SinceVersion(1);
}

void registerMicrosoftActivations() {
  registerSchema(microsoft(OpSchema(), "Gelu")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "X", "", "T")
                     .Output(0, "Y", "", "T")
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction(sameAsFirstInput));
  registerSchema(microsoft(OpSchema(), "QuickGelu")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "X", "", "T")
                     .Output(0, "Y", "", "T")
                     .Attr("alpha", "", AttributeProto::FLOAT, 1.702f)
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction(sameAsFirstInput));
  registerSchema(microsoft(OpSchema(), "FastGelu")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "X", "", "T")
                     .Input(1, "bias", "", "T", OpSchema::Optional)
                     .Output(0, "Y", "", "T")
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction(sameAsFirstInput));
  registerSchema(microsoft(OpSchema(), "BiasGelu")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "A", "", "T")
                     .Input(1, "B", "", "T")
                     .Output(0, "C", "", "T")
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction(sameAsFirstInput));
}

/// Outputs of the skip norms: output, mean, inv_std_var,
/// input_skip_bias_sum.
void skipNormInference(InferenceContext &ctx) {
  onnx::propagateShapeAndTypeFromFirstInput(ctx);
  if (hasOutput(ctx, 3)) {
    onnx::propagateElemTypeFromInputToOutput(ctx, 0, 3);
    onnx::propagateShapeFromInputToOutput(ctx, 0, 3);
  }
}

OpSchema skipNormSchema(const char *name, bool withBeta) {
  OpSchema schema;
  schema.SetName(name)
      .SetDomain(kMicrosoft)
      .SinceVersion(1)
      .Input(0, "input", "", "T")
      .Input(1, "skip", "", "T")
      .Input(2, "gamma", "", "T");
  if (withBeta)
    schema.Input(3, "beta", "", "T", OpSchema::Optional)
        .Input(4, "bias", "", "T", OpSchema::Optional);
  else
    schema.Input(3, "bias", "", "T", OpSchema::Optional);
  schema.Output(0, "output", "", "T")
      .Output(1, "mean", "", "U", OpSchema::Optional)
      .Output(2, "inv_std_var", "", "U", OpSchema::Optional)
      .Output(3, "input_skip_bias_sum", "", "T", OpSchema::Optional)
      .Attr("epsilon", "", AttributeProto::FLOAT, 1e-12f)
      .TypeConstraint("T", floatTypes(), "")
      .TypeConstraint("U", {"tensor(float)"}, "")
      .TypeAndShapeInferenceFunction(skipNormInference);
  return schema;
}

/// Y = alpha · op(A) · op(B), op transposing the last two axes on request.
void fusedMatMulInference(InferenceContext &ctx) {
  onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  int ra = rankOf(ctx, 0), rb = rankOf(ctx, 1);
  if (ra < 2 || rb < 2)
    return;
  bool ta = onnx::getAttribute(ctx, "transA", 0) != 0;
  bool tb = onnx::getAttribute(ctx, "transB", 0) != 0;
  std::vector<TensorShapeProto::Dimension> dims;
  int batch = std::max(ra, rb) - 2;
  for (int k = 0; k < batch; ++k) {
    int ka = k - (batch - (ra - 2)), kb = k - (batch - (rb - 2));
    TensorShapeProto::Dimension a = ka >= 0 ? dim(ctx, 0, ka) : value(1);
    TensorShapeProto::Dimension b = kb >= 0 ? dim(ctx, 1, kb) : value(1);
    if (a.has_dim_value() && a.dim_value() == 1)
      dims.push_back(b);
    else if (b.has_dim_value() && b.dim_value() == 1)
      dims.push_back(a);
    else
      dims.push_back(a.has_dim_value() ? a : b);
  }
  dims.push_back(dim(ctx, 0, ta ? -1 : -2));
  dims.push_back(dim(ctx, 1, tb ? -2 : -1));
  setOutput(ctx, 0, 0, dims);
}

void registerMicrosoftNorms() {
  registerSchema(skipNormSchema("SkipLayerNormalization", /*withBeta=*/true)
                     .SetLocation(__FILE__, __LINE__));
  registerSchema(
      skipNormSchema("SkipSimplifiedLayerNormalization", /*withBeta=*/false)
          .SetLocation(__FILE__, __LINE__));
  // ONNX Runtime defines this one in the default domain.
  registerSchema(
      OpSchema()
          .SetName("SimplifiedLayerNormalization")
          .SetDomain(onnx::ONNX_DOMAIN)
          .SinceVersion(1)
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "X", "", "T")
          .Input(1, "scale", "", "V")
          .Output(0, "Y", "", "V")
          .Output(1, "inv_std_var", "", "U", OpSchema::Optional)
          .Attr("axis", "", AttributeProto::INT, int64_t(-1))
          .Attr("epsilon", "", AttributeProto::FLOAT, 1e-5f)
          .Attr("stash_type", "", AttributeProto::INT, int64_t(1))
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("U", {"tensor(float)", "tensor(double)"}, "")
          .TypeConstraint("V", floatTypes(), "")
          .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
            onnx::propagateElemTypeFromInputToOutput(ctx, 1, 0);
            onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
          }));
  // input_ids [B, S] → output [B, S, H], mask_index [B], embedding_sum.
  registerSchema(
      microsoft(OpSchema(), "EmbedLayerNormalization")
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "input_ids", "", "T1")
          .Input(1, "segment_ids", "", "T1", OpSchema::Optional)
          .Input(2, "word_embedding", "", "T")
          .Input(3, "position_embedding", "", "T")
          .Input(4, "segment_embedding", "", "T", OpSchema::Optional)
          .Input(5, "gamma", "", "T")
          .Input(6, "beta", "", "T")
          .Input(7, "mask", "", "T1", OpSchema::Optional)
          .Input(8, "position_ids", "", "T1", OpSchema::Optional)
          .Output(0, "output", "", "T")
          .Output(1, "mask_index", "", "T1", OpSchema::Optional)
          .Output(2, "embedding_sum", "", "T", OpSchema::Optional)
          .Attr("epsilon", "", AttributeProto::FLOAT, 1e-12f)
          .Attr("mask_index_type", "", AttributeProto::INT, int64_t(1))
          .TypeConstraint("T1", {"tensor(int32)"}, "")
          .TypeConstraint("T", floatTypes(), "")
          .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
            TensorShapeProto::Dimension batch = dim(ctx, 0, 0),
                                        seq = dim(ctx, 0, 1),
                                        hidden = dim(ctx, 2, 1);
            setOutput(ctx, 0, 2, {batch, seq, hidden});
            setOutput(ctx, 1, 0, {batch});
            setOutput(ctx, 2, 2, {batch, seq, hidden});
          }));
}

void registerMicrosoftFused() {
  // Y = X + bias + skip.
  registerSchema(microsoft(OpSchema(), "BiasAdd")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "X", "", "T")
                     .Input(1, "bias", "", "T")
                     .Input(2, "skip", "", "T")
                     .Output(0, "Y", "", "T")
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction(sameAsFirstInput));
  // X [..., D] + bias [D] split in halves: Y = left · Gelu(right).
  registerSchema(microsoft(OpSchema(), "BiasSplitGelu")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "X", "", "T")
                     .Input(1, "bias", "", "T")
                     .Output(0, "Y", "", "T")
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
                       int rank = rankOf(ctx, 0);
                       if (rank < 1) {
                         onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
                         return;
                       }
                       std::vector<TensorShapeProto::Dimension> dims;
                       for (int k = 0; k < rank - 1; ++k)
                         dims.push_back(dim(ctx, 0, k));
                       dims.push_back(quotient(dim(ctx, 0, rank - 1), 2));
                       setOutput(ctx, 0, 0, dims);
                     }));
  registerSchema(microsoft(OpSchema(), "FusedMatMul")
                     .SetLocation(__FILE__, __LINE__)
                     .Input(0, "A", "", "T")
                     .Input(1, "B", "", "T")
                     .Output(0, "Y", "", "T")
                     .Attr("alpha", "", AttributeProto::FLOAT, 1.0f)
                     .Attr("transA", "", AttributeProto::INT, int64_t(0))
                     .Attr("transB", "", AttributeProto::INT, int64_t(0))
                     .Attr("transBatchA", "", AttributeProto::INT, int64_t(0))
                     .Attr("transBatchB", "", AttributeProto::INT, int64_t(0))
                     .TypeConstraint("T", floatTypes(), "")
                     .TypeAndShapeInferenceFunction(fusedMatMulInference));
  // input [B, S, N·H] or [B, N, S, H], position_ids [B, S] or [1] (an
  // offset), caches [max positions, R/2].
  registerSchema(
      microsoft(OpSchema(), "RotaryEmbedding")
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "input", "", "T")
          .Input(1, "position_ids", "", "M")
          .Input(2, "cos_cache", "", "T")
          .Input(3, "sin_cache", "", "T")
          .Output(0, "output", "", "T")
          .Attr("scale", "", AttributeProto::FLOAT, 1.0f)
          .Attr("interleaved", "", AttributeProto::INT, int64_t(0))
          .Attr("num_heads", "", AttributeProto::INT, int64_t(0))
          .Attr("rotary_embedding_dim", "", AttributeProto::INT, int64_t(0))
          .Attr("is_packed_batching", "", AttributeProto::INT, int64_t(0))
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("M", {"tensor(int64)"}, "")
          .TypeAndShapeInferenceFunction(sameAsFirstInput));
}

void registerMicrosoftAttention() {
  // input [B, S, Hin] · weights [Hin, Hq + Hk + Hv] → output [B, S, Hv].
  registerSchema(
      microsoft(OpSchema(), "Attention")
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "input", "", "T")
          .Input(1, "weights", "", "T")
          .Input(2, "bias", "", "T", OpSchema::Optional)
          .Input(3, "mask_index", "", "M", OpSchema::Optional)
          .Input(4, "past", "", "T", OpSchema::Optional)
          .Input(5, "attention_bias", "", "T", OpSchema::Optional)
          .Input(6, "past_sequence_length", "", "M", OpSchema::Optional)
          .Output(0, "output", "", "T")
          .Output(1, "present", "", "T", OpSchema::Optional)
          .Attr("num_heads", "", AttributeProto::INT)
          .Attr("unidirectional", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .Attr("qkv_hidden_sizes", "", AttributeProto::INTS, false)
          .Attr("past_present_share_buffer", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .Attr("do_rotary", "", AttributeProto::INT, static_cast<int64_t>(0))
          .Attr("rotary_embedding_dim", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .Attr("mask_filter_value", "", AttributeProto::FLOAT, -10000.0f)
          .Attr("scale", "", AttributeProto::FLOAT, false)
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("M", {"tensor(int32)"}, "")
          .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
            std::vector<int64_t> sizes;
            onnx::getRepeatedAttribute(ctx, "qkv_hidden_sizes", sizes);
            TensorShapeProto::Dimension hidden =
                sizes.size() == 3 ? value(sizes[2])
                                  : quotient(dim(ctx, 1, 1), 3);
            setOutput(ctx, 0, 0, {dim(ctx, 0, 0), dim(ctx, 0, 1), hidden});
          }));

  // query [B, S, D]; key/value [B, L, D] or [B, N, L, H] → [B, S, Dv].
  registerSchema(
      microsoft(OpSchema(), "MultiHeadAttention")
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "query", "", "T")
          .Input(1, "key", "", "T", OpSchema::Optional)
          .Input(2, "value", "", "T", OpSchema::Optional)
          .Input(3, "bias", "", "T", OpSchema::Optional)
          .Input(4, "key_padding_mask", "", "M", OpSchema::Optional)
          .Input(5, "attention_bias", "", "T", OpSchema::Optional)
          .Input(6, "past_key", "", "T", OpSchema::Optional)
          .Input(7, "past_value", "", "T", OpSchema::Optional)
          .Output(0, "output", "", "T")
          .Output(1, "present_key", "", "T", OpSchema::Optional)
          .Output(2, "present_value", "", "T", OpSchema::Optional)
          .Attr("num_heads", "", AttributeProto::INT)
          .Attr("mask_filter_value", "", AttributeProto::FLOAT, -10000.0f)
          .Attr("scale", "", AttributeProto::FLOAT, false)
          .Attr("unidirectional", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("M", {"tensor(int32)"}, "")
          .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
            int64_t heads = onnx::getAttribute(ctx, "num_heads", 0);
            int vRank = rankOf(ctx, 2);
            TensorShapeProto::Dimension vHidden =
                vRank == 3 ? dim(ctx, 2, 2) : TensorShapeProto::Dimension();
            if (vRank == 4 && dim(ctx, 2, 3).has_dim_value())
              vHidden = value(dim(ctx, 2, 3).dim_value() * heads);
            // Packed K/V [B, L, N, 2, H] or Q/K/V [B, S, N, 3, H]: N·H.
            auto packed = [&](size_t i) {
              TensorShapeProto::Dimension n = dim(ctx, i, 2),
                                          h = dim(ctx, i, 4);
              return n.has_dim_value() && h.has_dim_value()
                         ? value(n.dim_value() * h.dim_value())
                         : TensorShapeProto::Dimension();
            };
            if (vRank < 0)
              vHidden = rankOf(ctx, 0) == 5   ? packed(0)
                        : rankOf(ctx, 1) == 5 ? packed(1)
                                              : dim(ctx, 0, 2);
            setOutput(ctx, 0, 0, {dim(ctx, 0, 0), dim(ctx, 0, 1), vHidden});
          }));
}

void registerGroupQueryAttention() {
  // query [B, S, N·H]; key/value [B, S, Nkv·H] → output [B, S, N·H],
  // present_key/value [B, Nkv, T, H].
  registerSchema(
      microsoft(OpSchema(), "GroupQueryAttention")
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "query", "", "T")
          .Input(1, "key", "", "T", OpSchema::Optional)
          .Input(2, "value", "", "T", OpSchema::Optional)
          .Input(3, "past_key", "", "T", OpSchema::Optional)
          .Input(4, "past_value", "", "T", OpSchema::Optional)
          .Input(5, "seqlens_k", "", "M")
          .Input(6, "total_sequence_length", "", "M")
          .Input(7, "cos_cache", "", "T", OpSchema::Optional)
          .Input(8, "sin_cache", "", "T", OpSchema::Optional)
          .Output(0, "output", "", "T")
          .Output(1, "present_key", "", "T")
          .Output(2, "present_value", "", "T")
          .Attr("num_heads", "", AttributeProto::INT)
          .Attr("kv_num_heads", "", AttributeProto::INT)
          .Attr("scale", "", AttributeProto::FLOAT, false)
          .Attr("softcap", "", AttributeProto::FLOAT, 0.0f)
          .Attr("local_window_size", "", AttributeProto::INT,
                static_cast<int64_t>(-1))
          .Attr("do_rotary", "", AttributeProto::INT, static_cast<int64_t>(0))
          .Attr("rotary_interleaved", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .Attr("smooth_softmax", "", AttributeProto::INT, false)
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("M", {"tensor(int32)"}, "")
          .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
            int64_t heads = onnx::getAttribute(ctx, "num_heads", 0);
            int64_t kvHeads = onnx::getAttribute(ctx, "kv_num_heads", 0);
            TensorShapeProto::Dimension batch = dim(ctx, 0, 0),
                                        seq = dim(ctx, 0, 1);
            TensorShapeProto::Dimension kvHidden = dim(ctx, 1, 2);
            TensorShapeProto::Dimension head = quotient(kvHidden, kvHeads);
            setOutput(ctx, 0, 0,
                      {batch, seq,
                       head.has_dim_value() ? value(head.dim_value() * heads)
                                            : TensorShapeProto::Dimension()});
            TensorShapeProto::Dimension past = dim(ctx, 3, 2);
            TensorShapeProto::Dimension total =
                ctx.getNumInputs() > 3 && ctx.getInputType(3) ? sum(past, seq)
                                                              : seq;
            setOutput(ctx, 1, 0, {batch, value(kvHeads), total, head});
            setOutput(ctx, 2, 0, {batch, value(kvHeads), total, head});
          }));
}

} // namespace

void registerMicrosoftSchemas() {
  registerMicrosoftActivations();
  registerMicrosoftNorms();
  registerMicrosoftFused();
  registerMicrosoftAttention();
  registerGroupQueryAttention();
}

} // namespace mlir::attn::onnx_import
