// The emitter computes the form the schedule names and takes no decision of
// its own: the same static attn.sdpa is the online softmax in generic code
// with kind = flash and register tiles with kind = blocked.
// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | FileCheck %s --check-prefix=FLASH
// RUN: sed -e 's/kind = flash, vector_width = 16, tiles = \[32, 64\]/kind = blocked, vector_width = 16, tiles = [32, 64, 32, 6, 32, 6]/' %s | attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 | FileCheck %s --check-prefix=BLOCKED
// FLASH-LABEL: func attention
// FLASH-NOT: in Register
// FLASH: halide_do_par_for
// BLOCKED-LABEL: func attention
// BLOCKED: allocate out_qk[float32 * {{[0-9]+}}] in Register
// BLOCKED: allocate out_pvacc[float32 * {{[0-9]+}}] in Register

func.func @attention(%q: tensor<1x2x64x32xf32> {attn.name = "q"},
                     %k: tensor<1x2x64x32xf32> {attn.name = "k"},
                     %v: tensor<1x2x64x32xf32> {attn.name = "v"})
    -> (tensor<1x2x64x32xf32> {attn.name = "out"}) {
  %0 = attn.sdpa %q, %k, %v {schedule = #attn.schedule<kind = flash, vector_width = 16, tiles = [32, 64], parallel = true>} : (tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32>
  return %0 : tensor<1x2x64x32xf32>
}
