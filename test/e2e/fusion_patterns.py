#!/usr/bin/env python3
"""Compiles attention written the ways exporters write it, checks that
attnc fused each into its fused op (attn.sdpa, attn.additive_attention or
attn.hard_attention, in the IR after the pipeline), runs it with attnc-run
and compares with float64 numpy.

  fusion_patterns.py --tools DIR --workdir DIR

Pass: every case fused as stated, and max |out - ref| <= 1e-5 x
max(1, max |ref|). Prints one line per case and `PASS` at the end.
"""

import os
import subprocess
import sys

import numpy as np

from contrib_ops import run_all


def softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def case_trilu_causal_padding(rng):
    """Scale split over Q and K, a causal mask from Trilu plus a boolean
    padding mask through where(-inf), the NaN guard after the softmax."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4,S,8] q, float[2,4,S,8] k, float[2,4,S,8] v, bool[2,1,1,S] pad)
  => (float[2,4,S,8] y)
<float c = {0.59460355}, float low = {-3.4e38}, float zero = {0.0}>
{
  qs = Mul (q, c)
  kt = Transpose <perm = [0, 1, 3, 2]> (k)
  ks = Mul (kt, c)
  s = MatMul (qs, ks)
  n = Shape <start = 2, end = 3> (q)
  shape = Concat <axis = 0> (n, n)
  ones = ConstantOfShape <value = bool[1] {1}> (shape)
  keep = Trilu <upper = 0> (ones)
  both = And (keep, pad)
  w = Where (both, s, low)
  p = Softmax <axis = -1> (w)
  bad = IsNaN (p)
  g = Where (bad, zero, p)
  y = MatMul (g, v)
}"""
    n = 7
    q, k, v = (rng.standard_normal((2, 4, n, 8)).astype(np.float32)
               for _ in range(3))
    pad = np.ones((2, 1, 1, n), bool)
    pad[1, ..., 5:] = False
    s = (q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2))
    s *= 0.59460355 ** 2
    keep = np.tril(np.ones((n, n), bool)) & pad
    p = softmax(np.where(keep, s, -np.inf))
    ref = p @ v.astype(np.float64)
    return text, {"q": q, "k": k, "v": v, "pad": pad}, {"y": ref}


def case_repeat_kv(rng):
    """Grouped-query attention with K and V heads repeated as transformers'
    repeat_kv writes it (Unsqueeze, Expand, Reshape), an additive mask."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1,8,S,4] q, float[1,2,S,4] k, float[1,2,S,4] v, float[1,1,S,S] m)
  => (float[1,8,S,4] y)
<int64[1] two = {2}, int64[5] shape = {1, 2, 4, -1, 4}, int64[4] merged = {1, 8, -1, 4}, float d = {2.0}>
{
  k1 = Unsqueeze (k, two)
  n = Shape <start = 2, end = 3> (k)
  fill = Constant <value = int64[3] {1, 2, 4}> ()
  tail = Constant <value = int64[1] {4}> ()
  target = Concat <axis = 0> (fill, n, tail)
  k2 = Expand (k1, target)
  k3 = Reshape (k2, merged)
  v1 = Unsqueeze (v, two)
  v2 = Expand (v1, target)
  v3 = Reshape (v2, merged)
  kt = Transpose <perm = [0, 1, 3, 2]> (k3)
  s = MatMul (q, kt)
  sd = Div (s, d)
  a = Add (sd, m)
  p = Softmax <axis = -1> (a)
  y = MatMul (p, v3)
}"""
    n = 9
    q = rng.standard_normal((1, 8, n, 4)).astype(np.float32)
    k = rng.standard_normal((1, 2, n, 4)).astype(np.float32)
    v = rng.standard_normal((1, 2, n, 4)).astype(np.float32)
    m = (rng.standard_normal((1, 1, n, n)) * 2).astype(np.float32)
    kk = np.repeat(k.astype(np.float64), 4, axis=1)
    vv = np.repeat(v.astype(np.float64), 4, axis=1)
    p = softmax(q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / 2.0 + m)
    return text, {"q": q, "k": k, "v": v, "m": m}, {"y": p @ vv}


