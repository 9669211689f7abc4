"""The ILSVRC image-classification results by year, the timeline every chapter starts from.

Each :class:`Result` is one entry of the classification task of the ImageNet Large Scale Visual
Recognition Challenge, with its top-5 error on the test set and the key of the paper that reports
it (see ``book/references.bib``). 2010-2014 are taken from the challenge's own retrospective
[russakovsky2015imagenet]; later years from the winners' papers. The 2016 winner
(Trimps-Soushen, 2.99%) published no paper and is left out rather than cited to nothing.

    >>> from cnnlab import ilsvrc
    >>> ilsvrc.winner(2012).model
    'AlexNet (SuperVision)'

Its figure is :func:`cnnlab.viz.plot_timeline` (``cnnlab.viz.plot_timeline(highlight=2015)``).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Result", "RESULTS", "HUMAN_TOP5_ERROR", "HUMAN_SOURCE", "winners", "winner", "table"]


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
