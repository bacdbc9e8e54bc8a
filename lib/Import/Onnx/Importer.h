//===- Importer.h - State and handler table of the ONNX importer -*- C++
//-*-===//
//
// Private to the importer. `Importer` holds what the handlers share (the
// builder, the values imported so far, attribute and constant readers,
// errors naming the node); each handler family lives in a file of its own
// and adds its entries to the operator table.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_IMPORT_ONNX_IMPORTER_H
#define ATTNC_LIB_IMPORT_ONNX_IMPORTER_H

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Import/Onnx/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include "onnx/onnx_pb.h"

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::attn::onnx_import {

/// The default ONNX domain has two spellings.
inline std::string canonicalDomain(const std::string &domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

inline std::string displayDomain(const std::string &domain) {
  return domain.empty() ? "ai.onnx" : domain;
}

/// A name for a node in messages: its name, or its position and first output.
inline std::string nodeLabel(const onnx::NodeProto &node, int index) {
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
inline std::string formatDims(ArrayRef<int64_t> dims) {
  std::string text = "[";
  for (auto [k, d] : llvm::enumerate(dims))
    text += (k ? ", " : "") +
            (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  return text + "]";
}

/// Why an extent is rejected.
inline const char *extentRule() {
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

/// The operator table: (domain, op type) → its handlers, each valid from
/// its own opset until the next one's (an op whose semantics changed has
/// one handler per version).
class HandlerTable {
public:
  void add(const std::string &domain, const std::string &opType,
           int64_t sinceOpset, Handler handler);
  /// The handler valid at `opset`; null when the op has none there.
  const HandlerEntry *find(const std::string &domain, const std::string &opType,
                           int64_t opset) const;
  /// The first opset the op has a handler from; nullopt for unknown ops.
  std::optional<int64_t> firstOpset(const std::string &domain,
                                    const std::string &opType) const;
  /// Every (domain, op type) with its handlers, by opset.
  const std::map<std::pair<std::string, std::string>, std::vector<HandlerEntry>>
      &entries() const {
    return table;
  }

private:
  std::map<std::pair<std::string, std::string>, std::vector<HandlerEntry>>
      table;
};

/// The table of every handler family below.
const HandlerTable &handlers();

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
    std::string domain = canonicalDomain(currentNode->domain());
    return emitError(fileLoc)
           << (domain.empty() ? "" : domain + ".") << currentNode->op_type()
           << " node " << nodeLabel(*currentNode, currentIndex) << " (opset "
           << currentOpset << "): ";
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
    } else if (!it->second.hasStaticShape() && inputsKnownBetter(node)) {
      refineNode(node);
      it = valueTypes.find(name);
    }
    if (it == valueTypes.end() || !it->second) {
      nodeError() << "cannot infer the type and shape of output '" << name
                  << "'";
      return failure();
    }
    return it->second;
  }

  /// True when an input of `node` is known better than whole-model shape
  /// inference knew it: a more static type, or a constant that the graph
  /// computes (a shape computation folded at import).
  bool inputsKnownBetter(const onnx::NodeProto &node);
  /// Infers `node` alone again (inferNode) and keeps, per output, the new
  /// type only where it refines the old one.
  void refineNode(const onnx::NodeProto &node);
  /// Names the graph gives as constants: initializers and Constant outputs.
  llvm::StringSet<> graphConstants;
  /// Values whose type refineNode made more static than whole-model
  /// inference had it: their users are inferred again too.
  llvm::StringSet<> refinedValues;

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

  /// normalizeAxis on each of `axes`, in place.
  LogicalResult normalizeAxes(MutableArrayRef<int64_t> axes, int64_t rank,
                              StringRef what = "axis") {
    for (int64_t &a : axes) {
      FailureOr<int64_t> n = normalizeAxis(a, rank, what);
      if (failed(n))
        return failure();
      a = *n;
    }
    return success();
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

  // The steps of run(), in order. ModelInputs.cpp: the opsets the model
  // imports, --input-shape, the extents inputs and outputs declare.
  LogicalResult checkOpsets();
  LogicalResult pinInputShapes(onnx::ModelProto &model);
  LogicalResult checkDeclaredExtents(const onnx::ModelProto &model);
  /// ONNX's checker and shape inference; the inferred types are recorded.
  LogicalResult checkAndInferShapes(onnx::ModelProto &model);
  /// The function with the graph's inputs as arguments; the builder is left
  /// at the start of its body.
  FailureOr<func::FuncOp> createFunction(const onnx::GraphProto &graph);
  /// Initializers as constants; they take the initializers' bytes.
  LogicalResult importInitializers(onnx::ModelProto &model);
  LogicalResult importNodes(const onnx::GraphProto &graph);
  /// Returns the graph's outputs, as precisely typed as the ops compute them.
  LogicalResult finishFunction(func::FuncOp func,
                               const onnx::GraphProto &graph);

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

//===----------------------------------------------------------------------===//
// Handlers shared by several families
//===----------------------------------------------------------------------===//

inline LogicalResult checkBroadcast(Importer &im, const onnx::NodeProto &node) {
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
  // Folded where both operands are constants: shape arithmetic (a rank
  // plus a negative axis) must be known at import.
  Value op = im.builder.createOrFold<OpT>(
      im.currentLoc, *type, im.input(node, 0), im.input(node, 1), nullptr);
  im.setOutput(node, 0, op);
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

void addElementwiseHandlers(HandlerTable &table);
/// The strides, dilations and pads of a window over `k` spatial axes
/// (Conv, ConvTranspose, the pools), with their defaults (1, 1, 0); fails
/// naming a list of the wrong length.
struct WindowAttributes {
  SmallVector<int64_t> strides, dilations, pads;
};
FailureOr<WindowAttributes>
windowAttributes(Importer &im, const onnx::NodeProto &node, int64_t k);
/// Replaces the pads by those `auto_pad` asks for (VALID: none; SAME_UPPER
/// and SAME_LOWER: an output of ⌈in / stride⌉, the odd unit at the end or
/// the start) for a window of `kernel` extents over the spatial axes of
/// `input`, which must then be static. Conv's and the pools' rule.
LogicalResult applyAutoPad(Importer &im, const onnx::NodeProto &node,
                           RankedTensorType input, ArrayRef<int64_t> kernel,
                           WindowAttributes &window);

void addShapeHandlers(HandlerTable &table);
void addContractionHandlers(HandlerTable &table);
void addQuantizationHandlers(HandlerTable &table);
void addReductionHandlers(HandlerTable &table);
void addAttentionHandlers(HandlerTable &table);
void addMicrosoftHandlers(HandlerTable &table);
void addNormalizationHandlers(HandlerTable &table);

} // namespace mlir::attn::onnx_import

#endif // ATTNC_LIB_IMPORT_ONNX_IMPORTER_H
