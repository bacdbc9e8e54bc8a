# lit configuration of the attnc test suites.
#
# Tools under test come from the build tree; FileCheck, not and count from
# llvm-19-tools. Optional tools become features: `ptxas` (CUDA's PTX
# assembler), `qemu-aarch64` (ARM64 runs with a cross-built attnc-run).

import os

import lit.formats

config.name = "attnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".onnxtext", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py", "unittests"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attnc_obj_root, "test")

path = os.pathsep.join([config.attnc_tools_dir, config.llvm_tools_dir,
                        config.environment.get("PATH", os.environ["PATH"])])
config.environment["PATH"] = path

config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%e2e", os.path.join(config.attnc_src_root,
                                                  "test", "e2e")))
config.substitutions.append(("%tools", config.attnc_tools_dir))

if config.ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))

run_aarch64 = os.path.join(config.attnc_tools_dir, "attnc-run-aarch64")
if config.qemu_aarch64 and os.path.exists(run_aarch64):
    config.available_features.add("qemu-aarch64")
    config.substitutions.append(
        ("%qemu-aarch64", config.qemu_aarch64 + " -L /usr/aarch64-linux-gnu"))
    config.substitutions.append(("%aarch64-cxx", config.aarch64_cxx))

# The Halide runtime's header (halide_buffer_t), for C programs that call
# generated entry points.
config.substitutions.append(("%halide_runtime_include",
                             config.halide_runtime_include))

# The source tree, for tests that build the examples.
config.substitutions.append(("%srcroot", config.attnc_src_root))
config.substitutions.append(("%objroot", config.attnc_obj_root))

# CPU features of this machine, for tests that run code only it can.
try:
    with open("/proc/cpuinfo") as f:
        if any(line.startswith("flags") and "avx512f" in line.split()
               for line in f):
            config.available_features.add("avx512")
except OSError:
    pass
