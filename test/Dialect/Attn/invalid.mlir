// RUN: attnc-opt %s -split-input-file -verify-diagnostics

func.func @broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.add' op cannot broadcast operand shapes [2, 3] and [4] (axis -1)}}
  %0 = attn.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @element_type_mismatch(%a: tensor<4xf32>, %b: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{'attn.mul' op expects operands and result of one element type, got 'f32', 'f16' -> 'f32'}}
  %0 = attn.mul %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @bad_result_shape(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'attn.sub' op expects result shape [2, 3], got [2, 4]}}
  %0 = attn.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @transpose_not_permutation(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'attn.transpose' op expects perm to be a permutation of [0, 2), got [1, 1]}}
  %0 = attn.transpose %a, [1, 1] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_wrong_shape(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.transpose' op expects result shape with axis 0 = input axis 1}}
  %0 = attn.transpose %a, [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{'attn.reshape' op cannot reshape [2, 3] (6 elements) to [7] (7 elements)}}
  %0 = attn.reshape %a, [7] : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @reshape_two_inferred(%a: tensor<2x3xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'attn.reshape' op expects at most one -1 in shape, got [-1, -1]}}
  %0 = attn.reshape %a, [-1, -1] : tensor<2x3xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

func.func @matmul_contraction(%a: tensor<4x5xf32>, %b: tensor<6x7xf32>) -> tensor<4x7xf32> {
  // expected-error @+1 {{'attn.matmul' op expects the contracted extents to agree, got [4, 5] × [6, 7]}}
  %0 = attn.matmul %a, %b : (tensor<4x5xf32>, tensor<6x7xf32>) -> tensor<4x7xf32>
  return %0 : tensor<4x7xf32>
}

// -----

func.func @matmul_rank1(%a: tensor<5xf32>, %b: tensor<5x7xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{'attn.matmul' op expects operands of rank 2 or more, got [5] and [5, 7]}}
  %0 = attn.matmul %a, %b : (tensor<5xf32>, tensor<5x7xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.softmax' op expects axis in [-2, 2), got 2}}
  %0 = attn.softmax %a, 2 : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @sdpa_rank(%q: tensor<4x16x64xf32>, %k: tensor<1x4x16x64xf32>, %v: tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects q of rank 4 ([batch, heads, sequence, head size]), got [4, 16, 64]}}
  %0 = attn.sdpa %q, %k, %v : (tensor<4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return %0 : tensor<1x4x16x64xf32>
}

// -----

func.func @sdpa_heads(%q: tensor<1x8x16x64xf32>, %k: tensor<1x2x16x64xf32>, %v: tensor<1x2x16x64xf32>) -> tensor<1x8x16x64xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects q heads (8) = k/v heads (2) × kv_group (2)}}
  %0 = attn.sdpa %q, %k, %v {kv_group = 2 : i64} : (tensor<1x8x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>) -> tensor<1x8x16x64xf32>
  return %0 : tensor<1x8x16x64xf32>
}

// -----

func.func @sdpa_head_size(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x32xf32>, %v: tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects q and k to have the same head size, got q [1, 4, 16, 64], k [1, 4, 16, 32]}}
  %0 = attn.sdpa %q, %k, %v : (tensor<1x4x16x64xf32>, tensor<1x4x16x32xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return %0 : tensor<1x4x16x64xf32>
}

// -----

func.func @sdpa_kv_length(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x64xf32>, %v: tensor<1x4x20x64xf32>) -> tensor<1x4x16x64xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects k and v to have the same sequence length, got k [1, 4, 16, 64], v [1, 4, 20, 64]}}
  %0 = attn.sdpa %q, %k, %v : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x20x64xf32>) -> tensor<1x4x16x64xf32>
  return %0 : tensor<1x4x16x64xf32>
}

// -----

