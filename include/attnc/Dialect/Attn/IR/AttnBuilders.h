//===- AttnBuilders.h - Builders of common attn op chains -------*- C++ -*-===//
//
// What more than one part of attnc builds or asks of attn IR: the attention
// scores and probabilities of q and k (ONNX Attention's qk_matmul_output,
// the probabilities --attention-probs exposes), position indices, the
// elements of shape vectors known before the run, scalar constants, node
// names for diagnostics, and the clean-up after a fusion.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_IR_ATTNBUILDERS_H
#define ATTNC_DIALECT_ATTN_IR_ATTNBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <limits>
#include <optional>
#include <string>

namespace mlir::attn {

/// The ONNX node name a location carries (its first NameLoc); empty when it
/// has none.
std::string getNodeName(Location loc);

/// 'node' for an op's ONNX node, or 'op name' where it has none: how
/// diagnostics about a graph name a place.
std::string describeNode(Operation *op);

/// The value of a floating-point constant with a single value (a splat, or
/// a tensor of one element); nullopt for anything else.
std::optional<double> getScalarConstant(Value value);

/// The elements of a constant (dense or a resource blob, as the importer
/// stores large weights) of a float, integer or boolean type as doubles, in
/// row-major order; nullopt for anything else or more than `maxElements`.
std::optional<SmallVector<double>> getConstantValues(Value value,
                                                     int64_t maxElements);

/// Erases the attn ops under `root` whose results are unused and that have
/// no side effects, users before producers (the chains a fusion replaced).
void eraseDeadAttnOps(Operation *root);

/// The elements of a 1-D integer tensor (of static length) that are known
/// before the run, element by element: constants, static extents read by
/// attn.shape, and concat, gather, slice, select, equal, add, sub, mul, cast
/// and reshape over them. Unknown elements are std::nullopt; the result is
/// empty when `value` is not such a tensor.
SmallVector<std::optional<int64_t>> getKnownElements(Value value);

/// The extent of an axis of extent `dim` sliced from `start` to `end` by
/// `step` (ONNX Slice: negative bounds count from the end, bounds are
/// clamped to the axis, `step` is non-zero).
int64_t sliceExtent(int64_t dim, int64_t start, int64_t end, int64_t step);

/// The result shape of attn.slice over `input` as far as it is known before
/// the run: axes that are not sliced keep the input's extent; sliced axes of
/// a static extent with starts and ends known (getKnownElements) get theirs;
/// the rest are dynamic.
SmallVector<int64_t> inferSliceShape(Value input, Value starts, Value ends,
                                     ArrayRef<int64_t> axes,
                                     ArrayRef<int64_t> steps);

/// The result shape of `op` as far as its operands' types and the integers
/// known before the run determine it (`?` where they do not); nullopt for
/// ops it does not describe (ShapeRefinement.cpp).
std::optional<SmallVector<int64_t>> inferResultShape(Operation *op);

/// 0, 1, ..., n - 1 for the extent n of `x` on `axis` as an i64 tensor of
/// `rank` axes, all of extent 1 but axis `at`. A static extent gives a
/// constant; a dynamic one a Range over the run-time extent.
Value buildPositions(OpBuilder &b, Location loc, Value x, int64_t axis,
                     int64_t rank, int64_t at);

/// How far buildAttentionScores goes.
enum class ScoresStage {
  /// scale · q·kᵀ, then softcap · tanh(s / softcap) when given.
  Scaled,
  /// ... with the mask and the causal bound applied (masked: `maskedValue`).
  Masked,
  /// ... softmax over the keys; a row with every key masked is 0 when
  /// `zeroMaskedRows`.
  Probabilities,
};

struct ScoresOptions {
  double scale = 1.0;
  std::optional<double> softcap;
  /// Keys j > i + causalOffset are masked for query i.
  bool causal = false;
  int64_t causalOffset = 0;
  bool zeroMaskedRows = false;
  /// The score of a masked key.
  double maskedValue = -std::numeric_limits<double>::infinity();
  ScoresStage stage = ScoresStage::Probabilities;
};

/// The attention scores or probabilities [B, Hq, Nq, Nk] of q [B, Hq, Nq, D]
/// and k [B, Hkv, Nk, D] (query head h reads key head h / (Hq / Hkv)), with
/// an optional i1 (true attends) or additive float `mask` broadcastable to
/// them. Fails, with an error at `loc`, when Hq is dynamic and differs from
/// Hkv.
FailureOr<Value> buildAttentionScores(OpBuilder &b, Location loc, Value q,
                                      Value k, Value mask,
                                      const ScoresOptions &options);

} // namespace mlir::attn

#endif // ATTNC_DIALECT_ATTN_IR_ATTNBUILDERS_H
