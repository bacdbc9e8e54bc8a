// RUN: attnc-opt %s -attn-fuse-epilogues -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-epilogues=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Epilogues of matrix products, shared-input projections, residual norms.

// bias, GELU and the residual: one attn.linear.
// CHECK-LABEL: func.func @bias_gelu_residual
// REASON: remark: fusion: epilogue 'attn.matmul' fused into attn.linear (bias, gelu_tanh, residual)
// CHECK: %[[L:.*]] = attn.linear %arg0, %arg1 bias %arg2 residual %arg3 {activation = "gelu_tanh"}
// CHECK-NEXT: return %[[L]]
func.func @bias_gelu_residual(%x: tensor<?x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>, %r: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %m = attn.matmul %x, %w : (tensor<?x8xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
  %a = attn.add %b, %m : (tensor<16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  %g = attn.gelu %a {approximate = "tanh"} : tensor<?x16xf32>
  %y = attn.add %g, %r : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// SiLU written as g · sigmoid(g), no bias.
// CHECK-LABEL: func.func @silu
// CHECK: attn.linear %arg0, %arg1 {activation = "silu"}
// CHECK-NOT: attn.sigmoid
func.func @silu(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %m = attn.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %s = attn.sigmoid %m : tensor<4x16xf32>
  %y = attn.mul %m, %s : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// An activation after the reshape that restores rows flattened for the
// product (GPT-2's Conv1D) moves before it and fuses.
// CHECK-LABEL: func.func @activation_after_reshape
// CHECK: %[[L:.*]] = attn.linear %{{.*}}, %arg1 bias %arg2 {activation = "relu"}
// CHECK: attn.reshape %[[L]]
func.func @activation_after_reshape(%x: tensor<2x3x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<2x3x16xf32> {
  %f = attn.reshape %x, [6, 8] : tensor<2x3x8xf32> -> tensor<6x8xf32>
  %m = attn.matmul %f, %w : (tensor<6x8xf32>, tensor<8x16xf32>) -> tensor<6x16xf32>
  %a = attn.add %m, %b : (tensor<6x16xf32>, tensor<16xf32>) -> tensor<6x16xf32>
  %u = attn.reshape %a, [2, 3, 16] : tensor<6x16xf32> -> tensor<2x3x16xf32>
  %y = attn.relu %u : tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}

// -----

// The product has another user: it must be stored, nothing fuses.
// CHECK-LABEL: func.func @product_used_twice
// CHECK: attn.matmul
// CHECK-NOT: attn.linear
func.func @product_used_twice(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %m = attn.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = attn.add %m, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %a, %m : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// An add that broadcasts the product to a larger shape is no epilogue.
// CHECK-LABEL: func.func @add_grows_the_result
// CHECK: attn.matmul
// CHECK-NOT: attn.linear
func.func @add_grows_the_result(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<3x4x16xf32>) -> tensor<3x4x16xf32> {
  %m = attn.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %y = attn.add %m, %r : (tensor<4x16xf32>, tensor<3x4x16xf32>) -> tensor<3x4x16xf32>
  return %y : tensor<3x4x16xf32>
}

// -----

// Q, K and V of one input with constant weights and biases: one product
// over [Wq Wk Wv] plus [bq bk bv], read back through slices.
// CHECK-LABEL: func.func @merged_projections
// REASON: remark: fusion: projection 'attn.matmul' + 'attn.matmul' + 'attn.matmul' fused into one attn.matmul
// CHECK-DAG: %[[W:.*]] = attn.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>
// CHECK-DAG: %[[B:.*]] = attn.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01]> : tensor<4xf32>
// CHECK: %[[L:.*]] = attn.linear %arg0, %[[W]] bias %[[B]]
// CHECK: attn.slice %[[L]][{{.*}}] {axes = array<i64: 1>, schedule = #attn.schedule<inlined = true>, steps = array<i64: 1>} : {{.*}} -> tensor<?x2xf32>
// CHECK: attn.slice %[[L]]{{.*}} -> tensor<?x1xf32>
// CHECK: attn.slice %[[L]]{{.*}} -> tensor<?x1xf32>
func.func @merged_projections(%x: tensor<?x2xf32>) -> (tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x1xf32>) {
  %wq = attn.constant dense<[[1.0, 2.0], [5.0, 6.0]]> : tensor<2x2xf32>
  %wk = attn.constant dense<[[3.0], [7.0]]> : tensor<2x1xf32>
  %wv = attn.constant dense<[[4.0], [8.0]]> : tensor<2x1xf32>
  %bq = attn.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %bk = attn.constant dense<[0.3]> : tensor<1xf32>
  %bv = attn.constant dense<[0.4]> : tensor<1xf32>
  %q0 = attn.matmul %x, %wq : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %q = attn.add %q0, %bq : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  %k0 = attn.matmul %x, %wk : (tensor<?x2xf32>, tensor<2x1xf32>) -> tensor<?x1xf32>
  %k = attn.add %k0, %bk : (tensor<?x1xf32>, tensor<1xf32>) -> tensor<?x1xf32>
  %v0 = attn.matmul %x, %wv : (tensor<?x2xf32>, tensor<2x1xf32>) -> tensor<?x1xf32>
  %v = attn.add %v0, %bv : (tensor<?x1xf32>, tensor<1xf32>) -> tensor<?x1xf32>
  return %q, %k, %v : tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x1xf32>
}

// -----

// Weights that are inputs (not constants) are not merged.
// CHECK-LABEL: func.func @weights_not_constant
// CHECK-COUNT-2: attn.matmul %arg0
func.func @weights_not_constant(%x: tensor<4x2xf32>, %wq: tensor<2x2xf32>, %wk: tensor<2x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %q = attn.matmul %x, %wq : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %k = attn.matmul %x, %wk : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %q, %k : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Post-norm: the residual add read only by the norm becomes its operand.
// CHECK-LABEL: func.func @residual_norm
// REASON: remark: fusion: epilogue residual add of 'attn.layer_norm' fused into attn.layer_norm (residual)
// CHECK: attn.layer_norm %arg0 residual %arg1 : tensor<2x8xf32> scale %arg2
// CHECK-NOT: attn.add
func.func @residual_norm(%x: tensor<2x8xf32>, %r: tensor<2x8xf32>, %s: tensor<8xf32>) -> tensor<2x8xf32> {
  %a = attn.add %x, %r : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = attn.layer_norm %a scale %s : tensor<8xf32> {axis = 1 : i64, epsilon = 1.0e-5 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// The sum is also returned (a pre-norm residual stream): it stays an add.
// CHECK-LABEL: func.func @residual_needed_elsewhere
// CHECK: attn.add
// CHECK: attn.layer_norm %{{[0-9]+}} scale
func.func @residual_needed_elsewhere(%x: tensor<2x8xf32>, %r: tensor<2x8xf32>, %s: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %a = attn.add %x, %r : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = attn.layer_norm %a scale %s : tensor<8xf32> {axis = 1 : i64, epsilon = 1.0e-5 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %y, %a : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// A patch embedding (stride = kernel, no padding): the product of the
// patches with the weights, its bias fused, then back to NCHW.
// CHECK-LABEL: func.func @patch_embedding
// CHECK-NOT: attn.conv2d
// CHECK: attn.reshape %arg0, [0, 3, 2, 4, 2, 4] : tensor<?x3x8x8xf32> -> tensor<?x3x2x4x2x4xf32>
// CHECK: attn.transpose {{.*}}, [0, 2, 4, 1, 3, 5]
// CHECK: attn.reshape {{.*}}, [0, 4, 48] : tensor<?x2x2x3x4x4xf32> -> tensor<?x4x48xf32>
// CHECK: attn.linear {{.*}} : (tensor<?x4x48xf32>, tensor<48x5xf32>, tensor<5xf32>) -> tensor<?x4x5xf32>
// CHECK: attn.transpose {{.*}}, [0, 2, 1] : tensor<?x4x5xf32> -> tensor<?x5x4xf32>
// CHECK: attn.reshape {{.*}}, [0, 5, 2, 2] : tensor<?x5x4xf32> -> tensor<?x5x2x2xf32>
// REASON: remark: fusion: patch embedding
func.func @patch_embedding(%x: tensor<?x3x8x8xf32>) -> tensor<?x5x2x2xf32> {
  %w = attn.constant dense<[[[[-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0]], [[-1.0, 0.0, 1.0, 2.0], [3.0, -3.0, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0], [-3.0, -2.0, -1.0, 0.0]], [[1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0], [-1.0, 0.0, 1.0, 2.0]]], [[[3.0, -3.0, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0], [-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0]], [[-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0], [-1.0, 0.0, 1.0, 2.0], [3.0, -3.0, -2.0, -1.0]], [[0.0, 1.0, 2.0, 3.0], [-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0]]], [[[2.0, 3.0, -3.0, -2.0], [-1.0, 0.0, 1.0, 2.0], [3.0, -3.0, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0]], [[-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0]], [[-1.0, 0.0, 1.0, 2.0], [3.0, -3.0, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0], [-3.0, -2.0, -1.0, 0.0]]], [[[1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0], [-1.0, 0.0, 1.0, 2.0]], [[3.0, -3.0, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0], [-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0]], [[-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0], [-1.0, 0.0, 1.0, 2.0], [3.0, -3.0, -2.0, -1.0]]], [[[0.0, 1.0, 2.0, 3.0], [-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0]], [[2.0, 3.0, -3.0, -2.0], [-1.0, 0.0, 1.0, 2.0], [3.0, -3.0, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0]], [[-3.0, -2.0, -1.0, 0.0], [1.0, 2.0, 3.0, -3.0], [-2.0, -1.0, 0.0, 1.0], [2.0, 3.0, -3.0, -2.0]]]]> : tensor<5x3x4x4xf32>
  %b = attn.constant dense<[0.1, 0.2, 0.3, 0.4, 0.5]> : tensor<5xf32>
  %y = attn.conv2d %x, %w bias %b : tensor<5xf32> {strides = array<i64: 4, 4>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<?x3x8x8xf32>, tensor<5x3x4x4xf32> -> tensor<?x5x2x2xf32>
  return %y : tensor<?x5x2x2xf32>
}

// -----

// Overlapping windows (stride below the kernel) stay a convolution.
// CHECK-LABEL: func.func @overlapping_conv
// CHECK: attn.conv2d
func.func @overlapping_conv(%x: tensor<1x3x8x8xf32>, %w: tensor<5x3x4x4xf32>) -> tensor<1x5x3x3xf32> {
  %y = attn.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x3x8x8xf32>, tensor<5x3x4x4xf32> -> tensor<1x5x3x3xf32>
  return %y : tensor<1x5x3x3xf32>
}

// -----

// ONNX Runtime's dynamic quantization of a Linear: the dequantized 8-bit
// product (cast to f32 times the product of the scales), then bias and
// GELU: one quantized attn.linear.
// CHECK-LABEL: func.func @quantized_bias_gelu
// REASON: remark: fusion: epilogue 'attn.matmul_integer' fused into a quantized attn.linear (dequantization, bias, gelu)
// CHECK: %[[S:.*]] = attn.mul %arg2, %arg3
// CHECK: %[[L:.*]] = attn.linear %arg0, %arg1 bias %arg6 quantized %[[S]], %arg4, %arg5 {activation = "gelu"} : (tensor<?x8xui8>, tensor<8x16xi8>, tensor<16xf32>, tensor<f32>, tensor<ui8>, tensor<i8>) -> tensor<?x16xf32>
// CHECK-NOT: attn.matmul_integer
// CHECK-NEXT: return %[[L]]
func.func @quantized_bias_gelu(%x: tensor<?x8xui8>, %w: tensor<8x16xi8>, %xs: tensor<f32>, %ws: tensor<f32>, %xz: tensor<ui8>, %wz: tensor<i8>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %s = attn.mul %xs, %ws : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %m = attn.matmul_integer %x, %w, %xz, %wz : (tensor<?x8xui8>, tensor<8x16xi8>, tensor<ui8>, tensor<i8>) -> tensor<?x16xi32>
  %c = attn.cast %m : tensor<?x16xi32> to tensor<?x16xf32>
  %d = attn.mul %c, %s : (tensor<?x16xf32>, tensor<f32>) -> tensor<?x16xf32>
  %a = attn.add %d, %b : (tensor<?x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %g = attn.gelu %a {approximate = "none"} : tensor<?x16xf32>
  return %g : tensor<?x16xf32>
}

// -----

// Per-column scales ([1, N]) become a vector; nothing after the product.
// CHECK-LABEL: func.func @quantized_per_column
// CHECK: %[[V:.*]] = attn.reshape %arg2, [16] : tensor<1x16xf32> -> tensor<16xf32>
// CHECK: attn.linear %arg0, %arg1 quantized %[[V]], %arg3, %arg4 : (tensor<4x8xi8>, tensor<8x16xui8>, tensor<16xf32>, tensor<i8>, tensor<16xui8>) -> tensor<4x16xf32>
func.func @quantized_per_column(%x: tensor<4x8xi8>, %w: tensor<8x16xui8>, %s: tensor<1x16xf32>, %xz: tensor<i8>, %wz: tensor<16xui8>) -> tensor<4x16xf32> {
  %m = attn.matmul_integer %x, %w, %xz, %wz : (tensor<4x8xi8>, tensor<8x16xui8>, tensor<i8>, tensor<16xui8>) -> tensor<4x16xi32>
  %c = attn.cast %m : tensor<4x16xi32> to tensor<4x16xf32>
  %d = attn.mul %s, %c : (tensor<1x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %d : tensor<4x16xf32>
}

// -----

// A per-row left zero point, or an i32 result used as such, stays unfused.
// CHECK-LABEL: func.func @quantized_per_row_zero_point
// CHECK: attn.matmul_integer
// CHECK-NOT: attn.linear
func.func @quantized_per_row_zero_point(%x: tensor<4x8xui8>, %w: tensor<8x16xi8>, %s: tensor<f32>, %xz: tensor<4xui8>, %wz: tensor<i8>) -> tensor<4x16xf32> {
  %m = attn.matmul_integer %x, %w, %xz, %wz : (tensor<4x8xui8>, tensor<8x16xi8>, tensor<4xui8>, tensor<i8>) -> tensor<4x16xi32>
  %c = attn.cast %m : tensor<4x16xi32> to tensor<4x16xf32>
  %d = attn.mul %c, %s : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  return %d : tensor<4x16xf32>
}

// -----

// Quantized Q, K and V projections of one input with constant weights and
// biases: one quantized attn.linear over the concatenated weights, the
// scales broadcast per column, each projection read back through a slice.
// CHECK-LABEL: func.func @quantized_projections
// REASON: remark: fusion: projection {{.*}} fused into one attn.linear
// CHECK: %[[E0:.*]] = attn.expand %arg2
// CHECK: %[[E1:.*]] = attn.expand %arg3
// CHECK: %[[S:.*]] = attn.concat %[[E0]], %[[E1]] axis 0 : (tensor<8xf32>, tensor<8xf32>) -> tensor<16xf32>
// CHECK: %[[L:.*]] = attn.linear %arg0, %{{.*}} bias %{{.*}} quantized %[[S]], %arg1, %{{.*}} : (tensor<?x4xui8>, tensor<4x16xi8>, tensor<16xf32>, tensor<16xf32>, tensor<ui8>, tensor<16xi8>) -> tensor<?x16xf32>
// CHECK: attn.slice %[[L]]
// CHECK: attn.slice %[[L]]
// CHECK-NOT: attn.matmul_integer
func.func @quantized_projections(%x: tensor<?x4xui8>, %xz: tensor<ui8>, %sq: tensor<f32>, %sk: tensor<f32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %wq = attn.constant dense<1> : tensor<4x8xi8>
  %wk = attn.constant dense<2> : tensor<4x8xi8>
  %z = attn.constant dense<0> : tensor<i8>
  %bq = attn.constant dense<0.5> : tensor<8xf32>
  %bk = attn.constant dense<0.25> : tensor<8xf32>
  %mq = attn.matmul_integer %x, %wq, %xz, %z : (tensor<?x4xui8>, tensor<4x8xi8>, tensor<ui8>, tensor<i8>) -> tensor<?x8xi32>
  %cq = attn.cast %mq : tensor<?x8xi32> to tensor<?x8xf32>
  %dq = attn.mul %cq, %sq : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf32>
  %q = attn.add %dq, %bq : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %mk = attn.matmul_integer %x, %wk, %xz, %z : (tensor<?x4xui8>, tensor<4x8xi8>, tensor<ui8>, tensor<i8>) -> tensor<?x8xi32>
  %ck = attn.cast %mk : tensor<?x8xi32> to tensor<?x8xf32>
  %dk = attn.mul %ck, %sk : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf32>
  %k = attn.add %dk, %bk : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %q, %k : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// QDQ: a float product of a dequantized 8-bit activation (per tensor) and
// dequantized constant 8-bit weights (per output column) is the 8-bit
// product scaled by the product of the scales; its bias fuses after it.
// CHECK-LABEL: func.func @qdq_per_column
// REASON: remark: fusion: epilogue 'attn.matmul' fused into a quantized attn.linear (dequantization, bias)
// CHECK: %[[S:.*]] = attn.mul %arg1, %{{.*}} : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
// CHECK: attn.linear %arg0, %{{.*}} bias %{{.*}} quantized %[[S]], %arg2, %{{.*}} : (tensor<?x8xui8>, tensor<8x16xi8>, tensor<16xf32>, tensor<16xf32>, tensor<ui8>, tensor<16xi8>) -> tensor<?x16xf32>
// CHECK-NOT: attn.dequantize
// CHECK-NOT: attn.matmul
func.func @qdq_per_column(%xq: tensor<?x8xui8>, %xs: tensor<f32>, %xz: tensor<ui8>) -> tensor<?x16xf32> {
  %w = attn.constant dense<3> : tensor<8x16xi8>
  %ws = attn.constant dense<0.5> : tensor<16xf32>
  %wz = attn.constant dense<0> : tensor<16xi8>
  %b = attn.constant dense<0.25> : tensor<16xf32>
  %x = attn.dequantize %xq, %xs, %xz {axis = 0 : i64} : (tensor<?x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<?x8xf32>
  %wd = attn.dequantize %w, %ws, %wz {axis = 1 : i64} : (tensor<8x16xi8>, tensor<16xf32>, tensor<16xi8>) -> tensor<8x16xf32>
  %m = attn.matmul %x, %wd : (tensor<?x8xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
  %y = attn.add %m, %b : (tensor<?x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Weights quantized per row of K (axis 0) have no per-column form: the
// product stays in float.
// CHECK-LABEL: func.func @qdq_per_row
// CHECK: attn.matmul
// CHECK-NOT: quantized
func.func @qdq_per_row(%xq: tensor<4x8xui8>, %xs: tensor<f32>, %xz: tensor<ui8>) -> tensor<4x16xf32> {
  %w = attn.constant dense<3> : tensor<8x16xi8>
  %ws = attn.constant dense<0.5> : tensor<8xf32>
  %wz = attn.constant dense<0> : tensor<8xi8>
  %x = attn.dequantize %xq, %xs, %xz {axis = 0 : i64} : (tensor<4x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<4x8xf32>
  %wd = attn.dequantize %w, %ws, %wz {axis = 0 : i64} : (tensor<8x16xi8>, tensor<8xf32>, tensor<8xi8>) -> tensor<8x16xf32>
  %m = attn.matmul %x, %wd : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %m : tensor<4x16xf32>
}
