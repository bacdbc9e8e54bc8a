//===- AttnOps.cpp - attn dialect operations -------------------*- C++ -*-===//
//
// Verifiers, folders and canonicalization patterns of the attn ops. Verifier
// messages name the operand and both shapes, because the shapes usually come
// straight from a user's ONNX model.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/ConstantData.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Two extents can describe the same axis.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Prints a shape as `[2, ?, 64]` for diagnostics.
std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << '?';
    else
      os << d;
  });
  os << ']';
  return os.str();
}

std::string shapeString(Type type) {
  return shapeString(cast<RankedTensorType>(type).getShape());
}

/// Largest constant that the folders evaluate at compile time.
constexpr int64_t kMaxFoldedElements = 1 << 16;

/// Folds an elementwise binary op whose operands are both constant and need
/// no broadcasting beyond splats.
OpFoldResult foldBinaryConstants(Attribute lhsAttr, Attribute rhsAttr,
                                 RankedTensorType resultType,
                                 function_ref<double(double, double)> fpFn,
                                 function_ref<APInt(APInt, APInt)> intFn) {
  auto lhs = dyn_cast_or_null<DenseElementsAttr>(lhsAttr);
  auto rhs = dyn_cast_or_null<DenseElementsAttr>(rhsAttr);
  if (!lhs || !rhs || !resultType.hasStaticShape() ||
      resultType.getNumElements() > kMaxFoldedElements)
    return {};
  auto usable = [&](DenseElementsAttr a) {
    return a.isSplat() || a.getType().getShape() == resultType.getShape();
  };
  if (!usable(lhs) || !usable(rhs))
    return {};
  int64_t n = resultType.getNumElements();
  Type elementType = resultType.getElementType();
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    if (!fpFn)
      return {};
    SmallVector<APFloat> values;
    values.reserve(n);
    auto l = lhs.getValues<APFloat>();
    auto r = rhs.getValues<APFloat>();
    for (int64_t i = 0; i < n; ++i) {
      APFloat a = lhs.isSplat() ? l[0] : l[i];
      APFloat b = rhs.isSplat() ? r[0] : r[i];
      bool lost;
      a.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      b.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      APFloat c(fpFn(a.convertToDouble(), b.convertToDouble()));
      c.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                &lost);
      values.push_back(c);
    }
    return DenseElementsAttr::get(resultType, values);
  }
  if (isa<IntegerType>(elementType) && intFn) {
    SmallVector<APInt> values;
    values.reserve(n);
    auto l = lhs.getValues<APInt>();
    auto r = rhs.getValues<APInt>();
    for (int64_t i = 0; i < n; ++i) {
      APInt a = lhs.isSplat() ? l[0] : l[i];
      APInt b = rhs.isSplat() ? r[0] : r[i];
      values.push_back(intFn(a, b));
    }
    return DenseElementsAttr::get(resultType, values);
  }
  return {};
}

/// Returns true when `attr` is a splat equal to `value`.
bool isSplatOf(Attribute attr, double value) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  if (isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().convertToDouble() == value;
  if (isa<IntegerType>(dense.getElementType()))
    return dense.getSplatValue<APInt>().getSExtValue() == value;
  return false;
}

/// Shared verifier of the elementwise binary ops.
enum class BinaryTypes {
  /// Operands and result share one element type.
  Same,
  /// Operands share one element type; the result is i1 (comparisons).
  Compare,
  /// The result has the left operand's type (Pow).
  Lhs,
};

LogicalResult verifyBinary(Operation *op,
                           BinaryTypes types = BinaryTypes::Same) {
  auto lhs = cast<RankedTensorType>(op->getOperand(0).getType());
  auto rhs = cast<RankedTensorType>(op->getOperand(1).getType());
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  bool typesOk = false;
  switch (types) {
  case BinaryTypes::Same:
    typesOk = lhs.getElementType() == rhs.getElementType() &&
              lhs.getElementType() == out.getElementType();
    break;
  case BinaryTypes::Compare:
    typesOk = lhs.getElementType() == rhs.getElementType() &&
              out.getElementType().isInteger(1);
    break;
  case BinaryTypes::Lhs:
    typesOk = lhs.getElementType() == out.getElementType();
    break;
  }
  if (!typesOk)
    return op->emitOpError("expects operands and result of one element type, "
                           "got ")
           << lhs.getElementType() << ", " << rhs.getElementType() << " -> "
           << out.getElementType();
  int64_t badAxis = 0;
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(lhs.getShape(), rhs.getShape(), &badAxis);
  if (failed(shape))
    return op->emitOpError("cannot broadcast operand shapes ")
           << shapeString(lhs) << " and " << shapeString(rhs) << " (axis -"
           << badAxis + 1 << ")";
  if (out.getRank() != static_cast<int64_t>(shape->size()))
    return op->emitOpError("expects result rank ")
           << shape->size() << " (the broadcast of " << shapeString(lhs)
           << " and " << shapeString(rhs) << "), got " << out.getRank();
  for (auto [i, d] : llvm::enumerate(*shape))
    if (!compatible(d, out.getDimSize(i)))
      return op->emitOpError("expects result shape ")
             << shapeString(*shape) << ", got " << shapeString(out);
  return success();
}

} // namespace

namespace mlir::attn {

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                ArrayRef<int64_t> rhs,
                                                int64_t *badAxis) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < lhs.size() ? lhs[lhs.size() - 1 - i] : 1;
    int64_t b = i < rhs.size() ? rhs[rhs.size() - 1 - i] : 1;
    int64_t r;
    if (a == 1)
      r = b;
    else if (b == 1)
      r = a;
    else if (ShapedType::isDynamic(a))
      r = b;
    else if (ShapedType::isDynamic(b) || a == b)
      r = a;
    else {
      if (badAxis)
        *badAxis = i;
      return failure();
    }
    result[rank - 1 - i] = r;
  }
  return result;
}

} // namespace mlir::attn

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Elementwise binary ops
//===----------------------------------------------------------------------===//

LogicalResult AddOp::verify() { return verifyBinary(*this); }
LogicalResult SubOp::verify() { return verifyBinary(*this); }
LogicalResult MulOp::verify() { return verifyBinary(*this); }
LogicalResult DivOp::verify() { return verifyBinary(*this); }
LogicalResult PowOp::verify() { return verifyBinary(*this, BinaryTypes::Lhs); }
LogicalResult ModOp::verify() { return verifyBinary(*this); }
LogicalResult MaxOp::verify() { return verifyBinary(*this); }
LogicalResult MinOp::verify() { return verifyBinary(*this); }
LogicalResult AndOp::verify() { return verifyBinary(*this); }
LogicalResult OrOp::verify() { return verifyBinary(*this); }
LogicalResult EqualOp::verify() {
  return verifyBinary(*this, BinaryTypes::Compare);
}
LogicalResult LessOp::verify() {
  return verifyBinary(*this, BinaryTypes::Compare);
}
LogicalResult GreaterOp::verify() {
  return verifyBinary(*this, BinaryTypes::Compare);
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0.0) && getLhs().getType() == getType())
    return getLhs();
  return foldBinaryConstants(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](double a, double b) { return a + b; },
      [](APInt a, APInt b) { return a + b; });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0.0) && getLhs().getType() == getType())
    return getLhs();
  return foldBinaryConstants(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](double a, double b) { return a - b; },
      [](APInt a, APInt b) { return a - b; });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1.0) && getLhs().getType() == getType())
    return getLhs();
  return foldBinaryConstants(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](double a, double b) { return a * b; },
      [](APInt a, APInt b) { return a * b; });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1.0) && getLhs().getType() == getType())
    return getLhs();
  // Integer division by zero is never folded: it is left for run time (the
  // Halide backend gives 0).
  bool isUnsigned = getType().getElementType().isUnsignedInteger();
  return foldBinaryConstants(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](double a, double b) { return a / b; },
      [isUnsigned](APInt a, APInt b) -> APInt {
        if (b.isZero())
          return APInt(a.getBitWidth(), 0);
        return isUnsigned ? a.udiv(b) : a.sdiv(b);
      });
}

OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  // Float bases with float exponents of the same type (x ** 0.5 of an
  // extent, as exporters write the attention scale).
  auto lhs = dyn_cast_or_null<DenseElementsAttr>(adaptor.getLhs());
  auto rhs = dyn_cast_or_null<DenseElementsAttr>(adaptor.getRhs());
  if (!lhs || !rhs || !isa<FloatType>(lhs.getElementType()) ||
      lhs.getElementType() != rhs.getElementType())
    return {};
  return foldBinaryConstants(
      lhs, rhs, getType(), [](double a, double b) { return std::pow(a, b); },
      nullptr);
}

//===----------------------------------------------------------------------===//
// SqrtOp, CastOp
//===----------------------------------------------------------------------===//

OpFoldResult SqrtOp::fold(FoldAdaptor adaptor) {
  auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (!input || input.getNumElements() > kMaxFoldedElements)
    return {};
  auto floatType = cast<FloatType>(getType().getElementType());
  return input.mapValues(floatType, [&](const APFloat &value) {
    APFloat x = value;
    bool lost;
    x.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    APFloat r(std::sqrt(x.convertToDouble()));
    r.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
              &lost);
    return r.bitcastToAPInt();
  });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (!input || input.getNumElements() > kMaxFoldedElements)
    return {};
  Type element = getType().getElementType();
  if (auto intType = dyn_cast<IntegerType>(element)) {
    if (intType.getWidth() == 1 || intType.isUnsigned())
      return {};
    return input.mapValues(element, [](const APInt &v) { return -v; });
  }
  if (auto floatType = dyn_cast<FloatType>(element))
    return input.mapValues(element, [](const APFloat &v) {
      APFloat r = v;
      r.changeSign();
      return r.bitcastToAPInt();
    });
  return {};
}

/// A range of integer constants with a static result: its values.
OpFoldResult RangeOp::fold(FoldAdaptor adaptor) {
  auto type = getType();
  auto element = dyn_cast<IntegerType>(type.getElementType());
  if (!element || !type.hasStaticShape() || type.getRank() != 1 ||
      type.getNumElements() > kMaxFoldedElements)
    return {};
  auto scalar = [](Attribute a) -> std::optional<int64_t> {
    auto dense = dyn_cast_or_null<DenseIntElementsAttr>(a);
    if (!dense || dense.getNumElements() != 1)
      return std::nullopt;
    return (*dense.getValues<APInt>().begin()).getSExtValue();
  };
  std::optional<int64_t> start = scalar(adaptor.getStart()),
                         limit = scalar(adaptor.getLimit()),
                         delta = scalar(adaptor.getDelta());
  if (!start || !limit || !delta || *delta == 0)
    return {};
  int64_t count = std::max<int64_t>(
      0, (*limit - *start + *delta + (*delta > 0 ? -1 : 1)) / *delta);
  if (count != type.getNumElements())
    return {};
  SmallVector<APInt> values;
  for (int64_t i = 0; i < count; ++i)
    values.push_back(APInt(element.getWidth(), *start + i * *delta, true));
  return DenseElementsAttr::get(type, values);
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (!input || input.getNumElements() > kMaxFoldedElements)
    return {};
  Type from = input.getElementType();
  Type to = getType().getElementType();
  auto toDouble = [&](int64_t i) -> double {
    if (isa<FloatType>(from)) {
      APFloat v = input.getValues<APFloat>()[i];
      bool lost;
      v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      return v.convertToDouble();
    }
    APInt v = input.getValues<APInt>()[i];
    return from.isUnsignedInteger() || from.isInteger(1)
               ? static_cast<double>(v.getZExtValue())
               : static_cast<double>(v.getSExtValue());
  };
  int64_t n = input.isSplat() ? 1 : input.getNumElements();
  if (auto floatType = dyn_cast<FloatType>(to)) {
    SmallVector<APFloat> values;
    for (int64_t i = 0; i < n; ++i) {
      APFloat v(toDouble(i));
      bool lost;
      v.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                &lost);
      values.push_back(v);
    }
    if (input.isSplat())
      return SplatElementsAttr::get(getType(), values.front());
    return DenseElementsAttr::get(getType(), values);
  }
  if (auto intType = dyn_cast<IntegerType>(to)) {
    SmallVector<APInt> values;
    for (int64_t i = 0; i < n; ++i) {
      if (isa<IntegerType>(from) && intType.getWidth() != 1) {
        // Integer to integer: wraps modulo 2^width, exactly.
        APInt v = input.getValues<APInt>()[i];
        values.push_back(from.isUnsignedInteger() || from.isInteger(1)
                             ? v.zextOrTrunc(intType.getWidth())
                             : v.sextOrTrunc(intType.getWidth()));
        continue;
      }
      double v = toDouble(i);
      if (intType.getWidth() == 1)
        values.push_back(APInt(1, v != 0.0));
      else if (intType.isUnsigned() && v >= 0x1p63)
        values.push_back(APInt(64, static_cast<uint64_t>(std::trunc(v)))
                             .zextOrTrunc(intType.getWidth()));
      else
        values.push_back(APInt(64, static_cast<int64_t>(std::trunc(v)),
                               /*isSigned=*/true)
                             .zextOrTrunc(intType.getWidth()));
    }
    if (input.isSplat())
      return SplatElementsAttr::get(getType(), values.front());
    return DenseElementsAttr::get(getType(), values);
  }
  return {};
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult FromPanelsOp::verify() {
  auto in = getPanels().getType();
  auto out = getOutput().getType();
  if (out.getRank() != 2 || !out.hasStaticShape() || !in.hasStaticShape())
    return emitOpError("expects static panels and a static [K, N] result, "
                       "got ")
           << in << " and " << out;
  int64_t k = out.getDimSize(0), n = out.getDimSize(1);
  if (in.getRank() == 3) {
    int64_t width = in.getDimSize(2);
    if (width < 1 || in.getDimSize(0) != llvm::divideCeil(n, width) ||
        in.getDimSize(1) != k || in.getElementType() != out.getElementType())
      return emitOpError("expects panels [ceil(N / W), K, W] of the result's "
                         "element type for a [")
             << k << ", " << n << "] result, got " << in;
    return success();
  }
  if (in.getRank() == 4 && in.getElementType().isInteger(8)) {
    int64_t width = in.getDimSize(2);
    if (width < 1 || in.getDimSize(0) != llvm::divideCeil(n, width) ||
        in.getDimSize(1) != llvm::divideCeil(k, 4) + 1 ||
        in.getDimSize(3) != 4 || !in.getElementType().isSignlessInteger(8) ||
        !out.getElementType().isInteger(8))
      return emitOpError("expects i8 panels [ceil(N / W), ceil(K / 4) + 1, W, "
                         "4] for an 8-bit [")
             << k << ", " << n << "] result, got " << in;
    return success();
  }
  if (in.getRank() == 4) {
    int64_t width = in.getDimSize(2);
    if (width < 1 || in.getDimSize(0) != llvm::divideCeil(n, width) ||
        in.getDimSize(1) != llvm::divideCeil(k, 2) || in.getDimSize(3) != 2 ||
        !in.getElementType().isBF16() || !isa<FloatType>(out.getElementType()))
      return emitOpError("expects bfloat16 panels [ceil(N / W), ceil(K / 2), "
                         "W, 2] for a floating-point [")
             << k << ", " << n << "] result, got " << in;
    return success();
  }
  return emitOpError("expects panels of rank 3 or 4, got ") << in;
}

