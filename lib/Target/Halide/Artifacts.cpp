//===- Artifacts.cpp - Compile Halide pipelines to files or run them ---*- C++
//-*-===//
//
// Lowers the PipelineBuilder's pipelines to a Halide Module (the model plus
// its `_output_shapes` companion) and writes the requested artifacts. Every
// file is written under a temporary name beside its destination and renamed
// into place only when all artifacts succeeded, so a failed compile never
// leaves a half-written file behind. Halide's exceptions stop here and become
// MLIR diagnostics.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;

namespace {

/// The function to compile: the module's only func.func.
FailureOr<func::FuncOp> soleFunction(ModuleOp module) {
  func::FuncOp found;
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal() || fn->hasAttr("attn.kernel"))
      continue;
    if (found) {
      module.emitError("expects one function to compile, found '")
          << found.getSymName() << "' and '" << fn.getSymName() << "'";
      return failure();
    }
    found = fn;
  }
  if (!found) {
    module.emitError("expects a function to compile, found none");
    return failure();
  }
  return found;
}

/// Loads the plugin of Halide autoscheduler `name`, sets estimates on every
/// input and output from their static shapes, and schedules the pipeline.
LogicalResult runAutoscheduler(func::FuncOp fn, PipelineBuilder &pb,
                               const Halide::Target &target,
                               const std::string &name) {
  static const llvm::StringMap<const char *> plugins = {
      {"Adams2019", "libautoschedule_adams2019.so"},
      {"Li2018", "libautoschedule_li2018.so"},
      {"Mullapudi2016", "libautoschedule_mullapudi2016.so"}};
  auto plugin = plugins.find(name);
  if (plugin == plugins.end())
    return fn.emitError("unknown autoscheduler '")
           << name << "' (supported: Adams2019, Li2018, Mullapudi2016)";
  llvm::SmallString<256> path(ATTNC_HALIDE_PLUGIN_DIR);
  llvm::sys::path::append(path, plugin->second);
  if (!llvm::sys::fs::exists(path))
    return fn.emitError("the Halide autoscheduler plugin for '")
           << name << "' is not installed (looked for " << path << ")";
  // Adams2019's default beam search (32 states) exhausts memory on
  // attention pipelines; attnc runs it greedily unless told otherwise.
  if (name == "Adams2019")
    setenv("HL_BEAM_SIZE", "1", /*overwrite=*/0);
  static llvm::StringSet<> loaded;
  if (!loaded.contains(path)) {
    Halide::load_plugin(path.str().str());
    loaded.insert(path);
  }
  auto region = [](llvm::ArrayRef<int64_t> shape) {
    Halide::Region r;
    for (int64_t extent : llvm::reverse(shape))
      r.emplace_back(0, static_cast<int>(extent));
    return r;
  };
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
    auto ranked = cast<RankedTensorType>(type);
    if (!ranked.hasStaticShape())
      return fn.emitError("the autoscheduler needs static input shapes: "
                          "input ")
             << i << " ('" << pb.params[i].name() << "') has type " << ranked
             << "; pin it with --input-shape";
    pb.params[i].set_estimates(region(ranked.getShape()));
  }
  for (PipelineBuilder::Weight &w : pb.weights)
    w.param.set_estimates(region(w.shape));
  for (auto [out, shape] : llvm::zip(pb.outputs, pb.outputShapes)) {
    std::vector<int64_t> extents;
    for (const Halide::Expr &e : shape) {
      Halide::Expr simplified =
          Halide::Internal::simplify(Halide::cast<int64_t>(e));
      const int64_t *c = Halide::Internal::as_const_int(simplified);
      if (!c)
        return fn.emitError("the autoscheduler needs static output shapes: "
                            "output '")
               << out.name() << "' has an extent known only at run time";
      extents.push_back(*c);
    }
    out.set_estimates(region(extents));
  }
  Halide::MachineParams machine(
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
      32 * 1024 * 1024, 40);
  pb.pipeline().auto_schedule(name, target, machine);
  return success();
}

/// A lowered model: the Halide module and what the JIT needs.
struct Lowered {
  std::unique_ptr<PipelineBuilder> builder;
  Halide::Target target;
  std::string name;
};

FailureOr<Lowered> buildPipelines(ModuleOp module,
                                  const HalideEmitOptions &options) {
  FailureOr<func::FuncOp> fn = soleFunction(module);
  if (failed(fn))
    return failure();
  FailureOr<std::string> targetString = resolveHalideTarget(options.target);
  if (failed(targetString)) {
    module.emitError("unknown Halide target '") << options.target << "'";
    return failure();
  }
  Lowered lowered;
  lowered.target = Halide::Target(*targetString);
  lowered.name = options.functionName.empty() ? fn->getSymName().str()
                                              : options.functionName;
  lowered.name = cIdentifier(lowered.name);
  bool autoschedule = !options.autoscheduler.empty();
  if (autoschedule)
    // The autoscheduler sees the plain algorithm: no op is register-blocked
    // or tiled by attnc.
    fn->walk([](Operation *op) { op->removeAttr("schedule"); });
  lowered.builder = std::make_unique<PipelineBuilder>(*fn);
  lowered.builder->progress = options.progress;
  lowered.builder->weightsAsParams = options.weightsAsParams;
  lowered.builder->applySchedules = !autoschedule;
  lowered.builder->kernelPrefix = lowered.name;
  if (failed(lowered.builder->build(lowered.target)))
    return failure();
  if (!lowered.builder->kernels.empty() && autoschedule)
    return fn->emitError("the autoscheduler schedules one pipeline: compile "
                         "the model without attn-outline-kernels");
  if (autoschedule &&
      failed(runAutoscheduler(*fn, *lowered.builder, lowered.target,
                              options.autoscheduler)))
    return failure();
  if (options.stage && lowered.builder->kernels.empty())
    options.stage("lowering the Halide pipeline and generating code");
  return lowered;
}

