//===- FuseAttentionVariants.cpp - Additive and hard attention ---*- C++
//-*-===//
//
// The attention variants of attn-fuse-attention other than scaled dot-product:
//
//   additive (Bahdanau):  s = w · tanh(q + k)        → softmax → p · V
//                         as matmul(tanh(..), W[A, 1]) squeezed, or
//                         reduce_sum(tanh(..) · w, last axis)
//   hard:                 i = argmax(scale · Q·Kᵀ)   → the value row at i
//                         as Gather(V, i) (one sequence), GatherND with
//                         batch_dims, or a Gather of the flattened values at
//                         i + b · Nk (index_select over the batch)
//
// Masks and scales between the product and the softmax or argmax are peeled
// off as for attn.sdpa (AttentionMatching.h).
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"

#include "mlir/IR/Matchers.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

namespace {

RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Whether the leading `count` extents of the tensors can be equal: equal
/// where static (dynamic ones are checked when the kernel runs).
bool sameBatch(ArrayRef<Value> tensors, int64_t count) {
  for (int64_t d = 0; d < count; ++d) {
    int64_t known = ShapedType::kDynamic;
    for (Value x : tensors) {
      int64_t e = tensorType(x).getDimSize(d);
      if (ShapedType::isDynamic(e))
        continue;
      if (!ShapedType::isDynamic(known) && known != e)
        return false;
      known = e;
    }
  }
  return true;
}

/// Whether every use of `value` outside `except` comes after `point` in
/// its block, so that it can be given a value computed at `point`.
bool usedAfter(Value value, Operation *point,
               ArrayRef<Operation *> except = {}) {
  for (Operation *user : value.getUsers())
    if (!llvm::is_contained(except, user) &&
        (user->getBlock() != point->getBlock() || user->isBeforeInBlock(point)))
      return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Additive attention
//===----------------------------------------------------------------------===//

/// The tanh and the weight vector of `w · tanh(x)` at the score core.
struct AdditiveCore {
  TanhOp tanh;
  /// [A], or [A, 1] (a matmul's right operand) to be reshaped.
  Value weight;
};

std::optional<AdditiveCore> matchAdditiveCore(Operation *core) {
  if (!core)
    return std::nullopt;
  if (auto squeeze = dyn_cast<ExpandDimsOp>(core)) {
    auto mm = squeeze.getInput().getDefiningOp<MatMulOp>();
    auto w = tensorType(mm.getRhs());
    int64_t rank = tensorType(mm.getLhs()).getRank();
    auto tanh = mm.getLhs().getDefiningOp<TanhOp>();
    if (!tanh || w.getRank() != 2 || w.getDimSize(1) != 1 ||
        squeeze.getAxes() != ArrayRef<int64_t>{rank - 1})
      return std::nullopt;
    return AdditiveCore{tanh, mm.getRhs()};
  }
  if (auto reduce = dyn_cast<ReduceOp>(core)) {
    auto mul = reduce.getInput().getDefiningOp<MulOp>();
    int64_t rank = tensorType(reduce.getInput()).getRank();
    if (!mul || reduce.getKeepdims() ||
        reduce.getAxes() != ArrayRef<int64_t>{rank - 1})
      return std::nullopt;
    for (auto [t, w] : {std::pair(mul.getLhs(), mul.getRhs()),
                        std::pair(mul.getRhs(), mul.getLhs())})
      if (auto tanh = t.getDefiningOp<TanhOp>();
          tanh && tensorType(w).getRank() == 1)
        return AdditiveCore{tanh, w};
  }
  return std::nullopt;
}

/// The addends of `x`, through nested adds used once.
void collectAddends(Value x, SmallVectorImpl<Value> &terms) {
  auto add = x.getDefiningOp<AddOp>();
  if (!add || !x.hasOneUse()) {
    terms.push_back(x);
    return;
  }
  collectAddends(add.getLhs(), terms);
  collectAddends(add.getRhs(), terms);
}

} // namespace

bool mlir::attn::fusion::isAdditiveCandidate(SoftmaxOp softmax) {
  ScoreChain chain;
  Mismatch ignored;
  (void)peelScores(softmax.getInput(), softmax, chain, ignored);
  return matchAdditiveCore(chain.core).has_value();
}

LogicalResult mlir::attn::fusion::fuseAdditiveAttention(SoftmaxOp softmax,
                                                        Mismatch &mm) {
  auto scoresType = softmax.getType();
  int64_t r = scoresType.getRank();
  if (softmax.getNormalizedAxis() != r - 1)
    return mm.fail(softmax, "the softmax is not over the key axis (the last)");
  ScoreChain chain;
  if (failed(peelScores(softmax.getInput(), softmax, chain, mm)))
    return failure();
  std::optional<AdditiveCore> core = matchAdditiveCore(chain.core);
  if (!core)
    return mm.fail(chain.core, "the scores are not w · tanh(q + k)");
  if (chain.softcap)
    return mm.fail(softmax, "additive attention with soft-capped scores");
  if (!core->tanh.getResult().hasOneUse())
    return mm.fail(core->tanh, "the tanh has other users");

  // p · V, directly ([..., Nq, Nk] scores) or through a query axis of one
  // ([..., Nk] scores of a single query), or for a single query as
  // sum over the keys of p[..., Nk, 1] · V ((w.unsqueeze(-1) * v).sum(1)).
  Value p = softmax.getResult();
  Operation *context = nullptr, *unsqueeze = nullptr;
  Value values;
  bool keptAxis = true;
  for (Operation *user : p.getUsers()) {
    Operation *found = nullptr, *via = nullptr;
    Value v;
    bool kept = true;
    if (auto mm2 = dyn_cast<MatMulOp>(user); mm2 && mm2.getLhs() == p) {
      found = mm2;
      v = mm2.getRhs();
    }
    auto e = dyn_cast<ExpandDimsOp>(user);
    if (e && !e.getSqueeze() && e.getResult().hasOneUse()) {
      Operation *next = *e.getResult().getUsers().begin();
      if (auto mm2 = dyn_cast<MatMulOp>(next);
          mm2 && e.getAxes() == ArrayRef<int64_t>{r - 1} &&
          mm2.getLhs() == e.getResult()) {
        found = mm2;
        v = mm2.getRhs();
        via = e;
      }
      auto mul = dyn_cast<MulOp>(next);
      if (mul && e.getAxes() == ArrayRef<int64_t>{r} &&
          mul.getResult().hasOneUse()) {
        Value other =
            mul.getLhs() == e.getResult() ? mul.getRhs() : mul.getLhs();
        auto reduce = dyn_cast<ReduceOp>(*mul.getResult().getUsers().begin());
        // The values are not broadcast: the product has their shape.
        if (reduce && reduce.getKind() == "sum" &&
            reduce.getAxes() == ArrayRef<int64_t>{r - 1} &&
            tensorType(mul.getResult()).getShape() ==
                tensorType(other).getShape()) {
          found = reduce;
          v = other;
          via = e;
          kept = reduce.getKeepdims();
        }
      }
    }
    if (!found)
      continue;
    if (context)
      return mm.fail(softmax, "the attention weights are multiplied by "
                              "values more than once");
    context = found;
    values = v;
    unsqueeze = via;
    keptAxis = kept;
  }
  if (!context)
    return mm.fail(softmax, "the attention weights are not multiplied by "
                            "values (p · V, or a sum over the keys of "
                            "p · V)");
  bool queryAxis = unsqueeze == nullptr;
  if (queryAxis && r < 2)
    return mm.fail(softmax, "the scores have no key axis");
  int64_t rank = queryAxis ? r : r + 1;
  if (tensorType(values).getRank() != rank)
    return mm.fail(context, "the values are not of the attention's rank " +
                                std::to_string(rank) +
                                " (their batch would "
                                "broadcast)");

  // tanh(q + k): the key term has the key extent on the key axis, query
  // terms have 1 there (or are a bias vector).
  Value sum = core->tanh.getInput();
  SmallVector<Value> terms;
  collectAddends(sum, terms);
  Value keyTerm;
  SmallVector<Value> queryTerms, biases;
  for (Value term : terms) {
    auto t = tensorType(term);
    if (t.getRank() <= 1) {
      biases.push_back(term);
      continue;
    }
    if (t.getRank() != r + 1)
      return mm.fail(core->tanh, "an addend inside the tanh is neither a "
                                 "query, a key nor a bias vector");
    if (t.getDimSize(r - 1) == 1) {
      queryTerms.push_back(term);
      continue;
    }
    if (keyTerm)
      return mm.fail(core->tanh, "more than one addend inside the tanh "
                                 "varies along the keys");
    keyTerm = term;
  }
  if (!keyTerm || queryTerms.empty())
    return mm.fail(core->tanh, "the tanh's argument is not a sum of a query "
                               "term and a key term");
  if (queryAxis && tensorType(keyTerm).getDimSize(r - 2) != 1)
    return mm.fail(core->tanh, "the key term varies along the queries");

  Operation *point = context;
  if (!usedAfter(p, point, {context, unsqueeze}))
    return mm.fail(softmax, "the attention weights are used before their "
                            "product with the values");
  Type element = scoresType.getElementType();
  for (Value x : {keyTerm, values, Value(context->getResult(0))})
    if (getElementTypeOrSelf(x.getType()) != element)
      return mm.fail(context, "the queries, keys, values and output do not "
                              "share one element type");

  OpBuilder b(point);
  Location loc = context->getLoc();
  Value keys = queryAxis ? unitAxis(b, loc, keyTerm, r - 2, true) : keyTerm;
  auto addTerms = [&](Value x, Value y) {
    auto shape =
        broadcastShapes(tensorType(x).getShape(), tensorType(y).getShape());
    return b.create<AddOp>(loc, RankedTensorType::get(*shape, element), x, y,
                           nullptr);
  };
  Value query = queryTerms.front();
  for (Value term : ArrayRef<Value>(queryTerms).drop_front())
    query = addTerms(query, term);
  if (queryAxis)
    query = unitAxis(b, loc, query, r - 1, true);
  for (Value bias : biases)
    query = addTerms(query, bias);
  if (!sameBatch({query, keys, values}, rank - 2) ||
      tensorType(query).getRank() != rank)
    return mm.fail(core->tanh, "the queries' batch broadcasts against the "
                               "keys'");

  Value weight = core->weight;
  int64_t features = tensorType(keys).getShape().back();
  if (tensorType(weight).getRank() == 2)
    weight =
        b.create<ReshapeOp>(loc, RankedTensorType::get({features}, element),
                            weight, b.getDenseI64ArrayAttr({-1}), nullptr);
  if (chain.scale != 1.0) {
    auto scalar = RankedTensorType::get({}, element);
    Value c = b.create<ConstantOp>(
        loc,
        DenseElementsAttr::get(scalar, FloatAttr::get(element, chain.scale)));
    weight = b.create<MulOp>(loc, tensorType(weight), weight, c, nullptr);
  }
  Value mask = combineMasks(b, loc, chain, element);
  if (mask && !queryAxis && tensorType(mask).getRank() >= 1)
    mask = unitAxis(b, loc, mask, tensorType(mask).getRank() - 1, false);

  SmallVector<int64_t> probsShape(scoresType.getShape());
  if (!queryAxis)
    probsShape.insert(probsShape.begin() + r - 1, 1);
  auto probsType = RankedTensorType::get(probsShape, element);
  SmallVector<Value> operands = {query, keys, weight, values};
  if (mask)
    operands.push_back(mask);
  // The output [..., Nq, Dv]: the context's type, with the query axis of 1
  // a sum without keepdims dropped.
  SmallVector<int64_t> outShape(tensorType(context->getResult(0)).getShape());
  if (!keptAxis)
    outShape.insert(outShape.begin() + r - 1, 1);
  auto outType = RankedTensorType::get(outShape, element);
  auto fused = b.create<AdditiveAttentionOp>(
      loc, TypeRange{outType, probsType}, operands, ArrayRef<NamedAttribute>{});
  Value probs = fused.getProbs();
  if (!queryAxis)
    probs = unitAxis(b, loc, probs, r - 1, true);
  Value output = fused.getOutput();
  if (!keptAxis)
    output = unitAxis(b, loc, output, r - 1, true);
  context->getResult(0).replaceAllUsesWith(output);
  context->erase();
  p.replaceUsesWithIf(
      probs, [&](OpOperand &use) { return use.getOwner() != unsqueeze; });
  return success();
}

//===----------------------------------------------------------------------===//
// Hard attention
//===----------------------------------------------------------------------===//

namespace {

/// Axes whose extents are equal at run time (the fused op checks them).
using Axes = ArrayRef<std::pair<Value, int64_t>>;

/// `axes` and the axes they were computed from with the same extent:
/// through transposes, matmuls by a weight matrix (rows and batch axes) and
/// elementwise ops with an operand that does not reach the axis (a bias).
SmallVector<std::pair<Value, int64_t>> withSources(Axes axes) {
  SmallVector<std::pair<Value, int64_t>> all(axes);
  for (size_t n = 0; n < all.size() && all.size() < 32; ++n) {
    // Plain variables: lambdas below capture them (C++17 cannot capture a
    // structured binding).
    Value x = all[n].first;
    int64_t axis = all[n].second;
    Operation *def = x.getDefiningOp();
    int64_t rank = tensorType(x).getRank();
    std::optional<std::pair<Value, int64_t>> source;
    if (auto t = dyn_cast_or_null<TransposeOp>(def))
      source = {t.getInput(), t.getPerm()[axis]};
    else if (auto mm = dyn_cast_or_null<MatMulOp>(def);
             mm && axis < rank - 1 && tensorType(mm.getRhs()).getRank() == 2 &&
             tensorType(mm.getLhs()).getRank() == rank)
      source = {mm.getLhs(), axis};
    else if (def && isa<AddOp, SubOp, MulOp, DivOp, CastOp>(def))
      for (Value operand : def->getOperands()) {
        int64_t other = tensorType(operand).getRank();
        bool reaches = llvm::any_of(def->getOperands(), [&](Value y) {
          return y != operand && tensorType(y).getRank() > rank - 1 - axis;
        });
        if (other == rank && !reaches)
          source = {operand, axis};
      }
    if (source && !llvm::is_contained(all, *source))
      all.push_back(*source);
  }
  return all;
}

/// Whether the scalar `x` is the extent of one of `axes`: a constant equal
/// to a static one, or read off a tensor's shape.
bool isExtentOf(Value x, Axes axes) {
  for (int steps = 0; steps < 6; ++steps) {
    SmallVector<std::optional<int64_t>> known = getKnownElements(x);
    if (known.size() == 1 && known[0])
      return llvm::any_of(axes, [&](auto axis) {
        return tensorType(axis.first).getDimSize(axis.second) == *known[0];
      });
    Operation *def = x.getDefiningOp();
    if (!def)
      return false;
    if (isa<CastOp, ReshapeOp, ExpandDimsOp>(def)) {
      x = def->getOperand(0);
      continue;
    }
    if (auto shape = dyn_cast<ShapeOp>(def)) {
      if (shape.getEnd() - shape.getStart() != 1)
        return false;
      return llvm::any_of(axes, [&](auto a) {
        return a.first == shape.getInput() && a.second == shape.getStart();
      });
    }
    auto gather = dyn_cast<GatherOp>(def);
    if (!gather || gather.getAxis() != 0)
      return false;
    auto shape = gather.getData().getDefiningOp<ShapeOp>();
    SmallVector<std::optional<int64_t>> index =
        getKnownElements(gather.getIndices());
    if (!shape || index.size() != 1 || !index[0])
      return false;
    int64_t at = *index[0];
    if (at < 0)
      at += shape.getEnd() - shape.getStart();
    int64_t axis = shape.getStart() + at;
    return llvm::any_of(axes, [&](auto a) {
      return a.first == shape.getInput() && a.second == axis;
    });
  }
  return false;
}

/// Whether the reshape `op` gives its result the extents of `expected`
/// (one list of equal axes per result axis): each result extent is proven
/// but at most one, which the element count then fixes.
bool reshapesTo(Operation *op, ArrayRef<Axes> expected) {
  auto out = tensorType(op->getResult(0));
  if (out.getRank() != static_cast<int64_t>(expected.size()))
    return false;
  int64_t unproven = 0;
  for (auto [k, axes] : llvm::enumerate(expected)) {
    int64_t e = out.getDimSize(k);
    bool proven = !ShapedType::isDynamic(e) && llvm::any_of(axes, [&](auto a) {
      return tensorType(a.first).getDimSize(a.second) == e;
    });
    if (!proven)
      if (auto dyn = dyn_cast<ReshapeDynamicOp>(op)) {
        auto [constant, scalar] = shapeEntry(dyn.getShape(), k);
        proven = scalar && isExtentOf(scalar, axes);
      }
    unproven += !proven;
  }
  return unproven <= 1;
}

/// The flattened rows `b · Nk + i` of an index_select over the batch:
/// `offsets` holds b · Nk for batch b.
bool isRowOffsets(Value offsets, Axes batch, Axes keys) {
  auto t = tensorType(offsets);
  if (t.getRank() != 2 || t.getDimSize(1) != 1)
    return false;
  // Constant (static shapes, folded): b · Nk for a static Nk.
  DenseIntElementsAttr constant;
  if (matchPattern(offsets, m_Constant(&constant))) {
    SmallVector<int64_t> known;
    for (const APInt &e : constant.getValues<APInt>())
      known.push_back(e.getSExtValue());
    if (known.size() < 2)
      return known.size() == 1 && known[0] == 0;
    int64_t nk = known[1];
    if (!llvm::any_of(keys, [&](auto a) {
          return tensorType(a.first).getDimSize(a.second) == nk;
        }))
      return false;
    for (auto [b, e] : llvm::enumerate(known))
      if (e != static_cast<int64_t>(b) * nk)
        return false;
    return true;
  }
  // range(0, B, 1) unsqueezed, times Nk.
  auto mul = offsets.getDefiningOp<MulOp>();
  if (!mul)
    return false;
  for (auto [x, n] : {std::pair(mul.getLhs(), mul.getRhs()),
                      std::pair(mul.getRhs(), mul.getLhs())}) {
    auto unsqueeze = x.getDefiningOp<ExpandDimsOp>();
    if (!unsqueeze || unsqueeze.getSqueeze() ||
        unsqueeze.getAxes() != ArrayRef<int64_t>{1})
      continue;
    auto range = unsqueeze.getInput().getDefiningOp<RangeOp>();
    if (!range)
      continue;
    auto start = getKnownElements(range.getStart());
    auto delta = getKnownElements(range.getDelta());
    if (start.size() == 1 && start[0] == 0 && delta.size() == 1 &&
        delta[0] == 1 && isExtentOf(range.getLimit(), batch) &&
        isExtentOf(n, keys))
      return true;
  }
  return false;
}

/// The gather of value rows at the argmax indices.
struct RowGather {
  /// The op whose result is the selected rows [..., Nq, Dv].
  Operation *result = nullptr;
  Value values;
  /// Ops of the gather that use the indices.
  SmallVector<Operation *> indexUsers;
};

} // namespace

bool mlir::attn::fusion::isHardCandidate(ArgMaxOp argmax) {
  if (argmax.getSmallest())
    return false;
  for (Operation *user : argmax.getResult().getUsers()) {
    if (isa<GatherOp>(user) && user->getOperand(1) == argmax.getResult())
      return true;
    if (isa<GatherNdOp, ExpandDimsOp, AddOp>(user))
      for (Operation *next : user->getResult(0).getUsers())
        if (isa<GatherOp, GatherNdOp, ReshapeOp, ReshapeDynamicOp>(next))
          return true;
  }
  return false;
}

LogicalResult mlir::attn::fusion::fuseHardAttention(ArgMaxOp argmax,
                                                    Mismatch &mm) {
  auto scoresType = tensorType(argmax.getInput());
  int64_t r = scoresType.getRank();
  if (r < 2 || argmax.getAxis() != r - 1)
    return mm.fail(argmax, "the argmax is not over the key axis (the last) "
                           "of [..., queries, keys] scores");
  if (argmax.getKeepdims())
    return mm.fail(argmax, "the argmax keeps the key axis (keepdims)");
  ScoreChain chain;
  if (failed(peelScores(argmax.getInput(), argmax, chain, mm)))
    return failure();
  auto qk = dyn_cast<MatMulOp>(chain.core);
  if (!qk)
    return mm.fail(chain.core, "the scores are not a matrix product Q·Kᵀ");
  Value q = qk.getLhs(), kt = qk.getRhs();
  if (tensorType(q).getRank() != r || tensorType(kt).getRank() != r)
    return mm.fail(qk, "Q and Kᵀ are not of the scores' rank");
  if (chain.scale <= 0.0)
    return mm.fail(qk, "the scores' scale is not positive");

  // The row gather.
  Value indices = argmax.getResult();
  RowGather g;
  for (Operation *user : indices.getUsers()) {
    // One sequence: values[i].
    if (auto gather = dyn_cast<GatherOp>(user);
        gather && r == 2 && gather.getIndices() == indices &&
        gather.getAxis() == 0 && tensorType(gather.getData()).getRank() == 2) {
      g = {gather, gather.getData(), {gather}};
      break;
    }
    // GatherND with the batch axes as batch_dims: values[b, i[b]].
    if (auto unsqueeze = dyn_cast<ExpandDimsOp>(user);
        unsqueeze && !unsqueeze.getSqueeze() &&
        unsqueeze.getAxes() == ArrayRef<int64_t>{r - 1} &&
        unsqueeze.getResult().hasOneUse())
      if (auto nd =
              dyn_cast<GatherNdOp>(*unsqueeze.getResult().getUsers().begin());
          nd && nd.getIndices() == unsqueeze.getResult() &&
          nd.getBatchDims() == r - 2 &&
          tensorType(nd.getData()).getRank() == r) {
        g = {nd, nd.getData(), {unsqueeze}};
        break;
      }
    // index_select of the flattened values at i + b · Nk.
    auto add = dyn_cast<AddOp>(user);
    if (!add || r != 3 || !add.getResult().hasOneUse())
      continue;
    Value offsets = add.getLhs() == indices ? add.getRhs() : add.getLhs();
    Operation *flat = *add.getResult().getUsers().begin();
    if (!isa<ReshapeOp, ReshapeDynamicOp>(flat) ||
        tensorType(flat->getResult(0)).getRank() != 1 ||
        !flat->getResult(0).hasOneUse())
      continue;
    auto gather = dyn_cast<GatherOp>(*flat->getResult(0).getUsers().begin());
    if (!gather || gather.getAxis() != 0 ||
        gather.getIndices() != flat->getResult(0) ||
        !gather.getResult().hasOneUse())
      continue;
    Operation *rows = gather.getData().getDefiningOp();
    if (!rows || !isa<ReshapeOp, ReshapeDynamicOp>(rows))
      return mm.fail(gather, "the gathered rows are not the flattened values");
    Value values = rows->getOperand(0);
    auto vt = tensorType(values), rt = tensorType(rows->getResult(0));
    if (vt.getRank() != 3 || rt.getRank() != 2 || vt.isDynamicDim(2) ||
        rt.getDimSize(1) != vt.getDimSize(2))
      return mm.fail(rows, "the gathered rows are not the values flattened "
                           "to [batch · keys, features]");
    auto batch = withSources({{values, 0}, {q, 0}, {kt, 0}, {indices, 0}});
    auto keys = withSources({{values, 1}, {kt, 2}, {argmax.getInput(), 2}});
    if (!isRowOffsets(offsets, batch, keys))
      return mm.fail(add, "the row offsets added to the indices are not "
                          "batch · keys");
    Operation *unflat = *gather.getResult().getUsers().begin();
    auto queries = withSources({{q, 1}, {indices, 1}, {argmax.getInput(), 1}});
    auto features = withSources({{values, 2}});
    if (!isa<ReshapeOp, ReshapeDynamicOp>(unflat) ||
        !reshapesTo(unflat, {batch, queries, features}))
      return mm.fail(gather, "the gathered rows are not reshaped back to "
                             "[batch, queries, features]");
    g = {unflat, values, {add}};
    break;
  }
  if (!g.result)
    return mm.fail(argmax, "the indices do not select value rows with a "
                           "gather");

  Value values = g.values;
  Type element = tensorType(q).getElementType();
  for (Value x : {kt, values, Value(g.result->getResult(0))})
    if (getElementTypeOrSelf(x.getType()) != element)
      return mm.fail(g.result, "Q, K, the values and the selected rows do "
                               "not share one element type");
  if (!sameBatch({q, kt, values}, r - 2))
    return mm.fail(qk, "the queries' batch broadcasts against the keys' or "
                       "the values'");
  Operation *point = g.result;
  if (!usedAfter(indices, point, g.indexUsers))
    return mm.fail(argmax, "the indices are used before the rows are "
                           "gathered");

  OpBuilder b(point);
  Location loc = g.result->getLoc();
  Value k = unswapLast(kt);
  if (!k)
    k = swapLast(b, loc, kt);
  Value mask = combineMasks(b, loc, chain, element);
  SmallVector<Value> operands = {q, k, values};
  if (mask)
    operands.push_back(mask);
  SmallVector<NamedAttribute> attrs = {
      b.getNamedAttr("scale", b.getF64FloatAttr(chain.scale))};
  if (argmax.getSelectLastIndex())
    attrs.push_back(b.getNamedAttr("select_last_index", b.getUnitAttr()));
  auto fused = b.create<HardAttentionOp>(
      loc, TypeRange{g.result->getResult(0).getType(), indices.getType()},
      operands, attrs);
  g.result->getResult(0).replaceAllUsesWith(fused.getOutput());
  indices.replaceUsesWithIf(fused.getIndices(), [&](OpOperand &use) {
    return !llvm::is_contained(g.indexUsers, use.getOwner());
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Graph attention
//===----------------------------------------------------------------------===//

namespace {

/// The LeakyReLU ending the score chain of `softmax`, if any.
std::optional<ScoreChain> peelGraphScores(SoftmaxOp softmax, Mismatch &mm) {
  ScoreChain chain;
  chain.acceptLeakyRelu = true;
  if (failed(peelScores(softmax.getInput(), softmax, chain, mm)))
    return std::nullopt;
  auto select = dyn_cast_or_null<SelectOp>(chain.core);
  if (!select || !matchLeakyRelu(select))
    return std::nullopt;
  return chain;
}

/// `x · c` for a scalar constant c (x itself when c is 1).
Value scaled(OpBuilder &b, Location loc, Value x, double c) {
  if (c == 1.0)
    return x;
  Type element = getElementTypeOrSelf(x.getType());
  auto scalar = RankedTensorType::get({}, element);
  Value k = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, FloatAttr::get(element, c)));
  return b.create<MulOp>(loc, x.getType(), x, k, nullptr);
}

} // namespace

bool mlir::attn::fusion::isGraphCandidate(SoftmaxOp softmax) {
  Mismatch ignored;
  return peelGraphScores(softmax, ignored).has_value();
}

LogicalResult mlir::attn::fusion::fuseGraphAttention(SoftmaxOp softmax,
                                                     Mismatch &mm) {
  auto scoresType = softmax.getType();
  int64_t r = scoresType.getRank();
  if (r < 2 || softmax.getNormalizedAxis() != r - 1)
    return mm.fail(softmax, "the softmax is not over the key axis (the last "
                            "of two or more)");
  std::optional<ScoreChain> chain = peelGraphScores(softmax, mm);
  if (!chain)
    return failure();
  auto leakyOp = cast<SelectOp>(chain->core);
  auto [x, slope] = *matchLeakyRelu(leakyOp);
  if (slope < 0.0)
    return mm.fail(leakyOp, "a LeakyReLU of negative slope (not monotonic: "
                            "its row maximum is not that of its argument)");
  if (chain->softcap)
    return mm.fail(softmax, "graph attention with soft-capped scores");
  // c · LeakyReLU(x) = LeakyReLU(c · x) for c > 0: the scale moves onto
  // the two terms.
  if (chain->scale <= 0.0)
    return mm.fail(softmax, "the LeakyReLU scores are scaled by a factor "
                            "that is not positive");
  // LeakyReLU(source_i + target_j): one addend of extent 1 on the key axis,
  // one of extent 1 on the query axis.
  auto add = x.getDefiningOp<AddOp>();
  if (!add)
    return mm.fail(leakyOp, "the LeakyReLU's argument is not a sum of a "
                            "per-query and a per-key term");
  Value source, target;
  for (Value term : {add.getLhs(), add.getRhs()}) {
    auto t = tensorType(term);
    if (t.getRank() != r)
      continue;
    if (t.getDimSize(r - 1) == 1 && t.getDimSize(r - 2) != 1 && !source)
      source = term;
    else if (t.getDimSize(r - 2) == 1 && t.getDimSize(r - 1) != 1 && !target)
      target = term;
  }
  if (!source || !target)
    return mm.fail(add, "the LeakyReLU's argument is not a sum of a "
                        "per-query term [..., N, 1] and a per-key term "
                        "[..., 1, M]");

  if (!chain->additiveMasks.empty() || !chain->binaryKeepMasks.empty())
    return mm.fail(softmax, "an additive or 0/1 mask on the LeakyReLU "
                            "scores (graph attention takes a boolean "
                            "adjacency, a 'where' on the scores)");
  if (chain->keepMasks.empty() && chain->dropMasks.empty())
    return mm.fail(softmax, "LeakyReLU scores without an adjacency mask (a "
                            "'where' keeping the neighbours)");
  if (!chain->shapeReaders.empty())
    return mm.fail(chain->shapeReaders.front(),
                   "the extents of the scores are read on the way");

  // p · V, the weights' only use.
  Value p = softmax.getResult();
  if (!p.hasOneUse())
    return mm.fail(softmax, "the attention weights have other users than "
                            "one product with the values");
  auto pv = dyn_cast<MatMulOp>(*p.getUsers().begin());
  if (!pv || pv.getLhs() != p)
    return mm.fail(softmax, "the attention weights are not multiplied by "
                            "values (p · V)");
  Value values = pv.getRhs();
  if (tensorType(values).getRank() != r)
    return mm.fail(pv, "the values are not of the scores' rank " +
                           std::to_string(r) +
                           " (their batch would "
                           "broadcast)");
  Type element = scoresType.getElementType();
  for (Value v : {source, target, values, Value(pv.getResult())})
    if (getElementTypeOrSelf(v.getType()) != element)
      return mm.fail(pv, "the scores' terms, values and output do not share "
                         "one element type");

  OpBuilder b(pv);
  Location loc = pv.getLoc();
  Value src =
      scaled(b, loc, unitAxis(b, loc, source, r - 1, true), chain->scale);
  Value dst =
      scaled(b, loc, unitAxis(b, loc, target, r - 2, true), chain->scale);
  if (!sameBatch({src, dst, values}, r - 2) ||
      !sameBatch({src, Value(pv.getResult())}, r - 1))
    return mm.fail(add, "the terms' batch broadcasts against the values'");
  Value adjacency = combineMasks(b, loc, *chain, element);
  auto adjType = tensorType(adjacency);
  FailureOr<SmallVector<int64_t>> common =
      broadcastShapes(adjType.getShape(), scoresType.getShape());
  if (!adjType.getElementType().isInteger(1) || adjType.getRank() > r ||
      failed(common) || *common != scoresType.getShape())
    return mm.fail(softmax, "the adjacency mask does not broadcast to the "
                            "scores");
  // A float32 constant's slope as its shortest decimal (0.2, not
  // 0.20000000298...): the same float32 in the kernel.
  if (tensorType(x).getElementType().getIntOrFloatBitWidth() <= 32) {
    float single = static_cast<float>(slope);
    for (int digits = 1; digits <= 9; ++digits) {
      char text[32];
      std::snprintf(text, sizeof(text), "%.*g", digits,
                    static_cast<double>(single));
      double shortest = std::strtod(text, nullptr);
      if (static_cast<float>(shortest) == single) {
        slope = shortest;
        break;
      }
    }
  }
  auto fused = b.create<GraphAttentionOp>(
      loc, pv.getType(), ValueRange{src, dst, values, adjacency},
      ArrayRef<NamedAttribute>{
          b.getNamedAttr("negative_slope", b.getF64FloatAttr(slope))});
  pv.getResult().replaceAllUsesWith(fused.getResult());
  pv.erase();
  return success();
}
