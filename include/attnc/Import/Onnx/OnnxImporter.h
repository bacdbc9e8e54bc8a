//===- OnnxImporter.h - ONNX models into the attn dialect -------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf or the ONNX text syntax) and builds
// one func.func of attn ops. This header is free of protobuf and ONNX types:
// only lib/Import/Onnx sees them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_IMPORT_ONNX_ONNXIMPORTER_H
#define ATTNC_IMPORT_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::attn {

/// Options of the ONNX importer.
struct OnnxImportOptions {
  /// Name of the generated function; empty: the graph's name, or `main`.
  std::string functionName;
  /// Initializers with more bytes than this become `dense_resource` blobs
  /// (not hashed, not uniqued); smaller ones stay dense attributes so that
  /// the folders can see them.
  int64_t resourceThresholdBytes = 1024;
  /// Pins the shapes of named graph inputs before shape inference: every
  /// dimension (symbolic or not) is replaced; the rank must match.
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputShapes;
};

/// Imports the ONNX model held in `bytes`. `bufferName` names it in
/// diagnostics (usually the file path). The text syntax is chosen when the
/// name ends in `.onnxtext` or the content starts with `<`; otherwise the
/// bytes are parsed as a binary ModelProto. Errors are reported through the
/// context's diagnostic handler and yield a null module.
OwningOpRef<ModuleOp> importOnnx(llvm::StringRef bytes,
                                 llvm::StringRef bufferName,
                                 MLIRContext *context,
                                 const OnnxImportOptions &options = {});

/// One operator of the importer's table: its domain ("" for the default
/// one), its name, and the opsets its handlers are valid from.
struct OnnxOperatorInfo {
  std::string domain;
  std::string opType;
  std::vector<int64_t> sinceOpsets;
};

/// Every operator the importer has a handler for, by domain and name.
std::vector<OnnxOperatorInfo> listOnnxOperators();

/// Reads `path` and imports it as `importOnnx` does.
OwningOpRef<ModuleOp> importOnnxFile(llvm::StringRef path, MLIRContext *context,
                                     const OnnxImportOptions &options = {});

} // namespace mlir::attn

#endif // ATTNC_IMPORT_ONNX_ONNXIMPORTER_H
