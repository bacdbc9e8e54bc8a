#!/usr/bin/env python3
"""Writes malformed and hostile ONNX models for the error tests.

  bad_models.py OUTDIR

Needs only Python 3: the models are encoded with the small protobuf writer
below (field numbers from onnx.proto), so that they can hold what no ONNX
tool would write: initializers shorter than their dims, dimensions of 2^40
or -3, graphs without outputs, external data that points at links, FIFOs
and other folders. Each file is named after what is wrong with it.
"""

import os
import struct
import sys


# ---------------------------------------------------------------------------
# Protobuf wire format
# ---------------------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(number << 3 | 2) + varint(len(data)) + data


def message(*fields):
    return b"".join(fields)


# ---------------------------------------------------------------------------
# ONNX messages (onnx.proto field numbers)
# ---------------------------------------------------------------------------

FLOAT, INT64 = 1, 7


def dim(d):
    # TensorShapeProto.Dimension: dim_value = 1, dim_param = 2.
    return field_varint(1, d) if isinstance(d, int) else field_bytes(2, d)


def value_info(name, shape, elem=FLOAT):
    # ValueInfoProto: name = 1, type = 2; TypeProto.tensor_type = 1;
    # Tensor: elem_type = 1, shape = 2; TensorShapeProto: dim = 1.
    shape_msg = message(*(field_bytes(1, dim(d)) for d in shape))
    tensor = message(field_varint(1, elem), field_bytes(2, shape_msg))
    return message(field_bytes(1, name),
                   field_bytes(2, field_bytes(1, tensor)))


def tensor(name, dims, elem=FLOAT, raw=None, floats=None, external=None):
    # TensorProto: dims = 1, data_type = 2, float_data = 4, name = 8,
    # raw_data = 9, external_data = 13, data_location = 14.
    fields = [field_varint(1, d) for d in dims]
    fields.append(field_varint(2, elem))
    if floats is not None:
        fields.append(field_bytes(4, struct.pack("<%df" % len(floats),
                                                 *floats)))
    fields.append(field_bytes(8, name))
    if raw is not None:
        fields.append(field_bytes(9, raw))
    if external is not None:
        for key, value in external:
            fields.append(field_bytes(13, message(field_bytes(1, key),
                                                  field_bytes(2, value))))
        fields.append(field_varint(14, 1))
    return message(*fields)


def int_attribute(name, value):
    # AttributeProto: name = 1, i = 3, type = 20 (INT = 2).
    return message(field_bytes(1, name), field_varint(3, value),
                   field_varint(20, 2))


def node(op, inputs, outputs, name="", attributes=()):
    # NodeProto: input = 1, output = 2, name = 3, op_type = 4,
    # attribute = 5.
    fields = [field_bytes(1, i) for i in inputs]
    fields += [field_bytes(2, o) for o in outputs]
    if name:
        fields.append(field_bytes(3, name))
    fields.append(field_bytes(4, op))
    fields += [field_bytes(5, a) for a in attributes]
    return message(*fields)


def graph(nodes, inputs, outputs, initializers=(), name="g"):
    # GraphProto: node = 1, name = 2, initializer = 5, input = 11,
    # output = 12.
    fields = [field_bytes(1, n) for n in nodes]
    fields.append(field_bytes(2, name))
    fields += [field_bytes(5, t) for t in initializers]
    fields += [field_bytes(11, v) for v in inputs]
    fields += [field_bytes(12, v) for v in outputs]
    return message(*fields)


def model(g, opset=17, ir_version=8):
    # ModelProto: ir_version = 1, graph = 7, opset_import = 8;
    # OperatorSetIdProto: domain = 1, version = 2.
    return message(field_varint(1, ir_version),
                   field_bytes(7, g),
                   field_bytes(8, message(field_bytes(1, ""),
                                          field_varint(2, opset))))


def relu_model(shape, **kw):
    return model(graph([node("Relu", ["x"], ["y"], "relu")],
                       [value_info("x", shape)], [value_info("y", shape)]),
                 **kw)


def add_weight_model(weight):
    """y = x + w, w a [4, 4] float initializer."""
    return model(graph([node("Add", ["x", "w"], ["y"], "add")],
                       [value_info("x", [4, 4])], [value_info("y", [4, 4])],
                       [weight]))


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------

