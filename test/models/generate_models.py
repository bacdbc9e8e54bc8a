#!/usr/bin/env python3
"""Generates the small Transformer models under test/models/ and their
reference data.

Each model is a real architecture (Hugging Face `transformers` classes built
from tiny configs, or plain `torch.nn` modules) with random weights drawn from
fixed seeds, exported with PyTorch's own ONNX exporters:

  <name>/         torch.onnx.export(dynamo=False), TorchScript-based, opset 17,
                  dynamic_axes, do_constant_folding=True
  <name>_dynamo/  torch.onnx.export(dynamo=True), torch.export-based, its
                  default opset, dynamic_shapes (only where it succeeds and
                  yields a different graph; failures are recorded)
  <name>_sdpa/    (Hugging Face models only) as <name>/, but with the
                  attention implementation transformers picks by default
                  ("sdpa", torch.nn.functional.scaled_dot_product_attention)
                  instead of "eager"
  <name>_float16/, <name>_bfloat16/
                  (GPT-2 and Llama) as <name>/, with the weights in float16
                  or bfloat16; the reference outputs are the same rounded
                  weights evaluated in float64, and model.json states the
                  tolerance (5e-3 and 3e-2 x max|reference|)

Every directory holds model.onnx (weights embedded, < 1 MB), model.json (its
graph inputs and outputs in ONNX order, op types, cases) and, per case,
<case>/inputs/<graph input>.npy and <case>/outputs/<graph output>.npy: the
outputs are what the PyTorch module itself computes in float32. The first
case of each model is the shape the model was exported at; the others use
different batch and sequence lengths (the dims are dynamic). The generator
also runs every model.onnx with onnxruntime and requires it to agree with
PyTorch to 1e-4 x max|reference|. manifest.json sums everything up.

Run by hand (the environment is not part of CI; the outputs are committed):

  /work/venv/torchenv/bin/python test/models/generate_models.py [--only bert,gpt2]
      [--low-precision-only]
"""

import argparse
import copy
import json
import linecache
import math
import os
import shutil
import sys
import tempfile
import traceback
import warnings
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
TORCHSCRIPT_OPSET = 17
MAX_BYTES = 1 << 20
ORT_TOLERANCE = 1e-4

# The ONNX ops the compiler is expected to support; everything else an
# exporter emits is listed as "outside" in manifest.json.
KNOWN_OPS = set("""
MatMul Gemm Add Sub Mul Div Pow Sqrt Reciprocal Neg Abs Exp Log Erf Tanh
Sigmoid Relu Max Min Clip Softmax LogSoftmax ReduceMean ReduceSum ReduceMax
LayerNormalization Transpose Reshape Flatten Squeeze Unsqueeze Concat Split
Slice Gather Expand Tile Where Equal Less Greater Not And Cast Shape Constant
ConstantOfShape Range Trilu Identity Dropout Conv Einsum ArgMax
""".split())


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------

def randomize(model, seed):
    """Replaces every parameter with random values from `seed`.

    Hugging Face's initialisation (std 0.02, zero biases, unit norm weights)
    makes attention nearly uniform and biases zero, which would hide bugs;
    here matrices get std 1/8 (= 1/sqrt(hidden)), embedding tables std 1,
    biases std 0.1 and norm scales 1 + N(0, 0.1^2).
    """
    gen = torch.Generator().manual_seed(seed)
    embeddings = {id(m.weight) for m in model.modules()
                  if isinstance(m, nn.Embedding)}
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            if id(p) in embeddings:
                p.copy_(noise)
            elif p.dim() >= 2:
                p.copy_(noise * 0.125)
            elif name.endswith("bias"):
                p.copy_(noise * 0.1)
            else:  # LayerNorm / RMSNorm scales
                p.copy_(1.0 + noise * 0.1)
    return model


# ---------------------------------------------------------------------------
# Test inputs
# ---------------------------------------------------------------------------

def ids(gen, shape, vocab):
    return torch.randint(1, vocab, shape, generator=gen, dtype=torch.int64)


def padding_mask(gen, batch, seq, dtype=torch.int64):
    """1 = token, 0 = padding. Row 0 is unpadded (when batch > 1); the other
    rows lose a random number of trailing positions; every row keeps at least
    one token and, when seq > 1, at least one row is padded."""
    mask = torch.ones(batch, seq, dtype=dtype)
    for b in range(batch):
        if batch > 1 and b == 0:
            continue
        keep = int(torch.randint(1, seq, (1,), generator=gen)) if seq > 1 else 1
        mask[b, keep:] = 0
    return mask


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

VOCAB = 128
HIDDEN = 64
HEADS = 4
FFN = 128
MAX_POS = 64


class BertWrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state


def build_bert(attn):
    cfg = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=HEADS, intermediate_size=FFN,
        max_position_embeddings=MAX_POS, type_vocab_size=2,
        hidden_act="gelu", attn_implementation=attn)
    torch.manual_seed(0)
    return BertWrapper(randomize(
        transformers.BertModel(cfg, add_pooling_layer=False), 1))


def bert_inputs(gen, b, s):
    tt = torch.zeros(b, s, dtype=torch.int64)
    tt[:, s // 2:] = 1
    return {"input_ids": ids(gen, (b, s), VOCAB),
            "attention_mask": padding_mask(gen, b, s),
            "token_type_ids": tt}


class GPT2Wrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).logits


def build_gpt2(attn):
    cfg = transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=MAX_POS, n_embd=HIDDEN, n_layer=2,
        n_head=HEADS, n_inner=FFN, activation_function="gelu_new",
        use_cache=False, tie_word_embeddings=True, bos_token_id=VOCAB - 1,
        eos_token_id=VOCAB - 1, attn_implementation=attn)
    torch.manual_seed(0)
    model = randomize(transformers.GPT2LMHeadModel(cfg), 2)
    assert model.lm_head.weight is model.transformer.wte.weight, "LM head not tied"
    return GPT2Wrapper(model)


def gpt2_inputs(gen, b, s):
    return {"input_ids": ids(gen, (b, s), VOCAB),
            "attention_mask": padding_mask(gen, b, s)}


class ViTWrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).last_hidden_state


def build_vit(attn):
    cfg = transformers.ViTConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=FFN, image_size=32, patch_size=8, num_channels=3,
        hidden_act="gelu", attn_implementation=attn)
    torch.manual_seed(0)
    return ViTWrapper(randomize(
        transformers.ViTModel(cfg, add_pooling_layer=False), 3))


def vit_inputs(gen, b):
    return {"pixel_values": torch.randn(b, 3, 32, 32, generator=gen)}


