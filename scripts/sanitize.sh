#!/usr/bin/env bash
#===- sanitize.sh - Build attnc with ASan and UBSan and run its tests -----===#
#
# Builds attnc's own code with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DATTNC_SANITIZE="address;undefined", RelWithDebInfo) into
# ${ATTNC_SANITIZE_BUILD_DIR:-build-asan} and runs the CTest suite there:
# every lit test, the GoogleTest numerics, the conformance suites and the
# Python tests. The sanitizer runtime is preloaded into every process so that
# Python can load the instrumented extension. Not run: `wheel` (it builds a
# wheel of its own, uninstrumented) and `clang` (a syntax check). MLIR, LLVM,
# Halide and protobuf are not instrumented; leak checking is off (LLVM's and
# Halide's global state lives until exit). Any report aborts the test that
# triggered it. Extra arguments go to ctest (e.g. -R lit).
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${ATTNC_SANITIZE_BUILD_DIR:-build-asan}"
bash scripts/setup.sh
cmake -G Ninja -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DATTNC_BUILD_TESTS=ON -DATTNC_SANITIZE="address;undefined" .
cmake --build "$BUILD_DIR" -j "$(nproc)"
# libstdc++ with it: Python is no C++ program, and ASan's __cxa_throw
# interceptor needs the real one loaded when it starts.
export LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libstdc++.so)"
# allow_user_poisoning=0: LLVM's BumpPtrAllocator, a header template,
# poisons the unused part of its slabs where attnc's instrumented code
# instantiates it, while the uninstrumented libMLIR.so allocates from the
# same slabs without unpoisoning them (false use-after-poison reports).
# detect_odr_violation=0: the static attnc libraries are linked into the
# tools and the Python extension alike.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:detect_odr_violation=0:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$BUILD_DIR" --output-on-failure -E '^(wheel|clang)$' "$@"
