//===- NormalizationOps.cpp - Channel norms and Hardmax ----------*- C++
//-*-===//
//
// Handlers of the normalizations over channels of [N, C, ...] tensors
// (BatchNormalization at inference, InstanceNormalization,
// GroupNormalization), the global pools, DepthToSpace / SpaceToDepth and
// Hardmax, written with attn's reductions, layout and element-wise ops.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {
/// Builders over one [N, C, ...] input.
struct ChannelBuilder {
  Importer &im;
  RankedTensorType type;

  Value scalar(double v) {
    Type element = type.getElementType();
    return im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(RankedTensorType::get({}, element),
                               FloatAttr::get(element, v)));
  }
  Type resultOf(Value a, Value b) {
    auto at = cast<RankedTensorType>(a.getType());
    auto bt = cast<RankedTensorType>(b.getType());
    return RankedTensorType::get(*broadcastShapes(at.getShape(), bt.getShape()),
                                 at.getElementType());
  }
  template <typename OpT> Value binary(Value a, Value b) {
    return im.builder.create<OpT>(im.currentLoc, resultOf(a, b), a, b, nullptr);
  }
  /// A per-channel [C] parameter as [C, 1, ...] for the input's rank.
  Value perChannel(Value p) {
    auto pt = cast<RankedTensorType>(p.getType());
    SmallVector<int64_t> shape{pt.getDimSize(0)};
    shape.append(type.getRank() - 2, 1);
    SmallVector<int64_t> spec(shape);
    spec[0] = -1;
    return im.builder.create<ReshapeOp>(
        im.currentLoc, RankedTensorType::get(shape, pt.getElementType()), p,
        im.builder.getDenseI64ArrayAttr(spec), nullptr);
  }
  /// y · scale + bias, both per channel.
  Value affine(Value y, Value scale, Value bias) {
    Value scaled = binary<MulOp>(y, perChannel(scale));
    return binary<AddOp>(scaled, perChannel(bias));
  }
  Value mean(Value x, ArrayRef<int64_t> axes) {
    auto xt = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> shape(xt.getShape());
    for (int64_t a : axes)
      shape[a] = 1;
    return im.builder.create<ReduceOp>(
        im.currentLoc, RankedTensorType::get(shape, xt.getElementType()), x,
        im.builder.getStringAttr("mean"), im.builder.getDenseI64ArrayAttr(axes),
        im.builder.getBoolAttr(true), nullptr);
  }
  /// (x - mean) / sqrt(var + eps) with the statistics over `axes`.
  Value standardize(Value x, ArrayRef<int64_t> axes, double eps) {
    Value m = mean(x, axes);
    Value centered = binary<SubOp>(x, m);
    Value var = mean(binary<MulOp>(centered, centered), axes);
    Value denom = im.builder.create<SqrtOp>(
        im.currentLoc, var.getType(), binary<AddOp>(var, scalar(eps)), nullptr);
    return binary<DivOp>(centered, denom);
  }
};

/// Checks that X is [N, C, ...] of a float type with a static C.
FailureOr<ChannelBuilder> channelInput(Importer &im,
                                       const onnx::NodeProto &node) {
  auto type = cast<RankedTensorType>(im.input(node, 0).getType());
  if (type.getRank() < 2 || !isa<FloatType>(type.getElementType()) ||
      type.isDynamicDim(1)) {
    im.nodeError() << "X must be a float tensor [N, C, ...] with a static "
                      "channel extent, got "
                   << type;
    return failure();
  }
  return ChannelBuilder{im, type};
}

SmallVector<int64_t> spatialAxes(int64_t rank, int64_t from) {
  SmallVector<int64_t> axes;
  for (int64_t a = from; a < rank; ++a)
    axes.push_back(a);
  return axes;
}

/// BatchNormalization at inference: (X - mean) / sqrt(var + eps) · scale +
/// B with the running statistics, per channel.
LogicalResult importBatchNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (im.intAttribute(node, "training_mode", 0) != 0) {
    im.nodeError() << "attribute 'training_mode' = 1 is not supported; attnc "
                      "compiles for inference (training_mode = 0)";
    return failure();
  }
  for (int i = 1; i < node.output_size(); ++i)
    if (failed(im.requireNoOutput(node, i, "running statistics")))
      return failure();
  FailureOr<ChannelBuilder> cb = channelInput(im, node);
  if (failed(cb))
    return failure();
  Value x = im.input(node, 0);
  Value centered = cb->binary<SubOp>(x, cb->perChannel(im.input(node, 3)));
  Value var = cb->perChannel(im.input(node, 4));
  Value denom = im.builder.create<SqrtOp>(
      im.currentLoc, var.getType(),
      cb->binary<AddOp>(var,
                        cb->scalar(im.floatAttribute(node, "epsilon", 1e-5f))),
      nullptr);
  Value y = cb->binary<DivOp>(centered, denom);
  im.setOutput(node, 0, cb->affine(y, im.input(node, 1), im.input(node, 2)));
  return success();
}

