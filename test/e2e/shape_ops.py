#!/usr/bin/env python3
"""Compiles small models whose split sizes, pad amounts or slices are
computed from run-time extents (dynamic dims), plus 1-D Conv, Mod and
MatMul with 1-D operands, runs them with attnc-run at a length other than
any static one, and compares with float64 numpy.

  shape_ops.py --tools DIR --workdir DIR

Pass: max |out - ref| <= 1e-5 x max(1, max |ref|) for every output (integer
outputs: exact). Prints one line per case and `PASS` at the end.
"""

import sys

import numpy as np

from contrib_ops import run_all


def case_split_equal(rng, n):
    """Split into equal parts of a run-time extent (the last part smaller)."""
    text = """<ir_version: 8, opset_import: ["" : 18]>
g (float[2,N] x) => (float[2,?] a, float[2,?] b, float[2,?] c)
{
  a, b, c = Split <axis = 1, num_outputs = 3> (x)
}"""
    x = rng.standard_normal((2, n)).astype(np.float32)
    p = -(-n // 3)
    refs = {"a": x[:, :p], "b": x[:, p:2 * p], "c": x[:, 2 * p:]}
    return text, {"x": x}, {k: v.astype(np.float64) for k, v in refs.items()}


def case_split_computed(rng, n):
    """Split sizes computed from the input's extent: [N - 2, 2]."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[3,N] x) => (float[3,?] a, float[3,?] b)
<int64[1] two = {2}>
{
  n = Shape <start = 1, end = 2> (x)
  rest = Sub (n, two)
  sizes = Concat <axis = 0> (rest, two)
  a, b = Split <axis = 1> (x, sizes)
}"""
    x = rng.standard_normal((3, n)).astype(np.float32)
    return text, {"x": x}, {"a": x[:, :n - 2].astype(np.float64),
                            "b": x[:, n - 2:].astype(np.float64)}


def case_pad_computed(rng, n, mode):
    """Pad amounts computed from the extent: N on the left, 1 on the right
    of the last axis."""
    text = f"""<ir_version: 9, opset_import: ["" : 19]>
g (float[2,N] x) => (float[2,?] y)
<int64[1] one = {{1}}, int64[1] zero = {{0}}, float v = {{-3.5}}>
{{
  n = Shape <start = 1, end = 2> (x)
  pads = Concat <axis = 0> (zero, n, zero, one)
  y = Pad <mode = "{mode}"> (x, pads{", v" if mode == "constant" else ""})
}}"""
    x = rng.standard_normal((2, n)).astype(np.float32)
    width = ((0, 0), (n, 1))
    if mode == "constant":
        ref = np.pad(x, width, mode="constant", constant_values=-3.5)
    elif mode == "edge":
        ref = np.pad(x, width, mode="edge")
    elif mode == "wrap":
        ref = np.pad(x, width, mode="wrap")
    else:  # a reflection period is 2 (n - 1): at most n - 1 to each side
        text = text.replace("(zero, n, zero, one)", "(zero, nm1, zero, one)")
        text = text.replace("  pads =", "  nm1 = Sub (n, one)\n  pads =")
        ref = np.pad(x, ((0, 0), (n - 1, 1)), mode="reflect")
    return text, {"x": x}, {"y": ref.astype(np.float64)}


def case_conv1d(rng, n):
    """1-D convolution, grouped, padded, dilated, the weight an input."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4,N] x, float[6,2,3] w, float[6] b) => (float[2,6,?] y)
{
  y = Conv <group = 2, pads = [2, 1], dilations = [2], strides = [1]> (x, w, b)
}"""
    x = rng.standard_normal((2, 4, n)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (2, 1)))
    out_len = n + 3 - 2 * 2
    y = np.zeros((2, 6, out_len))
    for o in range(6):
        g = o // 3
        for t in range(out_len):
            for c in range(2):
                for k in range(3):
                    y[:, o, t] += w[o, c, k] * xp[:, 2 * g + c, t + 2 * k]
        y[:, o, :] += b[o]
    return text, {"x": x, "w": w, "b": b}, {"y": y}


def case_mod(rng):
    """Integer Mod in both sign conventions, and float fmod."""
    text = """<ir_version: 8, opset_import: ["" : 13]>
g (int32[12] a, int32[12] b, float[12] x, float[12] z)
  => (int32[12] p, int32[12] c, float[12] f)
{
  p = Mod (a, b)
  c = Mod <fmod = 1> (a, b)
  f = Mod <fmod = 1> (x, z)
}"""
    a = rng.integers(-50, 50, 12).astype(np.int32)
    b = rng.choice([-7, -3, -1, 1, 2, 5], 12).astype(np.int32)
    x = (rng.standard_normal(12) * 10).astype(np.float32)
    z = rng.choice([-3.0, -1.5, 2.0, 4.5], 12).astype(np.float32)
    return text, {"a": a, "b": b, "x": x, "z": z}, {
        "p": np.mod(a, b).astype(np.float64),
        "c": np.fmod(a, b).astype(np.float64),
        "f": np.fmod(x.astype(np.float64), z.astype(np.float64))}


def case_matmul_1d(rng, n):
    """numpy's 1-D promotion on either side."""
    text = """<ir_version: 8, opset_import: ["" : 13]>
g (float[N] v, float[2,N,5] m, float[5] u) => (float[2,5] vm, float[2,N] mu)
{
  vm = MatMul (v, m)
  mu = MatMul (m, u)
}"""
    v = rng.standard_normal(n).astype(np.float32)
    m = rng.standard_normal((2, n, 5)).astype(np.float32)
    u = rng.standard_normal(5).astype(np.float32)
    v64, m64, u64 = (t.astype(np.float64) for t in (v, m, u))
    return text, {"v": v, "m": m, "u": u}, {"vm": v64 @ m64, "mu": m64 @ u64}


def main():
    return run_all(5, lambda rng: {
        "split_equal": case_split_equal(rng, 11),
        "split_computed": case_split_computed(rng, 9),
        "pad_constant": case_pad_computed(rng, 5, "constant"),
        "pad_edge": case_pad_computed(rng, 6, "edge"),
        "pad_wrap": case_pad_computed(rng, 4, "wrap"),
        "pad_reflect": case_pad_computed(rng, 7, "reflect"),
        "conv1d": case_conv1d(rng, 13),
        "mod": case_mod(rng),
        "matmul_1d": case_matmul_1d(rng, 7),
    })


if __name__ == "__main__":
    sys.exit(main())
