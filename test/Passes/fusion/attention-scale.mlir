// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Attention cores: where the scale is written (scores, Q, K, none) and scales that are not one constant.

// Div by √d, as PyTorch's exporters write it.
// CHECK-LABEL: func.func @div_scale
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x128x64xf32>, %[[K:.*]]: tensor<2x4x128x64xf32>, %[[V:.*]]: tensor<2x4x128x64xf32>)
// CHECK-NEXT: %[[O:.*]] = attn.sdpa %[[Q]], %[[K]], %[[V]] {scale = 1.250000e-01 : f64}
// CHECK-NEXT: return %[[O]]
func.func @div_scale(%q: tensor<2x4x128x64xf32>, %k: tensor<2x4x128x64xf32>, %v: tensor<2x4x128x64xf32>) -> tensor<2x4x128x64xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<2x4x128x64xf32> -> tensor<2x4x64x128xf32>
  %s = attn.matmul %q, %kt : (tensor<2x4x128x64xf32>, tensor<2x4x64x128xf32>) -> tensor<2x4x128x128xf32>
  %c = attn.constant dense<8.0> : tensor<f32>
  %d = attn.div %s, %c : (tensor<2x4x128x128xf32>, tensor<f32>) -> tensor<2x4x128x128xf32>
  %p = attn.softmax %d, -1 : tensor<2x4x128x128xf32>
  %o = attn.matmul %p, %v : (tensor<2x4x128x128xf32>, tensor<2x4x128x64xf32>) -> tensor<2x4x128x64xf32>
  return %o : tensor<2x4x128x64xf32>
}

// -----

// No scale at all; dynamic sequence lengths.
// CHECK-LABEL: func.func @no_scale_dynamic
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f64} : (tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>) -> tensor<?x4x?x64xf32>
func.func @no_scale_dynamic(%q: tensor<?x4x?x64xf32>, %k: tensor<?x4x?x64xf32>, %v: tensor<?x4x?x64xf32>) -> tensor<?x4x?x64xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<?x4x?x64xf32> -> tensor<?x4x64x?xf32>
  %s = attn.matmul %q, %kt : (tensor<?x4x?x64xf32>, tensor<?x4x64x?xf32>) -> tensor<?x4x?x?xf32>
  %p = attn.softmax %s, -1 : tensor<?x4x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<?x4x?x?xf32>, tensor<?x4x?x64xf32>) -> tensor<?x4x?x64xf32>
  return %o : tensor<?x4x?x64xf32>
}

// -----

// Negative: a scale that varies per element is not a scalar.
// CHECK-LABEL: func.func @scale_not_scalar
// CHECK-NOT: attn.sdpa
// CHECK: attn.mul
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the scores are multiplied by a value that is not one scalar constant (a scale varying per element) (at 'attn.mul')
func.func @scale_not_scalar(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %c = attn.constant dense<[0.5, 0.25, 0.5, 0.25, 0.5, 0.25, 0.5, 0.25]> : tensor<8xf32>
  %d = attn.mul %s, %c : (tensor<1x2x8x8xf32>, tensor<8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %d, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: the scale is a run-time tensor, not a constant.
// CHECK-LABEL: func.func @scale_not_constant
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the scores are divided by a value that is not one non-zero scalar constant (at 'attn.div')
func.func @scale_not_constant(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %c: tensor<f32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %d = attn.div %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %d, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// The scale split over Q and K (√scale each), a boolean mask through
// where(mask, scores, -inf) and the NaN-to-zero guard after the softmax, as
// the exporters write torch's scaled_dot_product_attention.
// CHECK-LABEL: func.func @sdpa_export
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x8x4xf32>, %[[K:.*]]: tensor<1x2x8x4xf32>, %[[V:.*]]: tensor<1x2x8x4xf32>, %[[M:.*]]: tensor<1x1x8x8xi1>)
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 2.500000e-01 : f64, zero_masked_rows}
// CHECK-NOT: attn.softmax
// CHECK-NOT: attn.isnan
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa
func.func @sdpa_export(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %m: tensor<1x1x8x8xi1>) -> tensor<1x2x8x4xf32> {
  %c = attn.constant dense<0.5> : tensor<f32>
  %qs = attn.mul %q, %c : (tensor<1x2x8x4xf32>, tensor<f32>) -> tensor<1x2x8x4xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %ks = attn.mul %kt, %c : (tensor<1x2x4x8xf32>, tensor<f32>) -> tensor<1x2x4x8xf32>
  %s = attn.matmul %qs, %ks : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %ninf = attn.constant dense<0xFF800000> : tensor<f32>
  %w = attn.select %m, %s, %ninf : (tensor<1x1x8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x8x8xf32>
  %nan = attn.isnan %p : tensor<1x2x8x8xf32> -> tensor<1x2x8x8xi1>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %g = attn.select %nan, %zero, %p : (tensor<1x2x8x8xi1>, tensor<f32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %o = attn.matmul %g, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: an op other than a scale or a mask between Q·Kᵀ and the softmax.
// CHECK-LABEL: func.func @tanh_between
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: 'attn.tanh' between the scores' product and the softmax is not a scale or a mask (at 'attn.tanh')
func.func @tanh_between(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %s : tensor<1x2x8x8xf32>
  %p = attn.softmax %t, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: softmax over the query axis is not attention.
// CHECK-LABEL: func.func @softmax_other_axis
// CHECK-NOT: attn.sdpa
// CHECK: attn.softmax %{{.*}}, 2
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the softmax is not over the key axis (the last) (at 'attn.softmax')
func.func @softmax_other_axis(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %s, 2 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: the attention probabilities are also a result of the function,
// so they must stay materialized.
// CHECK-LABEL: func.func @probabilities_used
// CHECK-NOT: attn.sdpa
// CHECK: attn.softmax
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the attention probabilities have other users (they must stay materialized) (at 'attn.softmax')
func.func @probabilities_used(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x8xf32>) {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %s, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o, %p : tensor<1x2x8x4xf32>, tensor<1x2x8x8xf32>
}

// -----

// Negative: float16 scores, but the values and the output in float32.
// CHECK-LABEL: func.func @mixed_types
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: Q, K, V and the output do not share one element type (at 'attn.matmul')
func.func @mixed_types(%q: tensor<1x2x8x4xf16>, %k: tensor<1x2x8x4xf16>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf16> -> tensor<1x2x4x8xf16>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf16>, tensor<1x2x4x8xf16>) -> tensor<1x2x8x8xf16>
  %s32 = attn.cast %s : tensor<1x2x8x8xf16> to tensor<1x2x8x8xf32>
  %p = attn.softmax %s32, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}
