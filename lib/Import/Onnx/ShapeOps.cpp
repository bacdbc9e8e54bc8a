//===- ShapeOps.cpp - ONNX shape operators ----------------------*- C++ -*-===//
//
// Handlers of constants, layout, indexing and shape computations.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {

LogicalResult importTranspose(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> perm;
  if (const auto *attr = im.attribute(node, "perm"))
    perm.assign(attr->ints().begin(), attr->ints().end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  im.setOutput(node, 0,
               im.builder.create<TransposeOp>(
                   im.currentLoc, *type, x,
                   im.builder.getDenseI64ArrayAttr(perm), nullptr));
  return success();
}

LogicalResult importConstant(Importer &im, const onnx::NodeProto &node) {
  if (node.attribute_size() != 1) {
    im.nodeError() << "expects exactly one value attribute";
    return failure();
  }
  const onnx::AttributeProto &attr = node.attribute(0);
  OpBuilder &b = im.builder;
  ElementsAttr value;
  if (attr.name() == "value") {
    FailureOr<ElementsAttr> elements =
        im.elementsFromTensor(attr.t(), "Constant node '" + node.name() + "'");
    if (failed(elements))
      return failure();
    value = *elements;
  } else if (attr.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   attr.f());
  } else if (attr.name() == "value_floats") {
    SmallVector<float> v(attr.floats().begin(), attr.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getF32Type()),
        ArrayRef<float>(v));
  } else if (attr.name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   static_cast<int64_t>(attr.i()));
  } else if (attr.name() == "value_ints") {
    SmallVector<int64_t> v(attr.ints().begin(), attr.ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    im.nodeError() << "attribute '" << attr.name()
                   << "' is not supported (supported: value, value_float, "
                      "value_floats, value_int, value_ints)";
    return failure();
  }
  im.setOutput(node, 0, b.create<ConstantOp>(im.currentLoc, value));
  return success();
}

/// Element-wise ops with one input, and ops that are the identity at
/// inference (Identity, Dropout).
LogicalResult importIdentity(Importer &im, const onnx::NodeProto &node) {
  Value x = im.input(node, 0);
  if (node.op_type() == "Dropout") {
    if (im.currentOpset < 7 && im.intAttribute(node, "is_test", 0) == 0) {
      im.nodeError() << "attribute 'is_test' = 0 asks for training-mode "
                        "dropout; attnc compiles for inference";
      return failure();
    }
    if (Value training = im.input(node, 2)) {
      DenseElementsAttr mode = im.constantOf(training);
      if (!mode || mode.getSplatValue<bool>()) {
        im.nodeError() << "input 'training_mode' must be a constant false; "
                          "attnc compiles for inference";
        return failure();
      }
    }
    // At inference every element is kept: the mask is all true.
    if (node.output_size() > 1 && !node.output(1).empty()) {
      FailureOr<RankedTensorType> maskType = im.outputType(node, 1);
      if (failed(maskType))
        return failure();
      auto shapeType =
          RankedTensorType::get({maskType->getRank()}, im.builder.getI64Type());
      Value shape = im.builder.create<ShapeOp>(
          im.currentLoc, shapeType, x, im.builder.getI64IntegerAttr(0),
          im.builder.getI64IntegerAttr(maskType->getRank()), nullptr);
      auto one = DenseElementsAttr::get(
          RankedTensorType::get({}, im.builder.getI1Type()), true);
      im.setOutput(node, 1,
                   im.builder.create<ConstantOfShapeOp>(
                       im.currentLoc, *maskType, shape, one, nullptr));
    }
  }
  im.setOutput(node, 0, x);
  return success();
}