LogicalResult TransposeOp::verify() {
  auto input = getInput().getType();
  auto output = getType();
  ArrayRef<int64_t> perm = getPerm();
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return emitOpError("expects a permutation of ")
           << input.getRank() << " axes, got " << perm.size();
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen[p])
      return emitOpError("expects perm to be a permutation of [0, ")
             << input.getRank() << "), got " << shapeString(perm);
    seen[p] = true;
  }
  if (output.getRank() != input.getRank() ||
      output.getElementType() != input.getElementType())
    return emitOpError("expects result rank and element type of the input");
  for (auto [i, p] : llvm::enumerate(perm))
    if (!compatible(output.getDimSize(i), input.getDimSize(p)))
      return emitOpError("expects result shape ")
             << "with axis " << i << " = input axis " << p << " ("
             << shapeString(input) << " permuted by " << shapeString(perm)
             << "), got " << shapeString(output);
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = llvm::all_of(llvm::enumerate(perm), [](auto it) {
    return static_cast<int64_t>(it.index()) == it.value();
  });
  if (identity && getInput().getType() == getType())
    return getInput();
  // A splat is the same after any permutation.
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput()))
    if (getType().hasStaticShape())
      return SplatElementsAttr::get(getType(),
                                    splat.getSplatValue<Attribute>());
  // A constant is permuted here: exports that keep the parameters as they
  // are (no constant folding, dynamo) transpose every linear layer's weight
  // in the graph, which the weight layout passes must see as a constant.
  std::optional<ConstantBytes> bytes =
      constantBytes(adaptor.getInput(), getInput().getType());
  if (!bytes || bytes->splat || !getType().hasStaticShape() ||
      getType().getNumElements() > (int64_t(1) << 28))
    return {};
  int64_t size = bytes->elementBytes;
  ArrayRef<int64_t> in = getInput().getType().getShape(),
                    out = getType().getShape();
  int64_t rank = static_cast<int64_t>(in.size());
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t k = rank - 2; k >= 0; --k)
    inStrides[k] = inStrides[k + 1] * in[k + 1];
  std::vector<char> permuted(bytes->raw.size());
  SmallVector<int64_t> index(rank, 0);
  for (int64_t n = 0, total = getType().getNumElements(); n < total; ++n) {
    int64_t from = 0;
    for (int64_t k = 0; k < rank; ++k)
      from += index[k] * inStrides[perm[k]];
    std::memcpy(permuted.data() + n * size, bytes->at(from), size);
    for (int64_t k = rank - 1; k >= 0 && ++index[k] == out[k]; --k)
      index[k] = 0;
  }
  return makeElements(getType(), std::move(permuted), "attn_weight_t");
}

namespace {
/// transpose(transpose(x, p1), p2) -> transpose(x, p1 ∘ p2).
struct ComposeTransposes : public OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<TransposeOp>();
    if (!producer)
      return rewriter.notifyMatchFailure(op, "input is not a transpose");
    ArrayRef<int64_t> inner = producer.getPerm();
    SmallVector<int64_t> composed;
    for (int64_t p : op.getPerm())
      composed.push_back(inner[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(
        op, op.getType(), producer.getInput(),
        rewriter.getDenseI64ArrayAttr(composed), op.getScheduleAttr());
    return success();
  }
};
} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<ComposeTransposes>(context);
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto input = getInput().getType();
  auto output = getType();
  ArrayRef<int64_t> shape = getShape();
  if (static_cast<int64_t>(shape.size()) != output.getRank())
    return emitOpError("expects shape ")
           << shapeString(shape) << " to have the result's rank "
           << output.getRank();
  if (input.getElementType() != output.getElementType())
    return emitOpError("expects the input's element type ")
           << input.getElementType() << ", got " << output.getElementType();
  int inferred = 0;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d < -1)
      return emitOpError("expects shape entries >= -1, got ")
             << shapeString(shape);
    if (d == -1)
      ++inferred;
    if (d == 0 && static_cast<int64_t>(i) >= input.getRank())
      return emitOpError("copies axis ")
             << i << " (shape entry 0) but the input has rank "
             << input.getRank();
    if (d > 0 && !compatible(d, output.getDimSize(i)))
      return emitOpError("expects result axis ")
             << i << " to be " << d << ", got " << shapeString(output);
    if (d == 0 && !compatible(input.getDimSize(i), output.getDimSize(i)))
      return emitOpError("expects result axis ")
             << i << " to copy the input's extent, got " << shapeString(input)
             << " -> " << shapeString(output);
  }
  if (inferred > 1)
    return emitOpError("expects at most one -1 in shape, got ")
           << shapeString(shape);
  if (input.hasStaticShape() && output.hasStaticShape() &&
      input.getNumElements() != output.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeString(input) << " (" << input.getNumElements()
           << " elements) to " << shapeString(output) << " ("
           << output.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      (getType().hasStaticShape() ||
       llvm::all_of(getShape(), [](int64_t e) { return e == 0; })))
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (getType().hasStaticShape())
      return dense.reshape(getType());
  return {};
}

//===----------------------------------------------------------------------===//
// MatMulOp
//===----------------------------------------------------------------------===//

namespace {
/// The shape rules of a batched matrix product `lhs · rhs` giving `out`.
/// Shapes of a matrix product; with `oneType`, the operands and the result
/// have one element type (else the caller checks the types).
LogicalResult verifyProduct(Operation *op, RankedTensorType lhs,
                            RankedTensorType rhs, RankedTensorType out,
                            bool oneType = true) {
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return op->emitOpError("expects operands of rank 2 or more, got ")
           << shapeString(lhs) << " and " << shapeString(rhs);
  if (oneType && (lhs.getElementType() != rhs.getElementType() ||
                  lhs.getElementType() != out.getElementType()))
    return op->emitOpError("expects one element type, got ")
           << lhs.getElementType() << " and " << rhs.getElementType();
  int64_t k1 = lhs.getDimSize(lhs.getRank() - 1);
  int64_t k2 = rhs.getDimSize(rhs.getRank() - 2);
  if (!compatible(k1, k2))
    return op->emitOpError("expects the contracted extents to agree, got ")
           << shapeString(lhs) << " × " << shapeString(rhs);
  int64_t badAxis = 0;
  FailureOr<SmallVector<int64_t>> batch = broadcastShapes(
      lhs.getShape().drop_back(2), rhs.getShape().drop_back(2), &badAxis);
  if (failed(batch))
    return op->emitOpError("cannot broadcast batch axes of ")
           << shapeString(lhs) << " and " << shapeString(rhs);
  SmallVector<int64_t> expected = *batch;
  expected.push_back(lhs.getDimSize(lhs.getRank() - 2));
  expected.push_back(rhs.getDimSize(rhs.getRank() - 1));
  if (out.getRank() != static_cast<int64_t>(expected.size()) ||
      !llvm::all_of(llvm::zip(expected, out.getShape()), [](auto pair) {
        return compatible(std::get<0>(pair), std::get<1>(pair));
      }))
    return op->emitOpError("expects result shape ")
           << shapeString(expected) << ", got " << shapeString(out);
  return success();
}
} // namespace

