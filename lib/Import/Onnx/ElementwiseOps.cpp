//===- ElementwiseOps.cpp - ONNX elementwise operators ----------*- C++ -*-===//
//
// Handlers of element-wise arithmetic, comparisons, activations and casts.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {

/// Variadic Max/Min/Sum: a chain of binary ops.
template <typename OpT>
LogicalResult importVariadic(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value acc = im.input(node, 0);
  for (int i = 1; i < node.input_size(); ++i) {
    Value rhs = im.input(node, i);
    auto lt = cast<RankedTensorType>(acc.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    FailureOr<SmallVector<int64_t>> shape =
        broadcastShapes(lt.getShape(), rt.getShape());
    if (failed(shape)) {
      im.nodeError() << "cannot broadcast input shapes " << lt << " and " << rt;
      return failure();
    }
    auto partial = i + 1 == node.input_size()
                       ? *type
                       : RankedTensorType::get(*shape, type->getElementType());
    acc = im.builder.create<OpT>(im.currentLoc, partial, acc, rhs, nullptr);
  }
  if (acc.getType() != *type)
    acc = im.builder.create<ExpandOp>(
        im.currentLoc, *type, acc, im.i64Constant(type->getShape()), nullptr);
  im.setOutput(node, 0, acc);
  return success();
}

/// Neg, folded when its input is a constant: shape arithmetic such as the
/// number of reduced axes of an expanded LayerNormalization
/// (`ConstantOfShape(Neg(axis))`) needs the value at import.
LogicalResult importNeg(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(node, 0,
               im.builder.createOrFold<NegOp>(im.currentLoc, *type,
                                              im.input(node, 0), nullptr));
  return success();
}

/// LessOrEqual and GreaterOrEqual: for integers the negation of the
/// opposite strict comparison (the form mask matchers read); for floats the
/// strict comparison or equality (both false where an operand is NaN).
template <typename StrictOp, typename OppositeOp>
LogicalResult importOrEqual(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value a = im.input(node, 0), b = im.input(node, 1);
  if (!isa<FloatType>(getElementTypeOrSelf(a.getType()))) {
    Value opposite =
        im.builder.create<OppositeOp>(im.currentLoc, *type, a, b, nullptr);
    im.setOutput(
        node, 0,
        im.builder.create<NotOp>(im.currentLoc, *type, opposite, nullptr));
    return success();
  }
  Value strict =
      im.builder.create<StrictOp>(im.currentLoc, *type, a, b, nullptr);
  Value equal = im.builder.create<EqualOp>(im.currentLoc, *type, a, b, nullptr);
  im.setOutput(
      node, 0,
      im.builder.create<OrOp>(im.currentLoc, *type, strict, equal, nullptr));
  return success();
}

LogicalResult importGelu(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  std::string approximate = im.stringAttribute(node, "approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    im.nodeError() << "attribute 'approximate' = '" << approximate
                   << "' is not supported (supported: none, tanh)";
    return failure();
  }
  Value x = im.input(node, 0);
  // com.microsoft BiasGelu / FastGelu take a bias added first.
  if (Value bias = im.input(node, 1))
    x = im.builder.create<AddOp>(im.currentLoc, *type, x, bias, nullptr);
  if (node.op_type() == "FastGelu")
    approximate = "tanh";
  im.setOutput(node, 0,
               im.builder.create<GeluOp>(im.currentLoc, *type, x,
                                         im.builder.getStringAttr(approximate),
                                         nullptr));
  return success();
}

LogicalResult importClip(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  Value lo = im.input(node, 1), hi = im.input(node, 2);
  auto scalarType = RankedTensorType::get({}, type->getElementType());
  auto scalar = [&](float v) -> Value {
    return im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(scalarType,
                               FloatAttr::get(type->getElementType(), v)));
  };
  if (im.currentOpset < 11) {
    if (im.attribute(node, "min"))
      lo = scalar(im.floatAttribute(node, "min", 0));
    if (im.attribute(node, "max"))
      hi = scalar(im.floatAttribute(node, "max", 0));
  }
  if (lo)
    x = im.builder.create<MaxOp>(im.currentLoc, *type, x, lo, nullptr);
  if (hi)
    x = im.builder.create<MinOp>(im.currentLoc, *type, x, hi, nullptr);
  im.setOutput(node, 0, x);
  return success();
}

LogicalResult importCastLike(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(node, 0,
               im.builder.create<CastOp>(im.currentLoc, *type,
                                         im.input(node, 0), nullptr));
  return success();
}

LogicalResult importMod(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type) || failed(checkBroadcast(im, node)))
    return failure();
  bool fmod = im.intAttribute(node, "fmod", 0) != 0;
  im.setOutput(node, 0,
               im.builder.create<ModOp>(
                   im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
                   fmod ? im.builder.getUnitAttr() : UnitAttr(), nullptr));
  return success();
}

