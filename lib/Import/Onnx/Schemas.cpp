//===- Schemas.cpp - Operator schemas newer than the linked ONNX ----------===//
//
// Schemas written from the ONNX operator specifications (opsets 18-25) and
// the ONNX Runtime contrib operator documentation (com.microsoft). Only the
// signatures and the type and shape inference are defined here; the
// semantics are implemented by the importer's handlers.
//
//===----------------------------------------------------------------------===//

#include "Schemas.h"
#include "SchemaUtil.h"

#include "onnx/defs/schema.h"
#include "onnx/defs/shape_inference.h"
#include "onnx/defs/tensor_proto_util.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using onnx::AttributeProto;
using onnx::InferenceContext;
using onnx::OpSchema;
using onnx::TensorShapeProto;

namespace mlir::attn::onnx_import {
namespace {

//===----------------------------------------------------------------------===//
// Opset 18: Reduce* with axes as an input, Split with num_outputs
//===----------------------------------------------------------------------===//

void reduceInference(InferenceContext &ctx) {
  onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  int rank = rankOf(ctx, 0);
  if (rank < 0)
    return;
  bool keep = onnx::getAttribute(ctx, "keepdims", 1) != 0;
  bool noop = onnx::getAttribute(ctx, "noop_with_empty_axes", 0) != 0;
  std::vector<int64_t> axes;
  bool hasAxes = ctx.getNumInputs() > 1 && ctx.getInputType(1);
  if (hasAxes) {
    const onnx::TensorProto *data = ctx.getInputData(1);
    if (!data) {
      if (keep) // Same rank, unknown extents.
        setOutput(ctx, 0, 0, std::vector<TensorShapeProto::Dimension>(rank));
      return;
    }
    axes = onnx::ParseData<int64_t>(data);
  }
  if (axes.empty() && noop) {
    onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
    return;
  }
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      fail_shape_inference("axis ", a, " is out of range for rank ", rank);
    reduced[a < 0 ? a + rank : a] = true;
  }
  std::vector<TensorShapeProto::Dimension> dims;
  for (int k = 0; k < rank; ++k) {
    if (!reduced[k])
      dims.push_back(dim(ctx, 0, k));
    else if (keep)
      dims.push_back(value(1));
  }
  setOutput(ctx, 0, 0, dims);
}

void registerReduce(const char *name, int since,
                    const std::vector<std::string> &types) {
  registerSchema(
      OpSchema()
          .SetName(name)
          .SetDomain(onnx::ONNX_DOMAIN)
          .SinceVersion(since)
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "data", "", "T")
          .Input(1, "axes", "", "tensor(int64)", OpSchema::Optional)
          .Output(0, "reduced", "", "T")
          .Attr("keepdims", "", AttributeProto::INT, static_cast<int64_t>(1))
          .Attr("noop_with_empty_axes", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .TypeConstraint("T", types, "")
          .TypeAndShapeInferenceFunction(reduceInference));
}

void splitInference(InferenceContext &ctx) {
  int rank = rankOf(ctx, 0);
  for (size_t o = 0; o < ctx.getNumOutputs(); ++o)
    onnx::propagateElemTypeFromInputToOutput(ctx, 0, o);
  if (rank < 0)
    return;
  int64_t axis = onnx::getAttribute(ctx, "axis", 0);
  if (axis < -rank || axis >= rank)
    fail_shape_inference("axis ", axis, " is out of range for rank ", rank);
  if (axis < 0)
    axis += rank;
  int64_t n = ctx.getNumOutputs();
  std::vector<int64_t> sizes;
  if (ctx.getNumInputs() > 1 && ctx.getInputType(1)) {
    if (const onnx::TensorProto *data = ctx.getInputData(1))
      sizes = onnx::ParseData<int64_t>(data);
  } else {
    TensorShapeProto::Dimension extent = dim(ctx, 0, axis);
    if (extent.has_dim_value()) {
      int64_t part = (extent.dim_value() + n - 1) / n;
      for (int64_t i = 0, start = 0; i < n; ++i, start += part)
        sizes.push_back(std::min(part, extent.dim_value() - start));
    }
  }
  for (int64_t o = 0; o < n; ++o) {
    std::vector<TensorShapeProto::Dimension> dims;
    for (int k = 0; k < rank; ++k)
      dims.push_back(k != axis ? dim(ctx, 0, k)
                     : static_cast<int64_t>(sizes.size()) == n
                         ? value(sizes[o])
                         : TensorShapeProto::Dimension());
    setOutput(ctx, o, 0, dims);
  }
}

//===----------------------------------------------------------------------===//
// Cast and CastLike with 'saturate' (19) and 'round_mode' (24); Pad with axes
//===----------------------------------------------------------------------===//

/// Cast at `version` (19: saturate, 24: round_mode). Both attributes concern
/// the 8-bit float types only.
OpSchema castSchema(const char *name, int version) {
  bool like = std::string(name) == "CastLike";
  OpSchema schema;
  schema.SetName(name)
      .SetDomain(onnx::ONNX_DOMAIN)
      .SinceVersion(version)
      .SetLocation(__FILE__, __LINE__)
      .Input(0, "input", "", "T1");
  if (like)
    schema.Input(1, "target_type", "", "T2");
  else
    schema.Attr("to", "", AttributeProto::INT);
  schema.Output(0, "output", "", "T2")
      .Attr("saturate", "", AttributeProto::INT, static_cast<int64_t>(1));
  if (version >= 24)
    schema.Attr("round_mode", "", AttributeProto::STRING, std::string("up"));
  schema.TypeConstraint("T1", withBool(numericTypes()), "")
      .TypeConstraint("T2", withBool(numericTypes()), "")
      .TypeAndShapeInferenceFunction([like](InferenceContext &ctx) {
        if (like)
          onnx::propagateElemTypeFromInputToOutput(ctx, 1, 0);
        else
          onnx::propagateElemTypeFromAttributeToOutput(ctx, "to", 0);
        if (onnx::hasInputShape(ctx, 0))
          onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
      });
  return schema;
}

/// The integers of input `i` when it is a constant known to inference.
std::optional<std::vector<int64_t>> constantInts(InferenceContext &ctx,
                                                 size_t i) {
  if (i >= ctx.getNumInputs())
    return std::nullopt;
  const onnx::TensorProto *t = ctx.getInputData(i);
  if (!t)
    return std::nullopt;
  if (t->data_type() == onnx::TensorProto::INT64)
    return onnx::ParseData<int64_t>(t);
  if (t->data_type() == onnx::TensorProto::INT32) {
    std::vector<int32_t> v = onnx::ParseData<int32_t>(t);
    return std::vector<int64_t>(v.begin(), v.end());
  }
  return std::nullopt;
}

/// Pad-18 (the optional input axes selects the padded axes): the output
/// extent of each axis is its input extent plus both pad amounts.
void padInference(InferenceContext &ctx) {
  onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  int rank = rankOf(ctx, 0);
  if (rank < 0)
    return;
  std::optional<std::vector<int64_t>> pads = constantInts(ctx, 1);
  std::vector<int64_t> axes;
  bool axesGiven = ctx.getNumInputs() > 3 && ctx.getInputType(3);
  if (axesGiven) {
    std::optional<std::vector<int64_t>> a = constantInts(ctx, 3);
    if (!a)
      pads.reset();
    else
      axes = *a;
  } else {
    for (int k = 0; k < rank; ++k)
      axes.push_back(k);
  }
  std::vector<TensorShapeProto::Dimension> dims(rank);
  if (pads) {
    if (pads->size() != 2 * axes.size())
      fail_shape_inference("Pad has ", pads->size(), " pad amounts for ",
                           axes.size(), " axes");
    for (int k = 0; k < rank; ++k)
      dims[k] = dim(ctx, 0, k);
    for (size_t j = 0; j < axes.size(); ++j) {
      int64_t a = axes[j] < 0 ? axes[j] + rank : axes[j];
      if (a < 0 || a >= rank)
        fail_shape_inference("Pad axis ", axes[j], " is out of range");
      if (dims[a].has_dim_value())
        dims[a].set_dim_value(dims[a].dim_value() + (*pads)[j] +
                              (*pads)[j + axes.size()]);
    }
  }
  setOutput(ctx, 0, 0, dims);
}

void registerOpset18To24() {
  for (const char *name : {"Cast", "CastLike"})
    for (int version : {19, 24})
      registerSchema(castSchema(name, version));
  registerSchema(
      OpSchema()
          .SetName("Pad")
          .SetDomain(onnx::ONNX_DOMAIN)
          .SinceVersion(18)
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "data", "", "T")
          .Input(1, "pads", "", "tensor(int64)")
          .Input(2, "constant_value", "", "T", OpSchema::Optional)
          .Input(3, "axes", "", "Tind", OpSchema::Optional)
          .Output(0, "output", "", "T")
          .Attr("mode", "", AttributeProto::STRING, std::string("constant"))
          .TypeConstraint("T", withBool(numericTypes()), "")
          .TypeConstraint("Tind", {"tensor(int32)", "tensor(int64)"}, "")
          .TypeAndShapeInferenceFunction(padInference));
}

