//===- FoldWeights.cpp - Computations on weights alone, at compile time ---===//
//
// Some exported models compute on their weights alone at every call:
// DeBERTa-v2 projects its relative-position embeddings through each
// layer's query and key projections (1.2 GFLOP per layer of the base size),
// whatever the input. foldWeightComputations finds those computations,
// runs them once through the JIT on the compiling machine, and puts their
// results in the model as constants, as ONNX Runtime's and OpenVINO's graph
// optimizers do when they load a model.
//
// A computation is folded when every value it reads is a constant, its
// results have static shapes, and it contains an op that does more than
// O(1) work per element (a product, a norm, a reduction, a softmax, a
// convolution): layout ops and elementwise ops on weights alone are left to
// the canonicalizer and the packing of weights, which keep them as cheap
// as a folded constant would be, and would be enlarged by folding (a
// broadcast written out). Values computed the same way from different
// weights (one per layer) share one function with the weights as its
// inputs, compiled once and run once per value.
//
//===----------------------------------------------------------------------===//

#include "FoldWeights.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Dialect/Attn/IR/ConstantData.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/PassManager.h"

#include <map>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Elements a folded result may have: beyond this the model grows by more
/// than the computation costs.
constexpr int64_t kMaxFoldedElements = int64_t(1) << 26;

/// Ops that do more than O(1) work per result element.
bool isCostly(Operation *op) {
  return isa<MatMulOp, LinearOp, LayerNormOp, ReduceOp, SoftmaxOp, LogSoftmaxOp,
             Conv2dOp, EinsumOp, SdpaOp>(op);
}

bool hasStaticResults(Operation *op) {
  return llvm::all_of(op->getResultTypes(), [](Type t) {
    auto r = dyn_cast<RankedTensorType>(t);
    return r && r.hasStaticShape() && r.getNumElements() <= kMaxFoldedElements;
  });
}

/// The values of `func` computed from its constants alone through a costly
/// op, read by something that is not: what to fold, in program order, and
/// the ops computing them.
struct Foldable {
  SmallVector<Value> frontier;
  SmallVector<Operation *> ops;
};

Foldable findFoldable(func::FuncOp func) {
  auto *attnDialect = func->getContext()->getLoadedDialect<AttnDialect>();
  DenseSet<Operation *> fromConstants, costly;
  auto known = [&](Value v) {
    Operation *def = v.getDefiningOp();
    return def && fromConstants.contains(def);
  };
  SmallVector<Operation *> order;
  for (Operation &op : func.getBody().front()) {
    if (op.getDialect() != attnDialect || op.getNumRegions() != 0 ||
        op.getNumResults() == 0 || !isMemoryEffectFree(&op) ||
        !hasStaticResults(&op))
      continue;
    if (isa<ConstantOp>(op)) {
      fromConstants.insert(&op);
      order.push_back(&op);
      continue;
    }
    if (op.getNumOperands() == 0 || !llvm::all_of(op.getOperands(), known))
      continue;
    fromConstants.insert(&op);
    order.push_back(&op);
    if (isCostly(&op) || llvm::any_of(op.getOperands(), [&](Value v) {
          return costly.contains(v.getDefiningOp());
        }))
      costly.insert(&op);
  }
  Foldable f;
  DenseSet<Operation *> needed;
  SmallVector<Operation *> work;
  for (Operation *op : order) {
    if (!costly.contains(op))
      continue;
    for (Value r : op->getResults()) {
      // Booleans are bit-packed in a DenseElementsAttr: not folded.
      if (getElementTypeOrSelf(r.getType()).isInteger(1))
        continue;
      if (llvm::any_of(r.getUsers(), [&](Operation *user) {
            return !fromConstants.contains(user);
          })) {
        f.frontier.push_back(r);
        work.push_back(op);
      }
    }
  }
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!needed.insert(op).second)
      continue;
    for (Value v : op->getOperands())
      work.push_back(v.getDefiningOp());
  }
  for (Operation *op : order)
    if (needed.contains(op))
      f.ops.push_back(op);
  return f;
}

/// Constants passed to the folding functions as inputs (so that one
/// function serves every layer): float tensors of more than this many
/// elements. Smaller ones (shapes, epsilons) stay in the function.
constexpr int64_t kArgumentElements = 64;

bool isArgument(Operation *op) {
  auto c = dyn_cast<ConstantOp>(op);
  if (!c)
    return false;
  auto t = cast<RankedTensorType>(c.getType());
  return isa<FloatType>(t.getElementType()) &&
         t.getNumElements() > kArgumentElements;
}

/// The ops computing `v` among `ops` (program order).
SmallVector<Operation *> sliceOf(Value v, const DenseSet<Operation *> &ops) {
  DenseSet<Operation *> needed;
  SmallVector<Operation *> work = {v.getDefiningOp()};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!op || !ops.contains(op) || !needed.insert(op).second)
      continue;
    for (Value operand : op->getOperands())
      work.push_back(operand.getDefiningOp());
  }
  SmallVector<Operation *> slice;
  for (Operation *op = &v.getParentBlock()->front(); op;
       op = op->getNextNode()) {
    if (needed.contains(op))
      slice.push_back(op);
    if (op == v.getDefiningOp())
      break;
  }
  return slice;
}

