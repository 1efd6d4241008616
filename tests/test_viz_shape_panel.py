"""The output-size panel: the formula's numbers and the real layer's shape."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from convlab import shapes  # noqa: E402
from convlab.viz import shape_panel as P  # noqa: E402
from convlab.viz import style  # noqa: E402


def test_draw_formula_texts_and_remainder_highlight():
    d = shapes.conv_output_size(50, 3, stride=2)
    ax = Figure().add_subplot()
    art = P.draw_shape_formula(ax, d, (20, 33, 24), "nn.Conv1d")
    assert art["formulas"][0].get_text() == d.formula
    assert art["steps"][0].get_text() == "⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊47 / 2⌋ + 1 = 24"
    rem = art["remainders"][0]
    assert rem.get_visible() and "47 mod 2 = 1" in rem.get_text()
    assert np.allclose(rem.get_bbox_patch().get_facecolor(), to_rgba(style.HIGHLIGHT))
    assert art["agree"] and "(24,)" in art["shapes"].get_text() and "(20, 33, 24)" in art["shapes"].get_text()
    exact = shapes.conv_output_size(50, 5, stride=3)          # 45 / 3: nothing dropped
    assert not P.update_shape_formula(art, exact, (1, 17))
    assert "mod 3 = 0" in rem.get_text()
    assert not np.allclose(rem.get_bbox_patch().get_facecolor(), to_rgba(style.HIGHLIGHT))
    assert "differ" in art["shapes"].get_text()


def test_transpose_derivation_has_no_remainder():
    d = shapes.conv_transpose_output_size(30, 3, stride=2)
    art = P.draw_shape_formula(Figure().add_subplot(), [d, d], (1, 61, 61))
    assert art["agree"] and not art["remainders"][0].get_visible()
    assert len(art["steps"]) == 2


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
