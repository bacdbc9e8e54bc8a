//===- JitNumericsTest.cpp - Every attn op through Halide's JIT -*- C++ -*-===//
//
// Numerics of every op of the attn dialect as the Halide emitter computes it.
// Each test builds a module from MLIR text, fills its inputs from a
// fixed-seed generator, runs it through runWithJit and compares the outputs
// with a float64 reference written here with plain loops (nothing of attnc is
// reused for the expected values). Float results must satisfy
//   max |got - reference| <= 1e-5 * max |reference|;
// integer and boolean results must be exact.
//
// The file only talks to MLIR and HalideEmitter.h, never to Halide.h, so it
// builds without exceptions or RTTI like the MLIR libraries.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::attn;

namespace {

//===----------------------------------------------------------------------===//
// Host tensors
//===----------------------------------------------------------------------===//

using Shape = std::vector<int64_t>;

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

template <typename T>
HostTensor makeTensor(DType dtype, const Shape &shape,
                      const std::vector<T> &values) {
  EXPECT_EQ(static_cast<int64_t>(values.size()), numElements(shape));
  EXPECT_EQ(sizeof(T), HostTensor::elementBytes(dtype));
  HostTensor t;
  t.dtype = dtype;
  t.shape = shape;
  t.data.resize(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

HostTensor f32Tensor(const Shape &shape, const std::vector<float> &values) {
  return makeTensor(DType::F32, shape, values);
}

HostTensor i32Tensor(const Shape &shape, const std::vector<int32_t> &values) {
  return makeTensor(DType::I32, shape, values);
}

HostTensor boolTensor(const Shape &shape, const std::vector<uint8_t> &values) {
  return makeTensor(DType::Bool, shape, values);
}

HostTensor uniformF32(const Shape &shape, std::mt19937 &rng, float lo,
                      float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(numElements(shape));
  for (float &x : values)
    x = dist(rng);
  return f32Tensor(shape, values);
}

HostTensor normalF32(const Shape &shape, std::mt19937 &rng,
                     float stddev = 1.0f) {
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> values(numElements(shape));
  for (float &x : values)
    x = dist(rng);
  return f32Tensor(shape, values);
}

/// An f64 tensor with the values of the f32 tensor `t`.
HostTensor toF64(const HostTensor &t) {
  std::vector<double> values(t.as<float>(), t.as<float>() + t.numElements());
  return makeTensor(DType::F64, t.shape, values);
}

/// The elements of `t` as doubles (booleans as 0 and 1).
std::vector<double> toDoubles(const HostTensor &t) {
  int64_t n = t.numElements();
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
    case DType::F32:
      out[i] = t.as<float>()[i];
      break;
    case DType::F64:
      out[i] = t.as<double>()[i];
      break;
    case DType::I64:
      out[i] = static_cast<double>(t.as<int64_t>()[i]);
      break;
    case DType::I32:
      out[i] = t.as<int32_t>()[i];
      break;
    case DType::I16:
      out[i] = t.as<int16_t>()[i];
      break;
    case DType::I8:
      out[i] = t.as<int8_t>()[i];
      break;
    case DType::U64:
      out[i] = static_cast<double>(t.as<uint64_t>()[i]);
      break;
    case DType::U32:
      out[i] = t.as<uint32_t>()[i];
      break;
    case DType::U16:
      out[i] = t.as<uint16_t>()[i];
      break;
    case DType::U8:
    case DType::Bool:
      out[i] = t.as<uint8_t>()[i];
      break;
    case DType::F16:
    case DType::BF16:
      ADD_FAILURE() << "16-bit floats are not read back by this test";
      return {};
    }
  }
  return out;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I64:
    return "i64";
  case DType::I32:
    return "i32";
  case DType::I16:
    return "i16";
  case DType::I8:
    return "i8";
  case DType::U64:
    return "u64";
  case DType::U32:
    return "u32";
  case DType::U16:
    return "u16";
  case DType::U8:
    return "u8";
  case DType::Bool:
    return "i1";
  }
  return "?";
}

std::string shapeString(const Shape &shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k)
    s += (k ? ", " : "") + std::to_string(shape[k]);
  return s + "]";
}

/// `tensor<AxBxelement>`, with `?` for negative extents.
std::string tensorType(const Shape &shape, const std::string &element) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s + element + ">";
}

//===----------------------------------------------------------------------===//
// Float64 references
//===----------------------------------------------------------------------===//

/// A row-major float64 tensor.
struct Array {
  Shape shape;
  std::vector<double> data;

  Array() = default;
  explicit Array(Shape s)
      : shape(std::move(s)), data(numElements(shape), 0.0) {}
  Array(Shape s, std::vector<double> values)
      : shape(std::move(s)), data(std::move(values)) {}
  static Array of(const HostTensor &t) { return Array(t.shape, toDoubles(t)); }
};

/// The row-major multi-index of flat position `flat` in `shape`.
Shape unflatten(int64_t flat, const Shape &shape) {
  Shape index(shape.size());
  for (int64_t k = static_cast<int64_t>(shape.size()) - 1; k >= 0; --k) {
    index[k] = flat % shape[k];
    flat /= shape[k];
  }
  return index;
}

/// Flat position in a tensor of shape `shape` of the element that numpy
/// broadcasting reads for `index`, an index into the broadcast result (axes
/// aligned on the right, size-1 axes stretched).
int64_t broadcastOffset(const Shape &shape, const Shape &index) {
  size_t shift = index.size() - shape.size();
  int64_t offset = 0;
  for (size_t k = 0; k < shape.size(); ++k)
    offset = offset * shape[k] + (shape[k] == 1 ? 0 : index[shift + k]);
  return offset;
}

/// The numpy broadcast of two shapes (they are assumed compatible).
Shape broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t k = 0; k < rank; ++k) {
    int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    out[k] = da == 1 ? db : da;
  }
  return out;
}

template <typename Fn> Array refBinary(const Array &a, const Array &b, Fn fn) {
  Array out(broadcastShapes(a.shape, b.shape));
  for (int64_t flat = 0; flat < numElements(out.shape); ++flat) {
    Shape index = unflatten(flat, out.shape);
    out.data[flat] = fn(a.data[broadcastOffset(a.shape, index)],
                        b.data[broadcastOffset(b.shape, index)]);
  }
  return out;
}

template <typename Fn> Array refUnary(const Array &in, Fn fn) {
  Array out(in.shape);
  for (size_t i = 0; i < in.data.size(); ++i)
    out.data[i] = fn(in.data[i]);
  return out;
}

/// output.shape[i] = input.shape[perm[i]].
Array refTranspose(const Array &in, const Shape &perm) {
  Shape shape(perm.size());
  for (size_t k = 0; k < perm.size(); ++k)
    shape[k] = in.shape[perm[k]];
  Array out(shape);
  for (int64_t flat = 0; flat < numElements(shape); ++flat) {
    Shape index = unflatten(flat, shape);
    Shape inIndex(perm.size());
    for (size_t k = 0; k < perm.size(); ++k)
      inIndex[perm[k]] = index[k];
    out.data[flat] = in.data[broadcastOffset(in.shape, inIndex)];
  }
  return out;
}

/// Batched [.., M, K] x [.., K, N] with numpy-broadcast batch axes.
Array refMatMul(const Array &a, const Array &b) {
  size_t ra = a.shape.size(), rb = b.shape.size();
  int64_t m = a.shape[ra - 2], kk = a.shape[ra - 1], n = b.shape[rb - 1];
  Shape batchA(a.shape.begin(), a.shape.end() - 2);
  Shape batchB(b.shape.begin(), b.shape.end() - 2);
  Shape batch = broadcastShapes(batchA, batchB);
  Shape shape = batch;
  shape.push_back(m);
  shape.push_back(n);
  Array out(shape);
  for (int64_t bi = 0; bi < numElements(batch); ++bi) {
    Shape index = unflatten(bi, batch);
    const double *pa = &a.data[broadcastOffset(batchA, index) * m * kk];
    const double *pb = &b.data[broadcastOffset(batchB, index) * kk * n];
    double *po = &out.data[bi * m * n];
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int64_t k = 0; k < kk; ++k)
          acc += pa[i * kk + k] * pb[k * n + j];
        po[i * n + j] = acc;
      }
  }
  return out;
}

