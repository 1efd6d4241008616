"""convlab.viz.lazy: a Lazy module before/after its first call, as the browser view draws it."""
import numpy as np
import pytest
import torch

import convlab.nn as nn
from convlab.viz.lazy import KINDS, LazyView, lazy_explorer, snapshot


def test_snapshot_before_and_after():
    m = nn.LazyConvTranspose2d(33, 3)
    before = snapshot(m)
    assert before == {"class": "LazyConvTranspose2d", "in_channels": "0", "weight": "<UninitializedParameter>",
                      "bias": "<UninitializedParameter>", "repr": repr(m)}
    m(np.zeros((2, 7, 5, 5), dtype=np.float32))
    after = snapshot(m)
    assert after["class"] == "ConvTranspose2d" and after["in_channels"] == "7"
    assert after["weight"] == str(tuple(m.weight.shape)) == "(7, 33, 3, 3)"
    assert after["repr"].startswith("ConvTranspose2d(7, 33")


def torch_oracle(kind, in_channels, out_channels, kernel_size, called):
    """The same numbers from torch's own Lazy modules."""
    m = getattr(torch.nn, kind)(out_channels, kernel_size)
    before_repr = repr(m)
    if not called:
        return before_repr, None
    x = torch.zeros((2, in_channels) + (6,) * int(kind[-2]))
    y = m(x)
    return before_repr, {"class": type(m).__name__, "weight": str(tuple(m.weight.shape)),
                         "bias": str(tuple(m.bias.shape)), "repr": repr(m),
                         "input_shape": tuple(x.shape), "output_shape": tuple(y.shape)}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("in_channels,called", [(1, False), (5, True), (16, True), (64, True)])
def test_drawn_numbers_match_torch(kind, in_channels, called):
    view = LazyView(kind=KINDS.index(kind), in_channels=in_channels, called=called, out_channels=4, kernel_size=2,
                    max_in_channels=64, before=[{}] * 6, after=[[{}]] * 6)    # tables unused by drawn_numbers
    got = view.drawn_numbers()
    before_repr, after = torch_oracle(kind, in_channels, 4, 2, called)
    assert got["kind"] == kind and got["before"]["repr"] == before_repr
    assert got["before"]["weight"] == "<UninitializedParameter>" and got["before"]["in_channels"] == "0"
    if not called:
        assert got["after"] is None and got["input_shape"] is None and got["changed"] == []
        return
    for key in ("class", "weight", "bias", "repr"):
        assert got["after"][key] == after[key], key
    assert got["after"]["in_channels"] == str(in_channels)
    assert got["input_shape"] == after["input_shape"] and got["output_shape"] == after["output_shape"]
    assert got["changed"] == ["class", "in_channels", "weight", "bias", "repr"]


def test_tables_hold_every_reachable_state():
    """What the page selects from (computed at construction) is what drawn_numbers computes afresh."""
    ex = lazy_explorer("LazyConv1d", in_channels=3, out_channels=6, kernel_size=2, max_in_channels=9)
    v = ex.view
    for k, kind in enumerate(KINDS):
        assert v.before[k] == snapshot(getattr(nn, kind)(6, 2))
        for c in (1, 4, 9):
            ex.set(kind=kind, in_channels=c, called=True)
            entry, got = v.after[k][c - 1], ex.state
            assert {r: entry[r] for r in got["after"]} == got["after"]
            assert tuple(entry["input_shape"]) == got["input_shape"]
            assert tuple(entry["output_shape"]) == got["output_shape"]
        assert len(v.after[k]) == 9


def test_lazy_explorer_controls():
    ex = lazy_explorer(kind="LazyConv2d", out_channels=33)
    assert ex.state["after"] is None and ex.state["before"]["in_channels"] == "0"
    st = ex.set(in_channels=5, called=True)
    assert st["after"]["weight"] == "(33, 5, 3, 3)" and st["output_shape"][1] == 33
    assert ex.view.kind == 1 and ex.view.called and ex.view.in_channels == 5
    st = ex.set(kind="LazyConvTranspose3d", in_channels=3)
    assert ex.view.kind == KINDS.index("LazyConvTranspose3d")
    assert st["after"]["class"] == "ConvTranspose3d" and st["after"]["weight"] == "(3, 33, 3, 3, 3)"
    st = ex.set(called=False)
    assert st["after"] is None
    with pytest.raises(ValueError, match="kind must be one of"):
        lazy_explorer("Conv2d")
