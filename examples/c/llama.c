/*===- llama.c - Call the bundled Llama-style decoder from C --------------===*
 *
 * The bundled model (test/models/llama), compiled by attnc into a static
 * library with its header:
 *
 *   attnc test/models/llama/model.onnx --emit=static-lib -o libllama.a \
 *       --function-name=llama
 *   cc -I<dir of libllama.h> -I<dir of HalideRuntime.h> examples/c/llama.c \
 *       libllama.a -lpthread -ldl -lm -o llama
 *   ./llama CASE_DIR          # e.g. test/models/llama/b1_s7
 *
 * reads CASE_DIR/inputs/{input_ids,attention_mask}.npy, asks
 * llama_output_shapes for the shape of the output, runs llama, and compares
 * the result with CASE_DIR/outputs/last_hidden_state.npy (what PyTorch
 * computed at export): it prints the largest difference relative to the
 * largest reference value and fails above 1e-4. Nothing but the C library,
 * the archive and HalideRuntime.h (for struct halide_buffer_t) is needed.
 *
 *===--------------------------------------------------------------------===*/

#include "HalideRuntime.h"
#include "libllama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A dense tensor read from a little-endian, C-ordered .npy file. */
typedef struct {
  char descr[8];
  int rank;
  int64_t shape[8];
  int64_t count;
  void *data;
} Array;

static int readNpy(const char *path, Array *a) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "llama: cannot open %s\n", path);
    return 0;
  }
  unsigned char magic[10];
  char header[1024];
  int ok = fread(magic, 1, 10, f) == 10 && memcmp(magic, "\x93NUMPY", 6) == 0;
  unsigned length = ok ? (unsigned)(magic[8] | magic[9] << 8) : 0;
  ok = ok && magic[6] == 1 && length < sizeof(header) &&
       fread(header, 1, length, f) == length;
  header[ok ? length : 0] = 0;
  const char *descr = strstr(header, "'descr': '");
  const char *shape = strstr(header, "'shape': (");
  ok = ok && descr && shape && strstr(header, "'fortran_order': False");
  memset(a, 0, sizeof(*a));
  if (ok) {
    sscanf(descr + 10, "%7[^']", a->descr);
    a->count = 1;
    for (const char *p = shape + 10; *p && *p != ')' && a->rank < 8;) {
      char *end;
      long long extent = strtoll(p, &end, 10);
      if (end == p)
        break;
      a->shape[a->rank++] = extent;
      a->count *= extent;
      p = end;
      while (*p == ',' || *p == ' ')
        ++p;
    }
    size_t size = (size_t)a->count * (size_t)atoi(a->descr + 2);
    a->data = malloc(size ? size : 1);
    ok = a->data && fread(a->data, 1, size, f) == size;
  }
  fclose(f);
  if (!ok)
    fprintf(stderr, "llama: %s is not a C-ordered .npy file\n", path);
  return ok;
}

/* A halide_buffer_t over a dense tensor: dim[k] is axis rank-1-k. */
static void describe(halide_buffer_t *b, halide_dimension_t *d, void *data,
                     halide_type_code_t code, int bits, int rank,
                     const int64_t *shape) {
  memset(b, 0, sizeof(*b));
  b->host = (uint8_t *)data;
  b->type.code = code;
  b->type.bits = (uint8_t)bits;
  b->type.lanes = 1;
  b->dimensions = rank;
  b->dim = d;
  int32_t stride = 1;
  for (int k = 0; k < rank; ++k) {
    d[k].min = 0;
    d[k].extent = (int32_t)shape[rank - 1 - k];
    d[k].stride = stride;
    d[k].flags = 0;
    stride *= d[k].extent;
  }
}

static void printError(void *userContext, const char *message) {
  (void)userContext;
  fprintf(stderr, "llama: %s\n", message);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: llama CASE_DIR\n");
    return 2;
  }
  /* Errors come back as return codes instead of aborting. */
  halide_set_error_handler(printError);
  char path[4096];
  Array ids, mask, ref;
  snprintf(path, sizeof(path), "%s/inputs/input_ids.npy", argv[1]);
  if (!readNpy(path, &ids))
    return 1;
  snprintf(path, sizeof(path), "%s/inputs/attention_mask.npy", argv[1]);
  if (!readNpy(path, &mask))
    return 1;
  snprintf(path, sizeof(path), "%s/outputs/last_hidden_state.npy", argv[1]);
  if (!readNpy(path, &ref))
    return 1;

  halide_buffer_t idsBuf, maskBuf, shapesBuf, outBuf;
  halide_dimension_t idsDims[2], maskDims[2], shapesDim[1], outDims[3];
  describe(&idsBuf, idsDims, ids.data, halide_type_int, 64, ids.rank,
           ids.shape);
  describe(&maskBuf, maskDims, mask.data, halide_type_int, 64, mask.rank,
           mask.shape);

  /* The output's shape, [batch, sequence, 64], for these inputs. */
  int64_t outShape[3], three = 3;
  describe(&shapesBuf, shapesDim, outShape, halide_type_int, 64, 1, &three);
  int status = llama_output_shapes(&idsBuf, &maskBuf, &shapesBuf);
  if (status != 0) {
    fprintf(stderr, "llama: llama_output_shapes returned %d\n", status);
    return 1;
  }
  int64_t count = outShape[0] * outShape[1] * outShape[2];
  float *out = malloc((size_t)count * sizeof(float));
  describe(&outBuf, outDims, out, halide_type_float, 32, 3, outShape);
  status = llama(&idsBuf, &maskBuf, &outBuf);
  if (status != 0) {
    fprintf(stderr, "llama: llama returned %d\n", status);
    return 1;
  }

  double worst = 0, largest = 0;
  const float *expected = (const float *)ref.data;
  if (ref.count != count) {
    fprintf(stderr, "llama: %lld outputs, the reference has %lld\n",
            (long long)count, (long long)ref.count);
    return 1;
  }
  for (int64_t i = 0; i < count; ++i) {
    double d = fabs((double)out[i] - expected[i]);
    worst = d > worst ? d : worst;
    largest = fabs(expected[i]) > largest ? fabs(expected[i]) : largest;
  }
  double relative = worst / largest;
  printf("last_hidden_state [%lld, %lld, %lld]: max difference %.1e of "
         "max|reference| (tolerance 1e-4): %s\n",
         (long long)outShape[0], (long long)outShape[1],
         (long long)outShape[2], relative, relative <= 1e-4 ? "PASS" : "FAIL");
  return relative <= 1e-4 ? 0 : 1;
}
