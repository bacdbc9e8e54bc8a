//===- Driver.h - The one compile function of attnc -------------*- C++ -*-===//
//
// Import → default pipeline → emit: the sequence behind the `attnc` tool and
// the Python package alike.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DRIVER_DRIVER_H
#define ATTNC_DRIVER_DRIVER_H

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::attn {

/// What `attnc` writes.
enum class EmitKind {
  Mlir,      ///< the attn dialect after the pipeline
  Dot,       ///< the graph after the pipeline as Graphviz DOT (and SVG)
  Stmt,      ///< Halide's lowered statement
  Html,      ///< the lowered statement as HTML
  Asm,       ///< assembly
  Obj,       ///< object file (Halide runtime included)
  Header,    ///< C header of the entry points
  StaticLib, ///< static library (runtime included) plus its header
  SharedLib, ///< shared library (runtime included)
  Ptx,       ///< PTX of a CUDA target
};

/// Parses an `--emit` value; nullopt when unknown.
std::optional<EmitKind> parseEmitKind(llvm::StringRef name);
/// The file extension the kind is written with (".o", ".a", ...).
llvm::StringRef defaultExtension(EmitKind kind);

/// Options of one compilation.
struct CompileOptions {
  /// `.onnx`, `.onnxtext` or `.mlir` (attn dialect) input.
  std::string inputPath;
  /// Output path; `-` is standard output (text kinds only); empty: the
  /// input's stem with the kind's extension.
  std::string outputPath;
  /// A Halide target string or `host`.
  std::string target = "host";
  /// Build with Halide's profiler (the `profile` feature on every target):
  /// the process that runs the library prints each kernel's time at exit.
  bool profile = false;
  EmitKind emit = EmitKind::Obj;
  /// Entry point name; empty: the input's stem as a C identifier.
  std::string functionName;
  /// Run attn-fuse-attention.
  bool fuse = true;
  /// With fusion and embedded weights: compute the costly computations on
  /// weights alone (a product or norm of constants) once, while compiling,
  /// and embed their results (lib/Driver/FoldWeights.cpp).
  bool foldWeights = true;
  /// Print the fusion report (what fused, and why the rest did not) to
  /// standard output after the pass pipeline.
  bool fusionReport = false;
  /// Stop after the report: write no output.
  bool reportOnly = false;
  /// Pass weights (constants of more than 64 elements) as run-time
  /// arguments, written next to the output as `<stem>.weights/<name>.npy`,
  /// instead of embedding them.
  bool weightsAsParams = false;
  /// Non-empty: ignore attnc's schedules and let this Halide autoscheduler
  /// (Adams2019, Li2018, Mullapudi2016) schedule the plain algorithm; a
  /// reference point for attnc's own schedules.
  std::string autoscheduler;
  /// Products of attention and of matmuls with constant weights in
  /// bfloat16 with float32 accumulation (`--precision=bf16`).
  bool bf16 = false;
  /// Attention ops (node names or parts; `all`) whose probabilities the
  /// compiled function also returns.
  std::vector<std::string> attentionProbs;
  /// `name=1x128` entries pinning graph input shapes.
  std::vector<std::string> inputShapes;
  /// Report the stages of compiles that take more than a moment on stderr.
  bool progress = true;
  /// Compile the model as a program of deduplicated kernels
  /// (attn-outline-kernels), each kernel a Halide pipeline of its own, for
  /// a single CPU target; false: one Halide pipeline for the whole model.
  bool kernels = true;
  /// Kernels compiled at once (worker processes); 0: one per core.
  int jobs = 0;
  /// Print the program's kernels (calls, distinct kernels, intermediate
  /// memory) to standard output once it is planned.
  bool kernelReport = false;
};

/// One input or output of a compiled entry point, in the call order.
struct TensorInterface {
  /// The name in the model (the ONNX name); the entry point's argument is
  /// this name made into a C identifier.
  std::string name;
  /// `float32`, `float16`, `bfloat16`, `int64`, `bool`, ... (numpy's names).
  std::string elementType;
  /// Extents, outermost first; -1 where known only at run time.
  std::vector<int64_t> shape;
  /// Per axis: the symbolic name of a run-time extent (ONNX dim_param), or
  /// empty.
  std::vector<std::string> dims;
};

/// The signature of a compiled entry point.
struct ModelInterface {
  std::string functionName;
  std::vector<TensorInterface> inputs, outputs;
};

/// Compiles one model. `configure` may adjust the pass manager (the tool
/// applies the MLIR pass-manager command-line options there). When
/// `interface` is given it receives the signature of the entry point. Errors
/// go through the context's diagnostic handler.
LogicalResult
compile(MLIRContext &context, const CompileOptions &options,
        llvm::function_ref<LogicalResult(PassManager &)> configure = nullptr,
        ModelInterface *interface = nullptr);

/// Registers every dialect attnc uses in `context`.
void loadAttncDialects(MLIRContext &context);

} // namespace mlir::attn

#endif // ATTNC_DRIVER_DRIVER_H
