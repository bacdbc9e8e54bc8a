//===- Driver.cpp - The one compile function of attnc ----------*- C++ -*-===//
//
// Reads the input (ONNX binary, ONNX text or attn MLIR), runs the
// `attnc-default-pipeline` for the resolved target, and writes the requested
// artifact. Outputs appear only when the whole compilation succeeded.
//
//===----------------------------------------------------------------------===//

#include "attnc/Driver/Driver.h"

#include "Dot.h"
#include "FoldWeights.h"
#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Import/Onnx/OnnxImporter.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;

std::optional<EmitKind> mlir::attn::parseEmitKind(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<EmitKind>>(name)
      .Case("mlir", EmitKind::Mlir)
      .Case("dot", EmitKind::Dot)
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
  case EmitKind::Dot:
    return ".dot";
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

/// Stage lines on stderr, printed once a compile has taken more than a
/// second (quick compiles stay silent), each with the time so far.
class Progress {
public:
  explicit Progress(bool enabled)
      : enabled(enabled), start(std::chrono::steady_clock::now()) {
    if (enabled)
      ticker = std::thread([this] { tick(); });
  }
  ~Progress() {
    if (!ticker.joinable())
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    wake.notify_all();
    ticker.join();
  }

  void stage(const std::string &what) {
    std::lock_guard<std::mutex> lock(mutex);
    pending = what;
    printed = false;
    stageStart = std::chrono::steady_clock::now();
    printLocked();
  }

  void count(const std::string &what, int64_t done, int64_t total) {
    // About ten lines per stage.
    int64_t step = std::max<int64_t>(1, total / 10);
    if (done != total && done % step != 0)
      return;
    stage(what + " " + std::to_string(done) + "/" + std::to_string(total));
  }

private:
  using Clock = std::chrono::steady_clock;

  double since(Clock::time_point t) const {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  /// Prints the stage once the compile has run for a second; a stage still
  /// running is repeated every 10 s.
  void printLocked() {
    if (!enabled || since(start) < 1.0)
      return;
    llvm::errs() << llvm::format("attnc: [%6.1fs] ", since(start)) << pending;
    if (printed)
      llvm::errs() << llvm::format(" (%.0f s in this stage)",
                                   since(stageStart));
    llvm::errs() << "\n";
    printed = true;
    lastPrint = Clock::now();
  }

  void tick() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!done) {
      wake.wait_for(lock, std::chrono::milliseconds(250));
      if (done || pending.empty())
        continue;
      if (!printed || since(lastPrint) >= 10.0)
        printLocked();
    }
  }

  bool enabled;
  Clock::time_point start, stageStart, lastPrint;
  std::string pending;
  bool printed = false, done = false;
  std::mutex mutex;
  std::condition_variable wake;
  std::thread ticker;
};

int64_t countOps(ModuleOp module) {
  int64_t n = 0;
  module.walk([&](Operation *op) {
    if (op->getDialect() && isa<AttnDialect>(op->getDialect()))
      ++n;
  });
  return n;
}

/// A C identifier from a file's stem (`models/bert-tiny.onnx` →
/// `bert_tiny`).
std::string stemIdentifier(llvm::StringRef path) {
  return toCIdentifier(llvm::sys::path::stem(path));
}