LogicalResult MatMulOp::verify() {
  return verifyProduct(*this, getLhs().getType(), getRhs().getType(),
                       getType());
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

namespace {
/// True for i8 and u8 (signless 8-bit integers count as signed).
bool isByte(Type t) { return t.isInteger(8); }

/// A zero point or scale: a scalar (or [1]), or [n] when `perAxis` allows.
bool scalarOrVector(RankedTensorType t, int64_t n, bool perAxis) {
  if (t.getNumElements() == 1 && t.getRank() <= 1)
    return true;
  return perAxis && t.getRank() == 1 && compatible(t.getDimSize(0), n);
}

/// The 8-bit product's operands of attn.matmul_integer and a quantized
/// attn.linear.
LogicalResult verifyIntegerProduct(Operation *op, RankedTensorType lhs,
                                   RankedTensorType rhs, Type lhsZero,
                                   Type rhsZero) {
  if (!isByte(lhs.getElementType()) || !isByte(rhs.getElementType()))
    return op->emitOpError("expects u8 or i8 operands, got ")
           << lhs.getElementType() << " and " << rhs.getElementType();
  auto lz = dyn_cast<RankedTensorType>(lhsZero);
  auto rz = dyn_cast<RankedTensorType>(rhsZero);
  if (!lz || !rz || lz.getElementType() != lhs.getElementType() ||
      rz.getElementType() != rhs.getElementType())
    return op->emitOpError("expects zero points of the operands' element "
                           "types, got ")
           << lhsZero << " and " << rhsZero;
  int64_t m = lhs.getDimSize(lhs.getRank() - 2);
  int64_t n = rhs.getDimSize(rhs.getRank() - 1);
  if (!scalarOrVector(lz, m, isa<MatMulIntegerOp>(op)) ||
      !scalarOrVector(rz, n, true))
    return op->emitOpError("expects a scalar or per-row left zero point and "
                           "a scalar or per-column right zero point, got ")
           << lz << " and " << rz;
  return success();
}
} // namespace

LogicalResult MatMulIntegerOp::verify() {
  auto lhs = getLhs().getType(), rhs = getRhs().getType();
  if (failed(verifyProduct(*this, lhs, rhs, getType(), /*oneType=*/false)))
    return failure();
  if (!getType().getElementType().isInteger(32))
    return emitOpError("expects an i32 result, got ") << getType();
  return verifyIntegerProduct(*this, lhs, rhs, getLhsZeroPoint().getType(),
                              getRhsZeroPoint().getType());
}

namespace {
/// One rank, and extents that agree where both are static.
bool sameShape(RankedTensorType a, RankedTensorType b) {
  return a.getRank() == b.getRank() &&
         llvm::all_of(llvm::zip(a.getShape(), b.getShape()), [](auto pair) {
           return compatible(std::get<0>(pair), std::get<1>(pair));
         });
}

/// Scale and zero point of attn.quantize / attn.dequantize.
LogicalResult verifyQuantizationParams(Operation *op, RankedTensorType x,
                                       RankedTensorType scale,
                                       RankedTensorType zero, Type integer,
                                       int64_t axis, int64_t blockSize) {
  int64_t rank = x.getRank();
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return op->emitOpError("expects axis in [")
           << -rank << ", " << rank << "), got " << axis;
  if (zero.getElementType() != integer)
    return op->emitOpError("expects a zero point of ")
           << integer << ", got " << zero.getElementType();
  if (blockSize < 0)
    return op->emitOpError("expects a block size of 0 (none) or more, got ")
           << blockSize;
  if (blockSize > 0) {
    int64_t a = axis < 0 ? axis + rank : axis;
    bool ok = rank > 0 && scale.getRank() == rank &&
              zero.getShape() == scale.getShape();
    for (int64_t k = 0; ok && k < rank; ++k) {
      int64_t d = x.getDimSize(k);
      int64_t want = k != a || ShapedType::isDynamic(d)
                         ? d
                         : llvm::divideCeil(d, blockSize);
      ok = compatible(want, scale.getDimSize(k));
    }
    if (!ok)
      return op->emitOpError("expects blocked scales and zero points of the "
                             "input's shape with ceil(extent / ")
             << blockSize << ") entries along axis " << axis << ", got "
             << scale << " and " << zero;
    return success();
  }
  int64_t extent = rank ? x.getDimSize(axis < 0 ? axis + rank : axis) : 1;
  if (!scalarOrVector(scale, extent, true) ||
      !scalarOrVector(zero, extent, true) ||
      scale.getNumElements() != zero.getNumElements())
    return op->emitOpError("expects a scale and a zero point that are both "
                           "scalars or both 1-D along axis ")
           << axis << " (extent " << extent << "), got " << scale << " and "
           << zero;
  return success();
}
} // namespace

LogicalResult QuantizeOp::verify() {
  Type t = getType().getElementType();
  if (!t.isInteger(8) && !t.isInteger(16))
    return emitOpError("expects an 8- or 16-bit integer result, got ") << t;
  if (!sameShape(getType(), getInput().getType()))
    return emitOpError("expects a result of the input's shape");
  return verifyQuantizationParams(
      *this, getInput().getType(), getScale().getType(),
      getZeroPoint().getType(), t, getAxis(), getBlockSize());
}

LogicalResult DequantizeOp::verify() {
  Type t = getInput().getType().getElementType();
  if (!t.isInteger(8) && !t.isInteger(16) && !t.isInteger(32))
    return emitOpError("expects an 8-, 16- or 32-bit integer input, got ") << t;
  if (!sameShape(getType(), getInput().getType()))
    return emitOpError("expects a result of the input's shape");
  return verifyQuantizationParams(
      *this, getInput().getType(), getScale().getType(),
      getZeroPoint().getType(), t, getAxis(), getBlockSize());
}

LogicalResult LinearOp::verify() {
  auto out = getType();
  if (isQuantized()) {
    auto lhs = getLhs().getType(), rhs = getRhs().getType();
    if (getQuantization().size() != 3)
      return emitOpError("expects quantized operands scale, lhs zero point "
                         "and rhs zero point, got ")
             << getQuantization().size();
    if (failed(verifyProduct(*this, lhs, rhs, out, /*oneType=*/false)) ||
        failed(verifyIntegerProduct(*this, lhs, rhs,
                                    getLhsZeroPoint().getType(),
                                    getRhsZeroPoint().getType())))
      return failure();
    if (rhs.getRank() != 2)
      return emitOpError("expects a [K, N] right operand when quantized, got ")
             << rhs;
    auto scale = cast<RankedTensorType>(getProductScale().getType());
    if (!scale.getElementType().isF32() ||
        !scalarOrVector(scale, rhs.getDimSize(1), true) ||
        !out.getElementType().isF32())
      return emitOpError("expects a float32 scale (scalar or per column) and "
                         "result when quantized, got ")
             << scale << " and " << out;
  } else if (failed(verifyProduct(*this, getLhs().getType(), getRhs().getType(),
                                  out))) {
    return failure();
  }
  if (!llvm::is_contained({"none", "relu", "gelu", "gelu_tanh", "gelu_sigmoid",
                           "silu", "sigmoid", "tanh"},
                          getActivation()))
    return emitOpError("has an unknown activation '")
           << getActivation()
           << "' (expected none, relu, gelu, gelu_tanh, gelu_sigmoid, silu, "
              "sigmoid or tanh)";
  int64_t rank = out.getRank();
  if (Value bias = getBias()) {
    auto b = cast<RankedTensorType>(bias.getType());
    int64_t n = b.getRank() ? b.getDimSize(b.getRank() - 1) : 1;
    bool leadingOnes = llvm::all_of(b.getShape().drop_back(b.getRank() ? 1 : 0),
                                    [](int64_t d) { return d == 1; });
    if (b.getElementType() != out.getElementType() || b.getRank() > rank ||
        !leadingOnes || !(n == 1 || compatible(n, out.getDimSize(rank - 1))))
      return emitOpError("expects a bias along the last axis ([")
             << out.getDimSize(rank - 1) << "] of " << out.getElementType()
             << "), got " << b;
  }
  if (Value residual = getResidual()) {
    auto r = cast<RankedTensorType>(residual.getType());
    int64_t badAxis = 0;
    FailureOr<SmallVector<int64_t>> shape =
        broadcastShapes(r.getShape(), out.getShape(), &badAxis);
    if (r.getElementType() != out.getElementType() || failed(shape) ||
        !llvm::all_of(llvm::zip(*shape, out.getShape()), [](auto pair) {
          return compatible(std::get<0>(pair), std::get<1>(pair));
        }))
      return emitOpError("expects a residual broadcastable to the result ")
             << shapeString(out) << ", got " << r;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxisAttr().getInt();
  if (axis < -rank || axis >= rank)
    return emitOpError("expects axis in [")
           << -rank << ", " << rank << "), got " << axis;
  return success();
}

//===----------------------------------------------------------------------===//
// SdpaOp
//===----------------------------------------------------------------------===//

void SdpaOp::build(OpBuilder &builder, OperationState &state, Type resultType,
                   Value q, Value k, Value v, Value mask, double scale,
                   bool causal, int64_t kvGroup) {
  build(builder, state, resultType, q, k, v, mask,
        builder.getF64FloatAttr(scale),
        causal ? builder.getUnitAttr() : UnitAttr(),
        builder.getI64IntegerAttr(kvGroup), /*softcap=*/FloatAttr(),
        /*zero_masked_rows=*/UnitAttr(),
        /*causal_offset=*/builder.getI64IntegerAttr(0),
        /*schedule=*/ScheduleAttr());
}

double SdpaOp::getEffectiveScale() {
  if (auto scale = getScaleAttr())
    return scale.getValueAsDouble();
  return 1.0 / std::sqrt(static_cast<double>(getQ().getType().getDimSize(3)));
}

LogicalResult SdpaOp::verify() {
  auto q = getQ().getType();
  auto k = getK().getType();
  auto v = getV().getType();
  auto out = getType();
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"q", q},
                            {"k", k},
                            {"v", v},
                            {"result", out}})
    if (type.getRank() != 4)
      return emitOpError("expects ")
             << name << " of rank 4 ([batch, heads, sequence, head size]), got "
             << shapeString(type);
  if (k.getElementType() != q.getElementType() ||
      v.getElementType() != q.getElementType() ||
      out.getElementType() != q.getElementType())
    return emitOpError("expects q, k, v and result of one element type");
  int64_t group = getKvGroupAttr().getInt();
  if (group < 1)
    return emitOpError("expects kv_group >= 1, got ") << group;
  if (!compatible(q.getDimSize(0), k.getDimSize(0)) ||
      !compatible(k.getDimSize(0), v.getDimSize(0)))
    return emitOpError("expects one batch extent, got q ")
           << shapeString(q) << ", k " << shapeString(k) << ", v "
           << shapeString(v);
  if (!compatible(k.getDimSize(1), v.getDimSize(1)))
    return emitOpError("expects k and v to have the same heads, got k ")
           << shapeString(k) << ", v " << shapeString(v);
  int64_t hq = q.getDimSize(1), hkv = k.getDimSize(1);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      hq != hkv * group)
    return emitOpError("expects q heads (") << hq << ") = k/v heads (" << hkv
                                            << ") × kv_group (" << group << ")";
  if (!compatible(q.getDimSize(3), k.getDimSize(3)))
    return emitOpError("expects q and k to have the same head size, got q ")
           << shapeString(q) << ", k " << shapeString(k);
  if (!compatible(k.getDimSize(2), v.getDimSize(2)))
    return emitOpError("expects k and v to have the same sequence length, "
                       "got k ")
           << shapeString(k) << ", v " << shapeString(v);
  SmallVector<int64_t> expected = {q.getDimSize(0), hq, q.getDimSize(2),
                                   v.getDimSize(3)};
  for (auto [e, o] : llvm::zip(expected, out.getShape()))
    if (!compatible(e, o))
      return emitOpError("expects result shape ")
             << shapeString(expected) << ", got " << shapeString(out);
  if (!getScaleAttr() && ShapedType::isDynamic(q.getDimSize(3)))
    return emitOpError("expects an explicit scale when the head size is "
                       "dynamic");
  if (Value mask = getMask()) {
    auto m = cast<RankedTensorType>(mask.getType());
    if (m.getRank() > 4)
      return emitOpError("expects a mask of rank 4 or less, got ")
             << shapeString(m);
    if (!m.getElementType().isInteger(1) &&
        m.getElementType() != q.getElementType())
      return emitOpError("expects a boolean (i1) mask or an additive mask of "
                         "the element type of q, got ")
             << m.getElementType();
    SmallVector<int64_t> scores = {q.getDimSize(0), hq, q.getDimSize(2),
                                   k.getDimSize(2)};
    FailureOr<SmallVector<int64_t>> b = broadcastShapes(m.getShape(), scores);
    if (failed(b) || !llvm::equal(*b, scores, compatible))
      return emitOpError("expects a mask broadcastable to the scores ")
             << shapeString(scores) << ", got " << shapeString(m);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// AdditiveAttentionOp, HardAttentionOp
//===----------------------------------------------------------------------===//

namespace {
/// Checks the operands shared by additive and hard attention: queries
/// [..., Nq, Dq], keys [..., Nk, Dk] with Dq = Dk, values [..., Nk, Dv],
/// an optional mask broadcastable to the scores [..., Nq, Nk], and the
/// output [..., Nq, Dv], all with the same leading axes.
LogicalResult verifyKeyedAttention(Operation *op, RankedTensorType q,
                                   RankedTensorType k, RankedTensorType v,
                                   Value mask, RankedTensorType out) {
  int64_t rank = q.getRank();
  if (rank < 2)
    return op->emitOpError("expects queries of rank 2 or more ([..., "
                           "queries, features]), got ")
           << shapeString(q);
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"keys", k},
                            {"values", v},
                            {"output", out}})
    if (type.getRank() != rank)
      return op->emitOpError("expects ")
             << name << " of the queries' rank " << rank << ", got "
             << shapeString(type);
  if (k.getElementType() != q.getElementType() ||
      v.getElementType() != q.getElementType() ||
      out.getElementType() != q.getElementType())
    return op->emitOpError(
        "expects queries, keys, values and output of one element type");
  for (int64_t d = 0; d < rank - 2; ++d)
    if (!compatible(q.getDimSize(d), k.getDimSize(d)) ||
        !compatible(k.getDimSize(d), v.getDimSize(d)))
      return op->emitOpError("expects one batch shape, got queries ")
             << shapeString(q) << ", keys " << shapeString(k) << ", values "
             << shapeString(v);
  if (!compatible(q.getDimSize(rank - 1), k.getDimSize(rank - 1)))
    return op->emitOpError("expects queries and keys of one feature size, "
                           "got ")
           << shapeString(q) << " and " << shapeString(k);
  if (!compatible(k.getDimSize(rank - 2), v.getDimSize(rank - 2)))
    return op->emitOpError("expects as many keys as values, got keys ")
           << shapeString(k) << ", values " << shapeString(v);
  SmallVector<int64_t> expected(q.getShape());
  expected.back() = v.getDimSize(rank - 1);
  if (!llvm::equal(expected, out.getShape(), compatible))
    return op->emitOpError("expects output shape ")
           << shapeString(expected) << ", got " << shapeString(out);
  if (mask) {
    auto m = cast<RankedTensorType>(mask.getType());
    if (!m.getElementType().isInteger(1) &&
        m.getElementType() != q.getElementType())
      return op->emitOpError("expects a boolean (i1) mask or an additive "
                             "mask of the queries' element type, got ")
             << m.getElementType();
    SmallVector<int64_t> scores(q.getShape());
    scores.back() = k.getDimSize(rank - 2);
    FailureOr<SmallVector<int64_t>> b = broadcastShapes(m.getShape(), scores);
    if (m.getRank() > rank || failed(b) || !llvm::equal(*b, scores, compatible))
      return op->emitOpError("expects a mask broadcastable to the scores ")
             << shapeString(scores) << ", got " << shapeString(m);
  }
  return success();
}
} // namespace

