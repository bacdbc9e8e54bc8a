// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Attention cores: masks proven causal (constant, Trilu, bottom-right aligned) and one that is not.

// A constant lower-triangular boolean mask is the causal mask: no mask
// tensor is kept.
// CHECK-LABEL: func.func @constant_causal
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa
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
