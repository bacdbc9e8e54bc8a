"""attnc.compile: the attnc tool's driver, called in-process."""

import os

from . import _attnc

# Output extensions by emit kind, as the attnc tool names them.
_EXTENSIONS = {
    "obj": ".o", "header": ".h", "static-lib": ".a", "shared-lib": ".so",
    "asm": ".s", "stmt": ".stmt", "html": ".html", "mlir": ".mlir",
    "dot": ".dot", "ptx": ".ptx",
}

_OPTIONS = ("function_name", "fuse", "precision", "weights", "input_shapes",
            "attention_probs")


class CompileResult(list):
    """The paths attnc wrote (the artifact first, then a static library's
    header or the weights folder of `weights="param"`), with the entry
    point's signature as `.interface` and attnc's warnings as `.warnings`."""

    def __init__(self, paths, interface, warnings):
        super().__init__(paths)
        self.interface = interface
        self.warnings = warnings


def compile(model, target="host", output=None, emit=None, **options):
    """Compiles `model` (a path to an .onnx, .onnxtext or attn .mlir file).

    target:  "host" or a Halide target string ("x86-64-linux-avx512",
             "arm-64-linux", "x86-64-linux-cuda-cuda_capability_80", ...).
    output:  the file to write; default: the model's stem with the emit
             kind's extension, beside the current directory.
    emit:    "shared-lib", "static-lib", "obj", "header", "asm", "stmt",
             "html", "mlir", "dot" or "ptx"; default: from `output`'s
             extension, else "obj".
    options: function_name (the entry point; default: the model's stem),
             fuse (default True), precision ("fp32" or "bf16"), weights
             ("embed" or "param"), input_shapes ({"name": (1, 128)} or
             ["name=1x128"]), attention_probs (["all"] or node names).

    Returns the list of paths written (a CompileResult). Raises
    attnc.CompileError with attnc's diagnostics (file, node, operator) when
    the model does not compile; then nothing is written.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"attnc.compile: unknown option(s) "
                        f"{', '.join(unknown)} (supported: "
                        f"{', '.join(_OPTIONS)})")
    model = os.fspath(model)
    if emit is None and output is not None:
        ext = os.path.splitext(os.fspath(output))[1]
        emit = next((k for k, v in _EXTENSIONS.items() if v == ext), None)
    emit = emit or "obj"
    if emit not in _EXTENSIONS:
        raise ValueError(f"attnc.compile: unknown emit kind {emit!r} "
                         f"(supported: {', '.join(_EXTENSIONS)})")
    if output is None:
        output = os.path.splitext(os.path.basename(model))[0] + \
            _EXTENSIONS[emit]
    output = os.fspath(output)
    precision = options.get("precision", "fp32")
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"attnc.compile: precision={precision!r} is not "
                         "supported (supported: fp32, bf16)")
    weights = options.get("weights", "embed")
    if weights not in ("embed", "param"):
        raise ValueError(f"attnc.compile: weights={weights!r} is not "
                         "supported (supported: embed, param)")
    shapes = options.get("input_shapes") or []
    if isinstance(shapes, dict):
        shapes = [f"{name}=" + "x".join(str(int(d)) for d in dims)
                  for name, dims in shapes.items()]
    probs = options.get("attention_probs") or []
    if isinstance(probs, str):
        probs = [probs]
    info = _attnc.compile(
        model, output, target, emit, options.get("function_name") or "",
        bool(options.get("fuse", True)), precision == "bf16",
        weights == "param", list(shapes), list(probs))
    paths = [output]
    stem = os.path.splitext(output)[0]
    if emit == "static-lib":
        paths.append(stem + ".h")
    if weights == "param":
        paths.append(stem + ".weights")
    return CompileResult(paths, info, info["warnings"])
