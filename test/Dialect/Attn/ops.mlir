// RUN: attnc-opt %s | attnc-opt | FileCheck %s
// RUN: attnc-opt %s --mlir-print-op-generic | attnc-opt | FileCheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x?x8xf32>, %b: tensor<8xf32>) -> tensor<2x?x8xf32> {
  // CHECK: %[[C:.*]] = attn.constant dense<2.000000e+00> : tensor<f32>
  %c = attn.constant dense<2.0> : tensor<f32>
  // CHECK: %[[ADD:.*]] = attn.add %{{.*}}, %{{.*}} : (tensor<2x?x8xf32>, tensor<8xf32>) -> tensor<2x?x8xf32>
  %0 = attn.add %a, %b : (tensor<2x?x8xf32>, tensor<8xf32>) -> tensor<2x?x8xf32>
  // CHECK: attn.sub %[[ADD]], %[[C]]
  %1 = attn.sub %0, %c : (tensor<2x?x8xf32>, tensor<f32>) -> tensor<2x?x8xf32>
  // CHECK: attn.mul
  %2 = attn.mul %1, %c : (tensor<2x?x8xf32>, tensor<f32>) -> tensor<2x?x8xf32>
  // CHECK: attn.div
  %3 = attn.div %2, %c : (tensor<2x?x8xf32>, tensor<f32>) -> tensor<2x?x8xf32>
  // CHECK: attn.sqrt %{{.*}} : tensor<2x?x8xf32>
  %4 = attn.sqrt %3 : tensor<2x?x8xf32>
  return %4 : tensor<2x?x8xf32>
}

