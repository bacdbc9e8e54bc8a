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

class Attn_BinaryOp<string mnemonic, list<Trait> traits = [], bit folds = 0>
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
  let hasFolder = folds;
}

def Attn_AddOp : Attn_BinaryOp<"add", [Commutative], 1>;
def Attn_SubOp : Attn_BinaryOp<"sub", [], 1>;
def Attn_MulOp : Attn_BinaryOp<"mul", [Commutative], 1>;
def Attn_DivOp : Attn_BinaryOp<"div", [], 1>;

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

def Attn_PowOp : Attn_BinaryOp<"pow", [], 1> {
  let description = [{
    ONNX `Pow`: the exponent may have another element type than the base;
    the result has the base's.
  }];
}
def Attn_ModOp : Attn_BinaryOp<"mod"> {
  let summary = "Elementwise remainder with numpy broadcasting";
  let description = [{
    ONNX `Mod`: with `fmod` the remainder takes the sign of the dividend (C
    `fmod`; floats always use it); without it, the sign of the divisor
    (Python `%`).
  }];
  let arguments = !con((ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                            UnitAttr:$fmod), scheduleArg);
}
def Attn_MaxOp : Attn_BinaryOp<"max", [Commutative]>;
def Attn_MinOp : Attn_BinaryOp<"min", [Commutative]>;
def Attn_AndOp : Attn_BinaryOp<"and", [Commutative]>;
def Attn_OrOp : Attn_BinaryOp<"or", [Commutative]>;
def Attn_EqualOp : Attn_BinaryOp<"equal", [Commutative]> {
  let summary = "Elementwise `==` with numpy broadcasting; an i1 result";
}
def Attn_LessOp : Attn_BinaryOp<"less"> {
  let summary = "Elementwise `<` with numpy broadcasting; an i1 result";
}
def Attn_GreaterOp : Attn_BinaryOp<"greater"> {
  let summary = "Elementwise `>` with numpy broadcasting; an i1 result";
}

