//===- PipelineBuilder.h - attn function to Halide Funcs --------*- C++ -*-===//
//
// Internal to lib/Target/Halide. A PipelineBuilder walks one func.func of
// attn ops and defines a Halide Func per op (THE ALGORITHM), then applies each
// op's #attn.schedule (THE SCHEDULE, in Schedules.cpp). Tensors are indexed in
// ONNX order (outermost axis first) everywhere in attnc; Halide's dimension 0
// is the innermost, so indices are reversed exactly once, in `call`.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_HALIDE_PIPELINEBUILDER_H
#define ATTNC_LIB_TARGET_HALIDE_PIPELINEBUILDER_H

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Target/DataObject.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include "Halide.h"

#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mlir::attn::halide {

/// A tensor value as Halide sees it.
struct Tensor {
  Halide::Func func;
  /// Extents in ONNX order, as Int(32) expressions of the input extents.
  std::vector<Halide::Expr> shape;
  Halide::Type type;
  /// For small tensors of static shape whose elements are known before the
  /// pipeline runs (constants, extents and the arithmetic exporters do on
  /// them): every element, row-major, as an expression free of Func calls.
  /// Shape operands (Reshape, Expand, Slice, Range...) are read from here.
  std::optional<std::vector<Halide::Expr>> values;
  std::vector<int64_t> valueShape;
  /// Whether the elements may be infinite or NaN through a constant (a mask
  /// of -inf): Halide compiles floating-point arithmetic assuming neither
  /// (LLVM's ninf and nnan), so arithmetic that sees such a constant is
  /// emitted strict (Halide::strict_float) lest it be folded away.
  bool nonFinite = false;
  /// What the Func reads, where it only wraps one: the constant's buffer, the
  /// input's (or weight's) parameter. Kernels are passed these directly.
  Halide::Buffer<> buffer;
  Halide::ImageParam param;

  int rank() const { return static_cast<int>(shape.size()); }
  /// Reads the element at `onnxIndex` (ONNX order): from `values` where
  /// they are known, else a call of the Func.
  Halide::Expr call(const std::vector<Halide::Expr> &onnxIndex) const;
};

/// Counts reads that had to call a Func; elements computed without any are
/// known before the pipeline runs.
extern thread_local int funcReadCount;

/// Tensors with at most this many elements get `values` when known.
constexpr int64_t kMaxKnownElements = 64;

//===----------------------------------------------------------------------===//
// Helpers shared by the op definitions
//===----------------------------------------------------------------------===//

/// tanh, computed in vector arithmetic for float32.
Halide::Expr vectorTanh(Halide::Expr x);
/// |x| of a floating-point `x`.
Halide::Expr floatAbs(Halide::Expr x);
/// `activation` of attn.linear applied to `x` (float32 or wider).
Halide::Expr applyActivation(llvm::StringRef activation, Halide::Expr x);

/// Halide vars for a rank-`rank` Func, Halide order (0 = innermost).
std::vector<Halide::Var> makeVars(int rank, const std::string &prefix);
/// The same vars as an index in ONNX order.
std::vector<Halide::Expr> onnxIndex(const std::vector<Halide::Var> &vars);
/// Widens 16-bit floats to float32.
Halide::Expr widen(Halide::Expr e);
/// Casts `e` to `type` unless it already has it.
Halide::Expr narrow(Halide::Expr e, Halide::Type type);
/// An integer expression of the input extents as Int(32) arithmetic: int64
/// casts of extents are dropped, int64 +, -, *, /, %, min, max, select and
/// comparisons are done in int32, and int64 constants saturate. Extents and
/// element counts fit int32, so this keeps the value while letting Halide's
/// simplifier cancel the exporters' shape arithmetic.
Halide::Expr toExtent(const Halide::Expr &e);
/// `num / den` for Int(32) products of extents: common factors and a
/// constant factor that divides are cancelled, so that the -1 entry of an
/// exporter's reshape comes out as a plain extent.
Halide::Expr divideExact(const Halide::Expr &num, const Halide::Expr &den);
/// The lowest finite float32, which stands for a masked score.
Halide::Expr lowest();
/// Whether an entry `m` of a float attention mask keeps its key: a value of
/// at most half the lowest finite value of its type (-inf, the lowest float,
/// float16's -65504) masks the key as a false boolean would, so that adding
/// it never overflows and a row masked that way everywhere is a fully masked
/// row (averaged, or 0 under zero_masked_rows).
Halide::Expr floatMaskKeeps(const Halide::Expr &m);

