/*===- abi_strides.c - Entry points reject buffers that are not dense ---===*
 *
 * Calls small_sdpa (q, k, v, out: float [1, 2, 8, 16]) once with dense
 * buffers and once with a q whose rows are 32 floats apart instead of 16
 * (docs/abi.md: dense row-major strides). The first call must return 0,
 * the second a negative error code without touching the output (an error
 * handler of the program's own reports the message; the runtime's default
 * one aborts).
 *
 *===--------------------------------------------------------------------===*/

#include "HalideRuntime.h"

#include <stdio.h>
#include <string.h>

int small_sdpa(struct halide_buffer_t *q, struct halide_buffer_t *k,
               struct halide_buffer_t *v, struct halide_buffer_t *out);

static float data[4][2 * 1 * 2 * 8 * 16];
static halide_dimension_t dims[4][4];

static void describe(halide_buffer_t *b, int index, int rowStride) {
  static const int extents[4] = {16, 8, 2, 1};
  memset(b, 0, sizeof(*b));
  b->host = (uint8_t *)data[index];
  b->type.code = halide_type_float;
  b->type.bits = 32;
  b->type.lanes = 1;
  b->dimensions = 4;
  b->dim = dims[index];
  int stride = 1;
  for (int d = 0; d < 4; ++d) {
    dims[index][d].min = 0;
    dims[index][d].extent = extents[d];
    dims[index][d].stride = d == 1 ? rowStride : stride;
    stride = d == 0 ? rowStride : stride * extents[d];
  }
}

/* The runtime's default handler aborts; this one reports and lets the
   entry point return its error code. */
static void reportError(void *userContext, const char *message) {
  (void)userContext;
  fprintf(stderr, "%s", message);
}

int main(void) {
  halide_set_error_handler(reportError);
  halide_buffer_t b[4];
  for (int i = 0; i < 3; ++i)
    for (size_t j = 0; j < sizeof(data[i]) / sizeof(float); ++j)
      data[i][j] = (float)((j * 7 + i) % 13) / 13.0f;
  for (int i = 0; i < 4; ++i)
    describe(&b[i], i, 16);
  int dense = small_sdpa(&b[0], &b[1], &b[2], &b[3]);
  for (size_t j = 0; j < sizeof(data[3]) / sizeof(float); ++j)
    data[3][j] = -1.0f;
  describe(&b[0], 0, 32);
  int strided = small_sdpa(&b[0], &b[1], &b[2], &b[3]);
  int untouched = data[3][0] == -1.0f;
  printf("dense: %d, strided: %s, output untouched: %s\n", dense,
         strided < 0 ? "error" : "accepted", untouched ? "yes" : "no");
  return dense == 0 && strided < 0 && untouched ? 0 : 1;
}
