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

def Attn_ScheduleAttr : AttrDef<Attn_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "How the Halide emitter computes one op";
  let description = [{
    The tiling decisions for one op, chosen by `attn-tile` or written by
    hand; the emitter maps each field one to one onto Halide scheduling calls.

    - `vector_width`: lanes of the innermost vectorized loop (1: scalar).
    - `tiles`: op-specific block sizes. `attn.sdpa` on CPUs: `[query block,
      KV block, QK tile rows, QK tile keys, PV tile head dims, PV tile
      rows]` (the last four are register tiles; missing entries take the
      defaults 4 vectors × 6); on GPUs `[query block, KV block]`.
      `attn.matmul` and `attn.linear` on CPUs: `[task rows, panel columns,
      tile rows]`: where the right operand is a matrix shared by every
      batch entry, tasks of `task rows` rows × one panel of columns, summed
      in register tiles of `tile rows` × `panel columns` (a constant right
      operand is stored re-laid out panel by panel).
    - `parallel`: run the outer (batch × heads × blocks) loops on Halide's
      thread pool.
    - `inlined`: compute the op inside its consumers instead of into a
      buffer of its own.
    - `gpu_threads`: when non-zero, map the op onto GPU blocks of this many
      threads (CUDA targets only).
    - `bf16`: compute the products of `attn.sdpa` (Q·Kᵀ and P·V) and of
      `attn.matmul` / `attn.linear` with a constant right operand in
      bfloat16 with float32 accumulation: operands rounded to bfloat16 and
      summed in pairs (AVX512-BF16 `vdpbf16ps` on targets that have it;
      the same arithmetic in generic code elsewhere). CPU schedules only.

    Example: `#attn.schedule<vector_width = 16, tiles = [64, 256], parallel = true>`
  }];
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "1">:$vector_width,
    Attn_TileListParameter:$tiles,
    DefaultValuedParameter<"bool", "false">:$parallel,
    DefaultValuedParameter<"bool", "false">:$inlined,
    DefaultValuedParameter<"int64_t", "0">:$gpu_threads,
    DefaultValuedParameter<"bool", "false">:$bf16
  );
  let skipDefaultBuilders = 1;
  let builders = [
    AttrBuilder<(ins "int64_t":$vector_width, "::llvm::ArrayRef<int64_t>":$tiles,
                     "bool":$parallel, "bool":$inlined, "int64_t":$gpu_threads,
                     CArg<"bool", "false">:$bf16), [{
      return $_get($_ctxt, vector_width, tiles, parallel, inlined, gpu_threads,
                   bf16);
    }]>
  ];
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Base op class
//===----------------------------------------------------------------------===//

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits> {
  // Every op can carry its schedule.
  dag scheduleArg = (ins OptionalAttr<Attn_ScheduleAttr>:$schedule);
}

#endif // ATTNC_DIALECT_ATTN_IR_ATTNBASE_TD
