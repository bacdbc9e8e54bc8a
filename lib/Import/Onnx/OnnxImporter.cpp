//===- OnnxImporter.cpp - ONNX models into the attn dialect ----*- C++ -*-===//
//
// The only place that sees protobuf and ONNX types. A model is parsed,
// checked for operators attnc cannot import (all of them are reported at
// once), validated by ONNX's checker, shape-inferred, and then walked node by
// node: each ONNX operator has one small handler in a table keyed by its
// domain and name, with the first opset it is valid from.
//
//===----------------------------------------------------------------------===//

#include "attnc/Import/Onnx/OnnxImporter.h"
#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "Schemas.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SwapByteOrder.h"

#include "onnx/checker.h"
#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"
#include "onnx/defs/tensor_proto_util.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <tuple>
#include <type_traits>
#include <utility>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// The default ONNX domain has two spellings.
std::string canonicalDomain(const std::string &domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

std::string displayDomain(const std::string &domain) {
  return domain.empty() ? "ai.onnx" : domain;
}

/// A name for a node in messages: its name, or its position and first output.
std::string nodeLabel(const onnx::NodeProto &node, int index) {
  if (!node.name().empty())
    return "'" + node.name() + "'";
  std::string label = "#" + std::to_string(index);
  if (node.output_size() > 0)
    label += " producing '" + node.output(0) + "'";
  return label;
}

/// The largest extent the generated code indexes: Halide's extents and
/// strides are 32-bit.
constexpr int64_t kMaxExtent = std::numeric_limits<int32_t>::max();

/// `[2, 3, 4]`.
std::string formatDims(ArrayRef<int64_t> dims) {
  std::string text = "[";
  for (auto [k, d] : llvm::enumerate(dims))
    text += (k ? ", " : "") +
            (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  return text + "]";
}

/// Why an extent is rejected.
const char *extentRule() {
  return "extents must lie in [0, 2^31 - 1] (the generated code indexes "
         "with 32-bit integers)";
}

class Importer;

/// Imports one ONNX node; reports its own errors and returns failure.
using Handler =
    std::function<LogicalResult(Importer &, const onnx::NodeProto &)>;

struct HandlerEntry {
  int64_t sinceOpset;
  Handler handler;
};

/// The operator table: (domain, op type) → handler.
const std::map<std::pair<std::string, std::string>, HandlerEntry> &handlers();

class Importer {
public:
  Importer(MLIRContext *ctx, StringRef bufferName,
           const OnnxImportOptions &options)
      : ctx(ctx), builder(ctx), bufferName(bufferName.str()), options(options),
        fileLoc(FileLineColLoc::get(ctx, bufferName, 0, 0)) {}

  OwningOpRef<ModuleOp> run(onnx::ModelProto &model);

  //===--------------------------------------------------------------------===//
  // Helpers for the handlers
  //===--------------------------------------------------------------------===//

  /// Emits an error about the current node.
  InFlightDiagnostic nodeError() {
    return emitError(fileLoc) << currentNode->op_type() << " node "
                              << nodeLabel(*currentNode, currentIndex)
                              << " (opset " << currentOpset << "): ";
  }

  /// Returns input `i` of the current node; null when absent.
  Value input(const onnx::NodeProto &node, int i) {
    if (i >= node.input_size() || node.input(i).empty())
      return nullptr;
    auto it = values.find(node.input(i));
    return it == values.end() ? nullptr : it->second;
  }

  /// Returns the inferred type of output `i` of the current node.
  FailureOr<RankedTensorType> outputType(const onnx::NodeProto &node, int i) {
    const std::string &name = node.output(i);
    auto it = valueTypes.find(name);
    if (it == valueTypes.end() || !it->second) {
      inferNode(node);
      it = valueTypes.find(name);
    }
    if (it == valueTypes.end() || !it->second) {
      nodeError() << "cannot infer the type and shape of output '" << name
                  << "'";
      return failure();
    }
    return it->second;
  }

  /// Runs ONNX shape inference on `node` alone, its inputs typed as imported
  /// (small constants with their values), and records its output types.
  /// Whole-model inference leaves an output untyped where an input's shape
  /// came from data it could not propagate (a Slice to a Shape-derived end).
  void inferNode(const onnx::NodeProto &node);
  /// The rank of `output` of an op whose shape depends on operand data
  /// (Slice, Reshape, Expand, Tile, ConstantOfShape, Range).
  std::optional<int64_t> dataDependentRank(const onnx::NodeProto &node,
                                           const std::string &output);

  /// Binds output `i` of the current node.
  void setOutput(const onnx::NodeProto &node, int i, Value value) {
    values[node.output(i)] = value;
  }

  /// The constant value behind `value`, if it is a dense constant.
  DenseElementsAttr constantOf(Value value) {
    if (!value)
      return nullptr;
    if (auto c = value.getDefiningOp<ConstantOp>())
      return dyn_cast<DenseElementsAttr>(c.getValue());
    return nullptr;
  }

  const onnx::AttributeProto *attribute(const onnx::NodeProto &node,
                                        StringRef name) {
    for (const auto &attr : node.attribute())
      if (attr.name() == name)
        return &attr;
    return nullptr;
  }

  int64_t intAttribute(const onnx::NodeProto &node, StringRef name,
                       int64_t defaultValue) {
    const onnx::AttributeProto *attr = attribute(node, name);
    return attr ? attr->i() : defaultValue;
  }

  /// Integer list attribute, or `defaultValue` when absent.
  SmallVector<int64_t> intsAttribute(const onnx::NodeProto &node,
                                     StringRef name,
                                     ArrayRef<int64_t> defaultValue = {}) {
    const onnx::AttributeProto *attr = attribute(node, name);
    if (!attr)
      return SmallVector<int64_t>(defaultValue);
    return SmallVector<int64_t>(attr->ints().begin(), attr->ints().end());
  }

  float floatAttribute(const onnx::NodeProto &node, StringRef name,
                       float defaultValue) {
    const onnx::AttributeProto *attr = attribute(node, name);
    return attr ? attr->f() : defaultValue;
  }

  std::string stringAttribute(const onnx::NodeProto &node, StringRef name,
                              StringRef defaultValue) {
    const onnx::AttributeProto *attr = attribute(node, name);
    return attr ? attr->s() : defaultValue.str();
  }

  /// The integers of a constant input; fails with an error naming `what`.
  FailureOr<SmallVector<int64_t>> constantInts(const onnx::NodeProto &node,
                                               int i, StringRef what) {
    DenseElementsAttr attr = constantOf(input(node, i));
    if (!attr || !isa<IntegerType>(attr.getElementType())) {
      nodeError() << "input '" << (i < node.input_size() ? node.input(i) : "")
                  << "' (" << what
                  << ") must be a constant integer tensor at compile time";
      return failure();
    }
    SmallVector<int64_t> values;
    for (const APInt &v : attr.getValues<APInt>())
      values.push_back(v.getSExtValue());
    return values;
  }

  /// Normalizes a possibly negative axis; fails naming the attribute.
  FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                   StringRef what = "axis") {
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      nodeError() << what << " " << axis << " is out of range for rank "
                  << rank;
      return failure();
    }
    return a;
  }

  /// An i64 1-D constant.
  Value i64Constant(ArrayRef<int64_t> values) {
    auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                      builder.getI64Type());
    return builder.create<ConstantOp>(currentLoc,
                                      DenseElementsAttr::get(type, values));
  }

  /// Fails unless output `i` of the current node is unused (absent).
  LogicalResult requireNoOutput(const onnx::NodeProto &node, int i,
                                StringRef what) {
    if (i < node.output_size() && !node.output(i).empty()) {
      nodeError() << "output " << i << " (" << what
                  << ") is not supported; attnc compiles for inference";
      return failure();
    }
    return success();
  }

  /// Converts an ONNX element type; null when attnc does not support it.
  Type elementType(int32_t onnxType);

  /// Builds a constant from a TensorProto. A large constant takes the bytes
  /// of `takeRaw` (the tensor's own raw_data, which it leaves empty) instead
  /// of copying them when they are already in the constant's layout.
  FailureOr<ElementsAttr> elementsFromTensor(const onnx::TensorProto &tensor,
                                             const std::string &what,
                                             std::string *takeRaw = nullptr);

  MLIRContext *ctx;
  OpBuilder builder;
  Location currentLoc = UnknownLoc::get(ctx);
  const onnx::NodeProto *currentNode = nullptr;
  int currentIndex = 0;
  int64_t currentOpset = 0;

private:
  FailureOr<RankedTensorType>
  typeFromValueInfo(const onnx::ValueInfoProto &vi,
                    SmallVectorImpl<std::string> *dimParams = nullptr);
  LogicalResult checkSupported(const onnx::ModelProto &model);

  std::string bufferName;
  OnnxImportOptions options;
  /// The model being imported (IR version and opset imports for inferNode).
  const onnx::ModelProto *model = nullptr;
  Location fileLoc;
  std::map<std::string, int64_t> opsets;
  llvm::StringMap<Value> values;
  llvm::StringMap<RankedTensorType> valueTypes;
  int resourceCounter = 0;
};

namespace {
/// The ONNX element type of an MLIR one; UNDEFINED for others.
int32_t onnxElementType(Type type) {
  if (type.isF32())
    return onnx::TensorProto::FLOAT;
  if (type.isF16())
    return onnx::TensorProto::FLOAT16;
  if (type.isBF16())
    return onnx::TensorProto::BFLOAT16;
  if (type.isF64())
    return onnx::TensorProto::DOUBLE;
  if (type.isInteger(1))
    return onnx::TensorProto::BOOL;
  if (type.isUnsignedInteger(8))
    return onnx::TensorProto::UINT8;
  if (type.isUnsignedInteger(16))
    return onnx::TensorProto::UINT16;
  if (type.isUnsignedInteger(32))
    return onnx::TensorProto::UINT32;
  if (type.isUnsignedInteger(64))
    return onnx::TensorProto::UINT64;
  if (type.isInteger(8))
    return onnx::TensorProto::INT8;
  if (type.isInteger(16))
    return onnx::TensorProto::INT16;
  if (type.isInteger(32))
    return onnx::TensorProto::INT32;
  if (type.isInteger(64))
    return onnx::TensorProto::INT64;
  return onnx::TensorProto::UNDEFINED;
}

/// Tensors up to this many elements carry their values into inferNode.
constexpr int64_t kMaxInferenceConstant = 1024;
} // namespace

void Importer::inferNode(const onnx::NodeProto &node) {
  if (!model)
    return;
  onnx::ModelProto single;
  single.set_ir_version(model->ir_version());
  *single.mutable_opset_import() = model->opset_import();
  onnx::GraphProto *graph = single.mutable_graph();
  graph->set_name("node");
  *graph->add_node() = node;
  llvm::StringSet<> seen;
  for (const std::string &name : node.input()) {
    if (name.empty() || !seen.insert(name).second)
      continue;
    Value value = values.lookup(name);
    if (!value)
      return;
    auto type = dyn_cast<RankedTensorType>(value.getType());
    int32_t elem = type ? onnxElementType(type.getElementType())
                        : onnx::TensorProto::UNDEFINED;
    if (elem == onnx::TensorProto::UNDEFINED)
      return;
    auto dense = dyn_cast_or_null<DenseElementsAttr>(constantOf(value));
    if (dense && type.getNumElements() <= kMaxInferenceConstant &&
        (elem == onnx::TensorProto::INT64 || elem == onnx::TensorProto::INT32 ||
         elem == onnx::TensorProto::FLOAT)) {
      onnx::TensorProto *t = graph->add_initializer();
      t->set_name(name);
      t->set_data_type(elem);
      for (int64_t d : type.getShape())
        t->add_dims(d);
      if (elem == onnx::TensorProto::FLOAT) {
        for (const APFloat &v : dense.getValues<APFloat>())
          t->add_float_data(v.convertToFloat());
      } else {
        for (const APInt &v : dense.getValues<APInt>()) {
          if (elem == onnx::TensorProto::INT64)
            t->add_int64_data(v.getSExtValue());
          else
            t->add_int32_data(static_cast<int32_t>(v.getSExtValue()));
        }
      }
      continue;
    }
    onnx::ValueInfoProto *vi = graph->add_input();
    vi->set_name(name);
    auto *tensorType = vi->mutable_type()->mutable_tensor_type();
    tensorType->set_elem_type(elem);
    auto *shape = tensorType->mutable_shape();
    for (int64_t d : type.getShape()) {
      auto *dim = shape->add_dim();
      if (!ShapedType::isDynamic(d))
        dim->set_dim_value(d);
    }
  }
  try {
    onnx::ShapeInferenceOptions inferenceOptions(/*check_type=*/false,
                                                 /*strict_mode=*/0,
                                                 /*data_prop=*/true);
    onnx::shape_inference::InferShapes(
        single, onnx::OpSchemaRegistry::Instance(), inferenceOptions);
  } catch (const std::exception &) {
    return;
  }
  for (const auto &vi : single.graph().value_info()) {
    if (auto t = typeFromValueInfo(vi); succeeded(t)) {
      valueTypes[vi.name()] = *t;
      continue;
    }
    // ONNX 1.12 gives only the element type when a shape operand is
    // computed; the rank still follows from the operands.
    Type element = elementType(vi.type().tensor_type().elem_type());
    std::optional<int64_t> rank = dataDependentRank(node, vi.name());
    if (element && rank)
      valueTypes[vi.name()] = RankedTensorType::get(
          SmallVector<int64_t>(*rank, ShapedType::kDynamic), element);
  }
}

