//===- EmitAttention.cpp - Rotary, additive and hard attention --*- C++ -*-===//
//
// Rotary embeddings, additive (Bahdanau) and hard attention. attn.sdpa is
// in EmitSdpa.cpp.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

//===----------------------------------------------------------------------===//
// Rotary embedding
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineRotary(RotaryOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &x = get(op.getInput());
  Tensor &cosT = get(op.getCos());
  Tensor &sinT = get(op.getSin());
  Tensor *positions = op.getPositionIds() ? &get(op.getPositionIds()) : nullptr;
  auto xType = op.getInput().getType();
  if (xType.getRank() != 4)
    return op.emitOpError("expects a [B, H, S, D] input");
  int64_t headDim = xType.getDimSize(3);
  if (ShapedType::isDynamic(headDim))
    return op.emitOpError("expects a static head size");
  int64_t rotary = op.getRotaryDim() ? op.getRotaryDim() : headDim;
  if (rotary > headDim || rotary % 2)
    return op.emitOpError("expects an even rotary_dim up to the head size ")
           << headDim << ", got " << rotary;
  int half = static_cast<int>(rotary / 2);
  bool interleaved = op.getInterleaved();
  defineElementwise(op, name, funcs, x.shape, [&](const std::vector<Expr> &i) {
    Expr b = i[0], h = i[1], s = i[2], d = i[3];
    Expr freq, partner, sign;
    if (interleaved) {
      freq = d / 2;
      partner = Halide::select(d % 2 == 0, d + 1, d - 1);
      sign = Halide::select(d % 2 == 0, -1.0f, 1.0f);
    } else {
      freq = Halide::select(d < half, d, d - half);
      partner = Halide::select(d < half, d + half, d - half);
      sign = Halide::select(d < half, -1.0f, 1.0f);
    }
    freq = Halide::clamp(freq, 0, half - 1);
    partner = Halide::clamp(partner, 0, static_cast<int>(rotary) - 1);
    auto table = [&](Tensor &t) {
      if (positions) {
        Expr pos = Halide::cast<int>(positions->call({b, s}));
        return widen(t.call({Halide::clamp(pos, 0, t.shape[0] - 1), freq}));
      }
      if (t.rank() == 2)
        return widen(t.call({s, freq}));
      return widen(t.call({b, s, freq}));
    };
    Expr xv = widen(x.call({b, h, s, d}));
    Expr xp = widen(x.call({b, h, s, partner}));
    Expr rotated = xv * table(cosT) + sign * xp * table(sinT);
    return Halide::select(d < static_cast<int>(rotary), rotated, xv);
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Additive and hard attention
//===----------------------------------------------------------------------===//

namespace {
/// The index [batch..., row, col] in ONNX order: the leading entries of
/// `batchOf` (an index of the same rank), then `row` and `col`.
std::vector<Expr> withLastTwo(const std::vector<Expr> &batchOf, Expr row,
                              Expr col) {
  std::vector<Expr> ix(batchOf.begin(), batchOf.end() - 2);
  ix.push_back(row);
  ix.push_back(col);
  return ix;
}

/// Reads `t` at [batch..., row, col], a batch extent of 1 broadcasting.
Expr readKeyed(const Tensor &t, const std::vector<Expr> &batchOf, Expr row,
               Expr col) {
  std::vector<Expr> ix = withLastTwo(batchOf, row, col);
  for (size_t d = 0; d + 2 < ix.size(); ++d)
    ix[d] = Halide::min(ix[d], t.shape[d] - 1);
  return t.call(ix);
}

/// The batch extents of a keyed attention's results: the broadcast of
/// those of its queries, keys and values.
std::vector<Expr> keyedShape(const Tensor &q, const Tensor &k, const Tensor &v,
                             Expr row, Expr col) {
  std::vector<Expr> shape;
  for (int d = 0; d + 2 < q.rank(); ++d)
    shape.push_back(
        Halide::max(q.shape[d], Halide::max(k.shape[d], v.shape[d])));
  shape.push_back(row);
  shape.push_back(col);
  return shape;
}

/// Applies an attention mask (i1 keep or additive float) to the score `s`
/// at index `sIdx` of scores of type `scoresType`: `valid` is and-ed with a
/// keep mask, an additive mask is added to `s`.
void applyMask(const Tensor *mask, Value maskValue, RankedTensorType scoresType,
               const std::vector<Expr> &sIdx, Expr &s, Expr &valid) {
  if (!mask)
    return;
  Expr m = broadcastRead(*mask, cast<RankedTensorType>(maskValue.getType()),
                         scoresType, sIdx);
  if (m.type().is_bool()) {
    valid = valid && m;
    return;
  }
  valid = valid && floatMaskKeeps(m);
  if (mask->nonFinite)
    // -inf in a constant mask must not be folded away (Tensor::nonFinite).
    s = Halide::strict_float(s + Halide::cast(s.type(), widen(m)));
  else
    s = s + Halide::cast(s.type(), widen(m));
}
} // namespace

void PipelineBuilder::requireSdpaExtents(SdpaOp op) {
  const Tensor &q = get(op.getQ()), &k = get(op.getK()), &v = get(op.getV());
  std::string at = "attn.sdpa at " + describeNode(op) + ": ";
  int64_t group = op.getKvGroupAttr().getInt();
  require(q.shape[0] == k.shape[0] && k.shape[0] == v.shape[0],
          at + "the queries, keys and values differ in batch");
  require(k.shape[1] == v.shape[1], at + "the keys and values differ in heads");
  require(q.shape[1] == k.shape[1] * static_cast<int>(group),
          at + "the queries have not " + std::to_string(group) +
              " times as many heads as the keys");
  require(q.shape[3] == k.shape[3],
          at + "the queries and keys differ in head size");
  require(k.shape[2] == v.shape[2],
          at + "there are not as many values as keys");
  // A mask broadcasts to [batch, heads, queries, keys].
  if (Value m = op.getMask()) {
    const Tensor &mask = get(m);
    std::vector<Expr> scores = {q.shape[0], q.shape[1], q.shape[2], k.shape[2]};
    int offset = 4 - mask.rank();
    for (int a = 0; a < mask.rank(); ++a)
      if (cast<RankedTensorType>(m.getType()).isDynamicDim(a))
        require(mask.shape[a] == scores[offset + a] || mask.shape[a] == 1,
                at + "the mask's extent on axis " + std::to_string(a) +
                    " does not broadcast to the scores");
  }
}

void PipelineBuilder::requireKeyedExtents(const std::string &what,
                                          const Tensor &q, const Tensor &k,
                                          const Tensor &v) {
  int rank = q.rank();
  for (int d = 0; d < rank - 2; ++d) {
    Expr e = Halide::max(q.shape[d], Halide::max(k.shape[d], v.shape[d]));
    require((q.shape[d] == e || q.shape[d] == 1) &&
                (k.shape[d] == e || k.shape[d] == 1) &&
                (v.shape[d] == e || v.shape[d] == 1),
            what +
                ": the batch extents of the queries, keys and values on "
                "axis " +
                std::to_string(d) + " do not broadcast");
  }
  require(q.shape[rank - 1] == k.shape[rank - 1],
          what + ": the queries and keys differ in feature size");
  require(k.shape[rank - 2] == v.shape[rank - 2],
          what + ": there are not as many values as keys");
}

LogicalResult PipelineBuilder::defineAdditiveAttention(AdditiveAttentionOp op,
                                                       const std::string &name,
                                                       OpFuncs &funcs) {
  const Tensor &q = get(op.getQuery()), &k = get(op.getKeys()),
               &w = get(op.getWeight()), &v = get(op.getValues());
  const Tensor *mask = op.getMask() ? &get(op.getMask()) : nullptr;
  auto probsType = op.getProbs().getType();
  Halide::Type ht = *toHalideType(probsType.getElementType());
  Halide::Type acc = computeType(ht);
  int rank = q.rank();
  Expr nk = k.shape[rank - 2];
  requireKeyedExtents("additive attention at " + name, q, k, v);
  require(w.shape[0] == k.shape[rank - 1],
          "additive attention at " + name +
              ": the weight vector and the keys differ in feature size");

  // Scores [..., Nq, Nk]: Σ_a w[a] · vectorTanh(q[i, a] + k[j, a]).
  std::vector<Var> sv = makeVars(rank, name + "_s");
  std::vector<Expr> sIdx = onnxIndex(sv);
  Expr i = sIdx[rank - 2], j = sIdx[rank - 1];
  RDom ra(0, q.shape[rank - 1], name + "_a");
  Func scores(name + "_scores");
  scores(sv) = typedZero(acc);
  scores(sv) +=
      Halide::cast(acc, widen(w.call({ra.x}))) *
      vectorTanh(Halide::cast(acc, widen(readKeyed(q, sIdx, i, ra.x))) +
                 Halide::cast(acc, widen(readKeyed(k, sIdx, j, ra.x))));

  // Softmax over the keys; masked keys hold the lowest float, as in
  // attn.sdpa, so a fully masked row averages the values.
  Expr low = Halide::cast(acc, lowest());
  Expr s = scores(sv), valid = Halide::Internal::const_true();
  applyMask(mask, op.getMask(), probsType, sIdx, s, valid);
  Func masked(name + "_masked");
  masked(sv) = Halide::select(valid, Halide::max(s, low), low);
  std::vector<Var> rowVars(sv.begin() + 1, sv.end());
  RDom rj(0, nk, name + "_j");
  std::vector<Expr> atKey = {rj.x};
  for (const Var &x : rowVars)
    atKey.push_back(x);
  Func rowMax(name + "_max"), exps(name + "_exp"), rowSum(name + "_sum");
  rowMax(rowVars) = Halide::maximum(masked(atKey));
  exps(sv) = Halide::exp(masked(sv) - rowMax(rowVars));
  rowSum(rowVars) = Halide::sum(exps(atKey));

  Tensor probs;
  probs.type = ht;
  probs.func = Func(name + "_probs");
  probs.func(sv) = narrow(exps(sv) / rowSum(rowVars), ht);
  probs.shape = keyedShape(q, k, v, q.shape[rank - 2], nk);

  // Context [..., Nq, Dv] = Σ_j p[i, j] · values[j].
  std::vector<Var> ov = makeVars(rank, name);
  std::vector<Expr> oIdx = onnxIndex(ov);
  std::vector<Expr> oKey = {rj.x};
  for (size_t d = 1; d < ov.size(); ++d)
    oKey.push_back(ov[d]);
  Func weighted(name + "_acc");
  weighted(ov) = typedZero(acc);
  weighted(ov) +=
      exps(oKey) *
      Halide::cast(acc, widen(readKeyed(v, oIdx, rj.x, oIdx.back())));
  std::vector<Var> outRow(ov.begin() + 1, ov.end());
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(ov) = narrow(weighted(ov) / rowSum(outRow), ht);
  t.shape = keyedShape(q, k, v, q.shape[rank - 2], v.shape[rank - 1]);
  funcs.main = t.func;
  funcs.helpers = {scores, rowMax, exps, rowSum, weighted};
  tensors[op.getOutput()] = t;
  tensors[op.getProbs()] = probs;
  return success();
}

LogicalResult PipelineBuilder::defineHardAttention(HardAttentionOp op,
                                                   const std::string &name,
                                                   OpFuncs &funcs) {
  const Tensor &q = get(op.getQ()), &k = get(op.getK()),
               &v = get(op.getValues());
  const Tensor *mask = op.getMask() ? &get(op.getMask()) : nullptr;
  auto outType = op.getOutput().getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  Halide::Type acc = computeType(ht);
  int rank = q.rank();
  Expr nk = k.shape[rank - 2];
  requireKeyedExtents("hard attention at " + name, q, k, v);
  SmallVector<int64_t> scoresShape(outType.getShape());
  scoresShape.back() = op.getK().getType().getDimSize(rank - 2);
  auto scoresType =
      RankedTensorType::get(scoresShape, outType.getElementType());

  // The score of key `key` for the row `rowIdx` ([..., i]), rounded to the
  // element type after the product and after the scale, as the unfused
  // graph computes it: ties come out the same. It is a reduction inlined
  // into the argmax, so the scores are never stored.
  RDom rd(0, q.shape[rank - 1], name + "_d");
  std::vector<Var> rowVars = makeVars(rank - 1, name + "_r");
  std::vector<Expr> rowIdx = onnxIndex(rowVars);
  Var keyVar(name + "_key");
  std::vector<Var> dotVars = {keyVar};
  dotVars.insert(dotVars.end(), rowVars.begin(), rowVars.end());
  std::vector<Expr> batchOf = rowIdx;
  batchOf.push_back(0);
  Func dots(name + "_dot");
  dots(dotVars) = Halide::sum(
      Halide::cast(acc, widen(readKeyed(q, batchOf, rowIdx.back(), rd.x))) *
      Halide::cast(acc, widen(readKeyed(k, batchOf, keyVar, rd.x))));
  auto scoreAt = [&](Expr key) {
    std::vector<Expr> at = {key};
    at.insert(at.end(), rowVars.begin(), rowVars.end());
    Expr s = widen(narrow(dots(at), ht));
    double scale = op.getScale().convertToDouble();
    if (scale != 1.0)
      s = widen(narrow(s * Halide::cast(s.type(), Expr(scale)), ht));
    std::vector<Expr> sIdx = rowIdx;
    sIdx.push_back(key);
    Expr valid = Halide::Internal::const_true();
    applyMask(mask, op.getMask(), scoresType, sIdx, s, valid);
    return Halide::select(
        valid, s,
        Halide::cast(s.type(), -std::numeric_limits<float>::infinity()));
  };

  // The first maximum (the last with select_last_index), as attn.argmax.
  RDom rj(1, Halide::max(nk - 1, 0), name + "_j");
  Func state(name + "_state");
  state(rowVars) = {Expr(int64_t(0)), scoreAt(0)};
  Expr candidate = scoreAt(rj.x), best = state(rowVars)[1];
  Expr better = op.getSelectLastIndex() ? candidate >= best : candidate > best;
  state(rowVars) = {
      Halide::select(better, Halide::cast<int64_t>(rj.x), state(rowVars)[0]),
      Halide::select(better, candidate, best)};
  Tensor indices;
  indices.type = Halide::Int(64);
  indices.func = Func(name + "_indices");
  indices.func(rowVars) = state(rowVars)[0];
  indices.shape = keyedShape(q, k, v, q.shape[rank - 2], 0);
  indices.shape.pop_back();

  std::vector<Var> ov = makeVars(rank, name);
  std::vector<Expr> oIdx = onnxIndex(ov);
  std::vector<Var> outRow(ov.begin() + 1, ov.end());
  Expr key = Halide::clamp(Halide::cast<int>(state(outRow)[0]), 0,
                           Halide::max(nk - 1, 0));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(ov) = readKeyed(v, oIdx, key, oIdx.back());
  t.shape = keyedShape(q, k, v, q.shape[rank - 2], v.shape[rank - 1]);
  funcs.main = t.func;
  funcs.helpers = {state};
  tensors[op.getOutput()] = t;
  tensors[op.getIndices()] = indices;
  return success();
}

//===----------------------------------------------------------------------===//
// Graph attention
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineGraphAttention(GraphAttentionOp op,
                                                    const std::string &name,
                                                    OpFuncs &funcs) {
  const Tensor &src = get(op.getSource()), &dst = get(op.getTarget()),
               &v = get(op.getValues()), &adj = get(op.getAdjacency());
  auto outType = op.getOutput().getType();
  auto adjType = op.getAdjacency().getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  Halide::Type acc = computeType(ht);
  int nb = outType.getRank() - 2;
  Expr n = src.shape[nb], m = dst.shape[nb], dv = v.shape[nb + 1];
  std::string at = "graph attention at " + name;
  for (int d = 0; d < nb; ++d)
    require(src.shape[d] == dst.shape[d] && dst.shape[d] == v.shape[d],
            at + ": the source, target and values differ in extent on axis " +
                std::to_string(d));
  require(v.shape[nb] == m, at + ": there is not a value row per key node");
  SmallVector<int64_t> scoresShape(outType.getShape());
  scoresShape.back() = op.getTarget().getType().getDimSize(nb);
  auto scoresType =
      RankedTensorType::get(scoresShape, adjType.getElementType());
  for (int a = 0; a < adjType.getRank(); ++a) {
    int k = outType.getRank() - adjType.getRank() + a;
    Expr full = k < nb ? src.shape[k] : k == nb ? n : m;
    if (adjType.isDynamicDim(a))
      require(adj.shape[a] == full || adj.shape[a] == 1,
              at + ": the adjacency's extent on axis " + std::to_string(a) +
                  " does not broadcast to the scores");
  }

  // Reads, clamped into range (block tails reach past the extents).
  auto with = [](std::vector<Expr> ix, std::initializer_list<Expr> tail) {
    ix.insert(ix.end(), tail);
    return ix;
  };
  Expr zero = typedZero(acc), low = Halide::cast(acc, lowest());
  auto source = [&](const std::vector<Expr> &b, Expr i) {
    return Halide::cast(acc,
                        widen(src.call(with(b, {Halide::clamp(i, 0, n - 1)}))));
  };
  auto target = [&](const std::vector<Expr> &b, Expr j) {
    return Halide::cast(acc,
                        widen(dst.call(with(b, {Halide::clamp(j, 0, m - 1)}))));
  };
  auto value = [&](const std::vector<Expr> &b, Expr j, Expr d) {
    return Halide::cast(acc,
                        widen(v.call(with(b, {Halide::clamp(j, 0, m - 1),
                                              Halide::clamp(d, 0, dv - 1)}))));
  };
  auto edge = [&](const std::vector<Expr> &b, Expr i, Expr j) {
    Expr e = broadcastRead(
        adj, adjType, scoresType,
        with(b, {Halide::clamp(i, 0, n - 1), Halide::clamp(j, 0, m - 1)}));
    return i < n && j < m && e;
  };
  Expr slope = Halide::cast(acc, Expr(op.getNegativeSlope().convertToDouble()));
  auto leaky = [&](Expr x) { return Halide::select(x < zero, x * slope, x); };

  std::vector<Var> batch = makeVars(nb, name + "_b");
  std::vector<Expr> b = onnxIndex(batch);
  auto args = [&](std::initializer_list<Var> inner) {
    std::vector<Var> all(inner);
    all.insert(all.end(), batch.begin(), batch.end());
    return all;
  };
  auto call = [&](std::initializer_list<Expr> inner,
                  const std::vector<Expr> &batchIdx) {
    std::vector<Expr> all(inner);
    all.insert(all.end(), batchIdx.rbegin(), batchIdx.rend());
    return all;
  };
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.shape = std::vector<Expr>(src.shape.begin(), src.shape.end());
  t.shape.push_back(dv);
  funcs.main = t.func;
  funcs.hasUpdate = true;
  tensors[op.getOutput()] = t;
  Var d(name + "_d"), i(name + "_i");

  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  if (!schedule || schedule.getKind() != KernelForm::block_sparse) {
    // The dense reference: every score, the neighbours' maximum of the
    // target term, the exponentials, their sum and the weighted values.
    Var j(name + "_j");
    RDom rj(0, m, name + "_rj");
    Func rowMax(name + "_max"), exps(name + "_exp"), rowSum(name + "_sum"),
        weighted(name + "_acc");
    rowMax(args({i})) =
        Halide::maximum(Halide::select(edge(b, i, rj.x), target(b, rj.x), low));
    exps(args({j, i})) =
        Halide::select(edge(b, i, j),
                       Halide::exp(leaky(source(b, i) + target(b, j)) -
                                   leaky(source(b, i) + rowMax(args({i})))),
                       zero);
    rowSum(args({i})) = Halide::sum(exps(call({rj.x, i}, b)));
    weighted(args({d, i})) =
        Halide::sum(exps(call({rj.x, i}, b)) * value(b, rj.x, d));
    Expr total = rowSum(args({i}));
    t.func(args({d, i})) = narrow(
        Halide::select(total > zero, weighted(args({d, i})) / total, zero), ht);
    funcs.helpers = {rowMax, exps, rowSum, weighted};
    return success();
  }

  // Query blocks × key blocks. A block's occupancy is one byte; every stage
  // that reads a key block is an update predicated on it, so an empty block
  // costs a test.
  GraphAttentionFuncs g;
  g.queryBlock = static_cast<int>(schedule.getTiles()[0]);
  g.keyBlock = static_cast<int>(schedule.getTiles()[1]);
  int tq = g.queryBlock, tk = g.keyBlock;
  int lanes = static_cast<int>(schedule.getVectorWidth());
  Expr keyBlocks = (m + tk - 1) / tk;
  g.d = d;
  g.i = i;
  g.ii = Var(name + "_ii");
  g.qb = Var(name + "_qb");
  g.kb = Var(name + "_kb");
  g.x = Var(name + "_x");
  g.lane = Var(name + "_lane");
  g.jj = Var(name + "_jj");
  Var ii = g.ii, qb = g.qb, kb = g.kb, x = g.x, lane = g.lane, jj = g.jj;
  // The adjacency's batch index of a scores' batch index: 0 on the axes
  // it broadcasts over, so one occupancy serves every head.
  std::vector<Expr> adjBatch = b;
  for (int k = 0; k < nb; ++k) {
    int a = k - (outType.getRank() - adjType.getRank());
    if (a < 0 || adjType.getDimSize(a) == 1)
      adjBatch[k] = 0;
    else if (adjType.isDynamicDim(a))
      adjBatch[k] = Halide::min(b[k], adj.shape[a] - 1);
  }
  Expr one8 = Halide::cast<uint8_t>(1), zero8 = Halide::cast<uint8_t>(0);
  g.colAny = Func(name + "_colany");
  g.occupied = Func(name + "_occupied");
  g.blockRows = RDom(0, tq, name + "_ry");
  g.blockKeys = RDom(0, tk, name + "_rx");
  g.colAny(args({x, qb})) = zero8;
  g.colAny(args({x, qb})) = Halide::max(
      g.colAny(args({x, qb})),
      Halide::select(edge(b, qb * tq + g.blockRows.x, x), one8, zero8));
  g.occupied(args({kb, qb})) = zero8;
  g.occupied(args({kb, qb})) =
      Halide::max(g.occupied(args({kb, qb})),
                  g.colAny(call({kb * tk + g.blockKeys.x, qb}, b)));
  auto occupied = [&](Expr block) {
    return g.occupied(call({block, qb}, adjBatch)) != zero8;
  };

  // The neighbours' maximum of the target term, in lanes per key block.
  RDom once(0, 1, name + "_once");
  once.where(occupied(kb));
  Expr row = qb * tq + ii;
  Expr blockMax = low;
  for (int c = 0; c < tk / lanes; ++c) {
    Expr j = kb * tk + c * lanes + lane + once.x;
    blockMax = Halide::max(blockMax,
                           Halide::select(edge(b, row, j), target(b, j), low));
  }
  g.tileMax = Func(name + "_tilemax");
  g.tileMax(args({lane, ii, kb, qb})) = low;
  g.tileMax(args({lane, ii, kb, qb})) = blockMax;
  g.keyBlocks = RDom(0, keyBlocks, name + "_rk");
  g.lanes = RDom(0, lanes, name + "_rl");
  g.rowMaxLanes = Func(name + "_maxlanes");
  g.rowMaxLanes(args({lane, ii, qb})) = low;
  g.rowMaxLanes(args({lane, ii, qb})) =
      Halide::max(g.rowMaxLanes(args({lane, ii, qb})),
                  g.tileMax(call({lane, ii, g.keyBlocks.x, qb}, b)));
  g.rowMax = Func(name + "_max");
  g.rowMax(args({ii, qb})) = low;
  g.rowMax(args({ii, qb})) = Halide::max(
      g.rowMax(args({ii, qb})), g.rowMaxLanes(call({g.lanes.x, ii, qb}, b)));

  // A key block's probabilities (unnormalized), then Σ p · v and Σ p.
  RDom onceP(0, 1, name + "_onceP");
  onceP.where(occupied(kb));
  Expr key = kb * tk + jj + onceP.x;
  Expr s = source(b, row);
  g.probs = Func(name + "_p");
  g.probs(args({jj, ii, kb, qb})) = Halide::undef(acc);
  g.probs(args({jj, ii, kb, qb})) =
      Halide::select(edge(b, row, key),
                     Halide::exp(leaky(s + target(b, key)) -
                                 leaky(s + g.rowMax(args({ii, qb})))),
                     zero);
  // The key block's value rows with a column of ones appended (its sum
  // of p comes out as column Dv), copied once per occupied block.
  RDom onceV(0, 1, name + "_onceV");
  onceV.where(occupied(kb));
  g.valueRows = Func(name + "_values");
  g.valueRows(args({d, jj, kb, qb})) = Halide::undef(acc);
  g.valueRows(args({d, jj, kb, qb})) = Halide::select(
      d < dv, value(b, kb * tk + jj + onceV.x, d), Halide::cast(acc, 1));
  // Σ p · v of one key block, written out over its keys (a reduction
  // would put its occupancy test inside its loop), then summed over the
  // occupied blocks.
  RDom onceA(0, 1, name + "_onceA");
  onceA.where(occupied(kb));
  Expr blockSum = zero;
  for (int c = 0; c < tk; ++c)
    blockSum += g.probs(call({c + onceA.x, ii, kb, qb}, b)) *
                g.valueRows(call({d, c, kb, qb}, b));
  g.blockPV = Func(name + "_blockpv");
  g.blockPV(args({d, ii, kb, qb})) = Halide::undef(acc);
  g.blockPV(args({d, ii, kb, qb})) = blockSum;
  g.acc = Func(name + "_acc");
  g.acc(args({d, ii, qb})) = zero;
  g.acc(args({d, ii, qb})) +=
      Halide::select(occupied(g.keyBlocks.x),
                     g.blockPV(call({d, ii, g.keyBlocks.x, qb}, b)), zero);
  Expr total = g.acc(call({dv, i % tq, i / tq}, b));
  t.func(args({d, i})) =
      narrow(Halide::select(total > zero,
                            g.acc(call({d, i % tq, i / tq}, b)) / total, zero),
             ht);
  g.out = t.func;
  funcs.form = g;
  return success();
}
