"""Channels and groups: connections and weight blocks."""
import matplotlib

matplotlib.use("Agg")


import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from convlab import nn  # noqa: E402
from convlab.viz import channels as C  # noqa: E402
from convlab.viz import style  # noqa: E402
from helpers import explorer_frame, live_frame


def axes():
    return Figure().add_subplot()


def test_valid_groups():
    assert C.valid_groups(16, 24) == [1, 2, 4, 8]
    assert C.valid_groups(5, 12) == [1]


@pytest.mark.parametrize("cin,cout,g", [(4, 8, 2), (6, 6, 3), (4, 4, 1), (3, 6, 3)])
def test_connections_join_only_channels_of_one_group(cin, cout, g):
    art = C.draw_group_connections(axes(), cin, cout, g)
    assert len(art["pairs"]) == cin * cout // g == len(art["lines"].get_segments())
    colors = art["lines"].get_colors()
    for (i, o), color in zip(art["pairs"], colors):
        assert i // (cin // g) == o // (cout // g)
        assert np.allclose(color[:3], to_rgba(style.group_color(o // (cout // g)))[:3])
    assert set(art["pairs"]) == {(i, o) for i in range(cin) for o in range(cout) if i // (cin // g) == o // (cout // g)}
    seg = art["lines"].get_segments()[0]
    assert seg[0][0] == 0 and seg[1][0] == 1
    with pytest.raises(ValueError, match="valid"):
        C.draw_group_connections(axes(), 4, 6, 4)


@pytest.mark.parametrize("transposed", [False, True])
def test_weight_blocks_match_the_layer(transposed):
    cin, cout, g = 4, 6, 2
    art = C.draw_weight_blocks(axes(), cin, cout, g, 3, transposed)
    cls = nn.ConvTranspose1d if transposed else nn.Conv1d
    assert art["shape"].value == cls(cin, cout, 3, groups=g).weight.shape
    rows, cols = (cin, cout) if transposed else (cout, cin)
    rgba = art["image"].get_array()
    assert rgba.shape[:2] == (rows, cols)
    for r in range(rows):
        for c in range(cols):
            same = r // (rows // g) == c // (cols // g)
            expect = to_rgba(style.group_color(r // (rows // g))) if same else (1, 1, 1, 1)
            assert np.allclose(rgba[r, c], expect)
    assert f"weight.shape = {art['shape'].value}" in art["label"].get_text()


def test_parameter_text():
    assert C.parameter_text(16, 33, 3) == "parameters: 33·(16/1)·3 + 33 = 33·16·3 + 33 = 1584 + 33 = 1617"


def test_explorer_offers_only_divisors_and_flags_depthwise():
    ex = C.groups_explorer(4, 8, 2)
    assert tuple(ex.controls["groups"].options) == (1, 2, 4)
    st = ex.set(groups=4)
    assert st["depthwise"] and "depthwise" in ex.scene.depthwise.get_text()
    assert st["weight_shape"] == st["formula_weight_shape"] == (8, 1, 3)
    assert st["parameters"] == st["formula_parameters"] == 8 * 3 + 8
    st = ex.set(in_channels=6)                  # groups 4 no longer divides 6: falls back to 2
    assert tuple(ex.controls["groups"].options) == (1, 2) and st["groups"] == 2 == ex.controls["groups"].value
    assert not st["depthwise"] and ex.scene.depthwise.get_text() == ""
    st = ex.set(out_channels=12, groups=6)     # groups applied after the channels widen its options
    assert st["groups"] == 6 and st["depthwise"] and st["pairs"] == 12
    assert st["weight_shape"] == (12, 1, 3)
    assert "parameters: 12·(6/6)·3 + 12" in ex.scene.text.get_text()


def test_static_one_frame_per_divisor():
    box = C.groups_static(4, 8)
    assert len(box.frames) == 3 == len(box.slider.options)
    assert box.frames[0].value != box.frames[2].value


def test_changing_groups_moves_the_existing_artists():
    ex = C.groups_explorer(4, 8, 1)
    lines, image = ex.scene.con["lines"], ex.scene.blocks["image"]
    assert len(lines.get_segments()) == 32
    ex.set(groups=2)
    assert ex.scene.con["lines"] is lines and ex.scene.blocks["image"] is image
    assert len(lines.get_segments()) == 16
    assert ex.scene.blocks["label"].get_text() == "weight.shape = (8, 2, 3)"
    assert np.allclose(image.get_array()[0, 2], (1, 1, 1, 1))         # out 0 no longer reads in 2



def test_changing_the_channel_counts_redraws_in_place_and_stays_right():
    ex = C.groups_explorer(4, 8, 2)
    con, blocks = ex.scene.con, ex.scene.blocks
    kept = [con["lines"], con["in_nodes"], con["out_nodes"], con["names"]["in"], blocks["image"], blocks["grid"]]
    for values in [dict(in_channels=12), dict(out_channels=3, groups=3), dict(in_channels=1), dict(in_channels=6,
                                                                                                 out_channels=9)]:
        pictures = list(ex.figure.images)
        st = ex.set(**values)
        cin, cout, g = st["in_channels"], st["out_channels"], st["groups"]
        assert [con["lines"], con["in_nodes"], con["out_nodes"], con["names"]["in"], blocks["image"],
                blocks["grid"]] == kept
        assert ex.figure.images != pictures                       # both panels pasted anew
        # one node and one name per channel, one line per connected pair, coloured by group
        assert len(con["in_nodes"].get_offsets()) == cin and len(con["out_nodes"].get_offsets()) == cout
        assert con["names"]["in"].get_texts() == [f"in {i}" for i in range(cin)]
        assert con["names"]["out"].get_texts() == [f"out {o}" for o in range(cout)]
        assert len(con["lines"].get_segments()) == cin * cout // g == st["pairs"]
        assert ex.scene.ax_c.get_title() == f"in_channels={cin} → out_channels={cout}"
        # the weight matrix: out_channels × in_channels cells, its grid, the layer's shape
        assert blocks["image"].get_array().shape[:2] == (cout, cin)
        assert len(blocks["grid"].get_segments()) == cin + 1 + cout + 1
        assert blocks["label"].get_text() == f"weight.shape = {st['weight_shape']}"
    fresh = C.groups_explorer(4, 8, 2)
    fresh.set(**ex.values())
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
    fast = explorer_frame(ex)
    slow = live_frame(ex, (ex.scene.ax_c, ex.scene.ax_w))
    assert np.mean(np.abs(fast - slow) > 40) < 0.01
