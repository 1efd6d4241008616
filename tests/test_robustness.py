"""Never a wrong answer, never a hang: one regression test per fault a fuzz and fault probe found.

Each test names the fault it guards; each failed on the commit before its fix (e3da1a7).
"""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import convlab
import convlab.nn as nn
import convlab.nn.functional as F
import convlab.nn.grad as G
from convlab import _kernels
from convlab import reference as ref
from convlab.ops import _blas
from convlab.ops import conv as conv_ops
from helpers import assert_close, requires_torch, run_in_threads, threads, torch  # noqa: F401 (fixture)
from test_kernel_paths import PATHS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    for name, value in PATHS[request.param].items():
        monkeypatch.setattr(conv_ops, name, value)
    return request.param


def _views(values):
    """The same bias values as strided, negative-step and offset views of larger buffers."""
    n = len(values)
    wide = np.zeros(2 * n, values.dtype)
    wide[::2] = values
    back = values[::-1].copy()[::-1]
    offset = np.zeros(3 * n + 1, values.dtype)
    offset[1::3] = values
    return {"step 2": wide[::2], "step -1": back, "offset step 3": offset[1::3]}


# --- 1. a bias that is a strided view -------------------------------------------------------------

def test_strided_bias_issue_example():
    """The probe's example: a depthwise conv1d with ``bias[::2]`` gave [2, 3]."""
    got = F.conv1d(np.ones((1, 2, 4), "f4"), np.ones((2, 1, 1), "f4"), np.array([1, 2, 3, 4], "f4")[::2], groups=2)
    np.testing.assert_array_equal(got[0, :, 0], [2, 4])


LAYERS = {
    # name: (transposed, nd, C_in, C_out, kernel, stride, groups, input spatial size)
    "depthwise": (False, 2, 16, 16, 3, 1, 16, (6, 7)),       # padded-plane kernel; channels-last when forced
    "depthwise x2": (False, 1, 4, 8, 3, 2, 4, (11,)),
    "3x3 stride 1": (False, 2, 4, 6, 3, 1, 1, (7, 9)),       # Winograd when forced
    "grouped": (False, 3, 4, 6, (2, 3, 1), (1, 2, 1), 2, (3, 5, 4)),
    "transposed k2 s2": (True, 2, 4, 6, 2, 2, 1, (3, 4)),     # stride == kernel: the store-once path
    "transposed k3 s2": (True, 1, 4, 6, 3, 2, 2, (5,)),
}