/// Softmax along `axis` (non-negative).
Array refSoftmax(const Array &in, size_t axis) {
  Array out(in.shape);
  int64_t extent = in.shape[axis];
  int64_t inner = 1;
  for (size_t k = axis + 1; k < in.shape.size(); ++k)
    inner *= in.shape[k];
  int64_t outer = numElements(in.shape) / (extent * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t r) { return (o * extent + r) * inner + i; };
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t r = 0; r < extent; ++r)
        mx = std::max(mx, in.data[at(r)]);
      double sum = 0.0;
      for (int64_t r = 0; r < extent; ++r)
        sum += std::exp(in.data[at(r)] - mx);
      for (int64_t r = 0; r < extent; ++r)
        out.data[at(r)] = std::exp(in.data[at(r)] - mx) / sum;
    }
  return out;
}

/// Scaled dot-product attention as the dialect defines it: q [B, H, Nq, D],
/// k [B, Hkv, Nk, D], v [B, Hkv, Nk, Dv]; query head h reads K/V head
/// h / (H / Hkv); causal masks key j for query i when j > i; a boolean mask
/// keeps the positions where it is non-zero, a float mask is added to the
/// scaled scores (-inf masks the position); a row without any kept key is
/// the mean of V.
Array refSdpa(const Array &q, const Array &k, const Array &v, double scale,
              bool causal, const Array *mask, bool boolMask) {
  int64_t nb = q.shape[0], nh = q.shape[1], nq = q.shape[2], d = q.shape[3];
  int64_t nhkv = k.shape[1], nk = k.shape[2], dv = v.shape[3];
  int64_t group = nh / nhkv;
  Array out({nb, nh, nq, dv});
  std::vector<double> scores(nk);
  std::vector<bool> keep(nk);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t i = 0; i < nq; ++i) {
        int64_t hk = h / group;
        const double *qRow = &q.data[((b * nh + h) * nq + i) * d];
        double mx = -std::numeric_limits<double>::infinity();
        bool any = false;
        for (int64_t j = 0; j < nk; ++j) {
          const double *kRow = &k.data[((b * nhkv + hk) * nk + j) * d];
          double dot = 0.0;
          for (int64_t x = 0; x < d; ++x)
            dot += qRow[x] * kRow[x];
          double s = scale * dot;
          bool kept = !causal || j <= i;
          if (mask) {
            double m = mask->data[broadcastOffset(mask->shape, {b, h, i, j})];
            if (boolMask)
              kept = kept && m != 0.0;
            else
              s += m;
          }
          kept = kept && !(std::isinf(s) && s < 0);
          scores[j] = s;
          keep[j] = kept;
          if (kept) {
            any = true;
            mx = std::max(mx, s);
          }
        }
        double *o = &out.data[((b * nh + h) * nq + i) * dv];
        double sum = 0.0;
        for (int64_t j = 0; j < nk; ++j) {
          double w = any ? (keep[j] ? std::exp(scores[j] - mx) : 0.0) : 1.0;
          sum += w;
          const double *vRow = &v.data[((b * nhkv + hk) * nk + j) * dv];
          for (int64_t x = 0; x < dv; ++x)
            o[x] += w * vRow[x];
        }
        for (int64_t x = 0; x < dv; ++x)
          o[x] /= sum;
      }
  return out;
}

//===----------------------------------------------------------------------===//
// Comparisons
//===----------------------------------------------------------------------===//

/// The float tolerance of this file: the largest error may be 1e-5 of the
/// largest magnitude of the reference.
constexpr double kRelativeTolerance = 1e-5;

::testing::AssertionResult hasTypeAndShape(const HostTensor &got, DType dtype,
                                           const Shape &shape) {
  if (got.dtype != dtype)
    return ::testing::AssertionFailure() << "dtype " << dtypeName(got.dtype)
                                         << ", expected " << dtypeName(dtype);
  if (got.shape != shape)
    return ::testing::AssertionFailure() << "shape " << shapeString(got.shape)
                                         << ", expected " << shapeString(shape);
  if (got.data.size() !=
      static_cast<size_t>(numElements(shape)) * HostTensor::elementBytes(dtype))
    return ::testing::AssertionFailure()
           << got.data.size() << " bytes of data for shape "
           << shapeString(shape);
  return ::testing::AssertionSuccess();
}

/// max |got - ref| <= kRelativeTolerance * max |ref|, NaNs never pass.
::testing::AssertionResult allClose(const HostTensor &got, DType dtype,
                                    const Array &ref) {
  if (::testing::AssertionResult r = hasTypeAndShape(got, dtype, ref.shape); !r)
    return r;
  std::vector<double> values = toDoubles(got);
  double maxRef = 0.0;
  for (double x : ref.data)
    maxRef = std::max(maxRef, std::fabs(x));
  double tolerance = kRelativeTolerance * maxRef;
  double worst = 0.0;
  int64_t worstAt = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    double err = std::fabs(values[i] - ref.data[i]);
    if (std::isnan(err))
      err = std::numeric_limits<double>::infinity();
    if (worstAt < 0 || err > worst) {
      worst = err;
      worstAt = static_cast<int64_t>(i);
    }
  }
  if (worstAt < 0 || worst <= tolerance)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max abs error " << worst << " > tolerance " << tolerance
         << " (max |ref| " << maxRef << ") at index "
         << shapeString(unflatten(worstAt, ref.shape)) << ": got "
         << values[worstAt] << ", expected " << ref.data[worstAt];
}

/// Integer or boolean results: every element exactly as expected.
::testing::AssertionResult allEqual(const HostTensor &got, DType dtype,
                                    const Shape &shape,
                                    const std::vector<int64_t> &expected) {
  if (::testing::AssertionResult r = hasTypeAndShape(got, dtype, shape); !r)
    return r;
  std::vector<double> values = toDoubles(got);
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] != static_cast<double>(expected[i]))
      return ::testing::AssertionFailure()
             << "at index " << shapeString(unflatten(i, shape)) << ": got "
             << values[i] << ", expected " << expected[i];
  return ::testing::AssertionSuccess();
}

//===----------------------------------------------------------------------===//
// Fixture
//===----------------------------------------------------------------------===//

/// Collects the diagnostics emitted while it lives instead of printing them.
class DiagnosticCapture {
public:
  explicit DiagnosticCapture(MLIRContext &context)
      : handler(&context, [this](Diagnostic &diag) {
          os << diag.getLocation() << ": " << diag << "\n";
          for (const Diagnostic &note : diag.getNotes())
            os << "  note: " << note << "\n";
          return success();
        }) {}
  std::string str() { return os.str(); }

private:
  std::string text;
  llvm::raw_string_ostream os{text};
  ScopedDiagnosticHandler handler;
};

/// One attn.sdpa test: shapes, attributes, optional mask and schedule.
struct SdpaCase {
  int64_t batch = 2, heads = 2, kvHeads = 2, nq = 16, nk = 16, headDim = 8,
          valueDim = 8;
  /// Absent: the default 1/sqrt(D).
  std::optional<double> scale;
  bool causal = false;
  std::optional<HostTensor> mask;
  /// An #attn.schedule, or empty for none.
  std::string schedule;
  /// Run attn-tile before the JIT (the op must then carry a schedule).
  bool tile = false;
  unsigned seed = 1;
};

