//===- ModelLibrary.cpp - Load and call a library compiled by attnc -------===//
//
// See ModelLibrary.h. Only the C++ standard library, dlopen and the layouts
// of HalideRuntime.h.
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/ModelLibrary.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>

namespace attnc::runtime {

void fail(const std::string &message) { throw RuntimeError(message); }

std::string quote(const std::string &s) { return "'" + s + "'"; }

std::string joinNames(const std::vector<std::string> &names) {
  if (names.empty())
    return "(none)";
  std::string result;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i)
      result += ", ";
    result += names[i];
  }
  return result;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string result = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      result += ", ";
    result += std::to_string(shape[i]);
  }
  return result + "]";
}

bool isBool(halide_type_t t) {
  return t.code == halide_type_uint && t.bits == 1;
}

/// Returns true for the element types attnc can produce (see docs/abi.md).
bool isSupportedType(halide_type_t t) {
  if (t.lanes != 1)
    return false;
  switch (t.code) {
  case halide_type_int:
    return t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64;
  case halide_type_uint:
    return t.bits == 1 || t.bits == 8 || t.bits == 16 || t.bits == 32 ||
           t.bits == 64;
  case halide_type_float:
    return t.bits == 16 || t.bits == 32 || t.bits == 64;
  case halide_type_bfloat:
    return t.bits == 16;
  default:
    return false;
  }
}

size_t elementBytes(halide_type_t t) { return (t.bits + 7) / 8; }

std::string typeName(halide_type_t t) {
  if (isSupportedType(t)) {
    if (isBool(t))
      return "bool";
    switch (t.code) {
    case halide_type_int:
      return "int" + std::to_string(t.bits);
    case halide_type_uint:
      return "uint" + std::to_string(t.bits);
    case halide_type_float:
      return "float" + std::to_string(t.bits);
    case halide_type_bfloat:
      return "bfloat16";
    default:
      break;
    }
  }
  return "<halide type code " + std::to_string(int(t.code)) + ", " +
         std::to_string(int(t.bits)) + " bits, " + std::to_string(t.lanes) +
         " lanes>";
}

std::vector<std::string> argumentNames(const std::vector<Argument> &args) {
  std::vector<std::string> names;
  for (const Argument &arg : args)
    names.push_back(arg.name);
  return names;
}

