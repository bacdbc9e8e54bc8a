//===- HalideEmitter.h - attn modules to Halide pipelines -------*- C++ -*-===//
//
// Turns the function of an attn module into a Halide pipeline (one Func per
// op, its #attn.schedule applied as Halide scheduling calls) and compiles it
// ahead of time, or runs it through Halide's JIT. Free of Halide types: only
// lib/Target/Halide includes Halide.h.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_HALIDE_HALIDEEMITTER_H
#define ATTNC_TARGET_HALIDE_HALIDEEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::attn {

/// What the emitter writes.
enum class ArtifactKind {
  Object,        ///< .o with the pipeline (no runtime)
  Header,        ///< .h declaring the entry points
  StaticLibrary, ///< .a with the pipeline and the Halide runtime
  SharedLibrary, ///< .so with the pipeline and the Halide runtime
  Assembly,      ///< .s
  Stmt,          ///< Halide's lowered statement, as text
  StmtHtml,      ///< the lowered statement as HTML
  Ptx,           ///< the PTX embedded in a CUDA object
};

/// Options of the Halide emitter.
struct HalideEmitOptions {
  /// A Halide target string, or `host`.
  std::string target = "host";
  /// Name of the entry point; empty: the function's symbol name.
  std::string functionName;
  /// Called as ops are defined (ops done, ops in all); may be empty.
  std::function<void(int64_t, int64_t)> progress;
  /// Called when a later stage of code generation starts; may be empty.
  std::function<void(const std::string &)> stage;
  /// False: weights are embedded in the generated code. True: constants of
  /// more than 64 elements become input buffers after the graph inputs,
  /// named after their ONNX initializers.
  bool weightsAsParams = false;
  /// With weightsAsParams, where each weight is written as
  /// `<argument name>.npy` (replaced as a whole); empty: not written.
  std::string weightsDir;
  /// Non-empty: the op schedules are ignored and this Halide autoscheduler
  /// (Adams2019, Li2018, Mullapudi2016) schedules the pipeline.
  std::string autoscheduler;
  /// Inserted into generated headers right after the include guard (the
  /// documentation of the entry point).
  std::string headerPreamble;
  /// A program of kernels (attn-outline-kernels): how many kernels are
  /// compiled at once, each in a worker process of its own; 0: one per
  /// core. The output does not depend on it.
  int jobs = 0;
  /// Called once a program of kernels is planned.
  std::function<void(const struct ProgramSummary &)> programPlanned;
};

/// What a program of kernels (attn-outline-kernels) consists of.
struct ProgramSummary {
  /// Kernel calls of the entry point.
  int64_t calls = 0;
  /// Each distinct kernel (one Halide pipeline): its symbol, its calls.
  std::vector<std::pair<std::string, int64_t>> kernels;
  /// Bytes of intermediate memory the entry point allocates per call, as
  /// an expression of the input extents (a number for static shapes).
  std::string arenaBytes;
};

/// Returns the concrete Halide target string for `target` (resolving
/// `host`), or failure when Halide does not know it.
FailureOr<std::string> resolveHalideTarget(llvm::StringRef target);

/// Compiles the single function of `module` and writes each requested
/// artifact. Every file is written under a temporary name and renamed into
/// place only when all of them succeeded: a failure leaves nothing behind.
LogicalResult
emitHalideArtifacts(ModuleOp module, const HalideEmitOptions &options,
                    llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files);

/// Compiles the single function of each of `modules` (the same model, the
/// pass pipeline run for `targets[i]`, best target first) into one library
/// that picks, on its first call, the first variant whose target features the
/// CPU has (the last one is the fallback and must run everywhere). The
/// entry point and `F_output_shapes` keep their names; the variants are
/// `F_<target features>`. Artifacts: a static or shared library, a header.
LogicalResult emitHalideMultiTarget(
    llvm::ArrayRef<ModuleOp> modules, llvm::ArrayRef<std::string> targets,
    const HalideEmitOptions &options,
    llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files);

/// Writes a text artifact (statement, assembly, header, PTX) to `os`.
LogicalResult emitHalideText(ModuleOp module, const HalideEmitOptions &options,
                             ArtifactKind kind, llvm::raw_ostream &os);

/// Element types a host tensor can hold.
enum class DType {
  F32,
  F64,
  F16,
  BF16,
  I64,
  I32,
  I16,
  I8,
  U64,
  U32,
  U16,
  U8,
  Bool
};

/// A dense row-major tensor in host memory, for the JIT entry point.
struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  int64_t numElements() const;
  static size_t elementBytes(DType dtype);
  template <typename T> T *as() { return reinterpret_cast<T *>(data.data()); }
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
};

/// Runs the single function of `module` through Halide's JIT on the host:
/// inputs in argument order, outputs in result order, shaped by the model.
LogicalResult runWithJit(ModuleOp module, llvm::ArrayRef<HostTensor> inputs,
                         std::vector<HostTensor> &outputs);
/// runWithJit once per set of inputs, the function compiled once.
LogicalResult runWithJitMany(ModuleOp module,
                             llvm::ArrayRef<std::vector<HostTensor>> inputSets,
                             std::vector<std::vector<HostTensor>> &outputSets);

} // namespace mlir::attn

#endif // ATTNC_TARGET_HALIDE_HALIDEEMITTER_H
