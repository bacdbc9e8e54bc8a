// The emitter computes the form the schedule names and takes no decision of
// its own. Panels that a right operand known only at run time cannot fill
// are an error, not a quiet fall back to another form.
// RUN: attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 %s | FileCheck %s --check-prefix=FILLED
// FILLED: halide_do_par_for
// RUN: sed -e 's/tensor<32x64xf32> {attn.name = "w"}/tensor<32x40xf32> {attn.name = "w"}/' -e 's/tensor<8x64xf32>/tensor<8x40xf32>/g' -e 's/(tensor<8x32xf32>, tensor<32x64xf32>)/(tensor<8x32xf32>, tensor<32x40xf32>)/' %s | not attnc-translate --emit-halide-stmt --target=x86-64-linux-avx512 2>&1 | FileCheck %s --check-prefix=PANELS
// PANELS: error: 'attn.matmul' op has a schedule of kind panels, but its right operand is not known at compile time and its 40 columns do not fill panels of 16

func.func @product(%a: tensor<8x32xf32> {attn.name = "a"},
                   %w: tensor<32x64xf32> {attn.name = "w"})
    -> (tensor<8x64xf32> {attn.name = "y"}) {
  %0 = attn.matmul %a, %w {schedule = #attn.schedule<kind = panels, vector_width = 16, tiles = [8, 16, 8], parallel = true>} : (tensor<8x32xf32>, tensor<32x64xf32>) -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}
