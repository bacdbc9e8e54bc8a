//===- EmitElementwise.cpp - Elementwise ops --------------------*- C++ -*-===//
//
// Arithmetic, comparisons, selects, casts and activations: one expression
// per element over numpy-broadcast operands, computed in the operands'
// compute type (widen) and narrowed to the result's.
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

std::optional<LogicalResult>
PipelineBuilder::defineElementwiseOp(Operation *op, const std::string &name,
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

  return llvm::TypeSwitch<Operation *, std::optional<LogicalResult>>(op)
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
          if (x.type().is_float())
            return floatAbs(x);
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
      .Case([&](SignOp) {
        return unary([](Expr x) {
          Expr zero = Halide::cast(x.type(), 0);
          if (x.type().is_uint())
            return Halide::select(x > zero, Halide::cast(x.type(), 1), zero);
          return Halide::select(x > zero, Halide::cast(x.type(), 1), x < zero,
                                Halide::cast(x.type(), -1),
                                Halide::cast(x.type(), x));
        });
      })
      .Case([&](CeilOp) {
        return unary(
            [](Expr x) { return x.type().is_float() ? Halide::ceil(x) : x; });
      })
      .Case([&](FloorOp) {
        return unary(
            [](Expr x) { return x.type().is_float() ? Halide::floor(x) : x; });
      })
      .Case([&](RoundOp) {
        return unary(
            [](Expr x) { return x.type().is_float() ? Halide::round(x) : x; });
      })
      .Case([&](IsNanOp n) {
        Tensor &in = get(n.getInput());
        defineElementwise(op, name, funcs, in.shape,
                          [&](const std::vector<Expr> &i) {
                            return Halide::is_nan(widen(in.call(i)));
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
      .Case<QuantizeOp, DequantizeOp>([&](Operation *) {
        // The entry of the scale and zero point for element `i`: the one
        // entry, the entry along the axis, or the entry of i's block.
        auto q = dyn_cast<QuantizeOp>(op);
        auto d = dyn_cast<DequantizeOp>(op);
        Value inValue = q ? q.getInput() : d.getInput();
        Tensor &in = get(inValue);
        Tensor &scale = get(q ? q.getScale() : d.getScale());
        Tensor &zero = get(q ? q.getZeroPoint() : d.getZeroPoint());
        auto scaleType = q ? q.getScale().getType() : d.getScale().getType();
        int64_t axis = q ? q.getAxis() : d.getAxis();
        int64_t block = q ? q.getBlockSize() : d.getBlockSize();
        int a = static_cast<int>(axis < 0 ? axis + rank : axis);
        auto paramAt = [&, a, block](const std::vector<Expr> &i) {
          if (block > 0) {
            std::vector<Expr> at = i;
            at[a] = i[a] / static_cast<int>(block);
            return at;
          }
          std::vector<Expr> at(scaleType.getRank(), Expr(0));
          if (scaleType.getNumElements() != 1)
            at[0] = i[a];
          return at;
        };
        defineElementwise(
            op, name, funcs, in.shape, [&](const std::vector<Expr> &i) {
              std::vector<Expr> at = paramAt(i);
              Expr x = Halide::cast<float>(in.call(i));
              Expr s = Halide::cast<float>(scale.call(at));
              Expr z = Halide::cast<float>(zero.call(at));
              if (d)
                return (x - z) * s;
              // Halide's round() takes halfway cases to even, as ONNX does.
              Expr v = Halide::round(x / s) + z;
              return Halide::cast(
                  ht, Halide::clamp(v, Halide::cast<float>(ht.min()),
                                    Halide::cast<float>(ht.max())));
            });
        return success();
      })
      .Default([](Operation *) -> std::optional<LogicalResult> {
        return std::nullopt;
      });
}
