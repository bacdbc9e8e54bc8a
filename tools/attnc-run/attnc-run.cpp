//===- attnc-run.cpp - Run a library compiled by attnc ----------*- C++ -*-===//
//
// attnc-run loads a shared library produced by attnc, binds the inputs of one
// of its functions to .npy files by name, asks the companion
// `F_output_shapes` pipeline for the output extents, runs the function (once,
// or timed with --benchmark) and writes the outputs back as .npy files. It is
// the attnc counterpart of iree-run-module / iree-benchmark-module. Loading
// and calling the library is attnc::runtime::ModelLibrary; like it, the tool
// depends only on the C++ standard library, dlopen and HalideRuntime.h (for
// the structure layouts; no Halide code is linked in), so it can be
// cross-compiled for any target the compiler supports. The ABI it relies on
// is described in docs/abi.md.
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/ModelLibrary.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace attnc::runtime;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

/// The npy dtype descriptor used to store elements of `t`. bfloat16 has no
/// numpy type; its raw bits travel as little-endian uint16.
std::string npyDescrFor(halide_type_t t) {
  size_t bytes = elementBytes(t);
  char order = bytes == 1 ? '|' : '<';
  char kind = 'u';
  if (isBool(t))
    kind = 'b';
  else if (t.code == halide_type_int)
    kind = 'i';
  else if (t.code == halide_type_float)
    kind = 'f';
  return std::string(1, order) + kind + std::to_string(bytes);
}

/// Decodes an IEEE half-precision value.
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: renormalise into a normal float.
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ff;
    bits = sign | uint32_t(113 - shift) << 23 | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

float bfloatToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

