#!/usr/bin/env python3
"""The cost of calling a compiled model through attnc.InferenceSession
rather than from C.

    PYTHONPATH=build/python python3 benchmarks/session_overhead.py \\
        [--threads 2] [--calls 200] [--rounds 3]

For each case it builds the session (compiled once, cached), writes the
inputs as .npy files (both sides run on arrays loaded from them: where
arrays sit in memory changes the time of the larger cases by up to ~15 %
on its own) and, alternating in rounds, times
  - `attnc-run LIB --benchmark=N` on the session's own library (the C entry
    point called in a loop on buffers prepared once), and
  - `session.run(None, feed)` called N times from Python (argument checks,
    buffer descriptions, output allocation);
both on the same number of threads. It prints the medians and minima and
their ratio (Python over C); the smallest case shows the fixed cost per
call, the largest how much of it remains when the model does real work.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import attnc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTNC_RUN = os.path.join(ROOT, "build", "bin", "attnc-run")


def llama_feed(batch, sequence):
    def make(session):
        rng = np.random.default_rng(0)
        ids = rng.integers(0, 100, (batch, sequence)).astype(np.int64)
        return {"input_ids": ids,
                "attention_mask": np.ones((batch, sequence), np.int64)}
    return make


def attention_feed(session):
    rng = np.random.default_rng(0)
    feed = {a.name: rng.standard_normal(a.shape).astype(np.float32)
            for a in session.get_inputs()}
    n = feed["mask"].shape[-1]
    feed["mask"] = np.triu(np.full((n, n), -1e9, np.float32),
                           k=1).reshape(feed["mask"].shape)
    return feed


CASES = [
    ("llama b2_s1", os.path.join("test", "models", "llama", "model.onnx"),
     llama_feed(2, 1)),
    ("llama b2_s16", os.path.join("test", "models", "llama", "model.onnx"),
     llama_feed(2, 16)),
    ("attention 8x512x64", os.path.join("examples", "attention",
                                        "attention.onnxtext"),
     attention_feed),
]


def save_feed(feed, workdir):
    """Writes the inputs as .npy files for attnc-run; returns the feed read
    back from them, so that both sides run on arrays loaded the same way."""
    paths = {}
    for name, array in feed.items():
        paths[name] = os.path.join(workdir, name + ".npy")
        np.save(paths[name], array)
    return paths, {name: np.load(path) for name, path in paths.items()}


def time_c(library, paths, calls, threads):
    args = [ATTNC_RUN, library, "--function=model",
            f"--benchmark={calls}", f"--threads={threads}"]
    for name, path in paths.items():
        args.append(f"--input={name}=@{path}")
    text = subprocess.run(args, check=True, capture_output=True,
                          text=True).stdout
    median = float(re.search(r"median: ([0-9.]+) ms", text).group(1))
    fastest = float(re.search(r"min: ([0-9.]+) ms", text).group(1))
    return median, fastest


def time_python(session, feed, calls):
    session.run(None, feed)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    print(f"{'case':20s} {'C median':>10s} {'Py median':>10s} "
          f"{'C min':>9s} {'Py min':>9s} {'Py/C (min)':>10s}")
    with tempfile.TemporaryDirectory() as workdir:
        for label, model, make_feed in CASES:
            session = attnc.InferenceSession(os.path.join(ROOT, model),
                                             threads=args.threads)
            library = os.path.join(session.cache_path, "libmodel.so")
            paths, feed = save_feed(make_feed(session), workdir)
            c, py = [], []
            for _ in range(args.rounds):
                c.append(time_c(library, paths, args.calls, args.threads))
                py.append(time_python(session, feed, args.calls))
            c_med = statistics.median(m for m, _ in c)
            py_med = statistics.median(m for m, _ in py)
            c_min = min(f for _, f in c)
            py_min = min(f for _, f in py)
            print(f"{label:20s} {c_med:9.3f}ms {py_med:9.3f}ms "
                  f"{c_min:8.3f}ms {py_min:8.3f}ms {py_min / c_min:10.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
