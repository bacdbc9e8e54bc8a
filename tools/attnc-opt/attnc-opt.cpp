//===- attnc-opt.cpp - Run attn passes on .mlir files ----------*- C++ -*-===//
//
// The `*-opt` tool of attnc: registers the attn dialect, the dialects it is
// used with and every attn pass and pipeline, so that each pass can be tested
// on its own from a .mlir file under lit.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::attn::AttnDialect, mlir::func::FuncDialect>();
  mlir::registerTransformsPasses();
  mlir::attn::registerAttncPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "attnc optimizer driver: attn passes on .mlir\n", registry));
}