template <typename T> T loadAs(const uint8_t *p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

/// One element, widened to the type used for ordering and printing.
struct Scalar {
  enum Kind { Signed, Unsigned, Floating } kind;
  int64_t s = 0;
  uint64_t u = 0;
  double f = 0;
};

Scalar loadScalar(const uint8_t *p, halide_type_t t) {
  Scalar v{Scalar::Floating};
  switch (t.code) {
  case halide_type_int:
    v.kind = Scalar::Signed;
    switch (t.bits) {
    case 8:
      v.s = loadAs<int8_t>(p);
      break;
    case 16:
      v.s = loadAs<int16_t>(p);
      break;
    case 32:
      v.s = loadAs<int32_t>(p);
      break;
    default:
      v.s = loadAs<int64_t>(p);
      break;
    }
    break;
  case halide_type_uint:
    v.kind = Scalar::Unsigned;
    switch (t.bits) {
    case 1:
    case 8:
      v.u = loadAs<uint8_t>(p);
      break;
    case 16:
      v.u = loadAs<uint16_t>(p);
      break;
    case 32:
      v.u = loadAs<uint32_t>(p);
      break;
    default:
      v.u = loadAs<uint64_t>(p);
      break;
    }
    break;
  case halide_type_bfloat:
    v.f = bfloatToFloat(loadAs<uint16_t>(p));
    break;
  default:
    if (t.bits == 16)
      v.f = halfToFloat(loadAs<uint16_t>(p));
    else if (t.bits == 32)
      v.f = loadAs<float>(p);
    else
      v.f = loadAs<double>(p);
    break;
  }
  return v;
}

double scalarAsDouble(const Scalar &v) {
  switch (v.kind) {
  case Scalar::Signed:
    return double(v.s);
  case Scalar::Unsigned:
    return double(v.u);
  default:
    return v.f;
  }
}

bool scalarLess(const Scalar &a, const Scalar &b) {
  switch (a.kind) {
  case Scalar::Signed:
    return a.s < b.s;
  case Scalar::Unsigned:
    return a.u < b.u;
  default:
    return a.f < b.f;
  }
}

std::string formatScalar(const Scalar &v, halide_type_t t) {
  char text[64];
  switch (v.kind) {
  case Scalar::Signed:
    std::snprintf(text, sizeof(text), "%" PRId64, v.s);
    break;
  case Scalar::Unsigned:
    if (isBool(t))
      return v.u ? "true" : "false";
    std::snprintf(text, sizeof(text), "%" PRIu64, v.u);
    break;
  default:
    std::snprintf(text, sizeof(text), "%.*g", t.bits == 64 ? 10 : 6, v.f);
    break;
  }
  return text;
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

constexpr size_t kAlignment = 64;

/// A dense host tensor in the attnc layout: ONNX shape [d0, ..., dr-1] is a
/// halide_buffer_t whose dim[k] has extent d(r-1-k), min 0 and dense strides.
/// The storage is a std::vector over-allocated so the host pointer can be
/// aligned to kAlignment bytes.
class Tensor {
public:
  Tensor(halide_type_t type, std::vector<int64_t> shape,
         const std::string &what)
      : elementType(type), onnxShape(std::move(shape)) {
    int rank = int(onnxShape.size());
    dims.resize(rank);
    int64_t stride = 1;
    for (int k = 0; k < rank; ++k) {
      int64_t extent = onnxShape[rank - 1 - k];
      if (extent < 0 || extent > std::numeric_limits<int32_t>::max())
        fail(what + ": extent " + std::to_string(extent) + " of shape " +
             formatShape(onnxShape) + " does not fit a halide_buffer_t");
      if (stride > std::numeric_limits<int32_t>::max())
        fail(what + ": shape " + formatShape(onnxShape) +
             " is too large for the 32-bit strides of a halide_buffer_t");
      dims[k].min = 0;
      dims[k].extent = int32_t(extent);
      dims[k].stride = int32_t(stride);
      dims[k].flags = 0;
      // Keep strides non-zero for empty tensors.
      stride *= std::max<int64_t>(extent, 1);
    }
    // `stride` is now the element count; it is at most 2^62 here.
    if (stride > std::numeric_limits<int64_t>::max() / 8 ||
        uint64_t(stride) * elementBytes(type) >
            std::numeric_limits<size_t>::max() / 2)
      fail(what + ": shape " + formatShape(onnxShape) + " is too large");
    elements = 1;
    for (int64_t extent : onnxShape)
      elements *= size_t(extent);
    bytes = elements * elementBytes(type);
    storage.resize(std::max(bytes, kAlignment) + kAlignment);
    uintptr_t address = reinterpret_cast<uintptr_t>(storage.data());
    size_t skew = (kAlignment - address % kAlignment) % kAlignment;
    host = storage.data() + skew;

    buffer = halide_buffer_t();
    buffer.host = host;
    buffer.type = type;
    buffer.dimensions = rank;
    buffer.dim = rank ? dims.data() : nullptr;
  }
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;

  halide_buffer_t *raw() { return &buffer; }
  uint8_t *data() const { return host; }
  size_t numElements() const { return elements; }
  size_t numBytes() const { return bytes; }
  halide_type_t type() const { return elementType; }
  const std::vector<int64_t> &shape() const { return onnxShape; }

private:
  halide_type_t elementType;
  std::vector<int64_t> onnxShape;
  size_t elements = 0;
  size_t bytes = 0;
  std::vector<uint8_t> storage;
  uint8_t *host = nullptr;
  std::vector<halide_dimension_t> dims;
  halide_buffer_t buffer;
};

//===----------------------------------------------------------------------===//
// .npy files
//===----------------------------------------------------------------------===//

/// The parts of an .npy header attnc-run uses.
struct NpyHeader {
  std::string descr;
  char byteOrder = 0;
  char kind = 0;
  int itemSize = 0;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

std::string npyDtypeName(char kind, int itemSize) {
  switch (kind) {
  case 'f':
    if (itemSize == 2 || itemSize == 4 || itemSize == 8)
      return "float" + std::to_string(itemSize * 8);
    break;
  case 'i':
    if (itemSize == 1 || itemSize == 2 || itemSize == 4 || itemSize == 8)
      return "int" + std::to_string(itemSize * 8);
    break;
  case 'u':
    if (itemSize == 1 || itemSize == 2 || itemSize == 4 || itemSize == 8)
      return "uint" + std::to_string(itemSize * 8);
    break;
  case 'b':
    if (itemSize == 1)
      return "bool";
    break;
  default:
    break;
  }
  return "unsupported dtype";
}

/// A parser for the Python dict literal in an .npy header, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
class NpyHeaderParser {
public:
  NpyHeaderParser(std::string text, std::string path)
      : text(std::move(text)), path(std::move(path)) {}

  NpyHeader parse() {
    NpyHeader header;
    bool haveDescr = false, haveOrder = false, haveShape = false;
    expect('{');
    while (!consume('}')) {
      std::string key = parseString();
      expect(':');
      if (key == "descr") {
        skipSpace();
        if (pos < text.size() && text[pos] == '[')
          error("structured dtypes are not supported");
        header.descr = parseString();
        haveDescr = true;
      } else if (key == "fortran_order") {
        header.fortranOrder = parseBool();
        haveOrder = true;
      } else if (key == "shape") {
        header.shape = parseShape();
        haveShape = true;
      } else {
        error("unexpected key " + quote(key));
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skipSpace();
    if (pos != text.size())
      error("trailing characters after the header dictionary");
    if (!haveDescr || !haveOrder || !haveShape)
      error("the header must have 'descr', 'fortran_order' and 'shape'");
    splitDescr(header);
    return header;
  }

private:
  [[noreturn]] void error(const std::string &message) {
    fail("file " + quote(path) + ": malformed .npy header: " + message);
  }

  void skipSpace() {
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }

  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!consume(c))
      error(std::string("expected '") + c + "'");
  }

  std::string parseString() {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      error("expected a string");
    char delimiter = text[pos++];
    size_t end = text.find(delimiter, pos);
    if (end == std::string::npos)
      error("unterminated string");
    std::string value = text.substr(pos, end - pos);
    pos = end + 1;
    return value;
  }

  bool parseBool() {
    skipSpace();
    if (text.compare(pos, 4, "True") == 0) {
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      pos += 5;
      return false;
    }
    error("expected True or False");
  }

  std::vector<int64_t> parseShape() {
    std::vector<int64_t> shape;
    expect('(');
    while (!consume(')')) {
      skipSpace();
      if (pos >= text.size() ||
          !std::isdigit(static_cast<unsigned char>(text[pos])))
        error("expected a non-negative integer in 'shape'");
      int64_t value = 0;
      while (pos < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[pos]))) {
        int digit = text[pos++] - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
          error("shape entry out of range");
        value = value * 10 + digit;
      }
      // Files written by Python 2 may spell integers as `3L`.
      if (pos < text.size() && text[pos] == 'L')
        ++pos;
      shape.push_back(value);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  void splitDescr(NpyHeader &header) {
    const std::string &d = header.descr;
    if (d.size() < 3 || std::string("<>|=").find(d[0]) == std::string::npos)
      error("unsupported dtype descriptor " + quote(d));
    header.byteOrder = d[0];
    header.kind = d[1];
    int size = 0;
    for (size_t i = 2; i < d.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(d[i])) || size > 1000)
        error("unsupported dtype descriptor " + quote(d));
      size = size * 10 + (d[i] - '0');
    }
    header.itemSize = size;
  }

  std::string text;
  std::string path;
  size_t pos = 0;
};

bool hostIsLittleEndian() {
  uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

/// An open FILE that is closed when it goes out of scope.
class FileHandle {
public:
  FileHandle(std::FILE *file) : file(file) {}
  ~FileHandle() {
    if (file)
      std::fclose(file);
  }
  FileHandle(const FileHandle &) = delete;
  FileHandle &operator=(const FileHandle &) = delete;
  std::FILE *get() const { return file; }
  /// Closes the file, returning false if any buffered write failed.
  bool close() {
    std::FILE *f = file;
    file = nullptr;
    return std::fclose(f) == 0;
  }

private:
  std::FILE *file;
};

/// Reads the header of an .npy file; the stream is left at the data.
NpyHeader readNpyHeader(std::FILE *file, const std::string &path) {
  unsigned char prefix[8];
  if (std::fread(prefix, 1, sizeof(prefix), file) != sizeof(prefix) ||
      std::memcmp(prefix, "\x93NUMPY", 6) != 0)
    fail("file " + quote(path) + " is not an .npy file (bad magic)");
  int major = prefix[6], minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0)
    fail("file " + quote(path) + ": unsupported .npy format version " +
         std::to_string(major) + "." + std::to_string(minor) +
         " (1.0, 2.0 and 3.0 are supported)");
  size_t lengthBytes = major == 1 ? 2 : 4;
  unsigned char lengthField[4] = {0, 0, 0, 0};
  if (std::fread(lengthField, 1, lengthBytes, file) != lengthBytes)
    fail("file " + quote(path) + ": truncated .npy header");
  size_t headerLength = size_t(lengthField[0]) | size_t(lengthField[1]) << 8 |
                        size_t(lengthField[2]) << 16 |
                        size_t(lengthField[3]) << 24;
  std::string text(headerLength, '\0');
  if (headerLength &&
      std::fread(&text[0], 1, headerLength, file) != headerLength)
    fail("file " + quote(path) + ": truncated .npy header");
  // The dictionary is padded with spaces and ends in a newline.
  while (!text.empty() &&
         (text.back() == '\n' || text.back() == ' ' || text.back() == '\0'))
    text.pop_back();
  NpyHeader header = NpyHeaderParser(text, path).parse();
  if (header.fortranOrder)
    fail("file " + quote(path) +
         ": Fortran-order arrays are not supported (save a C-order array)");
  return header;
}

/// The npy descriptor and dtype name attnc-run expects for type `t`.
std::string describeExpected(halide_type_t t) {
  return typeName(t) + " (" + quote(npyDescrFor(t)) + ")";
}

/// Loads input `name` of element type `type` and rank `rank` from `path`.
std::unique_ptr<Tensor> readInput(const std::string &name,
                                  const std::string &path, halide_type_t type,
                                  int rank) {
  FileHandle file(std::fopen(path.c_str(), "rb"));
  if (!file.get())
    fail("input " + quote(name) + ": cannot open " + quote(path) + ": " +
         std::strerror(errno));
  NpyHeader header = readNpyHeader(file.get(), path);
  std::string context = "input " + quote(name) + " (file " + quote(path) + ")";

  std::string actual = npyDtypeName(header.kind, header.itemSize) + " (" +
                       quote(header.descr) + ")";
  bool multiByte = header.itemSize > 1;
  if (multiByte && (header.byteOrder == '>' ||
                    (header.byteOrder == '=' && !hostIsLittleEndian())))
    fail(context + ": big-endian data is not supported; expected dtype " +
         describeExpected(type) + ", got " + actual);
  if (multiByte && header.byteOrder == '|')
    fail(context + ": invalid dtype descriptor " + quote(header.descr));
  std::string expectedDescr = npyDescrFor(type);
  if (header.kind != expectedDescr[1] ||
      header.itemSize != int(elementBytes(type)))
    fail(context + ": dtype mismatch: expected " + describeExpected(type) +
         ", got " + actual);
  if (int(header.shape.size()) != rank)
    fail(context + ": rank mismatch: expected rank " + std::to_string(rank) +
         ", got rank " + std::to_string(header.shape.size()) + " (shape " +
         formatShape(header.shape) + ")");

  // Compare with the size of the file before allocating anything, so that a
  // corrupt header cannot ask for an absurd amount of memory.
  uint64_t needed = 1;
  for (int64_t extent : header.shape) {
    if (extent &&
        needed > std::numeric_limits<uint64_t>::max() / 16 / uint64_t(extent))
      fail("file " + quote(path) + ": shape " + formatShape(header.shape) +
           " is too large");
    needed *= uint64_t(extent);
  }
  needed *= elementBytes(type);
  long dataStart = std::ftell(file.get());
  if (dataStart >= 0 && std::fseek(file.get(), 0, SEEK_END) == 0) {
    long fileEnd = std::ftell(file.get());
    if (fileEnd >= dataStart && uint64_t(fileEnd - dataStart) < needed)
      fail("file " + quote(path) + ": truncated data: shape " +
           formatShape(header.shape) + " needs " + std::to_string(needed) +
           " bytes, found " + std::to_string(fileEnd - dataStart));
    if (std::fseek(file.get(), dataStart, SEEK_SET) != 0)
      fail("file " + quote(path) + ": cannot seek: " + std::strerror(errno));
  }

  auto tensor = std::make_unique<Tensor>(type, header.shape, context);
  size_t got = tensor->numBytes() ? std::fread(tensor->data(), 1,
                                               tensor->numBytes(), file.get())
                                  : 0;
  if (got != tensor->numBytes())
    fail("file " + quote(path) + ": truncated data: shape " +
         formatShape(header.shape) + " needs " +
         std::to_string(tensor->numBytes()) + " bytes, found " +
         std::to_string(got));
  if (std::fgetc(file.get()) != EOF)
    fail("file " + quote(path) + ": unexpected bytes after the array data");
  if (std::ferror(file.get()))
    fail("file " + quote(path) + ": read error");
  return tensor;
}

/// Writes `tensor` to `path` as an .npy file (version 1.0, or 2.0 if the
/// header does not fit).
void writeNpy(const std::string &path, const Tensor &tensor) {
  std::string dict = "{'descr': '" + npyDescrFor(tensor.type()) +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < tensor.shape().size(); ++i) {
    dict += std::to_string(tensor.shape()[i]);
    if (tensor.shape().size() == 1 || i + 1 < tensor.shape().size())
      dict += ",";
    if (i + 1 < tensor.shape().size())
      dict += " ";
  }
  dict += "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary.
  size_t prefixBytes = 10;
  if (dict.size() + 1 + 64 > 0xffff)
    prefixBytes = 12;
  size_t total = prefixBytes + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';

  std::string prefix = "\x93NUMPY";
  size_t length = dict.size();
  if (prefixBytes == 10) {
    prefix += '\x01';
    prefix += '\x00';
    prefix += char(length & 0xff);
    prefix += char((length >> 8) & 0xff);
  } else {
    prefix += '\x02';
    prefix += '\x00';
    for (int i = 0; i < 4; ++i)
      prefix += char((length >> (8 * i)) & 0xff);
  }

  FileHandle file(std::fopen(path.c_str(), "wb"));
  if (!file.get())
    fail("cannot create " + quote(path) + ": " + std::strerror(errno));
  bool ok = std::fwrite(prefix.data(), 1, prefix.size(), file.get()) ==
                prefix.size() &&
            std::fwrite(dict.data(), 1, dict.size(), file.get()) == dict.size();
  if (ok && tensor.numBytes())
    ok = std::fwrite(tensor.data(), 1, tensor.numBytes(), file.get()) ==
         tensor.numBytes();
  int savedErrno = errno;
  if (!file.close() && ok) {
    ok = false;
    savedErrno = errno;
  }
  if (!ok)
    fail("cannot write " + quote(path) + ": " + std::strerror(savedErrno));
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

struct OutputRequest {
  std::string name; // Empty: the next output in order.
  std::string path;
};

struct Options {
  std::string libraryPath;
  std::string function;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::string weightsDir;
  std::vector<OutputRequest> outputs;
  long benchmarkRuns = 0;
  int threads = 0;
  bool print = false;
  bool help = false;
};

const char *const kUsage =
    "USAGE: attnc-run LIB.so [options]\n"
    "\n"
    "Runs function F of a shared library compiled by attnc (see docs/abi.md)\n"
    "on inputs read from .npy files and writes its outputs as .npy files.\n"
    "\n"
    "OPTIONS:\n"
    "  --function=F             the function to run (default: LIB's file "
    "name\n"
    "                           without directories, 'lib' prefix and "
    "extensions)\n"
    "  --input=NAME=@FILE.npy   bind input NAME; every input must be given "
    "once\n"
    "  --weights=DIR            bind every input not given by --input to\n"
    "                           DIR/NAME.npy when that file exists (the\n"
    "                           weights attnc --weights=param writes)\n"
    "  --output=@FILE.npy       write the next output, in order, to FILE.npy\n"
    "  --output=NAME=@FILE.npy  write output NAME to FILE.npy\n"
    "  --benchmark=N            after one warm-up call, time N calls and "
    "print\n"
    "                           the median, min and max\n"
    "  --threads=N              run on N threads of Halide's thread pool\n"
    "                           (default: HL_NUM_THREADS, else every core)\n"
    "  --print                  print each output's shape, dtype, first "
    "values\n"
    "                           and min/max/mean\n"
    "  --help                   show this message\n";

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// Splits `NAME=@FILE` (or `@FILE` when `allowUnnamed`) from a flag value.
std::pair<std::string, std::string> parseBinding(const std::string &flag,
                                                 const std::string &value,
                                                 bool allowUnnamed) {
  std::string hint =
      allowUnnamed ? "--" + flag + "=@FILE.npy or --" + flag + "=NAME=@FILE.npy"
                   : "--" + flag + "=NAME=@FILE.npy";
  if (allowUnnamed && startsWith(value, "@")) {
    if (value.size() == 1)
      fail("--" + flag + ": missing file name; expected " + hint);
    return {"", value.substr(1)};
  }
  size_t eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= value.size() ||
      value[eq + 1] != '@' || eq + 2 >= value.size())
    fail("--" + flag + "=" + value + ": expected " + hint);
  return {value.substr(0, eq), value.substr(eq + 2)};
}

