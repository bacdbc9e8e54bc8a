// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | FileCheck %s
// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | grep allocate | FileCheck %s --check-prefix=ALLOC

// attn.sdpa lowers to an online softmax over KV blocks: batch × heads ×
// query blocks run in parallel (8 heads × 1024/64 query blocks = 128 tasks),
// the inner loops are 16-wide vectors, and the largest buffer is one
// 64 × 256 score tile: no 1024 × 1024 score matrix exists.

// CHECK: module name=attention, target=x86-64-linux-avx512
// CHECK: allocate out_state.0[float32 * 64 * 64 * 1 * 1]
// CHECK: for (out_state.s1.out_kvb$x, 0, 4)
// CHECK: allocate out_scores[float32 * 256 * 1 * 64 * 1 * 1]
// CHECK: allocate out_p[float32 * 256 * 1 * 64 * 1 * 1]
// CHECK: allocate out_pv[float32 * 64 * 1 * 64 * 1 * 1]
// CHECK: float32x16
// CHECK: halide_do_par_for({{.*}}, 0, 128,

// ALLOC-NOT: 1024
func.func @attention(%q: tensor<1x8x1024x64xf32> {attn.name = "q"},
                     %k: tensor<1x8x1024x64xf32> {attn.name = "k"},
                     %v: tensor<1x8x1024x64xf32> {attn.name = "v"})
    -> (tensor<1x8x1024x64xf32> {attn.name = "out"}) {
  %0 = attn.sdpa %q, %k, %v {causal, schedule = #attn.schedule<vector_width = 16, tiles = [64, 256], parallel = true>} : (tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32>
  return %0 : tensor<1x8x1024x64xf32>
}
