"""bench/pair.py, the A/B tool for kernel changes, and bench/ab.py, the one for planner thresholds: they run, pair
their bursts and refuse what they cannot compare."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")            # the bench's rows are built against torch
pytest.importorskip("threadpoolctl")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAIR = os.path.join(ROOT, "bench", "pair.py")
AB = os.path.join(ROOT, "bench", "ab.py")


def _pair(*args):
    return subprocess.run([sys.executable, PAIR, *args], capture_output=True, text=True, timeout=600)


def test_pair_compares_a_checkout_with_itself():
    done = _pair(ROOT, ROOT, "--filter", "tiny Conv2d(1,1,3)", "--rounds", "5")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("tiny Conv2d(1,1,3)")]
    assert len(rows) == 1, done.stdout
    old, new, ratio, q1, q3 = (float(v) for v in rows[0].split()[-5:])
    assert old > 0 and new > 0
    assert q1 <= ratio <= q3
    assert 0.2 < ratio < 5              # the same build on both sides: only the host's noise between them


def test_pair_runs_rows_with_one_sample():
    done = _pair(ROOT, ROOT, "--filter", "resnet18 1x1 s2", "--rounds", "2", "--batch", "1")
    assert done.returncode == 0, done.stderr
    assert "1 sample(s) per call" in done.stdout.splitlines()[0]
    rows = [line for line in done.stdout.splitlines() if line.startswith("resnet18 1x1 s2")]
    assert len(rows) == 1, done.stdout
    old, new = (float(v) for v in rows[0].split()[-5:-3])
    assert 0 < old and 0 < new


@pytest.mark.parametrize("args,message", [
    (("{root}", "{root}/no-such-checkout"), "is not a convlab checkout"),
    (("{root}", "{root}", "--filter", "no row has this name"), "no bench row's name contains"),
    (("{root}", "{root}", "--rounds", "0"), "must be at least 1"),
    (("{root}", "{root}", "--batch", "-1"), "--batch at least 0"),
])
def test_pair_refuses_what_it_cannot_compare(args, message):
    done = _pair(*(a.format(root=ROOT) for a in args))
    assert done.returncode != 0
    assert message in done.stderr


def test_ab_runs_a_layer_at_both_values_of_a_threshold():
    from convlab import _kernels
    done = subprocess.run([sys.executable, AB, "BLOCKED_MIN_EXPANSION", "10**9", "--filter", "2x2 64->64",
                           "--rounds", "2"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("2x2 64->64")]
    assert len(rows) == 1, done.stdout
    now, other = rows[0][-6:-4]
    # 4 copies of the input in im2col's columns: the blocked kernel where it is planned (AVX-512), else the GEMM
    assert now == ("blocked_runner" if _kernels.simd_path() == "x86-64-v4" else "gemm_runner"), done.stdout
    assert other == "gemm_runner", done.stdout
    ratio, quartiles = float(rows[0][-4]), rows[0][-3].strip("()").split("-")
    assert float(quartiles[0]) <= ratio <= float(quartiles[1])


def test_ab_refuses_a_name_that_is_not_a_threshold():
    done = subprocess.run([sys.executable, AB, "NO_SUCH_THRESHOLD", "1"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode != 0
    assert "is not a threshold of convlab.ops.conv" in done.stderr


def _repaint():
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_repaint", os.path.join(ROOT, "bench", "repaint.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_repaint_table_holds_each_grid_to_the_frame_budget():
    rp = _repaint()
    fast = {"view": "fast", "states": 3, "paints": [1.0, 2.0, 3.0, 60.0]}          # a slow worst is not held
    slow_median = {"view": "slow median", "states": 3, "paints": [15.0, 17.0, 18.0]}
    slow_tail = {"view": "slow tail", "states": 21, "paints": [1.0] * 18 + [51.0, 52.0, 53.0]}
    lines, missed = rp.table([fast, slow_median, slow_tail])
    verdicts = {line.split()[0] + (" " + line.split()[1] if line.split()[1].isalpha() else ""): line.split()[-1]
                for line in lines[1:-1]}
    assert verdicts == {"fast": "kept", "slow median": "MISSED", "slow tail": "MISSED"}, lines
    assert missed == 2 and lines[-1] == "# 3 grids, 2 over budget"
    med, p95, worst = rp.summarize(slow_tail["paints"])
    assert (med, worst) == (1.0, 53.0) and p95 == sorted(slow_tail["paints"])[19]



def test_every_bench_row_name_is_a_constant_of_its_maker():
    """pair.py builds only the rows whose maker holds the filter text as a string constant (building all 70
    takes seconds and memory per worker); a row whose name were put together at run time would be skipped
    without a word, so every row's name must be written out in its maker."""
    run = _bench_run()
    built = [(make, make()["name"]) for make in run.suite()]
    assert len(built) >= 40
    hidden = [name for make, name in built
              if not any(isinstance(c, str) and name in c for c in make.__code__.co_consts)]
    assert not hidden, f"rows pair.py could not select: {hidden}"


@pytest.mark.parametrize("batch,samples", [(0, 5), (1, 1), (3, 3)])
def test_batch_option_gives_a_conv_row_that_many_samples(monkeypatch, batch, samples):
    """``run.py --batch N`` (and ``ab.py --batch N``): a conv row's input has N samples, torch's too; 0 keeps the
    row's own."""
    run = _bench_run()
    monkeypatch.setattr(run, "BATCH", batch)
    case = run.conv_case("a row", "Conv2d", (4, 8, 3), {}, (5, 4, 9, 9))
    ours, theirs = case["ours"](), case["torch"]()
    assert ours.shape == tuple(theirs.shape) == (samples, 8, 7, 7)


