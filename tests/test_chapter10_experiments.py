"""Chapter 10's stored experiment, 10/nas_search, run under smoke with a proxy whose scores are known.

The proxy's training is replaced by a score everyone can recompute (the candidate network's parameter
count), so the test knows which architecture the searches must report as found and which the proxy ranks
top and bottom; the longer trainings run for real (smoke size) through the spy of tests/smoke_runs.py.
"""
from __future__ import annotations

import types

import pytest

import cnnlab
from cnnlab.analysis import count_flops, count_parameters
from cnnlab.experiments import nas_search
from cnnlab.search import Architecture, network
from smoke_runs import run_with_spy


def test_matching_width_finds_the_closest_cost_by_bisection(monkeypatch):
    cost = {c: 7 * c * c + 3 * c for c in range(2, 65)}
    monkeypatch.setattr(nas_search, "macs", lambda architecture, c: cost[c])
    for target in (30, 700, 701, 5_000, 12_345, 28_000):
        expected = min(range(2, 65), key=lambda c: abs(cost[c] - target))
        assert nas_search.matching_width(None, target) == expected, target
    with pytest.raises(ValueError, match="even at width 64"):
        nas_search.matching_width(None, cost[64] + 1)


@pytest.mark.slow
def test_nas_search_under_smoke(monkeypatch):
    proxied = []

    def known_proxy(model, data, **options):
        proxied.append(model)
        score = count_parameters(model) / 1e6
        return types.SimpleNamespace(rows=[{"val_acc": score, "seconds": 0.0}])

    monkeypatch.setattr(nas_search, "fit", known_proxy)
    trained = []

    def spy(fit, model, data, **options):
        trained.append((options["name"], model.stem[0].out_channels // 3, options["seed"]))
        return fit(model, data, **options)

    run, values = run_with_spy(nas_search.nas_search, spy)
    cfg = values["settings"]

    searched = {text for method in values["searches"].values() for history in method.values()
                for text, _, _ in history}
    assert set(values["proxy"]) == searched
    assert len(proxied) == len(searched), "each architecture is trained by the proxy once, then its score is reused"
    for seed in cfg["seeds"]:
        start = [h[0] for h in values["searches"]["random"][seed][:cfg["population"]]]
        assert start == [h[0] for h in values["searches"]["evolution"][seed][:cfg["population"]]]

    def score(text):
        return count_parameters(network(Architecture.parse(text), cfg["proxy_channels"])) / 1e6

    by_score = sorted(searched, key=score, reverse=True)
    assert values["found"]["architecture"] == by_score[0]
    ranked = [r["architecture"] for r in values["ranked"]]
    assert ranked == by_score[:cfg["top"]] + by_score[-cfg["bottom"]:]

    hand = Architecture.parse(values["hand"]["architecture"])
    found_macs = count_flops(network(Architecture.parse(by_score[0]), cfg["channels"]))["macs"]
    width = values["hand"]["channels"]
    gaps = {c: abs(count_flops(network(hand, c))["macs"] - found_macs) for c in (width - 1, width, width + 1) if c >= 2}
    assert gaps[width] == min(gaps.values()), "the hand-designed network is the width closest in cost"

    expected = [(f"rank{k}", cfg["channels"], 0) for k in range(len(ranked))]
    for seed in cfg["compare_seeds"]:
        if seed != 0:
            expected.append((f"found_seed{seed}", cfg["channels"], seed))
        expected.append((f"hand_seed{seed}", width, seed))
    assert trained == expected
    assert set(run.histories) == {name for name, _, _ in expected}
    seeds = cfg["compare_seeds"]
    assert values["compare_runs"] == {"found": {s: "rank0" if s == 0 else f"found_seed{s}" for s in seeds},
                                      "hand": {s: f"hand_seed{s}" for s in seeds}}
    assert cnnlab.experiments.get("10/nas_search").minutes <= 60