std::optional<int64_t> Importer::dataDependentRank(const onnx::NodeProto &node,
                                                   const std::string &output) {
  if (node.output_size() < 1 || node.output(0) != output)
    return std::nullopt;
  auto rankOf = [&](int i) -> std::optional<int64_t> {
    Value v = input(node, i);
    auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
    if (!t)
      return std::nullopt;
    return t.getRank();
  };
  // The length of a 1-D shape operand.
  auto lengthOf = [&](int i) -> std::optional<int64_t> {
    Value v = input(node, i);
    auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
    if (!t || t.getRank() != 1 || t.isDynamicDim(0))
      return std::nullopt;
    return t.getDimSize(0);
  };
  const std::string &op = node.op_type();
  if (op == "Slice" || op == "Tile")
    return rankOf(0);
  if (op == "Reshape" || op == "ConstantOfShape")
    return lengthOf(op == "Reshape" ? 1 : 0);
  if (op == "Expand") {
    std::optional<int64_t> in = rankOf(0), target = lengthOf(1);
    if (!in || !target)
      return std::nullopt;
    return std::max(*in, *target);
  }
  if (op == "Range")
    return 1;
  return std::nullopt;
}

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
  Type element = elementType(tensor.data_type());
  if (!element) {
    emitError(fileLoc) << what << " has unsupported element type "
                       << onnx::TensorProto::DataType_Name(
                              static_cast<onnx::TensorProto::DataType>(
                                  tensor.data_type()));
    return failure();
  }
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    emitError(fileLoc) << what << " keeps its data in an external file, "
                       << "which this version of attnc does not read";
    return failure();
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxExtent) {
      emitError(fileLoc) << what << " has dimension " << d << " in its shape "
                         << formatDims(shape) << ": " << extentRule();
      return failure();
    }
    count *= d;
    if (count > kMaxExtent) {
      emitError(fileLoc) << what << " of shape " << formatDims(shape)
                         << " has more than 2^31 - 1 elements, more than "
                            "the generated code can index";
      return failure();
    }
  }
  auto type = RankedTensorType::get(shape, element);

  // The data must be as long as the shape says before ONNX's helpers read
  // it (they trust the dims).
  int64_t width = std::max<int64_t>(1, element.getIntOrFloatBitWidth() / 8);
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
      emitError(fileLoc) << what << " holds " << tensor.raw_data().size()
                         << " bytes of raw_data, expected " << count * width
                         << " for shape " << formatDims(shape);
      return failure();
    }
  } else if (typedCount != count) {
    emitError(fileLoc) << what << " holds " << typedCount << " values in "
                       << typedField << ", expected " << count << " for shape "
                       << formatDims(shape);
    return failure();
  }

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
        DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
  }

  // Collect the raw little-endian bytes in the layout MLIR uses.
  std::vector<char> bytes;
  auto append = [&](auto values) {
    using T = typename decltype(values)::value_type;
    const char *p = reinterpret_cast<const char *>(values.data());
    bytes.assign(p, p + values.size() * sizeof(T));
  };
  int32_t dt = tensor.data_type();
  try {
    switch (dt) {
    case onnx::TensorProto::FLOAT:
      append(onnx::ParseData<float>(&tensor));
      break;
    case onnx::TensorProto::DOUBLE:
      append(onnx::ParseData<double>(&tensor));
      break;
    case onnx::TensorProto::INT64:
      append(onnx::ParseData<int64_t>(&tensor));
      break;
    case onnx::TensorProto::INT32:
      append(onnx::ParseData<int32_t>(&tensor));
      break;
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64: {
      // raw_data, or uint64_data holding one element per entry.
      int64_t width = element.getIntOrFloatBitWidth() / 8;
      if (tensor.has_raw_data()) {
        bytes.assign(tensor.raw_data().begin(), tensor.raw_data().end());
      } else {
        for (uint64_t v : tensor.uint64_data())
          for (int64_t b = 0; b < width; ++b)
            bytes.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
      }
      if (static_cast<int64_t>(bytes.size()) != count * width) {
        emitError(fileLoc) << what << " holds " << bytes.size()
                           << " bytes, expected " << count * width;
        return failure();
      }
      break;
    }
    default: {
      // 8- and 16-bit types and bool: raw_data, or int32_data holding one
      // element per entry.
      int64_t width = element.getIntOrFloatBitWidth() <= 8 ? 1 : 2;
      if (tensor.has_raw_data()) {
        bytes.assign(tensor.raw_data().begin(), tensor.raw_data().end());
      } else {
        for (int32_t v : tensor.int32_data()) {
          uint16_t x = static_cast<uint16_t>(v);
          bytes.push_back(static_cast<char>(x & 0xff));
          if (width == 2)
            bytes.push_back(static_cast<char>(x >> 8));
        }
      }
      if (static_cast<int64_t>(bytes.size()) != count * width) {
        emitError(fileLoc) << what << " holds " << bytes.size()
                           << " bytes, expected " << count * width;
        return failure();
      }
      break;
    }
    }
  } catch (const std::exception &e) {
    emitError(fileLoc) << what << ": " << e.what();
    return failure();
  }

  if (element.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : bytes)
      bits.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, bits));
  }
  int64_t bytesPerElement = element.getIntOrFloatBitWidth() / 8;
  if (static_cast<int64_t>(bytes.size()) != count * bytesPerElement) {
    emitError(fileLoc) << what << " holds " << bytes.size()
                       << " bytes of data, expected " << count * bytesPerElement
                       << " for shape " << type;
    return failure();
  }
  if (static_cast<int64_t>(bytes.size()) > options.resourceThresholdBytes) {
    std::string blobName = "attn_weight_" + std::to_string(resourceCounter++);
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(bytes.data(), bytes.size()), alignof(double));
    return cast<ElementsAttr>(
        DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
  }
  return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(bytes.data(), bytes.size())));
}

LogicalResult Importer::checkSupported(const onnx::ModelProto &model) {
  std::string list;
  int unsupported = 0;
  const auto &table = handlers();
  for (int i = 0; i < model.graph().node_size(); ++i) {
    const onnx::NodeProto &node = model.graph().node(i);
    std::string domain = canonicalDomain(node.domain());
    int64_t opset = opsets.count(domain) ? opsets[domain] : -1;
    auto it = table.find({domain, node.op_type()});
    std::string why;
    if (it == table.end())
      why = "no importer for this operator";
    else if (opset < it->second.sinceOpset)
      why = "supported from opset " + std::to_string(it->second.sinceOpset);
    else
      continue;
    ++unsupported;
    list += "\n  " + node.op_type() + " (domain '" + displayDomain(domain) +
            "', opset " +
            (opset < 0 ? std::string("not imported") : std::to_string(opset)) +
            ") at node " + nodeLabel(node, i) + ": " + why;
  }
  if (!unsupported)
    return success();
  emitError(fileLoc) << "unsupported ONNX operator"
                     << (unsupported > 1 ? "s" : "") << " in the model ("
                     << unsupported << " node" << (unsupported > 1 ? "s" : "")
                     << "):" << list;
  return failure();
}

OwningOpRef<ModuleOp> Importer::run(onnx::ModelProto &model) {
  this->model = &model;
  for (const auto &opset : model.opset_import())
    opsets[canonicalDomain(opset.domain())] = opset.version();
  if (failed(checkSupported(model)))
    return nullptr;
  if (!opsets.count("")) {
    emitError(fileLoc) << "the model imports no opset of the default ONNX "
                          "domain";
    return nullptr;
  }
  // Opsets past the newest ONNX release attnc knows are refused; those past
  // the schemas attnc was written against are read with the meaning their
  // operators have there, which a warning says.
  for (auto [domain, schemas, newest] :
       {std::tuple<std::string, int64_t, int64_t>(
            "", onnx_import::kMaxDefaultOpset, onnx_import::kNewestOpset),
        std::tuple<std::string, int64_t, int64_t>("com.microsoft", 1, 1)}) {
    auto it = opsets.find(domain);
    if (it == opsets.end())
      continue;
    if (it->second > newest || it->second < 1) {
      emitError(fileLoc) << "the model imports opset " << it->second
                         << " of domain '" << displayDomain(domain)
                         << "', which attnc does not know (it knows opsets 1 "
                            "to "
                         << newest << ")";
      return nullptr;
    }
    if (it->second > schemas)
      emitWarning(fileLoc) << "the model imports opset " << it->second
                           << " of domain '" << displayDomain(domain)
                           << "'; attnc reads its operators as opset "
                           << schemas
                           << " defines them (operators changed since are "
                              "not checked)";
  }
  if (model.graph().output_size() == 0) {
    emitError(fileLoc) << "the graph has no outputs: there is nothing to "
                          "compute";
    return nullptr;
  }
  // --input-shape: pinned dimensions replace the model's.
  for (const auto &[name, dims] : options.inputShapes) {
    onnx::ValueInfoProto *input = nullptr;
    std::string names;
    for (auto &vi : *model.mutable_graph()->mutable_input()) {
      names += (names.empty() ? "'" : ", '") + vi.name() + "'";
      if (vi.name() == name)
        input = &vi;
    }
    if (!input) {
      emitError(fileLoc) << "--input-shape names '" << name
                         << "', which is not a graph input (inputs: " << names
                         << ")";
      return nullptr;
    }
    auto *shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != static_cast<int>(dims.size())) {
      emitError(fileLoc) << "--input-shape gives " << dims.size()
                         << " dimensions for input '" << name << "' of rank "
                         << shape->dim_size();
      return nullptr;
    }
    for (int64_t d : dims)
      if (d < 0 || d > kMaxExtent) {
        emitError(fileLoc) << "--input-shape gives input '" << name
                           << "' the extent " << d << ": " << extentRule();
        return nullptr;
      }
    // An input that is also an initializer (older exporters list weights
    // as inputs) has the initializer's shape.
    for (const auto &init : model.graph().initializer())
      if (init.name() == name &&
          !llvm::equal(init.dims(), ArrayRef<int64_t>(dims))) {
        emitError(fileLoc) << "--input-shape pins input '" << name << "' to "
                           << formatDims(dims) << ", but '" << name
                           << "' is also an initializer, of shape "
                           << formatDims(SmallVector<int64_t>(
                                  init.dims().begin(), init.dims().end()));
        return nullptr;
      }
    for (auto [k, d] : llvm::enumerate(dims)) {
      shape->mutable_dim(k)->clear_dim_param();
      shape->mutable_dim(k)->set_dim_value(d);
    }
  }
  // Declared extents the generated code could not index.
  for (const auto *list : {&model.graph().input(), &model.graph().output()})
    for (const auto &vi : *list) {
      if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
        continue;
      for (const auto &d : vi.type().tensor_type().shape().dim()) {
        if (d.has_dim_value() &&
            (d.dim_value() < 0 || d.dim_value() > kMaxExtent)) {
          emitError(fileLoc)
              << "graph "
              << (list == &model.graph().input() ? "input" : "output") << " '"
              << vi.name() << "' has extent " << d.dim_value() << ": "
              << extentRule();
          return nullptr;
        }
      }
    }

  // The linked ONNX checks IR versions up to its own; newer models use no
  // IR feature attnc reads, so they are checked as that version.
  if (model.ir_version() > onnx::IR_VERSION)
    model.set_ir_version(onnx::IR_VERSION);

  onnx_import::registerAttncSchemas();
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    emitError(fileLoc) << "the ONNX checker rejects the model: " << e.what();
    return nullptr;
  }
  try {
    onnx::ShapeInferenceOptions inferenceOptions(/*check_type=*/true,
                                                 /*strict_mode=*/1,
                                                 /*data_prop=*/true);
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), inferenceOptions);
  } catch (const std::exception &e) {
    emitError(fileLoc) << "ONNX shape inference failed: " << e.what();
    return nullptr;
  }

  const onnx::GraphProto &graph = model.graph();
  for (const auto &vi : graph.value_info())
    if (auto t = typeFromValueInfo(vi); succeeded(t))
      valueTypes[vi.name()] = *t;
  for (const auto &vi : graph.output())
    if (auto t = typeFromValueInfo(vi); succeeded(t))
      valueTypes[vi.name()] = *t;

  auto module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module.getBody());

  // Initializers become constants (some models also list them as inputs).
  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &init : graph.initializer())
    initializers[init.name()] = &init;

  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  SmallVector<SmallVector<std::string>> argDims;
  for (const auto &vi : graph.input()) {
    if (initializers.count(vi.name()))
      continue;
    SmallVector<std::string> dims;
    FailureOr<RankedTensorType> type = typeFromValueInfo(vi, &dims);
    if (failed(type)) {
      emitError(fileLoc) << "graph input '" << vi.name()
                         << "' is not a tensor of a supported element type "
                            "with a known rank";
      module.erase();
      return nullptr;
    }
    argTypes.push_back(*type);
    args.push_back(&vi);
    argDims.push_back(dims);
  }
  SmallVector<Type> resultTypes;
  SmallVector<SmallVector<std::string>> resultDims;
  for (const auto &vi : graph.output()) {
    SmallVector<std::string> dims;
    FailureOr<RankedTensorType> type = typeFromValueInfo(vi, &dims);
    if (failed(type)) {
      emitError(fileLoc) << "graph output '" << vi.name()
                         << "' has no known tensor type and rank";
      module.erase();
      return nullptr;
    }
    resultTypes.push_back(*type);
    resultDims.push_back(dims);
  }

  std::string fnName = options.functionName;
  if (fnName.empty())
    fnName = graph.name().empty() ? "main" : toCIdentifier(graph.name());
  auto func = builder.create<func::FuncOp>(
      fileLoc, fnName, builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, vi] : llvm::enumerate(args)) {
    func.setArgAttr(i, "attn.name", builder.getStringAttr(vi->name()));
    if (llvm::any_of(argDims[i], [](auto &d) { return !d.empty(); })) {
      SmallVector<StringRef> dims(argDims[i].begin(), argDims[i].end());
      func.setArgAttr(i, "attn.dims", builder.getStrArrayAttr(dims));
    }
  }
  for (auto [i, vi] : llvm::enumerate(graph.output())) {
    func.setResultAttr(i, "attn.name", builder.getStringAttr(vi.name()));
    if (llvm::any_of(resultDims[i], [](auto &d) { return !d.empty(); })) {
      SmallVector<StringRef> dims(resultDims[i].begin(), resultDims[i].end());
      func.setResultAttr(i, "attn.dims", builder.getStrArrayAttr(dims));
    }
  }

  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  for (auto [i, vi] : llvm::enumerate(args))
    values[vi->name()] = body->getArgument(i);

  // The constants take the initializers' bytes: nothing reads them after.
  for (onnx::TensorProto &init :
       *model.mutable_graph()->mutable_initializer()) {
    if (values.count(init.name()))
      continue;
    FailureOr<ElementsAttr> attr = elementsFromTensor(
        init, "initializer '" + init.name() + "'",
        init.has_raw_data() ? init.mutable_raw_data() : nullptr);
    if (failed(attr)) {
      module.erase();
      return nullptr;
    }
    Location loc = NameLoc::get(builder.getStringAttr(init.name()), fileLoc);
    values[init.name()] = builder.create<ConstantOp>(loc, *attr);
  }

  const auto &table = handlers();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    std::string domain = canonicalDomain(node.domain());
    currentNode = &node;
    currentIndex = i;
    currentOpset = opsets[domain];
    std::string label = node.name().empty()
                            ? node.op_type() + "#" + std::to_string(i)
                            : node.name();
    currentLoc = NameLoc::get(builder.getStringAttr(label), fileLoc);
    for (int j = 0; j < node.input_size(); ++j)
      if (!node.input(j).empty() && !values.count(node.input(j))) {
        nodeError() << "input '" << node.input(j)
                    << "' is not produced by any earlier node";
        module.erase();
        return nullptr;
      }
    const HandlerEntry &entry = table.at({domain, node.op_type()});
    if (failed(entry.handler(*this, node))) {
      module.erase();
      return nullptr;
    }
    // Shapes computed from constants (Expand, Range, ConstantOfShape to
    // 2^40) must still be indexable.
    for (const std::string &name : node.output()) {
      Value v = values.lookup(name);
      auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
      if (!type)
        continue;
      int64_t elements = 1;
      for (int64_t d : type.getShape()) {
        if (ShapedType::isDynamic(d))
          continue;
        if (d < 0 || d > kMaxExtent ||
            (elements *= std::max<int64_t>(d, 1)) > kMaxExtent) {
          nodeError() << "output '" << name << "' would have shape "
                      << formatDims(type.getShape()) << ": " << extentRule()
                      << ", and at most 2^31 - 1 elements";
          module.erase();
          return nullptr;
        }
      }
    }
  }

  SmallVector<Value> results;
  for (const auto &vi : graph.output()) {
    auto it = values.find(vi.name());
    if (it == values.end()) {
      emitError(fileLoc) << "graph output '" << vi.name()
                         << "' is not produced by any node";
      module.erase();
      return nullptr;
    }
    results.push_back(it->second);
  }
  // Where ONNX's inference lost an extent the graph declares, the function
  // returns what the ops compute; the declared extent must not contradict it.
  SmallVector<Type> returnTypes(func.getFunctionType().getResults());
  for (auto [i, v] : llvm::enumerate(results)) {
    auto have = cast<RankedTensorType>(v.getType());
    auto declared = cast<RankedTensorType>(returnTypes[i]);

    if (have == declared)
      continue;
    if (failed(verifyCompatibleShape(have, declared)) ||
        have.getElementType() != declared.getElementType()) {
      emitError(fileLoc) << "graph output '" << graph.output(i).name()
                         << "' is declared " << declared
                         << " but its producer computes " << have;
      module.erase();
      return nullptr;
    }
    returnTypes[i] = have;
  }
  func.setFunctionType(
      builder.getFunctionType(func.getFunctionType().getInputs(), returnTypes));
  builder.create<func::ReturnOp>(fileLoc, results);

  if (failed(verify(module))) {
    module.erase();
    return nullptr;
  }
  return module;
}

