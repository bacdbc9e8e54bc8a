//===- FuseAttention.cpp - Fuse attention cores into attn.sdpa -*- C++ -*-===//
//
// attn-fuse-attention: every softmax over the key axis is a candidate
// attention core. From it the pass walks back through the scores to Q·Kᵀ and
// forward to the product with V, the way exporters write them:
//
//   scores = (Q · s_q) · (Kᵀ · s_k)          scale on Q, on K, or both
//   scores = scores · c  |  scores / c        scale on the scores
//   scores = scores + mask                    additive masks, any broadcast
//   scores = where(m, scores, fill)           boolean masks (masked_fill)
//   p = softmax(scores, -1)
//   p = where(isnan(p), 0, p)                 fully masked rows give 0
//   scores, p: float casts around the softmax (float32 softmax of 16-bit
//              models) are dropped: attn.sdpa computes in float32 anyway
//   out = p · V
//
// Kᵀ is any [B, H, D, Nk] value (K transposed by its producer included). K
// and V heads repeated for grouped-query attention (unsqueeze, expand,
// reshape) become the `kv_group` of the fused op, so they are never copied.
// A candidate that does not fuse is left as it is; with `report`, the pass
// says for each candidate what fused, or which part of the pattern failed
// and at which node, as remarks the driver gathers (attnc --report=fusion).
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "llvm/Support/FormatVariadic.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNFUSEATTENTION
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

namespace {

/// A matched attention core.
struct AttentionMatch {
  MatMulOp pv;
  Value q, k, kt, v;
  /// The scores' scale and masks; the scale includes those on Q and K.
  ScoreChain chain;
  int64_t kvGroup = 1;
  bool zeroMaskedRows = false;
  /// 3 for [batch · heads, sequence, head size] operands (bmm-style
  /// attention, as sequence-first modules export it), else 4.
  int64_t rank = 4;
};

class AttentionMatcher {
public:
  explicit AttentionMatcher(SoftmaxOp softmax) : softmax(softmax) {}

  FailureOr<AttentionMatch> match() {
    int64_t rank = softmax.getType().getRank();
    if (rank != 4 && rank != 3)
      return fail(softmax, "the scores are of rank " + std::to_string(rank) +
                               ", not [batch, heads, queries, keys] or "
                               "[batch · heads, queries, keys]");
    m.rank = rank;
    if (softmax.getNormalizedAxis() != rank - 1)
      return fail(softmax, "the softmax is not over the key axis (the last)");
    if (failed(matchProbabilitiesToOutput()))
      return failure();
    if (failed(matchScores(softmax.getInput())))
      return failure();
    if (failed(matchQK()))
      return failure();
    if (failed(matchHeads()))
      return failure();
    // attn.sdpa has one element type for Q, K, V and its result.
    Type element = getElementTypeOrSelf(m.q.getType());
    for (Value x : {m.kt, m.v, Value(m.pv.getResult())})
      if (getElementTypeOrSelf(x.getType()) != element)
        return fail(m.pv, "Q, K, V and the output do not share one element "
                          "type");
    return m;
  }

  Mismatch mismatch;

private:
  LogicalResult fail(Operation *at, std::string why) {
    return mismatch.fail(at, std::move(why));
  }

  /// p · V, with an optional guard that zeroes NaN rows.
  LogicalResult matchProbabilitiesToOutput() {
    Value p = softmax.getResult();
    // where(isnan(p), 0, p): rows whose keys are all masked give 0.
    if (!p.hasOneUse()) {
      SmallVector<Operation *> users(p.getUsers());
      auto isNan =
          llvm::find_if(users, [](Operation *u) { return isa<IsNanOp>(u); });
      auto guard =
          llvm::find_if(users, [](Operation *u) { return isa<SelectOp>(u); });
      if (users.size() != 2 || isNan == users.end() || guard == users.end())
        return fail(softmax, "the attention probabilities have other users "
                             "(they must stay materialized)");
      auto select = cast<SelectOp>(*guard);
      auto zero = getScalarConstant(select->getOperand(1));
      if (select->getOperand(0) != (*isNan)->getResult(0) || !zero ||
          *zero != 0.0 || select->getOperand(2) != p)
        return fail(select, "the probabilities pass through a 'where' that "
                            "is not the NaN-to-zero guard");
      if (!select->getResult(0).hasOneUse() ||
          !(*isNan)->getResult(0).hasOneUse())
        return fail(select, "the guarded probabilities have other users");
      m.zeroMaskedRows = true;
      p = select->getResult(0);
    }
    while (auto c = dyn_cast<CastOp>(*p.getUsers().begin())) {
      if (!isa<FloatType>(getElementTypeOrSelf(c.getType())) ||
          !c.getResult().hasOneUse())
        break;
      p = c.getResult();
    }
    auto pv = dyn_cast<MatMulOp>(*p.getUsers().begin());
    if (!pv || pv.getLhs() != p)
      return fail(*p.getUsers().begin(),
                  "the probabilities are not multiplied by values (p · V)");
    m.pv = pv;
    m.v = pv.getRhs();
    return success();
  }