class JitNumericsTest : public ::testing::Test {
protected:
  JitNumericsTest() { context.loadDialect<AttnDialect, func::FuncDialect>(); }

  ::testing::AssertionResult parse(const std::string &source,
                                   OwningOpRef<ModuleOp> &module) {
    DiagnosticCapture diags(context);
    module = parseSourceString<ModuleOp>(source, ParserConfig(&context));
    if (!module)
      return ::testing::AssertionFailure() << "cannot parse the module:\n"
                                           << diags.str() << "\n"
                                           << source;
    return ::testing::AssertionSuccess();
  }

  /// Gives every op of `module` a heuristic schedule (attn-tile).
  ::testing::AssertionResult tile(ModuleOp module) {
    DiagnosticCapture diags(context);
    PassManager pm(&context);
    pm.addNestedPass<func::FuncOp>(createAttnTile());
    if (failed(pm.run(module)))
      return ::testing::AssertionFailure() << "attn-tile failed:\n"
                                           << diags.str();
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult run(ModuleOp module,
                                 llvm::ArrayRef<HostTensor> inputs,
                                 std::vector<HostTensor> &outputs) {
    DiagnosticCapture diags(context);
    if (failed(runWithJit(module, inputs, outputs)))
      return ::testing::AssertionFailure() << "runWithJit failed:\n"
                                           << diags.str();
    return ::testing::AssertionSuccess();
  }

  /// Parses `source` and runs it through the JIT.
  ::testing::AssertionResult run(const std::string &source,
                                 llvm::ArrayRef<HostTensor> inputs,
                                 std::vector<HostTensor> &outputs) {
    OwningOpRef<ModuleOp> module;
    if (::testing::AssertionResult r = parse(source, module); !r)
      return r;
    return run(*module, inputs, outputs);
  }

  /// Runs one attn.sdpa and compares it with refSdpa.
  void checkSdpa(const SdpaCase &c);

  MLIRContext context;
};

void JitNumericsTest::checkSdpa(const SdpaCase &c) {
  std::mt19937 rng(c.seed);
  Shape qShape = {c.batch, c.heads, c.nq, c.headDim};
  Shape kShape = {c.batch, c.kvHeads, c.nk, c.headDim};
  Shape vShape = {c.batch, c.kvHeads, c.nk, c.valueDim};
  Shape oShape = {c.batch, c.heads, c.nq, c.valueDim};
  std::vector<HostTensor> inputs = {
      normalF32(qShape, rng), normalF32(kShape, rng), normalF32(vShape, rng)};
  if (c.mask)
    inputs.push_back(*c.mask);
  bool boolMask = c.mask && c.mask->dtype == DType::Bool;

  std::vector<std::string> attrs;
  if (c.scale) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.17e", *c.scale);
    attrs.push_back(std::string("scale = ") + buffer + " : f64");
  }
  if (c.causal)
    attrs.push_back("causal");
  if (c.heads != c.kvHeads)
    attrs.push_back("kv_group = " + std::to_string(c.heads / c.kvHeads) +
                    " : i64");
  if (!c.schedule.empty())
    attrs.push_back("schedule = " + c.schedule);
  std::string attrDict;
  for (size_t k = 0; k < attrs.size(); ++k)
    attrDict += (k ? ", " : "{") + attrs[k];
  if (!attrDict.empty())
    attrDict += "} ";

  std::string tq = tensorType(qShape, "f32"), tk = tensorType(kShape, "f32"),
              tv = tensorType(vShape, "f32"), to = tensorType(oShape, "f32");
  std::string tm =
      c.mask ? tensorType(c.mask->shape, boolMask ? "i1" : "f32") : "";
  std::string source = "func.func @sdpa(%q: " + tq + ", %k: " + tk +
                       ", %v: " + tv + (c.mask ? ", %m: " + tm : "") + ") -> " +
                       to + " {\n" + "  %o = attn.sdpa %q, %k, %v " +
                       (c.mask ? "mask %m " : "") + attrDict + ": (" + tq +
                       ", " + tk + ", " + tv + (c.mask ? ", " + tm : "") +
                       ") -> " + to + "\n  return %o : " + to + "\n}\n";

  OwningOpRef<ModuleOp> module;
  ASSERT_TRUE(parse(source, module));
  if (c.tile) {
    ASSERT_TRUE(tile(*module));
    bool scheduled = false;
    module->walk([&](SdpaOp op) { scheduled = op->hasAttr("schedule"); });
    EXPECT_TRUE(scheduled) << "attn-tile left attn.sdpa without a schedule";
  }
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(*module, inputs, outputs)) << source;
  ASSERT_EQ(outputs.size(), 1u);

  Array mask = c.mask ? Array::of(*c.mask) : Array();
  double scale =
      c.scale ? *c.scale : 1.0 / std::sqrt(static_cast<double>(c.headDim));
  Array ref =
      refSdpa(Array::of(inputs[0]), Array::of(inputs[1]), Array::of(inputs[2]),
              scale, c.causal, c.mask ? &mask : nullptr, boolMask);
  EXPECT_TRUE(allClose(outputs[0], DType::F32, ref)) << source;
}

//===----------------------------------------------------------------------===//
// attn.constant
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, ConstantSplatAndNonSplat) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>,
    tensor<2x3xf32>) {
  %c = attn.constant dense<[[1.5, -2.0, 3.25], [0.0, 4.0, -5.5]]>
      : tensor<2x3xf32>
  %s = attn.constant dense<0.5> : tensor<2x3xf32>
  %a = attn.add %x, %c : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = attn.mul %x, %s : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %a, %m, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}
)mlir";
  std::mt19937 rng(11);
  HostTensor x = uniformF32({2, 3}, rng, -4.0f, 4.0f);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 3u);
  Array c({2, 3}, {1.5, -2.0, 3.25, 0.0, 4.0, -5.5});
  Array ax = Array::of(x);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32,
               refBinary(ax, c, [](double a, double b) { return a + b; })));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       refUnary(ax, [](double a) { return a * 0.5; })));
  EXPECT_TRUE(allClose(outputs[2], DType::F32, c));
}

TEST_F(JitNumericsTest, ConstantIntegerAndBoolNonSplat) {
  const char *source = R"mlir(
func.func @f(%x: tensor<4xi32>) -> (tensor<2x4xi32>, tensor<2x4xf32>) {
  %c = attn.constant dense<[[1, -2, 3, -4], [50, 60, -70, 80]]>
      : tensor<2x4xi32>
  %b = attn.constant
      dense<[[true, false, false, true], [false, true, true, false]]>
      : tensor<2x4xi1>
  %a = attn.add %c, %x : (tensor<2x4xi32>, tensor<4xi32>) -> tensor<2x4xi32>
  %f = attn.cast %b : tensor<2x4xi1> to tensor<2x4xf32>
  return %a, %f : tensor<2x4xi32>, tensor<2x4xf32>
}
)mlir";
  HostTensor x = i32Tensor({4}, {10, 20, -30, 40});
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_TRUE(allEqual(outputs[0], DType::I32, {2, 4},
                       {11, 18, -27, 36, 60, 80, -100, 120}));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       Array({2, 4}, {1, 0, 0, 1, 0, 1, 1, 0})));
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, AddBroadcastsScalarInput) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3x5xf32>, %s: tensor<f32>) -> tensor<2x3x5xf32> {
  %a = attn.add %x, %s : (tensor<2x3x5xf32>, tensor<f32>) -> tensor<2x3x5xf32>
  return %a : tensor<2x3x5xf32>
}
)mlir";
  std::mt19937 rng(21);
  HostTensor x = normalF32({2, 3, 5}, rng);
  HostTensor s = f32Tensor({}, {2.5f});
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, s}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(allClose(outputs[0], DType::F32,
                       refBinary(Array::of(x), Array::of(s),
                                 [](double a, double b) { return a + b; })));
}