//===----------------------------------------------------------------------===//
// Operator handlers
//===----------------------------------------------------------------------===//

/// Fails, naming both shapes, unless inputs 0 and 1 broadcast.
LogicalResult checkBroadcast(Importer &im, const onnx::NodeProto &node) {
  auto lt = cast<RankedTensorType>(im.input(node, 0).getType());
  auto rt = cast<RankedTensorType>(im.input(node, 1).getType());
  if (succeeded(broadcastShapes(lt.getShape(), rt.getShape())))
    return success();
  im.nodeError() << "cannot broadcast input shapes " << lt << " and " << rt;
  return failure();
}

template <typename OpT>
LogicalResult importBinary(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type) || failed(checkBroadcast(im, node)))
    return failure();
  auto op = im.builder.create<OpT>(im.currentLoc, *type, im.input(node, 0),
                                   im.input(node, 1), nullptr);
  im.setOutput(node, 0, op);
  return success();
}

LogicalResult importMatMul(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value lhs = im.input(node, 0), rhs = im.input(node, 1);
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  if (lt.getRank() == 0 || rt.getRank() == 0) {
    im.nodeError() << "scalar operands are not supported (got " << lt << " and "
                   << rt << ")";
    return failure();
  }
  if (!isa<FloatType>(lt.getElementType())) {
    im.nodeError() << "integer MatMul is not supported (element type "
                   << lt.getElementType() << ")";
    return failure();
  }
  // numpy's 1-D promotion: a 1-D left operand is a row [1, K], a 1-D right
  // operand a column [K, 1]; the added axis is dropped from the result.
  if (lt.getRank() == 1 || rt.getRank() == 1) {
    auto expand = [&](Value x, int64_t axis) -> Value {
      auto t = cast<RankedTensorType>(x.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape.insert(shape.begin() + axis, 1);
      return im.builder.create<ExpandDimsOp>(
          im.currentLoc, RankedTensorType::get(shape, t.getElementType()), x,
          im.builder.getDenseI64ArrayAttr({axis}), false, nullptr);
    };
    bool rowLhs = lt.getRank() == 1, columnRhs = rt.getRank() == 1;
    if (rowLhs)
      lhs = expand(lhs, 0);
    if (columnRhs)
      rhs = expand(rhs, 1);
    SmallVector<int64_t> shape(type->getShape());
    SmallVector<int64_t> dropped;
    if (rowLhs) {
      dropped.push_back(shape.size() - (columnRhs ? 0 : 1));
      shape.insert(shape.end() - (columnRhs ? 0 : 1), 1);
    }
    if (columnRhs) {
      dropped.push_back(shape.size());
      shape.push_back(1);
    }
    Value product = im.builder.create<MatMulOp>(
        im.currentLoc, RankedTensorType::get(shape, type->getElementType()),
        lhs, rhs, nullptr);
    llvm::sort(dropped);
    im.setOutput(node, 0,
                 im.builder.create<ExpandDimsOp>(
                     im.currentLoc, *type, product,
                     im.builder.getDenseI64ArrayAttr(dropped), true, nullptr));
    return success();
  }
  im.setOutput(
      node, 0,
      im.builder.create<MatMulOp>(im.currentLoc, *type, lhs, rhs, nullptr));
  return success();
}

LogicalResult importTranspose(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> perm;
  if (const auto *attr = im.attribute(node, "perm"))
    perm.assign(attr->ints().begin(), attr->ints().end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  im.setOutput(node, 0,
               im.builder.create<TransposeOp>(
                   im.currentLoc, *type, x,
                   im.builder.getDenseI64ArrayAttr(perm), nullptr));
  return success();
}

template <typename OpT, size_t... I>
Value createFromInputs(Importer &im, const onnx::NodeProto &node, Type type,
                       std::index_sequence<I...>) {
  return im.builder.create<OpT>(
      im.currentLoc, type, im.input(node, static_cast<int>(I))..., nullptr);
}

/// Ops whose operands are the node's first `N` inputs, in order, with no
/// attributes (Sqrt, Cast, Where, Expand, Range...).
template <typename OpT, int N = 1>
LogicalResult importDirect(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(
      node, 0,
      createFromInputs<OpT>(im, node, *type, std::make_index_sequence<N>()));
  return success();
}

LogicalResult importConstant(Importer &im, const onnx::NodeProto &node) {
  if (node.attribute_size() != 1) {
    im.nodeError() << "expects exactly one value attribute";
    return failure();
  }
  const onnx::AttributeProto &attr = node.attribute(0);
  OpBuilder &b = im.builder;
  ElementsAttr value;
  if (attr.name() == "value") {
    FailureOr<ElementsAttr> elements =
        im.elementsFromTensor(attr.t(), "Constant node '" + node.name() + "'");
    if (failed(elements))
      return failure();
    value = *elements;
  } else if (attr.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   attr.f());
  } else if (attr.name() == "value_floats") {
    SmallVector<float> v(attr.floats().begin(), attr.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getF32Type()),
        ArrayRef<float>(v));
  } else if (attr.name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   static_cast<int64_t>(attr.i()));
  } else if (attr.name() == "value_ints") {
    SmallVector<int64_t> v(attr.ints().begin(), attr.ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    im.nodeError() << "attribute '" << attr.name()
                   << "' is not supported (supported: value, value_float, "
                      "value_floats, value_int, value_ints)";
    return failure();
  }
  im.setOutput(node, 0, b.create<ConstantOp>(im.currentLoc, value));
  return success();
}

/// Element-wise ops with one input, and ops that are the identity at
/// inference (Identity, Dropout).
LogicalResult importIdentity(Importer &im, const onnx::NodeProto &node) {
  Value x = im.input(node, 0);
  if (node.op_type() == "Dropout") {
    if (im.currentOpset < 7 && im.intAttribute(node, "is_test", 0) == 0) {
      im.nodeError() << "attribute 'is_test' = 0 asks for training-mode "
                        "dropout; attnc compiles for inference";
      return failure();
    }
    if (Value training = im.input(node, 2)) {
      DenseElementsAttr mode = im.constantOf(training);
      if (!mode || mode.getSplatValue<bool>()) {
        im.nodeError() << "input 'training_mode' must be a constant false; "
                          "attnc compiles for inference";
        return failure();
      }
    }
    // At inference every element is kept: the mask is all true.
    if (node.output_size() > 1 && !node.output(1).empty()) {
      FailureOr<RankedTensorType> maskType = im.outputType(node, 1);
      if (failed(maskType))
        return failure();
      auto shapeType =
          RankedTensorType::get({maskType->getRank()}, im.builder.getI64Type());
      Value shape = im.builder.create<ShapeOp>(
          im.currentLoc, shapeType, x, im.builder.getI64IntegerAttr(0),
          im.builder.getI64IntegerAttr(maskType->getRank()), nullptr);
      auto one = DenseElementsAttr::get(
          RankedTensorType::get({}, im.builder.getI1Type()), true);
      im.setOutput(node, 1,
                   im.builder.create<ConstantOfShapeOp>(
                       im.currentLoc, *maskType, shape, one, nullptr));
    }
  }
  im.setOutput(node, 0, x);
  return success();
}

/// Variadic Max/Min/Sum: a chain of binary ops.
template <typename OpT>
LogicalResult importVariadic(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value acc = im.input(node, 0);
  for (int i = 1; i < node.input_size(); ++i) {
    Value rhs = im.input(node, i);
    auto lt = cast<RankedTensorType>(acc.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    FailureOr<SmallVector<int64_t>> shape =
        broadcastShapes(lt.getShape(), rt.getShape());
    if (failed(shape)) {
      im.nodeError() << "cannot broadcast input shapes " << lt << " and " << rt;
      return failure();
    }
    auto partial = i + 1 == node.input_size()
                       ? *type
                       : RankedTensorType::get(*shape, type->getElementType());
    acc = im.builder.create<OpT>(im.currentLoc, partial, acc, rhs, nullptr);
  }
  if (acc.getType() != *type)
    acc = im.builder.create<ExpandOp>(
        im.currentLoc, *type, acc, im.i64Constant(type->getShape()), nullptr);
  im.setOutput(node, 0, acc);
  return success();
}

/// LessOrEqual and GreaterOrEqual: the negation of the strict comparison.
template <typename OpT>
LogicalResult importNegatedCompare(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value strict = im.builder.create<OpT>(im.currentLoc, *type, im.input(node, 0),
                                        im.input(node, 1), nullptr);
  im.setOutput(node, 0,
               im.builder.create<NotOp>(im.currentLoc, *type, strict, nullptr));
  return success();
}

LogicalResult importGelu(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  std::string approximate = im.stringAttribute(node, "approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    im.nodeError() << "attribute 'approximate' = '" << approximate
                   << "' is not supported (supported: none, tanh)";
    return failure();
  }
  Value x = im.input(node, 0);
  // com.microsoft BiasGelu / FastGelu take a bias added first.
  if (Value bias = im.input(node, 1))
    x = im.builder.create<AddOp>(im.currentLoc, *type, x, bias, nullptr);
  if (node.op_type() == "FastGelu")
    approximate = "tanh";
  im.setOutput(node, 0,
               im.builder.create<GeluOp>(im.currentLoc, *type, x,
                                         im.builder.getStringAttr(approximate),
                                         nullptr));
  return success();
}

LogicalResult importClip(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  Value lo = im.input(node, 1), hi = im.input(node, 2);
  auto scalarType = RankedTensorType::get({}, type->getElementType());
  auto scalar = [&](float v) -> Value {
    return im.builder.create<ConstantOp>(im.currentLoc,
                                         DenseElementsAttr::get(scalarType, v));
  };
  if (im.currentOpset < 11) {
    if (im.attribute(node, "min"))
      lo = scalar(im.floatAttribute(node, "min", 0));
    if (im.attribute(node, "max"))
      hi = scalar(im.floatAttribute(node, "max", 0));
  }
  if (lo)
    x = im.builder.create<MaxOp>(im.currentLoc, *type, x, lo, nullptr);
  if (hi)
    x = im.builder.create<MinOp>(im.currentLoc, *type, x, hi, nullptr);
  im.setOutput(node, 0, x);
  return success();
}

LogicalResult importGemm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  OpBuilder &b = im.builder;
  Value a = im.input(node, 0), bm = im.input(node, 1), c = im.input(node, 2);
  auto transposed = [&](Value v) -> Value {
    auto t = cast<RankedTensorType>(v.getType());
    auto tt = RankedTensorType::get({t.getDimSize(1), t.getDimSize(0)},
                                    t.getElementType());
    return b.create<TransposeOp>(im.currentLoc, tt, v,
                                 b.getDenseI64ArrayAttr({1, 0}), nullptr);
  };
  if (im.intAttribute(node, "transA", 0))
    a = transposed(a);
  if (im.intAttribute(node, "transB", 0))
    bm = transposed(bm);
  Value y = b.create<MatMulOp>(im.currentLoc, *type, a, bm, nullptr);
  auto scalarType = RankedTensorType::get({}, type->getElementType());
  float alpha = im.floatAttribute(node, "alpha", 1.0f);
  float beta = im.floatAttribute(node, "beta", 1.0f);
  if (alpha != 1.0f)
    y = b.create<MulOp>(
        im.currentLoc, *type, y,
        b.create<ConstantOp>(im.currentLoc,
                             DenseElementsAttr::get(scalarType, alpha)),
        nullptr);
  if (c) {
    if (beta != 1.0f) {
      auto ct = cast<RankedTensorType>(c.getType());
      c = b.create<MulOp>(
          im.currentLoc, ct, c,
          b.create<ConstantOp>(
              im.currentLoc,
              DenseElementsAttr::get(
                  RankedTensorType::get({}, ct.getElementType()), beta)),
          nullptr);
    }
    y = b.create<AddOp>(im.currentLoc, *type, y, c, nullptr);
  }
  im.setOutput(node, 0, y);
  return success();
}

template <typename OpT>
LogicalResult importSoftmaxLike(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  int64_t axis = im.intAttribute(node, "axis", im.currentOpset >= 13 ? -1 : 1);
  FailureOr<int64_t> normalized =
      im.normalizeAxis(axis, rank, "attribute 'axis'");
  if (failed(normalized))
    return failure();
  // Before opset 13, Softmax flattened the axes from `axis` on; that is the
  // same as the opset-13 semantics only over the last axis.
  if (im.currentOpset < 13 && *normalized != rank - 1) {
    im.nodeError() << "attribute 'axis' = " << axis
                   << " flattens several axes (opset < 13 semantics); only "
                      "the last axis is supported before opset 13";
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<OpT>(im.currentLoc, *type, im.input(node, 0),
                                      im.builder.getI64IntegerAttr(axis),
                                      nullptr));
  return success();
}

