//===- EmitReductions.cpp - Reductions, softmax and norms -------*- C++ -*-===//
//
// ReduceSum/Mean/Max/Min/Prod, ArgMax, Softmax, LogSoftmax and LayerNorm
// (also RMS, with a residual): Halide reductions in the compute type.
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
// Reductions and normalizations
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineReduce(ReduceOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto outType = op.getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  ArrayRef<int64_t> axes = op.getAxes();
  bool keep = op.getKeepdims();
  int inRank = in.rank();
  Halide::Region region;
  for (int64_t a : axes)
    region.push_back(Halide::Range(0, in.shape[a]));
  std::vector<Expr> shape;
  for (int k = 0; k < inRank; ++k) {
    bool reduced = llvm::is_contained(axes, k);
    if (!reduced)
      shape.push_back(in.shape[k]);
    else if (keep)
      shape.push_back(1);
  }
  if (region.empty()) {
    defineElementwise(op, name, funcs, shape,
                      [&](const std::vector<Expr> &i) { return in.call(i); });
    return success();
  }
  RDom r(region, name + "_r");
  StringRef kind = op.getKind();
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.shape = shape;
  std::vector<Var> vars = makeVars(static_cast<int>(shape.size()), name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::vector<Expr> inIdx;
  int o = 0, j = 0;
  for (int k = 0; k < inRank; ++k) {
    if (llvm::is_contained(axes, k)) {
      inIdx.push_back(r[j++]);
      if (keep)
        ++o;
    } else {
      inIdx.push_back(idx[o++]);
    }
  }
  Expr x = widen(in.call(inIdx));
  Halide::Type acc = x.type();
  if (acc.is_int() && acc.bits() < 64 && (kind == "sum" || kind == "prod"))
    acc = acc.with_bits(64);
  x = Halide::cast(acc, x);

  // A schedule with vector lanes over a reduced innermost axis: `lanes`
  // partial results along it (contiguous vector loads), then their
  // reduction.
  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  int lanes = schedule ? static_cast<int>(schedule.getVectorWidth()) : 1;
  auto innermost = llvm::find(axes, inRank - 1);
  if (applySchedules && lanes > 1 && innermost != axes.end() &&
      acc.is_float() && kind != "prod") {
    int jInner = static_cast<int>(innermost - axes.begin());
    Expr n = in.shape[inRank - 1];
    int64_t staticInner = op.getInput().getType().getDimSize(inRank - 1);
    // Whole vectors: no lane reads past the end.
    bool whole =
        !ShapedType::isDynamic(staticInner) && staticInner % lanes == 0;
    Halide::Region chunks = region;
    chunks[jInner] = Halide::Range(0, (n + lanes - 1) / lanes);
    // A result of few elements gets its parallel tasks from the next
    // reduced axis out, split into kGroups ranges (partial results per
    // group, reduced last).
    constexpr int kGroups = 8;
    bool grouped = jInner > 0 && outType.getNumElements() == 1;
    Var group(name + "_group");
    Expr groupSize;
    if (grouped) {
      Expr extent = region[jInner - 1].extent;
      groupSize = (extent + kGroups - 1) / kGroups;
      chunks[jInner - 1] = Halide::Range(0, groupSize);
    }
    RDom rc(chunks, name + "_rc");
    if (grouped)
      rc.where(group * groupSize + rc[jInner - 1] < region[jInner - 1].extent);
    Var lane(name + "_lane");
    std::vector<Expr> at;
    int jj = 0;
    Expr valid;
    for (int k = 0; k < inRank; ++k) {
      if (!llvm::is_contained(axes, k)) {
        at.push_back(inIdx[k]);
        continue;
      }
      if (jj == jInner) {
        Expr e = rc[jj] * lanes + lane;
        if (!whole) {
          valid = e < n;
          e = Halide::min(e, n - 1);
        }
        at.push_back(e);
      } else if (grouped && jj == jInner - 1) {
        // Clamped for bounds inference; the RDom's predicate skips the
        // clamped rows.
        at.push_back(
            Halide::min(group * groupSize + rc[jj], region[jj].extent - 1));
      } else {
        at.push_back(rc[jj]);
      }
      ++jj;
    }
    constexpr float inf = std::numeric_limits<float>::infinity();
    Expr identity = kind == "max"   ? Halide::cast(acc, Expr(-inf))
                    : kind == "min" ? Halide::cast(acc, Expr(inf))
                                    : Halide::cast(acc, 0);
    Expr element = Halide::cast(acc, widen(in.call(at)));
    if (valid.defined())
      element = Halide::select(valid, element, identity);
    std::vector<Var> pv = {lane};
    if (grouped)
      pv.push_back(group);
    pv.insert(pv.end(), vars.begin(), vars.end());
    std::vector<Expr> pe(pv.begin(), pv.end());
    Func partial(name + "_partial");
    partial(pv) = identity;
    Expr previous = partial(pe);
    partial(pv) = kind == "max"   ? Halide::max(previous, element)
                  : kind == "min" ? Halide::min(previous, element)
                                  : previous + element;
    RDom rl(0, lanes, 0, grouped ? kGroups : 1, name + "_rl");
    std::vector<Expr> fromLane = {rl.x};
    if (grouped)
      fromLane.push_back(rl.y);
    fromLane.insert(fromLane.end(), vars.begin(), vars.end());
    Expr part = partial(fromLane);
    Expr value = kind == "max"   ? Halide::maximum(part)
                 : kind == "min" ? Halide::minimum(part)
                                 : Halide::sum(part);
    if (kind == "mean") {
      Expr count = 1;
      for (const auto &range : region)
        count = count * range.extent;
      value = value / Halide::cast(acc, count);
    }
    t.func(vars) = narrow(value, ht);
    funcs.main = t.func;
    funcs.helpers.push_back(partial);
    tensors[op.getResult()] = t;
    return success();
  }
  Expr value;
  if (kind == "sum" || kind == "mean") {
    value = Halide::sum(x);
    if (kind == "mean") {
      Expr count = 1;
      for (const auto &range : region)
        count = count * range.extent;
      value = value / Halide::cast(acc, count);
    }
  } else if (kind == "max") {
    value = Halide::maximum(x);
  } else if (kind == "min") {
    value = Halide::minimum(x);
  } else {
    value = Halide::product(x);
  }
  t.func(vars) = narrow(value, ht);
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineArgMax(ArgMaxOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  int inRank = in.rank();
  int64_t axis = op.getAxis();
  bool keep = op.getKeepdims();
  std::vector<Expr> shape;
  for (int k = 0; k < inRank; ++k) {
    if (k != axis)
      shape.push_back(in.shape[k]);
    else if (keep)
      shape.push_back(1);
  }
  int rank = static_cast<int>(shape.size());
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  auto inIndex = [&](Expr at) {
    std::vector<Expr> ix;
    int o = 0;
    for (int k = 0; k < inRank; ++k) {
      if (k == axis) {
        ix.push_back(at);
        if (keep)
          ++o;
      } else {
        ix.push_back(idx[o++]);
      }
    }
    return ix;
  };
  RDom r(1, Halide::max(in.shape[axis] - 1, 0), name + "_r");
  Func state(name + "_state");
  state(vars) = {Expr(int64_t(0)), widen(in.call(inIndex(0)))};
  Expr v = widen(in.call(inIndex(r.x)));
  Expr best = state(vars)[1];
  Expr better = op.getSmallest()
                    ? (op.getSelectLastIndex() ? v <= best : v < best)
                    : (op.getSelectLastIndex() ? v >= best : v > best);
  state(vars) = {
      Halide::select(better, Halide::cast<int64_t>(r.x), state(vars)[0]),
      Halide::select(better, v, best)};
  Tensor t;
  t.type = Halide::Int(64);
  t.func = Func(name);
  t.func(vars) = state(vars)[0];
  t.shape = shape;
  funcs.main = t.func;
  funcs.helpers.push_back(state);
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineLogSoftmax(LogSoftmaxOp op,
                                                const std::string &name,
                                                OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  int rank = in.rank();
  int64_t axis = op.getAxisAttr().getInt();
  if (axis < 0)
    axis += rank;
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::vector<Var> rowVars;
  for (int k = 0; k < rank; ++k)
    if (k != rank - 1 - axis)
      rowVars.push_back(vars[k]);
  RDom r(0, in.shape[axis], name + "_r");
  std::vector<Expr> rIdx = idx;
  rIdx[axis] = r.x;
  Func max(name + "_max"), sum(name + "_sum");
  max(rowVars) = Halide::maximum(widen(in.call(rIdx)));
  sum(rowVars) = Halide::sum(Halide::exp(widen(in.call(rIdx)) - max(rowVars)));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(
      widen(in.call(idx)) - max(rowVars) - Halide::log(sum(rowVars)), ht);
  t.shape = in.shape;
  funcs.main = t.func;
  funcs.helpers = {max, sum};
  tensors[op.getResult()] = t;
  return success();
}

LogicalResult PipelineBuilder::defineLayerNorm(LayerNormOp op,
                                               const std::string &name,
                                               OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto outType = op.getType();
  Halide::Type ht = *toHalideType(outType.getElementType());
  int rank = in.rank();
  int64_t axis = op.getAxisAttr().getInt();
  if (axis < 0)
    axis += rank;
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  // Halide vars of the leading (row) axes: the last `axis` of `vars`.
  std::vector<Var> rowVars(vars.end() - axis, vars.end());
  Halide::Region region;
  Expr count = 1;
  for (int k = axis; k < rank; ++k) {
    region.push_back(Halide::Range(0, in.shape[k]));
    count = count * in.shape[k];
  }
  RDom r(region, name + "_r");
  std::vector<Expr> rIdx(idx.begin(), idx.begin() + axis);
  for (int k = 0; k < rank - axis; ++k)
    rIdx.push_back(r[k]);
  // The normalized rows: the input, plus the residual where there is one.
  auto row = [&](const std::vector<Expr> &at) {
    Expr v = Halide::cast<float>(widen(in.call(at)));
    if (Value residual = op.getResidual())
      v = v + Halide::cast<float>(widen(broadcastRead(
                  get(residual), cast<RankedTensorType>(residual.getType()),
                  outType, at)));
    return v;
  };
  Expr n = Halide::cast<float>(count);
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  Expr normalized;
  Expr xv = row(idx);
  // Over the innermost axis with vector lanes (CPU schedules): each
  // statistic is `lanes` partial sums along the row (contiguous vector
  // loads), added up per row; the schedule computes them row by row inside
  // the normalized rows' parallel loop.
  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  int lanes = schedule ? static_cast<int>(schedule.getVectorWidth()) : 1;
  if (applySchedules && axis == rank - 1 && lanes > 1 &&
      schedule.getGpuThreads() == 0 && !schedule.getInlined()) {
    NormFuncs &f = funcs.form.emplace<NormFuncs>();
    Expr extent = in.shape[rank - 1];
    int64_t staticExtent = op.getInput().getType().getDimSize(rank - 1);
    bool whole =
        !ShapedType::isDynamic(staticExtent) && staticExtent % lanes == 0;
    RDom rc(0, (extent + lanes - 1) / lanes, name + "_rc");
    Var lane(name + "_lane");
    std::vector<Var> laneVars = {lane};
    laneVars.insert(laneVars.end(), rowVars.begin(), rowVars.end());
    std::vector<Expr> at = idx;
    Expr e = rc.x * lanes + lane;
    at[rank - 1] = whole ? e : Halide::min(e, extent - 1);
    Expr element = row(at);
    // Sum of `term(element)` over the row: partials, then their total.
    auto rowSum = [&](const std::string &suffix, auto term) {
      Func partial(name + "_p" + suffix), total(name + "_" + suffix);
      partial(laneVars) = 0.0f;
      Expr t = term(element);
      partial(laneVars) += whole ? t : Halide::select(e < extent, t, 0.0f);
      std::vector<Expr> first = {Expr(0)};
      first.insert(first.end(), rowVars.begin(), rowVars.end());
      Expr sum = partial(first);
      for (int l = 1; l < lanes; ++l) {
        first[0] = l;
        sum = sum + partial(first);
      }
      total(rowVars) = sum / n;
      f.partials.push_back(partial);
      f.stats.push_back(total);
      return total;
    };
    if (op.getRms()) {
      Func meanSquare = rowSum("ms", [](Expr x) { return x * x; });
      normalized = xv / Halide::sqrt(meanSquare(rowVars) + eps);
    } else {
      Func mean = rowSum("mean", [](Expr x) { return x; });
      Expr m = mean(rowVars);
      Func var = rowSum("var", [&](Expr x) { return (x - m) * (x - m); });
      normalized = (xv - m) / Halide::sqrt(var(rowVars) + eps);
    }
  } else {
    Expr x = row(rIdx);
    if (op.getRms()) {
      Func meanSquare(name + "_ms");
      meanSquare(rowVars) = Halide::sum(x * x) / n;
      normalized = xv / Halide::sqrt(meanSquare(rowVars) + eps);
      funcs.helpers = {meanSquare};
    } else {
      Func mean(name + "_mean"), var(name + "_var");
      mean(rowVars) = Halide::sum(x) / n;
      Expr centered = x - mean(rowVars);
      var(rowVars) = Halide::sum(centered * centered) / n;
      normalized = (xv - mean(rowVars)) / Halide::sqrt(var(rowVars) + eps);
      funcs.helpers = {mean, var};
    }
  }
  if (Value scale = op.getScale())
    normalized =
        normalized * Halide::cast<float>(widen(broadcastRead(
                         get(scale), cast<RankedTensorType>(scale.getType()),
                         outType, idx)));
  if (Value bias = op.getBias())
    normalized =
        normalized +
        Halide::cast<float>(widen(broadcastRead(
            get(bias), cast<RankedTensorType>(bias.getType()), outType, idx)));
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(normalized, ht);
  t.shape = in.shape;
  funcs.main = t.func;
  if (auto *f = std::get_if<NormFuncs>(&funcs.form))
    f->out = t.func;
  tensors[op.getResult()] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// CumSum
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineCumSum(CumSumOp op,
                                            const std::string &name,
                                            OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  int rank = in.rank();
  int a = static_cast<int>(op.getAxis());
  int h = rank - 1 - a;
  std::vector<Var> vars = makeVars(rank, name);
  Expr n = in.shape[a];
  bool reverse = op.getReverse(), exclusive = op.getExclusive();
  // Element `i` of the scan order: from the end when reversed, and one
  // step behind (0 first) when exclusive.
  auto term = [&](std::vector<Expr> at) {
    Expr i = at[h];
    if (exclusive)
      i = Halide::max(i - 1, 0);
    std::vector<Expr> src(at.rbegin(), at.rend());
    src[a] = reverse ? n - 1 - i : i;
    Expr x = widen(in.call(src));
    if (exclusive)
      x = Halide::select(at[h] > 0, x, Halide::cast(x.type(), 0));
    return x;
  };
  std::vector<Expr> at(vars.begin(), vars.end());
  Func scan(name + "_scan");
  scan(at) = term(at);
  RDom r(1, Halide::max(n - 1, 0), name + "_r");
  std::vector<Expr> step = at, previous = at;
  step[h] = r.x;
  previous[h] = r.x - 1;
  scan(step) = scan(previous) + term(step);
  std::vector<Expr> out = at;
  if (reverse)
    out[h] = n - 1 - vars[h];
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(scan(out), ht);
  t.shape = in.shape;
  funcs.main = t.func;
  funcs.helpers = {scan};
  tensors[op.getResult()] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::defineSoftmax(SoftmaxOp op,
                                             const std::string &name,
                                             OpFuncs &funcs) {
  Tensor &in = get(op.getInput());
  auto type = op.getType();
  Halide::Type ht = *toHalideType(type.getElementType());
  int rank = type.getRank();
  int axis = static_cast<int>(op.getNormalizedAxis());
  int hAxis = rank - 1 - axis;
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> idx = onnxIndex(vars);
  std::vector<Var> rowVars;
  for (int k = 0; k < rank; ++k)
    if (k != hAxis)
      rowVars.push_back(vars[k]);

  RDom r(0, in.shape[axis], name + "_r");
  std::vector<Expr> rIdx = idx;
  rIdx[axis] = r.x;

  SoftmaxFuncs &s = funcs.form.emplace<SoftmaxFuncs>();
  s.max = Func(name + "_max");
  s.exp = Func(name + "_exp");
  s.sum = Func(name + "_sum");
  s.out = Func(name);
  s.max(rowVars) = Halide::maximum(widen(in.call(rIdx)));
  s.exp(vars) = Halide::exp(widen(in.func(vars)) - s.max(rowVars));
  std::vector<Expr> expIdx(rIdx.rbegin(), rIdx.rend());
  s.sum(rowVars) = Halide::sum(s.exp(expIdx));
  s.out(vars) = narrow(s.exp(vars) / s.sum(rowVars), ht);
  s.innermost = axis == rank - 1;
  funcs.main = s.out;

  Tensor t;
  t.func = s.out;
  t.type = ht;
  t.shape = in.shape;
  tensors[op.getResult()] = t;
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

LogicalResult PipelineBuilder::definePool(PoolOp op, const std::string &name,
                                          OpFuncs &funcs) {
  Tensor &x = get(op.getInput());
  Halide::Type ht = *toHalideType(op.getType().getElementType());
  Halide::Type acc = computeType(ht);
  int rank = x.rank(), k = rank - 2;
  ArrayRef<int64_t> kernel = op.getKernel(), strides = op.getStrides(),
                    pads = op.getPads(), dilations = op.getDilations();
  std::vector<Var> vars = makeVars(rank, name);
  std::vector<Expr> o = onnxIndex(vars);
  // One tap per kernel position; the RDom's first variable is the last
  // spatial axis.
  std::vector<Halide::Range> taps;
  for (int d = k - 1; d >= 0; --d)
    taps.push_back(Halide::Range(0, static_cast<int>(kernel[d])));
  RDom r(taps, name + "_tap");
  std::vector<Expr> at = {o[0], o[1]};
  Expr inside = Halide::Internal::const_true(),
       padded = Halide::Internal::const_true();
  for (int d = 0; d < k; ++d) {
    Expr tap = r[k - 1 - d];
    Expr p = o[2 + d] * static_cast<int>(strides[d]) -
             static_cast<int>(pads[d]) + tap * static_cast<int>(dilations[d]);
    Expr extent = x.shape[2 + d];
    inside = inside && p >= 0 && p < extent;
    padded = padded && p >= -static_cast<int>(pads[d]) &&
             p < extent + static_cast<int>(pads[k + d]);
    at.push_back(Halide::clamp(p, 0, extent - 1));
  }
  Expr value = Halide::cast(acc, widen(x.call(at)));
  Expr result;
  if (op.getKind() == "max") {
    result = Halide::maximum(Halide::select(inside, value, typeLowest(acc)));
  } else {
    Expr counted = op.getCountIncludePad() ? padded : inside;
    Expr total = Halide::sum(Halide::select(inside, value, typedZero(acc)));
    Expr count = Halide::sum(Halide::select(counted, 1, 0));
    result = total / Halide::cast(acc, Halide::max(count, 1));
  }
  Tensor t;
  t.type = ht;
  t.func = Func(name);
  t.func(vars) = narrow(result, ht);
  t.shape = {x.shape[0], x.shape[1]};
  auto outType = op.getType();
  for (int d = 0; d < k; ++d) {
    if (!outType.isDynamicDim(2 + d)) {
      t.shape.push_back(static_cast<int>(outType.getDimSize(2 + d)));
      continue;
    }
    // floor((in + pads - dilated kernel) / stride) + 1 (floor mode; a
    // dynamic extent in ceil mode is rejected where the op is imported).
    Expr span = x.shape[2 + d] + static_cast<int>(pads[d] + pads[k + d]) -
                static_cast<int>(dilations[d] * (kernel[d] - 1) + 1);
    t.shape.push_back(Halide::max(span / static_cast<int>(strides[d]) + 1, 0));
  }
  funcs.main = t.func;
  tensors[op.getResult()] = t;
  return success();
}
