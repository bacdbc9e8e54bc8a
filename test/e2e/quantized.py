#!/usr/bin/env python3
"""8-bit quantized models (ONNX Runtime's dynamic quantization, static
QuantizeLinear inputs, QDQ) compiled with attnc for the host, run with
attnc-run and compared with a reference written from the ONNX operators'
definitions.

The reference quantizes as ONNX specifies, in float32 (the scale of
DynamicQuantizeLinear is (max - min) / 255 in float32, x / scale rounded
half to even), so the integers it gets are the ones attnc must get; integer
products are exact (int64), and everything after them is float64.
Tolerance: 1e-5 × max(1, max|ref|) for float outputs, exact for integer
ones. Each line also names the form the product took, read from the
pipeline's output (`--emit=mlir`): `quads` (a quantized attn.linear over
weights re-laid out for 4-way byte dot products), `tiles` (a quantized
attn.linear over weights passed at run time), `quantized` (a quantized
attn.linear in generic code), `integer` (attn.matmul_integer left as it
is) or `float` (no integer product).

  quantized.py --tools BIN_DIR --workdir DIR [--filter NAME]
"""

import os
import re
import subprocess
import zlib

import numpy as np

from attn_case import run_cases

U8 = (0, 255)
I8 = (-128, 127)


def onnx_literal(a):
    return "{" + ", ".join(repr(float(v)) if a.dtype.kind == "f" else str(int(v))
                           for v in a.reshape(-1)) + "}"


def onnx_type(a):
    name = {"float32": "float", "uint8": "uint8", "int8": "int8",
            "int16": "int16", "int32": "int32"}[str(a.dtype)]
    return f"{name}[{','.join(str(d) for d in a.shape)}]" if a.ndim else name


def quantize(x, scale, zero, bounds):
    """QuantizeLinear in float32: saturate(rint(x / scale) + zero)."""
    q = np.rint(np.float32(x) / np.float32(scale)) + zero.astype(np.float32)
    return np.clip(q, *bounds)


def dynamic_quantize(x):
    """DynamicQuantizeLinear: uint8, its scale and zero point (float32)."""
    lo = np.minimum(np.float32(0), x.min())
    hi = np.maximum(np.float32(0), x.max())
    scale = np.float32((hi - lo) / np.float32(255))
    zero = np.clip(np.rint(np.float32(-lo) / scale), 0, 255)
    return quantize(x, scale, np.float32(zero), U8).astype(np.uint8), scale, \
        np.uint8(zero)


def int_product(a, b, za, zb):
    return (a.astype(np.int64) - za.astype(np.int64)) @ \
        (b.astype(np.int64) - zb.astype(np.int64))


def case_dynamic_linear(rng, batch=(2, 37), k=70, n=100, runtime_w=False):
    """ONNX Runtime's quantize_dynamic of Linear + ReLU: int8 weights,
    per-tensor scale and zero point 0, K not a multiple of 4 and N not of
    the panel width (tails)."""
    x = rng.standard_normal(batch + (k,)).astype(np.float32)
    w = rng.integers(-127, 128, (k, n)).astype(np.int8)
    w_scale = np.float32(0.02)
    bias = rng.standard_normal(n).astype(np.float32) * 0.1
    shape = ",".join(str(d) for d in batch)
    weights = "" if runtime_w else f"int8[{k},{n}] w = {onnx_literal(w)}, "
    inputs = f"float[{shape},{k}] x" + (f", int8[{k},{n}] w" if runtime_w
                                         else "")
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g ({inputs}) => (float[{shape},{n}] y)
<{weights}float ws = {{{float(w_scale)!r}}}, int8 wz = {{0}}, float[{n}] b = {onnx_literal(bias)}>
{{
  xq, xs, xz = DynamicQuantizeLinear (x)
  s = Mul (xs, ws)
  p = MatMulInteger (xq, w, xz, wz)
  pf = Cast <to = 1> (p)
  d = Mul (pf, s)
  a = Add (d, b)
  y = Relu (a)
}}"""
    xq, xs, xz = dynamic_quantize(x)
    ref = int_product(xq, w, np.array(xz), np.int8(0)) * \
        (np.float64(np.float32(xs * w_scale))) + bias
    feeds = {"x": x, **({"w": w} if runtime_w else {})}
    return text, feeds, np.maximum(ref, 0.0)


def case_projections(rng):
    """Three dynamically quantized projections of one input (Q, K and V)
    with their own weight scales and biases, merged into one product."""
    m, k, n = 33, 48, 40
    x = rng.standard_normal((m, k)).astype(np.float32)
    ws = [rng.integers(-127, 128, (k, n)).astype(np.int8) for _ in range(3)]
    scales = [np.float32(0.01), np.float32(0.02), np.float32(0.005)]
    biases = [rng.standard_normal(n).astype(np.float32) * 0.1
              for _ in range(3)]
    inits = ", ".join(
        f"int8[{k},{n}] w{i} = {onnx_literal(ws[i])}, float s{i} = "
        f"{{{float(scales[i])!r}}}, float[{n}] b{i} = {onnx_literal(biases[i])}"
        for i in range(3))
    body = "\n".join(
        f"  s{i}x = Mul (xs, s{i})\n  p{i} = MatMulInteger (xq, w{i}, xz, z)\n"
        f"  f{i} = Cast <to = 1> (p{i})\n  d{i} = Mul (f{i}, s{i}x)\n"
        f"  y{i} = Add (d{i}, b{i})" for i in range(3))
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g (float[{m},{k}] x) => (float[{m},{3 * n}] y)
<{inits}, int8 z = {{0}}>
{{
  xq, xs, xz = DynamicQuantizeLinear (x)
{body}
  y = Concat <axis = 1> (y0, y1, y2)
}}"""
    xq, xs, xz = dynamic_quantize(x)
    refs = [int_product(xq, ws[i], np.array(xz), np.int8(0)) *
            np.float64(np.float32(xs * scales[i])) + biases[i]
            for i in range(3)]
    return text, {"x": x}, np.concatenate(refs, axis=1)


