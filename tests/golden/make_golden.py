"""Record PyTorch's answers for a small set of cases into ``golden.npz`` (run by hand; needs torch).

``tests/test_golden.py`` replays these cases through convlab *without* importing
torch, so parity with PyTorch stays checked on machines where it is absent.

The file holds one JSON string under ``"cases"`` (a list of dicts: ``id``,
``kind``, ``dtype``, the call's arguments) and, per case ``i``, the arrays
``"{i}/input"``, ``"{i}/weight"``, ``"{i}/bias"`` (when used) and
``"{i}/output"`` (torch's result). Kinds:

* ``module``: ``getattr(nn, cls)(*args, **kwargs, dtype=...)``, then
  ``load_state_dict({weight, bias})`` and ``m(input, **call)``. Lazy classes are
  loaded while still uninitialised.
* ``unfold`` / ``fold`` / ``pad``: the ``torch.nn.functional`` function of that name.
* ``grad_input`` / ``grad_weight``: ``torch.nn.grad.conv{nd}d_input/_weight``;
  ``input`` is grad_output (resp. the conv input), ``weight`` the conv weight
  (resp. grad_output).

Usage::

    python tests/golden/make_golden.py          # writes tests/golden/golden.npz
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "golden.npz"

CASES: list[dict] = []
ARRAYS: dict[str, np.ndarray] = {}
RNG = np.random.default_rng(20240613)
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}


def _input(shape, dtype):
    return RNG.standard_normal(shape).astype(dtype)


def _add(case: dict, **arrays):
    i = len(CASES)
    case["id"] = f"{i:03d}-{case['id']}"
    CASES.append(case)
    for name, arr in arrays.items():
        if arr is not None:
            ARRAYS[f"{i}/{name}"] = np.ascontiguousarray(arr)


def module_case(cls, args, kwargs=None, *, dtype="float32", in_shape, call=None, tag=""):
    """Build torch's module, run it on a random input, record weights, bias, input and output."""
    kwargs = dict(kwargs or {})
    call = dict(call or {})
    tm = getattr(torch.nn, cls)(*args, **kwargs).to(TORCH_DTYPE[dtype])
    x = _input(in_shape, dtype)
    with torch.no_grad():
        y = tm(torch.from_numpy(x), **call).numpy()
    weight = tm.weight.detach().numpy()
    bias = None if tm.bias is None else tm.bias.detach().numpy()
    _add({"id": f"{cls}{tag}-{dtype}", "kind": "module", "cls": cls, "args": list(args), "kwargs": kwargs,
          "call": call, "dtype": dtype, "repr": repr(tm)},
         input=x, weight=weight, bias=bias, output=y)


def conv_cases():
    for nd in (1, 2, 3):
        cls = f"Conv{nd}d"
        size = {1: (9,), 2: (7, 6), 3: (5, 4, 4)}[nd]
        n = 1 if nd == 3 else 2
        for j, mode in enumerate(("zeros", "reflect", "replicate", "circular")):
            dtype = ("float32", "float64")[j % 2]
            # anisotropic tuples where nd > 1, groups=2 on some
            kernel = (3, 2, 3)[:nd]
            stride = (2, 1, 2)[:nd] if j < 2 else 1
            padding = (1, 2, 1)[:nd] if j != 3 else 1
            dilation = (1, 2, 1)[:nd] if j in (1, 3) else 1
            groups = 2 if j in (0, 3) else 1
            _kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
            module_case(cls, (4, 6, kernel), _kw, dtype=dtype, in_shape=(n, 4, *size), tag=f"-{mode}")
        # 'same' with even kernels and dilation (the extra cell goes to the right), in two padding modes
        for mode, dtype in (("zeros", "float64"), ("reflect", "float32")):
            kernel = (4, 3, 2)[:nd]
            dilation = (1, 2, 1)[:nd]
            module_case(cls, (3, 4, kernel), dict(padding="same", dilation=dilation, padding_mode=mode),
                        dtype=dtype, in_shape=(n, 3, *size), tag=f"-same-{mode}")
        module_case(cls, (4, 2, 3), dict(padding="valid", bias=False), dtype="float32", in_shape=(1, 4, *size),
                    tag="-valid-nobias")
        # depthwise, unbatched input
        module_case(cls, (4, 8, 2), dict(groups=4, padding=1, padding_mode="circular"), dtype="float64",
                    in_shape=(4, *size), tag="-depthwise-unbatched")