class Attn_UnaryOp<string mnemonic, string formula>
    : Attn_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise " # formula;
  let description = [{
    Computed in float32 for 16-bit float types.
  }];
  let arguments = !con((ins AnyRankedTensor:$input), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Attn_NegOp : Attn_UnaryOp<"neg", "negation"> {
  let hasFolder = 1;
}
def Attn_AbsOp : Attn_UnaryOp<"abs", "absolute value">;
def Attn_ExpOp : Attn_UnaryOp<"exp", "natural exponential">;
def Attn_LogOp : Attn_UnaryOp<"log", "natural logarithm">;
def Attn_ErfOp : Attn_UnaryOp<"erf", "error function">;
def Attn_TanhOp : Attn_UnaryOp<"tanh", "hyperbolic tangent">;
def Attn_SigmoidOp : Attn_UnaryOp<"sigmoid", "logistic function 1 / (1 + e^-x)">;
def Attn_ReluOp : Attn_UnaryOp<"relu", "max(x, 0)">;
def Attn_ReciprocalOp : Attn_UnaryOp<"reciprocal", "1 / x">;
def Attn_NotOp : Attn_UnaryOp<"not", "logical negation of an i1 tensor">;
def Attn_SinOp : Attn_UnaryOp<"sin", "sine">;
def Attn_CosOp : Attn_UnaryOp<"cos", "cosine">;
def Attn_SignOp : Attn_UnaryOp<"sign", "sign: -1, 0 or 1 (0 for zeros of either sign)">;
def Attn_CeilOp : Attn_UnaryOp<"ceil", "rounding up to an integer">;
def Attn_FloorOp : Attn_UnaryOp<"floor", "rounding down to an integer">;
def Attn_RoundOp : Attn_UnaryOp<"round",
    "rounding to the nearest integer, halves to the even one">;

def Attn_IsNanOp : Attn_Op<"isnan", [Pure, SameOperandsAndResultShape]> {
  let summary = "Elementwise test for NaN; an i1 result";
  let arguments = !con((ins Attn_FloatTensor:$input), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Attn_GeluOp : Attn_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate = "none"`: x · Φ(x) with the exact erf;
    `approximate = "tanh"`: 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))),
    GPT-2's "gelu_new"; `approximate = "sigmoid"`: x · sigmoid(1.702 x)
    ("quick GELU", as in CLIP).
  }];
  let arguments = !con((ins Attn_FloatTensor:$input,
                            DefaultValuedStrAttr<StrAttr, "none">:$approximate),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Attn_SelectOp : Attn_Op<"select", [Pure]> {
  let summary = "Elementwise choice between two tensors (ONNX `Where`)";
  let description = [{
    `cond ? lhs : rhs`, the three operands broadcast the numpy way.
  }];
  let arguments = !con((ins AnyRankedTensor:$cond, AnyRankedTensor:$lhs,
                            AnyRankedTensor:$rhs), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$cond `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

def Attn_ReduceOp : Attn_Op<"reduce", [Pure]> {
  let summary = "Reduction over a set of axes";
  let description = [{
    `kind` is one of `sum`, `mean`, `max`, `min`, `prod`; `axes` are
    non-negative; with `keepdims` the reduced axes stay with extent 1. Float
    sums accumulate in float32 at least.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, StrAttr:$kind,
                            DenseI64ArrayAttr:$axes, BoolAttr:$keepdims),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$kind $input `,` $axes attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Attn_ArgMaxOp : Attn_Op<"argmax", [Pure]> {
  let summary = "Index of the largest (or smallest) element along one axis";
  let description = [{
    ONNX `ArgMax`, or `ArgMin` with `smallest`: the first index of the
    maximum (minimum), or the last with `select_last_index`; an i64 result.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, I64Attr:$axis,
                            BoolAttr:$keepdims, UnitAttr:$select_last_index,
                            UnitAttr:$smallest),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $axis attr-dict `:` type($input) `->` type($output)";
}

def Attn_CumSumOp : Attn_Op<"cumsum", [Pure, SameOperandsAndResultType]> {
  let summary = "Running sum along one axis";
  let description = [{
    ONNX `CumSum`: element i along `axis` is the sum of elements 0 … i
    (`exclusive`: 0 … i - 1; `reverse`: from the end of the axis). Integers
    sum in their own type, 16-bit floats in float32.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, I64Attr:$axis,
                            UnitAttr:$exclusive, UnitAttr:$reverse),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `,` $axis attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Attn_GatherElementsOp : Attn_Op<"gather_elements", [Pure]> {
  let summary = "Elements picked along one axis by a tensor of indices";
  let description = [{
    ONNX `GatherElements`: `output[i…] = input[i…]` with the index along
    `axis` replaced by `indices[i…]`; the output has the indices' shape and
    the input's element type. Negative indices count from the end; indices
    out of range (undefined in ONNX) are clamped to it.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                            I64Attr:$axis),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `[` $indices `]` `,` $axis attr-dict `:` `(` type($input) `,`
    type($indices) `)` `->` type($output)
  }];
  let hasVerifier = 1;
}

def Attn_ScatterElementsOp : Attn_Op<"scatter_elements", [Pure]> {
  let summary = "Elements written along one axis at a tensor of indices";
  let description = [{
    ONNX `ScatterElements`: the input, with `output[j…] = combine(output[j…],
    updates[i…])` where `j…` is `i…` with the index along `axis` replaced
    by `indices[i…]`, for every element of `updates` in row-major order.
    `reduction` is `none` (the update replaces the element; of repeated
    indices the last wins), `add`, `mul`, `max` or `min`. Negative indices
    count from the end; indices out of range (an error in ONNX) are
    clamped to it.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                            AnyRankedTensor:$updates, I64Attr:$axis,
                            DefaultValuedStrAttr<StrAttr, "none">:$reduction),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `[` $indices `]` `=` $updates `,` $axis attr-dict `:` `(`
    type($input) `,` type($indices) `,` type($updates) `)` `->` type($output)
  }];
  let hasVerifier = 1;
}

def Attn_ScatterNdOp : Attn_Op<"scatter_nd", [Pure]> {
  let summary = "Slices written at a tensor of index tuples";
  let description = [{
    ONNX `ScatterND`: the input, with the slice at each index tuple
    `indices[i…, :]` (its last axis of K ≤ rank entries) combined with
    `updates[i…, …]` (`updates` has shape `indices.shape[:-1] +
    input.shape[K:]`), tuples in row-major order. `reduction` as
    attn.scatter_elements; indices are clamped as there.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                            AnyRankedTensor:$updates,
                            DefaultValuedStrAttr<StrAttr, "none">:$reduction),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `[` $indices `]` `=` $updates attr-dict `:` `(` type($input) `,`
    type($indices) `,` type($updates) `)` `->` type($output)
  }];
  let hasVerifier = 1;
}

def Attn_LogSoftmaxOp : Attn_Op<"log_softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Logarithm of the softmax along one axis";
  let arguments = !con((ins Attn_FloatTensor:$input, I64Attr:$axis),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = "$input `,` $axis attr-dict `:` type($input)";
}

def Attn_LayerNormOp : Attn_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "Layer normalization over the axes from `axis` on";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) · scale + bias`, statistics over the
    axes `axis`..rank-1 in float32 at least. With `rms`, RMS normalization:
    `x / sqrt(mean(x²) + epsilon) · scale` (no mean, no bias). With
    `residual`, x is `input + residual` (the skip connection before a
    post-norm, or embeddings summed), added as the rows are read: the sum is
    never stored.
  }];
  let arguments = !con((ins Attn_FloatTensor:$input,
                            Optional<Attn_FloatTensor>:$scale,
                            Optional<Attn_FloatTensor>:$bias,
                            Optional<Attn_FloatTensor>:$residual,
                            I64Attr:$axis, F64Attr:$epsilon, UnitAttr:$rms),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $input (`residual` $residual^ `:` type($residual))?
    (`scale` $scale^ `:` type($scale))? (`bias` $bias^ `:` type($bias))?
    attr-dict `:` type($input) `->` type($output)
  }];
}

//===----------------------------------------------------------------------===//
// Shape computations and layout ops
//===----------------------------------------------------------------------===//

def Attn_ShapeOp : Attn_Op<"shape", [Pure]> {
  let summary = "The extents of a tensor, as a 1-D i64 tensor";
  let description = [{
    ONNX `Shape` with `start` and `end` (normalized, end exclusive). Folds to
    a constant when those extents are static; otherwise the emitter reads the
    run-time extents, so shape arithmetic never becomes a kernel.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, I64Attr:$start,
                            I64Attr:$end), scheduleArg);
  let results = (outs RankedTensorOf<[I64]>:$output);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Attn_ConstantOfShapeOp : Attn_Op<"constant_of_shape", [Pure]> {
  let summary = "A tensor of the given shape filled with one value";
  let arguments = !con((ins RankedTensorOf<[I64]>:$shape,
                            ElementsAttr:$value), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$shape `,` $value attr-dict `:` type($shape) `->` type($output)";
}

def Attn_RangeOp : Attn_Op<"range", [Pure]> {
  let summary = "start, start + delta, ... up to limit (exclusive)";
  let arguments = !con((ins AnyRankedTensor:$start, AnyRankedTensor:$limit,
                            AnyRankedTensor:$delta), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$start `,` $limit `,` $delta attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Attn_TriluOp : Attn_Op<"trilu", [Pure]> {
  let summary = "Upper or lower triangle of the last two axes";
  let description = [{
    ONNX `Trilu`: keeps `j - i >= k` (upper) or `j - i <= k` (lower), zero
    elsewhere; `k` is an optional i64 scalar tensor.
  }];
  let arguments = !con((ins AnyRankedTensor:$input,
                            Optional<AnyRankedTensor>:$k, BoolAttr:$upper),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input (`k` $k^ `:` type($k))? attr-dict `:` type($input) `->` type($output)
  }];
}

def Attn_PadOp : Attn_Op<"pad", [Pure]> {
  let summary = "Pads every axis, or crops it where an amount is negative";
  let description = [{
    ONNX `Pad`: `pads` (1-D i64, known before the run: constants, extents
    and arithmetic on them) holds the amount before each axis, then the
    amount after each axis. `mode` is `constant` (the optional scalar
    `value`, else zero), `edge` (the nearest element), `reflect` (mirrored
    about the edge element, which is not repeated) or `wrap` (periodic).
  }];
  let arguments = !con((ins AnyRankedTensor:$input,
                            RankedTensorOf<[I64]>:$pads,
                            Optional<AnyRankedTensor>:$value, StrAttr:$mode),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `,` $pads (`,` $value^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_ConcatOp : Attn_Op<"concat", [Pure]> {
  let summary = "Concatenation along one axis";
  let arguments = !con((ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$inputs `axis` $axis attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_SliceOp : Attn_Op<"slice", [Pure]> {
  let summary = "Strided slice (ONNX `Slice`)";
  let description = [{
    `starts` and `ends` are 1-D integer tensors, one entry per axis in
    `axes`, with ONNX's rules: negative entries count from the end and are
    clamped to the axis. They may be computed from run-time extents. `steps`
    are static and non-zero.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$starts,
                            AnyRankedTensor:$ends, DenseI64ArrayAttr:$axes,
                            DenseI64ArrayAttr:$steps), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `[` $starts `:` $ends `]` attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_GatherOp : Attn_Op<"gather", [Pure]> {
  let summary = "Gathers slices of `data` along `axis` at `indices`";
  let description = [{
    ONNX `Gather`: the result shape is data.shape[:axis] + indices.shape +
    data.shape[axis+1:]; negative indices count from the end. Out-of-range
    indices are clamped (embedding lookups never read out of bounds).
  }];
  let arguments = !con((ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                            I64Attr:$axis), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$data `[` $indices `]` `,` $axis attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_GatherNdOp : Attn_Op<"gather_nd", [Pure]> {
  let summary = "Gathers slices of `data` at index tuples (ONNX `GatherND`)";
  let description = [{
    With `b = batch_dims` and `q` the last extent of `indices`, each index
    tuple `indices[i..., :]` addresses axes b..b+q-1 of `data` within its
    batch; the result shape is indices.shape[:-1] + data.shape[b+q:].
    Negative indices count from the end; out-of-range ones are clamped.
  }];
  let arguments = !con((ins AnyRankedTensor:$data, AnyRankedTensor:$indices,
                            I64Attr:$batch_dims), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$data `[` $indices `]` `,` $batch_dims attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Attn_ExpandOp : Attn_Op<"expand", [Pure]> {
  let summary = "Broadcasts a tensor to a shape (ONNX `Expand`)";
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$shape),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
}

def Attn_TileOp : Attn_Op<"tile", [Pure]> {
  let summary = "Repeats a tensor along each axis (ONNX `Tile`)";
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$repeats),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $repeats attr-dict `:` functional-type(operands, results)";
}

def Attn_ExpandDimsOp : Attn_Op<"expand_dims", [Pure]> {
  let summary = "Inserts or removes axes of extent 1 (Squeeze, Unsqueeze)";
  let description = [{
    `axes` lists the result axes that are new size-1 axes (`unsqueeze`) or,
    with `squeeze`, the input axes of extent 1 that are dropped.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, DenseI64ArrayAttr:$axes,
                            UnitAttr:$squeeze), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $axes attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_ReshapeDynamicOp : Attn_Op<"reshape_dynamic", [Pure]> {
  let summary = "Reshape to a shape computed at run time";
  let description = [{
    As `attn.reshape`, with the target shape (ONNX 0/-1 rules) an i64
    tensor that shape arithmetic produced, typically from run-time extents.
    Canonicalizes to `attn.reshape` when the shape becomes constant. With
    `allowzero` (ONNX `allowzero = 1`, which the dynamo exporter writes), a 0
    entry would mean an empty axis; attnc checks at run time that no entry
    is 0, and then both rules agree.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, AnyRankedTensor:$shape,
                            UnitAttr:$allowzero),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Convolution, einsum, rotary embedding
//===----------------------------------------------------------------------===//

def Attn_Conv2dOp : Attn_Op<"conv2d", [Pure]> {
  let summary = "2-D convolution, NCHW (ONNX `Conv`)";
  let description = [{
    `pads` are [top, left, bottom, right]; `group` splits the channels.
    A patch embedding is a conv whose stride equals its kernel.
  }];
  let arguments = !con((ins Attn_FloatTensor:$input, Attn_FloatTensor:$weight,
                            Optional<Attn_FloatTensor>:$bias,
                            DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                            DenseI64ArrayAttr:$dilations, I64Attr:$group),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^ `:` type($bias))? attr-dict `:`
    type($input) `,` type($weight) `->` type($output)
  }];
}

def Attn_ConvTransposeOp : Attn_Op<"conv_transpose", [Pure]> {
  let summary = "Transposed convolution over any number of spatial axes";
  let description = [{
    ONNX `ConvTranspose`: input [N, C, D1, ..., Dk], weight [C, M / group,
    K1, ..., Kk], optional bias [M]; input position `i` and tap `t` add to
    the output position `i · strides - pads_begin + t · dilations`. `pads`
    holds the k begin then the k end paddings; the output extents (with
    `output_padding` or `output_shape`) are the result type's.
  }];
  let arguments = !con((ins Attn_FloatTensor:$input, Attn_FloatTensor:$weight,
                            Optional<Attn_FloatTensor>:$bias,
                            DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                            DenseI64ArrayAttr:$dilations, I64Attr:$group),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^ `:` type($bias))? attr-dict `:`
    type($input) `,` type($weight) `->` type($output)
  }];
  let hasVerifier = 1;
}

def Attn_ResizeOp : Attn_Op<"resize", [Pure]> {
  let summary = "Nearest, linear or cubic resampling (ONNX `Resize`)";
  let description = [{
    Every output position `x` of an axis maps to the input coordinate given
    by `coordinate_mode` (`half_pixel`, `half_pixel_symmetric`,
    `pytorch_half_pixel`, `align_corners`, `asymmetric`,
    `tf_half_pixel_for_nn`) and that axis's
    scale: `scales[d]`, or the output extent over the input extent where
    it is 0 (sizes given). `mode` `nearest` rounds the coordinate by
    `nearest_mode` (`round_prefer_floor`, `round_prefer_ceil`, `floor`,
    `ceil`); `linear` and `cubic` (coefficient `cubic_a`) interpolate the
    neighbours separably, reading the edge beyond the input, or with
    `exclude_outside` weighting only the neighbours inside it.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, StrAttr:$mode,
                            StrAttr:$coordinate_mode, StrAttr:$nearest_mode,
                            F64Attr:$cubic_a, UnitAttr:$exclude_outside,
                            DenseF64ArrayAttr:$scales),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$mode $input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Attn_PoolOp : Attn_Op<"pool", [Pure]> {
  let summary = "Max or average pooling over the spatial axes";
  let description = [{
    ONNX `MaxPool` and `AveragePool` over an input [N, C, D1, ..., Dk]: the
    output at spatial position `o` reduces the window of `kernel` taps at
    `o · strides - pads_begin + tap · dilations` (taps outside the input
    skipped). `pads` holds the k begin then the k end paddings; the output
    extents (floor or ceil mode) are the result type's. `kind` is `max`
    or `avg`; an average divides by the taps inside the input, or with
    `count_include_pad` by those inside the padded input.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, StrAttr:$kind,
                            DenseI64ArrayAttr:$kernel,
                            DenseI64ArrayAttr:$strides,
                            DenseI64ArrayAttr:$pads,
                            DenseI64ArrayAttr:$dilations,
                            UnitAttr:$count_include_pad),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$kind $input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Attn_EinsumOp : Attn_Op<"einsum", [Pure]> {
  let summary = "Einstein summation (ONNX `Einsum`, explicit form)";
  let description = [{
    `equation` is `ab,bc->ac` style, with the ellipsis expanded and the
    output given; repeated letters of one operand take a diagonal.
  }];
  let arguments = !con((ins Variadic<AnyRankedTensor>:$inputs,
                            StrAttr:$equation), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$equation $inputs attr-dict `:` functional-type(operands, results)";
}

def Attn_RotaryOp : Attn_Op<"rotary", [Pure]> {
  let summary = "Rotary position embedding (ONNX `RotaryEmbedding`)";
  let description = [{
    `input` is [B, H, S, D]; `cos` and `sin` are [B, S, R/2] (or
    [maxPos, R/2] read at `position_ids` [B, S]). The first
    `rotary_dim` (R, 0: all of D) features rotate: as halves
    (x₁, x₂) → (x₁c − x₂s, x₂c + x₁s), or pairs of neighbours with
    `interleaved`.
  }];
  let arguments = !con((ins Attn_FloatTensor:$input, Attn_FloatTensor:$cos,
                            Attn_FloatTensor:$sin,
                            Optional<AnyRankedTensor>:$position_ids,
                            UnitAttr:$interleaved, I64Attr:$rotary_dim),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin (`positions` $position_ids^ `:` type($position_ids))?
    attr-dict `:` type($input) `,` type($cos) `,` type($sin) `->` type($output)
  }];
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

def Attn_FromPanelsOp : Attn_Op<"from_panels", [Pure]> {
  let summary = "A matrix stored panel by panel";
  let description = [{
    The `[K, N]` matrix whose columns are stored in panels of `W` columns,
    the last one padded with zeros: `panels` is `[P, K, W]` with
    `P = ceil(N / W)` and element `(k, n)` at `[n / W, k, n % W]`; or, for
    products in bfloat16 summed in pairs of `k`, `[P, ceil(K / 2), W, 2]`
    bfloat16 with element `(k, n)` at `[n / W, k / 2, n % W, k % 2]`,
    widened to the result's element type; or, for 8-bit integer products
    summed in quads of `k`, `[P, ceil(K / 4) + 1, W, 4]` i8 with element
    `(k, n)` at `[n / W, k / 4, n % W, k % 4]` (u8 results stored less 128)
    and, in the last quad row, each column's sum of the stored values as a
    little-endian i32 at `[n / W, ceil(K / 4), n % W, 0..3]`.
    `attn-pack-weights` re-lays out
    the constant right operand of a product scheduled with kind `panels`
    this way; the emitter's register tiles read the panels in place.
  }];
  let arguments = !con((ins AnyRankedTensor:$panels), scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat =
      "$panels attr-dict `:` type($panels) `->` type($output)";
  let hasVerifier = 1;
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

def Attn_QuantizeOp : Attn_Op<"quantize", [Pure]> {
  let summary = "Float to 8-bit integer with a scale and a zero point";
  let description = [{
    ONNX `QuantizeLinear`: `saturate(round(x / scale) + zero_point)`,
    rounding halfway cases to even. `scale` (float) and `zero_point` (the
    result's element type: 8- or 16-bit, signed or not) are scalars, 1-D
    along `axis` of `x` (per-axis quantization), or, with a `block_size`,
    of `x`'s rank with `ceil(extent / block_size)` entries along `axis`
    (blocked quantization: entry `i / block_size` scales element `i`).
  }];
  let arguments = !con((ins Attn_FloatTensor:$input, Attn_FloatTensor:$scale,
                            AnyRankedTensor:$zero_point, I64Attr:$axis,
                            DefaultValuedAttr<I64Attr, "0">:$block_size),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $zero_point attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_DequantizeOp : Attn_Op<"dequantize", [Pure]> {
  let summary = "Integer to float with a scale and a zero point";
  let description = [{
    ONNX `DequantizeLinear`: `(x − zero_point) · scale`, computed in float32
    (exact for 8- and 16-bit inputs). `x` is an 8-, 16- or 32-bit integer;
    `scale` and `zero_point` (of `x`'s type) as for attn.quantize.
  }];
  let arguments = !con((ins AnyRankedTensor:$input, Attn_FloatTensor:$scale,
                            AnyRankedTensor:$zero_point, I64Attr:$axis,
                            DefaultValuedAttr<I64Attr, "0">:$block_size),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $zero_point attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_MatMulIntegerOp : Attn_Op<"matmul_integer", [Pure]> {
  let summary = "Product of 8-bit integer matrices, summed in i32";
  let description = [{
    ONNX `MatMulInteger`: `Σ_k (lhs − lhs_zero_point) · (rhs −
    rhs_zero_point)` in i32, with attn.matmul's shapes. Operands are u8 or
    i8; `lhs_zero_point` is a scalar or one value per row of `lhs` ([M]),
    `rhs_zero_point` a scalar or one value per column of `rhs` ([N]).
  }];
  let arguments = !con((ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                            AnyRankedTensor:$lhs_zero_point,
                            AnyRankedTensor:$rhs_zero_point),
                       scheduleArg);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs `,` $lhs_zero_point `,` $rhs_zero_point attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_LinearOp : Attn_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "Matrix product with a fused bias, activation and residual";
  let description = [{
    `activation(lhs · rhs + bias) + residual`, computed row by row as the
    product is: the epilogue costs no pass over memory of its own.

    - `lhs · rhs`: as attn.matmul.
    - `bias`: optional, broadcast along the last axis ([N] or [1, ..., N]).
    - `activation`: `none`, `relu`, `gelu` (erf), `gelu_tanh`,
      `gelu_sigmoid` (x · sigmoid(1.702 x)), `silu`, `sigmoid` or `tanh`.
    - `residual`: optional, broadcastable to the result, added last (the
      skip connection of a Transformer block).

    The epilogue is computed in float32 at least, rounded once.

    With `quantized scale, lhs_zero_point, rhs_zero_point`, the product is
    of 8-bit integers (ONNX `MatMulInteger` followed by its dequantization):
    `lhs` is u8 or i8, `rhs` a [K, N] matrix of i8 or u8, and
    `lhs · rhs` stands for `scale · Σ_k (lhs − lhs_zero_point) ·
    (rhs − rhs_zero_point)`, summed exactly in i32 and scaled in float32.
    `scale` is a float32 scalar or one value per column ([N]);
    `lhs_zero_point` a scalar of `lhs`'s type; `rhs_zero_point` a scalar
    or [N] of `rhs`'s type. The epilogue follows as for float operands.

    ```mlir
    %h = attn.linear %x, %w bias %b {activation = "gelu"}
        : (tensor<?x768xf32>, tensor<768x3072xf32>, tensor<3072xf32>)
          -> tensor<?x3072xf32>
    ```
  }];
  let arguments = !con((ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                            Optional<Attn_FloatTensor>:$bias,
                            Optional<Attn_FloatTensor>:$residual,
                            Variadic<AnyRankedTensor>:$quantization,
                            DefaultValuedStrAttr<StrAttr, "none">:$activation),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs (`bias` $bias^)? (`residual` $residual^)?
    (`quantized` $quantization^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// True for the 8-bit integer product (`quantized` operands given).
    bool isQuantized() { return !getQuantization().empty(); }
    ::mlir::Value getProductScale() { return getQuantization()[0]; }
    ::mlir::Value getLhsZeroPoint() { return getQuantization()[1]; }
    ::mlir::Value getRhsZeroPoint() { return getQuantization()[2]; }
  }];
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
      is true. A float entry of at most half the lowest finite value of its
      type (-inf, the lowest float) masks its key as `false` does.
    - `causal`: key `j` is masked for query `i` when `j > i` (top-left
      aligned, as `torch.nn.functional.scaled_dot_product_attention`).
    - `scale`: defaults to 1/√D when absent.
    - `causal_offset`: with `causal`, query `i` is position `i + offset`
      (a KV cache holds `offset` earlier positions): key `j` is masked when
      `j > i + offset`.
    - `softcap`: when present, scaled scores become
      `softcap · tanh(score / softcap)` before the mask (ONNX Attention).
    - `zero_masked_rows`: a query whose keys are all masked gives 0 (ONNX
      Attention); without it such a row averages V, as a softmax over
      equally masked scores does.

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
                            DefaultValuedAttr<I64Attr, "1">:$kv_group,
                            OptionalAttr<F64Attr>:$softcap,
                            UnitAttr:$zero_masked_rows,
                            DefaultValuedAttr<I64Attr, "0">:$causal_offset),
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

def Attn_AdditiveAttentionOp : Attn_Op<"additive_attention", [Pure]> {
  let summary = "Fused additive (Bahdanau) attention";
  let description = [{
    `softmax(w · tanh(q_i + k_j) + mask) · V` over the keys: the score of
    query `i` and key `j` is `Σ_a w[a] · tanh(query[i, a] + keys[j, a])`,
    computed without storing the [.., Nq, Nk, A] tensor of sums.

    - `query`: [..., Nq, A] (the projected queries, biases included);
      `keys`: [..., Nk, A]; `weight`: [A]; `values`: [..., Nk, Dv]. The
      leading (batch) axes are equal.
    - `mask`: optional, broadcastable to [..., Nq, Nk]; a float mask is
      added to the scores, an `i1` mask keeps the keys where it is true (a
      float entry of at most half the lowest finite value masks its key).
    - Results: the context [..., Nq, Dv] and the attention weights
      [..., Nq, Nk], which models commonly return.

    ```mlir
    %ctx, %w = attn.additive_attention %q, %k, %w, %v mask %m
        : (tensor<?x1x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>,
           tensor<?x?x40xf32>, tensor<?x1x?xi1>)
        -> (tensor<?x1x40xf32>, tensor<?x1x?xf32>)
    ```
  }];
  let arguments = !con((ins Attn_FloatTensor:$query, Attn_FloatTensor:$keys,
                            Attn_FloatTensor:$weight, Attn_FloatTensor:$values,
                            Optional<AnyRankedTensor>:$mask),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output, Attn_FloatTensor:$probs);
  let assemblyFormat = [{
    $query `,` $keys `,` $weight `,` $values (`mask` $mask^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_HardAttentionOp : Attn_Op<"hard_attention", [Pure]> {
  let summary = "Fused hard (argmax) attention";
  let description = [{
    Every query selects the single key of highest score and returns that
    key's value row: `index[i] = argmax_j (scale · q_i·k_j + mask[i, j])`,
    `output[i] = values[index[i]]`. The first maximum is taken, or the
    last with `select_last_index`. Scores are never stored.

    - `q`: [..., Nq, D]; `k`: [..., Nk, D]; `values`: [..., Nk, Dv]; the
      leading (batch) axes are equal.
    - `mask`: optional, broadcastable to [..., Nq, Nk]; a float mask is
      added to the scores, an `i1` mask keeps the keys where it is true (a
      float entry of at most half the lowest finite value masks its key).
    - Results: the selected rows [..., Nq, Dv] and the i64 indices
      [..., Nq].

    ```mlir
    %rows, %idx = attn.hard_attention %q, %k, %v {scale = 0.17677669 : f64}
        : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x16xf32>)
        -> (tensor<?x?x16xf32>, tensor<?x?xi64>)
    ```
  }];
  let arguments = !con((ins Attn_FloatTensor:$q, Attn_FloatTensor:$k,
                            Attn_FloatTensor:$values,
                            Optional<AnyRankedTensor>:$mask,
                            DefaultValuedAttr<F64Attr, "1.0">:$scale,
                            UnitAttr:$select_last_index),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output, I64Tensor:$indices);
  let assemblyFormat = [{
    $q `,` $k `,` $values (`mask` $mask^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Attn_GraphAttentionOp : Attn_Op<"graph_attention", [Pure]> {
  let summary = "Fused graph attention (GAT) over a dense adjacency";
  let description = [{
    The attention of a graph attention layer (Veličković et al.): node `i`
    attends to its neighbours `j` (`adjacency[i, j]` true) with the scores
    `e[i, j] = LeakyReLU(source[i] + target[j])`, normalized by a softmax
    over its neighbours: `output[i] = Σ_j softmax_j(e[i, :])[j] ·
    values[j]`. The scores are never stored.

    - `source`: [..., N], the query nodes' term (a₁ · W·hᵢ); `target`:
      [..., M], the key nodes' term (a₂ · W·hⱼ); `values`: [..., M, Dv];
      the leading (batch, head) axes are equal.
    - `adjacency`: `i1`, broadcastable to [..., N, M] (one graph for every
      head): true where `j` is a neighbour of `i`.
    - `negative_slope`: the LeakyReLU's slope for negative arguments.
    - A node without neighbours gets 0 (the softmax of the unfused graph
      is 0/0 there).

    With the `block_sparse` schedule the adjacency is read in blocks of
    query nodes × key nodes, and a block without an edge costs one test.

    ```mlir
    %o = attn.graph_attention %src, %dst, %wh, %adj {negative_slope = 0.2 : f64}
        : (tensor<?x2x?xf32>, tensor<?x2x?xf32>, tensor<?x2x?x8xf32>,
           tensor<?x1x?x?xi1>) -> tensor<?x2x?x8xf32>
    ```
  }];
  let arguments = !con((ins Attn_FloatTensor:$source, Attn_FloatTensor:$target,
                            Attn_FloatTensor:$values,
                            AnyRankedTensor:$adjacency,
                            F64Attr:$negative_slope),
                       scheduleArg);
  let results = (outs Attn_FloatTensor:$output);
  let assemblyFormat = [{
    $source `,` $target `,` $values `,` $adjacency attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // ATTNC_DIALECT_ATTN_IR_ATTNOPS_TD