//===----------------------------------------------------------------------===//
// Opset 19 and 21: QuantizeLinear, DequantizeLinear
//===----------------------------------------------------------------------===//

/// QuantizeLinear's result: the zero point's type, else `output_dtype`,
/// else uint8; the input's shape.
void quantizeInference(InferenceContext &ctx) {
  if (ctx.getNumInputs() > 2 && ctx.getInputType(2)) {
    onnx::propagateElemTypeFromInputToOutput(ctx, 2, 0);
  } else {
    const AttributeProto *dtype = ctx.getAttribute("output_dtype");
    int64_t type = dtype && dtype->i() != 0
                       ? dtype->i()
                       : static_cast<int64_t>(onnx::TensorProto::UINT8);
    ctx.getOutputType(0)->mutable_tensor_type()->set_elem_type(
        static_cast<int32_t>(type));
  }
  if (onnx::hasInputShape(ctx, 0))
    onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
}

/// DequantizeLinear's result: the scale's type, the input's shape.
void dequantizeInference(InferenceContext &ctx) {
  onnx::propagateElemTypeFromInputToOutput(ctx, 1, 0);
  if (onnx::hasInputShape(ctx, 0))
    onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
}

/// The two operators at `version` (19: saturate; 21: 16-bit integers,
/// blocks, output_dtype), with the element types attnc represents.
void registerQuantization(int version) {
  std::vector<std::string> integers = {"tensor(int8)", "tensor(uint8)"};
  if (version >= 21) {
    integers.push_back("tensor(int16)");
    integers.push_back("tensor(uint16)");
  }
  std::vector<std::string> dequantizable = integers;
  dequantizable.push_back("tensor(int32)");
  std::vector<std::string> inputs = {"tensor(float)", "tensor(float16)",
                                     "tensor(bfloat16)", "tensor(int32)"};
  OpSchema quantize;
  quantize.SetName("QuantizeLinear")
      .SetDomain(onnx::ONNX_DOMAIN)
      .SinceVersion(version)
      .SetLocation(__FILE__, __LINE__)
      .Input(0, "x", "", "T1")
      .Input(1, "y_scale", "", "T1")
      .Input(2, "y_zero_point", "", "T2", OpSchema::Optional)
      .Output(0, "y", "", "T2")
      .Attr("axis", "", AttributeProto::INT, static_cast<int64_t>(1))
      .Attr("saturate", "", AttributeProto::INT, static_cast<int64_t>(1))
      .TypeConstraint("T1", inputs, "")
      .TypeConstraint("T2", integers, "")
      .TypeAndShapeInferenceFunction(quantizeInference);
  OpSchema dequantize;
  dequantize.SetName("DequantizeLinear")
      .SetDomain(onnx::ONNX_DOMAIN)
      .SinceVersion(version)
      .SetLocation(__FILE__, __LINE__)
      .Input(0, "x", "", "T1")
      .Input(1, "x_scale", "", "T2")
      .Input(2, "x_zero_point", "", "T1", OpSchema::Optional)
      .Output(0, "y", "", "T2")
      .Attr("axis", "", AttributeProto::INT, static_cast<int64_t>(1))
      .TypeConstraint("T1", dequantizable, "")
      .TypeConstraint("T2", floatTypes(), "")
      .TypeAndShapeInferenceFunction(dequantizeInference);
  if (version >= 21) {
    quantize
        .Attr("block_size", "", AttributeProto::INT, static_cast<int64_t>(0))
        .Attr("output_dtype", "", AttributeProto::INT, static_cast<int64_t>(0));
    dequantize.Attr("block_size", "", AttributeProto::INT,
                    static_cast<int64_t>(0));
  }
  registerSchema(quantize);
  registerSchema(dequantize);
}

