"""Chapter 10: random search against regularized evolution over a small cell space, and how well the proxy ranks.

A search needs a score for every candidate, and training each one fully is what cost NASNet 2,000 GPU-days
[zoph2018learning]. So this one, like the searches of 2017-2019, scores candidates with a *proxy*: a narrow
network (``proxy_channels``, one normal cell per stage) trained for a few epochs on a subset, scored by its
accuracy on held-out validation images. Every architecture is trained once, from seed 0, and its score is
cached: a search that meets it again gets the same number, so the searches explore one fixed landscape.

1. Search. Random search and regularized evolution [real2019regularized] (:mod:`cnnlab.search`) spend the
   same number of proxy evaluations, for each of several search seeds; with the same seed they share their
   first ``population`` candidates (evolution's initial population), so their best scores pair by seed.
2. Does the proxy rank? The proxy's top few and bottom few of all the architectures the searches scored
   are trained again, longer (wider, more images, more epochs), and scored by final test accuracy; the
   notebook compares the two orders with Kendall's tau (:mod:`cnnlab.analysis.rank`).
3. The found cell against a hand-designed one. The proxy's best architecture (the found one) and a cell a
   person would write in the same space, a residual chain (three steps, each a 3x3 conv plus an identity),
   are trained with the long recipe from the same seeds; the hand-designed network's width is the one
   whose multiply-adds come closest to the found network's, so the two cost the same.

Recipe: fit's defaults (SGD with Nesterov momentum, one-cycle learning rate, weight decay 5e-4); the proxy
trains at batch 64 with a peak rate of 0.05. Departures from [real2019regularized] (``long``): a population of
6 instead of 100, samples of 3 instead of 25, 20 evaluations per search instead of 20,000; the proxy trains 2
epochs on 2,000 images (the paper: 25 epochs on 45,000, at N=3, F=24). ``full`` (a GPU) runs a larger search,
still far below the paper's.
"""
from __future__ import annotations

import hashlib
import random

import torch

from .. import data as cifar
from ..analysis import count_flops, count_parameters
from ..search import Architecture, network, random_search, regularized_evolution
from ..train import fit
from .registry import experiment

HAND_DESIGNED = Architecture.parse(
    "conv_3x3@1+identity@1 conv_3x3@2+identity@2 conv_3x3@3+identity@3 | "
    "conv_3x3@1+identity@1 conv_3x3@2+identity@2 conv_3x3@3+identity@3")
"""A residual chain: each block adds a 3x3 conv of the previous state to that state (normal and reduction)."""


def settings(run) -> dict:
    """Every budget of the experiment under ``run``'s profile."""
    s = run.scaled
    return {
        "seeds": s(full=[0, 1, 2, 3, 4], long=[0, 1, 2], quick=[0, 1], smoke=[0]),
        "cycles": s(full=100, long=20, quick=8, smoke=2),
        "population": s(full=20, long=6, quick=4, smoke=1),
        "sample": s(full=5, long=3, quick=2, smoke=1),
        "proxy_channels": s(full=16, long=8, quick=8, smoke=4),
        "proxy_epochs": s(full=5, long=2, quick=1, smoke=1),
        "proxy_images": s(full=10_000, long=2_000, quick=1_000, smoke=128),
        "val_images": s(full=5_000, long=1_000, quick=500, smoke=64),
        "top": s(full=8, long=5, quick=2, smoke=1),
        "bottom": s(full=4, long=3, quick=2, smoke=1),
        "channels": s(full=32, long=16, quick=16, smoke=4),
        "epochs": s(full=30, long=10, quick=3, smoke=1),
        "images": s(full=None, long=5_000, quick=2_000, smoke=128),
        "test_images": s(full=None, long=5_000, quick=1_000, smoke=64),
        "compare_seeds": s(full=[0, 1, 2, 3, 4], long=[0, 1, 2], quick=[0, 1], smoke=[0]),
    }


def macs(architecture: Architecture, channels: int) -> int:
    """Multiply-adds of one 32x32 image through the network of ``architecture`` at ``channels``."""
    return count_flops(network(architecture, channels))["macs"]


def matching_width(architecture: Architecture, target_macs: int, low: int = 2, high: int = 64) -> int:
    """The width in ``low..high`` at which ``architecture``'s network costs closest to ``target_macs``
    multiply-adds. The cost grows with the width, so a bisection finds the first width that reaches the
    target; it or the width below it is the closest."""
    if macs(architecture, high) < target_macs:
        raise ValueError(f"even at width {high} the network costs less than {target_macs:,} multiply-adds")
    lo, hi = low, high
    while lo < hi:
        mid = (lo + hi) // 2
        if macs(architecture, mid) < target_macs:
            lo = mid + 1
        else:
            hi = mid
    return min((c for c in (lo - 1, lo) if c >= low), key=lambda c: abs(macs(architecture, c) - target_macs))


