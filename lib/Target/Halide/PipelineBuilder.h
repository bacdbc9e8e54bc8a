//===- PipelineBuilder.h - attn function to Halide Funcs --------*- C++ -*-===//
//
// Internal to lib/Target/Halide. A PipelineBuilder walks one func.func of
// attn ops and defines a Halide Func per op (THE ALGORITHM), then applies each
// op's #attn.schedule (THE SCHEDULE, in Schedules.cpp). Tensors are indexed in
// ONNX order (outermost axis first) everywhere in attnc; Halide's dimension 0
// is the innermost, so indices are reversed exactly once, in `call`.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_HALIDE_PIPELINEBUILDER_H
#define ATTNC_LIB_TARGET_HALIDE_PIPELINEBUILDER_H

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

#include "Halide.h"

#include <string>
#include <vector>

namespace mlir::attn::halide {

/// A tensor value as Halide sees it.
struct Tensor {
  Halide::Func func;
  /// Extents in ONNX order, as Int(32) expressions of the input extents.
  std::vector<Halide::Expr> shape;
  Halide::Type type;

  int rank() const { return static_cast<int>(shape.size()); }
  /// Calls the Func with indices in ONNX order.
  Halide::Expr call(const std::vector<Halide::Expr> &onnxIndex) const;
};

/// Funcs of a fused attn.sdpa, kept for its schedule.
struct SdpaFuncs {
  Halide::Func out, state, kT, scores, blockMaxPart, blockMax, probs,
      blockSumPart, blockSum, pv;
  Halide::RDom kvBlocks, headDim, kvInBlock, partRows, lanes;
  int64_t lanesCount = 1;
  bool hasKT = false;
};

/// Funcs of a softmax, kept for its schedule.
struct SoftmaxFuncs {
  Halide::Func out, max, exp, sum;
  bool innermost = false;
};

/// Everything an op contributed, for scheduling.
struct OpFuncs {
  Operation *op = nullptr;
  Halide::Func main;
  /// True when `main` has an update stage (reductions).
  bool hasUpdate = false;
  SdpaFuncs sdpa;
  SoftmaxFuncs softmax;
  bool isSdpa = false, isSoftmax = false;
};

class PipelineBuilder {
public:
  explicit PipelineBuilder(func::FuncOp func) : func(func) {}

  /// Defines and schedules every Func. Throws Halide::Error on Halide
  /// errors; returns failure after emitting a diagnostic on attnc errors.
  LogicalResult build(const Halide::Target &target);

  /// The pipeline's arguments: inputs in order (outputs are implicit).
  std::vector<Halide::Argument> arguments() const;
  /// The pipeline computing every output.
  Halide::Pipeline pipeline() const { return Halide::Pipeline(outputs); }
  /// The companion pipeline that writes every output's extents.
  Halide::Pipeline shapesPipeline() const { return Halide::Pipeline(shapes); }
  /// Total number of output extents (the length of the shapes buffer).
  int64_t numOutputExtents() const;

  std::vector<Halide::ImageParam> params;
  std::vector<Halide::Func> outputs;
  std::vector<std::vector<Halide::Expr>> outputShapes;
  std::vector<Halide::Type> outputTypes;
  Halide::Func shapes;

private:
  LogicalResult define(Operation *op, const std::string &name, OpFuncs &funcs);
  Tensor &get(Value value) { return tensors[value]; }
  std::string uniqueName(const std::string &base);

  LogicalResult defineConstant(ConstantOp op, const std::string &name,
                               OpFuncs &funcs);
  LogicalResult defineMatMul(MatMulOp op, const std::string &name,
                             OpFuncs &funcs);
  LogicalResult defineSoftmax(SoftmaxOp op, const std::string &name,
                              OpFuncs &funcs);
  LogicalResult defineSdpa(SdpaOp op, const std::string &name, OpFuncs &funcs);

  func::FuncOp func;
  llvm::DenseMap<Value, Tensor> tensors;
  llvm::StringMap<int> usedNames;
};

/// Halide type of an MLIR element type; fails on types attnc does not map.
FailureOr<Halide::Type> toHalideType(Type type);
/// The type computations run in: float32 for 16-bit floats.
Halide::Type computeType(Halide::Type type);
/// Converts a name into a C identifier usable as a Halide name.
std::string cIdentifier(llvm::StringRef name);

/// Applies an op's schedule to its Funcs (Schedules.cpp).
LogicalResult applySchedule(const OpFuncs &funcs, ScheduleAttr schedule,
                            const Halide::Target &target);
/// Schedules a Func with no op behind it (an output copy).
void scheduleFunc(Halide::Func f, ScheduleAttr schedule);

} // namespace mlir::attn::halide

#endif // ATTNC_LIB_TARGET_HALIDE_PIPELINEBUILDER_H