//===----------------------------------------------------------------------===//
// Opset 23-25: Attention, RotaryEmbedding, RMSNormalization
//===----------------------------------------------------------------------===//

/// Outputs: Y, present_key, present_value, qk_matmul_output.
void attentionInference(InferenceContext &ctx) {
  int rank = rankOf(ctx, 0);
  onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  if (rank != 3 && rank != 4) {
    if (rank >= 0)
      fail_shape_inference("Q must be of rank 3 or 4, got ", rank);
    return;
  }
  int64_t qHeads = onnx::getAttribute(ctx, "q_num_heads", 0);
  int64_t kvHeads = onnx::getAttribute(ctx, "kv_num_heads", 0);
  if (rank == 3 && (qHeads <= 0 || kvHeads <= 0))
    fail_shape_inference("3-D inputs need q_num_heads and kv_num_heads");
  TensorShapeProto::Dimension batch = dim(ctx, 0, 0);
  TensorShapeProto::Dimension qSeq = dim(ctx, 0, rank == 4 ? 2 : 1);
  TensorShapeProto::Dimension kvSeq = dim(ctx, 1, rank == 4 ? 2 : 1);
  TensorShapeProto::Dimension past = dim(ctx, 4, 2);
  TensorShapeProto::Dimension total =
      ctx.getNumInputs() > 4 && ctx.getInputType(4) ? sum(past, kvSeq) : kvSeq;
  // Head sizes and head counts, as 4-D shapes see them.
  TensorShapeProto::Dimension qHeadsDim =
      rank == 4 ? dim(ctx, 0, 1) : value(qHeads);
  TensorShapeProto::Dimension kvHeadsDim =
      rank == 4 ? dim(ctx, 1, 1) : value(kvHeads);
  TensorShapeProto::Dimension kHead =
      rank == 4 ? dim(ctx, 1, 3) : quotient(dim(ctx, 1, 2), kvHeads);
  TensorShapeProto::Dimension vHead =
      rank == 4 ? dim(ctx, 2, 3) : quotient(dim(ctx, 2, 2), kvHeads);
  if (rank == 4)
    setOutput(ctx, 0, 0, {batch, qHeadsDim, qSeq, vHead});
  else
    setOutput(ctx, 0, 0,
              {batch, qSeq,
               vHead.has_dim_value() ? value(vHead.dim_value() * qHeads)
                                     : TensorShapeProto::Dimension()});
  setOutput(ctx, 1, 0, {batch, kvHeadsDim, total, kHead});
  setOutput(ctx, 2, 2, {batch, kvHeadsDim, total, vHead});
  setOutput(ctx, 3, 0, {batch, qHeadsDim, qSeq, total});
}

