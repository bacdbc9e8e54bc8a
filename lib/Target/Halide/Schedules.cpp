//===- Schedules.cpp - #attn.schedule as Halide scheduling calls -*- C++
//-*-===//
//
// THE SCHEDULE. Each field of #attn.schedule maps onto Halide calls:
// `vector_width` → vectorize the innermost loop, `parallel` → fuse the outer
// loops and run them on the thread pool, `tiles` → split (for attn.sdpa: the
// query block and the KV block that the online softmax walks), `inlined` →
// compute inside the consumer, `gpu_threads` → gpu_tile. The emitter makes no
// decisions of its own: it does what the attribute says.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

namespace {

/// Vectorizes and parallelizes (or maps onto the GPU) one stage whose pure
/// vars are `vars` (Halide order) and whose reduction vars, if any, are
/// `rvars`: those stay innermost on GPUs, just outside the vector loop on
/// CPUs.
void scheduleStage(Halide::Stage stage, const std::vector<Var> &vars,
                   const std::vector<Halide::RVar> &rvars,
                   ScheduleAttr schedule, const std::string &name) {
  int rank = static_cast<int>(vars.size());
  if (schedule.getGpuThreads() > 0) {
    // One flat index over every pure var, tiled into GPU blocks.
    std::vector<VarOrRVar> order;
    for (const auto &r : rvars)
      order.push_back(r);
    for (const Var &v : vars)
      order.push_back(v);
    if (order.size() > 1)
      stage.reorder(order);
    if (rank == 0)
      return;
    Var flat = vars[0];
    for (int k = 1; k < rank; ++k) {
      Var fused(name + "_g" + std::to_string(k));
      stage.fuse(flat, vars[k], fused);
      flat = fused;
    }
    Var bx(name + "_bx"), tx(name + "_tx");
    stage.gpu_tile(flat, bx, tx, static_cast<int>(schedule.getGpuThreads()),
                   TailStrategy::GuardWithIf);
    return;
  }
  if (rank == 0)
    return;
  // Innermost pure var, then the reduction, then the outer pure vars.
  std::vector<VarOrRVar> order = {vars[0]};
  for (const auto &r : rvars)
    order.push_back(r);
  for (int k = 1; k < rank; ++k)
    order.push_back(vars[k]);
  if (order.size() > 1)
    stage.reorder(order);
  if (schedule.getVectorWidth() > 1)
    stage.vectorize(vars[0], static_cast<int>(schedule.getVectorWidth()),
                    TailStrategy::GuardWithIf);
  if (schedule.getParallel() && rank >= 2) {
    Var outer = vars[1];
    for (int k = 2; k < rank; ++k) {
      Var fused(name + "_p" + std::to_string(k));
      stage.fuse(outer, vars[k], fused);
      outer = fused;
    }
    if (schedule.getTaskRows() > 1)
      stage.parallel(outer, static_cast<int>(schedule.getTaskRows()),
                     TailStrategy::GuardWithIf);
    else
      stage.parallel(outer);
  }
}

} // namespace

void mlir::attn::halide::scheduleFunc(Func f, ScheduleAttr schedule) {
  f.compute_root();
  scheduleStage(f, f.args(), {}, schedule, f.name());
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    // The pure vars the update keeps (a scan replaces one by its RDom).
    std::vector<Var> kept;
    for (const Var &v : f.args())
      for (const Halide::Expr &arg : f.update_args(u))
        if (const auto *var = arg.as<Halide::Internal::Variable>();
            var && var->name == v.name())
          kept.push_back(v);
    scheduleStage(f.update(u), kept, f.rvars(u), schedule,
                  f.name() + "_u" + std::to_string(u));
  }
}

