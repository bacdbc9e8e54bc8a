//===- Diagnostics.h - How attnc prints its diagnostics ---------*- C++ -*-===//
//
// Errors name the place in the user's model, not in attnc's IR: the file,
// the line where the input has lines (attn .mlir), and the ONNX node the
// op came from. The `attnc` tool and the Python package print them alike.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DRIVER_DIAGNOSTICS_H
#define ATTNC_DRIVER_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::attn {

/// One diagnostic and its notes, one per line, as attnc prints them:
///
///   model.onnx: error: node '/h.0/attn/Slice_3': 'attn.slice' op needs ...
///
/// `file:line:col:` where the location has a line, `node '...': ` where it
/// names an ONNX node (the importer's NameLoc), nothing for unknown
/// locations. No trailing newline.
std::string formatDiagnostic(const Diagnostic &diagnostic);

/// Prints every diagnostic of a context on `os`, as formatDiagnostic
/// formats it, for as long as it lives.
class DiagnosticPrinter : public ScopedDiagnosticHandler {
public:
  DiagnosticPrinter(MLIRContext *context, llvm::raw_ostream &os);
};

} // namespace mlir::attn

#endif // ATTNC_DRIVER_DIAGNOSTICS_H