Halide::Module toModule(Lowered &lowered) {
  PipelineBuilder &pb = *lowered.builder;
  Halide::Module module = pb.pipeline().compile_to_module(
      pb.arguments(), lowered.name, lowered.target);
  Halide::Module shapes = pb.shapesPipeline().compile_to_module(
      pb.arguments(), lowered.name + "_output_shapes", lowered.target);
  for (const auto &f : shapes.functions())
    module.append(f);
  return module;
}

/// Runs `body`, turning Halide's and the standard library's exceptions into
/// an error at `loc`.
template <typename Fn> LogicalResult guarded(Location loc, Fn body) {
  try {
    return body();
  } catch (const Halide::Error &e) {
    emitError(loc) << "Halide: " << e.what();
  } catch (const std::exception &e) {
    emitError(loc) << "code generation failed: " << e.what();
  }
  return failure();
}

/// A scratch directory removed on destruction.
struct ScratchDir {
  llvm::SmallString<128> path;
  ScratchDir() {
    if (llvm::sys::fs::createUniqueDirectory("attnc", path))
      path.clear();
  }
  ~ScratchDir() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

/// Extracts the PTX text Halide embeds in a CUDA object.
FailureOr<std::string> extractPtx(llvm::StringRef objectBytes) {
  size_t start = objectBytes.find("// Generated by LLVM NVPTX Back-End");
  if (start == llvm::StringRef::npos)
    return failure();
  size_t end = objectBytes.find('\0', start);
  return objectBytes.slice(start, end).str();
}

/// Finds the C++ compiler that links shared libraries for `target`.
std::string linkerFor(const Halide::Target &target) {
  bool hostIsArm = Halide::get_host_target().arch == Halide::Target::ARM;
  if (target.arch == Halide::Target::ARM && !hostIsArm) {
    if (auto p = llvm::sys::findProgramByName("aarch64-linux-gnu-g++"))
      return *p;
    return "";
  }
  for (const char *name : {"c++", "g++", "clang++"})
    if (auto p = llvm::sys::findProgramByName(name))
      return *p;
  return "";
}

/// Links `objects` into the shared library `path` with the C++ compiler.
LogicalResult linkSharedLibrary(Location loc, const Halide::Target &target,
                                llvm::ArrayRef<std::string> objects,
                                const std::string &path,
                                const ScratchDir &scratch) {
  std::string linker = linkerFor(target);
  if (linker.empty())
    return emitError(loc) << "no C++ compiler found to link a shared "
                             "library for "
                          << target.to_string()
                          << (target.arch == Halide::Target::ARM
                                  ? " (install g++-aarch64-linux-gnu)"
                                  : "");
  std::string errorLog = scratch.file("link.log");
  llvm::SmallVector<llvm::StringRef> argv = {linker, "-shared", "-o", path};
  argv.append(objects.begin(), objects.end());
  argv.append({"-lpthread", "-ldl", "-lm"});
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, errorLog,
                                                errorLog};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0,
                                     0, &message);
  if (rc != 0) {
    auto log = llvm::MemoryBuffer::getFile(errorLog);
    return emitError(loc) << "linking the shared library with " << linker
                          << " failed"
                          << (message.empty() ? "" : ": " + message)
                          << (log ? ("\n" + (*log)->getBuffer()).str() : "");
  }
  return success();
}

/// Writes one artifact into `path` (a temporary name) from the module.
LogicalResult writeArtifact(Location loc, Lowered &lowered,
                            Halide::Module &module, ArtifactKind kind,
                            const std::string &path,
                            const ScratchDir &scratch) {
  using Halide::OutputFileType;
  switch (kind) {
  case ArtifactKind::Object:
    module.compile({{OutputFileType::object, path}});
    return success();
  case ArtifactKind::Header:
    module.compile({{OutputFileType::c_header, path}});
    return success();
  case ArtifactKind::Assembly:
    module.compile({{OutputFileType::assembly, path}});
    return success();
  case ArtifactKind::Stmt:
    module.compile({{OutputFileType::stmt, path}});
    return success();
  case ArtifactKind::StmtHtml:
    module.compile({{OutputFileType::stmt_html, path}});
    return success();
  case ArtifactKind::StaticLibrary: {
    // The object carries the Halide runtime (weak symbols), so the archive
    // needs nothing else.
    std::string object = scratch.file(lowered.name + ".o");
    module.compile({{OutputFileType::object, object}});
    Halide::create_static_library({object}, lowered.target, path);
    return success();
  }
  case ArtifactKind::SharedLibrary: {
    std::string object = scratch.file(lowered.name + ".o");
    module.compile({{OutputFileType::object, object}});
    return linkSharedLibrary(loc, lowered.target, {object}, path, scratch);
  }
  case ArtifactKind::Ptx: {
    if (!lowered.target.has_feature(Halide::Target::CUDA))
      return emitError(loc) << "--emit=ptx needs a CUDA target, got "
                            << lowered.target.to_string();
    std::string object = scratch.file(lowered.name + ".o");
    module.compile({{OutputFileType::object, object}});
    auto bytes = llvm::MemoryBuffer::getFile(object);
    FailureOr<std::string> ptx =
        bytes ? extractPtx((*bytes)->getBuffer()) : FailureOr<std::string>();
    if (failed(ptx))
      return emitError(loc) << "the CUDA object holds no PTX: no op is "
                               "scheduled on the GPU";
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      return emitError(loc)
             << "cannot write '" << path << "': " << ec.message();
    os << *ptx;
    return success();
  }
  }
  return failure();
}

