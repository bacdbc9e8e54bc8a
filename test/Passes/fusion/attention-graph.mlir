// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Graph attention (GAT): softmax_j(LeakyReLU(source_i + target_j)) over the
// neighbours of an adjacency, times the values, becomes
// attn.graph_attention; the forms it cannot express are reported.

// Several heads, a boolean adjacency shared by the heads (pyGAT's
// where(adj > 0, e, -9e15)).
// CHECK-LABEL: func.func @gat_keep
// CHECK-SAME: (%[[S:.*]]: tensor<1x2x6x1xf32>, %[[T:.*]]: tensor<1x2x1x6xf32>, %[[V:.*]]: tensor<1x2x6x4xf32>, %[[A:.*]]: tensor<1x1x6x6xi1>)
// CHECK-DAG: %[[SS:.*]] = attn.expand_dims %[[S]], [3] {squeeze} : tensor<1x2x6x1xf32> -> tensor<1x2x6xf32>
// CHECK-DAG: %[[TS:.*]] = attn.expand_dims %[[T]], [2] {squeeze} : tensor<1x2x1x6xf32> -> tensor<1x2x6xf32>
// CHECK: %[[O:.*]] = attn.graph_attention %[[SS]], %[[TS]], %[[V]], %[[A]] {negative_slope = 2.000000e-01 : f64}
// CHECK-NOT: attn.softmax
// CHECK: return %[[O]]
// REASON: fused into attn.graph_attention
func.func @gat_keep(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<-9.0e15> : tensor<f32>
  %m = attn.select %adj, %e, %fill : (tensor<1x1x6x6xi1>, tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// masked_fill(adj == 0, -inf) as a 'where' choosing the fill, a positive
// scale after the LeakyReLU (moved onto the two terms).
// CHECK-LABEL: func.func @gat_drop_scaled
// CHECK-DAG: %[[C:.*]] = attn.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[SM:.*]] = attn.mul %{{.*}}, %[[C]] : (tensor<1x2x6xf32>, tensor<f32>) -> tensor<1x2x6xf32>
// CHECK-DAG: %[[NOT:.*]] = attn.not
// CHECK: attn.graph_attention %[[SM]], %{{.*}}, %{{.*}}, %[[NOT]] {negative_slope = 2.500000e-01 : f64}
// REASON: fused into attn.graph_attention
func.func @gat_drop_scaled(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.25> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %half = attn.constant dense<0.5> : tensor<f32>
  %h = attn.mul %e, %half : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<0xFF800000> : tensor<f32>
  %m = attn.select %adj, %fill, %h : (tensor<1x1x6x6xi1>, tensor<f32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// A LeakyReLU of negative slope is not monotonic.
// CHECK-LABEL: func.func @negative_slope
// CHECK: attn.softmax
// REASON: not fused: a LeakyReLU of negative slope (not monotonic: its row maximum is not that of its argument)
func.func @negative_slope(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<-0.5> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<-9.0e15> : tensor<f32>
  %m = attn.select %adj, %e, %fill : (tensor<1x1x6x6xi1>, tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// A negative scale after the LeakyReLU.
// CHECK-LABEL: func.func @negative_scale
// CHECK: attn.softmax
// REASON: not fused: the LeakyReLU scores are scaled by a factor that is not positive
func.func @negative_scale(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %c = attn.constant dense<-2.0> : tensor<f32>
  %h = attn.mul %e, %c : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<-9.0e15> : tensor<f32>
  %m = attn.select %adj, %h, %fill : (tensor<1x1x6x6xi1>, tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// An additive mask instead of a boolean adjacency.
// CHECK-LABEL: func.func @additive_mask
// CHECK: attn.softmax
// REASON: not fused: an additive or 0/1 mask on the LeakyReLU scores (graph attention takes a boolean adjacency, a 'where' on the scores)
func.func @additive_mask(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>, %bias: tensor<1x1x6x6xf32>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %m = attn.add %e, %bias : (tensor<1x2x6x6xf32>, tensor<1x1x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// No adjacency at all.
// CHECK-LABEL: func.func @no_mask
// CHECK: attn.softmax
// REASON: not fused: LeakyReLU scores without an adjacency mask (a 'where' keeping the neighbours)
func.func @no_mask(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %e, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// The LeakyReLU of a tensor that is not a sum.
// CHECK-LABEL: func.func @not_a_sum
// CHECK: attn.softmax
// REASON: not fused: the LeakyReLU's argument is not a sum of a per-query and a per-key term
func.func @not_a_sum(%x: tensor<1x2x6x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> tensor<1x2x6x4xf32> {
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<-9.0e15> : tensor<f32>
  %m = attn.select %adj, %e, %fill : (tensor<1x1x6x6xi1>, tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// A sum of two full score tensors.
// CHECK-LABEL: func.func @full_terms
// CHECK: attn.softmax
// REASON: not fused: the LeakyReLU's argument is not a sum of a per-query term [..., N, 1] and a per-key term [..., 1, M]
func.func @full_terms(%a: tensor<1x2x6x6xf32>, %b: tensor<1x2x6x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> tensor<1x2x6x4xf32> {
  %x = attn.add %a, %b : (tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<-9.0e15> : tensor<f32>
  %m = attn.select %adj, %e, %fill : (tensor<1x1x6x6xi1>, tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// The attention weights are returned too.
// CHECK-LABEL: func.func @weights_returned
// CHECK: attn.softmax
// REASON: not fused: the attention weights have other users than one product with the values
func.func @weights_returned(%src: tensor<1x2x6x1xf32>, %dst: tensor<1x2x1x6xf32>, %v: tensor<1x2x6x4xf32>, %adj: tensor<1x1x6x6xi1>) -> (tensor<1x2x6x4xf32>, tensor<1x2x6x6xf32>) {
  %x = attn.add %src, %dst : (tensor<1x2x6x1xf32>, tensor<1x2x1x6xf32>) -> tensor<1x2x6x6xf32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %alpha = attn.constant dense<0.2> : tensor<f32>
  %neg = attn.less %x, %zero : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xi1>
  %scaled = attn.mul %x, %alpha : (tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %e = attn.select %neg, %scaled, %x : (tensor<1x2x6x6xi1>, tensor<1x2x6x6xf32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %fill = attn.constant dense<-9.0e15> : tensor<f32>
  %m = attn.select %adj, %e, %fill : (tensor<1x1x6x6xi1>, tensor<1x2x6x6xf32>, tensor<f32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %m, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o, %p : tensor<1x2x6x4xf32>, tensor<1x2x6x6xf32>
}