def case_softcap_causal(rng):
    """Gemma-2's soft-capped scores: c · tanh(s / c) after the scale, then
    an additive causal mask."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4,S,8] q, float[2,4,S,8] k, float[2,4,S,8] v, float[1,1,S,S] m)
  => (float[2,4,S,8] y)
<float scale = {0.35355339}, float cap = {5.0}>
{
  kt = Transpose <perm = [0, 1, 3, 2]> (k)
  s = MatMul (q, kt)
  ss = Mul (s, scale)
  d = Div (ss, cap)
  t = Tanh (d)
  capped = Mul (t, cap)
  a = Add (capped, m)
  p = Softmax <axis = -1> (a)
  y = MatMul (p, v)
}"""
    n = 7
    q, k, v = (rng.standard_normal((2, 4, n, 8)).astype(np.float32) * 2
               for _ in range(3))
    m = np.where(np.tril(np.ones((n, n), bool)), 0.0,
                 -3.4028235e38).astype(np.float32)[None, None]
    s = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2)
    s = 5.0 * np.tanh(s * 0.35355339 / 5.0)
    p = softmax(np.where(m > -1, s, -np.inf))
    return text, {"q": q, "k": k, "v": v, "m": m}, \
        {"y": p @ v.astype(np.float64)}


def case_mqa_expand(rng):
    """Falcon's multi-query attention: the one K/V head expanded to the
    query heads before the products."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,8,S,4] q, float[2,1,S,4] k, float[2,1,S,4] v) => (float[2,8,S,4] y)
<float d = {2.0}>
{
  n = Shape <start = 2, end = 3> (k)
  lead = Constant <value = int64[2] {2, 8}> ()
  tail = Constant <value = int64[1] {4}> ()
  target = Concat <axis = 0> (lead, n, tail)
  ke = Expand (k, target)
  ve = Expand (v, target)
  kt = Transpose <perm = [0, 1, 3, 2]> (ke)
  s = MatMul (q, kt)
  sd = Div (s, d)
  p = Softmax <axis = -1> (sd)
  y = MatMul (p, ve)
}"""
    n = 6
    q = rng.standard_normal((2, 8, n, 4)).astype(np.float32)
    k, v = (rng.standard_normal((2, 1, n, 4)).astype(np.float32)
            for _ in range(2))
    kk = np.repeat(k.astype(np.float64), 8, axis=1)
    vv = np.repeat(v.astype(np.float64), 8, axis=1)
    p = softmax(q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / 2.0)
    return text, {"q": q, "k": k, "v": v}, {"y": p @ vv}


def case_bmm_sequence_first(rng):
    """Sequence-first multi-head attention as torch.nn.MultiheadAttention
    exports it: heads folded into the batch, [B·H, N, D] products (bmm), a
    constant causal mask added."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[6,5,8] q, float[6,5,8] k, float[6,5,8] v) => (float[6,5,8] y)
<float s = {0.35355339}, float[5,5] m = {0, -1e9, -1e9, -1e9, -1e9,
  0, 0, -1e9, -1e9, -1e9, 0, 0, 0, -1e9, -1e9, 0, 0, 0, 0, -1e9,
  0, 0, 0, 0, 0}>
{
  qs = Mul (q, s)
  kt = Transpose <perm = [0, 2, 1]> (k)
  a = MatMul (qs, kt)
  b = Add (a, m)
  p = Softmax <axis = -1> (b)
  y = MatMul (p, v)
}"""
    q, k, v = (rng.standard_normal((6, 5, 8)).astype(np.float32)
               for _ in range(3))
    s = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 2, 1)
    s = np.where(np.tril(np.ones((5, 5), bool)), s * 0.35355339, -np.inf)
    return text, {"q": q, "k": k, "v": v}, {"y": softmax(s) @ v}


