#!/usr/bin/env bash
#===- setup_onnx_venv.sh - a venv with a pinned onnx from PyPI ------------===#
#
# Usage: setup_onnx_venv.sh VENV_DIR
#
# Creates (or updates) a Python virtual environment at VENV_DIR holding the
# pinned onnx and numpy that materialize_onnx_node_tests.py runs under. Does
# nothing when VENV_DIR already has exactly these versions. The interpreter is
# $PYTHON, or python3 (Debian's python3-venv provides the venv module).
# Exits non-zero when the venv cannot be made or pip cannot install the pins
# (for example without access to PyPI).
#
#===------------------------------------------------------------------------===#
set -euo pipefail

ONNX_VERSION=1.23.2
NUMPY_VERSION=2.4.6

if [ $# -ne 1 ]; then
  echo "usage: $0 VENV_DIR" >&2
  exit 2
fi
venv=$1
python=${PYTHON:-python3}

have_pins() {
  "$venv/bin/python" - "$ONNX_VERSION" "$NUMPY_VERSION" 2>/dev/null <<'PY'
import sys
import numpy
import onnx
sys.exit(0 if (onnx.__version__, numpy.__version__) == tuple(sys.argv[1:3]) else 1)
PY
}

if [ -x "$venv/bin/python" ] && have_pins; then
  echo "setup_onnx_venv: $venv has onnx $ONNX_VERSION and numpy $NUMPY_VERSION"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup_onnx_venv: creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "setup_onnx_venv: installing onnx==$ONNX_VERSION numpy==$NUMPY_VERSION"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
  --quiet --timeout 60 --retries 2 \
  "onnx==$ONNX_VERSION" "numpy==$NUMPY_VERSION"
have_pins
echo "setup_onnx_venv: $venv has onnx $ONNX_VERSION and numpy $NUMPY_VERSION"
