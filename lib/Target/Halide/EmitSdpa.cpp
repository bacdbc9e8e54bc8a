//===- EmitSdpa.cpp - The two forms of attn.sdpa ---------------*- C++ -*-===//
//
// Both forms are the online softmax over KV blocks (FlashAttention's
// recurrence): for every query row a running maximum, a running sum and an
// accumulator are updated once per KV block from that block's scores, so
// only one query-block × KV-block tile of scores ever exists. The schedule's
// kind chooses the form.
//
// kind = flash (defineSdpa, the end of this file): generic Halide code,
// vectorized and parallel as the schedule says; CPUs and GPUs, any head
// size.
//
// kind = blocked (defineBlockedSdpa): register tiles. One task is a block of
// query rows of one head of one batch entry; it walks the keys in KV blocks,
// keeping for every row a running maximum, a running sum and a running P·V (the
// online softmax). Per KV block:
//
//   kPack, vPack   the block's keys and values: float32 rows that lie
//                  contiguous in memory are read in place; others (other
//                  element types, rows computed inside attn.sdpa) are
//                  copied once into a dense buffer (keys clamped at the end
//                  of the sequence either way);
//   scoresAcc      Q·Kᵀ in tiles of `qkRows` query rows (vector lanes) ×
//                  `qkKeys` keys, accumulated in registers over the head
//                  dimension; queries were transposed and pre-scaled once
//                  per task;
//   scores         the tile masked (causal, padding, mask operand) and
//                  soft-capped, in log2 units;
//   blockMax       per row, vectorized across rows;
//   probs          2^(score - blockMax), a vectorized exp2;
//   blockSum       per row;
//   pvAcc          P·V in tiles of `pvDims` head dimensions × `pvRows` rows,
//                  accumulated in registers over the block's keys;
//   state          the running (acc, max, sum), rescaled with one exp2.
//
// With bfloat16 products (`bf16` schedules) the queries, each block's keys
// and values (interleaved by key pairs) and the probabilities are rounded
// to bfloat16, and both products sum pairs of them per float32 lane (one
// vdpbf16ps per step on AVX512-BF16).
//
// Masks are computed from indices inside the tile. With a causal mask and a
// non-negative diagonal offset, KV blocks past the last query of the task
// are skipped: the reduction domain is predicated on the task's block, and
// Halide trims the loop.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

namespace {

constexpr float kLog2e = 1.4426950408889634f;

/// 2^t for t <= 0 in float32: t = k + r with k = round(t), 2^r as
/// 1 + r·q(r) with q of degree 4 fitted on [-1/2, 1/2] for relative error
/// (below 2e-7 in float32 arithmetic), and 2^k written into the exponent
/// bits. round(t) comes from the low mantissa bits of t + 1.5·2^23, which
/// hold it as an integer: no rounding instruction (Halide 14 splits those
/// into 256-bit halves on AVX-512) and no float-to-int conversion. At
/// t <= -127 the exponent field is 0 and the result is exactly +0, so masked
/// scores add nothing and never produce denormals.
Expr exp2NonPositive(Expr t) {
  static const float kCoefficients[] = {1.326472918e-3f, 9.671513435e-3f,
                                        5.550733746e-2f, 2.402224207e-1f,
                                        6.931469776e-1f};
  constexpr int kMagicBits = 0x4B400000; // 1.5 · 2^23
  t = Halide::max(t, -127.0f);
  Expr bits = Halide::reinterpret(Halide::Int(32), t + 12582912.0f);
  Expr r = t - Halide::cast<float>(bits - kMagicBits);
  Expr q = kCoefficients[0];
  for (size_t c = 1; c < std::size(kCoefficients); ++c)
    q = q * r + kCoefficients[c];
  // (k + 127) << 23: the magic number's own bits shift out.
  Expr scale = Halide::reinterpret(Halide::Float(32), (bits + 127) << 23);
  return (q * r + 1.0f) * scale;
}

/// True when the rows (last axis) of `value` can be read where they already
/// lie, contiguous: a function argument, a constant, an op computed into a
/// buffer of its own, or such a buffer seen through inlined layout ops that
/// keep every row a contiguous piece of a row of their input (a transpose
/// that leaves the last axis last, a reshape that splits it). Anything else,
/// e.g. an elementwise chain computed inside attn.sdpa, is packed once per
/// KV block instead.
bool rowsInPlace(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    auto schedule = dyn_cast_or_null<ScheduleAttr>(def->getAttr("schedule"));
    if (isa<ConstantOp>(def) || !schedule || !schedule.getInlined())
      return true;
    auto out = cast<RankedTensorType>(value.getType());
    auto in = cast<RankedTensorType>(def->getOperand(0).getType());
    if (auto transpose = dyn_cast<TransposeOp>(def)) {
      if (transpose.getPerm().back() != out.getRank() - 1)
        return false;
    } else if (isa<ReshapeOp, ExpandDimsOp>(def)) {
      int64_t row = out.getShape().back(), source = in.getShape().back();
      if (ShapedType::isDynamic(row) || ShapedType::isDynamic(source) ||
          source % row != 0)
        return false;
    } else {
      return false;
    }
    value = def->getOperand(0);
  }
  return true;
}

} // namespace

