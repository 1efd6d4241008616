"""Property test: random layer configurations, array layouts and weight/bias views against the oracle.

Hypothesis draws a convolution or transposed convolution (1-3 d, groups down to depthwise, stride,
padding including 'same'/'valid', padding modes, dilation, output_padding, float32/float64), then lays
out the input, the weight and the bias in memory in one of several ways (contiguous, Fortran order,
strided and negative-step views, read-only, permuted) and calls convlab through the functional API or
through a module (twice: the second call takes the cached plan). The oracle is PyTorch in float64 when
it is installed, else the nested-loop reference. ``derandomize`` makes the run the same every time.
"""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import convlab.nn as nn  # noqa: E402
import convlab.nn.functional as F  # noqa: E402
from convlab import reference as ref  # noqa: E402
from helpers import assert_close, torch  # noqa: E402

LAYOUTS = ["contiguous", "fortran", "step 2", "negative step", "read-only", "permuted"]
BIAS_LAYOUTS = ["none", "contiguous", "step 2", "negative step", "offset step 3"]


def lay_out(a, layout):
    """The same values as ``a`` in another memory layout (a view wherever a view can do it)."""
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "step 2":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    if layout == "negative step":
        return a[..., ::-1].copy()[..., ::-1]
    if layout == "read-only":
        b = a.copy()
        b.flags.writeable = False
        return b
    if layout == "permuted":
        return np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1) if a.ndim > 1 else a
    return np.ascontiguousarray(a)


def lay_out_bias(b, layout):
    if layout == "none":
        return None
    if layout == "offset step 3":
        wide = np.zeros(3 * len(b) + 1, b.dtype)
        wide[1::3] = b
        return wide[1::3]
    return lay_out(b, layout)


