//===- FuseNormAct.cpp - Fuse norms and GELUs from primitives --*- C++ -*-===//
//
// attn-fuse-norm-act: normalizations and GELU activations written as
// primitive ops become attn.layer_norm and attn.gelu.
//
//   RMSNorm:   x · 1/sqrt(mean(x²) + ε) · w       (x² as pow(x, 2) or x·x;
//              1/sqrt as div(1, ·), reciprocal, or x / sqrt(·))
//   LayerNorm: d = x - mean(x); d / sqrt(mean(d²) + ε) · w + b
//   GELU:      0.5 · x · (1 + erf(x / √2))                 (x · (1/√2) too)
//              0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
//              (or BLOOM's √(2/π) · x · (1 + 0.044715 · x · x) inside)
//                                                     (x³ as pow or x·x·x)
//
// Products are matched as multisets of factors, so any association and
// order of the multiplications fuses. Candidates are every mean reduction
// over the last axis shaped like a norm, and every erf and tanh. With
// `report`, each gets a remark: fused, or which part failed and where.
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNFUSENORMACT
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using mlir::attn::fusion::Mismatch;

namespace {

bool near(std::optional<double> v, double want, double tol = 1e-4) {
  return v && std::abs(*v - want) <= tol * std::max(1.0, std::abs(want));
}

/// The relative tolerance to which a constant of `value`'s element type
/// holds a real number (a bfloat16 √(2/π) is 0.796875).
double typeTolerance(Value value) {
  Type element = getElementTypeOrSelf(value.getType());
  if (element.isBF16())
    return 1e-2;
  if (element.isF16())
    return 2e-3;
  return 1e-4;
}

/// Whether `value` is a scalar constant equal to `want` as far as its
/// element type can hold it.
bool isConstant(Value value, double want) {
  return near(getScalarConstant(value), want, typeTolerance(value));
}

/// The factors of a product: `root` and the single-use multiplications
/// under it are flattened; scalar constants multiply into `constant`.
void flattenProduct(Value v, bool isRoot, SmallVector<Value> &factors,
                    double &constant) {
  if (auto c = getScalarConstant(v)) {
    constant *= *c;
    return;
  }
  auto mul = v.getDefiningOp<MulOp>();
  if (mul && (isRoot || v.hasOneUse())) {
    flattenProduct(mul.getLhs(), false, factors, constant);
    flattenProduct(mul.getRhs(), false, factors, constant);
    return;
  }
  factors.push_back(v);
}

/// The topmost of the single-use multiplications that use `v`.
Operation *productRoot(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  Operation *cur = *v.getUsers().begin();
  if (!isa<MulOp>(cur))
    return nullptr;
  while (cur->getResult(0).hasOneUse() &&
         isa<MulOp>(*cur->getResult(0).getUsers().begin()))
    cur = *cur->getResult(0).getUsers().begin();
  return cur;
}

/// x for `x + 1` (either order), else null.
Value plusOne(Operation *op) {
  auto add = dyn_cast_or_null<AddOp>(op);
  if (!add)
    return nullptr;
  if (near(getScalarConstant(add.getRhs()), 1.0, 1e-9))
    return add.getLhs();
  if (near(getScalarConstant(add.getLhs()), 1.0, 1e-9))
    return add.getRhs();
  return nullptr;
}

//===----------------------------------------------------------------------===//
// GELU
//===----------------------------------------------------------------------===//

struct GeluMatch {
  Operation *root;
  Value x;
  StringRef approximate;
};

/// The rest of both forms: t = activation + 1, root = 0.5 · x · t.
FailureOr<GeluMatch> matchGeluProduct(Operation *activation, Value x,
                                      StringRef approximate, Mismatch &why) {
  Value act = activation->getResult(0);
  if (!act.hasOneUse() || !plusOne(*act.getUsers().begin())) {
    why = {activation, "its result is not used as 1 + " +
                           activation->getName().getStringRef().str() +
                           "(...) alone"};
    return failure();
  }
  Operation *add = *act.getUsers().begin();
  Operation *root = productRoot(add->getResult(0));
  if (!root) {
    why = {add, "1 + " + activation->getName().getStringRef().str() +
                    "(...) is not multiplied (by 0.5 · x)"};
    return failure();
  }
  SmallVector<Value> factors;
  double constant = 1.0;
  flattenProduct(root->getResult(0), true, factors, constant);
  bool hasX = llvm::is_contained(factors, x);
  bool hasT = llvm::is_contained(factors, add->getResult(0));
  if (factors.size() != 2 || !hasX || !hasT || !near(constant, 0.5, 1e-6)) {
    why = {root, "the product is not 0.5 · x · (1 + " +
                     activation->getName().getStringRef().str() + "(...))"};
    return failure();
  }
  return GeluMatch{root, x, approximate};
}

/// x · sigmoid(1.702 · x), GELU's sigmoid approximation. SiLU (x ·
/// sigmoid(x)) and other factors are not GELUs and are left alone.
std::optional<GeluMatch> matchSigmoidGelu(SigmoidOp sigmoid) {
  SmallVector<Value> inner;
  double c = 1.0;
  flattenProduct(sigmoid.getInput(), true, inner, c);
  if (inner.size() != 1 || !near(c, 1.702, typeTolerance(sigmoid.getInput())))
    return std::nullopt;
  Operation *root = productRoot(sigmoid.getResult());
  if (!root)
    return std::nullopt;
  SmallVector<Value> factors;
  double constant = 1.0;
  flattenProduct(root->getResult(0), true, factors, constant);
  if (factors.size() != 2 || !llvm::is_contained(factors, inner[0]) ||
      !llvm::is_contained(factors, sigmoid.getResult()) ||
      !near(constant, 1.0, 1e-6))
    return std::nullopt;
  return GeluMatch{root, inner[0], "sigmoid"};
}

FailureOr<GeluMatch> matchErfGelu(ErfOp erf, Mismatch &why) {
  Value arg = erf.getInput();
  Value x;
  if (auto div = arg.getDefiningOp<DivOp>();
      div && isConstant(div.getRhs(), M_SQRT2))
    x = div.getLhs();
  else if (auto mul = arg.getDefiningOp<MulOp>()) {
    if (isConstant(mul.getRhs(), M_SQRT1_2))
      x = mul.getLhs();
    else if (isConstant(mul.getLhs(), M_SQRT1_2))
      x = mul.getRhs();
  }
  if (!x || !arg.hasOneUse()) {
    why = {erf, "its argument is not x / √2 (or x · 1/√2) used only here"};
    return failure();
  }
  return matchGeluProduct(erf, x, "none", why);
}

FailureOr<GeluMatch> matchTanhGelu(TanhOp tanh, Mismatch &why) {
  const double c = std::sqrt(2.0 / M_PI);
  SmallVector<Value> factors;
  double constant = 1.0;
  Value arg = tanh.getInput();
  if (arg.hasOneUse())
    flattenProduct(arg, true, factors, constant);
  double tol = typeTolerance(arg);
  // BLOOM's factored form: √(2/π) · x · (1 + 0.044715 · x · x).
  if (factors.size() == 2 && near(constant, c, tol)) {
    for (int i = 0; i < 2; ++i) {
      Value x = factors[i], sum = factors[1 - i];
      auto add = sum.getDefiningOp<AddOp>();
      if (!add || !sum.hasOneUse())
        continue;
      Value square = isConstant(add.getLhs(), 1.0)   ? add.getRhs()
                     : isConstant(add.getRhs(), 1.0) ? add.getLhs()
                                                     : Value();
      if (!square || !square.hasOneUse())
        continue;
      SmallVector<Value> f;
      double k = 1.0;
      flattenProduct(square, true, f, k);
      if (near(k, 0.044715, tol) && f.size() == 2 && f[0] == x && f[1] == x)
        return matchGeluProduct(tanh, x, "tanh", why);
    }
  }
  auto inner =
      factors.size() == 1 ? factors[0].getDefiningOp<AddOp>() : AddOp();
  if (!inner || !near(constant, c, tol) || !factors[0].hasOneUse()) {
    why = {tanh, "its argument is not √(2/π) · (x + 0.044715 · x³)"};
    return failure();
  }
  // x + 0.044715 · x³, either order; x³ as pow(x, 3) or x · x · x.
  auto cubicOf = [&](Value term, Value x) {
    SmallVector<Value> f;
    double k = 1.0;
    if (!term.hasOneUse())
      return false;
    flattenProduct(term, true, f, k);
    if (!near(k, 0.044715, tol))
      return false;
    if (f.size() == 3)
      return llvm::all_of(f, [&](Value v) { return v == x; });
    if (f.size() == 1)
      if (auto pow = f[0].getDefiningOp<PowOp>())
        return pow.getLhs() == x &&
               near(getScalarConstant(pow.getRhs()), 3.0, 1e-9) &&
               f[0].hasOneUse();
    return false;
  };
  Value x;
  if (cubicOf(inner.getRhs(), inner.getLhs()))
    x = inner.getLhs();
  else if (cubicOf(inner.getLhs(), inner.getRhs()))
    x = inner.getRhs();
  if (!x) {
    why = {inner, "the tanh argument is not √(2/π) · (x + 0.044715 · x³)"};
    return failure();
  }
  return matchGeluProduct(tanh, x, "tanh", why);
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

struct NormMatch {
  Operation *root;
  Value x, scale, bias;
  double epsilon;
  bool rms;
};

bool isMeanOverLastAxis(ReduceOp r) {
  auto type = cast<RankedTensorType>(r.getInput().getType());
  return r.getKind() == "mean" && r.getKeepdims() && r.getAxes().size() == 1 &&
         (r.getAxes()[0] == type.getRank() - 1 || r.getAxes()[0] == -1);
}

/// y for y² written as pow(y, 2) or y · y.
Value squareOf(Value v) {
  if (auto pow = v.getDefiningOp<PowOp>())
    if (near(getScalarConstant(pow.getRhs()), 2.0, 1e-9))
      return pow.getLhs();
  if (auto mul = v.getDefiningOp<MulOp>())
    if (mul.getLhs() == mul.getRhs())
      return mul.getLhs();
  return nullptr;
}

/// A norm candidate: a mean over the last axis of a square (RMSNorm's
/// mean(x²), LayerNorm's variance) or one subtracted from its input
/// (LayerNorm's mean).
bool isNormCandidate(ReduceOp r) {
  if (r.getKind() != "mean")
    return false;
  if (squareOf(r.getInput()))
    return true;
  return llvm::any_of(r->getUsers(), [&](Operation *u) {
    auto sub = dyn_cast<SubOp>(u);
    return sub && sub.getLhs() == r.getInput() && sub.getRhs() == r;
  });
}

class NormMatcher {
public:
  explicit NormMatcher(ReduceOp mean) : mean(mean) {}

  FailureOr<NormMatch> match() {
    NormMatch m;
    Value centered;
    if (!isMeanOverLastAxis(mean))
      return fail(mean, "the mean is not over the last axis alone, with its "
                        "axis kept");
    // LayerNorm: this is mean(x), subtracted from x; the variance is
    // mean((x - mean)²) further on.
    if (!squareOf(mean.getInput())) {
      Value x = mean.getInput();
      SubOp sub;
      for (Operation *u : mean->getUsers())
        if (auto s = dyn_cast<SubOp>(u); s && s.getLhs() == x)
          sub = s;
      if (!sub || !mean->hasOneUse())
        return fail(mean, "the mean has users besides x - mean");
      centered = sub.getResult();
      ReduceOp var;
      for (Operation *u : centered.getUsers())
        if (Value sq = u->getNumResults() ? u->getResult(0) : Value();
            sq && squareOf(sq) == centered && sq.hasOneUse())
          if (auto r = dyn_cast<ReduceOp>(*sq.getUsers().begin());
              r && isMeanOverLastAxis(r))
            var = r;
      if (!var)
        return fail(sub, "x - mean is not squared and averaged over the "
                         "last axis (the variance)");
      m.x = x;
      m.rms = false;
      stats = var;
    } else {
      m.x = squareOf(mean.getInput());
      m.rms = true;
      stats = mean;
      // mean((x - mean(x))²) is LayerNorm's variance, matched from mean(x).
      if (auto sub = m.x.getDefiningOp<SubOp>())
        if (auto r = sub.getRhs().getDefiningOp<ReduceOp>();
            r && r.getInput() == sub.getLhs() && isMeanOverLastAxis(r))
          return fail(mean, "the variance of a LayerNorm (matched from its "
                            "mean)");
      if (!mean.getInput().hasOneUse())
        return fail(mean.getInput().getDefiningOp(), "x² has other users");
    }
    // stats + ε → sqrt → 1/sqrt.
    Value s = stats.getResult();
    auto add = s.hasOneUse() ? dyn_cast<AddOp>(*s.getUsers().begin()) : AddOp();
    std::optional<double> eps;
    if (add)
      eps = getScalarConstant(add.getLhs() == s ? add.getRhs() : add.getLhs());
    if (!add || !eps || *eps < 0)
      return fail(stats, "the mean of squares is not + ε (a scalar "
                         "constant)");
    m.epsilon = *eps;
    Value v = add.getResult();
    auto sqrt =
        v.hasOneUse() ? dyn_cast<SqrtOp>(*v.getUsers().begin()) : SqrtOp();
    if (!sqrt)
      return fail(add, "mean + ε is not passed to a square root");
    Value r = sqrt.getResult();
    if (!r.hasOneUse())
      return fail(sqrt, "the square root has other users");
    Operation *user = *r.getUsers().begin();
    Value normalized;
    Value base = m.rms ? m.x : centered;
    // base / sqrt, or base · (1 / sqrt) or base · reciprocal(sqrt).
    if (auto div = dyn_cast<DivOp>(user); div && div.getRhs() == r) {
      if (div.getLhs() == base) {
        normalized = div.getResult();
      } else if (near(getScalarConstant(div.getLhs()), 1.0, 1e-9)) {
        normalized = scaledBy(div.getResult(), base);
      }
    } else if (auto rec = dyn_cast<ReciprocalOp>(user)) {
      normalized = scaledBy(rec.getResult(), base);
    }
    if (!normalized)
      return fail(user, std::string("the normalized value is not ") +
                            (m.rms ? "x" : "x - mean") +
                            " divided by the square root");
    // Optional elementwise scale (a [last axis] weight) and bias.
    m.root = normalized.getDefiningOp();
    auto rank = cast<RankedTensorType>(m.x.getType()).getRank();
    auto isWeight = [&](Value w) {
      auto t = cast<RankedTensorType>(w.getType());
      auto xt = cast<RankedTensorType>(m.x.getType());
      return t.getRank() == 1 && t.getDimSize(0) == xt.getDimSize(rank - 1) &&
             !ShapedType::isDynamic(t.getDimSize(0));
    };
    Value cur = normalized;
    if (cur.hasOneUse())
      if (auto mul = dyn_cast<MulOp>(*cur.getUsers().begin())) {
        Value w = mul.getLhs() == cur ? mul.getRhs() : mul.getLhs();
        if (isWeight(w)) {
          m.scale = w;
          m.root = mul;
          cur = mul.getResult();
        }
      }
    if (!m.rms && m.scale && cur.hasOneUse())
      if (auto addB = dyn_cast<AddOp>(*cur.getUsers().begin())) {
        Value b = addB.getLhs() == cur ? addB.getRhs() : addB.getLhs();
        if (isWeight(b)) {
          m.bias = b;
          m.root = addB;
        }
      }
    return m;
  }

  Mismatch mismatch;

private:
  LogicalResult fail(Operation *at, std::string why) {
    mismatch = {at ? at : mean.getOperation(), std::move(why)};
    return failure();
  }

  /// The product base · inv (inv single use), else null.
  static Value scaledBy(Value inv, Value base) {
    if (!inv.hasOneUse())
      return nullptr;
    auto mul = dyn_cast<MulOp>(*inv.getUsers().begin());
    if (!mul)
      return nullptr;
    Value other = mul.getLhs() == inv ? mul.getRhs() : mul.getLhs();
    return other == base ? mul.getResult() : nullptr;
  }

  ReduceOp mean;
  ReduceOp stats;
};

struct AttnFuseNormActPass
    : public mlir::attn::impl::AttnFuseNormActBase<AttnFuseNormActPass> {
  using AttnFuseNormActBase::AttnFuseNormActBase;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      // Norms and GELUs the exporter wrote as one op are counted too.
      if (report && isa<LayerNormOp>(op))
        op->emitRemark("fusion: norm ")
            << describeNode(op) << " exported as one op";
      if (report && isa<GeluOp>(op))
        op->emitRemark("fusion: gelu ")
            << describeNode(op) << " exported as one op";
      if (isa<ErfOp, TanhOp, SigmoidOp>(op))
        candidates.push_back(op);
      else if (auto r = dyn_cast<ReduceOp>(op); r && isNormCandidate(r))
        candidates.push_back(op);
    });
    DenseSet<Operation *> erased;
    for (Operation *op : candidates) {
      if (erased.contains(op))
        continue;
      if (auto r = dyn_cast<ReduceOp>(op)) {
        NormMatcher matcher(r);
        FailureOr<NormMatch> m = matcher.match();
        if (failed(m)) {
          // A LayerNorm's variance is reported with its mean.
          if (StringRef(matcher.mismatch.why)
                  .starts_with("the variance of a LayerNorm"))
            continue;
          remark(op, "norm", describeNode(op), &matcher.mismatch);
          continue;
        }
        remark(op, "norm", describeNode(op), nullptr,
               m->rms ? "attn.layer_norm (rms)" : "attn.layer_norm");
        OpBuilder b(m->root);
        int64_t rank = cast<RankedTensorType>(m->x.getType()).getRank();
        auto norm = b.create<LayerNormOp>(
            m->root->getLoc(), m->root->getResult(0).getType(), m->x, m->scale,
            m->bias, /*residual=*/nullptr, b.getI64IntegerAttr(rank - 1),
            b.getF64FloatAttr(m->epsilon), m->rms ? b.getUnitAttr() : nullptr,
            nullptr);
        m->root->getResult(0).replaceAllUsesWith(norm.getResult());
        continue;
      }
      if (auto sigmoid = dyn_cast<SigmoidOp>(op)) {
        // Only fused ones are reported: most sigmoids are no GELU.
        if (std::optional<GeluMatch> m = matchSigmoidGelu(sigmoid)) {
          remark(op, "gelu", "sigmoid " + describeNode(op), nullptr,
                 "attn.gelu (sigmoid)");
          replaceWithGelu(*m);
        }
        continue;
      }
      Mismatch why;
      FailureOr<GeluMatch> m = isa<ErfOp>(op)
                                   ? matchErfGelu(cast<ErfOp>(op), why)
                                   : matchTanhGelu(cast<TanhOp>(op), why);
      std::string kind = isa<ErfOp>(op) ? "erf" : "tanh";
      if (failed(m)) {
        remark(op, "gelu", kind + " " + describeNode(op), &why);
        continue;
      }
      remark(op, "gelu", kind + " " + describeNode(op), nullptr,
             m->approximate == "tanh" ? "attn.gelu (tanh)" : "attn.gelu");
      replaceWithGelu(*m);
    }
    // The chains the fused ops replaced.
    eraseDeadAttnOps(getOperation());
  }

  static void replaceWithGelu(const GeluMatch &m) {
    OpBuilder b(m.root);
    auto gelu = b.create<GeluOp>(m.root->getLoc(), m.x.getType(), m.x,
                                 b.getStringAttr(m.approximate), nullptr);
    m.root->getResult(0).replaceAllUsesWith(gelu.getResult());
  }

  void remark(Operation *op, StringRef category, const std::string &name,
              const Mismatch *why, StringRef into = "") {
    if (!report)
      return;
    if (!why)
      op->emitRemark("fusion: ")
          << category << " " << name << " fused into " << into;
    else
      op->emitRemark("fusion: ")
          << category << " " << name << " not fused: " << why->why << " (at "
          << describeNode(why->at) << ")";
  }
};

} // namespace