  /// From the softmax input back to Q·Kᵀ, collecting scale and masks.
  LogicalResult matchScores(Value s) {
    if (failed(peelScores(s, softmax, m.chain, mismatch)))
      return failure();
    qk = dyn_cast<MatMulOp>(m.chain.core);
    if (!qk)
      return fail(m.chain.core, "the scores are not a matrix product Q·Kᵀ");
    return success();
  }

  /// Q · Kᵀ, each side optionally scaled by a scalar constant.
  LogicalResult matchQK() {
    auto unscale = [&](Value x) -> Value {
      auto mul = x.getDefiningOp<MulOp>();
      if (!mul || !x.hasOneUse())
        return x;
      if (auto c = getScalarConstant(mul.getRhs())) {
        m.chain.scale *= *c;
        return mul.getLhs();
      }
      if (auto c = getScalarConstant(mul.getLhs())) {
        m.chain.scale *= *c;
        return mul.getRhs();
      }
      return x;
    };
    m.q = unscale(qk.getLhs());
    m.kt = unscale(qk.getRhs());
    m.k = unswapLast(m.kt);
    for (Value x : {m.q, m.kt, m.v})
      if (cast<RankedTensorType>(x.getType()).getRank() != m.rank)
        return fail(qk, "Q, Kᵀ and V are not all of the scores' rank");
    return success();
  }

  /// The heads: equal; one K/V head for all; or K/V heads repeated for
  /// grouped-query attention, which become `kv_group`.
  LogicalResult matchHeads() {
    if (m.rank == 3) {
      // [batch · heads, ...]: the leading extents must agree.
      int64_t e[] = {cast<RankedTensorType>(m.q.getType()).getDimSize(0),
                     cast<RankedTensorType>(m.kt.getType()).getDimSize(0),
                     cast<RankedTensorType>(m.v.getType()).getDimSize(0)};
      if (e[0] != e[1] || e[1] != e[2])
        return fail(m.pv, "Q, K and V batch · heads extents differ");
      return success();
    }
    if (m.k) {
      auto [k, kGroup] = unrepeat(m.k);
      auto [v, vGroup] = unrepeat(m.v);
      if (kGroup > 1 && kGroup == vGroup) {
        m.k = k;
        m.v = v;
        m.kvGroup = kGroup;
      }
    }
    auto qType = cast<RankedTensorType>(m.q.getType());
    auto ktType = cast<RankedTensorType>(m.kt.getType());
    auto vType = cast<RankedTensorType>(m.v.getType());
    if (qType.getDimSize(0) != ktType.getDimSize(0) ||
        ktType.getDimSize(0) != vType.getDimSize(0))
      return fail(m.pv, "Q, K and V batch extents differ (attn.sdpa does not "
                        "broadcast the batch)");
    if (m.kvGroup > 1)
      return success();
    int64_t hq = qType.getDimSize(1);
    Value kHeads = m.k ? m.k : m.kt;
    int64_t hkv = cast<RankedTensorType>(kHeads.getType()).getDimSize(1);
    if (hkv == 1 && vType.getDimSize(1) == 1 && !ShapedType::isDynamic(hq)) {
      m.kvGroup = hq;
      return success();
    }
    // Equal head counts where they are known; where only the run knows
    // one, the generated code checks that they agree (attn.sdpa's run-time
    // requirements) before computing anything.
    int64_t hv = vType.getDimSize(1);
    auto agree = [](int64_t a, int64_t b) {
      return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
    };
    if (agree(hq, hkv) && agree(hq, hv) && agree(hkv, hv))
      return success();
    auto count = [](int64_t h) {
      return ShapedType::isDynamic(h) ? std::string("?") : std::to_string(h);
    };
    return fail(m.pv, "query heads and key/value heads differ (queries " +
                          count(hq) + ", keys " + count(hkv) + ", values " +
                          count(hv) + ") and are no repeat of each other");
  }