@st.composite
def cases(draw):
    nd = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    if draw(st.booleans()):                                  # depthwise (with a channel multiplier)
        groups = c_in = draw(st.integers(1, 4))
        c_out = c_in * draw(st.integers(1, 2))
    else:
        groups = draw(st.sampled_from([1, 1, 2, 3]))
        c_in = groups * draw(st.integers(1, 3))
        c_out = groups * draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    case = dict(nd=nd, transposed=transposed, groups=groups, c_in=c_in, c_out=c_out, kernel=kernel, stride=stride,
                dilation=dilation, n=draw(st.integers(1, 3)), batched=draw(st.integers(0, 5)) > 0,
                dtype=draw(st.sampled_from([np.float32, np.float64])),
                x_layout=draw(st.sampled_from(LAYOUTS)), w_layout=draw(st.sampled_from(LAYOUTS)),
                b_layout=draw(st.sampled_from(BIAS_LAYOUTS)), module=draw(st.booleans()),
                seed=draw(st.integers(0, 2 ** 16)))
    if transposed:
        padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        size = []
        for p, sp, s, op in zip(padding, span, stride, output_padding):
            low = 1
            while (low - 1) * s - 2 * p + sp + op < 1:          # the output must keep at least one cell
                low += 1
            size.append(draw(st.integers(low, low + 5)))
        case.update(padding=padding, output_padding=output_padding, mode="zeros", size=tuple(size))
        return case
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    choice = draw(st.sampled_from(["ints", "ints", "valid"] + (["same"] if set(stride) == {1} else [])))
    if choice == "valid":
        padding, pads = "valid", [0] * nd
    elif choice == "same":
        padding, pads = "same", [(sp - 1) // 2 + (sp - 1) % 2 for sp in span]    # the larger (right) side
    else:
        pads = [draw(st.integers(0, 2)) for _ in range(nd)]
        padding = tuple(pads)
    size = []
    for p, sp in zip(pads, span):
        total = (sp - 1) if choice == "same" else 2 * p
        low = max(1, sp - total)                                 # the kernel fits the padded input
        if mode == "reflect":
            low = max(low, p + 1)                                # reflect needs padding < size
        elif mode == "circular":
            low = max(low, p)                                    # circular needs padding <= size
        size.append(draw(st.integers(low, low + 5)))
    case.update(padding=padding, mode=mode, size=tuple(size))
    return case


def oracle(x, w, b, c):
    """float64 result of the case by torch (if installed) or the reference loops."""
    x64, w64 = np.array(x, np.float64), np.array(w, np.float64)
    b64 = None if b is None else np.array(b, np.float64)
    if not c["batched"]:
        x64 = x64[None]
    if torch is not None:
        t = {k: torch.from_numpy(v) if v is not None else None for k, v in (("x", x64), ("w", w64), ("b", b64))}
        f = torch.nn.functional
        if c["transposed"]:
            out = getattr(f, f"conv_transpose{c['nd']}d")(t["x"], t["w"], t["b"], c["stride"], c["padding"],
                                                          c["output_padding"], c["groups"], c["dilation"])
        elif c["mode"] != "zeros" and c["padding"] not in ("valid", "same"):
            pad = [v for p in reversed(c["padding"]) for v in (p, p)]
            out = getattr(f, f"conv{c['nd']}d")(f.pad(t["x"], pad, mode=c["mode"]), t["w"], t["b"], c["stride"], 0,
                                                c["dilation"], c["groups"])
        elif c["mode"] != "zeros" and c["padding"] == "same":
            m = getattr(torch.nn, f"Conv{c['nd']}d")(c["c_in"], c["c_out"], c["kernel"], padding="same",
                                                     dilation=c["dilation"], groups=c["groups"], bias=b is not None,
                                                     padding_mode=c["mode"]).double()
            m.weight.data = t["w"]
            if b is not None:
                m.bias.data = t["b"]
            out = m(t["x"])
        else:
            out = getattr(f, f"conv{c['nd']}d")(t["x"], t["w"], t["b"], c["stride"], c["padding"], c["dilation"],
                                                c["groups"])
        out = out.detach().numpy()
    elif c["transposed"]:
        out = ref.conv_transpose_nd(x64, w64, b64, c["stride"], c["padding"], c["output_padding"], c["groups"],
                                    c["dilation"])
    else:
        if c["padding"] == "same":
            pad = tuple(((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2) for d, k in zip(c["dilation"], c["kernel"]))
        else:
            pad = 0 if c["padding"] == "valid" else c["padding"]
        out = ref.conv_nd(x64, w64, b64, c["stride"], pad, c["dilation"], c["groups"], padding_mode=c["mode"])
    return out if c["batched"] else out[0]


def run_convlab(x, w, b, c):
    if c["module"]:
        kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"],
                  bias=b is not None, dtype=c["dtype"])
        if c["transposed"]:
            m = getattr(nn, f"ConvTranspose{c['nd']}d")(c["c_in"], c["c_out"], c["kernel"],
                                                        output_padding=c["output_padding"], **kw)
        else:
            m = getattr(nn, f"Conv{c['nd']}d")(c["c_in"], c["c_out"], c["kernel"], padding_mode=c["mode"], **kw)
        m.weight = nn.Parameter(w)
        if b is not None:
            m.bias = nn.Parameter(b)
        first = m(x)
        second = m(x)                                        # the cached plan
        np.testing.assert_array_equal(first, second)
        return first
    if c["transposed"]:
        return getattr(F, f"conv_transpose{c['nd']}d")(x, w, b, c["stride"], c["padding"], c["output_padding"],
                                                       c["groups"], c["dilation"])
    if c["mode"] != "zeros":
        return run_convlab(x, w, b, dict(c, module=True))
    return getattr(F, f"conv{c['nd']}d")(x, w, b, c["stride"], c["padding"], c["dilation"], c["groups"])


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_random_layers_and_layouts_match_the_oracle(c):
    rng = np.random.default_rng(c["seed"])
    dt = c["dtype"]
    shape = ((c["n"],) if c["batched"] else ()) + (c["c_in"],) + c["size"]
    w_shape = ((c["c_in"], c["c_out"] // c["groups"]) if c["transposed"] else
               (c["c_out"], c["c_in"] // c["groups"])) + c["kernel"]
    x = lay_out(rng.standard_normal(shape).astype(dt), c["x_layout"])
    w = lay_out(rng.standard_normal(w_shape).astype(dt), c["w_layout"])
    b = lay_out_bias(rng.standard_normal(c["c_out"]).astype(dt), c["b_layout"])
    before = [None if a is None else a.copy() for a in (x, w, b)]
    got = run_convlab(x, w, b, c)
    for a, copy in zip((x, w, b), before):                   # nothing the caller passed is modified
        if a is not None:
            np.testing.assert_array_equal(a, copy)
    want = oracle(x, w, b, c)
    assert got.dtype == dt
    assert_close(got, want, dt, reduction=w[0].size)
