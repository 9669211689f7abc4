"""The paired comparison every chapter uses (issue 19): differences seed by seed, Student's t interval.

Oracles: the chapter 04 aux-head case from the issue (+3.8, -0.1, +2.2 paired), worked by hand below;
t critical values from a printed table (Student's t, 0.975 quantile: df 2 -> 4.303, df 9 -> 2.262).
"""
import math
from types import SimpleNamespace

import pytest

from cnnlab.analysis.paired import paired, t_critical
from cnnlab.analysis.paired import test_standard_error as standard_error


def test_t_critical_values_match_the_printed_table():
    assert t_critical(1) == 12.706 and t_critical(2) == 4.303 and t_critical(9) == 2.262
    assert t_critical(30) == 2.042 and t_critical(200) == 1.96
    with pytest.raises(ValueError, match="2 seeds"):
        t_critical(0)


def test_the_issue_example_worked_by_hand():
    a = {0: 0.400, 1: 0.410, 2: 0.390}
    b = {0: 0.438, 1: 0.409, 2: 0.412}  # differences +3.8, -0.1, +2.2 points
    result = paired(a, b, names=("no aux", "aux"), test_images=1000)
    # mean = 5.9 / 3 = 1.9667 points; sd = sqrt(((1.8333)^2 + (2.0667)^2 + (0.2333)^2) / 2) = 1.9604
    # half width = 4.303 * 1.9604 / sqrt(3) = 4.8703
    assert result.mean == pytest.approx(0.019667, abs=1e-5)
    low, high = result.interval
    assert (low, high) == (pytest.approx(0.019667 - 0.048703, abs=1e-5), pytest.approx(0.019667 + 0.048703, abs=1e-5))
    assert "cannot be told apart" in result.verdict() and "+2.0 points" in result.verdict()
    # the test set's own standard error at the mean accuracy 0.40983: sqrt(p (1 - p) / 1000)
    assert result.test_error == pytest.approx(math.sqrt(0.409833 * 0.590167 / 1000), abs=1e-5)
    assert "1,000 test images" in result.table()


def test_a_consistent_gain_is_reported_as_higher():
    a = {s: 0.50 + 0.01 * s for s in range(5)}
    b = {s: a[s] + 0.03 + 0.001 * (-1) ** s for s in range(5)}
    verdict = paired(a, b, names=("plain", "residual")).verdict()
    assert verdict.startswith("residual is higher than plain: +3.0 points")
    assert paired(b, a, names=("residual", "plain")).verdict().startswith("plain is lower than residual")


def test_unpaired_seeds_and_single_seeds():
    with pytest.raises(ValueError, match="same seeds on both sides"):
        paired({0: 0.5, 1: 0.5}, {0: 0.5, 2: 0.5})
    one = paired({0: 0.5}, {0: 0.52})
    assert one.interval is None and "one seed" in one.verdict()


def _history(seed, accuracy, test=1000):
    return SimpleNamespace(meta={"options": {"seed": seed}, "sizes": {"test": test}}, test={"accuracy": accuracy})


def test_histories_are_paired_by_their_recorded_seed():
    a = [_history(1, 0.6), _history(0, 0.5)]
    b = [_history(0, 0.55), _history(1, 0.62)]
    result = paired(a, b)
    assert result.seeds == (0, 1) and result.differences == pytest.approx((0.05, 0.02))
    assert result.test_images == 1000
    with pytest.raises(ValueError, match="two runs with seed 0"):
        paired([_history(0, 0.5), _history(0, 0.6)], b)


def test_standard_error_of_an_accuracy():
    assert standard_error(0.5, 1000) == pytest.approx(0.0158, abs=1e-4)  # DESIGN.md's "about 1.5 points"