LogicalResult importReduce(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  StringRef op = node.op_type();
  std::string kind = op == "ReduceMean"  ? "mean"
                     : op == "ReduceSum" ? "sum"
                     : op == "ReduceMax" ? "max"
                     : op == "ReduceMin" ? "min"
                                         : "prod";
  // Axes are an input from opset 13 (ReduceSum) and 18 (the others).
  bool axesInput =
      (op == "ReduceSum" && im.currentOpset >= 13) || im.currentOpset >= 18;
  SmallVector<int64_t> axes;
  if (axesInput) {
    if (im.input(node, 1)) {
      FailureOr<SmallVector<int64_t>> a = im.constantInts(node, 1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else {
    axes = im.intsAttribute(node, "axes");
  }
  if (axes.empty()) {
    if (im.intAttribute(node, "noop_with_empty_axes", 0)) {
      im.setOutput(node, 0, x);
      return success();
    }
    for (int64_t k = 0; k < rank; ++k)
      axes.push_back(k);
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = im.normalizeAxis(a, rank, "reduced axis");
    if (failed(n))
      return failure();
    a = *n;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  bool keep = im.intAttribute(node, "keepdims", 1) != 0;
  im.setOutput(node, 0,
               im.builder.create<ReduceOp>(
                   im.currentLoc, *type, x, im.builder.getStringAttr(kind),
                   im.builder.getDenseI64ArrayAttr(axes),
                   im.builder.getBoolAttr(keep), nullptr));
  return success();
}

LogicalResult importArgMax(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", 0),
                                             rank, "attribute 'axis'");
  if (failed(axis))
    return failure();
  auto op = im.builder.create<ArgMaxOp>(
      im.currentLoc, *type, x, im.builder.getI64IntegerAttr(*axis),
      im.builder.getBoolAttr(im.intAttribute(node, "keepdims", 1) != 0),
      im.intAttribute(node, "select_last_index", 0) != 0
          ? im.builder.getUnitAttr()
          : nullptr,
      nullptr);
  im.setOutput(node, 0, op);
  return success();
}

LogicalResult importLayerNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  bool rms = node.op_type() == "RMSNormalization" ||
             node.op_type() == "SimplifiedLayerNormalization";
  Value x = im.input(node, 0);
  FailureOr<int64_t> axis = im.normalizeAxis(
      im.intAttribute(node, "axis", -1), type->getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  float eps = im.floatAttribute(node, "epsilon", 1e-5f);
  // The optional statistics outputs: mean and 1/sqrt(var + eps) with the
  // normalized axes kept as 1 (LayerNormalization only).
  bool wantsMean = node.output_size() > 1 && !node.output(1).empty();
  bool wantsInvStd = node.output_size() > 2 && !node.output(2).empty();
  if (rms && (wantsMean || wantsInvStd)) {
    im.nodeError() << "the inverse RMS output is not supported";
    return failure();
  }
  if (wantsMean || wantsInvStd) {
    OpBuilder &b = im.builder;
    FailureOr<RankedTensorType> statsType =
        im.outputType(node, wantsMean ? 1 : 2);
    if (failed(statsType))
      return failure();
    auto xType = cast<RankedTensorType>(x.getType());
    auto statType =
        RankedTensorType::get(statsType->getShape(), xType.getElementType());
    SmallVector<int64_t> axes;
    for (int64_t k = *axis; k < xType.getRank(); ++k)
      axes.push_back(k);
    auto reduceMean = [&](Value v) -> Value {
      return b.create<ReduceOp>(
          im.currentLoc, statType, v, b.getStringAttr("mean"),
          b.getDenseI64ArrayAttr(axes), b.getBoolAttr(true), nullptr);
    };
    Value mean = reduceMean(x);
    Value centered = b.create<SubOp>(im.currentLoc, xType, x, mean, nullptr);
    Value var = reduceMean(
        b.create<MulOp>(im.currentLoc, xType, centered, centered, nullptr));
    Value epsValue = b.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get({}, xType.getElementType()), eps));
    Value sum =
        b.create<AddOp>(im.currentLoc, statType, var, epsValue, nullptr);
    Value invStd = b.create<ReciprocalOp>(
        im.currentLoc, statType,
        b.create<SqrtOp>(im.currentLoc, statType, sum, nullptr), nullptr);
    auto toOutput = [&](Value v, int i) -> LogicalResult {
      FailureOr<RankedTensorType> t = im.outputType(node, i);
      if (failed(t))
        return failure();
      if (t->getElementType() != statType.getElementType())
        v = b.create<CastOp>(im.currentLoc, *t, v, nullptr);
      im.setOutput(node, i, v);
      return success();
    };
    if ((wantsMean && failed(toOutput(mean, 1))) ||
        (wantsInvStd && failed(toOutput(invStd, 2))))
      return failure();
  }
  Value bias = rms ? nullptr : im.input(node, 2);
  auto op = im.builder.create<LayerNormOp>(
      im.currentLoc, *type, x, im.input(node, 1), bias, /*residual=*/nullptr,
      im.builder.getI64IntegerAttr(*axis), im.builder.getF64FloatAttr(eps),
      rms ? im.builder.getUnitAttr() : nullptr, nullptr);
  im.setOutput(node, 0, op);
  return success();
}

LogicalResult importReshape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  bool allowZero = im.intAttribute(node, "allowzero", 0) != 0;
  Value x = im.input(node, 0);
  if (DenseElementsAttr shapeAttr = im.constantOf(im.input(node, 1))) {
    SmallVector<int64_t> shape;
    for (const APInt &v : shapeAttr.getValues<APInt>())
      shape.push_back(v.getSExtValue());
    if (allowZero && llvm::is_contained(shape, 0)) {
      im.nodeError() << "with 'allowzero' = 1 the target shape has a 0 "
                        "entry, an empty tensor; attnc does not compile "
                        "empty tensors";
      return failure();
    }
    im.setOutput(node, 0,
                 im.builder.create<ReshapeOp>(
                     im.currentLoc, *type, x,
                     im.builder.getDenseI64ArrayAttr(shape), nullptr));
    return success();
  }
  auto shapeType = cast<RankedTensorType>(im.input(node, 1).getType());
  if (!shapeType.hasStaticShape() || shapeType.getRank() != 1) {
    im.nodeError() << "the target shape '" << node.input(1)
                   << "' must be a 1-D tensor of static length, got "
                   << shapeType;
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<ReshapeDynamicOp>(
                   im.currentLoc, *type, x, im.input(node, 1),
                   allowZero ? im.builder.getUnitAttr() : nullptr, nullptr));
  return success();
}

LogicalResult importFlatten(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t axis = im.intAttribute(node, "axis", 1);
  if (axis < 0)
    axis += xt.getRank();
  // [prod(d < axis), prod(d >= axis)]: one side must be static.
  SmallVector<int64_t> spec;
  if (!type->isDynamicDim(1))
    spec = {-1, type->getDimSize(1)};
  else if (!type->isDynamicDim(0))
    spec = {type->getDimSize(0), -1};
  else {
    im.nodeError() << "both flattened extents of " << xt
                   << " are run-time values; one side must be static";
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<ReshapeOp>(
                   im.currentLoc, *type, x,
                   im.builder.getDenseI64ArrayAttr(spec), nullptr));
  return success();
}

