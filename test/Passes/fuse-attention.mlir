// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

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

// Mul by 1/√d with the constant first, an additive mask added on the left,
// softmax axis written as a positive index, different query and key lengths.
// CHECK-LABEL: func.func @mul_scale_mask_cross
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<1x1x1x96xf32>
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %[[M]] {scale = 2.500000e-01 : f64} : (tensor<1x2x32x16xf32>, tensor<1x2x96x16xf32>, tensor<1x2x96x16xf32>, tensor<1x1x1x96xf32>) -> tensor<1x2x32x16xf32>
// CHECK-NOT: attn.softmax
func.func @mul_scale_mask_cross(%q: tensor<1x2x32x16xf32>, %k: tensor<1x2x96x16xf32>, %v: tensor<1x2x96x16xf32>, %m: tensor<1x1x1x96xf32>) -> tensor<1x2x32x16xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x96x16xf32> -> tensor<1x2x16x96xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x32x16xf32>, tensor<1x2x16x96xf32>) -> tensor<1x2x32x96xf32>
  %c = attn.constant dense<0.25> : tensor<1xf32>
  %d = attn.mul %c, %s : (tensor<1xf32>, tensor<1x2x32x96xf32>) -> tensor<1x2x32x96xf32>
  %a = attn.add %m, %d : (tensor<1x1x1x96xf32>, tensor<1x2x32x96xf32>) -> tensor<1x2x32x96xf32>
  %p = attn.softmax %a, 3 : tensor<1x2x32x96xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x32x96xf32>, tensor<1x2x96x16xf32>) -> tensor<1x2x32x16xf32>
  return %o : tensor<1x2x32x16xf32>
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

// One K/V head shared by every query head (multi-query attention through
// broadcasting): K and V are indexed, not copied.
// CHECK-LABEL: func.func @multi_query
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {kv_group = 8 : i64, scale = 1.250000e-01 : f64} : (tensor<1x8x16x64xf32>, tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32>) -> tensor<1x8x16x64xf32>
func.func @multi_query(%q: tensor<1x8x16x64xf32>, %k: tensor<1x1x16x64xf32>, %v: tensor<1x1x16x64xf32>) -> tensor<1x8x16x64xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x1x16x64xf32> -> tensor<1x1x64x16xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x16x64xf32>, tensor<1x1x64x16xf32>) -> tensor<1x8x16x16xf32>
  %c = attn.constant dense<8.0> : tensor<f32>
  %d = attn.div %s, %c : (tensor<1x8x16x16xf32>, tensor<f32>) -> tensor<1x8x16x16xf32>
  %p = attn.softmax %d, -1 : tensor<1x8x16x16xf32>
  %o = attn.matmul %p, %v : (tensor<1x8x16x16xf32>, tensor<1x1x16x64xf32>) -> tensor<1x8x16x64xf32>
  return %o : tensor<1x8x16x64xf32>
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

// K transposed by its producer on other axes ([B, N, H, D] → [B, H, D, N]):
// K is the transpose of Kᵀ, composed with the producer's.
// CHECK-LABEL: func.func @k_transposed_by_producer
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x8x8xf32>, %[[K:.*]]: tensor<1x8x8x8xf32>, %[[V:.*]]: tensor<1x8x8x8xf32>)
// CHECK: %[[KT:.*]] = attn.transpose %[[K]], [0, 2, 1, 3]
// CHECK: %[[KK:.*]] = attn.transpose %[[KT]], [0, 1, 3, 2]
// CHECK: attn.sdpa %[[Q]], %[[KK]], %[[V]]
// CHECK-NOT: attn.softmax
func.func @k_transposed_by_producer(%q: tensor<1x8x8x8xf32>, %k: tensor<1x8x8x8xf32>, %v: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %kt = attn.transpose %k, [0, 2, 1, 3] : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %p = attn.softmax %s, -1 : tensor<1x8x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %o : tensor<1x8x8x8xf32>
}

// -----

// Kᵀ given directly ([B, H, D, Nk], D ≠ Nk): K is its transpose.
// CHECK-LABEL: func.func @kt_given
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x8x4xf32>, %[[KT:.*]]: tensor<1x2x4x6xf32>, %[[V:.*]]: tensor<1x2x6x4xf32>)
// CHECK: %[[K:.*]] = attn.transpose %[[KT]], [0, 1, 3, 2] : tensor<1x2x4x6xf32> -> tensor<1x2x6x4xf32>
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {{.*}}scale = 1.000000e+00
func.func @kt_given(%q: tensor<1x2x8x4xf32>, %kt: tensor<1x2x4x6xf32>, %v: tensor<1x2x6x4xf32>) -> tensor<1x2x8x4xf32> {
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x6xf32>) -> tensor<1x2x8x6xf32>
  %p = attn.softmax %s, -1 : tensor<1x2x8x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x8x4xf32>
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

