"""The static figures on the oldest matplotlib the extras allow (the ``matplotlib>=`` bound of pyproject.toml).

convlab.viz uses public matplotlib API only, so the bound is the oldest release its figures were seen to
work with. Checking it needs that release beside this one, in a folder of its own::

    pip install --no-deps --target /tmp/mpl-oldest matplotlib==3.7.5 numpy==1.26.4
    CONVLAB_OLD_MPL=/tmp/mpl-oldest python -m pytest tests/test_viz_oldest_matplotlib.py

(``numpy==1.26.4``: matplotlib 3.7 was built against NumPy 1 and does not import under NumPy 2; convlab
allows ``numpy>=1.25``.) This test then runs the figure tests in a subprocess with that folder first on
``sys.path``. Without ``CONVLAB_OLD_MPL`` it is skipped.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURE_TESTS = ["tests/test_viz_transpose.py"]       # every test that draws a matplotlib figure


def matplotlib_floor() -> tuple:
    """The ``(major, minor)`` of the ``matplotlib>=`` bound, the same in every extra."""
    bounds = set(re.findall(r'"matplotlib>=([0-9.]+)"', (ROOT / "pyproject.toml").read_text()))
    assert len(bounds) == 1, bounds
    return tuple(int(v) for v in bounds.pop().split(".")[:2])


def test_figures_work_on_the_oldest_allowed_matplotlib():
    target = os.environ.get("CONVLAB_OLD_MPL")
    if not target:
        pytest.skip("set CONVLAB_OLD_MPL to a pip --target folder holding the oldest allowed matplotlib")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([target, str(ROOT), os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="Agg")
    version = subprocess.run([sys.executable, "-c", "import matplotlib; print(matplotlib.__version__)"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
    assert version.returncode == 0, version.stderr[-2000:]
    got = tuple(int(v) for v in version.stdout.strip().split(".")[:2])
    assert got == matplotlib_floor(), f"{target} holds matplotlib {version.stdout.strip()}, the bound is " \
                                      f"{matplotlib_floor()}"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FIGURE_TESTS],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", run.stdout) and " failed" not in run.stdout
