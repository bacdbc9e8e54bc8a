//===- attnc-conformance.cpp - ONNX backend node tests through attnc ------===//
//
// Runs the ONNX backend node tests through attnc: every test directory
//
//   <root>/<test_name>/model.onnx
//   <root>/<test_name>/test_data_set_N/input_K.pb, output_K.pb
//
// is imported with the ONNX importer, compiled with the attnc default
// pipeline for the host, run through Halide's JIT on the inputs of each data
// set, and its outputs are compared with the expected ones:
//
//   * same shape and the same element type as the expected tensor;
//   * floating point: |got - want| <= atol + rtol * |want| elementwise (numpy's
//     isclose, as onnx.backend.test.runner does with assert_allclose)
//     with the ONNX backend defaults rtol = 1e-3, atol = 1e-7 for every float
//     type (bfloat16: rtol at least 2^-6, two bfloat16 ulps, as ONNX does), or
//     the rtol/atol of the test's data.json when it has one; NaN matches NaN,
//     an infinity only the same infinity;
//   * integers and booleans: exactly.
//
// A test whose model uses a type attnc has no representation for is SKIPPED
// before it is compiled: an element type other than float32/64, float16,
// bfloat16, int8/16/32/64, uint8/16/32/64 and bool ("element type", counted
// per type), or a value that is no tensor, such as a sequence, optional or
// map ("value type", counted per kind); see unsupportedTypesOf. So is one
// whose model uses an operator the importer does not support ("unsupported
// op", counted per op type). One that imports but fails to compile, run or
// compare is FAILED, or KNOWN-FAIL when it is listed in the --known-failures
// file; a listed test that passes is an UNEXPECTED-PASS and fails the run, so
// that the list stays honest. The exit status is non-zero iff a test failed
// or passed unexpectedly.
//
// Compile-time values (README.md): attnc compiles ahead of time, and shapes,
// axes, split sizes and repeats are compile-time facts. A test that fails
// because such a value depends on a graph input (the importer's "... must be
// a constant integer tensor at compile time" or "cannot infer the type and
// shape of output ...", the emitter's "... before the run, but it depends on
// tensor data") is compiled again, once per data set, with every int64/int32
// graph input frozen into the model as an initializer holding that data
// set's value; those inputs are then not passed at run time, float and other
// inputs still are. The closing line
//
//   ran N, passed P (Z with integer inputs frozen), known failures F,
//   failed X, skipped S (unsupported ops: Op1 ×n, ...; element types:
//   TYPE1 ×n, ...; value types: sequence ×n, ...)
//
// counts every selected test once: N = P + F + X + S (unexpected passes are
// among the P, and named on a line of their own; the Z passed only frozen).
//
// Each test runs in its own MLIRContext inside a worker process forked from
// this one: a test that crashes or hangs (--timeout) is reported as FAILED and
// a new worker takes over the remaining tests. --no-fork runs everything in
// this process (for a debugger).
//
// This file uses ONNX's protobuf classes to read the .pb tensors, so it is
// compiled with exceptions and RTTI like lib/Import/Onnx (LLVM and MLIR as
// Debian builds them have RTTI).
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Import/Onnx/OnnxImporter.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// The tolerance of onnx.backend.test (TestCase.rtol/atol of node tests and
/// the loader's default for model directories without a data.json).
constexpr double kDefaultRtol = 1e-3;
constexpr double kDefaultAtol = 1e-7;
/// onnx.backend.test.runner widens rtol for bfloat16 outputs to two ulps.
constexpr double kBf16MinRtol = 1.0 / 64.0;

/// Exit status of a run that found a root directory missing when
/// --skip-missing-roots was given (CTest's SKIP_RETURN_CODE).
constexpr int kSkipExitCode = 77;

//===----------------------------------------------------------------------===//
// Options and test discovery
//===----------------------------------------------------------------------===//

struct Options {
  std::vector<std::string> roots;
  std::string knownFailuresPath;
  std::string filter;
  bool verbose = false;
  bool noFork = false;
  bool skipMissingRoots = false;
  unsigned timeoutSeconds = 300;
};

void printUsage(llvm::raw_ostream &os) {
  os << "usage: attnc-conformance [options] ROOT...\n"
        "\n"
        "Runs the ONNX backend node tests under each ROOT\n"
        "(ROOT/<test>/model.onnx, ROOT/<test>/test_data_set_N/"
        "{input,output}_K.pb)\n"
        "through the attnc importer, default pipeline and Halide JIT.\n"
        "A test that fails because a compile-time value (axes, shapes,\n"
        "sizes, repeats) depends on a graph input is compiled again per data\n"
        "set with its int64/int32 graph inputs frozen to that set's values.\n"
        "\n"
        "options:\n"
        "  --known-failures=FILE  tests expected to fail: one name a line,\n"
        "                         '# reason' after it, '#' starts a comment\n"
        "  --filter=REGEX         only tests whose name matches REGEX\n"
        "                         (anywhere in the name)\n"
        "  --timeout=SECONDS      per test, 0 for none (default 300)\n"
        "  --no-fork              run every test in this process\n"
        "  --skip-missing-roots   exit 77 (skipped) when a ROOT does not "
        "exist\n"
        "  -v, --verbose          one line per test, passes included, with "
        "times\n"
        "  -h, --help             this text\n"
        "\n"
        "Exit status: 0 when no test failed and no known failure passed; 1\n"
        "otherwise; 2 for a usage error.\n";
}

/// Parses the command line; returns an exit status to stop with, if any.
std::optional<int> parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      printUsage(llvm::outs());
      return 0;
    }
    if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--no-fork") {
      options.noFork = true;
    } else if (arg == "--skip-missing-roots") {
      options.skipMissingRoots = true;
    } else if (arg.consume_front("--known-failures=")) {
      options.knownFailuresPath = arg.str();
    } else if (arg.consume_front("--filter=")) {
      options.filter = arg.str();
    } else if (arg.consume_front("--timeout=")) {
      if (arg.getAsInteger(10, options.timeoutSeconds)) {
        llvm::errs() << "attnc-conformance: --timeout expects a number of "
                        "seconds\n";
        return 2;
      }
    } else if (arg.starts_with("-") && arg != "-") {
      llvm::errs() << "attnc-conformance: unknown option '" << arg << "'\n";
      printUsage(llvm::errs());
      return 2;
    } else {
      options.roots.push_back(arg.str());
    }
  }
  if (options.roots.empty()) {
    llvm::errs() << "attnc-conformance: no test root directory given\n";
    printUsage(llvm::errs());
    return 2;
  }
  return std::nullopt;
}

struct TestCase {
  std::string name;
  std::string dir;
};