TEST_F(JitNumericsTest, AddBroadcastsTrailingAxes) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3x4xf32>, %y: tensor<4xf32>, %z: tensor<2x1x4xf32>)
    -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %a = attn.add %x, %y : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %b = attn.add %z, %x : (tensor<2x1x4xf32>, tensor<2x3x4xf32>)
      -> tensor<2x3x4xf32>
  return %a, %b : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}
)mlir";
  std::mt19937 rng(22);
  HostTensor x = normalF32({2, 3, 4}, rng);
  HostTensor y = normalF32({4}, rng);
  HostTensor z = normalF32({2, 1, 4}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, y, z}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  auto add = [](double a, double b) { return a + b; };
  EXPECT_TRUE(allClose(outputs[0], DType::F32,
                       refBinary(Array::of(x), Array::of(y), add)));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       refBinary(Array::of(z), Array::of(x), add)));
}

TEST_F(JitNumericsTest, SubBroadcastsColumnAgainstRow) {
  const char *source = R"mlir(
func.func @f(%x: tensor<3x1xf32>, %y: tensor<1x4xf32>) -> (tensor<3x4xf32>,
    tensor<3x4xf32>) {
  %a = attn.sub %x, %y : (tensor<3x1xf32>, tensor<1x4xf32>) -> tensor<3x4xf32>
  %b = attn.sub %y, %x : (tensor<1x4xf32>, tensor<3x1xf32>) -> tensor<3x4xf32>
  return %a, %b : tensor<3x4xf32>, tensor<3x4xf32>
}
)mlir";
  HostTensor x = f32Tensor({3, 1}, {1.0f, 10.0f, 100.0f});
  HostTensor y = f32Tensor({1, 4}, {0.5f, 0.25f, -2.0f, 8.0f});
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, y}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  auto sub = [](double a, double b) { return a - b; };
  Array ref = refBinary(Array::of(x), Array::of(y), sub);
  // The reference itself, spelled out for the first row.
  EXPECT_EQ(ref.shape, Shape({3, 4}));
  EXPECT_EQ(ref.data[0], 0.5);
  EXPECT_EQ(ref.data[3], -7.0);
  EXPECT_TRUE(allClose(outputs[0], DType::F32, ref));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       refBinary(Array::of(y), Array::of(x), sub)));
}

TEST_F(JitNumericsTest, MulBroadcastsScalarConstant) {
  const char *source = R"mlir(
func.func @f(%x: tensor<3x1xf32>, %y: tensor<1x4xf32>) -> (tensor<3x4xf32>,
    tensor<3x1xf32>) {
  %c = attn.constant dense<-3.0> : tensor<f32>
  %a = attn.mul %x, %y : (tensor<3x1xf32>, tensor<1x4xf32>) -> tensor<3x4xf32>
  %b = attn.mul %c, %x : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  return %a, %b : tensor<3x4xf32>, tensor<3x1xf32>
}
)mlir";
  std::mt19937 rng(23);
  HostTensor x = normalF32({3, 1}, rng);
  HostTensor y = normalF32({1, 4}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, y}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  auto mul = [](double a, double b) { return a * b; };
  EXPECT_TRUE(allClose(outputs[0], DType::F32,
                       refBinary(Array::of(x), Array::of(y), mul)));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       refBinary(Array({}, {-3.0}), Array::of(x), mul)));
}

TEST_F(JitNumericsTest, DivBroadcastsFloat) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3x4xf32>, %y: tensor<3x1xf32>, %s: tensor<f32>)
    -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %a = attn.div %x, %y : (tensor<2x3x4xf32>, tensor<3x1xf32>)
      -> tensor<2x3x4xf32>
  %b = attn.div %s, %x : (tensor<f32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %a, %b : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}
)mlir";
  std::mt19937 rng(24);
  // Magnitudes kept away from zero so that the quotients stay moderate.
  HostTensor x = uniformF32({2, 3, 4}, rng, 0.5f, 4.0f);
  for (int64_t i = 0; i < x.numElements(); i += 3)
    x.as<float>()[i] = -x.as<float>()[i];
  HostTensor y = f32Tensor({3, 1}, {2.0f, -0.75f, 3.0f});
  HostTensor s = f32Tensor({}, {7.0f});
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, y, s}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  auto div = [](double a, double b) { return a / b; };
  EXPECT_TRUE(allClose(outputs[0], DType::F32,
                       refBinary(Array::of(x), Array::of(y), div)));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       refBinary(Array::of(s), Array::of(x), div)));
}

TEST_F(JitNumericsTest, IntegerArithmeticIsExact) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x6xi32>, %y: tensor<6xi32>) -> (tensor<2x6xi32>,
    tensor<2x6xi32>, tensor<2x6xi32>) {
  %a = attn.add %x, %y : (tensor<2x6xi32>, tensor<6xi32>) -> tensor<2x6xi32>
  %s = attn.sub %x, %y : (tensor<2x6xi32>, tensor<6xi32>) -> tensor<2x6xi32>
  %m = attn.mul %x, %y : (tensor<2x6xi32>, tensor<6xi32>) -> tensor<2x6xi32>
  return %a, %s, %m : tensor<2x6xi32>, tensor<2x6xi32>, tensor<2x6xi32>
}
)mlir";
  std::vector<int32_t> xs = {7, -7, 7, -7, 0, 9, -1, 1, -13, 13, 100, -100};
  std::vector<int32_t> ys = {2, 2, -2, -2, 3, 4};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(
      run(source, {i32Tensor({2, 6}, xs), i32Tensor({6}, ys)}, outputs));
  ASSERT_EQ(outputs.size(), 3u);
  std::vector<int64_t> add, sub, mul;
  for (size_t i = 0; i < xs.size(); ++i) {
    int64_t a = xs[i], b = ys[i % 6];
    add.push_back(a + b);
    sub.push_back(a - b);
    mul.push_back(a * b);
  }
  EXPECT_TRUE(allEqual(outputs[0], DType::I32, {2, 6}, add));
  EXPECT_TRUE(allEqual(outputs[1], DType::I32, {2, 6}, sub));
  EXPECT_TRUE(allEqual(outputs[2], DType::I32, {2, 6}, mul));
}

TEST_F(JitNumericsTest, IntegerDivTruncatesTowardZero) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x6xi32>, %y: tensor<6xi32>) -> (tensor<2x6xi32>,
    tensor<2x6xi32>) {
  %c = attn.constant dense<-4> : tensor<i32>
  %d = attn.div %x, %y : (tensor<2x6xi32>, tensor<6xi32>) -> tensor<2x6xi32>
  %e = attn.div %x, %c : (tensor<2x6xi32>, tensor<i32>) -> tensor<2x6xi32>
  return %d, %e : tensor<2x6xi32>, tensor<2x6xi32>
}
)mlir";
  std::vector<int32_t> xs = {7, -7, 7, -7, 0, 9, -1, 1, -13, 13, 100, -100};
  std::vector<int32_t> ys = {2, 2, -2, -2, 3, 4};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(
      run(source, {i32Tensor({2, 6}, xs), i32Tensor({6}, ys)}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  // Spelled out rather than computed: ONNX Div truncates toward zero.
  EXPECT_TRUE(allEqual(outputs[0], DType::I32, {2, 6},
                       {3, -3, -3, 3, 0, 2, 0, 0, 6, -6, 33, -25}));
  EXPECT_TRUE(allEqual(outputs[1], DType::I32, {2, 6},
                       {-1, 1, -1, 1, 0, -2, 0, 0, 3, -3, -25, 25}));
}

TEST_F(JitNumericsTest, Int16DivOverAVectorTail) {
  // Rows of 5 elements under attn-tile's 8-lane vectors: the loop has unused
  // lanes, where a faulting division would trap.
  const char *source = R"mlir(
func.func @f(%x: tensor<3x5xi16>, %y: tensor<3x5xi16>) -> tensor<3x5xi16> {
  %d = attn.div %x, %y : (tensor<3x5xi16>, tensor<3x5xi16>) -> tensor<3x5xi16>
  return %d : tensor<3x5xi16>
}
)mlir";
  std::vector<int16_t> xs = {7,   -7, 7,   -7,   0,      9,     -1, 1,
                             -13, 13, 100, -100, -32768, 32767, 5};
  std::vector<int16_t> ys = {2, 2, -2, -2, 3, 4, 5, -5, 4, -4, 7, 7, 2, -1, 5};
  OwningOpRef<ModuleOp> module;
  ASSERT_TRUE(parse(source, module));
  ASSERT_TRUE(tile(*module));
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(
      *module,
      {makeTensor(DType::I16, {3, 5}, xs), makeTensor(DType::I16, {3, 5}, ys)},
      outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allEqual(outputs[0], DType::I16, {3, 5},
               {3, -3, -3, 3, 0, 2, 0, 0, -3, -3, 14, -14, -16384, -32767, 1}));
}