/// One element of an op's result from its index (ONNX order).
using ElementFn =
    std::function<Halide::Expr(const std::vector<Halide::Expr> &)>;
inline Halide::Expr asInt(Halide::Expr e) { return Halide::cast<int>(e); }
/// An int64 shape value as an Int(32) extent or index (see toExtent).
inline Halide::Expr clampToInt(Halide::Expr e) { return toExtent(e); }
inline Halide::Expr typedZero(Halide::Type t) { return Halide::cast(t, 0); }
/// Smallest and largest finite values of an accumulation type.
inline Halide::Expr typeLowest(Halide::Type t) {
  return t.is_float() ? Halide::cast(t, lowest()) : t.min();
}
inline Halide::Expr typeHighest(Halide::Type t) {
  return t.is_float()
             ? Halide::cast(t, Halide::Expr(std::numeric_limits<float>::max()))
             : t.max();
}
/// Reads `t` (of type `tType`) at the numpy broadcast of `index`, an index
/// into a result of type `outType` whose extents are `outShape`.
Halide::Expr broadcastRead(const Tensor &t, RankedTensorType tType,
                           RankedTensorType outType,
                           const std::vector<Halide::Expr> &index);
/// Extents of the numpy broadcast of several tensors.
std::vector<Halide::Expr> broadcastShape(llvm::ArrayRef<const Tensor *> tensors,
                                         llvm::ArrayRef<RankedTensorType> types,
                                         RankedTensorType outType);

/// Funcs of a fused attn.sdpa, kept for its schedule.
struct SdpaFuncs {
  Halide::Func out, state, kT, scores, blockMaxPart, blockMax, probs,
      blockSumPart, blockSum, pv;
  Halide::RDom kvBlocks, headDim, kvInBlock, partRows, lanes;
  int64_t lanesCount = 1;
  bool hasKT = false;
};

/// Funcs of attn.graph_attention in query blocks × key blocks (the
/// block_sparse form, EmitAttention.cpp), kept for its schedule.
struct GraphAttentionFuncs {
  /// out(d, i, batch...); acc(d, ii, qb, batch...) holds Σ p · v in
  /// columns d < Dv and Σ p in column Dv.
  Halide::Func out, acc, colAny, occupied, tileMax, rowMaxLanes, rowMax, probs,
      valueRows, blockPV;
  Halide::Var d, i, ii, qb, kb, x, lane, jj;
  Halide::RDom blockRows, blockKeys, keyBlocks, lanes;
  int queryBlock = 16, keyBlock = 64;
};