def case_static_u8_weights(rng):
    """Activations quantized to int8 with a given scale and zero point, u8
    weights with per-column zero points and scales (the zero-point terms
    of both operands), then bias and residual."""
    m, k, n = 29, 64, 80
    x = rng.standard_normal((m, k)).astype(np.float32)
    r = rng.standard_normal((m, n)).astype(np.float32)
    x_scale, x_zero = np.float32(0.03), np.int8(-5)
    w = rng.integers(0, 256, (k, n)).astype(np.uint8)
    w_zero = rng.integers(100, 156, n).astype(np.uint8)
    w_scale = (rng.random(n) * 0.01 + 0.005).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) * 0.1
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g (float[{m},{k}] x, float[{m},{n}] r) => (float[{m},{n}] y)
<uint8[{k},{n}] w = {onnx_literal(w)}, uint8[{n}] wz = {onnx_literal(w_zero)}, float[{n}] ws = {onnx_literal(w_scale)},
 float xs = {{{float(x_scale)!r}}}, int8 xz = {{{int(x_zero)}}}, float[{n}] b = {onnx_literal(bias)}>
{{
  xq = QuantizeLinear (x, xs, xz)
  p = MatMulInteger (xq, w, xz, wz)
  pf = Cast <to = 1> (p)
  s = Mul (xs, ws)
  d = Mul (s, pf)
  a = Add (b, d)
  y = Add (a, r)
}}"""
    xq = quantize(x, x_scale, np.array(x_zero), I8).astype(np.int8)
    scale = (np.float32(x_scale) * w_scale).astype(np.float64)
    ref = int_product(xq, w, np.array(x_zero), w_zero) * scale + bias + r
    return text, {"x": x, "r": r}, ref


def case_matmul_integer(rng):
    """MatMulInteger returned as int32, with batch axes, a per-row left
    zero point and a per-column right one, i8 × u8."""
    a = rng.integers(-128, 128, (3, 6, 12)).astype(np.int8)
    b = rng.integers(0, 256, (12, 7)).astype(np.uint8)
    za = rng.integers(-3, 4, 6).astype(np.int8)
    zb = rng.integers(120, 136, 7).astype(np.uint8)
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g (int8[3,6,12] a, uint8[12,7] b) => (int32[3,6,7] y)
<int8[6] za = {onnx_literal(za)}, uint8[7] zb = {onnx_literal(zb)}>
{{
  y = MatMulInteger (a, b, za, zb)
}}"""
    return text, {"a": a, "b": b}, int_product(a, b, za[:, None], zb)


def case_qdq(rng):
    """The QDQ format: activations through QuantizeLinear and
    DequantizeLinear, per-output-channel int8 weights through
    DequantizeLinear, a float MatMul: computed as the 8-bit product."""
    m, k, n = 10, 24, 20
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.integers(-127, 128, (k, n)).astype(np.int8)
    w_scale = (rng.random(n) * 0.02 + 0.01).astype(np.float32)
    x_scale, x_zero = np.float32(0.025), np.uint8(128)
    text = f"""<ir_version: 8, opset_import: ["" : 19]>
g (float[{m},{k}] x) => (float[{m},{n}] y)
<int8[{k},{n}] w = {onnx_literal(w)}, float[{n}] ws = {onnx_literal(w_scale)}, int8[{n}] wz = {onnx_literal(np.zeros(n, np.int8))},
 float xs = {{{float(x_scale)!r}}}, uint8 xz = {{{int(x_zero)}}}>
{{
  xq = QuantizeLinear (x, xs, xz)
  xd = DequantizeLinear (xq, xs, xz)
  wd = DequantizeLinear <axis = 1> (w, ws, wz)
  y = MatMul (xd, wd)
}}"""
    xq = quantize(x, x_scale, np.array(x_zero), U8)
    xd = (xq - 128.0) * np.float64(x_scale)
    wd = w.astype(np.float64) * w_scale.astype(np.float64)
    return text, {"x": x}, xd @ wd