void PipelineBuilder::applySdpaMask(SdpaOp op, Expr bIdx, Expr hIdx, Expr row,
                                    Expr key, float unit, Expr &score,
                                    Expr &valid) {
  Value maskValue = op.getMask();
  if (!maskValue)
    return;
  Tensor &mask = get(maskValue);
  auto maskType = cast<RankedTensorType>(maskValue.getType());
  std::vector<Expr> scoreIdx = {bIdx, hIdx, row, key};
  std::vector<Expr> mIdx;
  int offset = 4 - maskType.getRank();
  // A run-time extent may be 1 and broadcast.
  for (int a = 0; a < maskType.getRank(); ++a)
    mIdx.push_back(maskType.getDimSize(a) == 1 ? Expr(0)
                   : maskType.isDynamicDim(a)
                       ? Halide::min(scoreIdx[offset + a], mask.shape[a] - 1)
                       : scoreIdx[offset + a]);
  Expr m = mask.call(mIdx);
  if (m.type().is_bool()) {
    valid = valid && m;
    return;
  }
  valid = valid && floatMaskKeeps(m);
  Expr additive = widen(m);
  if (unit != 1.0f)
    additive = additive * Halide::cast(additive.type(), unit);
  score = score + additive;
  // -inf in a constant mask must not be folded away (Tensor::nonFinite).
  if (mask.nonFinite)
    score = Halide::strict_float(score);
}

void PipelineBuilder::recordSdpaResult(SdpaOp op, Func out, Halide::Type type,
                                       const Tensor &q, const Tensor &v) {
  Tensor t;
  t.func = out;
  t.type = type;
  t.shape = {q.shape[0], q.shape[1], q.shape[2], v.shape[3]};
  tensors[op.getResult()] = t;
}

