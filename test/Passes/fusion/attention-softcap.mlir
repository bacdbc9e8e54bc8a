// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Soft-capped scores (Gemma-2): c · tanh(s / c) after the scale and before
// the mask becomes attn.sdpa's softcap; caps it cannot express are reported.

// The cap after the scale, an additive mask after the cap.
// CHECK-LABEL: func.func @softcap_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x8x4xf32>, %[[K:.*]]: tensor<1x2x8x4xf32>, %[[V:.*]]: tensor<1x2x8x4xf32>, %[[M:.*]]: tensor<1x1x8x8xf32>)
// CHECK-NEXT: %[[O:.*]] = attn.sdpa %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 5.000000e-01 : f64, softcap = 3.000000e+01 : f64}
// CHECK-NEXT: return %[[O]]
func.func @softcap_mask(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %m: tensor<1x1x8x8xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %h = attn.constant dense<0.5> : tensor<f32>
  %ss = attn.mul %s, %h : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %c = attn.constant dense<30.0> : tensor<f32>
  %d = attn.div %ss, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %d : tensor<1x2x8x8xf32>
  %sc = attn.mul %t, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %a = attn.add %sc, %m : (tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %a, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// The cap as tanh(s · (1/c)) · c, no scale.
// CHECK-LABEL: func.func @softcap_reciprocal
// CHECK: attn.sdpa {{.*}} {scale = 1.000000e+00 : f64, softcap = 5.000000e+01 : f64}
func.func @softcap_reciprocal(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %r = attn.constant dense<0.02> : tensor<f32>
  %d = attn.mul %s, %r : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %d : tensor<1x2x8x8xf32>
  %c = attn.constant dense<50.0> : tensor<f32>
  %sc = attn.mul %c, %t : (tensor<f32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %sc, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: a where-mask inside the cap (tanh(-inf) · c is -c, not -inf).
// CHECK-LABEL: func.func @mask_inside_cap
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: a mask applied inside the soft cap c · tanh(s / c) (at 'attn.select')
func.func @mask_inside_cap(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %keep: tensor<1x1x8x8xi1>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %low = attn.constant dense<-1.0e+04> : tensor<f32>
  %w = attn.select %keep, %s, %low : (tensor<1x1x8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %c = attn.constant dense<30.0> : tensor<f32>
  %d = attn.div %w, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %d : tensor<1x2x8x8xf32>
  %sc = attn.mul %t, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %sc, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: an additive mask inside the cap.
// CHECK-LABEL: func.func @add_inside_cap
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: a mask added inside the soft cap c · tanh(s / c) (at 'attn.add')
func.func @add_inside_cap(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %m: tensor<1x1x8x8xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %a = attn.add %s, %m : (tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x2x8x8xf32>
  %c = attn.constant dense<30.0> : tensor<f32>
  %d = attn.div %a, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %d : tensor<1x2x8x8xf32>
  %sc = attn.mul %t, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %sc, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: a scale after the cap (outside tanh).
// CHECK-LABEL: func.func @scale_after_cap
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the scores are scaled after their soft cap c · tanh(s / c) (at 'attn.mul')
func.func @scale_after_cap(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %c = attn.constant dense<30.0> : tensor<f32>
  %d = attn.div %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %d : tensor<1x2x8x8xf32>
  %sc = attn.mul %t, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %h = attn.constant dense<0.5> : tensor<f32>
  %ss = attn.mul %sc, %h : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %ss, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: two caps.
// CHECK-LABEL: func.func @capped_twice
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the scores are soft-capped twice (at 'attn.mul')
func.func @capped_twice(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %c = attn.constant dense<30.0> : tensor<f32>
  %d = attn.div %s, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t = attn.tanh %d : tensor<1x2x8x8xf32>
  %sc = attn.mul %t, %c : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %c2 = attn.constant dense<30.0> : tensor<f32>
  %d2 = attn.div %sc, %c2 : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %t2 = attn.tanh %d2 : tensor<1x2x8x8xf32>
  %sc2 = attn.mul %t2, %c2 : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %sc2, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}
