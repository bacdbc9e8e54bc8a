#!/usr/bin/env python3
"""Round-trips the IR of every model fixture through attnc-opt.

  roundtrip_models.py TOOLS MODELS_DIR

For every MODELS_DIR/*/model.onnx: the imported module (custom and generic
form) and the module after attnc's pipeline must parse back. Prints one line
per failure and `PASS N models` or `FAIL`.
"""

import glob
import json
import os
import subprocess
import sys


def pipe(tools, first, second):
    """Runs `first | second`; returns (ok, stderr of the failing one)."""
    a = subprocess.run([os.path.join(tools, first[0])] + first[1:],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if a.returncode != 0:
        return False, a.stderr.decode(errors="replace")
    b = subprocess.run([os.path.join(tools, second[0])] + second[1:],
                       input=a.stdout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    return b.returncode == 0, b.stderr.decode(errors="replace")


def main():
    tools, models = sys.argv[1], sys.argv[2]
    # Fixtures whose weights come from a package at test time (external data
    # not in the tree) have their own test (real_weights.sh).
    paths = [p for p in sorted(glob.glob(os.path.join(models, "*",
                                                      "model.onnx")))
             if "package" not in json.load(open(os.path.join(
                 os.path.dirname(p), "model.json")))]
    failed = 0
    for path in paths:
        name = os.path.basename(os.path.dirname(path))
        for what, first, second in [
                ("imported", ["attnc-translate", "--import-onnx", path],
                 ["attnc-opt"]),
                ("imported, generic", ["attnc-translate", "--import-onnx", path],
                 ["attnc-opt", "--mlir-print-op-generic", "-o", "-"]),
                ("after the pipeline",
                 ["attnc", path, "--emit=mlir", "-o", "-", "--quiet"],
                 ["attnc-opt"])]:
            ok, err = pipe(tools, first, second)
            if not ok:
                failed += 1
                print("%s (%s): %s" % (name, what, err.strip().splitlines()[:2]))
    print("FAIL" if failed or not paths else "PASS %d models" % len(paths))
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