/// Every directory under `root` that holds a model.onnx, sorted by name.
std::vector<TestCase> discoverTests(llvm::StringRef root) {
  std::vector<TestCase> tests;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(root, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::SmallString<256> model(it->path());
    llvm::sys::path::append(model, "model.onnx");
    if (!llvm::sys::fs::is_regular_file(model))
      continue;
    tests.push_back({llvm::sys::path::filename(it->path()).str(), it->path()});
  }
  llvm::sort(tests, [](const TestCase &a, const TestCase &b) {
    return a.name < b.name;
  });
  return tests;
}

/// The known-failures file: `test_name  # reason` lines.
struct KnownFailures {
  std::map<std::string, std::string> reasons;
  bool contains(const std::string &name) const { return reasons.count(name); }
};

bool readKnownFailures(llvm::StringRef path, KnownFailures &known) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    llvm::errs() << "attnc-conformance: cannot read the known-failures file '"
                 << path << "': " << buffer.getError().message() << "\n";
    return false;
  }
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (llvm::StringRef line : lines) {
    auto [entry, comment] = line.split('#');
    entry = entry.trim();
    if (entry.empty())
      continue;
    // The name is the first word; anything else before a '#' is an error in
    // the file, not part of the name.
    size_t space = entry.find_first_of(" \t");
    llvm::StringRef name = entry.take_front(space);
    if (space != llvm::StringRef::npos) {
      llvm::errs() << "attnc-conformance: " << path << ": expected one test "
                   << "name before '#', got '" << entry << "'\n";
      return false;
    }
    known.reasons[name.str()] = comment.trim().str();
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Tensors from .pb files
//===----------------------------------------------------------------------===//

/// The name of an ONNX element type, as TensorProto_DataType_Name spells it;
/// the types added to onnx.proto after the linked ONNX's by a table.
std::string dataTypeName(int32_t type) {
  if (onnx::TensorProto::DataType_IsValid(type))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(type));
  static const char *const kLaterTypes[] = {
      "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
      "UINT4",        "INT4",           "FLOAT4E2M1", "FLOAT8E8M0",
      "UINT2",        "INT2",           "FLOAT6E2M3", "FLOAT6E3M2"};
  constexpr int32_t kFirstLaterType = 17;
  if (type >= kFirstLaterType &&
      type < kFirstLaterType + static_cast<int32_t>(std::size(kLaterTypes)))
    return kLaterTypes[type - kFirstLaterType];
  return "data type " + std::to_string(type);
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "float32";
  case DType::F64:
    return "float64";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::I64:
    return "int64";
  case DType::I32:
    return "int32";
  case DType::I16:
    return "int16";
  case DType::I8:
    return "int8";
  case DType::U64:
    return "uint64";
  case DType::U32:
    return "uint32";
  case DType::U16:
    return "uint16";
  case DType::U8:
    return "uint8";
  case DType::Bool:
    return "bool";
  }
  return "?";
}

std::optional<DType> dtypeOfOnnx(int32_t type) {
  switch (type) {
  case onnx::TensorProto::FLOAT:
    return DType::F32;
  case onnx::TensorProto::DOUBLE:
    return DType::F64;
  case onnx::TensorProto::FLOAT16:
    return DType::F16;
  case onnx::TensorProto::BFLOAT16:
    return DType::BF16;
  case onnx::TensorProto::INT64:
    return DType::I64;
  case onnx::TensorProto::INT32:
    return DType::I32;
  case onnx::TensorProto::INT16:
    return DType::I16;
  case onnx::TensorProto::INT8:
    return DType::I8;
  case onnx::TensorProto::UINT64:
    return DType::U64;
  case onnx::TensorProto::UINT32:
    return DType::U32;
  case onnx::TensorProto::UINT16:
    return DType::U16;
  case onnx::TensorProto::UINT8:
    return DType::U8;
  case onnx::TensorProto::BOOL:
    return DType::Bool;
  default:
    return std::nullopt;
  }
}

bool isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F64 || dtype == DType::F16 ||
         dtype == DType::BF16;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k)
    s += (k ? ", " : "") + std::to_string(shape[k]);
  return s + "]";
}

/// Copies the elements of a typed repeated field into `t`, narrowing each
/// value to `T` (int32_data holds 8- and 16-bit values and bit patterns one
/// per entry, uint64_data uint32 and uint64 values).
template <typename T, typename Field>
void copyField(const Field &field, HostTensor &t) {
  T *out = t.as<T>();
  int64_t i = 0;
  for (auto v : field)
    out[i++] = static_cast<T>(v);
}

/// The element type of a graph input or output, or UNDEFINED.
int32_t declaredElementType(const onnx::ValueInfoProto &info) {
  if (info.type().has_tensor_type())
    return info.type().tensor_type().elem_type();
  return onnx::TensorProto::UNDEFINED;
}

/// Converts a TensorProto into a host tensor, or explains why not.
/// `declaredType` is the element type the model declares for the value: the
/// node tests of ONNX 1.12 store bfloat16 values as UINT16 tensors (numpy has
/// no bfloat16), which are read as the bfloat16 bit patterns they are.
std::optional<HostTensor> tensorFromProto(const onnx::TensorProto &proto,
                                          int32_t declaredType,
                                          std::string &error) {
  int32_t dataType = proto.data_type();
  if (dataType == onnx::TensorProto::UINT16 &&
      declaredType == onnx::TensorProto::BFLOAT16)
    dataType = onnx::TensorProto::BFLOAT16;
  std::optional<DType> dtype = dtypeOfOnnx(dataType);
  if (!dtype) {
    error = "element type " + dataTypeName(proto.data_type()) +
            " has no attnc host type";
    return std::nullopt;
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    error = "the tensor keeps its data in an external file";
    return std::nullopt;
  }
  if (proto.has_segment()) {
    error = "segmented tensors are not supported";
    return std::nullopt;
  }
  HostTensor t;
  t.dtype = *dtype;
  int64_t count = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0 || (d > 0 && count > (INT64_C(1) << 40) / d)) {
      error = "bad or too large dimension " + std::to_string(d);
      return std::nullopt;
    }
    count *= d;
    t.shape.push_back(d);
  }
  size_t bytes = HostTensor::elementBytes(*dtype);
  t.data.resize(static_cast<size_t>(count) * bytes);

  if (proto.has_raw_data()) {
    const std::string &raw = proto.raw_data();
    if (raw.size() != t.data.size()) {
      error = "raw_data holds " + std::to_string(raw.size()) +
              " bytes, expected " + std::to_string(t.data.size()) +
              " for shape " + shapeString(t.shape);
      return std::nullopt;
    }
    if (!raw.empty())
      std::memcpy(t.data.data(), raw.data(), raw.size());
    if (*dtype == DType::Bool)
      for (uint8_t &b : t.data)
        b = b != 0;
    return t;
  }

  int64_t have = 0;
  switch (*dtype) {
  case DType::F32:
    have = proto.float_data_size();
    break;
  case DType::F64:
    have = proto.double_data_size();
    break;
  case DType::I64:
    have = proto.int64_data_size();
    break;
  case DType::U64:
  case DType::U32:
    have = proto.uint64_data_size();
    break;
  default:
    have = proto.int32_data_size();
    break;
  }
  if (have != count) {
    error = "the tensor holds " + std::to_string(have) + " values, expected " +
            std::to_string(count) + " for shape " + shapeString(t.shape);
    return std::nullopt;
  }
  switch (*dtype) {
  case DType::F32:
    copyField<float>(proto.float_data(), t);
    break;
  case DType::F64:
    copyField<double>(proto.double_data(), t);
    break;
  case DType::I64:
    copyField<int64_t>(proto.int64_data(), t);
    break;
  case DType::I32:
    copyField<int32_t>(proto.int32_data(), t);
    break;
  case DType::I16:
    copyField<int16_t>(proto.int32_data(), t);
    break;
  case DType::I8:
    copyField<int8_t>(proto.int32_data(), t);
    break;
  case DType::U64:
    copyField<uint64_t>(proto.uint64_data(), t);
    break;
  case DType::U32:
    copyField<uint32_t>(proto.uint64_data(), t);
    break;
  case DType::U16:
    copyField<uint16_t>(proto.int32_data(), t);
    break;
  case DType::U8:
    copyField<uint8_t>(proto.int32_data(), t);
    break;
  case DType::Bool: {
    uint8_t *out = t.as<uint8_t>();
    int64_t i = 0;
    for (int32_t v : proto.int32_data())
      out[i++] = v != 0;
    break;
  }
  case DType::F16:
  case DType::BF16:
    // The 16-bit pattern, one per int32 entry.
    copyField<uint16_t>(proto.int32_data(), t);
    break;
  }
  return t;
}

