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
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/checker.h"
#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"
#include "onnx/defs/tensor_proto_util.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

#include <exception>
#include <functional>
#include <map>

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
    return emitError(currentLoc) << currentNode->op_type() << " node "
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
      nodeError() << "cannot infer the type and shape of output '" << name
                  << "'";
      return failure();
    }
    return it->second;
  }

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

  /// Converts an ONNX element type; null when attnc does not support it.
  Type elementType(int32_t onnxType);

  /// Builds a constant from a TensorProto.
  FailureOr<ElementsAttr> elementsFromTensor(const onnx::TensorProto &tensor,
                                             const std::string &what);

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
  Location fileLoc;
  std::map<std::string, int64_t> opsets;
  llvm::StringMap<Value> values;
  llvm::StringMap<RankedTensorType> valueTypes;
  int resourceCounter = 0;
};

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
  case onnx::TensorProto::INT8:
    return builder.getI8Type();
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
                             const std::string &what) {
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
  auto type = RankedTensorType::get(shape, element);
  int64_t count = type.getNumElements();

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
  for (const auto &opset : model.opset_import())
    opsets[canonicalDomain(opset.domain())] = opset.version();
  if (!opsets.count("")) {
    emitError(fileLoc) << "the model imports no opset of the default ONNX "
                          "domain";
    return nullptr;
  }
  if (failed(checkSupported(model)))
    return nullptr;

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
  for (const auto &vi : graph.output()) {
    FailureOr<RankedTensorType> type = typeFromValueInfo(vi);
    if (failed(type)) {
      emitError(fileLoc) << "graph output '" << vi.name()
                         << "' has no known tensor type and rank";
      module.erase();
      return nullptr;
    }
    resultTypes.push_back(*type);
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
  for (auto [i, vi] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "attn.name", builder.getStringAttr(vi.name()));

  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  for (auto [i, vi] : llvm::enumerate(args))
    values[vi->name()] = body->getArgument(i);

  for (const auto &init : graph.initializer()) {
    if (values.count(init.name()))
      continue;
    FailureOr<ElementsAttr> attr =
        elementsFromTensor(init, "initializer '" + init.name() + "'");
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

template <typename OpT>
LogicalResult importBinary(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  Value lhs = im.input(node, 0), rhs = im.input(node, 1);
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  if (failed(broadcastShapes(lt.getShape(), rt.getShape()))) {
    im.nodeError() << "cannot broadcast input shapes " << lt << " and " << rt;
    return failure();
  }
  auto op = im.builder.create<OpT>(im.currentLoc, *type, lhs, rhs, nullptr);
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
  if (lt.getRank() < 2 || rt.getRank() < 2) {
    im.nodeError() << "1-D operands are not supported (got " << lt << " and "
                   << rt << ")";
    return failure();
  }
  if (!isa<FloatType>(lt.getElementType())) {
    im.nodeError() << "integer MatMul is not supported (element type "
                   << lt.getElementType() << ")";
    return failure();
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

LogicalResult importSoftmax(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  int64_t axis = im.intAttribute(node, "axis", im.currentOpset >= 13 ? -1 : 1);
  int64_t normalized = axis < 0 ? axis + rank : axis;
  if (normalized < 0 || normalized >= rank) {
    im.nodeError() << "attribute 'axis' = " << axis
                   << " is out of range for rank " << rank;
    return failure();
  }
  // Before opset 13, Softmax flattened the axes from `axis` on; that is the
  // same as the opset-13 semantics only over the last axis.
  if (im.currentOpset < 13 && normalized != rank - 1) {
    im.nodeError() << "attribute 'axis' = " << axis
                   << " flattens several axes (opset < 13 semantics); only "
                      "the last axis is supported before opset 13";
    return failure();
  }
  im.setOutput(node, 0,
               im.builder.create<SoftmaxOp>(
                   im.currentLoc, *type, im.input(node, 0),
                   im.builder.getI64IntegerAttr(axis), nullptr));
  return success();
}

LogicalResult importReshape(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  if (im.intAttribute(node, "allowzero", 0) != 0) {
    im.nodeError() << "attribute 'allowzero' = 1 is not supported "
                      "(supported: 0)";
    return failure();
  }
  DenseElementsAttr shapeAttr = im.constantOf(im.input(node, 1));
  if (!shapeAttr) {
    im.nodeError() << "the target shape '" << node.input(1)
                   << "' must be a constant";
    return failure();
  }
  SmallVector<int64_t> shape;
  for (const APInt &v : shapeAttr.getValues<APInt>())
    shape.push_back(v.getSExtValue());
  im.setOutput(node, 0,
               im.builder.create<ReshapeOp>(
                   im.currentLoc, *type, im.input(node, 0),
                   im.builder.getDenseI64ArrayAttr(shape), nullptr));
  return success();
}

/// Ops with one input and a result shaped like it (Sqrt, Cast).
template <typename OpT>
LogicalResult importUnary(Importer &im, const onnx::NodeProto &node) {
  FailureOr<RankedTensorType> type = im.outputType(node, 0);
  if (failed(type))
    return failure();
  im.setOutput(
      node, 0,
      im.builder.create<OpT>(im.currentLoc, *type, im.input(node, 0), nullptr));
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

const std::map<std::pair<std::string, std::string>, HandlerEntry> &handlers() {
  static const std::map<std::pair<std::string, std::string>, HandlerEntry>
      table = {
          {{"", "Add"}, {7, importBinary<AddOp>}},
          {{"", "Sub"}, {7, importBinary<SubOp>}},
          {{"", "Mul"}, {7, importBinary<MulOp>}},
          {{"", "Div"}, {7, importBinary<DivOp>}},
          {{"", "MatMul"}, {1, importMatMul}},
          {{"", "Transpose"}, {1, importTranspose}},
          {{"", "Softmax"}, {1, importSoftmax}},
          {{"", "Reshape"}, {5, importReshape}},
          {{"", "Sqrt"}, {6, importUnary<SqrtOp>}},
          {{"", "Cast"}, {6, importUnary<CastOp>}},
          {{"", "Constant"}, {1, importConstant}},
      };
  return table;
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
    std::string text = bytes.str();
    onnx::Status status = onnx::OnnxParser::Parse(model, text.c_str());
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
