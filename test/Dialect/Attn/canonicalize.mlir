// RUN: attnc-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @fold_scale_arithmetic
func.func @fold_scale_arithmetic() -> tensor<f32> {
  // sqrt(cast(64)) folds to the constant 8.
  // CHECK: %[[C:.*]] = attn.constant dense<8.000000e+00> : tensor<f32>
  // CHECK-NEXT: return %[[C]]
  %d = attn.constant dense<64> : tensor<i64>
  %f = attn.cast %d : tensor<i64> to tensor<f32>
  %s = attn.sqrt %f : tensor<f32>
  return %s : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
func.func @identities(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %one = attn.constant dense<1.0> : tensor<f32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %0 = attn.mul %x, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %1 = attn.div %0, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %2 = attn.add %1, %zero : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %3 = attn.transpose %2, [0, 1] : tensor<4x8xf32> -> tensor<4x8xf32>
  %4 = attn.cast %3 : tensor<4x8xf32> to tensor<4x8xf32>
  // CHECK-NEXT: return %[[X]]
  return %4 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @compose_transposes
func.func @compose_transposes(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  // CHECK: attn.transpose %{{.*}}, [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK-NOT: attn.transpose
  %0 = attn.transpose %x, [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %1 = attn.transpose %0, [2, 1, 0] : tensor<3x2x4xf32> -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @fold_constant_reshape
func.func @fold_constant_reshape() -> tensor<2x2xi64> {
  // CHECK: attn.constant dense<{{\[\[}}1, 2], [3, 4]]> : tensor<2x2xi64>
  %c = attn.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
  %r = attn.reshape %c, [2, -1] : tensor<4xi64> -> tensor<2x2xi64>
  return %r : tensor<2x2xi64>
}

// -----

// CHECK-LABEL: func.func @integer_division_truncates
func.func @integer_division_truncates() -> tensor<2xi64> {
  // CHECK: attn.constant dense<[-3, 3]> : tensor<2xi64>
  %a = attn.constant dense<[-7, 7]> : tensor<2xi64>
  %b = attn.constant dense<2> : tensor<i64>
  %0 = attn.div %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @unsigned_division
func.func @unsigned_division() -> tensor<2xui32> {
  // CHECK: attn.constant dense<[2147483647, 1]> : tensor<2xui32>
  %a = attn.constant dense<[4294967295, 3]> : tensor<2xui32>
  %b = attn.constant dense<2> : tensor<ui32>
  %0 = attn.div %a, %b : (tensor<2xui32>, tensor<ui32>) -> tensor<2xui32>
  return %0 : tensor<2xui32>
}

// -----

// Integer casts keep every bit: sign- or zero-extended by the source's
// signedness, wrapped when narrower.
// CHECK-LABEL: func.func @integer_casts
func.func @integer_casts() -> (tensor<2xui64>, tensor<2xi64>, tensor<2xi16>) {
  // CHECK-DAG: attn.constant dense<[18446744073709551615, 9223372036854775807]> : tensor<2xui64>
  // CHECK-DAG: attn.constant dense<[4294967295, 9223372036854775807]> : tensor<2xi64>
  // CHECK-DAG: attn.constant dense<[-1, -2]> : tensor<2xi16>
  %s = attn.constant dense<[-1, 9223372036854775807]> : tensor<2xi64>
  %u = attn.constant dense<[4294967295, 9223372036854775807]> : tensor<2xui64>
  %w = attn.constant dense<[4294967295, 65534]> : tensor<2xui32>
  %0 = attn.cast %s : tensor<2xi64> to tensor<2xui64>
  %1 = attn.cast %u : tensor<2xui64> to tensor<2xi64>
  %2 = attn.cast %w : tensor<2xui32> to tensor<2xi16>
  return %0, %1, %2 : tensor<2xui64>, tensor<2xi64>, tensor<2xi16>
}

// -----

// Shape arithmetic ONNX inference could not follow (TorchScript's
// x.view(b, n, 4, 8) and q.size(-1) ** 0.5): the extents that follow from
// the operands become the result types, known integers become constants,
// and the scale folds to a constant.
// CHECK-LABEL: func.func @refine_shapes
func.func @refine_shapes(%x: tensor<?x?x32xf32>) -> (tensor<f32>, tensor<?xf32>) {
  // CHECK-DAG: %[[SCALE:.*]] = attn.constant dense<2.82842708> : tensor<f32>
  // CHECK-DAG: %[[SPLIT:.*]] = attn.reshape_dynamic %{{.*}}, %{{.*}} : (tensor<?x?x32xf32>, tensor<4xi64>) -> tensor<?x?x4x8xf32>
  // CHECK: attn.transpose %[[SPLIT]], [0, 2, 1, 3] : tensor<?x?x4x8xf32> -> tensor<?x4x?x8xf32>
  // CHECK: return %[[SCALE]], %{{.*}} : tensor<f32>, tensor<?xf32>
  %shape = attn.shape %x {end = 3 : i64, start = 0 : i64} : tensor<?x?x32xf32> -> tensor<3xi64>
  %i0 = attn.constant dense<0> : tensor<i64>
  %i1 = attn.constant dense<1> : tensor<i64>
  %i2 = attn.constant dense<2> : tensor<i64>
  %b = attn.gather %shape[%i0], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %n = attn.gather %shape[%i1], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %h = attn.gather %shape[%i2], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %four = attn.constant dense<4> : tensor<i64>
  %d = attn.div %h, %four : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %b1 = attn.expand_dims %b, [0] : tensor<i64> -> tensor<1xi64>
  %n1 = attn.expand_dims %n, [0] : tensor<i64> -> tensor<1xi64>
  %four1 = attn.expand_dims %four, [0] : tensor<i64> -> tensor<1xi64>
  %d1 = attn.expand_dims %d, [0] : tensor<i64> -> tensor<1xi64>
  %target = attn.concat %b1, %n1, %four1, %d1 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %split = attn.reshape_dynamic %x, %target : (tensor<?x?x32xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %heads = attn.transpose %split, [0, 2, 1, 3] : tensor<?x?x?x?xf32> -> tensor<?x?x?x?xf32>
  %qshape = attn.shape %heads {end = 4 : i64, start = 0 : i64} : tensor<?x?x?x?xf32> -> tensor<4xi64>
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %big = attn.constant dense<9223372036854775807> : tensor<1xi64>
  %last = attn.slice %qshape[%m1 : %big] {axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xi64>
  %last0 = attn.expand_dims %last, [0] {squeeze} : tensor<?xi64> -> tensor<i64>
  %lastf = attn.cast %last0 : tensor<i64> to tensor<f32>
  %half = attn.constant dense<0.5> : tensor<f32>
  %scale = attn.pow %lastf, %half : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %sum = attn.reduce "sum" %heads, [1, 2, 3] {keepdims = false} : tensor<?x?x?x?xf32> -> tensor<?xf32>
  return %scale, %sum : tensor<f32>, tensor<?xf32>
}

// -----

// A result the function returns keeps its type: the signature is the
// model's interface.
// CHECK-LABEL: func.func @refine_keeps_results
// CHECK: attn.transpose %{{.*}}, [1, 0] : tensor<2x3xf32> -> tensor<?x?xf32>
func.func @refine_keeps_results(%x: tensor<2x3xf32>) -> tensor<?x?xf32> {
  %t = attn.transpose %x, [1, 0] : tensor<2x3xf32> -> tensor<?x?xf32>
  return %t : tensor<?x?xf32>
}


// -----

// A transposed constant is folded (exports without constant folding
// transpose every linear weight in the graph).
// CHECK-LABEL: func.func @transpose_constant
func.func @transpose_constant() -> (tensor<3x2xf32>, tensor<2x2x2xi64>) {
  // CHECK-DAG: attn.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
  // CHECK-DAG: attn.constant dense<{{\[}}{{\[}}[0, 4], [2, 6]], {{\[}}[1, 5], [3, 7]]]> : tensor<2x2x2xi64>
  // CHECK-NOT: attn.transpose
  %a = attn.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %0 = attn.transpose %a, [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %b = attn.constant dense<[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]> : tensor<2x2x2xi64>
  %1 = attn.transpose %b, [2, 1, 0] : tensor<2x2x2xi64> -> tensor<2x2x2xi64>
  return %0, %1 : tensor<3x2xf32>, tensor<2x2x2xi64>
}