LogicalResult importSqueezeUnsqueeze(Importer &im,
                                     const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  bool squeeze = node.op_type() == "Squeeze";
  SmallVector<int64_t> axes;
  if (im.currentOpset >= 13) {
    if (im.input(node, 1)) {
      FailureOr<SmallVector<int64_t>> a = im.constantInts(node, 1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else {
    axes = im.intsAttribute(node, "axes");
  }
  int64_t rank = squeeze ? xt.getRank() : type->getRank();
  if (squeeze && axes.empty())
    for (int64_t k = 0; k < rank; ++k)
      if (xt.getDimSize(k) == 1)
        axes.push_back(k);
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = im.normalizeAxis(a, rank, "axis");
    if (failed(n))
      return failure();
    a = *n;
  }
  llvm::sort(axes);
  im.setOutput(node, 0,
               im.builder.create<ExpandDimsOp>(
                   im.currentLoc, *type, x,
                   im.builder.getDenseI64ArrayAttr(axes), squeeze, nullptr));
  return success();
}

LogicalResult importConcat(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  FailureOr<int64_t> axis = im.normalizeAxis(
      im.intAttribute(node, "axis", 0), type->getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  // Operands with no elements along the axis contribute nothing.
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i)
    if (Value v = im.input(node, i))
      if (cast<RankedTensorType>(v.getType()).getDimSize(*axis) != 0)
        inputs.push_back(v);
  if (inputs.empty())
    inputs.push_back(im.input(node, 0));
  im.setOutput(node, 0,
               im.builder.create<ConcatOp>(im.currentLoc, *type, inputs,
                                           im.builder.getI64IntegerAttr(*axis),
                                           nullptr));
  return success();
}

LogicalResult importSplit(Importer &im, const onnx::NodeProto &node) {
  Value x = im.input(node, 0);
  auto xt = cast<RankedTensorType>(x.getType());
  FailureOr<int64_t> axis = im.normalizeAxis(im.intAttribute(node, "axis", 0),
                                             xt.getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  int64_t extent = xt.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  int64_t n = node.output_size();
  Value sizeTensor = im.currentOpset >= 13 ? im.input(node, 1) : Value();
  bool sizesGiven = sizeTensor || (im.currentOpset < 13 &&
                                   !im.intsAttribute(node, "split").empty());
  if (!sizesGiven && ShapedType::isDynamic(extent)) {
    // Equal parts of a run-time extent E: output i is
    // [min(i·p, E), min((i + 1)·p, E)) with p = ceil(E / n).
    auto oneType = RankedTensorType::get({1}, im.builder.getI64Type());
    auto binary = [&](auto tag, Value a, Value b) -> Value {
      using OpT = decltype(tag);
      return im.builder.create<OpT>(im.currentLoc, oneType, a, b, nullptr);
    };
    Value e = im.builder.create<ShapeOp>(
        im.currentLoc, oneType, x, im.builder.getI64IntegerAttr(*axis),
        im.builder.getI64IntegerAttr(*axis + 1), nullptr);
    Value part = binary(DivOp(), binary(AddOp(), e, im.i64Constant({n - 1})),
                        im.i64Constant({n}));
    for (int64_t i = 0; i < n; ++i) {
      FailureOr<RankedTensorType> type = im.outputType(node, i);
      if (failed(type))
        return failure();
      Value start =
          binary(MinOp(), binary(MulOp(), part, im.i64Constant({i})), e);
      Value end =
          binary(MinOp(), binary(MulOp(), part, im.i64Constant({i + 1})), e);
      im.setOutput(node, i,
                   im.builder.create<SliceOp>(
                       im.currentLoc, *type, x, start, end,
                       im.builder.getDenseI64ArrayAttr({*axis}),
                       im.builder.getDenseI64ArrayAttr({1}), nullptr));
    }
    return success();
  }
  if (sizeTensor && !im.constantOf(sizeTensor)) {
    // Sizes computed from extents: each output slices [start, start + size)
    // with the bounds summed in the graph (known before the run).
    auto st = cast<RankedTensorType>(sizeTensor.getType());
    if (st.getRank() != 1 || st.getDimSize(0) != n) {
      im.nodeError() << "split sizes '" << node.input(1) << "' are " << st
                     << "; need one per output (" << n << ")";
      return failure();
    }
    Value start = im.i64Constant({0});
    if (!st.getElementType().isInteger(64))
      sizeTensor = im.builder.create<CastOp>(
          im.currentLoc, RankedTensorType::get({n}, im.builder.getI64Type()),
          sizeTensor, nullptr);
    auto oneType = RankedTensorType::get({1}, im.builder.getI64Type());
    for (int64_t i = 0; i < n; ++i) {
      FailureOr<RankedTensorType> type = im.outputType(node, i);
      if (failed(type))
        return failure();
      Value size = im.builder.create<GatherOp>(
          im.currentLoc, oneType, sizeTensor, im.i64Constant({i}),
          im.builder.getI64IntegerAttr(0), nullptr);
      Value end = im.builder.create<AddOp>(im.currentLoc, oneType, start, size,
                                           nullptr);
      im.setOutput(node, i,
                   im.builder.create<SliceOp>(
                       im.currentLoc, *type, x, start, end,
                       im.builder.getDenseI64ArrayAttr({*axis}),
                       im.builder.getDenseI64ArrayAttr({1}), nullptr));
      start = end;
    }
    return success();
  }
  if (sizeTensor) {
    FailureOr<SmallVector<int64_t>> s = im.constantInts(node, 1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (im.currentOpset < 13) {
    sizes = im.intsAttribute(node, "split");
  }
  if (sizes.empty()) {
    // Equal parts; with num_outputs (opset 18) the last may be smaller.
    int64_t part = (extent + n - 1) / n;
    for (int64_t i = 0, start = 0; i < n; ++i, start += part)
      sizes.push_back(std::min(part, extent - start));
  }
  if (static_cast<int64_t>(sizes.size()) != n) {
    im.nodeError() << "has " << sizes.size() << " split sizes for " << n
                   << " outputs";
    return failure();
  }
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    FailureOr<RankedTensorType> type = im.outputType(node, i);
    if (failed(type))
      return failure();
    Value starts = im.i64Constant({start});
    Value ends = im.i64Constant({start + sizes[i]});
    im.setOutput(node, i,
                 im.builder.create<SliceOp>(
                     im.currentLoc, *type, x, starts, ends,
                     im.builder.getDenseI64ArrayAttr({*axis}),
                     im.builder.getDenseI64ArrayAttr({1}), nullptr));
    start += sizes[i];
  }
  return success();
}

LogicalResult importSlice(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  Value starts, ends;
  SmallVector<int64_t> axes, steps;
  if (im.currentOpset < 10) {
    starts = im.i64Constant(im.intsAttribute(node, "starts"));
    ends = im.i64Constant(im.intsAttribute(node, "ends"));
    axes = im.intsAttribute(node, "axes");
  } else {
    starts = im.input(node, 1);
    ends = im.input(node, 2);
    if (im.input(node, 3)) {
      FailureOr<SmallVector<int64_t>> a = im.constantInts(node, 3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (im.input(node, 4)) {
      FailureOr<SmallVector<int64_t>> s = im.constantInts(node, 4, "steps");
      if (failed(s))
        return failure();
      steps = *s;
    }
  }
  auto startsType = cast<RankedTensorType>(starts.getType());
  if (startsType.getRank() != 1 || startsType.isDynamicDim(0)) {
    im.nodeError() << "expects 1-D starts of static length, got " << startsType;
    return failure();
  }
  int64_t count = startsType.getDimSize(0);
  if (axes.empty())
    for (int64_t k = 0; k < count; ++k)
      axes.push_back(k);
  if (steps.empty())
    steps.assign(count, 1);
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = im.normalizeAxis(a, rank, "sliced axis");
    if (failed(n))
      return failure();
    a = *n;
  }
  for (int64_t step : steps)
    if (step == 0) {
      im.nodeError() << "a step of 0 is not allowed";
      return failure();
    }
  im.setOutput(node, 0,
               im.builder.create<SliceOp>(
                   im.currentLoc, *type, x, starts, ends,
                   im.builder.getDenseI64ArrayAttr(axes),
                   im.builder.getDenseI64ArrayAttr(steps), nullptr));
  return success();
}

LogicalResult importGather(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value data = im.input(node, 0);
  FailureOr<int64_t> axis = im.normalizeAxis(
      im.intAttribute(node, "axis", 0),
      cast<RankedTensorType>(data.getType()).getRank(), "attribute 'axis'");
  if (failed(axis))
    return failure();
  im.setOutput(node, 0,
               im.builder.create<GatherOp>(
                   im.currentLoc, *type, data, im.input(node, 1),
                   im.builder.getI64IntegerAttr(*axis), nullptr));
  return success();
}

LogicalResult importGatherNd(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  auto indices = cast<RankedTensorType>(im.input(node, 1).getType());
  if (indices.getRank() < 1 || indices.isDynamicDim(indices.getRank() - 1)) {
    im.nodeError() << "expects indices whose last extent is static, got "
                   << indices;
    return failure();
  }
  im.setOutput(
      node, 0,
      im.builder.create<GatherNdOp>(
          im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
          im.builder.getI64IntegerAttr(im.intAttribute(node, "batch_dims", 0)),
          nullptr));
  return success();
}

LogicalResult importShape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  auto clampAxis = [&](int64_t a) {
    a = a < 0 ? a + rank : a;
    return std::clamp<int64_t>(a, 0, rank);
  };
  int64_t start = clampAxis(im.intAttribute(node, "start", 0));
  int64_t end = clampAxis(im.intAttribute(node, "end", rank));
  end = std::max(start, end);
  auto resultType =
      RankedTensorType::get({end - start}, im.builder.getI64Type());
  im.setOutput(node, 0,
               im.builder.create<ShapeOp>(im.currentLoc, resultType, x,
                                          im.builder.getI64IntegerAttr(start),
                                          im.builder.getI64IntegerAttr(end),
                                          nullptr));
  return success();
}

LogicalResult importConstantOfShape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  auto scalarType = RankedTensorType::get({}, type->getElementType());
  ElementsAttr value;
  if (const auto *attr = im.attribute(node, "value")) {
    FailureOr<ElementsAttr> v =
        im.elementsFromTensor(attr->t(), "ConstantOfShape attribute 'value'");
    if (failed(v))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*v);
    if (!dense || dense.getNumElements() != 1) {
      im.nodeError() << "attribute 'value' must hold one element";
      return failure();
    }
    value = dense.reshape(scalarType);
  } else {
    value = DenseElementsAttr::get(scalarType, 0.0f);
  }
  im.setOutput(node, 0,
               im.builder.create<ConstantOfShapeOp>(
                   im.currentLoc, *type, im.input(node, 0), value, nullptr));
  return success();
}

LogicalResult importTrilu(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(
      node, 0,
      im.builder.create<TriluOp>(
          im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
          im.builder.getBoolAttr(im.intAttribute(node, "upper", 1) != 0),
          nullptr));
  return success();
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// A zero scalar of `element`, the zero point ONNX assumes when it is absent.
Value zeroScalar(Importer &im, Type element) {
  auto type = RankedTensorType::get({}, element);
  Attribute zero = isa<FloatType>(element)
                       ? Attribute(im.builder.getFloatAttr(element, 0.0))
                       : Attribute(im.builder.getIntegerAttr(element, 0));
  return im.builder.create<ConstantOp>(im.currentLoc,
                                       DenseElementsAttr::get(type, zero));
}

/// Zeros of `element` in the shape of `scale`: the zero point that
/// QuantizeLinear and DequantizeLinear assume when it is absent.
Value zeroLike(Importer &im, Type element, Value scale) {
  auto shape = cast<RankedTensorType>(scale.getType()).getShape();
  auto type = RankedTensorType::get(shape, element);
  return im.builder.create<ConstantOp>(
      im.currentLoc,
      DenseElementsAttr::get(type, im.builder.getIntegerAttr(element, 0)));
}

/// The axis of QuantizeLinear / DequantizeLinear, normalized; 0 where the
/// scale is one value (per-tensor quantization ignores the axis).
FailureOr<int64_t> quantizationAxis(Importer &im, const onnx::NodeProto &node,
                                    Value x, Value scale) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (rank == 0 ||
      (scaleType.getRank() <= 1 && scaleType.getNumElements() == 1 &&
       im.intAttribute(node, "block_size", 0) == 0))
    return 0;
  return im.normalizeAxis(im.intAttribute(node, "axis", 1), rank,
                          "attribute 'axis'");
}

/// QuantizeLinear (`OpTy` = QuantizeOp: float to an 8- or 16-bit integer)
/// and DequantizeLinear (DequantizeOp: an 8-, 16- or 32-bit integer to
/// float): the integer side's type, the axis, the zero point (zeros of the
/// scale's shape when absent) and the block size.
template <typename OpTy>
LogicalResult importQuantization(Importer &im, const onnx::NodeProto &node) {
  constexpr bool quantize = std::is_same_v<OpTy, QuantizeOp>;
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0), scale = im.input(node, 1);
  Type element = quantize
                     ? type->getElementType()
                     : cast<RankedTensorType>(x.getType()).getElementType();
  if (!element.isInteger(8) && !element.isInteger(16) &&
      (quantize || !element.isInteger(32))) {
    im.nodeError() << (quantize ? "quantizes to " : "dequantizes ") << element
                   << (quantize
                           ? "; attnc supports 8- and 16-bit integer outputs"
                           : "; attnc supports 8-, 16- and 32-bit integer "
                             "inputs");
    return failure();
  }
  FailureOr<int64_t> axis = quantizationAxis(im, node, x, scale);
  if (failed(axis))
    return failure();
  Value zero = im.input(node, 2);
  if (!zero)
    zero = zeroLike(im, element, scale);
  im.setOutput(
      node, 0,
      im.builder.create<OpTy>(
          im.currentLoc, *type, x, scale, zero,
          im.builder.getI64IntegerAttr(*axis),
          im.builder.getI64IntegerAttr(im.intAttribute(node, "block_size", 0)),
          nullptr));
  return success();
}

/// DynamicQuantizeLinear: uint8 with the scale and zero point that map
/// [min(0, min x), max(0, max x)] onto [0, 255], as ONNX defines them.
LogicalResult importDynamicQuantizeLinear(Importer &im,
                                          const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  Value x = im.input(node, 0);
  auto xType = cast<RankedTensorType>(x.getType());
  if (!xType.getElementType().isF32()) {
    im.nodeError() << "quantizes " << xType.getElementType()
                   << "; DynamicQuantizeLinear takes float32";
    return failure();
  }
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  auto u8 = b.getIntegerType(8, /*isSigned=*/false);
  auto u8Scalar = RankedTensorType::get({}, u8);
  SmallVector<int64_t> all;
  for (int64_t k = 0; k < xType.getRank(); ++k)
    all.push_back(k);
  auto reduce = [&](StringRef kind) -> Value {
    return b.create<ReduceOp>(loc, scalar, x, b.getStringAttr(kind),
                              b.getDenseI64ArrayAttr(all), b.getBoolAttr(false),
                              nullptr);
  };
  auto constant = [&](float v) -> Value {
    return b.create<ConstantOp>(loc, DenseElementsAttr::get(scalar, v));
  };
  Value zero = constant(0.0f);
  Value lo = b.create<MinOp>(loc, scalar, reduce("min"), zero, nullptr);
  Value hi = b.create<MaxOp>(loc, scalar, reduce("max"), zero, nullptr);
  Value scale = b.create<DivOp>(loc, scalar,
                                b.create<SubOp>(loc, scalar, hi, lo, nullptr),
                                constant(255.0f), nullptr);
  Value zeroPoint = b.create<QuantizeOp>(
      loc, u8Scalar, b.create<NegOp>(loc, scalar, lo, nullptr), scale,
      zeroScalar(im, u8), b.getI64IntegerAttr(0), nullptr, nullptr);
  Value y = b.create<QuantizeOp>(loc, *type, x, scale, zeroPoint,
                                 b.getI64IntegerAttr(0), nullptr, nullptr);
  im.setOutput(node, 0, y);
  if (node.output_size() > 1)
    im.setOutput(node, 1, scale);
  if (node.output_size() > 2)
    im.setOutput(node, 2, zeroPoint);
  return success();
}

LogicalResult importMatMulInteger(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value a = im.input(node, 0), b = im.input(node, 1);
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(b.getType());
  if (aType.getRank() < 2 || bType.getRank() < 2) {
    im.nodeError() << "multiplies operands of rank " << aType.getRank()
                   << " and " << bType.getRank()
                   << "; attnc supports rank 2 and more";
    return failure();
  }
  Value aZero = im.input(node, 2), bZero = im.input(node, 3);
  if (!aZero)
    aZero = zeroScalar(im, aType.getElementType());
  if (!bZero)
    bZero = zeroScalar(im, bType.getElementType());
  im.setOutput(node, 0,
               im.builder.create<MatMulIntegerOp>(im.currentLoc, *type, a, b,
                                                  aZero, bZero, nullptr));
  return success();
}

LogicalResult importCastLike(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(node, 0,
               im.builder.create<CastOp>(im.currentLoc, *type,
                                         im.input(node, 0), nullptr));
  return success();
}

LogicalResult importMod(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type) || failed(checkBroadcast(im, node)))
    return failure();
  bool fmod = im.intAttribute(node, "fmod", 0) != 0;
  im.setOutput(node, 0,
               im.builder.create<ModOp>(
                   im.currentLoc, *type, im.input(node, 0), im.input(node, 1),
                   fmod ? im.builder.getUnitAttr() : UnitAttr(), nullptr));
  return success();
}

LogicalResult importPad(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  std::string mode = im.stringAttribute(node, "mode", "constant");
  if (!llvm::is_contained({"constant", "edge", "reflect", "wrap"}, mode) ||
      (mode == "wrap" && im.currentOpset < 19)) {
    im.nodeError() << "attribute 'mode' = '" << mode
                   << "' is not supported (supported: constant, edge, "
                      "reflect"
                   << (im.currentOpset >= 19 ? ", wrap" : "") << ")";
    return failure();
  }
  // The amounts for the axes listed in `axes` (opset 18), else for every
  // axis; before opset 11 an attribute, then an input known before the run.
  Value amounts;
  Value value;
  int64_t listed = rank;
  if (im.currentOpset < 11) {
    SmallVector<int64_t> p = im.intsAttribute(node, "pads");
    if (static_cast<int64_t>(p.size()) != 2 * rank) {
      im.nodeError() << "has " << p.size() << " pad amounts for rank " << rank
                     << "; needs " << 2 * rank;
      return failure();
    }
    amounts = im.i64Constant(p);
    if (float v = im.floatAttribute(node, "value", 0.0f); v != 0.0f) {
      Type element = type->getElementType();
      auto scalar = RankedTensorType::get({}, element);
      value = im.builder.create<ConstantOp>(
          im.currentLoc,
          isa<FloatType>(element)
              ? DenseElementsAttr::get(scalar, FloatAttr::get(element, v))
              : DenseElementsAttr::get(scalar,
                                       APInt(element.getIntOrFloatBitWidth(),
                                             static_cast<int64_t>(v), true)));
    }
  } else {
    amounts = im.input(node, 1);
    value = im.input(node, 2);
    auto at = cast<RankedTensorType>(amounts.getType());
    if (at.getRank() != 1 || at.isDynamicDim(0)) {
      im.nodeError() << "input '" << node.input(1)
                     << "' (pads) must be a 1-D tensor of static length, got "
                     << at;
      return failure();
    }
    listed = at.getDimSize(0) / 2;
  }
  if (im.input(node, 3)) {
    FailureOr<SmallVector<int64_t>> axes = im.constantInts(node, 3, "axes");
    if (failed(axes))
      return failure();
    if (static_cast<int64_t>(axes->size()) != listed) {
      im.nodeError() << "has " << 2 * listed << " pad amounts for "
                     << axes->size() << " axes; needs " << 2 * axes->size();
      return failure();
    }
    // Amount k of the full list is entry index[k] of [pads..., 0].
    SmallVector<int64_t> index(2 * rank, 2 * listed);
    for (int64_t j = 0; j < listed; ++j) {
      FailureOr<int64_t> a = im.normalizeAxis((*axes)[j], rank, "axis");
      if (failed(a))
        return failure();
      index[*a] = j;
      index[rank + *a] = listed + j;
    }
    auto i64 = im.builder.getI64Type();
    Value withZero = im.builder.create<ConcatOp>(
        im.currentLoc, RankedTensorType::get({2 * listed + 1}, i64),
        ValueRange{amounts, im.i64Constant({0})},
        im.builder.getI64IntegerAttr(0), nullptr);
    amounts = im.builder.create<GatherOp>(
        im.currentLoc, RankedTensorType::get({2 * rank}, i64), withZero,
        im.i64Constant(index), im.builder.getI64IntegerAttr(0), nullptr);
  } else if (listed != rank) {
    im.nodeError() << "has " << 2 * listed << " pad amounts for rank " << rank
                   << "; needs " << 2 * rank;
    return failure();
  }
  if (mode != "constant")
    value = nullptr;
  im.setOutput(node, 0,
               im.builder.create<PadOp>(im.currentLoc, *type, x, amounts, value,
                                        im.builder.getStringAttr(mode),
                                        nullptr));
  return success();
}