namespace {

/// Fuses the outer vars of `out` (all but the innermost) into one row var,
/// parallel where the schedule says so; returns it.
Var parallelRows(Func out, ScheduleAttr schedule) {
  std::vector<Var> vars = out.args();
  Var row = vars[1];
  for (size_t k = 2; k < vars.size(); ++k) {
    Var fused(out.name() + "_p" + std::to_string(k));
    out.fuse(row, vars[k], fused);
    row = fused;
  }
  if (schedule.getParallel() && schedule.getTaskRows() > 1) {
    Var task(out.name() + "_task");
    out.split(row, task, row, static_cast<int>(schedule.getTaskRows()),
              TailStrategy::GuardWithIf)
        .parallel(task);
  } else if (schedule.getParallel()) {
    out.parallel(row);
  }
  return row;
}

void scheduleSoftmax(const SoftmaxFuncs &s, ScheduleAttr schedule) {
  std::vector<Var> vars = s.out.args();
  if (schedule.getGpuThreads() > 0 || !s.innermost || vars.size() < 2) {
    scheduleFunc(s.max, schedule);
    scheduleFunc(s.sum, schedule);
    scheduleFunc(s.out, schedule);
    return;
  }
  // One row per task: its maximum, exponentials and sum stay in cache.
  Func out = s.out;
  out.compute_root();
  Var row = parallelRows(out, schedule);
  int lanes = static_cast<int>(schedule.getVectorWidth());
  if (lanes > 1)
    out.vectorize(vars[0], lanes, TailStrategy::GuardWithIf);
  Func max = s.max, exp = s.exp, sum = s.sum;
  max.compute_at(out, row);
  exp.compute_at(out, row);
  sum.compute_at(out, row);
  if (lanes > 1)
    exp.vectorize(exp.args()[0], lanes, TailStrategy::GuardWithIf);
}

/// A normalization over the innermost axis: one row per task, its partial
/// sums (vectors along the row) and statistics computed inside it, so the
/// row is read from cache by the normalized values.
void scheduleNorm(const NormFuncs &f, ScheduleAttr schedule) {
  Func out = f.out;
  std::vector<Var> vars = out.args();
  out.compute_root();
  int lanes = static_cast<int>(schedule.getVectorWidth());
  out.vectorize(vars[0], lanes, TailStrategy::GuardWithIf);
  if (vars.size() < 2) {
    for (Func stat : f.stats)
      stat.compute_root();
    for (Func partial : f.partials) {
      partial.compute_root().vectorize(partial.args()[0]);
      partial.update().vectorize(partial.args()[0]);
    }
    return;
  }
  Var row = parallelRows(out, schedule);
  for (Func stat : f.stats)
    stat.compute_at(out, row);
  for (Func partial : f.partials) {
    Var lane = partial.args()[0];
    partial.compute_at(out, row).bound_extent(lane, lanes).vectorize(lane);
    partial.update().vectorize(lane);
  }
}

/// Splits `out` (d, i, h, b) into tasks of `qBlock` query rows: returns
/// the fused batch × heads × query-block var.
Var splitIntoTasks(Func out, int qBlock) {
  std::vector<Var> a = out.args();
  Var d = a[0], i = a[1], h = a[2], b = a[3];
  std::string n = out.name();
  Var io(n + "_io"), ii(n + "_ii"), ioh(n + "_ioh"), task(n + "_task");
  out.compute_root()
      .split(i, io, ii, qBlock, TailStrategy::GuardWithIf)
      .reorder(d, ii, io, h, b)
      .fuse(io, h, ioh)
      .fuse(ioh, b, task);
  return task;
}

void scheduleSdpa(const SdpaFuncs &f, ScheduleAttr schedule) {
  ArrayRef<int64_t> tiles = schedule.getTiles();
  int qBlock = tiles.empty() ? 64 : static_cast<int>(tiles[0]);
  bool gpu = schedule.getGpuThreads() > 0;
  if (gpu)
    qBlock = static_cast<int>(schedule.getGpuThreads());
  int vw = gpu ? 1 : static_cast<int>(schedule.getVectorWidth());
  int lanes = static_cast<int>(f.lanesCount);

  Func out = f.out, state = f.state;
  Var d = out.args()[0];
  std::string n = out.name();
  Var ii(n + "_ii");
  // Tasks: batch × heads × query blocks.
  Var task = splitIntoTasks(out, qBlock);
  if (gpu) {
    out.gpu_blocks(task).gpu_threads(ii);
    state.compute_at(out, ii);
  } else {
    if (schedule.getParallel())
      out.parallel(task);
    if (vw > 1)
      out.vectorize(d, vw, TailStrategy::GuardWithIf);
    state.compute_at(out, task);
  }

  // The recurrence: KV blocks outermost, then the block's rows.
  std::vector<Var> sa = state.args();
  Halide::RVar rkb = f.kvBlocks.x;
  state.update().reorder(sa[0], sa[1], sa[2], sa[3], rkb);
  if (vw > 1) {
    state.vectorize(sa[0], vw, TailStrategy::GuardWithIf);
    state.update().vectorize(sa[0], vw, TailStrategy::GuardWithIf);
  }

  // Everything of one KV block is computed inside the KV-block loop.
  auto tile = [&](Func g, const Halide::RDom *reduction) {
    Func fn = g;
    fn.compute_at(state, rkb);
    std::vector<Var> ga = fn.args();
    int width = (fn.name() == f.blockMaxPart.name() ||
                 fn.name() == f.blockSumPart.name())
                    ? lanes
                    : vw;
    if (width > 1)
      fn.vectorize(ga[0], width, TailStrategy::GuardWithIf);
    if (reduction) {
      std::vector<VarOrRVar> order = {ga[0], reduction->x};
      for (size_t k = 1; k < ga.size(); ++k)
        order.push_back(ga[k]);
      fn.update().reorder(order);
      if (width > 1)
        fn.update().vectorize(ga[0], width, TailStrategy::GuardWithIf);
    }
  };
  if (f.hasKT)
    tile(f.kT, nullptr);
  tile(f.scores, &f.headDim);
  tile(f.blockMaxPart, &f.partRows);
  tile(f.blockMax, nullptr);
  tile(f.probs, nullptr);
  tile(f.blockSumPart, &f.partRows);
  tile(f.blockSum, nullptr);
  tile(f.pv, &f.kvInBlock);
}

/// The register-blocked attn.sdpa (EmitSdpa.cpp): tasks are batch ×
/// heads × query blocks; each task's state, transposed queries and every
/// per-KV-block buffer live on the task's stack at fixed sizes (no heap
/// traffic inside the parallel loop); the QK and PV tiles accumulate in
/// registers.
void scheduleBlockedSdpa(const BlockedSdpaFuncs &f, ScheduleAttr schedule) {
  using Halide::MemoryType;
  int lanes = f.lanes;
  Func out = f.out, state = f.state;
  Var d = out.args()[0];
  std::string n = out.name();
  Var task = splitIntoTasks(out, f.qBlock);
  if (schedule.getParallel())
    out.parallel(task);
  if (lanes > 1)
    out.vectorize(d, lanes, TailStrategy::GuardWithIf);

  Var row = f.row, block = f.block;
  Halide::RVar rkb = f.kvBlocks.x;
  auto vectorizeFirst = [&](Halide::Stage stage, Var v) {
    if (lanes > 1)
      stage.vectorize(v, lanes, TailStrategy::GuardWithIf);
  };
  // An accumulator tile computed inside its consumer's tile loop `at`: the
  // vector var `vec` and the var `other` fully unrolled, the reduction
  // `over` outermost, so that the whole tile stays in registers.
  // With bfloat16 products `over` is (pair element, pair): the pair
  // element innermost and vectorized with `vec`, one vector reduction of
  // 2 × lanes products into lanes sums (vdpbf16ps) per step of the pair
  // loop.
  auto registerTile = [&](Func acc, Func consumer, Var at, Var vec, Var other,
                          int vecExtent, int otherExtent,
                          const Halide::RDom &over) {
    // Fixed extents even where the consumer selects part of the tile away.
    acc.compute_at(consumer, at)
        .store_in(MemoryType::Register)
        .bound_extent(vec, vecExtent)
        .bound_extent(other, otherExtent);
    vectorizeFirst(acc, vec);
    acc.unroll(vec).unroll(other);
    if (f.bf16) {
      acc.update()
          .reorder(over.x, vec, other, over.y)
          .atomic()
          .vectorize(over.x);
    } else {
      acc.update().reorder(vec, other, over.x);
    }
    vectorizeFirst(acc.update(), vec);
    acc.update().unroll(vec).unroll(other);
  };
  // A bfloat16 buffer whose first var is a pair element: both vectorized.
  auto vectorizePairs = [&](Func g, Var inner) {
    g.bound(g.args()[0], 0, 2).vectorize(g.args()[0]);
    vectorizeFirst(g, inner);
  };
  state.compute_at(out, task)
      .store_in(MemoryType::Stack)
      .bound_extent(block, 1);
  std::vector<Var> sa = state.args();
  vectorizeFirst(state, sa[0]);
  state.update().reorder(sa[0], sa[1], rkb);
  vectorizeFirst(state.update(), sa[0]);

  Func qT = f.qT;
  qT.compute_at(out, task).store_in(MemoryType::Stack).bound_extent(block, 1);
  if (f.bf16)
    vectorizePairs(qT, row);
  else
    vectorizeFirst(qT, row);

  if (f.bf16) {
    // Keys rounded as (dim, key), values as (pair element, dim, key pair).
    Func kPack = f.kPack, vPack = f.vPack;
    std::vector<Var> ka = kPack.args(), va = vPack.args();
    kPack.compute_at(state, rkb)
        .store_in(MemoryType::Stack)
        .bound(ka[1], 0, f.kvExtent)
        .bound_storage(ka[1], f.kvBlock)
        .bound_extent(ka[2], 1);
    if (lanes > 1)
      kPack.vectorize(ka[0], 2 * lanes, TailStrategy::GuardWithIf);
    vPack.compute_at(state, rkb)
        .store_in(MemoryType::Stack)
        .bound(va[2], 0, f.kvExtent / 2)
        .bound_storage(va[2], f.kvBlock / 2)
        .bound_extent(va[3], 1);
    vectorizePairs(vPack, va[1]);
  } else {
    for (Func pack : {f.kPack, f.vPack}) {
      // Undefined where the rows are read in place (inlined).
      if (!pack.defined())
        continue;
      std::vector<Var> pa = pack.args();
      pack.compute_at(state, rkb)
          .store_in(MemoryType::Stack)
          .bound(pa[1], 0, f.kvExtent)
          .bound_storage(pa[1], f.kvBlock)
          .bound_extent(pa[2], 1);
      vectorizeFirst(pack, pa[0]);
    }
  }

  // QK tiles: qkRows rows (vectors) × qkKeys keys in registers, the key
  // groups outermost so that one group of packed keys serves every row
  // tile.
  Func scores = f.scores, scoresAcc = f.scoresAcc;
  Var key = scores.args()[1];
  Var ro(n + "_qk_ro"), ko(n + "_qk_ko"), ri(n + "_qk_ri"), ki(n + "_qk_ki");
  // Whole blocks always (of the block in use, f.kvExtent): bounds
  // inference would otherwise shrink the last, partial block (the
  // probabilities of keys past the end are selected away) and the register
  // tiles would lose their constant extents.
  scores.compute_at(state, rkb)
      .store_in(MemoryType::Stack)
      .bound(key, 0, f.kvExtent)
      .bound_storage(key, f.kvBlock)
      .tile(row, key, ro, ko, ri, ki, f.qkRows, f.qkKeys,
            TailStrategy::ShiftInwards)
      .reorder(ri, ki, ro, ko);
  // The tile's loops unrolled: the accumulators stay in registers.
  vectorizeFirst(scores, ri);
  scores.unroll(ri).unroll(ki);
  registerTile(scoresAcc, scores, ro, row, key, f.qkRows, f.qkKeys, f.headDim);

  Func blockMax = f.blockMax, blockSum = f.blockSum;
  for (Func rowwise : {blockMax, blockSum}) {
    rowwise.compute_at(state, rkb).store_in(MemoryType::Stack);
    vectorizeFirst(rowwise, row);
    vectorizeFirst(rowwise.update(), row);
  }
  blockMax.update().reorder(row, f.keysInBlock.x);
  if (f.bf16) {
    blockSum.update().reorder(row, f.kvInBlock.x, f.kvInBlock.y);
    // The probabilities are computed straight into their bfloat16 pairs.
    Func pairs = f.probPairs;
    pairs.compute_at(state, rkb)
        .store_in(MemoryType::Stack)
        .bound(pairs.args()[2], 0, f.kvExtent / 2)
        .bound_storage(pairs.args()[2], f.kvBlock / 2);
    vectorizePairs(pairs, row);
  } else {
    blockSum.update().reorder(row, f.kvInBlock.x);
    Func probs = f.probs;
    probs.compute_at(state, rkb)
        .store_in(MemoryType::Stack)
        .bound(probs.args()[1], 0, f.kvExtent)
        .bound_storage(probs.args()[1], f.kvBlock);
    vectorizeFirst(probs, row);
  }

  // PV tiles: pvDims head dimensions (vectors) × pvRows rows in registers.
  Func pv = f.pv, pvAcc = f.pvAcc;
  Var dim = pv.args()[0];
  Var dO(n + "_pv_do"), rO(n + "_pv_ro"), dI(n + "_pv_di"), rI(n + "_pv_ri");
  pv.compute_at(state, rkb)
      .store_in(MemoryType::Stack)
      .tile(dim, row, dO, rO, dI, rI, f.pvDims, f.pvRows,
            TailStrategy::ShiftInwards);
  vectorizeFirst(pv, dI);
  pv.unroll(dI).unroll(rI);
  registerTile(pvAcc, pv, dO, dim, row, f.pvDims, f.pvRows, f.kvInBlock);
}

/// attn.linear: the epilogue scheduled like any op, the product computed
/// for one row (or the rows of one parallel task) at a time inside it, so
/// the epilogue reads it from cache.
void scheduleLinear(const OpFuncs &funcs, const LinearFuncs &linear,
                    ScheduleAttr schedule) {
  Func out = funcs.main, product = linear.product;
  scheduleFunc(out, schedule);
  std::vector<Var> vars = out.args();
  int rank = static_cast<int>(vars.size());
  if (schedule.getGpuThreads() > 0 || rank < 2) {
    scheduleFunc(product, schedule);
    return;
  }
  // The var that scheduleFunc left outermost over the rows.
  Var row = vars[1];
  if (schedule.getParallel() && rank > 2)
    row = Var(out.name() + "_p" + std::to_string(rank - 1));
  product.compute_at(out, row);
  std::vector<Var> pv = product.args();
  std::vector<VarOrRVar> order = {pv[0]};
  for (const auto &r : product.rvars(0))
    order.push_back(r);
  for (int k = 1; k < rank; ++k)
    order.push_back(pv[k]);
  product.update().reorder(order);
  int lanes = static_cast<int>(schedule.getVectorWidth());
  if (lanes > 1) {
    product.vectorize(pv[0], lanes, TailStrategy::GuardWithIf);
    product.update().vectorize(pv[0], lanes, TailStrategy::GuardWithIf);
  }
}

/// attn.matmul / attn.linear in register tiles: each task is `taskRows`
/// rows × one panel of columns × one batch entry, the row blocks and batch
/// entries of one panel consecutive so that the panel's weights stay in
/// cache from task to task (one sweep over the weights per call, not one
/// per batch entry). Inside a task, tiles of `tileRows` rows × `panelColumns`
/// columns are summed over k in registers, then written through the epilogue
/// (bias, activation, residual) straight from them.
void scheduleBlockedMatMul(const BlockedMatMulFuncs &f, ScheduleAttr schedule,
                           bool isOutput) {
  using Halide::MemoryType;
  Func out = f.out, acc = f.acc;
  std::vector<Var> v = out.args();
  std::string n = out.name();
  Var col = v[0], row = v[1];
  Var panel(n + "_panel"), ci(n + "_ci"), ro(n + "_ro"), ri(n + "_ri"),
      rt(n + "_rt"), rti(n + "_rti");
  int tilesPerTask = std::max(1, f.taskRows / f.tileRows);
  // A task reads one panel of the accumulator (col / width): its columns
  // must start at a panel boundary even where a consumer needs fewer, as a
  // slice of the columns [32, 64) does. An output's columns are the whole
  // buffer, from 0.
  out.compute_root();
  if (!isOutput)
    out.align_bounds(col, f.panelColumns);
  out.split(col, panel, ci, f.panelColumns, TailStrategy::GuardWithIf)
      .split(row, ro, ri, f.tileRows, TailStrategy::GuardWithIf)
      .split(ro, rt, rti, tilesPerTask, TailStrategy::GuardWithIf);
  std::vector<VarOrRVar> order = {ci, ri, rti, rt};
  for (size_t k = 2; k < v.size(); ++k)
    order.push_back(v[k]);
  order.push_back(panel);
  out.reorder(order);
  // Tasks: row blocks × batch entries × panels.
  Var task = rt;
  for (size_t k = 4; k < order.size(); ++k) {
    Var fused(n + "_task" + std::to_string(k));
    out.fuse(task, order[k].var, fused);
    task = fused;
  }
  if (schedule.getParallel())
    out.parallel(task);
  if (f.lanes > 1)
    out.vectorize(ci, f.lanes);
  out.unroll(ci).unroll(ri);

  std::vector<Var> a = acc.args();
  acc.compute_at(out, rti)
      .store_in(MemoryType::Stack)
      .bound_extent(a[0], f.panelColumns)
      .bound_extent(a[1], f.tileRows)
      .bound_extent(a[2], 1);
  if (f.lanes > 1)
    acc.vectorize(a[0], f.lanes);
  acc.unroll(a[0]).unroll(a[1]);
  if (f.bf16 || f.int8) {
    // Groups of k innermost and vectorized with the columns: each step of
    // the group loop is one vector reduction of `group` × `lanes` products
    // into `lanes` sums (pairs of bfloat16: vdpbf16ps; quads of bytes:
    // vpdpbusd).
    int group = f.bf16 ? 2 : 4;
    acc.update()
        .reorder(f.k.x, a[0], a[1], f.k.y)
        .atomic()
        .vectorize(f.k.x)
        .vectorize(a[0], f.lanes)
        .unroll(a[0])
        .unroll(a[1]);
    // The tile's rows converted (rounded to bfloat16, or offset to u8) once,
    // before its products, unless they are read in place.
    Func aGroups = f.bf16 ? f.aPairs : f.aQuads;
    Func bGroups = f.bf16 ? f.bPairs : f.bQuads;
    if (!(f.int8 && f.aQuadsInPlace)) {
      std::vector<Var> pa = aGroups.args();
      aGroups.compute_at(out, rti).store_in(MemoryType::Stack);
      for (size_t k = 2; k < pa.size(); ++k)
        aGroups.bound_extent(pa[k], 1);
      aGroups.vectorize(pa[0], group * f.lanes, TailStrategy::GuardWithIf);
    }
    // Weights not laid out before the run: once per task.
    if (bGroups.defined()) {
      std::vector<Var> pb = bGroups.args();
      bGroups.compute_at(out, task)
          .bound_extent(pb[0], group)
          .bound_extent(pb[1], f.panelColumns)
          .bound_extent(pb[3], 1)
          .vectorize(pb[1], f.lanes)
          .unroll(pb[0]);
    }
    if (f.bf16)
      return;
    Func colSum = f.colSum, rowSum = f.rowSum;
    // Column sums read from the panels once per task, or summed once per
    // task from the weights laid out for it; row sums once per tile.
    std::vector<Var> pc = colSum.args();
    colSum.compute_at(out, task)
        .bound_extent(pc[0], f.panelColumns)
        .bound_extent(pc[1], 1)
        .vectorize(pc[0], f.lanes);
    if (f.colBytes.defined()) {
      Func colBytes = f.colBytes;
      std::vector<Var> pj = colBytes.args();
      colBytes.compute_at(out, task)
          .bound_extent(pj[0], 4 * f.panelColumns)
          .bound_extent(pj[1], 1)
          .vectorize(pj[0], f.lanes);
      colBytes.update().vectorize(pj[0], f.lanes);
    }
    if (rowSum.defined()) {
      std::vector<Var> pr = rowSum.args();
      rowSum.compute_at(out, rti);
      for (size_t k = 1; k < pr.size(); ++k)
        rowSum.bound_extent(pr[k], 1);
    }
    return;
  }
  acc.update().reorder(a[0], a[1], f.k.x);
  if (f.lanes > 1)
    acc.update().vectorize(a[0], f.lanes);
  acc.update().unroll(a[0]).unroll(a[1]);
}

/// attn.graph_attention in blocks (EmitAttention.cpp): the occupancy of
/// every block first (a pass over the adjacency, rows of a query block
/// or-ed as vectors of bytes, then one horizontal test per block); then one
/// task per query block × batch, whose row maxima, per-block
/// probabilities and sums live in the task. Byte stages use four times the
/// lanes of the float ones.
void scheduleGraphAttention(const GraphAttentionFuncs &f,
                            ScheduleAttr schedule) {
  int vw = static_cast<int>(schedule.getVectorWidth());
  bool parallel = schedule.getParallel();
  Func out = f.out;
  std::vector<Var> oa = out.args();
  std::string n = out.name();
  Var io(n + "_io"), ii(n + "_oii"), task(n + "_task");
  out.compute_root().split(f.i, io, ii, f.queryBlock,
                           TailStrategy::GuardWithIf);
  std::vector<VarOrRVar> order = {f.d, ii, io};
  for (size_t k = 2; k < oa.size(); ++k)
    order.push_back(oa[k]);
  out.reorder(order);
  Var outer = io;
  for (size_t k = 2; k < oa.size(); ++k) {
    Var fused(n + "_t" + std::to_string(k));
    out.fuse(outer, oa[k], fused);
    outer = fused;
  }
  if (parallel)
    out.parallel(outer);
  if (vw > 1)
    out.vectorize(f.d, vw, TailStrategy::GuardWithIf);

  Func occupied = f.occupied, colAny = f.colAny;
  occupied.compute_root();
  occupied.update()
      .reorder(f.blockKeys.x, f.kb, f.qb)
      .atomic()
      .vectorize(f.blockKeys.x);
  if (parallel) {
    occupied.parallel(f.qb);
    occupied.update().parallel(f.qb);
  }
  colAny.compute_at(occupied, f.qb)
      .vectorize(f.x, 4 * vw, TailStrategy::GuardWithIf);
  colAny.update()
      .reorder(f.x, f.blockRows.x)
      .vectorize(f.x, 4 * vw, TailStrategy::GuardWithIf);

  Func tileMax = f.tileMax, lanes = f.rowMaxLanes, rowMax = f.rowMax,
       acc = f.acc, probs = f.probs;
  tileMax.compute_at(out, outer).vectorize(f.lane, vw);
  tileMax.update().vectorize(f.lane, vw);
  lanes.compute_at(out, outer).vectorize(f.lane, vw);
  lanes.update().reorder(f.lane, f.keyBlocks.x, f.ii).vectorize(f.lane, vw);
  rowMax.compute_at(out, outer);
  // Per key block: its probabilities and value rows, then Σ p · v, all
  // behind the block's occupancy test; the blocks' sums last.
  Func blockPV = f.blockPV, valueRows = f.valueRows;
  blockPV.compute_at(out, outer);
  acc.compute_at(out, outer);
  acc.update().reorder(f.d, f.ii, f.keyBlocks.x);
  if (vw > 1) {
    blockPV.vectorize(f.d, vw, TailStrategy::GuardWithIf);
    blockPV.update().vectorize(f.d, vw, TailStrategy::GuardWithIf);
    acc.vectorize(f.d, vw, TailStrategy::GuardWithIf);
    acc.update().vectorize(f.d, vw, TailStrategy::GuardWithIf);
  }
  valueRows.compute_at(blockPV, f.kb)
      .store_in(Halide::MemoryType::Stack)
      .bound_extent(f.jj, f.keyBlock);
  if (vw > 1) {
    valueRows.vectorize(f.d, vw, TailStrategy::GuardWithIf);
    valueRows.update().vectorize(f.d, vw, TailStrategy::GuardWithIf);
  }
  probs.compute_at(blockPV, f.kb)
      .store_in(Halide::MemoryType::Stack)
      .bound_extent(f.jj, f.keyBlock)
      .vectorize(f.jj, vw);
  probs.update().vectorize(f.jj, vw);
}

} // namespace

