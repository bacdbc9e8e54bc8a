//===- Tile.cpp - Choose a schedule for every attn op ----------*- C++ -*-===//
//
// The tiling heuristic: native vector width for the element type, parallel
// outer loops, and for attn.sdpa on CPUs query blocks of up to 64 rows, KV
// blocks sized so that the score and probability tiles plus the K and V
// blocks fill at most half of L2 (at most 512 keys; under a causal mask at
// most two query blocks, the granularity at which masked keys are skipped),
// and register tiles
// for the two products sized to the target's vector register file (see
// scheduleSdpa); for attn.matmul / attn.linear on CPUs, register tiles of
// rows × panels of columns and tasks of rows sized to L2 (scheduleMatMul).
// Layout-only ops and single-use elementwise chains are inlined into their
// consumers (fusesIntoUser). Ops that already carry a schedule keep it: a
// hand-written schedule always wins.
//
//===----------------------------------------------------------------------===//

#include "attnc/Passes/Passes.h"
#include "attnc/Target/TargetInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNTILE
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Bytes of one element as the emitter computes it (float16/bfloat16 are
/// computed in float32 on targets without native support).
int64_t computeBytes(Type type) {
  Type element = getElementTypeOrSelf(type);
  if (element.isIntOrFloat())
    return std::max<int64_t>(4, element.getIntOrFloatBitWidth() / 8);
  return 4;
}

/// Rounds `n` up to a multiple of `m`; dynamic extents count as `fallback`.
int64_t roundUpOr(int64_t n, int64_t m, int64_t fallback) {
  if (ShapedType::isDynamic(n))
    return fallback;
  return llvm::alignTo(n, m);
}

/// A static extent of 0 as 1, so that tile sizes stay positive (the
/// divisions below never see 0); dynamic extents unchanged.
int64_t atLeastOne(int64_t extent) {
  return ShapedType::isDynamic(extent) ? extent : std::max<int64_t>(extent, 1);
}

ScheduleAttr scheduleSdpa(SdpaOp op, const TargetInfo &target, bool bf16) {
  MLIRContext *ctx = op.getContext();
  auto q = op.getQ().getType();
  auto k = op.getK().getType();
  // Empty axes (a hand-written .mlir input) are tiled as extent 1.
  int64_t nq = atLeastOne(q.getDimSize(2)), nk = atLeastOne(k.getDimSize(2));
  int64_t d = atLeastOne(q.getDimSize(3));
  if (ShapedType::isDynamic(d))
    d = 128;
  if (target.isGpu) {
    // One query row per GPU thread; small KV blocks keep the per-thread
    // score tile in registers.
    int64_t threads = std::min<int64_t>(roundUpOr(nq, 32, 64), 64);
    return ScheduleAttr::get(ctx, KernelForm::flash, /*vectorWidth=*/1,
                             {threads, 32},
                             /*parallel=*/false, /*inlined=*/false, threads);
  }
  int64_t lanes = target.lanes(computeBytes(q));
  auto v = op.getV().getType();
  int64_t dv =
      ShapedType::isDynamic(v.getDimSize(3)) ? d : atLeastOne(v.getDimSize(3));
  int64_t qBlock = std::min<int64_t>(roundUpOr(nq, lanes, 64), 64);
  // Score and probability tiles (2 · qBlock × kvBlock) plus the K and V
  // blocks (kvBlock × (D + Dv)) in half of L2, at most 512 keys (fewer
  // blocks: fewer online-softmax rescales of the running state).
  int64_t budget = target.l2Bytes / 2 / 4;
  int64_t kvBlock = budget / (2 * qBlock + d + dv);
  kvBlock = std::max<int64_t>(lanes, static_cast<int64_t>(llvm::bit_floor(
                                         static_cast<uint64_t>(kvBlock))));
  kvBlock = std::min<int64_t>(kvBlock, 512);
  // Under a causal mask KV blocks past a query block's last row are
  // skipped whole, and the blocks it straddles are computed whole: keep
  // them at two query blocks.
  if (op.getCausal())
    kvBlock = std::min<int64_t>(kvBlock, 2 * qBlock);
  kvBlock = std::min<int64_t>(kvBlock, roundUpOr(nk, lanes, kvBlock));
  // The register-blocked form unrolls its tiles over the head dimensions:
  // static head sizes, computed in float32. Otherwise the online softmax in
  // generic code, over the same blocks.
  bool blocked =
      isa<Float32Type, Float16Type, BFloat16Type>(q.getElementType()) &&
      !ShapedType::isDynamic(q.getDimSize(3)) &&
      !ShapedType::isDynamic(v.getDimSize(3));
  if (!blocked)
    return ScheduleAttr::get(ctx, KernelForm::flash, lanes, {qBlock, kvBlock},
                             /*parallel=*/true, /*inlined=*/false,
                             /*gpuThreads=*/0);
  // Register tiles. QK: `rowVectors` vectors of query rows × `keys` keys of
  // accumulators; PV: `dimVectors` vectors of head dimensions × `rows`
  // rows. Each uses at most all registers but one vector per operand row
  // and one broadcast (4 × 6 = 24 accumulators with 32 registers, 2 × 6
  // with 16).
  int64_t regs = target.vectorRegisters;
  int64_t rowVectors = std::min<int64_t>(regs >= 32 ? 4 : 2, qBlock / lanes);
  rowVectors = std::max<int64_t>(rowVectors, 1);
  int64_t keys = std::min<int64_t>(6, (regs - rowVectors - 2) / rowVectors);
  keys = std::min<int64_t>(keys, kvBlock);
  int64_t dimVectors = std::max<int64_t>(
      1, std::min<int64_t>(regs >= 32 ? 4 : 2, llvm::divideCeil(dv, lanes)));
  int64_t rows = std::min<int64_t>(6, (regs - dimVectors - 2) / dimVectors);
  rows = std::min<int64_t>(rows, qBlock);
  // bfloat16 products sum pairs of head dimensions (Q·Kᵀ) and of keys
  // (P·V): both head sizes even (static here), float32 elements.
  bool pairs = bf16 && isa<Float32Type>(q.getElementType()) && d % 2 == 0 &&
               dv % 2 == 0 && kvBlock % 2 == 0;
  return ScheduleAttr::get(ctx, KernelForm::blocked, lanes,
                           {qBlock, kvBlock, rowVectors * lanes, keys,
                            std::min<int64_t>(dimVectors * lanes, dv), rows},
                           /*parallel=*/true,
                           /*inlined=*/false, /*gpuThreads=*/0, pairs);
}

/// attn.matmul and attn.linear on CPUs: `[task rows, panel columns, tile
/// rows]`. A register tile is `tile rows` × `panel columns` accumulators,
/// all registers but one vector per panel column vector and one broadcast
/// (6 × 4 vectors with 32 registers, 6 × 2 with 16); a task's rows of the
/// left operand take at most half of L2 while one panel of the right
/// operand is swept over them, and there are enough tasks (panels × row
/// blocks × batch) to keep 16 threads busy where the shape allows.
ScheduleAttr scheduleMatMul(Operation *op, const TargetInfo &target, bool bf16,
                            bool weightsArePlaceholders) {
  MLIRContext *ctx = op->getContext();
  auto a = cast<RankedTensorType>(op->getOperand(0).getType());
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t lanes = target.lanes(computeBytes(out));
  int64_t rank = out.getRank();
  int64_t n = atLeastOne(out.getDimSize(rank - 1));
  int64_t m = rank >= 2 ? atLeastOne(out.getDimSize(rank - 2)) : 1;
  int64_t k = atLeastOne(a.getDimSize(a.getRank() - 1));
  int64_t vectors = target.vectorRegisters >= 32 ? 4 : 2;
  if (!ShapedType::isDynamic(n))
    vectors = std::clamp<int64_t>(llvm::divideCeil(n, lanes), 1, vectors);
  int64_t rows =
      std::min<int64_t>(8, (target.vectorRegisters - vectors - 2) / vectors);
  if (!ShapedType::isDynamic(m))
    rows = std::min(rows, m);
  int64_t width = vectors * lanes;
  int64_t kBytes = (ShapedType::isDynamic(k) ? 1024 : k) * 4;
  int64_t taskRows =
      std::max<int64_t>(rows, target.l2Bytes / 2 / kBytes / rows * rows);
  int64_t mRounded = roundUpOr(m, rows, taskRows);
  taskRows = std::min(taskRows, mRounded);
  // Split rows further while there are fewer than 16 tasks.
  int64_t batch = 1;
  for (int64_t d = 0; d + 2 < rank; ++d)
    batch *= ShapedType::isDynamic(out.getDimSize(d)) ? 1 : out.getDimSize(d);
  int64_t panels = ShapedType::isDynamic(n) ? 16 : llvm::divideCeil(n, width);
  while (panels * batch * llvm::divideCeil(mRounded, taskRows) < 16 &&
         taskRows > rows)
    taskRows = std::max(rows, (taskRows / 2) / rows * rows);
  // Register tiles apply where the right operand is one static matrix
  // shared by every batch entry, computed in float32: a constant known at
  // compile time (re-laid out in panels by attn-pack-weights) or one whose
  // columns fill whole panels (read in place); and where it is one such
  // matrix per batch entry (an activation times an activation: DeBERTa's
  // position terms, unfused attention), read in place. Otherwise one sum
  // per element.
  auto rhs = cast<RankedTensorType>(op->getOperand(1).getType());
  int64_t rr = rhs.getRank();
  bool constant = isCompiledInWeight(op->getOperand(1), weightsArePlaceholders);
  bool floatResult =
      isa<Float32Type, Float16Type, BFloat16Type>(out.getElementType());
  bool batched = rr > 2 && rr <= rank && !rhs.isDynamicDim(rr - 1) &&
                 !rhs.isDynamicDim(rr - 2) &&
                 rhs.getDimSize(rr - 1) % width == 0 &&
                 rhs.getDimSize(rr - 2) > 0 && isa<MatMulOp>(op);
  bool usePanels = rank >= 2 && floatResult &&
                   ((rr == 2 && rhs.hasStaticShape() &&
                     (constant || rhs.getDimSize(1) % width == 0)) ||
                    batched);
  if (!usePanels)
    return ScheduleAttr::get(ctx, lanes, {}, /*parallel=*/true,
                             /*inlined=*/false, /*gpuThreads=*/0);
  // bfloat16 products in the panels: float32 results of float operands
  // only (8-bit products keep their integer dot products).
  auto linear = dyn_cast<LinearOp>(op);
  bool pairs = bf16 && isa<Float32Type>(out.getElementType()) &&
               !(linear && linear.isQuantized()) && rr == 2;
  return ScheduleAttr::get(ctx, KernelForm::panels, lanes,
                           {taskRows, width, rows},
                           /*parallel=*/true, /*inlined=*/false,
                           /*gpuThreads=*/0, pairs);
}

/// True when `to` is `from` with some axes split into several: every axis
/// of `from` is the product of consecutive static axes of `to`, or, for a
/// run-time extent, the same axis of `to` copied by a 0 entry of the
/// reshape's `spec` ([?, ?, 384] → [0, 0, 12, 32]).
bool splitsAxesOnly(RankedTensorType from, RankedTensorType to,
                    ArrayRef<int64_t> spec) {
  int64_t j = 0, rank = to.getRank();
  for (auto [i, extent] : llvm::enumerate(from.getShape())) {
    if (ShapedType::isDynamic(extent)) {
      if (static_cast<int64_t>(i) != j ||
          j >= static_cast<int64_t>(spec.size()) || spec[j] != 0)
        return false;
      ++j;
      continue;
    }
    int64_t product = 1;
    while (j < rank && product < extent) {
      if (to.isDynamicDim(j))
        return false;
      product *= to.getDimSize(j++);
    }
    // Axes of extent 1 on the result's side go with the next group.
    if (product != extent)
      return false;
  }
  for (; j < rank; ++j)
    if (to.getDimSize(j) != 1)
      return false;
  return true;
}

/// Elementwise ops (arithmetic, comparisons, casts, selects, slices,
/// concatenations, broadcasts): O(1) work per element.
bool isElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, SqrtOp, CastOp, PowOp, ModOp, MaxOp,
             MinOp, AndOp, OrOp, EqualOp, LessOp, GreaterOp, NegOp, AbsOp,
             ExpOp, LogOp, ErfOp, TanhOp, SigmoidOp, ReluOp, ReciprocalOp,
             NotOp, SinOp, CosOp, SignOp, CeilOp, FloorOp, RoundOp, IsNanOp,
             GeluOp, SelectOp, ConcatOp, SliceOp, ExpandOp, ExpandDimsOp,
             TileOp>(op);
}

