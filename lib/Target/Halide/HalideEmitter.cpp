//===- HalideEmitter.cpp - Tensors, constants, dispatch ---------*- C++ -*-===//
//
// The PipelineBuilder: one Halide Func (or a few) per attn op, THE
// ALGORITHM; how each is computed is its #attn.schedule, applied in
// Schedules.cpp. Here: the shared helpers, the arguments and outputs of a
// pipeline, constants, and the dispatch of every op to its family
// (EmitContractions.cpp, EmitReductions.cpp, EmitSdpa.cpp, EmitOps.cpp).
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

#include <cmath>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

thread_local int mlir::attn::halide::funcReadCount = 0;

Expr Tensor::call(const std::vector<Expr> &onnxIndex) const {
  if (values) {
    // A constant index reads the known element; a computed one selects
    // among few known elements.
    int64_t flat = 0;
    bool constant = true;
    for (size_t k = 0; k < onnxIndex.size(); ++k) {
      // The simplified index must outlive the pointer into it.
      Expr simplified =
          Halide::Internal::simplify(Halide::cast<int64_t>(onnxIndex[k]));
      const int64_t *c = Halide::Internal::as_const_int(simplified);
      if (!c) {
        constant = false;
        break;
      }
      flat =
          flat * valueShape[k] + std::clamp<int64_t>(*c, 0, valueShape[k] - 1);
    }
    if (constant && !values->empty())
      return (*values)[flat];
    if (!values->empty() && values->size() <= 16) {
      Expr index = 0;
      for (size_t k = 0; k < onnxIndex.size(); ++k)
        index = index * static_cast<int>(valueShape[k]) +
                Halide::clamp(Halide::cast<int>(onnxIndex[k]), 0,
                              static_cast<int>(valueShape[k]) - 1);
      Expr e = values->back();
      for (int k = static_cast<int>(values->size()) - 2; k >= 0; --k)
        e = Halide::select(index == k, (*values)[k], e);
      return e;
    }
  }
  ++funcReadCount;
  std::vector<Expr> args(onnxIndex.rbegin(), onnxIndex.rend());
  return func(args);
}

FailureOr<Halide::Type> mlir::attn::halide::toHalideType(Type type) {
  if (type.isF32())
    return Halide::Float(32);
  if (type.isF64())
    return Halide::Float(64);
  if (type.isF16())
    return Halide::Float(16);
  if (type.isBF16())
    return Halide::BFloat(16);
  if (type.isInteger(1))
    return Halide::Bool();
  if (auto intType = dyn_cast<IntegerType>(type)) {
    unsigned width = intType.getWidth();
    if (width != 8 && width != 16 && width != 32 && width != 64)
      return failure();
    return intType.isUnsigned() ? Halide::UInt(width) : Halide::Int(width);
  }
  return failure();
}

Halide::Type mlir::attn::halide::computeType(Halide::Type type) {
  if ((type.is_float() || type.is_bfloat()) && type.bits() == 16)
    return Halide::Float(32);
  return type;
}

std::string mlir::attn::halide::cIdentifier(llvm::StringRef name) {
  return toCIdentifier(name);
}

std::vector<Var> mlir::attn::halide::makeVars(int rank,
                                              const std::string &prefix) {
  std::vector<Var> vars;
  for (int i = 0; i < rank; ++i)
    vars.push_back(Var(prefix + "_d" + std::to_string(i)));
  return vars;
}

std::vector<Expr> mlir::attn::halide::onnxIndex(const std::vector<Var> &vars) {
  return std::vector<Expr>(vars.rbegin(), vars.rend());
}

Expr mlir::attn::halide::broadcastRead(const Tensor &t, RankedTensorType tType,
                                       RankedTensorType outType,
                                       const std::vector<Expr> &index) {
  int offset = outType.getRank() - tType.getRank();
  std::vector<Expr> idx;
  for (int k = 0; k < tType.getRank(); ++k) {
    int64_t d = tType.getDimSize(k), o = outType.getDimSize(offset + k);
    if (d == 1 && o != 1)
      idx.push_back(Expr(0));
    else if (ShapedType::isDynamic(d) && o != 1)
      // A run-time extent may be 1 and broadcast, or the full extent (static
      // or not): an operand typed `?` against a static 2 may hold 1.
      idx.push_back(Halide::min(index[offset + k], t.shape[k] - 1));
    else
      idx.push_back(index[offset + k]);
  }
  return t.call(idx);
}

std::vector<Expr>
mlir::attn::halide::broadcastShape(ArrayRef<const Tensor *> tensors,
                                   ArrayRef<RankedTensorType> types,
                                   RankedTensorType outType) {
  int rank = outType.getRank();
  std::vector<Expr> shape(rank);
  for (int k = 0; k < rank; ++k) {
    if (!ShapedType::isDynamic(outType.getDimSize(k))) {
      shape[k] = static_cast<int>(outType.getDimSize(k));
      continue;
    }
    Expr extent;
    for (size_t t = 0; t < tensors.size(); ++t) {
      int kt = k - (rank - types[t].getRank());
      if (kt < 0 || types[t].getDimSize(kt) == 1)
        continue;
      Expr e = tensors[t]->shape[kt];
      extent = extent.defined() ? Halide::max(extent, e) : e;
    }
    shape[k] = extent.defined() ? extent : Expr(1);
  }
  return shape;
}

Expr mlir::attn::halide::floatAbs(Expr x) {
  // The sign bit cleared: Halide 14 fails to lower a chain of inlined abs()
  // calls (an internal error in its CSE).
  Halide::Type bits = Halide::UInt(x.type().bits(), x.type().lanes());
  Expr mask =
      Halide::cast(bits, Halide::Expr(~(uint64_t(1) << (x.type().bits() - 1))));
  return Halide::reinterpret(x.type(), Halide::reinterpret(bits, x) & mask);
}

Expr mlir::attn::halide::vectorTanh(Expr x) {
  // Halide calls the C library's scalar tanhf for every lane; float32 is
  // computed here instead, in vector arithmetic: for |x| < 0.625 the odd
  // minimax polynomial x + x^3·P(x^2) of Cephes' tanhf (relative error
  // about 1e-7), above it 1 - 2 / (e^2|x| + 1) with the sign of x.
  if (x.type() != Halide::Float(32))
    return Halide::tanh(x);
  Expr a = floatAbs(x);
  Expr z = x * x;
  Expr p = -5.70498872745e-3f;
  for (float c : {2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f,
                  -3.33332819422e-1f})
    p = p * z + c;
  Expr small = x + x * z * p;
  Expr large = 1.0f - 2.0f / (Halide::exp(2.0f * a) + 1.0f);
  return Halide::select(a < 0.625f, small,
                        Halide::select(x < 0.0f, -large, large));
}

Expr mlir::attn::halide::applyActivation(llvm::StringRef activation, Expr x) {
  Halide::Type t = x.type();
  Expr one = Halide::cast(t, 1), half = Halide::cast(t, 0.5f);
  if (activation == "relu")
    return Halide::max(x, Halide::cast(t, 0));
  if (activation == "gelu")
    return half * x *
           (one +
            Halide::erf(x * Halide::cast(t, static_cast<float>(M_SQRT1_2))));
  if (activation == "gelu_tanh") {
    Expr c = Halide::cast(t, static_cast<float>(std::sqrt(2.0 / M_PI)));
    Expr k = Halide::cast(t, 0.044715f);
    // 0.5·x·(1 + tanh(u)) = x / (1 + e^-2u).
    return x / (one +
                Halide::exp(Halide::cast(t, -2.0f) * c * (x + k * x * x * x)));
  }
  if (activation == "gelu_sigmoid")
    return x / (one + Halide::exp(Halide::cast(t, -1.702f) * x));
  if (activation == "silu")
    return x / (one + Halide::exp(-x));
  if (activation == "sigmoid")
    return one / (one + Halide::exp(-x));
  if (activation == "tanh")
    return vectorTanh(x);
  return x;
}

Expr mlir::attn::halide::widen(Expr e) {
  return Halide::cast(computeType(e.type()), e);
}

Expr mlir::attn::halide::narrow(Expr e, Halide::Type type) {
  if (e.type() == type)
    return e;
  Expr y = Halide::cast(type, e);
  // Halide's conversion to a 16-bit float turns NaN into infinity; keep it a
  // (quiet) NaN.
  if (type.bits() == 16 && (type.is_float() || type.is_bfloat()) &&
      e.type().is_float())
    y = Halide::select(
        Halide::is_nan(e),
        Halide::reinterpret(
            type, Halide::cast<uint16_t>(type.is_bfloat() ? 0x7fc0 : 0x7e00)),
        y);
  return y;
}

namespace {
/// toExtent, memoized on IR nodes: the expressions are DAGs whose trees can
/// be far larger.
class ExtentNarrower {
public:
  Expr narrow(const Expr &e) {
    using namespace Halide::Internal;
    if (!e.type().is_int() && !e.type().is_uint())
      return Halide::cast<int>(e);
    auto it = memo.find(e.get());
    if (it != memo.end())
      return it->second;
    Expr r = narrowNode(e);
    memo.emplace(e.get(), r);
    return r;
  }

  Expr condition(const Expr &c) {
    using namespace Halide::Internal;
    if (const auto *n = c.as<Not>())
      return !condition(n->a);
    if (const auto *n = c.as<And>())
      return condition(n->a) && condition(n->b);
    if (const auto *n = c.as<Or>())
      return condition(n->a) || condition(n->b);
    auto compare = [&](const auto *n, auto fn) -> std::optional<Expr> {
      if (!n || !(n->a.type().is_int() || n->a.type().is_uint()))
        return std::nullopt;
      return fn(narrow(n->a), narrow(n->b));
    };
    if (auto r = compare(c.as<EQ>(), [](Expr a, Expr b) { return a == b; }))
      return *r;
    if (auto r = compare(c.as<NE>(), [](Expr a, Expr b) { return a != b; }))
      return *r;
    if (auto r = compare(c.as<LT>(), [](Expr a, Expr b) { return a < b; }))
      return *r;
    if (auto r = compare(c.as<LE>(), [](Expr a, Expr b) { return a <= b; }))
      return *r;
    if (auto r = compare(c.as<GT>(), [](Expr a, Expr b) { return a > b; }))
      return *r;
    if (auto r = compare(c.as<GE>(), [](Expr a, Expr b) { return a >= b; }))
      return *r;
    return c;
  }

private:
  Expr narrowNode(const Expr &e) {
    using namespace Halide::Internal;
    if (const int64_t *v = as_const_int(e))
      return Expr(static_cast<int32_t>(
          std::clamp<int64_t>(*v, std::numeric_limits<int32_t>::min() + 1,
                              std::numeric_limits<int32_t>::max())));
    if (const uint64_t *v = as_const_uint(e))
      return Expr(static_cast<int32_t>(
          std::min<uint64_t>(*v, std::numeric_limits<int32_t>::max())));
    if (const auto *c = e.as<Cast>()) {
      if (c->value.type().is_int() || c->value.type().is_uint())
        return narrow(c->value);
      return Halide::cast<int>(e);
    }
    if (const auto *n = e.as<Add>())
      return narrow(n->a) + narrow(n->b);
    if (const auto *n = e.as<Sub>())
      return narrow(n->a) - narrow(n->b);
    if (const auto *n = e.as<Mul>())
      return narrow(n->a) * narrow(n->b);
    if (const auto *n = e.as<Div>())
      return narrow(n->a) / narrow(n->b);
    if (const auto *n = e.as<Mod>())
      return narrow(n->a) % narrow(n->b);
    if (const auto *n = e.as<Min>())
      return Halide::min(narrow(n->a), narrow(n->b));
    if (const auto *n = e.as<Max>())
      return Halide::max(narrow(n->a), narrow(n->b));
    if (const auto *n = e.as<Select>())
      return Halide::select(condition(n->condition), narrow(n->true_value),
                            narrow(n->false_value));
    return e.type() == Halide::Int(32) ? e : Halide::cast<int>(e);
  }

  std::map<const Halide::Internal::IRNode *, Expr> memo;
};
} // namespace

Expr mlir::attn::halide::toExtent(const Expr &e) {
  return ExtentNarrower().narrow(e);
}

namespace {
/// Splits a product into its constant and its other factors.
void factorize(const Expr &e, int64_t &constant, std::vector<Expr> &factors) {
  using namespace Halide::Internal;
  if (const auto *m = e.as<Mul>()) {
    factorize(m->a, constant, factors);
    factorize(m->b, constant, factors);
  } else if (const int64_t *c = as_const_int(e)) {
    constant *= *c;
  } else {
    factors.push_back(e);
  }
}
} // namespace