LogicalResult importConv(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value x = im.input(node, 0), w = im.input(node, 1);
  auto xt = cast<RankedTensorType>(x.getType());
  auto wt = cast<RankedTensorType>(w.getType());
  int64_t spatial = xt.getRank() - 2;
  if ((spatial != 1 && spatial != 2) || wt.getRank() != xt.getRank() ||
      !wt.hasStaticShape()) {
    im.nodeError() << "only 1-D and 2-D convolutions with a weight of static "
                      "shape are supported, got input "
                   << xt << " and weight " << wt;
    return failure();
  }
  SmallVector<int64_t> strides =
      im.intsAttribute(node, "strides", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> dilations =
      im.intsAttribute(node, "dilations", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> pads =
      im.intsAttribute(node, "pads", SmallVector<int64_t>(2 * spatial, 0));
  // A 1-D convolution is a 2-D one over a height of 1.
  RankedTensorType resultType = *type;
  if (spatial == 1) {
    auto unsqueeze = [&](Value v) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape.insert(shape.begin() + 2, 1);
      return im.builder.create<ExpandDimsOp>(
          im.currentLoc, RankedTensorType::get(shape, t.getElementType()), v,
          im.builder.getDenseI64ArrayAttr({2}), false, nullptr);
    };
    x = unsqueeze(x);
    w = unsqueeze(w);
    xt = cast<RankedTensorType>(x.getType());
    wt = cast<RankedTensorType>(w.getType());
    strides.insert(strides.begin(), 1);
    dilations.insert(dilations.begin(), 1);
    if (pads.size() == 2)
      pads = {0, pads[0], 0, pads[1]};
    SmallVector<int64_t> shape(type->getShape());
    shape.insert(shape.begin() + 2, 1);
    resultType = RankedTensorType::get(shape, type->getElementType());
  }
  std::string autoPad = im.stringAttribute(node, "auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    pads = {0, 0, 0, 0};
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int k = 0; k < 2; ++k) {
      int64_t in = xt.getDimSize(2 + k);
      if (ShapedType::isDynamic(in)) {
        im.nodeError() << "auto_pad = " << autoPad
                       << " needs static spatial extents, got " << xt;
        return failure();
      }
      int64_t out = (in + strides[k] - 1) / strides[k];
      int64_t total = std::max<int64_t>(
          0, (out - 1) * strides[k] +
                 dilations[k] * (wt.getDimSize(2 + k) - 1) + 1 - in);
      int64_t small = total / 2, large = total - small;
      pads[k] = autoPad == "SAME_UPPER" ? small : large;
      pads[k + 2] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad != "NOTSET") {
    im.nodeError() << "attribute 'auto_pad' = '" << autoPad
                   << "' is not supported (supported: NOTSET, VALID, "
                      "SAME_UPPER, SAME_LOWER)";
    return failure();
  }
  Value y = im.builder.create<Conv2dOp>(
      im.currentLoc, resultType, x, w, im.input(node, 2),
      im.builder.getDenseI64ArrayAttr(strides),
      im.builder.getDenseI64ArrayAttr(pads),
      im.builder.getDenseI64ArrayAttr(dilations),
      im.builder.getI64IntegerAttr(im.intAttribute(node, "group", 1)), nullptr);
  if (spatial == 1)
    y = im.builder.create<ExpandDimsOp>(im.currentLoc, *type, y,
                                        im.builder.getDenseI64ArrayAttr({2}),
                                        true, nullptr);
  im.setOutput(node, 0, y);
  return success();
}

LogicalResult importEinsum(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  std::string equation;
  for (char c : im.stringAttribute(node, "equation", ""))
    if (c != ' ')
      equation += c;
  auto arrow = equation.find("->");
  std::string lhs = equation.substr(0, arrow);
  SmallVector<std::string> terms;
  SmallVector<StringRef> pieces;
  StringRef(lhs).split(pieces, ',');
  for (StringRef t : pieces)
    terms.push_back(t.str());
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i)
    inputs.push_back(im.input(node, i));
  if (terms.size() != inputs.size()) {
    im.nodeError() << "equation '" << equation << "' has " << terms.size()
                   << " terms for " << inputs.size() << " inputs";
    return failure();
  }
  // Expand "..." into letters no term uses.
  std::string unused;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (equation.find(c) == std::string::npos)
      unused += c;
  int64_t ellipsisRank = 0;
  for (auto [t, v] : llvm::zip(terms, inputs)) {
    auto pos = t.find("...");
    if (pos == std::string::npos)
      continue;
    int64_t r = cast<RankedTensorType>(v.getType()).getRank() -
                static_cast<int64_t>(t.size() - 3);
    ellipsisRank = std::max(ellipsisRank, r);
  }
  auto expand = [&](std::string t, int64_t rank) {
    auto pos = t.find("...");
    if (pos == std::string::npos)
      return t;
    int64_t r = rank - static_cast<int64_t>(t.size() - 3);
    return t.substr(0, pos) + unused.substr(ellipsisRank - r, r) +
           t.substr(pos + 3);
  };
  std::string newLhs;
  std::map<char, int> counts;
  for (auto [i, tv] : llvm::enumerate(llvm::zip(terms, inputs))) {
    auto &[t, v] = tv;
    std::string e = expand(t, cast<RankedTensorType>(v.getType()).getRank());
    newLhs += (i ? "," : "") + e;
    for (char c : e)
      ++counts[c];
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = expand(equation.substr(arrow + 2), type->getRank());
  } else {
    // Implicit form: the ellipsis, then letters seen once, alphabetically.
    out = unused.substr(0, ellipsisRank);
    for (auto &[c, n] : counts)
      if (n == 1 && std::islower(static_cast<unsigned char>(c)))
        out += c;
  }
  im.setOutput(node, 0,
               im.builder.create<EinsumOp>(
                   im.currentLoc, *type, inputs,
                   im.builder.getStringAttr(newLhs + "->" + out), nullptr));
  return success();
}

//===----------------------------------------------------------------------===//
// Attention-family operators (opset 23 and com.microsoft)
//===----------------------------------------------------------------------===//

namespace {
/// Builders shared by the attention handlers.
struct AttentionBuilder {
  Importer &im;

  RankedTensorType withShape(Value v, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(
        shape, cast<RankedTensorType>(v.getType()).getElementType());
  }
  ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }

  Value transpose(Value x, ArrayRef<int64_t> perm) {
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(shapeOf(x)[p]);
    return im.builder.create<TransposeOp>(im.currentLoc, withShape(x, shape), x,
                                          im.builder.getDenseI64ArrayAttr(perm),
                                          nullptr);
  }

  Value reshape(Value x, ArrayRef<int64_t> spec, ArrayRef<int64_t> shape) {
    return im.builder.create<ReshapeOp>(im.currentLoc, withShape(x, shape), x,
                                        im.builder.getDenseI64ArrayAttr(spec),
                                        nullptr);
  }

  /// [B, S, N·H] → [B, N, S, H]; fails unless N·H is static.
  FailureOr<Value> splitHeads(Value x, int64_t heads, StringRef what) {
    ArrayRef<int64_t> s = shapeOf(x);
    if (s.size() != 3 || ShapedType::isDynamic(s[2]) || heads <= 0 ||
        s[2] % heads != 0) {
      im.nodeError() << what << " must be [batch, sequence, " << heads
                     << " x head size] with a static last extent, got "
                     << x.getType();
      return failure();
    }
    Value r = reshape(x, {0, 0, heads, -1}, {s[0], s[1], heads, s[2] / heads});
    return transpose(r, {0, 2, 1, 3});
  }

  /// [B, N, S, H] → [B, S, N·H].
  Value mergeHeads(Value y) {
    Value t = transpose(y, {0, 2, 1, 3});
    ArrayRef<int64_t> s = shapeOf(t);
    int64_t hidden = ShapedType::isDynamic(s[2]) || ShapedType::isDynamic(s[3])
                         ? ShapedType::kDynamic
                         : s[2] * s[3];
    return reshape(t, {0, 0, -1}, {s[0], s[1], hidden});
  }

  /// softmax(scale·QKᵀ + mask)·V over [B, H, S, D] operands.
  FailureOr<Value> sdpa(Value q, Value k, Value v, Value mask,
                        std::optional<double> scale, bool causal,
                        std::optional<double> softcap = std::nullopt,
                        bool zeroMaskedRows = false, int64_t causalOffset = 0) {
    int64_t hq = shapeOf(q)[1], hkv = shapeOf(k)[1];
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv) ||
        hq % hkv != 0) {
      im.nodeError() << "needs static head counts with query heads a "
                        "multiple of key/value heads, got "
                     << q.getType() << " and " << k.getType();
      return failure();
    }
    ArrayRef<int64_t> qs = shapeOf(q);
    auto type = withShape(q, {qs[0], qs[1], qs[2], shapeOf(v)[3]});
    OpBuilder &b = im.builder;
    return b
        .create<SdpaOp>(im.currentLoc, type, q, k, v, mask,
                        scale ? b.getF64FloatAttr(*scale) : FloatAttr(),
                        causal ? b.getUnitAttr() : UnitAttr(),
                        b.getI64IntegerAttr(hq / hkv),
                        softcap ? b.getF64FloatAttr(*softcap) : FloatAttr(),
                        zeroMaskedRows ? b.getUnitAttr() : UnitAttr(),
                        b.getI64IntegerAttr(causalOffset), nullptr)
        .getResult();
  }

  /// Slices [start, start + size) of the last axis.
  Value lastAxisSlice(Value x, int64_t start, int64_t size) {
    SmallVector<int64_t> shape(shapeOf(x));
    int64_t axis = shape.size() - 1;
    shape[axis] = size;
    return im.builder.create<SliceOp>(
        im.currentLoc, withShape(x, shape), x, im.i64Constant({start}),
        im.i64Constant({start + size}), im.builder.getDenseI64ArrayAttr({axis}),
        im.builder.getDenseI64ArrayAttr({1}), nullptr);
  }

  Value add(Value a, Value b) {
    return im.builder.create<AddOp>(im.currentLoc, a.getType(), a, b, nullptr);
  }

  /// An elementwise binary op whose result shape is the broadcast of its
  /// operands' and whose element type is `element`.
  template <typename OpT> Value binary(Value lhs, Value rhs, Type element) {
    SmallVector<int64_t> shape = *broadcastShapes(shapeOf(lhs), shapeOf(rhs));
    return im.builder.create<OpT>(im.currentLoc,
                                  RankedTensorType::get(shape, element), lhs,
                                  rhs, nullptr);
  }

  /// The keys query i may attend, as an i1 mask over [B, H, Nq, Nk]
  /// (broadcastable; k is [B, H, Nk, D]): with `kvLengths` ([B], the valid
  /// keys of each batch entry) keys j < kvLengths[b], and query i sits at
  /// position p = i + kvLengths[b] - Nq; otherwise at p = i + `offset`.
  /// `causal` keeps j <= p; a window bound w >= 0 keeps p - left <= j or
  /// j <= p + right.
  Value allowedKeys(Value q, Value k, Value kvLengths, int64_t offset,
                    bool causal, int64_t left, int64_t right) {
    OpBuilder &b = im.builder;
    Location loc = im.currentLoc;
    auto i1 = b.getI1Type(), i64 = b.getI64Type();
    Value keys = buildPositions(b, loc, k, 2, 4, 3);
    Value pos = buildPositions(b, loc, q, 2, 4, 2);
    Value allowed;
    auto both = [&](Value cond) {
      allowed = allowed ? binary<AndOp>(allowed, cond, i1) : cond;
    };
    auto shift = [&](Value x, int64_t by) -> Value {
      return by == 0 ? x : binary<AddOp>(x, im.i64Constant({by}), i64);
    };
    if (kvLengths) {
      auto lt = cast<RankedTensorType>(kvLengths.getType());
      if (!lt.getElementType().isInteger(64))
        kvLengths = b.create<CastOp>(
            loc, RankedTensorType::get(lt.getShape(), i64), kvLengths, nullptr);
      Value lengths =
          reshape(kvLengths, {-1, 1, 1, 1}, {lt.getDimSize(0), 1, 1, 1});
      both(binary<LessOp>(keys, lengths, i1));
      Value queries = b.create<ShapeOp>(loc, RankedTensorType::get({1}, i64), q,
                                        b.getI64IntegerAttr(2),
                                        b.getI64IntegerAttr(3), nullptr);
      pos = binary<AddOp>(pos, binary<SubOp>(lengths, queries, i64), i64);
    } else {
      pos = shift(pos, offset);
    }
    if (causal)
      both(b.create<NotOp>(
          loc,
          RankedTensorType::get(*broadcastShapes(shapeOf(keys), shapeOf(pos)),
                                i1),
          binary<GreaterOp>(keys, pos, i1), nullptr));
    if (left >= 0) {
      Value before = binary<LessOp>(keys, shift(pos, -left), i1);
      both(b.create<NotOp>(loc, before.getType(), before, nullptr));
    }
    if (right >= 0) {
      Value after = binary<GreaterOp>(keys, shift(pos, right), i1);
      both(b.create<NotOp>(loc, after.getType(), after, nullptr));
    }
    return allowed;
  }

  /// `mask` (i1: true attends; float: added to the scores) restricted to the
  /// keys `allowed` marks.
  Value restrictMask(Value mask, Value allowed) {
    if (!mask)
      return allowed;
    auto maskType = cast<RankedTensorType>(mask.getType());
    Type element = maskType.getElementType();
    if (element.isInteger(1))
      return binary<AndOp>(mask, allowed, element);
    Value negInf = im.builder.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get({}, element),
            FloatAttr::get(element, -std::numeric_limits<double>::infinity())));
    SmallVector<int64_t> shape =
        *broadcastShapes(shapeOf(mask), shapeOf(allowed));
    return im.builder.create<SelectOp>(im.currentLoc,
                                       RankedTensorType::get(shape, element),
                                       allowed, mask, negInf, nullptr);
  }

  /// Pads the last axis of `mask` to `total` keys with keys never attended
  /// (false, or -inf for a float mask).
  FailureOr<Value> padMaskKeys(Value mask, int64_t total) {
    ArrayRef<int64_t> s = shapeOf(mask);
    int64_t last = s.back();
    if (ShapedType::isDynamic(last) || ShapedType::isDynamic(total) ||
        last == total || last == 1)
      return mask;
    if (last > total || llvm::any_of(s.drop_back(), ShapedType::isDynamic)) {
      im.nodeError() << "attn_mask " << mask.getType() << " does not cover the "
                     << total << " keys";
      return failure();
    }
    SmallVector<int64_t> padShape(s);
    padShape.back() = total - last;
    Type element = cast<RankedTensorType>(mask.getType()).getElementType();
    auto padType = RankedTensorType::get(padShape, element);
    Attribute fill =
        element.isInteger(1)
            ? Attribute(DenseElementsAttr::get(padType, false))
            : Attribute(DenseElementsAttr::get(
                  padType,
                  FloatAttr::get(element,
                                 -std::numeric_limits<double>::infinity())));
    Value pad =
        im.builder.create<ConstantOp>(im.currentLoc, cast<ElementsAttr>(fill));
    SmallVector<int64_t> shape(s);
    shape.back() = total;
    return im.builder
        .create<ConcatOp>(im.currentLoc, withShape(mask, shape),
                          ValueRange{mask, pad},
                          im.builder.getI64IntegerAttr(s.size() - 1), nullptr)
        .getResult();
  }

  /// An int 0/1 mask [B, L] (1 = attend) as an i1 mask [B, 1, 1, L].
  Value keyPaddingMask(Value mask) {
    ArrayRef<int64_t> s = shapeOf(mask);
    OpBuilder &b = im.builder;
    auto boolType = RankedTensorType::get(s, b.getI1Type());
    Value zero = b.create<ConstantOp>(
        im.currentLoc,
        DenseElementsAttr::get(
            RankedTensorType::get(
                {}, cast<RankedTensorType>(mask.getType()).getElementType()),
            APInt::getZero(cast<RankedTensorType>(mask.getType())
                               .getElementType()
                               .getIntOrFloatBitWidth())));
    Value isZero =
        b.create<EqualOp>(im.currentLoc, boolType, mask, zero, nullptr);
    Value keep = b.create<NotOp>(im.currentLoc, boolType, isZero, nullptr);
    return b.create<ExpandDimsOp>(
        im.currentLoc, RankedTensorType::get({s[0], 1, 1, s[1]}, b.getI1Type()),
        keep, b.getDenseI64ArrayAttr({1, 2}), UnitAttr(), nullptr);
  }
};

bool hasOutput(const onnx::NodeProto &node, int i) {
  return i < node.output_size() && !node.output(i).empty();
}

std::optional<double> optionalScale(Importer &im, const onnx::NodeProto &node) {
  if (!im.attribute(node, "scale"))
    return std::nullopt;
  return im.floatAttribute(node, "scale", 0.0f);
}
} // namespace

