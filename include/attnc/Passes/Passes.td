//===- Passes.td - attn dialect passes -------------------------*- tablegen -*-===//
//
// The passes that prepare an imported graph for the Halide emitter: fusion
// into kernel-level ops, then a schedule on every op.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_PASSES_PASSES_TD
#define ATTNC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnResolveReshapes : Pass<"attn-resolve-reshapes", "func::FuncOp"> {
  let summary = "Turns reshapes to shapes read off the input's own extents "
                "into static reshapes";
  let description = [{
    An `attn.reshape_dynamic` whose every target entry is a constant or an
    extent the graph proves equal to the input's extent on the same axis
    (a head split `Concat(Shape(x)[0], Shape(x)[1], -1, 64)`, a head merge)
    becomes `attn.reshape` with 0 ("copy this axis") for those entries, so
    that the canonicalizer can give the result the static extents that
    follow, the -1 included. Other reshapes are left as they are.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnLiftHeadMerges : Pass<"attn-lift-head-merges", "func::FuncOp"> {
  let summary = "Rewrites attention computed over merged batch and heads "
                "over the heads";
  let description = [{
    Attention written over batch and heads merged into one axis (DeBERTa-v2
    and BLOOM: Q, K and V reshaped to `[B·H, S, D]`, rank-3 products, the
    scores reshaped to `[B, H, S, S]` only around the mask and the softmax)
    is rewritten over `[B, H, S, D]`: a merge (a reshape of `[A, B, M, N]` to
    `[A·B, M, N]` that the graph proves keeps the inner extents) moves after
    the products of two merges with equal head extents, the transpose of the
    last two axes and ops with a scalar; a split of a merge into the same
    heads is the merged tensor, and a split of a sum with a merged addend
    splits the other addend (broadcast to the sum's shape unless it is
    proven to have it). The function is canonicalized after a rewrite, so
    that attention fusion sees the rank-4 form.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnFuseAttention : Pass<"attn-fuse-attention", "func::FuncOp"> {
  let summary = "Fuses attention cores, however exported, into attn.sdpa";
  let description = [{
    Every softmax over the last axis of a rank-4 tensor is a candidate. The
    pass walks back from it to Q·Kᵀ through scales (`mul`/`div` by a scalar
    constant, on the scores, on Q, on K or split over both), additive masks
    (`add` of any broadcastable tensor) and boolean masks (`select` with a
    fill of -inf, the lowest float or at most -10000), and forward to the
    product with V, through an optional NaN-to-zero guard (which becomes
    `zero_masked_rows`). Kᵀ may be any [B, H, D, Nk] value; K and V heads
    repeated for grouped-query attention (unsqueeze, expand, reshape) become
    `kv_group`. Every intermediate must have no other user. With `report`,
    each candidate gets a remark: fused, or the part of the pattern that
    failed and the node where it did.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark per candidate: fused, or why not and where">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnFuseNormAct : Pass<"attn-fuse-norm-act", "func::FuncOp"> {
  let summary = "Fuses norms and GELUs written as primitive ops";
  let description = [{
    RMSNorm (`x · 1/sqrt(mean(x²) + ε) · w`) and LayerNorm
    (`(x - mean) / sqrt(mean((x - mean)²) + ε) · w + b`) over the last axis
    become `attn.layer_norm`; GELU in its erf form (`0.5 · x · (1 +
    erf(x/√2))`) and its tanh form (`0.5 · x · (1 + tanh(√(2/π) · (x +
    0.044715 x³)))`, x³ as a power or a product) becomes `attn.gelu`.
    Products match in any order and association; every intermediate must
    have no other user. Candidates are every mean over the last axis shaped
    like a norm and every erf and tanh; with `report`, each gets a remark:
    fused, or which part failed and at which node.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark per candidate: fused, or why not and where">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnFuseEpilogues : Pass<"attn-fuse-epilogues", "func::FuncOp"> {
  let summary = "Fuses the ops around matrix products and norms";
  let description = [{
    First, a patch embedding (attn.conv2d with stride = kernel, no
    padding, dilation or groups, constant weights) becomes a matmul of the
    patches with the weights between layout ops. Then three rewrites, in
    order:
    - projections: matmuls of one input by constant [K, N] weights (Q, K
      and V; gate and up) become one matmul over the weights concatenated
      along N (their constant biases too), read back through slices;
    - epilogues: a matmul followed by a bias add, an activation (relu,
      attn.gelu, silu as x · sigmoid(x), sigmoid, tanh) and a residual add,
      each step the only user of the one before, becomes `attn.linear`;
    - a residual add read only by an attn.layer_norm becomes that norm's
      `residual` operand.
    With `report`, each rewrite gets a remark.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark per fused epilogue and merged projection">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnExposeProbs : Pass<"attn-expose-probs", "::mlir::ModuleOp"> {
  let summary = "Returns the attention probabilities of chosen attn.sdpa ops";
  let description = [{
    For every attention op whose location names one of `ops` (a node name
    or a part of one; `all` selects every one), appends its probabilities
    [B, H, Nq, Nk] to the function's results, named `<node>_probs`. For an
    `attn.sdpa`, `softmax(scale · Q·Kᵀ + mask)` with its causal mask is
    recomputed next to the fused op, which is unchanged; for attention left
    unfused, the softmax whose result multiplies the values is returned.
    Without this pass nothing is computed. A name that selects no attention
    op is an error listing them.
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "Node names (or parts of them) of the attention ops; 'all'">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnTile : Pass<"attn-tile", "func::FuncOp"> {
  let summary = "Gives every op a #attn.schedule for the target";
  let description = [{
    Chooses vector width, block sizes, parallel loops and GPU mapping per op
    from the target and the shapes. Ops that already carry a schedule keep
    it, so a schedule written by hand overrides the heuristic.
  }];
  let options = [
    Option<"target", "target", "std::string",
           /*default=*/"\"x86-64-linux-avx512\"",
           "Halide target string the schedules are chosen for">,
    Option<"bf16", "bf16", "bool", /*default=*/"false",
           "Products of attn.sdpa and of attn.matmul / attn.linear with "
           "constant weights in bfloat16 with float32 accumulation (CPU "
           "targets)">,
    Option<"weightsParam", "weights-param", "bool", /*default=*/"false",
           "Constants are filled in at run time (attnc --weights=param): "
           "none can be re-laid out at compile time">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnPackWeights : Pass<"attn-pack-weights", "::mlir::ModuleOp"> {
  let summary = "Re-lays out the constant right operands of products "
                "scheduled in panels";
  let description = [{
    A product (attn.matmul, attn.linear) whose schedule has kind `panels`
    and whose right operand is a constant compiled into the code reads it
    through `attn.from_panels` of a new constant: its columns in panels of
    the schedule's width (tiles[1]), in bfloat16 pairs of k when the
    schedule says `bf16`. Runs after attn-tile.
  }];
  let options = [
    Option<"weightsParam", "weights-param", "bool", /*default=*/"false",
           "Constants are filled in at run time (attnc --weights=param): "
           "only those compiled in are packed">,
    Option<"releaseSources", "release-sources", "bool", /*default=*/"false",
           "Free the data of each constant the panels replace when no "
           "other constant of the module holds it; only for a module whose "
           "constants no other module shares (no clone of it)">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnOutlineKernels : Pass<"attn-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Partitions each function into kernels, outlined and "
                "deduplicated";
  let description = [{
    The unit of code generation. Every op that computes into a buffer of its
    own (its schedule does not say `inlined`; not a constant; not shape
    arithmetic, that is a static integer tensor of at most 64 elements)
    roots a kernel: the op itself with the inlined ops, shape arithmetic,
    splats, integer constants of at most 64 elements and scalars that it
    reads, cloned in the post-order of a walk from the root, as a private
    `func.func` with the `attn.kernel` attribute. The function calls the
    kernels in order (`func.call`, at the root's location); other constants
    stay in the function and are passed to the kernels as arguments. Kernels identical up to those arguments (every layer of a
    Transformer) are one function called several times; the function gets
    `attn.kernels`, its number of calls. An op whose
    result is returned roots a kernel even when inlined; an op with several
    used results roots one kernel per result. A function that returns an
    input, a constant or one value twice is left whole.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::func::FuncDialect"];
}

#endif // ATTNC_PASSES_PASSES_TD