// masked_fill(mask, lowest) (true = masked) on the scaled scores plus an
// additive padding mask: the two become one additive mask (-inf where
// masked).
// CHECK-LABEL: func.func @fill_and_additive
// CHECK-SAME: %[[C:[a-z0-9]+]]: tensor<8x8xi1>, %[[P:[a-z0-9]+]]: tensor<2x1x1x8xf32>
// CHECK: %[[KEEP:.*]] = attn.not %[[C]]
// CHECK: %[[NINF:.*]] = attn.constant dense<0xFF800000>
// CHECK: %[[MASK:.*]] = attn.select %[[KEEP]], %[[P]], %[[NINF]] : (tensor<8x8xi1>, tensor<2x1x1x8xf32>, tensor<f32>) -> tensor<2x1x8x8xf32>
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %[[MASK]] {scale = 1.250000e-01 : f64}
func.func @fill_and_additive(%q: tensor<2x4x8x64xf32>, %k: tensor<2x4x8x64xf32>, %v: tensor<2x4x8x64xf32>, %c: tensor<8x8xi1>, %pad: tensor<2x1x1x8xf32>) -> tensor<2x4x8x64xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<2x4x8x64xf32> -> tensor<2x4x64x8xf32>
  %s = attn.matmul %q, %kt : (tensor<2x4x8x64xf32>, tensor<2x4x64x8xf32>) -> tensor<2x4x8x8xf32>
  %d = attn.constant dense<8.0> : tensor<f32>
  %sd = attn.div %s, %d : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %f = attn.select %c, %low, %sd : (tensor<8x8xi1>, tensor<f32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %a = attn.add %f, %pad : (tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>) -> tensor<2x4x8x8xf32>
  %p = attn.softmax %a, -1 : tensor<2x4x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x64xf32>) -> tensor<2x4x8x64xf32>
  return %o : tensor<2x4x8x64xf32>
}

// -----

// Grouped-query attention with K/V heads repeated as transformers'
// repeat_kv writes it (unsqueeze, expand, reshape): the fused op reads the
// 2 K/V heads directly (kv_group 4).
// CHECK-LABEL: func.func @repeat_kv
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x16x8xf32>, %[[K:.*]]: tensor<1x2x16x8xf32>, %[[V:.*]]: tensor<1x2x16x8xf32>)
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {kv_group = 4 : i64, scale = 0.35355338454246521 : f64}
// CHECK-NOT: attn.expand
func.func @repeat_kv(%q: tensor<1x8x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x8x16x8xf32> {
  %shape = attn.constant dense<[1, 2, 4, 16, 8]> : tensor<5xi64>
  %k1 = attn.expand_dims %k, [2] : tensor<1x2x16x8xf32> -> tensor<1x2x1x16x8xf32>
  %k2 = attn.expand %k1, %shape : (tensor<1x2x1x16x8xf32>, tensor<5xi64>) -> tensor<1x2x4x16x8xf32>
  %k3 = attn.reshape %k2, [1, 8, 16, 8] : tensor<1x2x4x16x8xf32> -> tensor<1x8x16x8xf32>
  %v1 = attn.expand_dims %v, [2] : tensor<1x2x16x8xf32> -> tensor<1x2x1x16x8xf32>
  %v2 = attn.expand %v1, %shape : (tensor<1x2x1x16x8xf32>, tensor<5xi64>) -> tensor<1x2x4x16x8xf32>
  %v3 = attn.reshape %v2, [1, 8, 16, 8] : tensor<1x2x4x16x8xf32> -> tensor<1x8x16x8xf32>
  %kt = attn.transpose %k3, [0, 1, 3, 2] : tensor<1x8x16x8xf32> -> tensor<1x8x8x16xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x16x8xf32>, tensor<1x8x8x16xf32>) -> tensor<1x8x16x16xf32>
  %c = attn.constant dense<0.35355339059327379> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<1x8x16x16xf32>, tensor<f32>) -> tensor<1x8x16x16xf32>
  %p = attn.softmax %sc, -1 : tensor<1x8x16x16xf32>
  %o = attn.matmul %p, %v3 : (tensor<1x8x16x16xf32>, tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32>
  return %o : tensor<1x8x16x8xf32>
}

// -----

