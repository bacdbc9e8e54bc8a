//===- AttentionBuilder.h - Builders shared by attention handlers -*- C++
//-*-===//
//
// Private to the importer: the attn ops that the attention handlers of the
// default and com.microsoft domains build alike (heads split and merged,
// sdpa, masks from positions and lengths).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_IMPORT_ONNX_ATTENTIONBUILDER_H
#define ATTNC_LIB_IMPORT_ONNX_ATTENTIONBUILDER_H

#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <limits>

namespace mlir::attn::onnx_import {

/// Builders shared by the attention handlers.
struct AttentionBuilder {
  Importer &im;

  RankedTensorType withShape(Value v, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(
        shape, cast<RankedTensorType>(v.getType()).getElementType());
  }
  ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }

  Value transpose(Value x, ArrayRef<int64_t> perm) {
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(shapeOf(x)[p]);
    return im.builder.create<TransposeOp>(im.currentLoc, withShape(x, shape), x,
                                          im.builder.getDenseI64ArrayAttr(perm),
                                          nullptr);
  }

  Value reshape(Value x, ArrayRef<int64_t> spec, ArrayRef<int64_t> shape) {
    return im.builder.create<ReshapeOp>(im.currentLoc, withShape(x, shape), x,
                                        im.builder.getDenseI64ArrayAttr(spec),
                                        nullptr);
  }

  /// [B, S, N·H] → [B, N, S, H]; fails unless N·H is static.
  FailureOr<Value> splitHeads(Value x, int64_t heads, StringRef what) {
    ArrayRef<int64_t> s = shapeOf(x);
    if (s.size() != 3 || ShapedType::isDynamic(s[2]) || heads <= 0 ||
        s[2] % heads != 0) {
      im.nodeError() << what << " must be [batch, sequence, " << heads
                     << " x head size] with a static last extent, got "
                     << x.getType();
      return failure();
    }
    Value r = reshape(x, {0, 0, heads, -1}, {s[0], s[1], heads, s[2] / heads});
    return transpose(r, {0, 2, 1, 3});
  }

  /// A rotary or attention input in heads: [B, S, N·H] split into
  /// [B, N, S, H], a rank-4 one as it is; fails for other ranks.
  FailureOr<Value> inHeads(Value x, int64_t heads, StringRef what) {
    int64_t rank = shapeOf(x).size();
    if (rank == 3)
      return splitHeads(x, heads, what);
    if (rank == 4)
      return x;
    im.nodeError() << what << " must be of rank 3 or 4, got " << x.getType();
    return failure();
  }

  /// attn.rotary of x [B, N, S, H] with the node's `interleaved` and
  /// `rotary_embedding_dim`, its heads merged back when the node's input was
  /// [B, S, N·H] (rank 3).
  Value rotary(const onnx::NodeProto &node, Value x, Value cos, Value sin,
               Value positions, int64_t inputRank) {
    OpBuilder &b = im.builder;
    Value y = b.create<RotaryOp>(
        im.currentLoc, x.getType(), x, cos, sin, positions,
        im.intAttribute(node, "interleaved", 0) ? b.getUnitAttr() : UnitAttr(),
        b.getI64IntegerAttr(im.intAttribute(node, "rotary_embedding_dim", 0)),
        nullptr);
    return inputRank == 3 ? mergeHeads(y) : y;
  }

  /// [B, N, S, H] → [B, S, N·H].
  Value mergeHeads(Value y) {
    Value t = transpose(y, {0, 2, 1, 3});
    ArrayRef<int64_t> s = shapeOf(t);
    int64_t hidden = ShapedType::isDynamic(s[2]) || ShapedType::isDynamic(s[3])
                         ? ShapedType::kDynamic
                         : s[2] * s[3];
    return reshape(t, {0, 0, -1}, {s[0], s[1], hidden});
  }

