"""Times one ONNX model under ONNX Runtime (CPU execution provider, all graph
optimizations) on a given number of threads; run by benchmarks/run.py in a
process of its own so that its peak memory is measured alone.

  ort_run.py MODEL.onnx INPUT_DIR THREADS RUNS

Prints the median, min and max time of RUNS calls after one warm-up call,
in milliseconds, as `median: X ms  min: Y ms  max: Z ms`, and writes the
first output to INPUT_DIR/ort_out.npy.
"""

import os
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    model, input_dir, threads, runs = sys.argv[1:5]
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = \
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, options,
                                   providers=["CPUExecutionProvider"])
    feed = {i.name: np.load(os.path.join(input_dir, i.name + ".npy"))
            for i in session.get_inputs()}
    out = session.run(None, feed)[0]
    np.save(os.path.join(input_dir, "ort_out.npy"), out)
    times = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(f"median: {np.median(times):.4f} ms  min: {times[0]:.4f} ms  "
          f"max: {times[-1]:.4f} ms  (onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