def case_merged_heads(rng):
    """Attention over batch and heads merged into one axis, as DeBERTa-v2
    writes it: Q, K and V reshaped to [B·H, S, D] for rank-3 products, the
    scores (plus a [B·H, S, S] bias) reshaped to [B, H, S, S] around a
    boolean mask and the softmax and back for the product with V, every
    extent read off a Shape. A query whose keys are all masked averages V
    (a softmax over equal lowest floats)."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[B,S,32] x, float[B,S,32] xk, float[B,S,32] xv, float[BH,S,S] bias,
   bool[B,1,S,S] keep) => (float[B,4,S,8] y)
<float c = {2.8284271}, float low = {-3.4028234e38}, int64[4] split = {0, 0, 4, 8},
 int64[1] rest = {-1}, int64[1] heads = {4}, int64[1] dim = {8}>
{
  n = Shape <start = 1, end = 2> (x)
  q4 = Reshape (x, split)
  q4t = Transpose <perm = [0, 2, 1, 3]> (q4)
  qshape = Concat <axis = 0> (rest, n, dim)
  q3 = Reshape (q4t, qshape)
  k4 = Reshape (xk, split)
  k4t = Transpose <perm = [0, 2, 1, 3]> (k4)
  k3 = Reshape (k4t, qshape)
  v4 = Reshape (xv, split)
  v4t = Transpose <perm = [0, 2, 1, 3]> (v4)
  v3 = Reshape (v4t, qshape)
  kt = Transpose <perm = [0, 2, 1]> (k3)
  kts = Div (kt, c)
  s3 = MatMul (q3, kts)
  sb = Add (s3, bias)
  r1 = Shape <start = 1, end = 2> (sb)
  r2 = Shape <start = 2, end = 3> (sb)
  s4shape = Concat <axis = 0> (rest, heads, r1, r2)
  s4 = Reshape (sb, s4shape)
  drop = Not (keep)
  w = Where (drop, low, s4)
  p4 = Softmax <axis = -1> (w)
  p1 = Shape <start = 2, end = 3> (p4)
  p2 = Shape <start = 3, end = 4> (p4)
  p3shape = Concat <axis = 0> (rest, p1, p2)
  p3 = Reshape (p4, p3shape)
  o3 = MatMul (p3, v3)
  o1 = Shape <start = 1, end = 2> (o3)
  yshape = Concat <axis = 0> (rest, heads, o1, dim)
  y = Reshape (o3, yshape)
}"""
    b, n = 2, 6
    x, xk, xv = (rng.standard_normal((b, n, 32)).astype(np.float32)
                 for _ in range(3))
    bias = rng.standard_normal((b * 4, n, n)).astype(np.float32)
    keep = np.ones((b, 1, n, n), bool)
    keep[1, :, :, 4:] = False     # padded keys of the second sequence
    keep[1, :, 5, :] = False      # a query with every key masked
    heads = lambda t: t.astype(np.float64).reshape(b, n, 4, 8).transpose(
        0, 2, 1, 3)
    q, k, v = heads(x), heads(xk), heads(xv)
    s = q @ k.transpose(0, 1, 3, 2) / 2.8284271
    s = s + bias.astype(np.float64).reshape(b, 4, n, n)
    s = np.where(keep, s, -3.4028234e38)
    return text, {"x": x, "xk": xk, "xv": xv, "bias": bias, "keep": keep}, \
        {"y": softmax(s) @ v}


def case_additive_queries(rng):
    """Additive attention over several queries at once: q and k unsqueezed
    against each other, a bias inside the tanh, w · tanh(..) as Mul +
    ReduceSum, scores halved, an additive padding mask; the attention
    weights are a second output."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3,6] q, float[2,5,6] k, float[2,5,4] v, float[6] w,
   float[2,1,5] m) => (float[2,3,4] y, float[2,3,5] p)
<int64[1] a2 = {2}, int64[1] a1 = {1}, int64[1] last = {-1}, float two = {2.0},
 float[6] bias = {0.1, -0.2, 0.3, 0.0, 0.5, -0.4}>
{
  q1 = Unsqueeze (q, a2)
  k1 = Unsqueeze (k, a1)
  x = Add (q1, k1)
  xb = Add (x, bias)
  t = Tanh (xb)
  tw = Mul (t, w)
  s = ReduceSum <keepdims = 0> (tw, last)
  sc = Div (s, two)
  sm = Add (sc, m)
  p = Softmax <axis = -1> (sm)
  y = MatMul (p, v)
}"""
    q = rng.standard_normal((2, 3, 6)).astype(np.float32)
    k = rng.standard_normal((2, 5, 6)).astype(np.float32)
    v = rng.standard_normal((2, 5, 4)).astype(np.float32)
    w = rng.standard_normal(6).astype(np.float32)
    m = np.zeros((2, 1, 5), np.float32)
    m[1, :, 3:] = -10000.0
    bias = np.array([0.1, -0.2, 0.3, 0.0, 0.5, -0.4])
    x = q.astype(np.float64)[:, :, None, :] + k[:, None, :, :] + bias
    s = (np.tanh(x) * w).sum(-1) / 2 + m
    p = softmax(s)
    return (text, {"q": q, "k": k, "v": v, "w": w, "m": m},
            {"y": p @ v, "p": p})