LogicalResult PipelineBuilder::defineBlockedSdpa(SdpaOp op,
                                                 const std::string &name,
                                                 OpFuncs &funcs) {
  requireSdpaExtents(op);
  Tensor &q = get(op.getQ());
  Tensor &k = get(op.getK());
  Tensor &v = get(op.getV());
  auto schedule = cast<ScheduleAttr>(op->getAttr("schedule"));
  ArrayRef<int64_t> tiles = schedule.getTiles();
  BlockedSdpaFuncs &f = funcs.form.emplace<BlockedSdpaFuncs>();
  // All six tiles are given, within their blocks (the verifier's).
  auto tile = [&](size_t index) { return static_cast<int>(tiles[index]); };
  int headDim = static_cast<int>(op.getQ().getType().getDimSize(3));
  int valueDim = static_cast<int>(op.getV().getType().getDimSize(3));
  f.lanes = static_cast<int>(schedule.getVectorWidth());
  f.qBlock = tile(0);
  f.kvBlock = tile(1);
  f.qkRows = tile(2);
  f.qkKeys = tile(3);
  f.pvDims = tile(4);
  f.pvRows = tile(5);

  Halide::Type ht = *toHalideType(op.getType().getElementType());
  Halide::Type acc = Halide::Float(32);
  Expr zero = Halide::cast(acc, 0);
  Expr low = Halide::cast(acc, lowest());
  int64_t group = op.getKvGroupAttr().getInt();
  float scale = static_cast<float>(op.getEffectiveScale());
  std::optional<APFloat> softcap = op.getSoftcap();
  bool causal = op.getCausal();
  int causalOffset = static_cast<int>(op.getCausalOffset());

  Expr nq = q.shape[2], nk = k.shape[2];
  int qB = f.qBlock;
  // The KV block in use: the schedule's, or at a run-time sequence shorter
  // than that the keys rounded up to whole vectors, so that a short call
  // of a dynamic-length model computes no block of keys that do not exist.
  // Buffers keep the schedule's size (bound_storage); with a static
  // sequence this folds to the schedule's block.
  // Whole QK tiles of keys (the tile's loop shifts inwards), even for the
  // key pairs of bfloat16 products.
  int granule = std::max(f.lanes, f.qkKeys);
  granule += granule % 2;
  Expr kvB = Halide::min(
      f.kvBlock, Halide::max(granule, (nk + granule - 1) / granule * granule));
  f.kvExtent = kvB;
  Expr numBlocks = (nk + kvB - 1) / kvB;

  Var d("d"), i("i"), ii("ii"), io("io"), j("j"), h("h"), b("b"), kb("kb");
  f.row = ii;
  f.block = io;
  f.headDim = RDom(0, headDim, name + "_rd");
  f.kvInBlock = RDom(0, kvB, name + "_rj");
  f.keysInBlock = f.kvInBlock;
  f.kvBlocks = RDom(0, numBlocks, name + "_kvb");

  Expr hk = group == 1 ? Expr(h) : h / static_cast<int>(group);
  Expr rowAt = io * qB + ii;
  Expr rowC = Halide::min(rowAt, nq - 1);
  auto keyAt = [&](Expr jj, Expr block) {
    return Halide::min(block * kvB + jj, nk - 1);
  };

  // Scores come out in log2 units (the softmax is taken with exp2): the
  // scale and log2(e) are folded into the transposed queries unless a soft
  // cap needs the natural-unit score first.
  float qScale = softcap ? scale : scale * kLog2e;
  f.bf16 = schedule.getBf16();
  Halide::Type bf16 = Halide::BFloat(16);
  Var pe("pe"), jp("jp");
  f.qT = Func(name + "_qT");
  if (f.bf16)
    f.qT(pe, ii, d, io, h, b) =
        Halide::cast(bf16, widen(q.func(2 * d + pe, rowC, h, b)) * qScale);
  else
    f.qT(ii, d, io, h, b) = widen(q.func(d, rowC, h, b)) * qScale;
  // Float32 keys and values whose rows lie contiguous in memory are read
  // in place (a KV block is then already one dense block of rows); others
  // are converted or computed once per KV block into a dense pack.
  auto readRows = [&](Value value, Tensor &t, const std::string &suffix,
                      Func &pack) {
    Expr row = widen(t.func(d, keyAt(j, kb), hk, b));
    if (t.type == Halide::Float(32) && rowsInPlace(value)) {
      Func direct(name + suffix);
      direct(d, j, kb, h, b) = row;
      return direct;
    }
    pack = Func(name + suffix);
    pack(d, j, kb, h, b) = row;
    return pack;
  };
  Func kRows, vRows;
  f.scoresAcc = Func(name + "_qk");
  f.scoresAcc(ii, j, kb, io, h, b) = zero;
  if (f.bf16) {
    // Q·Kᵀ summed over pairs of head dimensions: the queries rounded once
    // per task, each KV block's keys once per block.
    f.headDim = RDom(0, 2, 0, headDim / 2, name + "_rd");
    f.kPack = Func(name + "_kpack");
    f.kPack(d, j, kb, h, b) =
        Halide::cast(bf16, widen(k.func(d, keyAt(j, kb), hk, b)));
    const RDom &rd = f.headDim;
    f.scoresAcc(ii, j, kb, io, h, b) +=
        Halide::cast<float>(f.qT(rd.x, ii, rd.y, io, h, b)) *
        Halide::cast<float>(f.kPack(2 * rd.y + rd.x, j, kb, h, b));
  } else {
    kRows = readRows(op.getK(), k, "_kpack", f.kPack);
    vRows = readRows(op.getV(), v, "_vpack", f.vPack);
    const RDom &rd = f.headDim;
    f.scoresAcc(ii, j, kb, io, h, b) +=
        f.qT(ii, rd.x, io, h, b) * kRows(rd.x, j, kb, h, b);
  }

  Expr key = kb * kvB + j;
  Expr s = f.scoresAcc(ii, j, kb, io, h, b);
  if (softcap) {
    Expr c = Halide::cast(acc, static_cast<float>(softcap->convertToDouble()));
    s = c * vectorTanh(s / c) * kLog2e;
  }
  Expr valid = key < nk;
  if (causal)
    valid = valid && key <= rowAt + causalOffset;
  applySdpaMask(op, b, h, rowC, keyAt(j, kb), kLog2e, s, valid);
  f.scores = Func(name + "_s");
  f.scores(ii, j, kb, io, h, b) =
      Halide::select(valid, Halide::max(s, low), low);

  const RDom &rj = f.keysInBlock;
  f.blockMax = Func(name + "_bmax");
  f.blockMax(ii, kb, io, h, b) = low;
  f.blockMax(ii, kb, io, h, b) = Halide::max(f.blockMax(ii, kb, io, h, b),
                                             f.scores(ii, rj.x, kb, io, h, b));
  // Keys past the end of the last, partial block weigh nothing, even in a
  // row whose real keys are all masked (those weigh one each, so that such
  // a row averages V over its keys).
  f.probs = Func(name + "_p");
  f.probs(ii, j, kb, io, h, b) =
      Halide::select(key < nk,
                     exp2NonPositive(f.scores(ii, j, kb, io, h, b) -
                                     f.blockMax(ii, kb, io, h, b)),
                     zero);
  f.blockSum = Func(name + "_bsum");
  f.blockSum(ii, kb, io, h, b) = zero;
  f.pvAcc = Func(name + "_pvacc");
  f.pvAcc(d, ii, kb, io, h, b) = zero;
  if (f.bf16) {
    // P·V summed over pairs of keys: the probabilities rounded to bfloat16
    // as they are computed (the row sums add the rounded values, so that
    // the weights P·V uses are normalized exactly), the block's values
    // rounded and interleaved by key pairs once per block.
    f.kvInBlock = RDom(0, 2, 0, kvB / 2, name + "_rj");
    const RDom &rp = f.kvInBlock;
    f.probPairs = Func(name + "_ppairs");
    f.probPairs(pe, ii, jp, kb, io, h, b) =
        Halide::cast(bf16, f.probs(ii, 2 * jp + pe, kb, io, h, b));
    f.vPack = Func(name + "_vpack");
    f.vPack(pe, d, jp, kb, h, b) =
        Halide::cast(bf16, widen(v.func(d, keyAt(2 * jp + pe, kb), hk, b)));
    f.blockSum(ii, kb, io, h, b) +=
        Halide::cast<float>(f.probPairs(rp.x, ii, rp.y, kb, io, h, b));
    f.pvAcc(d, ii, kb, io, h, b) +=
        Halide::cast<float>(f.vPack(rp.x, d, rp.y, kb, h, b)) *
        Halide::cast<float>(f.probPairs(rp.x, ii, rp.y, kb, io, h, b));
  } else {
    f.blockSum(ii, kb, io, h, b) += f.probs(ii, rj.x, kb, io, h, b);
    f.pvAcc(d, ii, kb, io, h, b) +=
        f.probs(ii, rj.x, kb, io, h, b) * vRows(d, rj.x, kb, h, b);
  }
  f.pv = Func(name + "_pv");
  f.pv(d, ii, kb, io, h, b) = f.pvAcc(d, ii, kb, io, h, b);

  // The online-softmax recurrence over KV blocks. One of the two rescale
  // factors is always 1, so one exp2 gives both.
  RDom rkb = f.kvBlocks;
  if (causal && causalOffset >= 0)
    rkb.where(rkb.x * kvB <= io * qB + (qB - 1) + causalOffset);
  f.kvBlocks = rkb;
  f.state = Func(name + "_state");
  f.state(d, ii, io, h, b) = {zero, low, zero};
  Expr mOld = f.state(d, ii, io, h, b)[1];
  Expr bmax = f.blockMax(ii, rkb.x, io, h, b);
  Expr keepOld = mOld >= bmax;
  Expr e = exp2NonPositive(-Halide::abs(mOld - bmax));
  Expr alpha = Halide::select(keepOld, 1.0f, e);
  Expr beta = Halide::select(keepOld, e, 1.0f);
  f.state(d, ii, io, h, b) = {f.state(d, ii, io, h, b)[0] * alpha +
                                  f.pv(d, ii, rkb.x, io, h, b) * beta,
                              Halide::max(mOld, bmax),
                              f.state(d, ii, io, h, b)[2] * alpha +
                                  f.blockSum(ii, rkb.x, io, h, b) * beta};

  f.out = Func(name);
  Expr sr = i % qB, sb = i / qB;
  Expr average = f.state(d, sr, sb, h, b)[0] / f.state(d, sr, sb, h, b)[2];
  // Every key masked: the running maximum never rose above `low`.
  if (op.getZeroMaskedRows())
    average = Halide::select(f.state(d, sr, sb, h, b)[1] == low, zero, average);
  f.out(d, i, h, b) = narrow(average, ht);
  f.out.bound(d, 0, valueDim);
  funcs.main = f.out;

  recordSdpaResult(op, f.out, ht, q, v);
  return success();
}