class T5Wrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, decoder_input_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         decoder_input_ids=decoder_input_ids, use_cache=False)
        return out.last_hidden_state, out.encoder_last_hidden_state


def build_t5(attn):
    cfg = transformers.T5Config(
        vocab_size=VOCAB, d_model=HIDDEN, d_kv=HIDDEN // HEADS, d_ff=FFN,
        num_layers=2, num_decoder_layers=2, num_heads=HEADS,
        relative_attention_num_buckets=32, relative_attention_max_distance=64,
        feed_forward_proj="relu", use_cache=False, attn_implementation=attn)
    torch.manual_seed(0)
    return T5Wrapper(randomize(transformers.T5Model(cfg), 4))


def t5_inputs(gen, b, s, t):
    return {"input_ids": ids(gen, (b, s), VOCAB),
            "attention_mask": padding_mask(gen, b, s),
            "decoder_input_ids": ids(gen, (b, t), VOCAB)}


class LlamaWrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).last_hidden_state


def build_llama(attn):
    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=FFN,
        num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2,
        head_dim=HIDDEN // 8, max_position_embeddings=MAX_POS,
        hidden_act="silu", rms_norm_eps=1e-6, use_cache=False,
        attn_implementation=attn)
    torch.manual_seed(0)
    return LlamaWrapper(randomize(transformers.LlamaModel(cfg), 5))


def llama_inputs(gen, b, s):
    return {"input_ids": ids(gen, (b, s), VOCAB),
            "attention_mask": padding_mask(gen, b, s)}


class AdditiveAttention(nn.Module):
    """One step of Bahdanau attention, as in the PyTorch seq2seq tutorial,
    plus a key padding mask:

        score[b, t] = v . tanh(W1 query[b] + W2 keys[b, t])
        weights     = softmax over t of score, padded keys excluded
        context[b]  = sum_t weights[b, t] * values[b, t]
    """

    def __init__(self, query_size=32, key_size=48, attn_size=64,
                 weighted_sum=False):
        super().__init__()
        self.W1 = nn.Linear(query_size, attn_size)
        self.W2 = nn.Linear(key_size, attn_size)
        self.v = nn.Linear(attn_size, 1, bias=False)
        self.weighted_sum = weighted_sum

    def forward(self, query, keys, values, mask):
        # query [B, Dq], keys [B, T, Dk], values [B, T, Dv], mask [B, T] bool
        scores = self.v(torch.tanh(self.W1(query).unsqueeze(1) + self.W2(keys)))
        scores = scores.squeeze(2).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)                      # [B, T]
        if self.weighted_sum:
            # The context as an explicit weighted sum over the keys.
            context = (weights.unsqueeze(-1) * values).sum(1)        # [B, Dv]
            return (context,)
        context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)  # [B, Dv]
        return context, weights


def build_additive(attn):
    torch.manual_seed(6)
    return AdditiveAttention()


def build_additive_sum(attn):
    torch.manual_seed(6)
    return AdditiveAttention(weighted_sum=True)


def additive_inputs(gen, b, t):
    return {"query": torch.randn(b, 32, generator=gen),
            "keys": torch.randn(b, t, 48, generator=gen),
            "values": torch.randn(b, t, 40, generator=gen),
            "mask": padding_mask(gen, b, t, dtype=torch.bool)}


class HardAttention(nn.Module):
    """One step of hard (argmax) attention: every query picks the single key
    with the highest score and returns that key's value row.

        scores  = (query Wq) (keys Wk)^T / sqrt(d)     [B, Nq, Nk]
        indices = argmax over keys                      [B, Nq]
        output  = values[b, indices[b, q]]              [B, Nq, Dv]

    The rows are fetched with a Gather on the flattened values (index +
    b * Nk), which is how a batched row lookup is written with index_select.
    """

    def __init__(self, query_size=24, key_size=20, head_size=32):
        super().__init__()
        self.q_proj = nn.Linear(query_size, head_size)
        self.k_proj = nn.Linear(key_size, head_size)
        self.scale = 1.0 / math.sqrt(head_size)

    def forward(self, query, keys, values):
        # query [B, Nq, Dq], keys [B, Nk, Dk], values [B, Nk, Dv]
        scores = torch.matmul(self.q_proj(query),
                              self.k_proj(keys).transpose(1, 2)) * self.scale
        indices = torch.argmax(scores, dim=-1)                   # [B, Nq]
        batch, num_keys, value_size = values.shape
        offsets = torch.arange(batch, dtype=torch.int64).unsqueeze(1) * num_keys
        rows = torch.index_select(values.reshape(-1, value_size), 0,
                                  (indices + offsets).reshape(-1))
        output = rows.reshape(batch, -1, value_size)
        return output, indices


def build_hard(attn):
    torch.manual_seed(7)
    return HardAttention()


def hard_scores(model, x):
    with torch.no_grad():
        return torch.matmul(model.q_proj(x["query"]),
                            model.k_proj(x["keys"]).transpose(1, 2)) * model.scale


def hard_inputs(gen, b, q, k, model=None):
    """Draws until every query's best key wins by a clear margin (1e-2 of the
    score range), so that rounding differences cannot change the argmax."""
    while True:
        x = {"query": torch.randn(b, q, 24, generator=gen),
             "keys": torch.randn(b, k, 20, generator=gen),
             "values": torch.randn(b, k, 16, generator=gen)}
        if model is None or k == 1:
            return x
        s = hard_scores(model, x)
        top = torch.topk(s, 2, dim=-1).values
        margin = float((top[..., 0] - top[..., 1]).min())
        if margin > 1e-2 * float(s.abs().max()):
            return x


class CausalSelfAttention(nn.Module):
    """Causal self-attention with the mask written as PyTorch code writes
    it, added to the scores (ONNX: ConstantOfShape, Trilu, Add):

        "inf":   torch.triu(torch.full((n, n), -inf), 1)
        "min":   torch.triu(torch.full((n, n), finfo(float32).min), 1)
        "slice": torch.triu(torch.full((MAX, MAX), -inf), 1)[:n, :n]

    The scale is q.size(-1) ** -0.5, as the exporters trace it from the
    shape (Shape, Slice, Squeeze, Cast, Pow with TorchScript).
    """

    def __init__(self, kind, hidden=32, heads=4):
        super().__init__()
        self.kind, self.heads = kind, heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x):
        b, n, hidden = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads,
                                   hidden // self.heads).permute(2, 0, 3, 1, 4)
        s = q @ k.transpose(-1, -2) / (q.size(-1) ** 0.5)
        if self.kind == "inf":
            mask = torch.triu(torch.full((n, n), float("-inf")), 1)
        elif self.kind == "min":
            mask = torch.triu(
                torch.full((n, n), torch.finfo(torch.float32).min), 1)
        else:
            mask = torch.triu(torch.full((MAX_POS, MAX_POS), float("-inf")),
                              1)[:n, :n]
        p = torch.softmax(s + mask, dim=-1)
        return self.out((p @ v).transpose(1, 2).reshape(b, n, hidden))