  /// softmax(scale·QKᵀ + mask)·V over [B, H, S, D] operands.
  FailureOr<Value> sdpa(Value q, Value k, Value v, Value mask,
                        std::optional<double> scale, bool causal,
                        std::optional<double> softcap = std::nullopt,
                        bool zeroMaskedRows = false, int64_t causalOffset = 0) {
    int64_t hq = shapeOf(q)[1], hkv = shapeOf(k)[1];
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv) ||
        hq % hkv != 0) {
      im.nodeError() << "needs static head counts with query heads a "
                        "multiple of key/value heads, got "
                     << q.getType() << " and " << k.getType();
      return failure();
    }
    ArrayRef<int64_t> qs = shapeOf(q);
    auto type = withShape(q, {qs[0], qs[1], qs[2], shapeOf(v)[3]});
    OpBuilder &b = im.builder;
    return b
        .create<SdpaOp>(im.currentLoc, type, q, k, v, mask,
                        scale ? b.getF64FloatAttr(*scale) : FloatAttr(),
                        causal ? b.getUnitAttr() : UnitAttr(),
                        b.getI64IntegerAttr(hq / hkv),
                        softcap ? b.getF64FloatAttr(*softcap) : FloatAttr(),
                        zeroMaskedRows ? b.getUnitAttr() : UnitAttr(),
                        b.getI64IntegerAttr(causalOffset), nullptr)
        .getResult();
  }

  /// Slices [start, start + size) of the last axis.
  Value lastAxisSlice(Value x, int64_t start, int64_t size) {
    SmallVector<int64_t> shape(shapeOf(x));
    int64_t axis = shape.size() - 1;
    shape[axis] = size;
    Value first = im.i64Constant({start});
    Value end = im.i64Constant({start + size});
    return im.builder.create<SliceOp>(
        im.currentLoc, withShape(x, shape), x, first, end,
        im.builder.getDenseI64ArrayAttr({axis}),
        im.builder.getDenseI64ArrayAttr({1}), nullptr);
  }

  Value add(Value a, Value b) {
    return im.builder.create<AddOp>(im.currentLoc, a.getType(), a, b, nullptr);
  }

  /// An elementwise binary op whose result shape is the broadcast of its
  /// operands' and whose element type is `element`.
  template <typename OpT> Value binary(Value lhs, Value rhs, Type element) {
    SmallVector<int64_t> shape = *broadcastShapes(shapeOf(lhs), shapeOf(rhs));
    return im.builder.create<OpT>(im.currentLoc,
                                  RankedTensorType::get(shape, element), lhs,
                                  rhs, nullptr);
  }

  /// The keys query i may attend, as an i1 mask over [B, H, Nq, Nk]
  /// (broadcastable; k is [B, H, Nk, D]): with `kvLengths` ([B], the valid
  /// keys of each batch entry) keys j < kvLengths[b], and query i sits at
  /// position p = i + kvLengths[b] - Nq; otherwise at p = i + `offset`.
  /// `causal` keeps j <= p; a window bound w >= 0 keeps p - left <= j or
  /// j <= p + right.
  Value allowedKeys(Value q, Value k, Value kvLengths, int64_t offset,
                    bool causal, int64_t left, int64_t right,
                    Value runTimeOffset = nullptr) {
    OpBuilder &b = im.builder;
    Location loc = im.currentLoc;
    auto i1 = b.getI1Type(), i64 = b.getI64Type();
    Value keys = buildPositions(b, loc, k, 2, 4, 3);
    Value pos = buildPositions(b, loc, q, 2, 4, 2);
    Value allowed;
    auto both = [&](Value cond) {
      allowed = allowed ? binary<AndOp>(allowed, cond, i1) : cond;
    };
    auto shift = [&](Value x, int64_t by) -> Value {
      return by == 0 ? x : binary<AddOp>(x, im.i64Constant({by}), i64);
    };
    if (kvLengths) {
      auto lt = cast<RankedTensorType>(kvLengths.getType());
      if (!lt.getElementType().isInteger(64))
        kvLengths = b.create<CastOp>(
            loc, RankedTensorType::get(lt.getShape(), i64), kvLengths, nullptr);
      Value lengths =
          reshape(kvLengths, {-1, 1, 1, 1}, {lt.getDimSize(0), 1, 1, 1});
      both(binary<LessOp>(keys, lengths, i1));
      Value queries = b.create<ShapeOp>(loc, RankedTensorType::get({1}, i64), q,
                                        b.getI64IntegerAttr(2),
                                        b.getI64IntegerAttr(3), nullptr);
      pos = binary<AddOp>(pos, binary<SubOp>(lengths, queries, i64), i64);
    } else if (runTimeOffset) {
      // Query positions after a past of run-time length ([1] i64).
      pos = binary<AddOp>(pos, runTimeOffset, i64);
    } else {
      pos = shift(pos, offset);
    }
    if (causal)
      both(b.create<NotOp>(
          loc,
          RankedTensorType::get(*broadcastShapes(shapeOf(keys), shapeOf(pos)),
                                i1),
          binary<GreaterOp>(keys, pos, i1), nullptr));
    if (left >= 0) {
      Value before = binary<LessOp>(keys, shift(pos, -left), i1);
      both(b.create<NotOp>(loc, before.getType(), before, nullptr));
    }
    if (right >= 0) {
      Value after = binary<GreaterOp>(keys, shift(pos, right), i1);
      both(b.create<NotOp>(loc, after.getType(), after, nullptr));
    }
    return allowed;
  }

  /// A KV cache `past` [B, N, P, H] followed by the new `now` [B, N, L, H]
  /// along the sequence axis.
  Value appendToPast(Value past, Value now) {
    SmallVector<int64_t> shape(shapeOf(now));
    int64_t p = shapeOf(past)[2];
    shape[2] = ShapedType::isDynamic(p) || ShapedType::isDynamic(shape[2])
                   ? ShapedType::kDynamic
                   : p + shape[2];
    return im.builder.create<ConcatOp>(
        im.currentLoc, withShape(now, shape), ValueRange{past, now},
        im.builder.getI64IntegerAttr(2), nullptr);
  }

  /// The run-time length P of a KV cache [B, N, P, H], as a [1] i64.
  Value pastLength(Value past) {
    return im.builder.create<ShapeOp>(
        im.currentLoc, RankedTensorType::get({1}, im.builder.getI64Type()),
        past, im.builder.getI64IntegerAttr(2), im.builder.getI64IntegerAttr(3),
        nullptr);
  }

  /// `mask` (i1: true attends; float: added to the scores) restricted to the
  /// keys `allowed` marks.
  Value restrictMask(Value mask, Value allowed) {
    if (!mask)
      return allowed;
    auto maskType = cast<RankedTensorType>(mask.getType());
    Type element = maskType.getElementType();
    if (element.isInteger(1))
      return binary<AndOp>(mask, allowed, element);
    Value negInf = im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get({}, element),
            FloatAttr::get(element, -std::numeric_limits<double>::infinity())));
    SmallVector<int64_t> shape =
        *broadcastShapes(shapeOf(mask), shapeOf(allowed));
    return im.builder.create<SelectOp>(im.currentLoc,
                                       RankedTensorType::get(shape, element),
                                       allowed, mask, negInf, nullptr);
  }

  /// Pads the last axis of `mask` to `total` keys with keys never attended
  /// (false, or -inf for a float mask).
  FailureOr<Value> padMaskKeys(Value mask, int64_t total) {
    ArrayRef<int64_t> s = shapeOf(mask);
    int64_t last = s.back();
    if (ShapedType::isDynamic(last) || ShapedType::isDynamic(total) ||
        last == total || last == 1)
      return mask;
    if (last > total || llvm::any_of(s.drop_back(), ShapedType::isDynamic)) {
      im.nodeError() << "attn_mask " << mask.getType() << " does not cover the "
                     << total << " keys";
      return failure();
    }
    SmallVector<int64_t> padShape(s);
    padShape.back() = total - last;
    Type element = cast<RankedTensorType>(mask.getType()).getElementType();
    auto padType = RankedTensorType::get(padShape, element);
    Attribute fill =
        element.isInteger(1)
            ? Attribute(DenseElementsAttr::get(padType, false))
            : Attribute(DenseElementsAttr::get(
                  padType,
                  FloatAttr::get(element,
                                 -std::numeric_limits<double>::infinity())));
    Value pad =
        im.builder.create<ConstantOp>(im.currentLoc, cast<ElementsAttr>(fill));
    SmallVector<int64_t> shape(s);
    shape.back() = total;
    return im.builder
        .create<ConcatOp>(im.currentLoc, withShape(mask, shape),
                          ValueRange{mask, pad},
                          im.builder.getI64IntegerAttr(s.size() - 1), nullptr)
        .getResult();
  }

  /// An int 0/1 mask [B, L] (1 = attend) as an i1 mask [B, 1, 1, L].
  Value keyPaddingMask(Value mask) {
    ArrayRef<int64_t> s = shapeOf(mask);
    OpBuilder &b = im.builder;
    auto boolType = RankedTensorType::get(s, b.getI1Type());
    Value zero = b.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get(
                {}, cast<RankedTensorType>(mask.getType()).getElementType()),
            APInt::getZero(cast<RankedTensorType>(mask.getType())
                               .getElementType()
                               .getIntOrFloatBitWidth())));
    Value isZero =
        b.create<EqualOp>(im.currentLoc, boolType, mask, zero, nullptr);
    Value keep = b.create<NotOp>(im.currentLoc, boolType, isZero, nullptr);
    return b.create<ExpandDimsOp>(
        im.currentLoc, RankedTensorType::get({s[0], 1, 1, s[1]}, b.getI1Type()),
        keep, b.getDenseI64ArrayAttr({1, 2}), UnitAttr(), nullptr);
  }
};

inline bool hasOutput(const onnx::NodeProto &node, int i) {
  return i < node.output_size() && !node.output(i).empty();
}

inline std::optional<double> optionalScale(Importer &im,
                                           const onnx::NodeProto &node) {
  if (!im.attribute(node, "scale"))
    return std::nullopt;
  return im.floatAttribute(node, "scale", 0.0f);
}
} // namespace mlir::attn::onnx_import

#endif // ATTNC_LIB_IMPORT_ONNX_ATTENTIONBUILDER_H