namespace {

/// What the library's Halide runtime reported through halide_error since the
/// last call to takeRuntimeErrors(). The default handler of the runtime
/// aborts the process, so every library loaded here gets recordRuntimeError
/// instead.
std::mutex runtimeErrorMutex;
std::string runtimeErrors;

void recordRuntimeError(void *, const char *message) {
  std::lock_guard<std::mutex> lock(runtimeErrorMutex);
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (text.empty())
    return;
  if (!runtimeErrors.empty())
    runtimeErrors += "; ";
  runtimeErrors += text;
}

/// Returns ": <messages>" for the errors recorded so far (or nothing), and
/// forgets them.
std::string takeRuntimeErrors() {
  std::lock_guard<std::mutex> lock(runtimeErrorMutex);
  std::string text = runtimeErrors.empty() ? "" : ": " + runtimeErrors;
  runtimeErrors.clear();
  return text;
}

using SetErrorHandlerFunction =
    halide_error_handler_t (*)(halide_error_handler_t);

/// Reads and checks the metadata of pipeline `function`.
Signature readSignature(const halide_filter_metadata_t *metadata,
                        const std::string &function,
                        const std::string &library) {
  std::string context = "function " + quote(function) + " in " + quote(library);
  if (!metadata)
    fail(context + ": " + function + "_metadata() returned null");
  if (metadata->version != halide_filter_metadata_t::VERSION)
    fail(context + ": unsupported metadata version " +
         std::to_string(metadata->version) + " (expected " +
         std::to_string(halide_filter_metadata_t::VERSION) + ")");
  if (metadata->num_arguments < 1 || !metadata->arguments)
    fail(context + ": metadata lists no arguments");
  Signature signature;
  std::set<std::string> seen;
  for (int i = 0; i < metadata->num_arguments; ++i) {
    const halide_filter_argument_t &arg = metadata->arguments[i];
    std::string name = arg.name ? arg.name : "";
    if (name.empty())
      fail(context + ": argument " + std::to_string(i) + " has no name");
    if (!seen.insert(name).second)
      fail(context + ": argument name " + quote(name) + " appears twice");
    if (arg.kind == halide_argument_kind_input_scalar)
      fail(context + ": scalar argument " + quote(name) +
           " is not supported (attnc pipelines take only buffers)");
    if (arg.kind != halide_argument_kind_input_buffer &&
        arg.kind != halide_argument_kind_output_buffer)
      fail(context + ": argument " + quote(name) + " has unknown kind " +
           std::to_string(arg.kind));
    if (!isSupportedType(arg.type))
      fail(context + ": argument " + quote(name) +
           " has unsupported element type " + typeName(arg.type));
    if (arg.dimensions < 0 || arg.dimensions > 64)
      fail(context + ": argument " + quote(name) + " has invalid rank " +
           std::to_string(arg.dimensions));
    Argument info{name, arg.type, arg.dimensions};
    bool isInput = arg.kind == halide_argument_kind_input_buffer;
    (isInput ? signature.inputs : signature.outputs).push_back(info);
    signature.isInput.push_back(isInput);
  }
  if (signature.outputs.empty())
    fail(context + ": metadata lists no output buffer");
  return signature;
}

/// Checks that `F_output_shapes` takes the inputs of F followed by one 1-D
/// int64 buffer, so that calling it cannot read past the argument array.
void checkOutputShapesSignature(const halide_filter_metadata_t *metadata,
                                const std::string &function,
                                const Signature &signature,
                                const std::string &library) {
  std::string shapesName = function + "_output_shapes";
  Signature shapes = readSignature(metadata, shapesName, library);
  std::string context =
      "function " + quote(shapesName) + " in " + quote(library);
  if (shapes.inputs.size() != signature.inputs.size())
    fail(context + " takes " + std::to_string(shapes.inputs.size()) +
         " inputs (" + joinNames(argumentNames(shapes.inputs)) + "), but " +
         quote(function) + " takes " + std::to_string(signature.inputs.size()) +
         " (" + joinNames(argumentNames(signature.inputs)) + ")");
  if (shapes.outputs.size() != 1 || shapes.outputs[0].rank != 1 ||
      shapes.outputs[0].type.code != halide_type_int ||
      shapes.outputs[0].type.bits != 64)
    fail(context + " must have exactly one output, a 1-D int64 buffer");
  for (size_t i = 0; i < shapes.isInput.size(); ++i)
    if (shapes.isInput[i] != (i + 1 < shapes.isInput.size()))
      fail(context + " must take its inputs first and the shapes buffer last");
}

/// Checks, before dlopen maps it, that `path` is a complete ELF shared
/// object of this machine's word size: dlopen maps segments past the end
/// of a truncated file without complaint, and the first access to them
/// kills the process (SIGBUS). Returns why not, or an empty string.
std::string checkElfFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file)
    return "cannot be opened";
  std::streamoff size = file.tellg();
  file.seekg(0);
  ElfW(Ehdr) header;
  if (size < static_cast<std::streamoff>(sizeof(header)) ||
      !file.read(reinterpret_cast<char *>(&header), sizeof(header)))
    return "is too short to be a shared library (" + std::to_string(size) +
           " bytes)";
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return "is not an ELF file";
  if (header.e_ident[EI_CLASS] !=
          (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      header.e_type != ET_DYN || header.e_phentsize != sizeof(ElfW(Phdr)))
    return "is not a shared library for this machine";
  auto within = [&](uint64_t offset, uint64_t length) {
    return offset <= static_cast<uint64_t>(size) &&
           length <= static_cast<uint64_t>(size) - offset;
  };
  if (!within(header.e_phoff,
              static_cast<uint64_t>(header.e_phnum) * sizeof(ElfW(Phdr))))
    return "is truncated: its program headers lie past its end";
  for (int i = 0; i < header.e_phnum; ++i) {
    ElfW(Phdr) segment;
    file.seekg(header.e_phoff + i * sizeof(segment));
    if (!file.read(reinterpret_cast<char *>(&segment), sizeof(segment)))
      return "cannot be read";
    if (segment.p_type == PT_LOAD &&
        !within(segment.p_offset, segment.p_filesz))
      return "is truncated: " + std::to_string(size) +
             " bytes, but a segment ends at byte " +
             std::to_string(segment.p_offset + segment.p_filesz);
  }
  return "";
}

} // namespace

ModelLibrary::ModelLibrary(const std::string &path, const std::string &function)
    : libraryPath(path), functionName(function) {
  // Without a slash dlopen() searches the library path, not the current
  // directory; a file name means a file.
  std::string openPath =
      path.find('/') == std::string::npos ? "./" + path : path;
  if (std::string why = checkElfFile(openPath); !why.empty())
    fail("cannot load " + quote(path) + ": the file " + why);
  handle = dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *message = dlerror();
    fail("cannot load " + quote(path) + ": " +
         (message ? message : "unknown dlopen error"));
  }
  using MetadataFunction = const halide_filter_metadata_t *(*)();
  call = reinterpret_cast<ArgvFunction>(lookup(function + "_argv", true));
  auto metadata =
      reinterpret_cast<MetadataFunction>(lookup(function + "_metadata", true));
  shapes = reinterpret_cast<ArgvFunction>(
      lookup(function + "_output_shapes_argv", true));
  auto shapesMetadata = reinterpret_cast<MetadataFunction>(
      lookup(function + "_output_shapes_metadata", false));
  copyToHost =
      reinterpret_cast<BufferFunction>(lookup("halide_copy_to_host", false));
  deviceFree =
      reinterpret_cast<BufferFunction>(lookup("halide_device_free", false));
  // Report pipeline errors as error codes instead of letting the runtime's
  // default handler abort.
  if (auto setErrorHandler = reinterpret_cast<SetErrorHandlerFunction>(
          lookup("halide_set_error_handler", false)))
    setErrorHandler(recordRuntimeError);
  sig = readSignature(metadata(), function, path);
  if (shapesMetadata)
    checkOutputShapesSignature(shapesMetadata(), function, sig, path);
}

