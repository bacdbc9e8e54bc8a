#!/usr/bin/env bash
#===- setup.sh - The benchmark suite's own environment ---------------------===#
#
# Creates benchmarks/.venv with the pinned packages the suite needs (ONNX
# Runtime as the peer, onnx to write the cases, numpy, matplotlib for the
# chart). Not part of the test setup. attnc itself is built by
# scripts/build.sh.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check \
  onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6 matplotlib==3.11.2
.venv/bin/python -c "import onnxruntime, onnx, matplotlib; print('onnxruntime', onnxruntime.__version__)"