@pytest.mark.parametrize("view", ["step 2", "step -1", "offset step 3"])
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strided_bias_on_every_path(rng, path, layer, view, dtype):
    transposed, nd, c_in, c_out, kernel, stride, groups, size = LAYERS[layer]
    kernel = (kernel,) * nd if isinstance(kernel, int) else kernel
    stride = (stride,) * nd if isinstance(stride, int) else stride
    x = rng.standard_normal((2, c_in, *size)).astype(dtype)
    bias = rng.standard_normal(c_out).astype(dtype) * 10
    if transposed:
        w = rng.standard_normal((c_in, c_out // groups, *kernel)).astype(dtype)
        got = getattr(F, f"conv_transpose{nd}d")(x, w, _views(bias)[view], stride=stride, groups=groups)
        want = ref.conv_transpose_nd(x.astype(np.float64), w.astype(np.float64), bias, stride, 0, 0, groups)
    else:
        w = rng.standard_normal((c_out, c_in // groups, *kernel)).astype(dtype)
        got = getattr(F, f"conv{nd}d")(x, w, _views(bias)[view], stride=stride, padding=1, groups=groups)
        want = ref.conv_nd(x.astype(np.float64), w.astype(np.float64), bias, stride, 1, 1, groups)
    assert_close(got, want, dtype, reduction=w[0].size)


@pytest.mark.parametrize("kernel", ["conv_gemm", "conv_direct", "conv_depthwise", "conv_depthwise_cl",
                                    "conv_winograd", "conv_transpose_gemm"])
def test_kernels_refuse_a_strided_bias_instead_of_reading_past_it(kernel):
    """The kernels read the bias as contiguous memory; handed a strided view directly they must refuse it
    (the Python layer makes it contiguous), never step over it as if it were contiguous."""
    fn = getattr(_kernels, kernel)["float"]
    code = fn.__code__
    a = lambda *shape: np.zeros(shape, np.float32)          # noqa: E731
    dims = {"x": a(1, 4, 1, 4, 4) if kernel != "conv_transpose_gemm" else a(1, 4, 16),
            "w2d": a(4, 36), "w": a(4, 1, 9), "wt": a(9, 4), "u": a(16, 16),
            "out": a(1, 4, 16) if kernel != "conv_transpose_gemm" else a(1, 4, 1, 4, 4), "workspace": a(1, 4096)}
    kwargs = {}
    for name in code.co_varnames[:code.co_argcount]:
        if name in dims:
            kwargs[name] = dims[name]
        elif name in ("kernel", "stride", "padding", "dilation", "blocks"):
            kwargs[name] = (1, 1, 1)
        elif name != "bias":
            kwargs[name] = 1
    kwargs["bias"] = np.ones(8, np.float32)[::2]
    with pytest.raises(ValueError, match="contiguous"):
        fn(**kwargs)


# --- 2. a module bias of another dtype --------------------------------------------------------------

@pytest.mark.parametrize("cls,args", [(nn.Conv1d, (3, 4, 3)), (nn.Conv2d, (4, 4, 3)),
                                      (nn.Conv2d, (16, 16, 3)), (nn.ConvTranspose1d, (3, 4, 2))])
def test_module_bias_of_another_dtype_works_on_every_call(rng, cls, args):
    """``m.bias = float64 array`` on a float32 module: the cached fast path of the second call must cast
    the bias like the first call did (it raised "Buffer dtype mismatch")."""
    groups = 4 if args[0] == 4 else 1
    kw = {"stride": 2} if cls is nn.ConvTranspose1d else {"groups": groups, "padding": 1}
    m = cls(*args, **kw)
    m.bias = nn.Parameter(rng.standard_normal(args[1]))               # float64 on a float32 module
    x = rng.standard_normal((2, args[0]) + (9,) * (m.weight.ndim - 2)).astype(np.float32)
    first, second = m(x), m(x)
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32
    m.bias = nn.Parameter(np.ascontiguousarray(m.bias, np.float32)[::1])
    np.testing.assert_allclose(m(x), first, rtol=1e-6, atol=1e-6)


def test_module_bias_that_is_a_strided_view(rng):
    m = nn.Conv2d(16, 16, 3, groups=16, padding=1)
    wide = rng.standard_normal(32).astype(np.float32)
    m.bias = nn.Parameter(wide[::2])
    x = rng.standard_normal((2, 16, 5, 5)).astype(np.float32)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), wide[::2].copy(), 1, 1, 1, 16)
    for _ in range(2):                      # the first call plans, the second takes the cached plan
        assert_close(m(x), want, np.float32, reduction=9)


# --- 3. GEMM sizes beyond the BLAS's integers --------------------------------------------------------

@pytest.fixture
def lp64_blas():
    """SciPy's cython_blas (32-bit sizes) as the kernels' BLAS for one test."""
    _blas._setup()
    _kernels.set_blas_gemm(0, 0)
    try:
        yield
    finally:
        _blas._state = None
        _blas._setup()


def _kernel_name(plan):
    """The kernel a plan's runner calls ("conv_direct", ...), else the runner's name ("_gemm_runner", ...)."""
    names = [getattr(c.cell_contents, "__qualname__", "").split("[")[0] for c in plan.run.__closure__ or ()]
    return next((n for n in names if n.startswith("conv_")), plan.run.__qualname__.split(".")[0])


def test_huge_output_plane_leaves_32_bit_blas_for_the_direct_loop(lp64_blas, monkeypatch):
    """The probe's case: (1, 2, 1, 1) input, padding 23170 -> a 46341 x 46341 plane (> 2**31 - 1 cells).
    With a 32-bit BLAS, ``ldc = <int>L`` wrapped and OpenBLAS returned garbage; such a plan now takes the
    direct loop (the plan is made from shapes only: nothing of that size is allocated here)."""
    assert _blas.blas_index_max() == 2 ** 31 - 1
    big = conv_ops.ConvPlan((1, 2, 1, 1), (3, 2, 1, 1), np.float32, (1, 1), (1, 1), (23170, 23170), (1, 1),
                            (46341, 46341), 1)
    assert 46341 ** 2 > 2 ** 31 - 1
    assert _kernel_name(big) == "conv_direct"
    args = ((1, 2, 1, 1), (3, 2, 3, 3), np.float32, (3, 3), (1, 1), (100, 100), (1, 1), (199, 199), 1)
    # (by default such a layer is bands of output rows: the 196 rows reading only padding are its bias)
    assert conv_ops.ConvPlan(*args).run.bands == [(0, 98, 0, 0), (98, 99, 2, 3), (99, 100, 1, 2),
                                                  (100, 101, 0, 1), (101, 199, 0, 0)]
    monkeypatch.setattr(conv_ops, "ROW_BANDS", False)
    small = conv_ops.ConvPlan(*args)
    assert _kernel_name(small) == "conv_rows"              # 3 output channels: no BLAS call at all
    wide = conv_ops.ConvPlan((1, 2, 1, 1), (80, 2, 3, 3), np.float32, (3, 3), (1, 1), (100, 100), (1, 1),
                             (199, 199), 1)                 # (more than conv_rows takes at any level)
    assert _kernel_name(wide) == "conv_gemm"


def test_ilp64_blas_takes_64_bit_sizes():
    if _blas.blas_backend() != "numpy-openblas":
        pytest.skip("NumPy's ILP64 OpenBLAS is not the backend here")
    assert _blas.blas_index_max() == 2 ** 63 - 1


GUARD_CHILD = textwrap.dedent("""
    import numpy as np
    from numpy.lib.stride_tricks import as_strided
    from convlab import _kernels
    from convlab.ops import _blas
    _blas._setup()
    _kernels.set_blas_gemm(0, 0)                         # SciPy's cython_blas: 32-bit sizes
    L = 2 ** 31 + 7
    one = np.zeros(1, np.float32)
    huge = lambda *shape: as_strided(one, shape=shape, strides=(0,) * (len(shape) - 1) + (4,))  # never touched
    x = np.zeros((1, 1, 1, 1, 1), np.float32)
    calls = {
        "conv_gemm": lambda: _kernels.conv_gemm(x, np.zeros((1, 1), np.float32), None, huge(1, 1, L),
                                                 (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), (1, 1, L), 1, 0, 1,
                                                 np.zeros((1, 16), np.float32), 1),
        "conv_transpose_gemm": lambda: _kernels.conv_transpose_gemm(
            huge(1, 1, L), np.zeros((1, 1), np.float32), np.zeros((1, 1, 1, 1, 1), np.float32), (1, 1, 1),
            (1, 1, 1), (0, 0, 0), (1, 1, 1), (1, 1, L), 1, 1, np.zeros((1, 16), np.float32), 1),
        "conv_weight_gemm": lambda: _kernels.conv_weight_gemm(
            x, huge(1, 1, L), np.zeros((1, 1, 1), np.float32), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1),
            (1, 1, L), 1, 1, huge(1, L), 1),
    }
    for name, call in calls.items():
        try:
            call()
        except ValueError as e:
            print(name, "refused:", e)
        else:
            print(name, "ran")
""")


SPLIT_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from convlab import _kernels as K
    z = lambda *shape: np.zeros(shape, np.float32)
    geo = ((1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), (1, 3, 3))
    groups, per, threads = (int(v) for v in sys.argv[2:5])
    calls = {
        "conv_gemm": lambda: K.conv_gemm(z(1, 2, 1, 3, 3), z(2, 18), None, z(1, 2, 9), *geo, groups, 0, per,
                                         z(1, 4096), threads),
        "conv_rows": lambda: K.conv_rows(z(1, 2, 1, 3, 3), z(2, 18), None, z(1, 2, 9), *geo, groups, 0, per,
                                         z(1, 4096), threads),
        "conv_weight_gemm": lambda: K.conv_weight_gemm(z(1, 2, 1, 3, 3), z(1, 2, 9), z(2, 18, 2), *geo, groups,
                                                       per, z(2, 4096), threads),
        "conv_transpose_gemm": lambda: K.conv_transpose_gemm(z(1, 2, 9), z(2, 18), z(1, 2, 1, 3, 3), *geo, groups,
                                                             per, z(2, 4096), threads),
        "conv_direct": lambda: K.conv_direct(z(1, 2, 1, 3, 3), z(2, 2, 9), None, z(1, 2, 9), *geo, groups, 0,
                                             threads),
        "conv_wgrad_direct": lambda: K.conv_wgrad_direct(z(1, 2, 1, 3, 3), z(1, 2, 1, 3, 3), z(2, 2, 9), *geo[:4],
                                                         groups, per, threads),
    }
    try:
        calls[sys.argv[1]]()
    except ValueError as e:
        print("refused:", e)
    else:
        print("ran")
""")


@pytest.mark.parametrize("kernel", ["conv_gemm", "conv_rows", "conv_weight_gemm", "conv_transpose_gemm",
                                    "conv_direct", "conv_wgrad_direct"])
def test_kernels_refuse_zero_groups_tiles_and_threads_before_dividing_by_them(kernel):
    """The GEMM, rows and direct kernels divide by their groups and rows per tile with C semantics (cdivision).
    Called directly before 2026-12-07: groups 0 stopped conv_gemm, conv_rows and conv_direct (SIGFPE) and let
    conv_weight_gemm and conv_transpose_gemm return having computed nothing; a tile of 0 rows stopped conv_gemm,
    conv_rows and conv_weight_gemm and sent conv_transpose_gemm into an endless loop; 0 threads aborted conv_gemm
    and conv_rows (OpenMP); conv_wgrad_direct ran on with a slab of 0 rows or 0 threads, unchecked. Each
    now refuses, naming the value (in a child process, with a timeout: a kernel without the check would take the
    test run down)."""
    if kernel == "conv_wgrad_direct" and not _kernels.wgrad_direct_available():
        pytest.skip("conv_wgrad_direct runs at x86-64-v4 only")

    def child(groups, per, threads):
        proc = subprocess.run([sys.executable, "-c", SPLIT_CHILD, kernel, str(groups), str(per), str(threads)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, (groups, per, threads, proc.returncode, proc.stderr[-2000:])
        return proc.stdout.strip()
    assert child(1, 1, 1) == "ran"
    assert child(0, 1, 1).startswith(f"refused: {kernel}: groups=0 must be >= 1 and divide C_in=2"), kernel
    if kernel != "conv_direct":                          # (no unit of work to pass)
        per = {"conv_rows": "rows_per_task", "conv_wgrad_direct": "slab"}.get(kernel, "rows_per_tile")
        assert child(1, 0, 1) == f"refused: {kernel}: {per} and num_threads must be >= 1, got 0 and 1"
    assert child(1, 1, 0).endswith("num_threads must be >= 1, got 0" if kernel == "conv_direct" else
                                   "and num_threads must be >= 1, got 1 and 0"), kernel


def test_gemm_kernels_refuse_sizes_the_blas_cannot_take():
    """Every GEMM kernel checks its sizes and leading dimensions against the BLAS's integers before it runs
    (in a child process: a kernel without the check would write far outside the 4-byte buffer)."""
    proc = subprocess.run([sys.executable, "-c", GUARD_CHILD], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3, proc.stdout
    for line in lines:
        assert "refused" in line and "2147483647" in line, line


# --- 4. fork after a parallel region -----------------------------------------------------------------

def _parallel_work(seed):
    x = np.random.default_rng(seed).standard_normal((2, 16, 64, 64)).astype(np.float32)
    return F.unfold(x, 3), F.conv2d(x, np.ones((8, 16, 3, 3), np.float32), padding=1)


def _pool_task(seed):
    return [float(a.sum()) for a in _parallel_work(seed)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_fork_after_a_two_thread_region_child_computes(threads):
    """libgomp cannot start a thread team in a forked child: the child's kernels must run on one thread
    (they hung before), give the parent's results, and say so when asked for more threads."""
    threads(2)
    want = _parallel_work(0)                            # the parent has run 2-thread regions
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                        # the child: never return into pytest
        code = 1
        try:
            os.close(r)
            got = _parallel_work(0)
            ok = all(np.array_equal(a, b) for a, b in zip(got, want))
            import warnings
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                convlab.set_num_threads(2)
            os.write(w, f"{ok} {convlab.get_num_threads()} {len(caught)}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in a convlab kernel")
        time.sleep(0.05)
    report = os.read(r, 100).decode()
    os.close(r)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report == "True 1 1", report
    assert convlab.get_num_threads() == 2              # the parent keeps its threads


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_fork_started_pool_after_a_parallel_region(threads):
    import multiprocessing
    threads(2)
    _parallel_work(1)
    want = [_pool_task(s) for s in range(4)]
    pool = multiprocessing.get_context("fork").Pool(2)
    try:
        got = pool.map_async(_pool_task, range(4)).get(timeout=60)
    finally:
        pool.terminate()
        pool.join()
    assert got == want


# --- 5. the same call gives the same bits whatever other threads do ---------------------------------

def test_results_do_not_depend_on_other_python_threads(threads):
    """Each call pinned the BLAS to one thread and restored the count when it ended, so one thread's
    restore let another's GEMMs run multi-threaded mid-call: 35 of 800 results differed bitwise."""
    threads(2)
    rng = np.random.default_rng(0)
    cases = []
    for i in range(8):
        x = rng.standard_normal((4, 16, 20, 20)).astype(np.float32)
        w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
        cases.append((x, w, dict(stride=1 + i % 2, padding=i % 3)))
    alone = [F.conv2d(x, w, **kw) for x, w, kw in cases]
    differ = []

    def run(i):
        x, w, kw = cases[i]
        for _ in range(60):
            if not np.array_equal(F.conv2d(x, w, **kw), alone[i]):
                differ.append(i)

    run_in_threads(run, 8)
    assert differ == []
    assert _kernels.blas_pins() == 0


# --- 6. the weight gradient's memory ------------------------------------------------------------------

def test_weight_gradient_memory_stays_within_its_inputs():
    """One sample's whole column matrix was built: (1, 16, 64, 64, 64) with a 3x3x3 kernel peaked 433 MB
    above a 32 MB input. Now the columns are gathered a tile at a time (smaller case here, same ratio)."""
    x = np.random.default_rng(0).standard_normal((1, 8, 32, 32, 32)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((1, 8, 32, 32, 32)).astype(np.float32)
    G.conv3d_weight(x, (8, 8, 3, 3, 3), g, padding=1)
    conv_ops.release_workspace()
    tracemalloc.start()
    try:
        G.conv3d_weight(x, (8, 8, 3, 3, 3), g, padding=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 2 * (x.nbytes + g.nbytes), (peak, x.nbytes + g.nbytes)
    assert peak < x.nbytes                              # the old columns alone were 27x the input


@pytest.mark.parametrize("tiles", ["one tile", "tiny tiles"])
@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("nd,x_shape,w_shape,kw", [
    (1, (3, 4, 20), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
    (2, (2, 4, 9, 11), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    (3, (2, 3, 6, 7, 5), (4, 3, 3, 3, 3), dict(padding=1)),
    (3, (1, 2, 5, 4, 6), (2, 1, 2, 1, 3), dict(stride=(2, 1, 2), dilation=(2, 1, 1), groups=2)),
])
def test_weight_gradient_tiles_match_the_reference(monkeypatch, threads, tiles, nthreads, nd, x_shape, w_shape, kw):
    """The fused weight gradient, one tile per sample or one output row per tile, on 1 and 2 threads,
    against the reference: grad_w[co, ci, t] = sum_{n, o} grad_out[n, co, o] * x[n, ci, o*s - p + t*d]."""
    threads(nthreads)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    if tiles == "tiny tiles":
        monkeypatch.setattr(conv_ops, "WORKSPACE_BYTES", 1)
        monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", 1)
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape)
        out = ref.conv_nd(x.astype(np.float64), w, None, kw.get("stride", 1), kw.get("padding", 0),
                          kw.get("dilation", 1), kw.get("groups", 1))
        go = rng.standard_normal(out.shape)
        # grad_w[g-th block] = sum_n go[n, block] @ unfold(x)[n, group rows].T, with the naive unfold
        groups, c_out, cg = kw.get("groups", 1), w_shape[0], w_shape[1]
        cols = ref.unfold_nd(x.astype(np.float64), w_shape[2:], kw.get("dilation", 1), kw.get("padding", 0),
                             kw.get("stride", 1))
        k = int(np.prod(w_shape[2:]))
        go2 = go.reshape(go.shape[0], c_out, -1)
        want = np.concatenate([
            np.einsum("nol,nrl->or", go2[:, gi * (c_out // groups):(gi + 1) * (c_out // groups)],
                      cols[:, gi * cg * k:(gi + 1) * cg * k]) for gi in range(groups)]).reshape(w_shape)
        got = getattr(G, f"conv{nd}d_weight")(x, w_shape, go.astype(dtype), **kw)
        assert_close(got, want, dtype, reduction=go[:, 0].size)


# --- 7. huge stride/padding on depthwise; empty batches of transposed convs ---------------------------

@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_depthwise_with_huge_stride_and_padding_is_small(nd):
    """stride 2**40, padding 2**39: two outputs per axis, far apart. The depthwise kernel padded the
    whole plane (8 TiB); torch returns the (1, 2, 2, ...) result at once."""
    x = np.arange(2 * 3 ** nd, dtype=np.float64).reshape((1, 2) + (3,) * nd) + 1
    w = np.arange(2, dtype=np.float64).reshape((2, 1) + (1,) * nd) + 2
    b = np.array([0.5, -1.0])
    got = getattr(F, f"conv{nd}d")(x, w, b, stride=2 ** 40, padding=2 ** 39, groups=2)
    want = getattr(torch.nn.functional, f"conv{nd}d")(torch.from_numpy(x), torch.from_numpy(w),
                                                      torch.from_numpy(b), stride=2 ** 40, padding=2 ** 39,
                                                      groups=2).numpy()
    assert got.shape == want.shape == (1, 2) + (2,) * nd
    np.testing.assert_array_equal(got, want)


def _outcome(fn):
    try:
        return "ok", tuple(fn().shape)
    except (RuntimeError, ValueError) as e:     # ShapeError is both
        return "error", type(e).__name__ if not isinstance(e, RuntimeError) else "RuntimeError"


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_transposed_conv_of_an_empty_batch_like_torch(nd):
    """torch returns an empty array for a batch of 0 samples, even with a size-0 input or output axis, and
    raises only for a negative output size; convlab raised ("Output size is too small")."""
    import itertools
    ft = getattr(torch.nn.functional, f"conv_transpose{nd}d")
    fc = getattr(F, f"conv_transpose{nd}d")
    checked = 0
    for n, size, k, s, p, d, op in itertools.product((0, 1), (0, 1, 2), (1, 2, 3), (1, 2), (0, 1, 2), (1, 2),
                                                      (0, 1)):
        if op >= max(s, d):
            continue
        x = np.ones((n, 2, size) + (2,) * (nd - 1), np.float32)
        w = np.ones((2, 3) + (k,) * nd, np.float32)
        kw = dict(stride=s, padding=p, output_padding=op, dilation=d)
        want = _outcome(lambda: ft(torch.from_numpy(x), torch.from_numpy(w), **kw))
        got = _outcome(lambda: fc(x, w, **kw))
        assert got == want, (n, size, kw)
        checked += want[0] == "ok" and n == 0
    assert checked > 20


# --- 8. the matplotlib bound says what is tested ---------------------------------------------------

def test_matplotlib_bound_is_the_tested_floor():
    """Every extra asks for the same matplotlib floor, the one tests/test_viz_oldest_matplotlib.py runs the
    figures on (3.7: public API only), and the installed matplotlib satisfies it."""
    from test_viz_oldest_matplotlib import matplotlib_floor
    text = (ROOT / "pyproject.toml").read_text()
    assert "matplotlib\"" not in text.replace(" ", "")            # no extra without a bound
    floor = matplotlib_floor()
    assert floor == (3, 7), floor
    mpl = pytest.importorskip("matplotlib")
    assert tuple(int(v) for v in mpl.__version__.split(".")[:2]) >= floor


# --- 9. NumPy's library folder compared by whole path components -------------------------------------

def test_library_folders_compare_whole_path_components(tmp_path):
    libs = tmp_path / "numpy.libs"
    assert _blas._inside(str(libs / "libscipy_openblas64_.so"), [str(libs)])
    assert _blas._inside(str(libs / "sub" / "lib.so"), [str(libs)])
    assert not _blas._inside(str(tmp_path / "numpy.libs_x" / "libscipy_openblas64_.so"), [str(libs)])
    assert not _blas._inside(str(tmp_path / "numpy.libsother.so"), [str(libs)])
