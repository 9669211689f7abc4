"""cnnlab.ilsvrc: the results table, its sources, and the timeline figure."""
import matplotlib
import pytest

matplotlib.use("Agg")

from cnnlab import ilsvrc  # noqa: E402
from cnnlab.viz import plot_timeline  # noqa: E402



def test_winners_in_year_order_with_falling_error():
    winners = ilsvrc.winners()
    years = [r.year for r in winners]
    assert years == sorted(years) and len(set(years)) == len(years)
    errors = [r.top5_error for r in winners]
    assert errors == sorted(errors, reverse=True)


def test_known_results():
    assert ilsvrc.winner(2012).top5_error == 16.4
    assert ilsvrc.winner(2014).model == "GoogLeNet"
    assert ilsvrc.winner(2015).top5_error == 3.57
    runner_up = [r for r in ilsvrc.RESULTS if r.place == 2]
    assert [(r.year, r.model, r.top5_error) for r in runner_up] == [(2014, "VGG", 7.3)]
    assert ilsvrc.HUMAN_TOP5_ERROR == 5.1


def test_unknown_year_names_the_known_ones():
    with pytest.raises(KeyError, match="2012"):
        ilsvrc.winner(2016)


def test_every_source_is_in_the_bibliography(bib_keys):
    sources = {r.source for r in ilsvrc.RESULTS} | {ilsvrc.HUMAN_SOURCE}
    assert sources <= bib_keys, sources - bib_keys


def test_table_has_a_row_per_result_and_the_human():
    rows = ilsvrc.table().splitlines()
    assert len(rows) == 2 + len(ilsvrc.RESULTS) + 1
    assert "| 2015 | ResNet | 3.57 | 1 | [he2016deep] |" in rows


def test_plot_timeline_highlights_the_year():
    fig = plot_timeline(highlight=2015)
    ax = fig.axes[0]
    assert len(ax.patches) == len(ilsvrc.RESULTS)
    orange = matplotlib.colors.to_rgba("tab:orange")
    highlighted = [p for p in ax.patches if p.get_facecolor() == orange]
    assert len(highlighted) == 1 and highlighted[0].get_height() == 3.57
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(y) for y in range(2010, 2018)]  # 2016 keeps its place
    assert "no paper" in " ".join(t.get_text() for t in ax.texts)  # and says why it has no bar
    matplotlib.pyplot.close(fig)


def test_plot_timeline_rejects_unknown_year():
    with pytest.raises(ValueError, match="highlight"):
        plot_timeline(highlight=1999)
