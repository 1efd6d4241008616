"""Measure, on this machine, the thresholds that convlab.ops.conv takes from the hardware.

    python bench/thresholds.py [--repeats N]

* ``WORKSPACE_BYTES``: half the per-core L2 that Linux reports (printed, not measured).
* ``SMALL_GEMM_MAX_ROWS``: conv_gemm multiplies a group's weights (m output channels x K) by a gathered tile
  (K x n, at most WORKSPACE_BYTES) either with BLAS (which packs the tile first) or with ``cl_gemm_small``
  (which reads it in place). This times both on tiles of that size for m = 4 ... 64, one thread, and prints
  the largest m up to which the small GEMM is not slower (best of 5 batches, so a busy machine biases both
  alike). The constant in conv.py should sit at or below that crossover on every CPU kind measured.
* ``WINOGRAD_MIN_GEMM_TILES``: a Winograd task's GEMMs multiply a plane of transformed weights (C_out x C_in)
  by as many columns as the task holds tiles. This times BLAS on 256x256 and 384x384 weights (the wide layers
  whose 1 MiB budget holds fewer than 48 tiles) at 16 ... 256 columns, one thread, and prints the fewest columns
  from which every width reaches 90% of the rate at 256. The constant should sit at or near that width.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout

import numpy as np  # noqa: E402

from convlab import _kernels  # noqa: E402
from convlab.ops import conv as conv_ops  # noqa: E402


def best_time(fn, repeats):
    fn()
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        runs.append((time.perf_counter() - t) / repeats)
    return min(runs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    print(f"# L2 per core {conv_ops.L2_BYTES // 1024} KiB -> WORKSPACE_BYTES {conv_ops.WORKSPACE_BYTES // 1024} KiB;"
          f" SIMD level {_kernels.simd_path()}")
    print(f"{'m':>4} {'K':>5} {'n':>5} {'small GF/s':>11} {'BLAS GF/s':>10} {'BLAS/small':>11}")
    rng = np.random.default_rng(0)
    wins = {}
    for k in (72, 144, 400):                        # 8 channels x 3x3, 16 x 3x3, 16 x 5x5
        n = max(8, conv_ops.WORKSPACE_BYTES // (4 * k) // 8 * 8)
        b = rng.standard_normal((k, n)).astype(np.float32)
        for m in (4, 8, 12, 16, 24, 32, 48, 64):
            a = rng.standard_normal((m, k)).astype(np.float32)
            c = np.empty((m, n), np.float32)
            t_small = best_time(lambda: _kernels.gemm_small(a, b, c), args.repeats)
            t_blas = best_time(lambda: np.matmul(b.T, a.T, out=c.T), args.repeats)     # BLAS, conv_gemm's layout
            flops = 2 * m * k * n
            print(f"{m:>4} {k:>5} {n:>5} {flops / t_small / 1e9:>11.1f} {flops / t_blas / 1e9:>10.1f} "
                  f"{t_blas / t_small:>11.2f}")
            wins.setdefault(m, []).append(t_blas / t_small)
    ok = [m for m in sorted(wins) if min(wins[m]) >= 1.0]
    top = 0
    for m in sorted(wins):                          # the crossover: every m up to it wins on every K
        if m not in ok:
            break
        top = m
    print(f"# small GEMM not slower up to m = {top} on every K here; "
          f"convlab uses SMALL_GEMM_MAX_ROWS = {conv_ops.SMALL_GEMM_MAX_ROWS}")
    print()
    print(f"{'C':>4} {'columns':>8} {'GF/s':>7} {'of 256':>7}")
    widths = (16, 24, 32, 40, 48, 56, 64, 96, 128, 256)
    enough = []
    for c in (256, 384):
        a = rng.standard_normal((c, c)).astype(np.float32)
        rates = {}
        for n in widths:
            b = rng.standard_normal((c, n)).astype(np.float32)
            out = np.empty((c, n), np.float32)
            rates[n] = 2 * c * c * n / best_time(lambda: np.matmul(a, b, out=out), args.repeats) / 1e9
        for n in widths:
            print(f"{c:>4} {n:>8} {rates[n]:>7.1f} {rates[n] / rates[256]:>7.2f}")
        # the fewest columns from which every wider GEMM keeps 90% of the widest one's rate
        enough.append(min(n for n in widths if all(rates[w] >= 0.9 * rates[256] for w in widths if w >= n)))
    print(f"# GEMMs keep 90% of BLAS's rate from {max(enough)} columns here; "
          f"convlab uses WINOGRAD_MIN_GEMM_TILES = {conv_ops.WINOGRAD_MIN_GEMM_TILES}")


if __name__ == "__main__":
    main()
