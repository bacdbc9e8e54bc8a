"""attnc.InferenceSession: ONNX Runtime's InferenceSession, compiled ahead of
time by attnc and cached."""

import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import threading

import numpy as np

from . import _attnc
from .compiler import compile as _compile

# ONNX Runtime's type strings, by numpy's element type names.
_ORT_TYPES = {
    "float32": "tensor(float)", "float16": "tensor(float16)",
    "float64": "tensor(double)", "bfloat16": "tensor(bfloat16)",
    "int8": "tensor(int8)", "int16": "tensor(int16)",
    "int32": "tensor(int32)", "int64": "tensor(int64)",
    "uint8": "tensor(uint8)", "uint16": "tensor(uint16)",
    "uint32": "tensor(uint32)", "uint64": "tensor(uint64)",
    "bool": "tensor(bool)",
}

_FUNCTION = "model"


def _references(pool, index):
    return sys.getrefcount(pool[index])


# What _references counts for an object only `pool` refers to (measured, as
# the count differs between Python versions).
_POOL_ONLY_REFS = _references([object()], 0)


def _pool_only(pool, index):
    """True when nothing but `pool` refers to pool[index]: the caller dropped
    the result (and every view of it)."""
    return _references(pool, index) <= _POOL_ONLY_REFS


def _numpy_dtype(name):
    """The numpy dtype of an attnc element type; bfloat16 is ml_dtypes'
    where that package is installed, else uint16 holding the raw bits."""
    if name == "bfloat16":
        try:
            import ml_dtypes
            return np.dtype(ml_dtypes.bfloat16)
        except ImportError:
            return np.dtype(np.uint16)
    return np.dtype(np.bool_ if name == "bool" else name)


class NodeArg:
    """An input or output of a session: `name`, `shape` (ints, the names of
    symbolic dimensions, or None for unnamed run-time extents), `type` (ONNX
    Runtime's string, e.g. "tensor(float)") and `dtype` (numpy's)."""

    def __init__(self, name, shape, type_name, dtype):
        self.name = name
        self.shape = shape
        self.type = type_name
        self.dtype = dtype

    def __repr__(self):
        return (f"NodeArg(name={self.name!r}, type={self.type!r}, "
                f"shape={self.shape!r})")


def _default_cache_dir():
    return os.environ.get("ATTNC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or
        os.path.join(os.path.expanduser("~"), ".cache"), "attnc")


_compiler_digest = None