def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def external(location):
    return tensor("w", [4, 4], external=[("location", location)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    # Initializers whose data is shorter than their dims say.
    write(out, "short_raw.onnx",
          add_weight_model(tensor("w", [4, 4], raw=b"\0" * 8)))
    write(out, "short_floats.onnx",
          add_weight_model(tensor("w", [4, 4], floats=[1.0, 2.0, 3.0])))
    write(out, "long_raw.onnx",
          add_weight_model(tensor("w", [4, 4], raw=b"\0" * 80)))

    # Graphs that compute nothing.
    write(out, "no_outputs.onnx",
          model(graph([node("Relu", ["x"], ["y"], "relu")],
                      [value_info("x", [4])], [])))
    write(out, "node_without_outputs.onnx",
          model(graph([node("Relu", ["x"], [], "relu"),
                       node("Relu", ["x"], ["y"], "relu2")],
                      [value_info("x", [4])], [value_info("y", [4])])))
    write(out, "empty_graph.onnx", model(graph([], [], [])))
    write(out, "output_not_produced.onnx",
          model(graph([node("Relu", ["x"], ["y"], "relu")],
                      [value_info("x", [4])], [value_info("z", [4])])))

    # Extents the generated code cannot index, or that no tensor has.
    write(out, "huge_dim.onnx", relu_model([1 << 40, 4]))
    write(out, "dim_2_31.onnx", relu_model([1 << 31, 1]))
    write(out, "negative_dim.onnx", relu_model([-3, 4]))
    write(out, "huge_initializer.onnx",
          add_weight_model(tensor("w", [1 << 40, 4], raw=b"")))

    # Opsets newer than attnc knows, and one it knows.
    write(out, "opset_26.onnx", relu_model([4], opset=26))
    write(out, "opset_99.onnx", relu_model([4], opset=99))

    # A scalar output.
    write(out, "scalar_output.onnx",
          model(graph([node("ReduceSum", ["x"], ["y"], "sum",
                            [int_attribute("keepdims", 0)])],
                      [value_info("x", [2, 3])], [value_info("y", [])]),
                opset=11))

    # A product over an empty axis, and a graph input that is also an
    # initializer (older exporters list weights as inputs).
    write(out, "zero_dim_matmul.onnx",
          model(graph([node("MatMul", ["a", "b"], ["c"], "mm")],
                      [value_info("a", [0, 4]), value_info("b", [4, 3])],
                      [value_info("c", [0, 3])])))
    write(out, "input_initializer.onnx",
          model(graph([node("Add", ["x", "w"], ["y"], "add")],
                      [value_info("x", [4, 4]), value_info("w", [4, 4])],
                      [value_info("y", [4, 4])],
                      [tensor("w", [4, 4], raw=b"\0" * 64)])))

    # A product of symbolic extents the graph needs equal ([M, K] x [L, N]
    # with K == L), and names written into the header.
    write(out, "symbolic_matmul.onnx",
          model(graph([node("MatMul", ["a", "b"], ["c"], "mm")],
                      [value_info("a", ["M", "K"]),
                       value_info("b", ["L", "N"])],
                      [value_info("c", ["M", "N"])])))
    evil = "x */\n#error injected\n/* "
    write(out, "injected_names.onnx",
          model(graph([node("Relu", [evil], ["y"], "relu")],
                      [value_info(evil, ["n */ #error dim /*"])],
                      [value_info("y", ["n */ #error dim /*"])],
                      name="g */ #error graph /*")))

    # External data that must not be read: outside the model's folder
    # (absolute, `..`, links out of it), or not a regular file (a FIFO).
    write(out, "ext_absolute.onnx",
          add_weight_model(external("/etc/passwd")))
    write(out, "ext_dotdot.onnx",
          add_weight_model(external("../outside.bin")))
    for name in ("link_abs", "link_rel", "dir_link", "fifo", "inside"):
        location = {"dir_link": "etc/passwd"}.get(name, name + ".bin")
        write(out, "ext_%s.onnx" % name, add_weight_model(external(location)))
    with open(os.path.join(out, "..", "outside.bin"), "wb") as f:
        f.write(b"\0" * 64)
    for link, target in (("link_abs.bin", "/etc/passwd"),
                         ("link_rel.bin", "../outside.bin"),
                         ("etc", "/etc")):
        path = os.path.join(out, link)
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(target, path)
    fifo = os.path.join(out, "fifo.bin")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    with open(os.path.join(out, "inside.bin"), "wb") as f:
        f.write(struct.pack("<16f", *range(16)))

    # A long chain of elementwise ops.
    n = 20000
    nodes = [node("Neg" if i % 2 else "Abs", ["t%d" % i], ["t%d" % (i + 1)])
             for i in range(n)]
    write(out, "chain_20000.onnx",
          model(graph(nodes, [value_info("t0", [8])],
                      [value_info("t%d" % n, [8])])))

    # ONNX text nested deeper than any model needs.
    depth = 20000
    with open(os.path.join(out, "nested.onnxtext"), "w") as f:
        f.write('<ir_version: 8, opset_import: ["" : 17]>\n'
                "g (float[4] x) => (float[4] y)\n{\n  y = Relu <a = "
                + "[" * depth + "1" + "]" * depth + "> (x)\n}\n")


if __name__ == "__main__":
    main()