/// Reads a serialized TensorProto file.
std::optional<HostTensor> readTensorFile(const std::string &path,
                                         int32_t declaredType,
                                         std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read '" + path + "': " + buffer.getError().message();
    return std::nullopt;
  }
  llvm::StringRef bytes = (*buffer)->getBuffer();
  onnx::TensorProto proto;
  bool parsed = false;
  try {
    parsed = bytes.size() <= static_cast<size_t>(INT_MAX) &&
             proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  } catch (const std::exception &e) {
    error = "'" + path + "' cannot be parsed: " + e.what();
    return std::nullopt;
  }
  if (!parsed) {
    error = "'" + path + "' is not a serialized TensorProto";
    return std::nullopt;
  }
  std::optional<HostTensor> t = tensorFromProto(proto, declaredType, error);
  if (!t)
    error = llvm::sys::path::filename(path).str() + ": " + error;
  return t;
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

double halfToDouble(uint16_t h) {
  int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double value;
  if (exponent == 0)
    value = std::ldexp(mantissa, -24);
  else if (exponent == 31)
    value = mantissa ? NAN : INFINITY;
  else
    value = std::ldexp(mantissa + 1024, exponent - 25);
  return sign ? -value : value;
}

double bf16ToDouble(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

double floatAt(const HostTensor &t, int64_t i) {
  switch (t.dtype) {
  case DType::F32:
    return t.as<float>()[i];
  case DType::F64:
    return t.as<double>()[i];
  case DType::F16:
    return halfToDouble(t.as<uint16_t>()[i]);
  case DType::BF16:
    return bf16ToDouble(t.as<uint16_t>()[i]);
  default:
    return 0.0;
  }
}

/// An integer or boolean element; uint64 values as their bit pattern.
int64_t intAt(const HostTensor &t, int64_t i) {
  switch (t.dtype) {
  case DType::I64:
    return t.as<int64_t>()[i];
  case DType::I32:
    return t.as<int32_t>()[i];
  case DType::I16:
    return t.as<int16_t>()[i];
  case DType::I8:
    return t.as<int8_t>()[i];
  case DType::U64:
    return static_cast<int64_t>(t.as<uint64_t>()[i]);
  case DType::U32:
    return t.as<uint32_t>()[i];
  case DType::U16:
    return t.as<uint16_t>()[i];
  case DType::U8:
    return t.as<uint8_t>()[i];
  case DType::Bool:
    return t.as<uint8_t>()[i] != 0;
  default:
    return 0;
  }
}

/// An integer or boolean element as text.
std::string intString(const HostTensor &t, int64_t i) {
  if (t.dtype == DType::U64)
    return std::to_string(t.as<uint64_t>()[i]);
  return std::to_string(intAt(t, i));
}

/// numpy.isclose(got, want, rtol, atol, equal_nan=True).
bool isClose(double got, double want, double rtol, double atol) {
  if (std::isnan(got) || std::isnan(want))
    return std::isnan(got) && std::isnan(want);
  if (std::isinf(got) || std::isinf(want))
    return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

std::string indexString(int64_t flat, const std::vector<int64_t> &shape) {
  std::vector<int64_t> index(shape.size());
  for (int64_t k = static_cast<int64_t>(shape.size()) - 1; k >= 0; --k) {
    index[k] = shape[k] ? flat % shape[k] : 0;
    flat = shape[k] ? flat / shape[k] : 0;
  }
  return shapeString(index);
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

/// Compares `got` with `want`; returns why they differ, if they do.
std::optional<std::string> compareTensors(const HostTensor &got,
                                          const HostTensor &want, double rtol,
                                          double atol) {
  if (got.dtype != want.dtype)
    return std::string("element type ") + dtypeName(got.dtype) + ", expected " +
           dtypeName(want.dtype);
  if (got.shape != want.shape)
    return "shape " + shapeString(got.shape) + ", expected " +
           shapeString(want.shape);
  int64_t n = want.numElements();
  if (got.data.size() != want.data.size())
    return std::string("holds ") + std::to_string(got.data.size()) +
           " bytes, expected " + std::to_string(want.data.size());
  int64_t mismatches = 0, first = -1;
  double maxAbs = 0.0;
  if (isFloat(want.dtype)) {
    if (want.dtype == DType::BF16)
      rtol = std::max(rtol, kBf16MinRtol);
    for (int64_t i = 0; i < n; ++i) {
      double g = floatAt(got, i), w = floatAt(want, i);
      if (isClose(g, w, rtol, atol))
        continue;
      if (first < 0)
        first = i;
      ++mismatches;
      if (std::isfinite(g) && std::isfinite(w))
        maxAbs = std::max(maxAbs, std::fabs(g - w));
    }
    if (!mismatches)
      return std::nullopt;
    return std::to_string(mismatches) + " of " + std::to_string(n) +
           " elements differ beyond rtol=" + number(rtol) +
           ", atol=" + number(atol) + "; first at " +
           indexString(first, want.shape) + ": got " +
           number(floatAt(got, first)) + ", expected " +
           number(floatAt(want, first)) + "; max |diff| " + number(maxAbs);
  }
  for (int64_t i = 0; i < n; ++i) {
    if (intAt(got, i) == intAt(want, i))
      continue;
    if (first < 0)
      first = i;
    ++mismatches;
  }
  if (!mismatches)
    return std::nullopt;
  return std::to_string(mismatches) + " of " + std::to_string(n) +
         " elements differ; first at " + indexString(first, want.shape) +
         ": got " + intString(got, first) + ", expected " +
         intString(want, first);
}

//===----------------------------------------------------------------------===//
// One test
//===----------------------------------------------------------------------===//

enum class Outcome { Pass, Fail, Skip };

struct TestResult {
  Outcome outcome = Outcome::Fail;
  /// One line: why the test failed or was skipped.
  std::string reason;
  /// For a skipped test: each unsupported op type once (`Op`, `domain:Op`,
  /// or `Op (opset N)` when the op is supported from a later opset).
  std::vector<std::string> unsupportedOps;
  /// For a skipped test: each element type attnc does not represent once,
  /// and each kind of non-tensor value (unsupportedTypesOf).
  std::vector<std::string> unsupportedElementTypes, unsupportedValueTypes;
  /// For a test that passed only with its integer graph inputs frozen into
  /// the model (runTestInProcess): which, as `with integer inputs 'a', 'b'
  /// frozen`; empty otherwise.
  std::string frozen;
};

TestResult fail(std::string reason) {
  TestResult r;
  r.outcome = Outcome::Fail;
  // One line, not empty.
  size_t eol = reason.find('\n');
  if (eol != std::string::npos)
    reason.resize(eol);
  if (reason.empty() || llvm::StringRef(reason).ends_with(": "))
    reason += "failed without a diagnostic";
  r.reason = reason;
  return r;
}

/// The op types named by the importer's "unsupported ONNX operator" error,
/// whose lines after the first read
///   `  Op (domain 'D', opset N) at node ...: why`.
std::vector<std::string> unsupportedOpsOf(llvm::StringRef message) {
  std::set<std::string> ops;
  llvm::SmallVector<llvm::StringRef> lines;
  message.split(lines, '\n');
  for (llvm::StringRef line : llvm::drop_begin(lines)) {
    line = line.trim();
    size_t paren = line.find(" (domain '");
    if (paren == llvm::StringRef::npos)
      continue;
    std::string op = line.take_front(paren).str();
    llvm::StringRef domain =
        line.drop_front(paren + strlen(" (domain '")).split('\'').first;
    if (!domain.empty() && domain != "ai.onnx")
      op = domain.str() + ":" + op;
    llvm::StringRef why = line.rsplit(": ").second;
    if (why.consume_front("supported from opset "))
      op += " (opset " + why.str() + ")";
    ops.insert(op);
  }
  if (ops.empty())
    ops.insert("?");
  return {ops.begin(), ops.end()};
}

/// `<dir>/test_data_set_N` directories, sorted by N.
std::vector<std::string> dataSets(const std::string &dir) {
  std::vector<std::pair<unsigned, std::string>> sets;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    unsigned n;
    if (name.consume_front("test_data_set_") && !name.getAsInteger(10, n) &&
        llvm::sys::fs::is_directory(it->path()))
      sets.push_back({n, it->path()});
  }
  llvm::sort(sets);
  std::vector<std::string> out;
  for (auto &[n, path] : sets)
    out.push_back(path);
  return out;
}

/// Counts `<prefix>_K.pb` files for K = 0, 1, ... without gaps.
unsigned countPbFiles(const std::string &dir, llvm::StringRef prefix) {
  unsigned n = 0;
  while (llvm::sys::fs::exists(dir + "/" + prefix.str() + "_" +
                               std::to_string(n) + ".pb"))
    ++n;
  return n;
}

/// rtol/atol from the test's data.json, when it has one.
void readTolerances(const std::string &dir, double &rtol, double &atol) {
  auto buffer = llvm::MemoryBuffer::getFile(dir + "/data.json");
  if (!buffer)
    return;
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json) {
    llvm::consumeError(json.takeError());
    return;
  }
  if (const llvm::json::Object *object = json->getAsObject()) {
    if (std::optional<double> v = object->getNumber("rtol"))
      rtol = *v;
    if (std::optional<double> v = object->getNumber("atol"))
      atol = *v;
  }
}

/// Whether `message` says that a compile needs, before the run, the value of
/// a tensor the model computes from its inputs: an operand attnc's importer
/// takes only as a constant (Unsqueeze/Squeeze/Reduce axes, Slice starts,
/// ends, axes and steps, Split sizes, ...), one the Halide emitter must know
/// to size a result (Reshape, Expand and ConstantOfShape shapes, Tile
/// repeats, Range start/limit/delta), or one without which ONNX's shape
/// inference cannot give a node's output its rank (ReduceSum axes of unknown
/// length).
bool needsCompileTimeValue(llvm::StringRef message) {
  return message.contains(
             "must be a constant integer tensor at compile time") ||
         message.contains("must be a constant float tensor at compile time") ||
         message.contains("before the run, but it depends on tensor data") ||
         message.contains("cannot infer the type and shape of output");
}

/// Whether a graph input is one attnc takes only as a compile-time value
/// (frozen when a test needs it): an integer tensor, or a float vector of
/// a few entries (Resize's scales).
bool isCompileTimeInput(const onnx::ValueInfoProto &input) {
  int32_t type = declaredElementType(input);
  if (type == onnx::TensorProto::INT64 || type == onnx::TensorProto::INT32)
    return true;
  if (type != onnx::TensorProto::FLOAT || !input.type().has_tensor_type())
    return false;
  const auto &shape = input.type().tensor_type().shape();
  return shape.dim_size() == 1 && shape.dim(0).has_dim_value() &&
         shape.dim(0).dim_value() <= 8;
}

/// Whether attnc represents tensors of the ONNX element type `type`
/// (UNDEFINED, a type left for shape inference to find, counts as one).
bool isRepresentedElementType(int32_t type) {
  switch (type) {
  case onnx::TensorProto::UNDEFINED:
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::UINT16:
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
  case onnx::TensorProto::BOOL:
    return true;
  default:
    return false;
  }
}

/// The types of a model's values that attnc has no representation for.
struct UnsupportedTypes {
  /// Element types of tensors, as TensorProto_DataType_Name spells them.
  std::set<std::string> elementTypes;
  /// Values that are no tensors: `sequence`, `optional`, `map`,
  /// `sparse_tensor`, `opaque`.
  std::set<std::string> valueTypes;
  bool empty() const { return elementTypes.empty() && valueTypes.empty(); }
};

/// Looks at the model's graph inputs, outputs, value_info and initializers,
/// its tensor-valued node attributes (Constant's value, ConstantOfShape's),
/// Constant's string values, and the element types named by Cast's `to` and
/// by `dtype` and `output_dtype` attributes of default-domain nodes.
/// Subgraphs in attributes are not looked into.
UnsupportedTypes unsupportedTypesOf(const onnx::ModelProto &model) {
  UnsupportedTypes found;
  auto element = [&](int32_t type) {
    if (!isRepresentedElementType(type))
      found.elementTypes.insert(dataTypeName(type));
  };
  auto value = [&](const onnx::ValueInfoProto &info) {
    if (!info.has_type())
      return;
    const onnx::TypeProto &type = info.type();
    switch (type.value_case()) {
    case onnx::TypeProto::kTensorType:
      element(type.tensor_type().elem_type());
      break;
    case onnx::TypeProto::kSequenceType:
      found.valueTypes.insert("sequence");
      break;
    case onnx::TypeProto::kOptionalType:
      found.valueTypes.insert("optional");
      break;
    case onnx::TypeProto::kMapType:
      found.valueTypes.insert("map");
      break;
    case onnx::TypeProto::kSparseTensorType:
      found.valueTypes.insert("sparse_tensor");
      break;
    case onnx::TypeProto::kOpaqueType:
      found.valueTypes.insert("opaque");
      break;
    default:
      break;
    }
  };
  const onnx::GraphProto &graph = model.graph();
  for (const auto &info : graph.input())
    value(info);
  for (const auto &info : graph.output())
    value(info);
  for (const auto &info : graph.value_info())
    value(info);
  for (const auto &init : graph.initializer())
    element(init.data_type());
  if (graph.sparse_initializer_size())
    found.valueTypes.insert("sparse_tensor");
  for (const auto &node : graph.node()) {
    bool isDefaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    for (const auto &attr : node.attribute()) {
      switch (attr.type()) {
      case onnx::AttributeProto::TENSOR:
        element(attr.t().data_type());
        break;
      case onnx::AttributeProto::TENSORS:
        for (const auto &t : attr.tensors())
          element(t.data_type());
        break;
      case onnx::AttributeProto::SPARSE_TENSOR:
      case onnx::AttributeProto::SPARSE_TENSORS:
        found.valueTypes.insert("sparse_tensor");
        break;
      case onnx::AttributeProto::STRING:
      case onnx::AttributeProto::STRINGS:
        // Constant's value_string(s): a string tensor.
        if (node.op_type() == "Constant" && isDefaultDomain)
          element(onnx::TensorProto::STRING);
        break;
      case onnx::AttributeProto::INT:
        if (isDefaultDomain &&
            ((attr.name() == "to" && node.op_type() == "Cast") ||
             attr.name() == "dtype" || attr.name() == "output_dtype"))
          element(static_cast<int32_t>(attr.i()));
        break;
      default:
        break;
      }
    }
  }
  return found;
}

/// Imports the model held in `bytes` (whose graph inputs are those of `graph`
/// less the `frozen` ones, which it holds as initializers), compiles it for
/// the host, and runs and checks each data set of `sets`: input_K.pb is the
/// value of graph.input(K) of the original `graph`. `needsConstants` tells
/// whether the test failed because a compile-time value depends on an input
/// (needsCompileTimeValue).
TestResult compileAndRun(llvm::StringRef bytes, const std::string &bufferName,
                         const onnx::GraphProto &graph,
                         const std::set<std::string> &frozen,
                         llvm::ArrayRef<std::string> sets, double rtol,
                         double atol, bool &needsConstants) {
  needsConstants = false;
  MLIRContext context(MLIRContext::Threading::DISABLED);
  context.loadDialect<AttnDialect, func::FuncDialect>();
  std::string firstError;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error && firstError.empty())
      firstError = diag.str();
    return success();
  });
  auto failWith = [&](llvm::StringRef stage) {
    needsConstants = needsCompileTimeValue(firstError);
    return fail(stage.str() + ": " + firstError);
  };

  OwningOpRef<ModuleOp> module = importOnnx(bytes, bufferName, &context);
  if (!module) {
    if (llvm::StringRef(firstError).starts_with("unsupported ONNX operator")) {
      TestResult r;
      r.outcome = Outcome::Skip;
      r.unsupportedOps = unsupportedOpsOf(firstError);
      r.reason = "unsupported op " + llvm::join(r.unsupportedOps, ", ");
      return r;
    }
    return failWith("import");
  }

  std::set<std::string> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());
  // input_K.pb holds the value of graph.input(K) (onnx.backend.test.runner).
  llvm::StringMap<int> graphInputIndex;
  std::vector<int> runTimeInputs;
  for (int k = 0; k < graph.input_size(); ++k) {
    const std::string &name = graph.input(k).name();
    if (frozen.count(name))
      continue;
    graphInputIndex.try_emplace(name, k);
    if (!initializers.count(name))
      runTimeInputs.push_back(k);
  }

  FailureOr<std::string> target = resolveHalideTarget("host");
  if (failed(target))
    return fail("cannot resolve the host target");
  PassManager pm(&context);
  PipelineOptions pipelineOptions;
  pipelineOptions.target = *target;
  buildDefaultPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return failWith("pipeline");

  auto funcs = module->getOps<func::FuncOp>();
  if (funcs.empty())
    return fail("the imported module has no function");
  func::FuncOp func = *funcs.begin();

  // Graph input index of each function argument: by its attn.name; inputs
  // the importer dropped (initializers, optional inputs left empty) are
  // skipped by name.
  std::vector<int> argInput;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (auto name = func.getArgAttrOfType<StringAttr>(i, "attn.name")) {
      auto it = graphInputIndex.find(name.getValue());
      if (it == graphInputIndex.end())
        return fail("function argument " + std::to_string(i) + " ('" +
                    name.getValue().str() + "') is no run-time graph input");
      argInput.push_back(it->second);
    } else if (i < runTimeInputs.size()) {
      argInput.push_back(runTimeInputs[i]);
    } else {
      return fail("function argument " + std::to_string(i) +
                  " has no name and no graph input");
    }
  }
  if (func.getNumResults() != static_cast<unsigned>(graph.output_size()))
    return fail("the function has " + std::to_string(func.getNumResults()) +
                " results, the graph " + std::to_string(graph.output_size()) +
                " outputs");

  for (const std::string &set : sets) {
    std::string setName = llvm::sys::path::filename(set).str();
    std::vector<HostTensor> inputs;
    for (int k : argInput) {
      std::string path = set + "/input_" + std::to_string(k) + ".pb";
      std::string error;
      std::optional<HostTensor> t =
          readTensorFile(path, declaredElementType(graph.input(k)), error);
      if (!t)
        return fail(setName + ": input '" + graph.input(k).name() +
                    "': " + error);
      inputs.push_back(std::move(*t));
    }
    unsigned numExpected = countPbFiles(set, "output");
    if (numExpected != static_cast<unsigned>(graph.output_size()))
      return fail(setName + ": " + std::to_string(numExpected) +
                  " output_K.pb files for " +
                  std::to_string(graph.output_size()) + " graph outputs");

    std::vector<HostTensor> outputs;
    firstError.clear();
    if (failed(runWithJit(*module, inputs, outputs)))
      return failWith("jit");
    if (outputs.size() != numExpected)
      return fail("jit: " + std::to_string(outputs.size()) + " outputs, " +
                  std::to_string(numExpected) + " expected");
    for (unsigned k = 0; k < numExpected; ++k) {
      std::string error;
      std::optional<HostTensor> want =
          readTensorFile(set + "/output_" + std::to_string(k) + ".pb",
                         declaredElementType(graph.output(k)), error);
      if (!want)
        return fail(setName + ": expected output '" + graph.output(k).name() +
                    "': " + error);
      if (std::optional<std::string> diff =
              compareTensors(outputs[k], *want, rtol, atol))
        return fail(setName + ": output '" + graph.output(k).name() +
                    "': " + *diff);
    }
  }
  return TestResult{Outcome::Pass, "", {}, {}, {}, {}};
}

