// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Attention cores: additive and boolean (where / masked_fill) masks and their combinations.

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

// masked_fill(mask, lowest) (true = masked) on the scaled scores plus an
// additive padding mask: the two become one additive mask (the lowest
// float where masked, which attn.sdpa reads as a masked key).
// CHECK-LABEL: func.func @fill_and_additive
// CHECK-SAME: %[[C:[a-z0-9]+]]: tensor<8x8xi1>, %[[P:[a-z0-9]+]]: tensor<2x1x1x8xf32>
// CHECK: %[[KEEP:.*]] = attn.not %[[C]]
// CHECK: %[[LOW:.*]] = attn.constant dense<-3.40282347E+38>
// CHECK: %[[MASK:.*]] = attn.select %[[KEEP]], %[[P]], %[[LOW]] : (tensor<8x8xi1>, tensor<2x1x1x8xf32>, tensor<f32>) -> tensor<2x1x8x8xf32>
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

// Negative: a LeakyReLU of Q·Kᵀ, imported as a select between 0.2 · s and
// s: not attn.sdpa, and not graph attention either (whose scores are a
// LeakyReLU of a per-query plus a per-key term).
// CHECK-LABEL: func.func @leaky_relu_scores
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the LeakyReLU's argument is not a sum of a per-query and a per-key term (at 'attn.select')
func.func @leaky_relu_scores(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %slope = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %s, %zero : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xi1>
  %scaled = attn.mul %s, %slope : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %w = attn.select %neg, %scaled, %s : (tensor<1x2x8x8xi1>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Negative: a 'where' between tanh(s) and s, a piecewise function of the
// scores that is no LeakyReLU.
// CHECK-LABEL: func.func @piecewise_scores
// CHECK-NOT: attn.sdpa
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: a piecewise function of the scores (a 'where' choosing between two functions of them, as LeakyReLU is imported), which attn.sdpa does not apply (at 'attn.select')
func.func @piecewise_scores(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x8x4xf32> -> tensor<1x2x4x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %neg = attn.less %s, %zero : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xi1>
  %t = attn.tanh %s : tensor<1x2x8x8xf32>
  %w = attn.select %neg, %t, %s : (tensor<1x2x8x8xi1>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}
