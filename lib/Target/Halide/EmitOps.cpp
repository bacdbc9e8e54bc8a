//===- EmitOps.cpp - Halide algorithms of the graph-level attn ops -*- C++
//-*-===//
//
// THE ALGORITHM of every attn op other than constants, matmul, softmax and
// sdpa (HalideEmitter.cpp). Elementwise and layout ops are one expression per
// element; reductions and normalizations are Halide reductions.
//
// Shape arithmetic never becomes a kernel: small tensors whose elements are
// known before the run (constants, run-time extents and what exporters
// compute from them) carry those elements as expressions (`Tensor::values`),
// and ops that take a shape (Reshape, Expand, Slice, Range...) read it from
// there. Their extents become expressions of the input extents, evaluated
// once per call of the generated function.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

namespace {

using ElementFn = std::function<Expr(const std::vector<Expr> &)>;

Expr asInt(Expr e) { return Halide::cast<int>(e); }

/// An int64 shape value as an Int(32) extent or index (see toExtent).
Expr clampToInt(Expr e) { return toExtent(e); }

Expr typedZero(Halide::Type t) { return Halide::cast(t, 0); }

/// Smallest value of an accumulation type.
Expr typeLowest(Halide::Type t) {
  if (t.is_float())
    return Halide::cast(t, lowest());
  return t.min();
}

Expr typeHighest(Halide::Type t) {
  if (t.is_float())
    return Halide::cast(t, Expr(std::numeric_limits<float>::max()));
  return t.max();
}

} // namespace

//===----------------------------------------------------------------------===//
// Shared machinery
//===----------------------------------------------------------------------===//

void PipelineBuilder::defineElementwise(Operation *op, const std::string &name,
                                        OpFuncs &funcs, std::vector<Expr> shape,
                                        const ElementFn &fn) {
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Halide::Type ht = *toHalideType(outType.getElementType());
  int rank = outType.getRank();
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  // Arithmetic on a constant that holds -inf or NaN is computed strictly
  // (see Tensor::nonFinite), and so is what follows from it.
  t.nonFinite = llvm::any_of(op->getOperands(),
                             [&](Value v) { return get(v).nonFinite; });
  auto strict = [&](Expr e) {
    return t.nonFinite ? Halide::strict_float(e) : e;
  };
  std::vector<Var> vars = makeVars(rank, name);
  t.func(vars) = strict(narrow(fn(onnxIndex(vars)), ht));
  funcs.main = t.func;

  // Small results of known operands are known too.
  if (outType.hasStaticShape() &&
      outType.getNumElements() <= kMaxKnownElements) {
    int before = funcReadCount;
    std::vector<Expr> known;
    for (int64_t flat = 0; flat < outType.getNumElements(); ++flat) {
      std::vector<Expr> idx(rank);
      int64_t rest = flat;
      for (int k = rank - 1; k >= 0; --k) {
        idx[k] = static_cast<int>(rest % outType.getDimSize(k));
        rest /= outType.getDimSize(k);
      }
      known.push_back(Halide::Internal::simplify(strict(narrow(fn(idx), ht))));
      if (funcReadCount != before)
        break;
    }
    if (funcReadCount == before) {
      t.values = std::move(known);
      t.valueShape.assign(outType.getShape().begin(), outType.getShape().end());
    }
  }
  t.shape = std::move(shape);
  tensors[op->getResult(0)] = t;
}

FailureOr<std::vector<Expr>>
PipelineBuilder::knownValues(Operation *op, Value value, StringRef what) {
  Tensor &t = get(value);
  if (!t.values) {
    op->emitOpError("needs its ")
        << what
        << " before the run, but it depends on tensor data (only constants, "
           "extents and arithmetic on them are known before the run)";
    return failure();
  }
  return *t.values;
}