def case_additive_single_query(rng):
    """One decoder step of Bahdanau attention: the projected query [B, A]
    unsqueezed over the keys, v as a [A, 1] MatMul squeezed, a boolean
    keep mask through where(-10000), the context squeezed back to [B, Dv]."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[3,8] q, float[3,7,8] k, float[3,7,5] v, bool[3,7] keep)
  => (float[3,5] y)
<int64[1] a1 = {1}, float low = {-10000.0},
 float[8,1] w = {0.5, -0.25, 0.75, 0.1, -0.6, 0.3, -0.2, 0.4}>
{
  q1 = Unsqueeze (q, a1)
  x = Add (q1, k)
  t = Tanh (x)
  s1 = MatMul (t, w)
  s = Squeeze (s1, last)
  sm = Where (keep, s, low)
  p = Softmax <axis = -1> (sm)
  p1 = Unsqueeze (p, a1)
  c = MatMul (p1, v)
  y = Squeeze (c, a1)
}""".replace("<int64[1] a1 = {1},", "<int64[1] a1 = {1}, int64[1] last = {2},")
    q = rng.standard_normal((3, 8)).astype(np.float32)
    k = rng.standard_normal((3, 7, 8)).astype(np.float32)
    v = rng.standard_normal((3, 7, 5)).astype(np.float32)
    keep = np.ones((3, 7), bool)
    keep[0, 4:] = False
    keep[2, 1] = False
    w = np.array([0.5, -0.25, 0.75, 0.1, -0.6, 0.3, -0.2, 0.4])
    s = np.tanh(q.astype(np.float64)[:, None, :] + k) @ w
    p = softmax(np.where(keep, s, -10000.0))
    return (text, {"q": q, "k": k, "v": v, "keep": keep},
            {"y": np.einsum("bt,btd->bd", p, v)})


def case_additive_broadcast_batch(rng):
    """One query shared by every batch of keys: a query batch of 1 that
    broadcasts against the keys' batch at run time (their extents are
    different symbols)."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[P,8] q, float[B,T,8] k, float[B,T,5] v, float[8,1] w)
  => (float[B,5] y)
<int64[1] a1 = {1}, int64[1] last = {2}>
{
  q1 = Unsqueeze (q, a1)
  x = Add (q1, k)
  t = Tanh (x)
  s1 = MatMul (t, w)
  s = Squeeze (s1, last)
  p = Softmax <axis = -1> (s)
  p1 = Unsqueeze (p, a1)
  c = MatMul (p1, v)
  y = Squeeze (c, a1)
}"""
    q = rng.standard_normal((1, 8)).astype(np.float32)
    k = rng.standard_normal((3, 6, 8)).astype(np.float32)
    v = rng.standard_normal((3, 6, 5)).astype(np.float32)
    w = rng.standard_normal((8, 1)).astype(np.float32)
    s = (np.tanh(q.astype(np.float64)[:, None, :] + k) @ w)[..., 0]
    p = softmax(s)
    return (text, {"q": q, "k": k, "v": v, "w": w},
            {"y": np.einsum("bt,btd->bd", p, v)})


