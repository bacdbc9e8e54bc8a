//===- OutlineKernels.cpp - The function as a program of kernels -*- C++
//-*-===//
//
// attn-outline-kernels: after tiling, every op that computes into a buffer
// of its own roots a kernel, outlined into a private func.func with the
// `attn.kernel` attribute together with what is computed inside it (inlined
// ops, shape arithmetic, small constants). The function keeps its large
// constants and calls the kernels in order. Kernels that are the same up to
// their arguments are outlined once: a Transformer's layers differ only in
// their weights, so a deep model has about as many distinct kernels as one
// layer. The Halide emitter compiles each distinct kernel as a pipeline of
// its own and the function as the program that calls them.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNOUTLINEKERNELS
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Tensors of at most this many elements are computed where they are read
/// (the emitter knows their elements before the run).
constexpr int64_t kSmallElements = 64;

bool isSmallStatic(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  return ranked && ranked.hasStaticShape() &&
         ranked.getNumElements() <= kSmallElements;
}

/// Shape arithmetic: a small static integer result.
bool isShapeValue(Operation *op) {
  if (op->getNumResults() != 1 || !isSmallStatic(op->getResult(0).getType()))
    return false;
  return isa<IntegerType, IndexType>(
      getElementTypeOrSelf(op->getResult(0).getType()));
}

bool isInlined(Operation *op) {
  auto schedule = dyn_cast_or_null<ScheduleAttr>(op->getAttr("schedule"));
  return schedule && schedule.getInlined();
}

/// A constant cloned into the kernels that read it: splats, integers of
/// shape arithmetic and scalars. Others (weights, norm scales) are arguments,
/// so that layers which differ only in them share their kernels.
bool isClonedConstant(Value value) {
  // Splats are an expression, not data.
  if (auto constant = value.getDefiningOp<ConstantOp>())
    if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
        dense && dense.isSplat())
      return true;
  if (!isSmallStatic(value.getType()))
    return false;
  auto type = cast<RankedTensorType>(value.getType());
  return type.getNumElements() <= 1 ||
         isa<IntegerType, IndexType>(type.getElementType());
}

/// Computed inside the kernels that read it, never a kernel of its own
/// (unless the function returns it).
bool isComputedInside(Operation *op) {
  if (auto constant = dyn_cast<ConstantOp>(op))
    return isClonedConstant(constant.getResult());
  return isShapeValue(op) || isInlined(op);
}

class KernelOutliner {
public:
  KernelOutliner(ModuleOp module, func::FuncOp func)
      : module(module), func(func), lastInserted(func) {}

  LogicalResult run();

private:
  /// Whether `value` is read by a kernel as an argument.
  bool isArgument(Value value) const {
    Operation *def = value.getDefiningOp();
    if (!def)
      return true;
    if (isa<ConstantOp>(def))
      return !isClonedConstant(value);
    // A kernel outlined before, or one to be.
    return isa<func::CallOp>(def) || roots.contains(def);
  }
  /// Outlines the kernel computing result `resultIndex` of `root`.
  void outline(Operation *root, unsigned resultIndex);

  ModuleOp module;
  func::FuncOp func;
  llvm::SetVector<Operation *> roots;
  /// Printed kernel body → its function, for deduplication.
  llvm::StringMap<func::FuncOp> distinct;
  Operation *lastInserted;
  int64_t numKernels = 0;
};