def build_causal(kind):
    def build(attn):
        torch.manual_seed(11)
        return randomize(CausalSelfAttention(kind), 11)
    return build


def causal_inputs(gen, b, s):
    return {"x": torch.randn(b, s, 32, generator=gen)}


class LegacyGPT2Attention(nn.Module):
    """GPT-2's attention as early versions of transformers wrote it: a
    registered lower-triangular buffer `bias` sliced to the lengths read off
    the scores (w.size(-2), w.size(-1): Shape, Slice, Squeeze, Sub,
    Unsqueeze with TorchScript), applied as w * b - 1e4 * (1 - b)."""

    def __init__(self, hidden=32, heads=4):
        super().__init__()
        self.heads = heads
        self.register_buffer("bias", torch.tril(torch.ones(
            MAX_POS, MAX_POS)).view(1, 1, MAX_POS, MAX_POS))
        self.c_attn = nn.Linear(hidden, 3 * hidden)
        self.c_proj = nn.Linear(hidden, hidden)

    def split_heads(self, x):
        shape = x.size()[:-1] + (self.heads, x.size(-1) // self.heads)
        return x.view(*shape).permute(0, 2, 1, 3)

    def forward(self, x):
        hidden = x.size(-1)
        q, k, v = self.c_attn(x).split(hidden, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(v.size(-1))
        nd, ns = w.size(-2), w.size(-1)
        b = self.bias[:, :, ns - nd:ns, :ns]
        w = w * b - 1e4 * (1 - b)
        a = torch.matmul(torch.softmax(w, dim=-1), v)
        a = a.permute(0, 2, 1, 3).contiguous()
        a = a.view(*(a.size()[:-2] + (a.size(-2) * a.size(-1),)))
        return self.c_proj(a)


class PastAttention(nn.Module):
    """One GPT-2 attention step with past keys and values, as GPT-2 writes
    it: the new keys and values concatenated after the past ones (returned
    as the present), the causal buffer of the total length sliced to its
    last Nq rows (bottom-right aligned), masked with finfo.min."""

    def __init__(self, hidden=32, heads=4):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(hidden, 3 * hidden)
        self.c_proj = nn.Linear(hidden, hidden)

    def split_heads(self, x):
        b, t, c = x.size()
        return x.view(b, t, self.heads, c // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, past_key, past_value):
        q, k, v = self.c_attn(x).split(x.size(-1), dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        k = torch.cat((past_key, k), dim=-2)
        v = torch.cat((past_value, v), dim=-2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(v.size(-1))
        nq, nk = q.size(-2), k.size(-2)
        causal = torch.tril(torch.ones(nk, nk, dtype=torch.bool))[nk - nq:nk, :nk]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        a = torch.matmul(torch.softmax(w, dim=-1), v).permute(0, 2, 1, 3)
        a = a.contiguous().view(a.size(0), a.size(1), -1)
        return self.c_proj(a), k, v


def build_gpt2past(attn):
    torch.manual_seed(13)
    return randomize(PastAttention(), 13)


def gpt2past_inputs(gen, b, t, p):
    return {"x": torch.randn(b, t, 32, generator=gen),
            "past_key": torch.randn(b, 4, p, 8, generator=gen),
            "past_value": torch.randn(b, 4, p, 8, generator=gen)}


class WhisperWrapper(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.model = encoder

    def forward(self, input_features):
        return self.model(input_features).last_hidden_state


def build_whisper(attn):
    cfg = transformers.WhisperConfig(
        d_model=32, encoder_layers=2, decoder_layers=1,
        encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=8,
        max_source_positions=16, attn_implementation=attn)
    torch.manual_seed(0)
    return WhisperWrapper(randomize(
        transformers.WhisperModel(cfg).get_encoder(), 14))


def whisper_inputs(gen, b):
    return {"input_features": torch.randn(b, 8, 32, generator=gen)}


def build_gpt2legacy(attn):
    torch.manual_seed(12)
    return randomize(LegacyGPT2Attention(), 12)


class HiddenWrapper(nn.Module):
    """input_ids and attention_mask in, last_hidden_state out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids,
                          attention_mask=attention_mask).last_hidden_state


def encoder_inputs(gen, b, s):
    return {"input_ids": ids(gen, (b, s), VOCAB),
            "attention_mask": padding_mask(gen, b, s)}


def build_roberta(attn):
    cfg = transformers.RobertaConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=HEADS, intermediate_size=FFN,
        max_position_embeddings=MAX_POS + 2, pad_token_id=1,
        attn_implementation=attn)
    torch.manual_seed(0)
    return HiddenWrapper(randomize(
        transformers.RobertaModel(cfg, add_pooling_layer=False), 21))


def build_albert(attn):
    cfg = transformers.AlbertConfig(
        vocab_size=VOCAB, embedding_size=32, hidden_size=HIDDEN,
        num_hidden_layers=2, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_POS,
        attn_implementation=attn)
    torch.manual_seed(0)
    return HiddenWrapper(randomize(
        transformers.AlbertModel(cfg, add_pooling_layer=False), 22))


def build_debertav2(attn):
    # DeBERTa has its own attention only: `attn` is eager.
    cfg = transformers.DebertaV2Config(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=HEADS, intermediate_size=FFN,
        max_position_embeddings=MAX_POS, relative_attention=True,
        position_buckets=16, max_relative_positions=MAX_POS,
        pos_att_type=["p2c", "c2p"], position_biased_input=False,
        norm_rel_ebd="layer_norm", share_att_key=True)
    torch.manual_seed(0)
    return HiddenWrapper(randomize(transformers.DebertaV2Model(cfg), 23))


def build_falcon(attn):
    cfg = transformers.FalconConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=HEADS, multi_query=True, new_decoder_architecture=False,
        parallel_attn=True, bias=False, alibi=False, use_cache=False,
        max_position_embeddings=MAX_POS, attn_implementation=attn)
    torch.manual_seed(0)
    return HiddenWrapper(randomize(transformers.FalconModel(cfg), 24))


def build_bloom(attn):
    cfg = transformers.BloomConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, n_layer=2, n_head=HEADS,
        use_cache=False, attn_implementation=attn)
    torch.manual_seed(0)
    return HiddenWrapper(randomize(transformers.BloomModel(cfg), 27))


def build_gemma2(attn):
    cfg = transformers.Gemma2Config(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=FFN,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, max_position_embeddings=MAX_POS, sliding_window=MAX_POS,
        attn_logit_softcapping=50.0, final_logit_softcapping=None,
        query_pre_attn_scalar=16, use_cache=False, attn_implementation=attn)
    torch.manual_seed(0)
    return HiddenWrapper(randomize(transformers.Gemma2Model(cfg), 25))


class SentencePipeline(nn.Module):
    """sentence-transformers' encode: a BERT encoder, the mean of the token
    states weighted by the attention mask, L2-normalized."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        states = self.model(input_ids=input_ids,
                            attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1)


def build_sentence(attn):
    cfg = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=HEADS, intermediate_size=FFN,
        max_position_embeddings=MAX_POS, attn_implementation=attn)
    torch.manual_seed(0)
    return SentencePipeline(randomize(
        transformers.BertModel(cfg, add_pooling_layer=False), 26))


class GraphAttentionLayer(nn.Module):
    """One graph attention layer (Veličković et al.), written as the usual
    plain-torch implementations write it: e_ij = LeakyReLU(a1·Wh_i +
    a2·Wh_j), masked to the neighbours of a dense adjacency matrix, softmax
    over j, then the weighted sum of Wh_j; several heads concatenated."""

    def __init__(self, features=16, out=8, heads=2):
        super().__init__()
        self.heads, self.out = heads, out
        self.w = nn.Linear(features, heads * out, bias=False)
        self.a_src = nn.Parameter(torch.randn(heads, out) * 0.3)
        self.a_dst = nn.Parameter(torch.randn(heads, out) * 0.3)

    def forward(self, x, adj):
        b, n, _ = x.shape
        wh = self.w(x).view(b, n, self.heads, self.out).transpose(1, 2)
        src = (wh * self.a_src[None, :, None, :]).sum(-1, keepdim=True)
        dst = (wh * self.a_dst[None, :, None, :]).sum(-1, keepdim=True)
        e = nn.functional.leaky_relu(src + dst.transpose(-1, -2), 0.2)
        e = e.masked_fill(adj[:, None] == 0, float("-inf"))
        att = torch.softmax(e, dim=-1)
        return (att @ wh).transpose(1, 2).reshape(b, n, self.heads * self.out)


def build_gat(attn):
    torch.manual_seed(0)
    return randomize(GraphAttentionLayer(), 27)


def gat_inputs(gen, b, n):
    adj = (torch.rand(b, n, n, generator=gen) < 0.3).to(torch.int64)
    adj = ((adj + adj.transpose(1, 2) + torch.eye(n, dtype=torch.int64)) > 0)
    return {"x": torch.randn(b, n, 16, generator=gen),
            "adj": adj.to(torch.int64)}


class Spec:
    def __init__(self, name, build, inputs, input_names, output_names,
                 dynamic_axes, cases, description, source, hf=True,
                 max_dims=None, needs_model=False, sdpa=True):
        self.name = name
        self.build = build
        self.inputs = inputs
        self.input_names = input_names
        self.output_names = output_names
        self.dynamic_axes = dynamic_axes  # name -> {axis: dim name}
        self.cases = cases  # [(case name, kwargs for inputs)], first = export
        self.description = description
        self.source = source
        self.hf = hf
        self.max_dims = max_dims or {}
        self.needs_model = needs_model
        # Whether the model has transformers' sdpa attention as well.
        self.sdpa = sdpa


BS = {0: "batch", 1: "sequence"}

SPECS = [
    Spec("bert", build_bert, bert_inputs,
         ["input_ids", "attention_mask", "token_type_ids"],
         ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "token_type_ids": BS,
          "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b3_s7", dict(b=3, s=7)),
          ("b1_s33", dict(b=1, s=33))],
         "BERT encoder (BertModel, no pooler): 2 layers, hidden 64, 4 heads, "
         "FFN 128, exact GELU, word + position + token type embeddings, "
         "padding mask from an int64 0/1 attention_mask",
         "transformers.BertModel", max_dims={"sequence": MAX_POS}),
    Spec("gpt2", build_gpt2, gpt2_inputs, ["input_ids", "attention_mask"],
         ["logits"], {"input_ids": BS, "attention_mask": BS, "logits": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s5", dict(b=1, s=5)),
          ("b3_s40", dict(b=3, s=40)), ("b2_s1", dict(b=2, s=1))],
         "GPT-2 language model (GPT2LMHeadModel): 2 layers, hidden 64, "
         "4 heads, FFN 128, gelu_new (tanh approximation), causal, LM head "
         "tied to the token embedding, no past key values; int64 0/1 "
         "attention_mask (right padding) combined with the causal mask",
         "transformers.GPT2LMHeadModel", max_dims={"sequence": MAX_POS}),
    Spec("vit", build_vit, vit_inputs, ["pixel_values"], ["last_hidden_state"],
         {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}},
         [("b2", dict(b=2)), ("b1", dict(b=1)), ("b5", dict(b=5))],
         "ViT encoder (ViTModel, no pooler): 32x32x3 images, 8x8 patches "
         "(Conv patch embedding, 16 patches + class token), 2 layers, "
         "hidden 64, 4 heads, FFN 128",
         "transformers.ViTModel"),
    Spec("t5", build_t5, t5_inputs,
         ["input_ids", "attention_mask", "decoder_input_ids"],
         ["last_hidden_state", "encoder_last_hidden_state"],
         {"input_ids": {0: "batch", 1: "encoder_sequence"},
          "attention_mask": {0: "batch", 1: "encoder_sequence"},
          "decoder_input_ids": {0: "batch", 1: "decoder_sequence"},
          "last_hidden_state": {0: "batch", 1: "decoder_sequence"},
          "encoder_last_hidden_state": {0: "batch", 1: "encoder_sequence"}},
         [("b2_s12_t8", dict(b=2, s=12, t=8)),
          ("b1_s5_t9", dict(b=1, s=5, t=9)),
          ("b3_s20_t3", dict(b=3, s=20, t=3))],
         "T5 encoder-decoder (T5Model): 2 encoder + 2 decoder layers, "
         "d_model 64, 4 heads of 16, FFN 128 (ReLU), RMS layer norm, "
         "relative position buckets, causal decoder self-attention and "
         "cross-attention, encoder padding mask",
         "transformers.T5Model"),
    Spec("llama", build_llama, llama_inputs, ["input_ids", "attention_mask"],
         ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33)), ("b2_s1", dict(b=2, s=1))],
         "Llama decoder (LlamaModel): 2 layers, hidden 64, 8 query heads "
         "and 2 key/value heads of 8 (grouped-query attention), SwiGLU FFN "
         "128, RMSNorm, rotary position embedding, causal; int64 0/1 "
         "attention_mask (right padding) combined with the causal mask",
         "transformers.LlamaModel", max_dims={"sequence": MAX_POS}),
    Spec("additive", build_additive, additive_inputs,
         ["query", "keys", "values", "mask"], ["context", "weights"],
         {"query": {0: "batch"}, "keys": {0: "batch", 1: "keys"},
          "values": {0: "batch", 1: "keys"}, "mask": {0: "batch", 1: "keys"},
          "context": {0: "batch"}, "weights": {0: "batch", 1: "keys"}},
         [("b2_t10", dict(b=2, t=10)), ("b1_t3", dict(b=1, t=3)),
          ("b4_t25", dict(b=4, t=25))],
         "Bahdanau additive attention step (torch.nn): "
         "score = v^T tanh(W1 q + W2 k), softmax over keys with a bool "
         "padding mask (masked_fill -inf), context = sum of weights x values "
         "(bmm); outputs context and the attention weights",
         "torch.nn", hf=False),
    Spec("additive_sum", build_additive_sum, additive_inputs,
         ["query", "keys", "values", "mask"], ["context"],
         {"query": {0: "batch"}, "keys": {0: "batch", 1: "keys"},
          "values": {0: "batch", 1: "keys"}, "mask": {0: "batch", 1: "keys"},
          "context": {0: "batch"}},
         [("b2_t10", dict(b=2, t=10)), ("b1_t3", dict(b=1, t=3)),
          ("b4_t25", dict(b=4, t=25))],
         "Bahdanau additive attention step (torch.nn) as above, the context "
         "written as (weights.unsqueeze(-1) * values).sum(1) (Mul + "
         "ReduceSum over the keys); outputs the context only",
         "torch.nn", hf=False),
    Spec("hard", build_hard, hard_inputs, ["query", "keys", "values"],
         ["output", "indices"],
         {"query": {0: "batch", 1: "queries"}, "keys": {0: "batch", 1: "keys"},
          "values": {0: "batch", 1: "keys"},
          "output": {0: "batch", 1: "queries"},
          "indices": {0: "batch", 1: "queries"}},
         [("b2_q8_k12", dict(b=2, q=8, k=12)),
          ("b1_q5_k3", dict(b=1, q=5, k=3)),
          ("b3_q16_k31", dict(b=3, q=16, k=31))],
         "hard attention step (torch.nn): projected dot-product scores, "
         "ArgMax over keys, the selected value rows fetched with Gather; "
         "outputs the rows and the int64 indices",
         "torch.nn", hf=False, needs_model=True),
] + [
    Spec(name, build_causal(kind), causal_inputs, ["x"], ["y"],
         {"x": BS, "y": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s5", dict(b=1, s=5)),
          ("b3_s40", dict(b=3, s=40)), ("b2_s1", dict(b=2, s=1))],
         "causal self-attention block (torch.nn): hidden 32, 4 heads, scale "
         "q.size(-1) ** -0.5, additive causal mask " + what + " added to the "
         "scores", "torch.nn", hf=False, max_dims={"sequence": MAX_POS})
    for name, kind, what in (
        ("causal", "inf", "torch.triu(torch.full((n, n), -inf), 1)"),
        ("causalmin", "min",
         "torch.triu(torch.full((n, n), finfo(float32).min), 1)"),
        ("causalslice", "slice",
         "torch.triu(torch.full((64, 64), -inf), 1)[:n, :n]"))
] + [
    Spec("gpt2legacy", build_gpt2legacy, causal_inputs, ["x"], ["y"],
         {"x": BS, "y": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s5", dict(b=1, s=5)),
          ("b3_s40", dict(b=3, s=40)), ("b2_s1", dict(b=2, s=1))],
         "GPT-2 attention block as early transformers wrote it (torch.nn): "
         "hidden 32, 4 heads, a [1, 1, 64, 64] lower-triangular buffer "
         "sliced to [ns - nd:ns, :ns] with lengths read off the scores' "
         "shape, applied as w * b - 1e4 * (1 - b)",
         "torch.nn", hf=False, max_dims={"sequence": MAX_POS}),
    Spec("gpt2past", build_gpt2past, gpt2past_inputs,
         ["x", "past_key", "past_value"], ["y", "present_key", "present_value"],
         {"x": BS, "past_key": {0: "batch", 2: "past"},
          "past_value": {0: "batch", 2: "past"}, "y": BS,
          "present_key": {0: "batch", 2: "total"},
          "present_value": {0: "batch", 2: "total"}},
         [("b2_t3_p5", dict(b=2, t=3, p=5)), ("b1_t1_p9", dict(b=1, t=1, p=9)),
          ("b3_t4_p1", dict(b=3, t=4, p=1))],
         "one GPT-2 attention step with past keys and values (torch.nn): "
         "hidden 32, 4 heads, keys and values concatenated after the past "
         "ones and returned, the causal buffer of the total length sliced "
         "to the last Nq rows, masked with finfo.min",
         "torch.nn", hf=False, max_dims={"sequence": MAX_POS, "past": MAX_POS}),
    Spec("whisper", build_whisper, whisper_inputs, ["input_features"],
         ["last_hidden_state"],
         {"input_features": {0: "batch"}, "last_hidden_state": {0: "batch"}},
         [("b2", dict(b=2)), ("b1", dict(b=1)), ("b3", dict(b=3))],
         "Whisper audio encoder (WhisperModel's encoder): 8 mel bins, 32 "
         "frames, two Conv1d + GELU, sinusoidal positions, 2 layers, d_model "
         "32, 4 heads, FFN 64, pre-norm",
         "transformers.WhisperModel", hf=True),
    Spec("roberta", build_roberta, encoder_inputs,
         ["input_ids", "attention_mask"], ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "RoBERTa encoder (RobertaModel): 2 layers, hidden 64, 4 heads, "
         "FFN 128, position ids from the non-padding tokens (CumSum)",
         "transformers.RobertaModel", max_dims={"sequence": MAX_POS}),
    Spec("albert", build_albert, encoder_inputs,
         ["input_ids", "attention_mask"], ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "ALBERT encoder (AlbertModel): embeddings of 32 projected to 64, "
         "one layer's weights shared by 2 layers, 4 heads, FFN 128",
         "transformers.AlbertModel", max_dims={"sequence": MAX_POS}),
    Spec("debertav2", build_debertav2, encoder_inputs,
         ["input_ids", "attention_mask"], ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "DeBERTa-v2 encoder (DebertaV2Model): 2 layers, hidden 64, 4 heads, "
         "disentangled attention (c2p and p2c terms from log-bucketed "
         "relative positions, GatherElements), shared keys",
         "transformers.DebertaV2Model", max_dims={"sequence": MAX_POS},
         sdpa=False),
    Spec("falcon", build_falcon, encoder_inputs,
         ["input_ids", "attention_mask"], ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "Falcon decoder (FalconModel): 2 layers, hidden 64, 4 query heads "
         "over one key/value head (multi-query), parallel attention and "
         "MLP, rotary positions, causal and padding masks",
         "transformers.FalconModel", max_dims={"sequence": MAX_POS}),
    Spec("bloom", build_bloom, encoder_inputs,
         ["input_ids", "attention_mask"], ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "BLOOM decoder (BloomModel): 2 layers, hidden 64, 4 heads, ALiBi "
         "position biases (per-head slopes times key positions counted from "
         "the padding mask's cumsum) added by baddbmm over batch and heads "
         "merged, causal and padding masks",
         "transformers.BloomModel", sdpa=False),
    Spec("gemma2", build_gemma2, encoder_inputs,
         ["input_ids", "attention_mask"], ["last_hidden_state"],
         {"input_ids": BS, "attention_mask": BS, "last_hidden_state": BS},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "Gemma-2 decoder (Gemma2Model): 2 layers, hidden 64, 4 query heads "
         "over 2 key/value heads of 16, scores soft-capped at 50, "
         "alternating sliding-window and global layers, GeGLU FFN, "
         "RMSNorm before and after each block",
         "transformers.Gemma2Model", max_dims={"sequence": MAX_POS},
         sdpa=False),
    Spec("sentence", build_sentence, encoder_inputs,
         ["input_ids", "attention_mask"], ["embedding"],
         {"input_ids": BS, "attention_mask": BS, "embedding": {0: "batch"}},
         [("b2_s16", dict(b=2, s=16)), ("b1_s7", dict(b=1, s=7)),
          ("b3_s33", dict(b=3, s=33))],
         "sentence-transformers pipeline: a 2-layer BERT encoder, mean "
         "pooling weighted by the attention mask, L2 normalization",
         "transformers.BertModel + torch", max_dims={"sequence": MAX_POS}),
    Spec("gat", build_gat, gat_inputs, ["x", "adj"], ["y"],
         {"x": {0: "batch", 1: "nodes"}, "adj": {0: "batch", 1: "nodes",
                                                  2: "nodes"},
          "y": {0: "batch", 1: "nodes"}},
         [("b2_n12", dict(b=2, n=12)), ("b1_n5", dict(b=1, n=5)),
          ("b3_n40", dict(b=3, n=40))],
         "graph attention layer (torch.nn): 16 features to 2 heads of 8, "
         "e_ij = LeakyReLU(a1 Wh_i + a2 Wh_j) masked by a dense 0/1 "
         "adjacency, softmax over neighbours, heads concatenated",
         "torch.nn", hf=False),
]