/// InstanceNormalization: each (n, c) standardized over the spatial axes,
/// then scale and B per channel.
LogicalResult importInstanceNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  FailureOr<ChannelBuilder> cb = channelInput(im, node);
  if (failed(cb))
    return failure();
  Value y =
      cb->standardize(im.input(node, 0), spatialAxes(cb->type.getRank(), 2),
                      im.floatAttribute(node, "epsilon", 1e-5f));
  im.setOutput(node, 0, cb->affine(y, im.input(node, 1), im.input(node, 2)));
  return success();
}

/// GroupNormalization: the channels in num_groups groups, each (n, group)
/// standardized over its channels and the spatial axes; scale and bias per
/// channel (opset 21) or per group (opset 18).
LogicalResult importGroupNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  FailureOr<ChannelBuilder> cb = channelInput(im, node);
  if (failed(cb))
    return failure();
  int64_t groups = im.intAttribute(node, "num_groups", 0);
  int64_t channels = cb->type.getDimSize(1);
  if (groups <= 0 || channels % groups != 0) {
    im.nodeError() << "attribute 'num_groups' = " << groups
                   << " does not divide the " << channels << " channels";
    return failure();
  }
  Value x = im.input(node, 0);
  Type element = cb->type.getElementType();
  // [N, C, ...] as [N, G, C/G · spatial].
  int64_t perGroup = channels / groups;
  for (int64_t d : cb->type.getShape().drop_front(2))
    perGroup = ShapedType::isDynamic(d) || ShapedType::isDynamic(perGroup)
                   ? ShapedType::kDynamic
                   : perGroup * d;
  auto grouped = RankedTensorType::get(
      {cb->type.getDimSize(0), groups, perGroup}, element);
  Value g = im.builder.create<ReshapeOp>(
      im.currentLoc, grouped, x,
      im.builder.getDenseI64ArrayAttr({0, groups, -1}), nullptr);
  ChannelBuilder gb{im, grouped};
  Value y = gb.standardize(g, {2}, im.floatAttribute(node, "epsilon", 1e-5f));
  Value scale = im.input(node, 1), bias = im.input(node, 2);
  bool perGroupParams =
      cast<RankedTensorType>(scale.getType()).getDimSize(0) == groups &&
      groups != channels && im.currentOpset < 21;
  if (perGroupParams)
    y = gb.affine(y, scale, bias);
  // Back to [N, C, ...], the extents read off X.
  y = im.builder.create<ReshapeDynamicOp>(
      im.currentLoc, cb->type, y,
      im.builder.create<ShapeOp>(
          im.currentLoc,
          RankedTensorType::get({cb->type.getRank()}, im.builder.getI64Type()),
          x, im.builder.getI64IntegerAttr(0),
          im.builder.getI64IntegerAttr(cb->type.getRank()), nullptr),
      UnitAttr(), nullptr);
  if (!perGroupParams)
    y = cb->affine(y, scale, bias);
  im.setOutput(node, 0, y);
  return success();
}

/// Hardmax (opset 13): 1 at the first maximum along `axis`, 0 elsewhere.
LogicalResult importHardmax(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = type->getRank();
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", -1),
                                             rank, "attribute 'axis'");
  if (failed(axis))
    return failure();
  SmallVector<int64_t> kept(type->getShape());
  kept[*axis] = 1;
  OpBuilder &b = im.builder;
  Value first = b.create<ArgMaxOp>(
      im.currentLoc, RankedTensorType::get(kept, b.getI64Type()), x,
      b.getI64IntegerAttr(*axis), b.getBoolAttr(true), nullptr, nullptr,
      nullptr);
  Value positions = buildPositions(b, im.currentLoc, x, *axis, rank, *axis);
  Value hit = b.create<EqualOp>(
      im.currentLoc, RankedTensorType::get(type->getShape(), b.getI1Type()),
      positions, first, nullptr);
  im.setOutput(node, 0, b.create<CastOp>(im.currentLoc, *type, hit, nullptr));
  return success();
}

