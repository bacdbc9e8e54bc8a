// RUN: attnc-opt %s -attn-fuse-norm-act -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-norm-act=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// GELU from primitives: erf and tanh forms in any product order, and chains that must not fuse.

// GELU, erf form as BERT's exporter writes it: x · (1 + erf(x / √2)) · 0.5.
// CHECK-LABEL: func.func @gelu_erf
// CHECK-SAME: (%[[X:.*]]: tensor<2x128xf32>)
// CHECK-NEXT: %[[G:.*]] = attn.gelu %[[X]] : tensor<2x128xf32>
// CHECK-NEXT: return %[[G]]
// REASON: remark: fusion: gelu erf 'attn.erf' fused into attn.gelu
func.func @gelu_erf(%x: tensor<2x128xf32>) -> tensor<2x128xf32> {
  %r2 = attn.constant dense<1.41421354> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %half = attn.constant dense<0.5> : tensor<f32>
  %d = attn.div %x, %r2 : (tensor<2x128xf32>, tensor<f32>) -> tensor<2x128xf32>
  %e = attn.erf %d : tensor<2x128xf32>
  %t = attn.add %e, %one : (tensor<2x128xf32>, tensor<f32>) -> tensor<2x128xf32>
  %p = attn.mul %x, %t : (tensor<2x128xf32>, tensor<2x128xf32>) -> tensor<2x128xf32>
  %y = attn.mul %p, %half : (tensor<2x128xf32>, tensor<f32>) -> tensor<2x128xf32>
  return %y : tensor<2x128xf32>
}

// -----

// GELU, erf form with x · (1/√2) and 0.5 · x first.
// CHECK-LABEL: func.func @gelu_erf_mul
// CHECK-NEXT: attn.gelu %{{.*}} : tensor<4xf32>
func.func @gelu_erf_mul(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = attn.constant dense<0.707106769> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %half = attn.constant dense<0.5> : tensor<f32>
  %d = attn.mul %r, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %e = attn.erf %d : tensor<4xf32>
  %t = attn.add %one, %e : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %h = attn.mul %half, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %y = attn.mul %t, %h : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// GELU, tanh form (GPT-2's gelu_new) with pow(x, 3).
// CHECK-LABEL: func.func @gelu_tanh_pow
// CHECK-NEXT: attn.gelu %{{.*}} {approximate = "tanh"} : tensor<2x8xf32>
// REASON: remark: fusion: gelu tanh 'attn.tanh' fused into attn.gelu (tanh)
func.func @gelu_tanh_pow(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %half = attn.constant dense<0.5> : tensor<f32>
  %three = attn.constant dense<3.0> : tensor<f32>
  %k = attn.constant dense<0.044715> : tensor<f32>
  %c = attn.constant dense<0.797884583> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %h = attn.mul %x, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %x3 = attn.pow %x, %three : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %kx3 = attn.mul %x3, %k : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %in = attn.add %x, %kx3 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %arg = attn.mul %in, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %t = attn.tanh %arg : tensor<2x8xf32>
  %t1 = attn.add %t, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %y = attn.mul %h, %t1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// GELU, tanh form with x · x · x.
// CHECK-LABEL: func.func @gelu_tanh_cube
// CHECK-NEXT: attn.gelu %{{.*}} {approximate = "tanh"} : tensor<8xf32>
func.func @gelu_tanh_cube(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = attn.constant dense<0.5> : tensor<f32>
  %k = attn.constant dense<0.044715> : tensor<f32>
  %c = attn.constant dense<0.797884583> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %xx = attn.mul %x, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %x3 = attn.mul %xx, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %kx3 = attn.mul %k, %x3 : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %in = attn.add %kx3, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %arg = attn.mul %c, %in : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %t = attn.tanh %arg : tensor<8xf32>
  %t1 = attn.add %one, %t : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %p = attn.mul %t1, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %y = attn.mul %p, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// GELU, BLOOM's factored tanh form: x · 0.5 · (1 + tanh(0.79788456 · x ·
// (1 + 0.044715 · x · x))).
// CHECK-LABEL: func.func @gelu_tanh_factored
// CHECK-NEXT: attn.gelu %{{.*}} {approximate = "tanh"} : tensor<8xf32>
// REASON: remark: fusion: gelu tanh 'attn.tanh' fused into attn.gelu (tanh)
func.func @gelu_tanh_factored(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = attn.constant dense<0.5> : tensor<f32>
  %k = attn.constant dense<0.044715> : tensor<f32>
  %c = attn.constant dense<0.79788456> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %kx = attn.mul %x, %k : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %kxx = attn.mul %kx, %x : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %in = attn.add %kxx, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %cx = attn.mul %x, %c : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %arg = attn.mul %cx, %in : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %t = attn.tanh %arg : tensor<8xf32>
  %t1 = attn.add %t, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %h = attn.mul %x, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %y = attn.mul %h, %t1 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Negative: a plain tanh activation is not a GELU.
// CHECK-LABEL: func.func @plain_tanh
// CHECK: attn.tanh
// REASON: remark: fusion: gelu tanh 'attn.tanh' not fused: its argument is not √(2/π) · (x + 0.044715 · x³) (at 'attn.tanh')
func.func @plain_tanh(%x: tensor<8xf32>) -> tensor<8xf32> {
  %t = attn.tanh %x : tensor<8xf32>
  return %t : tensor<8xf32>
}

// -----

// Negative: the product's constant is not 0.5.
// CHECK-LABEL: func.func @gelu_wrong_half
// CHECK-NOT: attn.gelu
// REASON: remark: fusion: gelu erf 'attn.erf' not fused: the product is not 0.5 · x · (1 + attn.erf(...)) (at 'attn.mul')
func.func @gelu_wrong_half(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r2 = attn.constant dense<1.41421354> : tensor<f32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %q = attn.constant dense<0.25> : tensor<f32>
  %d = attn.div %x, %r2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e = attn.erf %d : tensor<4xf32>
  %t = attn.add %e, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %p = attn.mul %x, %t : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = attn.mul %p, %q : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// GELU's sigmoid approximation ("quick GELU"): x · sigmoid(1.702 · x), the
// constant on either side.
// CHECK-LABEL: func.func @gelu_sigmoid
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2x8xf32>
// CHECK: %[[G:.*]] = attn.gelu %[[X]] {approximate = "sigmoid"} : tensor<2x8xf32>
// CHECK-NOT: attn.sigmoid
// CHECK: return %[[G]]
// REASON: remark: fusion: gelu sigmoid 'attn.sigmoid' fused into attn.gelu (sigmoid)
func.func @gelu_sigmoid(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %c = attn.constant dense<1.702> : tensor<f32>
  %a = attn.mul %c, %x : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %s = attn.sigmoid %a : tensor<2x8xf32>
  %y = attn.mul %x, %s : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Negative: SiLU (x · sigmoid(x), Llama's MLP) is no GELU; it is left as
// it is and not reported.
// CHECK-LABEL: func.func @silu
// CHECK: attn.sigmoid
// CHECK-NOT: attn.gelu
// REASON-NOT: sigmoid 'attn.sigmoid'
func.func @silu(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %s = attn.sigmoid %x : tensor<2x8xf32>
  %y = attn.mul %x, %s : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
