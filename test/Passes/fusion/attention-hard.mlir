// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Hard attention: argmax over Q·Kᵀ whose indices gather value rows becomes
// attn.hard_attention; the scores are never stored.

// One sequence: Gather(V, argmax(Q·Kᵀ)); the indices are returned too.
// CHECK-LABEL: func.func @one_sequence
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<4x8xf32>, %[[K:[a-z0-9]+]]: tensor<6x8xf32>, %[[V:[a-z0-9]+]]: tensor<6x5xf32>
// CHECK: %[[OUT:.*]], %[[IDX:.*]] = attn.hard_attention %[[Q]], %[[K]], %[[V]] : (tensor<4x8xf32>, tensor<6x8xf32>, tensor<6x5xf32>) -> (tensor<4x5xf32>, tensor<4xi64>)
// CHECK: return %[[OUT]], %[[IDX]]
// CHECK-NOT: attn.argmax
// REASON: remark: fusion: attention argmax 'attn.argmax' fused into attn.hard_attention
func.func @one_sequence(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x5xf32>) -> (tensor<4x5xf32>, tensor<4xi64>) {
  %kt = attn.transpose %k, [1, 0] : tensor<6x8xf32> -> tensor<8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %i = attn.argmax %s, 1 {keepdims = false} : tensor<4x6xf32> -> tensor<4xi64>
  %y = attn.gather %v[%i], 0 : (tensor<6x5xf32>, tensor<4xi64>) -> tensor<4x5xf32>
  return %y, %i : tensor<4x5xf32>, tensor<4xi64>
}

// -----

// Batched, as index_select writes it: the values flattened to [B·Nk, Dv],
// rows i + b·Nk (the offsets folded to constants), reshaped back; the scale
// and a mask through where(lowest) are kept, the last maximum selected.
// CHECK-LABEL: func.func @flattened_rows
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<2x4x8xf32>, %[[K:[a-z0-9]+]]: tensor<2x6x8xf32>, %[[V:[a-z0-9]+]]: tensor<2x6x5xf32>, %[[M:[a-z0-9]+]]: tensor<2x1x6xi1>
// CHECK: %[[OUT:.*]], %{{.*}} = attn.hard_attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 2.500000e-01 : f64, select_last_index}
// CHECK: return %[[OUT]]
func.func @flattened_rows(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x5xf32>, %m: tensor<2x1x6xi1>) -> tensor<2x4x5xf32> {
  %kt = attn.transpose %k, [0, 2, 1] : tensor<2x6x8xf32> -> tensor<2x8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x6xf32>) -> tensor<2x4x6xf32>
  %c = attn.constant dense<0.25> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<2x4x6xf32>, tensor<f32>) -> tensor<2x4x6xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %sm = attn.select %m, %sc, %low : (tensor<2x1x6xi1>, tensor<2x4x6xf32>, tensor<f32>) -> tensor<2x4x6xf32>
  %i = attn.argmax %sm, 2 {keepdims = false, select_last_index} : tensor<2x4x6xf32> -> tensor<2x4xi64>
  %off = attn.constant dense<[[0], [6]]> : tensor<2x1xi64>
  %rows = attn.add %i, %off : (tensor<2x4xi64>, tensor<2x1xi64>) -> tensor<2x4xi64>
  %flat = attn.reshape %rows, [-1] : tensor<2x4xi64> -> tensor<8xi64>
  %vf = attn.reshape %v, [-1, 5] : tensor<2x6x5xf32> -> tensor<12x5xf32>
  %g = attn.gather %vf[%flat], 0 : (tensor<12x5xf32>, tensor<8xi64>) -> tensor<8x5xf32>
  %y = attn.reshape %g, [2, -1, 5] : tensor<8x5xf32> -> tensor<2x4x5xf32>
  return %y : tensor<2x4x5xf32>
}

// -----

