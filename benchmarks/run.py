#!/usr/bin/env python3
"""attnc's benchmark suite: one run, attnc and its peers side by side.

  benchmarks/setup.sh [--torch]        # once: benchmarks/.venv with the
                                       # pinned peers (and PyTorch)
  benchmarks/.venv/bin/python benchmarks/run.py [--threads 2] [--cases RE]
      [--models DIR] [--rounds 3] [--torch-python PY]

In one run, on the same number of threads, it
  1. measures this machine's fp32 FMA peak and, where the CPU has
     AVX512-BF16, its bf16 dot-product peak (benchmarks/peak.cpp), again
     before each case;
  2. writes every case of benchmarks/cases.py as an .onnx file with inputs;
     the exported dynamic-axis models of --models (made by
     benchmarks/export_models.py, which this runs first where PyTorch is
     importable) are used as they are, at several call shapes;
  3. compiles each with attnc for this CPU (dynamic models once, and once
     more per shape with the shape pinned by --input-shape, to show what
     the run-time extents cost);
  4. times, in alternating rounds, attnc (attnc-run, Halide's thread
     pool), ONNX Runtime, OpenVINO and IREE on the same file and inputs,
     and PyTorch's scaled_dot_product_attention on the attention cores
     (benchmarks/peer_run.py, one process per engine and round); every
     output is checked against a reference: float64 NumPy for the
     attention cores, ONNX Runtime elsewhere;
  5. optionally (--adams) compiles the static cases with Halide's Adams2019
     autoscheduler in place of attnc's schedules;
  6. with --bf16 on (the default where the CPU has AVX512-BF16) times
     attnc --precision=bf16 and OpenVINO's bf16 as well; the exported
     MiniLM and BERT-base quantized by ONNX Runtime's quantize_dynamic run
     as 8-bit models (every engine on the same quantized file; % of peak
     against the int8 dot-product peak, AVX512-VNNI);
  7. records each process's peak memory and each engine's compile or load
     time;
and writes results.md (the tables), results.json and results.png (the
chart) into --out. Times are medians over rounds of each round's median.
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


def measure_peak(exe, threads, kind="fp32"):
    return float(subprocess.run([exe, str(threads), "0.5", kind], check=True,
                                capture_output=True, text=True).stdout)


def load_s(text):
    m = re.search(r"load: ([0-9.]+) s", text)
    return float(m.group(1)) if m else None


PEERS = ["ort", "openvino", "iree", "torch-sdpa"]
LABELS = {"attnc": "attnc", "attnc_pinned": "attnc, shapes pinned",
          "ort": "ONNX Runtime", "openvino": "OpenVINO", "iree": "IREE",
          "torch-sdpa": "PyTorch SDPA", "attnc_bf16": "attnc bf16",
          "openvino_bf16": "OpenVINO bf16",
          "attnc_unfused": "attnc --no-fuse"}


def reference(kind, inputs, out_of):
    """The output every engine is checked against: float64 attention for
    the cores (the causal ones mask j > i), ONNX Runtime's output
    elsewhere."""
    if "core" not in kind:
        return out_of("ort")
    q, k, v = (inputs[n].astype(np.float64) for n in "qkv")
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if "causal" in kind:
        n = s.shape[-1]
        s = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, s)
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def torch_python(arg):
    """The Python that runs the PyTorch engine and the exporter, or None."""
    for py in ([arg] if arg else [sys.executable]):
        if py and subprocess.run([py, "-c", "import torch, transformers"],
                                 capture_output=True).returncode == 0:
            return py
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=".*", help="regex of case names")
    ap.add_argument("--tools", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--workdir", default="/tmp/attnc-bench")
    ap.add_argument("--models", default=os.path.join(HERE, "models"),
                    help="exported models (benchmarks/export_models.py)")
    ap.add_argument("--torch-python", default=None,
                    help="a Python with torch and transformers (default: "
                    "this one, where it has them)")
    ap.add_argument("--engines", default="attnc,ort,openvino,iree,torch-sdpa",
                    help="comma-separated subset of the engines")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="time budget per measurement")
    ap.add_argument("--adams", action="store_true",
                    help="also time Halide's Adams2019 autoscheduler on the "
                    "static cases")
    ap.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                    help="the bf16 columns: auto measures them where the CPU "
                    "has AVX512-BF16 dot products")
    ap.add_argument("--from-json", default=None,
                    help="only write the tables and the chart again from a "
                    "results.json of an earlier run")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        write_table(os.path.join(args.out, "results.md"), saved["meta"],
                    saved["rows"])
        write_chart(os.path.join(args.out, "results.png"), saved["meta"],
                    saved["rows"])
        return
    has_bf16 = cpu_has_bf16()
    bf16 = args.bf16 == "on" or (args.bf16 == "auto" and has_bf16)
    engines = args.engines.split(",")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.workdir, exist_ok=True)
    attnc = os.path.join(args.tools, "attnc")
    runner = os.path.join(args.tools, "attnc-run")
    peer = os.path.join(HERE, "peer_run.py")
    tpy = torch_python(args.torch_python)
    if tpy:
        subprocess.run([tpy, os.path.join(HERE, "export_models.py"),
                        args.models], check=True)
    else:
        print("no Python with torch and transformers: no PyTorch SDPA "
              "column; exported models only as found in " + args.models,
              flush=True)

    # The clock of a shared machine moves: the peaks are measured again
    # right before each case, and each case's share of the peak is taken
    # against its own measurement.
    peak_exe = build_peak(args.workdir)
    peak = measure_peak(peak_exe, args.threads)
    bf16_peak = measure_peak(peak_exe, args.threads, "bf16") if has_bf16 \
        else 0.0
    print(f"fp32 FMA peak on {args.threads} threads: {peak:.1f} GFLOP/s"
          + (f"; bf16 dot peak {bf16_peak:.1f} GFLOP/s" if bf16_peak else ""),
          flush=True)
    versions = {}
    compiled = {}  # a dynamic model's library and compile time, per file
    iree_compiled = set()
    rows = []
    for name, kind, build in cases.all_cases(args.models):
        if not re.search(args.cases, name):
            continue
        work = os.path.join(args.workdir, name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        model, inputs, flops = build()
        dynamic = isinstance(model, str)
        if dynamic:
            # The file itself, shared by its shapes (IREE's .vmfb beside it).
            shared = os.path.join(args.workdir, "_models",
                                  os.path.basename(os.path.dirname(model)))
            os.makedirs(shared, exist_ok=True)
            path = os.path.join(shared, "model.onnx")
            if not os.path.exists(path):
                os.symlink(os.path.abspath(model), path)
        else:
            path = os.path.join(work, "model.onnx")
            onnx.save(model, path)
        for k, v in inputs.items():
            np.save(os.path.join(work, k + ".npy"), v)
        # A first guess of the run count at 100 GFLOP/s.
        runs = int(min(200, max(5, args.seconds / (flops / 1e11))))
        int8 = kind == "int8 model"
        case_peak = measure_peak(peak_exe, args.threads)
        case_int8_peak = measure_peak(peak_exe, args.threads, "int8") \
            if int8 else 0.0
        case_bf16_peak = measure_peak(peak_exe, args.threads, "bf16") \
            if has_bf16 else 0.0
        # A dynamic model's library serves all its shapes: one entry point
        # named after the model.
        fn = re.sub(r"\W", "_", os.path.basename(os.path.dirname(model))
                    if dynamic else name)

        def attnc_lib(tag, extra):
            lib = os.path.join(work, f"lib{fn}{tag}.so")
            start = time.perf_counter()
            _, rss = run_with_rss([attnc, path, "--emit=shared-lib", "-o",
                                   lib, f"--function-name={fn}", "--quiet"]
                                  + extra)
            return lib, time.perf_counter() - start, rss

        pins = [f"--input-shape={k}=" + "x".join(str(d) for d in v.shape)
                for k, v in inputs.items()]
        libs, compile_s, compile_rss = {}, {}, {}
        if dynamic and path in compiled:
            libs["attnc"], compile_s["attnc"], compile_rss["attnc"] = \
                compiled[path]
        else:
            libs["attnc"], compile_s["attnc"], compile_rss["attnc"] = \
                attnc_lib("", [])
            if dynamic:
                compiled[path] = (libs["attnc"], compile_s["attnc"],
                                  compile_rss["attnc"])
        if dynamic:
            libs["attnc_pinned"], compile_s["attnc_pinned"], \
                compile_rss["attnc_pinned"] = attnc_lib("_pinned", pins)
        if name.startswith(("gat_", "deberta_")):
            # What fusing graph attention, or attention over merged batch
            # and heads (DeBERTa), into one op is worth.
            libs["attnc_unfused"], compile_s["attnc_unfused"], \
                compile_rss["attnc_unfused"] = attnc_lib("_unfused",
                                                         ["--no-fuse"])
        if bf16 and not int8:
            libs["attnc_bf16"], compile_s["attnc_bf16"], \
                compile_rss["attnc_bf16"] = attnc_lib(
                    "_bf16", ["--precision=bf16"])

        cmds = {}
        for tag, lib in libs.items():
            cmds[tag] = [runner, lib, f"--function={fn}"] + [
                f"--input={k}=@{os.path.join(work, k)}.npy"
                for k in inputs] + [
                f"--output=@{os.path.join(work, tag + '_out.npy')}",
                f"--benchmark={runs}", f"--threads={args.threads}"]
        core = "core" in kind and set(inputs) == {"q", "k", "v"}
        for e in PEERS:
            if e not in engines or (e == "torch-sdpa" and not (core and tpy)):
                continue
            py = tpy if e == "torch-sdpa" else sys.executable
            cmds[e] = [py, peer, e, path, work, str(args.threads), str(runs),
                       os.path.join(work, e + "_out.npy")] + (
                ["--causal"] if "causal" in kind else [])
        if bf16 and not int8 and "openvino" in engines:
            cmds["openvino_bf16"] = cmds["openvino"][:7] + [
                os.path.join(work, "openvino_bf16_out.npy"),
                "--precision", "bf16"]
        vmfb = path[:-len(".onnx")] + ".vmfb"
        if "iree" in cmds and path not in iree_compiled:
            # IREE compiles in the first round (its load time is its
            # compile time), once per file in this run.
            iree_compiled.add(path)
            if os.path.exists(vmfb):
                os.remove(vmfb)
        times = {e: [] for e in cmds}
        rss, load = {}, {}
        failed = {}
        for _ in range(args.rounds):
            for e, cmd in cmds.items():
                if e in failed:
                    continue
                try:
                    text, r = run_with_rss(cmd)
                except RuntimeError as err:
                    failed[e] = str(err).strip().splitlines()[-1][:200]
                    print(f"{name}: {e} failed: {failed[e]}", flush=True)
                    continue
                times[e].append(median_ms(text))
                rss[e] = max(rss.get(e, 0), r)
                if e not in load:
                    load[e] = load_s(text)
                m = re.search(r"\((\w[\w-]*) ([0-9][^)]*)\)", text)
                if m and e in PEERS:
                    versions[m.group(1)] = m.group(2)

        def out_of(e):
            return np.load(os.path.join(work, e + "_out.npy")).astype(
                np.float64)
        ms = {e: float(np.median(t)) for e, t in times.items() if t}
        ref = None
        if "core" in kind or "ort" in ms:
            ref = reference(kind, inputs, out_of)
        diff = {}
        for e in ms:
            if ref is None:
                continue
            o = out_of(e)
            diff[e] = float(np.max(np.abs(o - ref)) /
                            max(1.0, float(np.max(np.abs(ref))))) \
                if o.shape == ref.shape else float("inf")
        adams_ms = None
        if args.adams and not dynamic:
            adams_ms = time_adams(attnc, runner, path, work, fn, inputs,
                                  args.threads)
        row = {"case": name, "kind": kind, "gflop": flops / 1e9,
               "peak_gflops": case_peak, "bf16_peak_gflops": case_bf16_peak,
               "int8_peak_gops": case_int8_peak,
               "ms": ms, "rss_mib": rss, "load_s": load, "diff": diff,
               "failed": failed, "compile_s": compile_s,
               "compile_rss_mib": compile_rss, "runs": runs,
               "adams_ms": adams_ms}
        rows.append(row)
        a = ms.get("attnc")
        print(f"{name:20s} " + "  ".join(
            f"{e} {t:.3f} ms" + (f" (×{t / a:.2f})" if a and e != "attnc"
                                 else "")
            + (f" [diff {diff[e]:.0e}]" if e in diff else "")
            for e, t in ms.items()) + (
            f"  {100 * flops / a / 1e6 / (case_int8_peak or case_peak):.0f}"
            "% of peak" if a else ""), flush=True)

    meta = {
        "threads": args.threads, "rounds": args.rounds,
        "peak_gflops": float(np.median([r["peak_gflops"] for r in rows]))
        if rows else peak,
        "bf16_peak_gflops": float(np.median([r["bf16_peak_gflops"]
                                             for r in rows]))
        if rows else bf16_peak,
        "int8_peak_gops": max([r.get("int8_peak_gops", 0.0)
                               for r in rows] + [0.0]),
        "versions": versions, "cpu": cpu_name(),
        "date": time.strftime("%Y-%m-%d"), "cpu_bf16": has_bf16,
        "bf16_measured": bf16,
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


# A result further than this from the reference (max |x − ref| / max(1,
# max |ref|)) is marked and not counted as a peer's time. 8-bit models
# quantize activations at run time: a last-bit difference before a
# quantization moves a value by a whole step, and the steps add up over
# the layers; ONNX Runtime, OpenVINO, IREE and attnc differ from each
# other by 3-20 % of the largest output on the exported encoders.
TOLERANCE = {"fp32": 1e-3, "bf16": 5e-2, "int8": 0.25}


def tolerance(e, kind=""):
    return TOLERANCE["bf16" if e.endswith("bf16") else
                     "int8" if kind == "int8 model" else "fp32"]


def fastest_peer(r):
    """(engine, ms) of the fastest fp32 peer whose output matched."""
    best = None
    for e in PEERS:
        t = r["ms"].get(e)
        if t is None or r["diff"].get(e, 0.0) > tolerance(e, r["kind"]):
            continue
        if best is None or t < best[1]:
            best = (e, t)
    return best


def write_table(path, meta, rows):
    v = meta["versions"]
    peers = ", ".join(f"{LABELS.get(k, k)} {x}" for k, x in v.items())
    lines = [
        f"Machine: {meta['cpu']}, {meta['threads']} threads; measured fp32 "
        f"FMA peak {meta['peak_gflops']:.0f} GFLOP/s"
        + (f", bf16 dot-product peak {meta['bf16_peak_gflops']:.0f} GFLOP/s"
           if meta["bf16_peak_gflops"] else
           " (no AVX512-BF16 on this CPU: no bf16 peak)")
        + (f", int8 dot-product (vpdpbusd) peak up to "
           f"{meta['int8_peak_gops']:.0f} GOP/s (the % of peak of the int8 "
           "rows is against their own case's measurement)"
           if meta.get("int8_peak_gops") else "")
        + f" (medians of the measurements before each case; % of peak is "
        f"against the highest, {max([meta['peak_gflops']] + [r['peak_gflops'] for r in rows]):.0f} GFLOP/s); "
        f"{meta['rounds']} alternating rounds per "
        f"case; {meta['date']}. Peers: {peers}.",
        "",
        "Each cell: the engine's median time in ms and, in parentheses, its "
        "time over attnc's (> 1: attnc is faster). ✗: output further than "
        "the tolerance from the reference.",
        "",
        "| case | GFLOP | attnc ms | % of peak | ONNX Runtime | OpenVINO | "
        "IREE | PyTorch SDPA | fastest peer / attnc | attnc, shapes pinned "
        "(dynamic / pinned) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(r, e):
        t = r["ms"].get(e)
        if t is None:
            return "failed" if e in r["failed"] else "—"
        a = r["ms"].get("attnc")
        bad = " ✗" if r["diff"].get(e, 0.0) > tolerance(e, r["kind"]) else ""
        return f"{t:.3f} ({t / a:.2f}×){bad}" if a else f"{t:.3f}{bad}"

    # The machine's limit: the highest of the peaks measured in the run (a
    # measurement taken while neighbours ran is low, not a lower limit).
    limit = max([meta["peak_gflops"]] + [r["peak_gflops"] for r in rows])
    for r in rows:
        a = r["ms"].get("attnc")
        best = fastest_peer(r)
        # 8-bit models against the int8 dot-product peak of their case.
        pct = 100 * r["gflop"] * 1e3 / a / (
            r.get("int8_peak_gops") or limit) if a else None
        pinned = r["ms"].get("attnc_pinned")
        lines.append(
            f"| {r['case']} | {r['gflop']:.2f} | "
            + (f"{a:.3f}" if a else "failed") + " | "
            + (f"{pct:.0f}" if pct else "—") + " | "
            + " | ".join(cell(r, e) for e in PEERS) + " | "
            + (f"{best[1] / a:.2f}× ({LABELS[best[0]]})" if best and a
               else "—") + " | "
            + (f"{pinned:.3f} ({a / pinned:.2f}×)" if pinned and a else "—")
            + " |")
    lines += [
        "",
        "Peak memory (maximum resident set of the timing process, MiB) and "
        "compile or load time (s; attnc: `attnc --emit=shared-lib` of the "
        "file, once per dynamic model; IREE: import and iree-compile; ONNX "
        "Runtime and OpenVINO: session creation), and the largest "
        "difference from the reference:",
        "",
        "| case | attnc MiB | ORT MiB | OpenVINO MiB | IREE MiB | attnc "
        "compile s | ORT load s | OpenVINO load s | IREE compile s | "
        "max diff attnc / ORT / OpenVINO / IREE / SDPA |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        def mib(e):
            x = r["rss_mib"].get(e)
            return f"{x:.0f}" if x else "—"

        def secs(x):
            return f"{x:.2f}" if x is not None else "—"
        lines.append(
            f"| {r['case']} | " + " | ".join(mib(e) for e in
                                             ["attnc", "ort", "openvino",
                                              "iree"])
            + f" | {secs(r['compile_s'].get('attnc'))} | "
            + " | ".join(secs(r["load_s"].get(e)) for e in
                         ["ort", "openvino", "iree"]) + " | "
            + " / ".join(f"{r['diff'][e]:.0e}" if e in r["diff"] else "—"
                         for e in ["attnc"] + PEERS) + " |")
    if any("attnc_unfused" in r["ms"] for r in rows):
        lines += ["", "Attention fused (graph attention into "
                  "attn.graph_attention, blocks without an edge skipped; "
                  "DeBERTa's attention over merged batch and heads into "
                  "attn.sdpa) against the same file compiled with "
                  "`--no-fuse` (every score, mask and exponential stored as "
                  "an N × N tensor per head):", "",
                  "| case | attnc ms | attnc --no-fuse ms (× attnc) | "
                  "attnc MiB | --no-fuse MiB |", "|---|---:|---:|---:|---:|"]
        for r in rows:
            u = r["ms"].get("attnc_unfused")
            if u is None:
                continue
            a = r["ms"].get("attnc")
            lines.append(
                f"| {r['case']} | " + (f"{a:.3f}" if a else "failed")
                + f" | {u:.3f}" + (f" ({u / a:.2f}×)" if a else "") + " | "
                + " | ".join(f"{r['rss_mib'][e]:.0f}"
                             if r["rss_mib"].get(e) else "—"
                             for e in ["attnc", "attnc_unfused"]) + " |")
    if any("attnc_bf16" in r["ms"] for r in rows):
        lines += ["", "bf16 (products in bfloat16, float32 sums), against "
                  "the bf16 dot-product peak:", "",
                  "| case | attnc bf16 ms | % of bf16 peak | bf16 / fp32 "
                  "speed | OpenVINO bf16 ms (over attnc bf16) | bf16 diff "
                  "attnc / OpenVINO |", "|---|---:|---:|---:|---:|---|"]
        for r in rows:
            b = r["ms"].get("attnc_bf16")
            if not b:
                continue
            o = r["ms"].get("openvino_bf16")
            bp = r["bf16_peak_gflops"]
            lines.append(
                f"| {r['case']} | {b:.3f} | "
                + (f"{100 * r['gflop'] * 1e3 / b / bp:.0f}" if bp else "—")
                + f" | {r['ms']['attnc'] / b:.2f}× | "
                + (f"{o:.3f} ({o / b:.2f}×)" if o else "—") + " | "
                + " / ".join(f"{r['diff'][e]:.0e}" if e in r["diff"]
                             else "—" for e in ["attnc_bf16",
                                                "openvino_bf16"]) + " |")
    lines += [
        "",
        "GFLOP counts the matrix products (attention: 4·H·N²·D per batch "
        "row, half of it when causal; padded positions count). Reference: "
        "float64 NumPy for the attention cores, ONNX Runtime's output "
        "elsewhere; tolerance 1e-3 (fp32) and 5e-2 (bf16) of max(1, max "
        "|ref|). Dynamic models: the exporter's file with its dynamic axes, "
        "compiled once and called at the case's shape; the pinned column "
        "is the same file compiled with `--input-shape` at that shape.",
        "",
        f"Command: `{meta['command']}`",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_chart(path, meta, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in rows if r["ms"].get("attnc")]
    engines = ["attnc"] + PEERS
    width = 0.8 / len(engines)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(rows)), 4.8))
    for i, e in enumerate(engines):
        ax.bar(x + (i - (len(engines) - 1) / 2) * width,
               [r["gflop"] * 1e3 / r["ms"][e] if r["ms"].get(e) else 0
                for r in rows], width, label=LABELS[e])
    ax.axhline(meta["peak_gflops"], color="black", linestyle="--",
               linewidth=1, label="measured FMA peak")
    ax.set_xticks(x)
    ax.set_xticklabels([r["case"] for r in rows], rotation=40, ha="right")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(f"{meta['cpu']}, {meta['threads']} threads, fp32")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
