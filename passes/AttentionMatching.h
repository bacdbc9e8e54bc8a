//===- AttentionMatching.h - Shared pieces of the attention matchers -----===//
//
// Internal to passes/. The attention scores as exporters write them between
// the product that computes them and the softmax (or argmax) that consumes
// them: scales, additive masks and boolean masks. attn-fuse-attention peels
// them off the same way for scaled dot-product, additive and hard attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_PASSES_ATTENTIONMATCHING_H
#define ATTNC_PASSES_ATTENTIONMATCHING_H

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"

#include <string>

namespace mlir::attn::fusion {

/// Why a candidate did not fuse: what failed, at which op (all fusion
/// passes report it this way).
struct Mismatch {
  Operation *at = nullptr;
  std::string why;

  LogicalResult fail(Operation *op, std::string reason) {
    at = op;
    why = std::move(reason);
    return failure();
  }
};

/// The scores between their product and the softmax or argmax.
struct ScoreChain {
  /// The op computing the unscaled, unmasked scores: an attn.matmul, an
  /// attn.expand_dims squeezing one (a product with a [A, 1] vector), or an
  /// attn.reduce.
  Operation *core = nullptr;
  /// The product of the scalar scales met on the way.
  double scale = 1.0;
  /// c of a soft cap c · tanh(s / c) between the scaled scores and the
  /// masks (Gemma-2, Grok).
  std::optional<double> softcap;
  SmallVector<Value> additiveMasks;
  /// i1 masks, true where a key is attended.
  SmallVector<Value> keepMasks;
  /// i1 masks, true where a key is masked (the fill is the `where`'s true
  /// branch).
  SmallVector<Value> dropMasks;
  /// Float masks of 0s and 1s applied as s · m − c · (1 − m) (early GPT-2):
  /// 1 where a key is attended.
  SmallVector<Value> binaryKeepMasks;
  /// attn.shape ops reading the extents of the scores on the way (w.size(-1)
  /// in early GPT-2): they need no values and are rebuilt from Q and V.
  SmallVector<ShapeOp> shapeReaders;
  /// Set by the caller: a LeakyReLU of the scores ends the walk as the core
  /// (graph attention computes no product of queries and keys).
  bool acceptLeakyRelu = false;

  bool hasMasks() const {
    return !additiveMasks.empty() || !keepMasks.empty() || !dropMasks.empty() ||
           !binaryKeepMasks.empty();
  }
};

/// `x` and the slope α of a LeakyReLU as imported, `where(x < 0, x · α,
/// x)` (or `where(x > 0, x, x · α)`, either order of the product).
std::optional<std::pair<Value, double>> matchLeakyRelu(SelectOp select);

/// A masked score as exporters write it: -inf, the lowest float of any
/// width, or a large negative constant such as -10000.
bool isMaskFill(Value value);

/// Walks from `scores` (the input of `anchor`, a softmax or argmax) back to
/// the op computing them, through float casts, scalar scales, additive masks,
/// boolean `where` masks and 0/1 masks applied as s · m − c · (1 − m); every
/// step must have one use.
LogicalResult peelScores(Value scores, Operation *anchor, ScoreChain &chain,
                         Mismatch &mismatch);

/// Combines the chain's masks into one mask operand broadcastable to the
/// scores: an i1 keep mask (0/1 masks become i1 through attn.cast), an
/// additive mask of `element`, or both as an additive mask holding -inf
/// where a key is dropped. Null when there are none.
Value combineMasks(OpBuilder &b, Location loc, const ScoreChain &chain,
                   Type element);

/// `x` with an axis of extent 1 inserted at `axis`, or that axis removed
/// (`squeeze`).
Value unitAxis(OpBuilder &b, Location loc, Value x, int64_t axis, bool squeeze);
/// `x` with its last two axes swapped.
Value swapLast(OpBuilder &b, Location loc, Value x);
/// The input of `x` when `x` swaps the last two axes of it, else null.
Value unswapLast(Value x);

/// Rewrites attention written over batch and heads merged into one axis
/// (DeBERTa-v2's [B·H, S, S] scores) over [B, H, S, S] (HeadMerges.cpp);
/// whether anything changed.
bool liftHeadMerges(Operation *root);

/// An extent as far as the graph proves it (Extents.cpp): a static size, a
/// named input dimension (inputs sharing a name are checked equal when the
/// code runs), or the axis of the first tensor it could not be traced past.
/// Equal Extents are equal at run time; unequal ones may still be.
struct Extent {
  int64_t size = ShapedType::kDynamic;
  StringAttr name;
  Value value;
  int64_t axis = -1;

  bool operator==(const Extent &other) const;
};

/// The extent of `axis` of `x`, traced back through the ops that keep it.
Extent extentOf(Value x, int64_t axis);
/// The extent a scalar holds when it was read off a shape (Shape, Gather of
/// a shape, casts), or a constant.
std::optional<Extent> extentHeldBy(Value scalar);
/// Entry `k` of a 1-D i64 shape tensor: its value where known, else the
/// scalar it was built from (a concat of unsqueezed scalars).
std::pair<std::optional<int64_t>, Value> shapeEntry(Value shape, int64_t k);

/// Moves the causal part of the mask of `sdpa` into its `causal` attribute
/// (CausalMasks.cpp): a constant triangle, Trilu of ones, or positions
/// compared at run time, alone or combined with other masks (which stay the
/// op's mask). Returns whether it did.
bool recognizeCausalMask(SdpaOp sdpa);

/// Whether `softmax` normalizes scores computed through a tanh: an additive
/// (Bahdanau) attention candidate.
bool isAdditiveCandidate(SoftmaxOp softmax);
/// Rewrites `v · tanh(q + k)` → softmax → product with values into
/// attn.additive_attention; on failure says why in `mismatch`.
LogicalResult fuseAdditiveAttention(SoftmaxOp softmax, Mismatch &mismatch);

/// Whether the indices of `argmax` select rows with a gather: a hard
/// attention candidate.
bool isHardCandidate(ArgMaxOp argmax);

/// Whether the scores of `softmax` are a LeakyReLU (graph attention).
bool isGraphCandidate(SoftmaxOp softmax);

/// Fuses LeakyReLU(source_i + target_j) scores, masked by an adjacency,
/// their softmax and its product with values into attn.graph_attention; on
/// failure says why in `mismatch`.
LogicalResult fuseGraphAttention(SoftmaxOp softmax, Mismatch &mismatch);
/// Rewrites argmax over Q·Kᵀ followed by the gather of the selected value
/// rows into attn.hard_attention; on failure says why in `mismatch`.
LogicalResult fuseHardAttention(ArgMaxOp argmax, Mismatch &mismatch);

} // namespace mlir::attn::fusion

#endif // ATTNC_PASSES_ATTENTIONMATCHING_H