  /// x = expand(y, [B, H, N, D]) or tile(y, [1, H, 1, 1]) of one head y
  /// [B, 1, N, D] (multi-query attention) gives (y, H); nullopt for others.
  static std::optional<std::pair<Value, int64_t>> unbroadcastHead(Value x) {
    Operation *def = x.getDefiningOp();
    if (!def || !isa<ExpandOp, TileOp>(def))
      return std::nullopt;
    Value y = def->getOperand(0);
    auto yt = cast<RankedTensorType>(y.getType());
    auto xt = cast<RankedTensorType>(x.getType());
    if (yt.getRank() != 4 || xt.getRank() != 4 || yt.getDimSize(1) != 1)
      return std::nullopt;
    SmallVector<std::optional<int64_t>> target =
        getKnownElements(def->getOperand(1));
    int64_t h = xt.getDimSize(1);
    if (ShapedType::isDynamic(h) && target.size() == 4 && target[1])
      h = *target[1];
    if (ShapedType::isDynamic(h) || h < 2)
      return std::nullopt;
    // Every other axis is kept: a tile repeats it once, an expand keeps its
    // extent (a target of 1 or of the extent itself, or one read off it).
    for (int64_t d : {0, 2, 3}) {
      std::optional<int64_t> t = target.size() == 4 ? target[d] : std::nullopt;
      bool kept = isa<TileOp>(def)
                      ? t == 1
                      : (t && (*t == 1 || *t == yt.getDimSize(d))) ||
                            extentOf(x, d) == extentOf(y, d);
      if (!kept)
        return std::nullopt;
    }
    return std::pair(y, h);
  }

  /// x = reshape(expand(unsqueeze(y, 2), [B, Hkv, g, N, D]), [B, Hkv·g, N,
  /// D]) gives (y, g), as does a head broadcast (unbroadcastHead); anything
  /// else (x, 1).
  static std::pair<Value, int64_t> unrepeat(Value x) {
    if (auto broadcast = unbroadcastHead(x))
      return *broadcast;
    Operation *reshape = x.getDefiningOp();
    if (!reshape || !isa<ReshapeOp, ReshapeDynamicOp>(reshape))
      return {x, 1};
    auto expand = reshape->getOperand(0).getDefiningOp<ExpandOp>();
    if (!expand)
      return {x, 1};
    auto unsqueeze = expand.getInput().getDefiningOp<ExpandDimsOp>();
    if (!unsqueeze || unsqueeze.getSqueeze() ||
        unsqueeze.getAxes() != ArrayRef<int64_t>{2})
      return {x, 1};
    auto expanded = cast<RankedTensorType>(expand.getType());
    auto y = cast<RankedTensorType>(unsqueeze.getInput().getType());
    auto out = cast<RankedTensorType>(x.getType());
    if (expanded.getRank() != 5 || y.getRank() != 4 || out.getRank() != 4)
      return {x, 1};
    // The group: the expanded extent, or the expand's target entry where
    // that is known before the run.
    int64_t g = expanded.getDimSize(2);
    if (ShapedType::isDynamic(g)) {
      SmallVector<std::optional<int64_t>> target =
          getKnownElements(expand.getShape());
      if (target.size() == 5 && target[2])
        g = *target[2];
    }
    if (ShapedType::isDynamic(g) || g < 1)
      return {x, 1};
    // The result keeps y's batch, sequence and head size and has g times its
    // heads, wherever extents (or the reshape's target entries) are known.
    SmallVector<int64_t> expected(y.getShape());
    if (!ShapedType::isDynamic(expected[1]))
      expected[1] *= g;
    SmallVector<std::optional<int64_t>> target;
    if (auto r = dyn_cast<ReshapeDynamicOp>(reshape))
      target = getKnownElements(r.getShape());
    for (int64_t d = 0; d < 4; ++d) {
      if (ShapedType::isDynamic(expected[d]))
        continue;
      if (!out.isDynamicDim(d) && out.getDimSize(d) != expected[d])
        return {x, 1};
      if (target.size() == 4 && target[d] && *target[d] > 0 &&
          *target[d] != expected[d])
        return {x, 1};
    }
    return {unsqueeze.getInput(), g};
  }

