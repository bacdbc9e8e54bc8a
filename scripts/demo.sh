#!/usr/bin/env bash
#===- demo.sh - Compile a bundled Transformer and run it --------------------===#
#
# Builds attnc if needed, then:
# 1. prints the fusion report of the bundled Llama-style decoder
#    (test/models/llama: grouped-query attention, RMSNorm, rotary
#    embedding, causal and padding masks, dynamic batch and sequence);
# 2. compiles it for this machine and runs it on every case of its
#    manifest (lengths other than the exported one included), comparing
#    with the exporter's reference outputs;
# 3. compiles the bundled attention model (examples/attention) and times
#    it against a float64 numpy reference.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${ATTNC_BUILD_DIR:-build}"
bash scripts/build.sh
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== test/models/llama: what fused"
"$BUILD_DIR/bin/attnc" test/models/llama/model.onnx --report=fusion

echo "== test/models/llama: compile for this CPU, run every case"
/usr/bin/python3 test/models/check_model.py "$BUILD_DIR/bin" test/models/llama \
  --workdir "$WORK/llama" | grep -E '^(case|model|result)'

echo "== examples/attention: compile, check, time"
/usr/bin/python3 test/e2e/sdpa_e2e.py --tools "$BUILD_DIR/bin" --workdir "$WORK/attention" \
  --model examples/attention/attention.onnxtext \
  --b 1 --h 8 --nq 512 --nk 512 --d 64 --mask --benchmark 50