def conv_transpose_cases():
    for nd in (1, 2, 3):
        cls = f"ConvTranspose{nd}d"
        size = {1: (5,), 2: (4, 3), 3: (3, 3, 2)}[nd]
        n = 1 if nd == 3 else 2
        module_case(cls, (4, 6, (3, 2, 3)[:nd]), dict(stride=(2, 3, 2)[:nd], padding=1,
                                                       output_padding=(1, 2, 0)[:nd]),
                    dtype="float32", in_shape=(n, 4, *size), tag="-output_padding")
        module_case(cls, (4, 6, 3), dict(stride=2, padding=1, groups=2, dilation=(2, 1, 2)[:nd]),
                    dtype="float64", in_shape=(n, 4, *size), tag="-groups-dilation")
        # output_size as spatial sizes (largest valid) and as the full shape (middle of the range)
        k, s, p = 3, 3, 1
        smallest = tuple((n - 1) * s - 2 * p + (k - 1) + 1 for n in size)
        module_case(cls, (3, 2, k), dict(stride=s, padding=p), dtype="float64", in_shape=(1, 3, *size),
                    call={"output_size": [m + s - 1 for m in smallest]}, tag="-output_size-spatial")
        module_case(cls, (3, 2, k), dict(stride=s, padding=p, bias=False), dtype="float32", in_shape=(1, 3, *size),
                    call={"output_size": [1, 2] + [m + 1 for m in smallest]}, tag="-output_size-full")
        # dilation > stride lets output_padding reach dilation - 1; unbatched input
        module_case(cls, (2, 4, 2), dict(stride=1, dilation=3, output_padding=2, groups=2), dtype="float64",
                    in_shape=(2, *size), tag="-op-lt-dilation-unbatched")


def lazy_cases():
    module_case("LazyConv2d", (5, (3, 2)), dict(stride=(1, 2), padding=(1, 0)), dtype="float32",
                in_shape=(2, 3, 6, 7))
    module_case("LazyConvTranspose1d", (4, 3), dict(stride=2, output_padding=1), dtype="float64",
                in_shape=(2, 6, 5))


def fold_cases():
    geoms = [dict(kernel_size=3, dilation=1, padding=1, stride=1),
             dict(kernel_size=(2, 3), dilation=(2, 1), padding=(0, 1), stride=(1, 2)),
             dict(kernel_size=(3, 1), dilation=1, padding=(2, 0), stride=(2, 3))]
    for j, g in enumerate(geoms):
        dtype = ("float32", "float64")[j % 2]
        x = _input((2, 2, 6, 7), dtype)
        cols = torch.nn.functional.unfold(torch.from_numpy(x), **g).numpy()
        _add({"id": f"unfold{j}-{dtype}", "kind": "unfold", "kwargs": g, "dtype": dtype,
              "repr": repr(torch.nn.Unfold(**g))}, input=x, output=cols)
        c = _input(cols.shape, dtype)
        out = torch.nn.functional.fold(torch.from_numpy(c), (6, 7), **g).numpy()
        _add({"id": f"fold{j}-{dtype}", "kind": "fold", "kwargs": dict(g, output_size=[6, 7]), "dtype": dtype,
              "repr": repr(torch.nn.Fold((6, 7), **g))}, input=c, output=out)
    # unbatched unfold / fold
    x = _input((2, 5, 4), "float64")
    cols = torch.nn.functional.unfold(torch.from_numpy(x), 2).numpy()
    _add({"id": "unfold-unbatched-float64", "kind": "unfold", "kwargs": {"kernel_size": 2}, "dtype": "float64",
          "repr": repr(torch.nn.Unfold(2))}, input=x, output=cols)
    out = torch.nn.functional.fold(torch.from_numpy(cols), (5, 4), 2).numpy()
    _add({"id": "fold-unbatched-float64", "kind": "fold", "kwargs": {"kernel_size": 2, "output_size": [5, 4]},
          "dtype": "float64", "repr": repr(torch.nn.Fold((5, 4), 2))}, input=cols, output=out)


