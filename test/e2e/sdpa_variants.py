#!/usr/bin/env python3
"""Every schedule variant of the register-blocked attn.sdpa against float64.

Each case is one attn.sdpa written in the attn dialect (so the variant is
exactly the one named), compiled by `attnc --emit=shared-lib` for the host,
run by attnc-run on random inputs and compared with a float64 numpy
reference. Tolerance: 1e-5 × max(1, max|ref|); for bfloat16, whose output
is rounded to 8 significant bits, 4e-3 × max(1, max|ref|) (one bfloat16
unit in the last place at the largest output).

Variants: lengths that are not multiples of the query block, the KV block
or the register tiles (hand-written small tiles make every tail appear
several times); causal masks with offsets (KV blocks skipped per task);
grouped-query heads; boolean and additive masks broadcast over heads and
queries; a soft cap; rows whose keys are all masked (with and without
zero_masked_rows); value head size different from the query's; bfloat16
inputs; bfloat16 products (`attnc --precision=bf16`).

With bfloat16 products the reference takes the operands as attnc rounds
them (the queries after scaling, keys, values) and computes the softmax in
float64; the probabilities attnc rounds to bfloat16 (relative error at most
2^-9 each, and the row sums add the rounded values) move the output by at
most 2^-8 × max|V| on top of 1e-5 × max(1, max|ref|), the tolerance. The
lowered statement must hold the bfloat16 buffers and vector reductions.

  sdpa_variants.py --tools BIN_DIR --workdir DIR
"""

import math
import os
import subprocess
import zlib

import numpy as np

from attn_case import (compile_and_run, from_bf16, mlir_type, run_cases,
                       to_bf16)

# (name, dict of options)
CASES = [
    ("tails_default_tiles", dict(nq=300, nk=517)),
    ("tails_small_tiles", dict(nq=100, nk=203,
                               tiles=[32, 64, 32, 5, 32, 3])),
    ("causal", dict(nq=700, nk=700, causal=True)),
    ("causal_small_tiles", dict(nq=130, nk=130, causal=True,
                                tiles=[16, 32, 16, 6, 16, 5])),
    ("causal_offset", dict(nq=90, nk=300, causal=True, offset=210)),
    ("causal_negative_offset", dict(nq=90, nk=90, causal=True, offset=-3,
                                    zero_rows=True)),
    ("grouped_heads", dict(h=8, hk=2, nq=270, nk=270, causal=True)),
    ("bool_mask", dict(nq=200, nk=333, mask="bool")),
    ("additive_mask", dict(nq=129, nk=260, mask="additive", hk=4)),
    ("fully_masked_rows", dict(nq=64, nk=300, mask="bool_rows")),
    ("fully_masked_rows_zero", dict(nq=64, nk=300, mask="bool_rows",
                                    zero_rows=True)),
    ("softcap", dict(nq=100, nk=260, softcap=5.0, mask="additive")),
    ("value_dim", dict(nq=100, nk=300, dv=40, d=32)),
    ("bfloat16", dict(nq=200, nk=270, causal=True, dtype="bf16")),
    ("bf16_products_tails", dict(nq=300, nk=517, precision="bf16")),
    ("bf16_products_small_tiles", dict(nq=100, nk=203, precision="bf16",
                                       tiles=[32, 64, 32, 5, 32, 3])),
    ("bf16_products_causal_grouped", dict(h=8, hk=2, nq=270, nk=270,
                                          causal=True, precision="bf16")),
    ("bf16_products_mask_softcap", dict(nq=100, nk=260, softcap=5.0,
                                        mask="additive", precision="bf16")),
    ("bf16_products_value_dim", dict(nq=100, nk=300, dv=40, d=32,
                                     precision="bf16")),
]