LogicalResult importReshape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  bool allowZero = im.intAttribute(node, "allowzero", 0) != 0;
  Value x = im.input(node, 0);
  if (DenseElementsAttr shapeAttr = im.constantOf(im.input(node, 1))) {
    SmallVector<int64_t> shape;
    for (const APInt &v : shapeAttr.getValues<APInt>())
      shape.push_back(v.getSExtValue());
    if (allowZero && llvm::is_contained(shape, 0)) {
      im.nodeError() << "with 'allowzero' = 1 the target shape has a 0 "
                        "entry, an empty tensor; attnc does not compile "
                        "empty tensors";
      return failure();
    }
    im.setOutput(node, 0,
                 im.builder.create<ReshapeOp>(
                     im.currentLoc, *type, x,
                     im.builder.getDenseI64ArrayAttr(shape), nullptr));
    return success();
  }
  auto shapeType = cast<RankedTensorType>(im.input(node, 1).getType());
  if (!shapeType.hasStaticShape() || shapeType.getRank() != 1) {
    im.nodeError() << "the target shape '" << node.input(1)
                   << "' must be a 1-D tensor of static length, got "
                   << shapeType;
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<ReshapeDynamicOp>(
                   im.currentLoc, *type, x, im.input(node, 1),
                   allowZero ? im.builder.getUnitAttr() : nullptr, nullptr));
  return success();
}

LogicalResult importFlatten(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t axis = im.intAttribute(node, "axis", 1);
  if (axis < 0)
    axis += xt.getRank();
  // [prod(d < axis), prod(d >= axis)]: one side must be static.
  SmallVector<int64_t> spec;
  if (!type->isDynamicDim(1))
    spec = {-1, type->getDimSize(1)};
  else if (!type->isDynamicDim(0))
    spec = {type->getDimSize(0), -1};
  else {
    im.nodeError() << "both flattened extents of " << xt
                   << " are run-time values; one side must be static";
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<ReshapeOp>(
                   im.currentLoc, *type, x,
                   im.builder.getDenseI64ArrayAttr(spec), nullptr));
  return success();
}

