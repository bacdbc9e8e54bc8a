//===- AttnOps.td - attn dialect operations --------------------*- tablegen -*-===//
//
// Graph-level ops with ONNX semantics and the fused attention kernel. Tensor
// operands are ranked builtin tensors; a `?` dimension is a run-time extent.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_IR_ATTNOPS_TD
#define ATTNC_DIALECT_ATTN_IR_ATTNOPS_TD

include "attnc/Dialect/Attn/IR/AttnBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Attn_FloatTensor : RankedTensorOf<[AnyFloat]>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Attn_ConstantOp : Attn_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "output"]>]> {
  let summary = "A constant tensor: a weight, a bias or a scalar";
  let description = [{
    Small constants are dense elements attributes, so that the folders see
    them; weights imported from ONNX initializers above a size threshold are
    `dense_resource` blobs, which are neither hashed nor uniqued.

    ```mlir
    %w = attn.constant dense<1.0> : tensor<64x64xf32>
    ```
  }];
  let arguments = !con((ins ElementsAttr:$value), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$value attr-dict";
  let hasFolder = 1;
  let builders = [
    OpBuilder<(ins "::mlir::ElementsAttr":$value), [{
      build($_builder, $_state, value.getType(), value, nullptr);
    }]>
  ];
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

class Attn_BinaryOp<string mnemonic, list<Trait> traits = []>
    : Attn_Op<mnemonic, !listconcat([Pure], traits)> {
  let summary = "Elementwise `" # mnemonic # "` with numpy broadcasting";
  let description = [{
    ONNX semantics: the operands broadcast the numpy way (axes aligned on
    the right, size-1 axes stretched) and have one element type.
  }];
  let arguments = !con((ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_AddOp : Attn_BinaryOp<"add", [Commutative]>;
def Attn_SubOp : Attn_BinaryOp<"sub">;
def Attn_MulOp : Attn_BinaryOp<"mul", [Commutative]>;
def Attn_DivOp : Attn_BinaryOp<"div">;

def Attn_SqrtOp : Attn_Op<"sqrt", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise square root";
  let arguments = !con((ins Attn_FloatTensor:$input), scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

def Attn_CastOp : Attn_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "Elementwise conversion to another element type";
  let description = [{
    ONNX `Cast`: float to integer truncates toward zero, anything to bool is
    `x != 0`.
  }];
  let arguments = !con((ins AnyRankedTensor:$input), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `to` type($output)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Layout ops
//===----------------------------------------------------------------------===//

def Attn_TransposeOp : Attn_Op<"transpose", [Pure]> {
  let summary = "Permutes the axes of a tensor";
  let description = [{
    `output.shape[i] = input.shape[perm[i]]`, as ONNX `Transpose`.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, DenseI64ArrayAttr:$perm),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $perm attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Attn_ReshapeOp : Attn_Op<"reshape", [Pure]> {
  let summary = "Gives a tensor a new shape with the same elements";
  let description = [{
    `shape` follows ONNX `Reshape` with `allowzero = 0`: an entry 0 copies the
    input's extent on that axis, one entry -1 is inferred from the element
    count. The result type states what is known statically; `?` extents are
    computed at run time from the same rule.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, DenseI64ArrayAttr:$shape),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

def Attn_MatMulOp : Attn_Op<"matmul", [Pure]> {
  let summary = "Batched matrix product with broadcast batch axes";
  let description = [{
    ONNX `MatMul` on operands of rank 2 or more: the last two axes are
    multiplied ([M, K] × [K, N]), the leading axes broadcast the numpy way.
  }];
  let arguments = !con((ins Attn_FloatTensor:$lhs, Attn_FloatTensor:$rhs),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Attn_SoftmaxOp : Attn_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    ONNX `Softmax` (opset 13 and later): normalized along `axis` only;
    negative axes count from the end.
  }];
  let arguments = !con((ins Attn_FloatTensor:$input, I64Attr:$axis),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = "$input `,` $axis attr-dict `:` type($input)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The axis as a non-negative index.
    int64_t getNormalizedAxis() {
      int64_t rank = getInput().getType().getRank();
      int64_t axis = getAxisAttr().getInt();
      return axis < 0 ? axis + rank : axis;
    }
  }];
}

//===----------------------------------------------------------------------===//
// Fused attention
//===----------------------------------------------------------------------===//

def Attn_SdpaOp : Attn_Op<"sdpa", [Pure]> {
  let summary = "Fused scaled dot-product attention";
  let description = [{
    `softmax(scale · Q·Kᵀ + mask) · V` over the last axis, computed with an
    online softmax over KV blocks: the Nq × Nk score matrix is never stored.

    - `q`: [B, H, Nq, D]; `k`: [B, Hkv, Nk, D]; `v`: [B, Hkv, Nk, Dv];
      result [B, H, Nq, Dv].
    - `kv_group`: query heads per KV head (H = Hkv · kv_group); query head
      `h` reads KV head `h / kv_group`, so grouped-query and multi-query
      attention never copy K or V.
    - `mask`: optional, broadcastable to [B, H, Nq, Nk]; a float mask is
      added to the scaled scores, an `i1` mask keeps the positions where it
      is true.
    - `causal`: key `j` is masked for query `i` when `j > i` (top-left
      aligned, as `torch.nn.functional.scaled_dot_product_attention`).
    - `scale`: defaults to 1/√D when absent.

    ```mlir
    %o = attn.sdpa %q, %k, %v {scale = 0.125 : f64, causal}
        : (tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32>,
           tensor<2x4x128x64xf32>) -> tensor<2x4x128x64xf32>
    ```
  }];
  let arguments = !con((ins Attn_FloatTensor:$q, Attn_FloatTensor:$k,
                            Attn_FloatTensor:$v,
                            Optional<AnyRankedTensor>:$mask,
                            OptionalAttr<F64Attr>:$scale,
                            UnitAttr:$causal,
                            DefaultValuedAttr<I64Attr, "1">:$kv_group),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::Value":$q,
                   "::mlir::Value":$k, "::mlir::Value":$v,
                   "::mlir::Value":$mask, "double":$scale, "bool":$causal,
                   "int64_t":$kvGroup)>
  ];
  let extraClassDeclaration = [{
    /// The scale applied to Q·Kᵀ: the attribute, or 1/√D when absent.
    double getEffectiveScale();
  }];
}

#endif // ATTNC_DIALECT_ATTN_IR_ATTNOPS_TD