# ---------------------------------------------------------------------------
# Export and checks
# ---------------------------------------------------------------------------

def make_inputs(spec, case_index, kwargs, model):
    gen = torch.Generator().manual_seed(1000 + 17 * case_index +
                                        sum(map(ord, spec.name)))
    if spec.needs_model:
        kwargs = dict(kwargs, model=model)
    x = spec.inputs(gen, **kwargs)
    assert list(x) == spec.input_names, (list(x), spec.input_names)
    return x


def torch_outputs(model, x):
    with torch.no_grad():
        out = model(*x.values())
    if not isinstance(out, tuple):
        out = (out,)
    return [o.detach().cpu().numpy() for o in out]


def export_torchscript(spec, model, x, path):
    torch.onnx.export(
        model, tuple(x.values()), path, dynamo=False,
        opset_version=TORCHSCRIPT_OPSET, do_constant_folding=True,
        input_names=spec.input_names, output_names=spec.output_names,
        dynamic_axes=spec.dynamic_axes, external_data=False)


def export_dynamo(spec, model, x, path):
    dims = {}
    for name in spec.input_names:
        for axis, dim in spec.dynamic_axes.get(name, {}).items():
            if dim not in dims:
                dims[dim] = torch.export.Dim(
                    dim, min=1, max=spec.max_dims.get(dim, 4096))
    shapes = tuple({axis: dims[dim] for axis, dim in
                    spec.dynamic_axes.get(name, {}).items()} or None
                   for name in spec.input_names)
    program = torch.onnx.export(
        model, tuple(x.values()), dynamo=True, do_constant_folding=True,
        input_names=spec.input_names, output_names=spec.output_names,
        dynamic_shapes=shapes, external_data=False)
    program.save(path, external_data=False)
    # The exporter annotates every node with debugging metadata (stack traces
    # with this machine's paths, FX node text, module scopes): several times
    # the size of the graph itself and not reproducible. Only that goes.
    proto = onnx.load(path)
    strip_node_metadata(proto.graph)
    for function in proto.functions:
        for node in function.node:
            del node.metadata_props[:]
    onnx.save(proto, path)