/// True for names the entry point cannot take: C and C++ keywords (the
/// header declares it), and symbols that the generated object defines or
/// calls (the Halide runtime, the C and math libraries, POSIX threads),
/// which the entry point would replace.
bool isReservedEntryName(llvm::StringRef name) {
  static const llvm::StringSet<> reserved = {
      // C and C++ keywords.
      "auto", "bool", "break", "case", "catch", "char", "class", "const",
      "constexpr", "continue", "default", "delete", "do", "double", "else",
      "enum", "explicit", "export", "extern", "false", "float", "for", "friend",
      "goto", "if", "inline", "int", "long", "mutable", "namespace", "new",
      "noexcept", "nullptr", "operator", "private", "protected", "public",
      "register", "restrict", "return", "short", "signed", "sizeof", "static",
      "struct", "switch", "template", "this", "throw", "true", "try", "typedef",
      "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
      "while",
      // C library functions the runtime calls.
      "abort", "atoi", "calloc", "close", "exit", "fclose", "fopen", "fprintf",
      "free", "fwrite", "getenv", "malloc", "memcmp", "memcpy", "memmove",
      "memset", "open", "printf", "read", "realloc", "snprintf", "strchr",
      "strcmp", "strlen", "strncmp", "strstr", "write", "main", "sched_yield",
      "sysconf", "usleep", "dlopen", "dlsym", "dlerror",
      // Math library functions generated code may call, both precisions.
      "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt",
      "ceil", "cos", "cosh", "erf", "erfc", "exp", "exp2", "expm1", "fabs",
      "floor", "fmax", "fmin", "fmod", "hypot", "log", "log10", "log1p", "log2",
      "nearbyint", "pow", "round", "sin", "sinh", "sqrt", "tan", "tanh",
      "trunc"};
  if (name.starts_with("halide_") || name.starts_with("pthread_") ||
      name.starts_with("__"))
    return true;
  if (reserved.contains(name))
    return true;
  // Single-precision forms of the math functions (tanhf, expf, ...).
  return name.ends_with("f") && reserved.contains(name.drop_back());
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
  case EmitKind::Dot:
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
  for (const std::string &spec : options.inputShapes) {
    auto [name, dims] = llvm::StringRef(spec).rsplit('=');
    std::vector<int64_t> shape;
    bool ok = !name.empty() && !dims.empty();
    SmallVector<llvm::StringRef> parts;
    dims.split(parts, 'x');
    for (llvm::StringRef part : parts) {
      int64_t d;
      if (part.getAsInteger(10, d) || d < 0)
        ok = false;
      shape.push_back(d);
    }
    if (dims == "scalar")
      ok = true, shape.clear();
    if (!ok) {
      emitError(UnknownLoc::get(&context))
          << "--input-shape '" << spec
          << "' is not NAME=DIMS (for example input_ids=1x128, or "
             "NAME=scalar)";
      return nullptr;
    }
    importOptions.inputShapes.push_back({name.str(), shape});
  }
  return importOnnxFile(path, &context, importOptions);
}

} // namespace

namespace {
/// Prints what the fusion passes reported: "CATEGORY NAME fused into OP"
/// and "CATEGORY NAME not fused: WHY (at NODE)" lines, by category.
void printFusionReport(llvm::raw_ostream &os, StringRef input, bool fuse,
                       ArrayRef<std::string> remarks) {
  struct Category {
    const char *key, *title;
    std::vector<std::string> fused, missed;
    int64_t exported = 0;
  };
  Category categories[] = {{"attention", "attention cores", {}, {}},
                           {"norm", "norms", {}, {}},
                           {"gelu", "GELUs", {}, {}},
                           {"epilogue", "epilogues", {}, {}},
                           {"projection", "merged projections", {}, {}}};
  for (const std::string &r : remarks) {
    auto [key, rest] = StringRef(r).split(' ');
    for (Category &c : categories) {
      if (key != c.key)
        continue;
      if (rest.ends_with(" exported as one op"))
        ++c.exported;
      else if (auto [name, into] = rest.split(" fused into "); !into.empty())
        c.fused.push_back((name + " → " + into).str());
      else if (auto [name, why] = rest.split(" not fused: "); !why.empty())
        c.missed.push_back((name + ": " + why).str());
    }
  }
  os << "fusion report for " << input << "\n";
  if (!fuse) {
    os << "  fusion is off (--no-fuse)\n";
    return;
  }
  for (Category &c : categories) {
    os << "  " << c.title << ": " << c.fused.size() << " fused, "
       << c.missed.size() << " not fused";
    if (c.exported)
      os << " (" << c.exported << " more exported as one op)";
    os << "\n";
    if (StringRef(c.key) == "attention")
      for (const std::string &f : c.fused)
        os << "    fused: " << f << "\n";
    for (const std::string &m : c.missed)
      os << "    not fused: " << m << "\n";
  }
}
} // namespace

