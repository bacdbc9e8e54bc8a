// RUN: attnc-opt %s -attn-lift-head-merges -split-input-file | FileCheck %s

// Attention over batch and heads merged into one axis, as DeBERTa-v2 writes
// it: Q, K and V reshaped to [B·H, S, D], rank-3 products, the scores plus
// a [B·H, S, S] bias split into [B, H, S, S] around the mask and softmax and
// merged again for the product with V. The merges move after the products,
// meet the splits and vanish: both products read the heads, the bias is
// split once (broadcast to the scores' shape first, as Add would).
// CHECK-LABEL: func.func @deberta_scores
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4x?x16xf32>, %[[K:.*]]: tensor<?x4x?x16xf32>, %[[V:.*]]: tensor<?x4x?x16xf32>, %[[BIAS:.*]]: tensor<?x?x?xf32>, %[[KEEP:.*]]: tensor<?x1x?x?xi1>)
// CHECK: %[[KT:.*]] = attn.transpose %[[K]], [0, 1, 3, 2] : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
// CHECK: %[[KS:.*]] = attn.div %[[KT]], %{{.*}} : (tensor<?x4x16x?xf32>, tensor<f32>) -> tensor<?x4x16x?xf32>
// CHECK: %[[S:.*]] = attn.matmul %[[Q]], %[[KS]] : (tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32>) -> tensor<?x4x?x?xf32>
// CHECK: %[[FULL:.*]] = attn.expand %[[BIAS]]
// CHECK: %[[B4:.*]] = attn.reshape_dynamic %[[FULL]], %{{.*}} : (tensor<?x?x?xf32>, tensor<4xi64>) -> tensor<?x4x?x?xf32>
// CHECK: %[[SUM:.*]] = attn.add %[[S]], %[[B4]]
// CHECK: %[[W:.*]] = attn.select %[[KEEP]], %[[SUM]]
// CHECK: %[[P:.*]] = attn.softmax %[[W]], -1 : tensor<?x4x?x?xf32>
// CHECK: %[[O:.*]] = attn.matmul %[[P]], %[[V]] : (tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
// CHECK: return %[[O]]
func.func @deberta_scores(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %bias: tensor<?x?x?xf32>, %keep: tensor<?x1x?x?xi1>) -> tensor<?x4x?x16xf32> {
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %c4 = attn.constant dense<4> : tensor<1xi64>
  %c16 = attn.constant dense<16> : tensor<1xi64>
  %scale = attn.constant dense<4.0> : tensor<f32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %sq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %shq = attn.concat %m1, %sq, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %q3 = attn.reshape_dynamic %q, %shq : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %sk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %shk = attn.concat %m1, %sk, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %k3 = attn.reshape_dynamic %k, %shk : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %sv = attn.shape %v {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %shv = attn.concat %m1, %sv, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %v3 = attn.reshape_dynamic %v, %shv : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %kt = attn.transpose %k3, [0, 2, 1] : tensor<?x?x16xf32> -> tensor<?x16x?xf32>
  %kts = attn.div %kt, %scale : (tensor<?x16x?xf32>, tensor<f32>) -> tensor<?x16x?xf32>
  %s = attn.matmul %q3, %kts : (tensor<?x?x16xf32>, tensor<?x16x?xf32>) -> tensor<?x?x?xf32>
  %a = attn.add %s, %bias : (tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %d1 = attn.shape %a {end = 2 : i64, start = 1 : i64} : tensor<?x?x?xf32> -> tensor<1xi64>
  %d2 = attn.shape %a {end = 3 : i64, start = 2 : i64} : tensor<?x?x?xf32> -> tensor<1xi64>
  %sh4 = attn.concat %m1, %c4, %d1, %d2 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %s4 = attn.reshape_dynamic %a, %sh4 : (tensor<?x?x?xf32>, tensor<4xi64>) -> tensor<?x4x?x?xf32>
  %w = attn.select %keep, %s4, %low : (tensor<?x1x?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<?x4x?x?xf32>
  %p1 = attn.shape %p {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x?xf32> -> tensor<1xi64>
  %p2 = attn.shape %p {end = 4 : i64, start = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<1xi64>
  %sh3 = attn.concat %m1, %p1, %p2 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %p3 = attn.reshape_dynamic %p, %sh3 : (tensor<?x4x?x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %o3 = attn.matmul %p3, %v3 : (tensor<?x?x?xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %o1 = attn.shape %o3 {end = 2 : i64, start = 1 : i64} : tensor<?x?x16xf32> -> tensor<1xi64>
  %sho = attn.concat %m1, %c4, %o1, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %o = attn.reshape_dynamic %o3, %sho : (tensor<?x?x16xf32>, tensor<4xi64>) -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// -----

// A split into other heads than the merge had ([B·4, S, S] into
// [-1, 2, S, S]) is a different layout: the product's merge stays.
// CHECK-LABEL: func.func @other_heads
// CHECK: %[[S:.*]] = attn.matmul %{{.*}}, %{{.*}} : (tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32>) -> tensor<?x4x?x?xf32>
// CHECK: %[[M:.*]] = attn.reshape_dynamic %[[S]], %{{.*}} : (tensor<?x4x?x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
// CHECK: attn.reshape_dynamic %[[M]], %{{.*}} : (tensor<?x?x?xf32>, tensor<4xi64>) -> tensor<?x2x?x?xf32>
func.func @other_heads(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x16x?xf32>) -> tensor<?x2x?x?xf32> {
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %c2 = attn.constant dense<2> : tensor<1xi64>
  %c16 = attn.constant dense<16> : tensor<1xi64>
  %sq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %shq = attn.concat %m1, %sq, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %q3 = attn.reshape_dynamic %q, %shq : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %sk = attn.shape %k {end = 4 : i64, start = 3 : i64} : tensor<?x4x16x?xf32> -> tensor<1xi64>
  %shk = attn.concat %m1, %c16, %sk axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %k3 = attn.reshape_dynamic %k, %shk : (tensor<?x4x16x?xf32>, tensor<3xi64>) -> tensor<?x16x?xf32>
  %s = attn.matmul %q3, %k3 : (tensor<?x?x16xf32>, tensor<?x16x?xf32>) -> tensor<?x?x?xf32>
  %d1 = attn.shape %s {end = 2 : i64, start = 1 : i64} : tensor<?x?x?xf32> -> tensor<1xi64>
  %d2 = attn.shape %s {end = 3 : i64, start = 2 : i64} : tensor<?x?x?xf32> -> tensor<1xi64>
  %sh4 = attn.concat %m1, %c2, %d1, %d2 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %s4 = attn.reshape_dynamic %s, %sh4 : (tensor<?x?x?xf32>, tensor<4xi64>) -> tensor<?x2x?x?xf32>
  return %s4 : tensor<?x2x?x?xf32>
}

// -----

// The operands of a rank-3 product merged from different head counts (4
// and 2; 8·A = 4·B' is possible): no product of heads to write.
// CHECK-LABEL: func.func @operands_differ
// CHECK: attn.matmul %{{.*}}, %{{.*}} : (tensor<?x?x16xf32>, tensor<?x16x?xf32>) -> tensor<?x?x?xf32>
func.func @operands_differ(%q: tensor<?x4x?x16xf32>, %k: tensor<?x2x16x?xf32>) -> tensor<?x?x?xf32> {
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %c16 = attn.constant dense<16> : tensor<1xi64>
  %sq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %shq = attn.concat %m1, %sq, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %q3 = attn.reshape_dynamic %q, %shq : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %sk = attn.shape %k {end = 4 : i64, start = 3 : i64} : tensor<?x2x16x?xf32> -> tensor<1xi64>
  %shk = attn.concat %m1, %c16, %sk axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %k3 = attn.reshape_dynamic %k, %shk : (tensor<?x2x16x?xf32>, tensor<3xi64>) -> tensor<?x16x?xf32>
  %s = attn.matmul %q3, %k3 : (tensor<?x?x16xf32>, tensor<?x16x?xf32>) -> tensor<?x?x?xf32>
  return %s : tensor<?x?x?xf32>
}

// -----

// A reshape to [-1, S, 16] with S read off another tensor (K's length for
// V) is a merge only where the two lengths are equal, which the graph does
// not prove: the product with it stays rank-3.
// CHECK-LABEL: func.func @length_of_other
// CHECK: attn.matmul %{{.*}}, %{{.*}} : (tensor<?x?x?xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
func.func @length_of_other(%p: tensor<?x4x?x?xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) -> tensor<?x?x16xf32> {
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %c16 = attn.constant dense<16> : tensor<1xi64>
  %p1 = attn.shape %p {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x?xf32> -> tensor<1xi64>
  %p2 = attn.shape %p {end = 4 : i64, start = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<1xi64>
  %shp = attn.concat %m1, %p1, %p2 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %p3 = attn.reshape_dynamic %p, %shp : (tensor<?x4x?x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %sk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %shv = attn.concat %m1, %sk, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %v3 = attn.reshape_dynamic %v, %shv : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %o = attn.matmul %p3, %v3 : (tensor<?x?x?xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %o : tensor<?x?x16xf32>
}

// -----

// BLOOM's form: merges written view(B·H, -1, D) with B·H a Mul of the
// batch read off the input and the head count, an ALiBi bias [B·H, 1, S]
// added to the scaled scores (kept [B, H, 1, S]: only its rows are
// broadcast), the split view(B, H, S, -1), and the batch recovered after
// the product with V as Shape(x)[0] / H (read off the heads instead). K and
// V are computed from Q, so that their batch is Q's.
// CHECK-LABEL: func.func @bloom_alibi
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4x?x16xf32>, %[[ALIBI:.*]]: tensor<?x1x?xf32>)
// CHECK: %[[V:.*]] = attn.add %[[Q]]
// CHECK: %[[S:.*]] = attn.matmul %[[Q]], %{{.*}} : (tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32>) -> tensor<?x4x?x?xf32>
// CHECK: %[[SS:.*]] = attn.mul %[[S]], %{{.*}} : (tensor<?x4x?x?xf32>, tensor<f32>) -> tensor<?x4x?x?xf32>
// CHECK: %[[ROWS:.*]] = attn.expand %[[ALIBI]], %{{.*}} : (tensor<?x1x?xf32>, tensor<3xi64>) -> tensor<?x1x?xf32>
// CHECK: %[[A4:.*]] = attn.reshape_dynamic %[[ROWS]], %{{.*}} : (tensor<?x1x?xf32>, tensor<4xi64>) -> tensor<?x4x1x?xf32>
// CHECK: %[[SUM:.*]] = attn.add %[[SS]], %[[A4]] : (tensor<?x4x?x?xf32>, tensor<?x4x1x?xf32>) -> tensor<?x4x?x?xf32>
// CHECK: %[[P:.*]] = attn.softmax %[[SUM]], -1 : tensor<?x4x?x?xf32>
// CHECK: %[[O:.*]] = attn.matmul %[[P]], %[[V]] : (tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
// CHECK: %[[B:.*]] = attn.shape %[[O]] {end = 1 : i64, start = 0 : i64}
// CHECK-NOT: attn.div
// CHECK: return
func.func @bloom_alibi(%q: tensor<?x4x?x16xf32>, %alibi: tensor<?x1x?xf32>) -> (tensor<?x4x?x16xf32>, tensor<i64>) {
  %two = attn.constant dense<2.0> : tensor<f32>
  %k = attn.mul %q, %two : (tensor<?x4x?x16xf32>, tensor<f32>) -> tensor<?x4x?x16xf32>
  %v = attn.add %q, %two : (tensor<?x4x?x16xf32>, tensor<f32>) -> tensor<?x4x?x16xf32>
  %m1 = attn.constant dense<-1> : tensor<1xi64>
  %c4 = attn.constant dense<4> : tensor<1xi64>
  %h = attn.constant dense<4> : tensor<i64>
  %c16 = attn.constant dense<16> : tensor<1xi64>
  %i0 = attn.constant dense<0> : tensor<i64>
  %alpha = attn.constant dense<0.25> : tensor<f32>
  %qs = attn.shape %q {end = 4 : i64, start = 0 : i64} : tensor<?x4x?x16xf32> -> tensor<4xi64>
  %b = attn.gather %qs[%i0], 0 : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %bh = attn.mul %b, %h : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %bh1 = attn.expand_dims %bh, [0] : tensor<i64> -> tensor<1xi64>
  %shm = attn.concat %bh1, %m1, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %q3 = attn.reshape_dynamic %q, %shm : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %ks = attn.shape %k {end = 1 : i64, start = 0 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %kbh = attn.mul %ks, %c4 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %shk = attn.concat %kbh, %m1, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %k3 = attn.reshape_dynamic %k, %shk : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %vs = attn.shape %v {end = 1 : i64, start = 0 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %vbh = attn.mul %vs, %c4 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %shv = attn.concat %vbh, %m1, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %v3 = attn.reshape_dynamic %v, %shv : (tensor<?x4x?x16xf32>, tensor<3xi64>) -> tensor<?x?x16xf32>
  %kt = attn.transpose %k3, [0, 2, 1] : tensor<?x?x16xf32> -> tensor<?x16x?xf32>
  %s = attn.matmul %q3, %kt : (tensor<?x?x16xf32>, tensor<?x16x?xf32>) -> tensor<?x?x?xf32>
  %ss = attn.mul %s, %alpha : (tensor<?x?x?xf32>, tensor<f32>) -> tensor<?x?x?xf32>
  %a = attn.add %ss, %alibi : (tensor<?x?x?xf32>, tensor<?x1x?xf32>) -> tensor<?x?x?xf32>
  %b1 = attn.expand_dims %b, [0] : tensor<i64> -> tensor<1xi64>
  %n = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<?x4x?x16xf32> -> tensor<1xi64>
  %sh4 = attn.concat %b1, %c4, %n, %m1 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %s4 = attn.reshape_dynamic %a, %sh4 : (tensor<?x?x?xf32>, tensor<4xi64>) -> tensor<?x4x?x?xf32>
  %p = attn.softmax %s4, -1 : tensor<?x4x?x?xf32>
  %shp = attn.concat %bh1, %n, %m1 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %p3 = attn.reshape_dynamic %p, %shp : (tensor<?x4x?x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %o3 = attn.matmul %p3, %v3 : (tensor<?x?x?xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %os = attn.shape %o3 {end = 3 : i64, start = 0 : i64} : tensor<?x?x16xf32> -> tensor<3xi64>
  %rows = attn.gather %os[%i0], 0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %batch = attn.div %rows, %h : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %batch1 = attn.expand_dims %batch, [0] : tensor<i64> -> tensor<1xi64>
  %sho = attn.concat %batch1, %c4, %n, %c16 axis 0 : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %o = attn.reshape_dynamic %o3, %sho : (tensor<?x?x16xf32>, tensor<4xi64>) -> tensor<?x4x?x16xf32>
  return %o, %batch : tensor<?x4x?x16xf32>, tensor<i64>
}
