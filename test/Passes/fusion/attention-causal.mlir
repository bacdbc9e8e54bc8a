// RUN: attnc-opt %s -attn-fuse-attention -split-input-file | FileCheck %s
// RUN: attnc-opt %s -attn-fuse-attention=report=true -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REASON

// Attention cores: masks proven causal (constant, Trilu, bottom-right aligned) and one that is not.

// A constant lower-triangular boolean mask is the causal mask: no mask
// tensor is kept.
// CHECK-LABEL: func.func @constant_causal
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 5.000000e-01 : f64}
// CHECK-NOT: mask
func.func @constant_causal(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x4x4xf32>, %v: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %m = attn.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c = attn.constant dense<0.5> : tensor<f32>
  %sc = attn.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %m, %sc, %low : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x4x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}

// -----

// masked_fill(triu(ones, 1), -inf): the causal mask built with Trilu.
// CHECK-LABEL: func.func @trilu_causal
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.000000e+00 : f64}
func.func @trilu_causal(%q: tensor<1x2x6x4xf32>, %k: tensor<1x2x6x4xf32>, %v: tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32> {
  %ones = attn.constant dense<true> : tensor<6x6xi1>
  %one = attn.constant dense<1> : tensor<i64>
  %m = attn.trilu %ones k %one : tensor<i64> {upper = true} : tensor<6x6xi1> -> tensor<6x6xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x6x4xf32> -> tensor<1x2x4x6xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x6x4xf32>, tensor<1x2x4x6xf32>) -> tensor<1x2x6x6xf32>
  %ninf = attn.constant dense<0xFF800000> : tensor<f32>
  %w = attn.select %m, %ninf, %s : (tensor<6x6xi1>, tensor<f32>, tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x6x6xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x6x6xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x6x4xf32>
  return %o : tensor<1x2x6x4xf32>
}

// -----

// An additive constant mask, bottom-right aligned (2 queries, 4 keys: the
// queries are the last two positions).
// CHECK-LABEL: func.func @additive_causal_offset
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, causal_offset = 2 : i64, scale = 1.000000e+00 : f64}
func.func @additive_causal_offset(%q: tensor<1x1x2x4xf32>, %k: tensor<1x1x4x4xf32>, %v: tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32> {
  %m = attn.constant dense<[[0.0, 0.0, 0.0, -10000.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x1x4x4xf32> -> tensor<1x1x4x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32>
  %a = attn.add %s, %m : (tensor<1x1x2x4xf32>, tensor<2x4xf32>) -> tensor<1x1x2x4xf32>
  %p = attn.softmax %a, -1 : tensor<1x1x2x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32>
  return %o : tensor<1x1x2x4xf32>
}

// -----

// A constant mask that is not triangular stays a mask (not marked causal).
// CHECK-LABEL: func.func @not_triangular
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 1.000000e+00 : f64}
// CHECK-NOT: causal
func.func @not_triangular(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x4x4xf32>, %v: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %m = attn.constant dense<[[true, false, false, false], [true, true, false, false], [true, false, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %m, %s, %low : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x4x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}

// -----

// A causal mask computed at run time, as transformers builds it for dynamic
// lengths: key positions range(0, Nk) compared with query positions
// range(0, Nq) (`not(greater(kv, q))`), and-ed with a padding mask, turned
// additive with a select and expanded to the scores. The comparison becomes
// `causal`; only the padding mask stays, unexpanded.
// CHECK-LABEL: func.func @runtime_causal
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal, boolean mask)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %[[PAD:.*]] {causal, scale = 1.000000e+00 : f64} : ({{.*}}, tensor<1x1x1x?xi1>)
// CHECK-NOT: attn.greater
func.func @runtime_causal(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %pad: tensor<1x1x1x?xi1>) -> tensor<1x2x?x8xf32> {
  %zero = attn.constant dense<0> : tensor<i64>
  %one = attn.constant dense<1> : tensor<i64>
  %nq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nqs = attn.expand_dims %nq, [0] {squeeze} : tensor<1xi64> -> tensor<i64>
  %nks = attn.expand_dims %nk, [0] {squeeze} : tensor<1xi64> -> tensor<i64>
  %qr = attn.range %zero, %nqs, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %kr = attn.range %zero, %nks, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = attn.expand_dims %qr, [0, 1, 3] : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %kpos = attn.expand_dims %kr, [0, 1, 2] : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %later = attn.greater %kpos, %qpos : (tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64>) -> tensor<1x1x?x?xi1>
  %tri = attn.not %later : tensor<1x1x?x?xi1>
  %keep = attn.and %tri, %pad : (tensor<1x1x?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %f0 = attn.constant dense<0.0> : tensor<f32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %add = attn.select %keep, %f0, %low : (tensor<1x1x?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x?x?xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %a = attn.add %s, %add : (tensor<1x2x?x?xf32>, tensor<1x1x?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %a, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Positions read off another input prove the extents through its dimension
// names (inputs sharing a name are checked equal when the code runs). Query
// positions shifted by 2 earlier positions, `masked_fill(q < kv)` form:
// causal with offset 2.
// CHECK-LABEL: func.func @named_dims_offset
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal offset 2)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, causal_offset = 2 : i64, scale = 1.000000e+00 : f64}
func.func @named_dims_offset(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "nq", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "nk", ""]}, %v: tensor<1x2x?x8xf32>, %ids: tensor<?x?xi64> {attn.dims = ["nq", "nk"]}) -> tensor<1x2x?x8xf32> {
  %zero = attn.constant dense<0> : tensor<i64>
  %one = attn.constant dense<1> : tensor<i64>
  %two = attn.constant dense<2> : tensor<i64>
  %shape = attn.shape %ids {end = 2 : i64, start = 0 : i64} : tensor<?x?xi64> -> tensor<2xi64>
  %nq = attn.gather %shape[%zero], 0 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %nk = attn.gather %shape[%one], 0 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %qr = attn.range %zero, %nq, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %kr = attn.range %zero, %nk, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qs = attn.add %qr, %two : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %qpos = attn.expand_dims %qs, [1] : tensor<?xi64> -> tensor<?x1xi64>
  %kpos = attn.expand_dims %kr, [0] : tensor<?xi64> -> tensor<1x?xi64>
  %future = attn.less %qpos, %kpos : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %ninf = attn.constant dense<0xFF800000> : tensor<f32>
  %w = attn.select %future, %ninf, %s : (tensor<?x?xi1>, tensor<f32>, tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Positions over an extent not proven to be the queries' (an unrelated
// input): a range of one position would broadcast over every query, so the
// comparison stays a mask.
// CHECK-LABEL: func.func @unproven_extent
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (boolean mask)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 1.000000e+00 : f64}
// CHECK-NOT: causal
func.func @unproven_extent(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %other: tensor<?xi64>) -> tensor<1x2x?x8xf32> {
  %zero = attn.constant dense<0> : tensor<i64>
  %one = attn.constant dense<1> : tensor<i64>
  %nq = attn.shape %other {end = 1 : i64, start = 0 : i64} : tensor<?xi64> -> tensor<1xi64>
  %nk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nqs = attn.expand_dims %nq, [0] {squeeze} : tensor<1xi64> -> tensor<i64>
  %nks = attn.expand_dims %nk, [0] {squeeze} : tensor<1xi64> -> tensor<i64>
  %qr = attn.range %zero, %nqs, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %kr = attn.range %zero, %nks, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = attn.expand_dims %qr, [1] : tensor<?xi64> -> tensor<?x1xi64>
  %kpos = attn.expand_dims %kr, [0] : tensor<?xi64> -> tensor<1x?xi64>
  %later = attn.greater %kpos, %qpos : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %keep = attn.not %later : tensor<?x?xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %keep, %s, %low : (tensor<?x?xi1>, tensor<1x2x?x?xf32>, tensor<f32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Keys compared the other way round (each query sees the keys at or after
// it): not the causal triangle, so the mask stays.
// CHECK-LABEL: func.func @anti_causal
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (boolean mask)
// CHECK-NOT: causal
func.func @anti_causal(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %zero = attn.constant dense<0> : tensor<i64>
  %one = attn.constant dense<1> : tensor<i64>
  %nq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nqs = attn.expand_dims %nq, [0] {squeeze} : tensor<1xi64> -> tensor<i64>
  %nks = attn.expand_dims %nk, [0] {squeeze} : tensor<1xi64> -> tensor<i64>
  %qr = attn.range %zero, %nqs, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %kr = attn.range %zero, %nks, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = attn.expand_dims %qr, [1] : tensor<?xi64> -> tensor<?x1xi64>
  %kpos = attn.expand_dims %kr, [0] : tensor<?xi64> -> tensor<1x?xi64>
  %earlier = attn.greater %qpos, %kpos : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi1>
  %keep = attn.not %earlier : tensor<?x?xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %keep, %s, %low : (tensor<?x?xi1>, tensor<1x2x?x?xf32>, tensor<f32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// A causal mask sliced from a constant lower-triangular buffer, as older
// GPT-2 exports write it: bias[:, :, Nk - Nq : Nk, :Nk]. Q and K share the
// dimension name, so Nk - Nq is 0: causal, no mask kept.
// CHECK-LABEL: func.func @sliced_buffer
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.000000e+00 : f64}
// CHECK-NOT: attn.slice
func.func @sliced_buffer(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %buf = attn.constant dense<[[[[true, false, false, false, false, false, false, false], [true, true, false, false, false, false, false, false], [true, true, true, false, false, false, false, false], [true, true, true, true, false, false, false, false], [true, true, true, true, true, false, false, false], [true, true, true, true, true, true, false, false], [true, true, true, true, true, true, true, false], [true, true, true, true, true, true, true, true]]]]> : tensor<1x1x8x8xi1>
  %zero = attn.constant dense<0> : tensor<1xi64>
  %nq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %first = attn.sub %nk, %nq : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %starts = "attn.concat"(%first, %zero) {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %ends = "attn.concat"(%nk, %nk) {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %m = attn.slice %buf[%starts : %ends] {axes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : (tensor<1x1x8x8xi1>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %m, %s, %low : (tensor<1x1x?x?xi1>, tensor<1x2x?x?xf32>, tensor<f32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// The same slice with unrelated query and key lengths (a KV cache): the
// diagonal Nk - Nq is only known at run time, so the slice stays the mask.
// CHECK-LABEL: func.func @sliced_buffer_offset_unknown
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (boolean mask)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 1.000000e+00 : f64}
func.func @sliced_buffer_offset_unknown(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "nq", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "nk", ""]}, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %buf = attn.constant dense<[[[[true, false, false, false, false, false, false, false], [true, true, false, false, false, false, false, false], [true, true, true, false, false, false, false, false], [true, true, true, true, false, false, false, false], [true, true, true, true, true, false, false, false], [true, true, true, true, true, true, false, false], [true, true, true, true, true, true, true, false], [true, true, true, true, true, true, true, true]]]]> : tensor<1x1x8x8xi1>
  %zero = attn.constant dense<0> : tensor<1xi64>
  %nq = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %nk = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %first = attn.sub %nk, %nq : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %starts = "attn.concat"(%first, %zero) {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %ends = "attn.concat"(%nk, %nk) {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %m = attn.slice %buf[%starts : %ends] {axes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : (tensor<1x1x8x8xi1>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %w = attn.select %m, %s, %low : (tensor<1x1x?x?xi1>, tensor<1x2x?x?xf32>, tensor<f32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// torch.triu(torch.full((n, n), -inf), 1) added to the scores, n read off
// the queries at run time (TorchScript: ConstantOfShape, Trilu): the causal
// mask itself, at any length.
// CHECK-LABEL: func.func @additive_trilu_fill
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.000000e+00 : f64}
// CHECK-NOT: attn.trilu
func.func @additive_trilu_fill(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %n = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %shape = attn.concat %n, %n axis 0 : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %fill = attn.constant_of_shape %shape, dense<0xFF800000> : tensor<f32> : tensor<2xi64> -> tensor<?x?xf32>
  %one = attn.constant dense<1> : tensor<i64>
  %m = attn.trilu %fill k %one : tensor<i64> {upper = true} : tensor<?x?xf32> -> tensor<?x?xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %a = attn.add %s, %m : (tensor<1x2x?x?xf32>, tensor<?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %a, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// The same with finfo(float32).min, the fill an Expand of a scalar (the
// dynamo exporter), and k = 2: keys up to one past the diagonal kept.
// CHECK-LABEL: func.func @additive_trilu_expand_min
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, causal_offset = 1 : i64, scale = 1.000000e+00 : f64}
func.func @additive_trilu_expand_min(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %n = attn.shape %k {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %shape = attn.concat %n, %n axis 0 : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %low = attn.constant dense<-3.40282347E+38> : tensor<f32>
  %fill = attn.expand %low, %shape : (tensor<f32>, tensor<2xi64>) -> tensor<?x?xf32>
  %two = attn.constant dense<2> : tensor<i64>
  %m = attn.trilu %fill k %two : tensor<i64> {upper = true} : tensor<?x?xf32> -> tensor<?x?xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %a = attn.add %s, %m : (tensor<1x2x?x?xf32>, tensor<?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %a, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// A triangle of -inf over more keys than queries: its extents are not the
// attention's, so it stays an additive mask.
// CHECK-LABEL: func.func @additive_trilu_other_extent
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 1.000000e+00 : f64}
// CHECK-NOT: causal
func.func @additive_trilu_other_extent(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %v: tensor<1x2x?x8xf32>, %x: tensor<?xf32> {attn.dims = ["t"]}) -> tensor<1x2x?x8xf32> {
  %n = attn.shape %x {end = 1 : i64, start = 0 : i64} : tensor<?xf32> -> tensor<1xi64>
  %shape = attn.concat %n, %n axis 0 : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %fill = attn.constant_of_shape %shape, dense<0xFF800000> : tensor<f32> : tensor<2xi64> -> tensor<?x?xf32>
  %one = attn.constant dense<1> : tensor<i64>
  %m = attn.trilu %fill k %one : tensor<i64> {upper = true} : tensor<?x?xf32> -> tensor<?x?xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %a = attn.add %s, %m : (tensor<1x2x?x?xf32>, tensor<?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %a, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// torch.triu(torch.full((8, 8), -inf), 1)[:n, :n]: a constant triangle
// sliced one axis at a time (the dynamo exporter's two Slices).
// CHECK-LABEL: func.func @additive_buffer_two_slices
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.000000e+00 : f64}
// CHECK-NOT: attn.slice
func.func @additive_buffer_two_slices(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %buf = attn.constant dense<[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %zero = attn.constant dense<0> : tensor<1xi64>
  %n = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %rows = attn.slice %buf[%zero : %n] {axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<4x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x4xf32>
  %m = attn.slice %rows[%zero : %n] {axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<?x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %a = attn.add %s, %m : (tensor<1x2x?x?xf32>, tensor<?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %a, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Early GPT-2: w · b − 10000 · (1 − b), b a 0/1 lower triangle sliced to the
// lengths. A 0/1 mask applied this way is a keep mask, and this one is causal.
// CHECK-LABEL: func.func @multiplicative_buffer
// REASON: remark: fusion: attention softmax 'attn.softmax' fused into attn.sdpa (causal)
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.000000e+00 : f64}
func.func @multiplicative_buffer(%q: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %k: tensor<1x2x?x8xf32> {attn.dims = ["", "", "s", ""]}, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %buf = attn.constant dense<[[[[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]]]> : tensor<1x1x4x4xf32>
  %zero = attn.constant dense<0> : tensor<1xi64>
  %n = attn.shape %q {end = 3 : i64, start = 2 : i64} : tensor<1x2x?x8xf32> -> tensor<1xi64>
  %rows = attn.slice %buf[%zero : %n] {axes = array<i64: 2>, steps = array<i64: 1>} : (tensor<1x1x4x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x1x?x4xf32>
  %b = attn.slice %rows[%zero : %n] {axes = array<i64: 3>, steps = array<i64: 1>} : (tensor<1x1x?x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x1x?x?xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x?x8xf32> -> tensor<1x2x8x?xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) -> tensor<1x2x?x?xf32>
  %kept = attn.mul %s, %b : (tensor<1x2x?x?xf32>, tensor<1x1x?x?xf32>) -> tensor<1x2x?x?xf32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %inv = attn.sub %one, %b : (tensor<f32>, tensor<1x1x?x?xf32>) -> tensor<1x1x?x?xf32>
  %c = attn.constant dense<10000.0> : tensor<f32>
  %pen = attn.mul %c, %inv : (tensor<f32>, tensor<1x1x?x?xf32>) -> tensor<1x1x?x?xf32>
  %w = attn.sub %kept, %pen : (tensor<1x2x?x?xf32>, tensor<1x1x?x?xf32>) -> tensor<1x2x?x?xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x?x?xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// The same product with a mask that is not 0s and 1s is no mask: it scales
// the scores, and the report says so.
// CHECK-LABEL: func.func @multiplicative_not_binary
// REASON: remark: fusion: attention softmax 'attn.softmax' not fused: a subtraction on the scores that is not s · m − c · (1 − m) with m of 0s and 1s and c at least 10000
// CHECK-NOT: attn.sdpa
func.func @multiplicative_not_binary(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %b = attn.constant dense<[[1.0, 0.5, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]> : tensor<4x4xf32>
  %kt = attn.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = attn.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %kept = attn.mul %s, %b : (tensor<1x2x4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %one = attn.constant dense<1.0> : tensor<f32>
  %inv = attn.sub %one, %b : (tensor<f32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %c = attn.constant dense<10000.0> : tensor<f32>
  %pen = attn.mul %inv, %c : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %w = attn.sub %kept, %pen : (tensor<1x2x4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = attn.softmax %w, -1 : tensor<1x2x4x4xf32>
  %o = attn.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