LogicalResult mlir::attn::halide::applySchedule(const OpFuncs &funcs,
                                                ScheduleAttr schedule,
                                                const Halide::Target &target) {
  Operation *op = funcs.op;
  if (schedule.getGpuThreads() > 0 && !target.has_gpu_feature())
    return op->emitOpError("has a GPU schedule (gpu_threads = ")
           << schedule.getGpuThreads() << ") but target " << target.to_string()
           << " has no GPU";
  // Statistics and states are computed once into buffers of their own.
  for (const Func &helper : funcs.helpers)
    scheduleFunc(helper, schedule);
  if (schedule.getInlined()) {
    if (funcs.hasUpdate || !std::holds_alternative<std::monostate>(funcs.form))
      return op->emitOpError("cannot be inlined: it has reductions of its "
                             "own");
    return success();
  }
  if (auto *f = std::get_if<SdpaFuncs>(&funcs.form))
    scheduleSdpa(*f, schedule);
  else if (auto *f = std::get_if<BlockedSdpaFuncs>(&funcs.form))
    scheduleBlockedSdpa(*f, schedule);
  else if (auto *f = std::get_if<SoftmaxFuncs>(&funcs.form))
    scheduleSoftmax(*f, schedule);
  else if (auto *f = std::get_if<NormFuncs>(&funcs.form))
    scheduleNorm(*f, schedule);
  else if (auto *f = std::get_if<BlockedMatMulFuncs>(&funcs.form))
    scheduleBlockedMatMul(*f, schedule, funcs.isOutput);
  else if (auto *f = std::get_if<LinearFuncs>(&funcs.form))
    scheduleLinear(funcs, *f, schedule);
  else if (auto *f = std::get_if<GraphAttentionFuncs>(&funcs.form))
    scheduleGraphAttention(*f, schedule);
  else
    scheduleFunc(funcs.main, schedule);
  return success();
}
