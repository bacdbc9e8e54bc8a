//===- AttncModule.cpp - The attnc._attnc Python extension ---*- C++ -*-===//
//
// One coarse pybind11 module under the pure-Python `attnc` package: `compile`
// runs the same driver function as the attnc tool, and `Model` loads a
// compiled shared library (attnc::runtime::ModelLibrary) and calls it on
// numpy arrays, in place: a C-contiguous array of the right element type is
// handed to the entry point as it is, inputs and outputs alike. The MLIR
// context never leaves a call.
//
//===----------------------------------------------------------------------===//

#include "attnc/Driver/Diagnostics.h"
#include "attnc/Driver/Driver.h"
#include "attnc/Runtime/ModelLibrary.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;
using attnc::runtime::ModelLibrary;

namespace {

/// A failed compilation; its message is every error attnc reported.
struct CompileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

py::dict tensorDict(const mlir::attn::TensorInterface &t) {
  py::dict d;
  d["name"] = t.name;
  d["dtype"] = t.elementType;
  py::list shape;
  for (size_t k = 0; k < t.shape.size(); ++k) {
    if (t.shape[k] >= 0)
      shape.append(t.shape[k]);
    else if (!t.dims[k].empty())
      shape.append(t.dims[k]);
    else
      shape.append(py::none());
  }
  d["shape"] = shape;
  return d;
}

/// Compiles `input` into `output`; returns the entry point's signature and
/// the warnings attnc printed. Raises CompileError with every error.
py::dict compileModel(const std::string &input, const std::string &output,
                      const std::string &target, const std::string &emit,
                      const std::string &functionName, bool fuse, bool bf16,
                      bool weightsAsParams,
                      const std::vector<std::string> &inputShapes,
                      const std::vector<std::string> &attentionProbs) {
  std::optional<mlir::attn::EmitKind> kind = mlir::attn::parseEmitKind(emit);
  if (!kind)
    throw CompileError("unknown emit kind '" + emit +
                       "' (expected mlir, dot, stmt, html, asm, obj, header, "
                       "static-lib, shared-lib or ptx)");
  mlir::attn::CompileOptions options;
  options.inputPath = input;
  options.outputPath = output;
  options.target = target;
  options.emit = *kind;
  options.functionName = functionName;
  options.fuse = fuse;
  options.bf16 = bf16;
  options.weightsAsParams = weightsAsParams;
  options.inputShapes = inputShapes;
  options.attentionProbs = attentionProbs;
  options.progress = false;

  std::string errors, warnings;
  mlir::attn::ModelInterface interface;
  bool ok;
  {
    py::gil_scoped_release release;
    mlir::DialectRegistry registry;
    mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
    context.printOpOnDiagnostic(false);
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      if (d.getSeverity() == mlir::DiagnosticSeverity::Remark)
        return mlir::success();
      std::string &sink = d.getSeverity() == mlir::DiagnosticSeverity::Error
                              ? errors
                              : warnings;
      if (!sink.empty())
        sink += "\n";
      sink += mlir::attn::formatDiagnostic(d);
      return mlir::success();
    });
    ok = mlir::succeeded(
        mlir::attn::compile(context, options, nullptr, &interface));
  }
  if (!ok)
    throw CompileError(errors.empty() ? "compilation of '" + input + "' failed"
                                      : errors);
  py::dict result;
  py::list inputs, outputs;
  for (const auto &t : interface.inputs)
    inputs.append(tensorDict(t));
  for (const auto &t : interface.outputs)
    outputs.append(tensorDict(t));
  result["function"] = interface.functionName;
  result["inputs"] = inputs;
  result["outputs"] = outputs;
  result["warnings"] = warnings;
  return result;
}

/// True when numpy dtype `dtype` holds elements of Halide type `t` (a
/// bfloat16 argument also takes uint16 arrays of raw bits).
bool dtypeMatches(const py::dtype &dtype, halide_type_t t) {
  char kind = dtype.kind();
  size_t size = static_cast<size_t>(dtype.itemsize());
  std::string name = py::str(dtype.attr("name"));
  switch (t.code) {
  case halide_type_float:
    return kind == 'f' && size * 8 == t.bits;
  case halide_type_bfloat:
    return name == "bfloat16" || (kind == 'u' && size == 2);
  case halide_type_int:
    return kind == 'i' && size * 8 == t.bits;
  case halide_type_uint:
    if (t.bits == 1)
      return kind == 'b';
    return kind == 'u' && size * 8 == t.bits;
  default:
    return false;
  }
}

/// A halide_buffer_t over a numpy array's memory (ONNX order reversed into
/// Halide's dims), and the dims it points into.
struct BufferView {
  halide_buffer_t buffer;
  std::vector<halide_dimension_t> dims;
};

