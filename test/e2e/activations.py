#!/usr/bin/env python3
"""attn.tanh and every activation of attn.linear, swept over float32 inputs
from 1e-8 to 30 in magnitude (both signs), against float64 numpy.

tanh is computed in vector arithmetic (a polynomial near zero, exponentials
elsewhere), so its accuracy is checked element by element: relative error
at most 4 float32 units in the last place (4 × 2^-24). The activations are
applied by attn.linear to x · 1 (a 1 × 1 weight of one), so they run in the
register-tiled epilogue; they are checked to 1e-6 relative error plus
2 float32 units in the last place of |x| (2^-23 |x|): x · (1 + erf(x/√2))
loses the small results of large negative x to cancellation in float32, as
every float32 implementation of that formula does.

  activations.py --tools BIN_DIR --workdir DIR
"""

import argparse
import math
import os
import sys

import numpy as np

from attn_case import compile_and_run

ERFC = np.vectorize(math.erfc)
REFERENCE = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    # Written without cancellation: 0.5·x·erfc(-x/√2), and
    # 0.5·x·(1 + tanh u) = x / (1 + e^-2u).
    "gelu": lambda x: 0.5 * x * ERFC(-x / math.sqrt(2)),
    "gelu_tanh": lambda x: x / (1.0 + np.exp(
        -2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    "gelu_sigmoid": lambda x: x / (1.0 + np.exp(-1.702 * x)),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


def sweep():
    mag = np.concatenate([np.geomspace(1e-8, 30, 40000),
                          np.linspace(0, 30, 20001)])
    return np.concatenate([mag, -mag]).astype(np.float32)


def run(args, name, text, x):
    _, y = compile_and_run(args.tools, os.path.join(args.workdir, name),
                           name, text, {"x": x}, function="act")
    return y.astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    x = sweep()
    n = x.size
    ok = True

    t = f"tensor<{n}xf32>"
    got = run(args, "tanh", (
        f'func.func @act(%x: {t} {{attn.name = "x"}}) -> ({t} '
        '{attn.name = "y"}) {\n'
        f"  %y = attn.tanh %x : {t}\n  return %y : {t}\n}}\n"), x)
    ref = np.tanh(x.astype(np.float64))
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-30)
    good = float(rel.max()) <= 4 * 2.0**-24
    ok &= good
    print(f"tanh: max relative error {rel.max():.2e} (tolerance "
          f"{4 * 2.0**-24:.1e}): {'PASS' if good else 'FAIL'}")

    for act in ["relu", "gelu", "gelu_tanh", "gelu_sigmoid", "silu",
                "sigmoid", "tanh"]:
        tx, ty = f"tensor<{n}x1xf32>", f"tensor<{n}x1xf32>"
        text = (f'func.func @act(%x: {tx} {{attn.name = "x"}}) -> ({ty} '
                '{attn.name = "y"}) {\n'
                '  %w = attn.constant dense<1.0> : tensor<1x1xf32>\n'
                f'  %y = attn.linear %x, %w {{activation = "{act}"}} : '
                f"({tx}, tensor<1x1xf32>) -> {ty}\n  return %y : {ty}\n}}\n")
        got = run(args, "linear_" + act, text,
                              x.reshape(n, 1))[:, 0]
        with np.errstate(over="ignore"):
            ref = REFERENCE[act](x.astype(np.float64))
        err = np.abs(got - ref)
        tol = 1e-6 * np.abs(ref) + 2.0**-23 * np.abs(x) + 1e-30
        worst = float(np.max(err / tol))
        good = worst <= 1.0 and np.all(np.isfinite(got))
        ok &= good
        print(f"linear {act}: max error / tolerance {worst:.2f}: "
              f"{'PASS' if good else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
