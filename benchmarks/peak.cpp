//===- peak.cpp - This machine's fp32 FMA, bf16 and int8 dot peaks -------===//
//
// Runs independent chains of fused multiply-adds on 64-byte float vectors
// (one AVX-512 register; two AVX2 registers elsewhere) on N threads and
// prints the best GFLOP/s of several rounds. 24 accumulators per thread
// keep both FMA pipes busy (the latency × throughput product is 8 on
// current x86 cores). Built with -O2 -march=native by benchmarks/run.py.
//
// With `bf16` it runs chains of AVX512-BF16 dot products (vdpbf16ps: 16
// float lanes, each adding two bf16 products) instead, counting 4 flops per
// lane, and prints 0 where the compiler or the CPU lacks them. With `int8`,
// chains of AVX512-VNNI byte dot products (vpdpbusd: 16 i32 lanes, each
// adding four u8 × i8 products), 8 operations per lane, in GOP/s.
//
//   peak THREADS [SECONDS] [fp32|bf16|int8]
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

typedef float Vec __attribute__((vector_size(64)));

namespace {

constexpr int kChains = 24;
// Chains of byte dot products: GCC keeps more than about a dozen of them in
// memory, not in registers; twelve cover the latency × throughput product
// of current cores.
constexpr int kByteChains = 12;
constexpr int kLanes = 16;

/// Runs `iterations` rounds of kChains FMAs; returns a value that depends
/// on every chain so that none is optimized away.
float fmaChains(long iterations) {
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kLanes; ++l)
      acc[c][l] = 1.0f + 1e-3f * c;
  Vec a, b;
  for (int l = 0; l < kLanes; ++l) {
    a[l] = 0.999999f;
    b[l] = 1e-7f;
  }
  for (long it = 0; it < iterations; ++it) {
    // Keep `a` and `b` opaque so that the loop is not folded.
    asm volatile("" : "+x"(a), "+x"(b));
#pragma GCC unroll 24
    for (int c = 0; c < kChains; ++c)
      acc[c] = acc[c] * a + b;
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < kLanes; ++l)
      sum += acc[c][l];
  return sum;
}

#ifdef __AVX512BF16__
#include <immintrin.h>

/// The bf16 counterpart of fmaChains: kChains vdpbf16ps chains.
float dotChains(long iterations) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c)
    acc[c] = _mm512_set1_ps(1.0f + 1e-3f * c);
  __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80); // 1.0
  __m512bh b = (__m512bh)_mm512_set1_epi16(0x3380); // about 6e-8
  for (long it = 0; it < iterations; ++it) {
    asm volatile("" : "+v"(a), "+v"(b));
#pragma GCC unroll 24
    for (int c = 0; c < kChains; ++c)
      acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    sum += _mm512_reduce_add_ps(acc[c]);
  return sum;
}
constexpr bool kHasBf16 = true;
#else
float dotChains(long) { return 0; }
constexpr bool kHasBf16 = false;
#endif

#ifdef __AVX512VNNI__
#include <immintrin.h>

/// The int8 counterpart of fmaChains: kByteChains vpdpbusd chains.
typedef int IVec __attribute__((vector_size(64)));
float byteDotChains(long iterations) {
  IVec acc[kByteChains];
  for (int c = 0; c < kByteChains; ++c)
    for (int l = 0; l < kLanes; ++l)
      acc[c][l] = c;
  // Operands read through volatile memory once: the loop cannot be folded.
  static volatile int ones = 0x01010101, minusOnes = -1;
  IVec a, b;
  for (int l = 0; l < kLanes; ++l) {
    a[l] = ones;
    b[l] = minusOnes;
  }
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int c = 0; c < kByteChains; ++c)
      acc[c] =
          (IVec)_mm512_dpbusd_epi32((__m512i)acc[c], (__m512i)a, (__m512i)b);
  }
  long sum = 0;
  for (int c = 0; c < kByteChains; ++c)
    for (int l = 0; l < kLanes; ++l)
      sum += acc[c][l];
  return static_cast<float>(sum);
}
constexpr bool kHasVnni = true;
#else
float byteDotChains(long) { return 0; }
constexpr bool kHasVnni = false;
#endif

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  double seconds = argc > 2 ? std::atof(argv[2]) : 0.5;
  bool bf16 = argc > 3 && std::strcmp(argv[3], "bf16") == 0;
  bool int8 = argc > 3 && std::strcmp(argv[3], "int8") == 0;
  if ((bf16 && !kHasBf16) || (int8 && !kHasVnni)) {
    std::printf("0\n");
    return 0;
  }
  float (*chains)(long) = bf16 ? dotChains : int8 ? byteDotChains : fmaChains;
  // Operations of one chain step per lane: a fused multiply-add, two, or
  // four multiply-adds of bytes.
  double flopsPerLane = bf16 ? 4.0 : int8 ? 8.0 : 2.0;
  if (threads < 1) {
    std::fprintf(stderr, "peak: expected a positive number of threads\n");
    return 1;
  }
  // Calibrate the iteration count to about `seconds` per round.
  long iterations = 1 << 20;
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    volatile float sink = chains(iterations);
    (void)sink;
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (s > seconds / 4)
      break;
    iterations *= 2;
  }
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    std::vector<std::thread> pool;
    std::vector<float> sinks(threads);
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sinks[t] = chains(iterations); });
    for (auto &t : pool)
      t.join();
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double flops = flopsPerLane * (int8 ? kByteChains : kChains) * kLanes *
                   double(iterations) * threads;
    if (flops / s / 1e9 > best)
      best = flops / s / 1e9;
  }
  std::printf("%.1f\n", best);
  return 0;
}