/// The model of `model` with the graph inputs `frozen` (by index) turned into
/// initializers holding their values of data set `set`, serialized; or an
/// error.
std::optional<std::string> freezeInputs(const onnx::ModelProto &model,
                                        const std::vector<int> &frozen,
                                        const std::string &set,
                                        std::string &error) {
  onnx::ModelProto copy = model;
  onnx::GraphProto &graph = *copy.mutable_graph();
  std::set<std::string> names;
  for (int k : frozen) {
    const onnx::ValueInfoProto &input = model.graph().input(k);
    std::string path = set + "/input_" + std::to_string(k) + ".pb";
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer) {
      error = "cannot read '" + path + "': " + buffer.getError().message();
      return std::nullopt;
    }
    llvm::StringRef bytes = (*buffer)->getBuffer();
    onnx::TensorProto *init = graph.add_initializer();
    if (bytes.size() > static_cast<size_t>(INT_MAX) ||
        !init->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      error = "'" + path + "' is not a serialized TensorProto";
      return std::nullopt;
    }
    if (init->data_type() != declaredElementType(input)) {
      error = "input_" + std::to_string(k) + ".pb holds " +
              dataTypeName(init->data_type()) + ", the model declares " +
              dataTypeName(declaredElementType(input));
      return std::nullopt;
    }
    init->set_name(input.name());
    names.insert(input.name());
  }
  // From IR version 4 on, an initializer need not be a graph input (and one
  // that is would be a run-time input with a default); before, every
  // initializer must be listed as an input, which the importer then skips.
  if (copy.ir_version() >= 4) {
    auto *inputs = graph.mutable_input();
    inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                                 [&](const onnx::ValueInfoProto &vi) {
                                   return names.count(vi.name()) > 0;
                                 }),
                  inputs->end());
  }
  std::string bytes;
  if (!copy.SerializeToString(&bytes)) {
    error = "cannot serialize the model with frozen inputs";
    return std::nullopt;
  }
  return bytes;
}