/// The npy descriptor of a Halide type, as attnc-run reads it (bfloat16
/// travels as its raw bits, little-endian uint16).
std::string npyDescr(Halide::Type t) {
  int bytes = t.bytes();
  char kind = t.is_float() && !t.is_bfloat() ? 'f' : t.is_int() ? 'i' : 'u';
  return std::string(1, bytes == 1 ? '|' : '<') + kind + std::to_string(bytes);
}

/// Writes one weight as a version-1.0 .npy file.
LogicalResult writeNpy(Location loc, const std::string &path,
                       const PipelineBuilder::Weight &w) {
  std::string shape = "(";
  for (int64_t d : w.shape)
    shape += std::to_string(d) + (w.shape.size() == 1 ? "," : ", ");
  if (w.shape.size() > 1)
    shape.resize(shape.size() - 2);
  shape += ")";
  std::string header = "{'descr': '" + npyDescr(w.param.type()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic, version, header length; the header is padded with spaces to a
  // multiple of 64 bytes and ends in a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return emitError(loc) << "cannot write '" << path << "': " << ec.message();
  uint16_t length = static_cast<uint16_t>(header.size());
  os << "\x93NUMPY" << char(1) << char(0) << char(length & 0xff)
     << char(length >> 8) << header;
  os.write(w.data.data(), w.data.size());
  os.close();
  if (os.has_error())
    return emitError(loc) << "cannot write '" << path << "'";
  return success();
}

/// Finishes the header Halide wrote at `path` for the final file `finalPath`:
/// its include guard (Halide derives it from the temporary name) becomes
/// ATTNC_<FILE>_H, and `preamble` follows it.
LogicalResult finishHeader(Location loc, const std::string &path,
                           llvm::StringRef finalPath,
                           const std::string &preamble) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return emitError(loc) << "cannot read back '" << path << "'";
  // A copy: the buffer may map the file that is rewritten below.
  std::string text = (*buffer)->getBuffer().str();
  buffer->reset();
  std::string guard =
      "ATTNC_" +
      llvm::StringRef(cIdentifier(llvm::sys::path::filename(finalPath)))
          .upper();
  size_t at = 0;
  if (text.compare(0, 8, "#ifndef ") == 0) {
    size_t end = text.find('\n');
    std::string old = text.substr(8, end - 8);
    for (size_t pos = 0; (pos = text.find(old, pos)) != std::string::npos;
         pos += guard.size())
      text.replace(pos, old.size(), guard);
  }
  if (size_t define = text.find("#define "); define != std::string::npos)
    at = text.find('\n', define) + 1;
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return emitError(loc) << "cannot write '" << path << "': " << ec.message();
  os << text.substr(0, at);
  if (!preamble.empty())
    os << "\n" << preamble;
  os << text.substr(at);
  os.close();
  if (os.has_error())
    return emitError(loc) << "cannot write '" << path << "'";
  return success();
}

/// The name under which `path` is written before it is renamed into place.
std::string temporaryPath(const std::string &path) {
  return path + ".attnc-tmp-" + std::to_string(static_cast<long>(getpid()));
}

/// Renames every temporary file into place; on failure removes them all.
LogicalResult
commitFiles(Location loc,
            llvm::ArrayRef<std::pair<std::string, std::string>> renames) {
  for (auto &[tmp, dst] : renames) {
    if (std::error_code ec = llvm::sys::fs::rename(tmp, dst)) {
      for (auto &[t, d] : renames)
        llvm::sys::fs::remove(t);
      return emitError(loc) << "cannot write '" << dst << "': " << ec.message();
    }
  }
  return success();
}

} // namespace

FailureOr<std::string> mlir::attn::resolveHalideTarget(llvm::StringRef target) {
  try {
    if (target == "host")
      return Halide::get_host_target().to_string();
    if (!Halide::Target::validate_target_string(target.str()))
      return failure();
    Halide::Target t(target.str());
    // Halide 14 links the runtime's AVX-512 wrappers (the bfloat16
    // conversions and dot products among them) only for targets that name
    // `avx512` itself: a Sapphire Rapids target gets every feature it
    // implies, as the host target does.
    if (t.has_feature(Halide::Target::AVX512_SapphireRapids))
      for (Halide::Target::Feature f :
           {Halide::Target::SSE41, Halide::Target::AVX, Halide::Target::AVX2,
            Halide::Target::FMA, Halide::Target::F16C, Halide::Target::AVX512,
            Halide::Target::AVX512_Skylake, Halide::Target::AVX512_Cannonlake})
        t.set_feature(f);
    return t.to_string();
  } catch (const std::exception &) {
    return failure();
  }
}