/// GlobalAveragePool and GlobalMaxPool: the mean or maximum over the
/// spatial axes, kept as extents of 1.
LogicalResult importGlobalPool(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  FailureOr<ChannelBuilder> cb = channelInput(im, node);
  if (failed(cb))
    return failure();
  im.setOutput(
      node, 0,
      im.builder.create<ReduceOp>(
          im.currentLoc, *type, im.input(node, 0),
          im.builder.getStringAttr(node.op_type() == "GlobalMaxPool" ? "max"
                                                                     : "mean"),
          im.builder.getDenseI64ArrayAttr(spatialAxes(cb->type.getRank(), 2)),
          im.builder.getBoolAttr(true), nullptr));
  return success();
}

/// MaxPool and AveragePool over any number of spatial axes: kernel,
/// strides, pads (or auto_pad with static extents), dilations; ceil_mode
/// is in the output extents ONNX infers. MaxPool's Indices output is not
/// supported.
LogicalResult importPool(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  bool max = node.op_type() == "MaxPool";
  if (node.output_size() > 1 && !node.output(1).empty()) {
    im.nodeError() << "output 'Indices' is not supported";
    return failure();
  }
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t k = xt.getRank() - 2;
  SmallVector<int64_t> kernel = im.intsAttribute(node, "kernel_shape");
  if (k < 1 || static_cast<int64_t>(kernel.size()) != k) {
    im.nodeError() << "attribute 'kernel_shape' must have an extent per "
                      "spatial axis of the input, got "
                   << kernel.size() << " for " << xt;
    return failure();
  }
  FailureOr<WindowAttributes> window = windowAttributes(im, node, k);
  if (failed(window) || failed(applyAutoPad(im, node, xt, kernel, *window)))
    return failure();
  if (im.intAttribute(node, "ceil_mode", 0) != 0 &&
      llvm::any_of(xt.getShape().drop_front(2), ShapedType::isDynamic)) {
    im.nodeError() << "ceil_mode = 1 needs static spatial extents, got " << xt;
    return failure();
  }
  OpBuilder &b = im.builder;
  auto pool = b.create<PoolOp>(
      im.currentLoc, *type, x, b.getStringAttr(max ? "max" : "avg"),
      b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(window->strides),
      b.getDenseI64ArrayAttr(window->pads),
      b.getDenseI64ArrayAttr(window->dilations),
      !max && im.intAttribute(node, "count_include_pad", 0) != 0, nullptr);
  im.setOutput(node, 0, pool);
  return success();
}

/// Resize (10: scales; 11+: roi, scales, sizes; 18: axes) in nearest,
/// linear or cubic mode; scales and sizes must be constants. Not
/// supported: tf_crop_and_resize, antialias, keep_aspect_ratio_policy other
/// than stretch.
LogicalResult importResize(Importer &im, const onnx::NodeProto &node,
                           bool v10) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  std::string mode = im.stringAttribute(node, "mode", "nearest");
  std::string coordinates =
      im.stringAttribute(node, "coordinate_transformation_mode",
                         v10 ? "asymmetric" : "half_pixel");
  std::string nearest = im.stringAttribute(
      node, "nearest_mode", v10 ? "floor" : "round_prefer_floor");
  auto unsupported = [&](StringRef what) {
    im.nodeError() << what << " is not supported";
    return failure();
  };
  if (coordinates == "tf_crop_and_resize")
    return unsupported("coordinate_transformation_mode = tf_crop_and_resize");
  if (im.intAttribute(node, "antialias", 0) != 0)
    return unsupported("antialias = 1");
  if (im.stringAttribute(node, "keep_aspect_ratio_policy", "stretch") !=
      "stretch")
    return unsupported("keep_aspect_ratio_policy other than stretch");
  SmallVector<int64_t> axes = im.intsAttribute(node, "axes");
  if (axes.empty())
    for (int64_t k = 0; k < rank; ++k)
      axes.push_back(k);
  if (failed(im.normalizeAxes(axes, rank, "axis")))
    return failure();
  // Per axis: the scale, 0 where sizes give the extent.
  SmallVector<double> scales(rank, 1.0);
  int scalesInput = v10 ? 1 : 2;
  Value sizes = v10 ? Value() : im.input(node, 3);
  if (sizes) {
    FailureOr<SmallVector<int64_t>> values = im.constantInts(node, 3, "sizes");
    if (failed(values))
      return failure();
    for (int64_t a : axes)
      scales[a] = 0.0;
  } else {
    std::optional<SmallVector<double>> values =
        getConstantValues(im.input(node, scalesInput), /*maxElements=*/64);
    if (!values || values->size() != axes.size()) {
      im.nodeError() << "input 'scales' must be a constant float tensor at "
                        "compile time, a scale per resized axis";
      return failure();
    }
    for (auto [a, s] : llvm::zip(axes, *values))
      scales[a] = s;
  }
  OpBuilder &b = im.builder;
  im.setOutput(
      node, 0,
      b.create<ResizeOp>(
          im.currentLoc, *type, x, b.getStringAttr(mode),
          b.getStringAttr(coordinates), b.getStringAttr(nearest),
          b.getF64FloatAttr(im.floatAttribute(node, "cubic_coeff_a", -0.75f)),
          im.intAttribute(node, "exclude_outside", 0) != 0 ? b.getUnitAttr()
                                                           : UnitAttr(),
          b.getDenseF64ArrayAttr(scales), nullptr));
  return success();
}