LogicalResult AdditiveAttentionOp::verify() {
  auto q = getQuery().getType(), k = getKeys().getType();
  if (failed(verifyKeyedAttention(*this, q, k, getValues().getType(), getMask(),
                                  getOutput().getType())))
    return failure();
  auto w = getWeight().getType();
  if (w.getRank() != 1 || !compatible(w.getDimSize(0), q.getShape().back()) ||
      w.getElementType() != q.getElementType())
    return emitOpError("expects a weight vector [")
           << q.getShape().back() << "] of the queries' element type, got "
           << shapeString(w);
  SmallVector<int64_t> scores(q.getShape());
  scores.back() = k.getDimSize(k.getRank() - 2);
  auto probs = getProbs().getType();
  if (!llvm::equal(scores, probs.getShape(), compatible) ||
      probs.getElementType() != q.getElementType())
    return emitOpError("expects attention weights ")
           << shapeString(scores) << " of the queries' element type, got "
           << shapeString(probs);
  return success();
}

LogicalResult HardAttentionOp::verify() {
  auto q = getQ().getType();
  if (failed(verifyKeyedAttention(*this, q, getK().getType(),
                                  getValues().getType(), getMask(),
                                  getOutput().getType())))
    return failure();
  ArrayRef<int64_t> expected = q.getShape().drop_back();
  auto indices = getIndices().getType();
  if (!llvm::equal(expected, indices.getShape(), compatible))
    return emitOpError("expects indices ")
           << shapeString(expected) << ", got " << shapeString(indices);
  return success();
}