Options parseCommandLine(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--print") {
      options.print = true;
    } else if (startsWith(arg, "--function=")) {
      options.function = arg.substr(std::strlen("--function="));
      if (options.function.empty())
        fail("--function needs a name");
    } else if (startsWith(arg, "--input=")) {
      options.inputs.push_back(
          parseBinding("input", arg.substr(std::strlen("--input=")), false));
    } else if (startsWith(arg, "--output=")) {
      auto binding =
          parseBinding("output", arg.substr(std::strlen("--output=")), true);
      options.outputs.push_back({binding.first, binding.second});
    } else if (startsWith(arg, "--weights=")) {
      options.weightsDir = arg.substr(std::strlen("--weights="));
      if (options.weightsDir.empty())
        fail("--weights needs a directory");
    } else if (startsWith(arg, "--benchmark=")) {
      std::string value = arg.substr(std::strlen("--benchmark="));
      char *end = nullptr;
      errno = 0;
      long runs = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno || runs < 1 ||
          runs > 1000000000L)
        fail("--benchmark=" + value + ": expected a positive number of runs");
      options.benchmarkRuns = runs;
    } else if (startsWith(arg, "--threads=")) {
      std::string value = arg.substr(std::strlen("--threads="));
      char *end = nullptr;
      errno = 0;
      long threads = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno || threads < 1 ||
          threads > 4096)
        fail("--threads=" + value +
             ": expected a number of threads from 1 to 4096");
      options.threads = static_cast<int>(threads);
    } else if (startsWith(arg, "--")) {
      std::string flag = arg.substr(0, arg.find('='));
      if (flag == "--input" || flag == "--output" || flag == "--function" ||
          flag == "--benchmark" || flag == "--weights" || flag == "--threads")
        fail(flag + " needs a value given as " + flag + "=...; see --help");
      fail("unknown option " + quote(arg) + "; see --help");
    } else if (options.libraryPath.empty()) {
      options.libraryPath = arg;
    } else {
      fail("unexpected argument " + quote(arg) + " (the library is already " +
           quote(options.libraryPath) + ")");
    }
  }
  return options;
}

