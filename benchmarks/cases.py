"""The models of the benchmark suite, written as ONNX with random weights.

Each case is an ONNX graph in the form exporters write it (unfused MatMul /
Softmax / LayerNormalization, masks built in the graph), so that attnc and
ONNX Runtime read the same file. Every builder returns
(onnx.ModelProto, inputs: dict name -> numpy array, flops).

Cases:
  sdpa_N{512,1024,2048,8192}[_causal]  attention core, B=1, H=8, D=64; the
                                       causal mask is built from positions
                                       (Range, Greater, Where), as exporters
                                       do, not stored as an N×N constant
  sdpa_N{1024,2048}_triu               the same with the mask PyTorch writes
                                       as triu(full((n, n), -inf), 1):
                                       ConstantOfShape then Trilu
  bert_S{128,384}                      one BERT-base encoder layer (hidden 768,
                                       12 heads, FFN 3072, post-norm, GELU)
                                       with a padding mask
  gpt2_S512                            one GPT-2-style block (pre-norm, fused
                                       QKV projection, causal, GELU-tanh)
  llama_S512                           one LLaMA-style block (RMSNorm, rotary
                                       embedding, 16 query heads over 4 key/
                                       value heads, SwiGLU FFN 2816), causal
  gat_N{1024,4096}_blocks, gat_N4096_random
                                       one graph attention layer (GAT: 64
                                       input features, 8 heads of 8,
                                       LeakyReLU(a1·Whi + a2·Whj), masked_fill
                                       of non-edges with -inf, softmax over
                                       the neighbours) on a dense boolean
                                       adjacency with self-loops: graphs of
                                       16–48 nodes batched block-diagonally
                                       (30 % of the pairs inside a graph are
                                       edges), or 0.5 % random edges; flops
                                       are the dense computation's
  bundled_llama_S128                   the bundled model (test/models/llama:
                                       the exporter's file of a 2-layer
                                       LlamaModel, hidden 64, 8 query heads
                                       over 2 key/value heads) at batch 1,
                                       sequence 128

Exported models (written by benchmarks/export_models.py into a models
directory; the cases exist only when their file does). Each is the
exporter's dynamic-axis file itself, compiled once and called at every
shape below; the `_B{b}_S{s}` in a name is the shape of that call:
  minilm_B{1,4,16}_S...    all-MiniLM-L6-v2, real pretrained weights
  bert_base_B..._S...      BERT-base, 12 layers
  gpt2_B..._S...           GPT-2 small, 12 layers, causal
  vit_B{1,4}               ViT-base/16, 224 × 224 (197 tokens)
Token inputs are random ids with right padding (row i of a batch keeps
S − i·S/(2B) tokens); the padded positions are computed, and counted, like
the others.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Graph:
    """A small builder: nodes, constant initializers and fresh names."""

    def __init__(self, seed=0):
        self.nodes, self.inits, self.count = [], [], 0
        self.rng = np.random.default_rng(seed)

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, base="c"):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, shape, scale=None):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        return self.const(
            (self.rng.standard_normal(shape) * scale).astype(np.float32), "w")

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def model(self, inputs, outputs):
        graph = helper.make_graph(self.nodes, "bench", inputs, outputs,
                                  self.inits)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model

    # Blocks shared by the models.
    def linear(self, x, k, n, bias=True):
        y = self.op("MatMul", [x, self.weight((k, n))])
        if bias:
            y = self.op("Add", [y, self.const(np.zeros(n, np.float32) + 0.01)])
        return y

    def layer_norm(self, x, d):
        return self.op("LayerNormalization",
                       [x, self.const(np.ones(d, np.float32)),
                        self.const(np.zeros(d, np.float32))],
                       axis=-1, epsilon=1e-5)

    def rms_norm(self, x, d):
        sq = self.op("Pow", [x, self.const(np.float32(2))])
        mean = self.op("ReduceMean", [sq], axes=[-1], keepdims=1)
        eps = self.op("Add", [mean, self.const(np.float32(1e-6))])
        inv = self.op("Reciprocal", [self.op("Sqrt", [eps])])
        y = self.op("Mul", [x, inv])
        return self.op("Mul", [y, self.const(np.ones(d, np.float32))])

    def gelu_erf(self, x):
        e = self.op("Erf", [self.op("Div", [x, self.const(np.float32(
            np.sqrt(2.0)))])])
        one = self.op("Add", [e, self.const(np.float32(1))])
        return self.op("Mul", [self.op("Mul", [x, one]),
                               self.const(np.float32(0.5))])

    def gelu_tanh(self, x):
        cube = self.op("Pow", [x, self.const(np.float32(3))])
        inner = self.op("Add", [x, self.op("Mul", [cube, self.const(
            np.float32(0.044715))])])
        t = self.op("Tanh", [self.op("Mul", [inner, self.const(np.float32(
            np.sqrt(2 / np.pi)))])])
        one = self.op("Add", [t, self.const(np.float32(1))])
        return self.op("Mul", [self.op("Mul", [x, self.const(np.float32(
            0.5))]), one])

    def heads(self, x, s, h, d):
        """[1, S, H·D] → [1, H, S, D]."""
        r = self.op("Reshape", [x, self.const(np.array([1, s, h, d]))])
        return self.op("Transpose", [r], perm=[0, 2, 1, 3])

    def merge_heads(self, x, s, hd):
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const(np.array([1, s, hd]))])

    def causal_bias(self, q):
        """Additive [N, N] causal mask built from the positions of q's
        sequence axis, as PyTorch exports it."""
        shape = self.op("Shape", [q])
        n = self.op("Gather", [shape, self.const(np.array(2))], axis=0)
        pos = self.op("Range", [self.const(np.array(0)), n,
                                self.const(np.array(1))])
        qpos = self.op("Unsqueeze", [pos, self.const(np.array([1]))])
        kpos = self.op("Unsqueeze", [pos, self.const(np.array([0]))])
        future = self.op("Greater", [kpos, qpos])
        return self.op("Where", [future, self.const(np.float32(-1e30)),
                                 self.const(np.float32(0))])

    def triu_bias(self, q):
        """Additive [N, N] causal mask as torch.triu(torch.full((n, n),
        -inf), 1) exports: ConstantOfShape of -inf, then Trilu(k=1)."""
        shape = self.op("Shape", [q])
        n = self.op("Gather", [shape, self.const(np.array([2]))], axis=0)
        nn = self.op("Concat", [n, n], axis=0)
        full = self.op("ConstantOfShape", [nn],
                       value=numpy_helper.from_array(
                           np.array([-np.inf], dtype=np.float32)))
        return self.op("Trilu", [full, self.const(np.array(1))], upper=1)

    def attention(self, q, k, v, d, bias=None):
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        s = self.op("Div", [self.op("MatMul", [q, kt]),
                            self.const(np.float32(np.sqrt(d)))])
        if bias is not None:
            s = self.op("Add", [s, bias])
        p = self.op("Softmax", [s], axis=-1)
        return self.op("MatMul", [p, v])


def tensor(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def sdpa(n, causal, h=8, d=64, triu=False):
    g = Graph()
    q, k, v = "q", "k", "v"
    bias = None
    if causal:
        bias = g.triu_bias(q) if triu else g.causal_bias(q)
    out = g.attention(q, k, v, d, bias)
    g.nodes.append(helper.make_node("Identity", [out], ["out"]))
    shape = [1, h, n, d]
    model = g.model([tensor(x, shape) for x in "qkv"], [tensor("out", shape)])
    rng = np.random.default_rng(1)
    inputs = {x: rng.standard_normal(shape).astype(np.float32) for x in "qkv"}
    flops = 4.0 * h * n * n * d * (0.5 if causal else 1.0)
    return model, inputs, flops


def attention_flops(s, h, d, causal):
    return 4.0 * h * s * s * d * (0.5 if causal else 1.0)


def bert_layer(s, hidden=768, h=12, ffn=3072):
    d = hidden // h
    g = Graph()
    m = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    m = g.op("Unsqueeze", [m, g.const(np.array([1, 2]))])
    bias = g.op("Mul", [g.op("Sub", [g.const(np.float32(1)), m]),
                        g.const(np.float32(-10000))])
    x = "x"
    q = g.heads(g.linear(x, hidden, hidden), s, h, d)
    k = g.heads(g.linear(x, hidden, hidden), s, h, d)
    v = g.heads(g.linear(x, hidden, hidden), s, h, d)
    a = g.merge_heads(g.attention(q, k, v, d, bias), s, hidden)
    x1 = g.layer_norm(g.op("Add", [g.linear(a, hidden, hidden), x]), hidden)
    f = g.linear(g.gelu_erf(g.linear(x1, hidden, ffn)), ffn, hidden)
    y = g.layer_norm(g.op("Add", [f, x1]), hidden)
    g.nodes.append(helper.make_node("Identity", [y], ["y"]))
    model = g.model([tensor("x", [1, s, hidden]),
                     tensor("attention_mask", [1, s], TensorProto.INT64)],
                    [tensor("y", [1, s, hidden])])
    rng = np.random.default_rng(2)
    mask = np.ones((1, s), np.int64)
    mask[:, s - s // 8:] = 0  # right padding
    inputs = {"x": rng.standard_normal((1, s, hidden)).astype(np.float32),
              "attention_mask": mask}
    flops = 2.0 * s * (4 * hidden * hidden + 2 * hidden * ffn) + \
        attention_flops(s, h, d, False)
    return model, inputs, flops


def gpt2_block(s, hidden=768, h=12, ffn=3072):
    d = hidden // h
    g = Graph()
    x = "x"
    n1 = g.layer_norm(x, hidden)
    qkv = g.linear(n1, hidden, 3 * hidden)
    parts = [g.name("split") for _ in range(3)]
    g.nodes.append(helper.make_node(
        "Split", [qkv, g.const(np.array([hidden] * 3))], parts, axis=-1))
    q, k, v = (g.heads(p, s, h, d) for p in parts)
    a = g.merge_heads(g.attention(q, k, v, d, g.causal_bias(q)), s, hidden)
    x1 = g.op("Add", [g.linear(a, hidden, hidden), x])
    n2 = g.layer_norm(x1, hidden)
    f = g.linear(g.gelu_tanh(g.linear(n2, hidden, ffn)), ffn, hidden)
    y = g.op("Add", [f, x1])
    g.nodes.append(helper.make_node("Identity", [y], ["y"]))
    model = g.model([tensor("x", [1, s, hidden])], [tensor("y", [1, s,
                                                                hidden])])
    rng = np.random.default_rng(3)
    inputs = {"x": rng.standard_normal((1, s, hidden)).astype(np.float32)}
    flops = 2.0 * s * (4 * hidden * hidden + 2 * hidden * ffn) + \
        attention_flops(s, h, d, True)
    return model, inputs, flops


def llama_block(s, hidden=1024, h=16, kv=4, ffn=2816):
    d = hidden // h
    g = Graph()
    x = "x"
    # Rotary tables for positions 0..S-1.
    inv = 1.0 / (10000 ** (np.arange(0, d, 2) / d))
    ang = np.outer(np.arange(s), inv)
    ang = np.concatenate([ang, ang], axis=-1)
    cos = g.const(np.cos(ang).astype(np.float32)[None, None])
    sin = g.const(np.sin(ang).astype(np.float32)[None, None])

    def rotary(t):
        half1 = g.op("Slice", [t, g.const(np.array([0])),
                               g.const(np.array([d // 2])),
                               g.const(np.array([3]))])
        half2 = g.op("Slice", [t, g.const(np.array([d // 2])),
                               g.const(np.array([d])), g.const(np.array([3]))])
        rot = g.op("Concat", [g.op("Neg", [half2]), half1], axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos]), g.op("Mul", [rot, sin])])

    def repeat_kv(t):
        u = g.op("Unsqueeze", [t, g.const(np.array([2]))])
        e = g.op("Expand", [u, g.const(np.array([1, kv, h // kv, s, d]))])
        return g.op("Reshape", [e, g.const(np.array([1, h, s, d]))])

    n1 = g.rms_norm(x, hidden)
    q = rotary(g.heads(g.linear(n1, hidden, hidden, False), s, h, d))
    k = rotary(g.heads(g.linear(n1, hidden, kv * d, False), s, kv, d))
    v = g.heads(g.linear(n1, hidden, kv * d, False), s, kv, d)
    a = g.attention(q, repeat_kv(k), repeat_kv(v), d, g.causal_bias(q))
    x1 = g.op("Add", [g.linear(g.merge_heads(a, s, hidden), hidden, hidden,
                               False), x])
    n2 = g.rms_norm(x1, hidden)
    gate = g.linear(n2, hidden, ffn, False)
    up = g.linear(n2, hidden, ffn, False)
    silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])])
    f = g.linear(g.op("Mul", [silu, up]), ffn, hidden, False)
    y = g.op("Add", [f, x1])
    g.nodes.append(helper.make_node("Identity", [y], ["y"]))
    model = g.model([tensor("x", [1, s, hidden])], [tensor("y", [1, s,
                                                                hidden])])
    rng = np.random.default_rng(4)
    inputs = {"x": rng.standard_normal((1, s, hidden)).astype(np.float32)}
    flops = 2.0 * s * (2 * hidden * hidden + 2 * hidden * kv * d +
                       3 * hidden * ffn) + attention_flops(s, h, d, True)
    return model, inputs, flops


def gat_layer(n, graph, features=64, h=8, out=8):
    g = Graph(seed=5)
    wh = g.op("MatMul", ["x", g.weight((features, h * out))])
    wh = g.heads(wh, n, h, out)
    terms = []
    for _ in range(2):
        a = g.const((g.rng.standard_normal((1, h, 1, out)) * 0.3)
                    .astype(np.float32))
        terms.append(g.op("ReduceSum", [g.op("Mul", [wh, a]),
                                        g.const(np.array([-1]))],
                          keepdims=1))
    dst = g.op("Transpose", [terms[1]], perm=[0, 1, 3, 2])
    e = g.op("LeakyRelu", [g.op("Add", [terms[0], dst])], alpha=0.2)
    none = g.op("Not", [g.op("Unsqueeze", ["adj", g.const(np.array([1]))])])
    e = g.op("Where", [none, g.const(np.float32(-np.inf)), e])
    att = g.op("Softmax", [e], axis=-1)
    y = g.merge_heads(g.op("MatMul", [att, wh]), n, h * out)
    g.nodes.append(helper.make_node("Identity", [y], ["y"]))
    model = g.model([tensor("x", [1, n, features]),
                     tensor("adj", [1, n, n], TensorProto.BOOL)],
                    [tensor("y", [1, n, h * out])])
    rng = np.random.default_rng(3)
    if graph == "blocks":
        adj = np.zeros((n, n), bool)
        start = 0
        while start < n:
            end = min(n, start + int(rng.integers(16, 49)))
            adj[start:end, start:end] = rng.random((end - start,
                                                    end - start)) < 0.3
            start = end
    else:
        adj = rng.random((n, n)) < 0.005
    adj |= np.eye(n, dtype=bool)
    inputs = {"x": rng.standard_normal((1, n, features)).astype(np.float32),
              "adj": adj[None]}
    flops = 2.0 * n * features * h * out + 2.0 * h * n * n * out
    return model, inputs, flops


def all_cases(models_dir=None):
    """(name, kind, builder) for every case; kind is 'core', 'causal core',
    'layer', 'model', 'dynamic model' (an exported dynamic-axis file;
    its builder returns the file's path instead of a ModelProto) or 'int8
    model' (such a file quantized to 8 bits). The exported models are those
    found in `models_dir`."""
    cases = []
    for n in (512, 1024, 2048, 8192):
        for causal in (False, True):
            cases.append((f"sdpa_N{n}" + ("_causal" if causal else ""),
                          "causal core" if causal else "core",
                          lambda n=n, c=causal: sdpa(n, c)))
    for n in (1024, 2048):
        cases.append((f"sdpa_N{n}_triu", "causal core",
                      lambda n=n: sdpa(n, True, triu=True)))
    cases.append(("bert_S128", "layer", lambda: bert_layer(128)))
    cases.append(("bert_S384", "layer", lambda: bert_layer(384)))
    cases.append(("gpt2_S512", "layer", lambda: gpt2_block(512)))
    cases.append(("llama_S512", "layer", lambda: llama_block(512)))
    cases.append(("gat_N1024_blocks", "layer", lambda: gat_layer(1024,
                                                                "blocks")))
    cases.append(("gat_N4096_blocks", "layer", lambda: gat_layer(4096,
                                                                "blocks")))
    cases.append(("gat_N4096_random", "layer", lambda: gat_layer(4096,
                                                                "random")))
    cases.append(("bundled_llama_S128", "model", lambda: bundled_llama(128)))
    if models_dir:
        cases += exported_cases(models_dir)
        cases += int8_cases(models_dir)
    return cases


# name: (layers, hidden, heads, ffn, causal, shapes of the calls)
EXPORTED = {
    "minilm": (6, 384, 12, 1536, False,
               [(1, 16), (1, 128), (4, 64), (16, 128), (1, 512)]),
    "bert_base": (12, 768, 12, 3072, False, [(1, 128), (4, 128), (1, 384)]),
    "gpt2": (12, 768, 12, 3072, True, [(1, 128), (4, 256)]),
    "vit": (12, 768, 12, 3072, False, [(1, 197), (4, 197)]),
    "deberta_base": (12, 768, 12, 3072, False, [(1, 128), (4, 128)]),
}


def exported_cases(models_dir):
    cases = []
    for model, (layers, hidden, heads, ffn, causal, shapes) in \
            EXPORTED.items():
        path = os.path.join(models_dir, model, "model.onnx")
        if not os.path.exists(path):
            continue
        for b, s in shapes:
            name = f"{model}_B{b}" + ("" if model == "vit" else f"_S{s}")
            cases.append((name, "dynamic model",
                          lambda p=path, m=model, b=b, s=s: exported(
                              p, m, b, s)))
    return cases


# 8-bit models: the exported ones through ONNX Runtime's dynamic
# quantization (int8 weights, uint8 activations quantized at run time), at
# these call shapes.
INT8 = {"minilm": [(1, 128), (4, 64)], "bert_base": [(1, 128), (1, 384)]}


def int8_cases(models_dir):
    cases = []
    for model, shapes in INT8.items():
        source = os.path.join(models_dir, model, "model.onnx")
        if not os.path.exists(source):
            continue
        for b, s in shapes:
            cases.append((f"{model}_int8_B{b}_S{s}", "int8 model",
                          lambda src=source, m=model, b=b, s=s: quantized(
                              src, m, b, s)))
    return cases


def quantized(source, model, b, s):
    """The dynamic-axis export of `model`, quantized once into
    MODELS_DIR/<model>_int8/model.onnx, with the inputs of exported()."""
    path = os.path.join(os.path.dirname(os.path.dirname(source)),
                        model + "_int8", "model.onnx")
    if not os.path.exists(path):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        os.makedirs(os.path.dirname(path), exist_ok=True)
        quantize_dynamic(source, path, weight_type=QuantType.QInt8)
    _, inputs, flops = exported(source, model, b, s)
    return path, inputs, flops


def exported(path, model, b, s):
    layers, hidden, heads, ffn, causal, _ = EXPORTED[model]
    rng = np.random.default_rng(5)
    if model == "vit":
        inputs = {"pixel_values": rng.standard_normal(
            (b, 3, 224, 224)).astype(np.float32)}
        patches = 2.0 * b * (s - 1) * (3 * 16 * 16) * hidden
    else:
        mask = np.ones((b, s), np.int64)
        for i in range(1, b):
            mask[i, s - i * s // (2 * b):] = 0
        inputs = {"input_ids": rng.integers(1000, 30000, (b, s)),
                  "attention_mask": mask}
        if model not in ("gpt2", "deberta_base"):
            inputs["token_type_ids"] = np.zeros((b, s), np.int64)
        patches = 0.0
    per_layer = 2.0 * b * s * (4 * hidden * hidden + 2 * hidden * ffn) + \
        b * attention_flops(s, heads, hidden // heads, causal)
    return path, inputs, layers * per_layer + patches


def bundled_llama(s):
    """test/models/llama as exported, with token ids and an all-ones
    padding mask of one sequence of `s` tokens."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = onnx.load(os.path.join(root, "test", "models", "llama",
                                   "model.onnx"))
    rng = np.random.default_rng(0)
    inputs = {"input_ids": rng.integers(0, 128, (1, s), dtype=np.int64),
              "attention_mask": np.ones((1, s), dtype=np.int64)}
    layers, hidden, ffn, heads, kv_heads, d = 2, 64, 128, 8, 2, 8
    per_layer = 2.0 * s * (hidden * heads * d * 2 + hidden * kv_heads * d * 2
                           + 3 * hidden * ffn) + \
        attention_flops(s, heads, d, True)
    return model, inputs, layers * per_layer
