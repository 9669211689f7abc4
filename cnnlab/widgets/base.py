"""The one pattern every explorer follows: controls + a figure, with a static fallback.

An :class:`Explorer` is displayed as a single notebook output whose bundle holds both the live
ipywidgets view and a PNG of the figure at the default values. A front end with a kernel (Jupyter,
Colab) shows the controls; everything else (the HTML book, nbval, GitHub's viewer) shows the real
figure, captioned with what to do with it live. The PNG has an opaque white background, so it stays
readable on a dark theme.

It works with ipywidgets 7.7 (what Colab ships) and 8: the live view is described by the widget-view
bundle both versions display, and the controls sit in a row that wraps at their natural width instead
of squeezing the sliders' tracks to nothing.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["Explorer", "figure_png"]


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (the figure is closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=100, facecolor="white")
    plt.close(fig)
    return buf.getvalue()


class Explorer:
    """``draw(**values) -> matplotlib.figure.Figure`` wrapped in ``controls`` (name -> widget).

    Changing a control redraws the figure once; :meth:`set` changes controls from code (as a test would).
    ``hint`` says what to try with the controls (e.g. "move dx and dy: the pooled maps barely change");
    the live view shows it under the controls, the static figure as "Live in Jupyter/Colab: <hint>".
    Without one, the hint names the controls. ``linked`` maps a control's name to a function of its new
    value that adjusts other controls first (a slider's range that follows a dropdown), still with one
    redraw.
    """

    def __init__(self, title: str, controls: dict[str, widgets.ValueWidget], draw: Callable[..., object],
                 hint: str | None = None, linked: dict[str, Callable[[object], None]] | None = None):
        if hint is not None and not isinstance(hint, str):
            raise TypeError(f"hint must be a sentence (str) saying what to try with the controls, "
                            f"got {type(hint).__name__}")
        self.title = title
        self.controls = controls
        self.draw = draw
        self.hint = hint or f"change {', '.join(controls)} and the figure redraws"
        self.linked = dict(linked or {})
        unknown = set(self.linked) - set(controls)
        if unknown:
            raise KeyError(f"linked names controls {sorted(unknown)} that {title} does not have ({', '.join(controls)})")
        self.output = widgets.Output()
        self.redraws = 0
        self._held = 0
        header = widgets.HTML(f"<b>{html.escape(title)}</b>: <i>{html.escape(self.hint)}</i>")
        for control in controls.values():
            control.layout.flex = "0 0 auto"  # keep the natural width (sliders: 300 px) and wrap instead
        row = widgets.Box(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([header, row, self.output])
        for name, control in controls.items():
            control.observe(functools.partial(self._changed, name), names="value")
        self._defaults = self.values()
        self.refresh()

    def _changed(self, name: str, _change) -> None:
        if self._held:
            return
        with self.hold():
            if name in self.linked:
                self.linked[name](self.controls[name].value)

    @contextlib.contextmanager
    def hold(self):
        """Change several controls with a single redraw, when the block ends."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held:
                self.refresh()

    def values(self) -> dict[str, object]:
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values) -> None:
        """Set controls by name (each change redraws, as if the learner moved it)."""
        for name, value in values.items():
            if name not in self.controls:
                raise KeyError(f"{self.title} has no control {name!r}; it has {', '.join(self.controls)}")
            self.controls[name].value = value

    def figure(self, **overrides):
        """The figure for the current control values (or ``overrides``), for static use and tests."""
        return self.draw(**{**self.values(), **overrides})

    def refresh(self) -> None:
        fig = self.figure()
        self.redraws += 1
        self.output.clear_output(wait=True)
        with self.output:
            display(fig)
        plt.close(fig)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = _widget_view(self.widget)
        fig = self.draw(**self._defaults)
        fig.text(0.5, 0, f"Live in Jupyter/Colab: {self.hint}", ha="center", va="top", style="italic", wrap=True)
        png = figure_png(fig)
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        bundle["text/plain"] = f"<{self.title} explorer: {', '.join(self.controls)}>"
        return bundle


def _widget_view(widget) -> dict:
    """The bundle a front end with a widget manager renders as the live widget. ipywidgets 8 builds it in
    ``_repr_mimebundle_``; ipywidgets 7 displays through ``_ipython_display_`` with this same bundle."""
    if hasattr(widget, "_repr_mimebundle_"):
        return dict(widget._repr_mimebundle_() or {})
    return {"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                          "model_id": widget.model_id}}
