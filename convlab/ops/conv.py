"""Steps 1-4 fused: the forward kernels that the layers call.

``im2col`` + ``grouped_matmul`` (+ ``col2im``) is the data path written out
step by step, and what Unfold/Fold and the gradients use. The layers take the
same path with the steps fused per tile, so no whole-batch column matrix is
ever allocated (a call's extra memory is one small workspace per thread):

* ``ConvPlan``: padding applied by index while gathering, then GEMM, tile by tile (several
  small samples per GEMM, on x86-64-v4 for float32 layers of C_in/groups x taps <= 512 multiplied by
  cl_gemm_rows straight into each sample's output; tiles of a 1-d row's cells where samples x groups
  would leave threads idle; up to 16 output channels per group by cl_gemm_small instead of BLAS); 1-d/2-d/3-d
  layers with few output channels per group without im2col (``conv_rows``: padded input rows, phase planes
  when strided, each tap a run at a fixed offset); two depthwise kernels (padded plane; channels-last for tiny
  planes, strided layers and 5/7-wide kernel rows);
  a direct loop for tiny problems; a plain matmul for 1x1 stride-1 convs; Winograd F(2x2, 3x3)
  or F(4x4, 3x3) for 3x3 and 3x3x3 (one 3x3 per depth tap) stride-1 layers with enough channels and a large
  enough plane (2.25x / 4x fewer multiplications; calls whose weights or input hold inf/NaN take the GEMM path
  instead; on x86-64-v4 float32 layers of few channels x plane tiles go to conv_blocked or conv_rows instead);
  zero-padded 2-d/3-d layers whose kernel rows read only padding along the top and bottom rows (dilated 'same'
  layers: DeepLab's ASPP) as bands of output rows, each a plan with only the kernel rows that reach the input;
  on x86-64-v4 (AVX-512), float32 1-d/2-d/3-d layers with one group, zero padding and >= 16 channels whose output
  plane is small (<= 14x14: BLAS's GEMMs would be narrow), whose taps read padding often (>= 8%: dilated
  'same', 1x7 / 7x1) or whose columns would repeat each input cell 2.25 times or more (3x3 s2, 5x5, 3x3x3 off
  Winograd) by ``conv_blocked`` (a 3-d layer's planes stacked as one column of rows): input and weights copied
  to blocks of 16 channels, a register block of 32 output channels x up to 14 cells summed over every input
  channel and every tap that reads the input (weights holding inf/NaN take the other paths, which multiply them
  by the padding as torch does); on x86-64-v3 (AVX2) only its stride-1 layers with kernels 5+ cells wide (16
  channels x 6 cells there).
* ``TransposePlan`` (``conv_transpose_forward``): GEMM into a workspace, then col2im (never zero insertion);
  with stride == kernel the columns are stored, not added (no overlap: no clearing pass); tiny layers
  scatter directly. Threads split samples x groups, and each group's output channels too where there are
  fewer of those than threads (a single sample).

Which path runs is decided by the shapes (and the CPU's SIMD level) alone, never by the values (but for
the inf/NaN fallbacks above), and every path is tested against the reference loops and PyTorch.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import types

import numpy as np

from .. import _kernels
from .._config import get_num_threads
from ._blas import blas_index_max, blas_pinned_by_caller, single_threaded_blas
from ._volume import lift3

MODE_CODES = _kernels.padding_modes()        # the PaddingMode codes of _kernels.pxd


def _data_caches(level: int, root: str):
    """The ``root/index*`` folders of this CPU's level-``level`` data (or unified) caches, as Linux lists them
    (``level`` and ``type`` files); raises OSError or ValueError where they cannot be read."""
    for entry in sorted(os.listdir(root)):
        base = os.path.join(root, entry)
        with open(os.path.join(base, "level")) as f:
            if int(f.read()) != level:
                continue
        with open(os.path.join(base, "type")) as f:
            if f.read().strip() == "Instruction":
                continue
        yield base


def cache_bytes(level: int, default: int, root: str = "/sys/devices/system/cpu/cpu0/cache") -> int:
    """The size of this CPU's level-``level`` data (or unified) cache per core, as Linux reports it in
    ``root/index*/{level,type,size}`` ("512K", "1M"); ``default`` where that cannot be read."""
    try:
        for base in _data_caches(level, root):
            with open(os.path.join(base, "size")) as f:
                text = f.read().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
            value = int(text.rstrip("KMG")) * scale
            if value > 0:
                return value
    except (OSError, ValueError):
        pass
    return default


def cache_geometry(level: int, default: tuple, root: str = "/sys/devices/system/cpu/cpu0/cache") -> tuple:
    """(sets, ways, line bytes) of this CPU's level-``level`` data cache, as Linux reports them in
    ``root/index*/{number_of_sets,ways_of_associativity,coherency_line_size}``; ``default`` where they cannot
    be read."""
    try:
        for base in _data_caches(level, root):
            values = []
            for name in ("number_of_sets", "ways_of_associativity", "coherency_line_size"):
                with open(os.path.join(base, name)) as f:
                    values.append(int(f.read()))
            if min(values) > 0:
                return tuple(values)
    except (OSError, ValueError):
        pass
    return default


L1_SETS, L1_WAYS, LINE_BYTES = cache_geometry(1, (64, 8, 64))  # 32 KiB, 8 ways (Zen 2-5, Skylake); 48 KiB, 12
                                    # ways (Ice Lake on): 64 sets of 64-byte lines on all of them
_kernels.gemm_small_l1(L1_SETS * L1_WAYS * LINE_BYTES)  # cl_gemm_small's chunks of B only where A and a chunk
                                    # fit L1 together
L2_BYTES = cache_bytes(2, 512 * 1024)  # per core (Zen 3: 512 KiB; Zen 4: 1 MiB; Zen 5: 1 MiB; Skylake-SP: 1 MiB)
WORKSPACE_BYTES = max(64 * 1024, L2_BYTES // 2)  # per thread: a tile's columns (or padded plane) in half of L2,
                                    # the other half for the weights and the output rows being written
WORKSPACE_ALIGN = 64                # the workspace starts on a cache line: the kernels load 64-byte vectors from
                                    # it (conv_blocked's weights), and a vector across two lines is two loads
PARALLEL_MIN_MACS = 200_000         # below this, threads cost more than they save
DIRECT_MAX_MACS = 4096              # below this the direct loop is as fast as the GEMM path
TINY_MAX_MACS = 1024                # below this (and DIRECT_MAX_MACS) a call is mostly its entry: the direct loop
                                    # (its lean entry, DirectPlan, on repeated calls) takes depthwise layers too
MIN_TILE_COLUMNS = 128              # narrower GEMMs waste most of BLAS's speed
WIDE_TILE_COLUMNS = 256             # deep layers, whose rows that fit the workspace hold fewer than
                                    # MIN_TILE_COLUMNS columns, take tiles of at least this many: their columns
                                    # leave L2 either way, and BLAS packs the weights once per GEMM (AVX2
                                    # stand-in, 1 / 2 threads, bench/ab.py against 128: AlexNet 384 -> 256 on 13x13
                                    # 0.90 / 0.90, Inception 3x3 s2 0.92 / 0.92, VGG-16 512 0.94 / 0.98; no
                                    # AVX-512 suite row moved, where conv_blocked takes most such layers)
EVEN_TILES = True                   # a sample's rows in as many tiles, as even as they go (17 rows: 9 + 8, not
                                    # 16 + 1; R(2+1)D 3x1x1 on 224 rows, 5 tiles of 45 against 48 + ... + 32: 0.95)
BALANCE_MAX_TILES = 8               # ... and, with fewer tiles per thread than this, a count of tiles every
                                    # thread gets as many of (R(2+1)D's one sample, 6 tiles for 2 threads, not
                                    # 5: 0.84 at AVX-512 and at the AVX2 stand-in)
POINTWISE_IN_PLACE = True           # 1x1 stride-1 layers with a sample or more per thread: conv_gemm's tiles, read
                                    # in place, on our threads (not a matmul per sample on BLAS's threads)
BATCH_MAX_LENGTH = 128              # outputs of up to this many cells (narrower than MIN_TILE_COLUMNS): several
BATCH_COLUMNS = 512                 # samples share one GEMM, as many as fit this many columns (ResNet-50's 1x1
                                    # 2048 -> 512 on 7x7: 392 columns 0.90x the time of 196, BLAS packs its weights
                                    # once; 14x14 planes two at a time 1.03-1.11x their single GEMMs: bench/ab.py)
BATCH_ROWS = True                   # ... multiplied by cl_gemm_rows, which stores each sample's sums straight into
                                    # the output (no BLAS result block copied out; float32; bench/README.md)
BATCH_ROWS_LEVELS = ("x86-64-v4",)  # ... at these levels (its blocks of 8 rows: at blocks of 4 it reads the weights
                                    # twice as often)
BATCH_ROWS_MAX_DEPTH = 512          # ... for C_in/groups x taps up to this: a strip of its columns (depth x 3 vectors)
                                    # is read again by every block of 8 output channels, and deeper strips come from
                                    # L2 each time (ResNet-50's 1x1 2048 -> 512 on 7x7 ran 2.4x as long; BLAS blocks
                                    # the depth)
TRANSPOSE_BATCH_COLUMNS = 256       # ... the transposed GEMM's (the article's ConvT1d on 20 samples of 30 cells read
                                    # 1.04-1.08x with 512; no transposed layer was faster)
DEPTHWISE_CL_MAX_PLANE = 100        # depthwise on input planes up to this many cells: channels-last kernel
DEPTHWISE_CL_MAX_TAPS = 64          # (it keeps one pointer per tap on its stack)
DEPTHWISE_CL_MIN_CHANNELS = 16      # fewer channels than this fill too few vector lanes
DEPTHWISE_CL_CHANNELS = 64          # channels per task: 8 AVX vectors of float32 (fewer on large planes, see
                                    # _cl_channels)
DEPTHWISE_CL_MIN_TASK_CHANNELS = 32 # ... but not fewer: 4 vectors of float32, cl_dwdot's 4 independent sums
DEPTHWISE_CL_STRIDED = True         # strided depthwise layers take the channels-last kernel on any plane
DEPTHWISE_CL_ROWS_MIN_KW = 3        # stride-1 layers with kernel rows this wide or wider that the channels-last
                                    # kernel computes a row at a time (depthwise_cl_by_rows), 2-d and 3-d, take it
                                    # on any plane (3x3 on (8,144,56,56): 2.6 vs 3.3 ms; on (8,384,14,14): 0.30
                                    # vs 0.60; the padded plane was 1.27-1.44x torch on 14x14 to 28x28 planes) ...
DEPTHWISE_CL_CROWDED_MAX_KW = 3     # ... except rows this narrow (or narrower) when a task's channel rows crowd
                                    # the L1 sets (_cl_crowded: 32x32 float32 planes, 4 KiB apart, 0.47 vs 0.34 ms)
DEPTHWISE_CL_ROWS_MIN_TASK_CHANNELS = 16  # ... with fewer channels per task on large planes than a dot product
                                    # per position needs (each vector of channels keeps its own 7 sums)
DEPTHWISE_MAX_WORKSPACE_RATIO = 4   # conv_depthwise's padded plane at most this many times input + output plane
DEPTHWISE_MAX_MULTIPLIER = 1        # layers of one input channel per group and C_out = m x C_in (m the channel
                                    # multiplier) take conv_depthwise up to this m; above it conv_rows (which reads
                                    # each input row once for all m outputs) or the GEMM. Paired (bench/ab.py PROBE,
                                    # 2026-12-07; AVX-512, float32, 1 / 2 threads): a grayscale image's 3x3 1 -> 8,
                                    # 16, 32 0.43-0.47x / 0.41-0.44x the time, MNIST's Conv2d(1, 32, 3) 0.65x / 0.51x,
                                    # LeNet's 5x5 1 -> 6 0.67x / 0.68x, 3x3 depthwise x2 / x4 0.80x and 0.52x, x2 s2
                                    # 0.30x, raw audio Conv1d(1, 4, 80, s4) 0.08x (it ran 3.7x torch); float64 (GEMM
                                    # or conv_rows) 0.41-0.94x; the AVX2 stand-in 0.13-0.96x, but depthwise x2 at
                                    # stride 1 (3x3 1.02x, a 1-d k5 1.24x: 0.19 and 0.26 of torch's time)
WINOGRAD = True                     # 3x3 stride-1 layers by Winograd (see conv_winograd)
ROWS_KERNEL = True                  # layers with few output channels per group: conv_rows (no im2col)
ROWS_3D = True                      # ... 3-d layers too (a task's slab holds its kd input planes' rows): paired
                                    # against the GEMM path (AVX-512, 1 / 2 threads), ResNeXt-3D's g32 3x3x3 layers
                                    # 0.36-0.53x / 0.31-0.61x the time, a g8 3x3x3 0.44x / 0.43x, a 3-d U-Net's 1 ->
                                    # 32 and 1x1x1 head 32 -> 3 0.47x and 0.96x / 0.53x and 0.41x (bench/README.md)
ROWS_PLANE_RING = True              # ... a task's rows in consecutive output planes, one input plane copied a channel
ROWS_RING_TASKS_PER_THREAD = 4      # for each after the first (depth stride and dilation 1), planes enough to leave
                                    # this many tasks a thread. The copy was 19% of ResNeXt-3D's g32 512 -> 512 time
                                    # and 35% of its 128 -> 128 (perf, 1 thread); paired, AVX-512, 1 / 2 threads:
                                    # the stride-1 3x3x3 probe rows 0.82-0.95x / 0.84-0.96x the time (stand-in:
                                    # 0.93-0.98x / 0.92-0.99x)
ROWS_3D_BLOCKED_FIRST_LEVELS = ("x86-64-v3",)  # ... except at these levels for strided 3-d layers conv_blocked takes
                                    # (BLOCKED_3D_STRIDED_LEVELS): a 3x3x3 s2 16 -> 16 ran on conv_rows 1.39x / 1.05x
                                    # the time at the AVX2 stand-in, 0.87x / 0.67x at AVX-512
ROWS_MAX_CHANNELS = 16              # ... up to this many output channels per group
ROWS_MAX_CHANNELS_WIDE = 64         # ... or this many on an AVX-512 CPU, where im2col would copy each input cell
                                    # K / stride-product times and BLAS pack the copies again, while conv_rows copies
                                    # each once and multiplies in place (4 x 48 sums in 12 zmm). Stride 1 first: tune
                                    # row (paired, Zen 4, 1 thread) VGG 3x3 3->64 0.93; check rows CycleGAN 7x7 3->64
                                    # 0.89, TCN 64->64 d4 0.96, WaveNet 32->32 1.03. Strided since cl_gemm_rows' last
                                    # columns are a vector (they were summed cell by cell): ResNet's 7x7 s2 stem 0.91 /
                                    # 0.90 (1 / 2 threads), PROBE's stems and first layers 0.65-0.98 / 0.53-0.99
                                    # (bench/README.md); 16-channel strided layers, which conv_blocked also takes,
                                    # ran on it 0.88-0.98x conv_rows' time at 1 thread, 1.03-1.75x at 2: conv_rows
                                    # keeps them. At x86-64-v3 (12 ymm sums of 4 x 24) the stride-1 rows ran
                                    # 1.08-1.29x the GEMM path's time under the AVX2 stand-in, so:
ROWS_WIDE_LEVELS = ("x86-64-v4",)
ROWS_WIDE_MIN_DEPTH = 1             # ... float32 layers of C_in/groups x taps from this: 16 until 2026-12-07, when
                                    # depth 9 (3x3 on one input channel: 1 -> 32 / 64 channels, MNIST, spectrograms,
                                    # both strides) ran 0.57-0.75x / 0.46-0.70x the GEMM's time on conv_rows (1 / 2
                                    # threads, paired), depth 3 and 6 (Conv1d(1, 64, 3), Conv1d(2, 32, 3)) 0.53-0.56x
                                    # / 0.56-0.57x (bench/README.md)
ROWS_WIDE_MIN_CELLS = 48            # ... with output planes of at least one 48-column strip: the article's
                                    # Conv1d(16, 33, 3, s2) (24 cells a sample) ran 1.36x the GEMM path's time
ROWS_WIDE_MAX_DEPTH = 192           # ... and C_in/groups x taps <= 192 (the deepest row measured), whose 48-column
                                    # strip of runs (depth x 48 floats, 36 KiB at 192) stays near L1; cl_gemm_rows
                                    # re-reads it for every 4 output channels
SMALL_GEMM_MAX_ROWS = 16            # output channels per group up to this: conv_gemm's GEMMs by cl_gemm_small, which
                                    # reads the gathered tile in place; BLAS packs it first, which pays from ~24-32
                                    # rows (bench/thresholds.py measures the crossover on an L2-sized tile)
WINOGRAD_DEPTH_TAPS = (1, 3)        # kernel depths taken: (1, 3, 3) (and 2-d 3x3) and 3x3x3 layers
WINOGRAD_MIN_CHANNELS = 16          # C_in and C_out: narrower GEMMs lose what the transforms save
WINOGRAD_MIN_PLANE = 196            # output cells per plane (14x14): smaller planes waste their edge tiles
WINOGRAD_MIN_THREAD_CELLS = 2.5     # ... and the call's output cells (samples x depth x plane) at least this many per
                                    # thread and per channel (of the wider side): fewer tiles make GEMMs too narrow
                                    # for the transforms to pay. One sample of ResNet's 256 -> 256 on 14x14 (196
                                    # cells) ran 1.52x the blocked kernel's time at 1 thread; 128 -> 128 on one 28x28
                                    # sample (392 cells per thread at 2 threads) still 0.90x (bench/README.md,
                                    # "One sample per call")
WINOGRAD4_MIN_PLANE = 784           # ... F(4x4, 3x3) on planes of 28x28 and more (4x fewer multiplications)
WINOGRAD4_FLOAT32 = False           # ... in float32 too: ResNet's 3x3 64->64 layer runs 1.7x faster than with
                                    # F(2x2), but F(4x4)'s constants (1/6, 1/24, 8) make its rounding error
                                    # ~20x the exact sum's (measured 9e-6 vs 4e-7 of the largest output);
                                    # F(2x2)'s transforms are exact in binary. float64 takes F(4x4) freely.
WINOGRAD_YIELD_LEVELS = ("x86-64-v4",)  # at these levels float32 F(2x2) yields to conv_blocked or conv_rows (where
                                    # the planner would take one of them without Winograd) ...
WINOGRAD_YIELD_MAX_WORK = 1 << 20   # ... on layers whose kd x C_in x C_out x (2x2 tiles of an output plane) is below
                                    # this (narrow channels, small planes: the transforms cost a share ~1/C and the
                                    # GEMMs of an element are narrow, while the blocked kernel keeps 28 sums in zmm
                                    # registers) ...
WINOGRAD_YIELD_MAX_PAIR_WASTE = 0.125  # ... and, for conv_blocked, whose output channels fill its pairs of
                                    # 16-channel blocks but for this share (48 channels: a third more work, and
                                    # Winograd ran 0.94x its time). Paired on Sapphire Rapids, 1 thread, the time
                                    # without Winograd / with: tune rows R(2+1)D 1x3x3 64->64 on 28x28 (803 Ki) 0.89,
                                    # 3-d U-Net 3x3x3 32->32 on 32^3 (786 Ki) 1.04, ResNet-18 256->256 on 14x14 (3.1
                                    # Mi, kept) 1.12; probe layers 32->32 on 16x16 / 28x28 0.74 / 0.64, 128->128 on
                                    # 14x14 0.77, 96->96 on 14x14 0.88, 64->64 on 28x28 0.92, 3x3x3 32->32 on
                                    # 16x28x28 0.69, CIFAR's 16->16 on 32x32 (conv_rows) 0.86; kept: 64->128 on 28x28
                                    # (1.5 Mi) 1.12, 128->128 on 28x28 1.05-1.11 (bench/README.md)
WINOGRAD_TASK_BYTES = 1 << 20       # transformed inputs + products per task: about one L2
WINOGRAD_MIN_GEMM_TILES = 48        # ... but where that budget holds fewer tiles than this (wide channels: 256 -> 256
                                    # holds 32 in float32), a task goes beyond L2 (to the next line's): BLAS's rate
                                    # falls on GEMMs this narrow (256x256 weights: 60-76 GFLOP/s at 26-48 columns,
                                    # 87 at 64, Zen 4, 1 thread) and 2-d 256- and 192-channel layers ran 0.82-0.86x
                                    # the time with it (paired bursts); 3-d 64 -> 128, whose budget holds 51, lost
                                    # 9-21% when forced to 64 or more, so the budget stays where it holds this many
WINOGRAD_WIDE_GEMM_TILES = 96       # ... this many where U (all planes) is larger than L2: each task reads it from
                                    # beyond L2 and each GEMM packs its plane afresh (256 -> 256: 16 planes of 256
                                    # KiB; OpenBLAS's copy took 14% of the layer at 48 tiles, perf). Swept on
                                    # ResNet-18's 256 -> 256 on 14x14 (tune half), paired against 48: 96 tiles 0.89
                                    # (1T) / 0.86 (2T), 144 0.89 / 0.85, 256 0.93 (1T). Where U fits L2 (float64
                                    # 64 -> 64 by F(4x4): 1.2 MB) 96 tiles took 1.11x the time (bench/README.md)
WINOGRAD_BALANCED_TASKS = True      # with threads, tasks of up to a quarter fewer tile rows where that leaves the
                                    # busiest thread fewer (_balanced_task_rows) ...
WINOGRAD_BALANCE_MIN_GAIN = 0.1     # ... by at least this share of its rows
WINOGRAD_MIN_TASK_TILES = 24        # F(4x4) only where the budget holds this many of its tiles (F(2x2) else)
WINOGRAD_MAX_TASK_BYTES = 8 << 20   # ... and Winograd only where a task of WINOGRAD_WIDE_GEMM_TILES tiles needs at
                                    # most this much per thread: 2-d 512 -> 512 and 3-d 3x3x3 256 -> 256 in float32
                                    # (6.3 MB), not 3-d 512 -> 512 (12.6). Until 2026-12-06 the budget had to hold 24
                                    # F(2x2) tiles (GEMMs that narrow lost to im2col on 512 channels); in tasks of 96
                                    # tiles VGG-16's 512 -> 512 on 28x28 took 0.81-0.88x conv_blocked's time, C3D's
                                    # 3x3x3 256 -> 256 0.59-0.67x the GEMM path's (bench/README.md)
BLOCKED = True                      # zero-padded float32 1-d/2-d/3-d layers (groups 1; AVX-512, AVX2 below):
                                    # conv_blocked, a direct kernel on blocks of 16 channels that skips the padding
                                    # taps (see _blocked_runner); it beats im2col + BLAS and Winograd F(2x2) where
                                    # BLAS's GEMMs are narrow (small planes), padding is a large share (dilated
                                    # 'same') or the columns repeat each input cell many times (large kernels)
BLOCKED_MIN_CHANNELS = 16           # C_in and C_out: fewer leave most of a 16-channel block zero
BLOCKED_MAX_CHANNEL_WASTE = 0.125   # ... and channels rounded up to blocks of 16 may add at most this share
BLOCKED_MAX_PLANE = 196             # ... taken for output planes up to this many cells (14x14)
BLOCKED_MIN_PADDING = 0.08          # ... or where at least this share of the (output cell, tap) pairs read padding
BLOCKED_MIN_EXPANSION = 2.25        # ... or where im2col's columns would hold taps / (stride product) >= this many
                                    # copies of each input cell (3x3 s2 and up: 5x5, 7x7, 1x7, 3x3 dilated, 4x4 s2,
                                    # 1-d k3; the columns cost more to write and pack than the kernel's broadcasts;
                                    # at 2 and 1.5, 1-d k2 and k3 s2, the GEMM was faster; see bench/README.md),
                                    # unless conv_rows takes the layer
BLOCKED_INPUT_BYTES = min(4 << 20, L2_BYTES // 2)  # its copy of the input in blocks of 16 channels holds at
                                    # most this many bytes (or one sample): larger batches run in chunks of
                                    # samples, so the workspace stays this size, not the input's; every pair's task
                                    # reads the whole chunk, from L2 where it fits in half of it (2 MiB L2: 1 MiB
                                    # against 4 MiB ran ResNet-18's 3x3 s2 64 -> 128 in 0.92x the time, 128 -> 256
                                    # 0.94x, Inception's 3x3 s2 0.96x, AlexNet's 13x13 1.02x; paired, 1 thread)
BLOCKED_MAX_SAMPLE_BYTES = 64 << 20  # ... and taken only where one sample's blocked copy (C_in rounded up to 16,
                                    # zero columns aside) is at most this: a call holds one sample at the least, so
                                    # larger ones (3-d volumes: (1, 32, 128, 128, 128) is 256 MiB) take the GEMM
                                    # path's L2-sized tiles and a call's extra memory stays bounded
BLOCKED_CHUNKS_FIRST = True         # with threads, conv_blocked's tasks numbered chunk by chunk (each thread runs
                                    # every pair on its share of a call's input) instead of pair by pair (each runs
                                    # its pairs on all of it), where the weights are at most
BLOCKED_CHUNKS_FIRST_MAX_WEIGHTS = 2.0  # ... this many times the call's blocked input and the threads stay as
                                    # even: each thread keeps its share of the input in its own L2 (2 threads,
                                    # paired: ResNet-18's 3x3 s2 64 -> 128 and 128 -> 256 0.93x and 0.91x the time,
                                    # Inception's 1x7 0.93x, a 3x3 s2 32 -> 64 on 208x208 0.78x). Split chunk by
                                    # chunk regardless, the tune rows with weights 0.6-1.6x the input ran in
                                    # 0.93-1.01x the time, those with 5.5x and 9.1x (VGG's and ResNet-18's
                                    # 512 -> 512) in 1.01x and 1.03x: the limit lies between (bench/README.md)
TRANSPOSE_BLOCKED_INPUT_BYTES = 4 << 20  # ... and conv_transpose_blocked's (its tasks deal their weights per call)
TRANSPOSE_BLOCKED_CHUNKS_FIRST = True  # ... and its tasks as conv_blocked's (BLOCKED_CHUNKS_FIRST)
BLOCKED_3D = True                   # ... 3-d layers too, by the same rule: the planes stacked as one column of
                                    # rows, a run sums the kernel planes that reach the input as it sums the kernel
                                    # rows (AVX-512, paired against the GEMM path: C3D's 3x3x3 512 -> 512 on 4x14x14
                                    # 0.63x / 0.64x the time at 1 / 2 threads, R3D-18's 3x3x3 s2 64 -> 128 0.64x /
                                    # 0.73x, R(2+1)D's 3x1x1 0.76x; bench/README.md)
BLOCKED_LEVELS = ("x86-64-v4",)     # SIMD levels it is planned at by the rule above (its 8-wide copies, 16
                                    # channels x 6 cells in 12 ymm sums, are tested at every level)
BLOCKED_WIDE_KERNEL_LEVELS = ("x86-64-v3",)  # ... and levels where it takes only those of the rule's layers with
BLOCKED_WIDE_KERNEL_MIN_SIZE = 5    # stride 1 and kernels this many cells wide or more along an axis (5x5, 7x7,
                                    # 1x7, 1-d k5+). Under an AVX2 stand-in (x86-64-v3, OpenBLAS's and oneDNN's
                                    # AVX2 kernels on Zen 4; paired, layers outside the bench) these ran in
                                    # 0.75-1.00x the GEMM path's time at 1 thread, 0.76-1.03x at 2; 4x4 / 5x5 at
                                    # stride 2 in 0.89-1.05x at 1 thread but 1.07-1.12x at 2; 3x3 layers in
                                    # 0.78-1.12x at 1 (bench/README.md)
BLOCKED_3D_STRIDED_LEVELS = ("x86-64-v3",)  # ... and levels where it takes the rule's strided 3-d layers (AVX2
                                    # stand-in, paired against the GEMM path at 1 / 2 threads: R3D-18's 3x3x3 s2
                                    # 64 -> 128 0.82x / 0.91x the time, 128 -> 256 0.88x / 0.94x, a 3-d U-Net's s2
                                    # 32 -> 64 0.84x / 0.83x; C3D's stride-1 512 -> 512 1.11x / 1.21x: kept off)
COLUMN_TILES = True                 # outputs of one row per sample (1-d layers) on the GEMM path, with fewer
                                    # samples x groups than threads (one sample of audio ran on one thread): the
                                    # row in one tile of its cells per thread. Only there: L2-sized tiles of the
                                    # row (as tiles of rows are sized) ran M5, wav2vec 2.0's 512 -> 512 and f64 M5
                                    # 0.89-0.94x as fast at the bench's batches (Zen 4, 1 and 2 threads)
TRANSPOSE_PHASES = True             # float32 transposed layers (groups 1, 1-d/2-d, dilation 1, kernel >= stride and
                                    # longer on an axis) at BLOCKED_LEVELS, channels as conv_blocked takes them: by
                                    # output phases on its micro-kernel (conv_transpose_blocked), where GEMM + col2im
                                    # wrote a column of og x taps rows per input cell and scattered it
TRANSPOSE_PHASES_MIN_CELLS = 256    # ... with at least this many input cells (samples x plane): each call deals the
                                    # weights to the phases (~1 ns a weight), which each input cell then uses once
                                    # per output phase it reaches. pix2pix's 1024 -> 512 on one 8x8 sample (64 cells)
                                    # ran 1.26x the GEMM path's time, MelGAN's 512 -> 256 k16 s8 on 4 x 32 (128) 1.04x,
                                    # DCGAN's 512 -> 256 on 16 x 4x4 (256) 0.85x (paired, 1 thread, bench/README.md)
TRANSPOSE_CHANNEL_CHUNKS = True     # transposed layers with fewer samples x groups than threads (one sample): the
                                    # GEMM + col2im path splits each group's output channels among the threads
                                    # (it ran one thread per sample x group)
WGRAD_DIRECT = True                 # float32 weight gradients with stride 1 along rows, on an AVX-512 CPU:
                                    # conv_wgrad_direct (no columns, no BLAS) instead of im2col + GEMM,
WGRAD_DIRECT_MAX_NARROW = 32        # ... where the GEMM would be narrow: C_out/groups or C_in/groups * taps at most
                                    # this (OpenBLAS at N = 16: 36-54 GFLOP/s of its ~100; bench/README.md)
WGRAD_DIRECT_MIN_LANE_USE = 0.75    # ... and the output rows fill this share of their 16-lane chunks
WGRAD_DIRECT_LEVELS = ("x86-64-v4",)    # (the kernel exists there only: masked AVX-512 loads)
WGRAD_CHANNEL_SPLIT = True          # weight gradients through conv_weight_gemm on several threads: tasks of a group
WGRAD_SPLIT_MIN_BYTES = L2_BYTES // 4   # (groups a multiple of the threads) or of a share of a group's input
                                    # channels (a group's gradient this big or more) over every sample, owning their
                                    # rows of one gradient, where each thread took a share of the samples into its
                                    # own copy of the whole gradient, summed after. 2 threads, Zen 4, paired:
                                    # ResNet-18's 512 -> 512 on 7x7 0.86x the time, 256 -> 256 on 14x14 0.92x,
                                    # 128 -> 128 on 28x28 (590 KB) 0.94x, g32 0.93x; a 147 KB gradient 1.00x, a
                                    # 74 KB one 1.06x, 37 KB 1.11x (each thread then packs every sample's grad_output)
ROW_BANDS = True                    # zero-padded layers whose kernel rows near the top and bottom read only padding
ROW_BANDS_MIN_SAVING = 0.08         # (dilated 'same' layers: DeepLab's ASPP) as bands of output rows, each with only
                                    # the kernel rows that reach the input, when that skips at least this share of
                                    # the multiply-adds and every band is MIN_TILE_COLUMNS outputs wide or more.
                                    # ASPP 3x3 d6 on 33x33 (12% skipped) ran 0.94-0.97x the time, d12 (24%) 0.85x
                                    # (Zen 4, 1 thread, paired bursts): the bands' input and weight copies cost a
                                    # few %. The width is per sample: Inception's 7x1 on 17x17 (10% skipped) in
                                    # bands of one row of all 8 samples (136 columns) ran 1.14x the time


_THRESHOLDS = frozenset(name for name, value in globals().items()
                        if name.isupper() and type(value) in (int, float, bool, tuple))
_settings_version = 0               # bumped by every assignment to a threshold above (see _Settings)


class _Settings(types.ModuleType):
    """This module's type: assigning one of the thresholds (as the tests do, through ``monkeypatch.setattr``)
    bumps ``_settings_version``, so ``planner_settings()`` stays a cheap key of the plan caches."""

    def __setattr__(self, name, value):
        if name in _THRESHOLDS:
            super().__setattr__("_settings_version", self._settings_version + 1)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Settings


def planner_settings() -> tuple:
    """``(version of the thresholds above, kernel thread count)``: a cached plan is valid while it is unchanged
    (``convlab.nn.functional`` keys its plan cache on it; tests set the thresholds to force every path, and
    each assignment makes a new version)."""
    return _settings_version, get_num_threads()


_local = threading.local()


def workspace(shape, dtype) -> np.ndarray:
    """Scratch space for one kernel call: a per-thread buffer reused across calls, grown when a call
    needs more (so a call allocates nothing after the first; the buffer's size is the largest
    workspace a call has needed, see ``workspace_bytes``). Python threads get separate buffers."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    buf = getattr(_local, "buffer", None)
    if buf is None or buf.nbytes < nbytes:
        buf = _aligned_bytes(max(nbytes, 64))
        _local.buffer = buf
    return buf[:nbytes].view(dtype).reshape(shape)


