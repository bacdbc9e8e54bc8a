#!/usr/bin/env python3
"""Compiles one of the models under test/models/ with attnc and checks it
against the PyTorch reference outputs stored next to it.

  check_model.py TOOLS MODEL_DIR [CASE ...] [--target=T] [--qemu=CMD]
                 [--workdir=DIR] [--no-fuse] [--weights=param] [--pin]

TOOLS is the directory of attnc and attnc-run (lit's %tools); MODEL_DIR is
test/models/<name> (model.onnx, model.json, <case>/inputs/*.npy,
<case>/outputs/*.npy); CASE names one or more cases of it (default: all
cases in model.json). The model is compiled once, with
`attnc model.onnx --emit=shared-lib --function-name=model [--target=T]`, and
the library is run with attnc-run on every case's inputs (bound by name), its
outputs written in ONNX order. With --qemu the library is run by
attnc-run-aarch64 under that command, as in test/e2e/sdpa_e2e.py (use it with
--target=arm-64-linux). With --pin every case gets a library of its own, its
input shapes pinned with `--input-shape` (static shapes, as deployments
build them), checked against the same references.

Pass criterion, for every output of every case: the shape matches and
max |out - ref| <= 1e-4 * max |ref| (integer and bool outputs: exact), or
the model's own "tolerance" from model.json (the float16 and bfloat16
variants).
Prints one line per output with the figures, then `result: PASS` or
`result: FAIL`. Exit status: 0 when everything passes, 1 on a mismatch,
2 when compiling or running fails.

Needs only Python 3 and numpy (no onnx, no torch).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

TOLERANCE = 1e-4
FUNCTION = "model"


def c_identifier(name):
    """The name attnc gives an ONNX input or output in the compiled
    function's metadata (toCIdentifier in dialects/Attn/IR/AttnDialect.cpp)."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not ident or ident[0].isdigit():
        ident = "_" + ident
    return ident


def argument_names(inputs, outputs):
    """C names of the inputs, made unique the way the Halide emitter does it:
    output names are taken first, then inputs in order; a repeated name gets
    the suffix _1, _2, ..."""
    used = {}

    def unique(base):
        count = used.get(base, 0)
        used[base] = count + 1
        return base if count == 0 else "%s_%d" % (base, count)

    for name in outputs:
        unique(c_identifier(name))
    return [unique(c_identifier(name)) for name in inputs]