/// `/x/libsdpa.so` -> `sdpa`, `model-1.so` -> `model_1`.
std::string defaultFunctionName(const std::string &libraryPath) {
  std::string name = libraryPath;
  size_t slash = name.find_last_of('/');
  if (slash != std::string::npos)
    name = name.substr(slash + 1);
  if (startsWith(name, "lib"))
    name = name.substr(3);
  size_t dot = name.find('.');
  if (dot != std::string::npos)
    name = name.substr(0, dot);
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      c = '_';
  if (name.empty())
    fail("cannot derive a function name from " + quote(libraryPath) +
         "; pass --function=F");
  return name;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// Binds the --input flags to the inputs of the signature, by name.
std::vector<std::string> bindInputs(const Options &options,
                                    const Signature &signature,
                                    const std::string &function) {
  std::vector<std::string> expected = argumentNames(signature.inputs);
  std::string expectedText = "; " + quote(function) +
                             " expects inputs: " + joinNames(expected) +
                             " (pass each as --input=NAME=@FILE.npy)";
  std::map<std::string, std::string> given;
  std::vector<std::string> unknown, duplicate;
  for (const auto &binding : options.inputs) {
    if (std::find(expected.begin(), expected.end(), binding.first) ==
        expected.end()) {
      unknown.push_back(binding.first);
      continue;
    }
    if (!given.emplace(binding.first, binding.second).second)
      duplicate.push_back(binding.first);
  }
  if (!unknown.empty())
    fail(std::string(unknown.size() == 1 ? "unknown input "
                                         : "unknown inputs ") +
         joinNames(unknown) + expectedText);
  if (!duplicate.empty())
    fail(std::string("input(s) given more than once: ") + joinNames(duplicate) +
         expectedText);
  std::vector<std::string> paths, missing;
  for (const std::string &name : expected) {
    auto it = given.find(name);
    std::string weight = options.weightsDir + "/" + name + ".npy";
    if (it != given.end())
      paths.push_back(it->second);
    else if (!options.weightsDir.empty() && access(weight.c_str(), R_OK) == 0)
      paths.push_back(weight);
    else
      missing.push_back(name);
  }
  if (!missing.empty())
    fail(std::string(missing.size() == 1 ? "missing input "
                                         : "missing inputs ") +
         joinNames(missing) + expectedText);
  return paths;
}

/// Binds the --output flags: unnamed ones in order, named ones by name.
/// Returns one path per output, empty where the output is not written.
std::vector<std::string> bindOutputs(const Options &options,
                                     const Signature &signature,
                                     const std::string &function) {
  std::vector<std::string> names = argumentNames(signature.outputs);
  std::string expectedText =
      "; " + quote(function) + " has outputs: " + joinNames(names);
  std::vector<std::string> paths(names.size());
  size_t nextUnnamed = 0;
  for (const OutputRequest &request : options.outputs) {
    size_t index;
    if (request.name.empty()) {
      if (nextUnnamed >= names.size())
        fail("more --output flags than outputs (" +
             std::to_string(names.size()) + ")" + expectedText);
      index = nextUnnamed++;
    } else {
      auto it = std::find(names.begin(), names.end(), request.name);
      if (it == names.end())
        fail("unknown output " + request.name + expectedText);
      index = size_t(it - names.begin());
    }
    if (!paths[index].empty())
      fail("output " + names[index] + " is bound more than once" +
           expectedText);
    paths[index] = request.path;
  }
  std::set<std::string> distinct;
  for (const std::string &path : paths)
    if (!path.empty() && !distinct.insert(path).second)
      fail("two outputs would be written to " + quote(path));
  return paths;
}

/// Writes every requested output to `path.tmp.<pid>` and then renames them
/// into place; on any failure every file created here is removed again.
void writeOutputs(const std::vector<std::unique_ptr<Tensor>> &outputs,
                  const std::vector<std::string> &paths) {
  struct Pending {
    std::string tmpPath;
    std::string finalPath;
  };
  std::vector<Pending> pending;
  std::string suffix = ".tmp." + std::to_string(long(getpid()));
  try {
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (paths[i].empty())
        continue;
      pending.push_back({paths[i] + suffix, paths[i]});
      writeNpy(pending.back().tmpPath, *outputs[i]);
    }
  } catch (...) {
    for (const Pending &file : pending)
      std::remove(file.tmpPath.c_str());
    throw;
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    if (std::rename(pending[i].tmpPath.c_str(), pending[i].finalPath.c_str()) ==
        0)
      continue;
    std::string message = "cannot rename " + quote(pending[i].tmpPath) +
                          " to " + quote(pending[i].finalPath) + ": " +
                          std::strerror(errno);
    for (size_t j = 0; j < pending.size(); ++j)
      std::remove((j < i ? pending[j].finalPath : pending[j].tmpPath).c_str());
    fail(message);
  }
}

