#!/usr/bin/env python3
# ===- materialize_onnx_node_tests.py - ONNX node tests to files ----------=== #
#
# Writes every node test case of the installed `onnx` package
# (onnx.backend.test.loader.load_model_tests(kind="node")) in the layout of
# ONNX's backend test data, which attnc-conformance reads:
#
#   OUTDIR/<name>/model.onnx
#   OUTDIR/<name>/test_data_set_N/input_K.pb, output_K.pb
#   OUTDIR/<name>/data.json                      {"rtol": ..., "atol": ...}
#
# Recent onnx versions (>= 1.14 or so) build node cases in memory: a case has
# `model` (a ModelProto) and `data_sets` (a list of (inputs, outputs) pairs of
# numpy arrays or TensorProtos, one value per graph input/output, in order).
# Older versions point to files: a case has `model_dir`, a directory that
# already holds model.onnx and test_data_set_N; it is copied as it is. Values
# are serialized as onnx.backend.test.cmd_tools does for model tests:
# TensorProto for tensor inputs, SequenceProto, OptionalProto or MapProto
# for the others, named after the graph input or output.
#
# The output is written to OUTDIR.tmp and renamed to OUTDIR when complete; a
# stamp file records the onnx version and this script's hash, and with
# --if-stale an up-to-date OUTDIR is left alone.
#
# Needs onnx >= 1.16 (see setup_onnx_venv.sh for a pinned one).
#
# ===----------------------------------------------------------------------=== #
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import warnings

STAMP = ".attnc-materialized"


def stamp_text(onnx_version: str) -> str:
    with open(os.path.abspath(__file__), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    return f"onnx {onnx_version} script {digest}\n"


def serialize_value(value, type_proto, name: str) -> bytes:
    """One input or output value as the .pb bytes ONNX's runner reads."""
    import onnx
    from onnx import numpy_helper

    if isinstance(value, onnx.TensorProto):
        if not value.name:
            value = onnx.TensorProto.FromString(value.SerializeToString())
            value.name = name
        return value.SerializeToString()
    if type_proto.HasField("map_type"):
        return numpy_helper.from_dict(value, name).SerializeToString()
    if type_proto.HasField("sequence_type"):
        return numpy_helper.from_list(value, name).SerializeToString()
    if type_proto.HasField("optional_type"):
        return numpy_helper.from_optional(value, name).SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()


def write_in_memory_case(case, case_dir: str) -> None:
    model = case.model
    graph = model.graph
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for i, (inputs, outputs) in enumerate(case.data_sets or []):
        set_dir = os.path.join(case_dir, f"test_data_set_{i}")
        os.makedirs(set_dir)
        if len(inputs) > len(graph.input) or len(outputs) > len(graph.output):
            raise ValueError(
                f"data set {i} has {len(inputs)} inputs and {len(outputs)} "
                f"outputs for a graph with {len(graph.input)} and "
                f"{len(graph.output)}"
            )
        for kind, values, infos in (
            ("input", inputs, graph.input),
            ("output", outputs, graph.output),
        ):
            for k, value in enumerate(values):
                data = serialize_value(value, infos[k].type, infos[k].name)
                with open(os.path.join(set_dir, f"{kind}_{k}.pb"), "wb") as f:
                    f.write(data)


def write_file_case(case, case_dir: str) -> None:
    src = case.model_dir
    shutil.copy2(os.path.join(src, "model.onnx"), case_dir)
    for entry in sorted(os.listdir(src)):
        path = os.path.join(src, entry)
        if entry.startswith("test_data_set_") and os.path.isdir(path):
            shutil.copytree(path, os.path.join(case_dir, entry))
        elif entry == "data.json":
            shutil.copy2(path, case_dir)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Write the ONNX backend node tests of the installed onnx to files."
    )
    parser.add_argument("outdir", help="directory to write the tests to")
    parser.add_argument(
        "--if-stale",
        action="store_true",
        help="do nothing when OUTDIR was written by this script and onnx version",
    )
    args = parser.parse_args()

    try:
        import onnx
        from onnx.backend.test.loader import load_model_tests
    except ImportError as e:
        print(f"materialize: cannot import onnx: {e}", file=sys.stderr)
        return 2

    outdir = os.path.abspath(args.outdir)
    stamp = stamp_text(onnx.__version__)
    stamp_path = os.path.join(outdir, STAMP)
    if args.if_stale and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if f.read() == stamp:
                print(f"materialize: {outdir} is up to date ({stamp.strip()})")
                return 0

    start = time.monotonic()
    with warnings.catch_warnings():
        # The case generators compute overflowing casts and log(0) on purpose.
        warnings.simplefilter("ignore", RuntimeWarning)
        cases = load_model_tests(kind="node")
    tmp = outdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)

    written = 0
    errors = []
    seen = set()
    for case in cases:
        if case.name in seen:
            errors.append(f"{case.name}: duplicate name")
            continue
        seen.add(case.name)
        case_dir = os.path.join(tmp, case.name)
        os.makedirs(case_dir)
        try:
            if getattr(case, "model", None) is not None:
                write_in_memory_case(case, case_dir)
            elif getattr(case, "model_dir", None):
                write_file_case(case, case_dir)
            else:
                raise ValueError("the case has neither a model nor a model_dir")
            tolerances = {"rtol": case.rtol, "atol": case.atol}
            if not os.path.exists(os.path.join(case_dir, "data.json")):
                with open(os.path.join(case_dir, "data.json"), "w") as f:
                    json.dump(tolerances, f, sort_keys=True)
            written += 1
        except Exception as e:  # noqa: BLE001 - reported, the case dropped
            shutil.rmtree(case_dir, ignore_errors=True)
            errors.append(f"{case.name}: {type(e).__name__}: {e}")

    with open(os.path.join(tmp, STAMP), "w") as f:
        f.write(stamp)
    shutil.rmtree(outdir, ignore_errors=True)
    os.rename(tmp, outdir)

    for error in errors:
        print(f"materialize: not written: {error}", file=sys.stderr)
    print(
        f"materialize: wrote {written} node tests of onnx {onnx.__version__} "
        f"to {outdir} in {time.monotonic() - start:.1f} s"
        + (f"; {len(errors)} could not be written" if errors else "")
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
