#!/usr/bin/env python3
"""Run time of two attnc builds on the benchmark suite's cases, side by side.

  compare_builds.py --base DIR --new DIR [--cases RE] [--rounds N]

Compiles every case of benchmarks/cases.py with both builds' attnc (each a
build's bin/ folder), checks that both give the same output, and times the
two libraries with their own attnc-run in alternating rounds (median of
each round's median), so that both see the same machine. Prints a
Markdown table with new / base speed (> 1: the new build is faster).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cases  # noqa: E402


def median_ms(text):
    m = re.search(r"median: ([0-9.]+) ms", text)
    if not m:
        raise SystemExit("no timing in:\n" + text)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--cases", default=".*")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/attnc-compare")
    args = ap.parse_args()
    builds = {"base": args.base, "new": args.new}
    print("| case | base ms | new ms | new / base speed | max diff |")
    print("|---|---:|---:|---:|---:|")
    for name, _, build in cases.all_cases():
        if not re.search(args.cases, name):
            continue
        work = os.path.join(args.workdir, name)
        os.makedirs(work, exist_ok=True)
        model, inputs, _ = build()
        path = os.path.join(work, "model.onnx")
        onnx.save(model, path)
        for k, v in inputs.items():
            np.save(os.path.join(work, k + ".npy"), v)
        cmds = {}
        for b, tools in builds.items():
            lib = os.path.join(work, f"lib{b}.so")
            subprocess.run([os.path.join(tools, "attnc"), path,
                            "--emit=shared-lib", "-o", lib, "--quiet",
                            f"--function-name={name}"], check=True)
            cmds[b] = [os.path.join(tools, "attnc-run"), lib,
                       f"--function={name}"] + [
                f"--input={k}=@{os.path.join(work, k)}.npy" for k in inputs
            ] + [f"--output=@{os.path.join(work, b + '.npy')}",
                 f"--benchmark={args.runs}", f"--threads={args.threads}"]
        times = {b: [] for b in builds}
        for _ in range(args.rounds):
            for b in builds:
                out = subprocess.run(cmds[b], check=True, capture_output=True,
                                     text=True)
                times[b].append(median_ms(out.stdout + out.stderr))
        a = np.load(os.path.join(work, "base.npy")).astype(np.float64)
        n = np.load(os.path.join(work, "new.npy")).astype(np.float64)
        base, new = (statistics.median(times[b]) for b in builds)
        print(f"| {name} | {base:.3f} | {new:.3f} | {base / new:.3f}× | "
              f"{float(np.abs(a - n).max()):.1e} |", flush=True)


if __name__ == "__main__":
    main()