def case_gelu_sigmoid(rng):
    """GELU's sigmoid approximation as CLIP writes it: x · sigmoid(1.702 x)."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[3,40] x) => (float[3,40] y)
<float c = {1.702}>
{
  a = Mul (x, c)
  s = Sigmoid (a)
  y = Mul (x, s)
}"""
    x = (rng.standard_normal((3, 40)) * 4).astype(np.float32)
    xd = x.astype(np.float64)
    return text, {"x": x}, {"y": xd / (1 + np.exp(-1.702 * xd))}


def initializer(name, a):
    """An onnxtext initializer holding the float32 array `a`."""
    dims = ",".join(str(d) for d in a.shape)
    values = ", ".join("%.9g" % v for v in a.reshape(-1))
    return "float[%s] %s = {%s}" % (dims, name, values)


def weights(rng, *shape):
    return (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)


def case_sliced_causal_buffer(rng):
    """The causal mask sliced from a constant lower-triangular buffer,
    bias[:, :, Nk - Nq : Nk, :Nk], as older GPT-2 exports write it."""
    tril = ", ".join("1" if j <= i else "0" for i in range(16)
                     for j in range(16))
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1,2,S,8] q, float[1,2,S,8] k, float[1,2,S,8] v) => (float[1,2,S,8] y)
<bool[1,1,16,16] buf = {%s}, float low = {-3.4e38}, int64[1] zero = {0},
 int64[2] axes = {2, 3}>
{
  nq = Shape <start = 2, end = 3> (q)
  nk = Shape <start = 2, end = 3> (k)
  first = Sub (nk, nq)
  starts = Concat <axis = 0> (first, zero)
  ends = Concat <axis = 0> (nk, nk)
  m = Slice (buf, starts, ends, axes)
  kt = Transpose <perm = [0, 1, 3, 2]> (k)
  s = MatMul (q, kt)
  w = Where (m, s, low)
  p = Softmax <axis = -1> (w)
  y = MatMul (p, v)
}""" % tril
    n = 11
    q, k, v = (rng.standard_normal((1, 2, n, 8)).astype(np.float32)
               for _ in range(3))
    s = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2)
    keep = np.tril(np.ones((n, n), bool))
    ref = softmax(np.where(keep, s, -np.inf)) @ v.astype(np.float64)
    return text, {"q": q, "k": k, "v": v}, {"y": ref}


def case_linear_epilogues(rng):
    """A feed-forward block: relu(x·W1 + b1)·W2 + b2 + x, both products
    with their epilogues in attn.linear."""
    w1, b1 = weights(rng, 16, 32), weights(rng, 32)
    w2, b2 = weights(rng, 32, 16), weights(rng, 16)
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,S,16] x) => (float[2,S,16] y)
<%s, %s, %s, %s>
{
  a = MatMul (x, w1)
  ab = Add (a, b1)
  h = Relu (ab)
  o = MatMul (h, w2)
  ob = Add (b2, o)
  y = Add (ob, x)
}""" % (initializer("w1", w1), initializer("b1", b1), initializer("w2", w2),
        initializer("b2", b2))
    x = rng.standard_normal((2, 9, 16)).astype(np.float32)
    xd = x.astype(np.float64)
    h = np.maximum(xd @ w1 + b1, 0)
    return text, {"x": x}, {"y": h @ w2 + b2 + xd}


