"""The one pattern every explorer follows: controls + a figure, with a static fallback.

An :class:`Explorer` is displayed as a single notebook output whose bundle holds both the live
ipywidgets view and a PNG of the figure at the default values. A front end with a kernel (Jupyter,
Colab) shows the controls; everything else (the HTML book, nbval, GitHub's viewer) shows the real
figure, captioned with what to do with it live. The PNG has an opaque white background, so it stays
readable on a dark theme.
"""
from __future__ import annotations

import base64
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

    Changing a control redraws the figure; :meth:`set` changes controls from code (as a test would).
    ``hint`` says what to try with the controls (e.g. "move dx and dy: the pooled maps barely change");
    the live view shows it under the controls, the static figure as "Live in Jupyter/Colab: <hint>".
    Without one, the hint names the controls.
    """

    def __init__(self, title: str, controls: dict[str, widgets.ValueWidget], draw: Callable[..., object],
                 hint: str | None = None):
        if hint is not None and not isinstance(hint, str):
            raise TypeError(f"hint must be a sentence (str) saying what to try with the controls, "
                            f"got {type(hint).__name__}")
        self.title = title
        self.controls = controls
        self.draw = draw
        self.hint = hint or f"change {', '.join(controls)} and the figure redraws"
        self.output = widgets.Output()
        self.redraws = 0
        header = widgets.HTML(f"<b>{html.escape(title)}</b>: <i>{html.escape(self.hint)}</i>")
        self.widget = widgets.VBox([header, widgets.HBox(list(controls.values())), self.output])
        for control in controls.values():
            control.observe(lambda _change: self.refresh(), names="value")
        self._defaults = self.values()
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
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        fig = self.draw(**self._defaults)
        fig.text(0.5, 0, f"Live in Jupyter/Colab: {self.hint}", ha="center", va="top", style="italic", wrap=True)
        png = figure_png(fig)
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        bundle["text/plain"] = f"<{self.title} explorer: {', '.join(self.controls)}>"
        return bundle
