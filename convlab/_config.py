"""Process-wide settings: the random generator used by ``reset_parameters`` and the kernel thread count."""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

_state = {"rng": np.random.default_rng(), "threads": None, "forked": False}


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator that initialises new layers (like ``torch.manual_seed``); returns it."""
    _state["rng"] = np.random.default_rng(seed)
    return _state["rng"]


def default_generator() -> np.random.Generator:
    """The generator ``reset_parameters()`` draws from when none is passed."""
    return _state["rng"]


def get_num_threads() -> int:
    """Threads the Cython kernels use (default: ``OMP_NUM_THREADS`` or the CPU count)."""
    if _state["threads"] is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        _state["threads"] = int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)
    return _state["threads"]


def set_num_threads(n: int) -> None:
    """Set the kernel thread count (like ``torch.set_num_threads``).

    In a process made by ``os.fork`` (a ``multiprocessing`` worker started by fork, a DataLoader-style
    worker) the kernels run on one thread, and asking for more warns and keeps one: the OpenMP runtime
    (libgomp) cannot start a thread team again in a forked child, its parallel regions would hang.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    if _state["forked"] and n > 1:
        warnings.warn(f"set_num_threads({n}) in a forked process: convlab's kernels stay on one thread here "
                      "(OpenMP cannot run a thread team after fork); start workers with the 'spawn' or "
                      "'forkserver' method to use more", RuntimeWarning, stacklevel=2)
        return
    _state["threads"] = n


def _after_fork_in_child() -> None:
    # The child has one thread of the parent's: the OpenMP thread team and any kernel call that was
    # running in another thread do not exist here. One thread from now on; BLAS pins start again at 0.
    _state["forked"] = True
    _state["threads"] = 1
    kernels = sys.modules.get("convlab._kernels")
    if kernels is not None:
        kernels.forget_blas_pins()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