namespace {

/// Runs each of `jobs` in a worker process of its own, at most `workers` at
/// a time, and returns the first failure's message (empty: all succeeded).
/// Every worker starts from this process's state as it is now, so what a
/// job produces does not depend on the number of workers or on the order
/// in which they finish (Halide names what it generates from process-wide
/// counters); Halide's state in this process is left untouched.
std::string runInWorkers(
    const std::vector<std::pair<std::string, std::function<std::string()>>>
        &jobs,
    int workers, const ScratchDir &scratch) {
  if (workers <= 0)
    workers =
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  llvm::outs().flush();
  llvm::errs().flush();
  std::fflush(nullptr);
  std::map<pid_t, size_t> running;
  std::vector<std::string> failures(jobs.size());
  size_t next = 0;
  auto errorFile = [&](size_t i) {
    return scratch.file("job" + std::to_string(i) + ".err");
  };
  // Waits for one of this call's workers (never for other children of
  // the process: a Python host may have its own).
  auto reap = [&]() {
    int status = 0;
    std::map<pid_t, size_t>::iterator it;
    for (;;) {
      for (it = running.begin(); it != running.end(); ++it) {
        pid_t pid = ::waitpid(it->first, &status, WNOHANG);
        if (pid == it->first)
          break;
        if (pid < 0) {
          // Reaped elsewhere (SIGCHLD ignored): its error file, or the
          // files it should have written, tell.
          status = 0;
          break;
        }
      }
      if (it != running.end())
        break;
      ::usleep(2000);
    }
    size_t i = it->second;
    running.erase(it);
    auto log = llvm::MemoryBuffer::getFile(errorFile(i));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
        !(log && !(*log)->getBuffer().empty()))
      return true;
    if (log && !(*log)->getBuffer().empty())
      failures[i] =
          "compiling " + jobs[i].first + ": " + (*log)->getBuffer().str();
    else if (WIFSIGNALED(status))
      failures[i] = "compiling " + jobs[i].first + " was killed by signal " +
                    std::to_string(WTERMSIG(status));
    else
      failures[i] = "compiling " + jobs[i].first + " failed";
    return true;
  };
  while (next < jobs.size() || !running.empty()) {
    if (next < jobs.size() && static_cast<int>(running.size()) < workers) {
      size_t i = next++;
      pid_t pid = ::fork();
      if (pid == 0) {
        std::string error;
        auto t0 = std::chrono::steady_clock::now();
        try {
          error = jobs[i].second();
          if (getenv("ATTNC_TIME_JOBS"))
            fprintf(stderr, "job %s: %.2f s\n", jobs[i].first.c_str(),
                    std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - t0)
                        .count());
        } catch (const Halide::Error &e) {
          error = std::string("Halide: ") + e.what();
        } catch (const std::exception &e) {
          error = std::string("code generation failed: ") + e.what();
        }
        if (!error.empty()) {
          if (FILE *f = std::fopen(errorFile(i).c_str(), "w")) {
            std::fputs(error.c_str(), f);
            std::fclose(f);
          }
        }
        std::fflush(nullptr);
        ::_exit(error.empty() ? 0 : 1);
      }
      if (pid < 0) {
        failures[i] = "cannot start a worker process for " + jobs[i].first;
        break;
      }
      running[pid] = i;
      continue;
    }
    if (!reap())
      break;
  }
  while (!running.empty() && reap()) {
  }
  for (const std::string &f : failures)
    if (!f.empty())
      return f;
  return "";
}

/// The Halide outputs each compiled module of a program writes for
/// `kinds`: objects for libraries and objects, text for the text kinds.
std::map<Halide::OutputFileType, std::string>
programOutputs(llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files,
               const std::string &base, bool isHost) {
  using Halide::OutputFileType;
  std::map<OutputFileType, std::string> out;
  for (const auto &[kind, path] : files) {
    switch (kind) {
    case ArtifactKind::Object:
    case ArtifactKind::StaticLibrary:
    case ArtifactKind::SharedLibrary:
    case ArtifactKind::Ptx:
      out[OutputFileType::object] = base + ".o";
      break;
    case ArtifactKind::Header:
      if (isHost)
        out[OutputFileType::c_header] = base + ".h";
      break;
    case ArtifactKind::Assembly:
      out[OutputFileType::assembly] = base + ".s";
      break;
    case ArtifactKind::Stmt:
      out[OutputFileType::stmt] = base + ".stmt";
      break;
    case ArtifactKind::StmtHtml:
      out[OutputFileType::stmt_html] = base + ".html";
      break;
    }
  }
  return out;
}

/// Concatenates `parts` into `path`.
LogicalResult concatenate(Location loc, llvm::ArrayRef<std::string> parts,
                          const std::string &path) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return emitError(loc) << "cannot write '" << path << "': " << ec.message();
  for (const std::string &part : parts) {
    auto buffer = llvm::MemoryBuffer::getFile(part);
    if (!buffer)
      return emitError(loc) << "cannot read back '" << part << "'";
    os << (*buffer)->getBuffer();
  }
  return success();
}

/// The linker that combines objects for `target` into one (`ld -r`):
/// binutils' own, else the C++ compiler's driver.
std::string relocatableLinkerFor(const Halide::Target &target, bool &driver) {
  bool hostIsArm = Halide::get_host_target().arch == Halide::Target::ARM;
  const char *ld = target.arch == Halide::Target::ARM && !hostIsArm
                       ? "aarch64-linux-gnu-ld"
                       : "ld";
  driver = false;
  if (auto p = llvm::sys::findProgramByName(ld))
    return *p;
  driver = true;
  return linkerFor(target);
}