LogicalResult GraphAttentionOp::verify() {
  auto src = getSource().getType(), dst = getTarget().getType();
  auto v = getValues().getType(), out = getOutput().getType();
  int64_t rank = src.getRank();
  if (rank < 1 || dst.getRank() != rank || v.getRank() != rank + 1 ||
      out.getRank() != rank + 1)
    return emitOpError("expects source [..., N], target [..., M], values "
                       "[..., M, Dv] and output [..., N, Dv], got ")
           << shapeString(src) << ", " << shapeString(dst) << ", "
           << shapeString(v) << " and " << shapeString(out);
  Type element = src.getElementType();
  if (dst.getElementType() != element || v.getElementType() != element ||
      out.getElementType() != element)
    return emitOpError(
        "expects source, target, values and output of one element type");
  for (int64_t d = 0; d + 1 < rank; ++d)
    if (!compatible(src.getDimSize(d), dst.getDimSize(d)) ||
        !compatible(dst.getDimSize(d), v.getDimSize(d)) ||
        !compatible(src.getDimSize(d), out.getDimSize(d)))
      return emitOpError("expects one batch shape, got source ")
             << shapeString(src) << ", target " << shapeString(dst)
             << ", values " << shapeString(v) << ", output "
             << shapeString(out);
  if (!compatible(dst.getDimSize(rank - 1), v.getDimSize(rank - 1)))
    return emitOpError("expects a value row per key node, got target ")
           << shapeString(dst) << " and values " << shapeString(v);
  if (!compatible(src.getDimSize(rank - 1), out.getDimSize(rank - 1)) ||
      !compatible(v.getDimSize(rank), out.getDimSize(rank)))
    return emitOpError("expects output [..., N, Dv] = ")
           << shapeString(src) << " × " << v.getDimSize(rank) << ", got "
           << shapeString(out);
  auto adj = getAdjacency().getType();
  if (!adj.getElementType().isInteger(1))
    return emitOpError("expects an i1 adjacency, got ") << adj.getElementType();
  SmallVector<int64_t> scores(src.getShape());
  scores.push_back(dst.getDimSize(rank - 1));
  FailureOr<SmallVector<int64_t>> b = broadcastShapes(adj.getShape(), scores);
  if (adj.getRank() > rank + 1 || failed(b) ||
      !llvm::equal(*b, scores, compatible))
    return emitOpError("expects an adjacency broadcastable to the scores ")
           << shapeString(scores) << ", got " << shapeString(adj);
  if (getNegativeSlope().convertToDouble() < 0.0 ||
      !std::isfinite(getNegativeSlope().convertToDouble()))
    return emitOpError("expects a finite, non-negative negative_slope, got ")
           << getNegativeSlope().convertToDouble();
  return success();
}

#define GET_OP_CLASSES
#include "attnc/Dialect/Attn/IR/AttnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// GeluOp, ReduceOp
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh" &&
      getApproximate() != "sigmoid")
    return emitOpError("expects approximate = \"none\", \"tanh\" or "
                       "\"sigmoid\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult ReduceOp::verify() {
  StringRef kind = getKind();
  if (!llvm::is_contained({"sum", "mean", "max", "min", "prod"}, kind))
    return emitOpError("expects kind sum, mean, max, min or prod, got '")
           << kind << "'";
  auto input = getInput().getType();
  int64_t rank = input.getRank();
  llvm::SmallBitVector reduced(rank);
  for (int64_t axis : getAxes()) {
    if (axis < 0 || axis >= rank)
      return emitOpError("reduces axis ")
             << axis << " of a rank-" << rank << " input";
    reduced.set(axis);
  }
  SmallVector<int64_t> expected;
  for (int64_t k = 0; k < rank; ++k) {
    if (!reduced[k])
      expected.push_back(input.getDimSize(k));
    else if (getKeepdims())
      expected.push_back(1);
  }
  auto out = getType();
  if (out.getRank() != static_cast<int64_t>(expected.size()) ||
      !llvm::all_of(llvm::zip(expected, out.getShape()), [](auto p) {
        return compatible(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError("expects result shape ")
           << shapeString(expected) << ", got " << shapeString(out);
  return success();
}

//===----------------------------------------------------------------------===//
// ShapeOp
//===----------------------------------------------------------------------===//

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto input = getInput().getType();
  int64_t start = getStart(), end = getEnd();
  if (start < 0 || end > input.getRank() || start > end)
    return {};
  SmallVector<int64_t> dims;
  for (int64_t k = start; k < end; ++k) {
    if (input.isDynamicDim(k))
      return {};
    dims.push_back(input.getDimSize(k));
  }
  if (getType().getNumElements() != static_cast<int64_t>(dims.size()))
    return {};
  return DenseElementsAttr::get(getType(), ArrayRef<int64_t>(dims));
}

//===----------------------------------------------------------------------===//
// ConcatOp, SliceOp, GatherOp
//===----------------------------------------------------------------------===//

LogicalResult PadOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getOutput().getType());
  int64_t rank = in.getRank();
  auto padsType = cast<RankedTensorType>(getPads().getType());
  if (padsType.getRank() != 1 ||
      (!padsType.isDynamicDim(0) && padsType.getDimSize(0) != 2 * rank))
    return emitOpError("has pad amounts ")
           << padsType << " for rank " << rank << "; needs " << 2 * rank;
  if (!llvm::is_contained({"constant", "edge", "reflect", "wrap"}, getMode()))
    return emitOpError("has mode '")
           << getMode() << "'; supported: constant, edge, reflect, wrap";
  if (getValue() && getMode() != "constant")
    return emitOpError("takes a pad value in 'constant' mode only");
  if (Value v = getValue()) {
    auto vt = cast<RankedTensorType>(v.getType());
    if (vt.getElementType() != in.getElementType() ||
        (vt.hasStaticShape() && vt.getNumElements() != 1))
      return emitOpError("needs a one-element pad value of the input's "
                         "element type, got ")
             << vt;
  }
  if (out.getRank() != rank || out.getElementType() != in.getElementType())
    return emitOpError("result ") << out << " does not match input " << in;
  DenseIntElementsAttr amounts;
  if (!matchPattern(getPads(), m_Constant(&amounts)))
    return success();
  SmallVector<int64_t> pads;
  for (const APInt &v : amounts.getValues<APInt>())
    pads.push_back(v.getSExtValue());
  for (int64_t k = 0; k < rank; ++k) {
    if (in.isDynamicDim(k) || out.isDynamicDim(k))
      continue;
    int64_t expected = in.getDimSize(k) + pads[k] + pads[rank + k];
    if (out.getDimSize(k) != expected)
      return emitOpError("result extent ") << out.getDimSize(k) << " on axis "
                                           << k << " should be " << expected;
  }
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("expects at least one input");
  auto out = getType();
  int64_t rank = out.getRank(), axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError("expects a non-negative axis below the rank ")
           << rank << ", got " << axis;
  for (Value input : getInputs()) {
    auto t = cast<RankedTensorType>(input.getType());
    if (t.getRank() != rank || t.getElementType() != out.getElementType())
      return emitOpError("expects inputs of the result's rank and element "
                         "type, got ")
             << t << " for " << out;
    for (int64_t k = 0; k < rank; ++k)
      if (k != axis && !compatible(t.getDimSize(k), out.getDimSize(k)))
        return emitOpError("expects inputs to agree off axis ")
               << axis << ", got " << shapeString(t) << " and "
               << shapeString(out);
  }
  return success();
}

LogicalResult SliceOp::verify() {
  int64_t rank = getInput().getType().getRank();
  if (getAxes().size() != getSteps().size())
    return emitOpError("expects one step per axis");
  for (int64_t axis : getAxes())
    if (axis < 0 || axis >= rank)
      return emitOpError("slices axis ")
             << axis << " of a rank-" << rank << " input";
  for (int64_t step : getSteps())
    if (step == 0)
      return emitOpError("expects non-zero steps");
  auto type = getType();
  if (type.getRank() != rank)
    return emitOpError("expects a result of rank ")
           << rank << ", got " << shapeString(type);
  // Extents that follow from constant bounds must be the result's.
  DenseIntElementsAttr starts, ends;
  if (matchPattern(getStarts(), m_Constant(&starts)) &&
      matchPattern(getEnds(), m_Constant(&ends))) {
    if (starts.getNumElements() != static_cast<int64_t>(getAxes().size()) ||
        ends.getNumElements() != static_cast<int64_t>(getAxes().size()))
      return emitOpError("expects one start and one end per axis");
    SmallVector<int64_t> inferred = inferSliceShape(
        getInput(), getStarts(), getEnds(), getAxes(), getSteps());
    for (int64_t k = 0; k < rank; ++k)
      if (!ShapedType::isDynamic(inferred[k]) && !type.isDynamicDim(k) &&
          inferred[k] != type.getDimSize(k))
        return emitOpError("slices ")
               << shapeString(getInput().getType()) << " to "
               << shapeString(inferred) << ", not " << shapeString(type);
  }
  return success();
}

LogicalResult GatherOp::verify() {
  auto data = getData().getType();
  auto indices = getIndices().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= data.getRank())
    return emitOpError("gathers along axis ")
           << axis << " of a rank-" << data.getRank() << " tensor";
  if (!isa<IntegerType>(indices.getElementType()))
    return emitOpError("expects integer indices, got ")
           << indices.getElementType();
  if (getType().getRank() != data.getRank() - 1 + indices.getRank())
    return emitOpError("expects a result of rank ")
           << data.getRank() - 1 + indices.getRank();
  return success();
}

