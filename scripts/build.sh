#!/usr/bin/env bash
#===- build.sh - Configure and build attnc ----------------------------------===#
#
# Installs the packages attnc needs (scripts/setup.sh), then configures and
# builds with Ninja into ${ATTNC_BUILD_DIR:-build}.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${ATTNC_BUILD_DIR:-build}"
bash scripts/setup.sh
cmake -G Ninja -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DATTNC_BUILD_TESTS=ON .
cmake --build "$BUILD_DIR" -j "$(nproc)"