def grad_cases():
    settings = [(2, dict(stride=1, padding=0, dilation=1, groups=1), "float64"),
                (2, dict(stride=2, padding=1, dilation=1, groups=2), "float32"),
                (2, dict(stride=3, padding=2, dilation=2, groups=1), "float64"),
                (1, dict(stride=2, padding=1, dilation=2, groups=2), "float64"),
                (3, dict(stride=2, padding=1, dilation=1, groups=1), "float64")]
    for nd, kw, dtype in settings:
        x = _input((2, 4) + {1: (9,), 2: (8, 7), 3: (5, 4, 4)}[nd], dtype)
        w = _input((6, 4 // kw["groups"]) + (3,) * nd, dtype)
        conv = getattr(torch.nn.functional, f"conv{nd}d")
        y = conv(torch.from_numpy(x), torch.from_numpy(w), None, **kw)
        gy = _input(tuple(y.shape), dtype)
        gi = getattr(torch.nn.grad, f"conv{nd}d_input")(list(x.shape), torch.from_numpy(w), torch.from_numpy(gy),
                                                         **kw).numpy()
        gw = getattr(torch.nn.grad, f"conv{nd}d_weight")(torch.from_numpy(x), list(w.shape), torch.from_numpy(gy),
                                                          **kw).numpy()
        tag = "-".join(f"{k[0]}{v}" for k, v in kw.items())
        _add({"id": f"conv{nd}d_input-{tag}-{dtype}", "kind": "grad_input", "nd": nd, "kwargs": kw,
              "input_size": list(x.shape), "dtype": dtype}, input=gy, weight=w, output=gi)
        _add({"id": f"conv{nd}d_weight-{tag}-{dtype}", "kind": "grad_weight", "nd": nd, "kwargs": kw,
              "weight_size": list(w.shape), "dtype": dtype}, input=x, weight=gy, output=gw)


def pad_cases():
    specs = [((2, 3, 6), (2, 3), "constant", 0.0, "float32"),
             ((2, 3, 6), (-1, 2), "constant", 1.5, "float64"),
             ((1, 2, 4, 5), (1, 2, 3, 0), "reflect", None, "float32"),
             ((2, 4, 5), (3, 3, 1, 2), "reflect", None, "float64"),        # unbatched 2-d
             ((1, 2, 3, 4, 5), (1, 2, 0, 1, 2, 2), "replicate", None, "float64"),
             ((2, 3, 6), (4, 1), "replicate", None, "float32"),
             ((1, 2, 4, 5), (2, 5, 4, 1), "circular", None, "float64"),
             ((1, 1, 3, 4, 2), (1, 2, 3, 1, 0, 2), "circular", None, "float32"),
             ((2, 3, 4, 4), (0, 0, -1, 2, 1, 1), "constant", -2.0, "float64")]
    for j, (shape, pad, mode, value, dtype) in enumerate(specs):
        x = _input(shape, dtype)
        kw = {"mode": mode} if value is None else {"mode": mode, "value": value}
        y = torch.nn.functional.pad(torch.from_numpy(x), pad, **kw).numpy()
        _add({"id": f"pad{j}-{mode}-{dtype}", "kind": "pad", "pad": list(pad), "kwargs": kw, "dtype": dtype},
             input=x, output=y)


def main():
    torch.manual_seed(0)
    conv_cases()
    conv_transpose_cases()
    lazy_cases()
    fold_cases()
    grad_cases()
    pad_cases()
    for key, arr in ARRAYS.items():
        assert arr.dtype in (np.float32, np.float64), (key, arr.dtype)
    meta = {"torch_version": torch.__version__, "numpy_version": np.__version__, "cases": CASES}
    np.savez_compressed(OUT, cases=np.array(json.dumps(meta)), **ARRAYS)
    print(f"wrote {len(CASES)} cases, {len(ARRAYS)} arrays, {OUT.stat().st_size / 1024:.1f} KiB to {OUT}")


if __name__ == "__main__":
    main()
