//===- AttentionMatching.cpp - Shared pieces of the attention matchers ---===//
//
// The score chain between the product computing attention scores and the
// softmax or argmax consuming them (see AttentionMatching.h).
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

bool mlir::attn::fusion::isMaskFill(Value value) {
  std::optional<double> c = getScalarConstant(value);
  return c && *c <= -1e4;
}

namespace {

/// The ops that compute scores before any scale or mask.
bool isScoreCore(Operation *op) {
  if (isa<MatMulOp>(op))
    return true;
  if (auto squeeze = dyn_cast<ExpandDimsOp>(op))
    return squeeze.getSqueeze() &&
           squeeze.getInput().getDefiningOp<MatMulOp>() != nullptr;
  auto reduce = dyn_cast<ReduceOp>(op);
  return reduce && reduce.getKind() == "sum";
}

/// Whether `value` is computed from a score core through ops of the scores
/// chain (so it is the scores side of an add or where).
bool leadsToScores(Value value) {
  for (int steps = 0; steps < 16; ++steps) {
    Operation *def = value.getDefiningOp();
    if (!def)
      return false;
    if (isScoreCore(def))
      return true;
    if (isa<MulOp, DivOp>(def)) {
      value = getScalarConstant(def->getOperand(1)) ? def->getOperand(0)
                                                    : def->getOperand(1);
      continue;
    }
    if (isa<TanhOp>(def)) {
      value = def->getOperand(0);
      continue;
    }
    if (auto add = dyn_cast<AddOp>(def))
      return leadsToScores(add.getLhs()) || leadsToScores(add.getRhs());
    if (auto select = dyn_cast<SelectOp>(def))
      // A LeakyReLU: graph attention's scores, whatever computes its terms.
      return matchLeakyRelu(select) || leadsToScores(select.getLhs()) ||
             leadsToScores(select.getRhs());
    return false;
  }
  return false;
}

/// Whether `m` holds only 0s and 1s: a boolean cast to a number, or a
/// constant of 0s and 1s (a causal buffer) sliced, expanded or reshaped.
bool isBinaryMask(Value m) {
  for (int steps = 0; steps < 16 && m; ++steps) {
    Operation *def = m.getDefiningOp();
    if (!def)
      return false;
    if (auto cast = dyn_cast<CastOp>(def)) {
      if (getElementTypeOrSelf(cast.getInput().getType()).isInteger(1))
        return true;
      m = cast.getInput();
      continue;
    }
    if (isa<SliceOp, ExpandOp, ExpandDimsOp, ReshapeOp, ReshapeDynamicOp,
            TransposeOp>(def)) {
      m = def->getOperand(0);
      continue;
    }
    std::optional<SmallVector<double>> values =
        getConstantValues(m, /*maxElements=*/int64_t(1) << 22);
    return values &&
           llvm::all_of(*values, [](double v) { return v == 0.0 || v == 1.0; });
  }
  return false;
}

/// `s · m − c · (1 − m)` (either order of each product) with m of 0s and
/// 1s and c at least 10000: the scores s where m is 1, −c where it is 0, as
/// early GPT-2 applies its causal buffer. Returns s and m.
std::optional<std::pair<Value, Value>> multiplicativeMask(SubOp sub) {
  auto product = sub.getLhs().getDefiningOp<MulOp>();
  auto penalty = sub.getRhs().getDefiningOp<MulOp>();
  if (!product || !penalty || !product->hasOneUse() || !penalty->hasOneUse())
    return std::nullopt;
  SubOp complement;
  for (auto [c, rest] : {std::pair(penalty.getLhs(), penalty.getRhs()),
                         std::pair(penalty.getRhs(), penalty.getLhs())}) {
    std::optional<double> value = getScalarConstant(c);
    if (value && *value >= 1e4)
      complement = rest.getDefiningOp<SubOp>();
    if (complement)
      break;
  }
  if (!complement || getScalarConstant(complement.getLhs()) != 1.0)
    return std::nullopt;
  Value m = complement.getRhs();
  Value s = product.getLhs() == m   ? product.getRhs()
            : product.getRhs() == m ? product.getLhs()
                                    : Value();
  if (!s || !isBinaryMask(m))
    return std::nullopt;
  return std::pair(s, m);
}

/// Whether the scores `s` have one user that reads their values; users that
/// read only their extents (attn.shape) are recorded in `chain`.
bool hasOneValueUse(Value s, ScoreChain &chain) {
  int values = 0;
  SmallVector<ShapeOp> readers;
  for (Operation *user : s.getUsers()) {
    if (auto shape = dyn_cast<ShapeOp>(user))
      readers.push_back(shape);
    else
      ++values;
  }
  if (values != 1)
    return false;
  chain.shapeReaders.append(readers);
  return true;
}

/// `c · tanh(s / c)` (or `tanh(s · (1/c)) · c`, either order of each
/// product) with c > 0: returns s and c.
std::optional<std::pair<Value, double>> softCap(MulOp mul) {
  for (auto [cap, rest] : {std::pair(mul.getRhs(), mul.getLhs()),
                           std::pair(mul.getLhs(), mul.getRhs())}) {
    std::optional<double> c = getScalarConstant(cap);
    auto tanh = rest.getDefiningOp<TanhOp>();
    if (!c || *c <= 0.0 || !tanh || !tanh->hasOneUse())
      continue;
    Operation *inner = tanh.getInput().getDefiningOp();
    if (!inner || !inner->hasOneUse())
      continue;
    auto near = [&](std::optional<double> v) {
      return v && std::abs(*v - *c) <= 1e-6 * *c;
    };
    if (auto div = dyn_cast<DivOp>(inner);
        div && near(getScalarConstant(div.getRhs())))
      return std::pair(div.getLhs(), *c);
    if (auto scaled = dyn_cast<MulOp>(inner)) {
      for (auto [k, x] : {std::pair(scaled.getRhs(), scaled.getLhs()),
                          std::pair(scaled.getLhs(), scaled.getRhs())}) {
        std::optional<double> inv = getScalarConstant(k);
        if (inv && *inv != 0.0 && near(1.0 / *inv))
          return std::pair(x, *c);
      }
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<std::pair<Value, double>>
mlir::attn::fusion::matchLeakyRelu(SelectOp select) {
  Value cond = select.getCond();
  // The comparison with 0 and the branch holding x itself.
  Value x, scaledBranch;
  auto isZero = [](Value v) { return getScalarConstant(v) == 0.0; };
  if (auto less = cond.getDefiningOp<LessOp>(); less && isZero(less.getRhs())) {
    x = less.getLhs();
    scaledBranch = select.getLhs();
    if (select.getRhs() != x)
      return std::nullopt;
  } else if (auto greater = cond.getDefiningOp<GreaterOp>();
             greater && isZero(greater.getRhs())) {
    x = greater.getLhs();
    scaledBranch = select.getRhs();
    if (select.getLhs() != x)
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  auto mul = scaledBranch.getDefiningOp<MulOp>();
  if (!mul)
    return std::nullopt;
  for (auto [k, y] : {std::pair(mul.getRhs(), mul.getLhs()),
                      std::pair(mul.getLhs(), mul.getRhs())})
    if (std::optional<double> slope = getScalarConstant(k); slope && y == x)
      return std::pair(x, *slope);
  return std::nullopt;
}

LogicalResult mlir::attn::fusion::peelScores(Value s, Operation *anchor,
                                             ScoreChain &chain,
                                             Mismatch &mismatch) {
  for (int steps = 0; steps < 16; ++steps) {
    Operation *def = s.getDefiningOp();
    if (!def)
      return mismatch.fail(anchor, "the scores are a function argument, not "
                                   "computed from queries and keys");
    if (isScoreCore(def)) {
      if (!hasOneValueUse(s, chain))
        return mismatch.fail(def, "the scores have other users");
      chain.core = def;
      return success();
    }
    if (!hasOneValueUse(s, chain))
      return mismatch.fail(def, "the scores have other users at this step");
    // A float-to-float cast (a softmax computed in float32 for 16-bit
    // models): the fused ops compute in float32 at least anyway.
    if (auto c = dyn_cast<CastOp>(def);
        c && isa<FloatType>(getElementTypeOrSelf(c.getInput().getType()))) {
      s = c.getInput();
      continue;
    }
    if (auto mul = dyn_cast<MulOp>(def)) {
      if (auto capped = softCap(mul)) {
        if (chain.softcap)
          return mismatch.fail(mul, "the scores are soft-capped twice");
        if (chain.scale != 1.0)
          return mismatch.fail(mul, "the scores are scaled after their soft "
                                    "cap c · tanh(s / c)");
        chain.softcap = capped->second;
        s = capped->first;
        continue;
      }
      if (auto c = getScalarConstant(mul.getRhs())) {
        chain.scale *= *c;
        s = mul.getLhs();
        continue;
      }
      if (auto c = getScalarConstant(mul.getLhs())) {
        chain.scale *= *c;
        s = mul.getRhs();
        continue;
      }
      return mismatch.fail(mul, "the scores are multiplied by a value that "
                                "is not one scalar constant (a scale varying "
                                "per element)");
    }
    if (auto div = dyn_cast<DivOp>(def)) {
      auto c = getScalarConstant(div.getRhs());
      if (!c || *c == 0.0)
        return mismatch.fail(div, "the scores are divided by a value that is "
                                  "not one non-zero scalar constant");
      chain.scale /= *c;
      s = div.getLhs();
      continue;
    }
    if (auto add = dyn_cast<AddOp>(def)) {
      // The mask is the addend that does not lead back to the scores.
      bool lhsScores = leadsToScores(add.getLhs());
      bool rhsScores = leadsToScores(add.getRhs());
      if (lhsScores == rhsScores)
        return mismatch.fail(add, lhsScores
                                      ? "both addends depend on the scores"
                                      : "neither addend leads to the scores' "
                                        "product");
      if (chain.softcap)
        return mismatch.fail(add, "a mask added inside the soft cap "
                                  "c · tanh(s / c)");
      chain.additiveMasks.push_back(lhsScores ? add.getRhs() : add.getLhs());
      s = lhsScores ? add.getLhs() : add.getRhs();
      continue;
    }
    if (chain.softcap && isa<SelectOp, SubOp>(def))
      return mismatch.fail(def, "a mask applied inside the soft cap "
                                "c · tanh(s / c)");
    if (auto select = dyn_cast<SelectOp>(def)) {
      if (chain.acceptLeakyRelu && matchLeakyRelu(select)) {
        chain.core = select;
        return success();
      }
      Value cond = select.getCond(), t = select.getLhs(), f = select.getRhs();
      if (isMaskFill(f) && leadsToScores(t)) {
        chain.keepMasks.push_back(cond);
        s = t;
        continue;
      }
      if (isMaskFill(t) && leadsToScores(f)) {
        chain.dropMasks.push_back(cond);
        s = f;
        continue;
      }
      if (leadsToScores(t) && leadsToScores(f))
        return mismatch.fail(select,
                             "a piecewise function of the scores (a 'where' "
                             "choosing between two functions of them, as "
                             "LeakyReLU is imported), which attn.sdpa does "
                             "not apply");
      return mismatch.fail(select, "a 'where' on the scores whose other "
                                   "branch is not a masked-score constant "
                                   "(-inf, the lowest float or at most "
                                   "-10000)");
    }
    if (auto sub = dyn_cast<SubOp>(def)) {
      if (auto masked = multiplicativeMask(sub)) {
        chain.binaryKeepMasks.push_back(masked->second);
        s = masked->first;
        continue;
      }
      return mismatch.fail(sub, "a subtraction on the scores that is not "
                                "s · m − c · (1 − m) with m of 0s and 1s "
                                "and c at least 10000");
    }
    return mismatch.fail(def, "'" + def->getName().getStringRef().str() +
                                  "' between the scores' product and the " +
                                  anchor->getName().stripDialect().str() +
                                  " is not a scale or a mask");
  }
  return mismatch.fail(anchor, "no product of queries and keys within 16 "
                               "steps");
}

Value mlir::attn::fusion::unitAxis(OpBuilder &b, Location loc, Value x,
                                   int64_t axis, bool squeeze) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(t.getShape());
  if (squeeze)
    shape.erase(shape.begin() + axis);
  else
    shape.insert(shape.begin() + axis, 1);
  return b.create<ExpandDimsOp>(
      loc, RankedTensorType::get(shape, t.getElementType()), x,
      b.getDenseI64ArrayAttr({axis}), squeeze, nullptr);
}

Value mlir::attn::fusion::swapLast(OpBuilder &b, Location loc, Value x) {
  auto t = cast<RankedTensorType>(x.getType());
  int64_t rank = t.getRank();
  SmallVector<int64_t> perm, shape;
  for (int64_t d = 0; d < rank; ++d)
    perm.push_back(d < rank - 2 ? d : 2 * rank - 3 - d);
  for (int64_t d : perm)
    shape.push_back(t.getDimSize(d));
  return b.create<TransposeOp>(loc,
                               RankedTensorType::get(shape, t.getElementType()),
                               x, b.getDenseI64ArrayAttr(perm), nullptr);
}

Value mlir::attn::fusion::unswapLast(Value x) {
  auto t = x.getDefiningOp<TransposeOp>();
  if (!t)
    return nullptr;
  ArrayRef<int64_t> perm = t.getPerm();
  int64_t rank = perm.size();
  for (int64_t d = 0; d < rank; ++d)
    if (perm[d] != (d < rank - 2 ? d : 2 * rank - 3 - d))
      return nullptr;
  return t.getInput();
}

Value mlir::attn::fusion::combineMasks(OpBuilder &b, Location loc,
                                       const ScoreChain &m, Type element) {
  auto broadcastType = [](Value x, Value y, Type t) {
    auto xs = cast<RankedTensorType>(x.getType()).getShape();
    auto ys = cast<RankedTensorType>(y.getType()).getShape();
    return RankedTensorType::get(*broadcastShapes(xs, ys), t);
  };
  Value keep;
  auto i1 = b.getI1Type();
  SmallVector<Value> keepMasks(m.keepMasks);
  for (Value mask : m.binaryKeepMasks)
    keepMasks.push_back(b.create<CastOp>(
        loc,
        RankedTensorType::get(cast<RankedTensorType>(mask.getType()).getShape(),
                              i1),
        mask, nullptr));
  for (Value mask : keepMasks)
    keep = keep ? b.create<AndOp>(loc, broadcastType(keep, mask, i1), keep,
                                  mask, nullptr)
                : mask;
  for (Value mask : m.dropMasks) {
    Value kept = b.create<NotOp>(loc, mask.getType(), mask, nullptr);
    keep = keep ? b.create<AndOp>(loc, broadcastType(keep, kept, i1), keep,
                                  kept, nullptr)
                : kept;
  }
  Value additive;
  for (Value mask : m.additiveMasks)
    additive =
        additive ? b.create<AddOp>(loc, broadcastType(additive, mask, element),
                                   additive, mask, nullptr)
                 : mask;
  if (!additive)
    return keep;
  if (!keep)
    return additive;
  // Both kinds: masked keys get the lowest finite value added, which
  // attn.sdpa reads as a masked key (a computed -inf would not survive the
  // kernels' fast math).
  auto scalarType = RankedTensorType::get({}, element);
  auto floatType = cast<FloatType>(element);
  Value negInf = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(
               scalarType,
               FloatAttr::get(element,
                              APFloat::getLargest(floatType.getFloatSemantics(),
                                                  /*Negative=*/true))));
  return b.create<SelectOp>(loc, broadcastType(keep, additive, element), keep,
                            additive, negInf, nullptr);
}
