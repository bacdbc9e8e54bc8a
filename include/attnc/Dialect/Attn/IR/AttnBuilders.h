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

/// Erases the attn ops under `root` whose results are unused and that have
/// no side effects, users before producers (the chains a fusion replaced).
void eraseDeadAttnOps(Operation *root);

/// The elements of a 1-D integer tensor (of static length) that are known
/// before the run, element by element: constants, static extents read by
/// attn.shape, and concat, gather, select, equal, add, sub, mul, cast and
/// reshape over them. Unknown elements are std::nullopt; the result is empty
/// when `value` is not such a tensor.
SmallVector<std::optional<int64_t>> getKnownElements(Value value);

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
