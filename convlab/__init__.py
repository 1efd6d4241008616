"""convlab: learn every torch.nn convolution layer by running it on NumPy arrays.

>>> import numpy as np, convlab, convlab.nn as nn
>>> _ = convlab.manual_seed(0)
>>> nn.Conv2d(16, 33, 3, stride=2)(np.zeros((20, 16, 50, 100), dtype=np.float32)).shape
(20, 33, 24, 49)
"""
from ._config import default_generator, get_num_threads, manual_seed, set_num_threads
from .errors import ShapeError

__version__ = "0.1.0"

__all__ = ["manual_seed", "default_generator", "get_num_threads", "set_num_threads", "ShapeError", "nn",
           "shapes", "reference"]


def __getattr__(name):
    # Submodules load on first use so `import convlab` stays cheap.
    import importlib
    if name in ("nn", "shapes", "reference", "ops"):
        return importlib.import_module(f"convlab.{name}")
    raise AttributeError(f"module 'convlab' has no attribute {name!r}")
