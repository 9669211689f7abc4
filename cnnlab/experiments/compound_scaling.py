"""Chapter 11: scaling one dimension against compound scaling [tan2019efficientnet] on a small CIFAR base.

The base is :func:`cnnlab.models.efficientnet.efficientnet_cifar` (B0's stem and first four MBConv block types,
inputs resized to 16x16 by its first layer). A *scaling* is a triple (alpha, beta, gamma) of depth, width and
resolution factors; at coefficient phi the network has depth alpha^phi, width beta^phi and resolution
16 gamma^phi (:func:`cnnlab.models.efficientnet.compound_scaling`, B0's rounding rules). Every triple in
:data:`SCALINGS` satisfies alpha * beta^2 * gamma^2 ~ 2, the paper's constraint (§3.3), so each aims at twice
the base's FLOPs per step of phi; the counted FLOPs of the built networks are recorded beside them.

1. **The grid at phi = 1** (the paper's step 1): the seven triples of :data:`SCALINGS`, one dimension alone
   (depth x2, width x sqrt 2, resolution x sqrt 2: the corners of the constraint), two dimensions, and the
   paper's 1.2 / 1.1 / 1.15. The best on the validation images is the grid's winner.
2. **phi = 2** (step 2): the three single dimensions and the paper's triple (and the grid's winner, if it is
   another), so that each method has a curve of accuracy against FLOPs from the shared base, as in the
   paper's Fig. 3 and Table 3 (there on ImageNet, up to phi of about 8 for depth).
3. **Paired seeds**: the paper's compound scaling against the best single dimension at phi = 2 (chosen on the
   validation images of seed 0), trained from the same seeds, compared on the test images.
4. **Effective receptive fields** [luo2016understanding] of the trained base and of the largest network of each
   method (seed 0): the mean gradient magnitude of the centre unit of the last stage over test images, in the
   pixels of the 32x32 image, and the share of the image that holds 95% of it. [tan2019efficientnet] §3.2 argues
   that a higher resolution needs more layers to cover the same share of the image.

Recipe (fit's, for every network): SGD with Nesterov momentum 0.9, weight decay 5e-4, batch 128, one-cycle
rate peaking at 0.1, crop and flip at 32x32 (the network resizes afterwards); float32 in channels-last
layout, because on this CPU bfloat16 autocast slows the depthwise convolutions down. ``full`` is the longest
version of this recipe (100 epochs on all 45,000 training images, phi up to 3, five seeds) with the paper's
regularization (dropout 0.2 before the classifier, stochastic depth 0.2); the shorter tiers turn both off.

Departures: the paper searches on ImageNet with B0 and trains with RMSProp, AutoAugment and 350 epochs; our
base is smaller and sees CIFAR-10 at 16x16, so raising its resolution up to 32 restores detail that it was
denied (as a larger ImageNet crop does for B0 at 224), and past 32 only enlarges the image.
"""
from __future__ import annotations

import torch

from .. import data as cifar
from ..analysis import count_flops, count_parameters, effective_receptive_field, erf_fraction
from ..models.efficientnet import CIFAR_BASE_RESOLUTION, compound_scaling, efficientnet_cifar
from .registry import experiment

SCALINGS = {
    "depth": (2.0, 1.0, 1.0),
    "width": (1.0, 2 ** 0.5, 1.0),
    "resolution": (1.0, 1.0, 2 ** 0.5),
    "depth+width": (1.4, 1.2, 1.0),
    "depth+resolution": (1.4, 1.0, 1.2),
    "width+resolution": (1.0, 1.2, 1.2),
    "compound": (1.2, 1.1, 1.15),
}
"""Scaling name -> (alpha, beta, gamma), each with alpha * beta^2 * gamma^2 within 4% of 2; "compound" is
[tan2019efficientnet]'s own grid-search result (§4)."""

SINGLE = ("depth", "width", "resolution")
"""The single-dimension scalings (the paper's Fig. 3)."""


def key(scaling: str, phi: int, seed: int = 0) -> str:
    """The name of one trained network: ``"base"``, ``"width_phi2"``, ``"compound_phi2_seed1"``."""
    if phi == 0:
        return "base" if seed == 0 else f"base_seed{seed}"
    return f"{scaling}_phi{phi}" + (f"_seed{seed}" if seed else "")


def build(scaling: str | None, phi: int, seed: int = 0, regularize: bool = False) -> torch.nn.Module:
    """The CIFAR base scaled by ``SCALINGS[scaling]`` at ``phi`` (phi = 0: the base itself), initialized by
    ``torch.manual_seed(seed)``; ``regularize`` turns on the paper's dropout 0.2 and stochastic depth 0.2."""
    if phi != 0 and scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {sorted(SCALINGS)}, got {scaling!r}")
    if not isinstance(phi, int) or phi < 0:
        raise ValueError(f"phi must be a non-negative integer, got {phi!r}")
    alpha, beta, gamma = SCALINGS[scaling] if phi else (1.0, 1.0, 1.0)
    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma, base_resolution=CIFAR_BASE_RESOLUTION)
    torch.manual_seed(seed)
    rate = 0.2 if regularize else 0.0
    return efficientnet_cifar(width, depth, resolution, dropout=rate, drop_path=rate)