/// True for an elementwise op (arithmetic, comparisons, casts, selects,
/// slices, concatenations, broadcasts) whose only user reads each of its
/// elements a few times at most: computed inside that user instead of into
/// a buffer of its own, so that chains such as rotary embeddings (slice,
/// neg, concat, mul, add) or gated activations are one pass. Not fused:
/// outputs, ops with several users (they would be computed once per user),
/// and ops read by products and windows (attn.matmul, attn.linear,
/// convolutions, pools, einsum, additive and hard attention re-read every
/// element many times)
/// or by gathers, or used as attn.sdpa's mask (read once per score), and
/// ops with an infinite or NaN constant operand.
bool fusesIntoUser(Operation *op) {
  if (!isElementwise(op) || op->getNumResults() != 1 ||
      !op->getResult(0).hasOneUse())
    return false;
  // Generated code assumes finite floating-point arithmetic: an infinity
  // or NaN written as a literal into the user's arithmetic could be folded
  // away. Such constants are read from the op's own buffer instead.
  for (Value operand : op->getOperands())
    if (auto constant = operand.getDefiningOp<ConstantOp>())
      if (auto dense = dyn_cast<DenseFPElementsAttr>(constant.getValue()))
        for (const APFloat &v : dense.getValues<APFloat>())
          if (!v.isFinite())
            return false;
  OpOperand &use = *op->getResult(0).getUses().begin();
  Operation *user = use.getOwner();
  if (isa<func::ReturnOp, MatMulOp, LinearOp, MatMulIntegerOp, Conv2dOp,
          ConvTransposeOp, PoolOp, ResizeOp, EinsumOp, AdditiveAttentionOp,
          HardAttentionOp, GatherOp, GatherNdOp>(user))
    return false;
  if (auto sdpa = dyn_cast<SdpaOp>(user))
    return use.get() != sdpa.getMask();
  return true;
}

