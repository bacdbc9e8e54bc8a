#!/usr/bin/env python3
"""Compiles the ONNX Attention operator of opsets 23 to 25 (past keys and
values of run-time length with a causal mask or a window, an external KV
cache given by nonpad_kv_seqlen, sliding windows, a mask shorter than the
keys) with attnc, with dynamic sequence lengths, runs it with attnc-run at
several lengths, and compares with a float64 numpy reference written from
the operator's specification.

  onnx_attention.py --tools DIR --workdir DIR

Pass: max |out - ref| <= 1e-5 x max(1, max |ref|). Prints one line per case
and `PASS` at the end; exits 1 on a mismatch.
"""

import sys

import numpy as np

from contrib_ops import run_all


def reference(q, k, v, mask=None, lengths=None, causal=False, left=-1,
              right=-1):
    """Y for 4-D q [B, Hq, Nq, D], k/v [B, Hkv, Nk, D]; rows with no key
    attended give 0."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    b, hq, nq, d = q.shape
    nk = k.shape[2]
    group = hq // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    keys = np.arange(nk)[None, None, None, :]
    queries = np.arange(nq)[None, None, :, None]
    if lengths is not None:
        allowed = keys < lengths[:, None, None, None]
        pos = queries + (lengths[:, None, None, None] - nq)
    else:
        allowed = np.ones((1, 1, 1, nk), bool)
        pos = queries
    if causal:
        allowed = allowed & (keys <= pos)
    if left >= 0:
        allowed = allowed & (keys >= pos - left)
    if right >= 0:
        allowed = allowed & (keys <= pos + right)
    if mask is not None:
        if mask.shape[-1] < nk:  # keys past the mask are not attended
            fill = False if mask.dtype == bool else -np.inf
            pad = np.full(mask.shape[:-1] + (nk - mask.shape[-1],), fill)
            mask = np.concatenate([mask, pad.astype(mask.dtype)], axis=-1)
        if mask.dtype == bool:
            allowed = allowed & mask
        else:
            s = s + mask.astype(np.float64)
    s = np.where(allowed, s, -np.inf)
    row_max = s.max(axis=-1, keepdims=True)
    empty = np.isneginf(row_max)
    e = np.exp(s - np.where(empty, 0, row_max))
    p = np.where(empty, 0, e / np.where(empty, 1, e.sum(-1, keepdims=True)))
    return p @ v


def case_external_cache(rng, nq, nk, lengths):
    """Opset 24: K and V are the whole cache; nonpad_kv_seqlen marks the
    valid keys of each batch entry and aligns the causal mask to them."""
    text = """<ir_version: 9, opset_import: ["" : 24]>
g (float[2,4,S,8] q, float[2,2,L,8] k, float[2,2,L,8] v, int64[2] n)
  => (float[2,4,S,8] y)
{
  y = Attention <is_causal = 1> (q, k, v, , , , n)
}"""
    q = rng.standard_normal((2, 4, nq, 8)).astype(np.float32)
    k = rng.standard_normal((2, 2, nk, 8)).astype(np.float32)
    v = rng.standard_normal((2, 2, nk, 8)).astype(np.float32)
    n = np.array(lengths, np.int64)
    ref = reference(q, k, v, lengths=n, causal=True)
    return text, {"q": q, "k": k, "v": v, "n": n}, {"y": ref}


def case_window(rng, n, left, right, causal):
    """Opset 25: a sliding window over 3-D inputs with a boolean mask."""
    text = f"""<ir_version: 9, opset_import: ["" : 25]>