//===----------------------------------------------------------------------===//
// The online softmax in generic code (kind = flash)
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineSdpa(SdpaOp op, const std::string &name,
                                          OpFuncs &funcs) {
  requireSdpaExtents(op);
  Tensor &q = get(op.getQ());
  Tensor &k = get(op.getK());
  Tensor &v = get(op.getV());
  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  ArrayRef<int64_t> tiles =
      schedule ? schedule.getTiles() : ArrayRef<int64_t>();
  int64_t kvBlock = tiles.size() >= 2 ? tiles[1] : 64;
  int64_t lanes = schedule ? schedule.getVectorWidth() : 1;
  if (schedule && schedule.getGpuThreads())
    lanes = 1;
  if (kvBlock % lanes != 0)
    lanes = 1;
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  Halide::Type acc = computeType(ht);
  Expr zero = Halide::cast(acc, 0);
  Expr low = Halide::cast(acc, lowest());
  int64_t group = op.getKvGroupAttr().getInt();
  float scale = static_cast<float>(op.getEffectiveScale());
  bool causal = op.getCausal();

  Expr nq = q.shape[2], nk = k.shape[2], headDim = q.shape[3];
  Expr bk = static_cast<int>(kvBlock);
  Expr numBlocks = (nk + bk - 1) / bk;

  Var d("d"), j("j"), i("i"), h("h"), b("b"), kb("kb"), l("l");
  SdpaFuncs &f = funcs.form.emplace<SdpaFuncs>();
  f.lanesCount = lanes;
  f.kvBlocks = RDom(0, numBlocks, name + "_kvb");
  f.headDim = RDom(0, headDim, name + "_rd");
  f.kvInBlock = RDom(0, static_cast<int>(kvBlock), name + "_rj");
  f.partRows = RDom(0, static_cast<int>(kvBlock / lanes), name + "_rp");
  f.lanes = RDom(0, static_cast<int>(lanes), name + "_rl");

  Expr hk = group == 1 ? Expr(h) : h / static_cast<int>(group);
  Expr iC = Halide::min(i, nq - 1);
  auto keyAt = [&](Expr jj, Expr block) {
    return Halide::min(block * bk + jj, nk - 1);
  };

  // K block transposed so that the score loop reads it contiguously.
  f.hasKT = !(schedule && schedule.getGpuThreads());
  f.kT = Func(name + "_kT");
  f.kT(j, d, kb, h, b) = widen(k.func(d, keyAt(j, kb), h, b));
  auto kRead = [&](Expr jj, Expr dd, Expr block) {
    return f.hasKT ? f.kT(jj, dd, block, hk, b)
                   : widen(k.func(dd, keyAt(jj, block), hk, b));
  };

  // Raw scores of one tile: Σ_d q · k.
  f.scores = Func(name + "_scores");
  f.scores(j, kb, i, h, b) = zero;
  f.scores(j, kb, i, h, b) +=
      widen(q.func(f.headDim.x, iC, h, b)) * kRead(j, f.headDim.x, kb);

  // Scaled, masked scores at key offset `jj` of block `kb`; masked
  // positions hold the lowest float, so a fully masked row never produces
  // infinities or NaNs.
  auto maskedAt = [&](Expr jj) -> Expr {
    Expr key = kb * bk + jj;
    Expr s = f.scores(jj, kb, i, h, b) * Halide::cast(acc, scale);
    if (auto cap = op.getSoftcap()) {
      Expr c = Halide::cast(acc, static_cast<float>(cap->convertToDouble()));
      s = c * vectorTanh(s / c);
    }
    Expr valid = key < nk;
    if (causal)
      valid = valid && key <= i + static_cast<int>(op.getCausalOffset());
    applySdpaMask(op, b, h, iC, keyAt(jj, kb), 1.0f, s, valid);
    return Halide::select(valid, Halide::max(s, low), low);
  };

  // Block maximum in two steps so that the first is vectorizable.
  const RDom &rp = f.partRows;
  Expr jPart = rp.x * static_cast<int>(lanes) + l;
  f.blockMaxPart = Func(name + "_bmax_part");
  f.blockMaxPart(l, kb, i, h, b) = low;
  f.blockMaxPart(l, kb, i, h, b) =
      Halide::max(f.blockMaxPart(l, kb, i, h, b), maskedAt(jPart));
  f.blockMax = Func(name + "_bmax");
  f.blockMax(kb, i, h, b) =
      Halide::maximum(f.blockMaxPart(f.lanes.x, kb, i, h, b));

  // Probabilities relative to the block maximum.
  f.probs = Func(name + "_p");
  // Keys past the end of the last, partial block weigh nothing, even in a
  // row whose real keys are all masked (those weigh one each, so that such
  // a row averages V over its keys).
  f.probs(j, kb, i, h, b) =
      Halide::select(kb * bk + j < nk,
                     Halide::exp(maskedAt(j) - f.blockMax(kb, i, h, b)), zero);

  f.blockSumPart = Func(name + "_bsum_part");
  f.blockSumPart(l, kb, i, h, b) = zero;
  f.blockSumPart(l, kb, i, h, b) += f.probs(jPart, kb, i, h, b);
  f.blockSum = Func(name + "_bsum");
  f.blockSum(kb, i, h, b) = Halide::sum(f.blockSumPart(f.lanes.x, kb, i, h, b));

  // P · V of the block.
  f.pv = Func(name + "_pv");
  f.pv(d, kb, i, h, b) = zero;
  f.pv(d, kb, i, h, b) += f.probs(f.kvInBlock.x, kb, i, h, b) *
                          widen(v.func(d, keyAt(f.kvInBlock.x, kb), hk, b));

  // The online-softmax recurrence over KV blocks: (acc, running max, sum).
  f.state = Func(name + "_state");
  f.state(d, i, h, b) = {zero, low, zero};
  const RDom &rkb = f.kvBlocks;
  Expr mOld = f.state(d, i, h, b)[1];
  Expr bmax = f.blockMax(rkb.x, i, h, b);
  Expr mNew = Halide::max(mOld, bmax);
  Expr alpha = Halide::exp(mOld - mNew);
  Expr beta = Halide::exp(bmax - mNew);
  f.state(d, i, h, b) = {
      f.state(d, i, h, b)[0] * alpha + f.pv(d, rkb.x, i, h, b) * beta, mNew,
      f.state(d, i, h, b)[2] * alpha + f.blockSum(rkb.x, i, h, b) * beta};

  f.out = Func(name);
  Expr average = f.state(d, i, h, b)[0] / f.state(d, i, h, b)[2];
  // Every key masked: the running maximum never rose above `low`.
  if (op.getZeroMaskedRows())
    average = Halide::select(f.state(d, i, h, b)[1] == low, zero, average);
  f.out(d, i, h, b) = narrow(average, ht);
  funcs.main = f.out;

  recordSdpaResult(op, f.out, ht, q, v);
  return success();
}
