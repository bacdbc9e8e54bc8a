//===- ExposeProbs.cpp - Attention probabilities as results ----*- C++ -*-===//
//
// attn-expose-probs: for the attn.sdpa ops a user names, the probabilities
// that the fused op never stores are recomputed by plain ops and returned as
// extra results of the function.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNEXPOSEPROBS
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// The probabilities attn.sdpa `op` computes internally, rebuilt next to it
/// (masked keys score the lowest float, as in the fused op).
FailureOr<Value> buildProbs(SdpaOp op) {
  OpBuilder b(op);
  ScoresOptions options;
  options.scale = op.getEffectiveScale();
  if (auto cap = op.getSoftcap())
    options.softcap = cap->convertToDouble();
  options.causal = op.getCausal();
  options.causalOffset = op.getCausalOffset();
  options.zeroMaskedRows = op.getZeroMaskedRows();
  options.maskedValue = std::numeric_limits<float>::lowest();
  return buildAttentionScores(b, op.getLoc(), op.getQ(), op.getK(),
                              op.getMask(), options);
}

struct AttnExposeProbsPass
    : public mlir::attn::impl::AttnExposeProbsBase<AttnExposeProbsPass> {
  using AttnExposeProbsBase::AttnExposeProbsBase;

  void runOnOperation() override {
    if (ops.empty())
      return;
    bool all = llvm::is_contained(ops, "all");
    llvm::SmallVector<bool> used(ops.size(), false);
    std::vector<std::string> available;
    getOperation().walk([&](func::FuncOp func) {
      // Fused attention, and the softmaxes of attention left unfused (a
      // softmax whose result multiplies values).
      SmallVector<std::pair<Operation *, std::string>> chosen;
      func.walk([&](Operation *op) {
        bool unfused = isa<SoftmaxOp>(op) &&
                       llvm::any_of(op->getUsers(), [&](Operation *user) {
                         auto mm = dyn_cast<MatMulOp>(user);
                         return mm && mm.getLhs() == op->getResult(0);
                       });
        if (!isa<SdpaOp>(op) && !unfused)
          return;
        std::string name = getNodeName(op->getLoc());
        if (name.empty())
          name = "attention" + std::to_string(available.size());
        available.push_back(name);
        bool match = all;
        for (auto [i, want] : llvm::enumerate(ops))
          if (want != "all" && name.find(want) != std::string::npos)
            match = used[i] = true;
        if (match)
          chosen.emplace_back(op, name);
      });
      if (chosen.empty())
        return;
      auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
      SmallVector<Value> results(ret.getOperands());
      SmallVector<std::string> names;
      for (auto &[op, name] : chosen) {
        auto sdpa = dyn_cast<SdpaOp>(op);
        FailureOr<Value> probs = sdpa ? buildProbs(sdpa) : op->getResult(0);
        if (failed(probs))
          return signalPassFailure();
        results.push_back(*probs);
        names.push_back(name + "_probs");
      }
      unsigned before = func.getNumResults();
      OpBuilder b(ret);
      b.create<func::ReturnOp>(ret.getLoc(), results);
      ret.erase();
      SmallVector<Type> types;
      for (Value v : results)
        types.push_back(v.getType());
      func.setType(
          FunctionType::get(&getContext(), func.getArgumentTypes(), types));
      for (auto [i, name] : llvm::enumerate(names))
        func.setResultAttr(before + i, "attn.name", b.getStringAttr(name));
    });
    for (auto [i, want] : llvm::enumerate(ops)) {
      if (want == "all" || used[i])
        continue;
      std::string list;
      for (const std::string &n : available)
        list += (list.empty() ? "'" : ", '") + n + "'";
      emitError(getOperation().getLoc(), "--attention-probs names '")
          << want << "', which matches no attention op (attention ops: "
          << (list.empty() ? std::string("none") : list) << ")";
      return signalPassFailure();
    }
  }
};

} // namespace
