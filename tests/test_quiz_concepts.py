"""convlab.quiz conceptual questions (Concept): each right answer is recomputed here by an independent
oracle (torch, or convlab.reference's nested loops), over a few parameter sets, not only the notebooks';
each typical wrong answer is diagnosed, differs from the right one, and an answer no rule explains is not."""
import numpy as np
import pytest

from convlab import quiz, reference
from convlab.viz.predict import PredictView

from helpers import requires_torch, torch

pytestmark = requires_torch


@pytest.mark.parametrize("i,n,k,s,p", [(2, 5, 3, 2, 1), (0, 4, 3, 2, 1), (3, 6, 4, 2, 1), (1, 3, 5, 3, 2), (2, 5, 2, 1, 0)])
def test_touched_outputs_by_torch(i, n, k, s, p):
    x = torch.zeros(1, 1, n, dtype=torch.float64)
    x[0, 0, i] = 1
    y = torch.nn.functional.conv_transpose1d(x, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p)
    want = tuple(int(j) for j in torch.nonzero(y[0, 0]).flatten())
    q = quiz.touched_outputs(i, n, k, stride=s, padding=p)
    assert q.answer == want
    assert quiz.check(q, ", ".join(map(str, want))).correct


@pytest.mark.parametrize("k,layers", [(3, (2, 3)), (5, (1, 2)), (3, (1, 4))])
def test_receptive_field_by_reference_loops(k, layers):
    want = []
    for n in layers:
        size = 2 * n * k + 1
        y = np.zeros((1, 1, size, size))
        y[0, 0, size // 2, size // 2] = 1
        for _ in range(n):
            y = reference.conv_nd(y, np.ones((1, 1, k, k)), padding=k // 2)
        rows = np.flatnonzero(y[0, 0].any(axis=1))
        want.append(int(rows[-1] - rows[0] + 1))
    assert quiz.receptive_field(k, layers).answer == tuple(want) == tuple(n * (k - 1) + 1 for n in layers)


@pytest.mark.parametrize("cin,cout,k", [(16, 32, 3), (4, 8, 5), (3, 3, 3)])
def test_groups_saving_by_torch(cin, cout, k):
    full = torch.nn.Conv1d(cin, cout, k).weight.numel()
    dw = torch.nn.Conv1d(cin, cout, k, groups=cin).weight.numel()
    assert quiz.groups_saving(cin, cout, k).answer == (full - dw,)


@pytest.mark.parametrize("shape,cout,k", [((3, 32, 32), 16, 3), ((1, 8, 6), 2, 5)])
def test_conv_vs_dense_by_torch(shape, cout, k):
    conv = torch.nn.Conv2d(shape[0], cout, k)
    out = conv(torch.zeros(1, *shape)).shape[1:]
    dense = torch.nn.Linear(int(np.prod(shape)), int(np.prod(out)), device="meta")
    want = (sum(p.numel() for p in conv.parameters()), sum(p.numel() for p in dense.parameters()))
    assert quiz.conv_vs_dense(shape, cout, k).answer == want


def test_edge_maps_by_torch():
    """The map bright along a vertical edge of a real photo is the Sobel-x one; the soft copy is the blur."""
    import matplotlib.pyplot as plt
    from matplotlib import cbook
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = torch.tensor(plt.imread(f).mean(axis=2)[::4, ::4] / 255)[None, None]
    w = torch.tensor(quiz.EDGE_KERNELS, dtype=torch.float64)[:, None]
    w[0] /= 9
    maps = torch.nn.functional.conv2d(photo, w)[0]
    column_change = (photo[0, 0, 1:-1, 2:] - photo[0, 0, 1:-1, :-2]).abs()       # left-right differences
    corr = [np.corrcoef(m.abs().flatten(), column_change.flatten())[0, 1] for m in maps]
    soft_err = [float((m - photo[0, 0, 1:-1, 1:-1]).abs().mean()) for m in maps]
    assert quiz.edge_maps().answer == (int(np.argmax(corr)), int(np.argmin(soft_err)))


@pytest.mark.parametrize("n,ks,s", [(6, (3, 4), 2), (5, (2, 3), 2), (6, (3, 6), 3)])
def test_checkerboard_values_by_torch(n, ks, s):
    want = []
    for k in ks:
        y = torch.nn.functional.conv_transpose2d(torch.ones(1, 1, n, n, dtype=torch.float64),
                                                 torch.ones(1, 1, k, k, dtype=torch.float64), stride=s)[0, 0]
        want.append(len(torch.unique(y[k:-k, k:-k])))
    assert quiz.checkerboard_values(n, ks, s).answer == tuple(want)


@pytest.mark.parametrize("n,t,ks,s,p", [(6, 12, (3, 4), 2, 1), (5, 15, (3, 4, 5), 3, 1), (4, 9, (2, 3), 2, 0)])
def test_upsample_output_padding_by_torch(n, t, ks, s, p):
    want = []
    for k in ks:
        op = next(o for o in range(max(s, 1)) if torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p,
                                                                          output_padding=o)(torch.zeros(1, 1, n)).shape[-1] == t)
        want.append(op)
    assert quiz.upsample_output_padding(n, t, ks, s, p).answer == tuple(want)


@pytest.mark.parametrize("chans,k,shape", [((8, 4), 3, (1, 3, 16, 16)), ((5, 2, 7), 1, (2, 6, 4, 4))])
def test_lazy_weight_shapes_by_torch(chans, k, shape):
    net = torch.nn.Sequential(*[torch.nn.LazyConv2d(c, k) for c in chans])
    net(torch.zeros(shape))
    want = tuple(d for layer in net for d in layer.weight.shape)
    assert quiz.lazy_weight_shapes(chans, k, shape).answer == want


@pytest.mark.parametrize("q", quiz.concept_questions(), ids=lambda q: q.kind)
def test_every_wrong_rule_is_diagnosed(q):
    """Each rule's answer differs from the right one, and check() names that rule (alone or with others that
    give the same numbers); nothing is right by accident; an unexplained answer gets no diagnosis."""
    right = q.answer
    for rule in quiz.rules_for(q):
        wrong = quiz.solve(q, rule)
        assert wrong != right, (q.kind, rule)
        v = quiz.check(q, str(wrong))
        assert not v.correct and rule in v.mistakes and quiz.MISTAKES[rule] in v.explanations
    v = quiz.check(q, "999999")
    assert not v.correct and v.mistakes == ()


def test_concept_view_keeps_the_answer_out_of_the_page_until_checked():
    q = quiz.receptive_field(3, (2, 3))
    view = PredictView.for_question(q)
    assert view.shown == "" and view.answer == "" and "5" not in view.prompt
    again = PredictView.from_state(view.state())
    assert again.check("5, 7").correct and again.drawn_numbers()["correct"]
    assert again.check("(25, 49)").mistakes == ("area_not_side",)
    again.shown = "answer"
    assert again.drawn_numbers() == {"shown": "answer", "expected": [5, 7]}