LogicalResult importSqueezeUnsqueeze(Importer &im,
                                     const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  bool squeeze = node.op_type() == "Squeeze";
  SmallVector<int64_t> axes;
  if (im.currentOpset >= 13) {
    if (im.input(node, 1)) {
      FailureOr<SmallVector<int64_t>> a = im.constantInts(node, 1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else {
    axes = im.intsAttribute(node, "axes");
  }
  int64_t rank = squeeze ? xt.getRank() : type->getRank();
  if (squeeze && axes.empty())
    for (int64_t k = 0; k < rank; ++k)
      if (xt.getDimSize(k) == 1)
        axes.push_back(k);
  if (failed(im.normalizeAxes(axes, rank, "axis")))
    return failure();
  llvm::sort(axes);
  // Folded for a constant: exports without constant folding unsqueeze the
  // axes of a Slice.
  im.setOutput(node, 0,
               im.builder.createOrFold<ExpandDimsOp>(
                   im.currentLoc, *type, x,
                   im.builder.getDenseI64ArrayAttr(axes), squeeze, nullptr));
  return success();
}

LogicalResult importConcat(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  FailureOr<int64_t> axis = im.normalizeAxis(
      im.intAttribute(node, "axis", 0), type->getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  // Operands with no elements along the axis contribute nothing.
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i)
    if (Value v = im.input(node, i))
      if (cast<RankedTensorType>(v.getType()).getDimSize(*axis) != 0)
        inputs.push_back(v);
  if (inputs.empty())
    inputs.push_back(im.input(node, 0));
  im.setOutput(node, 0,
               im.builder.create<ConcatOp>(im.currentLoc, *type, inputs,
                                           im.builder.getI64IntegerAttr(*axis),
                                           nullptr));
  return success();
}

LogicalResult importSplit(Importer &im, const onnx::NodeProto &node) {
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", 0),
                                             xt.getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  int64_t extent = xt.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  int64_t n = node.output_size();
  Value sizeTensor = im.currentOpset >= 13 ? im.input(node, 1) : Value();
  bool sizesGiven = sizeTensor || (im.currentOpset < 13 &&
                                   !im.intsAttribute(node, "split").empty());
  if (!sizesGiven && ShapedType::isDynamic(extent)) {
    // Equal parts of a run-time extent E: output i is
    // [min(i·p, E), min((i + 1)·p, E)) with p = ceil(E / n).
    auto oneType = RankedTensorType::get({1}, im.builder.getI64Type());
    auto binary = [&](auto tag, Value a, Value b) -> Value {
      using OpT = decltype(tag);
      return im.builder.create<OpT>(im.currentLoc, oneType, a, b, nullptr);
    };
    Value e = im.builder.create<ShapeOp>(
        im.currentLoc, oneType, x, im.builder.getI64IntegerAttr(*axis),
        im.builder.getI64IntegerAttr(*axis + 1), nullptr);
    Value part = binary(DivOp(), binary(AddOp(), e, im.i64Constant({n - 1})),
                        im.i64Constant({n}));
    for (int64_t i = 0; i < n; ++i) {
      FailureOr<RankedTensorType> type = im.outputType(node, i);
      if (failed(type))
        return failure();
      Value start =
          binary(MinOp(), binary(MulOp(), part, im.i64Constant({i})), e);
      Value end =
          binary(MinOp(), binary(MulOp(), part, im.i64Constant({i + 1})), e);
      im.setOutput(node, i,
                   im.builder.create<SliceOp>(
                       im.currentLoc, *type, x, start, end,
                       im.builder.getDenseI64ArrayAttr({*axis}),
                       im.builder.getDenseI64ArrayAttr({1}), nullptr));
    }
    return success();
  }
  if (sizeTensor && !im.constantOf(sizeTensor)) {
    // Sizes computed from extents: each output slices [start, start + size)
    // with the bounds summed in the graph (known before the run).
    auto st = cast<RankedTensorType>(sizeTensor.getType());
    if (st.getRank() != 1 || st.getDimSize(0) != n) {
      im.nodeError() << "split sizes '" << node.input(1) << "' are " << st
                     << "; need one per output (" << n << ")";
      return failure();
    }
    Value start = im.i64Constant({0});
    if (!st.getElementType().isInteger(64))
      sizeTensor = im.builder.create<CastOp>(
          im.currentLoc, RankedTensorType::get({n}, im.builder.getI64Type()),
          sizeTensor, nullptr);
    auto oneType = RankedTensorType::get({1}, im.builder.getI64Type());
    for (int64_t i = 0; i < n; ++i) {
      FailureOr<RankedTensorType> type = im.outputType(node, i);
      if (failed(type))
        return failure();
      Value size = im.builder.create<GatherOp>(
          im.currentLoc, oneType, sizeTensor, im.i64Constant({i}),
          im.builder.getI64IntegerAttr(0), nullptr);
      Value end = im.builder.create<AddOp>(im.currentLoc, oneType, start, size,
                                           nullptr);
      im.setOutput(node, i,
                   im.builder.create<SliceOp>(
                       im.currentLoc, *type, x, start, end,
                       im.builder.getDenseI64ArrayAttr({*axis}),
                       im.builder.getDenseI64ArrayAttr({1}), nullptr));
      start = end;
    }
    return success();
  }
  if (sizeTensor) {
    FailureOr<SmallVector<int64_t>> s = im.constantInts(node, 1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (im.currentOpset < 13) {
    sizes = im.intsAttribute(node, "split");
  }
  if (sizes.empty()) {
    // Equal parts; with num_outputs (opset 18) the last may be smaller.
    int64_t part = (extent + n - 1) / n;
    for (int64_t i = 0, start = 0; i < n; ++i, start += part)
      sizes.push_back(std::min(part, extent - start));
  }
  if (static_cast<int64_t>(sizes.size()) != n) {
    im.nodeError() << "has " << sizes.size() << " split sizes for " << n
                   << " outputs";
    return failure();
  }
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    FailureOr<RankedTensorType> type = im.outputType(node, i);
    if (failed(type))
      return failure();
    Value starts = im.i64Constant({start});
    Value ends = im.i64Constant({start + sizes[i]});
    im.setOutput(node, i,
                 im.builder.create<SliceOp>(
                     im.currentLoc, *type, x, starts, ends,
                     im.builder.getDenseI64ArrayAttr({*axis}),
                     im.builder.getDenseI64ArrayAttr({1}), nullptr));
    start += sizes[i];
  }
  return success();
}

LogicalResult importSlice(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  Value starts, ends;
  SmallVector<int64_t> axes, steps;
  if (im.currentOpset < 10) {
    starts = im.i64Constant(im.intsAttribute(node, "starts"));
    ends = im.i64Constant(im.intsAttribute(node, "ends"));
    axes = im.intsAttribute(node, "axes");
  } else {
    starts = im.input(node, 1);
    ends = im.input(node, 2);
    if (im.input(node, 3)) {
      FailureOr<SmallVector<int64_t>> a = im.constantInts(node, 3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (im.input(node, 4)) {
      FailureOr<SmallVector<int64_t>> s = im.constantInts(node, 4, "steps");
      if (failed(s))
        return failure();
      steps = *s;
    }
  }
  auto startsType = cast<RankedTensorType>(starts.getType());
  if (startsType.getRank() != 1 || startsType.isDynamicDim(0)) {
    im.nodeError() << "expects 1-D starts of static length, got " << startsType;
    return failure();
  }
  int64_t count = startsType.getDimSize(0);
  if (axes.empty())
    for (int64_t k = 0; k < count; ++k)
      axes.push_back(k);
  if (steps.empty())
    steps.assign(count, 1);
  if (failed(im.normalizeAxes(axes, rank, "sliced axis")))
    return failure();
  for (int64_t step : steps)
    if (step == 0) {
      im.nodeError() << "a step of 0 is not allowed";
      return failure();
    }
  im.setOutput(node, 0,
               im.builder.create<SliceOp>(
                   im.currentLoc, *type, x, starts, ends,
                   im.builder.getDenseI64ArrayAttr(axes),
                   im.builder.getDenseI64ArrayAttr(steps), nullptr));
  return success();
}

LogicalResult importGather(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value data = im.input(node, 0);
  FailureOr<int64_t> axis = im.normalizeAxis(
      im.intAttribute(node, "axis", 0),
      cast<RankedTensorType>(data.getType()).getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  im.setOutput(node, 0,
               im.builder.create<GatherOp>(
                   im.currentLoc, *type, data, im.input(node, 1),
                   im.builder.getI64IntegerAttr(*axis), nullptr));
  return success();
}

LogicalResult importGatherNd(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  auto indices = cast<RankedTensorType>(im.input(node, 1).getType());
  if (indices.getRank() < 1 || indices.isDynamicDim(indices.getRank() - 1)) {
    im.nodeError() << "expects indices whose last extent is static, got "
                   << indices;
    return failure();
  }
  im.setOutput(
      node, 0,
      im.builder.create<GatherNdOp>(
          im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
          im.builder.getI64IntegerAttr(im.intAttribute(node, "batch_dims", 0)),
          nullptr));
  return success();
}

LogicalResult importShape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  auto clampAxis = [&](int64_t a) {
    a = a < 0 ? a + rank : a;
    return std::clamp<int64_t>(a, 0, rank);
  };
  int64_t start = clampAxis(im.intAttribute(node, "start", 0));
  int64_t end = clampAxis(im.intAttribute(node, "end", rank));
  end = std::max(start, end);
  auto resultType =
      RankedTensorType::get({end - start}, im.builder.getI64Type());
  im.setOutput(node, 0,
               im.builder.create<ShapeOp>(im.currentLoc, resultType, x,
                                          im.builder.getI64IntegerAttr(start),
                                          im.builder.getI64IntegerAttr(end),
                                          nullptr));
  return success();
}

LogicalResult importConstantOfShape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  auto scalarType = RankedTensorType::get({}, type->getElementType());
  ElementsAttr value;
  if (const auto *attr = im.attribute(node, "value")) {
    FailureOr<ElementsAttr> v =
        im.elementsFromTensor(attr->t(), "ConstantOfShape attribute 'value'");
    if (failed(v))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*v);
    if (!dense || dense.getNumElements() != 1) {
      im.nodeError() << "attribute 'value' must hold one element";
      return failure();
    }
    value = dense.reshape(scalarType);
  } else {
    value = DenseElementsAttr::get(scalarType, 0.0f);
  }
  // A shape folded at import (from a Neg or Range of constants) fixes
  // extents whole-model inference left open.
  RankedTensorType resultType = *type;
  if (DenseElementsAttr shape = im.constantOf(im.input(node, 0));
      shape && !type->hasStaticShape() &&
      shape.getNumElements() == type->getRank()) {
    SmallVector<int64_t> dims;
    for (const APInt &d : shape.getValues<APInt>())
      dims.push_back(d.getSExtValue());
    resultType = RankedTensorType::get(dims, type->getElementType());
  }
  im.setOutput(node, 0,
               im.builder.create<ConstantOfShapeOp>(im.currentLoc, resultType,
                                                    im.input(node, 0), value,
                                                    nullptr));
  return success();
}

LogicalResult importTrilu(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(
      node, 0,
      im.builder.create<TriluOp>(
          im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
          im.builder.getBoolAttr(im.intAttribute(node, "upper", 1) != 0),
          nullptr));
  return success();
}

LogicalResult importPad(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  std::string mode = im.stringAttribute(node, "mode", "constant");
  if (!llvm::is_contained({"constant", "edge", "reflect", "wrap"}, mode) ||
      (mode == "wrap" && im.currentOpset < 19)) {
    im.nodeError() << "attribute 'mode' = '" << mode
                   << "' is not supported (supported: constant, edge, "
                      "reflect"
                   << (im.currentOpset >= 19 ? ", wrap" : "") << ")";
    return failure();
  }
  // The amounts for the axes listed in `axes` (opset 18), else for every
  // axis; before opset 11 an attribute, then an input known before the run.
  Value amounts;
  Value value;
  int64_t listed = rank;
  if (im.currentOpset < 11) {
    SmallVector<int64_t> p = im.intsAttribute(node, "pads");
    if (static_cast<int64_t>(p.size()) != 2 * rank) {
      im.nodeError() << "has " << p.size() << " pad amounts for rank " << rank
                     << "; needs " << 2 * rank;
      return failure();
    }
    amounts = im.i64Constant(p);
    if (float v = im.floatAttribute(node, "value", 0.0f); v != 0.0f) {
      Type element = type->getElementType();
      auto scalar = RankedTensorType::get({}, element);
      value = im.builder.create<ConstantOp>(
          im.currentLoc,
          isa<FloatType>(element)
              ? DenseElementsAttr::get(scalar, FloatAttr::get(element, v))
              : DenseElementsAttr::get(scalar,
                                       APInt(element.getIntOrFloatBitWidth(),
                                             static_cast<int64_t>(v), true)));
    }
  } else {
    amounts = im.input(node, 1);
    value = im.input(node, 2);
    auto at = cast<RankedTensorType>(amounts.getType());
    if (at.getRank() != 1 || at.isDynamicDim(0)) {
      im.nodeError() << "input '" << node.input(1)
                     << "' (pads) must be a 1-D tensor of static length, got "
                     << at;
      return failure();
    }
    listed = at.getDimSize(0) / 2;
  }
  if (im.input(node, 3)) {
    FailureOr<SmallVector<int64_t>> axes = im.constantInts(node, 3, "axes");
    if (failed(axes))
      return failure();
    if (static_cast<int64_t>(axes->size()) != listed) {
      im.nodeError() << "has " << 2 * listed << " pad amounts for "
                     << axes->size() << " axes; needs " << 2 * axes->size();
      return failure();
    }
    // Amount k of the full list is entry index[k] of [pads..., 0].
    SmallVector<int64_t> index(2 * rank, 2 * listed);
    for (int64_t j = 0; j < listed; ++j) {
      FailureOr<int64_t> a = im.normalizeAxis((*axes)[j], rank, "axis");
      if (failed(a))
        return failure();
      index[*a] = j;
      index[rank + *a] = listed + j;
    }
    auto i64 = im.builder.getI64Type();
    Value withZero = im.builder.create<ConcatOp>(
        im.currentLoc, RankedTensorType::get({2 * listed + 1}, i64),
        ValueRange{amounts, im.i64Constant({0})},
        im.builder.getI64IntegerAttr(0), nullptr);
    amounts = im.builder.create<GatherOp>(
        im.currentLoc, RankedTensorType::get({2 * rank}, i64), withZero,
        im.i64Constant(index), im.builder.getI64IntegerAttr(0), nullptr);
  } else if (listed != rank) {
    im.nodeError() << "has " << 2 * listed << " pad amounts for rank " << rank
                   << "; needs " << 2 * rank;
    return failure();
  }
  if (mode != "constant")
    value = nullptr;
  im.setOutput(node, 0,
               im.builder.create<PadOp>(im.currentLoc, *type, x, amounts, value,
                                        im.builder.getStringAttr(mode),
                                        nullptr));
  return success();
}

/// Range, folded when its operands are constants (reduced axes computed
/// from the rank, as expanded normalizations do, must be known at import).
LogicalResult importRange(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(node, 0,
               im.builder.createOrFold<RangeOp>(
                   im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
                   im.input(node, 2), nullptr));
  return success();
}

LogicalResult importGatherElements(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0), indices = im.input(node, 1);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", 0),
                                             rank, "attribute 'axis'");
  if (failed(axis))
    return failure();
  im.setOutput(node, 0,
               im.builder.create<GatherElementsOp>(
                   im.currentLoc, *type, x, indices,
                   im.builder.getI64IntegerAttr(*axis), nullptr));
  return success();
}

/// The `reduction` attribute of ScatterElements and ScatterND (16+; max
/// and min from 18).
FailureOr<std::string> scatterReduction(Importer &im,
                                        const onnx::NodeProto &node) {
  std::string reduction = im.stringAttribute(node, "reduction", "none");
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction)) {
    im.nodeError() << "attribute 'reduction' must be none, add, mul, max or "
                      "min, got '"
                   << reduction << "'";
    return failure();
  }
  return reduction;
}