def strip_node_metadata(graph):
    for node in graph.node:
        del node.metadata_props[:]
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                strip_node_metadata(attr.g)
            for g in attr.graphs:
                strip_node_metadata(g)


class CapturedWarnings:
    """Collects the warnings an export raises (TracerWarnings mark the
    places where tracing turned a tensor value into a Python constant),
    without file paths, and still prints them."""

    SKIP = ("legacy TorchScript-based ONNX export", "create_rename_mapping",
            "torchvision is not installed", "The feature will be removed",
            "will not be used, since it shares the same shape constraints")

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self._list = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        self.messages = []
        for w in self._list:
            text = str(w.message).strip().splitlines()[0]
            if any(s in text for s in self.SKIP):
                continue
            where = w.filename
            for root in ("site-packages" + os.sep, HERE + os.sep):
                if root in where:
                    where = where.split(root, 1)[1]
            if w.category.__name__ == "TracerWarning":
                # The message is generic; the traced source line says what
                # was frozen into the graph.
                text = "traced as a constant: " + \
                    linecache.getline(w.filename, w.lineno).strip()
            line = f"{w.category.__name__} at {where}:{w.lineno}: {text[:160]}"
            if line not in self.messages:
                self.messages.append(line)
                print("  warning:", line)
        return False


def op_types(graph, counter=None):
    counter = Counter() if counter is None else counter
    for node in graph.node:
        name = node.op_type if node.domain in ("", "ai.onnx") else \
            f"{node.domain}::{node.op_type}"
        counter[name] += 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                op_types(attr.g, counter)
            for g in attr.graphs:
                op_types(g, counter)
    return counter