/// ONNX Attention (opset 23).
LogicalResult importAttention(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  std::optional<double> softcap;
  if (float c = im.floatAttribute(node, "softcap", 0.0f); c > 0.0f)
    softcap = c;
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  Value mask = im.input(node, 3);
  Value pastK = im.input(node, 4), pastV = im.input(node, 5);
  bool causal = im.intAttribute(node, "is_causal", 0) != 0;
  int64_t rank = cast<RankedTensorType>(q.getType()).getRank();
  if (rank == 3) {
    int64_t qHeads = im.intAttribute(node, "q_num_heads", 0);
    int64_t kvHeads = im.intAttribute(node, "kv_num_heads", 0);
    FailureOr<Value> q4 = ab.splitHeads(q, qHeads, "Q");
    if (failed(q4))
      return failure();
    FailureOr<Value> k4 = ab.splitHeads(k, kvHeads, "K");
    if (failed(k4))
      return failure();
    FailureOr<Value> v4 = ab.splitHeads(v, kvHeads, "V");
    if (failed(v4))
      return failure();
    q = *q4, k = *k4, v = *v4;
  }
  if ((pastK == nullptr) != (pastV == nullptr)) {
    im.nodeError() << "needs both past_key and past_value or neither";
    return failure();
  }
  // With a cache, the causal mask is aligned to the past length.
  int64_t causalOffset = 0;
  if (pastK && (causal || im.attribute(node, "left_window_size") ||
                im.attribute(node, "right_window_size"))) {
    causalOffset = ab.shapeOf(pastK)[2];
    if (ShapedType::isDynamic(causalOffset)) {
      im.nodeError() << "is_causal or a window with past_key of dynamic length "
                     << pastK.getType() << " is not supported";
      return failure();
    }
  }
  if (pastK) {
    auto concat = [&](Value past, Value now) -> Value {
      SmallVector<int64_t> shape(ab.shapeOf(now));
      int64_t p = ab.shapeOf(past)[2];
      shape[2] = ShapedType::isDynamic(p) || ShapedType::isDynamic(shape[2])
                     ? ShapedType::kDynamic
                     : p + shape[2];
      return im.builder.create<ConcatOp>(
          im.currentLoc, ab.withShape(now, shape), ValueRange{past, now},
          im.builder.getI64IntegerAttr(2), nullptr);
    };
    k = concat(pastK, k);
    v = concat(pastV, v);
  }
  if (mask) {
    // A mask shorter than the keys leaves the keys after it unattended.
    FailureOr<Value> padded = ab.padMaskKeys(mask, ab.shapeOf(k)[2]);
    if (failed(padded))
      return failure();
    mask = *padded;
  }
  // Opset 24's external cache (valid keys per batch entry) and opset 25's
  // sliding windows become an i1 mask computed from key and query positions;
  // it absorbs the causal bound, whose offset may then differ per batch.
  Value kvLengths = im.input(node, 6);
  int64_t left = im.intAttribute(node, "left_window_size", -1);
  int64_t right = im.intAttribute(node, "right_window_size", -1);
  if (kvLengths && pastK) {
    im.nodeError() << "nonpad_kv_seqlen cannot be combined with past_key and "
                      "past_value";
    return failure();
  }
  if (kvLengths || left >= 0 || right >= 0) {
    mask = ab.restrictMask(mask, ab.allowedKeys(q, k, kvLengths, causalOffset,
                                                causal, left, right));
    causal = false;
    causalOffset = 0;
  }
  if (hasOutput(node, 3)) {
    int64_t d = ab.shapeOf(q)[3];
    std::optional<double> scale = optionalScale(im, node);
    if (!scale && ShapedType::isDynamic(d)) {
      im.nodeError() << "output 3 (qk_matmul_output) needs a static head size "
                        "or a 'scale' attribute";
      return failure();
    }
    int64_t mode = im.intAttribute(node, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) {
      im.nodeError() << "attribute 'qk_matmul_output_mode' = " << mode
                     << " is not supported (supported: 0, 1, 2, 3)";
      return failure();
    }
    ScoresOptions scores;
    scores.scale = scale ? *scale : 1.0 / std::sqrt(double(d));
    scores.softcap = softcap;
    scores.causal = causal;
    scores.causalOffset = causalOffset;
    scores.zeroMaskedRows = true;
    scores.stage = mode < 2    ? ScoresStage::Scaled
                   : mode == 2 ? ScoresStage::Masked
                               : ScoresStage::Probabilities;
    FailureOr<Value> qk =
        buildAttentionScores(im.builder, im.currentLoc, q, k, mask, scores);
    if (failed(qk))
      return failure();
    im.setOutput(node, 3, *qk);
  }
  FailureOr<Value> y =
      ab.sdpa(q, k, v, mask, optionalScale(im, node), causal, softcap,
              /*zeroMaskedRows=*/true, causalOffset);
  if (failed(y))
    return failure();
  Value out = rank == 3 ? ab.mergeHeads(*y) : *y;
  im.setOutput(node, 0, out);
  if (hasOutput(node, 1))
    im.setOutput(node, 1, k);
  if (hasOutput(node, 2))
    im.setOutput(node, 2, v);
  return success();
}

/// ONNX RotaryEmbedding (opset 23): X is [B, H, S, D] or [B, S, H·D].
LogicalResult importRotaryEmbedding(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  AttentionBuilder ab{im};
  Value x = im.input(node, 0);
  int64_t rank = type->getRank();
  if (rank == 3) {
    FailureOr<Value> x4 =
        ab.splitHeads(x, im.intAttribute(node, "num_heads", 0), "X");
    if (failed(x4))
      return failure();
    x = *x4;
  } else if (rank != 4) {
    im.nodeError() << "X must be of rank 3 or 4, got " << x.getType();
    return failure();
  }
  Value y = im.builder.create<RotaryOp>(
      im.currentLoc, x.getType(), x, im.input(node, 1), im.input(node, 2),
      im.input(node, 3),
      im.intAttribute(node, "interleaved", 0) ? im.builder.getUnitAttr()
                                              : UnitAttr(),
      im.builder.getI64IntegerAttr(
          im.intAttribute(node, "rotary_embedding_dim", 0)),
      nullptr);
  im.setOutput(node, 0, rank == 3 ? ab.mergeHeads(y) : y);
  return success();
}

/// com.microsoft SkipLayerNormalization: LayerNorm(input + skip + bias).
LogicalResult importSkipLayerNorm(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "mean")) ||
      failed(im.requireNoOutput(node, 2, "inv_std_var")))
    return failure();
  AttentionBuilder ab{im};
  Value sum = ab.add(im.input(node, 0), im.input(node, 1));
  if (Value bias = im.input(node, 4))
    sum = ab.add(sum, bias);
  im.setOutput(node, 0,
               im.builder.create<LayerNormOp>(
                   im.currentLoc, *type, sum, im.input(node, 2),
                   im.input(node, 3), /*residual=*/nullptr,
                   im.builder.getI64IntegerAttr(type->getRank() - 1),
                   im.builder.getF64FloatAttr(
                       im.floatAttribute(node, "epsilon", 1e-12f)),
                   UnitAttr(), nullptr));
  if (hasOutput(node, 3))
    im.setOutput(node, 3, sum);
  return success();
}

namespace {
/// Shared by com.microsoft Attention and MultiHeadAttention: q, k, v as
/// [B, S, hidden], the heads, an optional i1 or float mask.
LogicalResult finishMicrosoftAttention(Importer &im,
                                       const onnx::NodeProto &node, Value q,
                                       Value k, Value v, int64_t heads,
                                       Value mask, bool causal) {
  AttentionBuilder ab{im};
  FailureOr<Value> q4 = ab.splitHeads(q, heads, "query");
  if (failed(q4))
    return failure();
  FailureOr<Value> k4 = ab.splitHeads(k, heads, "key");
  if (failed(k4))
    return failure();
  FailureOr<Value> v4 = ab.splitHeads(v, heads, "value");
  if (failed(v4))
    return failure();
  FailureOr<Value> y =
      ab.sdpa(*q4, *k4, *v4, mask, optionalScale(im, node), causal);
  if (failed(y))
    return failure();
  im.setOutput(node, 0, ab.mergeHeads(*y));
  return success();
}

/// Fails naming the first of `inputs` (index, name) that the node has.
LogicalResult
rejectInputs(Importer &im, const onnx::NodeProto &node,
             std::initializer_list<std::pair<int, const char *>> inputs) {
  for (auto [i, what] : inputs)
    if (im.input(node, i)) {
      im.nodeError() << "input " << i << " (" << what << ") is not supported";
      return failure();
    }
  return success();
}

/// The i1 mask of a 2-D int key mask, or an error for other forms.
FailureOr<Value> microsoftKeyMask(Importer &im, Value mask, StringRef what) {
  if (!mask)
    return Value();
  auto type = cast<RankedTensorType>(mask.getType());
  if (type.getRank() != 2) {
    im.nodeError() << what << " " << type
                   << " is not supported (supported: a [batch, total "
                      "sequence] 0/1 mask)";
    return failure();
  }
  return AttentionBuilder{im}.keyPaddingMask(mask);
}
} // namespace

/// com.microsoft Attention: packed Q/K/V projection of one input.
LogicalResult importMicrosoftAttention(Importer &im,
                                       const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(rejectInputs(
          im, node,
          {{4, "past"}, {5, "attention_bias"}, {6, "past_sequence_length"}})))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "present")))
    return failure();
  if (im.intAttribute(node, "do_rotary", 0)) {
    im.nodeError() << "attribute 'do_rotary' = 1 is not supported "
                      "(supported: 0)";
    return failure();
  }
  AttentionBuilder ab{im};
  Value x = im.input(node, 0), w = im.input(node, 1);
  ArrayRef<int64_t> xs = ab.shapeOf(x), ws = ab.shapeOf(w);
  if (xs.size() != 3 || ws.size() != 2 || ShapedType::isDynamic(ws[1])) {
    im.nodeError() << "expects input [batch, sequence, hidden] and weights "
                      "[hidden, q + k + v hidden] with static extents, got "
                   << x.getType() << " and " << w.getType();
    return failure();
  }
  SmallVector<int64_t> sizes = im.intsAttribute(node, "qkv_hidden_sizes");
  if (sizes.empty())
    sizes.assign(3, ws[1] / 3);
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != ws[1]) {
    im.nodeError() << "qkv_hidden_sizes do not add up to the weights' " << ws[1]
                   << " columns";
    return failure();
  }
  Value qkv = im.builder.create<MatMulOp>(
      im.currentLoc, ab.withShape(x, {xs[0], xs[1], ws[1]}), x, w, nullptr);
  if (Value bias = im.input(node, 2))
    qkv = ab.add(qkv, bias);
  Value q = ab.lastAxisSlice(qkv, 0, sizes[0]);
  Value k = ab.lastAxisSlice(qkv, sizes[0], sizes[1]);
  Value v = ab.lastAxisSlice(qkv, sizes[0] + sizes[1], sizes[2]);
  FailureOr<Value> mask = microsoftKeyMask(im, im.input(node, 3), "mask_index");
  if (failed(mask))
    return failure();
  return finishMicrosoftAttention(im, node, q, k, v,
                                  im.intAttribute(node, "num_heads", 0), *mask,
                                  im.intAttribute(node, "unidirectional", 0));
}

/// com.microsoft MultiHeadAttention with separate 3-D query, key, value.
LogicalResult importMultiHeadAttention(Importer &im,
                                       const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (failed(rejectInputs(im, node, {{6, "past_key"}, {7, "past_value"}})))
    return failure();
  if (failed(im.requireNoOutput(node, 1, "present_key")) ||
      failed(im.requireNoOutput(node, 2, "present_value")))
    return failure();
  AttentionBuilder ab{im};
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  if (!k || !v || ab.shapeOf(q).size() != 3 || ab.shapeOf(k).size() != 3 ||
      ab.shapeOf(v).size() != 3) {
    im.nodeError() << "supports 3-D query, key and value (packed forms are "
                      "not supported)";
    return failure();
  }
  if (Value bias = im.input(node, 3)) {
    int64_t dq = ab.shapeOf(q)[2], dk = ab.shapeOf(k)[2], dv = ab.shapeOf(v)[2];
    q = ab.add(q, ab.lastAxisSlice(bias, 0, dq));
    k = ab.add(k, ab.lastAxisSlice(bias, dq, dk));
    v = ab.add(v, ab.lastAxisSlice(bias, dq + dk, dv));
  }
  Value keyMask = im.input(node, 4), bias = im.input(node, 5);
  if (keyMask && bias) {
    im.nodeError() << "key_padding_mask together with attention_bias is not "
                      "supported";
    return failure();
  }
  Value mask = bias;
  if (keyMask) {
    FailureOr<Value> m = microsoftKeyMask(im, keyMask, "key_padding_mask");
    if (failed(m))
      return failure();
    mask = *m;
  }
  return finishMicrosoftAttention(im, node, q, k, v,
                                  im.intAttribute(node, "num_heads", 0), mask,
                                  im.intAttribute(node, "unidirectional", 0));
}