void printTensor(const std::string &name, const Tensor &tensor) {
  halide_type_t type = tensor.type();
  size_t count = tensor.numElements();
  size_t bytes = elementBytes(type);
  std::printf("%s: shape %s %s\n", name.c_str(),
              formatShape(tensor.shape()).c_str(), typeName(type).c_str());
  const size_t kShown = 8;
  std::string values = "[";
  for (size_t i = 0; i < count && i < kShown; ++i) {
    if (i)
      values += ", ";
    values += formatScalar(loadScalar(tensor.data() + i * bytes, type), type);
  }
  if (count > kShown)
    values += ", ...";
  values += "]";
  std::printf("  values: %s\n", values.c_str());
  if (count == 0) {
    std::printf("  min: -  max: -  mean: -  (empty)\n");
    return;
  }
  bool haveOrdered = false;
  Scalar minimum{}, maximum{};
  double sum = 0;
  size_t nanCount = 0;
  for (size_t i = 0; i < count; ++i) {
    Scalar v = loadScalar(tensor.data() + i * bytes, type);
    sum += scalarAsDouble(v);
    if (v.kind == Scalar::Floating && std::isnan(v.f)) {
      ++nanCount;
      continue;
    }
    if (!haveOrdered) {
      minimum = maximum = v;
      haveOrdered = true;
      continue;
    }
    if (scalarLess(v, minimum))
      minimum = v;
    if (scalarLess(maximum, v))
      maximum = v;
  }
  std::string minText = haveOrdered ? formatScalar(minimum, type) : "nan";
  std::string maxText = haveOrdered ? formatScalar(maximum, type) : "nan";
  std::printf("  min: %s  max: %s  mean: %.6g", minText.c_str(),
              maxText.c_str(), sum / double(count));
  if (nanCount)
    std::printf("  (%zu NaN)", nanCount);
  std::printf("\n");
}