/// Element-wise expressions of one result type, for the activations ONNX
/// defines as formulas: written with attn's element-wise ops, they fuse
/// into one kernel with their neighbours.
struct Formula {
  Importer &im;
  RankedTensorType type;

  Value scalar(double v) {
    auto scalarType = RankedTensorType::get({}, type.getElementType());
    Attribute value = FloatAttr::get(type.getElementType(), v);
    return im.builder.create<ConstantOp>(
        im.currentLoc, DenseElementsAttr::get(scalarType, value));
  }
  template <typename OpT> Value binary(Value a, Value b) {
    return im.builder.create<OpT>(im.currentLoc, type, a, b, nullptr);
  }
  template <typename OpT> Value unary(Value a) {
    return im.builder.create<OpT>(im.currentLoc, type, a, nullptr);
  }
  template <typename OpT> Value compare(Value a, Value b) {
    auto i1 = RankedTensorType::get(type.getShape(), im.builder.getI1Type());
    return im.builder.create<OpT>(im.currentLoc, i1, a, b, nullptr);
  }
  Value select(Value c, Value a, Value b) {
    return im.builder.create<SelectOp>(im.currentLoc, type, c, a, b, nullptr);
  }
  Value add(Value a, Value b) { return binary<AddOp>(a, b); }
  Value mul(Value a, Value b) { return binary<MulOp>(a, b); }
  Value max(Value a, Value b) { return binary<MaxOp>(a, b); }
  Value min(Value a, Value b) { return binary<MinOp>(a, b); }
  /// e^x - 1.
  Value expm1(Value x) {
    Value e = unary<ExpOp>(x);
    return binary<SubOp>(e, scalar(1));
  }
  /// log(1 + e^x) as max(x, 0) + log(1 + e^-|x|): no overflow for large x.
  Value softplus(Value x) {
    Value positive = max(x, scalar(0));
    Value tail = unary<ExpOp>(unary<NegOp>(unary<AbsOp>(x)));
    Value one = scalar(1);
    return add(positive, unary<LogOp>(add(one, tail)));
  }
  /// max(0, min(1, alpha * x + beta)).
  Value hardSigmoid(Value x, double alpha, double beta) {
    Value scaled = mul(x, scalar(alpha));
    Value linear = add(scaled, scalar(beta));
    Value one = scalar(1);
    Value upper = min(one, linear);
    Value zero = scalar(0);
    return max(zero, upper);
  }
};

/// The activations of the default domain that ONNX defines by a formula
/// over one input (PRelu: and a slope broadcast to it).
LogicalResult importActivation(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (!isa<FloatType>(type->getElementType())) {
    im.nodeError() << "input type " << type->getElementType()
                   << " is not supported (floating-point types only)";
    return failure();
  }
  Formula f{im, *type};
  Value x = im.input(node, 0);
  const std::string &op = node.op_type();
  auto attr = [&](StringRef name, float value) {
    return static_cast<double>(im.floatAttribute(node, name, value));
  };
  // One op per statement: the IR is built in the order written.
  Value y;
  if (op == "LeakyRelu" || op == "PRelu") {
    if (op == "PRelu" && failed(checkBroadcast(im, node)))
      return failure();
    Value slope =
        op == "PRelu" ? im.input(node, 1) : f.scalar(attr("alpha", 0.01f));
    Value negative = f.compare<LessOp>(x, f.scalar(0));
    Value scaled = f.mul(x, slope);
    y = f.select(negative, scaled, x);
  } else if (op == "ThresholdedRelu") {
    Value zero = f.scalar(0);
    Value above = f.compare<GreaterOp>(x, f.scalar(attr("alpha", 1.0f)));
    y = f.select(above, x, zero);
  } else if (op == "Elu") {
    Value alpha = f.scalar(attr("alpha", 1.0f));
    Value negative = f.mul(alpha, f.expm1(x));
    Value below = f.compare<LessOp>(x, f.scalar(0));
    y = f.select(below, negative, x);
  } else if (op == "Selu") {
    Value alpha = f.scalar(attr("alpha", 1.67326319217681884765625f));
    Value gamma = f.scalar(attr("gamma", 1.05070102214813232421875f));
    Value negative = f.mul(alpha, f.expm1(x));
    Value above = f.compare<GreaterOp>(x, f.scalar(0));
    Value chosen = f.select(above, x, negative);
    y = f.mul(gamma, chosen);
  } else if (op == "Celu") {
    Value alpha = f.scalar(attr("alpha", 1.0f));
    Value zero = f.scalar(0);
    Value positive = f.max(zero, x);
    Value scaled = f.binary<DivOp>(x, alpha);
    Value negative = f.min(zero, f.mul(alpha, f.expm1(scaled)));
    y = f.add(positive, negative);
  } else if (op == "Softplus") {
    y = f.softplus(x);
  } else if (op == "Softsign") {
    Value one = f.scalar(1);
    Value denominator = f.add(one, f.unary<AbsOp>(x));
    y = f.binary<DivOp>(x, denominator);
  } else if (op == "HardSigmoid") {
    y = f.hardSigmoid(x, attr("alpha", 0.2f), attr("beta", 0.5f));
  } else if (op == "HardSwish") {
    Value gate = f.hardSigmoid(x, 1.0 / 6.0, 0.5);
    y = f.mul(x, gate);
  } else if (op == "Mish") {
    Value gate = f.unary<TanhOp>(f.softplus(x));
    y = f.mul(x, gate);
  } else if (op == "Swish" || op == "QuickGelu") {
    // com.microsoft QuickGelu: alpha 1.702 by default.
    float alpha = op == "Swish" ? 1.0f : 1.702f;
    Value scaled = f.mul(x, f.scalar(attr("alpha", alpha)));
    Value gate = f.unary<SigmoidOp>(scaled);
    y = f.mul(x, gate);
  } else {
    llvm_unreachable("activation without a formula");
  }
  im.setOutput(node, 0, y);
  return success();
}

} // namespace

