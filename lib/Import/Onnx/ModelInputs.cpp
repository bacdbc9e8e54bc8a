//===- ModelInputs.cpp - Opsets, pinned input shapes, declared extents ---===//
//
// What the importer checks and changes in a model before ONNX's checker and
// shape inference see it: the opsets it imports, the extents pinned by
// --input-shape, and the extents its inputs and outputs declare.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "Schemas.h"

#include <tuple>

using namespace mlir;
using namespace mlir::attn::onnx_import;

LogicalResult Importer::checkOpsets() {
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
      return failure();
    }
    if (it->second > schemas)
      emitWarning(fileLoc) << "the model imports opset " << it->second
                           << " of domain '" << displayDomain(domain)
                           << "'; attnc reads its operators as opset "
                           << schemas
                           << " defines them (operators changed since are "
                              "not checked)";
  }
  return success();
}

LogicalResult Importer::pinInputShapes(onnx::ModelProto &model) {
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
      return failure();
    }
    auto *shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != static_cast<int>(dims.size())) {
      emitError(fileLoc) << "--input-shape gives " << dims.size()
                         << " dimensions for input '" << name << "' of rank "
                         << shape->dim_size();
      return failure();
    }
    for (int64_t d : dims)
      if (d < 0 || d > kMaxExtent) {
        emitError(fileLoc) << "--input-shape gives input '" << name
                           << "' the extent " << d << ": " << extentRule();
        return failure();
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
        return failure();
      }
    for (auto [k, d] : llvm::enumerate(dims)) {
      shape->mutable_dim(k)->clear_dim_param();
      shape->mutable_dim(k)->set_dim_value(d);
    }
  }
  return success();
}

LogicalResult Importer::checkDeclaredExtents(const onnx::ModelProto &model) {
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
          return failure();
        }
      }
    }

  return success();
}
