//===- DataObject.h - Constant data as a relocatable object ------*- C++
//-*-===//
//
// Writes large constants (a model's weights) straight into an object file
// through LLVM: each blob read-only and 64-byte aligned, reached through a
// function of C linkage that returns its address. Emitting bytes this way
// costs a copy, not a pass through a code generator's IR per element.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_DATAOBJECT_H
#define ATTNC_TARGET_DATAOBJECT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::attn {

/// One constant of a data object.
struct DataBlob {
  /// The C function `const void *symbol(void)` that returns its address.
  std::string symbol;
  llvm::ArrayRef<char> bytes;
};

/// Writes `blobs` as a relocatable object for `triple` (position
/// independent) to `path`. Returns an empty string, or what failed.
std::string writeDataObject(llvm::StringRef triple,
                            llvm::ArrayRef<DataBlob> blobs,
                            llvm::StringRef path);

} // namespace mlir::attn

#endif // ATTNC_TARGET_DATAOBJECT_H
