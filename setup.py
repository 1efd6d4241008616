"""Build of the one Cython extension, convlab._kernels.

Set CONVLAB_DEBUG_BUILD=1 to compile with bounds and wraparound checks on
(used once in CI to run the kernel tests against a checked build).
"""
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CONVLAB_DEBUG_BUILD", "") not in ("", "0")

if sys.platform == "win32":
    compile_args, link_args = ["/openmp", "/O2"], []
elif sys.platform == "darwin":  # Apple clang has no bundled OpenMP: build serial.
    compile_args, link_args = ["-O3"], []
else:
    compile_args, link_args = ["-O3", "-fopenmp"], ["-fopenmp"]

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
}

ext = Extension(
    "convlab._kernels",
    ["convlab/_kernels.pyx"],
    include_dirs=[np.get_include(), "convlab"],
    depends=["convlab/_simd.h", "convlab/_simd_loops.h", "convlab/_kernels.pxd"],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(ext_modules=cythonize([ext], compiler_directives=directives))