void KernelOutliner::outline(Operation *root, unsigned resultIndex) {
  // The ops computed inside: the root and, transitively, what it reads
  // that is computed inside, in the post-order of a walk from the root
  // through the operands in order: the same computation gives the same
  // order whatever order the function holds its ops in.
  llvm::SetVector<Operation *> ops;
  llvm::SmallVector<std::pair<Operation *, unsigned>> stack = {{root, 0}};
  llvm::DenseSet<Operation *> seen = {root};
  while (!stack.empty()) {
    auto &[op, next] = stack.back();
    if (next == op->getNumOperands()) {
      ops.insert(op);
      stack.pop_back();
      continue;
    }
    Value operand = op->getOperand(next++);
    if (isArgument(operand))
      continue;
    Operation *def = operand.getDefiningOp();
    if (seen.insert(def).second)
      stack.push_back({def, 0});
  }
  // Arguments in the order the kernel first reads them.
  llvm::SetVector<Value> arguments;
  for (Operation *op : ops)
    for (Value operand : op->getOperands())
      if (isArgument(operand))
        arguments.insert(operand);

  Value result = root->getResult(resultIndex);
  OpBuilder b(module.getContext());
  SmallVector<Type> argTypes;
  for (Value v : arguments)
    argTypes.push_back(v.getType());
  auto type = b.getFunctionType(argTypes, {result.getType()});
  auto kernel = func::FuncOp::create(root->getLoc(), "kernel", type);
  kernel.setPrivate();
  kernel->setAttr("attn.kernel", b.getUnitAttr());
  // The result is named after the op, for the generated code's names.
  kernel.setResultAttr(0, "attn.name",
                       b.getStringAttr(root->getName().stripDialect()));
  Block *entry = kernel.addEntryBlock();
  IRMapping mapping;
  for (auto [v, arg] : llvm::zip(arguments, entry->getArguments()))
    mapping.map(v, arg);
  b.setInsertionPointToEnd(entry);
  for (Operation *op : ops)
    b.clone(*op, mapping);
  b.create<func::ReturnOp>(root->getLoc(), mapping.lookup(result));

  // The same body (and signature) seen before: call that kernel.
  std::string key;
  {
    llvm::raw_string_ostream os(key);
    os << type;
    OpPrintingFlags flags;
    flags.printGenericOpForm().useLocalScope();
    for (Operation &op : entry->getOperations())
      op.print(os, flags);
  }
  func::FuncOp callee;
  auto [it, inserted] = distinct.try_emplace(key, kernel);
  if (inserted) {
    std::string name =
        (func.getSymName() + "_k" + llvm::Twine(distinct.size() - 1) + "_" +
         root->getName().stripDialect())
            .str();
    for (char &c : name)
      if (c == '.')
        c = '_';
    kernel.setSymName(name);
    // After the function, in the order of their first calls.
    module.getBody()->getOperations().insert(
        std::next(Block::iterator(lastInserted)), kernel);
    lastInserted = kernel;
    callee = kernel;
  } else {
    kernel.erase();
    callee = it->second;
  }
  ++numKernels;

  b.setInsertionPoint(root);
  auto call =
      b.create<func::CallOp>(root->getLoc(), callee, arguments.getArrayRef());
  result.replaceAllUsesWith(call.getResult(0));
}

LogicalResult KernelOutliner::run() {
  Block &body = func.getBody().front();
  Operation *terminator = body.getTerminator();
  llvm::DenseSet<Value> returned;
  for (Value v : terminator->getOperands()) {
    // A kernel writes each output: an output that is an input, a constant
    // or another output leaves the function whole (one pipeline).
    Operation *def = v.getDefiningOp();
    if (!def || isa<ConstantOp>(def) || !returned.insert(v).second)
      return success();
  }
  for (Operation &op : body.without_terminator()) {
    if (!op.getDialect() || !isa<AttnDialect>(op.getDialect()))
      return op.emitOpError("cannot be part of a kernel: expects attn ops");
    bool isReturned = llvm::any_of(
        op.getResults(), [&](Value r) { return returned.contains(r); });
    if (isa<ConstantOp>(op) || (isComputedInside(&op) && !isReturned))
      continue;
    roots.insert(&op);
  }
  for (Operation *root : roots)
    for (OpResult r : root->getResults())
      if (!r.use_empty())
        outline(root, r.getResultNumber());
  // What the kernels compute inside is no longer read by the function.
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (!isa<func::CallOp>(op) && op->use_empty())
      op->erase();
  func->setAttr("attn.kernels",
                Builder(func.getContext()).getI64IntegerAttr(numKernels));
  return success();
}

struct AttnOutlineKernelsPass
    : public mlir::attn::impl::AttnOutlineKernelsBase<AttnOutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isExternal() && !fn->hasAttr("attn.kernel") &&
          !fn->hasAttr("attn.kernels"))
        functions.push_back(fn);
    for (func::FuncOp fn : functions) {
      if (!fn.getBody().hasOneBlock()) {
        fn.emitError("expects a function with a single block");
        return signalPassFailure();
      }
      if (failed(KernelOutliner(module, fn).run()))
        return signalPassFailure();
    }
  }
};

} // namespace
