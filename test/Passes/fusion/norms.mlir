// RUN: attnc-opt %s -attn-fuse-norm-act -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-norm-act=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Norms from primitives: RMSNorm and LayerNorm, and chains that must not fuse.

// RMSNorm as Llama writes it: pow(x, 2), mean, + ε, sqrt, 1 / ·, x · ·, · w.
// CHECK-LABEL: func.func @rms_llama
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NEXT: %[[N:.*]] = attn.layer_norm %[[X]] scale %[[W]] : tensor<64xf32> {axis = 2 : i64, epsilon = 9.9999999747524271E-7 : f64, rms} : tensor<2x5x64xf32> -> tensor<2x5x64xf32>
// CHECK-NEXT: return %[[N]]
// REASON: remark: fusion: norm 'attn.reduce' fused into attn.layer_norm (rms)
func.func @rms_llama(%x: tensor<2x5x64xf32>, %w: tensor<64xf32>) -> tensor<2x5x64xf32> {
  %two = attn.constant dense<2.0> : tensor<f32>
  %eps = attn.constant dense<1.0e-6> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %sq = attn.pow %x, %two : (tensor<2x5x64xf32>, tensor<f32>) -> tensor<2x5x64xf32>
  %m = attn.reduce "mean" %sq, [2] {keepdims = true} : tensor<2x5x64xf32> -> tensor<2x5x1xf32>
  %a = attn.add %m, %eps : (tensor<2x5x1xf32>, tensor<f32>) -> tensor<2x5x1xf32>
  %s = attn.sqrt %a : tensor<2x5x1xf32>
  %r = attn.div %one, %s : (tensor<f32>, tensor<2x5x1xf32>) -> tensor<2x5x1xf32>
  %n = attn.mul %x, %r : (tensor<2x5x64xf32>, tensor<2x5x1xf32>) -> tensor<2x5x64xf32>
  %y = attn.mul %w, %n : (tensor<64xf32>, tensor<2x5x64xf32>) -> tensor<2x5x64xf32>
  return %y : tensor<2x5x64xf32>
}

// -----

// RMSNorm with x · x, reciprocal, no weight.
// CHECK-LABEL: func.func @rms_reciprocal
// CHECK-NEXT: attn.layer_norm %{{.*}} {axis = 1 : i64, epsilon = 9.9999997473787516E-6 : f64, rms} : tensor<3x16xf32> -> tensor<3x16xf32>
func.func @rms_reciprocal(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %eps = attn.constant dense<1.0e-5> : tensor<f32>
  %sq = attn.mul %x, %x : (tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<3x16xf32>
  %m = attn.reduce "mean" %sq, [1] {keepdims = true} : tensor<3x16xf32> -> tensor<3x1xf32>
  %a = attn.add %eps, %m : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %s = attn.sqrt %a : tensor<3x1xf32>
  %r = attn.reciprocal %s : tensor<3x1xf32>
  %n = attn.mul %r, %x : (tensor<3x1xf32>, tensor<3x16xf32>) -> tensor<3x16xf32>
  return %n : tensor<3x16xf32>
}

// -----

// LayerNorm from its primitives (opset < 17 exporters): mean, x - mean,
// pow 2, mean, + ε, sqrt, div, · w, + b.
// CHECK-LABEL: func.func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x8x32xf32>, %[[W:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NEXT: %[[N:.*]] = attn.layer_norm %[[X]] scale %[[W]] : tensor<32xf32> bias %[[B]] : tensor<32xf32> {axis = 2 : i64, epsilon = 9.9999997473787516E-6 : f64} : tensor<?x8x32xf32> -> tensor<?x8x32xf32>
// CHECK-NEXT: return %[[N]]
// REASON: remark: fusion: norm 'attn.reduce' fused into attn.layer_norm
func.func @layer_norm(%x: tensor<?x8x32xf32>, %w: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<?x8x32xf32> {
  %two = attn.constant dense<2.0> : tensor<f32>
  %eps = attn.constant dense<1.0e-5> : tensor<f32>
  %mu = attn.reduce "mean" %x, [2] {keepdims = true} : tensor<?x8x32xf32> -> tensor<?x8x1xf32>
  %d = attn.sub %x, %mu : (tensor<?x8x32xf32>, tensor<?x8x1xf32>) -> tensor<?x8x32xf32>
  %sq = attn.pow %d, %two : (tensor<?x8x32xf32>, tensor<f32>) -> tensor<?x8x32xf32>
  %var = attn.reduce "mean" %sq, [2] {keepdims = true} : tensor<?x8x32xf32> -> tensor<?x8x1xf32>
  %a = attn.add %var, %eps : (tensor<?x8x1xf32>, tensor<f32>) -> tensor<?x8x1xf32>
  %s = attn.sqrt %a : tensor<?x8x1xf32>
  %n = attn.div %d, %s : (tensor<?x8x32xf32>, tensor<?x8x1xf32>) -> tensor<?x8x32xf32>
  %y = attn.mul %n, %w : (tensor<?x8x32xf32>, tensor<32xf32>) -> tensor<?x8x32xf32>
  %z = attn.add %y, %b : (tensor<?x8x32xf32>, tensor<32xf32>) -> tensor<?x8x32xf32>
  return %z : tensor<?x8x32xf32>
}

// -----

// Negative: the mean of squares is over the wrong axis.
// CHECK-LABEL: func.func @rms_wrong_axis
// CHECK-NOT: attn.layer_norm
// REASON: remark: fusion: norm 'attn.reduce' not fused: the mean is not over the last axis alone, with its axis kept (at 'attn.reduce')
func.func @rms_wrong_axis(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %eps = attn.constant dense<1.0e-5> : tensor<f32>
  %sq = attn.mul %x, %x : (tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<3x16xf32>
  %m = attn.reduce "mean" %sq, [0] {keepdims = true} : tensor<3x16xf32> -> tensor<1x16xf32>
  %a = attn.add %m, %eps : (tensor<1x16xf32>, tensor<f32>) -> tensor<1x16xf32>
  %s = attn.sqrt %a : tensor<1x16xf32>
  %n = attn.div %x, %s : (tensor<3x16xf32>, tensor<1x16xf32>) -> tensor<3x16xf32>
  return %n : tensor<3x16xf32>
}

// -----

// Negative: ε is a run-time value.
// CHECK-LABEL: func.func @rms_eps_not_constant
// CHECK-NOT: attn.layer_norm
// REASON: remark: fusion: norm 'attn.reduce' not fused: the mean of squares is not + ε (a scalar constant) (at 'attn.reduce')
func.func @rms_eps_not_constant(%x: tensor<3x16xf32>, %eps: tensor<f32>) -> tensor<3x16xf32> {
  %sq = attn.mul %x, %x : (tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<3x16xf32>
  %m = attn.reduce "mean" %sq, [1] {keepdims = true} : tensor<3x16xf32> -> tensor<3x1xf32>
  %a = attn.add %m, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %s = attn.sqrt %a : tensor<3x1xf32>
  %n = attn.div %x, %s : (tensor<3x16xf32>, tensor<3x1xf32>) -> tensor<3x16xf32>
  return %n : tensor<3x16xf32>
}
