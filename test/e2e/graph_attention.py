#!/usr/bin/env python3
"""attn.graph_attention against float64, written in the dialect and as
torch-style exports write a graph attention layer.

Dialect cases: one attn.graph_attention per case, compiled for the host by
`attnc --emit=shared-lib` (the Tile pass's block_sparse schedule, a
hand-written one with small blocks so that every block tail appears, or
the generic dense form), run by attnc-run and compared with a float64
numpy reference. The adjacencies are block-diagonal (graphs batched into
one adjacency, so most blocks are empty and skipped), random and sparse,
or broadcast over the heads; some nodes have no neighbour (attnc gives 0
there). The lowered statement of a block_sparse case must test the block
occupancy.

ONNX cases: LeakyReLU(a₁·Whᵢ + a₂·Whⱼ) masked by an adjacency and a
softmax over the neighbours, written as the usual torch implementations
export it (several heads with masked_fill(adj == 0, lowest float); one head with
MatMul by [F, 1] vectors and where(adj > 0, e, -9e15)); each must fuse into
attn.graph_attention (no softmax left) and match float64 numpy.

Tolerance: 1e-5 × max(1, max|ref|) for float32; 2e-3 × max(1, max|ref|)
for float16 inputs (computed in float32; the output is rounded to
float16, 2^-11 relative).

  graph_attention.py --tools BIN_DIR --workdir DIR
"""

import argparse
import os
import subprocess
import sys
import zlib

import numpy as np

from attn_case import compile_and_run, mlir_type

# (name, options)
CASES = [
    ("block_diagonal", dict(h=2, n=300, m=300, dv=8, graph="blocks")),
    ("block_diagonal_small_blocks", dict(h=2, n=100, m=100, dv=8,
                                         graph="blocks", tiles=[8, 32])),
    ("random_sparse", dict(h=3, n=130, m=150, dv=24, graph="random")),
    ("heads_own_graphs", dict(h=2, n=90, m=90, dv=8, graph="random",
                              adj_heads=True)),
    ("generic_form", dict(h=2, n=70, m=90, dv=8, graph="random",
                          generic=True)),
    ("float16", dict(h=2, n=100, m=100, dv=16, graph="blocks",
                     dtype="f16")),
]


def graph(rng, n, m, kind):
    """An adjacency [n, m]: graphs of 12 to 30 nodes batched block-
    diagonally with 30 % of the edges inside a graph, or 5 % random
    edges; every seventh node has no edge."""
    if kind == "blocks":
        adj = np.zeros((n, m), bool)
        start = 0
        while start < min(n, m):
            size = int(rng.integers(12, 31))
            end = min(start + size, n, m)
            adj[start:end, start:end] = rng.random((end - start,
                                                    end - start)) < 0.3
            start = end
    else:
        adj = rng.random((n, m)) < 0.05
    adj[::7, :] = False
    return adj