/// Attention at `version`: 24 adds the input nonpad_kv_seqlen, 25 the
/// attributes left_window_size and right_window_size.
OpSchema attentionSchema(int version) {
  OpSchema schema;
  schema.SetName("Attention")
      .SetDomain(onnx::ONNX_DOMAIN)
      .SinceVersion(version)
      .SetLocation(__FILE__, __LINE__)
      .Input(0, "Q", "", "T1")
      .Input(1, "K", "", "T1")
      .Input(2, "V", "", "T2")
      .Input(3, "attn_mask", "", "U", OpSchema::Optional)
      .Input(4, "past_key", "", "T1", OpSchema::Optional)
      .Input(5, "past_value", "", "T2", OpSchema::Optional);
  if (version >= 24)
    schema.Input(6, "nonpad_kv_seqlen", "", "tensor(int64)",
                 OpSchema::Optional);
  schema.Output(0, "Y", "", "T1")
      .Output(1, "present_key", "", "T1", OpSchema::Optional)
      .Output(2, "present_value", "", "T2", OpSchema::Optional)
      .Output(3, "qk_matmul_output", "", "T1", OpSchema::Optional)
      .Attr("is_causal", "", AttributeProto::INT, static_cast<int64_t>(0))
      .Attr("kv_num_heads", "", AttributeProto::INT, false)
      .Attr("q_num_heads", "", AttributeProto::INT, false)
      .Attr("qk_matmul_output_mode", "", AttributeProto::INT,
            static_cast<int64_t>(0))
      .Attr("scale", "", AttributeProto::FLOAT, false)
      .Attr("softcap", "", AttributeProto::FLOAT, 0.0f)
      .Attr("softmax_precision", "", AttributeProto::INT, false);
  if (version >= 25)
    schema
        .Attr("left_window_size", "", AttributeProto::INT,
              static_cast<int64_t>(-1))
        .Attr("right_window_size", "", AttributeProto::INT,
              static_cast<int64_t>(-1));
  schema.TypeConstraint("T1", floatTypes(), "")
      .TypeConstraint("T2", floatTypes(), "")
      .TypeConstraint("U", withBool(floatTypes()), "")
      .TypeAndShapeInferenceFunction(attentionInference);
  return schema;
}