def value_info(v):
    t = v.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else
            (d.dim_value if d.HasField("dim_value") else "?")
            for d in t.shape.dim]
    return {"name": v.name,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
            "shape": dims}


def graph_key(model_proto):
    """What makes two exported graphs the same: the node sequence."""
    return [(n.op_type, tuple(sorted((a.name, str(onnx.helper.get_attribute_value(a)))
                                     for a in n.attribute if a.name != "value")))
            for n in model_proto.graph.node]


def rel_error(out, ref):
    if out.shape != ref.shape:
        return float("inf")
    if ref.dtype.kind in "iub":
        return 0.0 if np.array_equal(out, ref) else float("inf")
    scale = float(np.abs(ref).max()) or 1.0
    return float(np.abs(out.astype(np.float64) - ref.astype(np.float64)).max()) / scale


def write_variant(spec, variant, exporter, opset, proto_path, cases, extra,
                  out_root=HERE, ort_tolerance=ORT_TOLERANCE,
                  ort_optional=False):
    """Checks one exported model with onnxruntime (within `ort_tolerance` of
    the references) and writes its directory."""
    name = spec.name + variant
    proto = onnx.load(proto_path)
    onnx.checker.check_model(proto, full_check=True)
    for init in proto.graph.initializer:
        assert init.data_location != onnx.TensorProto.EXTERNAL, "external data"
    size = os.path.getsize(proto_path)
    if size >= MAX_BYTES:
        raise RuntimeError(f"{name}: model.onnx is {size} bytes (>= 1 MiB)")
    inputs = [value_info(v) for v in proto.graph.input]
    outputs = [value_info(v) for v in proto.graph.output]
    input_names = [v["name"] for v in inputs]
    output_names = [v["name"] for v in outputs]
    if output_names != spec.output_names:
        raise RuntimeError(f"{name}: graph outputs {output_names}, "
                           f"expected {spec.output_names}")
    missing = set(input_names) - set(spec.input_names)
    if missing:
        raise RuntimeError(f"{name}: unexpected graph inputs {sorted(missing)}")

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(proto_path, options,
                                       providers=["CPUExecutionProvider"])
    except ort.capi.onnxruntime_pybind11_state.NotImplemented as e:
        if not ort_optional:
            raise
        # onnxruntime's CPU provider lacks kernels for some types (bfloat16).
        session = None
        extra = dict(extra, onnxruntime=f"not checked: {short_error(e)}")
        print(f"  {name}: onnxruntime cannot run it: {short_error(e)}")
    out_dir = os.path.join(out_root, name)
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    shutil.copyfile(proto_path, os.path.join(out_dir, "model.onnx"))

    case_records = []
    worst = 0.0
    for case_name, x, refs in cases:
        feeds = {n: x[n].numpy() for n in input_names}
        got = session.run(output_names, feeds) if session else []
        errors = {}
        for oname, o, r in zip(output_names, got, refs):
            err = rel_error(o, r)
            errors[oname] = err
            worst = max(worst, err)
            print(f"  {name}/{case_name}: {oname} {list(r.shape)} "
                  f"onnxruntime vs torch: max abs err = {err:.2e} x max|ref| "
                  f"({'ok' if err <= ort_tolerance else 'MISMATCH'})")
            if not err <= ort_tolerance:
                raise RuntimeError(f"{name}/{case_name}: onnxruntime disagrees "
                                   f"with torch on {oname}: {err:.3e}")
        for sub, names, arrays in (("inputs", input_names,
                                    [feeds[n] for n in input_names]),
                                   ("outputs", output_names, refs)):
            d = os.path.join(out_dir, case_name, sub)
            os.makedirs(d)
            for n, a in zip(names, arrays):
                np.save(os.path.join(d, n + ".npy"), np.ascontiguousarray(a))
        case_records.append({
            "name": case_name,
            "inputs": {n: list(feeds[n].shape) for n in input_names},
            "outputs": {n: list(r.shape) for n, r in zip(output_names, refs)},
            "ort_max_rel_error": {k: float(f"{v:.3g}") for k, v in errors.items()},
        })

    ops = op_types(proto.graph)
    record = {
        "name": name,
        "model": spec.name,
        "description": spec.description,
        "source": spec.source,
        "exporter": exporter,
        "opset": opset,
        "ir_version": proto.ir_version,
        "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "bytes": size,
        "nodes": sum(ops.values()),
        "initializers": len(proto.graph.initializer),
        "inputs": inputs,
        "outputs": outputs,
        "op_types": dict(sorted(ops.items())),
        "ops_outside_list": sorted(o for o in ops if o not in KNOWN_OPS),
        "cases": case_records,
        "export_case": case_records[0]["name"],
        "ort_max_rel_error": float(f"{worst:.3g}"),
    }
    record.update(extra)
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"  wrote {name}: {size} bytes, {record['nodes']} nodes, ops "
          f"outside the list: {', '.join(record['ops_outside_list']) or '-'}")
    return record


