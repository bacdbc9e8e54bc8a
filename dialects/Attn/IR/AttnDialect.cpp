//===- AttnDialect.cpp - attn dialect registration -------------*- C++ -*-===//
//
// Registers the ops and attributes of the attn dialect and materializes
// folded constants as attn.constant.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#include "attnc/Dialect/Attn/IR/AttnDialect.cpp.inc"

#include "attnc/Dialect/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "attnc/Dialect/Attn/IR/AttnOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attnc/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

Operation *AttnDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

namespace mlir::attn {

FailureOr<SmallVector<int64_t>> parseTileList(AsmParser &parser) {
  SmallVector<int64_t> tiles;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() {
        int64_t value;
        if (parser.parseInteger(value))
          return failure();
        tiles.push_back(value);
        return success();
      }))
    return failure();
  return tiles;
}

std::string toCIdentifier(llvm::StringRef name) {
  std::string id;
  for (char c : name)
    id += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0])))
    id = "_" + id;
  return id;
}

void printTileList(AsmPrinter &printer, ArrayRef<int64_t> tiles) {
  printer << '[';
  llvm::interleaveComma(tiles, printer);
  printer << ']';
}

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   KernelForm kind, int64_t vectorWidth,
                                   ArrayRef<int64_t> tiles, bool parallel,
                                   bool inlined, int64_t gpuThreads, bool bf16,
                                   int64_t taskRows) {
  // Bounds that keep the tiling arithmetic and Halide's 32-bit loop extents
  // far from overflow: wider than any vector unit, larger than any cache
  // block, more threads than a GPU block holds.
  constexpr int64_t kMaxVectorWidth = 256, kMaxTile = int64_t(1) << 24,
                    kMaxGpuThreads = 1024;
  if (vectorWidth < 1 || !llvm::isPowerOf2_64(vectorWidth) ||
      vectorWidth > kMaxVectorWidth)
    return emitError() << "expects vector_width to be a power of two of at "
                          "most "
                       << kMaxVectorWidth << ", got " << vectorWidth;
  for (int64_t tile : tiles)
    if (tile < 1 || tile > kMaxTile)
      return emitError() << "expects tile sizes in [1, " << kMaxTile
                         << "], got " << tile;
  if (gpuThreads < 0 || gpuThreads > kMaxGpuThreads)
    return emitError() << "expects gpu_threads in [0, " << kMaxGpuThreads
                       << "], got " << gpuThreads;
  if (inlined && (parallel || gpuThreads))
    return emitError()
           << "expects an inlined op to have no loops of its own to schedule";
  if (taskRows < 1 || taskRows > kMaxTile)
    return emitError() << "expects task_rows in [1, " << kMaxTile << "], got "
                       << taskRows;
  if (taskRows > 1 && (!parallel || kind != KernelForm::generic))
    return emitError() << "expects task_rows only in parallel schedules of "
                          "kind generic";
  if (bf16 && (inlined || gpuThreads))
    return emitError() << "expects bf16 products only in CPU schedules of "
                          "ops that are not inlined";
  // Each kind has its tiles, all of them: the emitter fills in nothing.
  size_t expected = 0;
  switch (kind) {
  case KernelForm::generic:
    expected = 0;
    break;
  case KernelForm::flash:
    expected = 2;
    break;
  case KernelForm::blocked:
    expected = 6;
    break;
  case KernelForm::panels:
    expected = 3;
    break;
  case KernelForm::block_sparse:
    expected = 2;
    break;
  }
  if (tiles.size() != expected)
    return emitError() << "expects " << expected << " tile sizes with kind "
                       << stringifyKernelForm(kind) << ", got " << tiles.size();
  // Register tiles lie within their blocks: QK rows and PV rows within
  // the query block, QK keys within the KV block.
  if (kind == KernelForm::blocked &&
      (tiles[2] > tiles[0] || tiles[3] > tiles[1] || tiles[5] > tiles[0]))
    return emitError() << "expects the register tiles of kind blocked "
                          "within their blocks (QK rows and PV rows at most "
                          "the query block, QK keys at most the KV block)";
  if ((kind == KernelForm::blocked || kind == KernelForm::panels ||
       kind == KernelForm::block_sparse) &&
      (gpuThreads || inlined))
    return emitError() << "expects kind " << stringifyKernelForm(kind)
                       << " only in CPU schedules of ops that are not "
                          "inlined";
  return success();
}