/// The structure of a slice: its ops, attributes and types, and which
/// earlier op (or argument) each operand reads; equal for the same
/// computation on different weights.
std::string signatureOf(ArrayRef<Operation *> slice, Value v) {
  DenseMap<Operation *, int64_t> index;
  std::string text;
  llvm::raw_string_ostream os(text);
  for (Operation *op : slice) {
    index[op] = static_cast<int64_t>(index.size());
    os << op->getName() << "(";
    for (Value operand : op->getOperands())
      os << index.lookup(operand.getDefiningOp()) << ":"
         << cast<OpResult>(operand).getResultNumber() << ",";
    os << ")";
    if (!isArgument(op))
      os << op->getAttrDictionary();
    for (Type t : op->getResultTypes())
      os << t;
    os << ";";
  }
  os << "->" << index.lookup(v.getDefiningOp()) << ":"
     << cast<OpResult>(v).getResultNumber();
  return text;
}

FailureOr<DType> hostType(Type element) {
  if (element.isF32())
    return DType::F32;
  if (element.isF16())
    return DType::F16;
  if (element.isBF16())
    return DType::BF16;
  if (element.isF64())
    return DType::F64;
  return failure();
}

} // namespace

LogicalResult mlir::attn::foldWeightComputations(ModuleOp module,
                                                 const std::string &target,
                                                 int64_t *folded) {
  MLIRContext *ctx = module.getContext();
  if (folded)
    *folded = 0;
  for (func::FuncOp func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    Foldable f = findFoldable(func);
    if (f.frontier.empty())
      continue;
    DenseSet<Operation *> foldOps(f.ops.begin(), f.ops.end());
    // Values computed the same way from different weights (one per layer)
    // share one function, compiled once and run once per value.
    struct Group {
      SmallVector<Operation *> slice;
      SmallVector<Value> members;
      SmallVector<SmallVector<Operation *>> arguments;
    };
    std::map<std::string, Group> groups;
    for (Value v : f.frontier) {
      SmallVector<Operation *> slice = sliceOf(v, foldOps);
      Group &g = groups[signatureOf(slice, v)];
      if (g.slice.empty())
        g.slice = slice;
      g.members.push_back(v);
      SmallVector<Operation *> args;
      for (Operation *op : slice)
        if (isArgument(op))
          args.push_back(op);
      g.arguments.push_back(args);
    }
    Location loc = func.getLoc();
    Block &body = func.getBody().front();
    OpBuilder b(ctx);
    for (auto &[signature, g] : groups) {
      OwningOpRef<ModuleOp> foldModule = ModuleOp::create(loc);
      b.setInsertionPointToEnd(foldModule->getBody());
      SmallVector<Type> argTypes;
      for (Operation *op : g.arguments.front())
        argTypes.push_back(op->getResult(0).getType());
      Value first = g.members.front();
      auto fn = b.create<func::FuncOp>(
          loc, "weights", FunctionType::get(ctx, argTypes, {first.getType()}));
      for (size_t i = 0; i < argTypes.size(); ++i)
        fn.setArgAttr(i, "attn.name",
                      b.getStringAttr("weight" + std::to_string(i)));
      fn.setResultAttr(0, "attn.name", b.getStringAttr("folded"));
      Block *entry = fn.addEntryBlock();
      b.setInsertionPointToStart(entry);
      IRMapping map;
      int64_t next = 0;
      for (Operation *op : g.slice) {
        if (isArgument(op))
          map.map(op->getResult(0), entry->getArgument(next++));
        else
          b.clone(*op, map);
      }
      b.create<func::ReturnOp>(loc, map.lookup(first));

      PassManager pm(ctx);
      PipelineOptions pipelineOptions;
      pipelineOptions.target = target;
      buildDefaultPipeline(pm, pipelineOptions);
      if (failed(pm.run(*foldModule)))
        return failure();
      // Each member's weights, row-major.
      std::vector<std::vector<HostTensor>> inputSets;
      for (ArrayRef<Operation *> args : g.arguments) {
        std::vector<HostTensor> inputs;
        for (Operation *op : args) {
          auto type = cast<RankedTensorType>(op->getResult(0).getType());
          std::optional<ConstantBytes> bytes = constantBytes(op->getResult(0));
          FailureOr<DType> dtype = hostType(type.getElementType());
          if (!bytes || failed(dtype))
            return emitError(op->getLoc())
                   << "a weight of type " << type << " cannot be folded";
          HostTensor t;
          t.dtype = *dtype;
          t.shape.assign(type.getShape().begin(), type.getShape().end());
          std::vector<char> raw;
          bytes->append(raw, 0, type.getNumElements());
          t.data.assign(raw.begin(), raw.end());
          inputs.push_back(std::move(t));
        }
        inputSets.push_back(std::move(inputs));
      }
      std::vector<std::vector<HostTensor>> outputSets;
      if (failed(runWithJitMany(*foldModule, inputSets, outputSets)))
        return failure();
      b.setInsertionPointToStart(&body);
      for (auto [value, outputs] : llvm::zip(g.members, outputSets)) {
        auto type = cast<RankedTensorType>(value.getType());
        const HostTensor &out = outputs.front();
        if (out.data.size() != static_cast<size_t>(type.getNumElements()) *
                                   HostTensor::elementBytes(out.dtype))
          return emitError(value.getLoc())
                 << "a folded computation on weights gave " << out.data.size()
                 << " bytes for " << type;
        std::vector<char> bytes(out.data.begin(), out.data.end());
        value.replaceAllUsesWith(
            makeConstant(b, value.getLoc(), type, std::move(bytes), "folded"));
      }
      if (folded)
        *folded += static_cast<int64_t>(g.members.size());
    }
    eraseDeadAttnOps(func);
  }
  return success();
}
