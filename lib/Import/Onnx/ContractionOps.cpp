//===- ContractionOps.cpp - ONNX contraction operators ----------*- C++ -*-===//
//
// Handlers of matrix products, Gemm, convolutions and Einsum.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {

LogicalResult importMatMul(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value lhs = im.input(node, 0), rhs = im.input(node, 1);
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  if (lt.getRank() == 0 || rt.getRank() == 0) {
    im.nodeError() << "scalar operands are not supported (got " << lt << " and "
                   << rt << ")";
    return failure();
  }
  if (!isa<FloatType>(lt.getElementType())) {
    im.nodeError() << "integer MatMul is not supported (element type "
                   << lt.getElementType() << ")";
    return failure();
  }
  // numpy's 1-D promotion: a 1-D left operand is a row [1, K], a 1-D right
  // operand a column [K, 1]; the added axis is dropped from the result.
  if (lt.getRank() == 1 || rt.getRank() == 1) {
    auto expand = [&](Value x, int64_t axis) -> Value {
      auto t = cast<RankedTensorType>(x.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape.insert(shape.begin() + axis, 1);
      return im.builder.create<ExpandDimsOp>(
          im.currentLoc, RankedTensorType::get(shape, t.getElementType()), x,
          im.builder.getDenseI64ArrayAttr({axis}), false, nullptr);
    };
    bool rowLhs = lt.getRank() == 1, columnRhs = rt.getRank() == 1;
    if (rowLhs)
      lhs = expand(lhs, 0);
    if (columnRhs)
      rhs = expand(rhs, 1);
    SmallVector<int64_t> shape(type->getShape());
    SmallVector<int64_t> dropped;
    if (rowLhs) {
      dropped.push_back(shape.size() - (columnRhs ? 0 : 1));
      shape.insert(shape.end() - (columnRhs ? 0 : 1), 1);
    }
    if (columnRhs) {
      dropped.push_back(shape.size());
      shape.push_back(1);
    }
    Value product = im.builder.create<MatMulOp>(
        im.currentLoc, RankedTensorType::get(shape, type->getElementType()),
        lhs, rhs, nullptr);
    llvm::sort(dropped);
    im.setOutput(node, 0,
                 im.builder.create<ExpandDimsOp>(
                     im.currentLoc, *type, product,
                     im.builder.getDenseI64ArrayAttr(dropped), true, nullptr));
    return success();
  }
  im.setOutput(
      node, 0,
      im.builder.create<MatMulOp>(im.currentLoc, *type, lhs, rhs, nullptr));
  return success();
}

LogicalResult importGemm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  OpBuilder &b = im.builder;
  Value a = im.input(node, 0), bm = im.input(node, 1), c = im.input(node, 2);
  auto transposed = [&](Value v) -> Value {
    auto t = cast<RankedTensorType>(v.getType());
    auto tt = RankedTensorType::get({t.getDimSize(1), t.getDimSize(0)},
                                    t.getElementType());
    return b.create<TransposeOp>(im.currentLoc, tt, v,
                                 b.getDenseI64ArrayAttr({1, 0}), nullptr);
  };
  if (im.intAttribute(node, "transA", 0))
    a = transposed(a);
  if (im.intAttribute(node, "transB", 0))
    bm = transposed(bm);
  Value y = b.create<MatMulOp>(im.currentLoc, *type, a, bm, nullptr);
  auto scalarType = RankedTensorType::get({}, type->getElementType());
  float alpha = im.floatAttribute(node, "alpha", 1.0f);
  float beta = im.floatAttribute(node, "beta", 1.0f);
  if (alpha != 1.0f)
    y = b.create<MulOp>(
        im.currentLoc, *type, y,
        b.create<ConstantOp>(
            im.currentLoc,
            DenseElementsAttr::get(
                scalarType, FloatAttr::get(type->getElementType(), alpha))),
        nullptr);
  if (c) {
    if (beta != 1.0f) {
      auto ct = cast<RankedTensorType>(c.getType());
      c = b.create<MulOp>(
          im.currentLoc, ct, c,
          b.create<ConstantOp>(
              im.currentLoc, DenseElementsAttr::get(
                                 RankedTensorType::get({}, ct.getElementType()),
                                 FloatAttr::get(ct.getElementType(), beta))),
          nullptr);
    }
    y = b.create<AddOp>(im.currentLoc, *type, y, c, nullptr);
  }
  im.setOutput(node, 0, y);
  return success();
}

} // namespace

FailureOr<WindowAttributes> mlir::attn::onnx_import::windowAttributes(
    Importer &im, const onnx::NodeProto &node, int64_t k) {
  WindowAttributes w;
  w.strides = im.intsAttribute(node, "strides", SmallVector<int64_t>(k, 1));
  w.dilations = im.intsAttribute(node, "dilations", SmallVector<int64_t>(k, 1));
  w.pads = im.intsAttribute(node, "pads", SmallVector<int64_t>(2 * k, 0));
  if (static_cast<int64_t>(w.strides.size()) != k ||
      static_cast<int64_t>(w.dilations.size()) != k ||
      static_cast<int64_t>(w.pads.size()) != 2 * k) {
    im.nodeError() << "attributes 'strides', 'dilations' and 'pads' must "
                      "have "
                   << k << ", " << k << " and " << 2 * k << " entries";
    return failure();
  }
  return w;
}

