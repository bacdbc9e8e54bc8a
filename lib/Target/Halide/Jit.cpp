//===- Jit.cpp - Running a model in this process ----------------*- C++ -*-===//
//
// Host tensors and runWithJit: the model compiled by Halide's JIT and run
// on the given inputs (what the unit tests and attnc-conformance use).
//
//===----------------------------------------------------------------------===//

#include "Artifacts.h"
#include "PipelineBuilder.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;

size_t HostTensor::elementBytes(DType dtype) {
  switch (dtype) {
  case DType::F64:
  case DType::I64:
  case DType::U64:
    return 8;
  case DType::F32:
  case DType::I32:
  case DType::U32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
  case DType::U16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 1;
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {

Halide::Type halideTypeOf(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return Halide::Float(32);
  case DType::F64:
    return Halide::Float(64);
  case DType::F16:
    return Halide::Float(16);
  case DType::BF16:
    return Halide::BFloat(16);
  case DType::I64:
    return Halide::Int(64);
  case DType::I32:
    return Halide::Int(32);
  case DType::I16:
    return Halide::Int(16);
  case DType::I8:
    return Halide::Int(8);
  case DType::U64:
    return Halide::UInt(64);
  case DType::U32:
    return Halide::UInt(32);
  case DType::U16:
    return Halide::UInt(16);
  case DType::U8:
    return Halide::UInt(8);
  case DType::Bool:
    return Halide::Bool();
  }
  return Halide::Float(32);
}

FailureOr<DType> dtypeOf(Halide::Type type) {
  for (DType d : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64,
                  DType::I32, DType::I16, DType::I8, DType::U64, DType::U32,
                  DType::U16, DType::U8, DType::Bool})
    if (halideTypeOf(d) == type)
      return d;
  return failure();
}

std::vector<int> reversedSizes(const std::vector<int64_t> &shape) {
  return std::vector<int>(shape.rbegin(), shape.rend());
}

} // namespace

LogicalResult mlir::attn::runWithJit(ModuleOp module,
                                     llvm::ArrayRef<HostTensor> inputs,
                                     std::vector<HostTensor> &outputs) {
  std::vector<std::vector<HostTensor>> inputSets = {
      std::vector<HostTensor>(inputs.begin(), inputs.end())};
  std::vector<std::vector<HostTensor>> outputSets;
  if (failed(runWithJitMany(module, inputSets, outputSets)))
    return failure();
  outputs = std::move(outputSets.front());
  return success();
}

LogicalResult
mlir::attn::runWithJitMany(ModuleOp module,
                           llvm::ArrayRef<std::vector<HostTensor>> inputSets,
                           std::vector<std::vector<HostTensor>> &outputSets) {
  Location loc = module.getLoc();
  return guarded(loc, [&]() -> LogicalResult {
    HalideEmitOptions options;
    options.target = "host";
    FailureOr<Lowered> lowered = buildPipelines(module, options);
    if (failed(lowered))
      return failure();
    PipelineBuilder &pb = *lowered->builder;
    Halide::Target jitTarget = Halide::get_jit_target_from_environment();
    // Compiled once, at the first run.
    Halide::Pipeline shapes = pb.shapesPipeline(), main = pb.pipeline();
    outputSets.clear();
    for (const std::vector<HostTensor> &inputs : inputSets) {
      if (inputs.size() != pb.params.size())
        return emitError(loc) << "expects " << pb.params.size()
                              << " inputs, got " << inputs.size();
      std::vector<HostTensor> inputCopies(inputs.begin(), inputs.end());
      for (size_t k = 0; k < inputs.size(); ++k) {
        HostTensor &in = inputCopies[k];
        if (halideTypeOf(in.dtype) != pb.params[k].type())
          return emitError(loc) << "input " << k << " ('" << pb.params[k].name()
                                << "') has the wrong element type";
        if (static_cast<int>(in.shape.size()) != pb.params[k].dimensions())
          return emitError(loc)
                 << "input " << k << " ('" << pb.params[k].name()
                 << "') expects rank " << pb.params[k].dimensions();
        Halide::Buffer<> buffer(halideTypeOf(in.dtype), in.data.data(),
                                reversedSizes(in.shape));
        pb.params[k].set(buffer);
      }
      // Scalar outputs only: there is no extent to compute.
      int64_t count = pb.numOutputExtents();
      Halide::Buffer<int64_t> extents;
      if (count > 0)
        extents = shapes.realize({static_cast<int>(count)}, jitTarget);
      std::vector<Halide::Buffer<>> buffers;
      std::vector<HostTensor> outputs;
      int64_t pos = 0;
      for (size_t o = 0; o < pb.outputs.size(); ++o) {
        HostTensor out;
        FailureOr<DType> dtype = dtypeOf(pb.outputTypes[o]);
        if (failed(dtype))
          return emitError(loc) << "output " << o << " has no host type";
        out.dtype = *dtype;
        for (size_t d = 0; d < pb.outputShapes[o].size(); ++d)
          out.shape.push_back(extents(static_cast<int>(pos++)));
        out.data.resize(out.numElements() *
                        HostTensor::elementBytes(out.dtype));
        outputs.push_back(std::move(out));
      }
      // An empty output still needs a host pointer: a null one would make
      // the realization a bounds query that computes nothing.
      alignas(8) static char emptyStorage[8];
      for (HostTensor &out : outputs)
        buffers.push_back(Halide::Buffer<>(
            halideTypeOf(out.dtype),
            out.data.empty() ? static_cast<void *>(emptyStorage)
                             : static_cast<void *>(out.data.data()),
            reversedSizes(out.shape)));
      main.realize(Halide::Realization(buffers), jitTarget);
      outputSets.push_back(std::move(outputs));
    }
    return success();
  });
}
