"""attnc.compile: the artifacts it writes, and its errors."""

import os

import numpy as np
import pytest

import attnc


def test_static_library_and_header(source_dir, tmp_path):
    model = os.path.join(source_dir, "test", "Driver", "Inputs",
                         "small_sdpa.onnxtext")
    paths = attnc.compile(model, output=tmp_path / "libsdpa.a")
    assert paths == [str(tmp_path / "libsdpa.a"), str(tmp_path / "libsdpa.h")]
    assert all(os.path.getsize(p) > 0 for p in paths)
    assert "int small_sdpa(" in open(paths[1]).read()
    assert [t["name"] for t in paths.interface["inputs"]] == ["q", "k", "v"]
    assert paths.interface["outputs"][0]["shape"] == [1, 2, 8, 16]


def test_shared_library_runs(source_dir, tmp_path):
    model = os.path.join(source_dir, "test", "Driver", "Inputs",
                         "small_sdpa.onnxtext")
    (lib,) = attnc.compile(model, output=tmp_path / "libsdpa.so",
                           function_name="sdpa")
    m = attnc._attnc.Model(lib, "sdpa")
    assert [name for name, _, _ in m.inputs] == ["q", "k", "v"]
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 2, 8, 16)).astype(np.float32)
               for _ in range(3))
    out = np.empty((1, 2, 8, 16), np.float32)
    m.run([q, k, v], [out])
    s = q.astype(np.float64) @ k.transpose(0, 1, 3, 2) / 4.0
    p = np.exp(s - s.max(-1, keepdims=True))
    ref = p / p.sum(-1, keepdims=True) @ v
    assert np.max(np.abs(out - ref)) <= 1e-5 * max(1.0, np.max(np.abs(ref)))


def test_errors_name_the_problem(source_dir, tmp_path):
    bad = os.path.join(source_dir, "test", "Driver", "Inputs",
                       "unsupported.onnxtext")
    out = tmp_path / "bad.o"
    with pytest.raises(attnc.CompileError, match="unsupported.onnxtext"):
        attnc.compile(bad, output=out)
    assert not out.exists()
    with pytest.raises(ValueError, match="precision='fp8'"):
        attnc.compile(bad, output=out, precision="fp8")
    with pytest.raises(TypeError, match="unknown option.*speed"):
        attnc.compile(bad, output=out, speed=3)
    with pytest.raises(attnc.CompileError, match="unknown target 'vax'"):
        attnc.compile(bad, output=out, target="vax")