void *ModelLibrary::lookup(const std::string &symbol, bool required) const {
  dlerror();
  void *address = dlsym(handle, symbol.c_str());
  if (!address && required) {
    const char *message = dlerror();
    throw MissingSymbolError(
        "symbol " + quote(symbol) + " not found in " + quote(libraryPath) +
        (message ? std::string(" (") + message + ")" : std::string()));
  }
  return address;
}

void ModelLibrary::setThreads(int threads) const {
  // The Halide runtime linked into the library owns the thread pool.
  using SetThreads = int (*)(int);
  auto setThreads = reinterpret_cast<SetThreads>(
      lookup("halide_set_num_threads", /*required=*/false));
  if (!setThreads)
    fail(quote(libraryPath) +
         " has no halide_set_num_threads (was it built without the Halide "
         "runtime?)");
  setThreads(threads);
}

std::vector<std::vector<int64_t>>
ModelLibrary::outputShapes(const std::vector<halide_buffer_t *> &inputs) const {
  if (inputs.size() != sig.inputs.size())
    fail(functionName + " takes " + std::to_string(sig.inputs.size()) +
         " inputs, got " + std::to_string(inputs.size()));
  int64_t totalRank = 0;
  for (const Argument &arg : sig.outputs)
    totalRank += arg.rank;
  std::vector<int64_t> extents(std::max<int64_t>(totalRank, 1));
  halide_dimension_t dim = {0, static_cast<int32_t>(totalRank), 1, 0};
  halide_buffer_t buffer = halide_buffer_t();
  buffer.host = reinterpret_cast<uint8_t *>(extents.data());
  buffer.type = halide_type_t(halide_type_int, 64);
  buffer.dimensions = 1;
  buffer.dim = &dim;
  std::vector<void *> args(inputs.begin(), inputs.end());
  args.push_back(&buffer);
  std::string shapesName = functionName + "_output_shapes";
  int status = shapes(args.data());
  if (status != 0)
    fail(shapesName + " returned error code " + std::to_string(status) +
         takeRuntimeErrors());
  syncToHost(&buffer, "the output of " + shapesName);
  releaseDevice(&buffer);
  std::vector<std::vector<int64_t>> result;
  size_t offset = 0;
  for (const Argument &arg : sig.outputs) {
    std::vector<int64_t> shape(extents.begin() + offset,
                               extents.begin() + offset + arg.rank);
    offset += arg.rank;
    for (int64_t extent : shape)
      if (extent < 0 || extent > std::numeric_limits<int32_t>::max())
        fail(shapesName + " returned the invalid shape " + formatShape(shape) +
             " for output " + quote(arg.name));
    result.push_back(std::move(shape));
  }
  return result;
}

void ModelLibrary::run(const std::vector<halide_buffer_t *> &inputs,
                       const std::vector<halide_buffer_t *> &outputs) const {
  if (inputs.size() != sig.inputs.size() ||
      outputs.size() != sig.outputs.size())
    fail(functionName + " takes " + std::to_string(sig.inputs.size()) +
         " inputs and " + std::to_string(sig.outputs.size()) +
         " outputs, got " + std::to_string(inputs.size()) + " and " +
         std::to_string(outputs.size()));
  // Arguments in metadata order, which is the call order.
  std::vector<void *> args;
  size_t nextInput = 0, nextOutput = 0;
  for (bool isInput : sig.isInput)
    args.push_back(isInput ? inputs[nextInput++] : outputs[nextOutput++]);
  int code = call(args.data());
  if (code != 0)
    fail(functionName + " returned error code " + std::to_string(code) +
         takeRuntimeErrors());
}

void ModelLibrary::syncToHost(halide_buffer_t *buffer,
                              const std::string &what) const {
  if (!(buffer->flags & halide_buffer_flag_device_dirty))
    return;
  if (!copyToHost)
    fail(what + " was left on a device and " + quote(libraryPath) +
         " does not export halide_copy_to_host");
  int status = copyToHost(nullptr, buffer);
  if (status != 0)
    fail("halide_copy_to_host for " + what + " returned error code " +
         std::to_string(status) + takeRuntimeErrors());
}

void ModelLibrary::releaseDevice(halide_buffer_t *buffer) const {
  if (buffer->device && deviceFree)
    deviceFree(nullptr, buffer);
}

} // namespace attnc::runtime
