"""Two builds of convlab on the same bench rows, in alternating bursts: is a change faster?

    python bench/pair.py OLD_CHECKOUT NEW_CHECKOUT --filter "resnet18 3x3 s2" --threads 1 --rounds 60
    python bench/pair.py OLD_CHECKOUT NEW_CHECKOUT --filter "g32 s2" --batch 1     # one sample per call
    python bench/pair.py OLD_CHECKOUT NEW_CHECKOUT --filter "1x1" --probe   # bench/ab.py's PROBE layers

Each checkout must be built in place (``python setup.py build_ext --inplace``). One worker process per
checkout imports its convlab, builds the rows of ``bench/run.py``'s suite whose names contain ``--filter``
and waits; the workers then take turns running a burst of calls (~50 ms) on each row, in alternating order,
``--rounds`` times. Each round gives one paired ratio NEW/OLD from two bursts a few milliseconds apart, so
a host whose load drifts over seconds or minutes (a shared 2-core machine varied up to 2x between runs of the
full bench) hits both builds alike. Printed per row: both medians, and the paired ratio's median with its
quartiles (< 1: NEW is faster). Run it with the same checkout twice to see the host's own spread: on the
machine of bench/README.md's tables that gave a median of 1.00 and quartiles 0.95 / 1.06.

Not a test and not the bench (bench/run.py compares convlab with torch and NumPy); a tool for deciding
whether a change to a kernel is worth keeping.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BURST_S = 0.05


def _worker(root: str, pattern: str, threads: int, batch: int = 0, probe: bool = False) -> None:
    """Build the matching rows with ``root``'s convlab, then answer each line ``i`` of stdin with the time of
    one burst of row i, in milliseconds per call."""
    sys.path.insert(0, os.path.abspath(root))
    import convlab                                             # noqa: F401  (this checkout's, before run.py's)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import run
    run.BATCH = batch
    run.pin_allocator()                 # (as bench/run.py: both builds' bursts start from the same allocator state)
    if os.path.dirname(os.path.abspath(convlab.__file__)) != os.path.join(os.path.abspath(root), "convlab"):
        sys.exit(f"pair.py: imported convlab from {convlab.__file__}, not from {root}")
    from threadpoolctl import threadpool_limits
    convlab.set_num_threads(threads)
    rows = []
    makers = run.suite()
    if probe:                           # ab.py's PROBE layers instead of the suite's rows
        import ab
        makers = [(lambda spec=spec: run.conv_case(*spec)) for spec in ab.PROBE if pattern in spec[0]]
    for make in makers:                 # a row's name is a string constant of its maker (a test holds every row to
        # it): build only the rows whose maker holds the filter text
        if probe or any(isinstance(c, str) and pattern in c for c in make.__code__.co_consts):
            case = make()
            if pattern in case["name"]:
                case["ours"]()
                rows.append(case)
    print(len(rows), flush=True)
    for case in rows:
        print(case["name"], flush=True)
    with threadpool_limits(threads):
        calls = []
        for case in rows:                       # calls per burst, fixed per row so both builds get whole calls
            t0, k = time.perf_counter(), 0
            while time.perf_counter() - t0 < BURST_S:
                case["ours"]()
                k += 1
            calls.append(k)
        for line in sys.stdin:
            i = int(line)
            f, k = rows[i]["ours"], calls[i]
            t0 = time.perf_counter()
            for _ in range(k):
                f()
            print((time.perf_counter() - t0) / k * 1e3, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", help="checkout of the build to compare against (built in place)")
    ap.add_argument("new", help="checkout of the changed build (built in place)")
    ap.add_argument("--filter", default="", help="rows whose names contain this text (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=40, help="paired bursts per row (default 40)")
    ap.add_argument("--batch", type=int, default=0,
                    help="every conv row with this many samples, as bench/run.py --batch (default: the suite's)")
    ap.add_argument("--probe", action="store_true", help="bench/ab.py's PROBE layers instead of the suite's rows")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:                  # (one build's process, started below)
        _worker(argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5] == "1")
        return 0
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.threads < 1 or args.batch < 0:
        ap.error(f"--rounds and --threads must be at least 1 and --batch at least 0, got {args.rounds}, "
                 f"{args.threads} and {args.batch}")
    for root in (args.old, args.new):
        if not os.path.isdir(os.path.join(root, "convlab")):
            ap.error(f"{root!r} is not a convlab checkout (no convlab/ folder in it)")
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", root, args.filter,
                               str(args.threads), str(args.batch), str(int(args.probe))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for root in (args.old, args.new)]
    try:
        names = []
        for p in procs:
            count = int(p.stdout.readline())
            names.append([p.stdout.readline().strip() for _ in range(count)])
        if names[0] != names[1]:
            sys.exit(f"pair.py: the two checkouts' suites differ for --filter {args.filter!r}: "
                     f"{names[0]} / {names[1]}")
        if not names[0]:
            sys.exit(f"pair.py: no {'PROBE layer' if args.probe else 'bench row'}'s name contains {args.filter!r}")
        print(f"# {args.old} (old) vs {args.new} (new), {args.threads} thread(s), {args.rounds} paired bursts "
              f"of ~{BURST_S * 1e3:.0f} ms per row"
              + (f", {args.batch} sample(s) per call" if args.batch else "") + "; ratio new/old, < 1: new is faster")
        print(f"{'row':58s} {'old ms':>9s} {'new ms':>9s} {'ratio':>6s} {'q1':>6s} {'q3':>6s}")
        for i, name in enumerate(names[0]):
            times = ([], [])
            for r in range(args.rounds):
                for j in ((0, 1) if r % 2 == 0 else (1, 0)):
                    procs[j].stdin.write(f"{i}\n")
                    procs[j].stdin.flush()
                    times[j].append(float(procs[j].stdout.readline()))
            ratios = sorted(b / a for a, b in zip(*times))
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            print(f"{name[:58]:58s} {statistics.median(times[0]):9.3f} {statistics.median(times[1]):9.3f} "
                  f"{statistics.median(ratios):6.3f} {q[0]:6.3f} {q[2]:6.3f}", flush=True)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
