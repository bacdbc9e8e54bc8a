#!/usr/bin/env python3
"""Times one ONNX model under one of attnc's peers, in a process of its own
so that its peak memory is measured alone; run by benchmarks/run.py.

  peer_run.py ENGINE MODEL.onnx INPUT_DIR THREADS RUNS OUT.npy
              [--precision f32|bf16] [--causal]

ENGINE is one of
  ort         ONNX Runtime, CPU execution provider, all graph optimizations,
              THREADS intra-op threads, sequential execution;
  openvino    OpenVINO on CPU: INFERENCE_NUM_THREADS = THREADS,
              PERFORMANCE_HINT = LATENCY, INFERENCE_PRECISION_HINT = f32
              (it computes in bf16 on CPUs with AVX512-BF16 unless told) or
              bf16 with --precision bf16;
  iree        IREE: iree-import-onnx, then iree-compile for llvm-cpu with the
              host CPU (the .vmfb is kept beside MODEL.onnx and reused), run
              by the local-task driver with THREADS workers;
  torch-sdpa  PyTorch's scaled_dot_product_attention on the inputs q, k, v
              (an attention core; --causal: is_causal=True), THREADS intra-op
              threads.

The inputs are INPUT_DIR/NAME.npy for the model's inputs. Prints
`load: S s` (session creation or compilation, once) and `median: X ms
min: Y ms  max: Z ms` of RUNS calls after one warm-up call, and writes the
first output to OUT.npy.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def model_inputs(path):
    import onnx
    graph = onnx.load(path, load_external_data=False).graph
    inits = {t.name for t in graph.initializer}
    return [i.name for i in graph.input if i.name not in inits]


def feed_of(names, input_dir):
    return {n: np.load(os.path.join(input_dir, n + ".npy")) for n in names}


def ort_engine(args):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = \
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(args.model, options,
                                   providers=["CPUExecutionProvider"])
    feed = feed_of([i.name for i in session.get_inputs()], args.input_dir)
    return (lambda: session.run(None, feed)[0]), \
        f"onnxruntime {ort.__version__}"


def openvino_engine(args):
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(core.read_model(args.model), "CPU", {
        "INFERENCE_NUM_THREADS": args.threads,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": args.precision,
    })
    request = compiled.create_infer_request()
    feed = feed_of([p.get_any_name() for p in compiled.inputs],
                   args.input_dir)

    def call():
        request.infer(feed)
        return request.get_output_tensor(0).data
    return call, f"openvino {ov.get_version().split('-')[0]}"


def iree_engine(args):
    import iree.runtime as rt
    bindir = os.path.dirname(sys.executable)
    vmfb = os.path.splitext(args.model)[0] + ".vmfb"
    if not os.path.exists(vmfb):
        mlir = os.path.splitext(args.model)[0] + ".iree.mlir"
        subprocess.run([os.path.join(bindir, "iree-import-onnx"), args.model,
                        "-o", mlir], check=True)
        subprocess.run([os.path.join(bindir, "iree-compile"), mlir,
                        "--iree-hal-target-device=local",
                        "--iree-hal-local-target-device-backends=llvm-cpu",
                        "--iree-llvmcpu-target-cpu=host", "-o", vmfb + ".tmp"],
                       check=True)
        os.replace(vmfb + ".tmp", vmfb)
    rt.flags.parse_flags(f"--task_topology_max_group_count={args.threads}")
    config = rt.Config("local-task")
    context = rt.SystemContext(config=config)
    module = rt.VmModule.mmap(config.vm_instance, vmfb)
    context.add_vm_module(module)
    names = [n for n in module.function_names
             if not n.startswith("__") and "$" not in n]
    function = context.modules[module.name][names[0]]
    feed = list(feed_of(model_inputs(args.model), args.input_dir).values())

    def call():
        out = function(*feed)
        if isinstance(out, (list, tuple)):
            out = out[0]
        return out.to_host()
    from iree.runtime import version
    return call, f"iree {version.VERSION}"


def torch_sdpa_engine(args):
    import torch
    torch.set_num_threads(args.threads)
    q, k, v = (torch.from_numpy(np.load(os.path.join(args.input_dir,
                                                     n + ".npy")))
               for n in "qkv")
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def call():
        with torch.no_grad():
            return sdpa(q, k, v, is_causal=args.causal).numpy()
    return call, f"torch {torch.__version__}"


ENGINES = {"ort": ort_engine, "openvino": openvino_engine,
           "iree": iree_engine, "torch-sdpa": torch_sdpa_engine}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("engine", choices=sorted(ENGINES))
    ap.add_argument("model")
    ap.add_argument("input_dir")
    ap.add_argument("threads", type=int)
    ap.add_argument("runs", type=int)
    ap.add_argument("out")
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--causal", action="store_true")
    args = ap.parse_args()
    start = time.perf_counter()
    call, version = ENGINES[args.engine](args)
    print(f"load: {time.perf_counter() - start:.3f} s", flush=True)
    np.save(args.out, np.asarray(call()))
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(f"median: {np.median(times):.4f} ms  min: {times[0]:.4f} ms  "
          f"max: {times[-1]:.4f} ms  ({version})")


if __name__ == "__main__":
    main()
