"""attnc.InferenceSession against independent references: numpy in float64
for an attention core, the exporter's outputs for the bundled Llama-style
decoder; its interface, cache and errors."""

import json
import os

import numpy as np
import pytest

import attnc


def attention_reference(q, k, v, mask):
    q, k, v, mask = (x.astype(np.float64) for x in (q, k, v, mask))
    s = q @ k.transpose(0, 1, 3, 2) / 8.0 + mask
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def attention_feed(rng, n=512):
    feed = {name: rng.standard_normal((1, 8, n, 64)).astype(np.float32)
            for name in ("q", "k", "v")}
    mask = np.zeros((1, 1, n, n), np.float32)
    mask[..., n - 40:] = -1e4
    feed["mask"] = mask
    return feed


@pytest.fixture(scope="module")
def attention(source_dir, cache_dir):
    return attnc.InferenceSession(
        os.path.join(source_dir, "examples", "attention",
                     "attention.onnxtext"), cache_dir=cache_dir)


def test_attention_matches_float64(attention):
    feed = attention_feed(np.random.default_rng(0))
    (out,) = attention.run(None, feed)
    ref = attention_reference(feed["q"], feed["k"], feed["v"], feed["mask"])
    assert out.dtype == np.float32 and out.shape == ref.shape
    # float32 arithmetic against float64: 1e-5 of the largest output.
    assert np.max(np.abs(out - ref)) <= 1e-5 * max(1.0, np.max(np.abs(ref)))


def test_interface(attention):
    inputs, outputs = attention.get_inputs(), attention.get_outputs()
    assert [a.name for a in inputs] == ["q", "k", "v", "mask"]
    assert inputs[0].shape == [1, 8, 512, 64]
    assert inputs[0].type == "tensor(float)"
    assert inputs[0].dtype == np.float32
    assert [a.name for a in outputs] == ["out"]
    assert outputs[0].shape == [1, 8, 512, 64]