/// Links `objects` into one relocatable object `path`.
LogicalResult linkObject(Location loc, const Halide::Target &target,
                         llvm::ArrayRef<std::string> objects,
                         const std::string &path, const ScratchDir &scratch) {
  bool driver = false;
  std::string linker = relocatableLinkerFor(target, driver);
  if (linker.empty())
    return emitError(loc) << "no linker (ld) found to combine the kernels "
                             "into one object for "
                          << target.to_string();
  std::string errorLog = scratch.file("link-r.log");
  llvm::SmallVector<llvm::StringRef> argv = {linker, "-r"};
  if (driver)
    argv.push_back("-nostdlib");
  argv.append({"-o", path});
  argv.append(objects.begin(), objects.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, errorLog,
                                                errorLog};
  std::string message;
  if (llvm::sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0, 0,
                                &message) != 0) {
    auto log = llvm::MemoryBuffer::getFile(errorLog);
    return emitError(loc) << "combining the kernels with " << linker
                          << " failed"
                          << (message.empty() ? "" : ": " + message)
                          << (log ? ("\n" + (*log)->getBuffer()).str() : "");
  }
  return success();
}

/// Compiles a program (the model's entry point, its `_output_shapes` and
/// every distinct kernel, each in a worker) and writes `kind` into `path`.
LogicalResult
writeProgram(Location loc, Lowered &lowered, const HalideEmitOptions &options,
             llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files,
             llvm::ArrayRef<std::string> paths, const ScratchDir &scratch) {
  PipelineBuilder &pb = *lowered.builder;
  using Job = std::pair<std::string, std::function<std::string()>>;
  std::vector<Job> jobs;
  std::vector<std::string> bases;
  // The entry point carries the Halide runtime; the kernels share it.
  std::string hostBase = scratch.file(lowered.name);
  bases.push_back(hostBase);
  // Where objects are linked, the Halide runtime is compiled on its own,
  // beside the rest.
  bool linksObjects = llvm::any_of(files, [](const auto &f) {
    return f.first == ArtifactKind::Object ||
           f.first == ArtifactKind::StaticLibrary ||
           f.first == ArtifactKind::SharedLibrary;
  });
  bool separateRuntime =
      linksObjects && !lowered.target.has_feature(Halide::Target::NoRuntime);
  std::string runtimeObject = scratch.file(lowered.name + "_runtime.o");
  ProgramSummary summary;
  // Where objects are linked, the constants are an object of their own,
  // written by LLVM directly (Linux targets).
  std::vector<DataBlob> blobs;
  std::string dataObject = scratch.file(lowered.name + "_data.o");
  std::string triple;
  if (lowered.target.os == Halide::Target::Linux && lowered.target.bits == 64 &&
      (lowered.target.arch == Halide::Target::X86 ||
       lowered.target.arch == Halide::Target::ARM))
    triple = lowered.target.arch == Halide::Target::X86
                 ? "x86_64-unknown-linux-gnu"
                 : "aarch64-unknown-linux-gnu";
  Halide::Module entry = pb.programModule(
      lowered.name,
      separateRuntime ? lowered.target.with_feature(Halide::Target::NoRuntime)
                      : lowered.target,
      summary.arenaBytes, linksObjects && !triple.empty() ? &blobs : nullptr);
  if (!blobs.empty())
    jobs.emplace_back("the constants", [&]() -> std::string {
      return writeDataObject(triple, blobs, dataObject);
    });
  for (const auto &k : pb.kernels) {
    summary.calls += k->calls;
    summary.kernels.emplace_back(k->symbol, k->calls);
  }
  if (options.programPlanned)
    options.programPlanned(summary);
  jobs.emplace_back("the entry point", [&]() -> std::string {
    entry.compile(programOutputs(files, hostBase, /*isHost=*/true));
    return "";
  });
  if (separateRuntime)
    jobs.emplace_back("the Halide runtime", [&]() -> std::string {
      Halide::compile_standalone_runtime(runtimeObject, lowered.target);
      return "";
    });
  Halide::Target kernelTarget =
      lowered.target.with_feature(Halide::Target::NoRuntime);
  for (const auto &kernel : pb.kernels) {
    std::string base = scratch.file(kernel->symbol);
    bases.push_back(base);
    KernelBuild *k = kernel.get();
    jobs.emplace_back(
        "kernel " + k->symbol,
        [k, base, kernelTarget, &files]() -> std::string {
          Halide::Module m = k->builder->pipeline().compile_to_module(
              k->builder->kernelArguments(), k->symbol, kernelTarget);
          m.compile(programOutputs(files, base, /*isHost=*/false));
          return "";
        });
  }
  if (options.stage)
    options.stage("compiling " + std::to_string(pb.kernels.size()) +
                  " kernels and the entry point");
  std::string error = runInWorkers(jobs, options.jobs, scratch);
  if (!error.empty())
    return emitError(loc) << error;

  auto each = [&](llvm::StringRef ext) {
    std::vector<std::string> out;
    for (const std::string &b : bases)
      out.push_back(b + ext.str());
    if (ext == ".o" && separateRuntime)
      out.push_back(runtimeObject);
    if (ext == ".o" && !blobs.empty())
      out.push_back(dataObject);
    return out;
  };
  for (auto [file, path] : llvm::zip(files, paths)) {
    switch (file.first) {
    case ArtifactKind::Object:
      if (failed(linkObject(loc, lowered.target, each(".o"), path, scratch)))
        return failure();
      break;
    case ArtifactKind::StaticLibrary:
      Halide::create_static_library(each(".o"), lowered.target, path);
      break;
    case ArtifactKind::SharedLibrary:
      if (failed(linkSharedLibrary(loc, lowered.target, each(".o"), path,
                                   scratch)))
        return failure();
      break;
    case ArtifactKind::Header:
      if (failed(concatenate(loc, {hostBase + ".h"}, path)))
        return failure();
      break;
    case ArtifactKind::Assembly:
      if (failed(concatenate(loc, each(".s"), path)))
        return failure();
      break;
    case ArtifactKind::Stmt:
      if (failed(concatenate(loc, each(".stmt"), path)))
        return failure();
      break;
    case ArtifactKind::StmtHtml:
      if (failed(concatenate(loc, each(".html"), path)))
        return failure();
      break;
    case ArtifactKind::Ptx:
      return emitError(loc) << "--emit=ptx needs a CUDA target, whose "
                               "models compile as one pipeline";
    }
  }
  return success();
}

} // namespace

