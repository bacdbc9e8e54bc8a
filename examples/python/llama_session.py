#!/usr/bin/env python3
"""Runs the bundled Llama-style decoder (test/models/llama) with
attnc.InferenceSession, the way one would with onnxruntime.InferenceSession,
and compares every case of its manifest with the outputs PyTorch computed
when it exported the model. Then runs the bundled attention model
(examples/attention: 8 heads, 512 tokens, an additive causal mask) on random
inputs and compares it with the same attention computed by numpy in float64.

    PYTHONPATH=build/python python3 examples/python/llama_session.py

The only attnc-specific line is the import; `attnc.InferenceSession` compiles
the model once (cached under ~/.cache/attnc or $ATTNC_CACHE_DIR) and then
runs the compiled code in this process.
"""

import json
import os
import sys
import time

import numpy as np

import attnc as runtime  # instead of: import onnxruntime as runtime

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "test", "models", "llama")


def llama():
    start = time.perf_counter()
    session = runtime.InferenceSession(os.path.join(MODEL, "model.onnx"))
    print(f"session ready in {time.perf_counter() - start:.1f} s "
          f"({'compiled' if session.compiled else 'from the cache'})")
    for arg in session.get_inputs():
        print(f"  input  {arg.name}: {arg.type} {arg.shape}")
    for arg in session.get_outputs():
        print(f"  output {arg.name}: {arg.type} {arg.shape}")

    with open(os.path.join(MODEL, "model.json")) as f:
        cases = json.load(f)["cases"]
    worst = 0.0
    for case in cases:
        folder = os.path.join(MODEL, case["name"])
        feed = {arg.name: np.load(os.path.join(folder, "inputs",
                                               arg.name + ".npy"))
                for arg in session.get_inputs()}
        (hidden,) = session.run(["last_hidden_state"], feed)
        ref = np.load(os.path.join(folder, "outputs",
                                   "last_hidden_state.npy"))
        err = float(np.max(np.abs(hidden.astype(np.float64) - ref)) /
                    np.max(np.abs(ref)))
        worst = max(worst, err)
        print(f"  {case['name']:8s} {str(hidden.shape):14s} max error "
              f"{err:.1e} of max|ref|")
    ok = worst <= 1e-4
    print("PASS" if ok else "FAIL", f"(tolerance 1e-4, worst {worst:.1e})")
    return ok


def attention():
    path = os.path.join(ROOT, "examples", "attention", "attention.onnxtext")
    session = runtime.InferenceSession(path)
    rng = np.random.default_rng(0)
    feed = {arg.name: rng.standard_normal(arg.shape).astype(np.float32)
            for arg in session.get_inputs()}
    n = feed["mask"].shape[-1]
    causal = np.triu(np.full((n, n), -1e9, dtype=np.float32), k=1)
    feed["mask"] = causal.reshape(feed["mask"].shape)
    (out,) = session.run(None, feed)

    q, k, v, mask = (feed[name].astype(np.float64)
                     for name in ("q", "k", "v", "mask"))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1]) + mask
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    ref = probs / probs.sum(-1, keepdims=True) @ v
    err = float(np.max(np.abs(out - ref)))
    ok = err <= 1e-5
    print(f"attention {out.shape}: max error {err:.1e} against numpy float64 "
          f"(tolerance 1e-5): {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    ok = llama()
    ok = attention() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
