//===- attnc.cpp - The attnc compiler driver -------------------*- C++ -*-===//
//
// `attnc model.onnx -o model.o --target=... --emit=...`: compiles an ONNX
// model (or attn MLIR) ahead of time into an object file, a library, a header
// or one of the intermediate forms. The MLIR pass-manager options
// (`--mlir-print-ir-after-all`, `--mlir-timing`, ...) are available too.
//
//===----------------------------------------------------------------------===//

#include "attnc/Driver/Diagnostics.h"
#include "attnc/Driver/Driver.h"
#include "attnc/Passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory attncCategory("attnc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx | model.onnxtext | "
                                               "module.mlir>"),
                                      cl::cat(attncCategory));

static cl::opt<std::string>
    outputFile("o",
               cl::desc("Output file; '-' is standard output for text kinds "
                        "(default: the input's stem with the kind's "
                        "extension)"),
               cl::value_desc("file"), cl::cat(attncCategory));

static cl::opt<std::string> target(
    "target",
    cl::desc("Code generation target: host, or a Halide target string such "
             "as x86-64-linux-avx512, x86-64-linux-avx2, arm-64-linux, "
             "x86-64-linux-cuda-cuda_capability_80"),
    cl::init("host"), cl::cat(attncCategory));

static cl::opt<bool> profile(
    "profile",
    cl::desc("Build the library with Halide's profiler: the process that "
             "runs it prints, at exit, every kernel's time per call, the "
             "threads it kept busy and its allocations (attnc-run prints it "
             "after its runs; docs/performance.md)"),
    cl::cat(attncCategory));

static cl::opt<std::string> emit(
    "emit",
    cl::desc("What to write: mlir (attn dialect after the pipeline), dot "
             "(the graph after the pipeline, fused ops filled, as Graphviz "
             "DOT; also rendered to SVG beside it when Graphviz is "
             "installed), stmt "
             "(Halide's lowered statement), html, asm, obj (object with the "
             "Halide runtime), header, static-lib (archive plus header), "
             "shared-lib, ptx (CUDA targets)"),
    cl::init("obj"), cl::cat(attncCategory));

static cl::opt<std::string> functionName(
    "function-name",
    cl::desc("Name of the generated entry point (default: the input's stem)"),
    cl::cat(attncCategory));

static cl::opt<bool> noFuse("no-fuse",
                            cl::desc("Do not fuse attention into attn.sdpa"),
                            cl::init(false), cl::cat(attncCategory));

static cl::opt<bool> noFoldWeights(
    "no-fold-weights",
    cl::desc("Do not compute the products and norms of weights alone while "
             "compiling (DeBERTa's relative-position projections); compute "
             "them at every call instead"),
    cl::init(false), cl::cat(attncCategory));

static cl::opt<std::string> report(
    "report",
    cl::desc("fusion: print what fused into attn.sdpa and, for every "
             "softmax that did not, why and at which node (standard output); "
             "without -o or --emit nothing else is written. kernels: print "
             "the kernels of the program (calls, distinct kernels, "
             "intermediate memory) as it compiles"),
    cl::init(""), cl::cat(attncCategory));

static cl::opt<std::string> weights(
    "weights",
    cl::desc("embed (default): weights are part of the generated code; "
             "param: weights are run-time arguments after the inputs, written "
             "as <output stem>.weights/<name>.npy"),
    cl::init("embed"), cl::cat(attncCategory));

static cl::opt<std::string> autoschedule(
    "autoschedule",
    cl::desc("Adams2019, Li2018 or Mullapudi2016: ignore attnc's schedules "
             "and let this Halide autoscheduler schedule the plain "
             "algorithm (a reference point; input shapes must be static)"),
    cl::cat(attncCategory));

static cl::opt<std::string> precision(
    "precision",
    cl::desc("fp32 (default) or bf16: products of attention and of matmuls "
             "with constant weights in bfloat16 with float32 accumulation "
             "(AVX512-BF16 dot products on targets that have them)"),
    cl::init("fp32"), cl::cat(attncCategory));

static cl::list<std::string> attentionProbs(
    "attention-probs",
    cl::desc("Also return the attention probabilities [B, H, Nq, Nk] of these "
             "attention ops as outputs named <node>_probs: node names or parts "
             "of them, comma separated, or 'all'"),
    cl::CommaSeparated, cl::cat(attncCategory));

static cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Pin a graph input's shape, NAME=DIMS (e.g. input_ids=1x128); "
             "repeatable"),
    cl::cat(attncCategory));

static cl::opt<bool> oneKernel(
    "one-pipeline",
    cl::desc("Compile the whole model as one Halide pipeline instead of a "
             "program of deduplicated kernels compiled in parallel"),
    cl::init(false), cl::cat(attncCategory));

static cl::opt<int>
    jobs("jobs",
         cl::desc("Kernels compiled at once, each in a worker process "
                  "(default: one per core); the output does not depend on "
                  "it"),
         cl::init(0), cl::cat(attncCategory));

static cl::opt<bool>
    quiet("quiet",
          cl::desc("Do not report the stages of long compiles on stderr"),
          cl::init(false), cl::cat(attncCategory));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  attn::registerAttncPasses();
  cl::ParseCommandLineOptions(
      argc, argv,
      "attnc: ahead-of-time compiler for attention and Transformer models\n\n"
      "Compiles an ONNX model (binary .onnx or text .onnxtext) or an attn\n"
      "module (.mlir) into code for x86-64 (AVX-512, AVX2), ARM64 (NEON) or\n"
      "NVIDIA GPUs (CUDA). The generated entry point takes one "
      "halide_buffer_t\nper graph input and output (see docs/abi.md).\n");

  std::optional<attn::EmitKind> kind = attn::parseEmitKind(emit);
  if (!kind) {
    llvm::errs() << "attnc: error: unknown --emit kind '" << emit
                 << "' (expected mlir, dot, stmt, html, asm, obj, header, "
                    "static-lib, shared-lib or ptx)\n";
    return 1;
  }

  DialectRegistry registry;
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  // Errors name the model's file and node; the op and its IR only when
  // asked for (--mlir-print-op-on-diagnostic).
  auto &registered = cl::getRegisteredOptions();
  if (auto it = registered.find("mlir-print-op-on-diagnostic");
      it == registered.end() || !it->second->getNumOccurrences())
    context.printOpOnDiagnostic(false);
  attn::DiagnosticPrinter diagnostics(&context, llvm::errs());

  attn::CompileOptions options;
  options.inputPath = inputFile;
  options.outputPath = outputFile;
  options.target = target;
  options.profile = profile;
  options.emit = *kind;
  options.functionName = functionName;
  options.fuse = !noFuse;
  options.foldWeights = !noFoldWeights;
  if (weights != "embed" && weights != "param") {
    llvm::errs() << "attnc: error: --weights='" << weights
                 << "' is not supported (supported: embed, param)\n";
    return 1;
  }
  options.weightsAsParams = weights == "param";
  options.autoscheduler = autoschedule;
  options.kernels = !oneKernel;
  if (jobs < 0) {
    llvm::errs() << "attnc: error: --jobs=" << jobs
                 << " is not a number of workers (0: one per core)\n";
    return 1;
  }
  options.jobs = jobs;
  if (precision != "fp32" && precision != "bf16") {
    llvm::errs() << "attnc: error: --precision='" << precision
                 << "' is not supported (supported: fp32, bf16)\n";
    return 1;
  }
  options.bf16 = precision == "bf16";
  if (!report.empty() && report != "fusion" && report != "kernels") {
    llvm::errs() << "attnc: error: --report='" << report
                 << "' is not supported (supported: fusion, kernels)\n";
    return 1;
  }
  options.fusionReport = report == "fusion";
  options.kernelReport = report == "kernels";
  options.reportOnly = options.fusionReport &&
                       !outputFile.getNumOccurrences() &&
                       !emit.getNumOccurrences();
  options.attentionProbs.assign(attentionProbs.begin(), attentionProbs.end());
  options.inputShapes.assign(inputShapes.begin(), inputShapes.end());
  options.progress = !quiet;

  DefaultTimingManager tm;
  applyDefaultTimingManagerCLOptions(tm);
  TimingScope timing = tm.getRootScope();
  LogicalResult result = attn::compile(context, options, [&](PassManager &pm) {
    pm.enableTiming(timing);
    return applyPassManagerCLOptions(pm);
  });
  return failed(result) ? 1 : 0;
}