func.func @sdpa_mask_shape(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x24x64xf32>, %v: tensor<1x4x24x64xf32>, %m: tensor<1x1x1x16xf32>) -> tensor<1x4x16x64xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects a mask broadcastable to the scores [1, 4, 16, 24], got [1, 1, 1, 16]}}
  %0 = attn.sdpa %q, %k, %v mask %m : (tensor<1x4x16x64xf32>, tensor<1x4x24x64xf32>, tensor<1x4x24x64xf32>, tensor<1x1x1x16xf32>) -> tensor<1x4x16x64xf32>
  return %0 : tensor<1x4x16x64xf32>
}

// -----

func.func @sdpa_mask_type(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x64xf32>, %v: tensor<1x4x16x64xf32>, %m: tensor<16x16xi32>) -> tensor<1x4x16x64xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects a boolean (i1) mask or an additive mask of the element type of q, got 'i32'}}
  %0 = attn.sdpa %q, %k, %v mask %m : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<16x16xi32>) -> tensor<1x4x16x64xf32>
  return %0 : tensor<1x4x16x64xf32>
}

// -----

func.func @sdpa_dynamic_head_size(%q: tensor<1x4x16x?xf32>, %k: tensor<1x4x16x?xf32>, %v: tensor<1x4x16x?xf32>) -> tensor<1x4x16x?xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects an explicit scale when the head size is dynamic}}
  %0 = attn.sdpa %q, %k, %v : (tensor<1x4x16x?xf32>, tensor<1x4x16x?xf32>, tensor<1x4x16x?xf32>) -> tensor<1x4x16x?xf32>
  return %0 : tensor<1x4x16x?xf32>
}

// -----

func.func @schedule_vector_width(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects vector_width to be a power of two of at most 256, got 3}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<vector_width = 3>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @schedule_inlined_parallel(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects an inlined op to have no loops of its own to schedule}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<inlined = true, parallel = true>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @pad_mode(%x: tensor<3x4xf32>, %p: tensor<4xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'attn.pad' op has mode 'symmetric'; supported: constant, edge, reflect, wrap}}
  %0 = attn.pad %x, %p {mode = "symmetric"} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

func.func @pad_amounts(%x: tensor<3x4xf32>, %p: tensor<2xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'attn.pad' op has pad amounts 'tensor<2xi64>' for rank 2; needs 4}}
  %0 = attn.pad %x, %p {mode = "edge"} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

func.func @pad_extent(%x: tensor<3x4xf32>) -> tensor<5x8xf32> {
  %p = attn.constant dense<[1, 2, 1, 1]> : tensor<4xi64>
  // expected-error @+1 {{'attn.pad' op result extent 8 on axis 1 should be 7}}
  %0 = attn.pad %x, %p {mode = "edge"} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<5x8xf32>
  return %0 : tensor<5x8xf32>
}

// -----

func.func @pad_value_mode(%x: tensor<3x4xf32>, %p: tensor<4xi64>, %v: tensor<f32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'attn.pad' op takes a pad value in 'constant' mode only}}
  %0 = attn.pad %x, %p, %v {mode = "edge"} : (tensor<3x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

func.func @additive_weight(%q: tensor<2x3x6xf32>, %k: tensor<2x5x6xf32>, %w: tensor<8xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{'attn.additive_attention' op expects a weight vector [6] of the queries' element type, got [8]}}
  %o, %p = attn.additive_attention %q, %k, %w, %v : (tensor<2x3x6xf32>, tensor<2x5x6xf32>, tensor<8xf32>, tensor<2x5x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x5xf32>)
  return %o : tensor<2x3x4xf32>
}

// -----

func.func @additive_keys_values(%q: tensor<2x3x6xf32>, %k: tensor<2x5x6xf32>, %w: tensor<6xf32>, %v: tensor<2x7x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{'attn.additive_attention' op expects as many keys as values, got keys [2, 5, 6], values [2, 7, 4]}}
  %o, %p = attn.additive_attention %q, %k, %w, %v : (tensor<2x3x6xf32>, tensor<2x5x6xf32>, tensor<6xf32>, tensor<2x7x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x5xf32>)
  return %o : tensor<2x3x4xf32>
}

// -----

func.func @hard_batch(%q: tensor<2x3x6xf32>, %k: tensor<3x5x6xf32>, %v: tensor<3x5x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{'attn.hard_attention' op expects one batch shape, got queries [2, 3, 6], keys [3, 5, 6], values [3, 5, 4]}}
  %o, %i = attn.hard_attention %q, %k, %v : (tensor<2x3x6xf32>, tensor<3x5x6xf32>, tensor<3x5x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3xi64>)
  return %o : tensor<2x3x4xf32>
}

