"""Chapter 10: rank correlations, the small cell space, its mutations and the two search strategies.

Oracles: rank correlations worked out by hand below; the mutation rules of [real2019regularized] checked by
comparing parent and child field by field; Algorithm 1 of the paper written out again here, independently of
cnnlab's, and run with the same random generator.
"""
from __future__ import annotations

import collections
import random

import pytest

from cnnlab.analysis.rank import kendall_tau, ranks, spearman_rho
from cnnlab.layers.nas_ops import NASCell
from cnnlab.search import (BLOCKS, OPS, Architecture, best_so_far, mutate, network, random_architecture, random_cell,
                           random_search, regularized_evolution)


# --- rank correlations -----------------------------------------------------------------------------------
def test_kendall_and_spearman_worked_by_hand_without_ties():
    # x = 1..5, y = 3 1 2 5 4. Pairs (i<j) with y reversed: (1,2) (1,3) (4,5) -> 3 discordant, 7 concordant:
    # tau = (7 - 3) / 10 = 0.4. Rank differences -2 1 1 -1 1, sum of squares 8: rho = 1 - 6*8/(5*24) = 0.6.
    x, y = [1, 2, 3, 4, 5], [3, 1, 2, 5, 4]
    assert kendall_tau(x, y) == pytest.approx(0.4, abs=1e-12)
    assert spearman_rho(x, y) == pytest.approx(0.6, abs=1e-12)
    assert kendall_tau(x, x[::-1]) == pytest.approx(-1.0, abs=1e-12)
    assert spearman_rho(x, [10, 20, 30, 40, 50]) == pytest.approx(1.0, abs=1e-12)


def test_kendall_tau_b_and_spearman_with_ties_worked_by_hand():
    # x = 1 2 2 3, y = 1 2 3 3: 4 concordant pairs, 0 discordant, one pair tied in x (2,3), one in y (3,4);
    # tau-b = 4 / sqrt((6 - 1) * (6 - 1)) = 0.8 (tau-a would give 4/6).
    x, y = [1, 2, 2, 3], [1, 2, 3, 3]
    assert kendall_tau(x, y) == pytest.approx(0.8, abs=1e-12)
    # mid-ranks: x -> 1 2.5 2.5 4, y -> 1 2 3.5 3.5; deviations from 2.5: (-1.5 0 0 1.5), (-1.5 -0.5 1 1);
    # covariance 2.25 + 1.5 = 3.75, sums of squares 4.5 and 4.5: rho = 3.75 / 4.5
    assert ranks(x) == [1.0, 2.5, 2.5, 4.0]
    assert spearman_rho(x, y) == pytest.approx(3.75 / 4.5, abs=1e-12)


def test_rank_correlations_refuse_what_has_no_order():
    with pytest.raises(ValueError, match="same items"):
        kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="same value"):
        kendall_tau([1, 2, 3], [5, 5, 5])
    with pytest.raises(ValueError, match="at least 2"):
        spearman_rho([1], [1])
    with pytest.raises(ValueError, match="NaN"):
        spearman_rho([1, float("nan")], [1, 2])


# --- the cell space --------------------------------------------------------------------------------------
def test_random_cells_read_only_earlier_states_and_concatenate_every_block():
    rng = random.Random(0)
    for _ in range(200):
        cell = random_cell(rng)
        assert len(cell.blocks) == BLOCKS
        for b, block in enumerate(cell.blocks):
            assert len(block) == 2
            for op, index in block:
                assert op in OPS and 0 <= index <= b + 1
        assert cell.concat == (2, 3, 4)


def test_an_architecture_reads_back_from_its_text():
    rng = random.Random(1)
    for _ in range(50):
        architecture = random_architecture(rng)
        assert Architecture.parse(str(architecture)) == architecture
    with pytest.raises(ValueError, match="two cells"):
        Architecture.parse("conv_3x3@1+identity@0")
    with pytest.raises(ValueError, match="may read states"):
        Architecture.parse("conv_3x3@2+identity@0 | conv_3x3@1+identity@0")


def _differences(parent, child):
    return [(c, b, s, parent[c].blocks[b][s], child[c].blocks[b][s])
            for c in range(2) for b in range(BLOCKS) for s in range(2)
            if parent[c].blocks[b][s] != child[c].blocks[b][s]]


