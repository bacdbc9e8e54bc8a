#!/usr/bin/env python3
"""attnc's benchmark suite: one run, one table, one chart.

  benchmarks/setup.sh                 # once: a virtual environment with the
                                      # pinned onnxruntime, onnx, matplotlib
  benchmarks/.venv/bin/python benchmarks/run.py [--threads 2] [--cases RE]

In one run, on the same number of threads, it
  1. measures this machine's fp32 FMA peak (benchmarks/peak.cpp);
  2. writes every case of benchmarks/cases.py as an .onnx file with inputs;
  3. compiles each with attnc for this CPU and times it with attnc-run
     (Halide's thread pool, --threads);
  4. times the same .onnx file under ONNX Runtime (benchmarks/ort_run.py,
     intra-op threads = --threads) and checks that both give the same
     output;
  5. compiles the same pipelines with attnc's schedules replaced by Halide's
     Adams2019 autoscheduler (attnc --autoschedule=Adams2019) and times them
     the same way: a reference point for the schedules (--no-adams skips);
  5b. with --bf16 on (the default where the CPU has AVX512-BF16), compiles
     each case again with --precision=bf16 and reports its speed against
     attnc's own fp32 and the difference of the two outputs;
  6. records the peak memory (maximum resident set) of each process;
and writes results.md (the table), results.json and results.png (the chart)
into --out. Each process runs alone; times are medians of repeated calls
after a warm-up call.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cases  # noqa: E402


# Started in a fresh interpreter: forks, runs the command in the child and
# prints the child's peak resident set. A forked child of this small
# process starts with a small peak; one spawned straight from the suite
# would count the suite's own resident set as its peak.
PEAK_SHIM = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(f"@@maxrss {usage.ru_maxrss}", flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_with_rss(cmd):
    """Runs `cmd`; returns (its standard output, its peak resident set in
    MiB)."""
    proc = subprocess.run([sys.executable, "-c", PEAK_SHIM] + cmd,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n"
                           f"{proc.stderr}")
    m = re.search(r"@@maxrss (\d+)", proc.stdout)
    return proc.stdout, int(m.group(1)) / 1024.0


def median_ms(text):
    m = re.search(r"median: ([0-9.]+) ms", text)
    if not m:
        raise RuntimeError(f"no timing in:\n{text}")
    return float(m.group(1))


def build_peak(workdir):
    exe = os.path.join(workdir, "peak")
    subprocess.run(["g++", "-O2", "-march=native", "-o", exe,
                    os.path.join(HERE, "peak.cpp"), "-lpthread"], check=True)
    return exe


def measure_peak(exe, threads):
    return float(subprocess.run([exe, str(threads)], check=True,
                                capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=".*", help="regex of case names")
    ap.add_argument("--tools", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--workdir", default="/tmp/attnc-bench")
    ap.add_argument("--seconds", type=float, default=1.5,
                    help="time budget per measurement")
    ap.add_argument("--no-adams", action="store_true",
                    help="skip the Halide Adams2019 autoscheduler column")
    ap.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                    help="the --precision=bf16 column: auto measures it "
                    "where the CPU has AVX512-BF16 dot products")
    args = ap.parse_args()
    has_bf16 = cpu_has_bf16()
    bf16 = args.bf16 == "on" or (args.bf16 == "auto" and has_bf16)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.workdir, exist_ok=True)
    attnc = os.path.join(args.tools, "attnc")
    runner = os.path.join(args.tools, "attnc-run")

    # The clock of a shared machine moves: the peak is measured again
    # right before each case, and each case's share of the peak is taken
    # against its own measurement.
    peak_exe = build_peak(args.workdir)
    peak = measure_peak(peak_exe, args.threads)
    print(f"fp32 FMA peak on {args.threads} threads: {peak:.1f} GFLOP/s",
          flush=True)
    import onnxruntime
    rows = []
    for name, kind, build in cases.all_cases():
        if not re.search(args.cases, name):
            continue
        work = os.path.join(args.workdir, name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        model, inputs, flops = build()
        path = os.path.join(work, "model.onnx")
        onnx.save(model, path)
        for k, v in inputs.items():
            np.save(os.path.join(work, k + ".npy"), v)
        # A first guess of the run count at 100 GFLOP/s.
        runs = int(min(200, max(5, args.seconds / (flops / 1e11))))

        lib = os.path.join(work, "lib" + name + ".so")
        case_peak = measure_peak(peak_exe, args.threads)
        start = time.perf_counter()
        subprocess.run([attnc, path, "--emit=shared-lib", "-o", lib,
                        f"--function-name={name}"], check=True)
        compile_s = time.perf_counter() - start
        out_path = os.path.join(work, "attnc_out.npy")
        cmd = [runner, lib] + [f"--input={k}=@{os.path.join(work, k)}.npy"
                               for k in inputs] + [
            f"--output=@{out_path}", f"--benchmark={runs}",
            f"--threads={args.threads}"]
        text, attnc_rss = run_with_rss(cmd)
        attnc_ms = median_ms(text)

        text, ort_rss = run_with_rss(
            [sys.executable, os.path.join(HERE, "ort_run.py"), path, work,
             str(args.threads), str(runs)])
        ort_ms = median_ms(text)
        adams_ms = None
        if not args.no_adams:
            adams_ms = time_adams(attnc, runner, path, work, name, inputs,
                                  args.threads)
        a = np.load(out_path).astype(np.float64)
        b = np.load(os.path.join(work, "ort_out.npy")).astype(np.float64)
        diff = float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b))))
        bf16_ms = bf16_diff = None
        if bf16:
            bf16_lib = os.path.join(work, "lib" + name + "_bf16.so")
            subprocess.run([attnc, path, "--emit=shared-lib", "-o", bf16_lib,
                            f"--function-name={name}", "--precision=bf16",
                            "--quiet"], check=True, stderr=subprocess.DEVNULL)
            bf16_out = os.path.join(work, "bf16_out.npy")
            cmd = [runner, bf16_lib, f"--function={name}"] + [
                f"--input={k}=@{os.path.join(work, k)}.npy"
                for k in inputs] + [f"--output=@{bf16_out}",
                                    f"--benchmark={runs}",
                                    f"--threads={args.threads}"]
            bf16_ms = median_ms(subprocess.run(
                cmd, check=True, capture_output=True, text=True).stdout)
            c = np.load(bf16_out).astype(np.float64)
            bf16_diff = float(np.max(np.abs(c - a)) /
                              max(1.0, np.max(np.abs(a))))

        row = {
            "case": name, "kind": kind, "gflop": flops / 1e9,
            "attnc_ms": attnc_ms, "ort_ms": ort_ms,
            "attnc_gflops": flops / attnc_ms / 1e6,
            "ort_gflops": flops / ort_ms / 1e6,
            "peak_gflops": case_peak,
            "attnc_peak_pct": 100 * flops / attnc_ms / 1e6 / case_peak,
            "speedup_vs_ort": ort_ms / attnc_ms,
            "attnc_rss_mib": attnc_rss, "ort_rss_mib": ort_rss,
            "adams_ms": adams_ms,
            "speedup_vs_adams": adams_ms / attnc_ms if adams_ms else None,
            "max_rel_diff": diff, "compile_s": compile_s, "runs": runs,
            "bf16_ms": bf16_ms,
            "bf16_speedup": attnc_ms / bf16_ms if bf16_ms else None,
            "bf16_rel_diff": bf16_diff,
        }
        rows.append(row)
        print(f"{name:18s} attnc {attnc_ms:9.3f} ms {row['attnc_gflops']:7.1f}"
              f" GFLOP/s ({row['attnc_peak_pct']:4.1f}% of peak)  ORT "
              f"{ort_ms:9.3f} ms  ×{row['speedup_vs_ort']:.2f}  RSS "
              f"{attnc_rss:.0f}/{ort_rss:.0f} MiB  diff {diff:.1e}  Adams2019 "
              + (f"{adams_ms:.3f} ms" if adams_ms else "-")
              + (f"  bf16 ×{row['bf16_speedup']:.2f} (diff {bf16_diff:.1e})"
                 if bf16_ms else ""),
              flush=True)

    if rows:
        peak = float(np.median([r["peak_gflops"] for r in rows]))
    meta = {
        "threads": args.threads, "peak_gflops": peak,
        "onnxruntime": onnxruntime.__version__,
        "cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"),
        "cpu_bf16": has_bf16, "bf16_measured": bf16,
        "command": " ".join([os.path.relpath(sys.executable, ROOT)
                             if sys.executable.startswith(ROOT)
                             else sys.executable] + sys.argv),
    }
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    write_table(os.path.join(args.out, "results.md"), meta, rows)
    write_chart(os.path.join(args.out, "results.png"), meta, rows)
    print(f"wrote {args.out}/results.md, results.json, results.png")


def time_adams(attnc, runner, path, work, name, inputs, threads):
    """Compiles `path` with Halide's Adams2019 autoscheduler instead of
    attnc's schedules and returns its median time in ms (3 runs after a
    warm-up: these schedules are slow on large cases), or None when the
    autoscheduler fails."""
    lib = os.path.join(work, "lib" + name + "_adams.so")
    # The autoscheduler needs static shapes: pin the inputs' shapes.
    pins = [f"--input-shape={k}=" + "x".join(str(d) for d in v.shape)
            for k, v in inputs.items()]
    proc = subprocess.run([attnc, path, "--emit=shared-lib", "-o", lib,
                           f"--function-name={name}",
                           "--autoschedule=Adams2019", "--quiet"] + pins,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{name}: Adams2019 failed:\n{proc.stderr[-2000:]}",
              flush=True)
        return None
    cmd = [runner, lib, f"--function={name}"] + [
        f"--input={k}=@{os.path.join(work, k)}.npy" for k in inputs] + [
        f"--output=@{os.path.join(work, 'adams_out.npy')}", "--benchmark=3",
        f"--threads={threads}"]
    return median_ms(subprocess.run(cmd, check=True, capture_output=True,
                                    text=True).stdout)


def cpu_has_bf16():
    """True when /proc/cpuinfo lists AVX512-BF16."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and "avx512_bf16" in
                       line.split() for line in f)
    except OSError:
        return False


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def write_table(path, meta, rows):
    lines = [
        f"Machine: {meta['cpu']}, {meta['threads']} threads; measured fp32 "
        f"FMA peak {meta['peak_gflops']:.0f} GFLOP/s (median of the "
        f"measurements before each case; % of peak is against the case's "
        f"own); ONNX Runtime "
        f"{meta['onnxruntime']} (CPU provider, all graph optimizations); "
        f"{meta['date']}.",
        "",
        "| case | GFLOP | attnc ms | attnc GFLOP/s | % of peak | ORT ms | "
        "ORT GFLOP/s | attnc / ORT speed | Adams2019 ms | attnc / Adams2019 "
        "speed | attnc peak MiB | ORT peak MiB | max diff | bf16 ms | "
        "bf16 / fp32 speed | bf16 diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        "---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['gflop']:.2f} | {r['attnc_ms']:.3f} | "
            f"{r['attnc_gflops']:.1f} | {r['attnc_peak_pct']:.1f} | "
            f"{r['ort_ms']:.3f} | {r['ort_gflops']:.1f} | "
            f"{r['speedup_vs_ort']:.2f}× | "
            + (f"{r['adams_ms']:.3f} | {r['speedup_vs_adams']:.1f}× | "
               if r.get("adams_ms") else "— | — | ")
            + f"{r['attnc_rss_mib']:.0f} | "
            f"{r['ort_rss_mib']:.0f} | {r['max_rel_diff']:.1e} | "
            + (f"{r['bf16_ms']:.3f} | {r['bf16_speedup']:.2f}× | "
               f"{r['bf16_rel_diff']:.1e} |" if r.get("bf16_ms")
               else "— | — | — |"))
    lines += ["", "GFLOP counts the matrix products (attention: 4·H·N²·D, "
              "half of it when causal). Peak memory is the maximum resident "
              "set of the whole process, inputs and outputs included. max "
              "diff: max |attnc − ORT| / max(1, max |ORT|). Adams2019: the "
              "same pipeline with attnc's schedules replaced by Halide 14's "
              "Adams2019 autoscheduler (greedy search, median of 3 runs). "
              "bf16: the same case compiled with --precision=bf16 (products "
              "in bfloat16, float32 sums); bf16 diff: max |bf16 − fp32| / "
              "max(1, max |fp32|)."]
    if not meta.get("cpu_bf16"):
        lines.append("")
        lines.append(
            "This CPU has no AVX512-BF16 dot products"
            + (": the bf16 column is generic code computing the same "
               "arithmetic, not the vdpbf16ps kernels." if
               meta.get("bf16_measured") else
               ", so the bf16 column is not measured (--bf16 on measures "
               "the generic code that computes the same arithmetic)."))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_chart(path, meta, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [r["case"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.8 * len(rows)), 4.5))
    ax.bar(x - 0.27, [r["attnc_gflops"] for r in rows], 0.27, label="attnc")
    ax.bar(x, [r["ort_gflops"] for r in rows], 0.27,
           label=f"ONNX Runtime {meta['onnxruntime']}")
    ax.bar(x + 0.27, [r["gflop"] * 1e3 / r["adams_ms"]
                      if r.get("adams_ms") else 0 for r in rows], 0.27,
           label="Halide Adams2019 (same pipelines)")
    ax.axhline(meta["peak_gflops"], color="black", linestyle="--",
               linewidth=1, label="measured FMA peak")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=35, ha="right")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(f"{meta['cpu']}, {meta['threads']} threads, fp32")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