Expr mlir::attn::halide::divideExact(const Expr &num, const Expr &den) {
  int64_t numConst = 1, denConst = 1;
  std::vector<Expr> numFactors, denFactors;
  factorize(num, numConst, numFactors);
  factorize(den, denConst, denFactors);
  std::vector<Expr> rest;
  for (const Expr &f : denFactors) {
    auto it = llvm::find_if(numFactors, [&](const Expr &g) {
      return Halide::Internal::equal(f, g);
    });
    if (it == numFactors.end())
      rest.push_back(f);
    else
      numFactors.erase(it);
  }
  if (denConst == 0 || numConst % denConst != 0 || !rest.empty())
    return num / den;
  Expr result = static_cast<int>(numConst / denConst);
  for (const Expr &f : numFactors)
    result = result * f;
  return Halide::Internal::simplify(result);
}

Expr mlir::attn::halide::lowest() {
  return Expr(std::numeric_limits<float>::lowest());
}

Expr mlir::attn::halide::floatMaskKeeps(const Expr &m) {
  Halide::Type t = m.type();
  double half = t.bits() == 64 ? std::numeric_limits<double>::lowest() / 2
                : t.is_float() && t.bits() == 16 && !t.is_bfloat()
                    ? -65504.0 / 2
                    : std::numeric_limits<float>::lowest() / 2;
  Halide::Type wide = t.bits() == 64 ? t : Halide::Float(32);
  Halide::Expr bound = t.bits() == 64 ? Halide::Expr(half)
                                      : Halide::Expr(static_cast<float>(half));
  return Halide::cast(wide, m) > bound;
}

namespace {

/// Extents of `type`, constants where static and `dynamicExtent(k)` else.
template <typename Fn>
std::vector<Expr> shapeOf(RankedTensorType type, Fn dynamicExtent) {
  std::vector<Expr> shape;
  for (int k = 0; k < type.getRank(); ++k)
    shape.push_back(ShapedType::isDynamic(type.getDimSize(k))
                        ? dynamicExtent(k)
                        : Expr(static_cast<int>(type.getDimSize(k))));
  return shape;
}

} // namespace

//===----------------------------------------------------------------------===//
// PipelineBuilder
//===----------------------------------------------------------------------===//

Expr PipelineBuilder::simplifyKnown(const Expr &e) const {
  if (!e.defined())
    return e;
  Halide::Type type = e.type();
  if ((type.is_int() || type.is_uint()) && type.bits() >= 32 &&
      !Halide::Internal::is_const(e))
    return Halide::cast(
        type, Halide::Internal::simplify(toExtent(e), /*remove_dead_code=*/true,
                                         extentBounds));
  return Halide::Internal::simplify(e, /*remove_dead_code=*/true, extentBounds);
}

std::string PipelineBuilder::uniqueName(const std::string &base) {
  int &count = usedNames[base];
  std::string name = count == 0 ? base : base + "_" + std::to_string(count);
  ++count;
  return name;
}

std::vector<Halide::Argument> PipelineBuilder::arguments() const {
  std::vector<Halide::Argument> args;
  for (const Halide::ImageParam &p : params)
    args.push_back(p);
  for (const Weight &w : weights)
    args.push_back(w.param);
  return args;
}

void PipelineBuilder::addRequirements(Halide::Pipeline &p) const {
  for (const auto &[condition, message] : requirements)
    p.add_requirement(condition, message);
}

int64_t PipelineBuilder::numOutputExtents() const {
  int64_t n = 0;
  for (const auto &s : outputShapes)
    n += s.size();
  return n;
}

