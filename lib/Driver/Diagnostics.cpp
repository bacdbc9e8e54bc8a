//===- Diagnostics.cpp - How attnc prints its diagnostics -------*- C++ -*-===//
//
// See Diagnostics.h: a location is printed as the file (and line, where it
// has one) and the ONNX node it names; the op itself is left out unless the
// user asks for it (--mlir-print-op-on-diagnostic).
//
//===----------------------------------------------------------------------===//

#include "attnc/Driver/Diagnostics.h"
#include "attnc/Dialect/Attn/IR/AttnBuilders.h"

#include "mlir/IR/Location.h"

using namespace mlir;

namespace {

const char *severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

void formatOne(llvm::raw_ostream &os, const Diagnostic &d) {
  Location loc = d.getLocation();
  if (auto file = loc->findInstanceOf<FileLineColLoc>()) {
    os << file.getFilename().getValue();
    if (file.getLine() > 0)
      os << ":" << file.getLine() << ":" << file.getColumn();
    os << ": ";
  }
  os << severityName(d.getSeverity()) << ": ";
  std::string node = attn::getNodeName(loc);
  if (!node.empty())
    os << "node '" << node << "': ";
  os << d.str();
}

} // namespace

std::string mlir::attn::formatDiagnostic(const Diagnostic &diagnostic) {
  std::string text;
  llvm::raw_string_ostream os(text);
  formatOne(os, diagnostic);
  for (const Diagnostic &note : diagnostic.getNotes()) {
    os << "\n";
    formatOne(os, note);
  }
  return os.str();
}

mlir::attn::DiagnosticPrinter::DiagnosticPrinter(MLIRContext *context,
                                                 llvm::raw_ostream &os)
    : ScopedDiagnosticHandler(context, [&os](Diagnostic &d) {
        os << formatDiagnostic(d) << "\n";
        os.flush();
        return success();
      }) {}
