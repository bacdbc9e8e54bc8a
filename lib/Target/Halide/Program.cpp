//===- Program.cpp - A model as a program of kernels -----------*- C++ -*-===//
//
// After attn-outline-kernels, a model's function calls its kernels
// (`attn.kernel` functions). Each distinct kernel, for each way its calls
// see their arguments, is a Halide pipeline of its own: its arguments are
// dense buffers of exactly the extents the call passes, given as scalar
// extent parameters, and constants of the program arrive as arguments
// (re-laid out in panels where its products read them so). The program is a
// Halide pipeline of extern stages, one per call, that holds the constants
// and computes the extents; Halide allocates each intermediate buffer before
// the stage that writes it and frees it after its last reader.
//
//===----------------------------------------------------------------------===//

#include "PipelineBuilder.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

#include <map>
#include <sstream>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::halide;
using Halide::Expr;
using Halide::Func;

namespace {

/// The variables an extent expression reads (the program's input extents),
/// in the order first seen.
class FreeVariables : public Halide::Internal::IRGraphVisitor {
public:
  std::vector<std::pair<std::string, Expr>> found;

private:
  using IRGraphVisitor::visit;
  void visit(const Halide::Internal::Variable *op) override {
    for (const auto &[name, e] : found)
      if (name == op->name)
        return;
    found.emplace_back(op->name, Expr(op));
  }
};

std::string printed(const Expr &e) {
  std::ostringstream os;
  os << e;
  return os.str();
}

} // namespace

std::vector<Halide::Argument> PipelineBuilder::kernelArguments() const {
  std::vector<Halide::Argument> args;
  for (int i : usedArgs)
    args.push_back(params[i]);
  for (const Halide::Param<int32_t> &p : extentParams)
    args.push_back(p);
  return args;
}

LogicalResult PipelineBuilder::defineCall(func::CallOp call,
                                          const std::string &name,
                                          OpFuncs &funcs) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      call, call.getCalleeAttr());
  if (!callee || !callee->hasAttr("attn.kernel") || callee.isExternal())
    return call.emitOpError("calls '")
           << call.getCallee()
           << "', which is no kernel (attn-outline-kernels makes them)";

  // The arguments as the kernel sees them: extents in its parameters
  // extent_0, extent_1, ... standing for the program's extents that this
  // call's arguments have, in the order first seen.
  FreeVariables vars;
  for (Value operand : call.getOperands())
    for (const Expr &e : get(operand).shape)
      e.accept(&vars);
  std::map<std::string, Expr> toKernel;
  for (auto [i, entry] : llvm::enumerate(vars.found))
    toKernel[entry.first] = Halide::Internal::Variable::make(
        Halide::Int(32), "extent_" + std::to_string(i));
  std::vector<KernelArgSpec> specs;
  std::string key = call.getCallee().str();
  for (Value operand : call.getOperands()) {
    const Tensor &t = get(operand);
    KernelArgSpec spec;
    for (const Expr &e : t.shape)
      spec.shape.push_back(Halide::Internal::substitute(toKernel, e));
    spec.nonFinite = t.nonFinite;
    key += "|";
    for (const Expr &e : spec.shape)
      key += printed(e) + ",";
    key += spec.nonFinite ? "i" : "";
    specs.push_back(std::move(spec));
  }

  auto [it, inserted] = kernelIndex.try_emplace(key, kernels.size());
  if (inserted) {
    auto kernel = std::make_unique<KernelBuild>();
    kernel->callee = callee;
    int variant = 0;
    for (const auto &k : kernels)
      if (k->callee == callee)
        ++variant;
    // `<entry point>_k<N>_<op>`: the callee's name is `<function>_k<N>_<op>`.
    llvm::StringRef local = callee.getSymName();
    std::string prefix = (func.getSymName() + "_").str();
    if (local.starts_with(prefix))
      local = local.drop_front(prefix.size());
    kernel->symbol =
        cIdentifier(kernelPrefix + "_" + local.str() +
                    (variant ? "_v" + std::to_string(variant) : std::string()));
    auto builder = std::make_unique<PipelineBuilder>(callee);
    builder->isKernel = true;
    builder->applySchedules = applySchedules;
    std::map<std::string, Expr> toParams;
    for (size_t i = 0; i < vars.found.size(); ++i) {
      builder->extentParams.emplace_back("extent_" + std::to_string(i));
      toParams["extent_" + std::to_string(i)] = builder->extentParams.back();
    }
    for (KernelArgSpec &spec : specs)
      for (Expr &e : spec.shape)
        e = Halide::Internal::substitute(toParams, e);
    builder->kernelArgs = std::move(specs);
    if (failed(builder->build(*target)))
      return failure();
    // Arguments the kernel never reads (a weight it reads only re-laid
    // out) are not passed.
    std::vector<Halide::Argument> inferred =
        builder->pipeline().infer_arguments();
    for (size_t i = 0; i < builder->params.size(); ++i)
      if (llvm::any_of(inferred, [&](const Halide::Argument &a) {
            return a.name == builder->params[i].name();
          }))
        builder->usedArgs.push_back(static_cast<int>(i));
    kernel->builder = std::move(builder);
    kernels.push_back(std::move(kernel));
  }
  KernelBuild &kernel = *kernels[it->second];
  ++kernel.calls;
  PipelineBuilder &kb = *kernel.builder;

  std::vector<Halide::ExternFuncArgument> args;
  for (int i : kb.usedArgs) {
    Tensor &t = get(call.getOperand(i));
    if (t.buffer.defined()) {
      args.emplace_back(t.buffer);
    } else if (t.param.defined()) {
      args.emplace_back(t.param);
    } else {
      // Computed by the program (a splat constant, a kernel's result).
      t.func.compute_root();
      args.emplace_back(t.func);
    }
  }
  ProgramCall record;
  record.kernel = it->second;
  record.call = call;
  std::map<std::string, Expr> toProgram;
  for (auto [i, entry] : llvm::enumerate(vars.found)) {
    args.emplace_back(entry.second);
    record.extents.push_back(entry.second);
    toProgram["extent_" + std::to_string(i)] = entry.second;
  }
  programCalls.push_back(std::move(record));

  const Tensor &result =
      kb.tensorOf(callee.getBody().front().getTerminator()->getOperand(0));
  Tensor t;
  t.type = kb.outputTypes.front();
  t.nonFinite = result.nonFinite;
  for (const Expr &e : kb.outputShapes.front())
    t.shape.push_back(
        simplifyKnown(Halide::Internal::substitute(toProgram, e)));
  t.func = Func(name);
  t.func.define_extern(kernel.symbol, args, t.type,
                       static_cast<int>(t.shape.size()),
                       Halide::NameMangling::C, Halide::DeviceAPI::Host);
  funcs.main = t.func;
  tensors[call.getResult(0)] = t;
  return success();
}

