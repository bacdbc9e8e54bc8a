//===- ConstantData.h - Reading and writing constant tensors ----*- C++ -*-===//
//
// The folders and passes that rewrite weights (a transpose of a constant,
// attn-fuse-epilogues merging projections, attn-pack-weights laying them
// out in panels) read a constant's bytes in place and write new constants
// the way the importer stores weights.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_IR_CONSTANTDATA_H
#define ATTNC_DIALECT_ATTN_IR_CONSTANTDATA_H

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"

#include <optional>
#include <vector>

namespace mlir::attn {

/// The data of a constant tensor of static shape, row-major: every
/// element, or one for a splat. Points into the constant's attribute.
struct ConstantBytes {
  ArrayRef<char> raw;
  bool splat = false;
  int64_t elementBytes = 0;

  /// The bytes of element `i`.
  const char *at(int64_t i) const {
    return raw.data() + (splat ? 0 : i) * elementBytes;
  }

  /// Appends elements [begin, begin + count) to `out`.
  void append(std::vector<char> &out, int64_t begin, int64_t count) const;
};

/// The bytes of `value` (a dense or resource elements attribute) of type
/// `type`, static and of elements that are whole bytes (not booleans), read
/// in place; none otherwise.
std::optional<ConstantBytes> constantBytes(Attribute value,
                                           RankedTensorType type);
/// The bytes of `v` when it is such an attn.constant.
std::optional<ConstantBytes> constantBytes(Value v);

/// Elements of `type` holding `bytes`: a resource blob named after
/// `blobName` that takes `bytes` without a copy when large, as the importer
/// stores weights.
ElementsAttr makeElements(RankedTensorType type, std::vector<char> bytes,
                          StringRef blobName);
/// An attn.constant of those elements.
Value makeConstant(OpBuilder &b, Location loc, RankedTensorType type,
                   std::vector<char> bytes, StringRef blobName);

} // namespace mlir::attn

#endif // ATTNC_DIALECT_ATTN_IR_CONSTANTDATA_H
