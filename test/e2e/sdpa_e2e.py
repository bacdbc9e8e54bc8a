#!/usr/bin/env python3
"""End-to-end check of attention compiled by attnc.

Writes (or takes) an ONNX text model of scaled dot-product attention the way
exporters write it (MatMul, Transpose, Div, optional mask Add, Softmax,
MatMul), compiles it with `attnc --emit=shared-lib` for a target, runs it with
`attnc-run` (natively, or under qemu-aarch64 for ARM64), and compares the
result with a float64 numpy reference.

Pass criterion: max |out - ref| <= 1e-5 * max |ref|.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

TOLERANCE = 1e-5


def model_text(b, h, nq, nk, d, mask, dynamic=False):
    """ONNX text of attention; `dynamic` names the batch and both sequence
    lengths with dim_params instead of fixing them."""
    if dynamic:
        b, nq, nk = "batch", "q_len", "kv_len"
    inputs = [f"float[{b},{h},{nq},{d}] q", f"float[{b},{h},{nk},{d}] k",
              f"float[{b},{h},{nk},{d}] v"]
    if mask:
        inputs.append(f"float[{b},1,{nq},{nk}] mask")
    body = [
        "kt = Transpose <perm = [0, 1, 3, 2]> (k)",
        "scores = MatMul (q, kt)",
        "scaled = Div (scores, sqrt_d)",
    ]
    if mask:
        body.append("masked = Add (scaled, mask)")
        body.append("probs = Softmax <axis = -1> (masked)")
    else:
        body.append("probs = Softmax <axis = -1> (scaled)")
    body.append("out = MatMul (probs, v)")
    return (
        '<\n  ir_version: 8,\n  opset_import: ["" : 17]\n>\n'
        f"attention ({', '.join(inputs)}) => (float[{b},{h},{nq},{d}] out)\n"
        f"<float sqrt_d = {{{np.sqrt(d):.9g}}}>\n"
        "{\n  " + "\n  ".join(body) + "\n}\n")


def reference(q, k, v, mask):
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1])
    if mask is not None:
        s = s + mask.astype(np.float64)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    return p @ v


def run(cmd, **kwargs):
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def run_once(args, lib, nq, nk, fused, compile_s):
    """Runs the library at one pair of lengths; True when it matches."""
    rng = np.random.default_rng(args.seed)
    shapes = {"q": (args.b, args.h, nq, args.d),
              "k": (args.b, args.h, nk, args.d),
              "v": (args.b, args.h, nk, args.d)}
    data = {n: rng.standard_normal(s).astype(np.float32)
            for n, s in shapes.items()}
    if args.mask:
        # Padding-style mask: the last keys of each batch entry are masked
        # with a large negative value; the rest gets small random biases.
        m = (rng.standard_normal((args.b, 1, nq, nk)) * 0.5)
        for bi in range(args.b):
            m[bi, :, :, nk - 1 - 7 * bi:] = -10000.0
        data["mask"] = m.astype(np.float32)
    inputs = []
    for name, value in data.items():
        path = os.path.join(args.workdir, name + ".npy")
        np.save(path, value)
        inputs.append(f"--input={name}=@{path}")
    out_path = os.path.join(args.workdir, "out.npy")
    if os.path.exists(out_path):
        os.remove(out_path)

    runner = [os.path.join(args.tools, "attnc-run")]
    if args.qemu:
        runner = args.qemu.split() + [os.path.join(args.tools,
                                                   "attnc-run-aarch64")]
    cmd = runner + [lib] + inputs + [f"--output=@{out_path}"]
    if args.benchmark:
        cmd.append(f"--benchmark={args.benchmark}")
    result = run(cmd, capture_output=True, text=True)
    sys.stdout.write(result.stdout)

    out = np.load(out_path)
    ref = reference(data["q"], data["k"], data["v"], data.get("mask"))
    if out.shape != ref.shape:
        print(f"FAIL: output shape {out.shape}, expected {ref.shape}")
        return False
    err = float(np.abs(out.astype(np.float64) - ref).max())
    scale = float(np.abs(ref).max())
    ok = err <= TOLERANCE * scale
    print(f"target {args.target}: B={args.b} H={args.h} Nq={nq} "
          f"Nk={nk} D={args.d} mask={'yes' if args.mask else 'no'} "
          f"fused={'yes' if fused else 'no'} compile {compile_s:.2f} s")
    print(f"max abs error {err:.3e} = {err / scale:.3e} x max|ref| "
          f"(tolerance {TOLERANCE:g} x max|ref|): {'PASS' if ok else 'FAIL'}")
    if args.benchmark:
        flops = 4.0 * args.b * args.h * nq * nk * args.d
        for line in result.stdout.splitlines():
            if line.startswith("median:"):
                ms = float(line.split()[1])
                print(f"throughput {flops / ms / 1e6:.1f} GFLOP/s "
                      f"({flops / 1e9:.3f} GFLOP in {ms:.3f} ms median)")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tools", required=True, help="directory of attnc, attnc-run")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--model", help="existing .onnxtext/.onnx model (inputs q, k, v[, mask])")
    ap.add_argument("--b", type=int, default=2)
    ap.add_argument("--h", type=int, default=4)
    ap.add_argument("--nq", type=int, default=128)
    ap.add_argument("--nk", type=int, default=128)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--mask", action="store_true", help="additive [B,1,Nq,Nk] mask")
    ap.add_argument("--dynamic", action="store_true",
                    help="symbolic batch and sequence lengths in the model")
    ap.add_argument("--lengths", default="",
                    help="extra Nq:Nk pairs to run the same library at")
    ap.add_argument("--target", default="host")
    ap.add_argument("--qemu", help="run attnc-run-aarch64 under this command")
    ap.add_argument("--no-fuse", action="store_true",
                    help="compile every op on its own (no attn.sdpa)")
    ap.add_argument("--benchmark", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    model = args.model
    if not model:
        model = os.path.join(args.workdir, "attention.onnxtext")
        with open(model, "w") as f:
            f.write(model_text(args.b, args.h, args.nq, args.nk, args.d,
                               args.mask, args.dynamic))

    attnc = os.path.join(args.tools, "attnc")
    flags = ["--target=" + args.target] + (["--no-fuse"] if args.no_fuse else [])

    # The fused path must really be the one under test.
    ir = run([attnc, model, "--emit=mlir", "-o", "-"] + flags,
             capture_output=True, text=True).stdout
    fused = "attn.sdpa" in ir
    if fused == args.no_fuse:
        print("FAIL: expected the model %s fuse into attn.sdpa" %
              ("not to" if args.no_fuse else "to"))
        return 1

    lib = os.path.join(args.workdir, "libattention.so")
    t0 = time.time()
    run([attnc, model, "--emit=shared-lib", "-o", lib,
         "--function-name=attention"] + flags)
    compile_s = time.time() - t0

    runs = [(args.nq, args.nk)]
    for pair in filter(None, args.lengths.split(",")):
        nq, nk = pair.split(":")
        runs.append((int(nq), int(nk)))
    ok = True
    for nq, nk in runs:
        ok &= run_once(args, lib, nq, nk, fused, compile_s)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
