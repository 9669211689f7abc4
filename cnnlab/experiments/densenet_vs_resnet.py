"""Chapter 07: DenseNet-BC against a ResNet with as many parameters, paired by seed.

[huang2017densely] rank DenseNet-BC above ResNets of the same parameter budget (their Fig. 4, and Table 2
against [he2016deep]'s ResNet-110). Here DenseNet-BC (L=40, k=12: 176,122 parameters) and the CIFAR ResNet-14
of [he2016deep] section 4.2 (172,506) are trained with one recipe, fit's defaults (SGD with Nesterov momentum
0.9, one-cycle learning rate peaking at 0.1, weight decay 5e-4, batch 128, crop and flip), from the same seeds
and the same data order, so their final test accuracies pair seed by seed (:func:`cnnlab.analysis.paired`).

Both networks of seed 0 are kept, and DenseNet-BC's weights before training as well: chapter 07 draws the
feature-reuse map of the trained dense blocks (the paper's Fig. 5, :func:`cnnlab.analysis.feature_reuse`),
how far training moved each connection, and the effective receptive fields of the trained nets.

Departures from the paper: far fewer epochs and images (the ``long`` tier is sized for an hour of a 2-core
CPU; the paper trains 300 epochs on all 50,000 images with batch 64, a step schedule and weight decay 1e-4),
and the Fig. 5 of the paper maps a DenseNet (L=40, k=12) without bottlenecks or compression.
"""
from __future__ import annotations

import torch

from .. import data as cifar
from ..analysis import count_parameters
from ..models.densenet import cifar_densenet
from ..models.resnet import cifar_resnet
from .registry import experiment

NETWORKS = {"resnet": "ResNet-14", "densenet": "DenseNet-BC (L=40, k=12)"}


def build(kind: str, seed: int, num_classes: int = 10):
    """The ``kind`` network ("resnet" or "densenet") as seed ``seed`` initializes it."""
    if kind not in NETWORKS:
        raise ValueError(f"kind must be one of {sorted(NETWORKS)}, got {kind!r}")
    torch.manual_seed(seed)
    if kind == "resnet":
        return cifar_resnet(14, num_classes)
    return cifar_densenet(40, 12, num_classes)


@experiment("07", "densenet_vs_resnet", minutes=60)
def densenet_vs_resnet(run):
    """DenseNet-BC (L=40, k=12) against ResNet-14 at equal parameters, paired seeds; seed 0's nets kept."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=20_000, quick=2_000, smoke=256))
    epochs = run.scaled(full=300, long=5, quick=2, smoke=1)
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2, 3], quick=[0, 1], smoke=[0, 1])
    values = {"networks": NETWORKS, "epochs": epochs, "seeds": seeds, "train_images": len(data.train.labels),
              "test_images": len(data.test.labels), "parameters": {}, "test_accuracy": {k: {} for k in NETWORKS}}
    for seed in seeds:
        for kind in NETWORKS:
            model = build(kind, seed, data.num_classes)
            values["parameters"][kind] = count_parameters(model)
            if seed == 0 and kind == "densenet":
                run.keep("densenet_start", model)
            history = run.fit(f"{kind}_seed{seed}", model, data, epochs=epochs, seed=seed)
            values["test_accuracy"][kind][seed] = history.test["accuracy"]
            if seed == 0:
                run.keep(kind, model)
    return values
