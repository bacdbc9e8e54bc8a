// RUN: attnc-opt %s -attn-tile=target=x86-64-linux-avx512 -attn-outline-kernels | FileCheck %s

// Two layers that differ only in their weights are one kernel, called
// twice: the transpose inlined into each product goes into the kernel, the
// weights stay in the function and are passed.
// CHECK-LABEL: func.func @layers(
// CHECK-SAME: attributes {attn.kernels = 2 : i64}
// CHECK-DAG: %[[W0:.*]] = attn.constant dense<{{\[\[}}1.000000e+00{{.*}}> : tensor<4x4xf32>
// CHECK-DAG: %[[W1:.*]] = attn.constant dense<{{\[\[}}2.000000e+00{{.*}}> : tensor<4x4xf32>
// CHECK: %[[M0:.*]] = call @layers_k0_matmul(%arg0, %[[W0]])
// CHECK: %[[M1:.*]] = call @layers_k0_matmul(%[[M0]], %[[W1]])
// CHECK-NOT: attn.transpose
// CHECK: return %[[M1]]
// CHECK: func.func private @layers_k0_matmul(%[[A:.*]]: tensor<2x4x4xf32>, %[[B:.*]]: tensor<4x4xf32>) -> (tensor<2x4x4xf32> {attn.name = "matmul"}) attributes {attn.kernel}
// CHECK-NEXT: %[[T:.*]] = attn.transpose %[[A]], [0, 2, 1] {schedule = #attn.schedule<inlined = true>}
// CHECK-NEXT: %[[P:.*]] = attn.matmul %[[T]], %[[B]]
// CHECK-NEXT: return %[[P]]
// CHECK-NOT: func.func private @layers_k1
func.func @layers(%x: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %w0 = attn.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]> : tensor<4x4xf32>
  %w1 = attn.constant dense<[[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 2.0]]> : tensor<4x4xf32>
  %t0 = attn.transpose %x, [0, 2, 1] : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
  %m0 = attn.matmul %t0, %w0 : (tensor<2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x4x4xf32>
  %t1 = attn.transpose %m0, [0, 2, 1] : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
  %m1 = attn.matmul %t1, %w1 : (tensor<2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x4x4xf32>
  return %m1 : tensor<2x4x4xf32>
}

// Scalars and splats are cloned into each kernel that reads them; a kernel
// whose scalar differs is another kernel. Shape arithmetic (attn.shape of
// an argument) goes into the kernel that reads it.
// CHECK-LABEL: func.func @scalars(
// CHECK-SAME: attributes {attn.kernels = 3 : i64}
// CHECK: %[[S0:.*]] = call @scalars_k0_softmax(%arg0)
// CHECK: %[[S1:.*]] = call @scalars_k0_softmax(%[[S0]])
// CHECK: %[[S2:.*]] = call @scalars_k1_softmax(%[[S1]])
// CHECK: return %[[S2]]
// CHECK: func.func private @scalars_k0_softmax(
// CHECK: attn.constant dense<5.000000e-01> : tensor<f32>
// CHECK: attn.mul
// CHECK: attn.softmax
// CHECK: func.func private @scalars_k1_softmax(
// CHECK: attn.constant dense<2.500000e-01> : tensor<f32>
func.func @scalars(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %half = attn.constant dense<0.5> : tensor<f32>
  %quarter = attn.constant dense<0.25> : tensor<f32>
  %a0 = attn.mul %x, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %s0 = attn.softmax %a0, -1 : tensor<4x8xf32>
  %a1 = attn.mul %s0, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %s1 = attn.softmax %a1, -1 : tensor<4x8xf32>
  %a2 = attn.mul %s1, %quarter : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %s2 = attn.softmax %a2, -1 : tensor<4x8xf32>
  return %s2 : tensor<4x8xf32>
}

// An output that is an input (or a constant, or another output) leaves the
// function whole: it compiles as one pipeline.
// CHECK-LABEL: func.func @passthrough(
// CHECK-NOT: attn.kernels
// CHECK: attn.add
// CHECK-NOT: call
// CHECK: return
func.func @passthrough(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %y = attn.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %x, %y : tensor<4xf32>, tensor<4xf32>
}