def test_host_steal_is_the_eighth_number_of_the_cpu_line(tmp_path):
    """run.py's ``stealms`` column: the hypervisor's steal counter (in clock ticks) of /proc/stat's first line,
    as seconds; None for a file without it (another OS, an older kernel)."""
    run = _bench_run()
    stat = tmp_path / "stat"
    ticks = os.sysconf("SC_CLK_TCK")
    stat.write_text(f"cpu  10 20 30 40 50 60 70 {3 * ticks} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    assert run.host_steal_s(str(stat)) == 3.0
    stat.write_text("cpu  10 20 30 40\n")
    assert run.host_steal_s(str(stat)) is None
    assert run.host_steal_s(str(tmp_path / "missing")) is None
    assert run.fmt_steal(None).strip() == "-" and run.fmt_steal(0.0123).strip() == "12"


def _bench_run():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import run
    finally:
        sys.path.pop(0)
    return run


class _Clock:
    """A fake perf_counter: a call of a timed function moves it on by its cost, so the timings are exact."""
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_turn_is_the_median_of_its_batches_so_a_short_burst_of_load_does_not_move_it(monkeypatch):
    run = _bench_run()
    clock = _Clock()
    monkeypatch.setattr(run.time, "perf_counter", clock)
    calls = []

    def fn():                               # 1 ms a call; calls 20-27 (in two of the 9 batches) take 31 ms
        calls.append(None)
        clock.now += 0.031 if 20 <= len(calls) < 28 else 0.001

    took = run._time(fn, budget_s=0.07, batches=9)
    assert len(calls) == 1 + 72               # the first call sizes the burst: 70 calls, in 9 batches of 8
    assert took == pytest.approx(0.001)       # the mean of the burst would be (64 * 1 + 8 * 31) / 72 = 4.3 ms


def test_the_ratio_is_paired_round_by_round(monkeypatch):
    """Load that rises between convlab's and torch's turns of round 3 and stays: the medians of the two lists come
    from different phases of it (1 ms against 10 ms: 0.1), the rounds' own ratios stay 0.5."""
    import numpy as np
    import torch
    run = _bench_run()
    clock = _Clock()
    turns = []
    monkeypatch.setattr(run.time, "perf_counter", clock)
    monkeypatch.setattr(run.time, "sleep", lambda s: turns.append(s))    # each turn starts with the pause
    load = lambda: 5.0 if len(turns) >= 6 else 1.0                      # noqa: E731 (turn 6: torch's of round 3)

    def ours():
        clock.now += 0.001 * load()
        return np.zeros(1, dtype=np.float32)

    def theirs():
        clock.now += 0.002 * load()
        return torch.zeros(1)

    case = dict(name="fake", ours=ours, torch=theirs, flops=0, gemm=False)
    r = run.run_case(case, repeats=5, numpy=False)
    assert len(turns) == 10
    assert [t / 1e-3 for t in r["rounds"]["ours"]] == pytest.approx([1, 1, 1, 5, 5])
    assert [t / 2e-3 for t in r["rounds"]["torch"]] == pytest.approx([1, 1, 5, 5, 5])
    assert r["ratio_torch"] == pytest.approx(0.5)
    assert r["ratio_of_medians"] == pytest.approx(0.1)


_MAPPED_BLOCKS = """
import ctypes, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import run
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
info = ctypes.CDLL(None).mallinfo2
info.restype = Info
if sys.argv[2] == "pin":
    assert run.pin_allocator() is not None
counts = []
for _ in range(3):                       # a 24 MiB buffer, written, freed, three times
    before = info().hblks
    a = np.ones(24 << 20, dtype=np.uint8)
    counts.append(info().hblks - before)
    del a
print(*counts)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
@pytest.mark.parametrize("pin,mapped", [("pin", [0, 0, 0]), ("no", [1, 0, 0])])
def test_pin_allocator_serves_large_buffers_from_the_heap_from_the_first_call(pin, mapped):
    """bench/run.py's ``pin_allocator``: without it, glibc maps the first 24 MiB buffer afresh (its every page
    faults on first touch) and the heap serves the next ones only after that block was freed, so a library's
    first rows paid the faults and later ones did not; pinned, the heap serves every one."""
    import ctypes
    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("a C library without mallinfo2 (glibc < 2.33)")
    done = subprocess.run([sys.executable, "-c", _MAPPED_BLOCKS, os.path.join(ROOT, "bench"), pin],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [int(v) for v in done.stdout.split()] == mapped


def test_gemm_only_keeps_exactly_the_rows_marked_gemm_shaped():
    """``run.py --gemm-only``: the rows whose GFLOP/s is measured against the sgemm rate, every one of them and no
    other; with ``--filter`` both must hold."""
    run = _bench_run()
    rows = [make() for make in run.suite()]
    kept = [r["name"] for r in rows if run.wanted(r, "", gemm_only=True)]
    marked = [r["name"] for r in rows if r.get("gemm")]
    assert kept == marked and 0 < len(kept) < len(rows)
    assert all(run.wanted(r, "") for r in rows)
    resnet = [r["name"] for r in rows if run.wanted(r, "resnet18", gemm_only=True)]
    assert resnet and all("resnet18" in n for n in resnet) and set(resnet) < set(marked)
    assert not any(run.wanted(r, "F.pad", gemm_only=True) for r in rows)