void mlir::attn::onnx_import::addElementwiseHandlers(HandlerTable &table) {
  table.add("", "Add", 7, importBinary<AddOp>);
  table.add("", "Sub", 7, importBinary<SubOp>);
  table.add("", "Mul", 7, importBinary<MulOp>);
  table.add("", "Div", 7, importBinary<DivOp>);
  table.add("", "Pow", 7, importBinary<PowOp>);
  table.add("", "And", 7, importBinary<AndOp>);
  table.add("", "Or", 7, importBinary<OrOp>);
  table.add("", "Equal", 7, importBinary<EqualOp>);
  table.add("", "Less", 7, importBinary<LessOp>);
  table.add("", "Greater", 7, importBinary<GreaterOp>);
  table.add("", "LessOrEqual", 12, importOrEqual<LessOp, GreaterOp>);
  table.add("", "GreaterOrEqual", 12, importOrEqual<GreaterOp, LessOp>);
  table.add("", "Max", 8, importVariadic<MaxOp>);
  table.add("", "Min", 8, importVariadic<MinOp>);
  table.add("", "Sum", 8, importVariadic<AddOp>);
  table.add("", "Where", 9, importDirect<SelectOp, 3>);
  table.add("", "Clip", 6, importClip);
  table.add("", "Sqrt", 6, importDirect<SqrtOp>);
  table.add("", "Reciprocal", 6, importDirect<ReciprocalOp>);
  table.add("", "Neg", 6, importNeg);
  table.add("", "Abs", 6, importDirect<AbsOp>);
  table.add("", "Exp", 6, importDirect<ExpOp>);
  table.add("", "Log", 6, importDirect<LogOp>);
  table.add("", "Erf", 9, importDirect<ErfOp>);
  table.add("", "Tanh", 6, importDirect<TanhOp>);
  table.add("", "Sigmoid", 6, importDirect<SigmoidOp>);
  table.add("", "Relu", 6, importDirect<ReluOp>);
  table.add("", "Not", 1, importDirect<NotOp>);
  table.add("", "Sin", 7, importDirect<SinOp>);
  table.add("", "Cos", 7, importDirect<CosOp>);
  table.add("", "Sign", 9, importDirect<SignOp>);
  table.add("", "Ceil", 6, importDirect<CeilOp>);
  table.add("", "Floor", 6, importDirect<FloorOp>);
  table.add("", "Round", 11, importDirect<RoundOp>);
  for (const char *op : {"Softplus", "Softsign"})
    table.add("", op, 1, importActivation);
  for (const char *op : {"LeakyRelu", "Elu", "Selu", "HardSigmoid"})
    table.add("", op, 6, importActivation);
  table.add("", "ThresholdedRelu", 10, importActivation);
  table.add("", "PRelu", 7, importActivation);
  table.add("", "Celu", 12, importActivation);
  table.add("", "HardSwish", 14, importActivation);
  table.add("", "Mish", 18, importActivation);
  table.add("", "Swish", 24, importActivation);
  table.add("com.microsoft", "QuickGelu", 1, importActivation);
  table.add("", "IsNaN", 9, importDirect<IsNanOp>);
  table.add("", "Cast", 6, importDirect<CastOp>);
  table.add("", "CastLike", 15, importCastLike);
  table.add("", "Mod", 10, importMod);
  table.add("", "Gelu", 20, importGelu);
  table.add("com.microsoft", "Gelu", 1, importGelu);
  table.add("com.microsoft", "FastGelu", 1, importGelu);
  table.add("com.microsoft", "BiasGelu", 1, importGelu);
}
