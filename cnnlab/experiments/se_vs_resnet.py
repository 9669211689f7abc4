"""Chapter 09: SE-ResNet-20 against ResNet-20, paired by seed, and what the trained excitations encode.

[hu2020squeeze] add a squeeze-and-excitation block to every residual branch and report lower CIFAR-10 error at a
fraction of a percent more parameters (ResNet-110 6.37% -> SE-ResNet-110 5.21%, ResNet-164 5.46% -> 4.39%).
Here the CIFAR ResNet-20 of [he2016deep] and SE-ResNet-20 (r=16) train with one recipe from the same seeds: the
same data order, and the same initial weights in every layer they share (the SE net's convolutions, batch norms
and classifier are copied from the ResNet of its seed; only its SE blocks are its own), so their final test
accuracies pair seed by seed (:func:`cnnlab.analysis.paired`).

Then the excitations of each trained SE-ResNet-20 are read on the test images, per class
(:func:`cnnlab.analysis.attention_by_class`; [hu2020squeeze] Fig. 6 shows early blocks class-agnostic, late
ones class-specific): seed 0's per-class means in every block, and for every seed (and for seed 0 before
training, the control) the share of the excitations' variance that lies between classes. Both seed-0 nets are
kept.

Recipe: ``full`` is the CIFAR recipe of [he2016deep] section 4.2 (182 epochs, SGD with momentum 0.9, weight decay
1e-4, batch 128, learning rate 0.1 divided by 10 at half and three quarters of the run); the shorter tiers use
fit's defaults (one-cycle learning rate peaking at 0.1, Nesterov momentum, weight decay 5e-4), which reach a
higher accuracy in few epochs. Departures: the ``long`` tier trains on 20,000 of the 45,000 training images for
10 epochs (the paper trains every image for 164 epochs or more), so its accuracies are far from the paper's.
"""
from __future__ import annotations

import torch

from .. import data as cifar
from .. import models
from ..analysis import attention_by_class, count_flops, count_parameters
from .registry import experiment

NETWORKS = {"resnet20": "ResNet-20", "se_resnet20": "SE-ResNet-20"}


def build(kind: str, seed: int, num_classes: int = 10):
    """The ``kind`` network as seed ``seed`` starts it; SE-ResNet-20 shares every weight but its SE blocks' with
    the ResNet-20 of the same seed."""
    if kind not in NETWORKS:
        raise ValueError(f"kind must be one of {sorted(NETWORKS)}, got {kind!r}")
    torch.manual_seed(seed)
    resnet = models.create("resnet20", num_classes=num_classes)
    if kind == "resnet20":
        return resnet
    torch.manual_seed(seed)
    se = models.create("se_resnet20", num_classes=num_classes)
    missing, unexpected = se.load_state_dict(resnet.state_dict(), strict=False)
    if unexpected or any(".se." not in name for name in missing):
        raise RuntimeError(f"SE-ResNet-20 and ResNet-20 no longer share their layers: {unexpected or missing}")
    return se


def recipe(run) -> dict:
    """He et al.'s CIFAR recipe under ``full``, fit's defaults for a shorter run (module docstring)."""
    epochs = run.scaled(full=182, long=10, quick=3, smoke=1)
    if run.profile == "full":
        return dict(epochs=epochs, lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4, schedule="step")
    return dict(epochs=epochs)


def excitations(model, data, num_classes: int) -> dict:
    """:func:`~cnnlab.analysis.attention_by_class` of ``model`` on the test images."""
    images = cifar.normalize(data.test.images, data.mean, data.std)
    return attention_by_class(model, images, data.test.labels, num_classes)


@experiment("09", "se_vs_resnet", minutes=40)
def se_vs_resnet(run):
    """SE-ResNet-20 against ResNet-20 (paired seeds, same start); excitations per class (Hu et al. Fig. 6)."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=20_000, quick=2_500, smoke=128),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=64),
                      test_size=run.scaled(full=None, long=None, quick=1_000, smoke=64))
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2, 3], quick=[0, 1], smoke=[0, 1])
    values = {"networks": NETWORKS, "recipe": recipe(run), "seeds": seeds, "train_images": len(data.train.labels),
              "test_images": len(data.test.labels), "parameters": {}, "macs": {},
              "test_accuracy": {kind: {} for kind in NETWORKS}, "class_share": {}}
    for kind in NETWORKS:
        model = build(kind, 0, data.num_classes)
        values["parameters"][kind] = count_parameters(model)
        values["macs"][kind] = count_flops(model)["macs"]
    untrained = build("se_resnet20", 0, data.num_classes)
    start = run.once("excitation_untrained", lambda: excitations(untrained, data, data.num_classes))
    values["class_share_untrained"] = {block: entry["class_share"] for block, entry in start.items()}
    for seed in seeds:
        nets = {kind: build(kind, seed, data.num_classes) for kind in NETWORKS}
        for kind, model in nets.items():
            history = run.fit(f"{kind}_seed{seed}", model, data, **recipe(run), seed=seed)
            values["test_accuracy"][kind][seed] = history.test["accuracy"]
            if seed == 0:
                run.keep(kind, model)
        se_net = nets["se_resnet20"]
        trained = run.once(f"excitation_seed{seed}", lambda: excitations(se_net, data, data.num_classes))
        values["class_share"][seed] = {block: entry["class_share"] for block, entry in trained.items()}
        if seed == 0:
            values["excitation"] = trained
    return values