// CHECK-LABEL: func.func @layout
func.func @layout(%x: tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf16> {
  // CHECK: attn.transpose %{{.*}}, [0, 2, 1, 3] : tensor<2x?x4x16xf32> -> tensor<2x4x?x16xf32>
  %0 = attn.transpose %x, [0, 2, 1, 3] : tensor<2x?x4x16xf32> -> tensor<2x4x?x16xf32>
  // CHECK: attn.reshape %{{.*}}, [0, 0, -1] : tensor<2x4x?x16xf32> -> tensor<2x4x?xf32>
  %1 = attn.reshape %0, [0, 0, -1] : tensor<2x4x?x16xf32> -> tensor<2x4x?xf32>
  // CHECK: attn.reshape %{{.*}}, [2, 4, -1, 16]
  %2 = attn.reshape %1, [2, 4, -1, 16] : tensor<2x4x?xf32> -> tensor<2x4x?x16xf32>
  // CHECK: attn.cast %{{.*}} : tensor<2x4x?x16xf32> to tensor<2x4x?x16xf16>
  %3 = attn.cast %2 : tensor<2x4x?x16xf32> to tensor<2x4x?x16xf16>
  return %3 : tensor<2x4x?x16xf16>
}

// CHECK-LABEL: func.func @attention_primitives
func.func @attention_primitives(%q: tensor<1x8x?x64xf32>, %kt: tensor<1x8x64x?xf32>, %v: tensor<1x8x?x64xf32>) -> tensor<1x8x?x64xf32> {
  // CHECK: attn.matmul %{{.*}}, %{{.*}} : (tensor<1x8x?x64xf32>, tensor<1x8x64x?xf32>) -> tensor<1x8x?x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x?x64xf32>, tensor<1x8x64x?xf32>) -> tensor<1x8x?x?xf32>
  // CHECK: attn.softmax %{{.*}}, -1 : tensor<1x8x?x?xf32>
  %p = attn.softmax %s, -1 : tensor<1x8x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x8x?x?xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}

// CHECK-LABEL: func.func @sdpa
func.func @sdpa(%q: tensor<2x8x?x64xf32>, %k: tensor<2x2x?x64xf32>, %v: tensor<2x2x?x64xf32>, %m: tensor<2x1x1x?xi1>) -> (tensor<2x8x?x64xf32>, tensor<2x8x?x64xf32>) {
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {kv_group = 4 : i64, scale = 1.250000e-01 : f64}
  %0 = attn.sdpa %q, %k, %v mask %m {scale = 0.125 : f64, kv_group = 4 : i64} : (tensor<2x8x?x64xf32>, tensor<2x2x?x64xf32>, tensor<2x2x?x64xf32>, tensor<2x1x1x?xi1>) -> tensor<2x8x?x64xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, kv_group = 4 : i64, schedule = #attn.schedule<kind = flash, vector_width = 16, tiles = [64, 256], parallel = true>}
  %1 = attn.sdpa %q, %k, %v {causal, kv_group = 4 : i64, schedule = #attn.schedule<kind = flash, vector_width = 16, tiles = [64, 256], parallel = true>} : (tensor<2x8x?x64xf32>, tensor<2x2x?x64xf32>, tensor<2x2x?x64xf32>) -> tensor<2x8x?x64xf32>
  return %0, %1 : tensor<2x8x?x64xf32>, tensor<2x8x?x64xf32>
}

// CHECK-LABEL: func.func @schedules
func.func @schedules(%a: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // CHECK: schedule = #attn.schedule<inlined = true>
  %0 = attn.transpose %a, [1, 0] {schedule = #attn.schedule<inlined = true>} : tensor<64x64xf32> -> tensor<64x64xf32>
  // CHECK: schedule = #attn.schedule<gpu_threads = 128>
  %1 = attn.add %0, %a {schedule = #attn.schedule<gpu_threads = 128>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  // CHECK: schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [30, 64, 6], parallel = true, bf16 = true>
  %2 = attn.matmul %1, %a {schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [30, 64, 6], parallel = true, bf16 = true>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  return %2 : tensor<64x64xf32>
}

// CHECK-LABEL: func.func @mod_pad
func.func @mod_pad(%a: tensor<2x?xi32>, %b: tensor<i32>, %x: tensor<3x4xf32>, %p: tensor<4xi64>, %v: tensor<f32>) -> (tensor<2x?xi32>, tensor<2x?xi32>, tensor<5x7xf32>, tensor<?x?xf32>) {
  // CHECK: attn.mod %{{.*}}, %{{.*}} : (tensor<2x?xi32>, tensor<i32>) -> tensor<2x?xi32>
  %0 = attn.mod %a, %b : (tensor<2x?xi32>, tensor<i32>) -> tensor<2x?xi32>
  // CHECK: attn.mod %{{.*}}, %{{.*}} {fmod}
  %1 = attn.mod %a, %b {fmod} : (tensor<2x?xi32>, tensor<i32>) -> tensor<2x?xi32>
  %pads = attn.constant dense<[1, 2, 1, 1]> : tensor<4xi64>
  // CHECK: attn.pad %{{.*}}, %{{.*}}, %{{.*}} {mode = "constant"} : (tensor<3x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<5x7xf32>
  %2 = attn.pad %x, %pads, %v {mode = "constant"} : (tensor<3x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<5x7xf32>
  // CHECK: attn.pad %{{.*}}, %{{.*}} {mode = "reflect"} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<?x?xf32>
  %3 = attn.pad %x, %p {mode = "reflect"} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<?x?xf32>
  return %0, %1, %2, %3 : tensor<2x?xi32>, tensor<2x?xi32>, tensor<5x7xf32>, tensor<?x?xf32>
}

// CHECK-LABEL: func.func @concat
func.func @concat(%a: tensor<1xi64>, %b: tensor<2xi64>) -> tensor<3xi64> {
  // CHECK: attn.concat %{{.*}}, %{{.*}} axis 0 : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  %0 = attn.concat %a, %b axis 0 : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// CHECK-LABEL: func.func @graph_attention
func.func @graph_attention(%s: tensor<?x2x?xf32>, %t: tensor<?x2x?xf32>, %v: tensor<?x2x?x8xf32>, %a: tensor<?x1x?x?xi1>) -> tensor<?x2x?x8xf32> {
  // CHECK: attn.graph_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {negative_slope = 2.000000e-01 : f64, schedule = #attn.schedule<kind = block_sparse, vector_width = 16, tiles = [16, 64], parallel = true>}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64, schedule = #attn.schedule<kind = block_sparse, vector_width = 16, tiles = [16, 64], parallel = true>} : (tensor<?x2x?xf32>, tensor<?x2x?xf32>, tensor<?x2x?x8xf32>, tensor<?x1x?x?xi1>) -> tensor<?x2x?x8xf32>
  return %0 : tensor<?x2x?x8xf32>
}

// CHECK-LABEL: func.func @pools_and_scatters
func.func @pools_and_scatters(%x: tensor<1x2x4x4xf32>, %d: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>, %t: tensor<2x1xi64>, %r: tensor<2x4xf32>) -> (tensor<1x2x2x2xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
  // CHECK: attn.pool "avg" %{{.*}} {count_include_pad, dilations = array<i64: 1, 1>, kernel = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  %0 = attn.pool "avg" %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad} : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  // CHECK: attn.scatter_elements %{{.*}}[%{{.*}}] = %{{.*}}, 1 {reduction = "add"}
  %1 = attn.scatter_elements %d[%i] = %u, 1 {reduction = "add"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  // CHECK: attn.scatter_nd %{{.*}}[%{{.*}}] = %{{.*}} :
  %2 = attn.scatter_nd %d[%t] = %r : (tensor<3x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %0, %1, %2 : tensor<1x2x2x2xf32>, tensor<3x4xf32>, tensor<3x4xf32>
}
