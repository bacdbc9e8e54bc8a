// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | FileCheck %s
// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | grep allocate | FileCheck %s --check-prefix=ALLOC

// attn.sdpa lowers to a register-blocked online softmax over KV blocks:
// batch × heads × query blocks run in parallel (8 heads × 1024/64 query
// blocks = 128 tasks); each task keeps its state and every per-block buffer
// on its stack at fixed sizes; K and V (float32 function arguments) are read
// in place, not packed; Q·Kᵀ is computed in 64 × 6 register tiles and P·V in
// 64 × 6 tiles (the defaults for 16 lanes), kept in registers; the inner
// loops are
// 16-wide vectors; the causal mask trims the KV-block loop of each task (its
// bound depends on the task) instead of visiting fully masked blocks; and
// the largest buffer is one 64 × 256 score tile: no 1024 × 1024 score
// matrix exists.

// CHECK: module name=attention, target=x86-64-linux-avx512
// CHECK: allocate out_qT[float32 * 4096] in Stack
// CHECK: allocate out_state.0[float32 * 4096] in Stack
// CHECK: for (out_state.s1.out_kvb$x, 0, t{{[0-9]+}} + 1)
// CHECK-NOT: pack
// CHECK: allocate out_s[float32 * 16384] in Stack
// CHECK-NOT: pack
// CHECK: allocate out_qk[float32 * 384] in Register
// CHECK-NOT: pack
// CHECK: allocate out_p[float32 * 16384] in Stack
// CHECK-NOT: pack
// CHECK: allocate out_pvacc[float32 * 384] in Register
// CHECK: float32x16
// CHECK: halide_do_par_for({{.*}}, 0, 128,

// A hand-written schedule overrides every tile: query block 32, KV block
// 128, QK tiles 32 × 4, PV tiles 32 × 2, and without the causal mask every
// task visits all 1024 / 128 = 8 KV blocks.
// RUN: sed -e 's/causal, //' -e 's/tiles = \[64, 256, 64, 6, 64, 6\]/tiles = [32, 128, 32, 4, 32, 2]/' %s | attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 | FileCheck %s --check-prefix=HAND
// HAND: allocate out_qT[float32 * 2048] in Stack
// HAND: for (out_state.s1.out_kvb$x, 0, 8)
// HAND: allocate out_s[float32 * 4096] in Stack
// HAND: allocate out_qk[float32 * 128] in Register
// HAND: allocate out_pvacc[float32 * 64] in Register
// HAND: halide_do_par_for({{.*}}, 0, 256,

// ALLOC-NOT: 1024
func.func @attention(%q: tensor<1x8x1024x64xf32> {attn.name = "q"},
                     %k: tensor<1x8x1024x64xf32> {attn.name = "k"},
                     %v: tensor<1x8x1024x64xf32> {attn.name = "v"})
    -> (tensor<1x8x1024x64xf32> {attn.name = "out"}) {
  %0 = attn.sdpa %q, %k, %v {causal, schedule = #attn.schedule<kind = blocked, vector_width = 16, tiles = [64, 256, 64, 6, 64, 6], parallel = true>} : (tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32>
  return %0 : tensor<1x8x1024x64xf32>
}