// Negative: a 'where' on the scores whose other branch is not a mask fill.
// CHECK-LABEL: func.func @where_not_a_mask
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: a 'where' on the scores whose other branch is not a masked-score constant (-inf, the lowest float or at most -10000) (at 'attn.select')
func.func @where_not_a_mask(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %m: tensor<8x8xi1>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %one = attn.constant dense<-1.0> : tensor<f32>
  %w = attn.select %m, %s, %one : (tensor<8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: an op other than a scale or a mask between Q·Kᵀ and the softmax.
// CHECK-LABEL: func.func @tanh_between
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: 'attn.tanh' between Q·Kᵀ and the softmax is not a scale or a mask (at 'attn.tanh')
func.func @tanh_between(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %s : tensor<1x2x8x8xf32>
  %p = attn.softmax %t, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// A constant lower-triangular boolean mask is the causal mask: no mask
// tensor is kept.
// CHECK-LABEL: func.func @constant_causal
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 5.000000e-01 : f64}
// CHECK-NOT: mask
func.func @constant_causal(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x4x4xf32>, %v: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %m = attn.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c = attn.constant dense<0.5> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %m, %sc, %low : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x4x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}

// -----

// masked_fill(triu(ones, 1), -inf): the causal mask built with Trilu.
// CHECK-LABEL: func.func @trilu_causal
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.000000e+00 : f64}
func.func @trilu_causal(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x6x4xf32>, %v: tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32> {
  %ones = attn.constant dense<true> : tensor<6x6xi1>
  %one = attn.constant dense<1> : tensor<i64>
  %m = attn.trilu %ones k %one : tensor<i64> {upper = true} : tensor<6x6xi1> -> tensor<6x6xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x6x4xf32> -> tensor<1x2x4x6xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x6x4xf32>, tensor<1x2x4x6xf32>) -> tensor<1x2x6x6xf32>
  %ninf = attn.constant dense<0xFF800000> : tensor<f32>
  %w = attn.select %m, %ninf, %s : (tensor<6x6xi1>, tensor<f32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// An additive constant mask, bottom-right aligned (2 queries, 4 keys: the
// queries are the last two positions).
// CHECK-LABEL: func.func @additive_causal_offset
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, causal_offset = 2 : i64, scale = 1.000000e+00 : f64}
func.func @additive_causal_offset(%q: tensor<1x1x2x4xf32>, %k: tensor<1x1x4x4xf32>, %v: tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32> {
  %m = attn.constant dense<[[0.0, 0.0, 0.0, -10000.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x1x4x4xf32> -> tensor<1x1x4x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32>
  %a = attn.add %s, %m : (tensor<1x1x2x4xf32>, tensor<2x4xf32>) -> tensor<1x1x2x4xf32>
  %p = attn.softmax %a, -1 : tensor<1x1x2x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32>
  return %o : tensor<1x1x2x4xf32>
}

// -----

// A constant mask that is not triangular stays a mask (not marked causal).
// CHECK-LABEL: func.func @not_triangular
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 1.000000e+00 : f64}
// CHECK-NOT: causal
func.func @not_triangular(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x4x4xf32>, %v: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %m = attn.constant dense<[[true, false, false, false], [true, true, false, false], [true, false, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %m, %s, %low : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x4x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}

// -----

// Heads folded into the batch ([B·H, N, D], bmm-style): the fused op sees a
// leading axis of 1.
// CHECK-LABEL: func.func @rank3
// CHECK-SAME: (%[[Q:.*]]: tensor<6x5x8xf32>, %[[K:.*]]: tensor<6x7x8xf32>, %[[V:.*]]: tensor<6x7x8xf32>)
// CHECK-DAG: %[[Q4:.*]] = attn.expand_dims %[[Q]], [0] : tensor<6x5x8xf32> -> tensor<1x6x5x8xf32>
// CHECK-DAG: %[[K4:.*]] = attn.expand_dims %[[K]], [0] : tensor<6x7x8xf32> -> tensor<1x6x7x8xf32>
// CHECK-DAG: %[[V4:.*]] = attn.expand_dims %[[V]], [0] : tensor<6x7x8xf32> -> tensor<1x6x7x8xf32>
// CHECK: %[[O:.*]] = attn.sdpa %[[Q4]], %[[K4]], %[[V4]] {scale = 1.250000e-01 : f64} : (tensor<1x6x5x8xf32>, tensor<1x6x7x8xf32>, tensor<1x6x7x8xf32>) -> tensor<1x6x5x8xf32>
// CHECK: attn.expand_dims %[[O]], [0] {squeeze} : tensor<1x6x5x8xf32> -> tensor<6x5x8xf32>
func.func @rank3(%q: tensor<6x5x8xf32>, %k: tensor<6x7x8xf32>, %v: tensor<6x7x8xf32>) -> tensor<6x5x8xf32> {
  %kt = attn.transpose %k, [0, 2, 1] : tensor<6x7x8xf32> -> tensor<6x8x7xf32>
  %s = attn.matmul %q, %kt : (tensor<6x5x8xf32>, tensor<6x8x7xf32>) -> tensor<6x5x7xf32>
  %c = attn.constant dense<0.125> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<6x5x7xf32>, tensor<f32>) -> tensor<6x5x7xf32>
  %p = attn.softmax %sc, -1 : tensor<6x5x7xf32>
  %o = attn.matmul %p, %v : (tensor<6x5x7xf32>, tensor<6x7x8xf32>) -> tensor<6x5x8xf32>
  return %o : tensor<6x5x8xf32>
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