TEST_F(JitNumericsTest, UnsignedIntegers) {
  const char *source = R"mlir(
func.func @f(%x: tensor<5xui32>, %y: tensor<5xui32>, %z: tensor<5xui16>)
    -> (tensor<5xui32>, tensor<5xui32>, tensor<5xui32>, tensor<5xi1>,
        tensor<5xui64>, tensor<5xi16>, tensor<5xf32>) {
  %a = attn.add %x, %y : (tensor<5xui32>, tensor<5xui32>) -> tensor<5xui32>
  %d = attn.div %x, %y : (tensor<5xui32>, tensor<5xui32>) -> tensor<5xui32>
  %m = attn.mod %x, %y : (tensor<5xui32>, tensor<5xui32>) -> tensor<5xui32>
  %l = attn.less %x, %y : (tensor<5xui32>, tensor<5xui32>) -> tensor<5xi1>
  %w = attn.cast %z : tensor<5xui16> to tensor<5xui64>
  %n = attn.cast %z : tensor<5xui16> to tensor<5xi16>
  %f = attn.cast %x : tensor<5xui32> to tensor<5xf32>
  return %a, %d, %m, %l, %w, %n, %f : tensor<5xui32>, tensor<5xui32>,
      tensor<5xui32>, tensor<5xi1>, tensor<5xui64>, tensor<5xi16>, tensor<5xf32>
}
)mlir";
  std::vector<uint32_t> xs = {4000000000u, 7, 3000000000u, 0, 5};
  std::vector<uint32_t> ys = {3, 2, 4000000000u, 1, 300000000u};
  std::vector<uint16_t> zs = {65535, 0, 32768, 1, 40000};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(
      run(source,
          {makeTensor(DType::U32, {5}, xs), makeTensor(DType::U32, {5}, ys),
           makeTensor(DType::U16, {5}, zs)},
          outputs));
  ASSERT_EQ(outputs.size(), 7u);
  // Sums wrap modulo 2^32; comparisons, quotients and remainders are those
  // of the unsigned values.
  EXPECT_TRUE(allEqual(outputs[0], DType::U32, {5},
                       {4000000003, 9, 2705032704, 1, 300000005}));
  EXPECT_TRUE(allEqual(outputs[1], DType::U32, {5}, {1333333333, 3, 0, 0, 0}));
  EXPECT_TRUE(allEqual(outputs[2], DType::U32, {5}, {1, 1, 3000000000, 0, 5}));
  EXPECT_TRUE(allEqual(outputs[3], DType::Bool, {5}, {0, 0, 1, 1, 1}));
  EXPECT_TRUE(
      allEqual(outputs[4], DType::U64, {5}, {65535, 0, 32768, 1, 40000}));
  EXPECT_TRUE(
      allEqual(outputs[5], DType::I16, {5}, {-1, 0, -32768, 1, -25536}));
  EXPECT_TRUE(
      allClose(outputs[6], DType::F32, Array({5}, {4e9, 7, 3e9, 0, 5})));
}

TEST_F(JitNumericsTest, Sqrt) {
  const char *source = R"mlir(
func.func @f(%x: tensor<4x33xf32>) -> tensor<4x33xf32> {
  %s = attn.sqrt %x : tensor<4x33xf32>
  return %s : tensor<4x33xf32>
}
)mlir";
  std::mt19937 rng(31);
  HostTensor x = uniformF32({4, 33}, rng, 0.0f, 100.0f);
  x.as<float>()[0] = 0.0f;
  x.as<float>()[1] = 1e-6f;
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32,
               refUnary(Array::of(x), [](double a) { return std::sqrt(a); })));
}

TEST_F(JitNumericsTest, CastF32ToI32Truncates) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x5xf32>) -> tensor<2x5xi32> {
  %c = attn.cast %x : tensor<2x5xf32> to tensor<2x5xi32>
  return %c : tensor<2x5xi32>
}
)mlir";
  std::vector<float> xs = {2.7f, -2.7f, 0.5f,   -0.5f,     -0.0f,
                           3.0f, -3.0f, 99.99f, -123.999f, 1048576.5f};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {f32Tensor({2, 5}, xs)}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(allEqual(outputs[0], DType::I32, {2, 5},
                       {2, -2, 0, 0, 0, 3, -3, 99, -123, 1048576}));
}

TEST_F(JitNumericsTest, CastF32ToBool) {
  const char *source = R"mlir(
func.func @f(%x: tensor<8xf32>) -> tensor<8xi1> {
  %c = attn.cast %x : tensor<8xf32> to tensor<8xi1>
  return %c : tensor<8xi1>
}
)mlir";
  std::vector<float> xs = {0.0f,  -0.0f,  1.0f,  -1.0f,
                           0.25f, 1e-30f, -3e7f, 0.0f};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {f32Tensor({8}, xs)}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(allEqual(outputs[0], DType::Bool, {8}, {0, 0, 1, 1, 1, 1, 1, 0}));
}

TEST_F(JitNumericsTest, CastBoolToF32) {
  const char *source = R"mlir(
func.func @f(%m: tensor<2x3xi1>) -> tensor<2x3xf32> {
  %c = attn.cast %m : tensor<2x3xi1> to tensor<2x3xf32>
  return %c : tensor<2x3xf32>
}
)mlir";
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {boolTensor({2, 3}, {1, 0, 0, 1, 1, 0})}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32, Array({2, 3}, {1, 0, 0, 1, 1, 0})));
}

//===----------------------------------------------------------------------===//
// Layout ops
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, Transpose) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3x4x5xf32>, %y: tensor<3x7xf32>)
    -> (tensor<2x4x5x3xf32>, tensor<5x3x2x4xf32>, tensor<7x3xf32>) {
  %a = attn.transpose %x, [0, 2, 3, 1] : tensor<2x3x4x5xf32>
      -> tensor<2x4x5x3xf32>
  %b = attn.transpose %x, [3, 1, 0, 2] : tensor<2x3x4x5xf32>
      -> tensor<5x3x2x4xf32>
  %c = attn.transpose %y, [1, 0] : tensor<3x7xf32> -> tensor<7x3xf32>
  return %a, %b, %c : tensor<2x4x5x3xf32>, tensor<5x3x2x4xf32>, tensor<7x3xf32>
}
)mlir";
  std::mt19937 rng(41);
  HostTensor x = normalF32({2, 3, 4, 5}, rng);
  HostTensor y = normalF32({3, 7}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, y}, outputs));
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_TRUE(allClose(outputs[0], DType::F32,
                       refTranspose(Array::of(x), {0, 2, 3, 1})));
  EXPECT_TRUE(allClose(outputs[1], DType::F32,
                       refTranspose(Array::of(x), {3, 1, 0, 2})));
  EXPECT_TRUE(
      allClose(outputs[2], DType::F32, refTranspose(Array::of(y), {1, 0})));
}

