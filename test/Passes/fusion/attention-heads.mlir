// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Attention cores: K transposed by its producer, multi-query and grouped-query heads (repeat_kv), heads folded into the batch.

// K transposed by its producer on other axes ([B, N, H, D] → [B, H, D, N]):
// K is the transpose of Kᵀ, composed with the producer's.
// CHECK-LABEL: func.func @k_transposed_by_producer
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x8x8xf32>, %[[K:.*]]: tensor<1x8x8x8xf32>, %[[V:.*]]: tensor<1x8x8x8xf32>)
// CHECK: %[[KT:.*]] = attn.transpose %[[K]], [0, 2, 1, 3]
// CHECK: %[[KK:.*]] = attn.transpose %[[KT]], [0, 1, 3, 2]
// CHECK: attn.sdpa %[[Q]], %[[KK]], %[[V]]
// CHECK-NOT: attn.softmax
func.func @k_transposed_by_producer(%q: tensor<1x8x8x8xf32>, %k: tensor<1x8x8x8xf32>, %v: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %kt = attn.transpose %k, [0, 2, 1, 3] : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %p = attn.softmax %s, -1 : tensor<1x8x8x8xf32>
  %o = attn.matmul %p, %v : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %o : tensor<1x8x8x8xf32>
}

// -----

// Kᵀ given directly ([B, H, D, Nk], D ≠ Nk): K is its transpose.
// CHECK-LABEL: func.func @kt_given
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x8x4xf32>, %[[KT:.*]]: tensor<1x2x4x6xf32>, %[[V:.*]]: tensor<1x2x6x4xf32>)
// CHECK: %[[K:.*]] = attn.transpose %[[KT]], [0, 1, 3, 2] : tensor<1x2x4x6xf32> -> tensor<1x2x6x4xf32>
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {{.*}}scale = 1.000000e+00
func.func @kt_given(%q: tensor<1x2x8x4xf32>, %kt: tensor<1x2x4x6xf32>, %v: tensor<1x2x6x4xf32>) -> tensor<1x2x8x4xf32> {
  %s = attn.matmul %q, %kt : (tensor<1x2x8x4xf32>, tensor<1x2x4x6xf32>) -> tensor<1x2x8x6xf32>
  %p = attn.softmax %s, -1 : tensor<1x2x8x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x8x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// One K/V head shared by every query head (multi-query attention through
// broadcasting): K and V are indexed, not copied.
// CHECK-LABEL: func.func @multi_query
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {kv_group = 8 : i64, scale = 1.250000e-01 : f64} : (tensor<1x8x16x64xf32>, tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32>) -> tensor<1x8x16x64xf32>
func.func @multi_query(%q: tensor<1x8x16x64xf32>, %k: tensor<1x1x16x64xf32>, %v: tensor<1x1x16x64xf32>) -> tensor<1x8x16x64xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x1x16x64xf32> -> tensor<1x1x64x16xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x16x64xf32>, tensor<1x1x64x16xf32>) -> tensor<1x8x16x16xf32>
  %c = attn.constant dense<8.0> : tensor<f32>
  %d = attn.div %s, %c : (tensor<1x8x16x16xf32>, tensor<f32>) -> tensor<1x8x16x16xf32>
  %p = attn.softmax %d, -1 : tensor<1x8x16x16xf32>
  %o = attn.matmul %p, %v : (tensor<1x8x16x16xf32>, tensor<1x1x16x64xf32>) -> tensor<1x8x16x64xf32>
  return %o : tensor<1x8x16x64xf32>
}

// -----

// Grouped-query attention with K/V heads repeated as transformers'
// repeat_kv writes it (unsqueeze, expand, reshape): the fused op reads the
// 2 K/V heads directly (kv_group 4).
// CHECK-LABEL: func.func @repeat_kv
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x16x8xf32>, %[[K:.*]]: tensor<1x2x16x8xf32>, %[[V:.*]]: tensor<1x2x16x8xf32>)
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {kv_group = 4 : i64, scale = 0.35355338454246521 : f64}
// CHECK-NOT: attn.expand
func.func @repeat_kv(%q: tensor<1x8x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x8x16x8xf32> {
  %shape = attn.constant dense<[1, 2, 4, 16, 8]> : tensor<5xi64>
  %k1 = attn.expand_dims %k, [2] : tensor<1x2x16x8xf32> -> tensor<1x2x1x16x8xf32>
  %k2 = attn.expand %k1, %shape : (tensor<1x2x1x16x8xf32>, tensor<5xi64>) -> tensor<1x2x4x16x8xf32>
  %k3 = attn.reshape %k2, [1, 8, 16, 8] : tensor<1x2x4x16x8xf32> -> tensor<1x8x16x8xf32>
  %v1 = attn.expand_dims %v, [2] : tensor<1x2x16x8xf32> -> tensor<1x2x1x16x8xf32>
  %v2 = attn.expand %v1, %shape : (tensor<1x2x1x16x8xf32>, tensor<5xi64>) -> tensor<1x2x4x16x8xf32>
  %v3 = attn.reshape %v2, [1, 8, 16, 8] : tensor<1x2x4x16x8xf32> -> tensor<1x8x16x8xf32>
  %kt = attn.transpose %k3, [0, 1, 3, 2] : tensor<1x8x16x8xf32> -> tensor<1x8x8x16xf32>
  %s = attn.matmul %q, %kt : (tensor<1x8x16x8xf32>, tensor<1x8x8x16xf32>) -> tensor<1x8x16x16xf32>
  %c = attn.constant dense<0.35355339059327379> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<1x8x16x16xf32>, tensor<f32>) -> tensor<1x8x16x16xf32>
  %p = attn.softmax %sc, -1 : tensor<1x8x16x16xf32>
  %o = attn.matmul %p, %v3 : (tensor<1x8x16x16xf32>, tensor<1x8x16x8xf32>) -> tensor<1x8x16x8xf32>
  return %o : tensor<1x8x16x8xf32>
}