// Batched through GatherND with batch_dims = 1; K already transposed.
// CHECK-LABEL: func.func @gather_nd
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<3x4x8xf32>, %[[KT:[a-z0-9]+]]: tensor<3x8x6xf32>, %[[V:[a-z0-9]+]]: tensor<3x6x5xf32>
// CHECK: %[[K:.*]] = attn.transpose %[[KT]], [0, 2, 1]
// CHECK: attn.hard_attention %[[Q]], %[[K]], %[[V]] : (tensor<3x4x8xf32>, tensor<3x6x8xf32>, tensor<3x6x5xf32>) -> (tensor<3x4x5xf32>, tensor<3x4xi64>)
func.func @gather_nd(%q: tensor<3x4x8xf32>, %kt: tensor<3x8x6xf32>, %v: tensor<3x6x5xf32>) -> tensor<3x4x5xf32> {
  %s = attn.matmul %q, %kt : (tensor<3x4x8xf32>, tensor<3x8x6xf32>) -> tensor<3x4x6xf32>
  %i = attn.argmax %s, 2 {keepdims = false} : tensor<3x4x6xf32> -> tensor<3x4xi64>
  %i1 = attn.expand_dims %i, [2] : tensor<3x4xi64> -> tensor<3x4x1xi64>
  %y = attn.gather_nd %v[%i1], 1 : (tensor<3x6x5xf32>, tensor<3x4x1xi64>) -> tensor<3x4x5xf32>
  return %y : tensor<3x4x5xf32>
}

// -----

// Negative: the offsets are b·Nk + 1, so the rows are not the selected ones.
// CHECK-LABEL: func.func @wrong_offsets
// CHECK: attn.argmax
// CHECK-NOT: attn.hard_attention
// REASON: remark: fusion: attention argmax 'attn.argmax' not fused: the row offsets added to the indices are not batch · keys (at 'attn.add')
func.func @wrong_offsets(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x5xf32>) -> tensor<2x4x5xf32> {
  %kt = attn.transpose %k, [0, 2, 1] : tensor<2x6x8xf32> -> tensor<2x8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x6xf32>) -> tensor<2x4x6xf32>
  %i = attn.argmax %s, 2 {keepdims = false} : tensor<2x4x6xf32> -> tensor<2x4xi64>
  %off = attn.constant dense<[[1], [7]]> : tensor<2x1xi64>
  %rows = attn.add %i, %off : (tensor<2x4xi64>, tensor<2x1xi64>) -> tensor<2x4xi64>
  %flat = attn.reshape %rows, [-1] : tensor<2x4xi64> -> tensor<8xi64>
  %vf = attn.reshape %v, [-1, 5] : tensor<2x6x5xf32> -> tensor<12x5xf32>
  %g = attn.gather %vf[%flat], 0 : (tensor<12x5xf32>, tensor<8xi64>) -> tensor<8x5xf32>
  %y = attn.reshape %g, [2, -1, 5] : tensor<8x5xf32> -> tensor<2x4x5xf32>
  return %y : tensor<2x4x5xf32>
}

// -----

// Negative: the argmax is over the queries, not the keys.
// CHECK-LABEL: func.func @argmax_over_queries
// CHECK-NOT: attn.hard_attention
// REASON: remark: fusion: attention argmax 'attn.argmax' not fused: the argmax is not over the key axis (the last) of [..., queries, keys] scores (at 'attn.argmax')
func.func @argmax_over_queries(%q: tensor<6x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x5xf32>) -> tensor<6x5xf32> {
  %kt = attn.transpose %k, [1, 0] : tensor<6x8xf32> -> tensor<8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<6x8xf32>, tensor<8x6xf32>) -> tensor<6x6xf32>
  %i = attn.argmax %s, 0 {keepdims = false} : tensor<6x6xf32> -> tensor<6xi64>
  %y = attn.gather %v[%i], 0 : (tensor<6x5xf32>, tensor<6xi64>) -> tensor<6x5xf32>
  return %y : tensor<6x5xf32>
}

// -----

// Negative: a scale that varies per key changes which key wins; it is not
// one constant, so the argmax is not over scaled Q·Kᵀ.
// CHECK-LABEL: func.func @scale_per_key
// CHECK-NOT: attn.hard_attention
// REASON: remark: fusion: attention argmax 'attn.argmax' not fused: the scores are multiplied by a value that is not one scalar constant (a scale varying per element) (at 'attn.mul')
func.func @scale_per_key(%q: tensor<4x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x5xf32>, %c: tensor<6xf32>) -> tensor<4x5xf32> {
  %kt = attn.transpose %k, [1, 0] : tensor<6x8xf32> -> tensor<8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %sc = attn.mul %s, %c : (tensor<4x6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
  %i = attn.argmax %sc, 1 {keepdims = false} : tensor<4x6xf32> -> tensor<4xi64>
  %y = attn.gather %v[%i], 0 : (tensor<6x5xf32>, tensor<4xi64>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}