/// Opset 10: inputs X and scales; asymmetric coordinates, floor rounding.
LogicalResult importResize10(Importer &im, const onnx::NodeProto &node) {
  return importResize(im, node, /*v10=*/true);
}

LogicalResult importResize11(Importer &im, const onnx::NodeProto &node) {
  return importResize(im, node, /*v10=*/false);
}

/// DepthToSpace (DCR and CRD) and SpaceToDepth on [N, C, H, W]: a reshape to
/// six axes, a transpose, a reshape back.
LogicalResult importDepthSpace(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t b = im.intAttribute(node, "blocksize", 0);
  bool toSpace = node.op_type() == "DepthToSpace";
  if (xt.getRank() != 4 ||
      llvm::any_of(xt.getShape().drop_front(), ShapedType::isDynamic)) {
    im.nodeError() << "input must be [N, C, H, W] with static C, H and W, got "
                   << xt;
    return failure();
  }
  int64_t c = xt.getDimSize(1), h = xt.getDimSize(2), w = xt.getDimSize(3);
  if (b < 1 || (toSpace ? c % (b * b) : (h % b || w % b))) {
    im.nodeError() << "attribute 'blocksize' = " << b << " does not divide "
                   << (toSpace ? "the channels of "
                               : "the height and width of ")
                   << xt;
    return failure();
  }
  std::string mode = im.stringAttribute(node, "mode", "DCR");
  if (toSpace && mode != "DCR" && mode != "CRD") {
    im.nodeError() << "attribute 'mode' = '" << mode
                   << "' is not supported (supported: DCR, CRD)";
    return failure();
  }
  int64_t n = xt.getDimSize(0);
  SmallVector<int64_t> split, perm;
  if (!toSpace) {
    split = {n, c, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
  } else if (mode == "DCR") {
    split = {n, b, b, c / (b * b), h, w};
    perm = {0, 3, 4, 1, 5, 2};
  } else {
    split = {n, c / (b * b), b, b, h, w};
    perm = {0, 1, 4, 2, 5, 3};
  }
  SmallVector<int64_t> spec(split);
  spec[0] = 0;
  Type element = xt.getElementType();
  OpBuilder &bld = im.builder;
  Value six = bld.create<ReshapeOp>(im.currentLoc,
                                    RankedTensorType::get(split, element), x,
                                    bld.getDenseI64ArrayAttr(spec), nullptr);
  SmallVector<int64_t> moved;
  for (int64_t p : perm)
    moved.push_back(split[p]);
  Value t = bld.create<TransposeOp>(im.currentLoc,
                                    RankedTensorType::get(moved, element), six,
                                    bld.getDenseI64ArrayAttr(perm), nullptr);
  SmallVector<int64_t> out(type->getShape());
  SmallVector<int64_t> outSpec(out);
  outSpec[0] = 0;
  im.setOutput(node, 0,
               bld.create<ReshapeOp>(im.currentLoc, *type, t,
                                     bld.getDenseI64ArrayAttr(outSpec),
                                     nullptr));
  return success();
}
} // namespace

void mlir::attn::onnx_import::addNormalizationHandlers(HandlerTable &table) {
  table.add("", "BatchNormalization", 15, importBatchNorm);
  table.add("", "InstanceNormalization", 6, importInstanceNorm);
  table.add("", "GroupNormalization", 18, importGroupNorm);
  table.add("", "Hardmax", 13, importHardmax);
  table.add("", "GlobalAveragePool", 1, importGlobalPool);
  table.add("", "GlobalMaxPool", 1, importGlobalPool);
  table.add("", "MaxPool", 1, importPool);
  table.add("", "AveragePool", 1, importPool);
  table.add("", "Resize", 10, importResize10);
  table.add("", "Resize", 11, importResize11);
  table.add("", "DepthToSpace", 11, importDepthSpace);
  table.add("", "SpaceToDepth", 1, importDepthSpace);
}
