#!/usr/bin/env python3
"""Every schedule variant of the register-tiled attn.matmul / attn.linear
against float64.

Each case is one op written in the attn dialect (so the variant is exactly
the one named), compiled by `attnc --emit=shared-lib` for the host, run by
attnc-run on random inputs and compared with a float64 numpy reference.
Tolerance: 1e-5 × max(1, max|ref|); for bfloat16, whose output is rounded
to 8 significant bits, 4e-3 × max(1, max|ref|). With bfloat16 products
(`attnc --precision=bf16`: operands rounded to bfloat16, products summed in
float32), the reference is the float64 product of the rounded operands and
the tolerance 2e-5 × max(1, max|ref|); the error against the float32
operands is printed too (its bound, 2e-2 × max(1, max|ref|), only guards
against a broken rounding).

Variants: constant right-hand sides (re-laid out into panels at compile
time, the last panel padded) with rows and columns that are not multiples
of the register tile; hand-written small tiles; a right-hand side passed
at run time (read in place when its columns fill whole panels, the generic
loop otherwise), also one per batch entry (broadcast over a batch axis of 1);
a single row; batch axes on the left operand; rows known
only at run time; the epilogue (bias, each activation, residual);
bfloat16; bfloat16 products (constant weights re-laid out as bfloat16
pairs with tails and an odd inner dimension, a run-time right-hand side
rounded per task, batch axes).

  matmul_variants.py --tools BIN_DIR --workdir DIR
"""

import math
import os
import re
import subprocess
import zlib

import numpy as np

from attn_case import (compile_and_run, from_bf16, mlir_type, run_cases,
                       to_bf16)

# (name, dict of options). lhs: shape of the left operand; n: columns;
# const: the right-hand side is an attn.constant; op: linear or matmul;
# form: how the product must be computed (read from the lowered Halide
# statement): "panels" (register tiles over a constant re-laid out into
# panels), "tiles" (register tiles reading the right-hand side in place),
# "generic" (the vectorized loop).
CASES = [
    ("const_tails", dict(lhs=(2, 50, 96), n=100, bias=True,
                         activation="gelu", residual=True, form="panels")),
    ("const_small_tiles", dict(lhs=(37, 33), n=70, bias=True,
                               activation="relu", tiles=[12, 16, 5],
                               form="panels")),
    ("const_matmul", dict(lhs=(1, 130, 64), n=192, op="matmul",
                          form="panels")),
    ("runtime_rhs", dict(lhs=(77, 64), n=128, const=False, op="matmul",
                         form="tiles")),
    ("runtime_rhs_tail", dict(lhs=(77, 64), n=100, const=False,
                              activation="gelu_tanh", bias=True,
                              form="generic")),
    ("one_row", dict(lhs=(1, 96), n=200, bias=True, activation="silu",
                     form="panels")),
    ("batch_axes", dict(lhs=(2, 3, 20, 64), n=80, residual=True,
                        form="panels")),
    ("dynamic_rows", dict(lhs=(45, 64), n=96, dynamic=True, bias=True,
                          form="panels")),
    ("batched_rhs", dict(lhs=(3, 40, 64), n=128, rhs=(3, 64, 128),
                         const=False, op="matmul", form="tiles")),
    ("batched_rhs_broadcast", dict(lhs=(2, 3, 20, 64), n=64,
                                   rhs=(1, 3, 64, 64), const=False,
                                   op="matmul", form="tiles")),
    ("batched_rhs_tail", dict(lhs=(3, 40, 64), n=100, rhs=(3, 64, 100),
                              const=False, op="matmul", form="generic")),
    ("bfloat16", dict(lhs=(1, 60, 64), n=72, bias=True, dtype="bf16",
                      activation="gelu", form="panels")),
    ("bf16_products_tails", dict(lhs=(2, 50, 96), n=100, bias=True,
                                 activation="gelu", residual=True,
                                 precision="bf16", form="panels")),
    ("bf16_products_odd_k", dict(lhs=(37, 33), n=70, bias=True,
                                 activation="relu", precision="bf16",
                                 form="panels")),
    ("bf16_products_runtime_rhs", dict(lhs=(77, 64), n=128, const=False,
                                       op="matmul", precision="bf16",
                                       form="tiles")),
    ("bf16_products_batch", dict(lhs=(2, 3, 20, 64), n=80, residual=True,
                                 precision="bf16", form="panels")),
]

ACTIVATIONS = {
    "none": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": lambda x: 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
}


def dense_hex(raw, type_text):
    return f'attn.constant dense<"0x{raw.tobytes().hex().upper()}"> : {type_text}'