// -----

// Heads folded into the batch ([B·H, N, D], bmm-style): the fused op sees a
// leading axis of 1.
// CHECK-LABEL: func.func @rank3
// CHECK-SAME: (%[[Q:.*]]: tensor<6x5x8xf32>, %[[K:.*]]: tensor<6x7x8xf32>, %[[V:.*]]: tensor<6x7x8xf32>)
// CHECK-DAG: %[[Q4:.*]] = attn.expand_dims %[[Q]], [0] : tensor<6x5x8xf32> -> tensor<1x6x5x8xf32>
// CHECK-DAG: %[[K4:.*]] = attn.expand_dims %[[K]], [0] : tensor<6x7x8xf32> -> tensor<1x6x7x8xf32>
// CHECK-DAG: %[[V4:.*]] = attn.expand_dims %[[V]], [0] : tensor<6x7x8xf32> -> tensor<1x6x7x8xf32>
// CHECK: %[[O:.*]] = attn.sdpa %[[Q4]], %[[K4]], %[[V4]] {scale = 1.250000e-01 : f64} : (tensor<1x6x5x8xf32>, tensor<1x6x7x8xf32>, tensor<1x6x7x8xf32>) -> tensor<1x6x5x8xf32>
// CHECK: attn.expand_dims %[[O]], [0] {squeeze} : tensor<1x6x5x8xf32> -> tensor<6x5x8xf32>
func.func @rank3(%q: tensor<6x5x8xf32>, %k: tensor<6x7x8xf32>, %v: tensor<6x7x8xf32>) -> tensor<6x5x8xf32> {
  %kt = attn.transpose %k, [0, 2, 1] : tensor<6x7x8xf32> -> tensor<6x8x7xf32>
  %s = attn.matmul %q, %kt : (tensor<6x5x8xf32>, tensor<6x8x7xf32>) -> tensor<6x5x7xf32>
  %c = attn.constant dense<0.125> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<6x5x7xf32>, tensor<f32>) -> tensor<6x5x7xf32>
  %p = attn.softmax %sc, -1 : tensor<6x5x7xf32>
  %o = attn.matmul %p, %v : (tensor<6x5x7xf32>, tensor<6x7x8xf32>) -> tensor<6x5x8xf32>
  return %o : tensor<6x5x8xf32>
}

// -----

// Query heads only the run knows (a reshape to [B, S, -1, 8], as Whisper's
// encoder and GPT-2 with past key/values export it) against 4 key/value
// heads: not shown different, so fused; the generated code checks at run
// time that the counts agree.
// CHECK-LABEL: func.func @heads_known_at_run_time
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f64} : (tensor<1x?x6x8xf32>, tensor<1x4x6x8xf32>, tensor<1x4x6x8xf32>) -> tensor<1x?x6x8xf32>
func.func @heads_known_at_run_time(%q: tensor<1x?x6x8xf32>, %k: tensor<1x4x6x8xf32>, %v: tensor<1x4x6x8xf32>) -> tensor<1x?x6x8xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x4x6x8xf32> -> tensor<1x4x8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<1x?x6x8xf32>, tensor<1x4x8x6xf32>) -> tensor<1x?x6x6xf32>
  %p = attn.softmax %s, -1 : tensor<1x?x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x?x6x6xf32>, tensor<1x4x6x8xf32>) -> tensor<1x?x6x8xf32>
  return %o : tensor<1x?x6x8xf32>
}

// -----

// Keys of one head but values of four: no multi-query attention (that
// needs both of one head), and the reason says so with the counts.
// CHECK-LABEL: func.func @heads_differ
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: query heads and key/value heads differ (queries 4, keys 1, values 4) and are no repeat of each other
// CHECK-NOT: attn.sdpa
func.func @heads_differ(%q: tensor<1x4x6x8xf32>, %k: tensor<1x1x6x8xf32>, %v: tensor<1x4x6x8xf32>) -> tensor<1x4x6x8xf32> {
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x1x6x8xf32> -> tensor<1x1x8x6xf32>
  %s = attn.matmul %q, %kt : (tensor<1x4x6x8xf32>, tensor<1x1x8x6xf32>) -> tensor<1x4x6x6xf32>
  %p = attn.softmax %s, -1 : tensor<1x4x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x4x6x6xf32>, tensor<1x4x6x8xf32>) -> tensor<1x4x6x8xf32>
  return %o : tensor<1x4x6x8xf32>
}