/// The longest chain of ops computed inside one consumer. Halide's lowering
/// of an expression grows faster than its length (a chain of 1000 inlined
/// elementwise ops takes minutes); every this many, one is computed into a
/// buffer of its own.
constexpr int kMaxInlinedChain = 32;

/// Work a task of the thread pool should have at least (elements): a task
/// costs about as much as a few hundred elements of arithmetic.
constexpr int64_t kTaskElements = 8192;

/// Rows of `rowElements` (the innermost extent; dynamic: unknown) per
/// parallel task: enough for kTaskElements, a power of two.
int64_t taskRows(int64_t rowElements) {
  if (ShapedType::isDynamic(rowElements) || rowElements >= kTaskElements)
    return 1;
  return static_cast<int64_t>(llvm::PowerOf2Ceil(static_cast<uint64_t>(
      kTaskElements / std::max<int64_t>(rowElements, 1))));
}

/// Whether `op` is a transpose of the last two axes read only as the
/// right operand of a batched product: read through, every element of a
/// panel would be a strided load; copied once (K × N per batch entry), the
/// panels are read in place.
bool transposesProductColumns(Operation *op) {
  auto t = dyn_cast<TransposeOp>(op);
  if (!t || !t.getResult().hasOneUse())
    return false;
  ArrayRef<int64_t> perm = t.getPerm();
  int64_t rank = static_cast<int64_t>(perm.size());
  if (rank < 3 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1)
    return false;
  auto mm = dyn_cast<MatMulOp>(*t.getResult().getUsers().begin());
  return mm && mm.getRhs() == t.getResult();
}