TestResult runTestInProcess(const TestCase &test) {
  std::string modelPath = test.dir + "/model.onnx";
  auto buffer = llvm::MemoryBuffer::getFile(modelPath, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail("cannot read '" + modelPath +
                "': " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();

  // The importer parses the model too; its graph inputs and outputs are
  // needed here to bind the .pb files to the function's arguments by name,
  // and to freeze integer inputs.
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    // Let the importer say what is wrong with it.
    MLIRContext context(MLIRContext::Threading::DISABLED);
    context.loadDialect<AttnDialect, func::FuncDialect>();
    std::string firstError;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (firstError.empty())
        firstError = diag.str();
      return success();
    });
    (void)importOnnx(bytes, modelPath, &context);
    return fail("import: " +
                (firstError.empty()
                     ? std::string("model.onnx is not a ModelProto")
                     : firstError));
  }
  const onnx::GraphProto &graph = model.graph();

  // A model with values of a type attnc does not represent is skipped, like
  // one with an unsupported operator.
  if (UnsupportedTypes types = unsupportedTypesOf(model); !types.empty()) {
    TestResult r;
    r.outcome = Outcome::Skip;
    r.unsupportedElementTypes.assign(types.elementTypes.begin(),
                                     types.elementTypes.end());
    r.unsupportedValueTypes.assign(types.valueTypes.begin(),
                                   types.valueTypes.end());
    if (!types.elementTypes.empty())
      r.reason = "element type " + llvm::join(r.unsupportedElementTypes, ", ");
    if (!types.valueTypes.empty())
      r.reason += (r.reason.empty() ? "" : "; ") + std::string("value type ") +
                  llvm::join(r.unsupportedValueTypes, ", ");
    return r;
  }

  double rtol = kDefaultRtol, atol = kDefaultAtol;
  readTolerances(test.dir, rtol, atol);
  std::vector<std::string> sets = dataSets(test.dir);
  if (sets.empty())
    return fail("no test_data_set_N directory");

  bool needsConstants = false;
  TestResult result = compileAndRun(bytes, modelPath, graph, {}, sets, rtol,
                                    atol, needsConstants);
  if (result.outcome != Outcome::Fail || !needsConstants)
    return result;

  // The policy for values attnc needs at compile time (README.md): attnc
  // compiles ahead of time, and shapes, axes, split sizes and repeats are
  // compile-time facts. A test that passes them as graph inputs is compiled
  // again, once per data set, with every integer graph input frozen into the
  // model as an initializer holding that data set's value (as a user of
  // attnc does with such a value), and so is a float vector of at most 8
  // entries (Resize's scales); other float inputs stay run-time inputs.
  std::set<std::string> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());
  std::vector<int> frozen;
  std::set<std::string> frozenNames;
  for (int k = 0; k < graph.input_size(); ++k)
    if (!initializers.count(graph.input(k).name()) &&
        isCompileTimeInput(graph.input(k))) {
      frozen.push_back(k);
      frozenNames.insert(graph.input(k).name());
    }
  if (frozen.empty())
    return result;
  std::string label =
      "with integer input" + std::string(frozen.size() > 1 ? "s " : " ");
  for (auto [i, k] : llvm::enumerate(frozen))
    label += (i ? ", '" : "'") + graph.input(k).name() + "'";
  label += " frozen";

  std::string frozenBuffer =
      (llvm::StringRef(modelPath).drop_back(strlen(".onnx")) + ".frozen.onnx")
          .str();
  for (const std::string &set : sets) {
    std::string error;
    std::optional<std::string> frozenBytes =
        freezeInputs(model, frozen, set, error);
    if (!frozenBytes)
      return fail(label + ": " + error);
    TestResult r = compileAndRun(*frozenBytes, frozenBuffer, graph, frozenNames,
                                 {set}, rtol, atol, needsConstants);
    if (r.outcome != Outcome::Pass) {
      r.reason = label + ": " + r.reason;
      return r;
    }
  }
  return TestResult{Outcome::Pass, "", {}, {}, {}, label};
}

