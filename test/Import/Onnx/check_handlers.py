"""Checks that every operator of the ONNX importer's table is imported by a
FileCheck test: some `.onnxtext` file in this directory that runs
`--import-onnx` through FileCheck has a node of that operator (default
domain: `= Op (` or `= Op <`; other domains: `= domain.Op ...`).

Usage: check_handlers.py OPERATORS_FILE TEST_DIR, OPERATORS_FILE being the
output of `attnc-translate --list-onnx-operators`.
"""

import os
import re
import sys


def main():
    ops_file, test_dir = sys.argv[1], sys.argv[2]
    texts = []
    for name in sorted(os.listdir(test_dir)):
        if not name.endswith(".onnxtext"):
            continue
        with open(os.path.join(test_dir, name)) as f:
            text = f.read()
        if "--import-onnx" in text and "FileCheck" in text:
            texts.append(text)
    missing = []
    count = 0
    with open(ops_file) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3:
                continue
            domain, op = fields[0], fields[1]
            count += 1
            qualified = op if domain == "ai.onnx" else domain + "." + op
            node = re.compile(r"=\s*" + re.escape(qualified) + r"\s*[<(]")
            if not any(node.search(t) for t in texts):
                missing.append(f"{domain} {op}")
    if count == 0:
        print("no operators listed", file=sys.stderr)
        return 1
    if missing:
        print(f"{len(missing)} of {count} importer handlers have no "
              "FileCheck import test:", file=sys.stderr)
        for m in missing:
            print("  " + m, file=sys.stderr)
        return 1
    print(f"all {count} importer handlers have a FileCheck import test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
