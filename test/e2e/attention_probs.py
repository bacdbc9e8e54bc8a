#!/usr/bin/env python3
"""Checks `attnc --attention-probs`: the attention probabilities returned
next to the outputs match a float64 numpy reference, for fused attention
(ONNX Attention-23 with grouped-query heads, a boolean mask and a causal
mask) and for attention left unfused (--no-fuse).

  attention_probs.py --tools DIR --workdir DIR

Pass: max |out - ref| <= 1e-5 x max(1, max |ref|). Prints a line per output
and `PASS`; exits 1 on a mismatch.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

TOL = 1e-5

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


def run(tools, workdir, name, text, flags, inputs, refs, probs_name):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "model.onnxtext")
    with open(model, "w") as f:
        f.write(text)
    lib = os.path.join(d, "model.so")
    subprocess.run([os.path.join(tools, "attnc"), model, "--emit=shared-lib",
                    "--function-name=model", "-o", lib] + flags, check=True)
    cmd = [os.path.join(tools, "attnc-run"), lib, "--function=model"]
    for key, value in inputs.items():
        np.save(os.path.join(d, key + ".npy"), value)
        cmd.append("--input=%s=@%s" % (key, os.path.join(d, key + ".npy")))
    outs = [os.path.join(d, "y.npy"), os.path.join(d, "probs.npy")]
    cmd += ["--output=y=@" + outs[0],
            "--output=%s=@%s" % (probs_name, outs[1])]
    subprocess.run(cmd, check=True)
    ok = True
    for what, path, ref in zip(("y", "probs"), outs, refs):
        out = np.load(path)
        err = np.abs(out - ref).max() if out.shape == ref.shape else np.inf
        bound = TOL * max(1.0, np.abs(ref).max())
        ok &= err <= bound
        print("%s %s: shape %s, max abs error %.3e (bound %.1e): %s" %
              (name, what, list(out.shape), err, bound,
               "ok" if err <= bound else "MISMATCH"))
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 4, 5, 8)).astype(np.float32)
    k = rng.standard_normal((2, 2, 7, 8)).astype(np.float32)
    v = rng.standard_normal((2, 2, 7, 8)).astype(np.float32)
    mask = rng.random((2, 1, 5, 7)) < 0.8
    mask[..., 0] = True  # no fully masked row
    ok = run(args.tools, args.workdir, "fused", FUSED,
             ["--attention-probs=all"], {"q": q, "k": k, "v": v,
                                         "mask": mask},
             fused_reference(q, k, v, mask), "Attention_0_probs")
    q2, k2, v2 = (rng.standard_normal((1, 2, 8, 16)).astype(np.float32)
                  for _ in range(3))
    ok &= run(args.tools, args.workdir, "unfused", UNFUSED,
              ["--attention-probs=Softmax", "--no-fuse"],
              {"q": q2, "k": k2, "v": v2}, unfused_reference(q2, k2, v2),
              "Softmax_3_probs")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