//===----------------------------------------------------------------------===//
// Op definitions
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineOther(Operation *op,
                                           const std::string &name,
                                           OpFuncs &funcs) {
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Halide::Type ht = *toHalideType(outType.getElementType());
  int rank = outType.getRank();
  auto typeOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };

  // Elementwise ops over broadcast operands.
  auto defineBroadcast = [&](std::function<Expr(std::vector<Expr>)> fn,
                             bool widenOperands = true) {
    SmallVector<const Tensor *> ts;
    SmallVector<RankedTensorType> types;
    for (Value v : op->getOperands()) {
      ts.push_back(&get(v));
      types.push_back(typeOf(v));
    }
    std::vector<Expr> shape = broadcastShape(ts, types, outType);
    // Two run-time extents on one axis must agree or one must be 1.
    for (int k = 0; k < rank; ++k) {
      std::vector<Expr> dynamicExtents;
      for (size_t t = 0; t < ts.size(); ++t) {
        int kt = k - (rank - types[t].getRank());
        if (kt >= 0 && types[t].isDynamicDim(kt))
          dynamicExtents.push_back(ts[t]->shape[kt]);
      }
      for (size_t a = 1; a < dynamicExtents.size(); ++a)
        require(dynamicExtents[a] == dynamicExtents[0] ||
                    dynamicExtents[a] == 1 || dynamicExtents[0] == 1,
                op->getName().getStringRef().str() + " at " + name +
                    ": operand extents on axis " + std::to_string(k) +
                    " do not broadcast");
    }
    defineElementwise(op, name, funcs, shape, [&](const std::vector<Expr> &i) {
      std::vector<Expr> xs;
      for (size_t t = 0; t < ts.size(); ++t) {
        Expr x = broadcastRead(*ts[t], types[t], outType, i);
        xs.push_back(widenOperands ? widen(x) : x);
      }
      return fn(xs);
    });
    return success();
  };
  auto unary = [&](std::function<Expr(Expr)> fn) {
    Tensor &in = get(op->getOperand(0));
    defineElementwise(
        op, name, funcs, in.shape,
        [&](const std::vector<Expr> &i) { return fn(widen(in.call(i))); });
    return success();
  };

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](AddOp) {
        return defineBroadcast([](auto x) { return x[0] + x[1]; });
      })
      .Case([&](SubOp) {
        return defineBroadcast([](auto x) { return x[0] - x[1]; });
      })
      .Case([&](MulOp) {
        return defineBroadcast([](auto x) { return x[0] * x[1]; });
      })
      .Case([&](DivOp) {
        // ONNX integer division truncates toward zero; Halide's `/` is
        // Euclidean (0 <= a - b * q < |b|) and total (q = 0 for b = 0). The
        // quotient moves one step toward zero where a negative dividend
        // leaves a remainder. Halide's div_round_to_zero is not used: it
        // faults on a zero divisor, which the unused lanes of a vector tail
        // can hold, and bounds inference cannot see through it.
        return defineBroadcast([](auto x) -> Expr {
          Expr a = x[0], b = x[1];
          if (!a.type().is_int())
            return a / b;
          Expr q = a / b;
          Expr step = Halide::select(b < 0, Halide::cast(a.type(), -1),
                                     Halide::cast(a.type(), 1));
          return Halide::select(a < 0 && a % b != 0, q + step, q);
        });
      })
      .Case([&](PowOp) {
        return defineBroadcast([&](auto x) {
          Halide::Type t = computeType(ht);
          if (t.is_float())
            return Halide::pow(Halide::cast(t, x[0]), Halide::cast(t, x[1]));
          // Integer powers through float64, exact for the small values
          // seen in practice.
          return Halide::cast(t, Halide::pow(Halide::cast<double>(x[0]),
                                             Halide::cast<double>(x[1])));
        });
      })
      .Case([&](ModOp m) {
        bool fmod = m.getFmod();
        return defineBroadcast([fmod](auto x) -> Expr {
          Expr a = x[0], b = x[1];
          if (a.type().is_float()) {
            // C fmod (the dividend's sign); x fmod ±inf is x.
            Expr t = Halide::select(Halide::is_inf(b) && Halide::is_finite(a),
                                    a, a - b * Halide::trunc(a / b));
            if (fmod)
              return t;
            // Python's %: the divisor's sign, a zero signed like it.
            Expr zero =
                Halide::select(b < 0, Halide::cast(a.type(), Expr(-0.0)),
                               Halide::cast(a.type(), Expr(0.0)));
            return Halide::select(t == 0, zero,
                                  Halide::select((t < 0) != (b < 0), t + b, t));
          }
          if (a.type().is_uint())
            return a % b;
          // Halide's % is Euclidean (0 <= r < |b|, 0 for b = 0). fmod takes
          // the dividend's sign, Python's % the divisor's.
          Expr r = a % b;
          if (fmod)
            return Halide::select(r != 0 && a < 0, r - Halide::abs(b), r);
          return Halide::select(r != 0 && b < 0, r + b, r);
        });
      })
      .Case([&](MaxOp) {
        return defineBroadcast([](auto x) { return Halide::max(x[0], x[1]); });
      })
      .Case([&](MinOp) {
        return defineBroadcast([](auto x) { return Halide::min(x[0], x[1]); });
      })
      .Case([&](AndOp) {
        return defineBroadcast([](auto x) { return x[0] && x[1]; });
      })
      .Case([&](OrOp) {
        return defineBroadcast([](auto x) { return x[0] || x[1]; });
      })
      .Case([&](EqualOp) {
        return defineBroadcast([](auto x) { return x[0] == x[1]; });
      })
      .Case([&](LessOp) {
        return defineBroadcast([](auto x) { return x[0] < x[1]; });
      })
      .Case([&](GreaterOp) {
        return defineBroadcast([](auto x) { return x[0] > x[1]; });
      })
      .Case([&](SelectOp) {
        return defineBroadcast(
            [](auto x) { return Halide::select(x[0], x[1], x[2]); });
      })
      .Case(
          [&](SqrtOp) { return unary([](Expr x) { return Halide::sqrt(x); }); })
      .Case([&](NegOp) { return unary([](Expr x) { return -x; }); })
      .Case([&](AbsOp) {
        return unary([](Expr x) {
          // Floats clear their sign bit: Halide 14 fails to lower a chain of
          // inlined abs() calls (an internal error in its CSE).
          if (x.type().is_float()) {
            Halide::Type bits = Halide::UInt(x.type().bits(), x.type().lanes());
            Expr mask = Halide::cast(
                bits, Halide::Expr(~(uint64_t(1) << (x.type().bits() - 1))));
            return Halide::reinterpret(x.type(),
                                       Halide::reinterpret(bits, x) & mask);
          }
          return x.type().is_uint() ? x
                                    : Halide::cast(x.type(), Halide::abs(x));
        });
      })
      .Case([&](ExpOp) { return unary([](Expr x) { return Halide::exp(x); }); })
      .Case([&](LogOp) { return unary([](Expr x) { return Halide::log(x); }); })
      .Case([&](ErfOp) { return unary([](Expr x) { return Halide::erf(x); }); })
      .Case([&](TanhOp) { return unary([](Expr x) { return vectorTanh(x); }); })
      .Case([&](SigmoidOp) {
        return unary([](Expr x) {
          return Halide::cast(x.type(), 1) /
                 (Halide::cast(x.type(), 1) + Halide::exp(-x));
        });
      })
      .Case([&](ReluOp) {
        return unary(
            [](Expr x) { return Halide::max(x, Halide::cast(x.type(), 0)); });
      })
      .Case([&](ReciprocalOp) {
        return unary([](Expr x) { return Halide::cast(x.type(), 1) / x; });
      })
      .Case([&](NotOp) { return unary([](Expr x) { return !x; }); })
      .Case([&](SinOp) { return unary([](Expr x) { return Halide::sin(x); }); })
      .Case([&](CosOp) { return unary([](Expr x) { return Halide::cos(x); }); })
      .Case([&](IsNanOp n) {
        Tensor &in = get(n.getInput());
        defineElementwise(op, name, funcs, in.shape,
                          [&](const std::vector<Expr> &i) {
                            return Halide::is_nan(widen(in.call(i)));
                          });
        return success();
      })
      .Case([&](GatherNdOp g) {
        Tensor &data = get(g.getData());
        Tensor &indices = get(g.getIndices());
        int b = static_cast<int>(g.getBatchDims());
        int ir = indices.rank();
        int64_t q = g.getIndices().getType().getDimSize(ir - 1);
        std::vector<Expr> shape(indices.shape.begin(), indices.shape.end() - 1);
        for (int k = b + static_cast<int>(q); k < data.rank(); ++k)
          shape.push_back(data.shape[k]);
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> dataIdx(i.begin(), i.begin() + b);
              std::vector<Expr> tuple(i.begin(), i.begin() + ir - 1);
              tuple.push_back(Expr());
              for (int j = 0; j < q; ++j) {
                tuple.back() = j;
                Expr extent = data.shape[b + j];
                Expr index = asInt(indices.call(tuple));
                index = Halide::select(index < 0, index + extent, index);
                dataIdx.push_back(Halide::clamp(index, 0, extent - 1));
              }
              for (size_t k = ir - 1; k < i.size(); ++k)
                dataIdx.push_back(i[k]);
              return data.call(dataIdx);
            });
        return success();
      })
      .Case([&](GeluOp g) {
        std::string activation = g.getApproximate() == "none"
                                     ? "gelu"
                                     : "gelu_" + g.getApproximate().str();
        return unary([activation](Expr x) -> Expr {
          return applyActivation(activation, x);
        });
      })
      .Case([&](CastOp c) {
        Tensor &in = get(c.getInput());
        defineElementwise(op, name, funcs, in.shape,
                          [&](const std::vector<Expr> &i) -> Expr {
                            Expr x = in.call(i);
                            if (ht.is_bool())
                              return x != Halide::cast(x.type(), 0);
                            if (x.type().is_bool())
                              return Halide::select(x, Halide::cast(ht, 1),
                                                    Halide::cast(ht, 0));
                            return narrow(widen(x), ht);
                          });
        return success();
      })
      .Case([&](TransposeOp t) {
        Tensor &in = get(t.getInput());
        ArrayRef<int64_t> perm = t.getPerm();
        std::vector<Expr> shape(rank);
        for (int k = 0; k < rank; ++k)
          shape[k] = in.shape[perm[k]];
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            std::vector<Expr> inIdx(rank);
                            for (int k = 0; k < rank; ++k)
                              inIdx[perm[k]] = i[k];
                            return in.call(inIdx);
                          });
        return success();
      })
      .Case([&](FromPanelsOp f) {
        // The matrix read back out of its panels (a product scheduled in
        // panels reads the panels themselves).
        Tensor &in = get(f.getPanels());
        auto out = f.getOutput().getType();
        int width = static_cast<int>(f.getPanels().getType().getDimSize(2));
        bool pairs = in.rank() == 4;
        std::vector<Expr> shape = {static_cast<int>(out.getDimSize(0)),
                                   static_cast<int>(out.getDimSize(1))};
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              Expr k = i[0], n = i[1];
              Expr x = pairs ? in.call({n / width, k / 2, n % width, k % 2})
                             : in.call({n / width, k, n % width});
              return narrow(widen(x), ht);
            });
        return success();
      })
      .Case([&](ReshapeOp r) {
        std::vector<Expr> spec;
        for (int64_t d : r.getShape())
          spec.push_back(Expr(d));
        return defineReshape(op, name, funcs, spec);
      })
      .Case([&](ReshapeDynamicOp r) {
        FailureOr<std::vector<Expr>> spec =
            knownValues(op, r.getShape(), "target shape");
        if (failed(spec))
          return failure();
        if (r.getAllowzero()) {
          for (auto [k, e] : llvm::enumerate(*spec)) {
            Expr entry = simplifyKnown(e);
            if (Halide::Internal::is_const_zero(entry)) {
              op->emitOpError("has a target shape whose entry ")
                  << k << " is 0 with allowzero, an empty tensor";
              return failure();
            }
            if (!Halide::Internal::is_const(entry))
              require(entry != 0, "reshape at " + name + ": entry " +
                                      std::to_string(k) +
                                      " of the target shape is 0 (allowzero)");
          }
        }
        return defineReshape(op, name, funcs, *spec);
      })
      .Case([&](ExpandDimsOp e) {
        Tensor &in = get(e.getInput());
        ArrayRef<int64_t> axes = e.getAxes();
        auto isMarked = [&](int64_t k) { return llvm::is_contained(axes, k); };
        std::vector<Expr> shape;
        if (e.getSqueeze()) {
          for (int k = 0; k < in.rank(); ++k)
            if (!isMarked(k))
              shape.push_back(in.shape[k]);
        } else {
          int j = 0;
          for (int k = 0; k < rank; ++k)
            shape.push_back(isMarked(k) ? Expr(1) : in.shape[j++]);
        }
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            std::vector<Expr> inIdx;
                            if (e.getSqueeze()) {
                              int j = 0;
                              for (int k = 0; k < in.rank(); ++k)
                                inIdx.push_back(isMarked(k) ? Expr(0) : i[j++]);
                            } else {
                              for (int k = 0; k < rank; ++k)
                                if (!isMarked(k))
                                  inIdx.push_back(i[k]);
                            }
                            return in.call(inIdx);
                          });
        return success();
      })
      .Case([&](ShapeOp s) {
        Tensor &in = get(s.getInput());
        std::vector<Expr> extents;
        for (int64_t k = s.getStart(); k < s.getEnd(); ++k)
          extents.push_back(Halide::cast<int64_t>(in.shape[k]));
        Tensor t;
        t.type = ht;
        t.func = Func(name);
        Var i(name + "_i");
        Expr e = extents.empty() ? Expr(int64_t(0)) : extents.back();
        for (int k = static_cast<int>(extents.size()) - 2; k >= 0; --k)
          e = Halide::select(i == k, extents[k], e);
        t.func(i) = e;
        t.shape = {static_cast<int>(extents.size())};
        t.values = extents;
        t.valueShape = {static_cast<int64_t>(extents.size())};
        funcs.main = t.func;
        tensors[op->getResult(0)] = t;
        return success();
      })
      .Case([&](ConcatOp c) {
        int64_t axis = c.getAxis();
        std::vector<Expr> shape = get(c.getInputs()[0]).shape;
        // The other axes must agree, where only the run knows them.
        for (Value v : c.getInputs().drop_front())
          for (int k = 0; k < rank; ++k)
            if (k != axis && (typeOf(v).isDynamicDim(k) ||
                              typeOf(c.getInputs()[0]).isDynamicDim(k)))
              require(get(v).shape[k] == shape[k],
                      "attn.concat at " + describeNode(op) +
                          ": the inputs' extents on axis " + std::to_string(k) +
                          " differ");
        Expr total = 0;
        std::vector<Expr> offsets;
        for (Value v : c.getInputs()) {
          offsets.push_back(total);
          total = total + get(v).shape[axis];
        }
        shape[axis] = total;
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              // Selects from the last input backwards: the first input
              // whose range holds the index wins.
              Expr chosen = get(c.getInputs().back()).call([&] {
                std::vector<Expr> inIdx = i;
                const Tensor &last = get(c.getInputs().back());
                inIdx[axis] = Halide::clamp(i[axis] - offsets.back(), 0,
                                            last.shape[axis] - 1);
                return inIdx;
              }());
              for (int t = static_cast<int>(offsets.size()) - 2; t >= 0; --t) {
                const Tensor &in = get(c.getInputs()[t]);
                std::vector<Expr> inIdx = i;
                inIdx[axis] =
                    Halide::clamp(i[axis] - offsets[t], 0, in.shape[axis] - 1);
                chosen = Halide::select(i[axis] < offsets[t + 1],
                                        in.call(inIdx), chosen);
              }
              return chosen;
            });
        return success();
      })
      .Case([&](SliceOp s) { return defineSlice(s, name, funcs); })
      .Case([&](GatherOp g) {
        Tensor &data = get(g.getData());
        Tensor &indices = get(g.getIndices());
        int64_t axis = g.getAxis();
        int ir = indices.rank();
        std::vector<Expr> shape;
        for (int k = 0; k < axis; ++k)
          shape.push_back(data.shape[k]);
        for (int k = 0; k < ir; ++k)
          shape.push_back(indices.shape[k]);
        for (int k = axis + 1; k < data.rank(); ++k)
          shape.push_back(data.shape[k]);
        Expr extent = data.shape[axis];
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> idxIdx(i.begin() + axis, i.begin() + axis + ir);
              Expr index = asInt(indices.call(idxIdx));
              index = Halide::select(index < 0, index + extent, index);
              std::vector<Expr> dataIdx(i.begin(), i.begin() + axis);
              dataIdx.push_back(Halide::clamp(index, 0, extent - 1));
              for (size_t k = axis + ir; k < i.size(); ++k)
                dataIdx.push_back(i[k]);
              return data.call(dataIdx);
            });
        return success();
      })
      .Case([&](ExpandOp e) {
        Tensor &in = get(e.getInput());
        FailureOr<std::vector<Expr>> target =
            knownValues(op, e.getShape(), "target shape");
        if (failed(target))
          return failure();
        std::vector<Expr> shape(rank);
        int offsetIn = rank - in.rank();
        int offsetT = rank - static_cast<int>(target->size());
        for (int k = 0; k < rank; ++k) {
          if (!outType.isDynamicDim(k)) {
            shape[k] = static_cast<int>(outType.getDimSize(k));
            continue;
          }
          Expr t = k >= offsetT ? clampToInt((*target)[k - offsetT]) : Expr(1);
          Expr x = k >= offsetIn ? in.shape[k - offsetIn] : Expr(1);
          shape[k] = Halide::select(t == 1, x, t);
        }
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> inIdx;
              for (int k = 0; k < in.rank(); ++k) {
                auto inType = typeOf(e.getInput());
                int o = k + offsetIn;
                if (inType.getDimSize(k) == 1)
                  inIdx.push_back(0);
                else if (inType.isDynamicDim(k))
                  inIdx.push_back(Halide::min(i[o], in.shape[k] - 1));
                else
                  inIdx.push_back(i[o]);
              }
              return in.call(inIdx);
            });
        return success();
      })
      .Case([&](TileOp t) {
        Tensor &in = get(t.getInput());
        FailureOr<std::vector<Expr>> repeats =
            knownValues(op, t.getRepeats(), "repeats");
        if (failed(repeats))
          return failure();
        std::vector<Expr> shape(rank);
        for (int k = 0; k < rank; ++k)
          shape[k] = in.shape[k] * clampToInt((*repeats)[k]);
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            std::vector<Expr> inIdx(rank);
                            for (int k = 0; k < rank; ++k)
                              inIdx[k] = i[k] % in.shape[k];
                            return in.call(inIdx);
                          });
        return success();
      })
      .Case([&](ConstantOfShapeOp c) {
        FailureOr<std::vector<Expr>> target =
            knownValues(op, c.getShape(), "shape");
        if (failed(target))
          return failure();
        std::vector<Expr> shape;
        for (int k = 0; k < rank; ++k)
          shape.push_back(outType.isDynamicDim(k)
                              ? Halide::max(clampToInt((*target)[k]), 0)
                              : Expr(static_cast<int>(outType.getDimSize(k))));
        auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
        if (!dense || dense.getNumElements() != 1)
          return LogicalResult(
              op->emitOpError("expects a one-element dense value"));
        Expr v;
        Type element = dense.getElementType();
        if (isa<FloatType>(element))
          v = Halide::cast(
              ht, Expr(dense.getSplatValue<APFloat>().convertToDouble()));
        else if (element.isInteger(1))
          v = Halide::cast(ht, dense.getSplatValue<bool>() ? 1 : 0);
        else
          v = Halide::cast(ht,
                           Expr(dense.getSplatValue<APInt>().getSExtValue()));
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &) { return v; });
        return success();
      })
      .Case([&](RangeOp r) {
        FailureOr<std::vector<Expr>> start =
            knownValues(op, r.getStart(), "start");
        FailureOr<std::vector<Expr>> limit =
            knownValues(op, r.getLimit(), "limit");
        FailureOr<std::vector<Expr>> delta =
            knownValues(op, r.getDelta(), "delta");
        if (failed(start) || failed(limit) || failed(delta))
          return failure();
        Expr s = (*start)[0], l = (*limit)[0], d = (*delta)[0];
        // A length known before the run must fit the 32-bit extents.
        if (!s.type().is_float()) {
          Expr s64 = Halide::cast<int64_t>(s), l64 = Halide::cast<int64_t>(l),
               d64 = Halide::cast<int64_t>(d);
          Expr length = Halide::Internal::simplify(
              Halide::select(d64 > 0, (l64 - s64 + d64 - 1) / d64,
                             (s64 - l64 - d64 - 1) / (-d64)));
          if (const int64_t *n = Halide::Internal::as_const_int(length);
              n && *n > std::numeric_limits<int32_t>::max()) {
            op->emitOpError("has ")
                << *n
                << " elements: extents must lie in [0, 2^31 - 1] (the "
                   "generated code indexes with 32-bit integers)";
            return failure();
          }
        }
        Expr count;
        if (s.type().is_float())
          count = Halide::cast<int>(Halide::ceil(Halide::cast<double>(l - s) /
                                                 Halide::cast<double>(d)));
        else // ceil((l - s) / d) in integers; division rounds down.
          count = clampToInt(Halide::select(d > 0, (l - s + d - 1) / d,
                                            (s - l - d - 1) / (-d)));
        std::vector<Expr> shape = {
            outType.isDynamicDim(0)
                ? Halide::max(count, 0)
                : Expr(static_cast<int>(outType.getDimSize(0)))};
        defineElementwise(op, name, funcs, shape,
                          [&](const std::vector<Expr> &i) {
                            return s + Halide::cast(s.type(), i[0]) * d;
                          });
        return success();
      })
      .Case([&](PadOp p) {
        Tensor &in = get(p.getInput());
        FailureOr<std::vector<Expr>> amounts =
            knownValues(op, p.getPads(), "pad amounts");
        if (failed(amounts))
          return failure();
        std::vector<Expr> pads;
        for (const Expr &a : *amounts)
          pads.push_back(clampToInt(a));
        std::string mode = p.getMode().str();
        std::vector<Expr> shape;
        for (int k = 0; k < rank; ++k)
          shape.push_back(outType.isDynamicDim(k)
                              ? in.shape[k] + pads[k] + pads[rank + k]
                              : Expr(static_cast<int>(outType.getDimSize(k))));
        for (int k = 0; k < rank; ++k)
          if (mode != "constant")
            require(in.shape[k] > 0, "pad at " + name + ": mode '" + mode +
                                         "' needs a non-empty axis " +
                                         std::to_string(k));
        Expr fill = typedZero(in.type);
        if (Value v = p.getValue()) {
          Tensor &value = get(v);
          fill = value.call(std::vector<Expr>(value.rank(), 0));
        }
        defineElementwise(
            op, name, funcs, shape, [&](const std::vector<Expr> &i) {
              Expr inside = Halide::Internal::const_true();
              std::vector<Expr> src;
              for (int k = 0; k < rank; ++k) {
                Expr s = i[k] - pads[k];
                Expr n = in.shape[k];
                if (mode == "constant") {
                  inside = inside && s >= 0 && s < n;
                  s = Halide::clamp(s, 0, n - 1);
                } else if (mode == "edge") {
                  s = Halide::clamp(s, 0, n - 1);
                } else if (mode == "wrap") {
                  s = s % n; // Euclidean: in [0, n).
                } else {     // reflect: period 2(n - 1), the edge not repeated.
                  Expr period = Halide::max(2 * (n - 1), 1);
                  Expr m = s % period;
                  s = Halide::clamp(Halide::select(m < n, m, period - m), 0,
                                    n - 1);
                }
                src.push_back(s);
              }
              Expr v = in.call(src);
              return mode == "constant"
                         ? Halide::select(inside, v,
                                          Halide::cast(v.type(), fill))
                         : v;
            });
        return success();
      })
      .Case([&](TriluOp t) {
        Tensor &in = get(t.getInput());
        Expr k = Expr(int64_t(0));
        if (Value kv = t.getK())
          k = get(kv).call({});
        bool upper = t.getUpper();
        defineElementwise(
            op, name, funcs, in.shape, [&](const std::vector<Expr> &i) {
              Expr diff = Halide::cast<int64_t>(i[rank - 1] - i[rank - 2]);
              Expr keep = upper ? diff >= k : diff <= k;
              return Halide::select(keep, in.call(i), typedZero(in.type));
            });
        return success();
      })
      .Case([&](RotaryOp r) { return defineRotary(r, name, funcs); })
      .Case([&](ReduceOp r) { return defineReduce(r, name, funcs); })
      .Case([&](ArgMaxOp a) { return defineArgMax(a, name, funcs); })
      .Case([&](LogSoftmaxOp s) { return defineLogSoftmax(s, name, funcs); })
      .Case([&](LayerNormOp l) { return defineLayerNorm(l, name, funcs); })
      .Case([&](AdditiveAttentionOp a) {
        return defineAdditiveAttention(a, name, funcs);
      })
      .Case([&](HardAttentionOp h) {
        return defineHardAttention(h, name, funcs);
      })
      .Case([&](Conv2dOp c) { return defineConv2d(c, name, funcs); })
      .Case([&](EinsumOp e) { return defineEinsum(e, name, funcs); })
      .Default([&](Operation *other) {
        return other->emitOpError("has no Halide lowering");
      });
}

