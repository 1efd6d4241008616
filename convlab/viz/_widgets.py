"""Plumbing shared by every explorer: a figure shown as a PNG ``ipywidgets.Image``.

An explorer builds its matplotlib figure once (Agg, no pyplot state), and an
``update(**values)`` function that moves the existing artists. :func:`explorer`
wires controls to ``update`` and re-renders the PNG; :func:`static_explorer`
pre-renders one frame per slider value and links slider -> frame on the client
(``jslink``), so the control keeps working in a static page with no kernel.

PNG frames (not ipympl) keep one code path for JupyterLab, the slides and the
static book, and need no front-end extension.
"""
from __future__ import annotations

import io
import time

import ipywidgets as widgets
from matplotlib.figure import Figure

from . import style


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A figure detached from pyplot (no global state, no inline display)."""
    return Figure(figsize=(width, height), dpi=style.DPI, layout="constrained", **kwargs)


def render_png(fig: Figure, dpi: int | None = None) -> bytes:
    buf = io.BytesIO()
    # compress_level 1: a few times faster to encode than the default 6, for slightly larger frames
    fig.savefig(buf, format="png", dpi=dpi or style.DPI, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


class Explorer(widgets.VBox):
    """Controls above a figure image. ``set(**values)`` changes controls programmatically (tests, notebooks).

    Attributes: ``controls`` (name -> widget), ``figure``, ``image``, ``state`` (whatever
    ``update`` returned last: numbers the tests and the follow-up notebook cells check),
    ``last_redraw_ms``.
    """

    def __init__(self, figure: Figure, controls: dict, update, extra=None):
        self.controls = dict(controls)
        self.figure = figure
        self.image = widgets.Image(format="png")
        self._update = update
        self.state = None
        self.last_redraw_ms = float("nan")
        rows = [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))]
        rows += list(extra or [])
        super().__init__(rows + [self.image])
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.refresh()

    def values(self) -> dict:
        return {name: w.value for name, w in self.controls.items()}

    def refresh(self):
        t0 = time.perf_counter()
        self.state = self._update(**self.values())
        self.image.value = render_png(self.figure)
        self.last_redraw_ms = (time.perf_counter() - t0) * 1e3
        return self.state

    def _on_change(self, change):
        self.refresh()

    def adjust(self, name, **traits):
        """Change traits of control ``name`` (``max``, ``options``, ``value`` …) without a redraw.

        For ``update`` functions whose ranges depend on other controls (e.g. the
        number of output positions); a value clamped by the new range triggers no
        nested redraw. Returns the control.
        """
        w = self.controls[name]
        w.unobserve(self._on_change, names="value")
        try:
            for key, value in traits.items():
                setattr(w, key, value)
        finally:
            w.observe(self._on_change, names="value")
        return w

    def set(self, **values):
        """Set several controls at once, then redraw once; returns the new ``state``."""
        for name, value in values.items():
            w = self.controls[name]
            w.unobserve(self._on_change, names="value")
            try:
                w.value = value
            finally:
                w.observe(self._on_change, names="value")
        return self.refresh()


def explorer(figure: Figure, controls: dict, update, extra=None) -> Explorer:
    """Build an :class:`Explorer`: ``update(**control_values)`` moves artists and returns a state dict."""
    return Explorer(figure, controls, update, extra)


def static_explorer(figure: Figure, update, name: str, values, fixed: dict | None = None,
                    description: str | None = None, interval_ms: int = 700) -> widgets.VBox:
    """Pre-render one PNG per value of one control and link a slider (and Play) to them on the client.

    Works in a static HTML page with no kernel: the link is ``jslink`` between the
    slider's ``index`` and a ``Stack``'s ``selected_index``.
    """
    fixed = dict(fixed or {})
    values = list(values)
    frames = []
    for v in values:
        update(**fixed, **{name: v})
        frames.append(widgets.Image(value=render_png(figure), format="png"))
    slider = widgets.SelectionSlider(options=[(str(v), i) for i, v in enumerate(values)], value=0,
                                     description=description or name, continuous_update=True)
    play = widgets.Play(min=0, max=len(values) - 1, step=1, interval=interval_ms, value=0)
    stack = widgets.Stack(frames, selected_index=0)
    widgets.jslink((play, "value"), (slider, "index"))
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    box = widgets.VBox([widgets.HBox([play, slider]), stack])
    box.frames = frames
    box.slider = slider
    return box
