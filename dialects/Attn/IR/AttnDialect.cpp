//===- AttnDialect.cpp - attn dialect registration -------------*- C++ -*-===//
//
// Registers the ops and attributes of the attn dialect and materializes
// folded constants as attn.constant.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#include "attnc/Dialect/Attn/IR/AttnDialect.cpp.inc"

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
                                   int64_t vectorWidth, ArrayRef<int64_t> tiles,
                                   bool parallel, bool inlined,
                                   int64_t gpuThreads, bool bf16) {
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
  if (bf16 && (inlined || gpuThreads))
    return emitError() << "expects bf16 products only in CPU schedules of "
                          "ops that are not inlined";
  return success();
}

} // namespace mlir::attn