def opset_of(path):
    proto = onnx.load(path, load_external_data=False)
    return next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def short_error(e):
    lines = [l for l in str(e).strip().splitlines() if l.strip()]
    text = " | ".join(lines[:6])
    return f"{type(e).__name__}: {text[:800]}"


def generate(spec, tmp):
    print(f"== {spec.name}")
    variants = [("", "eager" if spec.hf else None)]
    if spec.hf and spec.sdpa:
        variants.append(("_sdpa", "sdpa"))
    records, notes = [], []
    for suffix, attn in variants:
        model = spec.build(attn).eval()
        if attn:
            assert model.model.config._attn_implementation == attn
        cases = []
        for i, (case_name, kwargs) in enumerate(spec.cases):
            x = make_inputs(spec, i, kwargs, model)
            cases.append((case_name, x, torch_outputs(model, x)))
        export_x = cases[0][1]
        extra = {"attn_implementation": attn} if attn else {}

        ts_path = os.path.join(tmp, f"{spec.name}{suffix}.onnx")
        with CapturedWarnings() as caught:
            export_torchscript(spec, model, export_x, ts_path)
        model.eval()  # export restores the modes it found; stay in eval
        ts_key = graph_key(onnx.load(ts_path))
        if suffix == "_sdpa" and ts_key == records[0]["_key"]:
            notes.append(f"{spec.name}_sdpa: same graph as {spec.name}, not kept")
            continue
        rec = write_variant(spec, suffix, "torch.onnx.export(dynamo=False) "
                            "(TorchScript)", TORCHSCRIPT_OPSET, ts_path,
                            cases, dict(extra, export_warnings=caught.messages))
        rec["_key"] = ts_key
        records.append(rec)

        if suffix:
            continue  # the dynamo variant is made from the eager model only
        name = spec.name + "_dynamo"
        dyn_path = os.path.join(tmp, name + ".onnx")
        try:
            with CapturedWarnings() as caught:
                export_dynamo(spec, model, export_x, dyn_path)
            model.eval()
            if graph_key(onnx.load(dyn_path)) == ts_key:
                notes.append(f"{name}: same graph as the TorchScript export, not kept")
                continue
            rec = write_variant(spec, "_dynamo", "torch.onnx.export(dynamo=True) "
                                "(torch.export)", opset_of(dyn_path), dyn_path,
                                cases, dict(extra, export_warnings=caught.messages,
                                            postprocessing="node metadata_props "
                                            "(stack traces) removed"))
            records.append(rec)
        except Exception as e:  # recorded, not hidden
            model.eval()
            traceback.print_exc()
            err = short_error(e)
            print(f"  {name}: FAILED: {err}")
            notes.append(f"{name}: dynamo export failed: {err}")
            records[0]["dynamo_error"] = err
            stale = os.path.join(HERE, name)
            if os.path.exists(stale):
                shutil.rmtree(stale)
    for r in records:
        r.pop("_key", None)
    return records, notes