/// Funcs of attn.sdpa computed in register-blocked tiles (the CPU form):
/// per task (batch, head, query block), for each KV block, the scores
/// Q·Kᵀ in QK tiles, their block maximum, the probabilities 2^(s - max),
/// their sum and P·V in PV tiles, folded into the running state.
struct BlockedSdpaFuncs {
  Halide::Func out, state, qT, kPack, vPack, scoresAcc, scores, blockMax, probs,
      blockSum, pvAcc, pv;
  Halide::RDom kvBlocks, headDim, kvInBlock;
  /// The keys of a block, for the block maximum.
  Halide::RDom keysInBlock;
  /// Halide names of the pure vars: query row in block, query block.
  Halide::Var row, block;
  /// Query block, KV block, QK tile (rows × keys), PV tile (dims × rows).
  int qBlock = 64, kvBlock = 256, qkRows = 64, qkKeys = 6, pvDims = 64,
      pvRows = 6, lanes = 16;
  /// The KV block computed at run time: `kvBlock`, or fewer keys (whole
  /// vectors) when the sequence is shorter; buffers are `kvBlock` long.
  Halide::Expr kvExtent;
  /// bfloat16 products (`bf16` schedules): `qT` is qT(pair element, row,
  /// pair, ...), `kPack` the block's keys and `vPack` its values as
  /// vPack(pair element, dim, key pair, ...), `probPairs` the probabilities
  /// as probPairs(pair element, row, key pair, ...), all bfloat16;
  /// `headDim` and `kvInBlock` are (pair element, pair) and `probs` is
  /// inlined.
  bool bf16 = false;
  Halide::Func probPairs;
};

/// Funcs of attn.matmul / attn.linear computed in register tiles (the CPU
/// form for a right-hand side shared by every batch entry): `acc` is the
/// product in panels, acc(column in panel, row, panel, batch...), summed
/// over `k` in tiles of `tileRows` rows × one panel of `panelColumns`
/// columns; `out` applies the epilogue. Tasks are blocks of `taskRows`
/// rows × one panel × one batch entry.
struct BlockedMatMulFuncs {
  Halide::Func out, acc;
  Halide::RDom k;
  int taskRows = 96, panelColumns = 64, tileRows = 6, lanes = 16;
  /// bfloat16 products (`bf16` schedules): `k` is (pair element, pair);
  /// `aPairs` is the left operand rounded to bfloat16, aPairs(k, row,
  /// batch...); `bPairs` the weights as bPairs(pair element, column, pair,
  /// panel), rounded once per task where they are not read from panels
  /// laid out before the run (then undefined).
  bool bf16 = false;
  Halide::Func aPairs, bPairs;
  /// 8-bit integer products (`int8`, a quantized attn.linear): `k` is
  /// (quad element, quad); `aQuads` the left operand as u8, aQuads(k, row,
  /// batch...); `bQuads` the weights as i8, bQuads(quad element, column,
  /// quad, panel), laid out per task where they are not read from panels;
  /// `colSum` their sums over k per column, colSum(column, panel), and
  /// `rowSum` (where the weights' zero point is not 0) the left operand's
  /// per row, rowSum(row, batch...), for the zero-point terms.
  bool int8 = false;
  Halide::Func aQuads, bQuads, colSum, rowSum;
  /// The column sums' parts, colBytes(4 · column + quad element, panel),
  /// where the weights are not panels laid out before the run (whose last
  /// quad row holds the sums).
  Halide::Func colBytes;
  /// `aQuads` only reads the left operand: computed inside the products.
  bool aQuadsInPlace = false;
};

/// attn.linear in generic code: `main` is the epilogue, `product` the
/// matrix product it reads, computed per row of `main`.
struct LinearFuncs {
  Halide::Func product;
};

/// Funcs of a softmax, kept for its schedule.
struct SoftmaxFuncs {
  Halide::Func out, max, exp, sum;
  bool innermost = false;
};

/// Funcs of a normalization over the innermost axis, kept for its schedule:
/// per row, `lanes` partial sums along the row (`partials`, Halide order
/// (lane, rows...)) reduced into the statistics (`stats`, mean and variance
/// or the mean square), then the normalized row `out`.
struct NormFuncs {
  Halide::Func out;
  std::vector<Halide::Func> partials, stats;
};

