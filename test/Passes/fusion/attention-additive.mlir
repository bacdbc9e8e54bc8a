// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Additive (Bahdanau) attention: softmax(w · tanh(q + k)) · V becomes
// attn.additive_attention; the [.., Nq, Nk, A] sums are never stored.

// One decoder step (the PyTorch seq2seq form): the query [B, A] unsqueezed
// over the keys, w as a [A, 1] matmul squeezed, masked_fill(~mask, -inf),
// the context squeezed back to [B, Dv] and the weights returned too.
// CHECK-LABEL: func.func @single_query
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x64xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x64xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x40xf32>, %[[M:[a-z0-9]+]]: tensor<?x?xi1>
// CHECK: %[[Q1:.*]] = attn.expand_dims %[[Q]], [1] : tensor<?x64xf32> -> tensor<?x1x64xf32>
// CHECK: %[[W:.*]] = attn.reshape %{{.*}}, [-1] : tensor<64x1xf32> -> tensor<64xf32>
// CHECK: %[[M1:.*]] = attn.expand_dims %{{.*}}, [1] : tensor<?x?xi1> -> tensor<?x1x?xi1>
// CHECK: %[[OUT:.*]], %[[P:.*]] = attn.additive_attention %[[Q1]], %[[K]], %[[W]], %[[V]] mask %[[M1]] : (tensor<?x1x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x40xf32>, tensor<?x1x?xi1>) -> (tensor<?x1x40xf32>, tensor<?x1x?xf32>)
// CHECK: %[[PS:.*]] = attn.expand_dims %[[P]], [1] {squeeze}
// CHECK: %[[CTX:.*]] = attn.expand_dims %[[OUT]], [1] {squeeze}
// CHECK: return %[[CTX]], %[[PS]]
// CHECK-NOT: attn.tanh
// CHECK-NOT: attn.softmax
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.additive_attention
func.func @single_query(%q: tensor<?x64xf32>, %k: tensor<?x?x64xf32>, %v: tensor<?x?x40xf32>, %m: tensor<?x?xi1>) -> (tensor<?x40xf32>, tensor<?x?xf32>) {
  %w = attn.constant dense<0.125> : tensor<64x1xf32>
  %ninf = attn.constant dense<0xFF800000> : tensor<f32>
  %q1 = attn.expand_dims %q, [1] : tensor<?x64xf32> -> tensor<?x1x64xf32>
  %x = attn.add %q1, %k : (tensor<?x1x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %t = attn.tanh %x : tensor<?x?x64xf32>
  %s1 = attn.matmul %t, %w : (tensor<?x?x64xf32>, tensor<64x1xf32>) -> tensor<?x?x1xf32>
  %s = attn.expand_dims %s1, [2] {squeeze} : tensor<?x?x1xf32> -> tensor<?x?xf32>
  %drop = attn.not %m : tensor<?x?xi1>
  %f = attn.select %drop, %ninf, %s : (tensor<?x?xi1>, tensor<f32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %p = attn.softmax %f, -1 : tensor<?x?xf32>
  %p1 = attn.expand_dims %p, [1] : tensor<?x?xf32> -> tensor<?x1x?xf32>
  %c = attn.matmul %p1, %v : (tensor<?x1x?xf32>, tensor<?x?x40xf32>) -> tensor<?x1x40xf32>
  %ctx = attn.expand_dims %c, [1] {squeeze} : tensor<?x1x40xf32> -> tensor<?x40xf32>
  return %ctx, %p : tensor<?x40xf32>, tensor<?x?xf32>
}

// -----

// Several queries at once: q [B, Nq, 1, A] + k [B, 1, Nk, A] + a bias, w as
// Mul + ReduceSum, the scores halved (folded into w) and an additive mask.
// CHECK-LABEL: func.func @queries_reduce_bias_scale
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<2x3x6xf32>, %[[K:[a-z0-9]+]]: tensor<2x5x6xf32>, %[[V:[a-z0-9]+]]: tensor<2x5x4xf32>, %[[W:[a-z0-9]+]]: tensor<6xf32>, %[[B:[a-z0-9]+]]: tensor<6xf32>, %[[M:[a-z0-9]+]]: tensor<2x1x5xf32>
// CHECK-DAG: %[[KS:.*]] = attn.expand_dims %{{.*}}, [1] {squeeze} : tensor<2x1x5x6xf32> -> tensor<2x5x6xf32>
// CHECK-DAG: %[[QS:.*]] = attn.expand_dims %{{.*}}, [2] {squeeze} : tensor<2x3x1x6xf32> -> tensor<2x3x6xf32>
// CHECK: %[[QB:.*]] = attn.add %[[QS]], %[[B]] : (tensor<2x3x6xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
// CHECK: %[[HALF:.*]] = attn.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[WS:.*]] = attn.mul %[[W]], %[[HALF]]
// CHECK: attn.additive_attention %[[QB]], %[[KS]], %[[WS]], %[[V]] mask %[[M]] : (tensor<2x3x6xf32>, tensor<2x5x6xf32>, tensor<6xf32>, tensor<2x5x4xf32>, tensor<2x1x5xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x5xf32>)
func.func @queries_reduce_bias_scale(%q: tensor<2x3x6xf32>, %k: tensor<2x5x6xf32>, %v: tensor<2x5x4xf32>, %w: tensor<6xf32>, %b: tensor<6xf32>, %m: tensor<2x1x5xf32>) -> tensor<2x3x4xf32> {
  %q1 = attn.expand_dims %q, [2] : tensor<2x3x6xf32> -> tensor<2x3x1x6xf32>
  %k1 = attn.expand_dims %k, [1] : tensor<2x5x6xf32> -> tensor<2x1x5x6xf32>
  %x = attn.add %q1, %k1 : (tensor<2x3x1x6xf32>, tensor<2x1x5x6xf32>) -> tensor<2x3x5x6xf32>
  %xb = attn.add %x, %b : (tensor<2x3x5x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
  %t = attn.tanh %xb : tensor<2x3x5x6xf32>
  %tw = attn.mul %t, %w : (tensor<2x3x5x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
  %s = attn.reduce "sum" %tw, [3] {keepdims = false} : tensor<2x3x5x6xf32> -> tensor<2x3x5xf32>
  %two = attn.constant dense<2.0> : tensor<f32>
  %sd = attn.div %s, %two : (tensor<2x3x5xf32>, tensor<f32>) -> tensor<2x3x5xf32>
  %sm = attn.add %sd, %m : (tensor<2x3x5xf32>, tensor<2x1x5xf32>) -> tensor<2x3x5xf32>
  %p = attn.softmax %sm, -1 : tensor<2x3x5xf32>
  %o = attn.matmul %p, %v : (tensor<2x3x5xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// Negative: the key term also varies along the queries (it is not one
// key per column), so the sum is no q_i + k_j.
// CHECK-LABEL: func.func @key_term_per_query
// CHECK: attn.tanh
// CHECK: attn.softmax
// CHECK-NOT: attn.additive_attention
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the key term varies along the queries (at 'attn.tanh')
func.func @key_term_per_query(%q: tensor<2x3x1x6xf32>, %k: tensor<2x3x5x6xf32>, %v: tensor<2x5x4xf32>, %w: tensor<6xf32>) -> tensor<2x3x4xf32> {
  %x = attn.add %q, %k : (tensor<2x3x1x6xf32>, tensor<2x3x5x6xf32>) -> tensor<2x3x5x6xf32>
  %t = attn.tanh %x : tensor<2x3x5x6xf32>
  %tw = attn.mul %t, %w : (tensor<2x3x5x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
  %s = attn.reduce "sum" %tw, [3] {keepdims = false} : tensor<2x3x5x6xf32> -> tensor<2x3x5xf32>
  %p = attn.softmax %s, -1 : tensor<2x3x5xf32>
  %o = attn.matmul %p, %v : (tensor<2x3x5xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// Negative: the softmax normalizes over the queries, not the keys.
// CHECK-LABEL: func.func @softmax_over_queries
// CHECK: attn.softmax
// CHECK-NOT: attn.additive_attention
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the softmax is not over the key axis (the last) (at 'attn.softmax')
func.func @softmax_over_queries(%q: tensor<2x3x1x6xf32>, %k: tensor<2x1x5x6xf32>, %v: tensor<2x5x4xf32>, %w: tensor<6xf32>) -> tensor<2x3x4xf32> {
  %x = attn.add %q, %k : (tensor<2x3x1x6xf32>, tensor<2x1x5x6xf32>) -> tensor<2x3x5x6xf32>
  %t = attn.tanh %x : tensor<2x3x5x6xf32>
  %tw = attn.mul %t, %w : (tensor<2x3x5x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
  %s = attn.reduce "sum" %tw, [3] {keepdims = false} : tensor<2x3x5x6xf32> -> tensor<2x3x5xf32>
  %p = attn.softmax %s, 1 : tensor<2x3x5xf32>
  %o = attn.matmul %p, %v : (tensor<2x3x5xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// The context as a weighted sum over the keys, (w.unsqueeze(-1) * v).sum(1):
// Mul of the weights [B, Nk, 1] by the values, ReduceSum over the keys
// without keepdims; the fused op's query axis of 1 is squeezed.
// CHECK-LABEL: func.func @weighted_sum
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x64xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x64xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x40xf32>
// CHECK: %[[OUT:.*]], %{{.*}} = attn.additive_attention %{{.*}}, %[[K]], %{{.*}}, %[[V]] mask %{{.*}} : (tensor<?x1x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x40xf32>, tensor<?x1x?xi1>) -> (tensor<?x1x40xf32>, tensor<?x1x?xf32>)
// CHECK: %[[CTX:.*]] = attn.expand_dims %[[OUT]], [1] {squeeze} : tensor<?x1x40xf32> -> tensor<?x40xf32>
// CHECK: return %[[CTX]]
// CHECK-NOT: attn.reduce
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.additive_attention
func.func @weighted_sum(%q: tensor<?x64xf32>, %k: tensor<?x?x64xf32>, %v: tensor<?x?x40xf32>, %m: tensor<?x?xi1>) -> tensor<?x40xf32> {
  %w = attn.constant dense<0.125> : tensor<64x1xf32>
  %ninf = attn.constant dense<0xFF800000> : tensor<f32>
  %q1 = attn.expand_dims %q, [1] : tensor<?x64xf32> -> tensor<?x1x64xf32>
  %x = attn.add %q1, %k : (tensor<?x1x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %t = attn.tanh %x : tensor<?x?x64xf32>
  %s1 = attn.matmul %t, %w : (tensor<?x?x64xf32>, tensor<64x1xf32>) -> tensor<?x?x1xf32>
  %s = attn.expand_dims %s1, [2] {squeeze} : tensor<?x?x1xf32> -> tensor<?x?xf32>
  %drop = attn.not %m : tensor<?x?xi1>
  %f = attn.select %drop, %ninf, %s : (tensor<?x?xi1>, tensor<f32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %p = attn.softmax %f, -1 : tensor<?x?xf32>
  %p1 = attn.expand_dims %p, [2] : tensor<?x?xf32> -> tensor<?x?x1xf32>
  %pv = attn.mul %p1, %v : (tensor<?x?x1xf32>, tensor<?x?x40xf32>) -> tensor<?x?x40xf32>
  %ctx = attn.reduce "sum" %pv, [1] {keepdims = false} : tensor<?x?x40xf32> -> tensor<?x40xf32>
  return %ctx : tensor<?x40xf32>
}

// -----

// Negative: a weighted sum whose values broadcast over the keys ([B, 1, Dv]
// times the weights [B, Nk, 1]) is no product with values.
// CHECK-LABEL: func.func @weighted_sum_broadcast
// CHECK: attn.softmax
// CHECK-NOT: attn.additive_attention
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the attention weights are not multiplied by values (p · V, or a sum over the keys of p · V) (at 'attn.softmax')
func.func @weighted_sum_broadcast(%q: tensor<2x1x6xf32>, %k: tensor<2x5x6xf32>, %w: tensor<6xf32>, %v: tensor<2x1x4xf32>) -> tensor<2x4xf32> {
  %x = attn.add %q, %k : (tensor<2x1x6xf32>, tensor<2x5x6xf32>) -> tensor<2x5x6xf32>
  %t = attn.tanh %x : tensor<2x5x6xf32>
  %tw = attn.mul %t, %w : (tensor<2x5x6xf32>, tensor<6xf32>) -> tensor<2x5x6xf32>
  %s = attn.reduce "sum" %tw, [2] {keepdims = false} : tensor<2x5x6xf32> -> tensor<2x5xf32>
  %p = attn.softmax %s, -1 : tensor<2x5xf32>
  %p1 = attn.expand_dims %p, [2] : tensor<2x5xf32> -> tensor<2x5x1xf32>
  %pv = attn.mul %p1, %v : (tensor<2x5x1xf32>, tensor<2x1x4xf32>) -> tensor<2x5x4xf32>
  %ctx = attn.reduce "sum" %pv, [1] {keepdims = false} : tensor<2x5x4xf32> -> tensor<2x4xf32>
  return %ctx : tensor<2x4xf32>
}

// -----

// Negative: the weights are only returned, never multiplied by values.
// CHECK-LABEL: func.func @weights_only
// CHECK: attn.softmax
// CHECK-NOT: attn.additive_attention
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the attention weights are not multiplied by values (p · V, or a sum over the keys of p · V) (at 'attn.softmax')
func.func @weights_only(%q: tensor<2x3x1x6xf32>, %k: tensor<2x1x5x6xf32>, %w: tensor<6xf32>) -> tensor<2x3x5xf32> {
  %x = attn.add %q, %k : (tensor<2x3x1x6xf32>, tensor<2x1x5x6xf32>) -> tensor<2x3x5x6xf32>
  %t = attn.tanh %x : tensor<2x3x5x6xf32>
  %tw = attn.mul %t, %w : (tensor<2x3x5x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
  %s = attn.reduce "sum" %tw, [3] {keepdims = false} : tensor<2x3x5x6xf32> -> tensor<2x3x5xf32>
  %p = attn.softmax %s, -1 : tensor<2x3x5xf32>
  return %p : tensor<2x3x5xf32>
}

// -----

// Negative: the scores are multiplied by a tensor (a scale varying per
// key), not by one constant.
// CHECK-LABEL: func.func @scale_per_key
// CHECK-NOT: attn.additive_attention
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: the scores are multiplied by a value that is not one scalar constant (a scale varying per element) (at 'attn.mul')
func.func @scale_per_key(%q: tensor<2x3x1x6xf32>, %k: tensor<2x1x5x6xf32>, %v: tensor<2x5x4xf32>, %w: tensor<6xf32>, %c: tensor<5xf32>) -> tensor<2x3x4xf32> {
  %x = attn.add %q, %k : (tensor<2x3x1x6xf32>, tensor<2x1x5x6xf32>) -> tensor<2x3x5x6xf32>
  %t = attn.tanh %x : tensor<2x3x5x6xf32>
  %tw = attn.mul %t, %w : (tensor<2x3x5x6xf32>, tensor<6xf32>) -> tensor<2x3x5x6xf32>
  %s = attn.reduce "sum" %tw, [3] {keepdims = false} : tensor<2x3x5x6xf32> -> tensor<2x3x5xf32>
  %sc = attn.mul %s, %c : (tensor<2x3x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
  %p = attn.softmax %sc, -1 : tensor<2x3x5xf32>
  %o = attn.matmul %p, %v : (tensor<2x3x5xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}