TEST_F(JitNumericsTest, ReshapeWithZeroAndMinusOne) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3x4xf32>) -> (tensor<2x12xf32>, tensor<4x3x2xf32>,
    tensor<24xf32>) {
  %a = attn.reshape %x, [0, -1] : tensor<2x3x4xf32> -> tensor<2x12xf32>
  %b = attn.reshape %x, [-1, 0, 2] : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
  %c = attn.reshape %x, [-1] : tensor<2x3x4xf32> -> tensor<24xf32>
  return %a, %b, %c : tensor<2x12xf32>, tensor<4x3x2xf32>, tensor<24xf32>
}
)mlir";
  std::mt19937 rng(42);
  HostTensor x = normalF32({2, 3, 4}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 3u);
  // A reshape keeps the row-major order of the elements.
  std::vector<double> flat = toDoubles(x);
  EXPECT_TRUE(allClose(outputs[0], DType::F32, Array({2, 12}, flat)));
  EXPECT_TRUE(allClose(outputs[1], DType::F32, Array({4, 3, 2}, flat)));
  EXPECT_TRUE(allClose(outputs[2], DType::F32, Array({24}, flat)));
}

TEST_F(JitNumericsTest, ReshapeDynamicWithZeroAndMinusOne) {
  const char *source = R"mlir(
func.func @f(%x: tensor<?x3x4xf32>) -> (tensor<?x12xf32>, tensor<?x6xf32>) {
  %a = attn.reshape %x, [0, -1] : tensor<?x3x4xf32> -> tensor<?x12xf32>
  %b = attn.reshape %x, [-1, 6] : tensor<?x3x4xf32> -> tensor<?x6xf32>
  return %a, %b : tensor<?x12xf32>, tensor<?x6xf32>
}
)mlir";
  std::mt19937 rng(43);
  HostTensor x = normalF32({5, 3, 4}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  std::vector<double> flat = toDoubles(x);
  EXPECT_TRUE(allClose(outputs[0], DType::F32, Array({5, 12}, flat)));
  EXPECT_TRUE(allClose(outputs[1], DType::F32, Array({10, 6}, flat)));
}

//===----------------------------------------------------------------------===//
// attn.matmul and attn.softmax
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, MatMulBroadcastsBatchAxes) {
  const char *source = R"mlir(
func.func @f(%a: tensor<2x1x5x7xf32>, %b: tensor<3x7x4xf32>)
    -> tensor<2x3x5x4xf32> {
  %m = attn.matmul %a, %b : (tensor<2x1x5x7xf32>, tensor<3x7x4xf32>)
      -> tensor<2x3x5x4xf32>
  return %m : tensor<2x3x5x4xf32>
}
)mlir";
  std::mt19937 rng(51);
  HostTensor a = normalF32({2, 1, 5, 7}, rng);
  HostTensor b = normalF32({3, 7, 4}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {a, b}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  Array ref = refMatMul(Array::of(a), Array::of(b));
  EXPECT_EQ(ref.shape, Shape({2, 3, 5, 4}));
  EXPECT_TRUE(allClose(outputs[0], DType::F32, ref));
}

TEST_F(JitNumericsTest, MatMul2DScheduled) {
  const char *source = R"mlir(
func.func @f(%a: tensor<19x33xf32>, %b: tensor<33x21xf32>)
    -> tensor<19x21xf32> {
  %m = attn.matmul %a, %b {schedule = #attn.schedule<vector_width = 8,
      parallel = true>} : (tensor<19x33xf32>, tensor<33x21xf32>)
      -> tensor<19x21xf32>
  return %m : tensor<19x21xf32>
}
)mlir";
  std::mt19937 rng(52);
  HostTensor a = normalF32({19, 33}, rng);
  HostTensor b = normalF32({33, 21}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {a, b}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32, refMatMul(Array::of(a), Array::of(b))));
}

TEST_F(JitNumericsTest, SoftmaxLastAxis) {
  const char *source = R"mlir(
func.func @f(%x: tensor<3x5x33xf32>) -> (tensor<3x5x33xf32>,
    tensor<3x5x33xf32>) {
  %a = attn.softmax %x, -1 : tensor<3x5x33xf32>
  %b = attn.softmax %x, 2 {schedule = #attn.schedule<vector_width = 8,
      parallel = true>} : tensor<3x5x33xf32>
  return %a, %b : tensor<3x5x33xf32>, tensor<3x5x33xf32>
}
)mlir";
  std::mt19937 rng(61);
  HostTensor x = normalF32({3, 5, 33}, rng, 3.0f);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  Array ref = refSoftmax(Array::of(x), 2);
  EXPECT_TRUE(allClose(outputs[0], DType::F32, ref));
  EXPECT_TRUE(allClose(outputs[1], DType::F32, ref));
}

TEST_F(JitNumericsTest, SoftmaxMiddleAxis) {
  const char *source = R"mlir(
func.func @f(%x: tensor<3x7x5xf32>) -> (tensor<3x7x5xf32>, tensor<3x7x5xf32>) {
  %a = attn.softmax %x, 1 : tensor<3x7x5xf32>
  %b = attn.softmax %x, -2 {schedule = #attn.schedule<vector_width = 4,
      parallel = true>} : tensor<3x7x5xf32>
  return %a, %b : tensor<3x7x5xf32>, tensor<3x7x5xf32>
}
)mlir";
  std::mt19937 rng(62);
  HostTensor x = normalF32({3, 7, 5}, rng, 3.0f);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  Array ref = refSoftmax(Array::of(x), 1);
  EXPECT_TRUE(allClose(outputs[0], DType::F32, ref));
  EXPECT_TRUE(allClose(outputs[1], DType::F32, ref));
}

//===----------------------------------------------------------------------===//
// Schedules and element types
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, InlinedAndVectorizedElementwise) {
  const char *source = R"mlir(
func.func @f(%x: tensor<5x19xf32>, %y: tensor<19xf32>) -> (tensor<5x19xf32>,
    tensor<19x5xf32>) {
  %a = attn.mul %x, %y {schedule = #attn.schedule<inlined = true>}
      : (tensor<5x19xf32>, tensor<19xf32>) -> tensor<5x19xf32>
  %b = attn.sub %a, %x {schedule = #attn.schedule<vector_width = 8,
      parallel = true>} : (tensor<5x19xf32>, tensor<5x19xf32>)
      -> tensor<5x19xf32>
  %t = attn.transpose %b, [1, 0] {schedule = #attn.schedule<inlined = true>}
      : tensor<5x19xf32> -> tensor<19x5xf32>
  return %b, %t : tensor<5x19xf32>, tensor<19x5xf32>
}
)mlir";
  std::mt19937 rng(71);
  HostTensor x = normalF32({5, 19}, rng);
  HostTensor y = normalF32({19}, rng);
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, y}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  Array a = refBinary(Array::of(x), Array::of(y),
                      [](double p, double q) { return p * q; });
  Array b =
      refBinary(a, Array::of(x), [](double p, double q) { return p - q; });
  EXPECT_TRUE(allClose(outputs[0], DType::F32, b));
  EXPECT_TRUE(allClose(outputs[1], DType::F32, refTranspose(b, {1, 0})));
}

