// 8-bit products on a target with AVX512-VNNI: the register tiles of a
// quantized attn.linear over constant weights are vpdpbusd (four u8 × i8
// products summed into each i32 lane), 24 accumulators (6 rows × 4 vectors
// of 16 columns). The kernel is lowered by attnc's LLVM for the target's
// own features plus VNNI: no instruction of the Sapphire Rapids CPU that
// Halide names VNNI with (AVX512-FP16's vmovw, AVX-VNNI's VEX encoding,
// AMX tiles).
// RUN: attnc %s --target=x86-64-linux-avx512_cannonlake-avx512_vnni --emit=asm -o - --quiet | FileCheck %s
// Without VNNI, the same products in generic code.
// RUN: attnc %s --target=x86-64-linux-avx512_cannonlake --emit=asm -o - --quiet | FileCheck %s --check-prefix=NOVNNI

// CHECK-NOT: vmovw
// CHECK-NOT: {vex}
// CHECK-NOT: tileloadd
// CHECK-COUNT-24: vpdpbusd %zmm
// CHECK-NOT: vmovw
// CHECK-NOT: {vex}
// CHECK-NOT: tileloadd
// NOVNNI-NOT: vpdpbusd

func.func @q(%x: tensor<24x64xui8> {attn.name = "x"}, %s: tensor<f32> {attn.name = "s"}, %z: tensor<ui8> {attn.name = "z"}) -> (tensor<24x128xf32> {attn.name = "y"}) {
  %w = attn.constant dense<3> : tensor<64x128xi8>
  %wz = attn.constant dense<0> : tensor<i8>
  %y = attn.linear %x, %w quantized %s, %z, %wz : (tensor<24x64xui8>, tensor<64x128xi8>, tensor<f32>, tensor<ui8>, tensor<i8>) -> tensor<24x128xf32>
  return %y : tensor<24x128xf32>
}
