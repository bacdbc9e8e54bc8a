//===- attnc-translate.cpp - Import ONNX, emit Halide, for lit -*- C++ -*-===//
//
// The translation tool of attnc: `--import-onnx` reads an ONNX model (binary
// or text) and prints the attn dialect; `--emit-halide-stmt` lowers an attn
// module through Halide and prints the lowered statement;
// `--list-onnx-operators` prints the importer's operator table. lit tests
// use it to check each layer on its own.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Import/Onnx/OnnxImporter.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

static llvm::cl::opt<std::string>
    targetOption("target", llvm::cl::desc("Halide target for --emit-halide-*"),
                 llvm::cl::init("x86-64-linux-avx512"));

int main(int argc, char **argv) {
  // --list-onnx-operators: the importer's operator table, one line each
  // (`domain op since...`, "ai.onnx" for the default domain), for the test
  // that every handler has an import test.
  for (int i = 1; i < argc; ++i)
    if (llvm::StringRef(argv[i]) == "--list-onnx-operators") {
      for (const attn::OnnxOperatorInfo &op : attn::listOnnxOperators()) {
        llvm::outs() << (op.domain.empty() ? "ai.onnx" : op.domain) << " "
                     << op.opType;
        for (int64_t since : op.sinceOpsets)
          llvm::outs() << " " << since;
        llvm::outs() << "\n";
      }
      return 0;
    }
  TranslateToMLIRRegistration importOnnx(
      "import-onnx", "import an ONNX model (.onnx or .onnxtext)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        OwningOpRef<ModuleOp> module = attn::importOnnx(
            buffer->getBuffer(), buffer->getBufferIdentifier(), context);
        return OwningOpRef<Operation *>(module.release());
      });
  TranslateFromMLIRRegistration emitStmt(
      "emit-halide-stmt",
      "lower an attn module through Halide, print the "
      "lowered statement",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expects a builtin.module");
        attn::HalideEmitOptions options;
        options.target = targetOption;
        return attn::emitHalideText(module, options, attn::ArtifactKind::Stmt,
                                    os);
      },
      [](DialectRegistry &registry) {
        registry.insert<attn::AttnDialect, func::FuncDialect>();
      });
  return failed(mlirTranslateMain(argc, argv, "attnc translation tool"));
}
