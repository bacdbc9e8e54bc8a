//===- SchemaUtil.h - Helpers of the schema definitions ----------*- C++
//-*-===//
//
// Internal to lib/Import/Onnx: type lists and shape-inference helpers shared
// by the schema files (Schemas.cpp, MicrosoftSchemas.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_IMPORT_ONNX_SCHEMAUTIL_H
#define ATTNC_LIB_IMPORT_ONNX_SCHEMAUTIL_H

#include "onnx/defs/schema.h"
#include "onnx/defs/shape_inference.h"

#include <string>
#include <vector>

namespace mlir::attn::onnx_import {

using onnx::AttributeProto;
using onnx::InferenceContext;
using onnx::OpSchema;
using onnx::TensorShapeProto;

inline const std::vector<std::string> &floatTypes() {
  static const std::vector<std::string> types = {
      "tensor(float)", "tensor(float16)", "tensor(bfloat16)", "tensor(double)"};
  return types;
}

inline const std::vector<std::string> &numericTypes() {
  static const std::vector<std::string> types = {
      "tensor(float)",  "tensor(float16)", "tensor(bfloat16)", "tensor(double)",
      "tensor(int64)",  "tensor(int32)",   "tensor(int16)",    "tensor(int8)",
      "tensor(uint64)", "tensor(uint32)",  "tensor(uint16)",   "tensor(uint8)"};
  return types;
}

inline std::vector<std::string> withBool(std::vector<std::string> types) {
  types.push_back("tensor(bool)");
  return types;
}

/// Dimension `k` of input `i` (negative `k` counts from the end); unknown
/// when the input or its shape is absent.
inline TensorShapeProto::Dimension dim(InferenceContext &ctx, size_t i, int k) {
  if (i >= ctx.getNumInputs() || !ctx.getInputType(i) ||
      !onnx::hasInputShape(ctx, i))
    return {};
  const TensorShapeProto &shape = onnx::getInputShape(ctx, i);
  if (k < 0)
    k += shape.dim_size();
  if (k < 0 || k >= shape.dim_size())
    return {};
  return shape.dim(k);
}

inline int rankOf(InferenceContext &ctx, size_t i) {
  if (i >= ctx.getNumInputs() || !ctx.getInputType(i) ||
      !onnx::hasInputShape(ctx, i))
    return -1;
  return onnx::getInputShape(ctx, i).dim_size();
}

inline bool hasOutput(InferenceContext &ctx, size_t i) {
  return i < ctx.getNumOutputs() && ctx.getOutputType(i);
}

/// Sets output `o` to element type of input `i` and the given dims.
inline void setOutput(InferenceContext &ctx, size_t o, size_t i,
                      const std::vector<TensorShapeProto::Dimension> &dims) {
  if (!hasOutput(ctx, o))
    return;
  onnx::propagateElemTypeFromInputToOutput(ctx, i, o);
  TensorShapeProto *shape =
      ctx.getOutputType(o)->mutable_tensor_type()->mutable_shape();
  shape->clear_dim();
  for (const auto &d : dims)
    *shape->add_dim() = d;
}

inline TensorShapeProto::Dimension sum(const TensorShapeProto::Dimension &a,
                                       const TensorShapeProto::Dimension &b) {
  TensorShapeProto::Dimension r;
  if (a.has_dim_value() && b.has_dim_value())
    r.set_dim_value(a.dim_value() + b.dim_value());
  return r;
}

inline TensorShapeProto::Dimension
quotient(const TensorShapeProto::Dimension &a, int64_t b) {
  TensorShapeProto::Dimension r;
  if (a.has_dim_value() && b > 0)
    r.set_dim_value(a.dim_value() / b);
  return r;
}

inline TensorShapeProto::Dimension value(int64_t v) {
  TensorShapeProto::Dimension r;
  r.set_dim_value(v);
  return r;
}

inline void sameAsFirstInput(InferenceContext &ctx) {
  onnx::propagateShapeAndTypeFromFirstInput(ctx);
}

inline void registerSchema(OpSchema schema) {
  onnx::OpSchemaRegistry::OpSchemaRegisterOnce once(schema);
}

constexpr const char *kMicrosoft = "com.microsoft";

/// The com.microsoft schemas (MicrosoftSchemas.cpp).
void registerMicrosoftSchemas();

} // namespace mlir::attn::onnx_import

#endif // ATTNC_LIB_IMPORT_ONNX_SCHEMAUTIL_H
