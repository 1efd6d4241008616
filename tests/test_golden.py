"""convlab against PyTorch's recorded answers (tests/golden/golden.npz), without importing torch.

The cases and their format are described in ``tests/golden/make_golden.py``,
which regenerates the file where torch is installed.
"""
import json
import re
import math
import pathlib

import numpy as np
import pytest

import convlab.nn as nn
import convlab.nn.functional as F
import convlab.nn.grad as grad
from helpers import assert_close

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden" / "golden.npz"

with np.load(GOLDEN) as _data:
    META = json.loads(str(_data["cases"]))
    ARRAYS = {k: _data[k] for k in _data.files if k != "cases"}
CASES = META["cases"]


def _arrays(index):
    prefix = f"{index}/"
    return {k[len(prefix):]: v for k, v in ARRAYS.items() if k.startswith(prefix)}


def _run_module(case, a):
    cls = getattr(nn, case["cls"])
    m = cls(*_tuples(case["args"]), **_tuples(case["kwargs"]), dtype=np.dtype(case["dtype"]))
    state = {"weight": a["weight"]}
    if "bias" in a:
        state["bias"] = a["bias"]
    m.load_state_dict(state)
    call = dict(case["call"])
    out = m(a["input"], **call)
    expected = case["repr"]
    if case["cls"].startswith("Lazy"):
        # torch's recording inferred in_channels from the input; loaded first, as here, a Lazy layer keeps
        # in_channels == 0 through its first call (torch's quirk, compared live in test_torch_stages).
        expected = re.sub(r"^(\w+)\(\d+,", r"\1(0,", expected)
    assert repr(m) == expected
    if case["cls"].startswith("Lazy"):
        assert type(m).__name__ == case["cls"][len("Lazy"):]
    transposed = "Transpose" in case["cls"]
    reduction = a["weight"][:, 0].size if transposed else a["weight"][0].size
    return out, reduction


def _tuples(value):
    """JSON stored tuples as lists; give them back as tuples (torch's reprs print what they were given)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _run(case, a):
    kind, kw = case["kind"], _tuples(case["kwargs"])
    if kind == "module":
        return _run_module(case, a)
    if kind == "unfold":
        m = nn.Unfold(**kw)
        assert repr(m) == case["repr"]
        return m(a["input"]), 1
    if kind == "fold":
        m = nn.Fold(**kw)
        assert repr(m) == case["repr"]
        return m(a["input"]), math.prod(np.atleast_1d(kw["kernel_size"]))
    if kind == "pad":
        return F.pad(a["input"], tuple(case["pad"]), **kw), 1
    if kind == "grad_input":
        f = getattr(grad, f"conv{case['nd']}d_input")
        return f(tuple(case["input_size"]), a["weight"], a["input"], **kw), a["weight"][:, 0].size * a["weight"].shape[0]
    if kind == "grad_weight":
        f = getattr(grad, f"conv{case['nd']}d_weight")
        return f(a["input"], tuple(case["weight_size"]), a["weight"], **kw), a["weight"][0].size * a["weight"].shape[0]
    raise AssertionError(f"unknown golden case kind {kind!r}")


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_golden_case(index):
    case = CASES[index]
    a = _arrays(index)
    inputs = {k: v.copy() for k, v in a.items() if k != "output"}
    out, reduction = _run(case, a)
    assert isinstance(out, np.ndarray) and type(out) is np.ndarray
    assert_close(out, a["output"], case["dtype"], reduction=reduction)
    for k, v in inputs.items():                  # nothing convlab was given is modified
        np.testing.assert_array_equal(a[k], v)


def test_golden_file_covers_every_layer():
    """A regenerated file that silently dropped a layer type or a dtype would weaken the check above."""
    modules = {c["cls"] for c in CASES if c["kind"] == "module"}
    assert {f"Conv{n}d" for n in (1, 2, 3)} | {f"ConvTranspose{n}d" for n in (1, 2, 3)} <= modules
    assert any(c.startswith("Lazy") for c in modules)
    kinds = {c["kind"] for c in CASES}
    assert kinds == {"module", "unfold", "fold", "pad", "grad_input", "grad_weight"}
    for n in (1, 2, 3):
        conv = [c for c in CASES if c.get("cls") == f"Conv{n}d"]
        assert {c["kwargs"].get("padding_mode", "zeros") for c in conv} == {"zeros", "reflect", "replicate",
                                                                             "circular"}
        assert any(c["kwargs"].get("padding") == "same" for c in conv)
        tconv = [c for c in CASES if c.get("cls") == f"ConvTranspose{n}d"]
        assert any("output_size" in c["call"] for c in tconv)
        assert any(c["kwargs"].get("groups", 1) > 1 for c in tconv)
    assert {c["kwargs"]["mode"] for c in CASES if c["kind"] == "pad"} == {"constant", "reflect", "replicate",
                                                                          "circular"}
    assert {c["dtype"] for c in CASES} == {"float32", "float64"}
    for i, c in enumerate(CASES):
        a = _arrays(i)
        assert "output" in a and "input" in a, c["id"]
        assert all(v.dtype == np.dtype(c["dtype"]) for v in a.values()), c["id"]


def test_golden_does_not_import_torch():
    """Replay every case in a fresh interpreter where ``import torch`` fails."""
    import subprocess
    import sys
    here = pathlib.Path(__file__).resolve().parent
    code = ("import sys; sys.modules['torch'] = None; "
            f"sys.path.insert(0, {str(here)!r}); import test_golden as g; "
            "[g.test_golden_case(i) for i in range(len(g.CASES))]; "
            "assert 'torch' not in {m.split('.')[0] for m, v in sys.modules.items() if v is not None}; "
            "print(len(g.CASES), 'cases ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=here.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(CASES)} cases ok" in proc.stdout