def case_quantize(rng, what):
    """QuantizeLinear on exact halves (rounded to even) and saturation to
    int16; blocked scales to int8; DequantizeLinear of int32 with blocks of
    the same kind around it."""
    x = (np.arange(-20, 20, dtype=np.float32) * 0.5).reshape(4, 10)
    x[0, 0], x[3, 9] = -1e6, 1e6
    s = np.float32(1.0)  # x / s: every odd multiple of 0.5 is a tie
    bs = np.array([[0.5, 1.0], [0.25, 2.0], [1.0, 0.5], [4.0, 0.125]],
                  np.float32)
    bz = np.array([[0, 1], [-1, 2], [3, -3], [0, 0]], np.int8)
    i32 = rng.integers(-100000, 100000, (4, 10)).astype(np.int32)
    out = {"ties": "int16[4,10]", "blocked": "int8[4,10]",
           "int32": "float[4,10]"}[what]
    text = f"""<ir_version: 8, opset_import: ["" : 21]>
g (float[4,10] x, int32[4,10] i) => ({out} y)
<float s = {{1.0}}, int16 z = {{7}}, float[4,2] bs = {onnx_literal(bs)}, int8[4,2] bz = {onnx_literal(bz)},
 int32 iz = {{-17}}, float is = {{0.001}}>
{{
  q16 = QuantizeLinear (x, s, z)
  qb = QuantizeLinear <axis = 1, block_size = 5> (x, bs, bz)
  di = DequantizeLinear (i, is, iz)
  y = Identity ({dict(ties="q16", blocked="qb", int32="di")[what]})
}}"""
    if what == "ties":
        ref = quantize(x, s, np.array(7), (-32768, 32767))
    elif what == "blocked":
        ref = quantize(x, np.repeat(bs, 5, axis=1), np.repeat(bz, 5, axis=1),
                       I8)
    else:
        ref = (i32.astype(np.float64) + 17) * np.float64(np.float32(0.001))
    return text, {"x": x, "i": i32}, ref


CASES = [
    ("dynamic_linear", dict(make=case_dynamic_linear, form="quads")),
    ("dynamic_linear_runtime_w", dict(
        make=lambda rng: case_dynamic_linear(rng, (45,), 64, 128, True),
        form="tiles")),
    ("dynamic_linear_runtime_w_tail", dict(
        make=lambda rng: case_dynamic_linear(rng, (9,), 20, 30, True),
        form="quantized")),
    ("projections", dict(make=case_projections, form="quads")),
    ("static_u8_weights", dict(make=case_static_u8_weights, form="quads")),
    ("matmul_integer", dict(make=case_matmul_integer, form="integer")),
    ("qdq", dict(make=case_qdq, form="quads")),
    ("quantize_ties", dict(make=lambda rng: case_quantize(rng, "ties"),
                           form="float")),
    ("quantize_blocked", dict(make=lambda rng: case_quantize(rng, "blocked"),
                              form="float")),
    ("dequantize_int32", dict(make=lambda rng: case_quantize(rng, "int32"),
                              form="float")),
]


def run_case(args, name, o):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    text, feeds, ref = o["make"](rng)
    work = os.path.join(args.workdir, name)
    os.makedirs(work, exist_ok=True)
    model = os.path.join(work, name + ".onnxtext")
    with open(model, "w") as f:
        f.write(text)
    attnc = os.path.join(args.tools, "attnc")
    lib = os.path.join(work, f"lib{name}.so")
    subprocess.run([attnc, model, "--emit=shared-lib", "-o", lib], check=True)
    mlir = subprocess.run([attnc, model, "--emit=mlir", "-o", "-"],
                          check=True, capture_output=True, text=True).stdout
    if re.search(r"attn\.linear .* quantized", mlir):
        form = "quads" if "attn.from_panels" in mlir else \
            "tiles" if "kind = panels" in mlir else "quantized"
    else:
        form = "integer" if "attn.matmul_integer" in mlir else "float"
    cmd = [os.path.join(args.tools, "attnc-run"), lib, f"--function={name}",
           f"--output=@{os.path.join(work, 'out.npy')}"]
    for key, value in feeds.items():
        np.save(os.path.join(work, key + ".npy"), value)
        cmd.append(f"--input={key}=@{os.path.join(work, key)}.npy")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    got = np.load(os.path.join(work, "out.npy"))
    if got.dtype.kind == "f":
        err = float(np.max(np.abs(got.astype(np.float64) - ref)))
        bound = 1e-5 * max(1.0, float(np.max(np.abs(ref))))
    else:
        err = float(np.max(np.abs(got.astype(np.int64) - ref)))
        bound = 0.0
    ok = got.shape == ref.shape and err <= bound and form == o["form"]
    print(f"{name}: {form} max |err| {err:.3g} (bound {bound:.3g}) "
          f"{'PASS' if ok else 'FAIL'}"
          + ("" if form == o["form"] else f" (expected {o['form']})"))
    return ok


if __name__ == "__main__":
    run_cases(CASES, run_case)
