//===- Driver.cpp - The one compile function of attnc ----------*- C++ -*-===//
//
// Reads the input (ONNX binary, ONNX text or attn MLIR), runs the
// `attnc-default-pipeline` for the resolved target, and writes the requested
// artifact. Outputs appear only when the whole compilation succeeded.
//
//===----------------------------------------------------------------------===//

#include "attnc/Driver/Driver.h"
#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Import/Onnx/OnnxImporter.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;

std::optional<EmitKind> mlir::attn::parseEmitKind(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<EmitKind>>(name)
      .Case("mlir", EmitKind::Mlir)
      .Case("stmt", EmitKind::Stmt)
      .Case("html", EmitKind::Html)
      .Case("asm", EmitKind::Asm)
      .Case("obj", EmitKind::Obj)
      .Case("header", EmitKind::Header)
      .Case("static-lib", EmitKind::StaticLib)
      .Case("shared-lib", EmitKind::SharedLib)
      .Case("ptx", EmitKind::Ptx)
      .Default(std::nullopt);
}

llvm::StringRef mlir::attn::defaultExtension(EmitKind kind) {
  switch (kind) {
  case EmitKind::Mlir:
    return ".mlir";
  case EmitKind::Stmt:
    return ".stmt";
  case EmitKind::Html:
    return ".html";
  case EmitKind::Asm:
    return ".s";
  case EmitKind::Obj:
    return ".o";
  case EmitKind::Header:
    return ".h";
  case EmitKind::StaticLib:
    return ".a";
  case EmitKind::SharedLib:
    return ".so";
  case EmitKind::Ptx:
    return ".ptx";
  }
  return "";
}

void mlir::attn::loadAttncDialects(MLIRContext &context) {
  context.loadDialect<AttnDialect, func::FuncDialect>();
}

namespace {

/// A C identifier from a file's stem (`models/bert-tiny.onnx` →
/// `bert_tiny`).
std::string stemIdentifier(llvm::StringRef path) {
  return toCIdentifier(llvm::sys::path::stem(path));
}

/// Writes `text` to `path` (or stdout for `-`) through a temporary file.
LogicalResult writeTextAtomically(Location loc, llvm::StringRef path,
                                  llvm::StringRef text) {
  if (path == "-") {
    llvm::outs() << text;
    return success();
  }
  std::string tmp =
      (path + ".attnc-tmp-" + std::to_string(static_cast<long>(getpid())))
          .str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return emitError(loc)
             << "cannot write '" << path << "': " << ec.message();
    os << text;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return emitError(loc) << "cannot write '" << path << "'";
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return emitError(loc) << "cannot write '" << path << "': " << ec.message();
  }
  return success();
}

/// The Halide artifact behind an `--emit` kind other than `mlir`.
ArtifactKind artifactKind(EmitKind kind) {
  switch (kind) {
  case EmitKind::Stmt:
    return ArtifactKind::Stmt;
  case EmitKind::Html:
    return ArtifactKind::StmtHtml;
  case EmitKind::Asm:
    return ArtifactKind::Assembly;
  case EmitKind::Header:
    return ArtifactKind::Header;
  case EmitKind::StaticLib:
    return ArtifactKind::StaticLibrary;
  case EmitKind::SharedLib:
    return ArtifactKind::SharedLibrary;
  case EmitKind::Ptx:
    return ArtifactKind::Ptx;
  case EmitKind::Obj:
  case EmitKind::Mlir:
    break;
  }
  return ArtifactKind::Object;
}

/// Artifacts that are text and may go to standard output.
bool isText(ArtifactKind kind) {
  return kind == ArtifactKind::Stmt || kind == ArtifactKind::Assembly ||
         kind == ArtifactKind::Header || kind == ArtifactKind::Ptx;
}

OwningOpRef<ModuleOp> loadInput(MLIRContext &context,
                                const CompileOptions &options,
                                const std::string &functionName) {
  llvm::StringRef path = options.inputPath;
  if (path.ends_with(".mlir")) {
    llvm::SourceMgr sourceMgr;
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer) {
      emitError(UnknownLoc::get(&context))
          << "cannot open '" << path << "': " << buffer.getError().message();
      return nullptr;
    }
    sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
    return parseSourceFile<ModuleOp>(sourceMgr, &context);
  }
  OnnxImportOptions importOptions;
  importOptions.functionName = functionName;
  return importOnnxFile(path, &context, importOptions);
}

} // namespace

LogicalResult mlir::attn::compile(
    MLIRContext &context, const CompileOptions &options,
    llvm::function_ref<LogicalResult(PassManager &)> configure) {
  loadAttncDialects(context);
  Location loc = FileLineColLoc::get(&context, options.inputPath, 0, 0);

  FailureOr<std::string> target = resolveHalideTarget(options.target);
  if (failed(target))
    return emitError(UnknownLoc::get(&context))
           << "unknown target '" << options.target
           << "' (expected host or a Halide target string such as "
              "x86-64-linux-avx512, x86-64-linux-avx2, arm-64-linux, "
              "x86-64-linux-cuda-cuda_capability_80)";

  std::string functionName = options.functionName.empty()
                                 ? stemIdentifier(options.inputPath)
                                 : options.functionName;
  OwningOpRef<ModuleOp> module = loadInput(context, options, functionName);
  if (!module)
    return failure();

  PassManager pm(&context);
  if (configure && failed(configure(pm)))
    return failure();
  PipelineOptions pipelineOptions;
  pipelineOptions.target = *target;
  pipelineOptions.fuse = options.fuse;
  buildDefaultPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return failure();

  std::string output = options.outputPath;
  if (output.empty())
    output = (llvm::sys::path::stem(options.inputPath) +
              defaultExtension(options.emit))
                 .str();

  if (options.emit == EmitKind::Mlir) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return writeTextAtomically(loc, output, os.str());
  }

  HalideEmitOptions emitOptions;
  emitOptions.target = *target;
  emitOptions.functionName = functionName;
  ArtifactKind kind = artifactKind(options.emit);
  if (output == "-") {
    if (!isText(kind))
      return emitError(loc) << "cannot write a binary artifact to standard "
                               "output; pass -o FILE";
    return emitHalideText(*module, emitOptions, kind, llvm::outs());
  }

  SmallVector<std::pair<ArtifactKind, std::string>> files = {{kind, output}};
  // A static library comes with the header that declares its entry points.
  if (kind == ArtifactKind::StaticLibrary) {
    llvm::SmallString<128> header(output);
    llvm::sys::path::replace_extension(header, ".h");
    files.push_back({ArtifactKind::Header, std::string(header)});
  }
  return emitHalideArtifacts(*module, emitOptions, files);
}