void describeArray(const py::array &array, const attnc::runtime::Argument &arg,
                   const std::string &what, bool writable, BufferView &view) {
  if (!dtypeMatches(array.dtype(), arg.type))
    throw py::type_error(what + " has element type " +
                         std::string(py::str(array.dtype())) + "; expected " +
                         attnc::runtime::typeName(arg.type));
  if (array.ndim() != arg.rank)
    throw py::value_error(what + " has rank " + std::to_string(array.ndim()) +
                          "; expected " + std::to_string(arg.rank));
  if (!(array.flags() & py::array::c_style))
    throw py::value_error(what + " is not C-contiguous");
  if (writable && !array.writeable())
    throw py::value_error(what + " is not writable");
  // C-contiguous: dense strides outward, also across axes of extent 1,
  // where numpy's own strides may be anything (docs/abi.md).
  int rank = static_cast<int>(array.ndim());
  view.dims.resize(rank);
  int64_t stride = 1;
  for (int k = 0; k < rank; ++k) {
    int64_t extent = array.shape(rank - 1 - k);
    if (extent > std::numeric_limits<int32_t>::max() ||
        stride > std::numeric_limits<int32_t>::max())
      throw py::value_error(what + " is too large for a halide_buffer_t");
    view.dims[k] = {0, static_cast<int32_t>(extent),
                    static_cast<int32_t>(stride), 0};
    stride *= std::max<int64_t>(extent, 1);
  }
  view.buffer = halide_buffer_t();
  view.buffer.host = static_cast<uint8_t *>(const_cast<void *>(array.data()));
  view.buffer.type = arg.type;
  view.buffer.dimensions = rank;
  view.buffer.dim = rank ? view.dims.data() : nullptr;
  view.buffer.flags = writable ? 0 : halide_buffer_flag_host_dirty;
}

/// A compiled model loaded from a shared library.
class Model {
public:
  Model(const std::string &path, const std::string &function)
      : library(std::make_unique<ModelLibrary>(path, function)) {}

  py::list arguments(bool inputs) const {
    py::list result;
    const auto &args =
        inputs ? library->signature().inputs : library->signature().outputs;
    for (const auto &arg : args)
      result.append(py::make_tuple(arg.name, attnc::runtime::typeName(arg.type),
                                   arg.rank));
    return result;
  }

  void setThreads(int threads) const { library->setThreads(threads); }

  std::vector<std::vector<int64_t>>
  outputShapes(const std::vector<py::array> &inputs) const {
    std::vector<BufferView> views(inputs.size());
    std::vector<halide_buffer_t *> buffers = describe(inputs, views, true);
    py::gil_scoped_release release;
    return library->outputShapes(buffers);
  }

  void run(const std::vector<py::array> &inputs,
           const std::vector<py::array> &outputs) const {
    std::vector<BufferView> inViews(inputs.size()), outViews(outputs.size());
    std::vector<halide_buffer_t *> in = describe(inputs, inViews, true);
    std::vector<halide_buffer_t *> out = describe(outputs, outViews, false);
    {
      py::gil_scoped_release release;
      library->run(in, out);
    }
    const auto &names = library->signature().outputs;
    for (size_t i = 0; i < out.size(); ++i) {
      library->syncToHost(out[i], "output '" + names[i].name + "'");
      library->releaseDevice(out[i]);
    }
    for (halide_buffer_t *buffer : in)
      library->releaseDevice(buffer);
  }

private:
  std::vector<halide_buffer_t *> describe(const std::vector<py::array> &arrays,
                                          std::vector<BufferView> &views,
                                          bool areInputs) const {
    const auto &args =
        areInputs ? library->signature().inputs : library->signature().outputs;
    if (arrays.size() != args.size())
      throw py::value_error("expected " + std::to_string(args.size()) +
                            (areInputs ? " inputs, got " : " outputs, got ") +
                            std::to_string(arrays.size()));
    std::vector<halide_buffer_t *> buffers;
    for (size_t i = 0; i < arrays.size(); ++i) {
      describeArray(arrays[i], args[i],
                    std::string(areInputs ? "input '" : "output '") +
                        args[i].name + "'",
                    !areInputs, views[i]);
      buffers.push_back(&views[i].buffer);
    }
    return buffers;
  }

  std::unique_ptr<ModelLibrary> library;
};

} // namespace

PYBIND11_MODULE(_attnc, m) {
  m.doc() = "attnc's compiler driver and runtime loader";
  py::register_exception<CompileError>(m, "CompileError", PyExc_RuntimeError);
  py::register_exception<attnc::runtime::RuntimeError>(m, "RuntimeError",
                                                       PyExc_RuntimeError);
  m.def("compile", &compileModel, py::arg("input"), py::arg("output"),
        py::arg("target"), py::arg("emit"), py::arg("function_name"),
        py::arg("fuse"), py::arg("bf16"), py::arg("weights_as_params"),
        py::arg("input_shapes"), py::arg("attention_probs"),
        "Compiles a model file; returns the entry point's signature.");
  py::class_<Model>(m, "Model")
      .def(py::init<const std::string &, const std::string &>(),
           py::arg("path"), py::arg("function"))
      .def_property_readonly("inputs",
                             [](const Model &m) { return m.arguments(true); })
      .def_property_readonly("outputs",
                             [](const Model &m) { return m.arguments(false); })
      .def("set_threads", &Model::setThreads, py::arg("threads"))
      .def("output_shapes", &Model::outputShapes, py::arg("inputs"))
      .def("run", &Model::run, py::arg("inputs"), py::arg("outputs"));
}
