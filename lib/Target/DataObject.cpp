//===- DataObject.cpp - Constant data as a relocatable object ---*- C++ -*-===//

#include "attnc/Target/DataObject.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"

#include <mutex>

using namespace llvm;

std::string mlir::attn::writeDataObject(StringRef triple,
                                        ArrayRef<DataBlob> blobs,
                                        StringRef path) {
  static std::once_flag initialized;
  std::call_once(initialized, []() {
    InitializeAllTargetInfos();
    InitializeAllTargets();
    InitializeAllTargetMCs();
    InitializeAllAsmPrinters();
  });
  std::string error;
  const Target *target = TargetRegistry::lookupTarget(triple.str(), error);
  if (!target)
    return "no LLVM target for " + triple.str() + ": " + error;
  std::unique_ptr<TargetMachine> machine(target->createTargetMachine(
      triple.str(), "generic", "", TargetOptions(), Reloc::PIC_));
  if (!machine)
    return "cannot create an LLVM target machine for " + triple.str();

  LLVMContext context;
  Module module("attnc_data", context);
  module.setTargetTriple(triple.str());
  module.setDataLayout(machine->createDataLayout());
  Type *ptr = PointerType::get(context, 0);
  for (const DataBlob &blob : blobs) {
    Constant *init = ConstantDataArray::getRaw(
        StringRef(blob.bytes.data(), blob.bytes.size()), blob.bytes.size(),
        Type::getInt8Ty(context));
    auto *global =
        new GlobalVariable(module, init->getType(),
                           /*isConstant=*/true, GlobalValue::PrivateLinkage,
                           init, blob.symbol + "_data");
    global->setAlignment(Align(64));
    global->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    auto *fn =
        Function::Create(FunctionType::get(ptr, false),
                         GlobalValue::ExternalLinkage, blob.symbol, module);
    fn->setDoesNotThrow();
    IRBuilder<> b(BasicBlock::Create(context, "entry", fn));
    b.CreateRet(global);
  }

  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return "cannot write '" + path.str() + "': " + ec.message();
  legacy::PassManager pm;
  if (machine->addPassesToEmitFile(pm, os, nullptr,
                                   CodeGenFileType::ObjectFile))
    return "LLVM cannot write objects for " + triple.str();
  pm.run(module);
  os.flush();
  if (os.has_error())
    return "cannot write '" + path.str() + "'";
  return "";
}
