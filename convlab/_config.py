"""Process-wide settings: the random generator used by ``reset_parameters`` and the kernel thread count."""
from __future__ import annotations

import os

import numpy as np

_state = {"rng": np.random.default_rng(), "threads": None}


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
    """Set the kernel thread count (like ``torch.set_num_threads``)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    _state["threads"] = n