//===----------------------------------------------------------------------===//
// GatherElementsOp, CumSumOp
//===----------------------------------------------------------------------===//

LogicalResult GatherElementsOp::verify() {
  auto input = getInput().getType();
  auto indices = getIndices().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= input.getRank())
    return emitOpError("gathers along axis ")
           << axis << " of a rank-" << input.getRank() << " tensor";
  if (!isa<IntegerType>(indices.getElementType()))
    return emitOpError("expects integer indices, got ")
           << indices.getElementType();
  if (indices.getRank() != input.getRank())
    return emitOpError("expects indices of the input's rank ")
           << input.getRank() << ", got " << indices;
  if (getType().getElementType() != input.getElementType() ||
      failed(verifyCompatibleShape(getType().getShape(), indices.getShape())))
    return emitOpError("expects a result of the indices' shape and the "
                       "input's element type, got ")
           << getType();
  return success();
}

namespace {
LogicalResult verifyScatter(Operation *op, RankedTensorType input,
                            RankedTensorType indices, RankedTensorType updates,
                            RankedTensorType result, StringRef reduction) {
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction))
    return op->emitOpError("expects reduction none, add, mul, max or min, "
                           "got '")
           << reduction << "'";
  if (!isa<IntegerType>(indices.getElementType()))
    return op->emitOpError("expects integer indices, got ")
           << indices.getElementType();
  if (updates.getElementType() != input.getElementType() ||
      result.getElementType() != input.getElementType() ||
      failed(verifyCompatibleShape(result.getShape(), input.getShape())))
    return op->emitOpError("expects updates of the input's element type and "
                           "a result of the input's type, got ")
           << updates << " and " << result;
  return success();
}
} // namespace

LogicalResult ConvTransposeOp::verify() {
  auto in = getInput().getType(), w = getWeight().getType(), out = getType();
  int64_t k = in.getRank() - 2, group = getGroup();
  if (k < 1 || w.getRank() != in.getRank() || out.getRank() != in.getRank() ||
      !w.hasStaticShape())
    return emitOpError("expects an input [N, C, D1, ...], a static weight "
                       "[C, M / group, K1, ...] and an output of their rank, "
                       "got ")
           << in << ", " << w << " and " << out;
  if (static_cast<int64_t>(getStrides().size()) != k ||
      static_cast<int64_t>(getDilations().size()) != k ||
      static_cast<int64_t>(getPads().size()) != 2 * k)
    return emitOpError("expects ")
           << k << " strides and dilations and " << 2 * k << " pads";
  if (group < 1 || w.getDimSize(0) % group != 0 ||
      !compatible(in.getDimSize(1), w.getDimSize(0)) ||
      !compatible(out.getDimSize(1), w.getDimSize(1) * group))
    return emitOpError("expects the weight's first axis to be the input "
                       "channels and its second the output channels per "
                       "group, got input ")
           << in << ", weight " << w << ", output " << out << " and group "
           << group;
  if (getBias()) {
    auto b = getBias().getType();
    if (b.getRank() != 1 || !compatible(b.getDimSize(0), out.getDimSize(1)))
      return emitOpError("expects a bias per output channel, got ") << b;
  }
  return success();
}

LogicalResult ResizeOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (out.getRank() != in.getRank() ||
      out.getElementType() != in.getElementType())
    return emitOpError("expects an output of the input's rank and element "
                       "type, got ")
           << in << " and " << out;
  if (static_cast<int64_t>(getScales().size()) != in.getRank())
    return emitOpError("expects a scale per axis, got ")
           << getScales().size() << " for rank " << in.getRank();
  if (llvm::any_of(getScales(), [](double s) { return s < 0.0; }))
    return emitOpError("expects non-negative scales (0: from the extents)");
  if (!llvm::is_contained({"nearest", "linear", "cubic"}, getMode()))
    return emitOpError("expects mode nearest, linear or cubic, got '")
           << getMode() << "'";
  if (!llvm::is_contained({"half_pixel", "half_pixel_symmetric",
                           "pytorch_half_pixel", "align_corners", "asymmetric",
                           "tf_half_pixel_for_nn"},
                          getCoordinateMode()))
    return emitOpError("expects coordinate_mode half_pixel, "
                       "half_pixel_symmetric, pytorch_half_pixel, "
                       "align_corners, asymmetric or tf_half_pixel_for_nn, "
                       "got '")
           << getCoordinateMode() << "'";
  if (!llvm::is_contained(
          {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"},
          getNearestMode()))
    return emitOpError("expects nearest_mode round_prefer_floor, "
                       "round_prefer_ceil, floor or ceil, got '")
           << getNearestMode() << "'";
  return success();
}