def _aligned_bytes(nbytes: int) -> np.ndarray:
    """``nbytes`` uninitialised bytes starting on a WORKSPACE_ALIGN boundary (NumPy aligns to 16 bytes only)."""
    raw = np.empty(nbytes + WORKSPACE_ALIGN, dtype=np.uint8)
    skip = -raw.__array_interface__["data"][0] % WORKSPACE_ALIGN
    return raw[skip:skip + nbytes]


def workspace_getter(shape, dtype):
    """``get()`` -> ``workspace(shape, dtype)``, with the view of this thread's buffer kept between
    calls (a plan's repeated calls skip the slicing and reshaping)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    last = [(None, None)]           # (buffer, view of it): read and replaced whole, so threads can share it

    def get():
        buf, view = last[0]
        if buf is not None and buf is getattr(_local, "buffer", None):
            return view
        view = workspace(shape, dtype)
        last[0] = (_local.buffer, view)
        return view
    return get


def workspace_bytes() -> int:
    """Bytes held by this thread's workspace buffer (0 before the first kernel call or after release)."""
    buf = getattr(_local, "buffer", None)
    return 0 if buf is None else buf.nbytes


def release_workspace() -> None:
    """Free this thread's workspace buffer (the next kernel call allocates it again)."""
    _local.buffer = None