/// Three decimals, or six below 1 ms.
std::string formatMilliseconds(double ms) {
  char text[64];
  std::snprintf(text, sizeof(text), ms >= 1 ? "%.3f" : "%.6f", ms);
  return text;
}

int runTool(int argc, char **argv) {
  Options options = parseCommandLine(argc, argv);
  if (options.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (options.libraryPath.empty())
    fail("no library given\n" + std::string(kUsage));
  std::string function = options.function.empty()
                             ? defaultFunctionName(options.libraryPath)
                             : options.function;

  std::unique_ptr<ModelLibrary> loaded;
  try {
    loaded = std::make_unique<ModelLibrary>(options.libraryPath, function);
  } catch (const MissingSymbolError &error) {
    fail(std::string(error.what()) + "; is --function right?");
  }
  const ModelLibrary &library = *loaded;
  if (options.threads > 0) {
    try {
      library.setThreads(options.threads);
    } catch (const RuntimeError &error) {
      fail(std::string("--threads: ") + error.what());
    }
  }
  const Signature &signature = library.signature();

  // Validate every flag before reading data or running anything.
  std::vector<std::string> inputPaths =
      bindInputs(options, signature, function);
  std::vector<std::string> outputPaths =
      bindOutputs(options, signature, function);

  std::vector<std::unique_ptr<Tensor>> inputs;
  for (size_t i = 0; i < signature.inputs.size(); ++i) {
    const Argument &arg = signature.inputs[i];
    inputs.push_back(readInput(arg.name, inputPaths[i], arg.type, arg.rank));
    inputs.back()->raw()->flags |= halide_buffer_flag_host_dirty;
  }

  // Ask F_output_shapes for the extents of every output.
  std::vector<halide_buffer_t *> inputBuffers;
  for (auto &input : inputs)
    inputBuffers.push_back(input->raw());
  std::vector<std::vector<int64_t>> shapes = library.outputShapes(inputBuffers);
  std::vector<std::unique_ptr<Tensor>> outputs;
  std::vector<halide_buffer_t *> outputBuffers;
  for (size_t i = 0; i < signature.outputs.size(); ++i) {
    const Argument &arg = signature.outputs[i];
    outputs.push_back(std::make_unique<Tensor>(arg.type, shapes[i],
                                               "output " + quote(arg.name)));
    outputBuffers.push_back(outputs.back()->raw());
  }

  auto callOnce = [&]() { library.run(inputBuffers, outputBuffers); };

  if (options.benchmarkRuns > 0) {
    callOnce(); // Warm-up.
    std::vector<double> times;
    times.reserve(size_t(options.benchmarkRuns));
    for (long i = 0; i < options.benchmarkRuns; ++i) {
      auto start = std::chrono::steady_clock::now();
      callOnce();
      auto end = std::chrono::steady_clock::now();
      times.push_back(
          std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median =
        n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    std::printf("median: %s ms  min: %s ms  max: %s ms  (%zu runs)\n",
                formatMilliseconds(median).c_str(),
                formatMilliseconds(times.front()).c_str(),
                formatMilliseconds(times.back()).c_str(), n);
  } else {
    callOnce();
  }

  for (size_t i = 0; i < outputs.size(); ++i)
    library.syncToHost(outputs[i]->raw(),
                       "output " + quote(signature.outputs[i].name));

  if (options.print)
    for (size_t i = 0; i < outputs.size(); ++i)
      printTensor(signature.outputs[i].name, *outputs[i]);
  std::fflush(stdout);

  writeOutputs(outputs, outputPaths);

  for (auto &tensor : inputs)
    library.releaseDevice(tensor->raw());
  for (auto &tensor : outputs)
    library.releaseDevice(tensor->raw());
  // The library stays loaded: a Halide runtime may still own worker threads.
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return runTool(argc, argv);
  } catch (const RuntimeError &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "attnc-run: error: %s\n", error.what());
  } catch (const std::bad_alloc &) {
    std::fflush(stdout);
    std::fprintf(stderr, "attnc-run: error: out of memory\n");
  } catch (const std::exception &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "attnc-run: error: %s\n", error.what());
  }
  return 1;
}