  SoftmaxOp softmax;
  MatMulOp qk;
  AttentionMatch m;
};

/// Replaces an attn.shape of the scores [..., Nq, Nk] by the same extents
/// read off Q (batch, heads, Nq) and K (Nk; `kAxis` of `k`), which the
/// scores' product reads before it, so that nothing reads the scores once
/// they are fused.
void rebuildShapeReader(OpBuilder &b, ShapeOp reader, Value q, Value k,
                        int64_t kAxis) {
  b.setInsertionPoint(reader);
  int64_t rank = cast<RankedTensorType>(q.getType()).getRank();
  auto i64 = b.getI64Type();
  SmallVector<Value> pieces;
  for (int64_t d = reader.getStart(); d < reader.getEnd(); ++d) {
    Value from = d == rank - 1 ? k : q;
    int64_t axis = d == rank - 1 ? kAxis : d;
    pieces.push_back(b.create<ShapeOp>(
        reader.getLoc(), RankedTensorType::get({1}, i64), from,
        b.getI64IntegerAttr(axis), b.getI64IntegerAttr(axis + 1), nullptr));
  }
  Value shape =
      pieces.size() == 1
          ? pieces.front()
          : b.create<ConcatOp>(reader.getLoc(), reader.getType(), pieces,
                               b.getI64IntegerAttr(0), nullptr)
                .getResult();
  reader.replaceAllUsesWith(shape);
  reader.erase();
}

SdpaOp rewrite(AttentionMatch &m) {
  OpBuilder b(m.pv);
  int64_t rank = cast<RankedTensorType>(m.q.getType()).getRank();
  for (ShapeOp reader : m.chain.shapeReaders)
    rebuildShapeReader(b, reader, m.q, m.k ? m.k : m.kt,
                       m.k ? rank - 2 : rank - 1);
  b.setInsertionPoint(m.pv);
  Location loc = m.pv.getLoc();
  Type element = cast<RankedTensorType>(m.q.getType()).getElementType();
  Type resultType = m.pv.getType();
  if (m.rank == 3) {
    // [B·H, N, D] as [1, B·H, N, D]; masks broadcast from the right alike.
    m.q = unitAxis(b, loc, m.q, 0, false);
    m.kt = unitAxis(b, loc, m.kt, 0, false);
    if (m.k)
      m.k = unitAxis(b, loc, m.k, 0, false);
    m.v = unitAxis(b, loc, m.v, 0, false);
    auto t = cast<RankedTensorType>(resultType);
    SmallVector<int64_t> shape(t.getShape());
    shape.insert(shape.begin(), 1);
    resultType = RankedTensorType::get(shape, t.getElementType());
  }
  if (!m.k)
    m.k = swapLast(b, loc, m.kt);
  Value mask = combineMasks(b, loc, m.chain, element);
  auto sdpa = b.create<SdpaOp>(loc, resultType, m.q, m.k, m.v, mask,
                               m.chain.scale, /*causal=*/false, m.kvGroup);
  if (m.zeroMaskedRows)
    sdpa.setZeroMaskedRows(true);
  if (m.chain.softcap)
    sdpa.setSoftcapAttr(b.getF64FloatAttr(*m.chain.softcap));
  recognizeCausalMask(sdpa);
  Value result = sdpa.getResult();
  if (m.rank == 3)
    result = unitAxis(b, loc, result, 0, true);
  m.pv.getResult().replaceAllUsesWith(result);
  m.pv.erase();
  return sdpa;
}

/// The fused op as the report names it: "attn.sdpa (causal, mask, ...)".
std::string describeSdpa(SdpaOp sdpa) {
  SmallVector<std::string> parts;
  if (sdpa.getCausal())
    parts.push_back(sdpa.getCausalOffset()
                        ? "causal offset " +
                              std::to_string(sdpa.getCausalOffset())
                        : "causal");
  if (sdpa.getMask())
    parts.push_back(getElementTypeOrSelf(sdpa.getMask().getType()).isInteger(1)
                        ? "boolean mask"
                        : "additive mask");
  if (sdpa.getKvGroup() > 1)
    parts.push_back("kv_group " + std::to_string(sdpa.getKvGroup()));
  if (std::optional<APFloat> cap = sdpa.getSoftcap())
    parts.push_back("softcap " +
                    llvm::formatv("{0}", cap->convertToDouble()).str());
  std::string text = "attn.sdpa";
  if (!parts.empty())
    text += " (" + llvm::join(parts, ", ") + ")";
  return text;
}

struct AttnFuseAttentionPass
    : public mlir::attn::impl::AttnFuseAttentionBase<AttnFuseAttentionPass> {
  using AttnFuseAttentionBase::AttnFuseAttentionBase;

  void runOnOperation() override {
    DenseSet<Operation *> fusedHere;
    SmallVector<SoftmaxOp> candidates;
    getOperation().walk([&](SoftmaxOp s) { candidates.push_back(s); });
    for (SoftmaxOp softmax : candidates) {
      AttentionMatcher matcher(softmax);
      FailureOr<AttentionMatch> m = matcher.match();
      if (succeeded(m)) {
        SdpaOp sdpa = rewrite(*m);
        fusedHere.insert(sdpa);
        if (report)
          softmax.emitRemark("fusion: attention softmax ")
              << describeNode(softmax) << " fused into " << describeSdpa(sdpa);
        continue;
      }
      Mismatch mismatch = matcher.mismatch;
      if (isGraphCandidate(softmax)) {
        mismatch = {};
        if (succeeded(fuseGraphAttention(softmax, mismatch))) {
          if (report)
            softmax.emitRemark("fusion: attention softmax ")
                << describeNode(softmax) << " fused into "
                << "attn.graph_attention";
          continue;
        }
      } else if (isAdditiveCandidate(softmax)) {
        mismatch = {};
        if (succeeded(fuseAdditiveAttention(softmax, mismatch))) {
          if (report)
            softmax.emitRemark("fusion: attention softmax ")
                << describeNode(softmax) << " fused into "
                << "attn.additive_attention";
          continue;
        }
      }
      if (report)
        softmax.emitRemark("fusion: attention softmax ")
            << describeNode(softmax) << " not fused: " << mismatch.why
            << " (at " << describeNode(mismatch.at) << ")";
    }
    // Hard attention: an argmax over scores whose indices select value rows.
    SmallVector<ArgMaxOp> argmaxes;
    getOperation().walk([&](ArgMaxOp a) {
      if (isHardCandidate(a))
        argmaxes.push_back(a);
    });
    for (ArgMaxOp argmax : argmaxes) {
      Mismatch mismatch;
      bool fused = succeeded(fuseHardAttention(argmax, mismatch));
      if (!report)
        continue;
      if (fused)
        argmax.emitRemark("fusion: attention argmax ")
            << describeNode(argmax) << " fused into attn.hard_attention";
      else
        argmax.emitRemark("fusion: attention argmax ")
            << describeNode(argmax) << " not fused: " << mismatch.why << " (at "
            << describeNode(mismatch.at) << ")";
    }
    // Attention imported as one op (ONNX Attention, com.microsoft) may have
    // its causal mask built in the graph too.
    // (The fused ones were looked at as they were made.)
    getOperation().walk([&](SdpaOp sdpa) {
      if (fusedHere.contains(sdpa))
        return;
      recognizeCausalMask(sdpa);
      if (report)
        sdpa.emitRemark("fusion: attention ")
            << describeNode(sdpa) << " exported as one op";
    });
    // The chains the fused ops replaced.
    eraseDeadAttnOps(getOperation());
  }
};

} // namespace
