//===- Tensors.cpp - ONNX tensors and value types as MLIR ones ---*- C++
//-*-===//
//
// Element types, the declared types of graph values, and TensorProtos
// (initializers, Constant nodes, tensor attributes) as ElementsAttrs. A
// tensor's shape and the length of its data are checked before ONNX's own
// helpers read it: they trust the dims.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/SwapByteOrder.h"

#include "onnx/defs/tensor_proto_util.h"

#include <exception>
#include <vector>

using namespace mlir;
using namespace mlir::attn::onnx_import;

namespace {
/// The tensor's type, after its element type, storage and extents are
/// checked.
FailureOr<RankedTensorType> checkedTensorType(Location loc,
                                              const onnx::TensorProto &tensor,
                                              const std::string &what,
                                              Type element) {
  if (!element) {
    emitError(loc) << what << " has unsupported element type "
                   << onnx::TensorProto::DataType_Name(
                          static_cast<onnx::TensorProto::DataType>(
                              tensor.data_type()));
    return failure();
  }
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    emitError(loc) << what << " keeps its data in an external file, "
                   << "which this version of attnc does not read";
    return failure();
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxExtent) {
      emitError(loc) << what << " has dimension " << d << " in its shape "
                     << formatDims(shape) << ": " << extentRule();
      return failure();
    }
    count *= d;
    if (count > kMaxExtent) {
      emitError(loc) << what << " of shape " << formatDims(shape)
                     << " has more than 2^31 - 1 elements, more than "
                        "the generated code can index";
      return failure();
    }
  }
  return RankedTensorType::get(shape, element);
}

/// Checks that the tensor holds as many values (or raw bytes) as its shape
/// says.
LogicalResult checkDataLength(Location loc, const onnx::TensorProto &tensor,
                              const std::string &what, RankedTensorType type) {
  int64_t count = type.getNumElements();
  int64_t width =
      std::max<int64_t>(1, type.getElementType().getIntOrFloatBitWidth() / 8);
  int64_t typedCount = -1;
  const char *typedField = nullptr;
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT:
    typedCount = tensor.float_data_size(), typedField = "float_data";
    break;
  case onnx::TensorProto::DOUBLE:
    typedCount = tensor.double_data_size(), typedField = "double_data";
    break;
  case onnx::TensorProto::INT64:
    typedCount = tensor.int64_data_size(), typedField = "int64_data";
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    typedCount = tensor.uint64_data_size(), typedField = "uint64_data";
    break;
  default:
    typedCount = tensor.int32_data_size(), typedField = "int32_data";
    break;
  }
  if (tensor.has_raw_data()) {
    if (static_cast<int64_t>(tensor.raw_data().size()) != count * width) {
      emitError(loc) << what << " holds " << tensor.raw_data().size()
                     << " bytes of raw_data, expected " << count * width
                     << " for shape " << formatDims(type.getShape());
      return failure();
    }
  } else if (typedCount != count) {
    emitError(loc) << what << " holds " << typedCount << " values in "
                   << typedField << ", expected " << count << " for shape "
                   << formatDims(type.getShape());
    return failure();
  }
  return success();
}

/// Appends the low `width` bytes of each entry of a widened typed field
/// (uint64_data, int32_data), little-endian.
template <typename Range>
void appendNarrowed(std::vector<char> &bytes, const Range &values,
                    int64_t width) {
  for (auto v : values) {
    uint64_t x = static_cast<uint64_t>(v);
    for (int64_t b = 0; b < width; ++b)
      bytes.push_back(static_cast<char>((x >> (8 * b)) & 0xff));
  }
}

/// The tensor's values as raw little-endian bytes in the layout MLIR uses.
FailureOr<std::vector<char>> tensorBytes(Location loc,
                                         const onnx::TensorProto &tensor,
                                         const std::string &what,
                                         RankedTensorType type) {
  std::vector<char> bytes;
  auto assign = [&](auto values) {
    using T = typename decltype(values)::value_type;
    const char *p = reinterpret_cast<const char *>(values.data());
    bytes.assign(p, p + values.size() * sizeof(T));
  };
  unsigned bits = type.getElementType().getIntOrFloatBitWidth();
  try {
    switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      assign(onnx::ParseData<float>(&tensor));
      return bytes;
    case onnx::TensorProto::DOUBLE:
      assign(onnx::ParseData<double>(&tensor));
      return bytes;
    case onnx::TensorProto::INT64:
      assign(onnx::ParseData<int64_t>(&tensor));
      return bytes;
    case onnx::TensorProto::INT32:
      assign(onnx::ParseData<int32_t>(&tensor));
      return bytes;
    default:
      break;
    }
  } catch (const std::exception &e) {
    emitError(loc) << what << ": " << e.what();
    return failure();
  }
  // Unsigned 32/64-bit types keep one element per uint64_data entry; 8- and
  // 16-bit types and bool one per int32_data entry.
  bool wide = tensor.data_type() == onnx::TensorProto::UINT32 ||
              tensor.data_type() == onnx::TensorProto::UINT64;
  int64_t width = wide ? bits / 8 : (bits <= 8 ? 1 : 2);
  if (tensor.has_raw_data())
    bytes.assign(tensor.raw_data().begin(), tensor.raw_data().end());
  else if (wide)
    appendNarrowed(bytes, tensor.uint64_data(), width);
  else
    appendNarrowed(bytes, tensor.int32_data(), width);
  int64_t expected = type.getNumElements() * width;
  if (static_cast<int64_t>(bytes.size()) != expected) {
    emitError(loc) << what << " holds " << bytes.size() << " bytes, expected "
                   << expected;
    return failure();
  }
  return bytes;
}
} // namespace

