//===- QuantizationOps.cpp - ONNX quantization operators --------*- C++ -*-===//
//
// Handlers of QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and
// MatMulInteger.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// A zero scalar of `element`, the zero point ONNX assumes when it is absent.
Value zeroScalar(Importer &im, Type element) {
  auto type = RankedTensorType::get({}, element);
  Attribute zero = isa<FloatType>(element)
                       ? Attribute(im.builder.getFloatAttr(element, 0.0))
                       : Attribute(im.builder.getIntegerAttr(element, 0));
  return im.builder.create<ConstantOp>(im.currentLoc,
                                       DenseElementsAttr::get(type, zero));
}

/// Zeros of `element` in the shape of `scale`: the zero point that
/// QuantizeLinear and DequantizeLinear assume when it is absent.
Value zeroLike(Importer &im, Type element, Value scale) {
  auto shape = cast<RankedTensorType>(scale.getType()).getShape();
  auto type = RankedTensorType::get(shape, element);
  return im.builder.create<ConstantOp>(
      im.currentLoc,
      DenseElementsAttr::get(type, im.builder.getIntegerAttr(element, 0)));
}

/// The axis of QuantizeLinear / DequantizeLinear, normalized; 0 where the
/// scale is one value (per-tensor quantization ignores the axis).
FailureOr<int64_t> quantizationAxis(Importer &im, const onnx::NodeProto &node,
                                    Value x, Value scale) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (rank == 0 ||
      (scaleType.getRank() <= 1 && scaleType.getNumElements() == 1 &&
       im.intAttribute(node, "block_size", 0) == 0))
    return 0;
  return im.normalizeAxis(im.intAttribute(node, "axis", 1), rank,
                          "attribute 'axis'");
}

/// QuantizeLinear (`OpTy` = QuantizeOp: float to an 8- or 16-bit integer)
/// and DequantizeLinear (DequantizeOp: an 8-, 16- or 32-bit integer to
/// float): the integer side's type, the axis, the zero point (zeros of the
/// scale's shape when absent) and the block size.
template <typename OpTy>
LogicalResult importQuantization(Importer &im, const onnx::NodeProto &node) {
  constexpr bool quantize = std::is_same_v<OpTy, QuantizeOp>;
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0), scale = im.input(node, 1);
  Type element = quantize
                     ? type->getElementType()
                     : cast<RankedTensorType>(x.getType()).getElementType();
  if (!element.isInteger(8) && !element.isInteger(16) &&
      (quantize || !element.isInteger(32))) {
    im.nodeError() << (quantize ? "quantizes to " : "dequantizes ") << element
                   << (quantize
                           ? "; attnc supports 8- and 16-bit integer outputs"
                           : "; attnc supports 8-, 16- and 32-bit integer "
                             "inputs");
    return failure();
  }
  FailureOr<int64_t> axis = quantizationAxis(im, node, x, scale);
  if (failed(axis))
    return failure();
  Value zero = im.input(node, 2);
  if (!zero)
    zero = zeroLike(im, element, scale);
  im.setOutput(
      node, 0,
      im.builder.create<OpTy>(
          im.currentLoc, *type, x, scale, zero,
          im.builder.getI64IntegerAttr(*axis),
          im.builder.getI64IntegerAttr(im.intAttribute(node, "block_size", 0)),
          nullptr));
  return success();
}

/// DynamicQuantizeLinear: uint8 with the scale and zero point that map
/// [min(0, min x), max(0, max x)] onto [0, 255], as ONNX defines them.
LogicalResult importDynamicQuantizeLinear(Importer &im,
                                          const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  Value x = im.input(node, 0);
  auto xType = cast<RankedTensorType>(x.getType());
  if (!xType.getElementType().isF32()) {
    im.nodeError() << "quantizes " << xType.getElementType()
                   << "; DynamicQuantizeLinear takes float32";
    return failure();
  }
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  auto u8 = b.getIntegerType(8, /*isSigned=*/false);
  auto u8Scalar = RankedTensorType::get({}, u8);
  SmallVector<int64_t> all;
  for (int64_t k = 0; k < xType.getRank(); ++k)
    all.push_back(k);
  auto reduce = [&](StringRef kind) -> Value {
    return b.create<ReduceOp>(loc, scalar, x, b.getStringAttr(kind),
                              b.getDenseI64ArrayAttr(all), b.getBoolAttr(false),
                              nullptr);
  };
  auto constant = [&](float v) -> Value {
    return b.create<ConstantOp>(loc, DenseElementsAttr::get(scalar, v));
  };
  Value zero = constant(0.0f);
  Value lo = b.create<MinOp>(loc, scalar, reduce("min"), zero, nullptr);
  Value hi = b.create<MaxOp>(loc, scalar, reduce("max"), zero, nullptr);
  Value scale = b.create<DivOp>(loc, scalar,
                                b.create<SubOp>(loc, scalar, hi, lo, nullptr),
                                constant(255.0f), nullptr);
  Value zeroPoint = b.create<QuantizeOp>(
      loc, u8Scalar, b.create<NegOp>(loc, scalar, lo, nullptr), scale,
      zeroScalar(im, u8), b.getI64IntegerAttr(0), nullptr, nullptr);
  Value y = b.create<QuantizeOp>(loc, *type, x, scale, zeroPoint,
                                 b.getI64IntegerAttr(0), nullptr, nullptr);
  im.setOutput(node, 0, y);
  if (node.output_size() > 1)
    im.setOutput(node, 1, scale);
  if (node.output_size() > 2)
    im.setOutput(node, 2, zeroPoint);
  return success();
}

LogicalResult importMatMulInteger(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value a = im.input(node, 0), b = im.input(node, 1);
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(b.getType());
  if (aType.getRank() < 2 || bType.getRank() < 2) {
    im.nodeError() << "multiplies operands of rank " << aType.getRank()
                   << " and " << bType.getRank()
                   << "; attnc supports rank 2 and more";
    return failure();
  }
  Value aZero = im.input(node, 2), bZero = im.input(node, 3);
  if (!aZero)
    aZero = zeroScalar(im, aType.getElementType());
  if (!bZero)
    bZero = zeroScalar(im, bType.getElementType());
  im.setOutput(node, 0,
               im.builder.create<MatMulIntegerOp>(im.currentLoc, *type, a, b,
                                                  aZero, bZero, nullptr));
  return success();
}

} // namespace

void mlir::attn::onnx_import::addQuantizationHandlers(HandlerTable &table) {
  table.add("", "QuantizeLinear", 10, importQuantization<QuantizeOp>);
  table.add("", "DequantizeLinear", 10, importQuantization<DequantizeOp>);
  table.add("", "DynamicQuantizeLinear", 11, importDynamicQuantizeLinear);
  table.add("", "MatMulInteger", 10, importMatMulInteger);
}
