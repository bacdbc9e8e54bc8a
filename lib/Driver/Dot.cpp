//===- Dot.cpp - The attn graph as Graphviz DOT ---------------------------===//
//
// attnc --emit=dot: each function of the module after the pass pipeline as
// a directed graph: one node per op (its op name, ONNX node and result
// type), one edge per use. Fused ops (attn.sdpa, attn.additive_attention,
// attn.hard_attention, attn.layer_norm, attn.gelu, attn.rotary) are filled;
// weights and scalar constants are left out to keep the graph readable.
//
//===----------------------------------------------------------------------===//

#include "Dot.h"

#include "attnc/Dialect/Attn/IR/AttnBuilders.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Text safe inside a DOT double-quoted string.
std::string escape(StringRef text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

std::string typeText(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return os.str();
}

bool isFused(Operation *op) {
  return isa<SdpaOp, AdditiveAttentionOp, HardAttentionOp, LayerNormOp, GeluOp,
             LinearOp, RotaryOp>(op);
}

} // namespace

void mlir::attn::writeDot(ModuleOp module, llvm::raw_ostream &os) {
  os << "digraph attn {\n"
     << "  rankdir=TB;\n"
     << "  node [shape=box, style=\"rounded\", fontname=\"Helvetica\", "
        "fontsize=10];\n";
  int cluster = 0;
  module.walk([&](func::FuncOp func) {
    llvm::DenseMap<Value, std::string> ids;
    os << "  subgraph cluster_" << cluster++ << " {\n"
       << "    label=\"" << escape(func.getSymName()) << "\";\n";
    int next = 0;
    for (BlockArgument arg : func.getArguments()) {
      std::string id = "n" + std::to_string(next++);
      ids[arg] = id;
      std::string name;
      if (auto n = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                     "attn.name"))
        name = n.str();
      os << "    " << id << " [shape=ellipse, label=\""
         << escape(name + "\n" + typeText(arg.getType())) << "\"];\n";
    }
    func.walk([&](Operation *op) {
      if (isa<func::FuncOp>(op))
        return;
      // Weights and scalars would crowd the picture.
      if (isa<ConstantOp>(op))
        return;
      std::string id = "n" + std::to_string(next++);
      for (Value r : op->getResults())
        ids[r] = id;
      if (isa<func::ReturnOp>(op)) {
        os << "    " << id << " [shape=ellipse, label=\"outputs\"];\n";
      } else {
        std::string label = op->getName().getStringRef().str();
        std::string node = getNodeName(op->getLoc());
        if (!node.empty())
          label += "\n" + node;
        if (op->getNumResults())
          label += "\n" + typeText(op->getResult(0).getType());
        os << "    " << id << " [label=\"" << escape(label) << "\"";
        if (isFused(op))
          os << ", style=\"rounded,filled\", fillcolor=\"#9fd89f\", "
                "penwidth=2";
        os << "];\n";
      }
      for (Value operand : op->getOperands()) {
        auto it = ids.find(operand);
        if (it != ids.end())
          os << "    " << it->second << " -> " << id << ";\n";
      }
    });
    os << "  }\n";
  });
  os << "}\n";
}
