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
// broadcast written out).
//
//===----------------------------------------------------------------------===//

#include "FoldWeights.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Target/Halide/HalideEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/PassManager.h"

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
    // One function of no inputs returning every value to fold.
    Location loc = func.getLoc();
    OwningOpRef<ModuleOp> foldModule = ModuleOp::create(loc);
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(foldModule->getBody());
    SmallVector<Type> types;
    for (Value v : f.frontier)
      types.push_back(v.getType());
    auto fn = b.create<func::FuncOp>(loc, "weights",
                                     FunctionType::get(ctx, {}, types));
    for (size_t i = 0; i < types.size(); ++i)
      fn.setResultAttr(i, "attn.name",
                       b.getStringAttr("folded" + std::to_string(i)));
    b.setInsertionPointToStart(fn.addEntryBlock());
    IRMapping map;
    for (Operation *op : f.ops)
      b.clone(*op, map);
    SmallVector<Value> results;
    for (Value v : f.frontier)
      results.push_back(map.lookup(v));
    b.create<func::ReturnOp>(loc, results);

    PassManager pm(ctx);
    PipelineOptions pipelineOptions;
    pipelineOptions.target = target;
    buildDefaultPipeline(pm, pipelineOptions);
    if (failed(pm.run(*foldModule)))
      return failure();
    std::vector<HostTensor> outputs;
    if (failed(runWithJit(*foldModule, {}, outputs)))
      return failure();
    if (outputs.size() != f.frontier.size())
      return emitError(loc)
             << "folding the computations on weights gave " << outputs.size()
             << " results for " << f.frontier.size() << " values";

    Block &body = func.getBody().front();
    b.setInsertionPointToStart(&body);
    for (auto [value, out] : llvm::zip(f.frontier, outputs)) {
      auto type = cast<RankedTensorType>(value.getType());
      ArrayRef<char> raw(reinterpret_cast<const char *>(out.data.data()),
                         out.data.size());
      bool splat = false;
      if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
        return emitError(value.getLoc())
               << "a folded computation on weights gave " << out.data.size()
               << " bytes for " << type;
      Value constant = b.create<ConstantOp>(
          value.getLoc(), DenseElementsAttr::getFromRawBuffer(type, raw));
      value.replaceAllUsesWith(constant);
    }
    eraseDeadAttnOps(func);
    if (folded)
      *folded += static_cast<int64_t>(f.frontier.size());
  }
  return success();
}
