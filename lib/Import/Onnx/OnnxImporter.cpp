//===- OnnxImporter.cpp - ONNX models into the attn dialect ----*- C++ -*-===//
//
// The graph front end; with the handler families (*Ops.cpp) the only place
// that sees protobuf and ONNX types. A model is parsed, checked for
// operators attnc cannot import (all of them are reported at once),
// validated by ONNX's checker, shape-inferred, and then walked node by node:
// each ONNX operator has handlers in a table keyed by its domain and name,
// each valid from its own opset.
//
//===----------------------------------------------------------------------===//

#include "attnc/Import/Onnx/OnnxImporter.h"
#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "Importer.h"
#include "Schemas.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/checker.h"
#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"
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
using namespace mlir::attn::onnx_import;

namespace mlir::attn::onnx_import {

void HandlerTable::add(const std::string &domain, const std::string &opType,
                       int64_t sinceOpset, Handler handler) {
  std::vector<HandlerEntry> &versions = table[{domain, opType}];
  versions.push_back({sinceOpset, std::move(handler)});
  llvm::sort(versions, [](const HandlerEntry &a, const HandlerEntry &b) {
    return a.sinceOpset < b.sinceOpset;
  });
}

const HandlerEntry *HandlerTable::find(const std::string &domain,
                                       const std::string &opType,
                                       int64_t opset) const {
  auto it = table.find({domain, opType});
  if (it == table.end())
    return nullptr;
  const HandlerEntry *found = nullptr;
  for (const HandlerEntry &entry : it->second)
    if (entry.sinceOpset <= opset)
      found = &entry;
  return found;
}

std::optional<int64_t>
HandlerTable::firstOpset(const std::string &domain,
                         const std::string &opType) const {
  auto it = table.find({domain, opType});
  if (it == table.end() || it->second.empty())
    return std::nullopt;
  return it->second.front().sinceOpset;
}

const HandlerTable &handlers() {
  static const HandlerTable table = [] {
    HandlerTable t;
    addElementwiseHandlers(t);
    addShapeHandlers(t);
    addContractionHandlers(t);
    addQuantizationHandlers(t);
    addReductionHandlers(t);
    addAttentionHandlers(t);
    addMicrosoftHandlers(t);
    addNormalizationHandlers(t);
    return t;
  }();
  return table;
}

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

namespace {
/// `refined` has `known`'s rank and element type and keeps its static
/// extents.
bool refines(RankedTensorType refined, RankedTensorType known) {
  if (!refined || !known || refined.getRank() != known.getRank() ||
      refined.getElementType() != known.getElementType())
    return false;
  for (auto [r, k] : llvm::zip(refined.getShape(), known.getShape()))
    if (!ShapedType::isDynamic(k) && r != k)
      return false;
  return true;
}
} // namespace

bool Importer::inputsKnownBetter(const onnx::NodeProto &node) {
  for (int i = 0; i < node.input_size(); ++i) {
    const std::string &name = node.input(i);
    Value value = input(node, i);
    if (!value)
      continue;
    auto type = dyn_cast<RankedTensorType>(value.getType());
    RankedTensorType known = valueTypes.lookup(name);
    if (type && known && type != known && refines(type, known))
      return true;
    if (refinedValues.contains(name) ||
        (constantOf(value) && !graphConstants.contains(name)))
      return true;
  }
  return false;
}

void Importer::refineNode(const onnx::NodeProto &node) {
  SmallVector<RankedTensorType> before;
  for (const std::string &name : node.output())
    before.push_back(valueTypes.lookup(name));
  inferNode(node);
  for (auto [name, old] : llvm::zip(node.output(), before)) {
    RankedTensorType now = valueTypes.lookup(name);
    if (old && !refines(now, old))
      valueTypes[name] = old;
    else if (now != old)
      refinedValues.insert(name);
  }
}

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

LogicalResult Importer::checkSupported(const onnx::ModelProto &model) {
  std::string list;
  int unsupported = 0;
  const auto &table = handlers();
  for (int i = 0; i < model.graph().node_size(); ++i) {
    const onnx::NodeProto &node = model.graph().node(i);
    std::string domain = canonicalDomain(node.domain());
    int64_t opset = opsets.count(domain) ? opsets[domain] : -1;
    std::optional<int64_t> first = table.firstOpset(domain, node.op_type());
    std::string why;
    if (!first)
      why = "no importer for this operator";
    else if (opset < *first)
      why = "supported from opset " + std::to_string(*first);
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

LogicalResult Importer::checkAndInferShapes(onnx::ModelProto &model) {
  // The linked ONNX checks IR versions up to its own; newer models use no
  // IR feature attnc reads, so they are checked as that version.
  if (model.ir_version() > onnx::IR_VERSION)
    model.set_ir_version(onnx::IR_VERSION);

  onnx_import::registerAttncSchemas();
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    emitError(fileLoc) << "the ONNX checker rejects the model: " << e.what();
    return failure();
  }
  try {
    onnx::ShapeInferenceOptions inferenceOptions(/*check_type=*/true,
                                                 /*strict_mode=*/1,
                                                 /*data_prop=*/true);
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), inferenceOptions);
  } catch (const std::exception &e) {
    emitError(fileLoc) << "ONNX shape inference failed: " << e.what();
    return failure();
  }