LogicalResult PipelineBuilder::build(const Halide::Target &target) {
  if (func.getBody().getBlocks().size() != 1)
    return func.emitError("expects a function with a single block");
  Block &body = func.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  // The whole function is one Halide pipeline, and Halide's lowering time
  // grows faster than the pipeline: 4000 chained elementwise ops take about
  // 25 s on two cores, 20000 would take the better part of an hour. Past
  // this many ops a compile is refused at once rather than left to run.
  constexpr int64_t kMaxPipelineOps = 10000;
  int64_t pipelineOps = llvm::count_if(
      body.without_terminator(), [](auto &op) { return !isa<ConstantOp>(op); });
  if (pipelineOps > kMaxPipelineOps)
    return func.emitError("the model has ")
           << pipelineOps << " ops after fusion; attnc compiles at most "
           << kMaxPipelineOps
           << " into one Halide pipeline (its lowering time grows faster "
              "than the pipeline's size)";

  // Halide's extents are 32-bit: a static extent past them (a Range or an
  // Expand to 2^40 whose length was only known after folding) would wrap.
  for (Operation &op : body.without_terminator())
    for (Type t : op.getResultTypes())
      if (auto ranked = dyn_cast<RankedTensorType>(t))
        for (int64_t d : ranked.getShape())
          if (!ShapedType::isDynamic(d) &&
              (d < 0 || d > std::numeric_limits<int32_t>::max()))
            return op.emitOpError("has a result of type ")
                   << t
                   << ": extents must lie in [0, 2^31 - 1] (the generated "
                      "code indexes with 32-bit integers)";

  // Reserve the output names first so that they are the Halide names of
  // the output buffers in the generated header.
  llvm::DenseMap<Value, std::string> directOutputs;
  std::vector<std::string> outputNames;
  for (auto [i, value] : llvm::enumerate(returnOp.getOperands())) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, "attn.name");
    std::string name = uniqueName(
        cIdentifier(nameAttr ? nameAttr.getValue()
                             : llvm::StringRef("output" + std::to_string(i))));
    outputNames.push_back(name);
    Operation *def = value.getDefiningOp();
    auto schedule =
        def ? dyn_cast_or_null<ScheduleAttr>(def->getAttr("schedule"))
            : nullptr;
    // Only an op's first result can be its main Func.
    if (def && !isa<ConstantOp>(def) && !directOutputs.count(value) &&
        cast<OpResult>(value).getResultNumber() == 0 &&
        !(schedule && schedule.getInlined()))
      directOutputs[value] = name;
  }

  // Inputs.
  this->target = &target;
  if (isKernel) {
    // Every extent parameter is an extent of the program's inputs, which
    // the program checks to be at least 1.
    for (const Halide::Param<int32_t> &p : extentParams)
      extentBounds.push(
          p.name(),
          Halide::Internal::Interval(1, Halide::Internal::Interval::pos_inf()));
  }
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return func.emitError("expects ranked tensor arguments, got ")
             << arg.getType();
    FailureOr<Halide::Type> ht = toHalideType(type.getElementType());
    if (failed(ht))
      return func.emitError("argument ")
             << arg.getArgNumber() << " has unsupported element type "
             << type.getElementType();
    if (isKernel) {
      // A kernel's argument: a dense buffer of exactly the extents its
      // call passes, so that the bounds the program queries are those.
      const KernelArgSpec &spec = kernelArgs[arg.getArgNumber()];
      std::string name = "arg" + std::to_string(arg.getArgNumber());
      int rank = type.getRank();
      Halide::ImageParam param(*ht, rank, name);
      Expr stride = 1;
      for (int k = 0; k < rank; ++k) {
        auto dim = param.dim(k);
        dim.set_bounds(0, spec.shape[rank - 1 - k]).set_stride(stride);
        stride =
            simplifyKnown(stride * Halide::max(spec.shape[rank - 1 - k], 1));
      }
      Tensor t;
      t.type = *ht;
      t.shape = spec.shape;
      t.nonFinite = spec.nonFinite;
      t.param = param;
      t.func = Func(name + "_in");
      std::vector<Var> vars = makeVars(rank, name);
      t.func(vars) = param(vars);
      params.push_back(param);
      tensors[arg] = t;
      continue;
    }
    auto nameAttr =
        func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "attn.name");
    std::string name = uniqueName(cIdentifier(
        nameAttr
            ? nameAttr.getValue()
            : llvm::StringRef("input" + std::to_string(arg.getArgNumber()))));
    Halide::ImageParam param(*ht, type.getRank(), name);
    int rank = type.getRank();
    for (int k = 0; k < rank; ++k) {
      auto dim = param.dim(rank - 1 - k);
      if (ShapedType::isDynamic(type.getDimSize(k)))
        dim.set_min(0);
      else
        dim.set_bounds(0, static_cast<int>(type.getDimSize(k)));
    }
    // Dense row-major strides (docs/abi.md; an empty axis counts as one):
    // constants where the inner extents are static, so that generated code
    // addresses rows with immediate offsets.
    Expr stride = 1;
    for (int k = 1; k < rank; ++k) {
      int64_t inner = type.getDimSize(rank - k);
      stride = Halide::Internal::simplify(
          stride * (ShapedType::isDynamic(inner)
                        ? Halide::max(param.dim(k - 1).extent(), 1)
                        : Expr(static_cast<int>(std::max<int64_t>(inner, 1)))));
      param.dim(k).set_stride(stride);
    }
    Tensor t;
    t.type = *ht;
    t.shape =
        shapeOf(type, [&](int k) { return param.dim(rank - 1 - k).extent(); });
    // Axes that share a symbolic name (ONNX dim_param) share one extent.
    if (auto dims =
            func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "attn.dims")) {
      for (auto [k, dimName] :
           llvm::enumerate(dims.getAsValueRange<StringAttr>())) {
        if (dimName.empty() || dimName == "?" || static_cast<int>(k) >= rank ||
            !type.isDynamicDim(k))
          continue;
        auto [it, inserted] =
            symbolicDims.try_emplace(dimName, t.shape[k], name);
        if (inserted)
          continue;
        require(t.shape[k] == it->second.first,
                "input '" + name + "' axis " + std::to_string(k) + " ('" +
                    dimName.str() + "') must equal that axis of input '" +
                    it->second.second + "'");
        // Checked equal: later shapes use the first input's extent.
        t.shape[k] = it->second.first;
      }
    }
    for (int k = 0; k < rank; ++k) {
      if (!type.isDynamicDim(k))
        continue;
      Expr extent = param.dim(rank - 1 - k).extent();
      if (const auto *v = extent.as<Halide::Internal::Variable>())
        extentBounds.push(v->name,
                          Halide::Internal::Interval(
                              1, Halide::Internal::Interval::pos_inf()));
      require(extent >= 1, "input '" + name + "' axis " + std::to_string(k) +
                               " must not be empty");
    }
    t.func = Func(name + "_in");
    std::vector<Var> vars = makeVars(rank, name);
    t.func(vars) = param(vars);
    t.param = param;
    params.push_back(param);
    tensors[arg] = t;
  }

  // Ops, in order.
  int64_t numOps = std::distance(body.without_terminator().begin(),
                                 body.without_terminator().end());
  int64_t opsDone = 0;
  for (Operation &op : body.without_terminator()) {
    if (progress)
      progress(++opsDone, numOps);
    bool multiResult = isa<AdditiveAttentionOp, HardAttentionOp>(op);
    bool isCall = isa<func::CallOp>(op) && op.getNumResults() == 1;
    if (!isCall && ((op.getNumResults() != 1 && !multiResult) ||
                    !op.getDialect() || !isa<AttnDialect>(op.getDialect())))
      return op.emitError("cannot be emitted to Halide: expects an attn op "
                          "with one result");
    Value result = op.getResult(0);
    std::string name;
    if (auto it = directOutputs.find(result); it != directOutputs.end())
      name = it->second;
    else
      name = uniqueName(cIdentifier(op.getName().stripDialect()));
    OpFuncs funcs;
    funcs.op = &op;
    funcs.isOutput = directOutputs.count(result) != 0;
    if (failed(define(&op, name, funcs)))
      return failure();
    for (Value r : op.getResults()) {
      Tensor &each = get(r);
      for (Expr &e : each.shape)
        e = simplifyKnown(e);
      if (each.values)
        for (Expr &e : *each.values)
          e = simplifyKnown(e);
    }
    Tensor &t = get(result);
    // Shape arithmetic whose elements are known needs no schedule: its
    // readers use the elements, and a Func call, if any, is inlined.
    if (isCall) {
      // Kernels are computed whole, into buffers of their own.
      t.func.compute_root();
    } else if (applySchedules && !isa<ConstantOp>(op) &&
               !(t.values && !directOutputs.count(result))) {
      auto schedule = dyn_cast_or_null<ScheduleAttr>(op.getAttr("schedule"));
      if (!schedule)
        schedule = ScheduleAttr::get(op.getContext(), 1, {}, false,
                                     /*inlined=*/false, 0);
      if (failed(applySchedule(funcs, schedule, target)))
        return failure();
    }
  }

  // Outputs: the op's own Func where it was named after the output, else a
  // copy.
  for (auto [i, value] : llvm::enumerate(returnOp.getOperands())) {
    Tensor &t = get(value);
    auto type = cast<RankedTensorType>(value.getType());
    Func out;
    auto direct = directOutputs.find(value);
    if (direct != directOutputs.end() && direct->second == outputNames[i]) {
      out = t.func;
    } else {
      out = Func(outputNames[i]);
      std::vector<Var> vars = makeVars(type.getRank(), outputNames[i]);
      out(vars) = t.func(vars);
      if (applySchedules)
        scheduleFunc(out,
                     ScheduleAttr::get(func.getContext(),
                                       target.has_gpu_feature() ? 1 : 8, {},
                                       type.getRank() >= 2, false,
                                       target.has_gpu_feature() ? 256 : 0));
    }
    // The caller's buffer must have exactly the output's extents.
    int rank = type.getRank();
    for (int k = 0; k < rank; ++k)
      out.output_buffer().dim(rank - 1 - k).set_bounds(0, t.shape[k]);
    outputs.push_back(out);
    outputShapes.push_back(t.shape);
    outputTypes.push_back(t.type);
  }

  // The shapes pipeline: every output extent, outputs concatenated.
  shapes = Func(func.getSymName().str() + "_shapes");
  Var i("i");
  std::vector<Expr> extents;
  for (const auto &s : outputShapes)
    for (const Expr &e : s)
      extents.push_back(Halide::cast<int64_t>(e));
  Expr value = Halide::cast<int64_t>(0);
  for (int k = static_cast<int>(extents.size()) - 1; k >= 0; --k)
    value = Halide::select(i == k, extents[k], value);
  shapes(i) = value;
  // Σ rank entries: none when every output is a scalar (docs/abi.md).
  shapes.output_buffer().dim(0).set_bounds(0, static_cast<int>(extents.size()));
  return success();
}