/// ScatterElements (and Scatter, its opset-9 name).
LogicalResult importScatterElements(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  FailureOr<std::string> reduction = scatterReduction(im, node);
  if (failed(type) || failed(reduction))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", 0),
                                             rank, "attribute 'axis'");
  if (failed(axis))
    return failure();
  im.setOutput(node, 0,
               im.builder.create<ScatterElementsOp>(
                   im.currentLoc, *type, x, im.input(node, 1),
                   im.input(node, 2), im.builder.getI64IntegerAttr(*axis),
                   im.builder.getStringAttr(*reduction), nullptr));
  return success();
}

LogicalResult importScatterNd(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  FailureOr<std::string> reduction = scatterReduction(im, node);
  if (failed(type) || failed(reduction))
    return failure();
  Value indices = im.input(node, 1);
  auto indicesType = cast<RankedTensorType>(indices.getType());
  if (indicesType.getRank() < 1 ||
      indicesType.isDynamicDim(indicesType.getRank() - 1)) {
    im.nodeError() << "the last axis of 'indices' (the length of an index "
                      "tuple) must be static, got "
                   << indicesType;
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<ScatterNdOp>(
                   im.currentLoc, *type, im.input(node, 0), indices,
                   im.input(node, 2), im.builder.getStringAttr(*reduction),
                   nullptr));
  return success();
}