g (float[1,S,16] q, float[1,S,16] k, float[1,S,16] v, bool[S,S] m)
  => (float[1,S,16] y)
{{
  y = Attention <q_num_heads = 2, kv_num_heads = 2, is_causal = {causal},
                 left_window_size = {left}, right_window_size = {right}>
                (q, k, v, m)
}}"""
    q = rng.standard_normal((1, n, 16)).astype(np.float32)
    k = rng.standard_normal((1, n, 16)).astype(np.float32)
    v = rng.standard_normal((1, n, 16)).astype(np.float32)
    m = rng.random((n, n)) > 0.2

    def split(x):
        return x.reshape(1, n, 2, 8).transpose(0, 2, 1, 3)

    y = reference(split(q), split(k), split(v), mask=m, causal=bool(causal),
                  left=left, right=right)
    ref = y.transpose(0, 2, 1, 3).reshape(1, n, 16)
    return text, {"q": q, "k": k, "v": v, "m": m}, {"y": ref}


def case_past(rng, nq, past, left=-1):
    """Opset 23: past_key and past_value of run-time length P concatenated
    before the new keys and values, the causal mask (and a left window)
    aligned to the past: query i is position P + i. Also returns the
    present key and value."""
    window = f", left_window_size = {left}" if left >= 0 else ""
    opset = 25 if left >= 0 else 23
    text = f"""<ir_version: 9, opset_import: ["" : {opset}]>
g (float[1,4,S,8] q, float[1,2,S,8] k, float[1,2,S,8] v,
   float[1,2,P,8] pk, float[1,2,P,8] pv)
  => (float[1,4,S,8] y, float[1,2,T,8] present_k, float[1,2,T,8] present_v)
{{
  y, present_k, present_v = Attention <is_causal = 1{window}> (q, k, v, , pk, pv)
}}"""
    q = rng.standard_normal((1, 4, nq, 8)).astype(np.float32)
    k = rng.standard_normal((1, 2, nq, 8)).astype(np.float32)
    v = rng.standard_normal((1, 2, nq, 8)).astype(np.float32)
    pk = rng.standard_normal((1, 2, past, 8)).astype(np.float32)
    pv = rng.standard_normal((1, 2, past, 8)).astype(np.float32)
    kk = np.concatenate([pk, k], axis=2)
    vv = np.concatenate([pv, v], axis=2)
    n = np.array([past + nq], np.int64)
    ref = reference(q, kk, vv, lengths=n, causal=True, left=left)
    return text, {"q": q, "k": k, "v": v, "pk": pk, "pv": pv}, \
        {"y": ref, "present_k": kk, "present_v": vv}


def case_short_mask(rng):
    """A float mask over fewer keys than K has: the rest are not attended."""
    text = """<ir_version: 9, opset_import: ["" : 24]>
g (float[1,2,3,8] q, float[1,2,6,8] k, float[1,2,6,8] v, float[3,4] m)
  => (float[1,2,3,8] y)
{
  y = Attention (q, k, v, m)
}"""
    q = rng.standard_normal((1, 2, 3, 8)).astype(np.float32)
    k = rng.standard_normal((1, 2, 6, 8)).astype(np.float32)
    v = rng.standard_normal((1, 2, 6, 8)).astype(np.float32)
    m = rng.standard_normal((3, 4)).astype(np.float32)
    ref = reference(q, k, v, mask=m)
    return text, {"q": q, "k": k, "v": v, "m": m}, {"y": ref}


def main():
    return run_all(11, lambda rng: {
        # Prefill and decode, a fully padded tail, and more queries than
        # valid keys (the leading rows attend nothing and give 0).
        "cache_prefill": case_external_cache(rng, 5, 9, [7, 9]),
        "cache_decode": case_external_cache(rng, 1, 12, [4, 12]),
        "cache_short": case_external_cache(rng, 6, 6, [3, 6]),
        "window_causal": case_window(rng, 9, 2, -1, 1),
        "window_bidirectional": case_window(rng, 7, 1, 2, 0),
        "window_right_only": case_window(rng, 5, -1, 1, 0),
        "short_mask": case_short_mask(rng),
        # A decode step and a chunk after a past of run-time length.
        "past_decode": case_past(rng, 1, 11),
        "past_chunk": case_past(rng, 4, 6),
        "past_window": case_past(rng, 3, 7, left=4),
    })


if __name__ == "__main__":
    sys.exit(main())