LogicalResult PipelineBuilder::define(Operation *op, const std::string &name,
                                      OpFuncs &funcs) {
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  if (failed(toHalideType(outType.getElementType())))
    return op->emitOpError("has an element type the Halide emitter does not "
                           "support: ")
           << outType.getElementType();
  for (Value operand : op->getOperands())
    if (!tensors.count(operand))
      return op->emitOpError("has an operand that is not an attn tensor");
  if (auto call = dyn_cast<func::CallOp>(op))
    return defineCall(call, name, funcs);
  if (auto c = dyn_cast<ConstantOp>(op))
    return defineConstant(c, name, funcs);
  if (isa<MatMulOp, LinearOp, MatMulIntegerOp>(op))
    return defineMatMul(op, name, funcs);
  if (auto s = dyn_cast<SoftmaxOp>(op))
    return defineSoftmax(s, name, funcs);
  if (auto s = dyn_cast<SdpaOp>(op)) {
    // The form is the schedule's (the verifier checked that the op admits
    // it); without a schedule, the online softmax.
    auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
    if (schedule && schedule.getKind() == KernelForm::blocked)
      return defineBlockedSdpa(s, name, funcs);
    return defineSdpa(s, name, funcs);
  }
  return defineOther(op, name, funcs);
}

LogicalResult PipelineBuilder::defineConstant(ConstantOp op,
                                              const std::string &name,
                                              OpFuncs &funcs) {
  auto type = cast<RankedTensorType>(op.getType());
  Halide::Type ht = *toHalideType(type.getElementType());
  int rank = type.getRank();
  std::vector<Var> vars = makeVars(rank, name);
  Tensor t;
  t.type = ht;
  t.shape = shapeOf(type, [](int) { return Expr(); });
  t.func = Func(name);
  funcs.main = t.func;

  ElementsAttr value = op.getValue();
  // Splats are expressions, not buffers.
  if (auto dense = dyn_cast<DenseElementsAttr>(value);
      dense && dense.isSplat()) {
    Expr e;
    Type element = type.getElementType();
    if (isa<FloatType>(element))
      e = Halide::cast(ht,
                       Expr(dense.getSplatValue<APFloat>().convertToDouble()));
    else if (element.isInteger(1))
      e = Halide::cast(ht, Expr(dense.getSplatValue<bool>() ? 1 : 0));
    else
      e = Halide::cast(ht, Expr(dense.getSplatValue<APInt>().getSExtValue()));
    t.nonFinite =
        isa<FloatType>(element) && !dense.getSplatValue<APFloat>().isFinite();
    t.func(vars) = e;
    if (type.getNumElements() <= kMaxKnownElements) {
      t.values = std::vector<Expr>(type.getNumElements(), e);
      t.valueShape.assign(type.getShape().begin(), type.getShape().end());
    }
    tensors[op.getResult()] = t;
    return success();
  }

  std::vector<int> sizes;
  for (int k = rank - 1; k >= 0; --k)
    sizes.push_back(static_cast<int>(type.getDimSize(k)));
  size_t bytes = type.getNumElements() * ht.bytes();
  bool isBool = type.getElementType().isInteger(1);
  ArrayRef<char> raw;
  if (!isBool) {
    if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
      raw = dense.getRawData();
    } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
      AsmResourceBlob *blob = resource.getRawHandle().getBlob();
      if (!blob)
        return op.emitOpError("refers to a resource blob that has no data");
      raw = blob->getData();
    } else {
      return op.emitOpError("has an elements attribute the Halide emitter "
                            "cannot read");
    }
    if (raw.size() != bytes)
      return op.emitOpError("holds ")
             << raw.size() << " bytes, expected " << bytes;
  }

  // A weight passed at run time: an input buffer of fixed shape.
  if (weightsAsParams && !isBool &&
      type.getNumElements() > kMaxCompiledInWeightElements) {
    std::string base = name;
    if (auto nameLoc = dyn_cast<NameLoc>(op.getLoc()))
      base = cIdentifier(nameLoc.getName().getValue());
    Halide::ImageParam param(ht, rank, uniqueName(base));
    for (int k = 0; k < rank; ++k)
      param.dim(rank - 1 - k)
          .set_bounds(0, static_cast<int>(type.getDimSize(k)));
    t.func(vars) = param(std::vector<Expr>(vars.begin(), vars.end()));
    t.param = param;
    weights.push_back(
        {param,
         std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
         raw});
    tensors[op.getResult()] = t;
    return success();
  }

  Halide::Buffer<> buffer;
  if (isBool) {
    buffer = Halide::Buffer<>(ht, sizes, name + "_data");
    auto dense = cast<DenseElementsAttr>(value);
    uint8_t *dst = static_cast<uint8_t *>(buffer.data());
    int64_t i = 0;
    for (bool b : dense.getValues<bool>())
      dst[i++] = b ? 1 : 0;
  } else {
    // The attribute outlives the pipeline: the buffer refers to its bytes
    // instead of copying them (Halide only reads a constant buffer).
    buffer = Halide::Buffer<>(ht, const_cast<char *>(raw.data()), sizes,
                              name + "_data");
  }
  t.func(vars) = buffer(std::vector<Expr>(vars.begin(), vars.end()));
  t.buffer = buffer;
  if (type.getNumElements() <= kMaxKnownElements) {
    auto dense = dyn_cast<DenseElementsAttr>(value);
    std::vector<Expr> known;
    if (dense && type.getElementType().isInteger(1))
      for (bool b : dense.getValues<bool>())
        known.push_back(Halide::cast(ht, b ? 1 : 0));
    else if (dense && isa<IntegerType>(type.getElementType()))
      for (const APInt &v : dense.getValues<APInt>())
        known.push_back(Halide::cast(ht, Expr(v.getSExtValue())));
    else if (dense && isa<FloatType>(type.getElementType()))
      for (const APFloat &v : dense.getValues<APFloat>()) {
        known.push_back(Halide::cast(ht, Expr(v.convertToDouble())));
        t.nonFinite |= !v.isFinite();
      }
    if (static_cast<int64_t>(known.size()) == type.getNumElements()) {
      t.values = std::move(known);
      t.valueShape.assign(type.getShape().begin(), type.getShape().end());
    }
  }
  tensors[op.getResult()] = t;
  return success();
}
