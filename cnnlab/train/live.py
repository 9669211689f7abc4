"""Live training curves: one figure redrawn in place in a notebook, one log line per epoch elsewhere.

In a notebook kernel the figure is shown once with ``display(fig, display_id=True)`` and later
replaced with ``handle.update(fig)``; ``clear_output`` is avoided because nbval cannot replay it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["in_notebook", "LiveCurves"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LiveCurves:
    """``update(history)`` after every epoch: redraws the curves (``live=True``, the default in a notebook),
    prints a line (``live=False``, the default elsewhere) or does nothing (``live=None``);
    ``finish(history)`` redraws the figure once more after the final test evaluation."""

    def __init__(self, live="auto"):
        if live not in ("auto", True, False, None):
            raise ValueError(f"live must be 'auto', True, False or None, got {live!r}")
        self.silent = live is None
        self.figure_mode = in_notebook() if live == "auto" else bool(live)
        self.handle = None

    def update(self, history) -> None:
        row = history.rows[-1]
        if self.silent:
            return
        if not self.figure_mode:
            split = "val" if history.has_validation else "test"
            print(f"epoch {row['epoch']:>3} | train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%} | "
                  f"{split} loss {row[f'{split}_loss']:.4f} acc {row[f'{split}_acc']:.2%} | lr {row['lr']:.4g} | "
                  f"{row['seconds']:.1f} s, {row['images_per_s']:.0f} img/s", flush=True)
            return
        self._draw(history)

    def finish(self, history) -> None:
        if self.figure_mode and self.handle is not None:
            self._draw(history)

    def _draw(self, history) -> None:
        from IPython.display import display

        fig = history.plot()
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
