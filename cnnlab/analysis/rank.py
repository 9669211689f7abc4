"""Do two measurements put the same things in the same order? Rank correlations, computed by hand.

A cheap proxy (a few epochs on a subset) is useful to an architecture search only if it *orders* the
candidates as a full training would; its accuracies may all be lower. Two classical measures of how well
two orderings agree:

* Kendall's tau [kendall1938new]: over all pairs of items, (concordant - discordant) / number of pairs; a
  pair is concordant when both measurements order it the same way. With ties, tau-b divides by
  ``sqrt((n0 - ties in x) * (n0 - ties in y))`` instead of ``n0 = n (n - 1) / 2`` [kendall1945treatment], so
  that a perfect agreement is still 1. Reading: tau = 0.6 means that of two randomly picked items, the
  proxy orders them as the long run does 80% of the time ((1 + tau) / 2), if there are no ties.
* Spearman's rho [spearman1904proof]: Pearson's correlation of the ranks (tied values share the mean of
  their ranks).

Both are 1 for the same order, -1 for the reversed one and near 0 for an unrelated one.
"""
from __future__ import annotations

import math

__all__ = ["ranks", "kendall_tau", "spearman_rho"]


def _check(x, y) -> tuple[list[float], list[float]]:
    x, y = [float(v) for v in x], [float(v) for v in y]
    if len(x) != len(y):
        raise ValueError(f"x and y must measure the same items: got {len(x)} and {len(y)} values")
    if len(x) < 2:
        raise ValueError(f"a rank correlation needs at least 2 items, got {len(x)}")
    if any(math.isnan(v) for v in x + y):
        raise ValueError("x and y must not contain NaN: drop the item that has no measurement")
    return x, y


def ranks(values) -> list[float]:
    """The rank of each value, 1 for the smallest; tied values share the mean of the ranks they span."""
    values = [float(v) for v in values]
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            result[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return result


def kendall_tau(x, y) -> float:
    """Kendall's tau-b of the paired measurements ``x[i]``, ``y[i]`` (see the module docstring)."""
    x, y = _check(x, y)
    concordant = discordant = tied_x = tied_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 or dy == 0:
                tied_x += dx == 0
                tied_y += dy == 0
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    pairs = n * (n - 1) // 2
    denominator = math.sqrt((pairs - tied_x) * (pairs - tied_y))
    if denominator == 0:
        raise ValueError("one of the measurements gives every item the same value: no order to compare")
    return (concordant - discordant) / denominator


def spearman_rho(x, y) -> float:
    """Spearman's rho: Pearson's correlation of the ranks of ``x`` and of ``y``."""
    x, y = _check(x, y)
    rx, ry = ranks(x), ranks(y)
    mean = (len(x) + 1) / 2  # the mean rank, with or without ties
    cov = sum((a - mean) * (b - mean) for a, b in zip(rx, ry))
    spread = math.sqrt(sum((a - mean) ** 2 for a in rx) * sum((b - mean) ** 2 for b in ry))
    if spread == 0:
        raise ValueError("one of the measurements gives every item the same value: no order to compare")
    return cov / spread