bool isCompiledInWeight(Value v, bool weightsParam) {
  auto type = cast<RankedTensorType>(v.getType());
  return v.getDefiningOp<ConstantOp>() && type.hasStaticShape() &&
         (isa<Float32Type, Float16Type, BFloat16Type>(type.getElementType()) ||
          type.getElementType().isInteger(8)) &&
         !(weightsParam &&
           type.getNumElements() > kMaxCompiledInWeightElements);
}

LogicalResult verifyScheduleOf(Operation *op) {
  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  if (!schedule)
    return success();
  KernelForm kind = schedule.getKind();
  auto floating = [](Type type) {
    return isa<Float32Type, Float16Type, BFloat16Type>(
        getElementTypeOrSelf(type));
  };
  if (auto sdpa = dyn_cast<SdpaOp>(op)) {
    if (kind != KernelForm::flash && kind != KernelForm::blocked)
      return op->emitOpError("expects its schedule to name its kind: flash "
                             "or blocked");
    if (kind == KernelForm::blocked &&
        (ShapedType::isDynamic(sdpa.getQ().getType().getDimSize(3)) ||
         ShapedType::isDynamic(sdpa.getV().getType().getDimSize(3)) ||
         !floating(sdpa.getType())))
      return op->emitOpError("expects static head sizes and float32, "
                             "float16 or bfloat16 elements for kind blocked");
    if (kind == KernelForm::blocked &&
        schedule.getTiles()[4] > sdpa.getV().getType().getDimSize(3))
      return op->emitOpError("expects PV tiles of at most the value head "
                             "size, ")
             << sdpa.getV().getType().getDimSize(3) << ", got "
             << schedule.getTiles()[4];
    return success();
  }
  if (isa<MatMulOp, LinearOp>(op)) {
    if (kind != KernelForm::generic && kind != KernelForm::panels)
      return op->emitOpError("expects kind generic or panels, got ")
             << stringifyKernelForm(kind);
    auto rhs = cast<RankedTensorType>(op->getOperand(1).getType());
    auto result = cast<RankedTensorType>(op->getResult(0).getType());
    // Panels read a matrix shared by the batch, or one matrix per batch
    // entry (a batched right operand with static rows and columns).
    int64_t rr = rhs.getRank();
    if (kind == KernelForm::panels &&
        (result.getRank() < 2 || rr < 2 || rr > result.getRank() ||
         rhs.isDynamicDim(rr - 1) || rhs.isDynamicDim(rr - 2) ||
         !floating(result) || (rr > 2 && schedule.getBf16())))
      return op->emitOpError("expects a right operand with static rows and "
                             "columns (batched without bf16 pairs) and "
                             "float32, float16 or bfloat16 results for kind "
                             "panels");
    return success();
  }
  if (isa<GraphAttentionOp>(op)) {
    if (kind != KernelForm::generic && kind != KernelForm::block_sparse)
      return op->emitOpError("expects kind generic or block_sparse, got ")
             << stringifyKernelForm(kind);
    if (kind == KernelForm::block_sparse &&
        schedule.getTiles()[1] % schedule.getVectorWidth() != 0)
      return op->emitOpError("expects a key block of whole vectors (a "
                             "multiple of vector_width ")
             << schedule.getVectorWidth() << "), got "
             << schedule.getTiles()[1];
    return success();
  }
  if (kind != KernelForm::generic)
    return op->emitOpError("has only the generic kind, got ")
           << stringifyKernelForm(kind);
  return success();
}

} // namespace mlir::attn
