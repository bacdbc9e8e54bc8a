#!/usr/bin/env bash
#===- run_onnx_pypi_conformance.sh - the CTest conformance-onnx-pypi ------===#
#
# Usage: run_onnx_pypi_conformance.sh ATTNC_CONFORMANCE VENV_DIR TESTS_DIR
#                                     KNOWN_FAILURES [OPTIONS...]
#
# 1. makes VENV_DIR with the pinned onnx (setup_onnx_venv.sh), or exits 77
#    (CTest: skipped) when pip cannot install it;
# 2. writes the node tests of that onnx to TESTS_DIR
#    (materialize_onnx_node_tests.py; kept while onnx and the script are the
#    same);
# 3. runs ATTNC_CONFORMANCE over TESTS_DIR with KNOWN_FAILURES and OPTIONS.
#
#===------------------------------------------------------------------------===#
set -uo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 ATTNC_CONFORMANCE VENV_DIR TESTS_DIR KNOWN_FAILURES [OPTIONS...]" >&2
  exit 2
fi
conformance=$1 venv=$2 tests=$3 known=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)

if ! bash "$here/setup_onnx_venv.sh" "$venv"; then
  echo "SKIPPED: cannot install the pinned onnx into $venv (is PyPI reachable?)"
  exit 77
fi
"$venv/bin/python" "$here/materialize_onnx_node_tests.py" --if-stale "$tests" || exit 1
exec "$conformance" --known-failures="$known" "$@" "$tests"
