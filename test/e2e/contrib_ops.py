#!/usr/bin/env python3
"""Compiles small models with the com.microsoft Transformer operators
(Attention, MultiHeadAttention, GroupQueryAttention, SkipLayerNormalization)
with attnc, runs them with attnc-run on random inputs, and compares with a
float64 numpy reference written from the operators' documented semantics.

  contrib_ops.py --tools DIR --workdir DIR

Pass: max |out - ref| <= 1e-5 x max(1, max |ref|) for every output. Prints
one line per case and `PASS` at the end; exits 1 on a mismatch.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

TOL = 1e-5


def softmax(x, mask=None):
    if mask is not None:
        x = np.where(mask, x, -np.inf)
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def heads(x, n):  # [B, S, N*H] -> [B, N, S, H]
    b, s, d = x.shape
    return x.reshape(b, s, n, d // n).transpose(0, 2, 1, 3)


def merge(y):  # [B, N, S, H] -> [B, S, N*H]
    b, n, s, h = y.shape
    return y.transpose(0, 2, 1, 3).reshape(b, s, n * h)


def sdpa(q, k, v, keep=None, scale=None):
    group = q.shape[1] // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    return softmax(scale * q @ k.transpose(0, 1, 3, 2), keep) @ v


def causal(nq, nk):
    return np.tril(np.ones((nq, nk), dtype=bool))


def case_attention(rng, unidirectional):
    b, s, hid, n = 2, 5, 16, 2
    x = rng.standard_normal((b, s, hid)).astype(np.float32)
    w = rng.standard_normal((hid, 3 * hid)).astype(np.float32) * 0.3
    bias = rng.standard_normal(3 * hid).astype(np.float32) * 0.1
    mask = np.ones((b, s), np.int32)
    mask[1, 3:] = 0
    text = f"""<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (float[2,5,16] x, float[16,48] w, float[48] bias, int32[2,5] mask) => (float[2,5,16] y)
{{
  y = com.microsoft.Attention <num_heads = 2, unidirectional = {unidirectional}> (x, w, bias, mask)
}}"""
    qkv = x.astype(np.float64) @ w + bias
    q, k, v = (heads(qkv[..., i * hid:(i + 1) * hid], n) for i in range(3))
    keep = (mask != 0)[:, None, None, :]
    if unidirectional:
        keep = keep & causal(s, s)
    ref = merge(sdpa(q, k, v, keep))
    return text, {"x": x, "w": w, "bias": bias, "mask": mask}, {"y": ref}


def case_mha(rng):
    b, s, l, hid, n = 2, 5, 7, 16, 4
    q = rng.standard_normal((b, s, hid)).astype(np.float32)
    k = rng.standard_normal((b, l, hid)).astype(np.float32)
    v = rng.standard_normal((b, l, hid)).astype(np.float32)
    bias = rng.standard_normal(3 * hid).astype(np.float32) * 0.1
    mask = np.ones((b, l), np.int32)
    mask[0, 5:] = 0
    text = """<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (float[2,5,16] q, float[2,7,16] k, float[2,7,16] v, float[48] bias, int32[2,7] mask) => (float[2,5,16] y)
{
  y = com.microsoft.MultiHeadAttention <num_heads = 4, scale = 0.3> (q, k, v, bias, mask)
}"""
    bias64 = bias.astype(np.float64)
    q64 = heads(q + bias64[:hid], n)
    k64 = heads(k + bias64[hid:2 * hid], n)
    v64 = heads(v + bias64[2 * hid:], n)
    ref = merge(sdpa(q64, k64, v64, (mask != 0)[:, None, None, :], 0.3))
    return text, {"q": q, "k": k, "v": v, "bias": bias, "mask": mask}, \
        {"y": ref}


def case_mha_past(rng):
    """MultiHeadAttention of a decoder step with a KV cache of run-time
    length P: past_key/past_value [B, N, P, H] before the new keys and
    values (returned as present_key/present_value), unidirectional after the
    past (query i at position P + i)."""
    b, s, p, n, h = 2, 3, 5, 2, 8
    hid = n * h
    q, k, v = (rng.standard_normal((b, s, hid)).astype(np.float32)
               for _ in range(3))
    pk, pv = (rng.standard_normal((b, n, p, h)).astype(np.float32)
              for _ in range(2))
    text = """<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (float[2,S,16] q, float[2,S,16] k, float[2,S,16] v, float[2,2,P,8] pk, float[2,2,P,8] pv)
  => (float[2,S,16] y, float[2,2,T,8] present_k, float[2,2,T,8] present_v)
{
  y, present_k, present_v = com.microsoft.MultiHeadAttention <num_heads = 2, unidirectional = 1> (q, k, v, , , , pk, pv)
}"""
    kk = np.concatenate([pk, heads(k, n)], axis=2)
    vv = np.concatenate([pv, heads(v, n)], axis=2)
    keep = np.tril(np.ones((s, p + s), bool), k=p)[None, None]
    ref = merge(sdpa(heads(q.astype(np.float64), n), kk.astype(np.float64),
                     vv.astype(np.float64), keep))
    return text, {"q": q, "k": k, "v": v, "pk": pk, "pv": pv}, \
        {"y": ref, "present_k": kk, "present_v": vv}


def case_gqa(rng):
    b, s, n, kvn, h = 2, 6, 4, 2, 8
    q = rng.standard_normal((b, s, n * h)).astype(np.float32)
    k = rng.standard_normal((b, s, kvn * h)).astype(np.float32)
    v = rng.standard_normal((b, s, kvn * h)).astype(np.float32)
    seqlens = np.array([5, 3], np.int32)  # valid tokens - 1
    total = np.array(6, np.int32)
    text = """<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (float[2,6,32] q, float[2,6,16] k, float[2,6,16] v, int32[2] seqlens_k, int32 total) => (float[2,6,32] y, float[2,2,6,8] present_k, float[2,2,6,8] present_v)
{
  y, present_k, present_v = com.microsoft.GroupQueryAttention <num_heads = 4, kv_num_heads = 2> (q, k, v, , , seqlens_k, total)
}"""
    k4, v4 = heads(k.astype(np.float64), kvn), heads(v.astype(np.float64), kvn)
    keep = causal(s, s)[None, None] & \
        (np.arange(s)[None, :] <= seqlens[:, None])[:, None, None, :]
    ref = merge(sdpa(heads(q.astype(np.float64), n), k4, v4, keep))
    return text, {"q": q, "k": k, "v": v, "seqlens_k": seqlens,
                  "total": total}, \
        {"y": ref, "present_k": k4, "present_v": v4}


def case_skip_ln(rng):
    b, s, hid = 2, 5, 16
    x, skip = (rng.standard_normal((b, s, hid)).astype(np.float32)
               for _ in range(2))
    gamma, beta, bias = (rng.standard_normal(hid).astype(np.float32)
                         for _ in range(3))
    text = """<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (float[2,5,16] x, float[2,5,16] skip, float[16] gamma, float[16] beta, float[16] bias) => (float[2,5,16] y, float[2,5,16] sum)
{
  y, , , sum = com.microsoft.SkipLayerNormalization <epsilon = 0.00001> (x, skip, gamma, beta, bias)
}"""
    t = x.astype(np.float64) + skip + bias
    mean = t.mean(-1, keepdims=True)
    var = ((t - mean) ** 2).mean(-1, keepdims=True)
    ref = (t - mean) / np.sqrt(var + 1e-5) * gamma + beta
    return text, {"x": x, "skip": skip, "gamma": gamma, "beta": beta,
                  "bias": bias}, {"y": ref, "sum": t}


def run_case(name, text, inputs, refs, tools, workdir, flags=()):
    """Compiles `text` (ONNX text) with attnc `flags`, runs it on `inputs`
    and compares the outputs named in `refs` with them; True when all
    match."""
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "model.onnxtext")
    with open(model, "w") as f:
        f.write(text)
    lib = os.path.join(d, "model.so")
    subprocess.run([os.path.join(tools, "attnc"), model, "--emit=shared-lib",
                    "--function-name=model", "-o", lib] + list(flags),
                   check=True)
    cmd = [os.path.join(tools, "attnc-run"), lib, "--function=model"]
    for key, value in inputs.items():
        path = os.path.join(d, key + ".npy")
        np.save(path, value)
        cmd.append("--input=%s=@%s" % (key, path))
    for key in refs:
        cmd.append("--output=%s=@%s" % (key, os.path.join(d, "out_" + key +
                                                         ".npy")))
    subprocess.run(cmd, check=True)
    ok = True
    for key, ref in refs.items():
        out = np.load(os.path.join(d, "out_" + key + ".npy"))
        good = out.shape == ref.shape
        err = np.abs(out.astype(np.float64) - ref).max() if good else np.inf
        bound = TOL * max(1.0, np.abs(ref).max())
        good = good and err <= bound
        ok &= good
        print("%s %s: shape %s, max abs error %.3e (bound %.1e): %s" %
              (name, key, list(out.shape), err, bound,
               "ok" if good else "MISMATCH"))
    return ok


def parse_args():
    """--tools and --workdir, as every e2e script takes them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--workdir", required=True)
    return ap.parse_args()


def run_all(seed, make_cases, check=None):
    """Runs every case of make_cases(rng) ({name: (text, inputs, refs)})
    with run_case, after check(name, case, args) where given; prints PASS or
    FAIL and returns the exit status."""
    args = parse_args()
    ok = True
    for name, case in make_cases(np.random.default_rng(seed)).items():
        if check:
            ok &= check(name, case, args)
        ok &= run_case(name, *case, args.tools, args.workdir)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    return run_all(7, lambda rng: {
        "attention": case_attention(rng, 0),
        "attention_unidirectional": case_attention(rng, 1),
        "multi_head_attention": case_mha(rng),
        "multi_head_attention_past": case_mha_past(rng),
        "group_query_attention": case_gqa(rng),
        "skip_layer_norm": case_skip_ln(rng),
    })


if __name__ == "__main__":
    sys.exit(main())
