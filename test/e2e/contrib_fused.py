#!/usr/bin/env python3
"""Compiles small models with the operators ONNX Runtime's transformer
optimizer writes beyond the plain attention ones (every mask_index form of
com.microsoft Attention, attention_bias, packed MultiHeadAttention, the
fused layer norms, EmbedLayerNormalization, BiasAdd, BiasSplitGelu,
FusedMatMul, com.microsoft RotaryEmbedding), runs them with attnc-run and
compares with float64 numpy references written from the operators'
documented semantics.

  contrib_fused.py --tools DIR --workdir DIR

Pass: max |out - ref| <= 1e-5 x max(1, max |ref|) for every output.
"""

import math
import sys

import numpy as np

from contrib_ops import heads, merge, run_all

HEADER = '<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>\n'
FILTER = -10000.0  # mask_filter_value's default


def attend(q, k, v, additive=None, scale=None):
    """softmax(scale·q·kᵀ + additive)·v over [B, N, S, H] operands."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = scale * q @ k.transpose(0, 1, 3, 2)
    if additive is not None:
        s = s + additive
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return (e / e.sum(-1, keepdims=True)) @ v


def filtered(keep):
    return np.where(keep, 0.0, FILTER)


def attention_case(rng, mask, mask_type, keep, bias=None):
    b, s, hid, n = 2, 5, 16, 2
    x = rng.standard_normal((b, s, hid)).astype(np.float32)
    w = (rng.standard_normal((hid, 3 * hid)) * 0.3).astype(np.float32)
    wb = (rng.standard_normal(3 * hid) * 0.1).astype(np.float32)
    inputs = {"x": x, "w": w, "wb": wb, "mask": mask}
    extra = ""
    if bias is not None:
        inputs["attn_bias"] = bias
        extra = ", , float[%s] attn_bias" % ",".join(map(str, bias.shape))
    args = "x, w, wb, mask" + (", , attn_bias" if bias is not None else "")
    text = HEADER + f"""g (float[2,5,16] x, float[16,48] w, float[48] wb, {mask_type} mask{extra.replace(', , ', ', ')}) => (float[2,5,16] y)
{{
  y = com.microsoft.Attention <num_heads = 2> ({args})
}}"""
    qkv = x.astype(np.float64) @ w + wb
    q, k, v = (heads(qkv[..., i * hid:(i + 1) * hid], n) for i in range(3))
    additive = filtered(keep)
    if bias is not None:
        additive = additive + bias
    return text, inputs, {"y": merge(attend(q, k, v, additive))}


def attention_cases(rng):
    keys = np.arange(5)
    ends = np.array([5, 3], np.int32)
    starts = np.array([1, 0], np.int32)
    per_query = (rng.random((2, 5, 5)) < 0.7).astype(np.int32)
    per_query[:, :, 0] = 1
    long = (rng.random((2, 1, 8, 8)) < 0.7).astype(np.int32)
    long[..., 0] = 1
    padding = np.ones((2, 5), np.int32)
    padding[1, 4:] = 0
    bias = (rng.standard_normal((1, 2, 5, 5))).astype(np.float32)
    return {
        "attention_mask_ends": attention_case(
            rng, ends, "int32[2]",
            (keys[None, :] < ends[:, None])[:, None, None, :]),
        "attention_mask_ends_starts": attention_case(
            rng, np.concatenate([ends, starts]), "int32[4]",
            ((keys[None, :] < ends[:, None]) &
             (keys[None, :] >= starts[:, None]))[:, None, None, :]),
        # Key lengths, then the cumulative query and key starts of a
        # padding-free packing (3·B + 2): the lengths decide the keys.
        "attention_mask_packed": attention_case(
            rng, np.array([5, 3, 0, 5, 8, 0, 5, 8], np.int32), "int32[8]",
            (keys[None, :] < ends[:, None])[:, None, None, :]),
        "attention_mask_3d": attention_case(
            rng, per_query, "int32[2,5,5]", (per_query != 0)[:, None]),
        "attention_mask_4d": attention_case(
            rng, long, "int32[2,1,8,8]", long[:, :, :5, :5] != 0),
        "attention_bias": attention_case(
            rng, padding, "int32[2,5]", (padding != 0)[:, None, None, :],
            bias),
    }


def case_packed_qkv(rng):
    b, s, n, h = 2, 4, 2, 8
    qkv = rng.standard_normal((b, s, n, 3, h)).astype(np.float32)
    bias = (rng.standard_normal(3 * n * h) * 0.1).astype(np.float32)
    text = HEADER + """g (float[2,4,2,3,8] qkv, float[48] bias) => (float[2,4,16] y)
{
  y = com.microsoft.MultiHeadAttention <num_heads = 2> (qkv, , , bias)
}"""
    parts = [qkv[:, :, :, i, :].astype(np.float64) +
             bias[i * n * h:(i + 1) * n * h].reshape(n, h) for i in range(3)]
    q, k, v = (p.transpose(0, 2, 1, 3) for p in parts)
    return text, {"qkv": qkv, "bias": bias}, {"y": merge(attend(q, k, v))}


def case_packed_kv(rng):
    b, s, l, n, h = 2, 3, 6, 2, 8
    q = rng.standard_normal((b, s, n * h)).astype(np.float32)
    kv = rng.standard_normal((b, l, n, 2, h)).astype(np.float32)
    bias = (rng.standard_normal(3 * n * h) * 0.1).astype(np.float32)
    lengths = np.array([6, 4], np.int32)
    text = HEADER + """g (float[2,3,16] q, float[2,6,2,2,8] kv, float[48] bias, int32[2] lengths) => (float[2,3,16] y)
{
  y = com.microsoft.MultiHeadAttention <num_heads = 2> (q, kv, , bias, lengths)
}"""
    d = n * h
    q4 = heads(q.astype(np.float64) + bias[:d], n)
    k4, v4 = (
        (kv[:, :, :, i, :].astype(np.float64) +
         bias[d + i * d:d + (i + 1) * d].reshape(n, h)).transpose(0, 2, 1, 3)
        for i in range(2))
    keep = (np.arange(l)[None, :] < lengths[:, None])[:, None, None, :]
    return text, {"q": q, "kv": kv, "bias": bias, "lengths": lengths}, \
        {"y": merge(attend(q4, k4, v4, filtered(keep)))}


def rms(t, gamma, eps):
    return t / np.sqrt((t * t).mean(-1, keepdims=True) + eps) * gamma


def case_skip_simplified(rng):
    x, skip = (rng.standard_normal((2, 5, 16)).astype(np.float32)
               for _ in range(2))
    gamma, bias = (rng.standard_normal(16).astype(np.float32)
                   for _ in range(2))
    text = HEADER + """g (float[2,5,16] x, float[2,5,16] skip, float[16] gamma, float[16] bias) => (float[2,5,16] y, float[2,5,16] sum)
{
  y, , , sum = com.microsoft.SkipSimplifiedLayerNormalization <epsilon = 0.00001> (x, skip, gamma, bias)
}"""
    t = x.astype(np.float64) + skip + bias
    return text, {"x": x, "skip": skip, "gamma": gamma, "bias": bias}, \
        {"y": rms(t, gamma, 1e-5), "sum": t}


def case_simplified(rng):
    x = rng.standard_normal((3, 7, 32)).astype(np.float32)
    gamma = rng.standard_normal(32).astype(np.float32)
    text = HEADER + """g (float[3,7,32] x, float[32] gamma) => (float[3,7,32] y)
{
  y = SimplifiedLayerNormalization <epsilon = 0.000001, axis = -1> (x, gamma)
}"""
    return text, {"x": x, "gamma": gamma}, \
        {"y": rms(x.astype(np.float64), gamma, 1e-6)}


def case_embed(rng):
    b, s, vocab, hid = 2, 6, 30, 16
    ids = rng.integers(0, vocab, (b, s)).astype(np.int32)
    segments = rng.integers(0, 2, (b, s)).astype(np.int32)
    word = rng.standard_normal((vocab, hid)).astype(np.float32)
    pos = rng.standard_normal((10, hid)).astype(np.float32)
    seg = rng.standard_normal((2, hid)).astype(np.float32)
    gamma, beta = (rng.standard_normal(hid).astype(np.float32)
                   for _ in range(2))
    mask = np.ones((b, s), np.int32)
    mask[1, 4:] = 0
    text = HEADER + """g (int32[2,6] ids, int32[2,6] segments, float[30,16] word, float[10,16] pos, float[2,16] seg, float[16] gamma, float[16] beta, int32[2,6] mask) => (float[2,6,16] y, int32[2] mask_index, float[2,6,16] sum)
{
  y, mask_index, sum = com.microsoft.EmbedLayerNormalization <epsilon = 0.00001> (ids, segments, word, pos, seg, gamma, beta, mask)
}"""
    t = word[ids].astype(np.float64) + pos[np.arange(s)][None] + seg[segments]
    mean = t.mean(-1, keepdims=True)
    var = ((t - mean) ** 2).mean(-1, keepdims=True)
    y = (t - mean) / np.sqrt(var + 1e-5) * gamma + beta
    return text, {"ids": ids, "segments": segments, "word": word, "pos": pos,
                  "seg": seg, "gamma": gamma, "beta": beta, "mask": mask}, \
        {"y": y, "mask_index": mask.sum(1).astype(np.int32), "sum": t}


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def case_bias_ops(rng):
    x = rng.standard_normal((2, 4, 16)).astype(np.float32)
    skip = rng.standard_normal((2, 4, 16)).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    text = HEADER + """g (float[2,4,16] x, float[16] bias, float[2,4,16] skip) => (float[2,4,16] sum, float[2,4,8] geglu)
{
  sum = com.microsoft.BiasAdd (x, bias, skip)
  geglu = com.microsoft.BiasSplitGelu (x, bias)
}"""
    h = x.astype(np.float64) + bias
    return text, {"x": x, "bias": bias, "skip": skip}, \
        {"sum": h + skip, "geglu": h[..., :8] * gelu(h[..., 8:])}


def case_fused_matmul(rng):
    a = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    b = rng.standard_normal((7, 6)).astype(np.float32)
    text = HEADER + """g (float[2,3,6,5] a, float[7,6] b) => (float[2,3,5,7] y)
{
  y = com.microsoft.FusedMatMul <alpha = 0.5, transA = 1, transB = 1> (a, b)
}"""
    ref = 0.5 * a.astype(np.float64).transpose(0, 1, 3, 2) @ b.T
    return text, {"a": a, "b": b}, {"y": ref}


def rotate(x, cos, sin):
    """Rotates the halves of x [B, N, S, H] by cos, sin [B, S, H/2]."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    c, s = cos[:, None], sin[:, None]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)