LogicalResult mlir::attn::emitHalideArtifacts(
    ModuleOp module, const HalideEmitOptions &options,
    llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files) {
  Location loc = module.getLoc();
  std::vector<std::pair<std::string, std::string>> renames;
  std::string weightsTmp;
  auto cleanup = [&]() {
    for (auto &[tmp, dst] : renames)
      llvm::sys::fs::remove(tmp);
    if (!weightsTmp.empty())
      llvm::sys::fs::remove_directories(weightsTmp);
  };
  LogicalResult status = guarded(loc, [&]() -> LogicalResult {
    FailureOr<Lowered> lowered = buildPipelines(module, options);
    if (failed(lowered))
      return failure();
    ScratchDir scratch;
    if (scratch.path.empty())
      return emitError(loc) << "cannot create a temporary directory";
    if (!lowered->builder->kernels.empty()) {
      std::vector<std::string> paths;
      for (const auto &[kind, path] : files) {
        paths.push_back(temporaryPath(path));
        renames.push_back({paths.back(), path});
      }
      if (failed(writeProgram(loc, *lowered, options, files, paths, scratch)))
        return failure();
      for (const auto &[kind, path] : files)
        if (kind == ArtifactKind::Header &&
            failed(finishHeader(loc, temporaryPath(path), path,
                                options.headerPreamble)))
          return failure();
    } else {
      Halide::Module halideModule = toModule(*lowered);
      for (const auto &[kind, path] : files) {
        std::string tmp = temporaryPath(path);
        renames.push_back({tmp, path});
        if (failed(
                writeArtifact(loc, *lowered, halideModule, kind, tmp, scratch)))
          return failure();
        if (kind == ArtifactKind::Header &&
            failed(finishHeader(loc, tmp, path, options.headerPreamble)))
          return failure();
      }
    }
    if (options.weightsAsParams && !options.weightsDir.empty()) {
      weightsTmp = temporaryPath(options.weightsDir);
      llvm::sys::fs::remove_directories(weightsTmp);
      if (std::error_code ec = llvm::sys::fs::create_directories(weightsTmp))
        return emitError(loc)
               << "cannot create '" << weightsTmp << "': " << ec.message();
      for (const PipelineBuilder::Weight &w : lowered->builder->weights)
        if (failed(
                writeNpy(loc, weightsTmp + "/" + w.param.name() + ".npy", w)))
          return failure();
    }
    return success();
  });
  if (failed(status)) {
    cleanup();
    return failure();
  }
  if (!weightsTmp.empty()) {
    // The directory is attnc's own output: a previous one is replaced.
    llvm::sys::fs::remove_directories(options.weightsDir);
    if (std::error_code ec =
            llvm::sys::fs::rename(weightsTmp, options.weightsDir)) {
      cleanup();
      return emitError(loc)
             << "cannot write '" << options.weightsDir << "': " << ec.message();
    }
    weightsTmp.clear();
  }
  return commitFiles(loc, renames);
}

namespace {

/// The name of the variant of `function` for `target`: its features past
/// arch-bits-os (`model_avx512_avx2...`), or `baseline`.
std::string variantName(const std::string &function,
                        const Halide::Target &target) {
  Halide::Target bare(target.os, target.arch, target.bits);
  std::string full =
                  target.without_feature(Halide::Target::NoRuntime).to_string(),
              prefix = bare.to_string();
  std::string features = full.size() > prefix.size()
                             ? full.substr(prefix.size() + 1)
                             : std::string("baseline");
  return cIdentifier(function + "_" + features);
}

/// The features of `target` as the bit words halide_can_use_target_features
/// takes.
std::vector<uint64_t> featureWords(const Halide::Target &target) {
  std::vector<uint64_t> words((Halide::Target::FeatureEnd + 63) / 64, 0);
  for (int f = 0; f < Halide::Target::FeatureEnd; ++f)
    if (target.has_feature(static_cast<Halide::Target::Feature>(f)))
      words[f / 64] |= uint64_t(1) << (f % 64);
  return words;
}

/// The dispatching entry point: on its first call it asks the runtime,
/// target by target, whether the CPU has the target's features, and calls
/// (and remembers) the first variant that can run; its result is the
/// variant's.
Halide::Module dispatchModule(
    const std::string &function, const Halide::Target &base,
    const std::vector<Halide::Internal::LoweredArgument> &args,
    const std::vector<std::pair<Halide::Target, std::string>> &variants) {
  using namespace Halide::Internal;
  std::vector<Halide::Expr> choices;
  for (size_t i = 0; i < variants.size(); ++i) {
    Halide::Expr usable = Halide::Expr(1);
    if (i + 1 < variants.size()) {
      std::vector<Halide::Expr> words;
      for (uint64_t w : featureWords(variants[i].first))
        words.push_back(UIntImm::make(Halide::UInt(64), w));
      usable =
          Call::make(Halide::Int(32), "halide_can_use_target_features",
                     {static_cast<int>(words.size()),
                      Call::make(Halide::type_of<uint64_t *>(),
                                 Call::make_struct, words, Call::Intrinsic)},
                     Call::Extern);
    }
    choices.push_back(usable != 0);
    choices.push_back(StringImm::make(variants[i].second));
  }
  Halide::Expr result =
      Call::make(Halide::Int(32), Call::call_cached_indirect_function, choices,
                 Call::Intrinsic);
  std::string resultName = function + "_variant_result";
  Halide::Expr resultVar = Variable::make(Halide::Int(32), resultName);
  Stmt body = AssertStmt::make(resultVar == 0, resultVar);
  body = LetStmt::make(resultName, result, body);
  // Asserts on: they carry the variant's error code back.
  Halide::Target target = base.with_feature(Halide::Target::NoRuntime)
                              .with_feature(Halide::Target::NoBoundsQuery)
                              .without_feature(Halide::Target::NoAsserts);
  Halide::Module module(function, target);
  module.append(LoweredFunc(function, args, body,
                            Halide::LinkageType::ExternalPlusMetadata));
  return module;
}

} // namespace