ScheduleAttr scheduleGeneric(Operation *op, const TargetInfo &target,
                             bool mayInline = true) {
  MLIRContext *ctx = op->getContext();
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  // Layout-only ops cost nothing when read through by their consumer:
  // transposes, and reshapes that only split axes ([B, S, 768] → [B, S,
  // 12, 64]: the consumer reads h · 64 + d). A reshape that merges axes is
  // copied once instead, so that its readers index it without division.
  if (isa<TransposeOp>(op) && mayInline && !transposesProductColumns(op))
    return ScheduleAttr::get(ctx, 1, {}, false, /*inlined=*/true, 0);
  if (auto reshape = dyn_cast<ReshapeOp>(op))
    if (mayInline &&
        splitsAxesOnly(cast<RankedTensorType>(reshape->getOperand(0).getType()),
                       type, reshape.getShape()))
      return ScheduleAttr::get(ctx, 1, {}, false, /*inlined=*/true, 0);
  if (mayInline && fusesIntoUser(op))
    return ScheduleAttr::get(ctx, 1, {}, false, /*inlined=*/true, 0);
  // A reduction over its input's innermost axis is vectorized along that
  // axis (partial results in vector lanes): its result has no contiguous
  // axis to vectorize.
  if (auto reduce = dyn_cast<ReduceOp>(op)) {
    auto in = reduce.getInput().getType();
    if (!target.isGpu && in.getRank() > 0 &&
        llvm::is_contained(reduce.getAxes(), in.getRank() - 1) &&
        isa<FloatType>(in.getElementType()) && reduce.getKind() != "prod") {
      int64_t lanes = target.lanes(computeBytes(in));
      int64_t reduced = in.getShape().back();
      // Partial sums in no more lanes than the axis has elements.
      if (!ShapedType::isDynamic(reduced) && reduced < lanes)
        lanes = static_cast<int64_t>(llvm::PowerOf2Ceil(
            static_cast<uint64_t>(std::max<int64_t>(reduced, 1))));
      return ScheduleAttr::get(ctx, lanes, /*parallel=*/true,
                               taskRows(reduced));
    }
  }
  // A running sum is one pass along its axis, serial: real exports scan
  // position ids and masks of a few hundred elements.
  if (isa<CumSumOp>(op))
    return ScheduleAttr::get(ctx, 1, {}, /*parallel=*/false, false, 0);
  int64_t inner = type.getRank() ? type.getShape().back() : 1;
  if (target.isGpu) {
    int64_t threads = 256;
    if (!ShapedType::isDynamic(inner) && inner < threads)
      threads = std::max<int64_t>(
          32, static_cast<int64_t>(llvm::PowerOf2Ceil(inner)));
    return ScheduleAttr::get(ctx, 1, {}, false, false, threads);
  }
  int64_t lanes = target.lanes(computeBytes(type));
  // Vectorize along the innermost axis. An axis shorter than a vector is
  // covered by one (predicated) vector of the next power of two: no tail
  // loop. (This also avoids a Halide 14 miscompilation seen with erf over
  // axes of 3 and 5 elements vectorized by 2 and 4.)
  if (!ShapedType::isDynamic(inner) && inner < lanes)
    lanes = static_cast<int64_t>(
        llvm::PowerOf2Ceil(static_cast<uint64_t>(std::max<int64_t>(inner, 1))));
  bool parallel = type.getRank() >= 2;
  // Rows of cheap elements (elementwise and layout ops, gathers) are
  // grouped into tasks; ops that do more per element are not.
  bool cheap =
      op->getNumOperands() > 0 && (isa<TransposeOp, ReshapeOp, ReshapeDynamicOp,
                                       GatherOp, GatherElementsOp, PadOp>(op) ||
                                   isElementwise(op));
  return ScheduleAttr::get(ctx, lanes, parallel,
                           parallel && cheap ? taskRows(inner) : 1);
}

