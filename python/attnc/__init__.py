"""attnc: an ahead-of-time compiler for attention and Transformer models.

    import attnc

    # Compile an ONNX model into a shared library (or an object file, a
    # static library with its header, ...):
    paths = attnc.compile("model.onnx", target="host", output="libmodel.so")

    # Or run it the way ONNX Runtime would, compiled once and cached:
    session = attnc.InferenceSession("model.onnx")
    outputs = session.run(None, {"input_ids": ids, "attention_mask": mask})

The compiler is the same driver as the `attnc` tool; the compiled code runs
in this process through the library's C entry points (docs/abi.md).
"""

from ._attnc import CompileError, RuntimeError
from .compiler import compile
from .session import InferenceSession, NodeArg

__all__ = ["compile", "InferenceSession", "NodeArg", "CompileError",
           "RuntimeError"]