def describe(scaling: str | None, phi: int) -> dict:
    """What one network is: its factors, multipliers, resolution, parameters and multiply-adds per 32x32 image."""
    alpha, beta, gamma = SCALINGS[scaling] if phi else (1.0, 1.0, 1.0)
    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma, base_resolution=CIFAR_BASE_RESOLUTION)
    model = build(scaling, phi)
    return {"scaling": scaling if phi else "base", "phi": phi, "alpha": alpha, "beta": beta, "gamma": gamma,
            "depth_mult": depth, "width_mult": width, "resolution": resolution,
            "blocks": sum(len(stage) for stage in model.stages), "parameters": count_parameters(model),
            "macs": count_flops(model)["macs"]}


def erf_summary(model: torch.nn.Module, images: torch.Tensor) -> dict:
    """The effective receptive field of the centre unit of ``model.stages``' output over ``images`` (normalized,
    N x 3 x 32 x 32): the map scaled to a peak of 1 (rows of floats) and the share of the whole image that holds
    95% of the gradient (:func:`cnnlab.analysis.erf_fraction`)."""
    erf = effective_receptive_field(model, "stages", inputs=images)
    side = images.shape[-1]
    return {"map": [[round(v, 5) for v in row] for row in (erf / erf.max()).tolist()],
            "share": erf_fraction(erf, (0, 0, side - 1, side - 1))}


def recipe(run) -> dict:
    """One recipe for every network (see the module docstring)."""
    return dict(epochs=run.scaled(full=100, long=10, quick=3, smoke=1), lr=0.1, schedule="onecycle", amp=False,
                channels_last=True)


@experiment("11", "compound_scaling", minutes=60)
def compound_scaling_cifar(run):
    """Depth, width, resolution alone and compound scaling of a CIFAR MBConv base: accuracy against FLOPs."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=7_000, quick=2_000, smoke=256),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=128))
    grid = run.scaled(full=list(SCALINGS), long=list(SCALINGS), quick=[*SINGLE, "compound"],
                      smoke=["resolution", "compound"])
    phis = run.scaled(full=[1, 2, 3], long=[1, 2], quick=[1, 2], smoke=[1])
    seeds = run.scaled(full=[0, 1, 2, 3, 4], long=[0, 1, 2], quick=[0], smoke=[0])
    top = phis[-1]
    regularize = run.profile == "full"
    options = recipe(run)
    probe = cifar.balanced_subset(data.test, run.scaled(full=256, long=128, quick=32, smoke=8), data.num_classes, seed=0)
    images = cifar.normalize(probe.images, data.mean, data.std)
    networks: dict[str, dict] = {}
    fields: dict[str, dict] = {}

    def train(scaling, phi, seed=0):
        name = key(scaling, phi, seed)
        model = build(scaling, phi, seed, regularize)
        history = run.fit(name, model, data, **options, seed=seed)
        if seed == 0:
            networks[name] = {**describe(scaling, phi), "val_accuracy": history.rows[-1]["val_acc"],
                              "test_accuracy": history.test["accuracy"]}
            if phi == 0 or (phi == top and scaling in (*SINGLE, "compound")):
                fields[name] = run.once(f"erf_{name}", lambda: erf_summary(model, images))
        return history

    train(None, 0)
    for scaling in grid:
        train(scaling, 1)
    at_phi1 = {s: networks[key(s, 1)]["val_accuracy"] for s in grid}
    winner = max(at_phi1, key=at_phi1.get)
    singles = [s for s in SINGLE if s in grid]
    larger = [s for s in dict.fromkeys([*singles, "compound", winner]) if s in grid]
    for phi in phis[1:]:
        for scaling in larger:
            train(scaling, phi)
    best_single = max(singles, key=lambda s: networks[key(s, top)]["val_accuracy"])
    compared = {"compound": {0: networks[key("compound", top)]["test_accuracy"]},
                best_single: {0: networks[key(best_single, top)]["test_accuracy"]}}
    for seed in seeds[1:]:
        for scaling in compared:
            compared[scaling][seed] = train(scaling, top, seed).test["accuracy"]
    return {"networks": networks, "scalings": {s: SCALINGS[s] for s in grid}, "grid_phi": 1,
            "grid_val_accuracy": at_phi1, "grid_winner": winner, "phis": phis, "paired_phi": top,
            "best_single": best_single, "paired": compared, "fields": fields, "recipe": options,
            "regularized": regularize,
            "base_resolution": CIFAR_BASE_RESOLUTION, "train_images": len(data.train.labels),
            "val_images": len(data.val.labels), "test_images": len(data.test.labels), "seeds": seeds}
