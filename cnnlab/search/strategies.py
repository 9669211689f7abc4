"""Two ways to search a cell space: random search, and regularized (aging) evolution [real2019regularized].

Both spend the same budget, ``cycles`` evaluations of ``evaluate(architecture) -> fitness`` (a proxy
accuracy: higher is better), and return the *history*: every architecture evaluated, in order, as
:class:`Candidate` s. The best one found is ``max(history, key=lambda c: c.fitness)``.

Regularized evolution is the paper's Algorithm 1: a population of ``population_size`` random
architectures; then, each cycle, ``sample_size`` members drawn at random (with replacement), the fittest of
them (the first one drawn, on a tie) is the parent, its mutated child joins the population, and the
*oldest* member dies, whatever its fitness. Aging is the regularization: an architecture survives only
through children that keep scoring well, so one lucky evaluation cannot stay in the population for good.

Random search draws ``cycles`` architectures from the same generator in the same way, so with the same seed
its first ``population_size`` candidates are evolution's initial population: the two runs share their
start and differ only in what they do next.
"""
from __future__ import annotations

import collections
import random
from typing import Callable, NamedTuple

from .space import OPS, Architecture, mutate, random_architecture

__all__ = ["Candidate", "random_search", "regularized_evolution", "best_so_far"]


class Candidate(NamedTuple):
    """One evaluated architecture; ``parent`` is the history index of the one it was mutated from (None if
    it was drawn at random)."""

    architecture: Architecture
    fitness: float
    parent: int | None = None


def _check_budget(cycles, **sizes) -> None:
    for name, value in {"cycles": cycles, **sizes}.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def random_search(evaluate: Callable[[Architecture], float], cycles: int, rng: random.Random,
                  ops=OPS) -> list[Candidate]:
    """Evaluate ``cycles`` architectures drawn at random; returns the history."""
    _check_budget(cycles)
    return [Candidate(architecture, evaluate(architecture))
            for architecture in (random_architecture(rng, ops=ops) for _ in range(cycles))]


def regularized_evolution(evaluate: Callable[[Architecture], float], cycles: int, population_size: int,
                          sample_size: int, rng: random.Random, ops=OPS) -> list[Candidate]:
    """Algorithm 1 of [real2019regularized] (see the module docstring); returns the history."""
    _check_budget(cycles, population_size=population_size, sample_size=sample_size)
    if population_size > cycles:
        raise ValueError(f"the initial population ({population_size}) must fit in the budget ({cycles} cycles)")
    history: list[Candidate] = []
    population = collections.deque()  # history indices, oldest on the left
    while len(population) < population_size:
        architecture = random_architecture(rng, ops=ops)
        history.append(Candidate(architecture, evaluate(architecture)))
        population.append(len(history) - 1)
    while len(history) < cycles:
        sample = [rng.choice(population) for _ in range(sample_size)]
        parent = max(sample, key=lambda i: history[i].fitness)
        child = mutate(history[parent].architecture, rng, ops=ops)
        history.append(Candidate(child, evaluate(child), parent))
        population.append(len(history) - 1)
        population.popleft()  # the oldest dies
    return history


def best_so_far(history: list[Candidate]) -> list[float]:
    """The best fitness among the first k candidates, for k = 1 .. len(history) (a search's progress curve)."""
    best, curve = float("-inf"), []
    for candidate in history:
        best = max(best, candidate.fitness)
        curve.append(best)
    return curve