namespace {
/// numpy's name of an element type.
std::string elementTypeName(Type type) {
  if (type.isInteger(1))
    return "bool";
  if (type.isBF16())
    return "bfloat16";
  if (auto f = dyn_cast<FloatType>(type))
    return "float" + std::to_string(f.getWidth());
  if (auto i = dyn_cast<IntegerType>(type))
    return (i.isUnsigned() ? "uint" : "int") + std::to_string(i.getWidth());
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return os.str();
}

TensorInterface describeTensor(Type type, DictionaryAttr attrs,
                               const std::string &fallbackName) {
  TensorInterface t;
  auto name = attrs ? attrs.getAs<StringAttr>("attn.name") : StringAttr();
  t.name = name ? name.str() : fallbackName;
  auto tensor = cast<RankedTensorType>(type);
  t.elementType = elementTypeName(tensor.getElementType());
  for (int64_t extent : tensor.getShape())
    t.shape.push_back(ShapedType::isDynamic(extent) ? -1 : extent);
  t.dims.assign(t.shape.size(), "");
  if (auto dims = attrs ? attrs.getAs<ArrayAttr>("attn.dims") : ArrayAttr())
    for (auto [k, dim] : llvm::enumerate(dims.getAsValueRange<StringAttr>()))
      if (k < t.dims.size() && t.shape[k] < 0 && dim != "?")
        t.dims[k] = dim.str();
  return t;
}

/// The signature of the module's entry point, as the emitter will write it
/// (its only function).
ModelInterface describeModule(ModuleOp module,
                              const std::string &functionName) {
  ModelInterface interface;
  interface.functionName = functionName;
  module.walk([&](func::FuncOp func) {
    if (func->hasAttr("attn.kernel"))
      return WalkResult::advance();
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      interface.inputs.push_back(describeTensor(func.getArgumentTypes()[i],
                                                func.getArgAttrDict(i),
                                                "input" + std::to_string(i)));
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      interface.outputs.push_back(describeTensor(func.getResultTypes()[i],
                                                 func.getResultAttrDict(i),
                                                 "output" + std::to_string(i)));
    return WalkResult::interrupt();
  });
  return interface;
}

/// `text` made safe inside a C block comment: `*/` cannot end it (nor `/*`
/// nest), and control characters (a newline, a carriage return) are written
/// as \xNN, so that a name chosen by a model's author cannot become C code
/// in the header.
std::string commentSafe(StringRef text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c == '*' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "*\\/";
      ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      out += "/\\*";
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += llvm::formatv("\\x{0:x-2}", static_cast<unsigned>(c)).str();
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// `[batch, sequence, 64]`.
std::string formatShape(const TensorInterface &t) {
  std::string text = "[";
  for (size_t k = 0; k < t.shape.size(); ++k) {
    if (k)
      text += ", ";
    text += t.shape[k] >= 0     ? std::to_string(t.shape[k])
            : t.dims[k].empty() ? "?"
                                : commentSafe(t.dims[k]);
  }
  return text + "]";
}

/// The comment at the top of a generated header: what the entry point takes
/// and returns, and how it fails.
std::string headerDocumentation(const ModelInterface &interface,
                                const std::string &input,
                                const std::string &target) {
  const std::string &f = interface.functionName;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "/*\n"
     << " * " << f << ": compiled by attnc from " << commentSafe(input)
     << " for\n"
     << " * " << target << ".\n"
     << " *\n"
     << " *   int " << f << "(struct halide_buffer_t *inputs...,\n"
     << " *       struct halide_buffer_t *outputs...);\n"
     << " *\n"
     << " * One buffer per tensor, in the order below. A tensor of shape\n"
     << " * [d0, ..., dn-1] (outermost first) is a halide_buffer_t whose "
        "dim[k] is\n"
     << " * axis n-1-k: extent d(n-1-k), min 0, dim[0].stride 1 and dense "
        "strides\n"
     << " * outward. A named axis is a run-time extent that must agree "
        "wherever\n"
     << " * the name appears; `?` is a run-time extent of its own (see\n"
     << " * docs/abi.md).\n"
     << " *\n";
  auto list = [&](const char *what, const std::vector<TensorInterface> &ts) {
    os << " * " << what << ":\n";
    for (const TensorInterface &t : ts)
      os << " *   " << commentSafe(t.name) << ": " << t.elementType << " "
         << formatShape(t) << "\n";
  };
  list("Inputs", interface.inputs);
  list("Outputs", interface.outputs);
  os << " *\n"
     << " * " << f
     << "_output_shapes(inputs..., shapes) writes the extents "
        "of the\n"
     << " * outputs for given inputs into a 1-D int64 buffer (outputs in "
        "order,\n"
     << " * each outermost axis first).\n"
     << " *\n"
     << " * Both return 0 on success, else a negative halide_error_code_t\n"
     << " * (HalideRuntime.h), after reporting through halide_error (the "
        "default\n"
     << " * handler aborts; install one with halide_set_error_handler). Every\n"
     << " * buffer is checked before anything is read or written: a wrong "
        "element\n"
     << " * type (halide_error_code_bad_type, -3) or rank\n"
     << " * (halide_error_code_bad_dimensions, -43), a wrong extent or stride "
        "or\n"
     << " * disagreeing named extents (halide_error_code_constraint_violated, "
        "-8,\n"
     << " * or halide_error_code_requirement_failed, -27), a buffer smaller "
        "than\n"
     << " * the region used (halide_error_code_access_out_of_bounds, -4), a "
        "null\n"
     << " * buffer (halide_error_code_buffer_argument_is_null, -12); an "
        "allocation\n"
     << " * that fails returns halide_error_code_out_of_memory (-11).\n"
     << " */\n";
  return os.str();
}
} // namespace

LogicalResult
mlir::attn::compile(MLIRContext &context, const CompileOptions &options,
                    llvm::function_ref<LogicalResult(PassManager &)> configure,
                    ModelInterface *interface) {
  loadAttncDialects(context);
  Location loc = FileLineColLoc::get(&context, options.inputPath, 0, 0);

  // One target, or several (best first) for one library that picks its
  // variant at run time.
  SmallVector<std::string> targets;
  SmallVector<StringRef> targetNames;
  StringRef(options.target).split(targetNames, ',');
  for (StringRef name : targetNames) {
    FailureOr<std::string> resolved = resolveHalideTarget(name.trim());
    if (failed(resolved))
      return emitError(UnknownLoc::get(&context))
             << "unknown target '" << name.trim()
             << "' (expected host or a Halide target string such as "
                "x86-64-linux-avx512, x86-64-linux-avx2, arm-64-linux, "
                "x86-64-linux-cuda-cuda_capability_80; several, comma "
                "separated, make one library for all of them)";
    if (options.profile && !StringRef(*resolved).contains("-profile"))
      *resolved += "-profile";
    targets.push_back(*resolved);
  }
  const std::string &target = targets.front();

  if (options.bf16 && !StringRef(target).contains("avx512_sapphirerapids"))
    emitWarning(loc) << "target " << target
                     << " has no AVX512-BF16 dot products: --precision=bf16 "
                        "computes the same bfloat16 arithmetic with generic "
                        "code, slower than float32";

  std::string functionName = options.functionName.empty()
                                 ? stemIdentifier(options.inputPath)
                                 : options.functionName;
  if (isReservedEntryName(functionName))
    return emitError(loc) << "the entry point cannot be named '" << functionName
                          << "'"
                          << (options.functionName.empty()
                                  ? " (the input's file name)"
                                  : "")
                          << ": it is a C or C++ keyword or a symbol of the "
                             "C library or the Halide runtime; choose "
                             "another name with --function-name";
  Progress progress(options.progress);
  progress.stage("importing " + options.inputPath);
  OwningOpRef<ModuleOp> module = loadInput(context, options, functionName);
  if (!module)
    return failure();
  // Computations on the weights alone run once, here: with fusion on and
  // the weights in the model (as parameters they are not known yet).
  if (options.fuse && options.foldWeights && !options.weightsAsParams) {
    FailureOr<std::string> host = resolveHalideTarget("host");
    int64_t folded = 0;
    if (succeeded(host)) {
      progress.stage("folding the computations on weights");
      if (failed(foldWeightComputations(*module, *host, &folded)))
        return failure();
    }
  }
  progress.stage("running the pass pipeline on " +
                 std::to_string(countOps(*module)) + " ops");

  // The pipeline's schedules depend on the target: every further target
  // gets its own copy of the imported model.
  SmallVector<OwningOpRef<ModuleOp>> variants;
  for (size_t i = 1; i < targets.size(); ++i)
    variants.push_back(module->clone());
  PipelineOptions pipelineOptions;
  pipelineOptions.fuse = options.fuse;
  pipelineOptions.bf16 = options.bf16;
  pipelineOptions.weightsParam = options.weightsAsParams;
  pipelineOptions.attentionProbs = options.attentionProbs;
  for (size_t i = 1; i < targets.size(); ++i) {
    PassManager variantPm(&context);
    if (configure && failed(configure(variantPm)))
      return failure();
    pipelineOptions.target = targets[i];
    buildDefaultPipeline(variantPm, pipelineOptions);
    if (failed(variantPm.run(*variants[i - 1])))
      return failure();
  }
  PassManager pm(&context);
  if (configure && failed(configure(pm)))
    return failure();
  pipelineOptions.target = target;
  pipelineOptions.fusionReport = options.fusionReport;
  // With one target the module's weights are its own (no variant cloned
  // from it holds them): the packing frees those it re-lays out, a model's
  // size less at the peak.
  pipelineOptions.releasePackedSources = targets.size() == 1;
  buildDefaultPipeline(pm, pipelineOptions);
  {
    // The fusion pass reports each candidate as a remark "fusion: ...".
    std::vector<std::string> fusionRemarks;
    ScopedDiagnosticHandler collect(&context, [&](Diagnostic &d) {
      std::string text = d.str();
      if (!options.fusionReport ||
          d.getSeverity() != DiagnosticSeverity::Remark ||
          !StringRef(text).starts_with("fusion: "))
        return failure();
      fusionRemarks.push_back(text.substr(8));
      return success();
    });
    if (failed(pm.run(*module)))
      return failure();
    // A program of kernels for one CPU target, compiled ahead of time; the
    // autoscheduler, GPU targets and several targets take the model as one
    // pipeline.
    bool asKernels = options.kernels && targets.size() == 1 &&
                     options.autoscheduler.empty() &&
                     !StringRef(target).contains("cuda") &&
                     options.emit != EmitKind::Dot &&
                     options.emit != EmitKind::Ptx && !options.reportOnly;
    if (asKernels) {
      PassManager outlinePm(&context);
      if (configure && failed(configure(outlinePm)))
        return failure();
      outlinePm.addPass(createAttnOutlineKernels());
      if (failed(outlinePm.run(*module)))
        return failure();
    }
    if (options.fusionReport)
      printFusionReport(llvm::outs(), options.inputPath, options.fuse,
                        fusionRemarks);
  }
  if (options.reportOnly)
    return success();
  ModelInterface described = describeModule(*module, functionName);
  if (interface)
    *interface = described;

  std::string output = options.outputPath;
  if (output.empty())
    output = (llvm::sys::path::stem(options.inputPath) +
              defaultExtension(options.emit))
                 .str();

  if (options.emit == EmitKind::Dot) {
    std::string text;
    llvm::raw_string_ostream os(text);
    writeDot(*module, os);
    if (failed(writeTextAtomically(loc, output, os.str())))
      return failure();
    // Rendered to SVG next to it where Graphviz is installed.
    if (output == "-")
      return success();
    llvm::ErrorOr<std::string> dot = llvm::sys::findProgramByName("dot");
    if (!dot)
      return success();
    std::string svg = (llvm::sys::path::parent_path(output).empty()
                           ? llvm::sys::path::stem(output).str()
                           : (llvm::sys::path::parent_path(output) + "/" +
                              llvm::sys::path::stem(output))
                                 .str()) +
                      ".svg";
    std::string tmp = svg + ".attnc-tmp";
    llvm::StringRef args[] = {*dot, "-Tsvg", output, "-o", tmp};
    std::string error;
    if (llvm::sys::ExecuteAndWait(*dot, args, std::nullopt, {}, 0, 0, &error) !=
            0 ||
        llvm::sys::fs::rename(tmp, svg)) {
      llvm::sys::fs::remove(tmp);
      emitWarning(loc) << "Graphviz could not render '" << output << "' as SVG"
                       << (error.empty() ? "" : ": ") << error;
    }
    return success();
  }

  if (options.emit == EmitKind::Mlir) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return writeTextAtomically(loc, output, os.str());
  }

