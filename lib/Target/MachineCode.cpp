//===- MachineCode.cpp - LLVM bitcode to x86-64 machine code ---*- C++ -*-===//
//
// Halide 14 enables the AVX512-VNNI byte dot products (vpdpbusd) only as
// part of its Sapphire Rapids target, whose LLVM CPU also brings AVX512-FP16,
// AVX-VNNI and AMX: code compiled for it may use instructions that an Ice
// Lake or Cascade Lake CPU, which have VNNI, do not. The kernels that need
// VNNI are therefore written by Halide as LLVM bitcode (optimized, not yet
// lowered) and lowered here, by the LLVM attnc links, for the CPU and the
// features of the actual target: every instruction selected is one it has.
//
//===----------------------------------------------------------------------===//

#include "attnc/Target/MachineCode.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"

#include <memory>
#include <optional>

using namespace llvm;

namespace {

/// Emits `module` as `kind` into `path`; returns an error message.
std::string emit(Module &module, TargetMachine &machine, StringRef path,
                 CodeGenFileType kind) {
  std::error_code ec;
  raw_fd_ostream out(path, ec);
  if (ec)
    return "cannot write '" + path.str() + "': " + ec.message();
  {
    // The printer's stream flushes into `out` when the passes go.
    legacy::PassManager passes;
    if (machine.addPassesToEmitFile(passes, out, nullptr, kind))
      return "LLVM cannot emit this file type for " +
             machine.getTargetTriple().str();
    passes.run(module);
  }
  out.close();
  if (out.has_error())
    return "cannot write '" + path.str() + "'";
  return "";
}

} // namespace

std::string mlir::attn::compileBitcode(StringRef bitcode, StringRef cpu,
                                       StringRef features, StringRef object,
                                       StringRef assembly) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();

  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(bitcode);
  if (!buffer)
    return "cannot read '" + bitcode.str() +
           "': " + buffer.getError().message();
  // Each output lowers a module of its own: code generation changes the
  // module it runs on.
  auto lower = [&](StringRef path, CodeGenFileType kind) -> std::string {
    LLVMContext context;
    Expected<std::unique_ptr<Module>> parsed =
        parseBitcodeFile((*buffer)->getMemBufferRef(), context);
    if (!parsed)
      return "cannot parse the bitcode of '" + bitcode.str() +
             "': " + toString(parsed.takeError());
    Module &module = **parsed;
    for (Function &f : module) {
      if (f.isDeclaration())
        continue;
      f.addFnAttr("target-cpu", cpu);
      f.addFnAttr("target-features", features);
      f.addFnAttr("tune-cpu", cpu);
    }
    if (verifyModule(module, &errs()))
      return "the bitcode of '" + bitcode.str() + "' does not verify";
    std::string error;
    Triple triple(module.getTargetTriple());
    const Target *target = TargetRegistry::lookupTarget(triple.str(), error);
    if (!target)
      return error;
    TargetOptions options;
    // As Halide lowers its own modules: contraction into fused
    // multiply-adds where the IR allows it, one section per function.
    options.AllowFPOpFusion = FPOpFusion::Fast;
    options.FunctionSections = true;
    std::unique_ptr<TargetMachine> machine(target->createTargetMachine(
        triple.str(), cpu, features, options, Reloc::PIC_, CodeModel::Small,
        CodeGenOptLevel::Aggressive));
    if (!machine)
      return "LLVM has no target machine for " + triple.str() + " " + cpu.str();
    module.setDataLayout(machine->createDataLayout());
    return emit(module, *machine, path, kind);
  };
  if (!object.empty()) {
    std::string e = lower(object, CodeGenFileType::ObjectFile);
    if (!e.empty())
      return e;
  }
  if (!assembly.empty())
    return lower(assembly, CodeGenFileType::AssemblyFile);
  return "";
}