/// com.microsoft GroupQueryAttention, prompt form: causal, keys past
/// seqlens_k[b] masked, no KV cache and no fused rotary.
LogicalResult importGroupQueryAttention(Importer &im,
                                        const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  for (auto [i, what] :
       {std::pair<int, const char *>{3, "past_key"}, {4, "past_value"}})
    if (Value past = im.input(node, i)) {
      int64_t len = cast<RankedTensorType>(past.getType()).getRank() == 4
                        ? cast<RankedTensorType>(past.getType()).getDimSize(2)
                        : -1;
      if (len != 0) {
        im.nodeError() << "input " << i << " (" << what << ") "
                       << past.getType()
                       << " is not supported: a KV cache must be empty";
        return failure();
      }
    }
  for (auto [attr, what] : {std::pair<const char *, int64_t>{"do_rotary", 0},
                            {"local_window_size", -1}})
    if (int64_t value = im.intAttribute(node, attr, what); value != what) {
      im.nodeError() << "attribute '" << attr << "' = " << value
                     << " is not supported (supported: " << what << ")";
      return failure();
    }
  if (float softcap = im.floatAttribute(node, "softcap", 0.0f);
      softcap != 0.0f) {
    im.nodeError() << "attribute 'softcap' = " << softcap
                   << " is not supported (supported: 0)";
    return failure();
  }
  AttentionBuilder ab{im};
  Value q = im.input(node, 0), k = im.input(node, 1), v = im.input(node, 2);
  if (!k || !v) {
    im.nodeError() << "packed QKV (no key input) is not supported";
    return failure();
  }
  FailureOr<Value> q4 =
      ab.splitHeads(q, im.intAttribute(node, "num_heads", 0), "query");
  if (failed(q4))
    return failure();
  int64_t kvHeads = im.intAttribute(node, "kv_num_heads", 0);
  FailureOr<Value> k4 = ab.splitHeads(k, kvHeads, "key");
  if (failed(k4))
    return failure();
  FailureOr<Value> v4 = ab.splitHeads(v, kvHeads, "value");
  if (failed(v4))
    return failure();

  // keep[b, 0, 0, j] = j <= seqlens_k[b].
  OpBuilder &b = im.builder;
  Location loc = im.currentLoc;
  Value seqlens = im.input(node, 5);
  auto seqType = cast<RankedTensorType>(seqlens.getType());
  int64_t batch = seqType.getRank() == 1 ? seqType.getDimSize(0) : -2;
  if (batch == -2) {
    im.nodeError() << "seqlens_k must be 1-D, got " << seqType;
    return failure();
  }
  int64_t keys = ab.shapeOf(*k4)[2];
  auto i64 = b.getI64Type();
  Value shape = b.create<ShapeOp>(loc, RankedTensorType::get({4}, i64), *k4,
                                  b.getI64IntegerAttr(0),
                                  b.getI64IntegerAttr(4), nullptr);
  auto scalar = RankedTensorType::get({}, i64);
  Value two = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, ArrayRef<int64_t>{2}));
  Value count = b.create<GatherOp>(loc, scalar, shape, two,
                                   b.getI64IntegerAttr(0), nullptr);
  Value zero = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, ArrayRef<int64_t>{0}));
  Value one = b.create<ConstantOp>(
      loc, DenseElementsAttr::get(scalar, ArrayRef<int64_t>{1}));
  Value positions = b.create<RangeOp>(loc, RankedTensorType::get({keys}, i64),
                                      zero, count, one, nullptr);
  Value lengths = b.create<CastOp>(loc, RankedTensorType::get({batch}, i64),
                                   seqlens, nullptr);
  Value lengths4 = b.create<ExpandDimsOp>(
      loc, RankedTensorType::get({batch, 1, 1, 1}, i64), lengths,
      b.getDenseI64ArrayAttr({1, 2, 3}), UnitAttr(), nullptr);
  auto maskType = RankedTensorType::get({batch, 1, 1, keys}, b.getI1Type());
  Value past = b.create<GreaterOp>(loc, maskType, positions, lengths4, nullptr);
  Value keep = b.create<NotOp>(loc, maskType, past, nullptr);

  FailureOr<Value> y =
      ab.sdpa(*q4, *k4, *v4, keep, optionalScale(im, node), /*causal=*/true);
  if (failed(y))
    return failure();
  im.setOutput(node, 0, ab.mergeHeads(*y));
  if (hasOutput(node, 1))
    im.setOutput(node, 1, *k4);
  if (hasOutput(node, 2))
    im.setOutput(node, 2, *v4);
  return success();
}

const std::map<std::pair<std::string, std::string>, HandlerEntry> &handlers() {
  static const std::map<std::pair<std::string, std::string>, HandlerEntry>
      table = {
          {{"", "Add"}, {7, importBinary<AddOp>}},
          {{"", "Sub"}, {7, importBinary<SubOp>}},
          {{"", "Mul"}, {7, importBinary<MulOp>}},
          {{"", "Div"}, {7, importBinary<DivOp>}},
          {{"", "Pow"}, {7, importBinary<PowOp>}},
          {{"", "And"}, {7, importBinary<AndOp>}},
          {{"", "Or"}, {7, importBinary<OrOp>}},
          {{"", "Equal"}, {7, importBinary<EqualOp>}},
          {{"", "Less"}, {7, importBinary<LessOp>}},
          {{"", "Greater"}, {7, importBinary<GreaterOp>}},
          {{"", "LessOrEqual"}, {12, importNegatedCompare<GreaterOp>}},
          {{"", "GreaterOrEqual"}, {12, importNegatedCompare<LessOp>}},
          {{"", "Max"}, {8, importVariadic<MaxOp>}},
          {{"", "Min"}, {8, importVariadic<MinOp>}},
          {{"", "Sum"}, {8, importVariadic<AddOp>}},
          {{"", "Where"}, {9, importDirect<SelectOp, 3>}},
          {{"", "Clip"}, {6, importClip}},
          {{"", "MatMul"}, {1, importMatMul}},
          {{"", "Gemm"}, {7, importGemm}},
          {{"", "Transpose"}, {1, importTranspose}},
          {{"", "Softmax"}, {1, importSoftmaxLike<SoftmaxOp>}},
          {{"", "LogSoftmax"}, {1, importSoftmaxLike<LogSoftmaxOp>}},
          {{"", "ReduceMean"}, {1, importReduce}},
          {{"", "ReduceSum"}, {1, importReduce}},
          {{"", "ReduceMax"}, {1, importReduce}},
          {{"", "ReduceMin"}, {1, importReduce}},
          {{"", "ReduceProd"}, {1, importReduce}},
          {{"", "ArgMax"}, {1, importArgMax}},
          {{"", "LayerNormalization"}, {17, importLayerNorm}},
          {{"", "Reshape"}, {5, importReshape}},
          {{"", "Flatten"}, {1, importFlatten}},
          {{"", "Squeeze"}, {1, importSqueezeUnsqueeze}},
          {{"", "Unsqueeze"}, {1, importSqueezeUnsqueeze}},
          {{"", "Concat"}, {4, importConcat}},
          {{"", "Split"}, {2, importSplit}},
          {{"", "Slice"}, {1, importSlice}},
          {{"", "Gather"}, {1, importGather}},
          {{"", "Expand"}, {8, importDirect<ExpandOp, 2>}},
          {{"", "Tile"}, {6, importDirect<TileOp, 2>}},
          {{"", "Shape"}, {1, importShape}},
          {{"", "ConstantOfShape"}, {9, importConstantOfShape}},
          {{"", "Range"}, {11, importDirect<RangeOp, 3>}},
          {{"", "Trilu"}, {14, importTrilu}},
          {{"", "Conv"}, {1, importConv}},
          {{"", "Einsum"}, {12, importEinsum}},
          {{"", "Identity"}, {1, importIdentity}},
          {{"", "Dropout"}, {1, importIdentity}},
          {{"", "Sqrt"}, {6, importDirect<SqrtOp>}},
          {{"", "Reciprocal"}, {6, importDirect<ReciprocalOp>}},
          {{"", "Neg"}, {6, importDirect<NegOp>}},
          {{"", "Abs"}, {6, importDirect<AbsOp>}},
          {{"", "Exp"}, {6, importDirect<ExpOp>}},
          {{"", "Log"}, {6, importDirect<LogOp>}},
          {{"", "Erf"}, {9, importDirect<ErfOp>}},
          {{"", "Tanh"}, {6, importDirect<TanhOp>}},
          {{"", "Sigmoid"}, {6, importDirect<SigmoidOp>}},
          {{"", "Relu"}, {6, importDirect<ReluOp>}},
          {{"", "Not"}, {1, importDirect<NotOp>}},
          {{"", "Sin"}, {7, importDirect<SinOp>}},
          {{"", "Cos"}, {7, importDirect<CosOp>}},
          {{"", "IsNaN"}, {9, importDirect<IsNanOp>}},
          {{"", "GatherND"}, {11, importGatherNd}},
          {{"", "Cast"}, {6, importDirect<CastOp>}},
          {{"", "CastLike"}, {15, importCastLike}},
          {{"", "QuantizeLinear"}, {10, importQuantization<QuantizeOp>}},
          {{"", "DequantizeLinear"}, {10, importQuantization<DequantizeOp>}},
          {{"", "DynamicQuantizeLinear"}, {11, importDynamicQuantizeLinear}},
          {{"", "MatMulInteger"}, {10, importMatMulInteger}},
          {{"", "Mod"}, {10, importMod}},
          {{"", "Pad"}, {2, importPad}},
          {{"", "Constant"}, {1, importConstant}},
          {{"", "Gelu"}, {20, importGelu}},
          {{"com.microsoft", "Gelu"}, {1, importGelu}},
          {{"com.microsoft", "FastGelu"}, {1, importGelu}},
          {{"com.microsoft", "BiasGelu"}, {1, importGelu}},
          {{"", "Attention"}, {23, importAttention}},
          {{"", "RotaryEmbedding"}, {23, importRotaryEmbedding}},
          {{"", "RMSNormalization"}, {23, importLayerNorm}},
          {{"com.microsoft", "SkipLayerNormalization"},
           {1, importSkipLayerNorm}},
          {{"com.microsoft", "Attention"}, {1, importMicrosoftAttention}},
          {{"com.microsoft", "MultiHeadAttention"},
           {1, importMultiHeadAttention}},
          {{"com.microsoft", "GroupQueryAttention"},
           {1, importGroupQueryAttention}},
      };
  return table;
}

} // namespace

namespace {
/// Reads the initializers stored as ONNX external data (models over 2 GB
/// keep their weights in files next to the model) into raw_data. As ONNX's
/// checker demands, a location is a relative path that, with every link
/// resolved, names a regular file inside the model's directory: a model
/// cannot make attnc read (and embed in a library) files from elsewhere,
/// nor block on a FIFO or read a device without end.
LogicalResult loadExternalData(onnx::ModelProto &model, StringRef baseDir,
                               Location loc) {
  llvm::SmallString<256> realBase;
  if (std::error_code ec = llvm::sys::fs::real_path(
          baseDir.empty() ? StringRef(".") : baseDir, realBase)) {
    emitError(loc) << "cannot resolve the model's directory '" << baseDir
                   << "': " << ec.message();
    return failure();
  }
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> files;
  for (onnx::TensorProto &tensor :
       *model.mutable_graph()->mutable_initializer()) {
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL)
      continue;
    std::string location;
    uint64_t offset = 0, length = 0;
    bool hasLength = false;
    for (const auto &entry : tensor.external_data()) {
      if (entry.key() == "location") {
        location = entry.value();
      } else if (entry.key() == "offset") {
        offset = std::strtoull(entry.value().c_str(), nullptr, 10);
      } else if (entry.key() == "length") {
        length = std::strtoull(entry.value().c_str(), nullptr, 10);
        hasLength = true;
      }
    }
    auto fail = [&](const Twine &why) {
      emitError(loc) << "initializer '" << tensor.name()
                     << "' has external data '" << location << "' that " << why;
      return failure();
    };
    if (location.empty() || llvm::sys::path::is_absolute(location) ||
        llvm::is_contained(llvm::make_range(llvm::sys::path::begin(location),
                                            llvm::sys::path::end(location)),
                           ".."))
      return fail("is not a path inside the model's directory");
    std::unique_ptr<llvm::MemoryBuffer> &file = files[location];
    if (!file) {
      llvm::SmallString<256> path(realBase), real;
      llvm::sys::path::append(path, location);
      if (std::error_code ec = llvm::sys::fs::real_path(path, real))
        return fail("cannot be read: " + ec.message());
      llvm::SmallString<256> prefix(realBase);
      if (!prefix.ends_with("/"))
        prefix += "/";
      if (!StringRef(real).starts_with(prefix))
        return fail("resolves to '" + real +
                    "', outside the model's directory '" + realBase +
                    "' (a link out of it)");
      llvm::sys::fs::file_status status;
      if (std::error_code ec = llvm::sys::fs::status(real, status))
        return fail("cannot be read: " + ec.message());
      if (status.type() != llvm::sys::fs::file_type::regular_file)
        return fail("is not a regular file");
      auto buffer =
          llvm::MemoryBuffer::getFile(real, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
      if (!buffer)
        return fail("cannot be read: " + buffer.getError().message());
      file = std::move(*buffer);
    }
    uint64_t size = file->getBufferSize();
    if (!hasLength)
      length = offset <= size ? size - offset : 0;
    if (offset > size || length > size - offset)
      return fail("is too short: bytes [" + Twine(offset) + ", " +
                  Twine(offset + length) + ") of a " + Twine(size) +
                  "-byte file");
    tensor.set_raw_data(file->getBufferStart() + offset, length);
    tensor.clear_external_data();
    tensor.set_data_location(onnx::TensorProto::DEFAULT);
  }
  return success();
}
} // namespace

OwningOpRef<ModuleOp> mlir::attn::importOnnx(StringRef bytes,
                                             StringRef bufferName,
                                             MLIRContext *context,
                                             const OnnxImportOptions &options) {
  context->loadDialect<AttnDialect, func::FuncDialect>();
  Location loc = FileLineColLoc::get(context, bufferName, 0, 0);
  onnx::ModelProto model;
  StringRef trimmed = bytes.ltrim();
  bool isText = bufferName.ends_with(".onnxtext") || trimmed.starts_with("<");
  if (isText) {
    // ONNX's text parser recurses once per bracket: bound the nesting
    // before it runs out of stack. Real models nest a few levels (a graph
    // attribute holding a graph, a list of lists).
    constexpr int kMaxNesting = 256;
    int depth = 0, deepest = 0;
    bool inString = false;
    for (size_t i = 0; i < bytes.size(); ++i) {
      char c = bytes[i];
      if (inString) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          inString = false;
        continue;
      }
      if (c == '"')
        inString = true;
      else if (c == '[' || c == '(' || c == '{' || c == '<')
        deepest = std::max(deepest, ++depth);
      else if ((c == ']' || c == ')' || c == '}' || c == '>') && depth > 0)
        --depth;
    }
    if (deepest > kMaxNesting) {
      emitError(loc) << "cannot parse the ONNX text model: brackets nest "
                     << deepest << " levels deep (attnc reads at most "
                     << kMaxNesting << ")";
      return nullptr;
    }
    std::string text = bytes.str();
    // ONNX's text parser reports most errors in its status, but throws on
    // a number it cannot convert (such as "inf").
    onnx::Status status;
    try {
      status = onnx::OnnxParser::Parse(model, text.c_str());
    } catch (const std::exception &e) {
      emitError(loc) << "cannot parse the ONNX text model: a literal could "
                        "not be converted ("
                     << e.what() << ")";
      return nullptr;
    }
    if (!status.IsOK()) {
      emitError(loc) << "cannot parse the ONNX text model: "
                     << status.ErrorMessage();
      return nullptr;
    }
  } else {
    if (bytes.empty()) {
      emitError(loc) << "the file is empty, not an ONNX model";
      return nullptr;
    }
    if (bytes.size() > static_cast<size_t>(INT_MAX) ||
        !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      emitError(loc) << "not an ONNX model: the protobuf cannot be parsed "
                        "(truncated or not a ModelProto)";
      return nullptr;
    }
    if (!model.has_graph()) {
      emitError(loc) << "not an ONNX model: it has no graph";
      return nullptr;
    }
    if (failed(loadExternalData(model, llvm::sys::path::parent_path(bufferName),
                                loc)))
      return nullptr;
  }
  Importer importer(context, bufferName, options);
  return importer.run(model);
}

OwningOpRef<ModuleOp>
mlir::attn::importOnnxFile(StringRef path, MLIRContext *context,
                           const OnnxImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "cannot open '" << path << "': " << buffer.getError().message();
    return nullptr;
  }
  return importOnnx((*buffer)->getBuffer(), path, context, options);
}