def reference(src, dst, v, adj, slope):
    """float64 graph attention; rows without neighbours are 0."""
    e = src[..., :, None] + dst[..., None, :]
    e = np.where(e < 0, e * slope, e)
    e = np.where(adj, e, -np.inf)
    mx = e.max(axis=-1, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    p = np.where(adj, np.exp(e - mx), 0.0)
    total = p.sum(axis=-1, keepdims=True)
    out = p @ v
    return np.where(total > 0, out / np.where(total > 0, total, 1), 0.0)


def run_dialect_case(args, name, o):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    h, n, m, dv = o["h"], o["n"], o["m"], o["dv"]
    element = o.get("dtype", "f32")
    npt = np.float16 if element == "f16" else np.float32
    src = rng.standard_normal((2, h, n)).astype(npt)
    dst = rng.standard_normal((2, h, m)).astype(npt)
    v = rng.standard_normal((2, h, m, dv)).astype(npt)
    if o.get("adj_heads"):
        adj = np.stack([np.stack([graph(rng, n, m, o["graph"])
                                  for _ in range(h)]) for _ in range(2)])
    else:
        adj = np.stack([graph(rng, n, m, o["graph"])
                        for _ in range(2)])[:, None]
    slope = 0.2
    attrs = [f"negative_slope = {slope} : f64"]
    if o.get("tiles"):
        attrs.append("schedule = #attn.schedule<kind = block_sparse, "
                     f"vector_width = 16, tiles = {o['tiles']}, "
                     "parallel = true>")
    if o.get("generic"):
        attrs.append("schedule = #attn.schedule<>")
    types = [mlir_type(x.shape, element) for x in (src, dst, v)]
    adj_type = mlir_type(adj.shape, "i1")
    out_type = mlir_type((2, h, n, dv), element)
    text = (f'func.func @{name}(%s: {types[0]} {{attn.name = "src"}}, '
            f'%t: {types[1]} {{attn.name = "dst"}}, '
            f'%v: {types[2]} {{attn.name = "v"}}, '
            f'%a: {adj_type} {{attn.name = "adj"}}) -> ({out_type} '
            '{attn.name = "out"}) {\n'
            f"  %0 = attn.graph_attention %s, %t, %v, %a "
            f"{{{', '.join(attrs)}}} : ({', '.join(types)}, {adj_type}) "
            f"-> {out_type}\n  return %0 : {out_type}\n}}\n")
    work = os.path.join(args.workdir, name)
    path, got = compile_and_run(args.tools, work, name, text,
                                {"src": src, "dst": dst, "v": v, "adj": adj})
    form_ok = True
    if not o.get("generic"):
        stmt = subprocess.run([os.path.join(args.tools, "attnc"), path,
                               "--emit=stmt", "-o", "-"], check=True,
                              capture_output=True, text=True).stdout
        form_ok = "_occupied[" in stmt and "if (" in stmt
    ref = reference(src.astype(np.float64), dst.astype(np.float64),
                    v.astype(np.float64), adj, slope)
    return report(name, got, ref, 2e-3 if element == "f16" else 1e-5,
                  form_ok)


def report(name, got, ref, rel, form_ok=True):
    scale = max(1.0, float(np.max(np.abs(ref))))
    good = got.shape == ref.shape
    err = float(np.max(np.abs(got.astype(np.float64) - ref))) if good \
        else float("inf")
    ok = good and err <= rel * scale and bool(np.all(np.isfinite(got))) \
        and form_ok
    print(f"{name}: max abs error {err:.3e} (tolerance {rel * scale:.1e})"
          f"{'' if form_ok else ', no block test in the statement'}: "
          f"{'PASS' if ok else 'FAIL'}", flush=True)
    return ok


def onnx_heads(rng):
    """Several heads, masked_fill(adj == 0, lowest float) on an int64 adjacency."""
    b, n, f, heads, out = 2, 200, 12, 2, 8
    w = (rng.standard_normal((f, heads * out)) * 0.3).astype(np.float32)
    a1 = (rng.standard_normal((1, heads, 1, out)) * 0.3).astype(np.float32)
    a2 = (rng.standard_normal((1, heads, 1, out)) * 0.3).astype(np.float32)

    def floats(a):
        return ", ".join(repr(float(x)) for x in a.ravel())
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g (float[B,N,{f}] x, int64[B,N,N] adj) => (float[B,N,{heads * out}] y)
<float[{f},{heads * out}] w = {{{floats(w)}}},
 float[1,{heads},1,{out}] a1 = {{{floats(a1)}}},
 float[1,{heads},1,{out}] a2 = {{{floats(a2)}}},
 int64[4] split = {{0, 0, {heads}, {out}}}, int64[3] merge = {{0, 0, -1}},
 int64[1] last = {{-1}}, int64[1] one = {{1}}, int64 zero = {{0}},
 float ninf = {{-3.4028235e38}}>
{{
  p = MatMul (x, w)
  r = Reshape (p, split)
  wh = Transpose <perm = [0, 2, 1, 3]> (r)
  s1 = Mul (wh, a1)
  src = ReduceSum <keepdims = 1> (s1, last)
  s2 = Mul (wh, a2)
  dst = ReduceSum <keepdims = 1> (s2, last)
  dt = Transpose <perm = [0, 1, 3, 2]> (dst)
  e0 = Add (src, dt)
  e = LeakyRelu <alpha = 0.2> (e0)
  a = Unsqueeze (adj, one)
  none = Equal (a, zero)
  masked = Where (none, ninf, e)
  att = Softmax <axis = -1> (masked)
  o = MatMul (att, wh)
  ot = Transpose <perm = [0, 2, 1, 3]> (o)
  y = Reshape (ot, merge)
}}"""
    x = rng.standard_normal((b, n, f)).astype(np.float32)
    adj = np.stack([graph(rng, n, n, "blocks") | np.eye(n, dtype=bool)
                    for _ in range(b)]).astype(np.int64)
    adj[1, 5, :] = 0  # a node without neighbours
    wh = (x.astype(np.float64) @ w).reshape(b, n, heads, out)
    wh = wh.transpose(0, 2, 1, 3)
    src = (wh * a1).sum(-1)
    dst = (wh * a2).sum(-1)
    ref = reference(src, dst, wh, adj[:, None] != 0, 0.2)
    ref = ref.transpose(0, 2, 1, 3).reshape(b, n, heads * out)
    return text, {"x": x, "adj": adj}, ref


def onnx_pygat(rng):
    """One head, e = Wh·a[:F] + (Wh·a[F:])ᵀ by MatMul with [F, 1] vectors,
    where(adj > 0, e, -9e15), softmax over axis 1."""
    n, f, out = 150, 10, 16
    w = (rng.standard_normal((f, out)) * 0.3).astype(np.float32)
    a = (rng.standard_normal((2 * out, 1)) * 0.3).astype(np.float32)

    def floats(t):
        return ", ".join(repr(float(x)) for x in t.ravel())
    text = f"""<ir_version: 8, opset_import: ["" : 17]>
g (float[N,{f}] h, float[N,N] adj) => (float[N,{out}] y)
<float[{f},{out}] w = {{{floats(w)}}},
 float[{out},1] a1 = {{{floats(a[:out])}}},
 float[{out},1] a2 = {{{floats(a[out:])}}},
 float zero = {{0.0}}, float fill = {{-9e15}}>
{{
  wh = MatMul (h, w)
  e1 = MatMul (wh, a1)
  e2 = MatMul (wh, a2)
  e2t = Transpose (e2)
  e0 = Add (e1, e2t)
  e = LeakyRelu <alpha = 0.2> (e0)
  keep = Greater (adj, zero)
  masked = Where (keep, e, fill)
  att = Softmax <axis = 1> (masked)
  y = MatMul (att, wh)
}}"""
    h = rng.standard_normal((n, f)).astype(np.float32)
    adj = (graph(rng, n, n, "random") | np.eye(n, dtype=bool))
    wh = h.astype(np.float64) @ w
    src = (wh @ a[:out])[:, 0]
    dst = (wh @ a[out:])[:, 0]
    ref = reference(src, dst, wh, adj, 0.2)
    return text, {"h": h, "adj": adj.astype(np.float32)}, ref


def run_onnx_case(args, name, make):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    text, feeds, ref = make(rng)
    work = os.path.join(args.workdir, name)
    os.makedirs(work, exist_ok=True)
    model = os.path.join(work, "model.onnxtext")
    with open(model, "w") as f:
        f.write(text)
    attnc = os.path.join(args.tools, "attnc")
    ir = subprocess.run([attnc, model, "--emit=mlir", "-o", "-", "--quiet"],
                        check=True, capture_output=True, text=True).stdout
    fused = "attn.graph_attention" in ir and "attn.softmax" not in ir
    print(f"{name} fused: {'attn.graph_attention' if fused else 'MISMATCH'}")
    lib = os.path.join(work, "libmodel.so")
    subprocess.run([attnc, model, "--emit=shared-lib", "-o", lib,
                    "--function-name=model"], check=True)
    cmd = [os.path.join(args.tools, "attnc-run"), lib, "--function=model"]
    for key, value in feeds.items():
        np.save(os.path.join(work, key + ".npy"), value)
        cmd.append(f"--input={key}=@{os.path.join(work, key)}.npy")
    out_path = os.path.join(work, "out.npy")
    cmd.append(f"--output=@{out_path}")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return report(name, np.load(out_path), ref, 1e-5, fused)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    ok = True
    for name, o in CASES:
        ok &= run_dialect_case(args, name, o)
    for name, make in [("onnx_heads", onnx_heads), ("onnx_pygat",
                                                    onnx_pygat)]:
        ok &= run_onnx_case(args, name, make)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