def _threads(macs: int) -> int:
    return 1 if macs < PARALLEL_MIN_MACS else get_num_threads()


def _cl_channels(cells: int, itemsize: int, by_rows: bool = False) -> int:
    """Channels per conv_depthwise_cl task: DEPTHWISE_CL_CHANNELS, or fewer (a multiple of 8, at least
    DEPTHWISE_CL_MIN_TASK_CHANNELS, or DEPTHWISE_CL_ROWS_MIN_TASK_CHANNELS for a layer the kernel computes
    by rows) so that a task's ``cells`` (input plane, its padded extent, output plane) x channels stay
    within WORKSPACE_BYTES."""
    fit = WORKSPACE_BYTES // max(cells * itemsize, 1) // 8 * 8
    least = DEPTHWISE_CL_ROWS_MIN_TASK_CHANNELS if by_rows else DEPTHWISE_CL_MIN_TASK_CHANNELS
    return max(min(DEPTHWISE_CL_CHANNELS, fit), least)


def _cl_crowded(plane_bytes: int, channels: int) -> bool:
    """True if the rows of ``channels`` channel planes ``plane_bytes`` apart fall in so few L1 sets that more
    of them share a set than it has ways. conv_depthwise_cl's transposes read a row of every channel of a task
    into the padded extent and write every channel's output row back: with planes a multiple of 4 KiB apart
    (32x32 float32) all of them land in one set and evict each other's half-written lines (the output
    transpose alone took 5x as long as for 28x28 planes in a C copy of the data movement), and the few
    multiply-adds of a 3-wide row do not pay for that."""
    if plane_bytes % LINE_BYTES:
        return False                    # rows spread over the sets
    sets = L1_SETS // math.gcd(plane_bytes // LINE_BYTES, L1_SETS)
    return channels > sets * L1_WAYS


