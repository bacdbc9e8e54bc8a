#!/usr/bin/env bash
#===- setup.sh - Install everything attnc needs to build and test ---------===#
#
# Installs the Debian packages the build, the tests and the examples need.
# Idempotent: packages already present are left alone. As root it runs
# apt-get; as another user it prints the command to run.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

PACKAGES=(
  # Build tools (clang: the sources are checked to compile with it too).
  cmake ninja-build ccache g++ clang pkg-config
  # LLVM's linker: attnc links shared libraries with it where installed.
  lld
  # MLIR/LLVM 19: libMLIR.so, mlir-tblgen, lit and FileCheck.
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
  # Halide 14 (code generation) with its own LLVM 14.
  libhalide14-0-dev
  # ONNX 1.12 and protobuf.
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata python3-venv
  # Tests: GoogleTest, Python with numpy for float64 references.
  googletest libgtest-dev python3 python3-numpy
  # ARM64 end-to-end runs: cross compiler and user-mode emulation.
  g++-aarch64-linux-gnu qemu-user
  # Python bindings and their tests.
  python3-dev pybind11-dev python3-pytest
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages; run as root:"
  echo "  apt-get update && $cmd"
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
$cmd