@experiment("10", "nas_search", minutes=50)
def nas_search(run):
    """Random search vs regularized evolution on a proxy, over search seeds; the proxy's ranking checked by
    longer training; the found cell against a hand-designed one of equal cost."""
    cfg = settings(run)
    proxy_data = cifar.load("cifar10", train_size=cfg["proxy_images"], val_size=cfg["val_images"],
                            test_size=cfg["val_images"])
    quiet = {"progress": False, "live": None if run.workdir is None else False}

    def proxy(architecture):
        torch.manual_seed(0)
        model = network(architecture, cfg["proxy_channels"])
        history = fit(model, proxy_data, epochs=cfg["proxy_epochs"], batch_size=64, lr=0.05, seed=0,
                      name="proxy", **quiet)
        return {"accuracy": history.rows[-1]["val_acc"], "seconds": sum(r["seconds"] for r in history.rows)}

    scores: dict[str, dict] = {}

    def evaluate(architecture):
        text = str(architecture)
        if text not in scores:
            key = "proxy_" + hashlib.sha1(text.encode()).hexdigest()[:12]
            scores[text] = run.once(key, lambda: proxy(architecture))
        return scores[text]["accuracy"]

    searches = {"random": {}, "evolution": {}}
    for seed in cfg["seeds"]:
        found = {"random": random_search(evaluate, cfg["cycles"], random.Random(seed)),
                 "evolution": regularized_evolution(evaluate, cfg["cycles"], cfg["population"], cfg["sample"],
                                                    random.Random(seed))}
        for method, history in found.items():
            searches[method][seed] = [[str(c.architecture), c.fitness, c.parent] for c in history]

    # The proxy's top and bottom architectures, trained again with the long recipe (seed 0).
    data = cifar.load("cifar10", train_size=cfg["images"], val_size=cfg["val_images"], test_size=cfg["test_images"])
    order = sorted(scores, key=lambda text: scores[text]["accuracy"], reverse=True)
    if len(order) < cfg["top"] + cfg["bottom"]:
        raise ValueError(f"the searches scored {len(order)} architectures, fewer than the {cfg['top']} top and "
                         f"{cfg['bottom']} bottom ones to train again: give them more cycles")
    chosen = order[:cfg["top"]] + order[-cfg["bottom"]:]
    ranked = []
    for k, text in enumerate(chosen):
        torch.manual_seed(0)
        run.fit(f"rank{k}", network(Architecture.parse(text), cfg["channels"]), data, epochs=cfg["epochs"], seed=0)
        ranked.append({"architecture": text, "proxy": scores[text]["accuracy"], "key": f"rank{k}",
                       "group": "top" if k < cfg["top"] else "bottom"})

    # The found architecture (the proxy's best, already trained as rank0 with seed 0) against the hand-designed
    # one at equal multiply-adds, seed by seed.
    found_architecture = Architecture.parse(order[0])
    found_macs = macs(found_architecture, cfg["channels"])
    hand_channels = matching_width(HAND_DESIGNED, found_macs, high=4 * cfg["channels"])
    runs = {"found": {}, "hand": {}}
    for seed in cfg["compare_seeds"]:
        for side, architecture, channels in (("found", found_architecture, cfg["channels"]),
                                             ("hand", HAND_DESIGNED, hand_channels)):
            key = "rank0" if side == "found" and seed == 0 else f"{side}_seed{seed}"
            if key != "rank0":
                torch.manual_seed(seed)
                run.fit(key, network(architecture, channels), data, epochs=cfg["epochs"], seed=seed)
            runs[side][seed] = key

    def cost(architecture, channels):
        model = network(architecture, channels)
        return {"architecture": str(architecture), "channels": channels, "params": count_parameters(model),
                "macs": count_flops(model)["macs"]}

    return {
        "settings": cfg,
        "proxy": scores,
        "searches": searches,
        "ranked": ranked,
        "found": cost(found_architecture, cfg["channels"]),
        "hand": cost(HAND_DESIGNED, hand_channels),
        "compare_runs": runs,
        "proxy_seconds": sum(s["seconds"] for s in scores.values()),
    }
