//===- FuseSdpa.cpp - Fuse attention chains into attn.sdpa -----*- C++ -*-===//
//
// Recognizes the scaled dot-product attention chain the way ONNX exporters
// write it and replaces it with one attn.sdpa:
//
//   matmul(softmax(scale(matmul(Q, Kᵀ)) [+ mask], -1), V)
//
// Each failed step says why through notifyMatchFailure (visible with
// `-debug-only=greedy-rewriter`), so a chain that does not fuse can be
// diagnosed.
//
//===----------------------------------------------------------------------===//

#include "attnc/Passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNFUSESDPA
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Returns the value of a floating-point constant with a single value (a
/// splat, or a tensor of one element).
std::optional<double> getScalarConstant(Value value) {
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  if (!isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  if (!attr.isSplat() && attr.getNumElements() != 1)
    return std::nullopt;
  return (*attr.getValues<APFloat>().begin()).convertToDouble();
}

bool hasOneUse(Value value) { return value.hasOneUse(); }

struct FuseSdpaPattern : public OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp pv,
                                PatternRewriter &rewriter) const override {
    // softmax(...) · V
    auto softmax = pv.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax)
      return rewriter.notifyMatchFailure(pv, "lhs is not a softmax");
    Value v = pv.getRhs();
    int64_t rank = softmax.getType().getRank();
    if (rank != 4)
      return rewriter.notifyMatchFailure(pv, "scores are not of rank 4");
    if (softmax.getNormalizedAxis() != rank - 1)
      return rewriter.notifyMatchFailure(softmax,
                                         "softmax is not over the key axis");
    if (!hasOneUse(softmax.getResult()))
      return rewriter.notifyMatchFailure(
          softmax, "attention probabilities have other users");

    // Optional additive mask.
    Value scores = softmax.getInput();
    Value mask;
    if (auto add = scores.getDefiningOp<AddOp>()) {
      if (!hasOneUse(add.getResult()))
        return rewriter.notifyMatchFailure(add, "masked scores have other "
                                                "users");
      // The scores are the operand that comes from the Q·Kᵀ chain.
      auto fromScores = [](Value x) {
        Operation *def = x.getDefiningOp();
        return def && isa<MatMulOp, MulOp, DivOp>(def);
      };
      if (fromScores(add.getLhs())) {
        scores = add.getLhs();
        mask = add.getRhs();
      } else if (fromScores(add.getRhs())) {
        scores = add.getRhs();
        mask = add.getLhs();
      } else {
        return rewriter.notifyMatchFailure(add, "neither addend is Q·Kᵀ");
      }
    }

    // Optional scale by a scalar constant.
    double scale = 1.0;
    Value qk = scores;
    if (auto mul = scores.getDefiningOp<MulOp>()) {
      std::optional<double> c = getScalarConstant(mul.getRhs());
      qk = mul.getLhs();
      if (!c) {
        c = getScalarConstant(mul.getLhs());
        qk = mul.getRhs();
      }
      if (!c)
        return rewriter.notifyMatchFailure(mul, "scale is not a scalar "
                                                "constant");
      if (!hasOneUse(mul.getResult()))
        return rewriter.notifyMatchFailure(mul, "scaled scores have other "
                                                "users");
      scale = *c;
    } else if (auto div = scores.getDefiningOp<DivOp>()) {
      std::optional<double> c = getScalarConstant(div.getRhs());
      if (!c)
        return rewriter.notifyMatchFailure(div, "divisor is not a scalar "
                                                "constant");
      if (!hasOneUse(div.getResult()))
        return rewriter.notifyMatchFailure(div, "scaled scores have other "
                                                "users");
      scale = 1.0 / *c;
      qk = div.getLhs();
    }

    // Q · Kᵀ with K transposed on its last two axes.
    auto qkMatmul = qk.getDefiningOp<MatMulOp>();
    if (!qkMatmul)
      return rewriter.notifyMatchFailure(pv, "scores are not a matmul");
    if (!hasOneUse(qkMatmul.getResult()))
      return rewriter.notifyMatchFailure(qkMatmul, "scores have other users");
    // Kᵀ as written, or any [B, H, D, Nk] value (K transposed by its
    // producer, as the exporters' head split often does): K is its
    // transpose, which canonicalization folds into that producer.
    Value q = qkMatmul.getLhs();
    Value kt = qkMatmul.getRhs();
    Value k;
    if (auto t = kt.getDefiningOp<TransposeOp>();
        t && t.getPerm() == ArrayRef<int64_t>{0, 1, 3, 2})
      k = t.getInput();
    auto ktType = cast<RankedTensorType>(kt.getType());
    if (ktType.getRank() != 4)
      return rewriter.notifyMatchFailure(qkMatmul, "Kᵀ is not of rank 4");
    auto qType = cast<RankedTensorType>(q.getType());
    auto kType =
        k ? cast<RankedTensorType>(k.getType())
          : RankedTensorType::get({ktType.getDimSize(0), ktType.getDimSize(1),
                                   ktType.getDimSize(3), ktType.getDimSize(2)},
                                  ktType.getElementType());
    auto vType = cast<RankedTensorType>(v.getType());
    if (qType.getRank() != 4 || kType.getRank() != 4 || vType.getRank() != 4)
      return rewriter.notifyMatchFailure(pv, "Q, K or V is not of rank 4");

    // Heads: equal, or one K/V head shared by every query head.
    int64_t kvGroup = 1;
    int64_t hq = qType.getDimSize(1), hk = kType.getDimSize(1);
    if (hk != hq || ShapedType::isDynamic(hq)) {
      if (hk == 1 && !ShapedType::isDynamic(hq) && vType.getDimSize(1) == 1)
        kvGroup = hq;
      else if (hk != hq || vType.getDimSize(1) != hq)
        return rewriter.notifyMatchFailure(
            pv, "query and key/value heads do not match");
    }
    // Batch: the fused op does not broadcast it.
    if (qType.getDimSize(0) != kType.getDimSize(0) ||
        kType.getDimSize(0) != vType.getDimSize(0))
      return rewriter.notifyMatchFailure(pv, "batch extents differ");

    if (!k)
      k = rewriter.create<TransposeOp>(
          qkMatmul.getLoc(), kType, kt,
          rewriter.getDenseI64ArrayAttr({0, 1, 3, 2}), nullptr);
    rewriter.replaceOpWithNewOp<SdpaOp>(pv, pv.getType(), q, k, v, mask, scale,
                                        /*causal=*/false, kvGroup);
    return success();
  }
};

struct AttnFuseSdpaPass
    : public mlir::attn::impl::AttnFuseSdpaBase<AttnFuseSdpaPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSdpaPattern>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
