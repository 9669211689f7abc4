"""Comparing two recipes over seeds: paired differences and a 95% interval.

Two networks trained once each differ by their seeds as much as by their design: on CIFAR a short run
moves by a point or two from one seed to the next. So every comparison in the course trains both sides
with the *same* seeds (same initialization where the shapes allow, same data order), takes the difference
seed by seed, and reports the mean difference with a 95% confidence interval from Student's t
distribution [student1908probable]. Pairing removes what the two sides share (a lucky data order helps
both), which is why three paired seeds can show a consistent sign that the spread of either side hides.

The test set is itself a sample: an accuracy ``p`` measured on ``n`` images has a standard error of
``sqrt(p (1 - p) / n)`` (1.6 points at 50% on 1,000 images); it is printed beside every comparison.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

__all__ = ["Paired", "paired", "t_critical", "test_standard_error", "accuracies_by_seed"]

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom (NIST/SEMATECH e-Handbook of
# Statistical Methods, table 1.3.6.7.2, column 0.975); above 30 the normal value 1.96 is within 2%.
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
          2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
          2.045, 2.042)


def t_critical(degrees_of_freedom: int) -> float:
    """The two-sided 95% critical value of Student's t."""
    if degrees_of_freedom < 1:
        raise ValueError(f"a t interval needs at least 1 degree of freedom (2 seeds), got {degrees_of_freedom}")
    return _T_975[degrees_of_freedom - 1] if degrees_of_freedom <= len(_T_975) else 1.96


def test_standard_error(accuracy: float, images: int) -> float:
    """The standard error of an accuracy measured on ``images`` test images (binomial)."""
    return math.sqrt(accuracy * (1 - accuracy) / images)


def accuracies_by_seed(histories) -> dict[int, float]:
    """``{seed: final test accuracy}`` of a list of Histories from ``fit`` (their ``meta["options"]["seed"]``)."""
    found = {}
    for history in histories:
        seed = history.meta["options"]["seed"]
        if seed in found:
            raise ValueError(f"two runs with seed {seed}: a paired comparison needs one run per seed on each side")
        if history.test is None:
            raise ValueError(f"the run with seed {seed} has no final test accuracy (it stopped before one epoch)")
        found[seed] = history.test["accuracy"]
    return found


@dataclass(frozen=True)
class Paired:
    """``b - a`` seed by seed (accuracies as fractions), with their mean and 95% interval."""

    names: tuple[str, str]
    seeds: tuple[int, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    test_images: int | None

    @property
    def differences(self) -> tuple[float, ...]:
        return tuple(y - x for x, y in zip(self.a, self.b))

    @property
    def mean(self) -> float:
        return statistics.fmean(self.differences)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% confidence interval of the mean difference; None with one seed."""
        n = len(self.seeds)
        if n < 2:
            return None
        half = t_critical(n - 1) * statistics.stdev(self.differences) / math.sqrt(n)
        return self.mean - half, self.mean + half

    @property
    def test_error(self) -> float | None:
        """The standard error of one accuracy on this test set, at the mean accuracy of both sides."""
        if not self.test_images:
            return None
        return test_standard_error(statistics.fmean(self.a + self.b), self.test_images)

    def verdict(self) -> str:
        """One sentence: which side is higher, or that the interval includes zero."""
        a, b = self.names
        n = len(self.seeds)
        if self.interval is None:
            return f"{b} - {a}: {100 * self.mean:+.1f} points on one seed, which gives no interval"
        low, high = self.interval
        span = f"{100 * self.mean:+.1f} points, 95% interval {100 * low:+.1f} to {100 * high:+.1f}, {n} paired seeds"
        if low > 0:
            return f"{b} is higher than {a}: {span}"
        if high < 0:
            return f"{b} is lower than {a}: {span}"
        return f"{b} and {a} cannot be told apart: {span} (the interval includes 0)"

    def table(self) -> str:
        """Seed by seed, then the verdict and the test set's own standard error."""
        a, b = self.names
        width = max(len(a), len(b), 6)
        lines = [f"{'seed':>4}  {a:>{width}}  {b:>{width}}  {b + ' - ' + a:>{width}}"]
        for seed, x, y in zip(self.seeds, self.a, self.b):
            lines.append(f"{seed:>4}  {100 * x:>{width - 1}.1f}%  {100 * y:>{width - 1}.1f}%  {100 * (y - x):>+{width}.1f}")
        lines.append(self.verdict())
        if self.test_error is not None:
            lines.append(f"(one accuracy on these {self.test_images:,} test images has a standard error of "
                         f"{100 * self.test_error:.1f} points)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def paired(a, b, names=("A", "B"), test_images: int | None = None) -> Paired:
    """Compare ``b`` against ``a``: each a ``{seed: accuracy}`` dict or a list of Histories from ``fit``.

    Only seeds present on both sides are paired; a side with a seed the other lacks is refused, so that no
    run is silently dropped. ``test_images`` (taken from the Histories when they record it) gives the test
    set's own standard error.
    """
    if test_images is None:
        sizes = {h.meta.get("sizes", {}).get("test") for side in (a, b) if not isinstance(side, dict) for h in side}
        test_images = sizes.pop() if len(sizes) == 1 else None
    a = a if isinstance(a, dict) else accuracies_by_seed(a)
    b = b if isinstance(b, dict) else accuracies_by_seed(b)
    if set(a) != set(b):
        raise ValueError(f"a paired comparison needs the same seeds on both sides: {names[0]} has {sorted(a)}, "
                         f"{names[1]} has {sorted(b)}")
    if not a:
        raise ValueError("nothing to compare: no seeds")
    seeds = tuple(sorted(a))
    return Paired(tuple(names), seeds, tuple(a[s] for s in seeds), tuple(b[s] for s in seeds), test_images)
