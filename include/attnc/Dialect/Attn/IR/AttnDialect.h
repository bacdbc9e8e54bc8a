//===- AttnDialect.h - attn dialect declaration -----------------*- C++ -*-===//
//
// The attn dialect: attention graphs with ONNX semantics and their fused
// kernels, each op optionally carrying the #attn.schedule that drives the
// Halide emitter.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_IR_ATTNDIALECT_H
#define ATTNC_DIALECT_ATTN_IR_ATTNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "attnc/Dialect/Attn/IR/AttnDialect.h.inc"

#endif // ATTNC_DIALECT_ATTN_IR_ATTNDIALECT_H