TestResult runTestGuarded(const TestCase &test) {
  try {
    return runTestInProcess(test);
  } catch (const std::exception &e) {
    return fail(std::string("exception: ") + e.what());
  } catch (...) {
    return fail("unknown exception");
  }
}

//===----------------------------------------------------------------------===//
// Worker processes
//===----------------------------------------------------------------------===//
//
// The parent forks a worker that reads test indices from a pipe and answers
// each with a result record. When a worker crashes or a test outlives the
// timeout, the parent records the failure, kills the worker and forks a new
// one for the next test. Nothing of Halide or MLIR runs in the parent, so the
// workers inherit no threads or JIT state.

bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool readAll(int fd, void *data, size_t size) {
  char *p = static_cast<char *>(data);
  while (size) {
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// `outcome \n frozen \n reason \n op Op \n ... type TYPE \n ... value KIND
/// \n ...`
std::string encode(const TestResult &r) {
  std::string s = std::to_string(static_cast<int>(r.outcome)) + "\n" +
                  r.frozen + "\n" + r.reason + "\n";
  for (const std::string &op : r.unsupportedOps)
    s += "op " + op + "\n";
  for (const std::string &type : r.unsupportedElementTypes)
    s += "type " + type + "\n";
  for (const std::string &kind : r.unsupportedValueTypes)
    s += "value " + kind + "\n";
  return s;
}

TestResult decode(llvm::StringRef s) {
  TestResult r;
  llvm::SmallVector<llvm::StringRef> lines;
  s.split(lines, '\n', -1, /*KeepEmpty=*/true);
  int outcome = 1;
  if (!lines.empty())
    (void)lines[0].getAsInteger(10, outcome);
  r.outcome = static_cast<Outcome>(outcome);
  if (lines.size() > 1)
    r.frozen = lines[1].str();
  if (lines.size() > 2)
    r.reason = lines[2].str();
  for (size_t i = 3; i < lines.size(); ++i) {
    llvm::StringRef line = lines[i];
    if (line.consume_front("op "))
      r.unsupportedOps.push_back(line.str());
    else if (line.consume_front("type "))
      r.unsupportedElementTypes.push_back(line.str());
    else if (line.consume_front("value "))
      r.unsupportedValueTypes.push_back(line.str());
  }
  return r;
}

[[noreturn]] void workerMain(const std::vector<TestCase> &tests, int requestFd,
                             int resultFd) {
  uint32_t index;
  while (readAll(requestFd, &index, sizeof(index))) {
    std::string payload = index < tests.size()
                              ? encode(runTestGuarded(tests[index]))
                              : encode(fail("bad test index"));
    uint32_t size = static_cast<uint32_t>(payload.size());
    if (!writeAll(resultFd, &size, sizeof(size)) ||
        !writeAll(resultFd, payload.data(), payload.size()))
      break;
    // Anything the test printed goes out before the next one starts.
    std::fflush(stdout);
    std::fflush(stderr);
  }
  _exit(0);
}

class WorkerPool {
public:
  WorkerPool(const std::vector<TestCase> &tests, unsigned timeoutSeconds)
      : tests(tests), timeoutSeconds(timeoutSeconds) {}
  ~WorkerPool() { stop(); }

  TestResult run(uint32_t index) {
    if (pid <= 0 && !start())
      return fail("cannot fork a worker process: " +
                  std::string(strerror(errno)));
    output.clear();
    if (!writeAll(requestFd, &index, sizeof(index)))
      return crashed();
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    std::string record;
    uint32_t size = 0;
    bool haveSize = false;
    while (true) {
      int waitMs = -1;
      if (timeoutSeconds) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) {
          stop();
          return fail("timed out after " + std::to_string(timeoutSeconds) +
                      " s" + lastOutputLine());
        }
        waitMs = static_cast<int>(std::min<long long>(left, INT_MAX));
      }
      pollfd fds[2] = {{resultFd, POLLIN, 0}, {outputFd, POLLIN, 0}};
      int ready = ::poll(fds, outputFd >= 0 ? 2 : 1, waitMs);
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready < 0)
        return crashed();
      if (outputFd >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
        char buf[4096];
        ssize_t n = ::read(outputFd, buf, sizeof(buf));
        if (n > 0) {
          output.append(buf, static_cast<size_t>(n));
          if (output.size() > 65536)
            output.erase(0, output.size() - 16384);
        } else if (n == 0) {
          ::close(outputFd);
          outputFd = -1;
        }
      }
      if (fds[0].revents & (POLLIN | POLLHUP)) {
        char buf[4096];
        ssize_t n = ::read(resultFd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          return crashed();
        record.append(buf, static_cast<size_t>(n));
        if (!haveSize && record.size() >= sizeof(size)) {
          std::memcpy(&size, record.data(), sizeof(size));
          record.erase(0, sizeof(size));
          haveSize = true;
        }
        if (haveSize && record.size() >= size) {
          drainOutput();
          return decode(llvm::StringRef(record).take_front(size));
        }
      }
    }
  }

  /// What the last test printed (stdout and stderr of the worker).
  const std::string &lastOutput() const { return output; }

private:
  bool start() {
    int request[2], result[2], out[2];
    if (::pipe(request) || ::pipe(result) || ::pipe(out))
      return false;
    llvm::outs().flush();
    llvm::errs().flush();
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0)
      return false;
    if (child == 0) {
      ::close(request[1]);
      ::close(result[0]);
      ::close(out[0]);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      ::close(out[1]);
      workerMain(tests, request[0], result[1]);
    }
    ::close(request[0]);
    ::close(result[1]);
    ::close(out[1]);
    pid = child;
    requestFd = request[1];
    resultFd = result[0];
    outputFd = out[0];
    return true;
  }

  void stop() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int status;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    for (int *fd : {&requestFd, &resultFd, &outputFd})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    pid = -1;
  }

  /// Reads what the worker printed so far without blocking.
  void drainOutput() {
    while (outputFd >= 0) {
      pollfd fd = {outputFd, POLLIN, 0};
      if (::poll(&fd, 1, 0) <= 0 || !(fd.revents & POLLIN))
        return;
      char buf[4096];
      ssize_t n = ::read(outputFd, buf, sizeof(buf));
      if (n <= 0)
        return;
      output.append(buf, static_cast<size_t>(n));
    }
  }

  std::string lastOutputLine() {
    drainOutput();
    llvm::StringRef text = llvm::StringRef(output).rtrim();
    if (text.empty())
      return "";
    return ": " + text.rsplit('\n').second.trim().str();
  }

  /// The worker died during a test: reap it and say how.
  TestResult crashed() {
    drainOutput();
    std::string last = lastOutputLine();
    int status = 0;
    pid_t waited;
    while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    std::string how = "the worker process ended";
    if (waited == pid && WIFSIGNALED(status))
      how = "crashed with signal " + std::to_string(WTERMSIG(status)) + " (" +
            strsignal(WTERMSIG(status)) + ")";
    else if (waited == pid && WIFEXITED(status))
      how = "exited with status " + std::to_string(WEXITSTATUS(status)) +
            " without a result";
    pid = -1;
    stop();
    return fail(how + last);
  }

  const std::vector<TestCase> &tests;
  unsigned timeoutSeconds;
  pid_t pid = -1;
  int requestFd = -1, resultFd = -1, outputFd = -1;
  std::string output;
};

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