  const onnx::GraphProto &graph = model.graph();
  for (const auto &vi : graph.value_info())
    if (auto t = typeFromValueInfo(vi); succeeded(t))
      valueTypes[vi.name()] = *t;
  for (const auto &vi : graph.output())
    if (auto t = typeFromValueInfo(vi); succeeded(t))
      valueTypes[vi.name()] = *t;

  return success();
}

FailureOr<func::FuncOp>
Importer::createFunction(const onnx::GraphProto &graph) {
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
      return failure();
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
      return failure();
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
  return func;
}

LogicalResult Importer::importInitializers(onnx::ModelProto &model) {
  // The constants take the initializers' bytes: nothing reads them after.
  for (onnx::TensorProto &init :
       *model.mutable_graph()->mutable_initializer()) {
    if (values.count(init.name()))
      continue;
    FailureOr<ElementsAttr> attr = elementsFromTensor(
        init, "initializer '" + init.name() + "'",
        init.has_raw_data() ? init.mutable_raw_data() : nullptr);
    if (failed(attr)) {
      return failure();
    }
    Location loc = NameLoc::get(builder.getStringAttr(init.name()), fileLoc);
    values[init.name()] = builder.create<ConstantOp>(loc, *attr);
    graphConstants.insert(init.name());
  }

  return success();
}

LogicalResult Importer::importNodes(const onnx::GraphProto &graph) {
  const auto &table = handlers();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    std::string domain = canonicalDomain(node.domain());
    currentNode = &node;
    if (node.op_type() == "Constant")
      for (const std::string &name : node.output())
        graphConstants.insert(name);
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
        return failure();
      }
    const HandlerEntry *entry =
        table.find(domain, node.op_type(), currentOpset);
    if (failed(entry->handler(*this, node))) {
      return failure();
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
          return failure();
        }
      }
    }
  }

  return success();
}

LogicalResult Importer::finishFunction(func::FuncOp func,
                                       const onnx::GraphProto &graph) {
  SmallVector<Value> results;
  for (const auto &vi : graph.output()) {
    auto it = values.find(vi.name());
    if (it == values.end()) {
      emitError(fileLoc) << "graph output '" << vi.name()
                         << "' is not produced by any node";
      return failure();
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
      return failure();
    }
    returnTypes[i] = have;
  }
  func.setFunctionType(
      builder.getFunctionType(func.getFunctionType().getInputs(), returnTypes));
  builder.create<func::ReturnOp>(fileLoc, results);

  return success();
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
  if (failed(checkOpsets()))
    return nullptr;
  if (model.graph().output_size() == 0) {
    emitError(fileLoc) << "the graph has no outputs: there is nothing to "
                          "compute";
    return nullptr;
  }
  if (failed(pinInputShapes(model)) || failed(checkDeclaredExtents(model)) ||
      failed(checkAndInferShapes(model)))
    return nullptr;

  // The module erases itself on every failure below.
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  FailureOr<func::FuncOp> func = createFunction(model.graph());
  if (failed(func) || failed(importInitializers(model)) ||
      failed(importNodes(model.graph())) ||
      failed(finishFunction(*func, model.graph())) || failed(verify(*module)))
    return nullptr;
  return module;
}
} // namespace mlir::attn::onnx_import

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

std::vector<OnnxOperatorInfo> mlir::attn::listOnnxOperators() {
  std::vector<OnnxOperatorInfo> ops;
  for (const auto &[key, versions] : handlers().entries()) {
    OnnxOperatorInfo info{key.first, key.second, {}};
    for (const HandlerEntry &entry : versions)
      info.sinceOpsets.push_back(entry.sinceOpset);
    ops.push_back(std::move(info));
  }
  return ops;
}

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
