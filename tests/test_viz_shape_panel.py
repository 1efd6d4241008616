"""The output-size panel: the formula's numbers and the real layer's shape."""
import pytest

from convlab.viz import shape_panel as P


@pytest.mark.parametrize("kind,dims", [("conv", 1), ("conv", 2), ("conv", 3), ("transpose", 1), ("transpose", 2)])
def test_explorer_formula_and_layer_agree(kind, dims):
    ex = P.shape_explorer(kind, dims, size=12)
    names = [f"{a}_in" for a in P.AXES[dims]]
    for values in [dict(stride=3), dict(padding=2, dilation=2), dict(kernel_size=5, stride=1),
                   {names[-1]: 9, "stride": 2}]:
        st = ex.set(**values)
        v = ex.values()
        sizes = [v[n] for n in names]
        if kind == "conv":
            expect = tuple((s + 2 * v["padding"] - v["dilation"] * (v["kernel_size"] - 1) - 1) // v["stride"] + 1
                           for s in sizes)
            rem = [(s + 2 * v["padding"] - v["dilation"] * (v["kernel_size"] - 1) - 1) % v["stride"] for s in sizes]
            assert st["remainders"] == rem
        else:
            expect = tuple((s - 1) * v["stride"] - 2 * v["padding"] + v["dilation"] * (v["kernel_size"] - 1)
                           + v["output_padding"] + 1 for s in sizes)
            assert st["remainders"] == [None] * dims          # no floor: nothing to drop
        assert st["formula_shape"] == expect and st["actual_shape"] == (1, *expect) and st["agree"]
        assert ex.view.drawn_numbers() == st
        assert f"= {expect[-1]}" in st["steps"][-1]


def test_explorer_reports_invalid_arguments():
    ex = P.shape_explorer("conv", 1, size=4)
    st = ex.set(kernel_size=7)
    assert st["formula_shape"] is None and "larger than the padded input" in st["error"]
    assert ex.view.drawn_numbers() == {"error": True}
    st = ex.set(kernel_size=3)
    assert st["agree"] and ex.view.drawn_numbers() == st
    ex = P.shape_explorer("transpose", 1)
    assert "output_padding" in ex.set(output_padding=2)["error"]
