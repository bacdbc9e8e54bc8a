// A normalization over the innermost axis runs one row per parallel task:
// the statistics are sums of vectors along the row (contiguous loads; the
// 14 elements past the first vector masked), computed inside the task, not
// in buffers of their own before it.
// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | FileCheck %s
// CHECK: external func norm_par_for_out
// CHECK: allocate out_pmean[float32 * 16]
// CHECK: out_pmean[ramp(0, 1, 16)] = out_pmean[ramp(0, 1, 16)] + x[ramp(
// CHECK: select(ramp(16, 1, 16) < x16(30)
// CHECK: allocate out_pvar[float32 * 16]
// CHECK: out_pvar[ramp(0, 1, 16)] = out_pvar[ramp(0, 1, 16)] +
// CHECK: out[ramp(
// CHECK: produce out {
// CHECK-NOT: produce out_mean
// CHECK: halide_do_par_for((void *)::norm_par_for_out_s0_out_d1_out_p2, 0, x.extent.1*4,

func.func @norm(%x: tensor<4x?x30xf32> {attn.name = "x"},
                %g: tensor<30xf32> {attn.name = "g"},
                %b: tensor<30xf32> {attn.name = "b"})
    -> (tensor<4x?x30xf32> {attn.name = "out"}) {
  %0 = attn.layer_norm %x scale %g : tensor<30xf32> bias %b : tensor<30xf32> {axis = 2 : i64, epsilon = 1.0E-5 : f64, schedule = #attn.schedule<vector_width = 16, parallel = true>} : tensor<4x?x30xf32> -> tensor<4x?x30xf32>
  return %0 : tensor<4x?x30xf32>
}