# Lower-precision variants: the eager model with its weights in float16 or
# bfloat16, exported by the TorchScript exporter. The reference is the same
# model (the rounded weights) evaluated in float64; the tolerance allows for
# the 16-bit rounding of the values the ops pass between them.
LOW_PRECISION = {
    "float16": (torch.float16, 5e-3),
    "bfloat16": (torch.bfloat16, 3e-2),
}
LOW_PRECISION_MODELS = ("gpt2", "llama")


def generate_low_precision(spec, tmp, dtype_name):
    dtype, tolerance = LOW_PRECISION[dtype_name]
    name = f"{spec.name}_{dtype_name}"
    print(f"== {name}")
    model = spec.build("eager").eval().to(dtype)
    reference = copy.deepcopy(model).double()
    cases = []
    for i, (case_name, kwargs) in enumerate(spec.cases):
        x = make_inputs(spec, i, kwargs, model)
        refs = [r.astype(np.float64) for r in torch_outputs(reference, x)]
        cases.append((case_name, x, refs))
    path = os.path.join(tmp, name + ".onnx")
    with CapturedWarnings() as caught:
        export_torchscript(spec, model, cases[0][1], path)
    model.eval()
    return write_variant(
        spec, "_" + dtype_name,
        f"torch.onnx.export(dynamo=False) (TorchScript), weights in {dtype_name}",
        TORCHSCRIPT_OPSET, path, cases,
        {"attn_implementation": "eager", "export_warnings": caught.messages,
         "dtype": dtype_name, "tolerance": tolerance,
         "reference": "the same weights evaluated in float64 by PyTorch"},
        ort_tolerance=tolerance, ort_optional=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default="",
                    help="comma-separated model names (default: all); the "
                         "manifest keeps the other models' entries")
    ap.add_argument("--low-precision-only", action="store_true",
                    help="make only the float16/bfloat16 variants; the "
                         "manifest keeps the other variants' entries")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    if args.low_precision_only:
        only = (only or set(LOW_PRECISION_MODELS)) & set(LOW_PRECISION_MODELS)
    unknown = only - {s.name for s in SPECS}
    if unknown:
        ap.error(f"unknown models: {', '.join(sorted(unknown))}")

    torch.set_num_threads(1)
    versions = {"python": sys.version.split()[0], "torch": torch.__version__,
                "transformers": transformers.__version__,
                "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                "numpy": np.__version__}
    try:
        import onnxscript
        versions["onnxscript"] = onnxscript.__version__
    except ImportError:
        pass
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()))

    manifest_path = os.path.join(HERE, "manifest.json")
    old, old_notes = {}, []
    if only and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            previous = json.load(f)
        old = {m["name"]: m for m in previous["models"]}
        old_notes = [n for n in previous.get("notes", [])
                     if n.split(":")[0].split("_")[0] not in only]

    models, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in SPECS:
            if only and spec.name not in only:
                models += [m for m in old.values() if m["model"] == spec.name]
                continue
            if args.low_precision_only:
                models += [m for m in old.values() if m["model"] == spec.name
                           and "dtype" not in m]
                notes += [n for n in previous.get("notes", [])
                          if n.split(":")[0].split("_")[0] == spec.name and
                          "float16" not in n.split(":")[0]]
                recs, ns = [], []
            else:
                for n in (spec.name, spec.name + "_sdpa",
                          spec.name + "_dynamo"):
                    if os.path.exists(os.path.join(HERE, n)):
                        shutil.rmtree(os.path.join(HERE, n))
                recs, ns = generate(spec, tmp)
            models += recs
            notes += ns
            if spec.name in LOW_PRECISION_MODELS:
                for dtype_name in LOW_PRECISION:
                    n = f"{spec.name}_{dtype_name}"
                    if os.path.exists(os.path.join(HERE, n)):
                        shutil.rmtree(os.path.join(HERE, n))
                    try:
                        models.append(
                            generate_low_precision(spec, tmp, dtype_name))
                    except Exception as e:  # recorded, not hidden
                        traceback.print_exc()
                        notes.append(f"{n}: failed: {short_error(e)}")

    union = Counter()
    for m in models:
        union.update(m["op_types"].keys())
    manifest = {
        "generator": "test/models/generate_models.py",
        "versions": versions,
        "tolerance": "max |out - ref| <= 1e-4 * max |ref| (integer outputs: exact)",
        "known_ops": sorted(KNOWN_OPS),
        "op_types_union": sorted(union),
        "ops_outside_list_union": sorted(o for o in union if o not in KNOWN_OPS),
        "notes": old_notes + notes,
        "models": models,
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("op types (union):", " ".join(manifest["op_types_union"]))
    print("outside the list:", " ".join(manifest["ops_outside_list_union"]) or "-")
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
