"""Chapter 06: FractalNet's columns alone against the whole network, with and without drop-path.

Larsson et al. [larsson2017fractalnet] (Table 1, CIFAR-10 with augmentation) train FractalNet-20 with
drop-path and find its deepest column alone, a plain 20-layer network, almost as accurate as the whole
network: 4.68% against 4.60% test error. The experiment trains a FractalNet of 3 columns and 5 blocks twice
from the same start, with drop-path (local with probability 0.15, global for half of the mini-batches, the
paper's setting) and without it, on the same seeds, and evaluates each column alone and the whole network.

Batch norm keeps one running mean and variance per convolution, averaged over all mini-batches; with
drop-path a convolution sees different inputs in different mini-batches (the mean of three columns, one
column alone), so those statistics fit none of the sub-networks evaluated. Each sub-network is therefore
evaluated with its statistics re-estimated on training batches run through it (:func:`reestimated`), as
one does for any network whose paths change between training and test; the validation accuracy as trained
is kept too. Departure: the paper's learning rate 0.02 and momentum, but cnnlab's one-cycle schedule, no
dropout, and far fewer epochs (the paper trains 400).
"""
from __future__ import annotations

import contextlib
import copy

import torch
from torch import nn

from .. import data as cifar
from ..models.fractalnet import FractalNet
from ..train import evaluate
from .registry import experiment

__all__ = ["fractal_columns", "reestimated", "sub_networks", "TRAININGS"]

TRAININGS = {"drop-path": dict(p_local=0.15, global_ratio=0.5), "no drop-path": dict(p_local=0.0, global_ratio=0.0)}


@torch.no_grad()
def reestimated(model: nn.Module, loader, batches: int) -> nn.Module:
    """A copy of ``model`` whose batch norms hold the plain average statistics of ``batches`` batches of
    ``loader`` run through it as it is (joins averaging, no drop-path, no weight change).

    ``torch.optim.swa_utils.update_bn`` does the same but puts the whole model in training mode, which
    would turn drop-path on; here only the batch norms are.
    """
    if batches < 1:
        raise ValueError(f"batches must be a positive number of batches, got {batches!r}")
    model = copy.deepcopy(model).eval()
    for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative (plain) average over the batches below
        norm.train()
    for k, (x, _) in enumerate(loader):
        if k == batches:
            break
        model(x)
    return model.eval()


def _as(model: FractalNet, column: int | None):
    return model.only_column(column) if column is not None else contextlib.nullcontext()


def sub_networks(model: FractalNet, data, batches: int) -> list[dict]:
    """Each column alone (0-based, shallowest first) and then the whole network (``column`` None): its
    validation accuracy as trained, and its validation and test accuracy with batch-norm statistics
    re-estimated on ``batches`` training batches of 128."""
    device = next(model.parameters()).device
    model.to(memory_format=torch.contiguous_format)  # fit leaves it channels-last, slow in float32 on NCHW batches

    def loader(split, train=False):
        return cifar.DeviceLoader(split, 128 if train else 500, device, train=train, mean=data.mean, std=data.std)

    rows = []
    for column in [*range(model.columns), None]:
        with _as(model.eval(), column):
            as_trained = evaluate(model, loader(data.val)).accuracy
            calibrated = reestimated(model, loader(data.train, train=True), batches)
        with _as(calibrated, column):
            rows.append({"column": column, "val_as_trained": as_trained,
                         "val": evaluate(calibrated, loader(data.val)).accuracy,
                         "test": evaluate(calibrated, loader(data.test)).accuracy})
    return rows


@experiment("06", "fractal_columns", minutes=24)
def fractal_columns(run):
    """FractalNet (3 columns, 5 blocks) trained with and without drop-path on the same seeds: each column
    alone and the whole network, batch-norm statistics re-estimated per sub-network."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=6_000, quick=2_000, smoke=128),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=64),
                      test_size=run.scaled(full=None, long=None, quick=None, smoke=128))
    widths = run.scaled(full=(64, 128, 256, 512, 512), long=(16, 32, 64, 128, 128), quick=(8, 16, 32, 64, 64),
                        smoke=(8, 16, 32, 64, 64))
    epochs = run.scaled(full=400, long=12, quick=8, smoke=1)
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2], quick=[0], smoke=[0])
    batches = run.scaled(full=40, long=16, quick=8, smoke=1)
    values = {"widths": list(widths), "epochs": epochs, "seeds": seeds, "train_images": len(data.train),
              "val_images": len(data.val), "test_images": len(data.test), "calibration_images": 128 * batches,
              "columns": {training: {} for training in TRAININGS}}
    for seed in seeds:
        for training, options in TRAININGS.items():
            torch.manual_seed(seed)
            model = FractalNet(3, widths, data.num_classes, **options)
            run.fit(f"FractalNet, {training}, seed {seed}", model, data, epochs=epochs, lr=0.02,
                    batch_size=run.scaled(full=100, long=128, quick=128, smoke=128), seed=seed)
            values["columns"][training][seed] = run.once(f"sub-networks, {training}, seed {seed}",
                                                         lambda: sub_networks(model, data, batches))
    values["parameters"] = sum(p.numel() for p in model.parameters())
    return values
