//===- ExposeProbs.cpp - Attention probabilities as results ----*- C++ -*-===//
//
// attn-expose-probs: for the attn.sdpa ops a user names, the probabilities
// that the fused op never stores are recomputed by plain ops and returned as
// extra results of the function.
//
//===----------------------------------------------------------------------===//

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

/// The node name an op's location carries (the first NameLoc in it).
std::string nodeName(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

class ProbsBuilder {
public:
  ProbsBuilder(SdpaOp op) : op(op), b(op), loc(op.getLoc()) {}

  /// softmax(scale · Q·Kᵀ + mask), causal positions masked.
  FailureOr<Value> build() {
    Value q = op.getQ(), k = op.getK();
    auto qType = op.getQ().getType();
    auto kType = op.getK().getType();
    Type element = qType.getElementType();
    int64_t batch = qType.getDimSize(0), heads = qType.getDimSize(1),
            nq = qType.getDimSize(2), nk = kType.getDimSize(2);
    int64_t group = op.getKvGroup();
    if (group > 1) {
      // Query head h reads key head h / group.
      if (ShapedType::isDynamic(heads))
        return op.emitOpError("needs a static head count to expose its "
                              "probabilities");
      SmallVector<int64_t> index;
      for (int64_t h = 0; h < heads; ++h)
        index.push_back(h / group);
      k = b.create<GatherOp>(
          loc,
          RankedTensorType::get({batch, heads, nk, kType.getDimSize(3)},
                                kType.getElementType()),
          k, i64Constant(index), b.getI64IntegerAttr(1), nullptr);
    }
    auto kt = b.create<TransposeOp>(
        loc,
        RankedTensorType::get({batch, heads, kType.getDimSize(3), nk},
                              kType.getElementType()),
        k, b.getDenseI64ArrayAttr({0, 1, 3, 2}), nullptr);
    auto scoresType = RankedTensorType::get({batch, heads, nq, nk}, element);
    Value s = b.create<MatMulOp>(loc, scoresType, q, kt, nullptr);
    s = b.create<MulOp>(loc, scoresType, s,
                        scalar(element, op.getEffectiveScale()), nullptr);
    if (auto cap = op.getSoftcap()) {
      Value c = scalar(element, cap->convertToDouble());
      s = b.create<MulOp>(
          loc, scoresType,
          b.create<TanhOp>(loc, scoresType,
                           b.create<DivOp>(loc, scoresType, s, c, nullptr),
                           nullptr),
          c, nullptr);
    }
    if (Value mask = op.getMask()) {
      auto maskType = cast<RankedTensorType>(mask.getType());
      if (maskType.getElementType().isInteger(1))
        s = b.create<SelectOp>(loc, scoresType, mask, s, lowest(element),
                               nullptr);
      else
        s = b.create<AddOp>(loc, scoresType, s, mask, nullptr);
    }
    if (op.getCausal())
      s = b.create<SelectOp>(loc, scoresType, causalKeep(nq, nk), s,
                             lowest(element), nullptr);
    Value p = b.create<SoftmaxOp>(loc, scoresType, s, b.getI64IntegerAttr(3),
                                  nullptr);
    if (!op.getZeroMaskedRows())
      return p;
    // A row whose keys are all masked is 0.
    auto rowType = RankedTensorType::get({batch, heads, nq, 1}, element);
    Value rowMax = b.create<ReduceOp>(loc, rowType, s, b.getStringAttr("max"),
                                      b.getDenseI64ArrayAttr({3}),
                                      b.getBoolAttr(true), nullptr);
    Value allMasked = b.create<EqualOp>(
        loc, RankedTensorType::get({batch, heads, nq, 1}, b.getI1Type()),
        rowMax, lowest(element), nullptr);
    return b
        .create<SelectOp>(loc, scoresType, allMasked, scalar(element, 0.0), p,
                          nullptr)
        .getResult();
  }

private:
  Value i64Constant(ArrayRef<int64_t> values) {
    auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                      b.getI64Type());
    return b.create<ConstantOp>(loc, DenseElementsAttr::get(type, values));
  }
  Value i64Scalar(int64_t v) {
    return b.create<ConstantOp>(
        loc, DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                    ArrayRef<int64_t>{v}));
  }
  Value scalar(Type element, double v) {
    auto type = RankedTensorType::get({}, element);
    return b.create<ConstantOp>(
        loc, DenseElementsAttr::get(type, FloatAttr::get(element, v)));
  }
  Value lowest(Type element) {
    return scalar(element, std::numeric_limits<float>::lowest());
  }

  /// Positions 0..extent-1 of axis 2 of `of`, as i64 [extent].
  Value positions(Value of, int64_t extent) {
    auto i64 = b.getI64Type();
    auto scalarType = RankedTensorType::get({}, i64);
    Value shape = b.create<ShapeOp>(loc, RankedTensorType::get({4}, i64), of,
                                    b.getI64IntegerAttr(0),
                                    b.getI64IntegerAttr(4), nullptr);
    Value count = b.create<GatherOp>(loc, scalarType, shape, i64Scalar(2),
                                     b.getI64IntegerAttr(0), nullptr);
    return b.create<RangeOp>(loc, RankedTensorType::get({extent}, i64),
                             i64Scalar(0), count, i64Scalar(1), nullptr);
  }

  /// keep[i, j] = j <= i + causal_offset, as attn.sdpa's `causal`.
  Value causalKeep(int64_t nq, int64_t nk) {
    auto i64 = b.getI64Type();
    Value rowPositions = positions(op.getQ(), nq);
    if (int64_t offset = op.getCausalOffset())
      rowPositions = b.create<AddOp>(loc, rowPositions.getType(), rowPositions,
                                     i64Scalar(offset), nullptr);
    Value rows = b.create<ExpandDimsOp>(
        loc, RankedTensorType::get({nq, 1}, i64), rowPositions,
        b.getDenseI64ArrayAttr({1}), UnitAttr(), nullptr);
    Value cols = positions(op.getK(), nk);
    auto boolType = RankedTensorType::get({nq, nk}, b.getI1Type());
    Value after = b.create<GreaterOp>(loc, boolType, cols, rows, nullptr);
    return b.create<NotOp>(loc, boolType, after, nullptr);
  }

  SdpaOp op;
  OpBuilder b;
  Location loc;
};

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
        std::string name = nodeName(op->getLoc());
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
        FailureOr<Value> probs =
            sdpa ? ProbsBuilder(sdpa).build() : op->getResult(0);
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
