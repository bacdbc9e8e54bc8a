//===- ConstantData.cpp - Reading and writing constant tensors --*- C++ -*-===//

#include "attnc/Dialect/Attn/IR/ConstantData.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::attn;

void ConstantBytes::append(std::vector<char> &out, int64_t begin,
                           int64_t count) const {
  if (!splat) {
    out.insert(out.end(), raw.begin() + begin * elementBytes,
               raw.begin() + (begin + count) * elementBytes);
    return;
  }
  for (int64_t i = 0; i < count; ++i)
    out.insert(out.end(), raw.begin(), raw.begin() + elementBytes);
}

std::optional<ConstantBytes> mlir::attn::constantBytes(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  return constantBytes(c.getValue(), cast<RankedTensorType>(v.getType()));
}

std::optional<ConstantBytes> mlir::attn::constantBytes(Attribute value,
                                                       RankedTensorType type) {
  if (!value || !type.hasStaticShape() ||
      !type.getElementType().isIntOrFloat() ||
      type.getElementType().getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  ConstantBytes bytes;
  bytes.elementBytes = type.getElementType().getIntOrFloatBitWidth() / 8;
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    bytes.raw = dense.getRawData();
    bytes.splat = dense.isSplat();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    bytes.raw = blob->getData();
  } else {
    return std::nullopt;
  }
  int64_t expected =
      (bytes.splat ? 1 : type.getNumElements()) * bytes.elementBytes;
  if (static_cast<int64_t>(bytes.raw.size()) != expected)
    return std::nullopt;
  return bytes;
}

Value mlir::attn::makeConstant(OpBuilder &b, Location loc,
                               RankedTensorType type, std::vector<char> bytes,
                               StringRef blobName) {
  return b.create<ConstantOp>(loc,
                              makeElements(type, std::move(bytes), blobName));
}

ElementsAttr mlir::attn::makeElements(RankedTensorType type,
                                      std::vector<char> bytes,
                                      StringRef blobName) {
  ElementsAttr attr;
  if (bytes.size() > 4096 &&
      reinterpret_cast<uintptr_t>(bytes.data()) % alignof(double) == 0) {
    auto *owned = new std::vector<char>(std::move(bytes));
    AsmResourceBlob blob(
        ArrayRef<char>(*owned), alignof(double),
        [owned](void *, size_t, size_t) { delete owned; },
        /*dataIsMutable=*/true);
    attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  } else {
    attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
  }
  return attr;
}
