"""The ILSVRC image-classification results by year, the timeline every chapter starts from.

Each :class:`Result` is one entry of the classification task of the ImageNet Large Scale Visual
Recognition Challenge, with its top-5 error on the test set and the key of the paper that reports
it (see ``book/references.bib``). 2010-2014 are taken from the challenge's own retrospective
[russakovsky2015imagenet]; later years from the winners' papers. The 2016 winner
(Trimps-Soushen, 2.99%) published no paper and is left out rather than cited to nothing.

    >>> from cnnlab import ilsvrc
    >>> ilsvrc.winner(2012).model
    'AlexNet (SuperVision)'
    >>> fig = ilsvrc.plot_timeline(highlight=2015)
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Result", "RESULTS", "HUMAN_TOP5_ERROR", "HUMAN_SOURCE", "winners", "winner", "table", "plot_timeline"]


@dataclass(frozen=True)
class Result:
    """One ILSVRC classification entry: year, model (team), top-5 error in percent, place, source key."""

    year: int
    model: str
    top5_error: float
    place: int
    source: str


RESULTS: tuple[Result, ...] = (
    Result(2010, "NEC-UIUC", 28.2, 1, "russakovsky2015imagenet"),
    Result(2011, "XRCE", 25.8, 1, "russakovsky2015imagenet"),
    Result(2012, "AlexNet (SuperVision)", 16.4, 1, "krizhevsky2012imagenet"),
    Result(2013, "ZFNet (Clarifai)", 11.7, 1, "zeiler2014visualizing"),
    Result(2014, "GoogLeNet", 6.7, 1, "szegedy2015going"),
    Result(2014, "VGG", 7.3, 2, "simonyan2015very"),
    Result(2015, "ResNet", 3.57, 1, "he2016deep"),
    Result(2017, "SENet", 2.25, 1, "hu2018squeeze"),
)
"""The entries shown in the course, in year order (the winner first within a year)."""

HUMAN_TOP5_ERROR = 5.1
"""Top-5 error of a trained human annotator on 1,500 test images [russakovsky2015imagenet]."""

HUMAN_SOURCE = "russakovsky2015imagenet"


def winners() -> list[Result]:
    """The first-place entry of every year in :data:`RESULTS`."""
    return [r for r in RESULTS if r.place == 1]


def winner(year: int) -> Result:
    """The first-place entry of ``year``; a clear error for a year the course does not cover."""
    for result in winners():
        if result.year == year:
            return result
    years = ", ".join(str(r.year) for r in winners())
    raise KeyError(f"no ILSVRC winner recorded for {year!r}: expected one of {years}")


def table() -> str:
    """The results as a markdown table (year, model, top-5 error, place, source)."""
    lines = ["| year | model | top-5 error (%) | place | source |", "|---|---|---|---|---|"]
    for r in RESULTS:
        lines.append(f"| {r.year} | {r.model} | {r.top5_error:g} | {r.place} | [{r.source}] |")
    lines.append(f"| - | human annotator | {HUMAN_TOP5_ERROR:g} | - | [{HUMAN_SOURCE}] |")
    return "\n".join(lines)


def plot_timeline(highlight: int | None = None):
    """Bar chart of the winners' top-5 error by year, with the runner-up VGG and the human level.

    ``highlight`` is a year to draw in the accent colour (a chapter's own year); the others are grey.
    Returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    years = [r.year for r in winners()]
    if highlight is not None and highlight not in years:
        raise ValueError(f"highlight={highlight!r} is not a year of the timeline: expected one of {years} or None")

    fig, ax = plt.subplots(figsize=(8, 4.2))
    positions = {year: i for i, year in enumerate(years)}
    for r in RESULTS:
        x = positions[r.year] + (0.0 if r.place == 1 else 0.38)
        colour = "tab:orange" if r.year == highlight else ("tab:blue" if r.place == 1 else "lightsteelblue")
        width = 0.7 if r.place == 1 else 0.3
        ax.bar(x, r.top5_error, width=width, color=colour, edgecolor="black", linewidth=0.5)
        ax.annotate(f"{r.model}\n{r.top5_error:g}%", (x, r.top5_error), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.axhline(HUMAN_TOP5_ERROR, color="tab:red", linestyle="--", linewidth=1,
               label=f"human annotator ({HUMAN_TOP5_ERROR:g}%)")
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.set_xticks(range(len(years)), [str(y) for y in years])
    ax.set_ylim(0, max(r.top5_error for r in RESULTS) * 1.2)
    ax.set_xlabel("ILSVRC year")
    ax.set_ylabel("top-5 error (%)")
    ax.set_title("ILSVRC classification: top-5 error of the winners")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