std::string padded(llvm::StringRef label) {
  std::string s = label.str();
  s.resize(std::max<size_t>(s.size(), 16), ' ');
  return s;
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (std::optional<int> status = parseOptions(argc, argv, options))
    return *status;
  ::signal(SIGPIPE, SIG_IGN);

  for (const std::string &root : options.roots) {
    if (llvm::sys::fs::is_directory(root))
      continue;
    if (options.skipMissingRoots) {
      llvm::outs() << "attnc-conformance: SKIPPED: the test root '" << root
                   << "' does not exist\n";
      return kSkipExitCode;
    }
    llvm::errs() << "attnc-conformance: the test root '" << root
                 << "' is not a directory\n";
    return 2;
  }

  KnownFailures known;
  if (!options.knownFailuresPath.empty() &&
      !readKnownFailures(options.knownFailuresPath, known))
    return 2;

  std::optional<llvm::Regex> filter;
  if (!options.filter.empty()) {
    filter.emplace(options.filter);
    std::string error;
    if (!filter->isValid(error)) {
      llvm::errs() << "attnc-conformance: bad --filter regex: " << error
                   << "\n";
      return 2;
    }
  }

  std::vector<TestCase> tests;
  std::set<std::string> allNames;
  for (const std::string &root : options.roots)
    for (TestCase &test : discoverTests(root)) {
      allNames.insert(test.name);
      if (!filter || filter->match(test.name))
        tests.push_back(std::move(test));
    }
  llvm::outs() << "attnc-conformance: " << tests.size() << " tests under "
               << llvm::join(options.roots, ", ")
               << "; tolerance rtol=" << number(kDefaultRtol)
               << " atol=" << number(kDefaultAtol)
               << " unless a test's data.json says otherwise\n";
  if (!filter)
    for (const auto &[name, reason] : known.reasons)
      if (!allNames.count(name))
        llvm::outs() << "warning: known failure '" << name
                     << "' names no test under the given roots\n";

  llvm::outs().flush();

  // Registers every ONNX schema once, before the workers are forked.
  (void)onnx::OpSchemaRegistry::Schema("Add", "");

  auto start = std::chrono::steady_clock::now();
  unsigned passed = 0, passedFrozen = 0, knownFailed = 0, failed = 0,
           skipped = 0, unexpectedPasses = 0;
  std::map<std::string, unsigned> unsupportedCounts, unsupportedTypeCounts,
      unsupportedValueCounts;
  WorkerPool pool(tests, options.timeoutSeconds);
  for (uint32_t i = 0; i < tests.size(); ++i) {
    const TestCase &test = tests[i];
    auto testStart = std::chrono::steady_clock::now();
    TestResult result = options.noFork ? runTestGuarded(test) : pool.run(i);
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - testStart)
                         .count();
    bool isKnown = known.contains(test.name);
    std::string label, detail;
    switch (result.outcome) {
    case Outcome::Skip:
      ++skipped;
      for (const std::string &op : result.unsupportedOps)
        ++unsupportedCounts[op];
      for (const std::string &type : result.unsupportedElementTypes)
        ++unsupportedTypeCounts[type];
      for (const std::string &kind : result.unsupportedValueTypes)
        ++unsupportedValueCounts[kind];
      label = "SKIPPED";
      detail = result.reason;
      break;
    case Outcome::Fail:
      if (isKnown) {
        ++knownFailed;
        label = "KNOWN-FAIL";
      } else {
        ++failed;
        label = "FAILED";
      }
      detail = result.reason;
      break;
    case Outcome::Pass:
      ++passed;
      if (!result.frozen.empty())
        ++passedFrozen;
      if (isKnown) {
        ++unexpectedPasses;
        label = "UNEXPECTED-PASS";
        detail = "passes" + (result.frozen.empty() ? "" : " " + result.frozen) +
                 " but is listed as a known failure (" +
                 known.reasons[test.name] + "); remove it from the list";
      } else {
        label = "PASS";
        detail = result.frozen;
      }
      break;
    }
    if (label != "PASS" || options.verbose) {
      llvm::outs() << padded(label) << test.name;
      if (!detail.empty())
        llvm::outs() << ": " << detail;
      if (options.verbose) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), " [%.2f s]", seconds);
        llvm::outs() << buf;
      }
      llvm::outs() << "\n";
      if (options.verbose && !options.noFork && label != "PASS" &&
          label != "SKIPPED") {
        llvm::StringRef printed = llvm::StringRef(pool.lastOutput()).trim();
        if (!printed.empty())
          llvm::outs() << "  output of " << test.name << ":\n"
                       << printed << "\n";
      }
      llvm::outs().flush();
    }
  }
  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  // `Name ×n, ...`, most frequent first.
  auto countList = [](const std::map<std::string, unsigned> &counts) {
    std::vector<std::pair<std::string, unsigned>> sorted(counts.begin(),
                                                         counts.end());
    llvm::stable_sort(sorted, [](const auto &a, const auto &b) {
      return a.second > b.second;
    });
    std::string list;
    for (const auto &[name, n] : sorted)
      list += (list.empty() ? "" : ", ") + name + " \u00d7" + std::to_string(n);
    return list;
  };
  std::vector<std::string> skipLists;
  if (!unsupportedCounts.empty())
    skipLists.push_back("unsupported ops: " + countList(unsupportedCounts));
  if (!unsupportedTypeCounts.empty())
    skipLists.push_back("element types: " + countList(unsupportedTypeCounts));
  if (!unsupportedValueCounts.empty())
    skipLists.push_back("value types: " + countList(unsupportedValueCounts));

  char timeText[64];
  std::snprintf(timeText, sizeof(timeText), "%.1f s", total);
  llvm::outs() << "\nattnc-conformance: ran " << tests.size() << ", passed "
               << passed << " (" << passedFrozen
               << " with integer inputs frozen), known failures " << knownFailed
               << ", failed " << failed << ", skipped " << skipped;
  if (!skipLists.empty())
    llvm::outs() << " (" << llvm::join(skipLists, "; ") << ")";
  llvm::outs() << "\n";
  if (unexpectedPasses)
    llvm::outs() << "attnc-conformance: " << unexpectedPasses
                 << " unexpected pass" << (unexpectedPasses > 1 ? "es" : "")
                 << ": update the known-failures list\n";
  llvm::outs() << "attnc-conformance: wall time " << timeText << "\n";
  llvm::outs().flush();
  return failed > 0 || unexpectedPasses > 0 ? 1 : 0;
}
