#!/usr/bin/env python3
"""Derives the `<name>_ortopt` fixtures: a TorchScript fixture (bert, gpt2)
passed through ONNX Runtime's transformer optimizer
(onnxruntime.transformers.optimizer.optimize_model, opt_level 1), which
rewrites it with com.microsoft operators (EmbedLayerNormalization,
Attention, SkipLayerNormalization, BiasGelu, FastGelu) where it recognizes
the patterns. The cases are the source fixture's: the same inputs (those the
optimized graph still takes) and the PyTorch reference outputs; the
optimized model must agree with them under onnxruntime to 1e-4 x max|ref|.

Run by hand with the generator's environment (see README):

  venv/bin/python test/models/optimize_models.py [--only bert]
"""

import argparse
import json
import os
import shutil
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.transformers import optimizer

HERE = os.path.dirname(os.path.abspath(__file__))
# (fixture, optimizer model type, heads, hidden)
SOURCES = [("bert", "bert", 4, 64), ("gpt2", "gpt2", 4, 64)]
TOLERANCE = 1e-4


def derive(name, model_type, heads, hidden):
    src = os.path.join(HERE, name)
    dst = os.path.join(HERE, name + "_ortopt")
    with open(os.path.join(src, "model.json")) as f:
        meta = json.load(f)
    opt = optimizer.optimize_model(
        os.path.join(src, "model.onnx"), model_type=model_type,
        num_heads=heads, hidden_size=hidden, opt_level=1)
    model = opt.model
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    path = os.path.join(dst, "model.onnx")
    onnx.save(model, path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    worst = 0.0
    cases = []
    for case in meta["cases"]:
        cdir = os.path.join(dst, case["name"])
        os.makedirs(os.path.join(cdir, "inputs"))
        os.makedirs(os.path.join(cdir, "outputs"))
        feeds = {}
        for i in inputs:
            a = np.load(os.path.join(src, case["name"], "inputs", i + ".npy"))
            np.save(os.path.join(cdir, "inputs", i + ".npy"), a)
            feeds[i] = a
        got = session.run(None, feeds)
        for o, g in zip(outputs, got):
            shutil.copy(os.path.join(src, case["name"], "outputs", o + ".npy"),
                        os.path.join(cdir, "outputs", o + ".npy"))
            ref = np.load(os.path.join(cdir, "outputs", o + ".npy"))
            err = float(np.abs(g - ref).max() / np.abs(ref).max())
            assert err <= TOLERANCE, f"{name}_ortopt/{case['name']}: {err}"
            worst = max(worst, err)
        cases.append({"name": case["name"],
                      "inputs": {i: list(feeds[i].shape) for i in inputs},
                      "outputs": case["outputs"]})
    ops = Counter((n.domain + "." if n.domain else "") + n.op_type
                  for n in model.graph.node)
    out = dict(meta)
    out.update({
        "name": name + "_ortopt",
        "description": meta["description"] + "; passed through ONNX "
                       "Runtime's transformer optimizer",
        "exporter": meta["exporter"] + ", then onnxruntime.transformers."
                    f"optimizer.optimize_model(model_type='{model_type}', "
                    f"num_heads={heads}, hidden_size={hidden}, opt_level=1)",
        "optimizer": "onnxruntime " + ort.__version__,
        "bytes": os.path.getsize(path),
        "nodes": len(model.graph.node),
        "initializers": len(model.graph.initializer),
        "inputs": [v for v in meta["inputs"] if v["name"] in inputs],
        "op_types": dict(sorted(ops.items())),
        "cases": cases,
        "ort_max_rel_error": float("%.3g" % worst),
    })
    with open(os.path.join(dst, "model.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {name}_ortopt: {len(model.graph.node)} nodes, "
          f"{dict(sorted(ops.items()))}, worst {worst:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    for source in SOURCES:
        if not only or source[0] in only:
            derive(*source)


if __name__ == "__main__":
    main()
