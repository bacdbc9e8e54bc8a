#!/usr/bin/env python3
"""Writes a BERT-base-sized encoder (12 layers, hidden 768, 12 heads, FFN
3072, vocabulary 30522; random weights, about 440 MB) as ONNX, to measure
attnc's compile time and peak compile memory on a real-sized model.

  make_bert_base.py OUT_DIR [--external-data] [--opset N]
                    [--layers L] [--hidden H] [--heads N] [--ffn F]

(--layers 6 --hidden 384 --heads 12 --ffn 1536 is the size of
all-MiniLM-L6-v2, the 6-layer encoder of docs/performance.md.)

Needs torch, transformers, onnx and onnxruntime (the packages of
test/models/generate_models.py; not part of the test setup). The model has
dynamic batch and sequence axes and the inputs input_ids, attention_mask and
token_type_ids (int64), like test/models/bert. With --external-data the
weights go to OUT_DIR/model.onnx.data (ONNX external data), as exporters
write models over 2 GB.
"""

import argparse
import os
import sys

import onnx
import torch
import transformers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "models"))
from generate_models import BertWrapper  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--external-data", action="store_true")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--ffn", type=int, default=3072)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=30522, hidden_size=args.hidden,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=args.ffn,
        max_position_embeddings=512, attn_implementation="eager")
    model = BertWrapper(
        transformers.BertModel(cfg, add_pooling_layer=False)).eval()
    x = (torch.randint(0, 30522, (2, 16)), torch.ones(2, 16, dtype=torch.int64),
         torch.zeros(2, 16, dtype=torch.int64))
    path = os.path.join(args.out_dir, "model.onnx")
    dims = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, x, path, dynamo=False, opset_version=args.opset,
                      input_names=["input_ids", "attention_mask",
                                   "token_type_ids"],
                      output_names=["last_hidden_state"],
                      dynamic_axes={"input_ids": dims, "attention_mask": dims,
                                    "token_type_ids": dims,
                                    "last_hidden_state": dims})
    if args.external_data:
        proto = onnx.load(path)
        onnx.save_model(proto, path, save_as_external_data=True,
                        all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=1024)
    print("wrote", path)


if __name__ == "__main__":
    main()
