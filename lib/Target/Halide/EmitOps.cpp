//===- EmitOps.cpp - Shared machinery of the op definitions -----*- C++ -*-===//
//
// What every family of op definitions uses (elementwise results, shape
// values known before the run) and the dispatch of the ops that
// HalideEmitter.cpp does not define itself to their family: elementwise
// (EmitElementwise.cpp), layout and indexing (EmitShapes.cpp), reductions
// and norms (EmitReductions.cpp), position and keyed attention
// (EmitAttention.cpp), convolutions and einsum (EmitContractions.cpp).
// Products are in EmitContractions.cpp, softmax in EmitReductions.cpp,
// attn.sdpa in EmitSdpa.cpp; HalideEmitter.cpp dispatches to them.
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
  if (std::optional<LogicalResult> done = defineElementwiseOp(op, name, funcs))
    return *done;
  if (std::optional<LogicalResult> done = defineShapeOp(op, name, funcs))
    return *done;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](RotaryOp r) { return defineRotary(r, name, funcs); })
      .Case([&](ReduceOp r) { return defineReduce(r, name, funcs); })
      .Case([&](ArgMaxOp a) { return defineArgMax(a, name, funcs); })
      .Case([&](CumSumOp c) { return defineCumSum(c, name, funcs); })
      .Case([&](LogSoftmaxOp s) { return defineLogSoftmax(s, name, funcs); })
      .Case([&](LayerNormOp l) { return defineLayerNorm(l, name, funcs); })
      .Case([&](PoolOp p) { return definePool(p, name, funcs); })
      .Case([&](ResizeOp r) { return defineResize(r, name, funcs); })
      .Case([&](AdditiveAttentionOp a) {
        return defineAdditiveAttention(a, name, funcs);
      })
      .Case([&](HardAttentionOp h) {
        return defineHardAttention(h, name, funcs);
      })
      .Case<ScatterElementsOp, ScatterNdOp>([&](Operation *scatter) {
        return defineScatter(scatter, name, funcs);
      })
      .Case([&](GraphAttentionOp g) {
        return defineGraphAttention(g, name, funcs);
      })
      .Case([&](Conv2dOp c) { return defineConv2d(c, name, funcs); })
      .Case([&](ConvTransposeOp c) {
        return defineConvTranspose(c, name, funcs);
      })
      .Case([&](EinsumOp e) { return defineEinsum(e, name, funcs); })
      .Default([&](Operation *other) {
        return other->emitOpError("has no Halide lowering");
      });
}
