#!/usr/bin/env python3
"""Checks `attnc --attention-probs`: the attention probabilities returned
next to the outputs match a float64 numpy reference, for fused attention
(ONNX Attention-23 with grouped-query heads, a boolean mask and a causal
mask) and for attention left unfused (--no-fuse).

  attention_probs.py --tools DIR --workdir DIR

Pass: max |out - ref| <= 1e-5 x max(1, max |ref|). Prints a line per output
and `PASS`; exits 1 on a mismatch.
"""

import sys

import numpy as np

from contrib_ops import parse_args, run_case

FUSED = """<ir_version: 8, opset_import: ["" : 23]>
g (float[2,4,5,8] q, float[2,2,7,8] k, float[2,2,7,8] v, bool[2,1,5,7] mask) => (float[2,4,5,8] y)
{
  y = Attention <is_causal = 1, scale = 0.4> (q, k, v, mask)
}"""

UNFUSED = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1,2,8,16] q, float[1,2,8,16] k, float[1,2,8,16] v) => (float[1,2,8,16] y)
<float scale = {4.0}>
{
  kt = Transpose <perm = [0, 1, 3, 2]> (k)
  scores = MatMul (q, kt)
  scaled = Div (scores, scale)
  attn_probs = Softmax <axis = -1> (scaled)
  y = MatMul (attn_probs, v)
}"""


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def fused_reference(q, k, v, mask):
    k = np.repeat(k.astype(np.float64), 2, axis=1)
    v = np.repeat(v.astype(np.float64), 2, axis=1)
    s = 0.4 * q.astype(np.float64) @ k.transpose(0, 1, 3, 2)
    keep = mask & np.tril(np.ones((5, 7), dtype=bool))
    p = softmax(np.where(keep, s, -np.inf))
    return p @ v, p


def unfused_reference(q, k, v):
    s = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2) / 4
    p = softmax(s)
    return p @ v, p


def main():
    args = parse_args()
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 4, 5, 8)).astype(np.float32)
    k = rng.standard_normal((2, 2, 7, 8)).astype(np.float32)
    v = rng.standard_normal((2, 2, 7, 8)).astype(np.float32)
    mask = rng.random((2, 1, 5, 7)) < 0.8
    mask[..., 0] = True  # no fully masked row
    y, p = fused_reference(q, k, v, mask)
    ok = run_case("fused", FUSED, {"q": q, "k": k, "v": v, "mask": mask},
                  {"y": y, "Attention_0_probs": p}, args.tools, args.workdir,
                  ["--attention-probs=all"])
    q2, k2, v2 = (rng.standard_normal((1, 2, 8, 16)).astype(np.float32)
                  for _ in range(3))
    y, p = unfused_reference(q2, k2, v2)
    ok &= run_case("unfused", UNFUSED, {"q": q2, "k": k2, "v": v2},
                   {"y": y, "Softmax_3_probs": p}, args.tools, args.workdir,
                   ["--attention-probs=Softmax", "--no-fuse"])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
