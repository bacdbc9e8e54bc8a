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
  if (vectorWidth < 1 || !llvm::isPowerOf2_64(vectorWidth))
    return emitError() << "expects vector_width to be a power of two, got "
                       << vectorWidth;
  for (int64_t tile : tiles)
    if (tile < 1)
      return emitError() << "expects positive tile sizes, got " << tile;
  if (gpuThreads < 0)
    return emitError() << "expects gpu_threads >= 0, got " << gpuThreads;
  if (inlined && (parallel || gpuThreads))
    return emitError()
           << "expects an inlined op to have no loops of its own to schedule";
  if (bf16 && (inlined || gpuThreads))
    return emitError() << "expects bf16 products only in CPU schedules of "
                          "ops that are not inlined";
  return success();
}

} // namespace mlir::attn