/// Everything an op contributed, for scheduling.
struct OpFuncs {
  Operation *op = nullptr;
  Halide::Func main;
  /// True when `main` has an update stage (reductions).
  bool hasUpdate = false;
  /// The op's form where its schedule needs more than `main`: one record
  /// per form (none for ops that are one Func).
  std::variant<std::monostate, SdpaFuncs, BlockedSdpaFuncs, SoftmaxFuncs,
               LinearFuncs, BlockedMatMulFuncs, NormFuncs, GraphAttentionFuncs>
      form;
  /// Funcs computed into buffers of their own before `main` (statistics of
  /// a normalization, the state of an argmax), scheduled like it.
  std::vector<Halide::Func> helpers;
  /// `main` is a pipeline output: its region is the caller's buffer, which
  /// a schedule may not round out.
  bool isOutput = false;
};

/// How the program sees one argument of a kernel at its call: its extents
/// in the kernel's extent parameters (ONNX order).
struct KernelArgSpec {
  std::vector<Halide::Expr> shape;
  bool nonFinite = false;
};

class PipelineBuilder;

/// One distinct kernel of a program: its pipeline and the Halide symbol.
struct KernelBuild {
  func::FuncOp callee;
  std::string symbol;
  std::unique_ptr<PipelineBuilder> builder;
  /// Calls of it in the program.
  int calls = 0;
};

class PipelineBuilder {
public:
  explicit PipelineBuilder(func::FuncOp func) : func(func) {}

  /// Defines and schedules every Func. Throws Halide::Error on Halide
  /// errors; returns failure after emitting a diagnostic on attnc errors.
  LogicalResult build(const Halide::Target &target);

  /// Called as ops are defined (ops done, ops in all); may be empty.
  std::function<void(int64_t, int64_t)> progress;

  /// The pipeline's arguments: inputs in order (outputs are implicit).
  std::vector<Halide::Argument> arguments() const;
  /// The pipeline computing every output.
  Halide::Pipeline pipeline() const {
    Halide::Pipeline p(outputs);
    addRequirements(p);
    return p;
  }
  /// The companion pipeline that writes every output's extents.
  Halide::Pipeline shapesPipeline() const { return Halide::Pipeline(shapes); }
  /// Total number of output extents (the length of the shapes buffer).
  int64_t numOutputExtents() const;
  /// Adds the run-time checks of input extents to `p`.
  void addRequirements(Halide::Pipeline &p) const;

  /// Some product is computed in 8-bit quads (BlockedMatMulFuncs::int8):
  /// its code needs vpdpbusd where the target has it.
  bool usesInt8Dot = false;
  /// Large constants become input buffers (HalideEmitOptions::weightsDir).
  bool weightsAsParams = false;
  /// False: no Func is scheduled (an autoscheduler will do it).
  bool applySchedules = true;
  /// A constant passed as an input buffer: its data, to be written out.
  struct Weight {
    Halide::ImageParam param;
    std::vector<int64_t> shape;
    llvm::ArrayRef<char> data;
  };
  std::vector<Weight> weights;

  /// Kernel mode: the function is a kernel (`attn.kernel`) and these are
  /// its arguments as its call sites see them; empty for a whole model.
  std::vector<KernelArgSpec> kernelArgs;
  bool isKernel = false;
  /// The kernel's extent parameters, named `extent_<i>`.
  std::vector<Halide::Param<int32_t>> extentParams;
  /// The kernel's Halide arguments: the arguments it reads, then its
  /// extents; `usedArgs` are the indices of the first.
  std::vector<Halide::Argument> kernelArguments() const;
  std::vector<int> usedArgs;
  /// A program (calls of attn.kernel functions): its distinct kernels, in
  /// the order of their first call; symbols are `kernelPrefix` + callee.
  std::vector<std::unique_ptr<KernelBuild>> kernels;
  std::string kernelPrefix;
  /// The calls of a program, in order: the kernel and the program's
  /// extents its extent parameters take.
  struct ProgramCall {
    size_t kernel = 0;
    func::CallOp call;
    std::vector<Halide::Expr> extents;
  };
  std::vector<ProgramCall> programCalls;
  /// The entry point of a program: a Halide module holding the function
  /// that calls the kernels in order over buffers planned here, its input
  /// checks (`<name>_check`) and `<name>_output_shapes`. `arena` receives
  /// the bytes of intermediate memory it allocates, as an expression of
  /// the input extents.
  /// With `data`, the constants are not embedded by Halide: each becomes a
  /// blob of `data` (an object of its own), read through its accessor.
  Halide::Module programModule(const std::string &name,
                               const Halide::Target &target, std::string &arena,
                               std::vector<DataBlob> *data = nullptr);

