"""Each notebook in a real JupyterLab (started here on 127.0.0.1, token off, a temporary root with
copies of the notebooks, a kernel importing the convlab of this checkout): run every cell, no error
output; every control of every explorer drawn in the browser changes its picture, with the numbers the
Python view computes; no explorer is left that only moves with the kernel (every slider moves a view)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from browserlib import exercise_explorer, exercise_quizzes, explorer_report, kernel_only_explorers, quiz_report, views

CELL_TIMEOUT_S = float(os.environ.get("CONVLAB_LAB_TIMEOUT", "300"))
# anywidget's lab extension rejects a model's `ready` promise when the model has not initialised within 2 s of
# being created (its runtime arms AbortSignal.timeout(2000)), an unhandled rejection with this message. On a
# starved machine it fires (05b, twice, in both full CI runs of 2026-12-03 on a host loaded from outside; the
# same test alone and test_lab.py alone passed without it). The message says the browser was slow, not that an
# explorer failed: the test has by then found every explorer drawn, every control live and every number equal
# to Python's. Any other page error still fails it.
SLOW_MODEL_INIT = "[anywidget] Failed to initialize model."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser):
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("jupyterlab is not installed (it is in the notebooks extra)")
    from browserlib import NOTEBOOKS, REPO
    if not NOTEBOOKS:
        pytest.skip("no notebooks/*.ipynb yet")
    root = tmp_path_factory.mktemp("lab-root")
    for nb in NOTEBOOKS:
        shutil.copy(nb, root / nb.name)
    for extra in (REPO / "notebooks").iterdir():          # data files or helpers next to the notebooks
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy(extra, root / extra.name)
    settings = tmp_path_factory.mktemp("lab-settings")
    note = settings / "@jupyterlab" / "apputils-extension"
    note.mkdir(parents=True)
    (note / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell (JupyterLab 4 otherwise only renders cells near the viewport, so an explorer far
    # down a notebook would not be in the page to find).
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    log = open(root.parent / "lab.log", "w")
    # the kernel imports the convlab of the checkout these tests live in, whatever is installed
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PYTHONPATH=path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={settings}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url + "api/status", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start:\n" + (root.parent / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield url, root
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def lab_page(lab, browser):
    """One browser tab for all notebooks (JupyterLab's scripts load once); a fresh request log per test."""
    from browserlib import PageLog
    url, _ = lab
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    log = PageLog(page, url)
    yield page, log
    ctx.close()


RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready; await panel.sessionContext.ready;
  await app.commands.execute('notebook:run-all-cells');
}"""

STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = Array.from(panel.content.model.cells).filter(c => c.type === 'code' && c.sharedModel.getSource().trim());
  const errors = [];
  let pending = 0;
  for (const c of cells) {
    if (c.executionCount === null || c.executionCount === undefined) pending += 1;
    for (const o of c.outputs.toJSON()) if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  }
  const busy = Array.from(document.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'));
  return {status: kernel ? kernel.status : 'none', pending, busy, errors, cells: cells.length};
}"""


CLOSE = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext) return;
  await panel.sessionContext.shutdown();
  panel.context.model.dirty = false;
  panel.close();
}"""


def test_notebook_runs_and_main_slider_redraws(notebook, lab, lab_page, screenshots):
    url, root = lab
    page, log = lab_page
    log.errors.clear()
    try:
        _run_and_move(notebook, url, page, log, screenshots)
    finally:
        page.evaluate(CLOSE)


def _run_and_move(notebook, url, page, log, screenshots):
    page.goto(f"{url}lab/tree/{notebook.name}")
    page.wait_for_function(f"() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           f"&& window.jupyterapp.shell.currentWidget.context "
                           f"&& window.jupyterapp.shell.currentWidget.context.path === {notebook.name!r}",
                           timeout=90_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate(RUN_ALL)
    deadline = time.monotonic() + CELL_TIMEOUT_S
    state = page.evaluate(STATE)
    while time.monotonic() < deadline and (state["pending"] or state["busy"] or state["status"] != "idle") \
            and not state["errors"]:
        page.wait_for_timeout(500)
        state = page.evaluate(STATE)
    assert not state["errors"], f"{notebook.name}: error output {state['errors']}"
    assert not state["pending"] and state["status"] == "idle", f"{notebook.name}: cells still running {state}"
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    drawn = views(page)
    # one move per control (the book's test moves each three times and the views' grids walk every state); what
    # can differ here is the wiring (widget manager, jslink, the kernel's models), which one move exercises
    results = [exercise_explorer(page, v["index"], steps=1) for v in drawn]
    print("\n" + explorer_report(f"lab {notebook.name}", results))
    for r in results:
        assert r["live"] == r["controls"] and r["controls"], f"{notebook.name}: {r['view']}: dead controls {r['dead']}"
        assert not r["mismatches"], f"{notebook.name}: {r['view']} drew other numbers than Python: {r['mismatches'][:2]}"
    q = exercise_quizzes(page, limit=2)
    print(quiz_report(f"lab {notebook.name}", q))
    assert not q["problems"] and q["confirmed"] == q["quizzes"], q["problems"][:3]
    if drawn:
        box = page.locator('[data-convlab-box="0"]')
        box.scroll_into_view_if_needed()
        box.screenshot(path=str(screenshots / f"{notebook.stem}.lab.png"))
    stray = kernel_only_explorers(page)
    assert not stray, f"{notebook.name}: an explorer that only moves with a kernel (sliders: {stray})"
    if not drawn:
        pytest.skip(f"{notebook.name} ran ({state['cells']} code cells, no errors) but shows no explorer")
    slow = log.errors.count(SLOW_MODEL_INIT)
    if slow:
        print(f"lab {notebook.name}: anywidget's 2 s model watchdog fired {slow} time(s) (a slow browser); "
              f"every explorer was checked live above")
    assert not [e for e in log.errors if e != SLOW_MODEL_INIT], log.summary()