  HalideEmitOptions emitOptions;
  emitOptions.target = target;
  emitOptions.functionName = functionName;
  emitOptions.progress = [&](int64_t done, int64_t total) {
    progress.count("defining Halide functions", done, total);
  };
  emitOptions.stage = [&](const std::string &what) { progress.stage(what); };
  emitOptions.weightsAsParams = options.weightsAsParams;
  emitOptions.autoscheduler = options.autoscheduler;
  emitOptions.jobs = options.jobs;
  emitOptions.programPlanned = [&](const ProgramSummary &summary) {
    progress.stage(std::to_string(summary.calls) + " kernel calls, " +
                   std::to_string(summary.kernels.size()) +
                   " distinct kernels");
    if (!options.kernelReport)
      return;
    llvm::raw_ostream &os = llvm::outs();
    os << "kernel report for " << options.inputPath << "\n"
       << "  kernel calls: " << summary.calls
       << ", distinct kernels: " << summary.kernels.size() << "\n"
       << "  intermediate memory per call: " << summary.arenaBytes
       << " bytes\n";
    for (const auto &[symbol, calls] : summary.kernels)
      os << "    " << symbol << ": " << calls
         << (calls == 1 ? " call" : " calls") << "\n";
    os.flush();
  };
  emitOptions.headerPreamble = headerDocumentation(
      described, llvm::sys::path::filename(options.inputPath).str(), target);
  if (options.weightsAsParams && output != "-") {
    llvm::SmallString<128> dir(output);
    llvm::sys::path::replace_extension(dir, "weights");
    emitOptions.weightsDir = dir.str().str();
  }
  progress.stage("generating code for " + target + " (Halide, LLVM)");
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
  if (targets.size() > 1) {
    SmallVector<ModuleOp> modules = {*module};
    for (auto &variant : variants)
      modules.push_back(*variant);
    return emitHalideMultiTarget(modules, targets, emitOptions, files);
  }
  return emitHalideArtifacts(*module, emitOptions, files);
}
