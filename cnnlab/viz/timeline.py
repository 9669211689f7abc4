"""The ILSVRC timeline every chapter starts from, drawn from :mod:`cnnlab.ilsvrc`."""
from __future__ import annotations

import matplotlib.pyplot as plt

from ..ilsvrc import HUMAN_TOP5_ERROR, RESULTS, winners

__all__ = ["plot_timeline"]


def plot_timeline(highlight: int | None = None):
    """Bar chart of the winners' top-5 error by year, with the runner-up VGG and the human level.

    ``highlight`` is a year to draw in the accent colour (a chapter's own year); the others are grey.
    A year of the range without an entry (2016, whose winner published no paper) keeps its place on the
    axis, marked as such. Returns the matplotlib ``Figure``.
    """
    years = [r.year for r in winners()]
    if highlight is not None and highlight not in years:
        raise ValueError(f"highlight={highlight!r} is not a year of the timeline: expected one of {years} or None")

    fig, ax = plt.subplots(figsize=(8, 4.2))
    axis_years = list(range(years[0], years[-1] + 1))
    positions = {year: i for i, year in enumerate(axis_years)}
    for year in sorted(set(axis_years) - set(years)):
        ax.annotate("winner\npublished\nno paper", (positions[year], 0), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7, color="0.45")
    for r in RESULTS:
        x = positions[r.year] + (0.0 if r.place == 1 else 0.38)
        colour = "tab:orange" if r.year == highlight else ("tab:blue" if r.place == 1 else "lightsteelblue")
        width = 0.7 if r.place == 1 else 0.3
        ax.bar(x, r.top5_error, width=width, color=colour, edgecolor="black", linewidth=0.5)
        runner_up = r.place != 1  # its label to the right, clear of the winner's
        ax.annotate(f"{r.model}\n{r.top5_error:g}%", (x, r.top5_error), xytext=(4 if runner_up else 0, 3),
                    textcoords="offset points", ha="left" if runner_up else "center", va="bottom", fontsize=7)
    ax.axhline(HUMAN_TOP5_ERROR, color="tab:red", linestyle="--", linewidth=1,
               label=f"human annotator ({HUMAN_TOP5_ERROR:g}%)")
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.set_xticks(range(len(axis_years)), [str(y) for y in axis_years])
    ax.set_ylim(0, max(r.top5_error for r in RESULTS) * 1.2)
    ax.set_xlabel("ILSVRC year")
    ax.set_ylabel("top-5 error (%)")
    ax.set_title("ILSVRC classification: top-5 error of the winners")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