/// Graph attention on CPUs: blocks of 16 query nodes × 4 vectors of key
/// nodes, so a block without an edge (graphs batched block-diagonally,
/// nodes ordered by locality) is skipped after one test; one task per
/// query block.
ScheduleAttr scheduleGraphAttention(GraphAttentionOp op,
                                    const TargetInfo &target) {
  int64_t lanes = target.lanes(computeBytes(op.getType()));
  return ScheduleAttr::get(op.getContext(), KernelForm::block_sparse, lanes,
                           {16, 4 * lanes}, /*parallel=*/true, false, 0);
}

struct AttnTilePass : public mlir::attn::impl::AttnTileBase<AttnTilePass> {
  using AttnTileBase::AttnTileBase;

  void runOnOperation() override {
    FailureOr<TargetInfo> info = TargetInfo::fromHalideTarget(target);
    if (failed(info)) {
      getOperation().emitError("attn-tile: unknown target '")
          << target << "' (expected a Halide target string such as "
          << "x86-64-linux-avx512 or arm-64-linux)";
      return signalPassFailure();
    }
    // How many inlined ops each value carries (itself and its inlined
    // producers), to cut chains at kMaxInlinedChain.
    DenseMap<Operation *, int> chain;
    auto inlinedAbove = [&](Operation *op) {
      int longest = 0;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          longest = std::max(longest, chain.lookup(def));
      return longest;
    };
    getOperation().walk([&](Operation *op) {
      if (op->getDialect() == nullptr || !isa<AttnDialect>(op->getDialect()) ||
          isa<ConstantOp>(op))
        return;
      auto record = [&] {
        auto s = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
        chain[op] = s && s.getInlined() ? inlinedAbove(op) + 1 : 0;
      };
      if (op->hasAttr("schedule"))
        return record();
      bool mayInline = inlinedAbove(op) + 1 < kMaxInlinedChain;
      ScheduleAttr schedule =
          llvm::TypeSwitch<Operation *, ScheduleAttr>(op)
              .Case(
                  [&](SdpaOp sdpa) { return scheduleSdpa(sdpa, *info, bf16); })
              .Case([&](GraphAttentionOp g) {
                return info->isGpu ? scheduleGeneric(g, *info, false)
                                   : scheduleGraphAttention(g, *info);
              })
              .Case<MatMulOp, LinearOp, MatMulIntegerOp>([&](Operation *mm) {
                return info->isGpu
                           ? scheduleGeneric(mm, *info)
                           : scheduleMatMul(mm, *info, bf16, weightsParam);
              })
              .Default([&](Operation *other) {
                return scheduleGeneric(other, *info, mayInline);
              });
      op->setAttr("schedule", schedule);
      record();
    });
  }
};

} // namespace
