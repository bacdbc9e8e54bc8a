// RUN: attnc-opt %s -attn-pack-weights | FileCheck %s
// RUN: attnc-opt %s -attn-pack-weights=weights-param=true | FileCheck %s --check-prefix=PARAM
// RUN: attnc-opt %s -attn-pack-weights=release-sources=true | FileCheck %s --check-prefix=RELEASE

// A constant right operand of a product scheduled in panels is re-laid out
// panel by panel ([panel][k][column], zeros past the last column) and read
// through attn.from_panels, computed inside the product.
// CHECK-LABEL: func.func @panels
// CHECK: %[[P:.*]] = attn.constant dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00], [1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01]], {{\[}}[5.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.500000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00]]]> : tensor<2x3x4xf32>
// CHECK: %[[W:.*]] = attn.from_panels %[[P]] {schedule = #attn.schedule<inlined = true>} : tensor<2x3x4xf32> -> tensor<3x5xf32>
// CHECK: attn.linear %{{.*}}, %[[W]] {schedule = #attn.schedule<kind = panels
// A second product of the same panels reads the same ones.
// CHECK: attn.linear %{{.*}}, %[[W]] {schedule = #attn.schedule<kind = panels
// CHECK-NOT: attn.constant
// CHECK: return
func.func @panels(%x: tensor<4x3xf32>) -> (tensor<4x5xf32>, tensor<4x5xf32>) {
  %w = attn.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0], [11.0, 12.0, 13.0, 14.0, 15.0]]> : tensor<3x5xf32>
  %0 = attn.linear %x, %w {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 4, 4], parallel = true>} : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %1 = attn.linear %x, %w {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 4, 2], parallel = true>} : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %0, %1 : tensor<4x5xf32>, tensor<4x5xf32>
}

// 8-bit products: [panel][k / 4][column][k % 4] (zeros past the last k and
// column), u8 weights stored less 128, then one quad row per panel holding
// each column's sum of the stored values as a little-endian i32: column 0
// stores 1 - 128, 2 - 128, 3 - 128 (sum -378 = 0xFFFFFE86), column 1 stores
// 4 - 128, 5 - 128, 6 - 128 (sum -369 = 0xFFFFFE8F).
// CHECK-LABEL: func.func @quads
// CHECK: %[[P:.*]] = attn.constant dense<{{\[}}{{\[}}{{\[}}[-127, -126, -125, 0], [-124, -123, -122, 0]], {{\[}}[-122, -2, -1, -1], [-113, -2, -1, -1]]]]> : tensor<1x2x2x4xi8>
// CHECK: attn.from_panels %[[P]] {{.*}} : tensor<1x2x2x4xi8> -> tensor<3x2xui8>
func.func @quads(%x: tensor<4x3xui8>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<4x2xf32> {
  %w = attn.constant dense<[[1, 4], [2, 5], [3, 6]]> : tensor<3x2xui8>
  %wz = attn.constant dense<128> : tensor<ui8>
  %0 = attn.linear %x, %w quantized %s, %z, %wz {schedule = #attn.schedule<kind = panels, vector_width = 2, tiles = [4, 2, 4], parallel = true>} : (tensor<4x3xui8>, tensor<3x2xui8>, tensor<f32>, tensor<ui8>, tensor<ui8>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// bfloat16 products: [panel][k / 2][column][k % 2], rounded to bfloat16
// (1.00390625 is a tie and rounds to even, 1.0), zeros past the last k.
// CHECK-LABEL: func.func @pairs
// CHECK: %[[P:.*]] = attn.constant dense<{{\[}}{{\[}}{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]], {{\[}}[5.000000e+00, 0.000000e+00], [1.000000e+00, 0.000000e+00]]]]> : tensor<1x2x2x2xbf16>
// CHECK: attn.from_panels %[[P]] {{.*}} : tensor<1x2x2x2xbf16> -> tensor<3x2xf32>
func.func @pairs(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = attn.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 1.00390625]]> : tensor<3x2xf32>
  %0 = attn.linear %x, %w {schedule = #attn.schedule<kind = panels, vector_width = 2, tiles = [4, 2, 4], parallel = true, bf16 = true>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// Not packed: a generic product, and an operand that is no constant. With
// weights-param, a constant of more than 64 elements is an input filled in
// at run time in its own layout: not packed either.
// CHECK-LABEL: func.func @unpacked
// CHECK: %[[W:.*]] = attn.constant dense<5.000000e-01> : tensor<16x8xf32>
// CHECK: %[[F:.*]] = attn.from_panels {{.*}} : tensor<1x16x8xf32> -> tensor<16x8xf32>
// CHECK: attn.matmul %{{.*}}, %[[W]] {schedule = #attn.schedule<vector_width = 4, parallel = true>}
// CHECK: attn.matmul %arg0, %arg1 {schedule = #attn.schedule<kind = panels
// CHECK: attn.matmul %arg0, %[[F]] {schedule = #attn.schedule<kind = panels
// PARAM-LABEL: func.func @unpacked
// PARAM-NOT: attn.from_panels
// PARAM: return
func.func @unpacked(%x: tensor<4x16xf32>, %y: tensor<16x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %w = attn.constant dense<0.5> : tensor<16x8xf32>
  %0 = attn.matmul %x, %w {schedule = #attn.schedule<vector_width = 4, parallel = true>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = attn.matmul %x, %y {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 8, 4], parallel = true>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %2 = attn.matmul %x, %w {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 8, 4], parallel = true>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// release-sources frees a replaced weight only when no other constant of
// the module holds its data: @shared_b still returns shared_w, whose bytes
// are printed intact; the panels of @shared_a are made from them.
// RELEASE-LABEL: func.func @shared_a
// RELEASE: attn.constant dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00], [1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01]], {{\[}}[5.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.500000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00]]]> : tensor<2x3x4xf32>
// RELEASE-LABEL: func.func @shared_b
// RELEASE: attn.constant dense_resource<shared_w> : tensor<3x5xf32>
// RELEASE: shared_w: "0x040000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041"
func.func @shared_a(%x: tensor<4x3xf32>) -> tensor<4x5xf32> {
  %w = attn.constant dense_resource<shared_w> : tensor<3x5xf32>
  %0 = attn.linear %x, %w {schedule = #attn.schedule<kind = panels, vector_width = 4, tiles = [4, 4, 4], parallel = true>} : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}
func.func @shared_b() -> tensor<3x5xf32> {
  %w = attn.constant dense_resource<shared_w> : tensor<3x5xf32>
  return %w : tensor<3x5xf32>
}
{-#
  dialect_resources: {
    builtin: {
      shared_w: "0x040000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041"
    }
  }
#-}