void registerOpset23() {
  for (int version : {23, 24, 25})
    registerSchema(attentionSchema(version));

  registerSchema(
      OpSchema()
          .SetName("TensorScatter")
          .SetDomain(onnx::ONNX_DOMAIN)
          .SinceVersion(24)
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "past_cache", "", "T")
          .Input(1, "update", "", "T")
          .Input(2, "write_indices", "", "tensor(int64)", OpSchema::Optional)
          .Output(0, "present_cache", "", "T")
          .Attr("axis", "", AttributeProto::INT, static_cast<int64_t>(-2))
          .Attr("mode", "", AttributeProto::STRING, std::string("linear"))
          .TypeConstraint("T", withBool(floatTypes()), "")
          .TypeAndShapeInferenceFunction(sameAsFirstInput));

  registerSchema(
      OpSchema()
          .SetName("RotaryEmbedding")
          .SetDomain(onnx::ONNX_DOMAIN)
          .SinceVersion(23)
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "X", "", "T")
          .Input(1, "cos_cache", "", "T")
          .Input(2, "sin_cache", "", "T")
          .Input(3, "position_ids", "", "M", OpSchema::Optional)
          .Output(0, "Y", "", "T")
          .Attr("interleaved", "", AttributeProto::INT, static_cast<int64_t>(0))
          .Attr("num_heads", "", AttributeProto::INT, false)
          .Attr("rotary_embedding_dim", "", AttributeProto::INT,
                static_cast<int64_t>(0))
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("M", {"tensor(int64)"}, "")
          .TypeAndShapeInferenceFunction(sameAsFirstInput));

  registerSchema(
      OpSchema()
          .SetName("RMSNormalization")
          .SetDomain(onnx::ONNX_DOMAIN)
          .SinceVersion(23)
          .SetLocation(__FILE__, __LINE__)
          .Input(0, "X", "", "T")
          .Input(1, "scale", "", "V")
          .Output(0, "Y", "", "V")
          .Attr("axis", "", AttributeProto::INT, static_cast<int64_t>(-1))
          .Attr("epsilon", "", AttributeProto::FLOAT, 1e-5f)
          .Attr("stash_type", "", AttributeProto::INT, static_cast<int64_t>(1))
          .TypeConstraint("T", floatTypes(), "")
          .TypeConstraint("V", floatTypes(), "")
          .TypeAndShapeInferenceFunction([](InferenceContext &ctx) {
            onnx::propagateElemTypeFromInputToOutput(ctx, 1, 0);
            onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
          }));

  // GroupNormalization: opset 18 (scale and bias per group) and 21 (per
  // channel, stash_type), both newer than the linked ONNX.
  for (int version : {18, 21}) {
    OpSchema schema;
    schema.SetName("GroupNormalization")
        .SetDomain(onnx::ONNX_DOMAIN)
        .SinceVersion(version)
        .SetLocation(__FILE__, __LINE__)
        .Input(0, "X", "", "T")
        .Input(1, "scale", "", "T")
        .Input(2, "bias", "", "T")
        .Output(0, "Y", "", "T")
        .Attr("epsilon", "", AttributeProto::FLOAT, 1e-5f)
        .Attr("num_groups", "", AttributeProto::INT)
        .TypeConstraint("T", floatTypes(), "")
        .TypeAndShapeInferenceFunction(sameAsFirstInput);
    if (version >= 21)
      schema.Attr("stash_type", "", AttributeProto::INT,
                  static_cast<int64_t>(1));
    registerSchema(schema);
  }
}

