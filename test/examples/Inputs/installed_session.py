"""Imports attnc from an installation prefix (argv[1]) and runs the small
attention model of the driver tests against numpy in float64."""

import glob
import os
import sys

import numpy as np

prefix, source = sys.argv[1], sys.argv[2]
sys.path.insert(0, glob.glob(os.path.join(prefix, "lib", "python3*",
                                          "site-packages"))[0])
import attnc  # noqa: E402

print("imported from", os.path.dirname(attnc.__file__))
session = attnc.InferenceSession(os.path.join(
    source, "test", "Driver", "Inputs", "small_sdpa.onnxtext"))
rng = np.random.default_rng(0)
feed = {a.name: rng.standard_normal(a.shape).astype(np.float32)
        for a in session.get_inputs()}
(out,) = session.run(None, feed)
q, k, v = (feed[n].astype(np.float64) for n in "qkv")
s = q @ k.transpose(0, 1, 3, 2) / 4.0
p = np.exp(s - s.max(-1, keepdims=True))
ref = p / p.sum(-1, keepdims=True) @ v
err = float(np.max(np.abs(out - ref)))
print(f"small_sdpa: max error {err:.1e} (tolerance 1e-5): "
      f"{'PASS' if err <= 1e-5 else 'FAIL'}")