Halide::Module PipelineBuilder::programModule(const std::string &name,
                                              const Halide::Target &target,
                                              std::string &arena,
                                              std::vector<DataBlob> *data) {
  using namespace Halide::Internal;
  using Halide::Int;
  Halide::Type bufferPtr = Halide::type_of<struct halide_buffer_t *>();

  // The input checks: a pipeline that reads every input's extents (so that
  // Halide checks each input buffer's type, rank, strides and constraints)
  // and carries the run-time requirements of the program.
  Func check(name + "_check_out");
  Halide::Var i("i");
  Expr sum = Halide::cast<int64_t>(0);
  std::vector<Halide::ImageParam> inputs(params.begin(), params.end());
  for (const Weight &w : weights)
    inputs.push_back(w.param);
  for (const Halide::ImageParam &p : inputs)
    sum += p.dimensions() > 0 ? Halide::cast<int64_t>(p.dim(0).extent())
                              : Halide::cast<int64_t>(p());
  check(i) = sum;
  check.output_buffer().dim(0).set_bounds(0, 1);
  Halide::Pipeline checkPipeline(check);
  addRequirements(checkPipeline);
  // The entry point first (the header declares the functions in order),
  // then `_output_shapes`; the checks are internal.
  Halide::Module module(name, target);
  Halide::Module checkModule =
      checkPipeline.compile_to_module(arguments(), name + "_check", target);
  Halide::Module shapesModule = shapesPipeline().compile_to_module(
      arguments(), name + "_output_shapes", target);

  // Every value a call reads or writes, as a halide_buffer_t *.
  Block &body = func.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  llvm::DenseMap<Value, Expr> buffers;
  llvm::StringSet<> embedded;
  llvm::StringMap<std::string> blobSymbols;
  auto embed = [&](const Halide::Buffer<> &b) -> Expr {
    if (!data) {
      if (embedded.insert(b.name()).second)
        module.append(b);
      return Variable::make(bufferPtr, b.name() + ".buffer", b);
    }
    // A blob of the data object, described by a buffer on the stack.
    auto [it, inserted] = blobSymbols.try_emplace(
        b.name(), name + "_data" + std::to_string(data->size()));
    if (inserted)
      data->push_back(
          {it->second, llvm::ArrayRef<char>(static_cast<const char *>(b.data()),
                                            b.size_in_bytes())});
    BufferBuilder d;
    d.type = b.type();
    d.dimensions = b.dimensions();
    d.host = Call::make(Halide::Handle(), it->second, {}, Call::Extern);
    d.device = Halide::Internal::make_zero(Halide::UInt(64));
    d.device_interface = Halide::Internal::make_zero(Halide::Handle());
    for (int k = 0; k < b.dimensions(); ++k) {
      d.mins.push_back(b.dim(k).min());
      d.extents.push_back(b.dim(k).extent());
      d.strides.push_back(b.dim(k).stride());
    }
    return d.build();
  };
  for (auto [k, arg] : llvm::enumerate(body.getArguments()))
    buffers[arg] = Variable::make(bufferPtr, params[k].name() + ".buffer");
  for (auto [j, value] : llvm::enumerate(returnOp.getOperands()))
    buffers.try_emplace(
        value, Variable::make(bufferPtr, outputs[j].name() + ".buffer"));

  // Intermediates: one arena, each value at an offset; values whose lives
  // (from the call that writes them to the last that reads them) do not
  // overlap share a slot, sized for the largest of them.
  llvm::DenseMap<Value, size_t> lastUse;
  for (auto [c, pc] : llvm::enumerate(programCalls))
    for (Value v : pc.call.getOperands())
      lastUse[v] = c;
  struct Slot {
    Expr bytes;
    size_t freeAfter;
  };
  std::vector<Slot> slots;
  std::vector<std::pair<Value, size_t>> placed;
  for (auto [c, pc] : llvm::enumerate(programCalls)) {
    Value v = pc.call.getResult(0);
    if (buffers.count(v))
      continue;
    const Tensor &t = get(v);
    Expr bytes = Halide::cast<int64_t>(t.type.bytes());
    for (const Expr &e : t.shape)
      bytes = bytes * Halide::cast<int64_t>(e);
    size_t until = lastUse.count(v) ? lastUse[v] : c;
    size_t s = 0;
    while (s < slots.size() && slots[s].freeAfter >= c)
      ++s;
    if (s == slots.size())
      slots.push_back({bytes, until});
    else
      slots[s] = {Halide::max(slots[s].bytes, bytes), until};
    placed.emplace_back(v, s);
  }
  std::vector<Expr> offsets;
  Expr total = Halide::cast<int64_t>(0);
  for (const Slot &slot : slots) {
    offsets.push_back(simplify(total));
    total = total + (slot.bytes + 63) / 64 * 64;
  }
  total = simplify(total);
  {
    std::ostringstream os;
    os << total;
    arena = os.str();
  }
  std::vector<std::pair<std::string, Expr>> lets;
  Expr arenaSize = Halide::cast<int32_t>(Halide::max(total, 64));
  for (auto [v, s] : placed) {
    const Tensor &t = get(v);
    BufferBuilder b;
    b.type = t.type;
    b.dimensions = t.rank();
    b.host = Halide::reinterpret(
        Halide::Handle(),
        Halide::reinterpret(Halide::UInt(64),
                            Variable::make(Halide::Handle(), "arena")) +
            Halide::cast<uint64_t>(offsets[s]));
    b.device = Halide::Internal::make_zero(Halide::UInt(64));
    b.device_interface = Halide::Internal::make_zero(Halide::Handle());
    Expr stride = 1;
    for (int d = 0; d < t.rank(); ++d) {
      Expr extent = t.shape[t.rank() - 1 - d];
      b.mins.push_back(0);
      b.extents.push_back(extent);
      b.strides.push_back(stride);
      stride = simplify(stride * Halide::max(extent, 1));
    }
    std::string var = "value" + std::to_string(lets.size());
    lets.emplace_back(var + ".buffer", b.build());
    buffers[v] = Variable::make(bufferPtr, var + ".buffer");
  }
  // Constants, embedded where a call first reads them: one that no kernel
  // reads (folded into the IR, or read only inside the program) is not
  // stored.
  auto bufferOf = [&](Value v) -> Expr {
    if (Expr e = buffers.lookup(v); e.defined())
      return e;
    Tensor &t = get(v);
    Expr e;
    if (t.buffer.defined())
      e = embed(t.buffer);
    else if (t.param.defined())
      e = Variable::make(bufferPtr, t.param.name() + ".buffer");
    buffers[v] = e;
    return e;
  };

  // The calls, in order; an error code stops the program and is returned.
  std::vector<Stmt> steps;
  for (auto [c, pc] : llvm::enumerate(programCalls)) {
    KernelBuild &kernel = *kernels[pc.kernel];
    std::vector<Expr> args;
    for (int a : kernel.builder->usedArgs)
      args.push_back(bufferOf(pc.call.getOperand(a)));
    for (const Expr &e : pc.extents)
      args.push_back(Halide::cast<int32_t>(e));
    args.push_back(bufferOf(pc.call.getResult(0)));
    std::string rc = "rc" + std::to_string(c);
    Expr rcVar = Variable::make(Int(32), rc);
    steps.push_back(LetStmt::make(
        rc, Call::make(Int(32), kernel.symbol, args, Call::Extern),
        AssertStmt::make(rcVar == 0, rcVar)));
  }
  Stmt program = Halide::Internal::Block::make(steps);
  for (auto &[var, value] : llvm::reverse(lets))
    program = LetStmt::make(var, value, program);
  program =
      Allocate::make("arena", Halide::UInt(8), Halide::MemoryType::Heap,
                     {arenaSize}, Halide::Internal::const_true(), program);
  // The checks first; then the inputs' extents, which the plan reads.
  std::vector<Expr> checkArgs;
  for (const Halide::ImageParam &p : inputs)
    checkArgs.push_back(Variable::make(bufferPtr, p.name() + ".buffer"));
  BufferBuilder checkOut;
  checkOut.type = Halide::Int(64);
  checkOut.dimensions = 1;
  checkOut.host =
      Call::make(Halide::Handle(), Call::alloca, {8}, Call::Intrinsic);
  checkOut.device = Halide::Internal::make_zero(Halide::UInt(64));
  checkOut.device_interface = Halide::Internal::make_zero(Halide::Handle());
  checkOut.mins = {0};
  checkOut.extents = {1};
  checkOut.strides = {1};
  checkArgs.push_back(checkOut.build());
  for (const Halide::ImageParam &p : inputs) {
    Expr buf = Variable::make(bufferPtr, p.name() + ".buffer");
    for (int d = 0; d < p.dimensions(); ++d) {
      program = LetStmt::make(
          p.name() + ".extent." + std::to_string(d),
          Call::make(Int(32), Call::buffer_get_extent, {buf, d}, Call::Extern),
          program);
      program = LetStmt::make(
          p.name() + ".min." + std::to_string(d),
          Call::make(Int(32), Call::buffer_get_min, {buf, d}, Call::Extern),
          program);
      program = LetStmt::make(
          p.name() + ".stride." + std::to_string(d),
          Call::make(Int(32), Call::buffer_get_stride, {buf, d}, Call::Extern),
          program);
    }
  }
  Expr checked = Call::make(Int(32), name + "_check", checkArgs, Call::Extern);
  Expr checkRc = Variable::make(Int(32), "check_rc");
  program = Halide::Internal::Block::make(
      LetStmt::make("check_rc", checked,
                    AssertStmt::make(checkRc == 0, checkRc)),
      program);

  std::vector<Halide::Argument> args = arguments();
  for (auto [j, out] : llvm::enumerate(outputs))
    args.emplace_back(out.name(), Halide::Argument::OutputBuffer,
                      outputTypes[j], static_cast<int>(outputShapes[j].size()),
                      Halide::ArgumentEstimates{});
  module.append(LoweredFunc(name, args, program,
                            Halide::LinkageType::ExternalPlusMetadata,
                            Halide::NameMangling::C));
  for (const Halide::Module *m : {&shapesModule, &checkModule}) {
    for (LoweredFunc f : m->functions()) {
      if (m == &checkModule && f.name == name + "_check")
        f.linkage = Halide::LinkageType::Internal;
      module.append(f);
    }
    for (const Halide::Buffer<> &b : m->buffers())
      if (embedded.insert(b.name()).second)
        module.append(b);
  }
  return module;
}
