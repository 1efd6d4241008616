"""The BLAS that the fused kernels call, pinned to one thread around each kernel.

The kernels call ``sgemm``/``dgemm`` from several OpenMP threads at once, so the
BLAS must run single-threaded inside them (a multi-threaded BLAS there would
oversubscribe the cores). Which BLAS:

* NumPy's bundled OpenBLAS (``numpy.libs/libscipy_openblas64_*``, ILP64), when
  it is there: on the small-``C_out`` GEMMs of convolutions its newer kernels
  are ~20 % faster here than SciPy's copy (e.g. 64x576x448: 70 vs 55 GFLOP/s).
  Its ``scipy_?gemm_64_`` addresses are handed to the kernels once.
* otherwise (NumPy built against MKL/Accelerate, or ``CONVLAB_BLAS=scipy``),
  SciPy's ``scipy.linalg.cython_blas``, which every SciPy install provides.

``blas_backend()`` says which one is in use. The kernels pin the libraries to one
thread themselves (C calls to ``openblas_set_num_threads``, restored after the
call); only for a BLAS without those calls does :func:`single_threaded_blas`
pin it through threadpoolctl (~5 us a library per call).
"""
from __future__ import annotations

import contextlib
import ctypes
import os

_state = None       # (controllers single_threaded_blas pins, backend name, CDLLs kept loaded)


def _symbol_pair(filepath, name_pairs):
    """(CDLL, address, address) of the first pair of symbols in ``name_pairs`` that ``filepath`` exports,
    or None (symbol names vary with the build: scipy-openblas prefixes ``scipy_``, its ILP64 build
    suffixes ``64_``)."""
    try:
        lib = ctypes.CDLL(filepath)
    except OSError:
        return None
    for first, second in name_pairs:
        try:
            f, g = getattr(lib, first), getattr(lib, second)
        except AttributeError:
            continue
        return lib, ctypes.cast(f, ctypes.c_void_p).value, ctypes.cast(g, ctypes.c_void_p).value
    return None


def _inside(path, dirs) -> bool:
    """Whether ``path`` lies in one of the folders ``dirs`` (compared by whole path components:
    ``numpy.libs_x/lib.so`` is not inside ``numpy.libs``)."""
    path = os.path.abspath(path)
    for d in dirs:
        d = os.path.abspath(d)
        try:
            if os.path.commonpath([path, d]) == d:
                return True
        except ValueError:          # different drives (Windows)
            continue
    return False


def _find_numpy_openblas(controllers):
    """(controller, CDLL, sgemm address, dgemm address) of NumPy's bundled ILP64 OpenBLAS, or None."""
    import numpy as np
    root = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    dirs = (os.path.join(root, "numpy.libs"), os.path.dirname(os.path.abspath(np.__file__)))
    for c in controllers:
        if c.internal_api == "openblas" and _inside(c.filepath, dirs):
            found = _symbol_pair(c.filepath, [(f"{p}sgemm_64_", f"{p}dgemm_64_") for p in ("scipy_", "")])
            return None if found is None else (c, *found)
    return None


def _thread_controls(filepath):
    """(CDLL, get, set) addresses of an OpenBLAS's C ``openblas_{get,set}_num_threads``, or None."""
    return _symbol_pair(filepath, [(f"{p}openblas_get_num_threads{s}", f"{p}openblas_set_num_threads{s}")
                                   for p in ("scipy_", "") for s in ("64_", "")])


def _setup():
    global _state
    if _state is not None:
        return _state
    from .. import _kernels
    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        _state = ([], "scipy", [])
        return _state
    blas = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
    scipy_dirs = (os.path.join(root, "scipy.libs"), os.path.dirname(os.path.abspath(scipy.__file__)))
    pinned = [c for c in blas if _inside(c.filepath, scipy_dirs)]
    found = None if os.environ.get("CONVLAB_BLAS", "") == "scipy" else _find_numpy_openblas(blas)
    if found is None:
        _kernels.set_blas_gemm(0, 0)
        backend, keep = "scipy", []
    else:
        ctl, lib, s_addr, d_addr = found
        _kernels.set_blas_gemm(s_addr, d_addr)
        pinned, backend, keep = pinned + [ctl], "numpy-openblas", [lib]
    # Pin in the kernels themselves (C calls) when every library has OpenBLAS's thread calls;
    # otherwise single_threaded_blas() pins them through threadpoolctl around each call.
    controls = [_thread_controls(c.filepath) if c.internal_api == "openblas" else None for c in pinned]
    if pinned and all(controls) and os.environ.get("CONVLAB_BLAS_PIN", "") != "threadpoolctl":
        _kernels.set_blas_thread_controls([(g, s) for _, g, s in controls])
        keep += [lib for lib, _, _ in controls]
        pinned = []
    else:
        _kernels.set_blas_thread_controls([])
    _state = (pinned, backend, keep)
    return _state


def blas_pinned_by_caller() -> bool:
    """Whether callers of the GEMM kernels must wrap them in :func:`single_threaded_blas`
    (False when the kernels pin the BLAS themselves)."""
    return bool(_setup()[0])


def blas_index_max() -> int:
    """The largest GEMM size or leading dimension the kernels can pass to the BLAS in use (2**63 - 1 for
    NumPy's ILP64 OpenBLAS, 2**31 - 1 for SciPy's ``cython_blas``)."""
    _setup()
    from .. import _kernels
    return _kernels.blas_index_max()


def blas_backend() -> str:
    """``"numpy-openblas"`` or ``"scipy"``: whose ``?gemm`` the fused kernels call."""
    return _setup()[1]


@contextlib.contextmanager
def single_threaded_blas():
    ctls = _setup()[0]
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
