#!/usr/bin/env python3
"""Checks that attnc's own sources are valid C++ for clang as well as GCC.

  check-clang.py BUILD_DIR [CLANG++]

Runs `clang++ -fsyntax-only` (default: clang++ on the PATH) with each
translation unit's own flags from BUILD_DIR/compile_commands.json, for the
files of the source tree (not generated ones). GCC accepts some code clang
rejects (a structured binding captured by a lambda, before C++20); the
fuzzers and sanitizer builds need clang. Prints one line per failure with
clang's errors, then `clang: N files, M failed`. Exits 77 (skipped) when
there is no clang++, 1 when a file fails.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def clang_command(entry, clang):
    args = entry.get("arguments") or shlex.split(entry["command"])
    # Drop launchers (ccache, `cmake -E env ...`) in front of the compiler.
    compiler = next(i for i, a in enumerate(args)
                    if os.path.basename(a).endswith(("g++", "c++", "gcc",
                                                     "cc", "clang++")))
    is_cxx = args[compiler].endswith("++")
    out = [clang if is_cxx else clang.replace("clang++", "clang")]
    rest = args[compiler + 1:]
    skip = False
    for a in rest:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-Wno-unknown-warning-option"]


def main():
    build = sys.argv[1]
    clang = sys.argv[2] if len(sys.argv) > 2 else shutil.which("clang++")
    if not clang:
        print("clang: no clang++ on the PATH: skipped")
        return 77
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    mine = [e for e in entries
            if os.path.abspath(e["file"]).startswith(source + os.sep) and
            not os.path.abspath(e["file"]).startswith(
                os.path.abspath(build) + os.sep)]

    def check(entry):
        r = subprocess.run(clang_command(entry, clang), cwd=entry["directory"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        return entry["file"], r.returncode, r.stdout

    failed = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for path, rc, text in pool.map(check, mine):
            if rc:
                failed += 1
                errors = [l for l in text.splitlines() if "error:" in l]
                print("FAIL %s\n  %s" % (os.path.relpath(path, source),
                                          "\n  ".join(errors[:10])))
    print("clang: %d files, %d failed" % (len(mine), failed))
    return 1 if failed or not mine else 0


if __name__ == "__main__":
    sys.exit(main())
