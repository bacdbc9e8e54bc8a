//===- AttentionOps.cpp - ONNX attention operators --------------*- C++ -*-===//
//
// Handlers of the attention operators of the default domain: Attention
// (opsets 23-24), RotaryEmbedding.
//
//===----------------------------------------------------------------------===//

#include "AttentionBuilder.h"
#include "Importer.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::onnx_import;

namespace {
/// Output 3 of ONNX Attention (qk_matmul_output): the scores at the stage
/// qk_matmul_output_mode names.
LogicalResult importAttentionScores(Importer &im, const onnx::NodeProto &node,
                                    AttentionBuilder &ab, Value q, Value k,
                                    Value mask, bool causal,
                                    int64_t causalOffset,
                                    std::optional<double> softcap) {
  int64_t d = ab.shapeOf(q)[3];
  std::optional<double> scale = optionalScale(im, node);
  if (!scale && ShapedType::isDynamic(d)) {
    im.nodeError() << "output 3 (qk_matmul_output) needs a static head size "
                      "or a 'scale' attribute";
    return failure();
  }
  int64_t mode = im.intAttribute(node, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) {
    im.nodeError() << "attribute 'qk_matmul_output_mode' = " << mode
                   << " is not supported (supported: 0, 1, 2, 3)";
    return failure();
  }
  ScoresOptions scores;
  scores.scale = scale ? *scale : 1.0 / std::sqrt(double(d));
  scores.softcap = softcap;
  scores.causal = causal;
  scores.causalOffset = causalOffset;
  scores.zeroMaskedRows = true;
  scores.stage = mode < 2    ? ScoresStage::Scaled
                 : mode == 2 ? ScoresStage::Masked
                             : ScoresStage::Probabilities;
  FailureOr<Value> qk =
      buildAttentionScores(im.builder, im.currentLoc, q, k, mask, scores);
  if (failed(qk))
    return failure();
  im.setOutput(node, 3, *qk);
  return success();
}

/// ONNX Attention (opset 23).
LogicalResult importAttention(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  std::optional<double> softcap;
  if (float c = im.floatAttribute(node, "softcap", 0.0f); c > 0.0f)
    softcap = c;
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  Value mask = im.input(node, 3);
  Value pastK = im.input(node, 4), pastV = im.input(node, 5);
  bool causal = im.intAttribute(node, "is_causal", 0) != 0;
  int64_t rank = cast<RankedTensorType>(q.getType()).getRank();
  if (rank == 3) {
    int64_t qHeads = im.intAttribute(node, "q_num_heads", 0);
    int64_t kvHeads = im.intAttribute(node, "kv_num_heads", 0);
    FailureOr<Value> q4 = ab.splitHeads(q, qHeads, "Q");
    if (failed(q4))
      return failure();
    FailureOr<Value> k4 = ab.splitHeads(k, kvHeads, "K");
    if (failed(k4))
      return failure();
    FailureOr<Value> v4 = ab.splitHeads(v, kvHeads, "V");
    if (failed(v4))
      return failure();
    q = *q4, k = *k4, v = *v4;
  }
  if ((pastK == nullptr) != (pastV == nullptr)) {
    im.nodeError() << "needs both past_key and past_value or neither";
    return failure();
  }
  // With a cache, the causal mask is aligned to the past length: a static
  // offset, or at a past of run-time length the query positions shifted by
  // it in the mask.
  int64_t causalOffset = 0;
  Value pastLength;
  if (pastK && (causal || im.attribute(node, "left_window_size") ||
                im.attribute(node, "right_window_size"))) {
    causalOffset = ab.shapeOf(pastK)[2];
    if (ShapedType::isDynamic(causalOffset)) {
      causalOffset = 0;
      pastLength = ab.pastLength(pastK);
    }
  }
  if (pastK) {
    k = ab.appendToPast(pastK, k);
    v = ab.appendToPast(pastV, v);
  }
  if (mask) {
    // A mask shorter than the keys leaves the keys after it unattended.
    FailureOr<Value> padded = ab.padMaskKeys(mask, ab.shapeOf(k)[2]);
    if (failed(padded))
      return failure();
    mask = *padded;
  }
  // Opset 24's external cache (valid keys per batch entry), opset 25's
  // sliding windows and a causal bound after a past of run-time length
  // become an i1 mask computed from key and query positions; it absorbs the
  // causal bound, whose offset may then differ per batch.
  Value kvLengths = im.input(node, 6);
  int64_t left = im.intAttribute(node, "left_window_size", -1);
  int64_t right = im.intAttribute(node, "right_window_size", -1);
  if (kvLengths && pastK) {
    im.nodeError() << "nonpad_kv_seqlen cannot be combined with past_key and "
                      "past_value";
    return failure();
  }
  if (kvLengths || left >= 0 || right >= 0 || pastLength) {
    mask =
        ab.restrictMask(mask, ab.allowedKeys(q, k, kvLengths, causalOffset,
                                             causal, left, right, pastLength));
    causal = false;
    causalOffset = 0;
  }
  if (hasOutput(node, 3) &&
      failed(importAttentionScores(im, node, ab, q, k, mask, causal,
                                   causalOffset, softcap)))
    return failure();
  FailureOr<Value> y =
      ab.sdpa(q, k, v, mask, optionalScale(im, node), causal, softcap,
              /*zeroMaskedRows=*/true, causalOffset);
  if (failed(y))
    return failure();
  Value out = rank == 3 ? ab.mergeHeads(*y) : *y;
  im.setOutput(node, 0, out);
  if (hasOutput(node, 1))
    im.setOutput(node, 1, k);
  if (hasOutput(node, 2))
    im.setOutput(node, 2, v);
  return success();
}

/// ONNX TensorScatter (opset 24): a KV cache `past_cache` with `update`
/// written along `axis` (default -2, after the batch axis 0): row i of batch
/// entry b goes to position write_indices[b] + i (from 0 without
/// write_indices), modulo the cache's extent there in mode "circular".
/// Lowered to attn.scatter_nd with one index tuple (b, ..., position) per
/// updated row.
LogicalResult importTensorScatter(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  Value past = im.input(node, 0), update = im.input(node, 1);
  Value writes = im.input(node, 2);
  int64_t rank = type->getRank();
  auto updateType = cast<RankedTensorType>(update.getType());
  if (updateType.getRank() != rank || rank < 2) {
    im.nodeError() << "needs past_cache and update of one rank of at least 2, "
                      "got "
                   << past.getType() << " and " << update.getType();
    return failure();
  }
  FailureOr<int64_t> axis =
      im.normalizeAxis(im.intAttribute(node, "axis", -2), rank);
  if (failed(axis))
    return failure();
  if (*axis == 0) {
    im.nodeError() << "axis 0 is the batch axis; the sequence axis must "
                      "come after it";
    return failure();
  }
  std::string mode = im.stringAttribute(node, "mode", "linear");
  if (mode != "linear" && mode != "circular") {
    im.nodeError() << "attribute 'mode' = '" << mode
                   << "' is not supported (supported: linear, circular)";
    return failure();
  }
  auto i64 = b.getI64Type();
  int64_t tupleRank = *axis + 1;
  // The index tuples' shape: update's extents up to and with the axis.
  SmallVector<int64_t> rows(updateType.getShape().take_front(tupleRank));
  Value rowsShape = b.create<ShapeOp>(
      loc, RankedTensorType::get({tupleRank}, i64), update,
      b.getI64IntegerAttr(0), b.getI64IntegerAttr(tupleRank), nullptr);
  SmallVector<int64_t> entryShape(rows);
  entryShape.push_back(1);
  SmallVector<Value> entries;
  for (int64_t d = 0; d < tupleRank; ++d) {
    Value at = buildPositions(b, loc, update, d, tupleRank, d);
    if (d == *axis) {
      if (writes) {
        auto wt = cast<RankedTensorType>(writes.getType());
        if (!wt.getElementType().isInteger(64))
          writes = b.create<CastOp>(
              loc, RankedTensorType::get(wt.getShape(), i64), writes, nullptr);
        SmallVector<int64_t> perBatch(tupleRank, 1);
        perBatch[0] = wt.getRank() == 1 ? wt.getDimSize(0) : 1;
        SmallVector<int64_t> spec(tupleRank, 1);
        spec[0] = -1;
        at = ab.binary<AddOp>(at, ab.reshape(writes, spec, perBatch), i64);
      }
      if (mode == "circular") {
        Value length =
            b.create<ShapeOp>(loc, RankedTensorType::get({1}, i64), past,
                              b.getI64IntegerAttr(*axis),
                              b.getI64IntegerAttr(*axis + 1), nullptr);
        at = b.create<ModOp>(loc, at.getType(), at, length, /*fmod=*/nullptr,
                             /*schedule=*/nullptr);
      }
    }
    Value full = b.create<ExpandOp>(loc, RankedTensorType::get(rows, i64), at,
                                    rowsShape, nullptr);
    entries.push_back(b.create<ExpandDimsOp>(
        loc, RankedTensorType::get(entryShape, i64), full,
        b.getDenseI64ArrayAttr({tupleRank}), UnitAttr(), nullptr));
  }
  SmallVector<int64_t> tupleShape(rows);
  tupleShape.push_back(tupleRank);
  Value indices =
      b.create<ConcatOp>(loc, RankedTensorType::get(tupleShape, i64), entries,
                         b.getI64IntegerAttr(tupleRank), nullptr);
  im.setOutput(node, 0,
               b.create<ScatterNdOp>(loc, *type, past, indices, update,
                                     b.getStringAttr("none"), nullptr));
  return success();
}

/// ONNX RotaryEmbedding (opset 23): X is [B, H, S, D] or [B, S, H·D].
LogicalResult importRotaryEmbedding(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  int64_t rank = type->getRank();
  FailureOr<Value> x4 =
      ab.inHeads(im.input(node, 0), im.intAttribute(node, "num_heads", 0), "X");
  if (failed(x4))
    return failure();
  Value x = *x4;
  im.setOutput(node, 0,
               ab.rotary(node, x, im.input(node, 1), im.input(node, 2),
                         im.input(node, 3), rank));
  return success();
}

} // namespace

void mlir::attn::onnx_import::addAttentionHandlers(HandlerTable &table) {
  table.add("", "Attention", 23, importAttention);
  table.add("", "RotaryEmbedding", 23, importRotaryEmbedding);
  table.add("", "TensorScatter", 24, importTensorScatter);
}
