//===- MachineCode.h - LLVM bitcode to x86-64 machine code -----*- C++ -*-===//
//
// Code generation for kernels whose CPU features Halide 14 cannot name
// alone: Halide writes their LLVM bitcode, and attnc's own LLVM emits the
// machine code for exactly the CPU features asked for.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_MACHINECODE_H
#define ATTNC_TARGET_MACHINECODE_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::attn {

/// Reads the LLVM bitcode file `bitcode`, gives every function the target
/// CPU `cpu` and the features `features` (an LLVM feature string such as
/// `+avx512f,+avx512vnni`), and writes an object file to `object` and/or
/// assembly to `assembly` (empty: not written). Returns an error message,
/// empty on success.
std::string compileBitcode(llvm::StringRef bitcode, llvm::StringRef cpu,
                           llvm::StringRef features, llvm::StringRef object,
                           llvm::StringRef assembly);

} // namespace mlir::attn

#endif // ATTNC_TARGET_MACHINECODE_H