LogicalResult mlir::attn::onnx_import::applyAutoPad(Importer &im,
                                                    const onnx::NodeProto &node,
                                                    RankedTensorType input,
                                                    ArrayRef<int64_t> kernel,
                                                    WindowAttributes &w) {
  int64_t k = static_cast<int64_t>(kernel.size());
  std::string autoPad = im.stringAttribute(node, "auto_pad", "NOTSET");
  if (autoPad == "NOTSET")
    return success();
  if (autoPad == "VALID") {
    w.pads.assign(2 * k, 0);
    return success();
  }
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER") {
    im.nodeError() << "attribute 'auto_pad' = '" << autoPad
                   << "' is not supported (supported: NOTSET, VALID, "
                      "SAME_UPPER, SAME_LOWER)";
    return failure();
  }
  for (int64_t d = 0; d < k; ++d) {
    int64_t in = input.getDimSize(2 + d);
    if (ShapedType::isDynamic(in)) {
      im.nodeError() << "auto_pad = " << autoPad
                     << " needs static spatial extents, got " << input;
      return failure();
    }
    int64_t out = (in + w.strides[d] - 1) / w.strides[d];
    int64_t total =
        std::max<int64_t>(0, (out - 1) * w.strides[d] +
                                 w.dilations[d] * (kernel[d] - 1) + 1 - in);
    int64_t small = total / 2, large = total - small;
    w.pads[d] = autoPad == "SAME_UPPER" ? small : large;
    w.pads[k + d] = autoPad == "SAME_UPPER" ? large : small;
  }
  return success();
}

namespace {

LogicalResult importConv(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0), w = im.input(node, 1);
  auto xt = cast<RankedTensorType>(x.getType());
  auto wt = cast<RankedTensorType>(w.getType());
  int64_t spatial = xt.getRank() - 2;
  if ((spatial != 1 && spatial != 2) || wt.getRank() != xt.getRank() ||
      !wt.hasStaticShape()) {
    im.nodeError() << "only 1-D and 2-D convolutions with a weight of static "
                      "shape are supported, got input "
                   << xt << " and weight " << wt;
    return failure();
  }
  FailureOr<WindowAttributes> window = windowAttributes(im, node, spatial);
  if (failed(window) ||
      failed(applyAutoPad(im, node, xt, wt.getShape().drop_front(2), *window)))
    return failure();
  SmallVector<int64_t> strides = window->strides, dilations = window->dilations,
                       pads = window->pads;
  // A 1-D convolution is a 2-D one over a height of 1.
  RankedTensorType resultType = *type;
  if (spatial == 1) {
    auto unsqueeze = [&](Value v) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape.insert(shape.begin() + 2, 1);
      return im.builder.create<ExpandDimsOp>(
          im.currentLoc, RankedTensorType::get(shape, t.getElementType()), v,
          im.builder.getDenseI64ArrayAttr({2}), false, nullptr);
    };
    x = unsqueeze(x);
    w = unsqueeze(w);
    xt = cast<RankedTensorType>(x.getType());
    wt = cast<RankedTensorType>(w.getType());
    strides.insert(strides.begin(), 1);
    dilations.insert(dilations.begin(), 1);
    if (pads.size() == 2)
      pads = {0, pads[0], 0, pads[1]};
    SmallVector<int64_t> shape(type->getShape());
    shape.insert(shape.begin() + 2, 1);
    resultType = RankedTensorType::get(shape, type->getElementType());
  }
  Value y = im.builder.create<Conv2dOp>(
      im.currentLoc, resultType, x, w, im.input(node, 2),
      im.builder.getDenseI64ArrayAttr(strides),
      im.builder.getDenseI64ArrayAttr(pads),
      im.builder.getDenseI64ArrayAttr(dilations),
      im.builder.getI64IntegerAttr(im.intAttribute(node, "group", 1)), nullptr);
  if (spatial == 1)
    y = im.builder.create<ExpandDimsOp>(im.currentLoc, *type, y,
                                        im.builder.getDenseI64ArrayAttr({2}),
                                        true, nullptr);
  im.setOutput(node, 0, y);
  return success();
}

