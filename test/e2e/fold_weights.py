#!/usr/bin/env python3
"""Computations on weights alone are folded while compiling: a LayerNorm of
an initializer projected by a MatMul with another (as DeBERTa projects its
relative-position embeddings) becomes one constant; the model's result is
the same as when they run at every call (--no-fold-weights) and as float64
numpy.

  fold_weights.py --tools DIR --workdir DIR

Pass: the folded IR has no attn.layer_norm and one attn.linear (the
projection of the input), the unfolded one has both; max |out - ref| <=
1e-5 x max(1, max |ref|) either way. Prints one line per check and `PASS`.
"""

import os
import subprocess
import sys

import numpy as np

from contrib_ops import parse_args, run_case


def model(rng):
    rel = rng.standard_normal((16, 32)).astype(np.float32)
    w = (rng.standard_normal((32, 32)) / np.sqrt(32)).astype(np.float32)
    wx = (rng.standard_normal((32, 32)) / np.sqrt(32)).astype(np.float32)

    def values(a):
        return ", ".join("%.9g" % v for v in a.ravel())
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g (float[B,16,32] x) => (float[B,16,32] y)
<float[16,32] rel = {{{values(rel)}}}, float[32,32] w = {{{values(w)}}},
 float[32,32] wx = {{{values(wx)}}}, float[32] g = {{{values(np.ones(32))}}},
 float[32] b = {{{values(np.zeros(32))}}}>
{{
  n = LayerNormalization <axis = -1, epsilon = 1e-5> (rel, g, b)
  p = MatMul (n, w)
  h = MatMul (x, wx)
  y = Add (h, p)
}}"""
    x = rng.standard_normal((3, 16, 32)).astype(np.float32)
    r = rel.astype(np.float64)
    n = (r - r.mean(-1, keepdims=True)) / np.sqrt(r.var(-1, keepdims=True)
                                                  + 1e-5)
    ref = x.astype(np.float64) @ wx + n @ w
    return text, {"x": x}, {"y": ref}


def ir_of(tools, workdir, text, flags):
    path = os.path.join(workdir, "ir.onnxtext")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([os.path.join(tools, "attnc"), path, "--emit=mlir",
                           "-o", "-", "--quiet"] + flags, check=True,
                          stdout=subprocess.PIPE, text=True).stdout


def main():
    args = parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    text, inputs, refs = model(np.random.default_rng(5))
    ok = True
    for name, flags, norms, linears in (
            ("folded", [], 0, 1), ("unfolded", ["--no-fold-weights"], 1, 2)):
        ir = ir_of(args.tools, args.workdir, text, flags)
        got = (ir.count("attn.layer_norm "),
               ir.count("attn.linear ") + ir.count("attn.matmul "))
        good = got == (norms, linears)
        print("%s: %d layer norms, %d products (expected %d, %d): %s" % (
            name, got[0], got[1], norms, linears, "ok" if good else "MISMATCH"))
        ok &= good
        ok &= run_case(name, text, inputs, refs, args.tools, args.workdir,
                       flags)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
