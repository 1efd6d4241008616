"""Channels and groups: what the view draws (connections, weight shape, parameter count), against torch."""
import pytest
import torch

from convlab.viz import channels as C


def torch_numbers(cin, cout, g, k=3, transposed=False):
    """Connections, weight shape and parameter count of torch's layer (ones in, see which outputs move)."""
    cls = torch.nn.ConvTranspose1d if transposed else torch.nn.Conv1d
    layer = cls(cin, cout, k, groups=g).double()
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        reach = [layer(torch.eye(cin, dtype=torch.float64)[i][:, None].expand(cin, k).contiguous())[:, 0].numpy()
                 for i in range(cin)]
    pairs = [[i, o] for o in range(cout) for i in range(cin) if reach[i][o] != 0]
    return pairs, list(layer.weight.shape), sum(p.numel() for p in layer.parameters())


def test_valid_groups():
    assert C.valid_groups(16, 24) == [1, 2, 4, 8]
    assert C.valid_groups(5, 12) == [1]


def test_parameter_text():
    assert C.parameter_text(16, 33, 3) == "parameters: 33·(16/1)·3 + 33 = 33·16·3 + 33 = 1584 + 33 = 1617"


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("cin,cout", [(4, 8), (6, 6), (1, 5), (12, 9), (3, 1)])
def test_drawn_numbers_are_torchs(cin, cout, transposed):
    ex = C.groups_explorer(cin, cout, 1, transposed=transposed)
    for g in range(1, 13):
        ex.set(groups=g)
        n = ex.view.drawn_numbers()
        divisors = [d for d in range(1, 13) if cin % d == 0 and cout % d == 0]
        assert n["valid_groups"] == divisors
        if g not in divisors:
            assert n == {"error": True, "valid_groups": divisors}
            with pytest.raises(ValueError):
                torch.nn.Conv1d(cin, cout, 3, groups=g)
            continue
        pairs, shape, count = torch_numbers(cin, cout, g, transposed=transposed)
        assert n["pairs"] == pairs and n["weight_shape"] == shape and n["parameters"] == count
        assert n["depthwise"] == (g == cin)
        assert n["parameter_text"].endswith(f" = {count}")


def test_state_keeps_the_notebook_keys_and_types():
    e_groups = C.groups_explorer(in_channels=4, out_channels=8, groups=2)
    state = e_groups.set(in_channels=4, out_channels=8, groups=4)
    assert (state["valid_groups"], state["depthwise"], state["weight_shape"], state["parameters"], state["pairs"]) == \
        ([1, 2, 4], True, (8, 1, 3), 32, 8)
    assert state["formula_weight_shape"] == (8, 1, 3) and state["formula_parameters"] == 32


def test_groups_that_do_not_divide_are_explained_not_moved():
    ex = C.groups_explorer(4, 8, 4)
    st = ex.set(in_channels=6)                   # groups 4 no longer divides 6: the slider stays, the view explains
    assert ex.controls["groups"].value == 4 == st["groups"] and ex.view.groups == 4
    assert st["valid_groups"] == [1, 2] and "divisible by groups" in st["error"] and st["weight_shape"] is None
    st = ex.set(out_channels=12, groups=6)
    assert st["groups"] == 6 and st["depthwise"] and st["pairs"] == 12 and st["weight_shape"] == (12, 1, 3)


def test_every_control_is_a_labelled_slider_over_every_value():
    ex = C.groups_explorer()
    assert set(ex.controls) == {"in_channels", "out_channels", "groups"}
    assert all(c.description == name and (c.min, c.max) == (1, 12) for name, c in ex.controls.items())
    assert C.groups_explorer(16, 4, 1).controls["groups"].max == 16
    ex.set(in_channels=2)
    assert ex.view.in_channels == 2


def test_connected_pairs_runs_the_layer():
    from convlab import nn
    assert C.connected_pairs(nn.Conv1d(4, 2, 3, groups=2)) == [(0, 0), (1, 0), (2, 1), (3, 1)]
    assert C.connected_pairs(nn.ConvTranspose1d(2, 4, 1, groups=2)) == [(0, 0), (0, 1), (1, 2), (1, 3)]
