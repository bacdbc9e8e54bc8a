// RUN: attnc-opt %s -attn-resolve-reshapes | FileCheck %s
// RUN: attnc-opt %s -attn-resolve-reshapes -canonicalize | FileCheck %s --check-prefix=CANON
// RUN: attnc-opt %s -attn-resolve-reshapes -canonicalize -attn-tile=target=x86-64-linux-avx512 | FileCheck %s --check-prefix=TILE

// A head split as exporters write it with dynamic batch and sequence:
// view(Shape(x)[0], Shape(x)[1], -1, 32). Both run-time entries are x's own
// extents on the same axes: copied (0), and the head count follows.
// CHECK-LABEL: func.func @head_split
// CHECK: attn.reshape %arg0, [0, 0, -1, 32] : tensor<?x?x384xf32> -> tensor<?x?x?x32xf32>
// CHECK-NOT: attn.reshape_dynamic
// CANON-LABEL: func.func @head_split
// CANON: attn.reshape %arg0, [0, 0, -1, 32] : tensor<?x?x384xf32> -> tensor<?x?x12x32xf32>
// CANON: attn.transpose {{.*}} : tensor<?x?x12x32xf32> ->
// A split of run-time axes copied in place is a layout op like a static one:
// computed inside its consumer.
// TILE-LABEL: func.func @head_split
// TILE: attn.reshape %arg0, [0, 0, -1, 32] {schedule = #attn.schedule<inlined = true>}
func.func @head_split(%x: tensor<?x?x384xf32>) -> tensor<?x?x?x32xf32> {
  %shape = attn.shape %x {end = 3 : i64, start = 0 : i64} : tensor<?x?x384xf32> -> tensor<3xi64>
  %i0 = attn.constant dense<0> : tensor<i64>
  %i1 = attn.constant dense<1> : tensor<i64>
  %b = attn.gather %shape[%i0], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %n = attn.gather %shape[%i1], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = attn.expand_dims %b, [0] : tensor<i64> -> tensor<1xi64>
  %n1 = attn.expand_dims %n, [0] : tensor<i64> -> tensor<1xi64>
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %d = attn.constant dense<32> : tensor<1xi64>
  %target = attn.concat %b1, %n1, %m1, %d axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %split = attn.reshape_dynamic %x, %target : (tensor<?x?x384xf32>, tensor<4xi64>) -> tensor<?x?x?x32xf32>
  %t = attn.transpose %split, [0, 2, 1, 3] : tensor<?x?x?x32xf32> -> tensor<?x?x?x32xf32>
  %r = attn.transpose %t, [0, 2, 1, 3] : tensor<?x?x?x32xf32> -> tensor<?x?x?x32xf32>
  return %r : tensor<?x?x?x32xf32>
}

// The extents come from another tensor that is the same at run time: a
// tensor computed from x that keeps its batch and sequence axes.
// CHECK-LABEL: func.func @extents_of_another_tensor
// CHECK: attn.reshape %{{.*}}, [0, 0, -1] : tensor<?x?x4x8xf32> -> tensor<?x?x?xf32>
// CHECK-NOT: attn.reshape_dynamic
func.func @extents_of_another_tensor(%x: tensor<?x?x4x8xf32>) -> tensor<?x?x?xf32> {
  %y = attn.exp %x : tensor<?x?x4x8xf32>
  %shape = attn.shape %x {end = 2 : i64, start = 0 : i64} : tensor<?x?x4x8xf32> -> tensor<2xi64>
  %i0 = attn.constant dense<0> : tensor<i64>
  %i1 = attn.constant dense<1> : tensor<i64>
  %b = attn.gather %shape[%i0], 0 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %n = attn.gather %shape[%i1], 0 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %b1 = attn.expand_dims %b, [0] : tensor<i64> -> tensor<1xi64>
  %n1 = attn.expand_dims %n, [0] : tensor<i64> -> tensor<1xi64>
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %target = attn.concat %b1, %n1, %m1 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %merged = attn.reshape_dynamic %y, %target : (tensor<?x?x4x8xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %merged : tensor<?x?x?xf32>
}

// Not resolved: an entry that is another axis's extent (a swap of batch and
// sequence cannot be a copy), an entry of an unrelated tensor, and a 0
// under allowzero (an empty axis, not a copy).
// CHECK-LABEL: func.func @left_dynamic
// CHECK-COUNT-3: attn.reshape_dynamic
func.func @left_dynamic(%x: tensor<?x?x384xf32>, %other: tensor<?x?xf32>) -> (tensor<?x?x384xf32>, tensor<?x?x384xf32>, tensor<?x?x384xf32>) {
  %shape = attn.shape %x {end = 3 : i64, start = 0 : i64} : tensor<?x?x384xf32> -> tensor<3xi64>
  %i0 = attn.constant dense<0> : tensor<i64>
  %i1 = attn.constant dense<1> : tensor<i64>
  %b = attn.gather %shape[%i0], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %n = attn.gather %shape[%i1], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = attn.expand_dims %b, [0] : tensor<i64> -> tensor<1xi64>
  %n1 = attn.expand_dims %n, [0] : tensor<i64> -> tensor<1xi64>
  %c = attn.constant dense<384> : tensor<1xi64>
  %swapped = attn.concat %n1, %b1, %c axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %r0 = attn.reshape_dynamic %x, %swapped : (tensor<?x?x384xf32>, tensor<3xi64>) -> tensor<?x?x384xf32>
  %oshape = attn.shape %other {end = 2 : i64, start = 0 : i64} : tensor<?x?xf32> -> tensor<2xi64>
  %foreign = attn.concat %oshape, %c axis 0 : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
  %r1 = attn.reshape_dynamic %x, %foreign : (tensor<?x?x384xf32>, tensor<3xi64>) -> tensor<?x?x384xf32>
  %z = attn.constant dense<0> : tensor<1xi64>
  %zeros = attn.concat %b1, %z, %c axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %r2 = attn.reshape_dynamic %x, %zeros {allowzero} : (tensor<?x?x384xf32>, tensor<3xi64>) -> tensor<?x?x384xf32>
  return %r0, %r1, %r2 : tensor<?x?x384xf32>, tensor<?x?x384xf32>, tensor<?x?x384xf32>
}
