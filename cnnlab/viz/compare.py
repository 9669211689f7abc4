"""Comparing models: accuracy against FLOPs, parameters or latency, with the Pareto front marked."""
from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["pareto_front", "plot_tradeoff", "results_table"]


def pareto_front(points: list[dict], x: str = "flops", y: str = "accuracy") -> list[dict]:
    """The points no other point beats: lower (or equal) ``x`` and higher (or equal) ``y``, one strictly
    better. Sorted by ``x``."""
    for point in points:
        for key in (x, y):
            if key not in point:
                raise KeyError(f"point {point.get('name', point)!r} has no {key!r}; it has {', '.join(point)}")
    front = [p for p in points
             if not any(q[x] <= p[x] and q[y] >= p[y] and (q[x] < p[x] or q[y] > p[y]) for q in points)]
    return sorted(front, key=lambda p: p[x])


def plot_tradeoff(points: list[dict], x: str = "flops", y: str = "accuracy", ax=None):
    """Scatter of ``points`` (dicts with ``name``, ``x`` and ``y``), log ``x`` axis, Pareto front as a line."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    front = pareto_front(points, x, y)
    ax.scatter([p[x] for p in points], [p[y] for p in points], color="tab:blue")
    for p in points:
        ax.annotate(p.get("name", ""), (p[x], p[y]), fontsize=8, xytext=(3, 3), textcoords="offset points")
    ax.plot([p[x] for p in front], [p[y] for p in front], color="tab:red", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend()
    return fig


def _cell(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def results_table(points: list[dict], columns: list[str] | None = None, x: str = "flops",
                  y: str = "accuracy") -> str:
    """A Markdown table of ``points`` (``columns`` default: the keys of the first point), sorted by ``x``,
    with a last column that marks the Pareto-optimal models (``x`` against ``y``). Show it in a notebook
    with ``IPython.display.Markdown(results_table(...))``."""
    if not points:
        raise ValueError("points must hold at least one result")
    columns = columns or list(points[0])
    missing = {c for p in points for c in columns if c not in p}
    if missing:
        raise KeyError(f"some points lack the columns {', '.join(sorted(missing))}")
    front = {id(p) for p in pareto_front(points, x, y)}
    lines = ["| " + " | ".join(columns) + " | Pareto |", "|" + " --- |" * (len(columns) + 1)]
    for p in sorted(points, key=lambda p: p[x]):
        lines.append("| " + " | ".join(_cell(p[c]) for c in columns) + f" | {'yes' if id(p) in front else ''} |")
    return "\n".join(lines)