//===----------------------------------------------------------------------===//
// Reshape and Slice: extents from known shape values
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineReshape(Operation *op,
                                             const std::string &name,
                                             OpFuncs &funcs,
                                             const std::vector<Expr> &spec) {
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Tensor &in = get(op->getOperand(0));
  int rank = outType.getRank();
  if (static_cast<int>(spec.size()) != rank)
    return op->emitOpError("has a target shape of ")
           << spec.size() << " entries for a result of rank " << rank;
  Expr total = 1;
  for (const Expr &e : in.shape)
    total = total * e;
  // ONNX rules: 0 copies the input's extent, -1 is inferred.
  std::vector<Expr> entry(rank), resolved(rank);
  for (int k = 0; k < rank; ++k) {
    entry[k] = Halide::cast<int64_t>(spec[k]);
    if (!outType.isDynamicDim(k)) {
      resolved[k] = static_cast<int>(outType.getDimSize(k));
      continue;
    }
    Expr copy = k < in.rank() ? in.shape[k] : Expr(0);
    resolved[k] = Halide::select(entry[k] == 0, copy, clampToInt(entry[k]));
  }
  Expr known = 1;
  for (int k = 0; k < rank; ++k)
    known =
        known *
        simplifyKnown(toExtent(Halide::select(entry[k] == -1, 1, resolved[k])));
  // Division by zero gives zero in Halide; the element-count check reports it.
  Expr inferred = divideExact(simplifyKnown(total), simplifyKnown(known));
  std::vector<Expr> shape(rank);
  for (int k = 0; k < rank; ++k)
    shape[k] = outType.isDynamicDim(k)
                   ? simplifyKnown(toExtent(
                         Halide::select(entry[k] == -1, inferred, resolved[k])))
                   : resolved[k];
  Expr outTotal = 1;
  for (const Expr &e : shape)
    outTotal = outTotal * e;
  require(outTotal == total, "reshape at " + name +
                                 ": the target shape does not hold the "
                                 "input's element count");
  // Axes in groups whose extents multiply to the same count on both sides
  // ([B, S, 768] → [B, S, 12, 64]: {B}, {S}, {768 → 12 × 64}): each group
  // is indexed on its own, so a split is affine (h · 64 + d) and a merge
  // divides only within the group. Where extents cannot be compared, the
  // rest is one group.
  struct Group {
    int inBegin, inEnd, outBegin, outEnd;
  };
  std::vector<Group> groups;
  auto constant = [](const Expr &e) -> std::optional<int64_t> {
    if (const int64_t *c = Halide::Internal::as_const_int(e))
      return *c;
    return std::nullopt;
  };
  int i = 0, j = 0, inRank = in.rank();
  while (i < inRank && j < rank) {
    Group g{i, i + 1, j, j + 1};
    Expr pin = in.shape[i], pout = shape[j];
    bool closed = false;
    while (true) {
      Expr a = simplifyKnown(pin), b = simplifyKnown(pout);
      if (Halide::Internal::can_prove(a == b)) {
        closed = true;
        break;
      }
      std::optional<int64_t> ca = constant(a), cb = constant(b);
      if (!ca || !cb)
        break;
      if (*ca < *cb && g.inEnd < inRank)
        pin = pin * in.shape[g.inEnd++];
      else if (*cb < *ca && g.outEnd < rank)
        pout = pout * shape[g.outEnd++];
      else
        break;
    }
    if (!closed) {
      groups.push_back({g.inBegin, inRank, g.outBegin, rank});
      i = inRank;
      j = rank;
      break;
    }
    groups.push_back(g);
    i = g.inEnd;
    j = g.outEnd;
  }
  // Trailing axes of extent 1 on either side join the last group.
  if (groups.empty())
    groups.push_back({0, inRank, 0, rank});
  groups.back().inEnd = inRank;
  groups.back().outEnd = rank;
  defineElementwise(op, name, funcs, shape, [&](const std::vector<Expr> &idx) {
    std::vector<Expr> inIdx(inRank);
    for (const Group &g : groups) {
      // Row-major position within the group, then the input's index.
      Expr flat = 0;
      for (int k = g.outBegin; k < g.outEnd; ++k)
        flat = g.outEnd - g.outBegin == 1 ? idx[k] : flat * shape[k] + idx[k];
      for (int k = g.inEnd - 1; k >= g.inBegin; --k) {
        inIdx[k] = k == g.inBegin ? flat : flat % in.shape[k];
        flat = flat / in.shape[k];
      }
    }
    return in.call(inIdx);
  });
  return success();
}

