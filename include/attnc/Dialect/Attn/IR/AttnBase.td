//===- AttnBase.td - attn dialect, attributes and base classes -*- tablegen -*-===//
//
// The attn dialect holds attention graphs imported from ONNX. Graph-level ops
// keep ONNX semantics (numpy broadcasting, ONNX axis conventions); kernel-level
// ops such as attn.sdpa are what the fusion passes produce. Every op may carry
// a #attn.schedule that says how the Halide emitter must compute it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_IR_ATTNBASE_TD
#define ATTNC_DIALECT_ATTN_IR_ATTNBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Attention and Transformer graphs, from ONNX to Halide";
  let description = [{
    Tensor ops with ONNX semantics plus fused attention kernels. The algorithm
    is in the ops; how each op is computed (tiling, vectorization,
    parallelism, GPU mapping) is in its `#attn.schedule` attribute.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  // Result types refined from the operands, known shape arithmetic folded
  // (ShapeRefinement.cpp).
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Schedule attribute
//===----------------------------------------------------------------------===//

def Attn_TileListParameter : OptionalArrayRefParameter<"int64_t", "tile sizes"> {
  let parser = [{ ::mlir::attn::parseTileList($_parser) }];
  let printer = [{ ::mlir::attn::printTileList($_printer, $_self) }];
}

def Attn_KernelForm : I32EnumAttr<"KernelForm",
    "the algorithm the emitter uses for an op", [
      I32EnumAttrCase<"generic", 0>,
      I32EnumAttrCase<"flash", 1>,
      I32EnumAttrCase<"blocked", 2>,
      I32EnumAttrCase<"panels", 3>,
      I32EnumAttrCase<"block_sparse", 4>
    ]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

def Attn_KernelFormParameter : EnumParameter<Attn_KernelForm> {
  let defaultValue = "::mlir::attn::KernelForm::generic";
}

def Attn_ScheduleAttr : AttrDef<Attn_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "How the Halide emitter computes one op";
  let description = [{
    The tiling decisions for one op, chosen by `attn-tile` or written by
    hand; the emitter maps each field one to one onto Halide scheduling calls
    and takes no decision of its own: a schedule that leaves a choice open is
    rejected by the verifier (an op without a schedule is computed in its
    reference form: the generic algorithm, one buffer, no tiling).

    - `kind`: the algorithm. `attn.sdpa`: `flash` (the online softmax over
      KV blocks, generic code; CPUs and GPUs) or `blocked` (the same
      recurrence in register tiles; CPUs, static head sizes, floating-point
      elements). `attn.matmul` and `attn.linear`: `generic` (one sum per
      element) or `panels` (register tiles over panels of columns; CPUs, a
      right operand that is one static matrix, floating-point results;
      its columns fill whole panels unless it is a constant, which is
      stored re-laid out panel by panel). A quantized `attn.linear` in
      panels sums its 8-bit products in quads of `k` (vpdpbusd on targets
      with AVX512-VNNI). `attn.graph_attention`: `generic` (the dense
      reference: every score computed; CPUs and GPUs) or `block_sparse`
      (query blocks × key blocks, a block whose adjacency is all false
      skipped whole; CPUs). Every other op: `generic`, the default, which
      is not printed.
    - `vector_width`: lanes of the innermost vectorized loop (1: scalar);
      for `attn.reduce` over its input's innermost axis, lanes of partial
      results along that axis, reduced last.
    - `tiles`: op-specific block sizes, all given. `attn.sdpa`, `blocked`:
      `[query block, KV block, QK tile rows, QK tile keys, PV tile head
      dims, PV tile rows]` (the last four are register tiles); `flash`:
      `[query block, KV block]`. `attn.matmul` and `attn.linear`, `panels`:
      `[task rows, panel columns, tile rows]`: tasks of `task rows` rows ×
      one panel of columns, summed in register tiles of `tile rows` ×
      `panel columns`. `attn.graph_attention`, `block_sparse`: `[query
      block, key block]`. No other op has tiles.
    - `parallel`: run the outer (batch × heads × blocks) loops on Halide's
      thread pool.
    - `task_rows`: with `parallel`, for an op of kind `generic`, each task
      of the thread pool runs this many consecutive iterations of the
      outer loop (rows of a few elements are too little work for a task
      of their own).
    - `inlined`: compute the op inside its consumers instead of into a
      buffer of its own.
    - `gpu_threads`: when non-zero, map the op onto GPU blocks of this many
      threads (CUDA targets only).
    - `bf16`: compute the products of `attn.sdpa` (Q·Kᵀ and P·V) and of
      `attn.matmul` / `attn.linear` with a constant right operand in
      bfloat16 with float32 accumulation: operands rounded to bfloat16 and
      summed in pairs (AVX512-BF16 `vdpbf16ps` on targets that have it;
      the same arithmetic in generic code elsewhere). CPU schedules only.

    Example: `#attn.schedule<kind = flash, vector_width = 16, tiles = [64, 256], parallel = true>`
  }];
  let parameters = (ins
    Attn_KernelFormParameter:$kind,
    DefaultValuedParameter<"int64_t", "1">:$vector_width,
    Attn_TileListParameter:$tiles,
    DefaultValuedParameter<"bool", "false">:$parallel,
    DefaultValuedParameter<"bool", "false">:$inlined,
    DefaultValuedParameter<"int64_t", "0">:$gpu_threads,
    DefaultValuedParameter<"bool", "false">:$bf16,
    DefaultValuedParameter<"int64_t", "1">:$task_rows
  );
  let skipDefaultBuilders = 1;
  let builders = [
    AttrBuilder<(ins "int64_t":$vector_width, "::llvm::ArrayRef<int64_t>":$tiles,
                     "bool":$parallel, "bool":$inlined, "int64_t":$gpu_threads), [{
      return $_get($_ctxt, ::mlir::attn::KernelForm::generic, vector_width,
                   tiles, parallel, inlined, gpu_threads, false, 1);
    }]>,
    AttrBuilder<(ins "::mlir::attn::KernelForm":$kind,
                     "int64_t":$vector_width, "::llvm::ArrayRef<int64_t>":$tiles,
                     "bool":$parallel, "bool":$inlined, "int64_t":$gpu_threads,
                     CArg<"bool", "false">:$bf16), [{
      return $_get($_ctxt, kind, vector_width, tiles, parallel, inlined,
                   gpu_threads, bf16, 1);
    }]>,
    AttrBuilder<(ins "int64_t":$vector_width, "bool":$parallel,
                     "int64_t":$task_rows), [{
      return $_get($_ctxt, ::mlir::attn::KernelForm::generic, vector_width,
                   ::llvm::ArrayRef<int64_t>(), parallel, false, 0, false,
                   task_rows);
    }]>
  ];
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Base op class
//===----------------------------------------------------------------------===//

// The op's schedule agrees with the op (verifyScheduleOf).
def Attn_ScheduledOp : NativeOpTrait<"ScheduledOp"> {
  let cppNamespace = "::mlir::OpTrait::attn";
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, !listconcat(traits, [Attn_ScheduledOp])> {
  // Every op can carry its schedule.
  dag scheduleArg = (ins OptionalAttr<Attn_ScheduleAttr>:$schedule);
}

#endif // ATTNC_DIALECT_ATTN_IR_ATTNBASE_TD