Type Importer::elementType(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return builder.getF32Type();
  case onnx::TensorProto::FLOAT16:
    return builder.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return builder.getBF16Type();
  case onnx::TensorProto::DOUBLE:
    return builder.getF64Type();
  case onnx::TensorProto::INT64:
    return builder.getI64Type();
  case onnx::TensorProto::INT32:
    return builder.getI32Type();
  case onnx::TensorProto::INT16:
    return builder.getI16Type();
  case onnx::TensorProto::INT8:
    return builder.getI8Type();
  case onnx::TensorProto::UINT64:
    return builder.getIntegerType(64, /*isSigned=*/false);
  case onnx::TensorProto::UINT32:
    return builder.getIntegerType(32, /*isSigned=*/false);
  case onnx::TensorProto::UINT16:
    return builder.getIntegerType(16, /*isSigned=*/false);
  case onnx::TensorProto::UINT8:
    return builder.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto::BOOL:
    return builder.getI1Type();
  default:
    return nullptr;
  }
}

FailureOr<RankedTensorType>
Importer::typeFromValueInfo(const onnx::ValueInfoProto &vi,
                            SmallVectorImpl<std::string> *dimParams) {
  if (!vi.has_type() || !vi.type().has_tensor_type())
    return failure();
  const auto &tensorType = vi.type().tensor_type();
  Type element = elementType(tensorType.elem_type());
  if (!element)
    return failure();
  if (!tensorType.has_shape())
    return failure();
  SmallVector<int64_t> shape;
  for (const auto &dim : tensorType.shape().dim()) {
    if (dim.has_dim_value()) {
      shape.push_back(dim.dim_value());
      if (dimParams)
        dimParams->push_back("");
    } else {
      shape.push_back(ShapedType::kDynamic);
      if (dimParams)
        dimParams->push_back(dim.has_dim_param() ? dim.dim_param() : "?");
    }
  }
  return RankedTensorType::get(shape, element);
}

FailureOr<ElementsAttr>
Importer::elementsFromTensor(const onnx::TensorProto &tensor,
                             const std::string &what, std::string *takeRaw) {
  FailureOr<RankedTensorType> type =
      checkedTensorType(fileLoc, tensor, what, elementType(tensor.data_type()));
  if (failed(type) || failed(checkDataLength(fileLoc, tensor, what, *type)))
    return failure();
  Type element = type->getElementType();

  // Raw little-endian data of whole-byte elements is the layout MLIR
  // stores: a weight takes it as it is, one copy of the model's bytes
  // fewer.
  unsigned bits = element.getIntOrFloatBitWidth();
  if (takeRaw && tensor.has_raw_data() && llvm::sys::IsLittleEndianHost &&
      bits >= 8 && bits % 8 == 0 &&
      static_cast<int64_t>(takeRaw->size()) > options.resourceThresholdBytes &&
      reinterpret_cast<uintptr_t>(takeRaw->data()) % alignof(double) == 0) {
    auto *owned = new std::string(std::move(*takeRaw));
    AsmResourceBlob blob(
        ArrayRef<char>(owned->data(), owned->size()), alignof(double),
        [owned](void *, size_t, size_t) { delete owned; },
        /*dataIsMutable=*/true);
    std::string blobName = "attn_weight_" + std::to_string(resourceCounter++);
    return cast<ElementsAttr>(
        DenseResourceElementsAttr::get(*type, blobName, std::move(blob)));
  }

  FailureOr<std::vector<char>> bytes =
      tensorBytes(fileLoc, tensor, what, *type);
  if (failed(bytes))
    return failure();
  if (element.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : *bytes)
      values.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(*type, values));
  }
  int64_t expected = type->getNumElements() * (bits / 8);
  if (static_cast<int64_t>(bytes->size()) != expected) {
    emitError(fileLoc) << what << " holds " << bytes->size()
                       << " bytes of data, expected " << expected
                       << " for shape " << *type;
    return failure();
  }
  if (static_cast<int64_t>(bytes->size()) > options.resourceThresholdBytes) {
    std::string blobName = "attn_weight_" + std::to_string(resourceCounter++);
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(bytes->data(), bytes->size()), alignof(double));
    return cast<ElementsAttr>(
        DenseResourceElementsAttr::get(*type, blobName, std::move(blob)));
  }
  return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(
      *type, ArrayRef<char>(bytes->data(), bytes->size())));
}