def case_silu_gate(rng):
    """LLaMA's gated feed-forward: silu(x·Wg) · (x·Wu), SiLU written as
    g · sigmoid(g). The two projections of x merge into one product."""
    wg, wu = weights(rng, 16, 24), weights(rng, 16, 24)
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[S,16] x) => (float[S,24] y)
<%s, %s>
{
  gate = MatMul (x, wg)
  sg = Sigmoid (gate)
  act = Mul (gate, sg)
  up = MatMul (x, wu)
  y = Mul (act, up)
}""" % (initializer("wg", wg), initializer("wu", wu))
    x = rng.standard_normal((5, 16)).astype(np.float32)
    xd = x.astype(np.float64)
    gate = xd @ wg
    return text, {"x": x}, {"y": gate / (1 + np.exp(-gate)) * (xd @ wu)}


def case_merged_qkv(rng):
    """Q, K and V projections of one input with their biases, a wider Q
    (grouped-query shapes): one product over the concatenated weights,
    read back through slices."""
    wq, wk, wv = weights(rng, 16, 16), weights(rng, 16, 8), weights(rng, 16, 8)
    bq, bk, bv = weights(rng, 16), weights(rng, 8), weights(rng, 8)
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,S,16] x) => (float[2,S,16] q, float[2,S,8] k, float[2,S,8] v)
<%s, %s, %s, %s, %s, %s>
{
  qm = MatMul (x, wq)
  q = Add (qm, bq)
  km = MatMul (x, wk)
  k = Add (km, bk)
  vm = MatMul (x, wv)
  v = Add (vm, bv)
}""" % (initializer("wq", wq), initializer("wk", wk), initializer("wv", wv),
        initializer("bq", bq), initializer("bk", bk), initializer("bv", bv))
    x = rng.standard_normal((2, 6, 16)).astype(np.float32)
    xd = x.astype(np.float64)
    return text, {"x": x}, {"q": xd @ wq + bq, "k": xd @ wk + bk,
                            "v": xd @ wv + bv}


def case_residual_layernorm(rng):
    """Post-norm: LayerNorm(x + r), the add read as the rows are."""
    scale, bias = weights(rng, 32) + 1, weights(rng, 32)
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[3,S,32] x, float[3,S,32] r) => (float[3,S,32] y)
<%s, %s>
{
  s = Add (x, r)
  y = LayerNormalization <axis = -1, epsilon = 1e-5> (s, scale, bias)
}""" % (initializer("scale", scale), initializer("bias", bias))
    x, r = (rng.standard_normal((3, 7, 32)).astype(np.float32)
            for _ in range(2))
    s = x.astype(np.float64) + r
    mean = s.mean(-1, keepdims=True)
    var = ((s - mean) ** 2).mean(-1, keepdims=True)
    ref = (s - mean) / np.sqrt(var + 1e-5) * scale + bias
    return text, {"x": x, "r": r}, {"y": ref}


def clear_argmax(rng, shape_q, shape_k, scale=1.0, keep=None):
    """Q and K whose float64 scores have a clear maximum in every row (a
    margin of 1e-3), so that float32 and float64 select the same key."""
    while True:
        q = rng.standard_normal(shape_q).astype(np.float32)
        k = rng.standard_normal(shape_k).astype(np.float32)
        s = q.astype(np.float64) @ np.swapaxes(k.astype(np.float64), -1, -2)
        s = s * scale
        if keep is not None:
            s = np.where(keep, s, -np.inf)
        top = np.sort(s, axis=-1)
        if (top[..., -1] - top[..., -2]).min() > 1e-3:
            return q, k, s


def case_hard_one_sequence(rng):
    """Hard attention over one sequence: argmax of Q·Kᵀ, the value row
    taken with Gather; the indices are a second output."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[4,8] q, float[6,8] k, float[6,5] v) => (float[4,5] y, int64[4] i)
{
  kt = Transpose <perm = [1, 0]> (k)
  s = MatMul (q, kt)
  i = ArgMax <axis = -1, keepdims = 0> (s)
  y = Gather <axis = 0> (v, i)
}"""
    q, k, s = clear_argmax(rng, (4, 8), (6, 8))
    v = rng.standard_normal((6, 5)).astype(np.float32)
    i = s.argmax(-1)
    return text, {"q": q, "k": k, "v": v}, {"y": v[i].astype(np.float64),
                                            "i": i}


def case_hard_gather_nd(rng):
    """Batched hard attention with a scale and a boolean mask through
    where(lowest float); the rows taken with GatherND (batch_dims = 1)."""
    text = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4,8] q, float[2,6,8] k, float[2,6,5] v, bool[2,1,6] keep)
  => (float[2,4,5] y)
<float c = {0.35355339}, float low = {-3.4e38}, int64[1] a2 = {2}>
{
  kt = Transpose <perm = [0, 2, 1]> (k)
  s = MatMul (q, kt)
  sc = Mul (s, c)
  sm = Where (keep, sc, low)
  i = ArgMax <axis = 2, keepdims = 0> (sm)
  i1 = Unsqueeze (i, a2)
  y = GatherND <batch_dims = 1> (v, i1)
}"""
    keep = np.ones((2, 1, 6), bool)
    keep[1, :, 2] = False
    keep[0, :, 5] = False
    q, k, s = clear_argmax(rng, (2, 4, 8), (2, 6, 8), 0.35355339, keep)
    v = rng.standard_normal((2, 6, 5)).astype(np.float32)
    i = s.argmax(-1)
    y = np.take_along_axis(v.astype(np.float64), i[..., None], axis=1)
    return text, {"q": q, "k": k, "v": v, "keep": keep}, {"y": y}