// -----

func.func @hard_mask(%q: tensor<2x3x6xf32>, %k: tensor<2x5x6xf32>, %v: tensor<2x5x4xf32>, %m: tensor<2x3x4xi1>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{'attn.hard_attention' op expects a mask broadcastable to the scores [2, 3, 5], got [2, 3, 4]}}
  %o, %i = attn.hard_attention %q, %k, %v mask %m : (tensor<2x3x6xf32>, tensor<2x5x6xf32>, tensor<2x5x4xf32>, tensor<2x3x4xi1>) -> (tensor<2x3x4xf32>, tensor<2x3xi64>)
  return %o : tensor<2x3x4xf32>
}

// -----

func.func @linear_activation(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'attn.linear' op has an unknown activation 'swish' (expected none, relu, gelu, gelu_tanh, gelu_sigmoid, silu, sigmoid or tanh)}}
  %y = attn.linear %x, %w {activation = "swish"} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @linear_bias(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<4x1xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'attn.linear' op expects a bias along the last axis ([16] of 'f32'), got 'tensor<4x1xf32>'}}
  %y = attn.linear %x, %w bias %b : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @linear_residual(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<2x4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'attn.linear' op expects a residual broadcastable to the result [4, 16], got 'tensor<2x4x16xf32>'}}
  %y = attn.linear %x, %w residual %r : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<2x4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @linear_contraction(%x: tensor<4x8xf32>, %w: tensor<6x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'attn.linear' op expects the contracted extents to agree, got [4, 8] × [6, 16]}}
  %y = attn.linear %x, %w : (tensor<4x8xf32>, tensor<6x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @schedule_bf16_gpu(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects bf16 products only in CPU schedules of ops that are not inlined}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<gpu_threads = 32, bf16 = true>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @slice_rank(%a: tensor<4x6xf32>, %s: tensor<1xi64>, %e: tensor<1xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{'attn.slice' op expects a result of rank 2, got [4]}}
  %0 = attn.slice %a[%s : %e] {axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<4x6xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @slice_extent(%a: tensor<4x6xf32>) -> tensor<4x3xf32> {
  %s = attn.constant dense<1> : tensor<1xi64>
  %e = attn.constant dense<-1> : tensor<1xi64>
  // expected-error @+1 {{'attn.slice' op slices [4, 6] to [4, 4], not [4, 3]}}
  %0 = attn.slice %a[%s : %e] {axes = array<i64: 1>, steps = array<i64: 1>} : (tensor<4x6xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @schedule_vector_width_huge(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects vector_width to be a power of two of at most 256, got 4611686018427387904}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<vector_width = 4611686018427387904>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @schedule_tile_huge(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects tile sizes in [1, 16777216], got 4294967296}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<tiles = [64, 4294967296]>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The schedule is the whole contract: attn.sdpa's names its form, and each
// form has all of its tiles.
func.func @schedule_sdpa_no_kind(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects its schedule to name its kind: flash or blocked}}
  %0 = attn.sdpa %q, %q, %q {schedule = #attn.schedule<vector_width = 8>} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @schedule_blocked_missing_tiles(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{expects 6 tile sizes with kind blocked, got 2}}
  %0 = attn.sdpa %q, %q, %q {schedule = #attn.schedule<kind = blocked, vector_width = 8, tiles = [16, 32]>} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @schedule_blocked_tile_outside_block(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{expects the register tiles of kind blocked within their blocks}}
  %0 = attn.sdpa %q, %q, %q {schedule = #attn.schedule<kind = blocked, vector_width = 8, tiles = [16, 32, 32, 6, 8, 6]>} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @schedule_blocked_pv_tile(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects PV tiles of at most the value head size, 8, got 16}}
  %0 = attn.sdpa %q, %q, %q {schedule = #attn.schedule<kind = blocked, vector_width = 8, tiles = [16, 32, 16, 6, 16, 6]>} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @schedule_blocked_dynamic_head(%q: tensor<1x2x16x?xf32>) -> tensor<1x2x16x?xf32> {
  // expected-error @+1 {{'attn.sdpa' op expects static head sizes and float32, float16 or bfloat16 elements for kind blocked}}
  %0 = attn.sdpa %q, %q, %q {schedule = #attn.schedule<kind = blocked, vector_width = 8, tiles = [16, 32, 16, 6, 8, 6]>} : (tensor<1x2x16x?xf32>, tensor<1x2x16x?xf32>, tensor<1x2x16x?xf32>) -> tensor<1x2x16x?xf32>
  return %0 : tensor<1x2x16x?xf32>
}

// -----

func.func @schedule_blocked_gpu(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{expects kind blocked only in CPU schedules of ops that are not inlined}}
  %0 = attn.sdpa %q, %q, %q {schedule = #attn.schedule<kind = blocked, tiles = [16, 32, 16, 6, 8, 6], gpu_threads = 64>} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @schedule_matmul_flash(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'attn.matmul' op expects kind generic or panels, got flash}}
  %0 = attn.matmul %a, %a {schedule = #attn.schedule<kind = flash, tiles = [4, 4]>} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @schedule_panels_batched_bf16(%a: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  // expected-error @+1 {{'attn.matmul' op expects a right operand with static rows and columns (batched without bf16 pairs) and float32, float16 or bfloat16 results for kind panels}}
  %0 = attn.matmul %a, %a {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 4, 4], bf16 = true>} : (tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}

// -----

func.func @schedule_panels_dynamic_rows(%a: tensor<2x4x?xf32>, %b: tensor<2x?x4xf32>) -> tensor<2x4x4xf32> {
  // expected-error @+1 {{'attn.matmul' op expects a right operand with static rows and columns (batched without bf16 pairs) and float32, float16 or bfloat16 results for kind panels}}
  %0 = attn.matmul %a, %b {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 4, 4]>} : (tensor<2x4x?xf32>, tensor<2x?x4xf32>) -> tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}

// -----

func.func @schedule_generic_tiles(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{expects 0 tile sizes with kind generic, got 1}}
  %0 = attn.matmul %a, %a {schedule = #attn.schedule<vector_width = 4, tiles = [8]>} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @schedule_kind_of_elementwise(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'attn.sqrt' op has only the generic kind, got panels}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<kind = panels, tiles = [1, 1, 1]>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @schedule_kind_unknown(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{expected ::mlir::attn::KernelForm to be one of: generic, flash, blocked, panels}}
  // expected-error @+1 {{failed to parse Attn_ScheduleAttr parameter 'kind'}}
  %0 = attn.sqrt %a {schedule = #attn.schedule<kind = tiled>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @from_panels_shape(%p: tensor<2x3x4xf32>) -> tensor<3x9xf32> {
  // expected-error @+1 {{'attn.from_panels' op expects panels [ceil(N / W), K, W] of the result's element type for a [3, 9] result, got 'tensor<2x3x4xf32>'}}
  %0 = attn.from_panels %p : tensor<2x3x4xf32> -> tensor<3x9xf32>
  return %0 : tensor<3x9xf32>
}

// -----

func.func @from_panels_pairs(%p: tensor<1x2x2x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'attn.from_panels' op expects bfloat16 panels [ceil(N / W), ceil(K / 2), W, 2] for a floating-point [3, 2] result, got 'tensor<1x2x2x2xf32>'}}
  %0 = attn.from_panels %p : tensor<1x2x2x2xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @from_panels_dynamic(%p: tensor<2x3x4xf32>) -> tensor<3x?xf32> {
  // expected-error @+1 {{'attn.from_panels' op expects static panels and a static [K, N] result}}
  %0 = attn.from_panels %p : tensor<2x3x4xf32> -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}

// -----

func.func @from_panels_quads(%p: tensor<1x2x4x4xi8>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'attn.from_panels' op expects i8 panels [ceil(N / W), ceil(K / 4) + 1, W, 4] for an 8-bit [8, 4] result, got 'tensor<1x2x4x4xi8>'}}
  %0 = attn.from_panels %p : tensor<1x2x4x4xi8> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @quantize_float_result(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{'attn.quantize' op expects an 8- or 16-bit integer result, got 'f32'}}
  %0 = attn.quantize %x, %s, %z {axis = 0 : i64} : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @quantize_zero_point_type(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<4xui8> {
  // expected-error @+1 {{'attn.quantize' op expects a zero point of 'ui8', got 'i8'}}
  %0 = attn.quantize %x, %s, %z {axis = 0 : i64} : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

func.func @quantize_axis_extent(%x: tensor<4x3xf32>, %s: tensor<4xf32>, %z: tensor<4xi8>) -> tensor<4x3xi8> {
  // expected-error @+1 {{'attn.quantize' op expects a scale and a zero point that are both scalars or both 1-D along axis 1 (extent 3)}}
  %0 = attn.quantize %x, %s, %z {axis = 1 : i64} : (tensor<4x3xf32>, tensor<4xf32>, tensor<4xi8>) -> tensor<4x3xi8>
  return %0 : tensor<4x3xi8>
}

// -----

func.func @quantize_blocks(%x: tensor<4x8xf32>, %s: tensor<4x3xf32>, %z: tensor<4x3xi8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{'attn.quantize' op expects blocked scales and zero points of the input's shape with ceil(extent / 4) entries along axis 1}}
  %0 = attn.quantize %x, %s, %z {axis = 1 : i64, block_size = 4 : i64} : (tensor<4x8xf32>, tensor<4x3xf32>, tensor<4x3xi8>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @dequantize_float_input(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{'attn.dequantize' op expects an 8-, 16- or 32-bit integer input, got 'f32'}}
  %0 = attn.dequantize %x, %s, %z {axis = 0 : i64} : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @matmul_integer_result(%a: tensor<2x4xui8>, %b: tensor<4x3xi8>, %za: tensor<ui8>, %zb: tensor<i8>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.matmul_integer' op expects an i32 result, got 'tensor<2x3xf32>'}}
  %0 = attn.matmul_integer %a, %b, %za, %zb : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>, tensor<i8>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @matmul_integer_operands(%a: tensor<2x4xi16>, %b: tensor<4x3xi8>, %za: tensor<i16>, %zb: tensor<i8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{'attn.matmul_integer' op expects u8 or i8 operands, got 'i16' and 'i8'}}
  %0 = attn.matmul_integer %a, %b, %za, %zb : (tensor<2x4xi16>, tensor<4x3xi8>, tensor<i16>, tensor<i8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @matmul_integer_zero_points(%a: tensor<2x4xui8>, %b: tensor<4x3xi8>, %za: tensor<ui8>, %zb: tensor<4xi8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{'attn.matmul_integer' op expects a scalar or per-row left zero point and a scalar or per-column right zero point}}
  %0 = attn.matmul_integer %a, %b, %za, %zb : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>, tensor<4xi8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @linear_quantized_operands(%a: tensor<2x4xui8>, %b: tensor<4x3xi8>, %s: tensor<f32>, %za: tensor<ui8>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.linear' op expects quantized operands scale, lhs zero point and rhs zero point, got 2}}
  %0 = attn.linear %a, %b quantized %s, %za : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @linear_quantized_scale(%a: tensor<2x4xui8>, %b: tensor<4x3xi8>, %s: tensor<2xf32>, %za: tensor<ui8>, %zb: tensor<i8>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.linear' op expects a float32 scale (scalar or per column) and result when quantized}}
  %0 = attn.linear %a, %b quantized %s, %za, %zb : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<2xf32>, tensor<ui8>, tensor<i8>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @cumsum_axis(%a: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'attn.cumsum' op sums along axis 2 of a rank-2 tensor}}
  %0 = attn.cumsum %a, 2 : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @gather_elements_rank(%a: tensor<2x4xf32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+1 {{'attn.gather_elements' op expects indices of the input's rank 2, got 'tensor<2xi64>'}}
  %0 = attn.gather_elements %a[%i], 1 : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gather_elements_result(%a: tensor<2x4xf32>, %i: tensor<2x3xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'attn.gather_elements' op expects a result of the indices' shape and the input's element type, got 'tensor<2x4xf32>'}}
  %0 = attn.gather_elements %a[%i], 1 : (tensor<2x4xf32>, tensor<2x3xi64>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @gather_elements_indices(%a: tensor<2x4xf32>, %i: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'attn.gather_elements' op expects integer indices, got 'f32'}}
  %0 = attn.gather_elements %a[%i], 1 : (tensor<2x4xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @graph_values(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x7x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects a value row per key node, got target [2, 5] and values [2, 7, 4]}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x7x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_ranks(%s: tensor<2x6xf32>, %t: tensor<5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects source [..., N], target [..., M], values [..., M, Dv] and output [..., N, Dv], got [2, 6], [5], [2, 5, 4] and [2, 6, 4]}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x6xf32>, tensor<5xf32>, tensor<2x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_batch(%s: tensor<2x6xf32>, %t: tensor<3x5xf32>, %v: tensor<3x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects one batch shape, got source [2, 6], target [3, 5], values [3, 5, 4], output [2, 6, 4]}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x6xf32>, tensor<3x5xf32>, tensor<3x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_output(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x3xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects output [..., N, Dv] = [2, 6] × 4, got [2, 6, 3]}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x3xf32>
  return %0 : tensor<2x6x3xf32>
}

// -----

func.func @graph_adjacency_type(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xf32>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects an i1 adjacency, got 'f32'}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<6x5xf32>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_adjacency_shape(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<5x6xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects an adjacency broadcastable to the scores [2, 6, 5], got [5, 6]}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<5x6xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_slope(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects a finite, non-negative negative_slope, got -5.000000e-01}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = -0.5 : f64} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_schedule_kind(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects kind generic or block_sparse, got flash}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64, schedule = #attn.schedule<kind = flash, tiles = [16, 64]>} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @graph_schedule_key_block(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{'attn.graph_attention' op expects a key block of whole vectors (a multiple of vector_width 16), got 40}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64, schedule = #attn.schedule<kind = block_sparse, vector_width = 16, tiles = [16, 40]>} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @schedule_block_sparse_gpu(%s: tensor<2x6xf32>, %t: tensor<2x5xf32>, %v: tensor<2x5x4xf32>, %a: tensor<6x5xi1>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{expects kind block_sparse only in CPU schedules of ops that are not inlined}}
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64, schedule = #attn.schedule<kind = block_sparse, vector_width = 16, tiles = [16, 64], gpu_threads = 64>} : (tensor<2x6xf32>, tensor<2x5xf32>, tensor<2x5x4xf32>, tensor<6x5xi1>) -> tensor<2x6x4xf32>
  return %0 : tensor<2x6x4xf32>
}

// -----

func.func @pool_kind(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{'attn.pool' op expects kind max or avg, got 'sum'}}
  %0 = attn.pool "sum" %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}

// -----

func.func @pool_attributes(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{'attn.pool' op expects 2 kernel extents, strides and dilations and 4 pads}}
  %0 = attn.pool "max" %x {kernel = array<i64: 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}

// -----

func.func @scatter_reduction(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'attn.scatter_elements' op expects reduction none, add, mul, max or min, got 'mean'}}
  %0 = attn.scatter_elements %x[%i] = %u, 1 {reduction = "mean"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @scatter_nd_updates(%x: tensor<3x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'attn.scatter_nd' op expects updates of shape [2, 4], got [2, 3]}}
  %0 = attn.scatter_nd %x[%i] = %u : (tensor<3x4xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @conv_transpose_channels(%x: tensor<1x3x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x6x6xf32> {
  // expected-error @+1 {{'attn.conv_transpose' op expects the weight's first axis to be the input channels and its second the output channels per group}}
  %0 = attn.conv_transpose %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x3x4x4xf32>, tensor<4x2x3x3xf32> -> tensor<1x2x6x6xf32>
  return %0 : tensor<1x2x6x6xf32>
}