LogicalResult mlir::attn::emitHalideMultiTarget(
    llvm::ArrayRef<ModuleOp> modules, llvm::ArrayRef<std::string> targets,
    const HalideEmitOptions &options,
    llvm::ArrayRef<std::pair<ArtifactKind, std::string>> files) {
  using Halide::OutputFileType;
  Location loc = ModuleOp(modules.front()).getLoc();
  for (const auto &[kind, path] : files)
    if (kind != ArtifactKind::StaticLibrary &&
        kind != ArtifactKind::SharedLibrary && kind != ArtifactKind::Header)
      return emitError(loc) << "several targets make one library: use "
                               "--emit=static-lib or --emit=shared-lib";
  std::vector<std::pair<std::string, std::string>> renames;
  LogicalResult status = guarded(loc, [&]() -> LogicalResult {
    ScratchDir scratch;
    if (scratch.path.empty())
      return emitError(loc) << "cannot create a temporary directory";
    std::vector<Lowered> lowered;
    for (size_t i = 0; i < modules.size(); ++i) {
      HalideEmitOptions variantOptions = options;
      variantOptions.target = targets[i];
      FailureOr<Lowered> l =
          buildPipelines(ModuleOp(modules[i]), variantOptions);
      if (failed(l))
        return failure();
      lowered.push_back(std::move(*l));
    }
    const Halide::Target base = lowered.back().target;
    const std::string function = lowered.back().name;
    for (const Lowered &l : lowered)
      if (l.target.os != base.os || l.target.arch != base.arch ||
          l.target.bits != base.bits)
        return emitError(loc)
               << "the targets of one library must share architecture and "
                  "operating system: "
               << l.target.to_string() << " and " << base.to_string();

    // Each variant without a runtime; one runtime with the features every
    // target has; the shapes pipeline once; the dispatcher.
    std::vector<std::string> objects;
    std::vector<std::pair<Halide::Target, std::string>> variants;
    std::vector<Halide::Internal::LoweredArgument> args;
    std::vector<uint64_t> common(featureWords(base).size(), ~uint64_t(0));
    for (Lowered &l : lowered) {
      std::string name = variantName(function, l.target);
      Halide::Target t = l.target.with_feature(Halide::Target::NoRuntime);
      Halide::Module m = l.builder->pipeline().compile_to_module(
          l.builder->arguments(), name, t);
      args = m.get_function_by_name(name).args;
      objects.push_back(scratch.file(name + ".o"));
      m.compile({{OutputFileType::object, objects.back()}});
      variants.push_back({l.target, name});
      std::vector<uint64_t> words = featureWords(l.target);
      for (size_t w = 0; w < words.size(); ++w)
        common[w] &= words[w];
    }
    PipelineBuilder &pb = *lowered.back().builder;
    Halide::Module shapes = pb.shapesPipeline().compile_to_module(
        pb.arguments(), function + "_output_shapes",
        base.with_feature(Halide::Target::NoRuntime));
    objects.push_back(scratch.file("shapes.o"));
    shapes.compile({{OutputFileType::object, objects.back()}});
    Halide::Target runtimeTarget(base.os, base.arch, base.bits);
    for (int f = 0; f < Halide::Target::FeatureEnd; ++f)
      if (f != Halide::Target::NoRuntime && (common[f / 64] >> (f % 64)) & 1)
        runtimeTarget.set_feature(static_cast<Halide::Target::Feature>(f));
    objects.push_back(scratch.file("runtime.o"));
    Halide::compile_standalone_runtime(objects.back(), runtimeTarget);
    objects.push_back(scratch.file("dispatch.o"));
    dispatchModule(function, base, args, variants)
        .compile({{OutputFileType::object, objects.back()}});

    for (const auto &[kind, path] : files) {
      std::string tmp = temporaryPath(path);
      renames.push_back({tmp, path});
      if (kind == ArtifactKind::StaticLibrary) {
        Halide::create_static_library(objects, base, tmp);
      } else if (kind == ArtifactKind::SharedLibrary) {
        if (failed(linkSharedLibrary(loc, base, objects, tmp, scratch)))
          return failure();
      } else {
        // Declarations only: the entry point as the variants take it, and
        // the shapes pipeline.
        Halide::Module header(function, base);
        header.append(Halide::Internal::LoweredFunc(
            function, args, {}, Halide::LinkageType::ExternalPlusMetadata));
        for (const auto &f : shapes.functions())
          header.append(f);
        header.compile({{OutputFileType::c_header, tmp}});
        if (failed(finishHeader(loc, tmp, path, options.headerPreamble)))
          return failure();
      }
    }
    return success();
  });
  if (failed(status)) {
    for (auto &[tmp, dst] : renames)
      llvm::sys::fs::remove(tmp);
    return failure();
  }
  return commitFiles(loc, renames);
}