TEST_F(JitNumericsTest, F64SoftmaxMatMulSqrt) {
  const char *source = R"mlir(
func.func @f(%x: tensor<4x16xf64>, %w: tensor<16x8xf64>) -> (tensor<4x8xf64>,
    tensor<16x8xf64>) {
  %s = attn.softmax %x, -1 : tensor<4x16xf64>
  %m = attn.matmul %s, %w {schedule = #attn.schedule<vector_width = 4,
      parallel = true>} : (tensor<4x16xf64>, tensor<16x8xf64>)
      -> tensor<4x8xf64>
  %a = attn.mul %w, %w : (tensor<16x8xf64>, tensor<16x8xf64>)
      -> tensor<16x8xf64>
  %r = attn.sqrt %a : tensor<16x8xf64>
  return %m, %r : tensor<4x8xf64>, tensor<16x8xf64>
}
)mlir";
  std::mt19937 rng(72);
  HostTensor x = toF64(normalF32({4, 16}, rng, 3.0f));
  HostTensor w = toF64(normalF32({16, 8}, rng));
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, {x, w}, outputs));
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_TRUE(allClose(outputs[0], DType::F64,
                       refMatMul(refSoftmax(Array::of(x), 1), Array::of(w))));
  EXPECT_TRUE(
      allClose(outputs[1], DType::F64,
               refUnary(Array::of(w), [](double p) { return std::fabs(p); })));
}

// attn.sdpa accumulates in the element type's compute type: f64 stays f64.
TEST_F(JitNumericsTest, SdpaF64) {
  const char *source = R"mlir(
func.func @f(%q: tensor<1x2x16x8xf64>, %k: tensor<1x2x16x8xf64>,
    %v: tensor<1x2x16x8xf64>) -> tensor<1x2x16x8xf64> {
  %o = attn.sdpa %q, %k, %v {schedule = #attn.schedule<kind = flash,
      vector_width = 1, tiles = [64, 64]>}
      : (tensor<1x2x16x8xf64>, tensor<1x2x16x8xf64>, tensor<1x2x16x8xf64>)
      -> tensor<1x2x16x8xf64>
  return %o : tensor<1x2x16x8xf64>
}
)mlir";
  std::mt19937 rng(73);
  Shape shape = {1, 2, 16, 8};
  std::vector<HostTensor> inputs = {toF64(normalF32(shape, rng)),
                                    toF64(normalF32(shape, rng)),
                                    toF64(normalF32(shape, rng))};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, inputs, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(allClose(outputs[0], DType::F64,
                       refSdpa(Array::of(inputs[0]), Array::of(inputs[1]),
                               Array::of(inputs[2]), 1.0 / std::sqrt(8.0),
                               /*causal=*/false, nullptr, false)));
}

//===----------------------------------------------------------------------===//
// attn.sdpa
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, SdpaPlain) {
  SdpaCase c;
  c.batch = 2;
  c.heads = 3;
  c.kvHeads = 3;
  c.nq = c.nk = 32;
  c.headDim = c.valueDim = 16;
  c.seed = 101;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaExplicitScaleAndValueDim) {
  SdpaCase c;
  c.nq = c.nk = 24;
  c.headDim = 12;
  c.valueDim = 20;
  c.scale = 0.2;
  c.seed = 102;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaAdditiveMaskBroadcast) {
  SdpaCase c;
  c.batch = 2;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = c.nk = 40;
  c.headDim = c.valueDim = 16;
  c.seed = 103;
  // [B, 1, 1, Nk]: a padding mask; batch 1 masks its last 5 keys with -inf.
  std::mt19937 rng(1103);
  HostTensor mask = normalF32({2, 1, 1, 40}, rng);
  for (int64_t j = 35; j < 40; ++j)
    mask.as<float>()[40 + j] = -std::numeric_limits<float>::infinity();
  c.mask = mask;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaBoolMask) {
  SdpaCase c;
  c.batch = 2;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = 24;
  c.nk = 40;
  c.headDim = c.valueDim = 8;
  c.seed = 104;
  // [1, H, Nq, Nk], each row keeping about 60% of the keys and at least one.
  std::mt19937 rng(1104);
  std::bernoulli_distribution keep(0.6);
  std::uniform_int_distribution<int> anyKey(0, 39);
  std::vector<uint8_t> values(2 * 24 * 40);
  for (int64_t row = 0; row < 2 * 24; ++row) {
    for (int64_t j = 0; j < 40; ++j)
      values[row * 40 + j] = keep(rng);
    values[row * 40 + anyKey(rng)] = 1;
  }
  c.mask = boolTensor({1, 2, 24, 40}, values);
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaFullyMaskedRowIsMeanOfV) {
  SdpaCase c;
  c.batch = 1;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = 8;
  c.nk = 64;
  c.headDim = c.valueDim = 8;
  c.seed = 105;
  // [Nq, Nk]: rows 2 and 5 mask every key.
  std::vector<uint8_t> values(8 * 64, 1);
  for (int64_t j = 0; j < 64; ++j)
    values[2 * 64 + j] = values[5 * 64 + j] = 0;
  for (int64_t j = 0; j < 64; j += 3)
    values[7 * 64 + j] = 0;
  c.mask = boolTensor({8, 64}, values);
  checkSdpa(c);
}

// Nk = 40 does not fill the default KV block of 64: the padding keys of the
// partial block must weigh nothing, so a fully masked row is still the mean
// of V over its 40 keys.
TEST_F(JitNumericsTest, SdpaFullyMaskedRowIsMeanOfVPartialBlock) {
  SdpaCase c;
  c.batch = 1;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = 8;
  c.nk = 40;
  c.headDim = c.valueDim = 8;
  c.seed = 106;
  std::vector<uint8_t> values(8 * 40, 1);
  for (int64_t j = 0; j < 40; ++j)
    values[2 * 40 + j] = values[5 * 40 + j] = 0;
  c.mask = boolTensor({8, 40}, values);
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaCausal) {
  SdpaCase c;
  c.batch = 2;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = c.nk = 130;
  c.headDim = c.valueDim = 16;
  c.causal = true;
  c.seed = 107;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaCausalTopLeftWithNqNotNk) {
  SdpaCase shortQueries;
  shortQueries.nq = 20;
  shortQueries.nk = 50;
  shortQueries.causal = true;
  shortQueries.seed = 108;
  checkSdpa(shortQueries);

  SdpaCase longQueries;
  longQueries.nq = 50;
  longQueries.nk = 20;
  longQueries.causal = true;
  longQueries.seed = 109;
  checkSdpa(longQueries);
}

TEST_F(JitNumericsTest, SdpaGroupedQueryKvGroup2) {
  SdpaCase c;
  c.batch = 2;
  c.heads = 4;
  c.kvHeads = 2;
  c.nq = c.nk = 48;
  c.headDim = c.valueDim = 16;
  c.seed = 110;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaNqDiffersFromNk) {
  SdpaCase c;
  c.batch = 1;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = 48;
  c.nk = 80;
  c.headDim = c.valueDim = 16;
  c.scale = 0.25;
  c.seed = 111;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaOddLengthScheduled) {
  // N = 77: divisible by neither the query block (16) nor the KV block (32),
  // so both end in a partial block; the vector width 4 divides the head size.
  SdpaCase c;
  c.batch = 2;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = c.nk = 77;
  c.headDim = c.valueDim = 24;
  c.schedule =
      "#attn.schedule<kind = flash, vector_width = 4, tiles = [16, 32], "
      "parallel = true>";
  c.seed = 112;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaVectorWidth8) {
  SdpaCase c;
  c.batch = 1;
  c.heads = 4;
  c.kvHeads = 2;
  c.nq = c.nk = 96;
  c.headDim = 32;
  c.valueDim = 20;
  c.causal = true;
  c.schedule = "#attn.schedule<kind = blocked, vector_width = 8, "
               "tiles = [32, 64, 32, 6, 20, 6], parallel = true>";
  c.seed = 113;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaHeuristicScheduleFromAttnTile) {
  SdpaCase c;
  c.batch = 1;
  c.heads = 2;
  c.kvHeads = 2;
  c.nq = c.nk = 100;
  c.headDim = c.valueDim = 64;
  c.tile = true;
  c.seed = 114;
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaCausalBoolMaskGroupedScheduled) {
  // Every feature at once: causal and a [Nq, Nk] boolean mask, kv_group = 2,
  // and a KV block (48) that divides neither N nor the query block.
  SdpaCase c;
  c.batch = 2;
  c.heads = 4;
  c.kvHeads = 2;
  c.nq = c.nk = 100;
  c.headDim = 32;
  c.valueDim = 16;
  c.causal = true;
  c.schedule = "#attn.schedule<kind = blocked, vector_width = 16, "
               "tiles = [64, 48, 64, 6, 16, 6], parallel = true>";
  c.seed = 115;
  std::mt19937 rng(1115);
  std::bernoulli_distribution keep(0.7);
  std::vector<uint8_t> values(100 * 100);
  for (uint8_t &x : values)
    x = keep(rng);
  for (int64_t i = 0; i < 100; ++i)
    values[i * 100] = 1; // key 0 is never masked by causal
  c.mask = boolTensor({100, 100}, values);
  checkSdpa(c);
}