/// Size: a constant for a static shape, else the product of the run-time
/// extents.
/// OneHot (opset 11): values[1] where the position along the new axis
/// equals the index (negative indices counting from depth), values[0]
/// elsewhere; depth must be known before the run.
LogicalResult importOneHot(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  DenseElementsAttr depthAttr = im.constantOf(im.input(node, 1));
  if (!depthAttr || depthAttr.getNumElements() != 1) {
    im.nodeError() << "input 'depth' must be a constant integer tensor at "
                      "compile time (one element)";
    return failure();
  }
  double depthValue =
      isa<FloatType>(depthAttr.getElementType())
          ? (*depthAttr.getValues<APFloat>().begin()).convertToDouble()
          : double((*depthAttr.getValues<APInt>().begin()).getSExtValue());
  int64_t depth = static_cast<int64_t>(depthValue);
  if (depth < 1 || depth > kMaxExtent) {
    im.nodeError() << "input 'depth' = " << depthValue
                   << " is not a positive extent";
    return failure();
  }
  int64_t rank = type->getRank();
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", -1),
                                             rank, "attribute 'axis'");
  if (failed(axis))
    return failure();
  Value indices = im.input(node, 0);
  auto it = cast<RankedTensorType>(indices.getType());
  auto i64Type = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getI64Type());
  };
  if (!it.getElementType().isInteger(64))
    indices = b.create<CastOp>(loc, i64Type(it.getShape()), indices, nullptr);
  // Negative indices count from depth.
  Value zero = im.i64Constant({0});
  Value depthConst = im.i64Constant({depth});
  auto boolType = RankedTensorType::get(it.getShape(), b.getI1Type());
  Value negative = b.create<LessOp>(loc, boolType, indices, zero, nullptr);
  Value shifted = b.create<AddOp>(loc, i64Type(it.getShape()), indices,
                                  depthConst, nullptr);
  indices = b.create<SelectOp>(loc, i64Type(it.getShape()), negative, shifted,
                               indices, nullptr);
  SmallVector<int64_t> expandedShape(it.getShape());
  expandedShape.insert(expandedShape.begin() + *axis, 1);
  Value expanded = b.create<ExpandDimsOp>(loc, i64Type(expandedShape), indices,
                                          b.getDenseI64ArrayAttr({*axis}),
                                          UnitAttr(), nullptr);
  SmallVector<int64_t> positionsShape(rank, 1);
  positionsShape[*axis] = depth;
  SmallVector<int64_t> range;
  for (int64_t d = 0; d < depth; ++d)
    range.push_back(d);
  Value positions = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(i64Type(positionsShape), ArrayRef(range)));
  Value hit = b.create<EqualOp>(
      loc, RankedTensorType::get(type->getShape(), b.getI1Type()), expanded,
      positions, nullptr);
  Value values = im.input(node, 2);
  auto vt = cast<RankedTensorType>(values.getType());
  if (vt.getRank() != 1 || vt.getDimSize(0) != 2) {
    im.nodeError() << "input 'values' must hold [off, on], got " << vt;
    return failure();
  }
  auto pick = [&](int64_t i) -> Value {
    Value start = im.i64Constant({i});
    Value end = im.i64Constant({i + 1});
    Value one = b.create<SliceOp>(
        loc, RankedTensorType::get({1}, vt.getElementType()), values, start,
        end, b.getDenseI64ArrayAttr({0}), b.getDenseI64ArrayAttr({1}), nullptr);
    return b.create<ExpandDimsOp>(
        loc, RankedTensorType::get({}, vt.getElementType()), one,
        b.getDenseI64ArrayAttr({0}), b.getUnitAttr(), nullptr);
  };
  Value off = pick(0);
  Value on = pick(1);
  im.setOutput(node, 0, b.create<SelectOp>(loc, *type, hit, on, off, nullptr));
  return success();
}