LogicalResult mlir::attn::emitHalideText(ModuleOp module,
                                         const HalideEmitOptions &options,
                                         ArtifactKind kind,
                                         llvm::raw_ostream &os) {
  ScratchDir scratch;
  if (scratch.path.empty())
    return module.emitError("cannot create a temporary directory");
  std::string path = scratch.file("out.txt");
  if (failed(emitHalideArtifacts(module, options, {{kind, path}})))
    return failure();
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return module.emitError("cannot read back '") << path << "'";
  os << (*buffer)->getBuffer();
  return success();
}

//===----------------------------------------------------------------------===//
// JIT
//===----------------------------------------------------------------------===//

size_t HostTensor::elementBytes(DType dtype) {
  switch (dtype) {
  case DType::F64:
  case DType::I64:
  case DType::U64:
    return 8;
  case DType::F32:
  case DType::I32:
  case DType::U32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
  case DType::U16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 1;
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {

Halide::Type halideTypeOf(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return Halide::Float(32);
  case DType::F64:
    return Halide::Float(64);
  case DType::F16:
    return Halide::Float(16);
  case DType::BF16:
    return Halide::BFloat(16);
  case DType::I64:
    return Halide::Int(64);
  case DType::I32:
    return Halide::Int(32);
  case DType::I16:
    return Halide::Int(16);
  case DType::I8:
    return Halide::Int(8);
  case DType::U64:
    return Halide::UInt(64);
  case DType::U32:
    return Halide::UInt(32);
  case DType::U16:
    return Halide::UInt(16);
  case DType::U8:
    return Halide::UInt(8);
  case DType::Bool:
    return Halide::Bool();
  }
  return Halide::Float(32);
}

FailureOr<DType> dtypeOf(Halide::Type type) {
  for (DType d : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64,
                  DType::I32, DType::I16, DType::I8, DType::U64, DType::U32,
                  DType::U16, DType::U8, DType::Bool})
    if (halideTypeOf(d) == type)
      return d;
  return failure();
}

std::vector<int> reversedSizes(const std::vector<int64_t> &shape) {
  return std::vector<int>(shape.rbegin(), shape.rend());
}

} // namespace

LogicalResult mlir::attn::runWithJit(ModuleOp module,
                                     llvm::ArrayRef<HostTensor> inputs,
                                     std::vector<HostTensor> &outputs) {
  Location loc = module.getLoc();
  return guarded(loc, [&]() -> LogicalResult {
    HalideEmitOptions options;
    options.target = "host";
    FailureOr<Lowered> lowered = buildPipelines(module, options);
    if (failed(lowered))
      return failure();
    PipelineBuilder &pb = *lowered->builder;
    Halide::Target jitTarget = Halide::get_jit_target_from_environment();
    if (inputs.size() != pb.params.size())
      return emitError(loc) << "expects " << pb.params.size() << " inputs, got "
                            << inputs.size();
    std::vector<HostTensor> inputCopies(inputs.begin(), inputs.end());
    for (size_t k = 0; k < inputs.size(); ++k) {
      HostTensor &in = inputCopies[k];
      if (halideTypeOf(in.dtype) != pb.params[k].type())
        return emitError(loc) << "input " << k << " ('" << pb.params[k].name()
                              << "') has the wrong element type";
      if (static_cast<int>(in.shape.size()) != pb.params[k].dimensions())
        return emitError(loc)
               << "input " << k << " ('" << pb.params[k].name()
               << "') expects rank " << pb.params[k].dimensions();
      Halide::Buffer<> buffer(halideTypeOf(in.dtype), in.data.data(),
                              reversedSizes(in.shape));
      pb.params[k].set(buffer);
    }
    // Scalar outputs only: there is no extent to compute.
    int64_t count = pb.numOutputExtents();
    Halide::Buffer<int64_t> extents;
    if (count > 0)
      extents =
          pb.shapesPipeline().realize({static_cast<int>(count)}, jitTarget);
    std::vector<Halide::Buffer<>> buffers;
    outputs.clear();
    int64_t pos = 0;
    for (size_t o = 0; o < pb.outputs.size(); ++o) {
      HostTensor out;
      FailureOr<DType> dtype = dtypeOf(pb.outputTypes[o]);
      if (failed(dtype))
        return emitError(loc) << "output " << o << " has no host type";
      out.dtype = *dtype;
      for (size_t d = 0; d < pb.outputShapes[o].size(); ++d)
        out.shape.push_back(extents(static_cast<int>(pos++)));
      out.data.resize(out.numElements() * HostTensor::elementBytes(out.dtype));
      outputs.push_back(std::move(out));
    }
    // An empty output still needs a host pointer: a null one would make the
    // realization a bounds query that computes nothing.
    alignas(8) static char emptyStorage[8];
    for (HostTensor &out : outputs)
      buffers.push_back(Halide::Buffer<>(
          halideTypeOf(out.dtype),
          out.data.empty() ? static_cast<void *>(emptyStorage)
                           : static_cast<void *>(out.data.data()),
          reversedSizes(out.shape)));
    pb.pipeline().realize(Halide::Realization(buffers), jitTarget);
    return success();
  });
}