TEST_F(JitNumericsTest, SdpaDynamicSequenceLengths) {
  const char *source = R"mlir(
func.func @f(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>,
    %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %o = attn.sdpa %q, %k, %v {scale = 0.3 : f64, causal,
      schedule = #attn.schedule<kind = blocked, vector_width = 8,
      tiles = [16, 32, 16, 6, 8, 6], parallel = true>} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>,
      tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}
)mlir";
  std::mt19937 rng(116);
  std::vector<HostTensor> inputs = {normalF32({1, 2, 37, 8}, rng),
                                    normalF32({1, 2, 45, 8}, rng),
                                    normalF32({1, 2, 45, 8}, rng)};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(source, inputs, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(allClose(outputs[0], DType::F32,
                       refSdpa(Array::of(inputs[0]), Array::of(inputs[1]),
                               Array::of(inputs[2]), 0.3, /*causal=*/true,
                               nullptr, false)));
}

//===----------------------------------------------------------------------===//
// A whole unfused attention graph
//===----------------------------------------------------------------------===//

const char *kAttentionGraph = R"mlir(
func.func @f(%q: tensor<2x4x128x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>) -> tensor<2x4x128x64xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<2x4x128x64xf32>
      -> tensor<2x4x64x128xf32>
  %s = attn.matmul %q, %kt : (tensor<2x4x128x64xf32>, tensor<2x4x64x128xf32>)
      -> tensor<2x4x128x128xf32>
  %c = attn.constant dense<8.0> : tensor<f32>
  %d = attn.div %s, %c : (tensor<2x4x128x128xf32>, tensor<f32>)
      -> tensor<2x4x128x128xf32>
  %p = attn.softmax %d, -1 : tensor<2x4x128x128xf32>
  %o = attn.matmul %p, %v : (tensor<2x4x128x128xf32>, tensor<2x4x128x64xf32>)
      -> tensor<2x4x128x64xf32>
  return %o : tensor<2x4x128x64xf32>
}
)mlir";

/// softmax(q·kᵀ / 8)·v, op by op.
Array refAttentionGraph(const Array &q, const Array &k, const Array &v) {
  Array s = refMatMul(q, refTranspose(k, {0, 1, 3, 2}));
  Array d = refUnary(s, [](double x) { return x / 8.0; });
  return refMatMul(refSoftmax(d, 3), v);
}

TEST_F(JitNumericsTest, AttentionGraphDefaultSchedules) {
  std::mt19937 rng(201);
  Shape shape = {2, 4, 128, 64};
  std::vector<HostTensor> inputs = {
      normalF32(shape, rng), normalF32(shape, rng), normalF32(shape, rng)};
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(kAttentionGraph, inputs, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32,
               refAttentionGraph(Array::of(inputs[0]), Array::of(inputs[1]),
                                 Array::of(inputs[2]))));
}

TEST_F(JitNumericsTest, AttentionGraphAttnTileSchedules) {
  std::mt19937 rng(202);
  Shape shape = {2, 4, 128, 64};
  std::vector<HostTensor> inputs = {
      normalF32(shape, rng), normalF32(shape, rng), normalF32(shape, rng)};
  OwningOpRef<ModuleOp> module;
  ASSERT_TRUE(parse(kAttentionGraph, module));
  ASSERT_TRUE(tile(*module));
  std::vector<HostTensor> outputs;
  ASSERT_TRUE(run(*module, inputs, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32,
               refAttentionGraph(Array::of(inputs[0]), Array::of(inputs[1]),
                                 Array::of(inputs[2]))));
}

//===----------------------------------------------------------------------===//
// Invalid inputs
//===----------------------------------------------------------------------===//

TEST_F(JitNumericsTest, WrongInputDTypeOrRankFails) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = attn.add %x, %y : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %a : tensor<2x3xf32>
}
)mlir";
  OwningOpRef<ModuleOp> module;
  ASSERT_TRUE(parse(source, module));
  HostTensor good = f32Tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor wrongDType = i32Tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor wrongRank = f32Tensor({6}, {1, 2, 3, 4, 5, 6});
  std::vector<HostTensor> outputs;
  {
    DiagnosticCapture diags(context);
    EXPECT_TRUE(failed(runWithJit(*module, {good, wrongDType}, outputs)));
    EXPECT_NE(diags.str().find("element type"), std::string::npos)
        << diags.str();
  }
  {
    DiagnosticCapture diags(context);
    EXPECT_TRUE(failed(runWithJit(*module, {wrongRank, good}, outputs)));
    EXPECT_NE(diags.str().find("rank"), std::string::npos) << diags.str();
  }
  {
    DiagnosticCapture diags(context);
    EXPECT_TRUE(failed(runWithJit(*module, {good}, outputs)));
    EXPECT_FALSE(diags.str().empty());
  }
  // The same module runs with the right inputs.
  ASSERT_TRUE(run(*module, {good, good}, outputs));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32, Array({2, 3}, {2, 4, 6, 8, 10, 12})));
}

TEST_F(JitNumericsTest, WrongInputExtentFails) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = attn.add %x, %y : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %a : tensor<2x3xf32>
}
)mlir";
  OwningOpRef<ModuleOp> module;
  ASSERT_TRUE(parse(source, module));
  HostTensor good = f32Tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor transposed = f32Tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  HostTensor wider = f32Tensor({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  std::vector<HostTensor> outputs;
  for (const HostTensor &wrong : {transposed, wider}) {
    DiagnosticCapture diags(context);
    EXPECT_TRUE(failed(runWithJit(*module, {good, wrong}, outputs)))
        << "shape " << shapeString(wrong.shape);
    EXPECT_FALSE(diags.str().empty());
  }
}

// A returned value computed by an op without a schedule uses the emitter's
// default schedule.
TEST_F(JitNumericsTest, ResultOpWithoutScheduleRuns) {
  const char *source = R"mlir(
func.func @f(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = attn.add %x, %y : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %a : tensor<2x3xf32>
}
)mlir";
  OwningOpRef<ModuleOp> module;
  ASSERT_TRUE(parse(source, module));
  HostTensor x = f32Tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor y = f32Tensor({2, 3}, {0.5f, -1, 2, -3, 4, -5});
  std::vector<HostTensor> outputs;
  DiagnosticCapture diags(context);
  ASSERT_TRUE(succeeded(runWithJit(*module, {x, y}, outputs))) << diags.str();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(
      allClose(outputs[0], DType::F32, Array({2, 3}, {1.5, 1, 5, 1, 9, 1})));
}

} // namespace
