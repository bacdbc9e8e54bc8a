#!/usr/bin/env python3
"""Compile time, peak memory and size of attnc's output, per model.

  compile_time.py MODEL.onnx... [--tools DIR]... [--rounds N] [--jobs J]

For every model and every tools folder (a build's bin/, default ../build/bin;
give --tools twice to put the previous build beside the new one), compiles
`attnc MODEL --emit=shared-lib` cold N times (median wall time) and records
the largest resident set of the compiler and of any one of its worker
processes, the kernel calls and distinct kernels (--report=kernels; the
whole model is one pipeline where the build has no such report) and the
shared library's size. Prints a Markdown table. Measurements alternate
between the tools folders, so that both see the same machine.
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def compile_once(tools, model, out, jobs):
    cmd = [os.path.join(tools, "attnc"), model, "--emit=shared-lib", "-o", out,
           "--quiet", "--report=kernels"]
    if jobs:
        cmd.append(f"--jobs={jobs}")

    def timed(cmd):
        # GNU time: wall seconds and the largest resident set of the
        # compiler and any one of its workers (KiB).
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd,
                              capture_output=True, text=True)
        last = proc.stderr.strip().splitlines()[-1].split()
        return proc, float(last[0]), float(last[1]) / 1024.0

    proc, wall, peak = timed(cmd)
    if proc.returncode != 0 and "--report='kernels'" in proc.stderr:
        # A build without programs of kernels.
        cmd.remove("--report=kernels")
        proc, wall, peak = timed(cmd)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    calls = distinct = None
    m = re.search(r"kernel calls: (\d+), distinct kernels: (\d+)", proc.stdout)
    if m:
        calls, distinct = int(m.group(1)), int(m.group(2))
    return wall, peak, calls, distinct, os.path.getsize(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--tools", action="append")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0)
    args = ap.parse_args()
    tools = args.tools or [os.path.join(HERE, "..", "build", "bin")]
    print("| model | tools | compile s (median) | peak MiB (largest process) "
          "| kernel calls / distinct | library MiB |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            results = {t: [] for t in tools}
            # A new process per measurement; each starts cold.
            for r in range(args.rounds):
                for t in tools:
                    out = os.path.join(work, f"m{len(results[t])}.so")
                    results[t].append(compile_once(t, model, out, args.jobs))
            for t in tools:
                walls = [x[0] for x in results[t]]
                wall, peak, calls, distinct, size = results[t][0]
                peak = max(x[1] for x in results[t])
                kernels = f"{calls} / {distinct}" if calls else "1 pipeline"
                print(f"| {os.path.basename(os.path.dirname(model))} | {t} | "
                      f"{statistics.median(walls):.2f} | {peak:.0f} | "
                      f"{kernels} | {size / 2**20:.1f} |", flush=True)


if __name__ == "__main__":
    main()
