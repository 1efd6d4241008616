"""Pin SciPy's OpenBLAS (the one ``scipy.linalg.cython_blas`` calls) to one thread around a kernel.

The fused kernels call ``sgemm``/``dgemm`` from several OpenMP threads at once;
a multi-threaded BLAS inside them would oversubscribe the cores. NumPy's own
BLAS (used by ``np.matmul``) is a different library and is left alone.
"""
from __future__ import annotations

import contextlib
import os

_controllers = None


def _scipy_blas_controllers():
    global _controllers
    if _controllers is None:
        try:
            import scipy
            import scipy.linalg.cython_blas  # noqa: F401  (loads the library)
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controllers = []
            return _controllers
        root = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
        scipy_dirs = (os.path.join(root, "scipy.libs"), os.path.dirname(os.path.abspath(scipy.__file__)))
        _controllers = [c for c in ThreadpoolController().lib_controllers
                        if c.user_api == "blas" and c.filepath.startswith(scipy_dirs)]
    return _controllers


@contextlib.contextmanager
def single_threaded_blas():
    ctls = _scipy_blas_controllers()
    before = [c.num_threads for c in ctls]
    for c in ctls:
        if c.num_threads != 1:
            c.set_num_threads(1)
    try:
        yield
    finally:
        for c, n in zip(ctls, before):
            if n != 1:
                c.set_num_threads(n)
