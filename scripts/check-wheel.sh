#!/usr/bin/env bash
#===- check-wheel.sh - pip install . into a fresh environment and use it ---===#
#
#   bash scripts/check-wheel.sh [WORK_DIR]
#
# Creates a fresh virtual environment, runs `pip install .` on this source
# tree (scikit-build-core builds it with CMake into ./build-wheel, see
# pyproject.toml), and then, from outside the source tree and with nothing
# on PYTHONPATH:
#   - imports attnc and checks that it comes from the environment;
#   - runs the installed tools (attnc --version) and compiles the small
#     attention model of the driver tests with them;
#   - checks the CMake package and HalideRuntime.h under the prefix;
#   - runs examples/python/llama_session.py with the environment's
#     interpreter (attnc.InferenceSession against the exporter's outputs).
#   - builds examples/cmake against the environment as a CMake prefix
#     (find_package(attnc), attnc_add_model) and runs it.
# CC and CXX, when set, choose the compilers (CTest sets those of ./build so
# that ccache supplies its objects). Exits 77 (CTest's skip code) when PyPI
# cannot be reached for the build requirements; any other failure exits
# non-zero.
#
#===------------------------------------------------------------------------===#
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
PYTHON="${PYTHON:-/usr/bin/python3}"
rm -rf "$WORK/venv" "$WORK/run" "$WORK/cache"
mkdir -p "$WORK/run"

echo "check-wheel: creating $WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
VENV="$WORK/venv"
unset PYTHONPATH

# The build requirements come from PyPI; without it there is nothing to test.
if ! "$VENV/bin/pip" download --quiet --no-deps --dest "$WORK/probe" \
    scikit-build-core > "$WORK/probe.log" 2>&1; then
  echo "check-wheel: SKIPPED, PyPI is not reachable:"
  tail -3 "$WORK/probe.log"
  exit 77
fi

echo "check-wheel: pip install $SRC"
start=$(date +%s)
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$SRC"
echo "check-wheel: installed in $(( $(date +%s) - start )) s"

cd "$WORK/run"
where=$("$VENV/bin/python" -c 'import attnc, os; print(os.path.dirname(attnc.__file__))')
echo "check-wheel: imported attnc from $where"
case "$where" in
  "$VENV"/lib/python3*/site-packages/attnc) ;;
  *) echo "check-wheel: FAIL, attnc was not imported from $VENV" >&2; exit 1 ;;
esac

for tool in attnc attnc-opt attnc-translate attnc-run; do
  test -x "$VENV/bin/$tool" ||
    { echo "check-wheel: FAIL, $VENV/bin/$tool is missing" >&2; exit 1; }
done
"$VENV/bin/attnc" --version
test -f "$VENV/include/attnc/HalideRuntime.h"
test -f "$VENV/lib/cmake/attnc/attncConfig.cmake"

# The tools from the environment's PATH, as a shell user would call them.
PATH="$VENV/bin:$PATH" attnc "$SRC/test/Driver/Inputs/small_sdpa.onnxtext" \
  --emit=static-lib -o "$WORK/run/libsmall.a"
test -s "$WORK/run/libsmall.a" && test -s "$WORK/run/libsmall.h"
echo "check-wheel: the installed attnc wrote libsmall.a and libsmall.h"

ATTNC_CACHE_DIR="$WORK/cache" "$VENV/bin/python" \
  "$SRC/examples/python/llama_session.py"

cmake -G Ninja -S "$SRC/examples/cmake" -B "$WORK/cmake-example" \
  -DCMAKE_PREFIX_PATH="$VENV" > "$WORK/cmake-example.log"
cmake --build "$WORK/cmake-example" >> "$WORK/cmake-example.log"
"$WORK/cmake-example/llama" "$SRC/test/models/llama/b2_s16"
echo "check-wheel: PASS"
