/*===- abi_errors.c - Entry points reject buffers they cannot use -------===*
 *
 * Links two models compiled by attnc as static libraries and calls their
 * entry points with buffers that are wrong in one way each (docs/abi.md):
 *
 *   small_sdpa (q, k, v, out: float [1, 2, 8, 16]): a dense call works;
 *   rows 32 floats apart instead of 16, an extent of 9 where 8 is static,
 *   int32 elements, rank 3, and a null buffer are refused;
 *   dynamic_reshape (x: float [batch, seq, 16] -> y: float [batch, 4, seq,
 *   4]): an output whose extents do not cover what the inputs imply is
 *   refused.
 *
 * Each refusal must be a negative error code, returned before the output
 * buffer's memory (and a guard region after it) is touched. An error
 * handler of the program's own prints each message; the runtime's default
 * one would abort.
 *
 *===--------------------------------------------------------------------===*/

#include "HalideRuntime.h"

#include <stdio.h>
#include <string.h>

int small_sdpa(struct halide_buffer_t *q, struct halide_buffer_t *k,
               struct halide_buffer_t *v, struct halide_buffer_t *out);
int dynamic_reshape(struct halide_buffer_t *x, struct halide_buffer_t *y);

enum { kElems = 1 * 2 * 8 * 16, kGuard = 256 };

static float inputs[3][2 * kElems];
static float output[kElems + kGuard];
static halide_dimension_t dims[4][4];
static int failures;

static void reportError(void *userContext, const char *message) {
  (void)userContext;
  fprintf(stderr, "%s\n", message);
}

/* A float buffer over `data` with the given extents (innermost first). */
static void describe(halide_buffer_t *b, halide_dimension_t *d, float *data,
                     int rank, const int *extents, int rowStride) {
  memset(b, 0, sizeof(*b));
  b->host = (uint8_t *)data;
  b->type.code = halide_type_float;
  b->type.bits = 32;
  b->type.lanes = 1;
  b->dimensions = rank;
  b->dim = d;
  int stride = 1;
  for (int k = 0; k < rank; ++k) {
    d[k].min = 0;
    d[k].extent = extents[k];
    d[k].stride = k == 1 && rowStride ? rowStride : stride;
    d[k].flags = 0;
    stride = k == 0 && rowStride ? rowStride : stride * extents[k];
  }
}

static void poison(void) {
  for (int i = 0; i < kElems + kGuard; ++i)
    output[i] = -1.0f;
}

static int untouched(void) {
  for (int i = 0; i < kElems + kGuard; ++i)
    if (output[i] != -1.0f)
      return 0;
  return 1;
}

static void expectRefused(const char *what, int status) {
  int clean = untouched();
  printf("%s: %s, output %s\n", what, status < 0 ? "error" : "accepted",
         clean ? "untouched" : "written");
  if (status >= 0 || !clean)
    ++failures;
}

int main(void) {
  static const int shape[4] = {16, 8, 2, 1};
  halide_set_error_handler(reportError);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2 * kElems; ++j)
      inputs[i][j] = (float)((j * 7 + i) % 13) / 13.0f;
  halide_buffer_t q, k, v, out;
  describe(&q, dims[0], inputs[0], 4, shape, 0);
  describe(&k, dims[1], inputs[1], 4, shape, 0);
  describe(&v, dims[2], inputs[2], 4, shape, 0);
  describe(&out, dims[3], output, 4, shape, 0);
  poison();
  int dense = small_sdpa(&q, &k, &v, &out);
  printf("dense: %d\n", dense);
  if (dense != 0 || output[kElems] != -1.0f)
    ++failures;

  poison();
  describe(&q, dims[0], inputs[0], 4, shape, 32);
  expectRefused("rows 32 apart", small_sdpa(&q, &k, &v, &out));

  static const int nine[4] = {16, 9, 2, 1};
  describe(&q, dims[0], inputs[0], 4, nine, 0);
  expectRefused("extent 9 for 8", small_sdpa(&q, &k, &v, &out));

  describe(&q, dims[0], inputs[0], 4, shape, 0);
  q.type.code = halide_type_int;
  expectRefused("int32 for float32", small_sdpa(&q, &k, &v, &out));

  describe(&q, dims[0], inputs[0], 3, shape, 0);
  expectRefused("rank 3 for 4", small_sdpa(&q, &k, &v, &out));

  describe(&q, dims[0], inputs[0], 4, shape, 0);
  expectRefused("null output", small_sdpa(&q, &k, &v, NULL));

  /* x: [batch 2, seq 8, 16] needs y: [2, 4, 8, 4]; y claims seq 6. */
  static const int xShape[3] = {16, 8, 2}, yShort[4] = {4, 6, 4, 2};
  halide_buffer_t x, y;
  describe(&x, dims[0], inputs[0], 3, xShape, 0);
  describe(&y, dims[3], output, 4, yShort, 0);
  expectRefused("output too small", dynamic_reshape(&x, &y));

  printf("%s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