LogicalResult importSize(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto xType = cast<RankedTensorType>(x.getType());
  auto scalarType = RankedTensorType::get({}, im.builder.getI64Type());
  if (xType.hasStaticShape()) {
    im.setOutput(node, 0,
                 im.builder.create<ConstantOp>(
                     im.currentLoc, DenseElementsAttr::get(
                                        scalarType, xType.getNumElements())));
    return success();
  }
  int64_t rank = xType.getRank();
  auto shapeType = RankedTensorType::get({rank}, im.builder.getI64Type());
  Value shape = im.builder.create<ShapeOp>(
      im.currentLoc, shapeType, x, im.builder.getI64IntegerAttr(0),
      im.builder.getI64IntegerAttr(rank), nullptr);
  im.setOutput(node, 0,
               im.builder.create<ReduceOp>(im.currentLoc, scalarType, shape,
                                           im.builder.getStringAttr("prod"),
                                           im.builder.getDenseI64ArrayAttr({0}),
                                           im.builder.getBoolAttr(false),
                                           nullptr));
  return success();
}

} // namespace

void mlir::attn::onnx_import::addShapeHandlers(HandlerTable &table) {
  table.add("", "GatherElements", 11, importGatherElements);
  table.add("", "Scatter", 9, importScatterElements);
  table.add("", "ScatterElements", 11, importScatterElements);
  table.add("", "ScatterND", 11, importScatterNd);
  table.add("", "Size", 1, importSize);
  table.add("", "OneHot", 11, importOneHot);
  table.add("", "Transpose", 1, importTranspose);
  table.add("", "Reshape", 5, importReshape);
  table.add("", "Flatten", 1, importFlatten);
  table.add("", "Squeeze", 1, importSqueezeUnsqueeze);
  table.add("", "Unsqueeze", 1, importSqueezeUnsqueeze);
  table.add("", "Concat", 4, importConcat);
  table.add("", "Split", 2, importSplit);
  table.add("", "Slice", 1, importSlice);
  table.add("", "Gather", 1, importGather);
  table.add("", "Expand", 8, importDirect<ExpandOp, 2>);
  table.add("", "Tile", 6, importDirect<TileOp, 2>);
  table.add("", "Shape", 1, importShape);
  table.add("", "ConstantOfShape", 9, importConstantOfShape);
  table.add("", "Range", 11, importRange);
  table.add("", "Trilu", 14, importTrilu);
  table.add("", "Identity", 1, importIdentity);
  table.add("", "Dropout", 1, importIdentity);
  table.add("", "GatherND", 11, importGatherNd);
  table.add("", "Pad", 2, importPad);
  table.add("", "Constant", 1, importConstant);
}