LogicalResult PoolOp::verify() {
  auto in = getInput().getType(), out = getType();
  int64_t k = in.getRank() - 2;
  if (getKind() != "max" && getKind() != "avg")
    return emitOpError("expects kind max or avg, got '") << getKind() << "'";
  if (k < 1 || out.getRank() != in.getRank() ||
      out.getElementType() != in.getElementType())
    return emitOpError("expects an input [N, C, D1, ...] and an output of "
                       "its rank and element type, got ")
           << in << " and " << out;
  if (static_cast<int64_t>(getKernel().size()) != k ||
      static_cast<int64_t>(getStrides().size()) != k ||
      static_cast<int64_t>(getDilations().size()) != k ||
      static_cast<int64_t>(getPads().size()) != 2 * k)
    return emitOpError("expects ")
           << k << " kernel extents, strides and dilations and " << 2 * k
           << " pads";
  auto positive = [](int64_t v) { return v >= 1; };
  if (!llvm::all_of(getKernel(), positive) ||
      !llvm::all_of(getStrides(), positive) ||
      !llvm::all_of(getDilations(), positive) ||
      !llvm::all_of(getPads(), [](int64_t v) { return v >= 0; }))
    return emitOpError("expects positive kernel extents, strides and "
                       "dilations and non-negative pads");
  for (int64_t d = 0; d < 2; ++d)
    if (!compatible(in.getDimSize(d), out.getDimSize(d)))
      return emitOpError("expects the batch and channel extents kept, got ")
             << in << " and " << out;
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  auto input = getInput().getType(), indices = getIndices().getType(),
       updates = getUpdates().getType();
  if (failed(verifyScatter(*this, input, indices, updates, getType(),
                           getReduction())))
    return failure();
  if (getAxis() < 0 || getAxis() >= input.getRank())
    return emitOpError("scatters along axis ")
           << getAxis() << " of a rank-" << input.getRank() << " tensor";
  if (indices.getRank() != input.getRank() ||
      failed(verifyCompatibleShape(indices.getShape(), updates.getShape())))
    return emitOpError("expects indices and updates of one shape and of the "
                       "input's rank ")
           << input.getRank() << ", got " << indices << " and " << updates;
  return success();
}

LogicalResult ScatterNdOp::verify() {
  auto input = getInput().getType(), indices = getIndices().getType(),
       updates = getUpdates().getType();
  if (failed(verifyScatter(*this, input, indices, updates, getType(),
                           getReduction())))
    return failure();
  int64_t k = indices.getRank() ? indices.getShape().back() : 0;
  if (indices.getRank() < 1 || ShapedType::isDynamic(k) || k < 1 ||
      k > input.getRank())
    return emitOpError("expects indices whose last axis is a static tuple "
                       "length of 1 to the input's rank ")
           << input.getRank() << ", got " << indices;
  SmallVector<int64_t> expected(indices.getShape().drop_back());
  llvm::append_range(expected, input.getShape().drop_front(k));
  if (failed(verifyCompatibleShape(expected, updates.getShape())))
    return emitOpError("expects updates of shape ")
           << shapeString(expected) << ", got " << shapeString(updates);
  return success();
}

LogicalResult CumSumOp::verify() {
  int64_t rank = getInput().getType().getRank();
  if (getAxis() < 0 || getAxis() >= rank)
    return emitOpError("sums along axis ")
           << getAxis() << " of a rank-" << rank << " tensor";
  return success();
}

//===----------------------------------------------------------------------===//
// GatherNdOp
//===----------------------------------------------------------------------===//

LogicalResult GatherNdOp::verify() {
  auto data = getData().getType();
  auto indices = getIndices().getType();
  int64_t b = getBatchDims();
  if (!isa<IntegerType>(indices.getElementType()))
    return emitOpError("expects integer indices, got ")
           << indices.getElementType();
  if (indices.getRank() < 1 || indices.isDynamicDim(indices.getRank() - 1))
    return emitOpError("expects indices whose last extent is static, got ")
           << indices;
  int64_t q = indices.getDimSize(indices.getRank() - 1);
  if (b < 0 || b >= indices.getRank() || b + q > data.getRank())
    return emitOpError("has batch_dims ")
           << b << " and index tuples of " << q << " for data of rank "
           << data.getRank() << " and indices of rank " << indices.getRank();
  if (getType().getRank() != indices.getRank() - 1 + data.getRank() - b - q)
    return emitOpError("expects a result of rank ")
           << indices.getRank() - 1 + data.getRank() - b - q;
  return success();
}

//===----------------------------------------------------------------------===//
// ExpandDimsOp
//===----------------------------------------------------------------------===//

LogicalResult ExpandDimsOp::verify() {
  auto input = getInput().getType();
  auto out = getType();
  int64_t rank = getSqueeze() ? input.getRank() : out.getRank();
  llvm::SmallBitVector marked(rank);
  for (int64_t axis : getAxes()) {
    if (axis < 0 || axis >= rank || marked[axis])
      return emitOpError("expects distinct axes in [0, ")
             << rank << "), got axis " << axis;
    marked.set(axis);
  }
  auto longer = getSqueeze() ? input : out;
  auto shorter = getSqueeze() ? out : input;
  if (shorter.getRank() + static_cast<int64_t>(getAxes().size()) !=
      longer.getRank())
    return emitOpError("expects ranks that differ by the number of axes, got ")
           << shapeString(input) << " -> " << shapeString(out);
  int64_t j = 0;
  for (int64_t k = 0; k < longer.getRank(); ++k) {
    if (marked[k]) {
      if (!compatible(longer.getDimSize(k), 1))
        return emitOpError("expects axis ")
               << k << " of extent 1, got " << shapeString(longer);
      continue;
    }
    if (!compatible(longer.getDimSize(k), shorter.getDimSize(j++)))
      return emitOpError("expects the other axes unchanged, got ")
             << shapeString(input) << " -> " << shapeString(out);
  }
  return success();
}

OpFoldResult ExpandDimsOp::fold(FoldAdaptor adaptor) {
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (getType().hasStaticShape())
      return dense.reshape(getType());
  return {};
}

//===----------------------------------------------------------------------===//
// ReshapeDynamicOp
//===----------------------------------------------------------------------===//

namespace {
/// reshape_dynamic(x, constant) → reshape(x, [..]).
struct ReshapeWithConstantShape : OpRewritePattern<ReshapeDynamicOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeDynamicOp op,
                                PatternRewriter &rewriter) const override {
    DenseElementsAttr shape;
    if (!matchPattern(op.getShape(), m_Constant(&shape)))
      return failure();
    SmallVector<int64_t> spec;
    for (const APInt &v : shape.getValues<APInt>())
      spec.push_back(v.getSExtValue());
    if (static_cast<int64_t>(spec.size()) != op.getType().getRank() ||
        (op.getAllowzero() && llvm::is_contained(spec, 0)))
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), op.getInput(),
                                           rewriter.getDenseI64ArrayAttr(spec),
                                           op.getScheduleAttr());
    return success();
  }
};
} // namespace

void ReshapeDynamicOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                   MLIRContext *context) {
  results.add<ReshapeWithConstantShape>(context);
}

//===----------------------------------------------------------------------===//
// Folders of the shape arithmetic exporters write
//===----------------------------------------------------------------------===//

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto data = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData());
  auto indices = dyn_cast_or_null<DenseElementsAttr>(adaptor.getIndices());
  auto type = getType();
  if (!data || !indices || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldedElements)
    return {};
  ArrayRef<int64_t> dShape = data.getType().getShape();
  int64_t axis = getAxis();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k)
    outer *= dShape[k];
  for (int64_t k = axis + 1; k < static_cast<int64_t>(dShape.size()); ++k)
    inner *= dShape[k];
  SmallVector<Attribute> in(data.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (const APInt &index : indices.getValues<APInt>()) {
      int64_t i = index.getSExtValue();
      if (i < 0)
        i += dShape[axis];
      if (i < 0 || i >= dShape[axis])
        return {};
      for (int64_t n = 0; n < inner; ++n)
        out.push_back(in[(o * dShape[axis] + i) * inner + n]);
    }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  auto type = getType();
  if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldedElements)
    return {};
  int64_t axis = getAxis();
  SmallVector<DenseElementsAttr> parts;
  for (Attribute a : adaptor.getInputs()) {
    auto dense = dyn_cast_or_null<DenseElementsAttr>(a);
    if (!dense)
      return {};
    parts.push_back(dense);
  }
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k)
    outer *= type.getDimSize(k);
  SmallVector<SmallVector<Attribute>> values;
  for (auto p : parts)
    values.emplace_back(p.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (auto [p, v] : llvm::zip(parts, values)) {
      int64_t chunk = p.getNumElements() / std::max<int64_t>(outer, 1);
      out.append(v.begin() + o * chunk, v.begin() + (o + 1) * chunk);
    }
  return DenseElementsAttr::get(type, out);
}
