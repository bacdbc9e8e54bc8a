/*===- multitarget.c - Force each variant of a multi-target library -----===*
 *
 * small_sdpa compiled for x86-64-linux-avx512,x86-64-linux-avx2,x86-64-linux
 * is one archive whose small_sdpa asks the runtime, on its first call,
 * halide_can_use_target_features for the AVX-512 variant and for the AVX2
 * one (the baseline needs no question) and runs the first that can run.
 * This program defines that function itself (the runtime's is weak) and
 * answers yes only to question FORCE + 1 (argv[1]; 2 = every answer no, the
 * baseline), so that each run executes one chosen variant. It prints the
 * answers and the largest difference from a float64 reference.
 *
 *===--------------------------------------------------------------------===*/

#include "HalideRuntime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int small_sdpa(struct halide_buffer_t *q, struct halide_buffer_t *k,
               struct halide_buffer_t *v, struct halide_buffer_t *out);

enum { B = 1, H = 2, N = 8, D = 16, kElems = B * H * N * D };

static int force, questions;

int halide_can_use_target_features(int count, const uint64_t *features) {
  (void)count;
  (void)features;
  int answer = questions == force;
  printf("question %d: %s\n", ++questions, answer ? "yes" : "no");
  return answer;
}

static float data[4][kElems];
static halide_dimension_t dims[4][4];

static void describe(halide_buffer_t *b, int i) {
  static const int extents[4] = {D, N, H, B};
  memset(b, 0, sizeof(*b));
  b->host = (uint8_t *)data[i];
  b->type.code = halide_type_float;
  b->type.bits = 32;
  b->type.lanes = 1;
  b->dimensions = 4;
  b->dim = dims[i];
  int stride = 1;
  for (int d = 0; d < 4; ++d) {
    dims[i][d].min = 0;
    dims[i][d].extent = extents[d];
    dims[i][d].stride = stride;
    stride *= extents[d];
  }
}

int main(int argc, char **argv) {
  force = argc > 1 ? atoi(argv[1]) : 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < kElems; ++j)
      data[i][j] = (float)sin(0.37 * j + i);
  halide_buffer_t b[4];
  for (int i = 0; i < 4; ++i)
    describe(&b[i], i);
  int status = small_sdpa(&b[0], &b[1], &b[2], &b[3]);
  /* softmax(q kᵀ / 4) v per head, in double. */
  double worst = 0;
  for (int h = 0; h < H; ++h)
    for (int r = 0; r < N; ++r) {
      double s[N], m = -1e300, sum = 0;
      for (int c = 0; c < N; ++c) {
        s[c] = 0;
        for (int d = 0; d < D; ++d)
          s[c] += (double)data[0][(h * N + r) * D + d] *
                  data[1][(h * N + c) * D + d];
        s[c] /= 4.0;
        m = s[c] > m ? s[c] : m;
      }
      for (int c = 0; c < N; ++c)
        sum += s[c] = exp(s[c] - m);
      for (int d = 0; d < D; ++d) {
        double o = 0;
        for (int c = 0; c < N; ++c)
          o += s[c] / sum * data[2][(h * N + c) * D + d];
        double e = fabs(o - data[3][(h * N + r) * D + d]);
        worst = e > worst ? e : worst;
      }
    }
  printf("status %d, max error %.1e (tolerance 1e-5): %s\n", status, worst,
         status == 0 && worst <= 1e-5 ? "PASS" : "FAIL");
  return status == 0 && worst <= 1e-5 ? 0 : 1;
}
