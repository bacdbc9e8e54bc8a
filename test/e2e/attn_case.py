"""Helpers shared by the end-to-end tests that write one attn op in the
dialect, compile it with attnc for the host and run it with attnc-run."""

import argparse
import os
import subprocess
import sys

import numpy as np


def mlir_type(shape, element):
    """`tensor<AxBx...xelement>`; None in `shape` is a dynamic axis."""
    return "tensor<" + "x".join("?" if s is None else str(s)
                                for s in shape) + f"x{element}>"


def to_bf16(x):
    """Rounds float32 to bfloat16 (nearest even); returns the uint16 bits and
    the rounded values as float32."""
    bits = x.astype(np.float32).view(np.uint32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return rounded, (rounded.astype(np.uint32) << 16).view(np.float32)


def from_bf16(bits):
    """bfloat16 bits (uint16) as float32 values."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def compile_and_run(tools, work, name, text, feeds, function=None,
                    options=()):
    """Writes `text` to WORK/NAME.mlir, compiles it into a shared library
    (with the attnc `options`), runs it on `feeds` (input name -> array)
    and returns (the path of the .mlir file, the output array)."""
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, name + ".mlir")
    with open(path, "w") as f:
        f.write(text)
    lib = os.path.join(work, f"lib{name}.so")
    compile_cmd = [os.path.join(tools, "attnc"), path, "--emit=shared-lib",
                   "-o", lib] + list(options)
    run_cmd = [os.path.join(tools, "attnc-run"), lib]
    if function:
        compile_cmd.append(f"--function-name={function}")
        run_cmd.append(f"--function={function}")
    subprocess.run(compile_cmd, check=True, stderr=subprocess.DEVNULL)
    for key, value in feeds.items():
        np.save(os.path.join(work, key + ".npy"), value)
        run_cmd.append(f"--input={key}=@{os.path.join(work, key)}.npy")
    out_path = os.path.join(work, "out.npy")
    run_cmd.append(f"--output=@{out_path}")
    subprocess.run(run_cmd, check=True, stdout=subprocess.DEVNULL)
    return path, np.load(out_path)


def run_cases(cases, run_case):
    """Parses --tools, --workdir and --filter, runs run_case(args, name,
    options) for every (name, options) of `cases` whose name contains the
    filter, and exits non-zero when one failed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--filter", default="")
    args = ap.parse_args()
    ok = True
    for name, o in cases:
        if args.filter in name:
            ok &= run_case(args, name, o)
    sys.exit(0 if ok else 1)