def _samples_per_gemm(n: int, groups: int, length: int, threads: int, columns: int | None = None) -> int:
    """Samples whose columns go side by side into one GEMM: 1 unless an output has at most BATCH_MAX_LENGTH
    cells, then as many as fit ``columns`` (default BATCH_COLUMNS); never so many that some thread gets no
    task."""
    if n <= 1 or length > BATCH_MAX_LENGTH:
        return 1
    columns = BATCH_COLUMNS if columns is None else columns
    s = min(n, max(1, columns // max(length, 1)))
    if threads > 1:
        s = min(s, max(1, n * groups // threads))
        # as many GEMM blocks per thread: 20 samples in blocks of 8 are 3 tasks for 2 threads (one waits
        # out the other's second block); blocks of 5 are 4 tasks, 2 each
        blocks = -(-n // s)
        while (blocks * groups) % threads and blocks < n:
            blocks += 1
        s = -(-n // blocks)
    return s


def _rows_per_tile(row_bytes: int, rows: int, tasks: int, threads: int, row_len: int = 1) -> int:
    """Output rows per tile (``rows`` per sample, ``row_len`` columns each, ``row_bytes`` of columns each, over
    ``tasks`` samples x groups): fill the workspace; where that leaves a GEMM under MIN_TILE_COLUMNS wide (deep
    layers), take WIDE_TILE_COLUMNS instead; leave at least two tiles per thread when there are enough rows.
    With EVEN_TILES the sample's rows then go in as many tiles, as even as they go (17 rows in tiles of at most
    16: 9 + 8, not 16 + 1), and with fewer than BALANCE_MAX_TILES tiles per thread, in a count of tiles that
    gives every thread as many (224 rows in 5 tiles for 2 threads: one thread waits out the other's third)."""
    row_len = max(row_len, 1)
    per = max(1, WORKSPACE_BYTES // max(row_bytes, 1))
    if per * row_len < MIN_TILE_COLUMNS:
        per = -(-WIDE_TILE_COLUMNS // row_len)
    if threads > 1 and tasks * -(-rows // per) < 2 * threads:
        per = max(1, -(-rows * tasks // (2 * threads)))
    per = min(per, max(rows, 1))
    if EVEN_TILES and rows > 0:
        tiles = -(-rows // per)
        per = -(-rows // tiles)
        if threads > 1 and tasks * tiles < BALANCE_MAX_TILES * threads:
            while per > 1 and (tasks * -(-rows // per)) % threads:
                tiles += 1
                per = -(-rows // tiles)
    return per


def _padding_share(size, blocks, kernel, stride, padding, dilation):
    """The share of (output cell, kernel tap) pairs that read padding: 1 - the product over axes of the pairs
    inside the input over all pairs (``padding`` on the low side; taps past the high side read padding too)."""
    inside = 1.0
    for n, o, k, s, p, d in zip(size, blocks, kernel, stride, padding, dilation):
        hits = 0
        for t in range(k):                  # outputs y with 0 <= y * s + t * d - p < n
            lo = max(0, -(-(p - t * d) // s))
            hi = min(o, (n - 1 + p - t * d) // s + 1) if n - 1 + p - t * d >= 0 else 0
            hits += max(0, hi - lo)
        inside *= hits / max(1, o * k)
    return 1.0 - inside


def _row_bands(x_shape, kernel, stride, padding, dilation, blocks):
    """Output rows (the second-to-last spatial axis of a 2-d or 3-d layer) grouped by the kernel rows that reach
    the input: ``[(y0, y1, a0, a1), ...]`` where output rows y0 <= y < y1 read input rows through kernel rows
    a0 <= a < a1 only (the others read the zero padding; (0, 0) where none reaches it), or None when that
    skips less than ROW_BANDS_MIN_SAVING of the multiply-adds or a band would be narrower than
    MIN_TILE_COLUMNS outputs."""
    if len(kernel) < 2:
        return None
    h = len(kernel) - 2
    size, kh, s, p, d, ho = x_shape[2 + h], kernel[h], stride[h], padding[h], dilation[h], blocks[h]
    if kh < 2 or p <= 0 or ho <= 1:
        return None
    bands, taps = [], 0
    for y in range(ho):
        first = y * s - p                                   # the input row kernel row 0 reads
        a0 = min(kh, max(0, -(first // d)))                 # ceil(-first / d): the first row inside
        a1 = min(kh, (size - 1 - first) // d + 1) if first <= size - 1 else 0
        if a1 <= a0:
            a0 = a1 = 0                                     # no kernel row reaches the input: the bias
        taps += a1 - a0
        if bands and tuple(bands[-1][2:]) == (a0, a1):
            bands[-1][1] = y + 1
        else:
            bands.append([y, y + 1, a0, a1])
    if 1 - taps / (ho * kh) < ROW_BANDS_MIN_SAVING or len(bands) < 2:
        return None
    row = math.prod(blocks) // ho                            # outputs per output row
    if any((y1 - y0) * row < MIN_TILE_COLUMNS for y0, y1, _, _ in bands):
        return None
    return [tuple(band) for band in bands]


def _banded_runner(x_shape, w_shape, dtype, kernel, stride, padding, dilation, blocks, groups, bands, fallback):
    """``run(x, w, b)`` as one plan per band of ``_row_bands``: band (y0, y1, a0, a1) convolves the input rows
    its outputs read through kernel rows a0..a1-1 (no padding on that axis) with those kernel rows; a band
    that reaches no input row is the bias. Weights holding an inf or NaN go to ``fallback`` (the plan without
    bands), where the skipped products with the zero padding put NaN as torch's sum does."""
    n, c_out = x_shape[0], w_shape[0]
    h = len(kernel) - 2
    axis = 2 + h
    out_shape = (n, c_out) + tuple(blocks)

    def at_h(v, value):                                     # v with its row-axis entry replaced
        return tuple(v[:h]) + (value,) + tuple(v[h + 1:])

    parts = []                                              # (output region, its shape, plan, input rows, taps)
    for y0, y1, a0, a1 in bands:
        where = (slice(None),) * axis + (slice(y0, y1),)
        shape = (n, c_out) + at_h(blocks, y1 - y0)
        if a1 == a0:
            parts.append((where, shape, None, None, None))
            continue
        r0 = y0 * stride[h] - padding[h] + a0 * dilation[h]
        r1 = r0 + (y1 - 1 - y0) * stride[h] + (a1 - 1 - a0) * dilation[h] + 1
        kernel_h = at_h(kernel, a1 - a0)
        plan = ConvPlan(x_shape[:2] + at_h(x_shape[2:], r1 - r0), w_shape[:2] + kernel_h, dtype, kernel_h, stride,
                        at_h(padding, 0), dilation, shape[2:], groups, "zeros", row_bands=False)
        rows = (slice(None),) * axis + (slice(r0, r1),)
        taps = (slice(None),) * axis + (slice(a0, a1),)
        parts.append((where, shape, plan.run, rows, taps))

    def run(x, w, b):
        w = np.asarray(w)
        if not np.isfinite(w).all():
            return fallback(x, w, b)
        x = np.asarray(x)
        out = np.empty(out_shape, dtype=dtype)
        for where, shape, part, rows, taps in parts:
            if part is None:
                out[where] = 0 if b is None else np.asarray(b, dtype=dtype).reshape((c_out,) + (1,) * len(blocks))
            else:
                out[where] = part(x[rows], w[taps], b).reshape(shape)
        return out.reshape(n, c_out, -1)
    run.bands = bands
    return run


class ConvPlan:
    """Everything about one forward convolution that depends on shapes only, computed once.

    ``ConvPlan(...)(x, w, b)`` returns ``(N, C_out, prod(blocks))``; ``b`` is the bias or None. Modules keep
    their plans per input shape, so a repeated call skips the planning (a module's ``_plans``, and the functional
    cache of ``convlab.nn.functional``). ``row_bands=False`` keeps the plan whole (the bands' own plans, and the
    plan a banded one falls back to on non-finite weights).
    """

    __slots__ = ("run", "out_shape", "_direct")

    def __init__(self, x_shape, w_shape, dtype, kernel, stride, padding, dilation, blocks, groups, mode="zeros",
                 row_bands=True, blocked=True):
        n, c_in = x_shape[:2]
        c_out, cg = w_shape[:2]
        dtype = np.dtype(dtype)
        k = math.prod(kernel)
        length = math.prod(blocks)
        macs = n * c_out * length * cg * k
        self.out_shape = (n, c_out, length)
        self._direct = None
        x5_shape = (n, c_in) + lift3(x_shape[2:], 1)
        args = (lift3(kernel, 1), lift3(stride, 1), lift3(padding, 0), lift3(dilation, 1), lift3(blocks, 1), groups)
        args5 = args[:5]
        kernel3, stride3, padding3, dilation3, blocks3 = args[:5]
        threads = _threads(macs)
        spec = "float" if dtype == np.float32 else "double"
        out_shape = self.out_shape
        plane = math.prod(x_shape[2:])
        # conv_depthwise pads a whole plane per thread: with a huge stride or padding (a few outputs far
        # apart) that plane dwarfs input and output (stride 2**40 asked for 8 TiB), so the GEMM path
        # (padding applied by index) takes those layers instead
        # (a channel multiplier above DEPTHWISE_MAX_MULTIPLIER -- one input channel feeding several outputs: a
        # grayscale image's first layer, a raw-audio front-end -- goes to conv_rows or the GEMM)
        depthwise_ok = cg == 1 and _kernels.depthwise_workspace(*args[:2], args[3], args[4]) \
            <= DEPTHWISE_MAX_WORKSPACE_RATIO * (plane + length) + 4096 \
            and c_out // c_in <= DEPTHWISE_MAX_MULTIPLIER
        # every size and leading dimension of a GEMM must fit the BLAS's integers (SciPy's are 32-bit);
        # beyond that the direct loop, which indexes with Py_ssize_t, does the work
        batch = _samples_per_gemm(n, groups, length, threads)     # samples per GEMM on conv_gemm's path
        blas_ok = max(length * batch, cg * k, c_out) \
            <= blas_index_max()
        tiny = macs < min(DIRECT_MAX_MACS, TINY_MAX_MACS)
        # conv_depthwise_cl would compute whole output rows (register-blocked over the width)
        cl_rows = _kernels.depthwise_cl_by_rows(kernel3, stride3, dilation3, blocks3)
        winograd = WINOGRAD and kernel3[1:] == (3, 3) and kernel3[0] in WINOGRAD_DEPTH_TAPS \
            and stride3 == (1, 1, 1) and dilation3 == (1, 1, 1) and groups == 1 \
            and min(c_in, c_out) >= WINOGRAD_MIN_CHANNELS and blocks3[1] * blocks3[2] >= WINOGRAD_MIN_PLANE \
            and n * length >= WINOGRAD_MIN_THREAD_CELLS * max(c_in, c_out) * threads \
            and 16 * (kernel3[0] * c_in + c_out) * dtype.itemsize * WINOGRAD_WIDE_GEMM_TILES \
            <= WINOGRAD_MAX_TASK_BYTES
        # conv_rows (few output channels per group; more in float32 on AVX-512 for shallow layers), unless
        # a path above takes the layer
        simd = _kernels.simd_path()
        wide = dtype == np.float32 and ROWS_WIDE_MIN_DEPTH <= cg * k <= ROWS_WIDE_MAX_DEPTH \
            and blocks3[1] * blocks3[2] >= ROWS_WIDE_MIN_CELLS and simd in ROWS_WIDE_LEVELS
        rows_max = ROWS_MAX_CHANNELS_WIDE if wide else ROWS_MAX_CHANNELS
        rows_ok = ROWS_KERNEL and c_out // groups <= rows_max and (len(kernel) <= 2 or ROWS_3D) \
            and _kernels.rows_workspace(cg, kernel3, stride3, dilation3, blocks3, 1) * dtype.itemsize \
            <= WORKSPACE_BYTES
        # conv_rows splits samples, groups and rows, conv_blocked samples, pairs of 16-channel blocks and rows: a 1-d
        # sample is one row, so one sample would leave threads idle, and the GEMM's column tiles take it instead
        # (TCN's 64 -> 64 k3 d4 on one sample, 2 threads: 1.72x as fast; a 32 -> 32 k7: 1.55x)
        one_row = COLUMN_TILES and blocks3[0] * blocks3[1] == 1
        rows_idle = one_row and n * groups < threads
        rows_first = rows_ok and not (simd in ROWS_3D_BLOCKED_FIRST_LEVELS and len(kernel) == 3 and max(stride) > 1)
        # conv_blocked: where BLAS's GEMMs would be narrow (small output planes), the columns many copies of the
        # input (taps / stride product) or padding taps many
        blocked = blocked and BLOCKED and dtype == np.float32 and groups == 1 and mode == "zeros" \
            and (len(kernel) <= 2 or BLOCKED_3D) and k > 1 and not tiny and macs >= PARALLEL_MIN_MACS \
            and min(c_in, c_out) >= BLOCKED_MIN_CHANNELS \
            and max(-c_in % 16 / c_in, -c_out % 16 / c_out) <= BLOCKED_MAX_CHANNEL_WASTE \
            and 4 * -(-c_in // 16) * 16 * plane <= BLOCKED_MAX_SAMPLE_BYTES \
            and (simd in BLOCKED_LEVELS
                 or (simd in BLOCKED_WIDE_KERNEL_LEVELS and max(kernel) >= BLOCKED_WIDE_KERNEL_MIN_SIZE
                     and max(stride) == 1)
                 or (simd in BLOCKED_3D_STRIDED_LEVELS and len(kernel) == 3 and max(stride) > 1)) \
            and not (one_row and n * -(-c_out // 32) < threads) \
            and (length <= BLOCKED_MAX_PLANE or (k >= BLOCKED_MIN_EXPANSION * math.prod(stride) and not rows_first)
                 or _padding_share(x_shape[2:], blocks, kernel, stride, padding, dilation) >= BLOCKED_MIN_PADDING)
        # Winograd yields to conv_blocked or conv_rows on narrow layers with small planes (WINOGRAD_YIELD_*)
        # (to the path the planner takes without it: conv_blocked if it may, its pairs of blocks filled, else
        # conv_rows)
        if winograd and dtype == np.float32 and simd in WINOGRAD_YIELD_LEVELS \
                and kernel3[0] * c_in * c_out * -(-blocks3[1] // 2) * -(-blocks3[2] // 2) < WINOGRAD_YIELD_MAX_WORK \
                and ((blocked and -c_out % 32 / c_out <= WINOGRAD_YIELD_MAX_PAIR_WASTE)
                     or (not blocked and rows_ok and not rows_idle)):
            winograd = False
        blocked = blocked and not winograd
        bands = _row_bands(x_shape, kernel, stride, padding, dilation, blocks) \
            if row_bands and ROW_BANDS and mode == "zeros" and macs >= PARALLEL_MIN_MACS and not blocked else None
        if blocked:
            def fallback():                     # the plan without conv_blocked, for weights holding inf/NaN
                return ConvPlan(x_shape, w_shape, dtype, kernel, stride, padding, dilation, blocks, groups, mode,
                                row_bands, blocked=False).run
            d = len(kernel) == 3                # a 3-d layer's geometry keeps its depth entries
            run = _blocked_runner(x_shape, w_shape, kernel3[1 - d:], stride3[1 - d:], padding3[1 - d:],
                                  dilation3[1 - d:], blocks3[1 - d:], threads, out_shape, fallback)
        elif bands is not None:
            run = _banded_runner(x_shape, w_shape, dtype, kernel, stride, padding, dilation, blocks, groups, bands,
                                 ConvPlan(x_shape, w_shape, dtype, kernel, stride, padding, dilation, blocks, groups,
                                          mode, row_bands=False).run)
        elif macs == 0:
            def run(x, w, b):
                out = np.zeros(out_shape, dtype=dtype)
                if b is not None:
                    out += np.asarray(b)[:, None]
                return out
        elif k == 1 and groups == 1 and all(s == 1 for s in stride) and not any(padding) \
                and length == math.prod(x_shape[2:]) and batch == 1 \
                and (n < threads or not POINTWISE_IN_PLACE) and not (rows_ok and not rows_idle):
            # 1x1 stride 1 with fewer samples than threads: the input is its own column matrix, one matmul per
            # sample on BLAS's threads. conv_gemm takes the others: on small planes several samples' columns side
            # by side in one GEMM (ResNet-50's 1x1 512 -> 2048 on 7x7, 8 samples: 0.76x the time, 1 thread; BLAS
            # packs the weights once, not per sample), else a sample or more per thread, read in place (1x1 256 ->
            # 1024 on 14x14: 0.84x at 2 threads, where BLAS threads each sample's GEMM of 196 columns; 0.94x at 1,
            # the bias in the GEMM instead of a pass of its own)
            def run(x, w, b):
                out = np.matmul(np.asarray(w).reshape(c_out, c_in), x.reshape(n, c_in, length))
                if b is not None:
                    out += np.asarray(b)[:, None]
                return out
        elif not tiny and cg == 1 and c_out == c_in >= DEPTHWISE_CL_MIN_CHANNELS and k <= DEPTHWISE_CL_MAX_TAPS \
                and (plane <= DEPTHWISE_CL_MAX_PLANE or (DEPTHWISE_CL_STRIDED and max(stride) > 1)
                     or (cl_rows and kernel3[2] >= DEPTHWISE_CL_ROWS_MIN_KW and kernel3[1] > 1
                         and not (kernel3[2] <= DEPTHWISE_CL_CROWDED_MAX_KW
                                  and _cl_crowded(plane * dtype.itemsize, self._cl_block(x5_shape, args, dtype,
                                                                                         cl_rows))))):
            # depthwise on tiny planes (MobileNet's 7x7), strided, or with 3/5/7-wide rows (3-wide unless the
            # planes crowd L1): channels-last, the channels are the vector lanes (conv_depthwise's long runs need
            # stride 1; strided, its rows are short and gathered; and a whole 7-wide output row in registers loads
            # each input once per kernel row)
            kern = _kernels.conv_depthwise_cl[spec]
            cells = _kernels.depthwise_cl_workspace(x5_shape[2:], *args[:2], args[3], args[4])
            cb = self._cl_block(x5_shape, args, dtype, cl_rows)
            code = MODE_CODES[mode]
            threads = min(threads, n * -(-c_out // cb))
            get_ws = workspace_getter((max(threads, 1), cells * (cb + 32 // dtype.itemsize)), dtype)  # (see the kernel)

            def run(x, w, b):
                out = np.empty(out_shape, dtype=dtype)
                wt = np.ascontiguousarray(np.asarray(w).reshape(c_out, k).T)
                ws = get_ws()
                kern(np.ascontiguousarray(x).reshape(x5_shape), wt, _bias(b, dtype), out, *args5, code, cb, ws, threads)
                return out
        elif depthwise_ok and not tiny:
            # depthwise: each input channel padded once, then one long run per tap (see conv_depthwise)
            kern = _kernels.conv_depthwise[spec]
            w3 = (c_out, 1, k)
            code = MODE_CODES[mode]
            threads = min(threads, n * c_in)
            get_ws = workspace_getter((max(threads, 1), _kernels.depthwise_workspace(*args[:2], args[3], args[4])),
                                      dtype)

            def run(x, w, b):
                out = np.empty(out_shape, dtype=dtype)
                ws = get_ws()
                kern(np.ascontiguousarray(x).reshape(x5_shape), np.ascontiguousarray(w).reshape(w3), _bias(b, dtype),
                     out, *args5, code, ws, threads)
                return out
        elif macs < DIRECT_MAX_MACS or not blas_ok:
            kern = _kernels.conv_direct[spec]
            w3 = (c_out, cg, k)
            code = MODE_CODES[mode]
            self._direct = (x5_shape, w3, dtype) + args + (code, threads)

            def run(x, w, b):
                out = np.empty(out_shape, dtype=dtype)
                kern(np.ascontiguousarray(x).reshape(x5_shape), np.ascontiguousarray(w).reshape(w3), _bias(b, dtype),
                     out, *args, code, threads)
                return out
        elif winograd:
            run = _winograd_runner(x5_shape, c_out, kernel3[0], dtype, padding3, blocks3, MODE_CODES[mode], threads,
                                   _gemm_runner(x5_shape, c_out, cg, dtype, k, length, args, blocks, n, groups,
                                                threads, mode, out_shape))
        elif rows_ok and not rows_idle:
            run = _rows_runner(x5_shape, c_out, cg, dtype, args, n, groups, threads, mode, out_shape)
        else:
            run = _gemm_runner(x5_shape, c_out, cg, dtype, k, length, args, blocks, n, groups, threads, mode,
                               out_shape)
        self.run = run

    @staticmethod
    def _cl_block(x5_shape, args, dtype, by_rows):
        """Channels per conv_depthwise_cl task for this layer (a depthwise layer: C_out == C_in)."""
        task_cells = _kernels.depthwise_cl_task_cells(x5_shape[2:], *args[:2], args[3], args[4])
        return min(x5_shape[1], _cl_channels(task_cells, dtype.itemsize, by_rows))

    def __call__(self, x, w, b=None):
        return self.run(x, w, b)

    def runner(self, shape):
        """``run`` for a cache's repeated calls: ``f(x, w, b)`` takes the caller's input as it is (batched or
        not: only its size counts) and returns the output in its final ``shape``. For the direct loop that is
        ``_kernels.DirectPlan``, whose entry costs a fraction of ``conv_direct``'s (no typed memoryviews)."""
        return _runner(self.run, self._direct, _kernels.DirectPlan, shape)


def _runner(run, direct, lean, shape):
    """``ConvPlan.runner`` / ``TransposePlan.runner``: ``lean(*direct, shape)`` for a plan of the direct loop,
    else ``run`` with its result reshaped to ``shape``."""
    shape = tuple(shape)
    if direct is not None:
        return lean(*direct, shape)

    def cached(x, w, b):
        return run(x, w, b).reshape(shape)
    return cached


def _bias(b, dtype):
    """The bias as the kernels read it: contiguous, of the input's dtype (a module's bias may be a strided
    view or of another dtype), or None."""
    return None if b is None else np.ascontiguousarray(b, dtype=dtype)


class TransposePlan:
    """Everything about one transposed convolution that depends on shapes only, computed once (as
    :class:`ConvPlan` for the forward one): ``TransposePlan(...)(x, w, b)`` returns ``(N, C_out, *out_size)``.

    Tiny layers (fewer MACs per sample than TINY_MAX_MACS and DIRECT_MAX_MACS) scatter directly
    (``_kernels.DirectTransposePlan``); float32 layers with kernel >= stride on AVX-512 run as their output phases
    (``_phases_runner``, the rule at TRANSPOSE_PHASES); the others run the GEMM into a workspace, then col2im,
    each thread on its own (block of samples, group, run of output channels): the channels split into
    ``run.channel_chunks`` runs where samples x groups alone would leave threads idle.
    """

    __slots__ = ("run", "_direct")

    def __init__(self, x_shape, w_shape, dtype, out_size, kernel, stride, padding, dilation, groups, phases=True):
        n, c_in, *size = x_shape
        og = w_shape[1]
        c_out = og * groups
        dtype = np.dtype(dtype)
        k = math.prod(kernel)
        length = math.prod(size)
        macs = n * c_in * length * og * k
        out_shape = (n, c_out, *out_size)
        threads = min(_threads(macs), n * groups)
        self._direct = None
        # tiny per sample (not per batch: a sample's result must not depend on the batch it comes in, and
        # the two paths round differently)
        if 0 < macs and macs // n < min(DIRECT_MAX_MACS, TINY_MAX_MACS):
            self._direct = ((n, c_in) + lift3(size, 1), (c_in, og, k), dtype, lift3(out_size, 1), lift3(kernel, 1),
                            lift3(stride, 1), lift3(padding, 0), lift3(dilation, 1), groups, max(threads, 1))
            self.run = _kernels.DirectTransposePlan(*self._direct, out_shape)
            return
        # by output phases on conv_blocked's micro-kernel (see conv_transpose_blocked): float32, groups 1, 1-d/2-d,
        # dilation 1, every kernel axis at least its stride and some axis longer (a phase of one tap is a 1x1
        # convolution, the GEMM's shape), channels as conv_blocked takes them
        if phases and TRANSPOSE_PHASES and dtype == np.float32 and groups == 1 and len(kernel) <= 2 \
                and macs >= PARALLEL_MIN_MACS and n * length >= TRANSPOSE_PHASES_MIN_CELLS \
                and all(d == 1 for d in dilation) \
                and all(kk >= s_ for kk, s_ in zip(kernel, stride)) and any(kk > s_ for kk, s_ in zip(kernel, stride)) \
                and min(c_in, c_out) >= BLOCKED_MIN_CHANNELS \
                and max(-c_in % 16 / c_in, -c_out % 16 / c_out) <= BLOCKED_MAX_CHANNEL_WASTE \
                and _kernels.simd_path() in BLOCKED_LEVELS:
            def fallback():                     # the GEMM + col2im plan, for weights holding inf/NaN
                return TransposePlan(x_shape, w_shape, dtype, out_size, kernel, stride, padding, dilation, groups,
                                     phases=False).run
            self.run = _phases_runner(x_shape, w_shape, out_size, kernel, stride, padding, _threads(macs), fallback)
            return
        # no overlap (stride == kernel, dilation 1, no padding): every output cell gets at most one column
        # entry, so the kernel stores column + bias and only the cells no block reaches are filled here
        overwrite = macs > 0 and all(s == kk for s, kk in zip(stride, kernel)) and all(d == 1 for d in dilation) \
            and not any(padding)
        tails = [(slice(None), slice(None)) + (slice(None),) * axis + (slice(s_in * kk, None),)
                 for axis, (s_in, kk, o) in enumerate(zip(size, kernel, out_size)) if s_in * kk < o]
        fill_shape = (c_out,) + (1,) * len(out_size)
        x3_shape, w2_shape = (n, c_in, length), (c_in, og * k)
        out5 = (n, c_out) + lift3(out_size, 1)
        args = (lift3(kernel, 1), lift3(stride, 1), lift3(padding, 0), lift3(dilation, 1), lift3(size, 1), groups)
        blocks = args[4]
        per = samples = chunks = 1
        get_ws = None
        threads = max(threads, 1)
        if macs:                              # (an empty input may have empty axes: nothing to tile)
            rows = length // blocks[-1]
            per = _rows_per_tile(og * k * blocks[-1] * dtype.itemsize, rows, 1, 1, blocks[-1])
            samples = _samples_per_gemm(n, groups, length, threads, TRANSPOSE_BATCH_COLUMNS) if per >= rows else 1
            # fewer (sample block, group) tasks than threads (one sample: pix2pix's decoder at batch 1): each
            # group's output channels split into runs, so that every thread gets a task
            tasks = -(-n // samples) * groups
            want = _threads(macs)
            chunks = min(og, -(-want // tasks)) if tasks < want and TRANSPOSE_CHANNEL_CHUNKS else 1
            threads = max(1, min(want, tasks * chunks))
            if samples > 1:                   # small inputs: several samples per GEMM
                get_ws = workspace_getter((threads, (og * k + c_in // groups) * samples * length), dtype)
            else:
                get_ws = workspace_getter((threads, og * k * per * blocks[-1]), dtype)
        kern = _kernels.conv_transpose_gemm

        def run(x, w, b):
            fill = 0 if b is None else np.asarray(b).reshape(fill_shape)
            if overwrite:
                out = np.empty(out_shape, dtype=dtype)
                for tail in tails:                                # the output_padding tail of an axis
                    out[tail] = fill
            elif b is None:
                out = np.zeros(out_shape, dtype=dtype)
            else:
                out = np.empty(out_shape, dtype=dtype)
                out[...] = fill
            if macs == 0:
                return out
            b = np.ascontiguousarray(b, dtype=dtype) if overwrite and b is not None else None
            with single_threaded_blas():
                kern(np.ascontiguousarray(x).reshape(x3_shape), np.ascontiguousarray(w).reshape(w2_shape),
                     out.reshape(out5), *args[:5], groups, per, get_ws(), threads, samples, b, overwrite, chunks)
            return out
        run.channel_chunks = chunks
        run.threads = threads
        self.run = run

    def __call__(self, x, w, b=None):
        return self.run(x, w, b)

    def runner(self, shape):
        """As :meth:`ConvPlan.runner`: ``f(x, w, b)`` for a cache's repeated calls, output in ``shape``."""
        return _runner(self.run, self._direct, _kernels.DirectTransposePlan, shape)


def conv_transpose_forward(x, w, out_size, kernel, stride, padding, dilation, groups, bias=None):
    """``out[n, co, i*stride - padding + t*dilation] += x[n, ci, i] * w[ci, co, t]``, summed over ci and t.

    x : (N, C_in, *S_in); w : (C_in, C_out/groups, *k). Returns (N, C_out, *out_size), bias included
    (a one-off :class:`TransposePlan`).
    """
    return TransposePlan(x.shape, w.shape, x.dtype, out_size, kernel, stride, padding, dilation, groups)(x, w, bias)


def _wgrad_direct_ok(x, kernel, stride, padding, dilation, blocks, og, cgk):
    """Whether conv_weight_grad takes conv_wgrad_direct: float32, stride 1 along rows, the same padding on both
    sides of every axis (the output size it implies is ``blocks``), at a level in WGRAD_DIRECT_LEVELS, a narrow
    GEMM (``og`` = C_out/groups or ``cgk`` = C_in/groups * taps at most WGRAD_DIRECT_MAX_NARROW), and output
    rows that use at least WGRAD_DIRECT_MIN_LANE_USE of their chunks of 16 lanes."""
    if not WGRAD_DIRECT or min(og, cgk) > WGRAD_DIRECT_MAX_NARROW or x.dtype != np.float32 or stride[-1] != 1 \
            or _kernels.simd_path() not in WGRAD_DIRECT_LEVELS:
        return False
    if any(b != (s + 2 * p - d * (k - 1) - 1) // st + 1
           for b, s, p, d, k, st in zip(blocks, x.shape[2:], padding, dilation, kernel, stride)):
        return False
    ow = blocks[-1]
    return ow / (16 * -(-ow // 16)) >= WGRAD_DIRECT_MIN_LANE_USE


def _wgrad_channel_chunk(cg, k, og, groups, threads, itemsize):
    """Input channels per task of conv_weight_gemm's channel chunks (0: tasks of samples and tiles, each thread
    adding into its own copy of the gradient): on several threads, each group's channels in as few chunks as give
    every thread as many tasks (groups x chunks a multiple of threads): one (a task per group) wherever the
    threads divide the groups; more where a group's gradient (``cg * k * og`` numbers) is WGRAD_SPLIT_MIN_BYTES
    or more and each chunk keeps 8 channels or more."""
    if not WGRAD_CHANNEL_SPLIT or threads < 2:
        return 0
    chunks = threads // math.gcd(groups, threads)
    if chunks > 1 and (cg * k * og * itemsize < WGRAD_SPLIT_MIN_BYTES or cg < 8 * chunks):
        return 0
    return -(-cg // chunks)


def conv_weight_grad(x, grad_out, kernel, stride, padding, dilation, blocks, groups):
    """``gw[g] = sum_n grad_out[n, g] @ im2col(x)[n, g].T``: the gradient of a zero-padded convolution with
    respect to its weight, as ``(C_out, C_in/groups * prod(kernel))``.

    x : (N, C_in, *S); grad_out : (N, C_out, *blocks), same dtype. im2col is fused with the GEMM tile by
    tile (conv_weight_gemm), so the extra memory is one small workspace and one weight-sized partial sum
    per thread (one in all where the threads' tasks own rows of it: ``_wgrad_channel_chunk``), never a sample's
    whole column matrix. The partial sums are added and each group's block turned the right way round by
    ``_kernels.transpose_blocks``. Where that GEMM would be narrow (few output channels,
    or few input channels times taps) a float32 layer with stride 1 along rows takes conv_wgrad_direct on an
    AVX-512 CPU instead (``_wgrad_direct_ok``): no columns, no BLAS, no extra memory.
    """
    n, c_in = x.shape[:2]
    c_out = grad_out.shape[1]
    cg = c_in // groups
    k = math.prod(kernel)
    length = math.prod(blocks)
    macs = n * c_out * length * cg * k
    if macs == 0:
        return np.zeros((c_out, cg * k), dtype=x.dtype)
    b3 = lift3(blocks, 1)
    threads = _threads(macs)
    og = c_out // groups
    x5 = np.ascontiguousarray(x).reshape((n, c_in) + lift3(x.shape[2:], 1))
    geometry = (lift3(kernel, 1), lift3(stride, 1), lift3(padding, 0), lift3(dilation, 1))
    if _wgrad_direct_ok(x, kernel, stride, padding, dilation, blocks, og, cg * k):
        gw = np.zeros((c_out, cg, k), dtype=np.float32)
        # rows per slab: a slab's grad_output and input rows (og and cg channels) in half of L2
        slab = min(512, max(8, (L2_BYTES // 2) // (4 * (og * b3[-1] + cg * x.shape[-1]))))
        _kernels.conv_wgrad_direct(x5, np.ascontiguousarray(grad_out).reshape((n, c_out) + b3), gw, *geometry,
                                   groups, slab, threads)
        return gw.reshape(c_out, cg * k)
    rows = length // b3[-1]
    cc = _wgrad_channel_chunk(cg, k, og, groups, threads, x.itemsize)
    per = _rows_per_tile((cc or cg) * k * b3[-1] * x.itemsize, rows, n * groups, 1 if cc else threads, b3[-1])
    tasks = groups * -(-cg // cc) if cc else n * groups * -(-rows // per)
    threads = max(1, min(threads, tasks))
    ws = workspace((threads, (cc or cg) * k * per * b3[-1]), x.dtype)
    # each group's block transposed (kernel); a slice per thread, or one that the channel chunks share
    parts = np.zeros((1 if cc else threads, groups * cg * k, og), dtype=x.dtype)
    pin = single_threaded_blas if blas_pinned_by_caller() else contextlib.nullcontext
    with pin():
        _kernels.conv_weight_gemm(x5, np.ascontiguousarray(grad_out).reshape(n, c_out, length), parts, *geometry,
                                  b3, groups, per, ws, threads, cc)
    gw = np.empty((groups, og, cg * k), dtype=x.dtype)          # the slices summed, each group's block transposed
    _kernels.transpose_blocks(parts.reshape(len(parts), groups, cg * k, og), gw, threads)
    return gw.reshape(c_out, cg * k)


def _gemm_runner(x5_shape, c_out, cg, dtype, k, length, args, blocks, n, groups, threads, mode, out_shape):
    """``run(x, w, b)`` through conv_gemm: im2col fused with the GEMM, tile by tile."""
    spec = "float" if dtype == np.float32 else "double"
    kern = _kernels.conv_gemm[spec]
    rows = length // blocks[-1]
    # (a 1x1 kernel at stride 1 without padding: the kernel reads the columns in place, so a tile costs no
    # workspace, and only the threads split a sample)
    batch = _samples_per_gemm(n, groups, length, threads)
    in_place = k == 1 and set(args[1]) == {1} and not any(args[2]) and batch == 1
    per = _rows_per_tile(0 if in_place else cg * k * blocks[-1] * dtype.itemsize, rows, n * groups, threads,
                         blocks[-1])
    samples = batch if per >= rows else 1
    w2 = (c_out, cg * k)
    code = MODE_CODES[mode]
    cols = 0
    batch_rows = samples > 1 and BATCH_ROWS and dtype == np.float32 and _kernels.simd_path() in BATCH_ROWS_LEVELS \
        and cg * k <= BATCH_ROWS_MAX_DEPTH
    tile = per * blocks[-1]               # a tile's cells: one small buffer per thread, never the batch
    if samples > 1:                       # one tile per sample, several samples per GEMM: their columns, and
        per = rows                        # BLAS's result block unless cl_gemm_rows stores into the output
    elif rows == 1 and COLUMN_TILES and n * groups < threads:   # one row (1-d) and idle threads: tiles of it
        cols = max(-(-blocks[-1] // -(-threads // (n * groups))), MIN_TILE_COLUMNS)
        cols = 0 if cols >= blocks[-1] else cols
        tile = cols or blocks[-1]
    elif in_place:
        tile = 0                          # (the kernel reads the columns where they lie)
    # (the kernel's own count: the gathered columns' rows go whole cache lines apart, each starting on a line)
    ws_shape = (threads, max(1, _kernels.gemm_workspace(cg * k, c_out // groups, samples, length, tile, batch_rows,
                                                        dtype.itemsize)))
    get_ws = workspace_getter(ws_shape, dtype)
    pin = single_threaded_blas if blas_pinned_by_caller() else contextlib.nullcontext
    small = c_out // groups <= SMALL_GEMM_MAX_ROWS

    def run(x, w, b):
        out = np.empty(out_shape, dtype=dtype)
        ws = get_ws()
        with pin():
            kern(np.ascontiguousarray(x).reshape(x5_shape), np.ascontiguousarray(w).reshape(w2), _bias(b, dtype),
                 out, *args, code, per, ws, threads, samples, small_gemm=small, col_tile=cols, batch_rows=batch_rows)
        return out
    run.small_gemm = small
    run.col_tile = cols
    run.samples = samples
    run.batch_rows = batch_rows
    return run


def _blocked_runner(x_shape, w_shape, kernel2, stride2, padding2, dilation2, blocks2, threads, out_shape,
                    make_fallback):
    """``run(x, w, b)`` through conv_blocked (2-d, or 1-d as one row; 3-d where the geometry tuples hold three
    entries: the input's planes as one column of D * H rows, the rows a task splits Do * Ho): the blocked input,
    the dealt weights and the bias in this thread's workspace. The samples go to the kernel in calls of as many as fit
    BLOCKED_INPUT_BYTES (at least one). A task is a pair of output blocks (its weights dealt into L2) over a
    call's samples; with fewer than 4 pairs per thread the samples, then the output rows, split into chunks. One
    call deals each task's weights into its thread's row; several calls keep a row per pair, dealt by the first
    call (to deal them on every call cost Inception's 3x3 s2 288 -> 384, 8 calls, 5%; to keep them on one call,
    the rows fresh memory on each, ResNet-18's 512 -> 512 on 7x7 7-10%; 1 thread, paired). Weights holding an
    inf or NaN go to the plan ``make_fallback()`` returns (made on first need), which computes the padding taps
    as torch does."""
    n, c_in = x_shape[:2]
    c_out = w_shape[0]
    depth = x_shape[2] if len(kernel2) == 3 else 1
    h, w_ = ((1, 1) + tuple(x_shape[2:]))[-2:]
    h *= depth                                          # a 3-d input's rows: (plane, row) pairs
    w3 = (c_out, c_in, math.prod(kernel2))
    wp = _kernels.blocked_width(w_, blocks2[-1], kernel2[-1], stride2[-1], padding2[-1], dilation2[-1])
    return _blocked_calls("_blocked_runner", _kernels.conv_blocked, (n, c_in, h, w_), w3, out_shape, out_shape,
                          (kernel2, stride2, padding2, dilation2, blocks2),
                          lambda step: _kernels.blocked_sizes(step, c_in, c_out, h, wp, w3[2]),
                          math.prod(blocks2[:-1]), threads, make_fallback, BLOCKED_INPUT_BYTES, can_keep=True,
                          can_order=BLOCKED_CHUNKS_FIRST, depth=depth)


def _static_loads(pairs, samples, chunks, step, rows, threads, chunks_first):
    """The largest share of (sample, output row) pairs that one of ``threads`` threads runs in a blocked
    kernel's call of ``step`` samples: its ``pairs * samples * chunks`` tasks numbered pair by pair or
    ``chunks_first``, split as OpenMP's static schedule splits them (contiguous runs, the first ``total %
    threads`` threads one task more), and each task's samples and rows as the kernel cuts them (its numbering:
    ``_kernels.pair_task``)."""
    total = pairs * samples * chunks
    base, extra = divmod(total, threads)
    worst, start = 0, 0
    for i in range(threads):
        load = 0
        for t in range(start, start + base + (i < extra)):
            _, n0, n1, ch = _kernels.pair_task(t, pairs, step, samples, chunks, chunks_first)
            load += (n1 - n0) * ((ch + 1) * rows // chunks - ch * rows // chunks)
        start += base + (i < extra)
        worst = max(worst, load)
    return worst


def _task_split(pairs, samples, chunks, step, rows, threads, weight_bytes, input_bytes):
    """``(samples, chunks, chunks_first)`` for a blocked kernel's calls of ``step`` samples: the split by
    samples and rows that ``_blocked_calls`` chose, numbered pair by pair; or, with threads, where the weights
    are at most BLOCKED_CHUNKS_FIRST_MAX_WEIGHTS times a call's blocked input, numbered chunk by chunk in the
    first split of (that one, samples in ``threads`` chunks, rows in ``threads`` chunks) whose busiest thread
    runs the fewest (sample, row) pairs, if that is no more than pair by pair."""
    if threads < 2 or weight_bytes > BLOCKED_CHUNKS_FIRST_MAX_WEIGHTS * input_bytes:
        return samples, chunks, False
    splits = [(samples, chunks)]
    if step % threads == 0:
        splits.append((threads, 1))
    splits.append((1, min(rows, threads)))
    loads = [(_static_loads(pairs, s, c, step, rows, threads, True), i) for i, (s, c) in enumerate(splits)
             if s * c > 1]
    if not loads:
        return samples, chunks, False
    load, i = min(loads)
    if load > _static_loads(pairs, samples, chunks, step, rows, threads, False):
        return samples, chunks, False
    return splits[i] + (True,)


def _blocked_calls(name, kern, x4, w3, out_shape, out3, geometry, sizes, rows, threads, make_fallback, budget,
                   can_keep=False, can_order=False, **options):
    """``run(x, w, b)`` for conv_blocked and conv_transpose_blocked: ``kern(x, w, bias, out, *geometry, xb, wb, bb,
    sample_chunks, row_chunks, threads, [keep_weights,] chunks_first=...)`` on calls of as many samples as fit
    ``budget`` bytes of blocked input (at least one), its buffers (``sizes(samples)`` floats) in this thread's
    workspace; a kernel's 1 (inf or NaN weights) hands the call to the plan ``make_fallback()`` returns (made on
    first need). x4 : (N, C_in, H, W); out3 : the output as the kernel takes it (N, C_out, cells); rows : the output
    rows a pair's tasks may split. A row of weights per thread (the kernel deals a task's pair into its thread's
    row), or, where the kernel can keep them (``can_keep``: conv_blocked's ``keep_weights``) and there are several
    calls, a row per pair, dealt by the first call and kept by the others. Where ``can_order``, the tasks are split
    and numbered (the kernels' ``chunks_first``) as ``_task_split`` says. The runner is named as its caller's
    (``name``: what a plan's path is known by); ``options`` go to every kernel call (conv_blocked's ``depth``)."""
    n, c_out = x4[0], out3[1]
    step = max(1, min(n, budget // (4 * max(sizes(1)[0], 1))))                # samples per kernel call,
    step = -(-n // -(-n // step)) if n else 1                                    # the calls as even as they go
    xs, ws_, bs = sizes(step)
    pairs = -(-c_out // 32)
    samples = min(step, -(-4 * threads // pairs)) if threads > 1 else 1
    chunks = max(1, min(rows, -(-4 * threads // (pairs * samples)))) if threads > 1 else 1
    keep = can_keep and step < n                        # several calls: the weights dealt once, kept in rows
    first = False
    if can_order:
        samples, chunks, first = _task_split(pairs, samples, chunks, step, rows, threads, 4 * math.prod(w3), 4 * xs)
    nrows = pairs if keep else threads
    get_ws = workspace_getter((xs + nrows * ws_ + bs,), np.float32)
    fallback = []

    def run(x, w, b):
        out = np.empty(out_shape, dtype=np.float32)
        o3 = out.reshape(out3)
        ws = get_ws()
        xb, wb, bb = ws[:xs], ws[xs:xs + nrows * ws_].reshape(nrows, ws_), ws[xs + nrows * ws_:]
        xc, wc, bias = np.ascontiguousarray(x).reshape(x4), np.ascontiguousarray(w).reshape(w3), _bias(b, np.float32)
        for n0 in range(0, n, step):
            kept = (2 if n0 else 1,) if keep else ()    # keep_weights: deal on the first call, reuse after
            if kern(xc[n0:n0 + step], wc, bias, o3[n0:n0 + step], *geometry, xb, wb, bb, samples, chunks, threads,
                    *kept, chunks_first=first, **options):
                if not fallback:
                    fallback.append(make_fallback())
                return fallback[0](x, w, b)
        return out
    run.__qualname__ = f"{name}.<locals>.run"
    run.samples_per_call = step
    run.sample_chunks = samples
    run.row_chunks = chunks
    run.chunks_first = first
    run.threads = threads
    return run


def _phases_runner(x_shape, w_shape, out_size, kernel, stride, padding, threads, make_fallback):
    """``run(x, w, b)`` of a transposed layer through conv_transpose_blocked (2-d, or 1-d as one row): its output
    phases as stride-1 convolutions on conv_blocked's micro-kernel, written in place. Calls, workspace and tasks
    as ``_blocked_runner``'s (the rows a task may split: the tallest phase's); weights holding an inf or NaN go to
    the plan ``make_fallback()`` returns (GEMM + col2im)."""
    n, c_in = x_shape[:2]
    c_out = w_shape[1]
    lift = (lambda v, e: (e,) * (2 - len(v)) + tuple(v))
    h, w_ = lift(x_shape[2:], 1)
    kernel2, stride2, padding2, blocks2 = lift(kernel, 1), lift(stride, 1), lift(padding, 0), lift(out_size, 1)
    w3 = (c_in, c_out, kernel2[0] * kernel2[1])
    wp, _ = _kernels.transpose_blocked_width(w_, blocks2[1], kernel2[1], stride2[1], padding2[1])
    rows = max(-(-(blocks2[0] - r) // stride2[0]) for r in range(stride2[0]))   # the tallest phase's rows
    return _blocked_calls("_phases_runner", _kernels.conv_transpose_blocked, (n, c_in, h, w_), w3,
                          (n, c_out, *out_size), (n, c_out, blocks2[0] * blocks2[1]),
                          (kernel2, stride2, padding2, blocks2),
                          lambda step: _kernels.transpose_blocked_sizes(step, c_in, c_out, h, wp, w3[2]), rows,
                          threads, make_fallback, TRANSPOSE_BLOCKED_INPUT_BYTES,
                          can_order=TRANSPOSE_BLOCKED_CHUNKS_FIRST)


def _rows_runner(x5_shape, c_out, cg, dtype, args, n, groups, threads, mode, out_shape):
    """``run(x, w, b)`` through conv_rows (few output channels per group): as many output rows of a plane per
    task as fit WORKSPACE_BYTES with their padded input slab (kd input planes' rows for a 3-d layer), at least two
    tasks per thread when the rows allow."""
    spec = "float" if dtype == np.float32 else "double"
    kern = _kernels.conv_rows[spec]
    kernel3, stride3, padding3, dilation3, blocks3, _ = args
    rows, planes = blocks3[1], n * groups * blocks3[0]          # output rows a plane; (sample, group, plane)s
    one = _kernels.rows_workspace(cg, kernel3, stride3, dilation3, blocks3, 1)
    two = _kernels.rows_workspace(cg, kernel3, stride3, dilation3, blocks3, 2)
    per = max(1, 1 + (WORKSPACE_BYTES // dtype.itemsize - one) // max(two - one, 1))
    if threads > 1 and planes * -(-rows // per) < 2 * threads:
        per = max(1, -(-rows * planes // (2 * threads)))
    per = min(per, rows)
    threads = max(1, min(threads, planes * -(-rows // per)))
    # 3-d, depth stride and dilation 1: a task takes its rows in several output planes, copying one input plane
    # a channel for each after the first (the kernel planes' sections a ring); as many planes as leave
    # ROWS_RING_TASKS_PER_THREAD tasks a thread
    ring = 1
    if ROWS_PLANE_RING and kernel3[0] > 1 and stride3[0] == 1 and dilation3[0] == 1:
        chains = n * groups * -(-rows // per)           # (sample, group, block of rows)s
        ring = blocks3[0] if threads == 1 else \
            max(1, min(blocks3[0], chains * blocks3[0] // (ROWS_RING_TASKS_PER_THREAD * threads)))
    get_ws = workspace_getter((threads, _kernels.rows_workspace(cg, kernel3, stride3, dilation3, blocks3, per)),
                              dtype)
    w2 = (c_out, cg * math.prod(kernel3))
    code = MODE_CODES[mode]

    def run(x, w, b):
        out = np.empty(out_shape, dtype=dtype)
        kern(np.ascontiguousarray(x).reshape(x5_shape), np.ascontiguousarray(w).reshape(w2), _bias(b, dtype), out,
             kernel3, stride3, padding3, dilation3, blocks3, groups, code, per, get_ws(), threads, ring)
        return out
    run.rows_per_task = per
    run.planes_per_task = ring
    return run


def _balanced_task_rows(total, rows, threads):
    """Tile rows per Winograd task: ``rows``, or where a count down to three quarters of it leaves the busiest
    thread at least WINOGRAD_BALANCE_MIN_GAIN fewer of the ``total`` tile rows (OpenMP's static schedule deals the
    tasks in contiguous runs, the first threads one more), the count that leaves it the fewest, the largest among
    equals: a narrower task's GEMMs run slower (48 tiles against 96: 1.12-1.16x the time), so a small gain in
    balance costs more than it saves. Inception-v3's 17x17 layers on 8 samples (72 tile rows) at 2 threads: 9
    rows a task (8 tasks, 36 rows per thread), not 11 (7 tasks: 44 rows against 28); FPN's 50x50 sample (25 tile
    rows) keeps 4 (16 rows against 9), where 3 (15 against 10) took 1.09x the time."""
    def busiest(r):
        tasks = -(-total // r)
        return min(total, -(-tasks // threads) * r)
    best = min(range(rows, (3 * rows + 3) // 4 - 1, -1), key=lambda r: (busiest(r), -r))
    return best if busiest(best) <= (1 - WINOGRAD_BALANCE_MIN_GAIN) * busiest(rows) else rows


def _winograd_runner(x5_shape, c_out, kd, dtype, padding3, blocks3, code, threads, fallback):
    """``run(x, w, b)`` through conv_winograd (3x3 or 3x3x3 (kd = 3), stride 1, dilation 1, groups 1):
    F(4x4, 3x3) in float64 (or with WINOGRAD4_FLOAT32) on planes of at least WINOGRAD4_MIN_PLANE outputs when
    a task still holds WINOGRAD_MIN_TASK_TILES tiles, else F(2x2, 3x3). A task is whole tile rows, as many as
    WINOGRAD_TASK_BYTES holds, or where it holds fewer than WINOGRAD_MIN_GEMM_TILES, the fewest that reach that
    many tiles (WINOGRAD_WIDE_GEMM_TILES where the transformed weights U are larger than L2); with threads, a
    count down to three quarters of that where it leaves the busiest thread a tenth fewer tile rows
    (``_balanced_task_rows``, WINOGRAD_BALANCE_MIN_GAIN). A 3x3x3 kernel
    is three 3x3 kernels, one per depth tap, whose sums the GEMMs add up (their K is kd * C_in). A call whose
    weights or input hold an inf or NaN goes to ``fallback`` instead (the exact sum puts them where torch
    does)."""
    spec = "float" if dtype == np.float32 else "double"
    kern, transform = _kernels.conv_winograd[spec], _kernels.winograd_weights[spec]
    n, c_in = x5_shape[:2]
    kc = kd * c_in                               # the GEMMs' K: (depth tap, input channel) pairs
    tile = 4 if blocks3[1] * blocks3[2] >= WINOGRAD4_MIN_PLANE and (dtype == np.float64 or WINOGRAD4_FLOAT32) \
        and WINOGRAD_TASK_BYTES // (36 * (kc + c_out) * dtype.itemsize) >= WINOGRAD_MIN_TASK_TILES else 2
    planes = (tile + 2) ** 2
    tile_rows = n * blocks3[0] * -(-blocks3[1] // tile)
    tiles_per_row = -(-blocks3[2] // tile)
    per_tile = planes * (kc + c_out) * dtype.itemsize
    if WINOGRAD_TASK_BYTES // per_tile < WINOGRAD_MIN_GEMM_TILES:
        wide = planes * kc * c_out * dtype.itemsize > L2_BYTES        # U read from beyond L2 by every task
        rows = -(-(WINOGRAD_WIDE_GEMM_TILES if wide else WINOGRAD_MIN_GEMM_TILES) // tiles_per_row)
    else:
        rows = max(1, max(tiles_per_row, WINOGRAD_TASK_BYTES // per_tile) // tiles_per_row)
    if threads > 1 and -(-tile_rows // rows) < 2 * threads:
        rows = max(1, -(-tile_rows // (2 * threads)))
    rows = min(rows, tile_rows)
    if threads > 1 and WINOGRAD_BALANCED_TASKS:
        rows = _balanced_task_rows(tile_rows, rows, threads)
    threads = min(threads, -(-tile_rows // rows))
    u_len = c_out * kc + _kernels.winograd_skew()
    per_thread = _kernels.winograd_workspace(kc, c_out, rows, blocks3[2], tile)
    get_ws = workspace_getter((planes * u_len + threads * per_thread,), dtype)
    w3 = (c_out, kc, 9)
    out_shape = (n, c_out, math.prod(blocks3))
    pin = single_threaded_blas if blas_pinned_by_caller() else contextlib.nullcontext

    def weights(w):
        """(C_out, C_in, [kd,] 3, 3) -> (C_out, kd * C_in, 9), K in (depth tap, channel) order."""
        w = np.asarray(w)
        if kd == 1:
            return np.ascontiguousarray(w).reshape(w3)
        return np.ascontiguousarray(w.reshape(c_out, c_in, kd, 9).transpose(0, 2, 1, 3)).reshape(w3)

    def run(x, w, b):
        ws = get_ws()
        u = ws[:planes * u_len].reshape(planes, u_len)
        if not transform(weights(w), u, threads, tile):
            return fallback(x, w, b)
        out = np.empty(out_shape, dtype=dtype)
        with pin():
            bad = kern(np.ascontiguousarray(x).reshape(x5_shape), u, c_out, _bias(b, dtype), out, padding3, blocks3,
                       code, rows, ws[planes * u_len:].reshape(threads, per_thread), threads, tile, kd)
        return fallback(x, w, b) if bad else out
    run.tile = tile
    run.tiles_per_task = rows * tiles_per_row
    return run
