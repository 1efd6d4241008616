"""convlab against PyTorch (CPU, no_grad) and a NumPy baseline, in one process, interleaved.

    python bench/run.py                     # full suite at 1 and 2 threads
    python bench/run.py --threads 1 --repeats 3 --filter resnet
    python bench/run.py --json out.json
    python bench/run.py --gemm-only --no-numpy  # the GEMM-shaped rows alone, against the sgemm rate

Every case is first checked against torch (allclose), then timed: the three
implementations take turns for ``--repeats`` rounds, so drifting machine load
hits them alike; each turn starts after a 0.3 s pause, so no library's spinning
thread pool (OpenBLAS's workers spin ~0.1 s after a call) eats into the next. A turn's time is the median of
up to 9 batch means (``_time``). Per case it prints median and min times, convlab/torch and convlab/numpy
ratios (medians over rounds of the round's ratio, ``paired_ratio``; < 1 means convlab is faster), convlab's
GFLOP/s, and the extra memory of one convlab call (peak traced allocation minus
the output array; convlab's workspace, kept between calls, is released first so the
call counts it). The last line is the geometric mean of convlab/torch.
A second table times the weight gradients (``convlab.nn.grad.conv*_weight`` against
``torch.nn.grad``) and prints their extra memory against input + grad_output (not in the geomean).

Not a test: wall-clock numbers on a shared machine are noisy. Correctness of
every fast path is covered by the parity tests.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
from numpy.lib.stride_tricks import sliding_window_view

import convlab
import convlab.nn as nn
import convlab.nn.functional as F
import convlab.nn.grad as G

try:
    import torch
except ImportError:
    sys.exit("bench/run.py needs PyTorch 2.13 as the comparison: pip install torch==2.13.0")
try:
    from threadpoolctl import threadpool_limits
except ImportError:
    sys.exit("bench/run.py needs threadpoolctl to pin NumPy's BLAS threads: pip install threadpoolctl")


# ---------------------------------------------------------------------------- NumPy baselines
def np_conv(x, w, b, stride, padding, dilation, groups, mode="zeros"):
    """sliding_window_view + tensordot, per group."""
    nd = x.ndim - 2
    stride, padding, dilation = ((v,) * nd if isinstance(v, int) else v for v in (stride, padding, dilation))
    if any(padding):
        npmode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
        x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding], mode=npmode)
    k = w.shape[2:]
    span = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    win = sliding_window_view(x, span, axis=tuple(range(2, 2 + nd)))
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
              + tuple(slice(None, None, d) for d in dilation)]
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    outs = []
    for g in range(groups):
        wg = w[g * og:(g + 1) * og]
        xg = win[:, g * cg:(g + 1) * cg]
        # (N, Cg, *O, *k) x (Og, Cg, *k) -> (N, *O, Og)
        outs.append(np.tensordot(xg, wg, axes=([1] + list(range(2 + nd, 2 + 2 * nd)),
                                               [1] + list(range(2, 2 + nd)))))
    y = np.concatenate(outs, axis=-1)
    y = np.moveaxis(y, -1, 1)
    if b is not None:
        y = y + b.reshape(-1, *(1,) * nd)
    return y


def np_depthwise(x, w, b, stride, padding, dilation, groups, mode="zeros"):
    """Depthwise (groups == C_in == C_out) with einsum over the window."""
    p = padding
    x = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    win = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    y = np.einsum("nchwij,cij->nchw", win, w[:, 0], optimize=True)
    return y + b[:, None, None]


def np_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """tensordot to per-tap contributions, then one strided slice-add per kernel tap."""
    nd = x.ndim - 2
    stride, padding, dilation, output_padding = (
        (v,) * nd if isinstance(v, int) else v for v in (stride, padding, dilation, output_padding))
    k = w.shape[2:]
    n, cin, *size = x.shape
    full = [(s - 1) * st + d * (kk - 1) + 1 + op for s, st, d, kk, op in zip(size, stride, dilation, k, output_padding)]
    cg = cin // groups
    og = w.shape[1]
    out = np.zeros((n, og * groups, *full), dtype=x.dtype)
    for g in range(groups):
        # (N, Cg, *S) x (Cg, Og, *k) -> (N, *S, Og, *k)
        t = np.tensordot(x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg], axes=([1], [0]))
        t = np.moveaxis(t, 1 + nd, 1)          # (N, Og, *S, *k)
        for tap in np.ndindex(*k):
            sl = tuple(slice(tp * d, tp * d + (s - 1) * st + 1, st) for tp, d, s, st in zip(tap, dilation, size, stride))
            out[(slice(None), slice(g * og, (g + 1) * og)) + sl] += t[(Ellipsis,) + tap]
    crop = tuple(slice(p, f - p) for p, f in zip(padding, full))
    out = out[(slice(None), slice(None)) + crop]
    if b is not None:
        out = out + b.reshape(-1, *(1,) * nd)
    return out


def np_unfold(x, kernel_size, padding):
    x = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    win = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))   # N C H W kh kw
    n, c, h, w = win.shape[:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel_size * kernel_size, h * w)


def np_fold(cols, output_size, kernel_size, padding):
    n, ck, length = cols.shape
    k = kernel_size
    c = ck // (k * k)
    h, w = output_size[0] + 2 * padding, output_size[1] + 2 * padding
    bh, bw = h - k + 1, w - k + 1
    cols = cols.reshape(n, c, k, k, bh, bw)
    out = np.zeros((n, c, h, w), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + bh, j:j + bw] += cols[:, :, i, j]
    return out[:, :, padding:h - padding, padding:w - padding]


# ---------------------------------------------------------------------------- the suite
def _numeric_padding(m):
    """A module's padding as numbers ('same' split as torch does; the suite uses odd effective kernels)."""
    if isinstance(m.padding, str):
        return tuple(d * (k - 1) // 2 for d, k in zip(m.dilation, m.kernel_size)) if m.padding == "same" \
            else (0,) * len(m.kernel_size)
    return m.padding


BATCH = 0       # --batch N: every conv row's input with N samples instead of its own (0: the suite's)


def conv_case(name, cls, args, kwargs, shape, dtype=np.float32, depthwise=False, gemm=False, functional=False):
    """One layer: convlab's module (or ``F.conv*`` with ``functional=True``) against torch's, and a NumPy
    baseline. ``gemm=True`` marks a GEMM-shaped layer (many input and output channels): its GFLOP/s is
    also printed as a share of the machine's measured sgemm rate. With ``BATCH`` set, the input has that
    many samples (the name keeps the suite's shape)."""
    if BATCH:
        shape = (BATCH,) + tuple(shape[1:])
    nd = int(cls[-2])
    transposed = "Transpose" in cls
    m = getattr(nn, cls)(*args, dtype=dtype, **kwargs)
    tm = getattr(torch.nn, cls)(*args, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float64).astype(dtype)
    tx = torch.from_numpy(x)
    w, b = np.asarray(m.weight), np.asarray(m.bias)
    pad = _numeric_padding(m)
    if transposed:
        def numpy_fn():
            return np_conv_transpose(x, w, b, m.stride, pad, m.output_padding, m.groups, m.dilation)
        flops = 2 * x.size * w[0].size            # every input value meets C_out/groups * prod(k) weights
    else:
        def numpy_fn():
            if depthwise:
                return np_depthwise(x, w, b, m.stride[0], pad[0], m.dilation, m.groups, m.padding_mode)
            return np_conv(x, w, b, m.stride, pad, m.dilation, m.groups, m.padding_mode)
        with torch.no_grad():
            flops = 2 * tm(tx).numel() * w[0].size   # every output value is a dot product of C_in/groups * prod(k)
    ours, theirs = (lambda: m(x)), (lambda: tm(tx))
    if functional:
        fn = getattr(F, f"conv{'_transpose' if transposed else ''}{nd}d")
        tfn = getattr(torch.nn.functional, f"conv{'_transpose' if transposed else ''}{nd}d")
        tw, tb = tm.weight.detach(), tm.bias.detach()
        kw = dict(stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups)
        ours, theirs = (lambda: fn(x, w, b, **kw)), (lambda: tfn(tx, tw, tb, **kw))
    case = dict(name=name, ours=ours, torch=theirs, numpy=numpy_fn, flops=flops, nd=nd, gemm=gemm)
    if not functional:
        case["module"] = m                      # (bench/ab.py prints the path of its cached plan)
    return case


def pad_case(name, shape, pad, mode, dtype=np.float32):
    """``F.pad`` against torch's and against a NumPy copy of an array of the output's size (the memory-speed
    yardstick: /numpy <= 1.25 means at least 0.8x the speed of the copy)."""
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    tx = torch.from_numpy(x)
    like = np.ones(F.pad(x, pad, mode=mode).shape, dtype=dtype)
    return dict(name=name, ours=lambda: F.pad(x, pad, mode=mode),
                torch=lambda: torch.nn.functional.pad(tx, pad, mode=mode),
                numpy=lambda: like.copy(), flops=0, check_numpy=False)


def unfold_case(dtype=np.float32):
    x = np.random.default_rng(0).standard_normal((8, 64, 56, 56)).astype(dtype)
    tx = torch.from_numpy(x)
    return dict(name="unfold (8,64,56,56) k3 p1", ours=lambda: F.unfold(x, 3, padding=1),
                torch=lambda: torch.nn.functional.unfold(tx, 3, padding=1),
                numpy=lambda: np_unfold(x, 3, 1), flops=0)


def fold_case(dtype=np.float32):
    cols = np.random.default_rng(0).standard_normal((8, 64 * 9, 56 * 56)).astype(dtype)
    tc = torch.from_numpy(cols)
    return dict(name="fold (8,576,3136)->(56,56) k3 p1", ours=lambda: F.fold(cols, (56, 56), 3, padding=1),
                torch=lambda: torch.nn.functional.fold(tc, (56, 56), 3, padding=1),
                numpy=lambda: np_fold(cols, (56, 56), 3, 1), flops=0)


def suite():
    """The layers, in a fixed order: row i (0-based) is in the *tune* half when i is even, in the *check*
    half when i is odd (see ``half``). Kernel thresholds are chosen on tune rows only."""
    f64 = np.float64
    C = conv_case
    return [
        # the source article's examples
        lambda: C("article Conv1d(16,33,3,s2) (20,16,50)", "Conv1d", (16, 33, 3), dict(stride=2), (20, 16, 50)),
        lambda: C("article Conv1d(16,24,3,s2,g2) (20,16,50)", "Conv1d", (16, 24, 3), dict(stride=2, groups=2),
                  (20, 16, 50)),
        lambda: C("article Conv2d(16,33,3,s2) (20,16,50,100)", "Conv2d", (16, 33, 3), dict(stride=2),
                  (20, 16, 50, 100)),
        lambda: C("article Conv3d(16,33,3,s2) (20,16,10,50,100)", "Conv3d", (16, 33, 3), dict(stride=2),
                  (20, 16, 10, 50, 100)),
        lambda: C("article ConvT1d(16,33,3,s2) (20,16,30)", "ConvTranspose1d", (16, 33, 3), dict(stride=2),
                  (20, 16, 30)),
        lambda: C("article ConvT2d(16,33,3,s2) (20,16,50,100)", "ConvTranspose2d", (16, 33, 3), dict(stride=2),
                  (20, 16, 50, 100)),
        lambda: C("article ConvT3d(16,33,(3,5,2),s(2,1,1),p(0,4,2)) (20,16,10,50,100)", "ConvTranspose3d",
                  (16, 33, (3, 5, 2)), dict(stride=(2, 1, 1), padding=(0, 4, 2)), (20, 16, 10, 50, 100)),
        # 2-d classification: ResNet-18, ResNeXt, Inception (factorised 1x7 / 7x1), VGG
        lambda: C("resnet18 conv1 7x7 s2 3->64 (8,3,224,224)", "Conv2d", (3, 64, 7), dict(stride=2, padding=3),
                  (8, 3, 224, 224)),
        lambda: C("resnet18 3x3 64->64 (8,64,56,56)", "Conv2d", (64, 64, 3), dict(padding=1), (8, 64, 56, 56),
                  gemm=True),
        lambda: C("resnet18 3x3 s2 128->256 (8,128,28,28)", "Conv2d", (128, 256, 3), dict(stride=2, padding=1),
                  (8, 128, 28, 28), gemm=True),
        lambda: C("resnet18 3x3 512->512 (8,512,7,7)", "Conv2d", (512, 512, 3), dict(padding=1), (8, 512, 7, 7),
                  gemm=True),
        lambda: C("resnet18 1x1 s2 256->512 (8,256,14,14)", "Conv2d", (256, 512, 1), dict(stride=2),
                  (8, 256, 14, 14), gemm=True),
        lambda: C("resnext50 3x3 g32 128->128 (8,128,56,56)", "Conv2d", (128, 128, 3), dict(padding=1, groups=32),
                  (8, 128, 56, 56)),
        lambda: C("resnext50 3x3 g32 s2 256->256 (8,256,56,56)", "Conv2d", (256, 256, 3),
                  dict(stride=2, padding=1, groups=32), (8, 256, 56, 56)),
        lambda: C("inception 1x7 128->128 (8,128,17,17)", "Conv2d", (128, 128, (1, 7)), dict(padding=(0, 3)),
                  (8, 128, 17, 17)),
        lambda: C("inception 7x1 128->192 (8,128,17,17)", "Conv2d", (128, 192, (7, 1)), dict(padding=(3, 0)),
                  (8, 128, 17, 17)),
        lambda: C("vgg16 3x3 3->64 (4,3,224,224)", "Conv2d", (3, 64, 3), dict(padding=1), (4, 3, 224, 224)),
        lambda: C("vgg16 3x3 256->256 (4,256,56,56)", "Conv2d", (256, 256, 3), dict(padding=1), (4, 256, 56, 56),
                  gemm=True),
        lambda: C("resnet18 3x3 256->256 (8,256,14,14)", "Conv2d", (256, 256, 3), dict(padding=1),
                  (8, 256, 14, 14), gemm=True),
        lambda: C("alexnet 3x3 384->256 (8,384,13,13)", "Conv2d", (384, 256, 3), dict(padding=1), (8, 384, 13, 13),
                  gemm=True),
        # depthwise: MobileNetV2, EfficientNet / MobileNetV3 5x5, ConvNeXt 7x7
        lambda: C("mobilenetv2 dw3x3 C=144 (8,144,56,56)", "Conv2d", (144, 144, 3), dict(padding=1, groups=144),
                  (8, 144, 56, 56), depthwise=True),
        lambda: C("mobilenetv2 dw3x3 C=960 (8,960,7,7)", "Conv2d", (960, 960, 3), dict(padding=1, groups=960),
                  (8, 960, 7, 7), depthwise=True),
        lambda: C("efficientnet dw5x5 C=240 (8,240,28,28)", "Conv2d", (240, 240, 5), dict(padding=2, groups=240),
                  (8, 240, 28, 28), depthwise=True),
        lambda: C("mobilenetv3 dw5x5 s2 C=672 (8,672,14,14)", "Conv2d", (672, 672, 5),
                  dict(stride=2, padding=2, groups=672), (8, 672, 14, 14), depthwise=True),
        lambda: C("convnext dw7x7 C=96 (8,96,56,56)", "Conv2d", (96, 96, 7), dict(padding=3, groups=96),
                  (8, 96, 56, 56), depthwise=True),
        lambda: C("convnext dw7x7 C=768 (8,768,7,7)", "Conv2d", (768, 768, 7), dict(padding=3, groups=768),
                  (8, 768, 7, 7), depthwise=True),
        # stride-2 depthwise, one row per half (two rows: the halves of the rows below keep their parity)
        lambda: C("efficientnet dw5x5 s2 C=240 (8,240,28,28)", "Conv2d", (240, 240, 5),
                  dict(stride=2, padding=2, groups=240), (8, 240, 28, 28), depthwise=True),
        lambda: C("mobilenetv2 dw3x3 s2 C=144 (8,144,56,56)", "Conv2d", (144, 144, 3),
                  dict(stride=2, padding=1, groups=144), (8, 144, 56, 56), depthwise=True),
        # segmentation: DeepLab ASPP (dilated 'same'), U-Net
        lambda: C("deeplab aspp 3x3 d6 same 256->256 (2,256,33,33)", "Conv2d", (256, 256, 3),
                  dict(padding="same", dilation=6), (2, 256, 33, 33)),
        lambda: C("deeplab aspp 3x3 d12 same 256->256 (2,256,33,33)", "Conv2d", (256, 256, 3),
                  dict(padding="same", dilation=12), (2, 256, 33, 33)),
        lambda: C("unet 3x3 64->64 (1,64,256,256)", "Conv2d", (64, 64, 3), dict(padding=1), (1, 64, 256, 256),
                  gemm=True),
        lambda: C("unet ConvT2d(128,64,2,s2) (8,128,64,64)", "ConvTranspose2d", (128, 64, 2), dict(stride=2),
                  (8, 128, 64, 64)),
        # detection: FPN lateral 1x1, RetinaNet head 3x3
        lambda: C("fpn lateral 1x1 512->256 (2,512,50,50)", "Conv2d", (512, 256, 1), {}, (2, 512, 50, 50),
                  gemm=True),
        lambda: C("retinanet head 3x3 256->256 (2,256,25,25)", "Conv2d", (256, 256, 3), dict(padding=1),
                  (2, 256, 25, 25), gemm=True),
        # GANs: DCGAN generator / discriminator, CycleGAN (reflect 7x7)
        lambda: C("dcgan ConvT2d(256,128,4,s2,p1) (16,256,8,8)", "ConvTranspose2d", (256, 128, 4),
                  dict(stride=2, padding=1), (16, 256, 8, 8)),
        lambda: C("dcgan ConvT2d(64,3,4,s2,p1) (16,64,32,32)", "ConvTranspose2d", (64, 3, 4),
                  dict(stride=2, padding=1), (16, 64, 32, 32)),
        lambda: C("dcgan disc Conv2d(64,128,4,s2,p1) (16,64,32,32)", "Conv2d", (64, 128, 4),
                  dict(stride=2, padding=1), (16, 64, 32, 32)),
        lambda: C("cyclegan 7x7 reflect 3->64 (1,3,256,256)", "Conv2d", (3, 64, 7),
                  dict(padding=3, padding_mode="reflect"), (1, 3, 256, 256)),
        # padding modes
        lambda: C("Conv2d(64,64,3,p1,reflect) (8,64,56,56)", "Conv2d", (64, 64, 3),
                  dict(padding=1, padding_mode="reflect"), (8, 64, 56, 56)),
        lambda: C("Conv2d(16,16,5,p2,replicate) (8,16,64,64)", "Conv2d", (16, 16, 5),
                  dict(padding=2, padding_mode="replicate"), (8, 16, 64, 64)),
        lambda: C("Conv2d(32,32,3,p1,circular) (8,32,32,32)", "Conv2d", (32, 32, 3),
                  dict(padding=1, padding_mode="circular"), (8, 32, 32, 32)),
        lambda: pad_case("F.pad reflect (8,64,56,56) p1", (8, 64, 56, 56), (1, 1, 1, 1), "reflect"),
        lambda: pad_case("F.pad replicate (8,64,56,56) p2", (8, 64, 56, 56), (2, 2, 2, 2), "replicate"),
        lambda: pad_case("F.pad circular (8,32,32,32) p1", (8, 32, 32, 32), (1, 1, 1, 1), "circular"),
        lambda: pad_case("F.pad constant (8,64,56,56) p1", (8, 64, 56, 56), (1, 1, 1, 1), "constant"),
        lambda: pad_case("F.pad reflect 1d (8,64,16000) p40", (8, 64, 16000), (40, 40), "reflect"),
        # 1-d audio / speech: raw-waveform front-ends (M5, wav2vec 2.0), TCN (dilated), Conformer (depthwise)
        lambda: C("m5 audio Conv1d(1,64,80,s4) (8,1,16000)", "Conv1d", (1, 64, 80), dict(stride=4),
                  (8, 1, 16000)),
        lambda: C("wav2vec2 Conv1d(1,512,10,s5) (4,1,16000)", "Conv1d", (1, 512, 10), dict(stride=5),
                  (4, 1, 16000)),
        lambda: C("wav2vec2 Conv1d(512,512,3,s2) (4,512,3199)", "Conv1d", (512, 512, 3), dict(stride=2),
                  (4, 512, 3199), gemm=True),
        lambda: C("tcn Conv1d(64,64,3,d4,p8) (8,64,1000)", "Conv1d", (64, 64, 3), dict(dilation=4, padding=8),
                  (8, 64, 1000)),
        lambda: C("conformer dw Conv1d(144,144,31,p15,g144) (8,144,250)", "Conv1d", (144, 144, 31),
                  dict(padding=15, groups=144), (8, 144, 250)),
        lambda: C("wavenet Conv1d(32,32,2,d8) (4,32,4000)", "Conv1d", (32, 32, 2), dict(dilation=8),
                  (4, 32, 4000)),
        # 3-d video / medical: C3D, 3-d U-Net, V-Net
        lambda: C("c3d 3x3x3 64->128 (1,64,8,56,56)", "Conv3d", (64, 128, 3), dict(padding=1), (1, 64, 8, 56, 56),
                  gemm=True),
        lambda: C("unet3d 3x3x3 1->32 (1,1,64,64,64)", "Conv3d", (1, 32, 3), dict(padding=1), (1, 1, 64, 64, 64)),
        lambda: C("unet3d 3x3x3 32->32 (1,32,32,32,32)", "Conv3d", (32, 32, 3), dict(padding=1),
                  (1, 32, 32, 32, 32)),
        lambda: C("vnet ConvT3d(64,32,2,s2) (1,64,16,16,16)", "ConvTranspose3d", (64, 32, 2), dict(stride=2),
                  (1, 64, 16, 16, 16)),
        lambda: C("r2plus1d 1x3x3 64->64 (1,64,8,28,28)", "Conv3d", (64, 64, (1, 3, 3)), dict(padding=(0, 1, 1)),
                  (1, 64, 8, 28, 28)),
        lambda: C("r2plus1d 3x1x1 64->64 (1,64,8,28,28)", "Conv3d", (64, 64, (3, 1, 1)), dict(padding=(1, 0, 0)),
                  (1, 64, 8, 28, 28)),
        # unfold / fold
        unfold_case,
        fold_case,
        # tiny calls, module and functional
        lambda: C("tiny Conv2d(1,1,3) (1,1,8,8)", "Conv2d", (1, 1, 3), {}, (1, 1, 8, 8)),
        lambda: C("tiny F.conv2d (1,1,8,8)*(1,1,3,3)", "Conv2d", (1, 1, 3), {}, (1, 1, 8, 8), functional=True),
        lambda: C("tiny Conv1d(1,1,3) (1,1,16)", "Conv1d", (1, 1, 3), {}, (1, 1, 16)),
        lambda: C("tiny F.conv1d (1,1,16)*(1,1,3)", "Conv1d", (1, 1, 3), {}, (1, 1, 16), functional=True),
        lambda: C("tiny ConvT2d(1,1,3) (1,1,8,8)", "ConvTranspose2d", (1, 1, 3), {}, (1, 1, 8, 8)),
        lambda: C("F.conv2d resnet 3x3 64->64 (8,64,56,56)", "Conv2d", (64, 64, 3), dict(padding=1),
                  (8, 64, 56, 56), functional=True),
        # float64
        lambda: C("f64 resnet18 3x3 64->64 (8,64,56,56)", "Conv2d", (64, 64, 3), dict(padding=1),
                  (8, 64, 56, 56), dtype=f64),
        lambda: C("f64 article ConvT2d(16,33,3,s2) (20,16,50,100)", "ConvTranspose2d", (16, 33, 3),
                  dict(stride=2), (20, 16, 50, 100), dtype=f64),
        lambda: C("f64 article Conv1d(16,33,3,s2) (20,16,50)", "Conv1d", (16, 33, 3), dict(stride=2),
                  (20, 16, 50), dtype=f64),
        lambda: C("f64 m5 audio Conv1d(1,64,80,s4) (8,1,16000)", "Conv1d", (1, 64, 80), dict(stride=4),
                  (8, 1, 16000), dtype=f64),
        # appended 2026-12-04 (after the rows above, so their halves keep their parity): layers of the probe that
        # chose BLOCKED_MIN_EXPANSION (bench/README.md), on both sides of it -- seen before the rule was set
        lambda: C("pix2pix disc Conv2d(128,256,4,s2,p1) (4,128,64,64)", "Conv2d", (128, 256, 4),
                  dict(stride=2, padding=1), (4, 128, 64, 64)),
        lambda: C("resnet18 3x3 s2 64->128 (8,64,56,56)", "Conv2d", (64, 128, 3), dict(stride=2, padding=1),
                  (8, 64, 56, 56), gemm=True),
        lambda: C("Conv2d 5x5 64->64 p2 (8,64,32,32)", "Conv2d", (64, 64, 5), dict(padding=2), (8, 64, 32, 32)),
        lambda: C("inception 3x3 s2 288->384 (8,288,35,35)", "Conv2d", (288, 384, 3), dict(stride=2),
                  (8, 288, 35, 35), gemm=True),
        lambda: C("vgg16 3x3 512->512 (4,512,28,28)", "Conv2d", (512, 512, 3), dict(padding=1), (4, 512, 28, 28),
                  gemm=True),
        lambda: C("hifigan Conv1d(256,256,7,p3) (4,256,4096)", "Conv1d", (256, 256, 7), dict(padding=3),
                  (4, 256, 4096)),
    ]


def half(index):
    """The fixed split: even rows tune, odd rows check."""
    return "tune" if index % 2 == 0 else "check"


def grad_weight_case(name, nd, x_shape, weight_size, kwargs, dtype=np.float32):
    """``convNd_weight`` of convlab and torch on the same input and grad_output."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    tx = torch.from_numpy(x)
    with torch.no_grad():
        out_shape = getattr(torch.nn.functional, f"conv{nd}d")(tx, torch.zeros(weight_size, dtype=tx.dtype),
                                                               **kwargs).shape
    go = rng.standard_normal(tuple(out_shape)).astype(dtype)
    tgo = torch.from_numpy(go)
    ours = getattr(G, f"conv{nd}d_weight")
    theirs = getattr(torch.nn.grad, f"conv{nd}d_weight")
    return dict(name=name, ours=lambda: ours(x, weight_size, go, **kwargs),
                torch=lambda: theirs(tx, weight_size, tgo, **kwargs), inputs=x.nbytes + go.nbytes)


def grad_suite():
    return [
        lambda: grad_weight_case("grad conv3d_weight (1,16,64,64,64) k3 p1", 3, (1, 16, 64, 64, 64),
                                 (16, 16, 3, 3, 3), dict(padding=1)),
        lambda: grad_weight_case("grad conv2d_weight (8,64,56,56) k3 p1", 2, (8, 64, 56, 56), (64, 64, 3, 3),
                                 dict(padding=1)),
        lambda: grad_weight_case("grad conv2d_weight (8,512,7,7) k3 p1", 2, (8, 512, 7, 7), (512, 512, 3, 3),
                                 dict(padding=1)),        # ResNet-18's last stage: a 4608 x 512 gradient
        lambda: grad_weight_case("grad conv1d_weight (20,16,50) k3 s2 g2", 1, (20, 16, 50), (24, 8, 3),
                                 dict(stride=2, groups=2)),
    ]


def run_grad_case(case, repeats):
    want = case["torch"]().numpy()
    got = case["ours"]()
    scale = max(1.0, float(np.abs(want).max()))
    if got.shape != want.shape or not np.allclose(got, want, rtol=2e-4, atol=2e-4 * scale):
        raise AssertionError(f"{case['name']}: convlab differs from torch")
    times = _take_turns(case, ("ours", "torch"), repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    extra = extra_memory(case["ours"])
    return dict(name=case["name"], median=med, ratio_torch=paired_ratio(times["ours"], times["torch"]),
                ratio_of_medians=med["ours"] / med["torch"], extra_mb=extra / 2**20,
                inputs_mb=case["inputs"] / 2**20, extra_per_input=extra / case["inputs"])


# ---------------------------------------------------------------------------- timing
SETTLE_S = 0.3


def _time(fn, budget_s=0.25, batches=9):
    """Seconds per call: ``fn`` repeated to fill ~budget (at least once) in up to ``batches`` equal batches, and
    the median of the batches' means. A burst of the host's other work that slows one batch (seen here: a 47 ms
    call taking 72-81 ms three times in a row, then 47 ms again) moves the median by at most one place, where it
    would move a mean over the whole burst."""
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    reps = max(1, min(2000, int(budget_s / max(dt, 1e-7))))
    if reps == 1:
        return dt
    per = -(-reps // batches)
    means = []
    for _ in range(-(-reps // per)):
        t0 = time.perf_counter()
        for _ in range(per):
            fn()
        means.append((time.perf_counter() - t0) / per)
    return statistics.median(means)


def host_steal_s(path="/proc/stat"):
    """Seconds of CPU time the hypervisor has given to other guests ("steal", the 8th number of /proc/stat's
    ``cpu`` line, summed over CPUs) since boot, or None where there is no such counter. A row during which it
    grows was timed with fewer CPUs than it asked for: a 2-thread turn waits for its slower thread."""
    try:
        with open(path) as fh:
            fields = fh.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") if fields[0] == "cpu" and len(fields) > 8 else None
    except (OSError, ValueError, IndexError):
        return None


def paired_ratio(a, b):
    """Median over rounds of ``a[i] / b[i]``: each round's two turns are under a second apart and see the same
    host load, where the medians of ``a`` and ``b`` may come from different phases of it."""
    return statistics.median(x / y for x, y in zip(a, b))


def _take_turns(case, keys, repeats):
    """Seconds per call of each of ``case[key]``, one warm-up call each, then ``repeats`` rounds in turn."""
    times = {key: [] for key in keys}
    for key in keys:
        case[key]()
    for _ in range(repeats):
        for key in keys:
            # Let the previous library's thread pool go idle first: OpenBLAS workers spin ~0.1 s after
            # a call (measured: convlab's 2-thread ResNet 3x3 ran at 40-54 ms instead of 20 ms for
            # the first 0.1 s after a 2-thread NumPy matmul burst, and at 20 ms after a 0.3 s pause).
            time.sleep(SETTLE_S)
            times[key].append(_time(case[key]))
    return times


def extra_memory(fn):
    """Peak traced allocation of one call minus its output: the call's scratch memory. convlab keeps its
    workspace between calls, so it is released first and this call allocates it again (and counts it)."""
    from convlab.ops.conv import release_workspace
    release_workspace()
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return max(0, peak - np.asarray(out).nbytes)


def check_against_torch(case):
    """Raise AssertionError when a case's convlab result differs from torch's (relative tolerance 1e-9 in float64,
    2e-4 in float32, scaled by the largest magnitude)."""
    with torch.no_grad():
        want = case["torch"]().numpy()
    got = case["ours"]()
    scale = max(1.0, float(np.abs(want).max()))
    rtol = 1e-9 if got.dtype == np.float64 else 2e-4
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=rtol * scale):
        raise AssertionError(f"{case['name']}: convlab differs from torch (max abs diff "
                             f"{np.max(np.abs(got - want)) if got.shape == want.shape else 'shape'})")


def run_case(case, repeats, numpy=True):
    check_against_torch(case)
    stolen = host_steal_s()
    with torch.no_grad():
        keys = ("ours", "torch", "numpy") if numpy or case.get("check_numpy") is False else ("ours", "torch")
        times = _take_turns(case, keys, repeats)
    after = host_steal_s()
    stolen = None if stolen is None or after is None else after - stolen
    med = {k: statistics.median(v) for k, v in times.items()}
    mn = {k: min(v) for k, v in times.items()}
    med.setdefault("numpy", float("nan"))
    mn.setdefault("numpy", float("nan"))
    return dict(name=case["name"], median=med, min=mn, rounds=times,
                ratio_torch=paired_ratio(times["ours"], times["torch"]),
                ratio_numpy=paired_ratio(times["ours"], times["numpy"]) if "numpy" in times else float("nan"),
                ratio_of_medians=med["ours"] / med["torch"],
                gflops=(case["flops"] / med["ours"] / 1e9) if case["flops"] else None,
                gemm=case.get("gemm", False), extra_mb=extra_memory(case["ours"]) / 2**20, steal_s=stolen)


def sgemm_rate(n=2048, rounds=5):
    """GFLOP/s of NumPy's matmul on an n x n float32 GEMM (best of ``rounds``), at the current BLAS thread
    limit: the machine's attainable GEMM rate that the GEMM-shaped rows are measured against."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    a @ b
    best = min(_time(lambda: a @ b, budget_s=0.2) for _ in range(rounds))
    return 2 * n ** 3 / best / 1e9


MMAP_THRESHOLD = 32 << 20     # glibc's ceiling for its dynamic mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)


def pin_allocator():
    """Fix glibc malloc's mmap threshold at 32 MiB and its trim threshold at 64 MiB, the state its dynamic rule
    reaches once a process has freed one mmapped block of 32 MiB; return a line for the header (None where the C
    library has no ``mallopt``).

    By default glibc serves a request of 128 KiB or more with a fresh mapping, whose every 4 KiB page faults on
    first touch, and raises that threshold to the size of each mapped block freed. So which rows ran before
    decided whether a library's large buffers were faulted in on every call: torch's ResNet-18 stem
    (8, 3, 224, 224) took 33 ms per call at 1 thread early in the suite and 11 ms once a larger block had been
    freed, convlab's 15.4 and 13.4 ms. A long-running program (a training loop) sits in the second state; the
    bench now starts there, the same for every row and every library."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    if not (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD)):
        return None
    return (f"glibc malloc's mmap threshold pinned at {MMAP_THRESHOLD >> 20} MiB, trim at "
            f"{2 * MMAP_THRESHOLD >> 20} MiB (pin_allocator)")


def cpu_description():
    """Model name, family/model and L2/L3 sizes from /proc/cpuinfo and sysconf (Linux), else platform."""
    model, fam, mod = platform.processor() or platform.machine(), "?", "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name":
                    model = val
                elif key == "cpu family":
                    fam = val
                elif key == "model":
                    mod = val
                elif not line.strip():
                    break
    except OSError:
        pass
    caches = []
    for index in range(8):
        base = f"/sys/devices/system/cpu/cpu0/cache/index{index}/"
        try:
            with open(base + "level") as fh:
                level = fh.read().strip()
            with open(base + "type") as fh:
                kind = fh.read().strip()
            with open(base + "size") as fh:
                size = fh.read().strip()
        except OSError:
            break
        if kind != "Instruction":
            caches.append(f"L{level} {size}")
    return f"{model} (family {fam} model {mod}), {os.cpu_count()} cpus" + (", " + ", ".join(caches) if caches else "")


def wanted(case, text="", gemm_only=False):
    """Whether ``--filter text`` and ``--gemm-only`` keep a row: its name holds ``text`` and, with ``gemm_only``, it is
    marked GEMM-shaped (the rows the %sgemm target is about)."""
    return text in case["name"] and (case.get("gemm", False) or not gemm_only)


def geomean(values):
    values = list(values)
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else float("nan")


def fmt_steal(seconds):
    """A row's host steal in ms (7 wide), '-' where the host has no counter."""
    return f"{'-':>7s}" if seconds is None else f"{1000 * seconds:7.0f}"


def fmt_ratio(r):
    return f"{r:7.2f}" if r == r else f"{'-':>7s}"


def fmt_t(s):
    if s != s:
        return "-"
    return f"{s * 1e6:8.1f}us" if s < 1e-3 else f"{s * 1e3:8.2f}ms"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved timing rounds per case (default 5)")
    ap.add_argument("--filter", default="", help="only cases whose name contains this text")
    ap.add_argument("--half", choices=("tune", "check", "both"), default="both",
                    help="only the tune rows (even), the check rows (odd), or both (default)")
    ap.add_argument("--gemm-only", action="store_true",
                    help="only the GEMM-shaped rows (those measured against the sgemm rate); no gradient table")
    ap.add_argument("--no-grad", action="store_true", help="skip the weight-gradient table")
    ap.add_argument("--no-numpy", action="store_true",
                    help="time the NumPy baseline only where it is the yardstick (F.pad rows: a copy)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument("--batch", type=int, default=0,
                    help="every conv row with this many samples (1: inference); the names keep the suite's shapes")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    global BATCH
    BATCH = args.batch
    from convlab import _kernels
    from convlab.ops._blas import blas_backend
    print(f"# machine: {platform.machine()}, python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__}, convlab {convlab.__version__}")
    print(f"# cpu: {cpu_description()}")
    print(f"# allocator: {pin_allocator() or 'as the C library starts (no mallopt)'}")
    print(f"# convlab kernels: SIMD level {_kernels.simd_path()} (this CPU runs: {', '.join(_kernels.simd_levels())};"
          f" CONVLAB_SIMD forces one), GEMMs through {blas_backend()}")
    rates = {}
    for t in threads:
        with threadpool_limits(limits=t):
            rates[t] = sgemm_rate()
    print("# sgemm rate (NumPy matmul, 2048^3 float32, best of 5): "
          + ", ".join(f"{t}T {r:.1f} GFLOP/s" for t, r in rates.items()))
    print("# halves: row i of the suite is 'tune' (T) for even i, 'check' (C) for odd i")
    if BATCH:
        print(f"# --batch {BATCH}: every conv row's input has {BATCH} sample(s); the names keep the suite's shapes")
    results = {}
    for t in threads:
        convlab.set_num_threads(t)
        torch.set_num_threads(t)
        rows = []
        print(f"\n## {t} thread(s)")
        print(f"{'case':58s} {'h':1s} {'convlab med':>11s} {'min':>10s} {'torch med':>11s} {'numpy med':>11s} "
              f"{'/torch':>7s} {'/numpy':>7s} {'GFLOP/s':>8s} {'%sgemm':>6s} {'extraMB':>8s} {'stealms':>7s}")
        with threadpool_limits(limits=t):
            for index, make in enumerate(suite()):
                if args.half != "both" and half(index) != args.half:
                    continue
                case = make()
                if not wanted(case, args.filter, args.gemm_only):
                    continue
                r = run_case(case, args.repeats, numpy=not args.no_numpy)
                r["half"] = half(index)
                rows.append(r)
                gf = f"{r['gflops']:8.1f}" if r["gflops"] else f"{'-':>8s}"
                eff = f"{100 * r['gflops'] / rates[t]:6.0f}" if r["gemm"] else f"{'-':>6s}"
                print(f"{r['name'][:58]:58s} {r['half'][0].upper()} {fmt_t(r['median']['ours']):>11s} "
                      f"{fmt_t(r['min']['ours']):>10s} {fmt_t(r['median']['torch']):>11s} "
                      f"{fmt_t(r['median']['numpy']):>11s} {r['ratio_torch']:7.2f} {fmt_ratio(r['ratio_numpy'])} {gf} "
                      f"{eff} {r['extra_mb']:8.1f} {fmt_steal(r['steal_s'])}", flush=True)
        results[t] = rows
        for h in ("tune", "check"):
            hr = [r for r in rows if r["half"] == h]
            if hr:
                worst = max(hr, key=lambda r: r["ratio_torch"])
                stolen = [r["steal_s"] for r in hr if r["steal_s"] is not None]
                if stolen and sum(stolen) > 0:
                    marked = sum(1 for v in stolen if v >= 0.01)
                    print(f"# {t}T {h:5s}: the host stole {sum(stolen):.2f} s of CPU time during these rows' turns "
                          f"({marked} rows with 10 ms or more: their ratios are suspect)")
                print(f"# {t}T {h:5s}: {len(hr)} rows, geomean convlab/torch "
                      f"{geomean(r['ratio_torch'] for r in hr):.2f}, worst {worst['ratio_torch']:.2f} "
                      f"({worst['name']}); as ratios of medians: geomean "
                      f"{geomean(r['ratio_of_medians'] for r in hr):.2f}, worst "
                      f"{max(r['ratio_of_medians'] for r in hr):.2f}")
        if args.no_grad or args.gemm_only:
            continue
        print(f"{'weight gradient':58s} {'convlab med':>11s} {'torch med':>11s} {'/torch':>7s} {'extraMB':>8s} "
              f"{'in+gradMB':>9s} {'extra/(in+grad)':>15s}")
        for make in grad_suite():
            case = make()
            if not wanted(case, args.filter):
                continue
            r = run_grad_case(case, args.repeats)
            print(f"{r['name'][:58]:58s} {fmt_t(r['median']['ours']):>11s} {fmt_t(r['median']['torch']):>11s} "
                  f"{r['ratio_torch']:7.2f} {r['extra_mb']:8.1f} {r['inputs_mb']:9.1f} {r['extra_per_input']:15.3f}",
                  flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"sgemm": rates, "rows": {str(t): rows for t, rows in results.items()}}, fh, indent=1)
    print("geomean convlab/torch: " + " ".join(f"{t}T={geomean(r['ratio_torch'] for r in rows):.2f}"
                                              for t, rows in results.items() if rows))


if __name__ == "__main__":
    main()