def test_a_mutation_changes_one_input_of_one_cell_either_its_state_or_its_op():
    rng = random.Random(2)
    kinds, cells = collections.Counter(), collections.Counter()
    parent = random_architecture(rng)
    for _ in range(2000):
        child = mutate(parent, rng)
        (cell, b, side, (old_op, old_index), (new_op, new_index)), = _differences(parent, child)
        assert (old_op == new_op) != (old_index == new_index), "exactly one of the op and the state changes"
        assert 0 <= new_index <= b + 1, "a block reads only states before it: no loop"
        kinds["state" if old_op == new_op else "op"] += 1
        cells[cell] += 1
        parent = child
    # each choice is a fair coin in [real2019regularized]: 2000 draws, standard error 1.1 points
    assert 0.46 < kinds["state"] / 2000 < 0.54
    assert 0.46 < cells[0] / 2000 < 0.54


def test_the_network_of_an_architecture_uses_its_two_cells():
    architecture = random_architecture(random.Random(3))
    model = network(architecture, channels=4)
    cells = list(model.cells.children())
    assert [c.concat for c in cells] == [(2, 3, 4)] * 5
    assert isinstance(cells[1], NASCell) and len(cells) == 5  # normal, reduction, normal, reduction, normal
    normal_ops = [type(op).__name__ for op in cells[0].ops]
    reduction_ops = [type(op).__name__ for op in cells[1].ops]
    assert normal_ops == [type(op).__name__ for op in cells[2].ops]
    assert len(normal_ops) == len(reduction_ops) == 2 * BLOCKS


# --- the search strategies -------------------------------------------------------------------------------
def _paper_algorithm_1(fitness, cycles, population_size, sample_size, rng):
    """[real2019regularized] Algorithm 1, written out independently: returns [(architecture, fitness)]."""
    population, history = collections.deque(), []
    while len(population) < population_size:
        arch = random_architecture(rng)
        population.append((arch, fitness(arch)))
        history.append(population[-1])
    while len(history) < cycles:
        sample = []
        while len(sample) < sample_size:
            sample.append(rng.choice(population))
        parent = sample[0]
        for candidate in sample[1:]:
            if candidate[1] > parent[1]:
                parent = candidate
        child = mutate(parent[0], rng)
        population.append((child, fitness(child)))
        history.append(population[-1])
        population.popleft()
    return history


def _conv_count(architecture):
    return float(sum(op.startswith("conv") for cell in architecture for block in cell.blocks for op, _ in block))


def test_regularized_evolution_is_the_papers_algorithm_1():
    ours = regularized_evolution(_conv_count, cycles=40, population_size=6, sample_size=3, rng=random.Random(5))
    paper = _paper_algorithm_1(_conv_count, 40, 6, 3, random.Random(5))
    assert [(c.architecture, c.fitness) for c in ours] == paper


def test_the_oldest_dies_and_the_fittest_of_the_population_is_the_parent():
    # with samples far larger than the population every member is drawn, so the parent is the fittest of the
    # last population_size candidates: the window the aging leaves, not the best ever seen
    p = 3
    history = regularized_evolution(_conv_count, cycles=30, population_size=p, sample_size=200, rng=random.Random(6))
    for n in range(p, len(history)):
        window = range(n - p, n)
        assert history[n].parent in window
        assert history[history[n].parent].fitness == max(history[i].fitness for i in window)


def test_random_search_shares_evolutions_initial_population_and_tracks_the_best():
    ours = random_search(_conv_count, cycles=10, rng=random.Random(7))
    evolution = regularized_evolution(_conv_count, cycles=10, population_size=4, sample_size=2, rng=random.Random(7))
    assert [c.architecture for c in ours[:4]] == [c.architecture for c in evolution[:4]]
    assert all(c.parent is None for c in ours)
    fitness = [c.fitness for c in ours]
    assert best_so_far(ours) == [max(fitness[:k + 1]) for k in range(10)]


def test_search_budgets_are_checked():
    with pytest.raises(ValueError, match="fit in the budget"):
        regularized_evolution(_conv_count, cycles=3, population_size=5, sample_size=2, rng=random.Random(0))
    with pytest.raises(ValueError, match="cycles"):
        random_search(_conv_count, cycles=0, rng=random.Random(0))