def _compiler_fingerprint():
    """A digest of the compiler itself (the extension module's file), so
    that a new attnc never reuses an older one's code."""
    global _compiler_digest
    if _compiler_digest is None:
        h = hashlib.sha256()
        with open(_attnc.__file__, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _compiler_digest = h.hexdigest()
    return _compiler_digest


def _host_fingerprint():
    """What "host" means here: the machine and its CPU features."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = line
                    break
    except OSError:
        pass
    return platform.machine() + ":" + flags


class InferenceSession:
    """Compiles a model with attnc once and runs it, like
    onnxruntime.InferenceSession.

    path_or_bytes: an .onnx, .onnxtext or attn .mlir file, or the bytes of a
        binary ONNX model.
    sess_options, providers, provider_options: accepted for compatibility
        with ONNX Runtime and ignored.
    target: "host" (default) or a Halide target string of this machine.
    cache_dir: where compiled models are kept (default $ATTNC_CACHE_DIR, else
        ~/.cache/attnc); a model is compiled again only when its content,
        the options, the target or attnc itself change.
    threads: the size of the compiled code's thread pool.
    options: attnc.compile's options (precision, input_shapes, fuse,
        attention_probs).
    """

    def __init__(self, path_or_bytes, sess_options=None, providers=None,
                 provider_options=None, *, target="host", cache_dir=None,
                 threads=None, **options):
        for name in ("weights", "function_name"):
            if name in options:
                raise TypeError(f"InferenceSession: option {name!r} is not "
                                "available (the session owns it)")
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data, path, suffix = bytes(path_or_bytes), None, ".onnx"
        else:
            path = os.fspath(path_or_bytes)
            with open(path, "rb") as f:
                data = f.read()
            suffix = os.path.splitext(path)[1] or ".onnx"
        key = hashlib.sha256()
        key.update(data)
        key.update(json.dumps(
            {"target": target, "suffix": suffix,
             "options": {k: options[k] for k in sorted(options)},
             "host": _host_fingerprint() if target == "host" else "",
             "compiler": _compiler_fingerprint()},
            sort_keys=True, default=str).encode())
        self._cache_dir = os.path.join(cache_dir or _default_cache_dir(),
                                       key.hexdigest()[:32])
        library = os.path.join(self._cache_dir, "lib" + _FUNCTION + ".so")
        described = os.path.join(self._cache_dir, "interface.json")
        self.compiled = False
        if not (os.path.exists(library) and os.path.exists(described)):
            self._compile(data, path, suffix, target, options)
            self.compiled = True
        with open(described) as f:
            interface = json.load(f)
        self._model = _attnc.Model(library, _FUNCTION)
        # Output arrays the caller has dropped are reused (as ONNX Runtime's
        # arena reuses its memory): an array larger than malloc's mmap
        # threshold (at most 32 MiB) is fresh memory on every call, a page
        # fault per 4 KiB on first touch (10-15 ms per 100 MB, the size of
        # BERT-base's attention probabilities at batch 8 and 512 tokens).
        self._pool_lock = threading.Lock()
        self._output_pools = None
        if threads:
            self._model.set_threads(int(threads))
        self._inputs = self._node_args(interface["inputs"])
        self._outputs = self._node_args(interface["outputs"])
        if len(self._inputs) != len(self._model.inputs) or \
                len(self._outputs) != len(self._model.outputs):
            raise _attnc.RuntimeError(
                f"the compiled model in {self._cache_dir} does not match "
                "its interface.json; remove the folder to compile again")

    def _compile(self, data, path, suffix, target, options):
        parent = os.path.dirname(self._cache_dir)
        os.makedirs(parent, exist_ok=True)
        work = tempfile.mkdtemp(dir=parent, prefix=".compiling-")
        try:
            source = path
            if source is None:
                source = os.path.join(work, "model" + suffix)
                with open(source, "wb") as f:
                    f.write(data)
            result = _compile(source, target=target,
                              output=os.path.join(work, "lib" + _FUNCTION +
                                                  ".so"),
                              emit="shared-lib", function_name=_FUNCTION,
                              **options)
            with open(os.path.join(work, "interface.json"), "w") as f:
                json.dump(result.interface, f, indent=1)
            try:
                os.rename(work, self._cache_dir)
            except OSError:
                # Another process compiled the same model meanwhile.
                if not os.path.exists(os.path.join(self._cache_dir,
                                                   "interface.json")):
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _node_args(entries):
        return [NodeArg(e["name"], list(e["shape"]),
                        _ORT_TYPES.get(e["dtype"], e["dtype"]),
                        _numpy_dtype(e["dtype"])) for e in entries]

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_providers(self):
        return ["AttncExecutionProvider"]

    @property
    def cache_path(self):
        """The folder of this model's compiled code."""
        return self._cache_dir

    def _check_inputs(self, input_feed):
        names = [a.name for a in self._inputs]
        expected = ", ".join(names)
        if not isinstance(input_feed, dict):
            raise TypeError("input_feed must be a dict of input name to "
                            f"array; the model's inputs are: {expected}")
        unknown = [n for n in input_feed if n not in names]
        if unknown:
            raise ValueError(f"unknown input(s) {', '.join(map(repr, unknown))}"
                             f"; the model's inputs are: {expected}")
        missing = [n for n in names if n not in input_feed]
        if missing:
            raise ValueError(f"missing input(s) {', '.join(map(repr, missing))}"
                             f"; the model's inputs are: {expected}")
        arrays, symbols = [], {}
        for arg in self._inputs:
            value = input_feed[arg.name]
            array = np.asarray(value)
            if array.dtype != arg.dtype and not (
                    arg.type == "tensor(bfloat16)" and
                    array.dtype == np.uint16):
                raise TypeError(f"input {arg.name!r} has dtype {array.dtype}; "
                                f"expected {arg.dtype} ({arg.type})")
            shape = tuple(array.shape)
            if len(shape) != len(arg.shape):
                raise ValueError(f"input {arg.name!r} has shape {shape} (rank "
                                 f"{len(shape)}); expected {arg.shape}")
            for axis, (got, want) in enumerate(zip(shape, arg.shape)):
                if isinstance(want, int) and got != want:
                    raise ValueError(f"input {arg.name!r} has shape {shape}; "
                                     f"expected {arg.shape} (axis {axis})")
                if isinstance(want, str):
                    seen = symbols.setdefault(want, (got, arg.name))
                    if seen[0] != got:
                        raise ValueError(
                            f"input {arg.name!r} axis {axis} ({want!r}) is "
                            f"{got}, but input {seen[1]!r} gives {want!r} = "
                            f"{seen[0]}")
            # In place where the layout allows; a copy otherwise.
            arrays.append(np.ascontiguousarray(array))
        return arrays

    _POOL_SIZE = 2  # per output: the result being held and the next one

    def _output_array(self, index, shape, dtype):
        """An array for output `index`: a pooled one nothing else refers to
        any more, else a new one (pooled while the pool has room)."""
        with self._pool_lock:
            if self._output_pools is None:
                self._output_pools = [[] for _ in self._outputs]
            pool = self._output_pools[index]
            for i in range(len(pool)):
                if _pool_only(pool, i):
                    if pool[i].shape != shape:
                        pool[i] = np.empty(shape, dtype=dtype)
                    return pool[i]
            array = np.empty(shape, dtype=dtype)
            if len(pool) < self._POOL_SIZE:
                pool.append(array)
            return array

    def run(self, output_names, input_feed, run_options=None):
        """Runs the model on `input_feed` (input name -> numpy array) and
        returns the outputs named in `output_names` (all of them when None),
        as numpy arrays."""
        arrays = self._check_inputs(input_feed)
        names = [a.name for a in self._outputs]
        if output_names is None:
            wanted = list(range(len(names)))
        else:
            unknown = [n for n in output_names if n not in names]
            if unknown:
                raise ValueError(
                    f"unknown output(s) {', '.join(map(repr, unknown))}; the "
                    f"model's outputs are: {', '.join(names)}")
            wanted = [names.index(n) for n in output_names]
        shapes = self._model.output_shapes(arrays)
        outputs = [self._output_array(i, tuple(shape), arg.dtype)
                   for i, (shape, arg) in enumerate(zip(shapes,
                                                        self._outputs))]
        self._model.run(arrays, outputs)
        return [outputs[i] for i in wanted]
