//===- Schemas.h - Operator schemas newer than the linked ONNX -*- C++ -*-===//
//
// Internal to lib/Import/Onnx. The linked ONNX (1.12) knows operators up to
// opset 17. attnc registers, from their published specifications, the
// schemas it imports beyond that: the opset-18 signatures of Reduce*, Split
// and Pad, Cast and CastLike (19, 24), Gelu-20, Attention (opsets 23-25), the
// opset-23 RotaryEmbedding and RMSNormalization, and the com.microsoft
// Transformer operators of ONNX Runtime. Each has its own type and shape
// inference, so ONNX's checker and shape inference accept models that use them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_IMPORT_ONNX_SCHEMAS_H
#define ATTNC_LIB_IMPORT_ONNX_SCHEMAS_H

namespace mlir::attn::onnx_import {

/// Registers the schemas once per process (thread-safe).
void registerAttncSchemas();

/// The highest default-domain opset whose operators attnc can check.
constexpr int kMaxDefaultOpset = 25;
/// The newest default-domain opset of an ONNX release attnc knows (ONNX
/// 1.23): newer ones are refused.
constexpr int kNewestOpset = 28;

} // namespace mlir::attn::onnx_import

#endif // ATTNC_LIB_IMPORT_ONNX_SCHEMAS_H
