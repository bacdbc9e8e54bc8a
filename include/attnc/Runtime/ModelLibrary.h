//===- ModelLibrary.h - Load and call a library compiled by attnc -*- C++
//-*-===//
//
// A shared library written by `attnc --emit=shared-lib`, dlopen()ed, with the
// entry points of one of its functions: the pipeline, its metadata and the
// companion `F_output_shapes` pipeline (docs/abi.md). attnc-run and the
// Python package both run compiled models through it. It depends only on the
// C++ standard library, dlopen and HalideRuntime.h (for the structure
// layouts; no Halide code is linked in), so that it can be cross-compiled
// for every target attnc supports. Failures throw RuntimeError.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_RUNTIME_MODELLIBRARY_H
#define ATTNC_RUNTIME_MODELLIBRARY_H

#include "HalideRuntime.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnc::runtime {

/// Every failure of this library: a message that names what is wrong.
class RuntimeError : public std::runtime_error {
public:
  explicit RuntimeError(const std::string &message)
      : std::runtime_error(message) {}
};

/// A required entry point is missing from the library (a wrong function
/// name, most likely).
class MissingSymbolError : public RuntimeError {
public:
  using RuntimeError::RuntimeError;
};

[[noreturn]] void fail(const std::string &message);

/// `'s'`.
std::string quote(const std::string &s);
/// `a, b, c`, or `(none)`.
std::string joinNames(const std::vector<std::string> &names);
/// `[2, 3, 4]`.
std::string formatShape(const std::vector<int64_t> &shape);

/// True for the bool element type (`uint1`, one byte per element).
bool isBool(halide_type_t t);
/// True for the element types attnc can produce (see docs/abi.md).
bool isSupportedType(halide_type_t t);
size_t elementBytes(halide_type_t t);
/// `float32`, `bfloat16`, `bool`, ...
std::string typeName(halide_type_t t);

/// One buffer argument of a pipeline, from its metadata.
struct Argument {
  std::string name;
  halide_type_t type;
  int rank = 0;
};

/// The arguments of a pipeline, inputs and outputs apart.
struct Signature {
  std::vector<Argument> inputs;
  std::vector<Argument> outputs;
  /// For each metadata position (the call order): true for an input.
  std::vector<bool> isInput;
};

std::vector<std::string> argumentNames(const std::vector<Argument> &args);

/// A loaded library and the entry points of one function `F`. The library
/// stays loaded for the life of the process (its Halide runtime may own
/// worker threads). Pipeline errors reported through `halide_error` are
/// collected and become part of the RuntimeError of the failing call,
/// instead of the runtime's default handler aborting the process.
class ModelLibrary {
public:
  /// Loads `path` and looks up `function`'s entry points; checks the
  /// metadata of both pipelines.
  ModelLibrary(const std::string &path, const std::string &function);

  const std::string &path() const { return libraryPath; }
  const std::string &function() const { return functionName; }
  const Signature &signature() const { return sig; }

  /// A symbol of the library, or null (or a RuntimeError when `required`).
  void *lookup(const std::string &symbol, bool required) const;

  /// Sets the size of the Halide thread pool the library's runtime owns.
  void setThreads(int threads) const;

  /// The output shapes (ONNX order) for these inputs, in signature order,
  /// from `F_output_shapes`.
  std::vector<std::vector<int64_t>>
  outputShapes(const std::vector<halide_buffer_t *> &inputs) const;

  /// Calls `F` with inputs and outputs in signature order (each list in its
  /// own order; the call order is the metadata's).
  void run(const std::vector<halide_buffer_t *> &inputs,
           const std::vector<halide_buffer_t *> &outputs) const;

  /// Copies `buffer` back from a device if the pipeline left it there.
  void syncToHost(halide_buffer_t *buffer, const std::string &what) const;
  /// Frees the device allocation of `buffer`, if any.
  void releaseDevice(halide_buffer_t *buffer) const;

private:
  using ArgvFunction = int (*)(void **);
  using MetadataFunction = const halide_filter_metadata_t *(*)();
  using BufferFunction = int (*)(void *, halide_buffer_t *);

  std::string libraryPath, functionName;
  void *handle = nullptr;
  ArgvFunction call = nullptr;
  ArgvFunction shapes = nullptr;
  BufferFunction copyToHost = nullptr;
  BufferFunction deviceFree = nullptr;
  Signature sig;
};

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_MODELLIBRARY_H