def run(cmd):
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    result = subprocess.run(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    if result.stdout:
        sys.stdout.write(result.stdout)
        if not result.stdout.endswith("\n"):
            sys.stdout.write("\n")
    return result.returncode


def load_signature(model_dir):
    """(input names, output names, case names, tolerance, output dtypes),
    ONNX order, from model.json; the tolerance is the model's own where it
    states one."""
    path = os.path.join(model_dir, "model.json")
    with open(path) as f:
        meta = json.load(f)
    inputs = [v["name"] for v in meta["inputs"]]
    outputs = [v["name"] for v in meta["outputs"]]
    cases = [c["name"] for c in meta["cases"]]
    dtypes = {v["name"]: v["dtype"] for v in meta["outputs"]}
    return (inputs, outputs, cases, float(meta.get("tolerance", TOLERANCE)),
            dtypes)


def decode(out, dtype):
    """attnc-run stores bfloat16 as its raw bits (uint16): widen to float32."""
    if dtype == "bfloat16" and out.dtype == np.uint16:
        return (out.astype(np.uint32) << 16).view(np.float32)
    return out


def compare(name, out, ref, tolerance=TOLERANCE):
    """Returns (ok, text) for one output."""
    head = "%s %s %s" % (name, list(ref.shape), ref.dtype)
    if out.shape != ref.shape:
        return False, "%s: output shape %s, expected %s: FAIL" % (
            head, list(out.shape), list(ref.shape))
    if ref.dtype.kind in "iub":
        if out.dtype.kind not in "iub":
            return False, "%s: got dtype %s: FAIL" % (head, out.dtype)
        wrong = int(np.count_nonzero(out.astype(np.int64) !=
                                     ref.astype(np.int64)))
        return wrong == 0, "%s: %d of %d elements differ (exact match " \
            "required): %s" % (head, wrong, ref.size,
                               "PASS" if wrong == 0 else "FAIL")
    if out.dtype.kind != "f":
        return False, "%s: got dtype %s: FAIL" % (head, out.dtype)
    out64 = out.astype(np.float64)
    ref64 = ref.astype(np.float64)
    if ref.size == 0:
        return True, "%s: empty: PASS" % head
    if not np.all(np.isfinite(out64)):
        bad = int(np.count_nonzero(~np.isfinite(out64)))
        return False, "%s: %d non-finite values: FAIL" % (head, bad)
    err = float(np.abs(out64 - ref64).max())
    scale = float(np.abs(ref64).max())
    ok = err <= tolerance * scale
    rel = err / scale if scale > 0 else (0.0 if err == 0 else float("inf"))
    return ok, ("%s: max abs error %.3e = %.3e x max|ref| (max|ref| %.3e, "
                "tolerance %g x max|ref|): %s" % (
                    head, err, rel, scale, tolerance, "PASS" if ok else "FAIL"))


def compile_model(args, model, lib, pins=()):
    """Compiles `model` into `lib`; `pins` are (input, shape) pairs passed
    as --input-shape. Returns whether attnc succeeded."""
    if os.path.exists(lib):
        os.remove(lib)
    cmd = [os.path.join(args.tools, "attnc"), model, "--emit=shared-lib",
           "-o", lib, "--function-name=" + FUNCTION, "--target=" + args.target]
    if args.no_fuse:
        cmd.append("--no-fuse")
    cmd.append("--weights=" + args.weights)
    for name, shape in pins:
        cmd.append("--input-shape=%s=%s" % (name, "x".join(map(str, shape))))
    t0 = time.time()
    if run(cmd) != 0:
        return False
    print("model %s: target %s%s, compiled in %.2f s" % (
        os.path.basename(os.path.dirname(model)), args.target,
        ", shapes pinned" if pins else "", time.time() - t0))
    return True


def case_shapes(model_dir, case, inputs):
    """The shapes of a case's inputs, in the graph's order."""
    return [(name, np.load(os.path.join(model_dir, case, "inputs",
                                        name + ".npy"), mmap_mode="r").shape)
            for name in inputs]


def check_case(args, lib, model_dir, case, inputs, outputs, c_inputs, workdir,
               tolerance, dtypes):
    case_dir = os.path.join(model_dir, case)
    if not os.path.isdir(case_dir):
        print("%s: no such case directory" % case_dir)
        return None
    out_dir = os.path.join(workdir, case)
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)

    runner = [os.path.join(args.tools, "attnc-run")]
    if args.qemu:
        runner = shlex.split(args.qemu) + [os.path.join(args.tools,
                                                        "attnc-run-aarch64")]
    cmd = runner + [lib, "--function=" + FUNCTION]
    for name, cname in zip(inputs, c_inputs):
        path = os.path.join(case_dir, "inputs", name + ".npy")
        cmd.append("--input=%s=@%s" % (cname, os.path.abspath(path)))
    out_paths = [os.path.join(out_dir, "%d.npy" % i) for i in range(len(outputs))]
    cmd += ["--output=@" + p for p in out_paths]
    if args.weights == "param":
        cmd.append("--weights=" + os.path.splitext(lib)[0] + ".weights")
    if run(cmd) != 0:
        print("case %s: attnc-run failed" % case)
        return None

    ok = True
    for name, path in zip(outputs, out_paths):
        ref = np.load(os.path.join(case_dir, "outputs", name + ".npy"))
        out = decode(np.load(path), dtypes[name])
        good, text = compare(name, out, ref, tolerance)
        print("case %s: %s" % (case, text))
        ok &= good
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("tools", help="directory of attnc, attnc-run (lit's %%tools)")
    ap.add_argument("model_dir", help="test/models/<name>")
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--target", default="host",
                    help="attnc --target (host, arm-64-linux, ...)")
    ap.add_argument("--qemu", help="run attnc-run-aarch64 under this command, "
                    "e.g. \"qemu-aarch64 -L /usr/aarch64-linux-gnu\"")
    ap.add_argument("--workdir", help="where the library and outputs go "
                    "(default: a temporary directory, removed afterwards)")
    ap.add_argument("--no-fuse", action="store_true",
                    help="pass --no-fuse to attnc")
    ap.add_argument("--weights", choices=["embed", "param"], default="embed",
                    help="attnc --weights; with param the weights written "
                    "next to the library are passed to attnc-run")
    ap.add_argument("--pin", action="store_true",
                    help="compile once per case with the case's input "
                    "shapes pinned (--input-shape)")
    args = ap.parse_args()

    model_dir = os.path.abspath(args.model_dir)
    model = os.path.join(model_dir, "model.onnx")
    inputs, outputs, all_cases, tolerance, dtypes = load_signature(model_dir)
    cases = args.cases or all_cases
    c_inputs = argument_names(inputs, outputs)

    tmp = None
    workdir = args.workdir
    if not workdir:
        tmp = tempfile.mkdtemp(prefix="check_model.")
        workdir = tmp
    os.makedirs(workdir, exist_ok=True)
    try:
        lib = os.path.join(os.path.abspath(workdir), "lib%s.so" % FUNCTION)
        if not args.pin and not compile_model(args, model, lib):
            print("model %s: attnc failed" % os.path.basename(model_dir))
            print("result: FAIL")
            return 2

        ok, broken = True, False
        for case in cases:
            if args.pin and not compile_model(
                    args, model, lib, case_shapes(model_dir, case, inputs)):
                print("case %s: attnc failed with pinned shapes" % case)
                broken = True
                continue
            result = check_case(args, lib, model_dir, case, inputs, outputs,
                                c_inputs, workdir, tolerance, dtypes)
            if result is None:
                broken = True
            else:
                ok &= result
        passed = ok and not broken
        print("result: %s (%s: %d case%s, %d output%s each)" % (
            "PASS" if passed else "FAIL", os.path.basename(model_dir),
            len(cases), "" if len(cases) == 1 else "s", len(outputs),
            "" if len(outputs) == 1 else "s"))
        return 0 if passed else (2 if broken else 1)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