// -----

// Multi-query attention whose one K/V head is expanded to the query heads
// (Falcon): the expand is dropped, the group is all 8 heads.
// CHECK-LABEL: func.func @mqa_expand
// CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16x4xf32>, %[[K:.*]]: tensor<2x1x16x4xf32>, %[[V:.*]]: tensor<2x1x16x4xf32>)
// CHECK: %[[O:.*]] = attn.sdpa %[[Q]], %[[K]], %[[V]] {kv_group = 8 : i64
// CHECK-NOT: attn.expand
func.func @mqa_expand(%q: tensor<2x8x16x4xf32>, %k: tensor<2x1x16x4xf32>, %v: tensor<2x1x16x4xf32>) -> tensor<2x8x16x4xf32> {
  %shape = attn.constant dense<[2, 8, 16, 4]> : tensor<4xi64>
  %ke = attn.expand %k, %shape : (tensor<2x1x16x4xf32>, tensor<4xi64>) -> tensor<2x8x16x4xf32>
  %ve = attn.expand %v, %shape : (tensor<2x1x16x4xf32>, tensor<4xi64>) -> tensor<2x8x16x4xf32>
  %kt = attn.transpose %ke, [0, 1, 3, 2] : tensor<2x8x16x4xf32> -> tensor<2x8x4x16xf32>
  %s = attn.matmul %q, %kt : (tensor<2x8x16x4xf32>, tensor<2x8x4x16xf32>) -> tensor<2x8x16x16xf32>
  %p = attn.softmax %s, -1 : tensor<2x8x16x16xf32>
  %o = attn.matmul %p, %ve : (tensor<2x8x16x16xf32>, tensor<2x8x16x4xf32>) -> tensor<2x8x16x4xf32>
  return %o : tensor<2x8x16x4xf32>
}

// -----

// The same with the head tiled.
// CHECK-LABEL: func.func @mqa_tile
// CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16x4xf32>, %[[K:.*]]: tensor<2x1x16x4xf32>, %[[V:.*]]: tensor<2x1x16x4xf32>)
// CHECK: attn.sdpa %[[Q]], %[[K]], %[[V]] {kv_group = 8 : i64
func.func @mqa_tile(%q: tensor<2x8x16x4xf32>, %k: tensor<2x1x16x4xf32>, %v: tensor<2x1x16x4xf32>) -> tensor<2x8x16x4xf32> {
  %reps = attn.constant dense<[1, 8, 1, 1]> : tensor<4xi64>
  %ke = attn.tile %k, %reps : (tensor<2x1x16x4xf32>, tensor<4xi64>) -> tensor<2x8x16x4xf32>
  %ve = attn.tile %v, %reps : (tensor<2x1x16x4xf32>, tensor<4xi64>) -> tensor<2x8x16x4xf32>
  %kt = attn.transpose %ke, [0, 1, 3, 2] : tensor<2x8x16x4xf32> -> tensor<2x8x4x16xf32>
  %s = attn.matmul %q, %kt : (tensor<2x8x16x4xf32>, tensor<2x8x4x16xf32>) -> tensor<2x8x16x16xf32>
  %p = attn.softmax %s, -1 : tensor<2x8x16x16xf32>
  %o = attn.matmul %p, %ve : (tensor<2x8x16x16xf32>, tensor<2x8x16x4xf32>) -> tensor<2x8x16x4xf32>
  return %o : tensor<2x8x16x4xf32>
}

// -----

// Two K/V heads tiled four times are interleaved (0, 1, 0, 1, ...), not
// grouped: the tile stays and the heads match.
// CHECK-LABEL: func.func @tile_two_heads
// CHECK: attn.tile
// CHECK: attn.sdpa
// CHECK-NOT: kv_group
func.func @tile_two_heads(%q: tensor<2x8x16x4xf32>, %k: tensor<2x2x16x4xf32>, %v: tensor<2x2x16x4xf32>) -> tensor<2x8x16x4xf32> {
  %reps = attn.constant dense<[1, 4, 1, 1]> : tensor<4xi64>
  %ke = attn.tile %k, %reps : (tensor<2x2x16x4xf32>, tensor<4xi64>) -> tensor<2x8x16x4xf32>
  %ve = attn.tile %v, %reps : (tensor<2x2x16x4xf32>, tensor<4xi64>) -> tensor<2x8x16x4xf32>
  %kt = attn.transpose %ke, [0, 1, 3, 2] : tensor<2x8x16x4xf32> -> tensor<2x8x4x16xf32>
  %s = attn.matmul %q, %kt : (tensor<2x8x16x4xf32>, tensor<2x8x4x16xf32>) -> tensor<2x8x16x16xf32>
  %p = attn.softmax %s, -1 : tensor<2x8x16x16xf32>
  %o = attn.matmul %p, %ve : (tensor<2x8x16x16xf32>, tensor<2x8x16x4xf32>) -> tensor<2x8x16x4xf32>
  return %o : tensor<2x8x16x4xf32>
}