LogicalResult PipelineBuilder::defineSlice(SliceOp op, const std::string &name,
                                           OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto outType = op.getType();
  FailureOr<std::vector<Expr>> starts =
      knownValues(op, op.getStarts(), "starts");
  FailureOr<std::vector<Expr>> ends = knownValues(op, op.getEnds(), "ends");
  if (failed(starts) || failed(ends))
    return failure();
  ArrayRef<int64_t> axes = op.getAxes(), steps = op.getSteps();
  if (starts->size() != axes.size() || ends->size() != axes.size())
    return op.emitOpError("expects one start and one end per axis");
  std::vector<Expr> shape = in.shape, first(in.rank(), Expr(0));
  std::vector<int64_t> stride(in.rank(), 1);
  // Keeps the arithmetic below clear of int64 overflow (ends are often
  // INT64_MAX for "to the end").
  const int64_t big = int64_t(1) << 40;
  for (auto [j, axis] : llvm::enumerate(axes)) {
    Expr dim = Halide::cast<int64_t>(in.shape[axis]);
    Expr s = Halide::clamp(Halide::cast<int64_t>((*starts)[j]), Expr(-big),
                           Expr(big));
    Expr e =
        Halide::clamp(Halide::cast<int64_t>((*ends)[j]), Expr(-big), Expr(big));
    s = Halide::select(s < 0, s + dim, s);
    e = Halide::select(e < 0, e + dim, e);
    int64_t step = steps[j];
    Expr count;
    if (step > 0) {
      s = Halide::clamp(s, Expr(int64_t(0)), dim);
      e = Halide::clamp(e, Expr(int64_t(0)), dim);
      count = (e - s + Expr(step - 1)) / Expr(step);
    } else {
      s = Halide::clamp(s, Expr(int64_t(0)), dim - 1);
      e = Halide::clamp(e, Expr(int64_t(-1)), dim - 1);
      count = (s - e + Expr(-step - 1)) / Expr(-step);
    }
    // A non-empty slice starts inside the axis; an empty one may start at
    // its end, which must not become an access out of bounds.
    first[axis] = Halide::cast<int>(
        step > 0 ? Halide::max(Halide::min(s, dim - 1), Expr(int64_t(0))) : s);
    stride[axis] = step;
    shape[axis] = outType.isDynamicDim(axis)
                      ? Halide::Internal::simplify(Halide::cast<int>(
                            Halide::max(count, Expr(int64_t(0)))))
                      : Expr(static_cast<int>(outType.getDimSize(axis)));
  }
  defineElementwise(op, name, funcs, shape, [&](const std::vector<Expr> &i) {
    std::vector<Expr> inIdx(in.rank());
    for (int k = 0; k < in.rank(); ++k)
      inIdx[k] = stride[k] == 1 && is_const_zero(first[k])
                     ? i[k]
                     : first[k] + i[k] * static_cast<int>(stride[k]);
    return in.call(inIdx);
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Rotary embedding
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineRotary(RotaryOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &x = get(op.getInput());
  Tensor &cosT = get(op.getCos());
  Tensor &sinT = get(op.getSin());
  Tensor *positions = op.getPositionIds() ? &get(op.getPositionIds()) : nullptr;
  auto xType = op.getInput().getType();
  if (xType.getRank() != 4)
    return op.emitOpError("expects a [B, H, S, D] input");
  int64_t headDim = xType.getDimSize(3);
  if (ShapedType::isDynamic(headDim))
    return op.emitOpError("expects a static head size");
  int64_t rotary = op.getRotaryDim() ? op.getRotaryDim() : headDim;
  if (rotary > headDim || rotary % 2)
    return op.emitOpError("expects an even rotary_dim up to the head size ")
           << headDim << ", got " << rotary;
  int half = static_cast<int>(rotary / 2);
  bool interleaved = op.getInterleaved();
  defineElementwise(op, name, funcs, x.shape, [&](const std::vector<Expr> &i) {
    Expr b = i[0], h = i[1], s = i[2], d = i[3];
    Expr freq, partner, sign;
    if (interleaved) {
      freq = d / 2;
      partner = Halide::select(d % 2 == 0, d + 1, d - 1);
      sign = Halide::select(d % 2 == 0, -1.0f, 1.0f);
    } else {
      freq = Halide::select(d < half, d, d - half);
      partner = Halide::select(d < half, d + half, d - half);
      sign = Halide::select(d < half, -1.0f, 1.0f);
    }
    freq = Halide::clamp(freq, 0, half - 1);
    partner = Halide::clamp(partner, 0, static_cast<int>(rotary) - 1);
    auto table = [&](Tensor &t) {
      if (positions) {
        Expr pos = Halide::cast<int>(positions->call({b, s}));
        return widen(t.call({Halide::clamp(pos, 0, t.shape[0] - 1), freq}));
      }
      if (t.rank() == 2)
        return widen(t.call({s, freq}));
      return widen(t.call({b, s, freq}));
    };
    Expr xv = widen(x.call({b, h, s, d}));
    Expr xp = widen(x.call({b, h, s, partner}));
    Expr rotated = xv * table(cosT) + sign * xp * table(sinT);
    return Halide::select(d < static_cast<int>(rotary), rotated, xv);
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineReduce(ReduceOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto outType = op.getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  ArrayRef<int64_t> axes = op.getAxes();
  bool keep = op.getKeepdims();
  int inRank = in.rank();
  Halide::Region region;
  for (int64_t a : axes)
    region.push_back(Halide::Range(0, in.shape[a]));
  std::vector<Expr> shape;
  for (int k = 0; k < inRank; ++k) {
    bool reduced = llvm::is_contained(axes, k);
    if (!reduced)
      shape.push_back(in.shape[k]);
    else if (keep)
      shape.push_back(1);
  }
  if (region.empty()) {
    defineElementwise(op, name, funcs, shape,
                      [&](const std::vector<Expr> &i) { return in.call(i); });
    return success();
  }
  RDom r(region, name + "_r");
  StringRef kind = op.getKind();
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.shape = shape;
  std::vector<Var> vars = makeVars(static_cast<int>(shape.size()), name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::vector<Expr> inIdx;
  int o = 0, j = 0;
  for (int k = 0; k < inRank; ++k) {
    if (llvm::is_contained(axes, k)) {
      inIdx.push_back(r[j++]);
      if (keep)
        ++o;
    } else {
      inIdx.push_back(idx[o++]);
    }
  }
  Expr x = widen(in.call(inIdx));
  Halide::Type acc = x.type();
  if (acc.is_int() && acc.bits() < 64 && (kind == "sum" || kind == "prod"))
    acc = acc.with_bits(64);
  x = Halide::cast(acc, x);
  Expr value;
  if (kind == "sum" || kind == "mean") {
    value = Halide::sum(x);
    if (kind == "mean") {
      Expr count = 1;
      for (const auto &range : region)
        count = count * range.extent;
      value = value / Halide::cast(acc, count);
    }
  } else if (kind == "max") {
    value = Halide::maximum(x);
  } else if (kind == "min") {
    value = Halide::minimum(x);
  } else {
    value = Halide::product(x);
  }
  t.func(vars) = narrow(value, ht);
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineArgMax(ArgMaxOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  int inRank = in.rank();
  int64_t axis = op.getAxis();
  bool keep = op.getKeepdims();
  std::vector<Expr> shape;
  for (int k = 0; k < inRank; ++k) {
    if (k != axis)
      shape.push_back(in.shape[k]);
    else if (keep)
      shape.push_back(1);
  }
  int rank = static_cast<int>(shape.size());
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  auto inIndex = [&](Expr at) {
    std::vector<Expr> ix;
    int o = 0;
    for (int k = 0; k < inRank; ++k) {
      if (k == axis) {
        ix.push_back(at);
        if (keep)
          ++o;
      } else {
        ix.push_back(idx[o++]);
      }
    }
    return ix;
  };
  RDom r(1, Halide::max(in.shape[axis] - 1, 0), name + "_r");
  Func state(name + "_state");
  state(vars) = {Expr(int64_t(0)), widen(in.call(inIndex(0)))};
  Expr v = widen(in.call(inIndex(r.x)));
  Expr best = state(vars)[1];
  Expr better = op.getSelectLastIndex() ? v >= best : v > best;
  state(vars) = {
      Halide::select(better, Halide::cast<int64_t>(r.x), state(vars)[0]),
      Halide::select(better, v, best)};
  Tensor t;
  t.type = Halide::Int(64);
  t.func = Func(name);
  t.func(vars) = state(vars)[0];
  t.shape = shape;
  funcs.main = t.func;
  funcs.helpers.push_back(state);
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineLogSoftmax(LogSoftmaxOp op,
                                                const std::string &name,
                                                OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  int rank = in.rank();
  int64_t axis = op.getAxisAttr().getInt();
  if (axis < 0)
    axis += rank;
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::vector<Var> rowVars;
  for (int k = 0; k < rank; ++k)
    if (k != rank - 1 - axis)
      rowVars.push_back(vars[k]);
  RDom r(0, in.shape[axis], name + "_r");
  std::vector<Expr> rIdx = idx;
  rIdx[axis] = r.x;
  Func max(name + "_max"), sum(name + "_sum");
  max(rowVars) = Halide::maximum(widen(in.call(rIdx)));
  sum(rowVars) = Halide::sum(Halide::exp(widen(in.call(rIdx)) - max(rowVars)));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(
      widen(in.call(idx)) - max(rowVars) - Halide::log(sum(rowVars)), ht);
  t.shape = in.shape;
  funcs.main = t.func;
  funcs.helpers = {max, sum};
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineLayerNorm(LayerNormOp op,
                                               const std::string &name,
                                               OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto outType = op.getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  int rank = in.rank();
  int64_t axis = op.getAxisAttr().getInt();
  if (axis < 0)
    axis += rank;
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  // Halide vars of the leading (row) axes: the last `axis` of `vars`.
  std::vector<Var> rowVars(vars.end() - axis, vars.end());
  Halide::Region region;
  Expr count = 1;
  for (int k = axis; k < rank; ++k) {
    region.push_back(Halide::Range(0, in.shape[k]));
    count = count * in.shape[k];
  }
  RDom r(region, name + "_r");
  std::vector<Expr> rIdx(idx.begin(), idx.begin() + axis);
  for (int k = 0; k < rank - axis; ++k)
    rIdx.push_back(r[k]);
  // The normalized rows: the input, plus the residual where there is one.
  auto row = [&](const std::vector<Expr> &at) {
    Expr v = Halide::cast<float>(widen(in.call(at)));
    if (Value residual = op.getResidual())
      v = v + Halide::cast<float>(widen(broadcastRead(
                  get(residual), cast<RankedTensorType>(residual.getType()),
                  outType, at)));
    return v;
  };
  Expr x = row(rIdx);
  Expr n = Halide::cast<float>(count);
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  Expr normalized;
  Expr xv = row(idx);
  if (op.getRms()) {
    Func meanSquare(name + "_ms");
    meanSquare(rowVars) = Halide::sum(x * x) / n;
    normalized = xv / Halide::sqrt(meanSquare(rowVars) + eps);
    funcs.helpers = {meanSquare};
  } else {
    Func mean(name + "_mean"), var(name + "_var");
    mean(rowVars) = Halide::sum(x) / n;
    Expr centered = x - mean(rowVars);
    var(rowVars) = Halide::sum(centered * centered) / n;
    normalized = (xv - mean(rowVars)) / Halide::sqrt(var(rowVars) + eps);
    funcs.helpers = {mean, var};
  }
  if (Value scale = op.getScale())
    normalized =
        normalized * Halide::cast<float>(widen(broadcastRead(
                         get(scale), cast<RankedTensorType>(scale.getType()),
                         outType, idx)));
  if (Value bias = op.getBias())
    normalized =
        normalized +
        Halide::cast<float>(widen(broadcastRead(
            get(bias), cast<RankedTensorType>(bias.getType()), outType, idx)));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(normalized, ht);
  t.shape = in.shape;
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// Additive and hard attention
//===----------------------------------------------------------------------===//

namespace {
/// The index [batch..., row, col] in ONNX order: the leading entries of
/// `batchOf` (an index of the same rank), then `row` and `col`.
std::vector<Expr> withLastTwo(const std::vector<Expr> &batchOf, Expr row,
                              Expr col) {
  std::vector<Expr> ix(batchOf.begin(), batchOf.end() - 2);
  ix.push_back(row);
  ix.push_back(col);
  return ix;
}

/// Reads `t` at [batch..., row, col], a batch extent of 1 broadcasting.
Expr readKeyed(const Tensor &t, const std::vector<Expr> &batchOf, Expr row,
               Expr col) {
  std::vector<Expr> ix = withLastTwo(batchOf, row, col);
  for (size_t d = 0; d + 2 < ix.size(); ++d)
    ix[d] = Halide::min(ix[d], t.shape[d] - 1);
  return t.call(ix);
}

/// The batch extents of a keyed attention's results: the broadcast of
/// those of its queries, keys and values.
std::vector<Expr> keyedShape(const Tensor &q, const Tensor &k, const Tensor &v,
                             Expr row, Expr col) {
  std::vector<Expr> shape;
  for (int d = 0; d + 2 < q.rank(); ++d)
    shape.push_back(
        Halide::max(q.shape[d], Halide::max(k.shape[d], v.shape[d])));
  shape.push_back(row);
  shape.push_back(col);
  return shape;
}

/// Applies an attention mask (i1 keep or additive float) to the score `s`
/// at index `sIdx` of scores of type `scoresType`: `valid` is and-ed with a
/// keep mask, an additive mask is added to `s`.
void applyMask(const Tensor *mask, Value maskValue, RankedTensorType scoresType,
               const std::vector<Expr> &sIdx, Expr &s, Expr &valid) {
  if (!mask)
    return;
  Expr m = broadcastRead(*mask, cast<RankedTensorType>(maskValue.getType()),
                         scoresType, sIdx);
  if (m.type().is_bool())
    valid = valid && m;
  else if (mask->nonFinite)
    // -inf in a constant mask must not be folded away (Tensor::nonFinite).
    s = Halide::strict_float(s + Halide::cast(s.type(), widen(m)));
  else
    s = s + Halide::cast(s.type(), widen(m));
}
} // namespace

void PipelineBuilder::requireSdpaExtents(SdpaOp op) {
  const Tensor &q = get(op.getQ()), &k = get(op.getK()), &v = get(op.getV());
  std::string at = "attn.sdpa at " + describeNode(op) + ": ";
  int64_t group = op.getKvGroupAttr().getInt();
  require(q.shape[0] == k.shape[0] && k.shape[0] == v.shape[0],
          at + "the queries, keys and values differ in batch");
  require(k.shape[1] == v.shape[1], at + "the keys and values differ in heads");
  require(q.shape[1] == k.shape[1] * static_cast<int>(group),
          at + "the queries have not " + std::to_string(group) +
              " times as many heads as the keys");
  require(q.shape[3] == k.shape[3],
          at + "the queries and keys differ in head size");
  require(k.shape[2] == v.shape[2],
          at + "there are not as many values as keys");
  // A mask broadcasts to [batch, heads, queries, keys].
  if (Value m = op.getMask()) {
    const Tensor &mask = get(m);
    std::vector<Expr> scores = {q.shape[0], q.shape[1], q.shape[2], k.shape[2]};
    int offset = 4 - mask.rank();
    for (int a = 0; a < mask.rank(); ++a)
      if (cast<RankedTensorType>(m.getType()).isDynamicDim(a))
        require(mask.shape[a] == scores[offset + a] || mask.shape[a] == 1,
                at + "the mask's extent on axis " + std::to_string(a) +
                    " does not broadcast to the scores");
  }
}

void PipelineBuilder::requireKeyedExtents(const std::string &what,
                                          const Tensor &q, const Tensor &k,
                                          const Tensor &v) {
  int rank = q.rank();
  for (int d = 0; d < rank - 2; ++d) {
    Expr e = Halide::max(q.shape[d], Halide::max(k.shape[d], v.shape[d]));
    require((q.shape[d] == e || q.shape[d] == 1) &&
                (k.shape[d] == e || k.shape[d] == 1) &&
                (v.shape[d] == e || v.shape[d] == 1),
            what +
                ": the batch extents of the queries, keys and values on "
                "axis " +
                std::to_string(d) + " do not broadcast");
  }
  require(q.shape[rank - 1] == k.shape[rank - 1],
          what + ": the queries and keys differ in feature size");
  require(k.shape[rank - 2] == v.shape[rank - 2],
          what + ": there are not as many values as keys");
}

LogicalResult PipelineBuilder::defineAdditiveAttention(AdditiveAttentionOp op,
                                                       const std::string &name,
                                                       OpFuncs &funcs) {
  const Tensor &q = get(op.getQuery()), &k = get(op.getKeys()),
               &w = get(op.getWeight()), &v = get(op.getValues());
  const Tensor *mask = op.getMask() ? &get(op.getMask()) : nullptr;
  auto probsType = op.getProbs().getType();
  Halide::Type ht = *toHalideType(probsType.getElementType());
  Halide::Type acc = computeType(ht);
  int rank = q.rank();
  Expr nk = k.shape[rank - 2];
  requireKeyedExtents("additive attention at " + name, q, k, v);
  require(w.shape[0] == k.shape[rank - 1],
          "additive attention at " + name +
              ": the weight vector and the keys differ in feature size");

  // Scores [..., Nq, Nk]: Σ_a w[a] · vectorTanh(q[i, a] + k[j, a]).
  std::vector<Var> sv = makeVars(rank, name + "_s");
  std::vector<Expr> sIdx = onnxIndex(sv);
  Expr i = sIdx[rank - 2], j = sIdx[rank - 1];
  RDom ra(0, q.shape[rank - 1], name + "_a");
  Func scores(name + "_scores");
  scores(sv) = typedZero(acc);
  scores(sv) +=
      Halide::cast(acc, widen(w.call({ra.x}))) *
      vectorTanh(Halide::cast(acc, widen(readKeyed(q, sIdx, i, ra.x))) +
                 Halide::cast(acc, widen(readKeyed(k, sIdx, j, ra.x))));

  // Softmax over the keys; masked keys hold the lowest float, as in
  // attn.sdpa, so a fully masked row averages the values.
  Expr low = Halide::cast(acc, lowest());
  Expr s = scores(sv), valid = Halide::Internal::const_true();
  applyMask(mask, op.getMask(), probsType, sIdx, s, valid);
  Func masked(name + "_masked");
  masked(sv) = Halide::select(valid, Halide::max(s, low), low);
  std::vector<Var> rowVars(sv.begin() + 1, sv.end());
  RDom rj(0, nk, name + "_j");
  std::vector<Expr> atKey = {rj.x};
  for (const Var &x : rowVars)
    atKey.push_back(x);
  Func rowMax(name + "_max"), exps(name + "_exp"), rowSum(name + "_sum");
  rowMax(rowVars) = Halide::maximum(masked(atKey));
  exps(sv) = Halide::exp(masked(sv) - rowMax(rowVars));
  rowSum(rowVars) = Halide::sum(exps(atKey));

  Tensor probs;
  probs.type = ht;
  probs.func = Func(name + "_probs");
  probs.func(sv) = narrow(exps(sv) / rowSum(rowVars), ht);
  probs.shape = keyedShape(q, k, v, q.shape[rank - 2], nk);

  // Context [..., Nq, Dv] = Σ_j p[i, j] · values[j].
  std::vector<Var> ov = makeVars(rank, name);
  std::vector<Expr> oIdx = onnxIndex(ov);
  std::vector<Expr> oKey = {rj.x};
  for (size_t d = 1; d < ov.size(); ++d)
    oKey.push_back(ov[d]);
  Func weighted(name + "_acc");
  weighted(ov) = typedZero(acc);
  weighted(ov) +=
      exps(oKey) *
      Halide::cast(acc, widen(readKeyed(v, oIdx, rj.x, oIdx.back())));
  std::vector<Var> outRow(ov.begin() + 1, ov.end());
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(ov) = narrow(weighted(ov) / rowSum(outRow), ht);
  t.shape = keyedShape(q, k, v, q.shape[rank - 2], v.shape[rank - 1]);
  funcs.main = t.func;
  funcs.helpers = {scores, rowMax, exps, rowSum, weighted};
  tensors[op.getOutput()] = t;
  tensors[op.getProbs()] = probs;
  return success();
}

LogicalResult PipelineBuilder::defineHardAttention(HardAttentionOp op,
                                                   const std::string &name,
                                                   OpFuncs &funcs) {
  const Tensor &q = get(op.getQ()), &k = get(op.getK()),
               &v = get(op.getValues());
  const Tensor *mask = op.getMask() ? &get(op.getMask()) : nullptr;
  auto outType = op.getOutput().getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  Halide::Type acc = computeType(ht);
  int rank = q.rank();
  Expr nk = k.shape[rank - 2];
  requireKeyedExtents("hard attention at " + name, q, k, v);
  SmallVector<int64_t> scoresShape(outType.getShape());
  scoresShape.back() = op.getK().getType().getDimSize(rank - 2);
  auto scoresType =
      RankedTensorType::get(scoresShape, outType.getElementType());

  // The score of key `key` for the row `rowIdx` ([..., i]), rounded to the
  // element type after the product and after the scale, as the unfused
  // graph computes it: ties come out the same. It is a reduction inlined
  // into the argmax, so the scores are never stored.
  RDom rd(0, q.shape[rank - 1], name + "_d");
  std::vector<Var> rowVars = makeVars(rank - 1, name + "_r");
  std::vector<Expr> rowIdx = onnxIndex(rowVars);
  Var keyVar(name + "_key");
  std::vector<Var> dotVars = {keyVar};
  dotVars.insert(dotVars.end(), rowVars.begin(), rowVars.end());
  std::vector<Expr> batchOf = rowIdx;
  batchOf.push_back(0);
  Func dots(name + "_dot");
  dots(dotVars) = Halide::sum(
      Halide::cast(acc, widen(readKeyed(q, batchOf, rowIdx.back(), rd.x))) *
      Halide::cast(acc, widen(readKeyed(k, batchOf, keyVar, rd.x))));
  auto scoreAt = [&](Expr key) {
    std::vector<Expr> at = {key};
    at.insert(at.end(), rowVars.begin(), rowVars.end());
    Expr s = widen(narrow(dots(at), ht));
    double scale = op.getScale().convertToDouble();
    if (scale != 1.0)
      s = widen(narrow(s * Halide::cast(s.type(), Expr(scale)), ht));
    std::vector<Expr> sIdx = rowIdx;
    sIdx.push_back(key);
    Expr valid = Halide::Internal::const_true();
    applyMask(mask, op.getMask(), scoresType, sIdx, s, valid);
    return Halide::select(
        valid, s,
        Halide::cast(s.type(), -std::numeric_limits<float>::infinity()));
  };

  // The first maximum (the last with select_last_index), as attn.argmax.
  RDom rj(1, Halide::max(nk - 1, 0), name + "_j");
  Func state(name + "_state");
  state(rowVars) = {Expr(int64_t(0)), scoreAt(0)};
  Expr candidate = scoreAt(rj.x), best = state(rowVars)[1];
  Expr better = op.getSelectLastIndex() ? candidate >= best : candidate > best;
  state(rowVars) = {
      Halide::select(better, Halide::cast<int64_t>(rj.x), state(rowVars)[0]),
      Halide::select(better, candidate, best)};
  Tensor indices;
  indices.type = Halide::Int(64);
  indices.func = Func(name + "_indices");
  indices.func(rowVars) = state(rowVars)[0];
  indices.shape = keyedShape(q, k, v, q.shape[rank - 2], 0);
  indices.shape.pop_back();

  std::vector<Var> ov = makeVars(rank, name);
  std::vector<Expr> oIdx = onnxIndex(ov);
  std::vector<Var> outRow(ov.begin() + 1, ov.end());
  Expr key = Halide::clamp(Halide::cast<int>(state(outRow)[0]), 0,
                           Halide::max(nk - 1, 0));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(ov) = readKeyed(v, oIdx, key, oIdx.back());
  t.shape = keyedShape(q, k, v, q.shape[rank - 2], v.shape[rank - 1]);
  funcs.main = t.func;
  funcs.helpers = {state};
  tensors[op.getOutput()] = t;
  tensors[op.getIndices()] = indices;
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution and einsum
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineConv2d(Conv2dOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  Tensor &w = get(op.getWeight());
  auto wType = op.getWeight().getType();
  if (op.getInput().getType().getRank() != 4 || wType.getRank() != 4)
    return op.emitOpError("expects 4-D input and weight (2-D convolution)");
  if (!wType.hasStaticShape())
    return op.emitOpError("expects a weight of static shape");
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(),
                    dil = op.getDilations();
  int group = static_cast<int>(op.getGroup());
  int m = static_cast<int>(wType.getDimSize(0));
  int cPerGroup = static_cast<int>(wType.getDimSize(1));
  int kh = static_cast<int>(wType.getDimSize(2));
  int kw = static_cast<int>(wType.getDimSize(3));
  int sh = static_cast<int>(strides[0]), sw = static_cast<int>(strides[1]);
  int dh = static_cast<int>(dil[0]), dw = static_cast<int>(dil[1]);
  int pt = static_cast<int>(pads[0]), pl = static_cast<int>(pads[1]);
  int pb = static_cast<int>(pads[2]), pr = static_cast<int>(pads[3]);
  Expr oh = (in.shape[2] + pt + pb - dh * (kh - 1) - 1) / sh + 1;
  Expr ow = (in.shape[3] + pl + pr - dw * (kw - 1) - 1) / sw + 1;

  Var x(name + "_x"), y(name + "_y"), c(name + "_c"), n(name + "_n");
  RDom r(0, cPerGroup, 0, kh, 0, kw, name + "_r");
  Expr iy = y * sh + r.y * dh - pt, ix = x * sw + r.z * dw - pl;
  Expr inside = iy >= 0 && iy < in.shape[2] && ix >= 0 && ix < in.shape[3];
  Expr channel = (c / (m / group)) * cPerGroup + r.x;
  Expr pixel = widen(in.call({n, channel, Halide::clamp(iy, 0, in.shape[2] - 1),
                              Halide::clamp(ix, 0, in.shape[3] - 1)}));
  Halide::Type acc = computeType(ht);
  Func conv(name + "_acc");
  Expr init = typedZero(acc);
  if (Value bias = op.getBias())
    init = widen(get(bias).call({c}));
  conv(x, y, c, n) = init;
  conv(x, y, c, n) += Halide::select(inside, pixel, typedZero(acc)) *
                      widen(w.call({c, r.x, r.y, r.z}));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(x, y, c, n) = narrow(conv(x, y, c, n), ht);
  t.shape = {in.shape[0], Expr(m), oh, ow};
  funcs.main = t.func;
  funcs.helpers = {conv};
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineEinsum(EinsumOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  StringRef equation = op.getEquation();
  auto [lhs, out] = equation.split("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != op.getInputs().size())
    return op.emitOpError("has ") << terms.size() << " operand terms for "
                                  << op.getInputs().size() << " inputs";
  std::map<char, Expr> extent;
  for (auto [term, input] : llvm::zip(terms, op.getInputs())) {
    Tensor &t = get(input);
    if (static_cast<int>(term.size()) != t.rank())
      return op.emitOpError("term '")
             << term << "' does not match an operand of rank " << t.rank();
    for (auto [k, letter] : llvm::enumerate(term))
      if (!extent.count(letter))
        extent[letter] = t.shape[k];
  }
  std::string summed;
  for (auto &[letter, e] : extent)
    if (!out.contains(letter))
      summed.push_back(letter);
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  int rank = static_cast<int>(out.size());
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::map<char, Expr> index;
  for (int k = 0; k < rank; ++k)
    index[out[k]] = idx[k];
  Halide::Region region;
  for (char letter : summed)
    region.push_back(Halide::Range(0, extent[letter]));
  RDom r;
  if (!region.empty()) {
    r = RDom(region, name + "_r");
    for (auto [k, letter] : llvm::enumerate(summed))
      index[letter] = r[k];
  }
  Expr product;
  for (auto [term, input] : llvm::zip(terms, op.getInputs())) {
    std::vector<Expr> ix;
    for (char letter : term)
      ix.push_back(index[letter]);
    Expr v = widen(get(input).call(ix));
    product = product.defined() ? product * v : v;
  }
  std::vector<Expr> shape;
  for (char letter : out)
    shape.push_back(extent[letter]);
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(region.empty() ? product : Halide::sum(product), ht);
  t.shape = shape;
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}
