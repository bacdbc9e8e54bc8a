// RUN: attnc-opt %s -attn-tile=target=x86-64-linux-avx512 | FileCheck %s --check-prefix=AVX512
// RUN: attnc-opt %s -attn-tile=target=x86-64-linux-avx2 | FileCheck %s --check-prefix=AVX2
// RUN: attnc-opt %s -attn-tile=target=arm-64-linux | FileCheck %s --check-prefix=ARM
// RUN: attnc-opt %s -attn-tile=target=x86-64-linux-cuda-cuda_capability_80 | FileCheck %s --check-prefix=CUDA
// RUN: not attnc-opt %s -attn-tile=target=riscv-64-linux 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: attnc-opt %s -attn-tile="target=x86-64-linux-avx512 bf16=true" | FileCheck %s --check-prefix=BF16
// RUN: attnc-opt %s -attn-tile="target=x86-64-linux-avx512 weights-param=true" | FileCheck %s --check-prefix=PARAM

// AVX512-LABEL: func.func @sdpa
// tiles = [query block, KV block, QK tile rows, QK tile keys, PV tile head
// dims, PV tile rows]: 24 accumulators with 32 vector registers (AVX-512,
// AArch64), 12 with 16 (AVX2).
// AVX512: attn.sdpa {{.*}}schedule = #attn.schedule<kind = blocked, vector_width = 16, tiles = [64, 512, 64, 6, 64, 6], parallel = true>
// AVX2: attn.sdpa {{.*}}schedule = #attn.schedule<kind = blocked, vector_width = 8, tiles = [64, 512, 16, 6, 16, 6], parallel = true>
// ARM: attn.sdpa {{.*}}schedule = #attn.schedule<kind = blocked, vector_width = 4, tiles = [64, 512, 16, 6, 16, 6], parallel = true>
// CUDA: attn.sdpa {{.*}}schedule = #attn.schedule<kind = flash, tiles = [64, 32], gpu_threads = 64>
// BAD: error: attn-tile: unknown target 'riscv-64-linux'
func.func @sdpa(%q: tensor<1x8x1024x64xf32>, %k: tensor<1x8x1024x64xf32>, %v: tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32> {
  %0 = attn.sdpa %q, %k, %v : (tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32>
  return %0 : tensor<1x8x1024x64xf32>
}

// Short sequences get blocks no larger than the sequence (rounded to the
// vector width), so N = 77 is one 80-key block.
// AVX512-LABEL: func.func @sdpa_short
// AVX512: attn.sdpa {{.*}}schedule = #attn.schedule<kind = blocked, vector_width = 16, tiles = [64, 80, 64, 6, 64, 6], parallel = true>
func.func @sdpa_short(%q: tensor<2x4x77x64xf32>, %k: tensor<2x4x77x64xf32>, %v: tensor<2x4x77x64xf32>) -> tensor<2x4x77x64xf32> {
  %0 = attn.sdpa %q, %k, %v : (tensor<2x4x77x64xf32>, tensor<2x4x77x64xf32>, tensor<2x4x77x64xf32>) -> tensor<2x4x77x64xf32>
  return %0 : tensor<2x4x77x64xf32>
}

// A batched product of two activations (one [K, N] matrix per batch entry)
// is register-tiled over panels read in place; the transpose of its right
// operand is copied once rather than read through with strided loads.
// AVX512-LABEL: func.func @graph_ops
// AVX512: attn.transpose {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true, task_rows = 128>
// AVX512: attn.matmul {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [30, 64, 6], parallel = true>
// AVX512: attn.softmax {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true>
// A 4-wide innermost axis is not padded to a 16-wide vector; rows of a few
// elements go to the thread pool in tasks of 8192 elements.
// AVX512: attn.add {{.*}}schedule = #attn.schedule<vector_width = 4, parallel = true, task_rows = 2048>
// CUDA-LABEL: func.func @graph_ops
// CUDA: attn.matmul {{.*}}schedule = #attn.schedule<gpu_threads = 64>
func.func @graph_ops(%a: tensor<8x64x64xf32>, %b: tensor<8x64x64xf32>, %c: tensor<8x4xf32>) -> (tensor<8x64x64xf32>, tensor<8x4xf32>) {
  %t = attn.transpose %b, [0, 2, 1] : tensor<8x64x64xf32> -> tensor<8x64x64xf32>
  %m = attn.matmul %a, %t : (tensor<8x64x64xf32>, tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %s = attn.softmax %m, -1 : tensor<8x64x64xf32>
  %d = attn.add %c, %c : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %s, %d : tensor<8x64x64xf32>, tensor<8x4xf32>
}

// attn.linear / attn.matmul: tiles = [task rows, panel columns, tile
// rows]. A register tile is 6 rows × 4 vectors with 32 registers, 6 × 2
// with 16; a task's rows of the left operand fill at most half of L2 (168
// rows of 768 floats), capped at the rows there are (128, rounded up to the
// tile).
// AVX512-LABEL: func.func @linear
// AVX512: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [132, 64, 6], parallel = true>
// AVX512: attn.matmul {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true>
// AVX512: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [1, 64, 1], parallel = true>
// AVX2-LABEL: func.func @linear
// AVX2: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 8, tiles = [132, 16, 6], parallel = true>
// ARM-LABEL: func.func @linear
// ARM: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [132, 16, 6], parallel = true>
// CUDA-LABEL: func.func @linear
// CUDA: attn.linear {{.*}}schedule = #attn.schedule<gpu_threads = 256>
func.func @linear(%x: tensor<1x128x768xf32>, %w: tensor<768x3072xf32>, %b: tensor<3072xf32>, %w8: tensor<768x8xf32>, %x1: tensor<1x768xf32>) -> (tensor<1x128x3072xf32>, tensor<1x128x8xf32>, tensor<1x3072xf32>) {
  %0 = attn.linear %x, %w bias %b {activation = "gelu"} : (tensor<1x128x768xf32>, tensor<768x3072xf32>, tensor<3072xf32>) -> tensor<1x128x3072xf32>
  // 8 columns: one vector, so up to 8 rows per tile; with one panel, the
  // 128 rows are split into 16 tasks of 8.
  %1 = attn.matmul %x, %w8 : (tensor<1x128x768xf32>, tensor<768x8xf32>) -> tensor<1x128x8xf32>
  // One row (a decoding step): tiles of one row.
  %2 = attn.linear %x1, %w : (tensor<1x768xf32>, tensor<768x3072xf32>) -> tensor<1x3072xf32>
  return %0, %1, %2 : tensor<1x128x3072xf32>, tensor<1x128x8xf32>, tensor<1x3072xf32>
}

// Fusion: a single-use elementwise op is computed inside its user
// (inlined), except where the user is a product (attn.linear), the op has
// several users, reads an infinite constant, or is an output. Reshapes that
// only split axes are inlined; one that merges axes is copied.
// AVX512-LABEL: func.func @fusion
// AVX512: %[[SPLIT:.*]] = attn.reshape {{.*}}inlined = true
// AVX512: %[[NEG:.*]] = attn.neg {{.*}}inlined = true
// AVX512: %[[MERGE:.*]] = attn.reshape {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true, task_rows = 128>
// AVX512: %[[MUL:.*]] = attn.mul {{.*}}inlined = true
// AVX512: %[[ADD:.*]] = attn.add {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true, task_rows = 128>
// AVX512: attn.linear %[[ADD]]
// AVX512: %[[MASK:.*]] = attn.select {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true, task_rows = 128>
// AVX512: attn.add %[[MASK]], {{.*}}inlined = true
// AVX512: %[[TWICE:.*]] = attn.exp {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true, task_rows = 128>
// AVX512: attn.mul %[[TWICE]], %[[TWICE]] {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true, task_rows = 128>
func.func @fusion(%x: tensor<4x64xf32>, %w: tensor<64x64xf32>, %c: tensor<4x64xi1>) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) {
  %s = attn.reshape %x, [4, 4, 16] : tensor<4x64xf32> -> tensor<4x4x16xf32>
  %n = attn.neg %s : tensor<4x4x16xf32>
  %m = attn.reshape %n, [4, 64] : tensor<4x4x16xf32> -> tensor<4x64xf32>
  %p = attn.mul %x, %x : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %a = attn.add %p, %m : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %l = attn.linear %a, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %inf = attn.constant dense<0xFF800000> : tensor<f32>
  %zero = attn.constant dense<0.0> : tensor<f32>
  %sel = attn.select %c, %inf, %zero : (tensor<4x64xi1>, tensor<f32>, tensor<f32>) -> tensor<4x64xf32>
  %b = attn.add %sel, %x : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %r = attn.relu %b : tensor<4x64xf32>
  %e = attn.exp %x : tensor<4x64xf32>
  %sq = attn.mul %e, %e : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  return %l, %r, %m, %sq : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>
}

// A schedule written by hand is kept (a flash form where attn-tile would
// choose the blocked one).
// AVX512-LABEL: func.func @hand_written
// AVX512: attn.sdpa {{.*}}schedule = #attn.schedule<kind = flash, vector_width = 8, tiles = [32, 64]>
func.func @hand_written(%q: tensor<1x8x1024x64xf32>, %k: tensor<1x8x1024x64xf32>, %v: tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32> {
  %0 = attn.sdpa %q, %k, %v {schedule = #attn.schedule<kind = flash, vector_width = 8, tiles = [32, 64]>} : (tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32>
  return %0 : tensor<1x8x1024x64xf32>
}

// bf16=true: attn.sdpa with even head sizes and matrix products with a
// constant (or panel-aligned) right operand get bfloat16 products; an odd
// head size, a batched right operand (register-tiled in float32) and
// float16 results keep float32.
// BF16-LABEL: func.func @bf16_products
// BF16: attn.sdpa {{.*}}schedule = #attn.schedule<kind = blocked, vector_width = 16, tiles = [64, 512, 64, 6, 64, 6], parallel = true, bf16 = true>
// BF16: attn.sdpa {{.*}}schedule = #attn.schedule<kind = blocked, vector_width = 16, tiles = [64, 112, 64, 6, 33, 6], parallel = true>
// BF16: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [6, 64, 6], parallel = true, bf16 = true>
// BF16: attn.matmul {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [30, 64, 6], parallel = true>
// BF16: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [4, 64, 4], parallel = true>
func.func @bf16_products(%q: tensor<1x8x1024x64xf32>, %q33: tensor<1x2x100x33xf32>, %x: tensor<1x128x768xf32>, %a: tensor<8x64x64xf32>, %h: tensor<4x64xf16>) -> (tensor<1x8x1024x64xf32>, tensor<1x2x100x33xf32>, tensor<1x128x64xf32>, tensor<8x64x64xf32>, tensor<4x64xf16>) {
  %0 = attn.sdpa %q, %q, %q : (tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32>
  %1 = attn.sdpa %q33, %q33, %q33 : (tensor<1x2x100x33xf32>, tensor<1x2x100x33xf32>, tensor<1x2x100x33xf32>) -> tensor<1x2x100x33xf32>
  %w = attn.constant dense<0.5> : tensor<768x64xf32>
  %2 = attn.linear %x, %w : (tensor<1x128x768xf32>, tensor<768x64xf32>) -> tensor<1x128x64xf32>
  %3 = attn.matmul %a, %a : (tensor<8x64x64xf32>, tensor<8x64x64xf32>) -> tensor<8x64x64xf32>
  %wh = attn.constant dense<0.5> : tensor<64x64xf16>
  %4 = attn.linear %h, %wh : (tensor<4x64xf16>, tensor<64x64xf16>) -> tensor<4x64xf16>
  return %0, %1, %2, %3, %4 : tensor<1x8x1024x64xf32>, tensor<1x2x100x33xf32>, tensor<1x128x64xf32>, tensor<8x64x64xf32>, tensor<4x64xf16>
}

// A dynamic head size: the online softmax in generic code (kind flash),
// over blocks sized as if the head size were 128.
// AVX512-LABEL: func.func @sdpa_dynamic_head
// AVX512: attn.sdpa {{.*}}schedule = #attn.schedule<kind = flash, vector_width = 16, tiles = [64, 256], parallel = true>
func.func @sdpa_dynamic_head(%q: tensor<1x8x1024x?xf32>) -> tensor<1x8x1024x?xf32> {
  %0 = attn.sdpa %q, %q, %q {scale = 0.125 : f64} : (tensor<1x8x1024x?xf32>, tensor<1x8x1024x?xf32>, tensor<1x8x1024x?xf32>) -> tensor<1x8x1024x?xf32>
  return %0 : tensor<1x8x1024x?xf32>
}

// A constant right operand is re-laid out into panels at compile time,
// whatever its columns (40 here, panels of 48); one filled in at run time
// (weights-param) cannot be, and 40 columns do not fill a panel: generic.
// A small constant stays compiled in.
// AVX512-LABEL: func.func @constant_weights
// AVX512: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [{{.*}}], parallel = true>
// AVX512: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [{{.*}}], parallel = true>
// PARAM-LABEL: func.func @constant_weights
// PARAM: attn.linear {{.*}}schedule = #attn.schedule<vector_width = 16, parallel = true>
// PARAM: attn.linear {{.*}}schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [{{.*}}], parallel = true>
func.func @constant_weights(%x: tensor<32x64xf32>, %y: tensor<32x8xf32>) -> (tensor<32x40xf32>, tensor<32x5xf32>) {
  %w = attn.constant dense<0.5> : tensor<64x40xf32>
  %0 = attn.linear %x, %w : (tensor<32x64xf32>, tensor<64x40xf32>) -> tensor<32x40xf32>
  %s = attn.constant dense<0.25> : tensor<8x5xf32>
  %1 = attn.linear %y, %s : (tensor<32x8xf32>, tensor<8x5xf32>) -> tensor<32x5xf32>
  return %0, %1 : tensor<32x40xf32>, tensor<32x5xf32>
}

// Graph attention: blocks of 16 query nodes × 4 vectors of key nodes,
// skipped where the adjacency has no edge, on CPUs; the dense generic form
// on GPUs.
// AVX512-LABEL: func.func @graph_attention
// AVX512: attn.graph_attention {{.*}}schedule = #attn.schedule<kind = block_sparse, vector_width = 16, tiles = [16, 64], parallel = true>
// ARM-LABEL: func.func @graph_attention
// ARM: attn.graph_attention {{.*}}schedule = #attn.schedule<kind = block_sparse, vector_width = 4, tiles = [16, 16], parallel = true>
// CUDA-LABEL: func.func @graph_attention
// CUDA: attn.graph_attention {{.*}}schedule = #attn.schedule<gpu_threads = {{[0-9]+}}>
func.func @graph_attention(%s: tensor<2x300xf32>, %t: tensor<2x300xf32>, %v: tensor<2x300x8xf32>, %a: tensor<300x300xi1>) -> tensor<2x300x8xf32> {
  %0 = attn.graph_attention %s, %t, %v, %a {negative_slope = 0.2 : f64} : (tensor<2x300xf32>, tensor<2x300xf32>, tensor<2x300x8xf32>, tensor<300x300xi1>) -> tensor<2x300x8xf32>
  return %0 : tensor<2x300x8xf32>
}

// A sum over an innermost axis of 8: partial sums in 8 lanes, and rows of
// 8 elements grouped into tasks of 8192.
// AVX512-LABEL: func.func @reduce_small_rows
// AVX512: attn.reduce "sum" {{.*}}schedule = #attn.schedule<vector_width = 8, parallel = true, task_rows = 1024>
func.func @reduce_small_rows(%x: tensor<1x8x1024x8xf32>) -> tensor<1x8x1024x1xf32> {
  %0 = attn.reduce "sum" %x, [3] {keepdims = true} : tensor<1x8x1024x8xf32> -> tensor<1x8x1024x1xf32>
  return %0 : tensor<1x8x1024x1xf32>
}
