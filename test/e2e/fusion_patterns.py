#!/usr/bin/env python3
"""Compiles attention written the ways exporters write it, checks that
attnc fused each into attn.sdpa (the IR after the pipeline), runs it with
attnc-run and compares with float64 numpy.

  fusion_patterns.py --tools DIR --workdir DIR

Pass: every case fused as stated, and max |out - ref| <= 1e-5 x
max(1, max |ref|). Prints one line per case and `PASS` at the end.
"""

import os
import subprocess
import sys

import numpy as np

from contrib_ops import run_all


def softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def case_trilu_causal_padding(rng):
    """Scale split over Q and K, a causal mask from Trilu plus a boolean
    padding mask through where(-inf), the NaN guard after the softmax."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4,S,8] q, float[2,4,S,8] k, float[2,4,S,8] v, bool[2,1,1,S] pad)
  => (float[2,4,S,8] y)
<float c = {0.59460355}, float low = {-3.4e38}, float zero = {0.0}>
{
  qs = Mul (q, c)
  kt = Transpose <perm = [0, 1, 3, 2]> (k)
  ks = Mul (kt, c)
  s = MatMul (qs, ks)
  n = Shape <start = 2, end = 3> (q)
  shape = Concat <axis = 0> (n, n)
  ones = ConstantOfShape <value = bool[1] {1}> (shape)
  keep = Trilu <upper = 0> (ones)
  both = And (keep, pad)
  w = Where (both, s, low)
  p = Softmax <axis = -1> (w)
  bad = IsNaN (p)
  g = Where (bad, zero, p)
  y = MatMul (g, v)
}"""
    n = 7
    q, k, v = (rng.standard_normal((2, 4, n, 8)).astype(np.float32)
               for _ in range(3))
    pad = np.ones((2, 1, 1, n), bool)
    pad[1, ..., 5:] = False
    s = (q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2))
    s *= 0.59460355 ** 2
    keep = np.tril(np.ones((n, n), bool)) & pad
    p = softmax(np.where(keep, s, -np.inf))
    ref = p @ v.astype(np.float64)
    return text, {"q": q, "k": k, "v": v, "pad": pad}, {"y": ref}


def case_repeat_kv(rng):
    """Grouped-query attention with K and V heads repeated as transformers'
    repeat_kv writes it (Unsqueeze, Expand, Reshape), an additive mask."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1,8,S,4] q, float[1,2,S,4] k, float[1,2,S,4] v, float[1,1,S,S] m)
  => (float[1,8,S,4] y)
<int64[1] two = {2}, int64[5] shape = {1, 2, 4, -1, 4}, int64[4] merged = {1, 8, -1, 4}, float d = {2.0}>
{
  k1 = Unsqueeze (k, two)
  n = Shape <start = 2, end = 3> (k)
  fill = Constant <value = int64[3] {1, 2, 4}> ()
  tail = Constant <value = int64[1] {4}> ()
  target = Concat <axis = 0> (fill, n, tail)
  k2 = Expand (k1, target)
  k3 = Reshape (k2, merged)
  v1 = Unsqueeze (v, two)
  v2 = Expand (v1, target)
  v3 = Reshape (v2, merged)
  kt = Transpose <perm = [0, 1, 3, 2]> (k3)
  s = MatMul (q, kt)
  sd = Div (s, d)
  a = Add (sd, m)
  p = Softmax <axis = -1> (a)
  y = MatMul (p, v3)
}"""
    n = 9
    q = rng.standard_normal((1, 8, n, 4)).astype(np.float32)
    k = rng.standard_normal((1, 2, n, 4)).astype(np.float32)
    v = rng.standard_normal((1, 2, n, 4)).astype(np.float32)
    m = (rng.standard_normal((1, 1, n, n)) * 2).astype(np.float32)
    kk = np.repeat(k.astype(np.float64), 4, axis=1)
    vv = np.repeat(v.astype(np.float64), 4, axis=1)
    p = softmax(q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / 2.0 + m)
    return text, {"q": q, "k": k, "v": v, "m": m}, {"y": p @ vv}


def case_bmm_sequence_first(rng):
    """Sequence-first multi-head attention as torch.nn.MultiheadAttention
    exports it: heads folded into the batch, [B·H, N, D] products (bmm), a
    constant causal mask added."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[6,5,8] q, float[6,5,8] k, float[6,5,8] v) => (float[6,5,8] y)
<float s = {0.35355339}, float[5,5] m = {0, -1e9, -1e9, -1e9, -1e9,
  0, 0, -1e9, -1e9, -1e9, 0, 0, 0, -1e9, -1e9, 0, 0, 0, 0, -1e9,
  0, 0, 0, 0, 0}>
{
  qs = Mul (q, s)
  kt = Transpose <perm = [0, 2, 1]> (k)
  a = MatMul (qs, kt)
  b = Add (a, m)
  p = Softmax <axis = -1> (b)
  y = MatMul (p, v)
}"""
    q, k, v = (rng.standard_normal((6, 5, 8)).astype(np.float32)
               for _ in range(3))
    s = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 2, 1)
    s = np.where(np.tril(np.ones((5, 5), bool)), s * 0.35355339, -np.inf)
    return text, {"q": q, "k": k, "v": v}, {"y": softmax(s) @ v}


def fused(tools, workdir, name, text, expect):
    """True when the IR after the pipeline has the expected attn.sdpa."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, name + "_ir.onnxtext")
    with open(path, "w") as f:
        f.write(text)
    ir = subprocess.run([os.path.join(tools, "attnc"), path, "--emit=mlir",
                         "-o", "-", "--quiet"], check=True,
                        stdout=subprocess.PIPE, universal_newlines=True).stdout
    line = next((l for l in ir.splitlines() if "attn.sdpa" in l), "")
    ok = "attn.softmax" not in ir and all(e in line for e in expect)
    print("%s fused: %s (expected %s): %s" % (
        name, line.strip()[:160] or "no attn.sdpa", ", ".join(expect),
        "ok" if ok else "MISMATCH"))
    return ok


EXPECTED = {
    "trilu_causal_padding": ["zero_masked_rows", "mask"],
    "repeat_kv": ["kv_group = 4", "mask"],
    "bmm_sequence_first": ["causal"],
}


def main():
    return run_all(3, lambda rng: {
        "trilu_causal_padding": case_trilu_causal_padding(rng),
        "repeat_kv": case_repeat_kv(rng),
        "bmm_sequence_first": case_bmm_sequence_first(rng),
    }, lambda name, case, args: fused(args.tools, args.workdir, name, case[0],
                                      EXPECTED[name]))


if __name__ == "__main__":
    sys.exit(main())
