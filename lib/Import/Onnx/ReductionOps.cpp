//===- ReductionOps.cpp - ONNX reduction operators --------------*- C++ -*-===//
//
// Handlers of reductions, softmax, argmax and normalizations.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {

template <typename OpT>
LogicalResult importSoftmaxLike(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  int64_t axis = im.intAttribute(node, "axis", im.currentOpset >= 13 ? -1 : 1);
  FailureOr<int64_t> normalized =
      im.normalizeAxis(axis, rank, "attribute 'axis'");
  if (failed(normalized))
    return failure();
  // Before opset 13, Softmax flattened the axes from `axis` on; that is the
  // same as the opset-13 semantics only over the last axis.
  if (im.currentOpset < 13 && *normalized != rank - 1) {
    im.nodeError() << "attribute 'axis' = " << axis
                   << " flattens several axes (opset < 13 semantics); only "
                      "the last axis is supported before opset 13";
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<OpT>(im.currentLoc, *type, im.input(node, 0),
                                      im.builder.getI64IntegerAttr(axis),
                                      nullptr));
  return success();
}

/// The axes a Reduce* node reduces, sorted, unique and non-negative; none
/// (std::nullopt) where `noop_with_empty_axes` makes the node an identity.
FailureOr<std::optional<SmallVector<int64_t>>>
reducedAxes(Importer &im, const onnx::NodeProto &node, int64_t rank) {
  StringRef op = node.op_type();
  // Axes are an input from opset 13 (ReduceSum) and 18 (the others).
  bool axesInput =
      (op == "ReduceSum" && im.currentOpset >= 13) || im.currentOpset >= 18;
  SmallVector<int64_t> axes;
  if (axesInput) {
    if (im.input(node, 1)) {
      FailureOr<SmallVector<int64_t>> a = im.constantInts(node, 1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else {
    axes = im.intsAttribute(node, "axes");
  }
  if (axes.empty()) {
    if (im.intAttribute(node, "noop_with_empty_axes", 0))
      return std::optional<SmallVector<int64_t>>();
    for (int64_t k = 0; k < rank; ++k)
      axes.push_back(k);
  }
  if (failed(im.normalizeAxes(axes, rank, "reduced axis")))
    return failure();
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return std::optional<SmallVector<int64_t>>(axes);
}

/// ReduceMean/Sum/Max/Min/Prod, and the reductions ONNX defines through a
/// sum: ReduceL1 (of |x|), ReduceL2 (square root of the sum of squares),
/// ReduceSumSquare, ReduceLogSum (log of the sum) and ReduceLogSumExp
/// (m + log Σ e^(x - m), m the maximum: no overflow).
LogicalResult importReduce(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto inType = cast<RankedTensorType>(x.getType());
  StringRef op = node.op_type();
  std::string kind = op == "ReduceMean"   ? "mean"
                     : op == "ReduceMax"  ? "max"
                     : op == "ReduceMin"  ? "min"
                     : op == "ReduceProd" ? "prod"
                                          : "sum";
  bool composite = op == "ReduceL1" || op == "ReduceL2" ||
                   op == "ReduceSumSquare" || op == "ReduceLogSum" ||
                   op == "ReduceLogSumExp";
  if (composite && op != "ReduceL1" && op != "ReduceSumSquare" &&
      !isa<FloatType>(inType.getElementType())) {
    im.nodeError() << "input type " << inType.getElementType()
                   << " is not supported (floating-point types only)";
    return failure();
  }
  FailureOr<std::optional<SmallVector<int64_t>>> axes =
      reducedAxes(im, node, inType.getRank());
  if (failed(axes))
    return failure();
  bool keep = im.intAttribute(node, "keepdims", 1) != 0;
  Location loc = im.currentLoc;
  OpBuilder &b = im.builder;
  auto reduce = [&](Value v, StringRef how, bool keepDims,
                    RankedTensorType to) -> Value {
    if (!*axes)
      return v;
    return b.create<ReduceOp>(loc, to, v, b.getStringAttr(how),
                              b.getDenseI64ArrayAttr(**axes),
                              b.getBoolAttr(keepDims), nullptr);
  };
  auto square = [&](Value v) -> Value {
    return b.create<MulOp>(loc, inType, v, v, nullptr);
  };
  Value y;
  if (op == "ReduceL1") {
    y = reduce(b.create<AbsOp>(loc, inType, x, nullptr), kind, keep, *type);
  } else if (op == "ReduceL2") {
    y = b.create<SqrtOp>(loc, *type, reduce(square(x), kind, keep, *type),
                         nullptr);
  } else if (op == "ReduceSumSquare") {
    y = reduce(square(x), kind, keep, *type);
  } else if (op == "ReduceLogSum") {
    y = b.create<LogOp>(loc, *type, reduce(x, kind, keep, *type), nullptr);
  } else if (op == "ReduceLogSumExp") {
    if (!*axes) {
      y = x;
    } else {
      SmallVector<int64_t> kept(inType.getShape());
      for (int64_t a : **axes)
        kept[a] = 1;
      auto keptType = RankedTensorType::get(kept, inType.getElementType());
      Value m = reduce(x, "max", true, keptType);
      Value e = b.create<ExpOp>(
          loc, inType, b.create<SubOp>(loc, inType, x, m, nullptr), nullptr);
      Value logSum =
          b.create<LogOp>(loc, *type, reduce(e, "sum", keep, *type), nullptr);
      Value mOut = keep ? m : reduce(x, "max", false, *type);
      y = b.create<AddOp>(loc, *type, logSum, mOut, nullptr);
    }
  } else {
    y = reduce(x, kind, keep, *type);
  }
  im.setOutput(node, 0, y);
  return success();
}

/// ArgMax and ArgMin.
LogicalResult importArgMax(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", 0),
                                             rank, "attribute 'axis'");
  if (failed(axis))
    return failure();
  auto op = im.builder.create<ArgMaxOp>(
      im.currentLoc, *type, x, im.builder.getI64IntegerAttr(*axis),
      im.builder.getBoolAttr(im.intAttribute(node, "keepdims", 1) != 0),
      im.intAttribute(node, "select_last_index", 0) != 0
          ? im.builder.getUnitAttr()
          : nullptr,
      node.op_type() == "ArgMin" ? im.builder.getUnitAttr() : nullptr, nullptr);
  im.setOutput(node, 0, op);
  return success();
}

LogicalResult importLayerNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  bool rms = node.op_type() == "RMSNormalization" ||
             node.op_type() == "SimplifiedLayerNormalization";
  Value x = im.input(node, 0);
  FailureOr<int64_t> axis = im.normalizeAxis(
      im.intAttribute(node, "axis", -1), type->getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  float eps = im.floatAttribute(node, "epsilon", 1e-5f);
  // The optional statistics outputs: mean and 1/sqrt(var + eps) with the
  // normalized axes kept as 1 (LayerNormalization only).
  bool wantsMean = node.output_size() > 1 && !node.output(1).empty();
  bool wantsInvStd = node.output_size() > 2 && !node.output(2).empty();
  if (rms && (wantsMean || wantsInvStd)) {
    im.nodeError() << "the inverse RMS output is not supported";
    return failure();
  }
  if (wantsMean || wantsInvStd) {
    OpBuilder &b = im.builder;
    FailureOr<RankedTensorType> statsType =
        im.outputType(node, wantsMean ? 1 : 2);
    if (failed(statsType))
      return failure();
    // The statistics in stash_type (float32 by default) for 16-bit inputs.
    Value xs = x;
    auto xType = cast<RankedTensorType>(x.getType());
    if (im.intAttribute(node, "stash_type", 1) == 1 &&
        xType.getElementType().getIntOrFloatBitWidth() < 32) {
      xType = RankedTensorType::get(xType.getShape(), b.getF32Type());
      xs = b.create<CastOp>(im.currentLoc, xType, x, nullptr);
    }
    auto statType =
        RankedTensorType::get(statsType->getShape(), xType.getElementType());
    SmallVector<int64_t> axes;
    for (int64_t k = *axis; k < xType.getRank(); ++k)
      axes.push_back(k);
    auto reduceMean = [&](Value v) -> Value {
      return b.create<ReduceOp>(
          im.currentLoc, statType, v, b.getStringAttr("mean"),
          b.getDenseI64ArrayAttr(axes), b.getBoolAttr(true), nullptr);
    };
    Value mean = reduceMean(xs);
    Value centered = b.create<SubOp>(im.currentLoc, xType, xs, mean, nullptr);
    Value var = reduceMean(
        b.create<MulOp>(im.currentLoc, xType, centered, centered, nullptr));
    Value epsValue = b.create<ConstantOp>(
        im.currentLoc, DenseElementsAttr::get(
                           RankedTensorType::get({}, xType.getElementType()),
                           FloatAttr::get(xType.getElementType(), eps)));
    Value sum =
        b.create<AddOp>(im.currentLoc, statType, var, epsValue, nullptr);
    Value invStd = b.create<ReciprocalOp>(
        im.currentLoc, statType,
        b.create<SqrtOp>(im.currentLoc, statType, sum, nullptr), nullptr);
    auto toOutput = [&](Value v, int i) -> LogicalResult {
      FailureOr<RankedTensorType> t = im.outputType(node, i);
      if (failed(t))
        return failure();
      if (t->getElementType() != statType.getElementType())
        v = b.create<CastOp>(im.currentLoc, *t, v, nullptr);
      im.setOutput(node, i, v);
      return success();
    };
    if ((wantsMean && failed(toOutput(mean, 1))) ||
        (wantsInvStd && failed(toOutput(invStd, 2))))
      return failure();
  }
  Value bias = rms ? nullptr : im.input(node, 2);
  auto op = im.builder.create<LayerNormOp>(
      im.currentLoc, *type, x, im.input(node, 1), bias, /*residual=*/nullptr,
      im.builder.getI64IntegerAttr(*axis), im.builder.getF64FloatAttr(eps),
      rms ? im.builder.getUnitAttr() : nullptr, nullptr);
  im.setOutput(node, 0, op);
  return success();
}

LogicalResult importCumSum(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  FailureOr<SmallVector<int64_t>> axis = im.constantInts(node, 1, "axis");
  if (failed(axis))
    return failure();
  if (axis->size() != 1) {
    im.nodeError() << "input 'axis' must hold one value, got " << axis->size();
    return failure();
  }
  FailureOr<int64_t> a =
      im.normalizeAxis(axis->front(), type->getRank(), "input 'axis'");
  if (failed(a))
    return failure();
  auto flag = [&](StringRef name) {
    return im.intAttribute(node, name, 0) ? im.builder.getUnitAttr()
                                          : UnitAttr();
  };
  im.setOutput(
      node, 0,
      im.builder.create<CumSumOp>(im.currentLoc, *type, im.input(node, 0),
                                  im.builder.getI64IntegerAttr(*a),
                                  flag("exclusive"), flag("reverse"), nullptr));
  return success();
}

} // namespace

void mlir::attn::onnx_import::addReductionHandlers(HandlerTable &table) {
  table.add("", "Softmax", 1, importSoftmaxLike<SoftmaxOp>);
  table.add("", "LogSoftmax", 1, importSoftmaxLike<LogSoftmaxOp>);
  table.add("", "ReduceMean", 1, importReduce);
  table.add("", "ReduceSum", 1, importReduce);
  table.add("", "ReduceMax", 1, importReduce);
  table.add("", "ReduceMin", 1, importReduce);
  table.add("", "ReduceProd", 1, importReduce);
  for (const char *op : {"ReduceL1", "ReduceL2", "ReduceSumSquare",
                         "ReduceLogSum", "ReduceLogSumExp"})
    table.add("", op, 1, importReduce);
  table.add("", "ArgMax", 1, importArgMax);
  table.add("", "ArgMin", 1, importArgMax);
  table.add("", "CumSum", 11, importCumSum);
  table.add("", "LayerNormalization", 17, importLayerNorm);
  table.add("", "RMSNormalization", 23, importLayerNorm);
  // ONNX Runtime's RMS norm, in the default domain.
  table.add("", "SimplifiedLayerNormalization", 1, importLayerNorm);
}
