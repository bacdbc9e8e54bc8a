//===- ResolveReshapes.cpp - Reshapes to shapes read off extents -*- C++
//-*-===//
//
// attn-resolve-reshapes: exporters write a head split as
// Reshape(x, Concat(Shape(x)[0], Shape(x)[1], -1, 64)) and a head merge as
// Reshape(y, Concat(Shape(y)[0], Shape(y)[1], -1)); with dynamic batch and
// sequence the shape is a run-time value (attn.reshape_dynamic) and the head
// count it implies stays `?`, although it is fixed by the model. Where
// every entry of the target shape is a constant or an extent that the graph
// proves equal to the input's extent on the same axis (extentOf), the
// reshape becomes attn.reshape with ONNX's 0 ("copy this axis") for those
// entries; the canonicalizer then gives its result, and everything after
// it, the static extents that follow (the -1 included). Downstream, the
// head split is a layout op like any static reshape: inlined into its
// consumer and read in place, and attention sees a static head count.
//
//===----------------------------------------------------------------------===//

#include "AttentionMatching.h"

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNRESOLVERESHAPES
#include "attnc/Passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::fusion;

namespace {

/// The static target shape of `r` in attn.reshape's terms, or nullopt
/// where an entry is neither a constant nor the input's own extent on that
/// axis.
std::optional<SmallVector<int64_t>> staticSpec(ReshapeDynamicOp r) {
  auto shapeType = cast<RankedTensorType>(r.getShape().getType());
  auto in = cast<RankedTensorType>(r.getInput().getType());
  if (shapeType.getRank() != 1 || shapeType.isDynamicDim(0))
    return std::nullopt;
  SmallVector<int64_t> spec;
  int64_t inferred = 0;
  for (int64_t k = 0, e = shapeType.getDimSize(0); k < e; ++k) {
    auto [known, scalar] = shapeEntry(r.getShape(), k);
    if (known) {
      // A 0 means an empty axis under allowzero and a copy otherwise.
      if (*known < -1 || (*known == 0 && r.getAllowzero()))
        return std::nullopt;
      inferred += *known == -1;
      spec.push_back(*known);
      continue;
    }
    std::optional<Extent> held = scalar ? extentHeldBy(scalar) : std::nullopt;
    if (!held)
      return std::nullopt;
    if (!ShapedType::isDynamic(held->size) && held->size > 0) {
      spec.push_back(held->size);
      continue;
    }
    // The input's own extent on this axis: copied (0), which is what the
    // run-time entry holds, whatever the rule for 0.
    if (k >= in.getRank() || !(*held == extentOf(r.getInput(), k)))
      return std::nullopt;
    spec.push_back(0);
  }
  // A shape of constants alone is the canonicalizer's (it folds once the
  // input's type is refined); only copies of run-time extents are new.
  if (inferred > 1 || !llvm::is_contained(spec, 0))
    return std::nullopt;
  return spec;
}

struct AttnResolveReshapesPass
    : public mlir::attn::impl::AttnResolveReshapesBase<
          AttnResolveReshapesPass> {
  void runOnOperation() override {
    SmallVector<ReshapeDynamicOp> reshapes;
    getOperation().walk([&](ReshapeDynamicOp r) { reshapes.push_back(r); });
    for (ReshapeDynamicOp r : reshapes) {
      std::optional<SmallVector<int64_t>> spec = staticSpec(r);
      if (!spec)
        continue;
      OpBuilder b(r);
      auto reshape = b.create<ReshapeOp>(r.getLoc(), r.getType(), r.getInput(),
                                         b.getDenseI64ArrayAttr(*spec),
                                         /*schedule=*/ScheduleAttr());
      // The node's name and the like travel with it.
      for (NamedAttribute a : r->getDiscardableAttrs())
        reshape->setAttr(a.getName(), a.getValue());
      r.getResult().replaceAllUsesWith(reshape.getResult());
      r.erase();
    }
  }
};

} // namespace