def case_rotary(rng, offset):
    b, s, n, h, maxpos = 2, 5, 2, 8, 12
    x = rng.standard_normal((b, s, n * h)).astype(np.float32)
    angles = rng.standard_normal((maxpos, h // 2))
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(
        np.float32)
    if offset:
        positions = np.array([3], np.int64)
        rows = np.broadcast_to(np.arange(s) + 3, (b, s))
        ptype = "int64[1]"
    else:
        positions = rng.integers(0, maxpos, (b, s)).astype(np.int64)
        rows = positions
        ptype = "int64[2,5]"
    text = HEADER + f"""g (float[2,5,16] x, {ptype} positions, float[12,4] cos, float[12,4] sin) => (float[2,5,16] y)
{{
  y = com.microsoft.RotaryEmbedding <num_heads = 2> (x, positions, cos, sin)
}}"""
    ref = merge(rotate(heads(x.astype(np.float64), n), cos[rows], sin[rows]))
    return text, {"x": x, "positions": positions, "cos": cos, "sin": sin}, \
        {"y": ref}


def main():
    def cases(rng):
        all_cases = attention_cases(rng)
        all_cases.update({
            "mha_packed_qkv": case_packed_qkv(rng),
            "mha_packed_kv": case_packed_kv(rng),
            "skip_simplified_layer_norm": case_skip_simplified(rng),
            "simplified_layer_norm": case_simplified(rng),
            "embed_layer_norm": case_embed(rng),
            "bias_add_split_gelu": case_bias_ops(rng),
            "fused_matmul": case_fused_matmul(rng),
            "rotary_positions": case_rotary(rng, False),
            "rotary_offset": case_rotary(rng, True),
        })
        return all_cases
    return run_all(11, cases)


if __name__ == "__main__":
    sys.exit(main())