def reference(q, k, v, mask, o):
    b, h, nq, d = q.shape
    hk = k.shape[1]
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    k = np.repeat(k, h // hk, axis=1)
    v = np.repeat(v, h // hk, axis=1)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    if o.get("softcap"):
        c = o["softcap"]
        s = c * np.tanh(s / c)
    valid = np.ones(s.shape, bool)
    if o.get("causal"):
        qi = np.arange(nq)[:, None] + o.get("offset", 0)
        valid &= np.arange(k.shape[2])[None, :] <= qi
    if mask is not None:
        if mask.dtype == bool:
            valid &= mask
        else:
            s = s + mask.astype(np.float64)
    s = np.where(valid, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    none = ~np.isfinite(m)
    # A row with every key masked averages V (or gives 0 with
    # zero_masked_rows), as attn.sdpa defines.
    s = np.where(none, 0.0, s)
    m = np.where(none, 0.0, m)
    p = np.exp(s - m)
    p /= p.sum(axis=-1, keepdims=True)
    out = p @ v
    if o.get("zero_rows"):
        out = np.where(none, 0.0, out)
    return out


def run_case(args, name, o):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    b, h = o.get("b", 2), o.get("h", 4)
    hk = o.get("hk", h)
    nq, nk, d = o["nq"], o["nk"], o.get("d", 64)
    dv = o.get("dv", d)
    element = "bf16" if o.get("dtype") == "bf16" else "f32"
    q = rng.standard_normal((b, h, nq, d)).astype(np.float32)
    k = rng.standard_normal((b, hk, nk, d)).astype(np.float32)
    v = rng.standard_normal((b, hk, nk, dv)).astype(np.float32)
    mask, mask_type = None, None
    if o.get("mask") == "bool":
        mask = rng.random((b, 1, 1, nk)) < 0.8
        mask[..., 0] = True
        mask_type = mlir_type(mask.shape, "i1")
    elif o.get("mask") == "bool_rows":
        mask = rng.random((b, 1, nq, nk)) < 0.7
        mask[:, :, ::5, :] = False  # every fifth query sees no key
        mask_type = mlir_type(mask.shape, "i1")
    elif o.get("mask") == "additive":
        mask = (rng.standard_normal((b, 1, nq, nk)) * 0.5).astype(np.float32)
        mask[..., nk - 17:] = -10000.0
        mask_type = mlir_type(mask.shape, "f32")

    work = os.path.join(args.workdir, name)
    feeds = {"q": q, "k": k, "v": v}
    if element == "bf16":
        for key in list(feeds):
            bits, rounded = to_bf16(feeds[key])
            feeds[key] = bits
            {"q": q, "k": k, "v": v}[key][...] = rounded
    attrs = []
    if o.get("causal"):
        attrs.append("causal")
        if o.get("offset"):
            attrs.append(f"causal_offset = {o['offset']} : i64")
    if h != hk:
        attrs.append(f"kv_group = {h // hk} : i64")
    if o.get("softcap"):
        attrs.append(f"softcap = {o['softcap']} : f64")
    if o.get("zero_rows"):
        attrs.append("zero_masked_rows")
    products = o.get("precision") == "bf16"
    if o.get("tiles"):
        attrs.append("schedule = #attn.schedule<kind = blocked, "
                     f"vector_width = 16, tiles = {o['tiles']}, "
                     "parallel = true"
                     f"{', bf16 = true' if products else ''}>")
    types = [mlir_type(x.shape, element) for x in (q, k, v)]
    out_type = mlir_type((b, h, nq, dv), element)
    operands = "%q, %k, %v" + (" mask %m" if mask is not None else "")
    arg_types = types + ([mask_type] if mask is not None else [])
    params = [f'%q: {types[0]} {{attn.name = "q"}}',
              f'%k: {types[1]} {{attn.name = "k"}}',
              f'%v: {types[2]} {{attn.name = "v"}}']
    if mask is not None:
        params.append(f'%m: {mask_type} {{attn.name = "m"}}')
    text = (f"func.func @{name}({', '.join(params)}) -> ({out_type} "
            '{attn.name = "out"}) {\n'
            f"  %0 = attn.sdpa {operands} {{{', '.join(attrs)}}} : "
            f"({', '.join(arg_types)}) -> {out_type}\n"
            f"  return %0 : {out_type}\n}}\n")
    if mask is not None:
        feeds["m"] = mask
    precision = o.get("precision", "fp32")
    path, got = compile_and_run(args.tools, work, name, text, feeds,
                                options=[f"--precision={precision}"])
    if element == "bf16":
        got = from_bf16(got)
    form_ok = True
    if products:
        # The operands as attnc rounds them: queries after the scale (and
        # log2 e, folded into them unless a soft cap needs natural units).
        c = np.float32(1 / math.sqrt(d) * (1 if o.get("softcap")
                                            else math.log2(math.e)))
        q = to_bf16(q * c)[1].astype(np.float64) / float(c)
        k, v = to_bf16(k)[1], to_bf16(v)[1]
        stmt = subprocess.run([os.path.join(args.tools, "attnc"), path,
                               "--emit=stmt", "-o", "-",
                               f"--precision={precision}"], check=True,
                              capture_output=True, text=True).stdout
        form_ok = ("bfloat16" in stmt and "vector_reduce(Add" in stmt)
    ref = reference(q, k, v, mask, o)
    scale = max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(got.astype(np.float64) - ref)))
    tol = (4e-3 if element == "bf16" else 1e-5) * scale
    if products:
        tol += 2.0**-8 * float(np.max(np.abs(v)))
    ok = err <= tol and np.all(np.isfinite(got)) and form_ok
    print(f"{name}: max abs error {err:.3e} (tolerance {tol:.1e}): "
          f"{'PASS' if ok else 'FAIL'}", flush=True)
    return ok


if __name__ == "__main__":
    run_cases(CASES, run_case)
