"""Explorer: choose models and the cost axis (FLOPs, parameters, latency); see accuracy and the Pareto front."""
from __future__ import annotations

import ipywidgets as widgets

from ..viz.compare import plot_tradeoff
from .base import Explorer

__all__ = ["compare_explorer"]


def compare_explorer(results: list[dict], axes: tuple[str, ...] = ("flops", "params", "latency")) -> Explorer:
    """``results``: dicts with ``name``, ``accuracy`` and the cost keys in ``axes`` (those present in every
    result become the dropdown's options)."""
    names = [r["name"] for r in results]
    options = [a for a in axes if all(a in r for r in results)]
    if not names or not options:
        raise ValueError(f"results must be non-empty dicts with 'name', 'accuracy' and one of {', '.join(axes)}")
    chosen = widgets.SelectMultiple(options=names, value=tuple(names), description="models")
    x = widgets.Dropdown(options=options, value=options[0], description="x axis")

    def draw(models, x):
        return plot_tradeoff([r for r in results if r["name"] in models] or results, x=x)

    return Explorer("Accuracy against cost", {"models": chosen, "x": x}, draw,
                    hint="choose models and the cost axis to compare accuracy against parameters or compute")
