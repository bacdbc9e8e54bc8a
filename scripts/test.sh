#!/usr/bin/env bash
#===- test.sh - Build attnc and run every test ------------------------------===#
#
# Builds (scripts/build.sh) and runs CTest, the single entry point: the lit
# suites (dialect, import, passes, target, driver, end to end on the host,
# AVX2, ARM64 under qemu and CUDA PTX through ptxas) and the GoogleTest
# numerics.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${ATTNC_BUILD_DIR:-build}"
bash scripts/build.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure
