"""Explorers drawn in the browser: an anywidget view (state in traits, an ES module that draws SVG) under
ordinary ipywidgets controls ``jslink``ed to those traits.

The link lives in the browser, so a control moves the picture in JupyterLab, in the static book and in
the slide decks alike, with no kernel. Each view class also computes in Python, with convlab, the numbers
its picture shows (:meth:`View.drawn_numbers`); the view writes its own into ``data-numbers`` and the
state it drew into ``data-state``, and the browser tests compare the two (``View.from_state``).

The ES module of a view is ``js/common.js`` (SVG helpers, the render loop, the repaint timer) followed by
the view's own file, which ends with ``export default view(draw)``.
"""
from __future__ import annotations

from pathlib import Path

import json

import anywidget
import ipywidgets as widgets
import traitlets

from . import style

JS = Path(__file__).with_name("js")

#: view class name -> class (what ``data-convlab-view`` names in a page); filled as the modules below load
VIEWS: dict = {}
VIEW_MODULES = ("signal1d", "window", "shape_panel", "predict", "init", "channels", "slices3d", "transpose", "lazy",
                "unfold")


def esm(name: str) -> str:
    """The ES module of view ``name``: the palette (``STYLE``), ``js/common.js``, then ``js/<name>.js``."""
    return "\n".join([f"const STYLE = {json.dumps(style.js_style())};",
                      (JS / "common.js").read_text(encoding="utf-8"),
                      (JS / f"{name}.js").read_text(encoding="utf-8")])


class View(anywidget.AnyWidget):
    """Base of the explorer views. Subclasses set ``_esm`` (see :func:`esm`), declare their synced traits
    and implement :meth:`drawn_numbers`."""

    _css = (JS / "view.css").read_text(encoding="utf-8")
    _convlab_view = traitlets.Unicode().tag(sync=True)
    _state_names = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._convlab_view = type(self).__name__
        self._state_names = self.state_names()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        VIEWS[cls.__name__] = cls

    @classmethod
    def state_names(cls) -> list:
        """The synced traits that describe what is drawn (anywidget's and ipywidgets' own left out)."""
        return [n for n, t in cls.class_traits(sync=True).items()
                if not n.startswith("_") and n not in widgets.DOMWidget.class_trait_names()]

    def state(self) -> dict:
        return {n: getattr(self, n) for n in self.state_names()}

    @classmethod
    def from_state(cls, state: dict) -> "View":
        """A view in ``state`` (the ``data-state`` a page shows), to ask for its :meth:`drawn_numbers`."""
        return cls(**{n: v for n, v in state.items() if n in cls.state_names()})

    def drawn_numbers(self) -> dict:      # pragma: no cover - abstract
        raise NotImplementedError

    def explain(self) -> dict:
        """What ``ExplorerBox.set`` and ``.state`` return: :meth:`drawn_numbers`, unless a view says more
        (e.g. an error's message, which the picture shows in its own words)."""
        return self.drawn_numbers()


class Geometry(traitlets.HasTraits):
    """The four layer arguments the sliding-window and formula views share, as synced traits."""

    kernel_size = traitlets.Int(3).tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    padding = traitlets.Int(0).tag(sync=True)
    dilation = traitlets.Int(1).tag(sync=True)


def numbers_for(name: str, state: dict) -> dict:
    """``drawn_numbers`` of the view class ``name`` in ``state`` (the browser tests' oracle)."""
    import importlib
    for module in VIEW_MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return VIEWS[name].from_state(state).drawn_numbers()


class ExplorerBox(widgets.VBox):
    """Controls above a view. ``controls`` (name -> widget; a dropdown is linked by its index, so the
    view's trait of that name holds the index), ``view``; ``set(**values)`` moves controls
    and view together (in the browser ``jslink`` does that; in Python, e.g. under nbval, this does) and
    returns :meth:`View.explain`; ``state`` is the same for the current values."""

    def __init__(self, view: View, controls: dict, extra=()):
        self.view = view
        self.controls = dict(controls)
        rows = [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))]
        super().__init__(rows + list(extra) + [view])
        for name, control in self.controls.items():      # a dropdown syncs its index: the view's trait is the index
            widgets.jslink((control, "index" if _selection(control) else "value"), (view, name))

    def values(self) -> dict:
        return {name: w.value for name, w in self.controls.items()}

    @property
    def state(self) -> dict:
        return self.view.explain()

    def set(self, **values) -> dict:
        with self.view.hold_trait_notifications():
            for name, value in values.items():
                control = self.controls[name]
                control.value = value
                setattr(self.view, name, control.index if _selection(control) else value)
        return self.state


def _selection(control) -> bool:
    return isinstance(control, (widgets.Dropdown, widgets.Select, widgets.ToggleButtons, widgets.RadioButtons))


def int_slider(name, value, lo, hi, **kwargs) -> widgets.IntSlider:
    """A labelled slider (keyboard: arrow keys on its handle) that moves its view while dragged."""
    return widgets.IntSlider(value=value, min=lo, max=hi, description=name, continuous_update=True,
                             style={"description_width": "initial"}, layout=widgets.Layout(width="230px"),
                             **kwargs)


def dropdown(name, options, value) -> widgets.Dropdown:
    return widgets.Dropdown(options=list(options), value=value, description=name,
                            style={"description_width": "initial"}, layout=widgets.Layout(width="230px"))


def play_row(slider, interval_ms=700, label="play") -> widgets.HBox:
    """A Play button stepping ``slider`` (linked in the browser)."""
    play = widgets.Play(min=slider.min, max=slider.max, step=1, interval=interval_ms, value=slider.value,
                        description=label)
    widgets.jslink((play, "value"), (slider, "value"))
    return widgets.HBox([play, widgets.Label(label)])


__all__ = ["View", "VIEWS", "Geometry", "esm", "numbers_for", "ExplorerBox", "int_slider", "dropdown", "play_row", "traitlets"]