def test_output_names_and_layout(attention):
    rng = np.random.default_rng(1)
    feed = attention_feed(rng)
    # A transposed (non-contiguous) input is copied; the result is the same.
    feed_t = dict(feed)
    feed_t["q"] = np.ascontiguousarray(
        feed["q"].transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not feed_t["q"].flags.c_contiguous
    (a,) = attention.run(["out"], feed)
    (b,) = attention.run(["out"], feed_t)
    np.testing.assert_array_equal(a, b)


def test_outputs_held_are_never_reused(attention):
    rng = np.random.default_rng(2)
    feeds = [attention_feed(rng) for _ in range(4)]
    refs = [attention_reference(f["q"], f["k"], f["v"], f["mask"])
            for f in feeds]
    # Results (and a view of one) the caller keeps stay as they were while
    # later calls run; each is its own array.
    (first,) = attention.run(None, feeds[0])
    view = attention.run(None, feeds[1])[0][0, 3]
    (third,) = attention.run(None, feeds[2])
    held = [first, view.base, third]
    assert len({a.__array_interface__["data"][0] for a in held}) == 3
    for out, ref in ((first, refs[0]), (view, refs[1][0, 3]),
                     (third, refs[2])):
        assert np.max(np.abs(out - ref)) <= 1e-5 * max(1.0, np.abs(ref).max())
    # Dropped results are reused: the next result lands in one of their
    # arrays and is right.
    dropped = {first.__array_interface__["data"][0],
               third.__array_interface__["data"][0]}
    del first, third, held
    (fourth,) = attention.run(None, feeds[3])
    assert fourth.__array_interface__["data"][0] in dropped
    assert np.max(np.abs(fourth - refs[3])) <= \
        1e-5 * max(1.0, np.abs(refs[3]).max())
    assert np.max(np.abs(view - refs[1][0, 3])) <= \
        1e-5 * max(1.0, np.abs(refs[1]).max())


def test_cache_reuses_and_separates(source_dir, cache_dir):
    path = os.path.join(source_dir, "examples", "attention",
                        "attention.onnxtext")
    first = attnc.InferenceSession(path, cache_dir=cache_dir)
    again = attnc.InferenceSession(path, cache_dir=cache_dir)
    assert not again.compiled and again.cache_path == first.cache_path
    other = attnc.InferenceSession(path, cache_dir=cache_dir, fuse=False)
    assert other.compiled and other.cache_path != first.cache_path
    feed = attention_feed(np.random.default_rng(2))
    np.testing.assert_allclose(other.run(None, feed)[0],
                               again.run(None, feed)[0], rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def llama(source_dir, cache_dir):
    return attnc.InferenceSession(
        os.path.join(source_dir, "test", "models", "llama", "model.onnx"),
        cache_dir=cache_dir, threads=2)


def test_llama_symbolic_interface(llama):
    inputs = llama.get_inputs()
    assert [(a.name, a.shape, a.type) for a in inputs] == [
        ("input_ids", ["batch", "sequence"], "tensor(int64)"),
        ("attention_mask", ["batch", "sequence"], "tensor(int64)")]
    (out,) = llama.get_outputs()
    assert out.name == "last_hidden_state"
    assert out.shape == ["batch", "sequence", 64]


def test_llama_matches_exporter(llama, source_dir):
    root = os.path.join(source_dir, "test", "models", "llama")
    with open(os.path.join(root, "model.json")) as f:
        cases = [c["name"] for c in json.load(f)["cases"]]
    assert cases
    for case in cases:
        feed = {a.name: np.load(os.path.join(root, case, "inputs",
                                             a.name + ".npy"))
                for a in llama.get_inputs()}
        ref = np.load(os.path.join(root, case, "outputs",
                                   "last_hidden_state.npy"))
        (out,) = llama.run(None, feed)
        # The tolerance of the model tests (test/models/check_model.py).
        assert out.shape == ref.shape, case
        assert np.max(np.abs(out - ref)) <= 1e-4 * np.max(np.abs(ref)), case


def test_bytes_and_bad_inputs(source_dir, cache_dir):
    with open(os.path.join(source_dir, "test", "models", "llama",
                           "model.onnx"), "rb") as f:
        session = attnc.InferenceSession(f.read(), cache_dir=cache_dir)
    ids = np.ones((1, 5), np.int64)
    mask = np.ones((1, 5), np.int64)
    assert session.run(None, {"input_ids": ids, "attention_mask": mask})[
        0].shape == (1, 5, 64)
    with pytest.raises(TypeError, match="input 'input_ids' has dtype int32; "
                       "expected int64"):
        session.run(None, {"input_ids": ids.astype(np.int32),
                           "attention_mask": mask})
    with pytest.raises(ValueError, match="missing input.*'attention_mask'"):
        session.run(None, {"input_ids": ids})
    with pytest.raises(ValueError, match="unknown input.*'position_ids'"):
        session.run(None, {"input_ids": ids, "attention_mask": mask,
                           "position_ids": ids})
    with pytest.raises(ValueError, match="input 'input_ids' has shape "
                       r"\(5,\) \(rank 1\)"):
        session.run(None, {"input_ids": ids[0], "attention_mask": mask})
    with pytest.raises(ValueError, match="input 'attention_mask' axis 1 "
                       "\\('sequence'\\) is 4, but input 'input_ids' gives "
                       "'sequence' = 5"):
        session.run(None, {"input_ids": ids, "attention_mask": mask[:, :4]})
    with pytest.raises(ValueError, match="unknown output.*'logits'"):
        session.run(["logits"], {"input_ids": ids, "attention_mask": mask})


def test_static_shape_mismatch(attention):
    feed = attention_feed(np.random.default_rng(3), n=256)
    with pytest.raises(ValueError, match=r"input 'q' has shape \(1, 8, 256, "
                       r"64\); expected \[1, 8, 512, 64\] \(axis 2\)"):
        attention.run(None, feed)


def test_model_rejects_wrong_buffers(attention):
    # Below the Python layer, the extension checks every buffer too.
    model = attention._model
    feed = attention_feed(np.random.default_rng(4))
    arrays = [feed[n] for n in ("q", "k", "v", "mask")]
    out = np.empty((1, 8, 512, 64), np.float32)
    with pytest.raises(TypeError, match="input 'q' has element type float64; "
                       "expected float32"):
        model.run([arrays[0].astype(np.float64)] + arrays[1:], [out])
    with pytest.raises(ValueError, match="output 'out.*' is not writable"):
        readonly = out.copy()
        readonly.flags.writeable = False
        model.run(arrays, [readonly])
    # Extents the pipeline does not accept are its error, with its message.
    with pytest.raises(attnc.RuntimeError, match="returned error code"):
        model.run(arrays, [np.empty((1, 8, 500, 64), np.float32)])


def test_scalar_output(tmp_path, cache_dir):
    # An output of rank 0: the shapes entry point has no extent to write,
    # and run() returns a 0-d array.
    model = tmp_path / "total.onnxtext"
    model.write_text('<ir_version: 8, opset_import: ["" : 11]>\n'
                     "total (float[2,3] x) => (float y)\n"
                     "{\n  y = ReduceSum <keepdims = 0> (x)\n}\n")
    session = attnc.InferenceSession(str(model), cache_dir=cache_dir)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = session.run(None, {"x": x})
    assert y.shape == () and y == 15.0


def test_symbolic_extents_checked(tmp_path, cache_dir):
    # [M, K] x [L, N] needs K == L, which only the run can tell.
    model = tmp_path / "product.onnxtext"
    model.write_text('<ir_version: 8, opset_import: ["" : 17]>\n'
                     "product (float[M,K] a, float[L,N] b) => (float[M,N] c)\n"
                     "{\n  c = MatMul (a, b)\n}\n")
    session = attnc.InferenceSession(str(model), cache_dir=cache_dir)
    a = np.ones((2, 3), np.float32)
    (c,) = session.run(None, {"a": a, "b": np.ones((3, 5), np.float32)})
    np.testing.assert_array_equal(c, np.full((2, 5), 3.0, np.float32))
    with pytest.raises(attnc.RuntimeError,
                       match="the left operand's last extent and the right "
                             "operand's second to last differ"):
        session.run(None, {"a": a, "b": np.ones((4, 5), np.float32)})