def run_case(args, name, o):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    lhs_shape, n = o["lhs"], o["n"]
    k = lhs_shape[-1]
    out_shape = lhs_shape[:-1] + (n,)
    bf16 = o.get("dtype") == "bf16"
    element = "bf16" if bf16 else "f32"
    op = o.get("op", "linear")
    const = o.get("const", True)
    activation = o.get("activation", "none")

    x = rng.standard_normal(lhs_shape).astype(np.float32)
    w_shape = o.get("rhs", (k, n))
    w = (rng.standard_normal(w_shape) / math.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal((n,)).astype(np.float32) if o.get("bias") \
        else None
    residual = rng.standard_normal(out_shape).astype(np.float32) \
        if o.get("residual") else None

    # What the library sees: bfloat16 bits; the reference uses the rounded
    # values.
    def stored(a):
        if not bf16:
            return a, a
        bits, rounded = to_bf16(a)
        return bits, rounded
    x_in, x = stored(x)
    w_in, w = stored(w)
    if bias is not None:
        bias_in, bias = stored(bias)
    if residual is not None:
        residual_in, residual = stored(residual)

    lhs_type_shape = ((None,) + lhs_shape[1:]) if o.get("dynamic") \
        else lhs_shape
    out_type_shape = lhs_type_shape[:-1] + (n,)
    t_x = mlir_type(lhs_type_shape, element)
    t_w = mlir_type(w_shape, element)
    t_b = mlir_type((n,), element)
    t_r = mlir_type(out_type_shape, element)
    t_out = mlir_type(out_type_shape, element)

    params = [f'%x: {t_x} {{attn.name = "x"}}']
    feeds = {"x": x_in}
    body = []
    if const:
        body.append(f"  %w = {dense_hex(w_in, t_w)}")
    else:
        params.append(f'%w: {t_w} {{attn.name = "w"}}')
        feeds["w"] = w_in
    operands, types = "%x, %w", [t_x, t_w]
    if bias is not None:
        body.append(f"  %b = {dense_hex(bias_in, t_b)}")
        operands += " bias %b"
        types.append(t_b)
    if residual is not None:
        params.append(f'%r: {t_r} {{attn.name = "r"}}')
        feeds["r"] = residual_in
        operands += " residual %r"
        types.append(t_r)
    attrs = []
    if activation != "none":
        attrs.append(f'activation = "{activation}"')
    if o.get("tiles"):
        attrs.append("schedule = #attn.schedule<kind = panels, "
                     f"vector_width = 16, tiles = {o['tiles']}, "
                     "parallel = true>")
    attr_text = f" {{{', '.join(attrs)}}}" if attrs else ""
    body.append(f"  %0 = attn.{op} {operands}{attr_text} : "
                f"({', '.join(types)}) -> {t_out}")
    text = (f"func.func @{name}({', '.join(params)}) -> ({t_out} "
            '{attn.name = "out"}) {\n' + "\n".join(body) +
            f"\n  return %0 : {t_out}\n}}\n")

    precision = o.get("precision", "fp32")
    path, got = compile_and_run(args.tools, os.path.join(args.workdir, name),
                                name, text, feeds,
                                options=[f"--precision={precision}"])
    if bf16:
        got = from_bf16(got)
    stmt = subprocess.run([os.path.join(args.tools, "attnc"), path,
                           "--emit=stmt", "-o", "-",
                           f"--precision={precision}"],
                          check=True, capture_output=True, text=True).stdout
    # The product's Funcs are named after the op in its kernel; a right
    # operand re-laid out in panels is read through attn.from_panels.
    mlir = subprocess.run([os.path.join(args.tools, "attnc"), path,
                           "--emit=mlir", "-o", "-",
                           f"--precision={precision}"],
                          check=True, capture_output=True, text=True).stdout
    if re.search(r"allocate (linear|matmul)_acc\[float32 \* \d+\] in Stack",
                 stmt):
        form = "panels" if "attn.from_panels" in mlir else "tiles"
    else:
        form = "generic"

    def reference(x, w):
        ref = x.astype(np.float64) @ w.astype(np.float64)
        if bias is not None:
            ref = ref + bias.astype(np.float64)
        ref = ACTIVATIONS[activation](ref)
        if residual is not None:
            ref = ref + residual.astype(np.float64)
        return ref
    full = reference(x, w)
    products = precision == "bf16"
    ref = reference(to_bf16(x)[1], to_bf16(w)[1]) if products else full
    scale = max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(got.astype(np.float64) - ref)))
    tol = (4e-3 if bf16 else 2e-5 if products else 1e-5) * scale
    # bfloat16 products against the float32 operands.
    err32 = float(np.max(np.abs(got.astype(np.float64) - full)))
    ok = (got.shape == ref.shape and err <= tol and
          np.all(np.isfinite(got)) and form == o["form"] and
          (not products or err32 <= 2e-2 * scale))
    extra = (f", against float32 operands {err32 / scale:.2e} of max|ref|"
             if products else "")
    print(f"{name}: {form} (expected {o['form']}), max abs error {err:.3e} "
          f"(tolerance {tol:.1e}){extra}: "
          f"{'PASS' if ok else 'FAIL'}", flush=True)
    return ok


if __name__ == "__main__":
    run_cases(CASES, run_case)