  std::vector<Halide::ImageParam> params;
  std::vector<Halide::Func> outputs;
  std::vector<std::vector<Halide::Expr>> outputShapes;
  std::vector<Halide::Type> outputTypes;
  Halide::Func shapes;

  /// Tensors by value (a kernel's result, for the program).
  const Tensor &tensorOf(Value value) const {
    return tensors.find(value)->second;
  }

private:
  LogicalResult define(Operation *op, const std::string &name, OpFuncs &funcs);
  /// A call of a kernel: an extern stage of the program.
  LogicalResult defineCall(func::CallOp call, const std::string &name,
                           OpFuncs &funcs);
  Tensor &get(Value value) { return tensors[value]; }
  std::string uniqueName(const std::string &base);

  LogicalResult defineConstant(ConstantOp op, const std::string &name,
                               OpFuncs &funcs);
  /// attn.matmul, and attn.linear with its epilogue.
  LogicalResult defineMatMul(Operation *op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineSoftmax(SoftmaxOp op, const std::string &name,
                              OpFuncs &funcs);
  LogicalResult defineSdpa(SdpaOp op, const std::string &name, OpFuncs &funcs);
  /// attn.sdpa with a CPU schedule and static head dimensions: the
  /// register-blocked flash form (BlockedSdpaFuncs).
  LogicalResult defineBlockedSdpa(SdpaOp op, const std::string &name,
                                  OpFuncs &funcs);
  /// Records `out` as the result of attn.sdpa `op`: [B, H, Nq, Dv].
  void recordSdpaResult(SdpaOp op, Halide::Func out, Halide::Type type,
                        const Tensor &q, const Tensor &v);
  /// Applies attn.sdpa's mask operand at (`bIdx`, `hIdx`, `row`, `key`)
  /// (indices already clamped into range): boolean masks narrow `valid`,
  /// additive masks are added to `score` after scaling by `unit`.
  void applySdpaMask(SdpaOp op, Halide::Expr bIdx, Halide::Expr hIdx,
                     Halide::Expr row, Halide::Expr key, float unit,
                     Halide::Expr &score, Halide::Expr &valid);
  /// Every op not defined above, by family (EmitElementwise.cpp,
  /// EmitShapes.cpp, EmitReductions.cpp, EmitAttention.cpp,
  /// EmitContractions.cpp); fails with "no Halide lowering" on others.
  LogicalResult defineOther(Operation *op, const std::string &name,
                            OpFuncs &funcs);
  /// The elementwise family, and the layout and indexing family: none when
  /// `op` is not of it.
  std::optional<LogicalResult>
  defineElementwiseOp(Operation *op, const std::string &name, OpFuncs &funcs);
  std::optional<LogicalResult>
  defineShapeOp(Operation *op, const std::string &name, OpFuncs &funcs);
  LogicalResult defineReshape(Operation *op, const std::string &name,
                              OpFuncs &funcs,
                              const std::vector<Halide::Expr> &spec);
  LogicalResult defineSlice(SliceOp op, const std::string &name,
                            OpFuncs &funcs);
  LogicalResult defineRotary(RotaryOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineReduce(ReduceOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineCumSum(CumSumOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineArgMax(ArgMaxOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineLogSoftmax(LogSoftmaxOp op, const std::string &name,
                                 OpFuncs &funcs);
  LogicalResult defineLayerNorm(LayerNormOp op, const std::string &name,
                                OpFuncs &funcs);
  LogicalResult definePool(PoolOp op, const std::string &name, OpFuncs &funcs);
  /// Run-time checks that queries [..., Nq, D], keys [..., Nk, D] and
  /// values [..., Nk, Dv] of a fused attention agree.
  /// Run-time checks of the extents attn.sdpa needs to agree: batch,
  /// heads (kv_group), head size, keys and values, the mask's broadcast.
  void requireSdpaExtents(SdpaOp op);
  void requireKeyedExtents(const std::string &what, const Tensor &q,
                           const Tensor &k, const Tensor &v);
  LogicalResult defineAdditiveAttention(AdditiveAttentionOp op,
                                        const std::string &name,
                                        OpFuncs &funcs);
  LogicalResult defineHardAttention(HardAttentionOp op, const std::string &name,
                                    OpFuncs &funcs);
  /// attn.scatter_elements and attn.scatter_nd: the input, then one serial
  /// update per element of the updates.
  LogicalResult defineScatter(Operation *op, const std::string &name,
                              OpFuncs &funcs);
  LogicalResult defineResize(ResizeOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineGraphAttention(GraphAttentionOp op,
                                     const std::string &name, OpFuncs &funcs);
  LogicalResult defineConv2d(Conv2dOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineConvTranspose(ConvTransposeOp op, const std::string &name,
                                    OpFuncs &funcs);
  LogicalResult defineEinsum(EinsumOp op, const std::string &name,
                             OpFuncs &funcs);
  /// Defines `name` elementwise: element `fn(index)` over extents `shape`;
  /// also evaluates `values` when the result is small and known.
  void defineElementwise(
      Operation *op, const std::string &name, OpFuncs &funcs,
      std::vector<Halide::Expr> shape,
      const std::function<Halide::Expr(const std::vector<Halide::Expr> &)> &fn);
  /// The known elements of `value`, or an error naming `what`.
  FailureOr<std::vector<Halide::Expr>> knownValues(Operation *op, Value value,
                                                   llvm::StringRef what);
  /// Records a run-time check.
  void require(Halide::Expr condition, std::string message) {
    requirements.emplace_back(std::move(condition), std::move(message));
  }

  /// Simplifies an extent or known element, knowing that every dynamic
  /// input extent is at least 1 (checked at run time). This keeps the
  /// exporters' reshape arithmetic (-1 and 0 entries) from nesting.
  Halide::Expr simplifyKnown(const Halide::Expr &e) const;

  func::FuncOp func;
  llvm::DenseMap<Value, Tensor> tensors;
  /// Bounds of the dynamic input extents, for simplifyKnown.
  Halide::Internal::Scope<Halide::Internal::Interval> extentBounds;
  std::vector<std::pair<Halide::Expr, std::string>> requirements;
  /// dim_param name → (extent, input that set it).
  llvm::StringMap<std::pair<Halide::Expr, std::string>> symbolicDims;
  llvm::StringMap<int> usedNames;
  /// Kernel variant key (callee and argument specs) → index in `kernels`.
  llvm::StringMap<size_t> kernelIndex;
  const Halide::Target *target = nullptr;
};

/// Halide type of an MLIR element type; fails on types attnc does not map.
FailureOr<Halide::Type> toHalideType(Type type);
/// The type computations run in: float32 for 16-bit floats.
Halide::Type computeType(Halide::Type type);
/// Converts a name into a C identifier usable as a Halide name.
std::string cIdentifier(llvm::StringRef name);

/// Applies an op's schedule to its Funcs (Schedules.cpp).
LogicalResult applySchedule(const OpFuncs &funcs, ScheduleAttr schedule,
                            const Halide::Target &target);
/// Schedules a Func with no op behind it (an output copy).
void scheduleFunc(Halide::Func f, ScheduleAttr schedule);

} // namespace mlir::attn::halide

#endif // ATTNC_LIB_TARGET_HALIDE_PIPELINEBUILDER_H