void registerAll() {
  auto &ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance();
  // The registry object is not const; Map() only hands out a const view.
  auto &map =
      const_cast<std::unordered_map<std::string, std::pair<int, int>> &>(
          ranges.Map());
  if (map[onnx::ONNX_DOMAIN].second < kMaxDefaultOpset)
    map[onnx::ONNX_DOMAIN].second = kMaxDefaultOpset;
  if (!map.count(kMicrosoft))
    ranges.AddDomainToVersion(kMicrosoft, 1, 1);

  // Operators whose signature changed after opset 17.
  if (!onnx::OpSchemaRegistry::Schema("ReduceMean", 18, onnx::ONNX_DOMAIN) ||
      onnx::OpSchemaRegistry::Schema("ReduceMean", 18, onnx::ONNX_DOMAIN)
              ->SinceVersion() < 18) {
    for (const char *name :
         {"ReduceMean", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
          "ReduceLogSumExp", "ReduceSumSquare"})
      registerReduce(name, 18, numericTypes());
    // Opset 20 adds bool to ReduceMax and ReduceMin.
    for (const char *name : {"ReduceMax", "ReduceMin"}) {
      registerReduce(name, 18, numericTypes());
      registerReduce(name, 20, withBool(numericTypes()));
    }
    registerSchema(
        OpSchema()
            .SetName("Split")
            .SetDomain(onnx::ONNX_DOMAIN)
            .SinceVersion(18)
            .SetLocation(__FILE__, __LINE__)
            .Input(0, "input", "", "T")
            .Input(1, "split", "", "tensor(int64)", OpSchema::Optional)
            .Output(0, "outputs", "", "T", OpSchema::Variadic)
            .Attr("axis", "", AttributeProto::INT, static_cast<int64_t>(0))
            .Attr("num_outputs", "", AttributeProto::INT, false)
            .TypeConstraint("T", withBool(numericTypes()), "")
            .TypeAndShapeInferenceFunction(splitInference));
  }
  if (!onnx::OpSchemaRegistry::Schema("Gelu", 20, onnx::ONNX_DOMAIN))
    registerSchema(OpSchema()
                       .SetName("Gelu")
                       .SetDomain(onnx::ONNX_DOMAIN)
                       .SinceVersion(20)
                       .SetLocation(__FILE__, __LINE__)
                       .Input(0, "X", "", "T")
                       .Output(0, "Y", "", "T")
                       .Attr("approximate", "", AttributeProto::STRING,
                             std::string("none"))
                       .TypeConstraint("T", floatTypes(), "")
                       .TypeAndShapeInferenceFunction(sameAsFirstInput));
  // Activations of one float input added after opset 17, or given 16-bit
  // float types (opsets 22 and 28), with their float attributes.
  struct Activation {
    const char *name;
    int since;
    std::vector<std::pair<const char *, float>> attrs;
  };
  const Activation activations[] = {
      {"Mish", 18, {}},
      {"Swish", 24, {{"alpha", 1.0f}}},
      {"Elu", 22, {{"alpha", 1.0f}}},
      {"Selu", 22, {{"alpha", 1.67326319f}, {"gamma", 1.05070102f}}},
      {"Softplus", 22, {}},
      {"Softsign", 22, {}},
      {"HardSigmoid", 22, {{"alpha", 0.2f}, {"beta", 0.5f}}},
      {"HardSwish", 22, {}},
      {"ThresholdedRelu", 22, {{"alpha", 1.0f}}},
      {"Round", 22, {}},
      // Opset 28 in ONNX; the registry here stops at kMaxDefaultOpset.
      {"Celu", std::min(28, kMaxDefaultOpset), {{"alpha", 1.0f}}}};
  for (const Activation &a : activations) {
    const OpSchema *have =
        onnx::OpSchemaRegistry::Schema(a.name, a.since, onnx::ONNX_DOMAIN);
    if (have && have->SinceVersion() >= a.since)
      continue;
    OpSchema schema;
    schema.SetName(a.name)
        .SetDomain(onnx::ONNX_DOMAIN)
        .SinceVersion(a.since)
        .SetLocation(__FILE__, __LINE__)
        .Input(0, "X", "", "T")
        .Output(0, "Y", "", "T")
        .TypeConstraint("T", floatTypes(), "")
        .TypeAndShapeInferenceFunction(sameAsFirstInput);
    for (const auto &[attr, value] : a.attrs)
      schema.Attr(attr, "", AttributeProto::FLOAT, value);
    registerSchema(std::move(schema));
  }
  if (!onnx::OpSchemaRegistry::Schema("Pad", 18, onnx::ONNX_DOMAIN) ||
      onnx::OpSchemaRegistry::Schema("Pad", 18, onnx::ONNX_DOMAIN)
              ->SinceVersion() < 18)
    registerOpset18To24();
  if (onnx::OpSchemaRegistry::Schema("QuantizeLinear", 21, onnx::ONNX_DOMAIN)
          ->SinceVersion() < 19)
    for (int version : {19, 21})
      registerQuantization(version);
  if (!onnx::OpSchemaRegistry::Schema("Attention", 23, onnx::ONNX_DOMAIN))
    registerOpset23();
  if (!onnx::OpSchemaRegistry::Schema("GroupQueryAttention", 1, kMicrosoft))
    registerMicrosoftSchemas();
}

} // namespace

void registerAttncSchemas() {
  static std::once_flag once;
  std::call_once(once, registerAll);
}

} // namespace mlir::attn::onnx_import
