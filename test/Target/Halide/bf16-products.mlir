// bfloat16 products on a target with AVX512-BF16: the Q·Kᵀ and P·V register
// tiles of attn.sdpa and the register tiles of attn.linear are vdpbf16ps
// (two bfloat16 products summed into each float32 lane), 24 accumulators
// each, fed by 32-bit broadcasts of bfloat16 pairs.
// RUN: attnc %s --precision=bf16 --target=x86-64-linux-avx512_sapphirerapids --emit=asm -o - --quiet | FileCheck %s
// The same function without --precision=bf16 has none.
// RUN: attnc %s --target=x86-64-linux-avx512_sapphirerapids --emit=asm -o - --quiet | FileCheck %s --check-prefix=FP32
// On a target without AVX512-BF16 the option warns and computes the same
// arithmetic with generic code.
// RUN: attnc %s --precision=bf16 --target=x86-64-linux-avx512 --emit=asm -o - --quiet 2>&1 >/dev/null | FileCheck %s --check-prefix=WARN
// An unknown precision is an error, and nothing is written.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not attnc %s --precision=fp8 -o %t/out.o 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not ls %t/out.o

// CHECK: for sdpa_qk.s1.sdpa_rd$y
// CHECK-COUNT-24: vdpbf16ps
// CHECK: for sdpa_pvacc.s1.sdpa_rj$y
// CHECK-COUNT-24: vdpbf16ps
// CHECK: for linear_acc.s1.linear_kpair$y
// CHECK: vbroadcastss
// CHECK-COUNT-4: vdpbf16ps
// FP32-NOT: vdpbf16ps
// WARN: warning: target x86-64-linux-avx512 has no AVX512-BF16 dot products: --precision=bf16 computes the same bfloat16 arithmetic with generic code, slower than float32
// BAD: error: --precision='fp8' is not supported (supported: fp32, bf16)
func.func @bf16_products(%q: tensor<1x2x128x64xf32> {attn.name = "q"},
                         %x: tensor<96x128xf32> {attn.name = "x"})
    -> (tensor<1x2x128x64xf32> {attn.name = "out"},
        tensor<96x64xf32> {attn.name = "proj"}) {
  %0 = attn.sdpa %q, %q, %q : (tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32>
  %w = attn.constant dense<0.25> : tensor<128x64xf32>
  %1 = attn.linear %x, %w : (tensor<96x128xf32>, tensor<128x64xf32>) -> tensor<96x64xf32>
  return %0, %1 : tensor<1x2x128x64xf32>, tensor<96x64xf32>
}