/// ConvTranspose over any number of spatial axes. The output extents are
/// ONNX's inference (output_padding, output_shape); explicit pads, or pads
/// from auto_pad or output_shape for static extents.
LogicalResult importConvTranspose(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0), w = im.input(node, 1);
  auto xt = cast<RankedTensorType>(x.getType());
  auto wt = cast<RankedTensorType>(w.getType());
  int64_t k = xt.getRank() - 2;
  if (k < 1 || wt.getRank() != xt.getRank() || !wt.hasStaticShape()) {
    im.nodeError() << "the weight must be static and of the input's rank, "
                      "got input "
                   << xt << " and weight " << wt;
    return failure();
  }
  FailureOr<WindowAttributes> window = windowAttributes(im, node, k);
  if (failed(window))
    return failure();
  SmallVector<int64_t> strides = window->strides, dilations = window->dilations,
                       pads = window->pads;
  SmallVector<int64_t> outputPadding =
      im.intsAttribute(node, "output_padding", SmallVector<int64_t>(k, 0));
  SmallVector<int64_t> outputShape = im.intsAttribute(node, "output_shape");
  if (static_cast<int64_t>(outputPadding.size()) != k) {
    im.nodeError() << "attribute 'output_padding' must have " << k
                   << " entries";
    return failure();
  }
  std::string autoPad = im.stringAttribute(node, "auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER") {
    im.nodeError() << "attribute 'auto_pad' = '" << autoPad
                   << "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER";
    return failure();
  }
  if (autoPad == "VALID")
    pads.assign(2 * k, 0);
  // The padding that gives the output extents asked for (ONNX's rule: the
  // larger half at the end for SAME_UPPER, at the start otherwise).
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (same || !outputShape.empty()) {
    for (int64_t d = 0; d < k; ++d) {
      int64_t in = xt.getDimSize(2 + d);
      if (ShapedType::isDynamic(in)) {
        im.nodeError() << "auto_pad or output_shape needs static spatial "
                          "extents, got "
                       << xt;
        return failure();
      }
      int64_t want = outputShape.empty()
                         ? in * strides[d]
                         : outputShape[outputShape.size() - k + d];
      int64_t total = strides[d] * (in - 1) + outputPadding[d] +
                      (wt.getDimSize(2 + d) - 1) * dilations[d] + 1 - want;
      total = std::max<int64_t>(total, 0);
      bool upper = autoPad == "SAME_UPPER";
      pads[d] = upper ? total / 2 : total - total / 2;
      pads[k + d] = total - pads[d];
    }
  }
  OpBuilder &b = im.builder;
  im.setOutput(
      node, 0,
      b.create<ConvTransposeOp>(
          im.currentLoc, *type, x, w, im.input(node, 2),
          b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(pads),
          b.getDenseI64ArrayAttr(dilations),
          b.getI64IntegerAttr(im.intAttribute(node, "group", 1)), nullptr));
  return success();
}

LogicalResult importEinsum(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  std::string equation;
  for (char c : im.stringAttribute(node, "equation", ""))
    if (c != ' ')
      equation += c;
  auto arrow = equation.find("->");
  std::string lhs = equation.substr(0, arrow);
  SmallVector<std::string> terms;
  SmallVector<StringRef> pieces;
  StringRef(lhs).split(pieces, ',');
  for (StringRef t : pieces)
    terms.push_back(t.str());
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i)
    inputs.push_back(im.input(node, i));
  if (terms.size() != inputs.size()) {
    im.nodeError() << "equation '" << equation << "' has " << terms.size()
                   << " terms for " << inputs.size() << " inputs";
    return failure();
  }
  // Expand "..." into letters no term uses.
  std::string unused;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (equation.find(c) == std::string::npos)
      unused += c;
  int64_t ellipsisRank = 0;
  for (auto [t, v] : llvm::zip(terms, inputs)) {
    auto pos = t.find("...");
    if (pos == std::string::npos)
      continue;
    int64_t r = cast<RankedTensorType>(v.getType()).getRank() -
                static_cast<int64_t>(t.size() - 3);
    ellipsisRank = std::max(ellipsisRank, r);
  }
  auto expand = [&](std::string t, int64_t rank) {
    auto pos = t.find("...");
    if (pos == std::string::npos)
      return t;
    int64_t r = rank - static_cast<int64_t>(t.size() - 3);
    return t.substr(0, pos) + unused.substr(ellipsisRank - r, r) +
           t.substr(pos + 3);
  };
  std::string newLhs;
  std::map<char, int> counts;
  for (auto [i, tv] : llvm::enumerate(llvm::zip(terms, inputs))) {
    auto &[t, v] = tv;
    std::string e = expand(t, cast<RankedTensorType>(v.getType()).getRank());
    newLhs += (i ? "," : "") + e;
    for (char c : e)
      ++counts[c];
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = expand(equation.substr(arrow + 2), type->getRank());
  } else {
    // Implicit form: the ellipsis, then letters seen once, alphabetically.
    out = unused.substr(0, ellipsisRank);
    for (auto &[c, n] : counts)
      if (n == 1 && std::islower(static_cast<unsigned char>(c)))
        out += c;
  }
  im.setOutput(node, 0,
               im.builder.create<EinsumOp>(
                   im.currentLoc, *type, inputs,
                   im.builder.getStringAttr(newLhs + "->" + out), nullptr));
  return success();
}

} // namespace

void mlir::attn::onnx_import::addContractionHandlers(HandlerTable &table) {
  table.add("", "MatMul", 1, importMatMul);
  table.add("", "Gemm", 7, importGemm);
  table.add("", "Conv", 1, importConv);
  table.add("", "ConvTranspose", 1, importConvTranspose);
  table.add("", "Einsum", 12, importEinsum);
}