def fused(tools, workdir, name, text, expect):
    """True when the IR after the pipeline has the expected fused op and no
    softmax or argmax is left."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, name + "_ir.onnxtext")
    with open(path, "w") as f:
        f.write(text)
    ir = subprocess.run([os.path.join(tools, "attnc"), path, "--emit=mlir",
                         "-o", "-", "--quiet"], check=True,
                        stdout=subprocess.PIPE, universal_newlines=True).stdout
    op = expect[0]
    line = next((l for l in ir.splitlines() if op + " " in l), "")
    ok = ("attn.softmax" not in ir and "attn.argmax" not in ir and
          all(e in line for e in expect))
    print("%s fused: %s (expected %s): %s" % (
        name, line.strip()[:160] or "no " + op, ", ".join(expect),
        "ok" if ok else "MISMATCH"))
    return ok


EXPECTED = {
    "trilu_causal_padding": ["attn.sdpa", "zero_masked_rows", "mask"],
    "repeat_kv": ["attn.sdpa", "kv_group = 4", "mask"],
    "softcap_causal": ["attn.sdpa", "mask", "softcap = 5.0"],
    "mqa_expand": ["attn.sdpa", "kv_group = 8"],
    "bmm_sequence_first": ["attn.sdpa", "causal"],
    "merged_heads": ["attn.sdpa", "mask"],
    "additive_queries": ["attn.additive_attention", "mask"],
    "additive_single_query": ["attn.additive_attention", "mask"],
    "additive_broadcast_batch": ["attn.additive_attention"],
    "hard_one_sequence": ["attn.hard_attention"],
    "gelu_sigmoid": ["attn.gelu", "sigmoid"],
    "hard_gather_nd": ["attn.hard_attention", "mask", "scale"],
    "sliced_causal_buffer": ["attn.sdpa", "causal"],
    "linear_epilogues": ["attn.linear", "bias", "activation = \"relu\""],
    "silu_gate": ["attn.matmul", "tensor<16x48xf32>"],
    "merged_qkv": ["attn.linear", "bias", "tensor<16x32xf32>"],
    "residual_layernorm": ["attn.layer_norm", "residual"],
}


def main():
    return run_all(3, lambda rng: {
        "trilu_causal_padding": case_trilu_causal_padding(rng),
        "repeat_kv": case_repeat_kv(rng),
        "softcap_causal": case_softcap_causal(rng),
        "mqa_expand": case_mqa_expand(rng),
        "bmm_sequence_first": case_bmm_sequence_first(rng),
        "merged_heads": case_merged_heads(rng),
        "additive_queries": case_additive_queries(rng),
        "additive_single_query": case_additive_single_query(rng),
        "additive_broadcast_batch": case_additive_broadcast_batch(rng),
        "hard_one_sequence": case_hard_one_sequence(rng),
        "gelu_sigmoid": case_gelu_sigmoid(rng),
        "hard_gather_nd": case_hard_gather_nd(rng),
        "sliced_causal_buffer": case_sliced_causal_buffer(rng),
        "linear_epilogues": case_linear_epilogues(rng),
        "silu_gate": case_silu_gate(rng),
        "merged_qkv": case_merged_qkv(rng),
        "residual_layernorm": case_residual_layernorm(rng),
    }, lambda name, case, args: fused(args.tools, args.workdir, name, case[0],
                                      EXPECTED[name]))


if __name__ == "__main__":
    sys.exit(main())
