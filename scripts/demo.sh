#!/usr/bin/env bash
#===- demo.sh - Compile the bundled attention model and run it --------------===#
#
# Builds attnc if needed, compiles examples/attention/attention.onnxtext for
# this machine, runs the library on random inputs, checks the result against
# a float64 numpy reference and prints the time of the compiled attention.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${ATTNC_BUILD_DIR:-build}"
bash scripts/build.sh
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 test/e2e/sdpa_e2e.py --tools "$BUILD_DIR/bin" --workdir "$WORK" \
  --model examples/attention/attention.onnxtext \
  --b 1 --h 8 --nq 512 --nk 512 --d 64 --mask --benchmark 50
