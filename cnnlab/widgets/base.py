"""The one pattern every explorer follows: controls + a figure, with a static fallback.

An :class:`Explorer` is displayed as a single notebook output whose bundle holds both the live
ipywidgets view and a PNG of the figure at the default values. A front end with widgets (Jupyter,
Colab, the built book with saved widget state) shows the controls; anything else (nbval, a plain
HTML export, GitHub's viewer) shows the real figure.
"""
from __future__ import annotations

import base64
import io
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["Explorer", "figure_png"]


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (the figure is closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=100)
    plt.close(fig)
    return buf.getvalue()


class Explorer:
    """``draw(**values) -> matplotlib.figure.Figure`` wrapped in ``controls`` (name -> widget).

    Changing a control redraws the figure; :meth:`set` changes controls from code (as a test would).
    """

    def __init__(self, title: str, controls: dict[str, widgets.ValueWidget], draw: Callable[..., object]):
        self.title = title
        self.controls = controls
        self.draw = draw
        self.output = widgets.Output()
        self.redraws = 0
        header = widgets.HTML(f"<b>{title}</b>")
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
        png = figure_png(self.draw(**self._defaults))
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        bundle["text/plain"] = f"<{self.title} explorer: {', '.join(self.controls)}>"
        return bundle
