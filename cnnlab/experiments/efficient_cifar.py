"""Chapter 08: the efficient networks' CIFAR forms trained with one recipe, and MobileNetV2's linear bottleneck.

Six CIFAR-10 networks train from seed 0 with one recipe (fit's: SGD with Nesterov momentum 0.9, weight decay
5e-4, batch 128, one-cycle learning rate peaking at 0.1, crop and flip; ``full`` is the survey's CIFAR recipe,
300 epochs with the rate divided by 10 at half and three quarters): ResNet-20 [he2016deep] as the reference of
standard convolutions, MobileNet v1 [howard2017mobilenets], MobileNetV2 [sandler2018mobilenetv2], ShuffleNet V2
[ma2018shufflenet], SqueezeNet 1.1 [iandola2016squeezenet] and the reduced CIFAR Xception
[chollet2017xception]. For each: final test accuracy, parameters, multiply-adds at 32x32, the measured time of
a forward pass on the run's device at batch 1 and batch 128, and training images per second. SqueezeNet gets
batch norm after every conv, as most CIFAR versions do: built as the paper builds it, without batch norm, its
ReLU on the class maps died within a few steps at a constant rate of 0.1 or 0.04 in a trial on this CPU
(every logit 0, the loss stuck at ln 10).

Then [sandler2018mobilenetv2]'s Fig. 6a ablation, paired by seed: MobileNetV2 with its linear bottleneck
against the same network with a ReLU6 after every projection (:func:`relu_bottleneck`), same initial weights
and data order per seed. Seed 0's two networks are kept (the chapter counts the values each ReLU6 zeroes), and
ResNet-20's (the chapter compares effective receptive fields).

Everything trains and is timed in float32: on this CPU bfloat16 autocast speeds ResNet-20 up but slows the
depthwise convolutions down, so a mixed choice would time and train the networks differently.

Departures: the papers train on ImageNet; these are the CIFAR forms of :mod:`cnnlab.models` (stride-1 stems).
The ablation uses MobileNetV2 at width 0.5 (the paper's Fig. 6a is at width 1.0), for time. The ``long`` run
trains on 7,500 of the 45,000 training images for 9 epochs, to keep within the chapter's 60 minutes of a 2-core
CPU, and holds out 2,000 for the per-epoch curves.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .. import data as cifar
from .. import models
from ..analysis import count_flops, count_parameters, measure_latency
from ..layers import MBConv
from ..session import get_device
from .registry import experiment

NETWORKS = {"resnet20": "ResNet-20", "mobilenet_v1": "MobileNet v1", "mobilenet_v2": "MobileNetV2",
            "shufflenet_v2": "ShuffleNet V2", "squeezenet": "SqueezeNet 1.1 + BN", "xception": "Xception (CIFAR)"}
"""The compared networks: registry name -> label (also the keys of their histories)."""

OPTIONS = {"squeezenet": {"batch_norm": True}}
"""Builder options: SqueezeNet with batch norm (the paper's has none; see the module docstring)."""

ABLATION_WIDTH = 0.5
"""MobileNetV2's width multiplier in the bottleneck ablation."""


def relu_bottleneck(model: nn.Module) -> nn.Module:
    """``model`` (a MobileNetV2) with a ReLU6 appended to the projection of every inverted residual block:
    the non-linear bottleneck that [sandler2018mobilenetv2] Fig. 6a compares with its linear one. No weight
    changes, so a network built from a seed and its ReLU6 twin start from the same weights."""
    blocks = [m for m in model.modules() if isinstance(m, MBConv)]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no inverted residual (MBConv) block to change")
    for block in blocks:
        if hasattr(block.project, "act"):
            raise ValueError("this network's projections already end in an activation")
        block.project.add_module("act", nn.ReLU6())
    return model


def build(name: str, seed: int, num_classes: int = 10, bottleneck: str | None = None) -> nn.Module:
    """Network ``name`` as ``torch.manual_seed(seed)`` initializes it; ``bottleneck`` "linear" or "relu6" builds
    the ablation's MobileNetV2 at width :data:`ABLATION_WIDTH`."""
    torch.manual_seed(seed)
    if bottleneck is None:
        if name not in NETWORKS:
            raise ValueError(f"name must be one of {sorted(NETWORKS)}, got {name!r}")
        return models.create(name, num_classes=num_classes, **OPTIONS.get(name, {}))
    if bottleneck not in ("linear", "relu6"):
        raise ValueError(f"bottleneck must be 'linear' or 'relu6', got {bottleneck!r}")
    model = models.create("mobilenet_v2", num_classes=num_classes, alpha=ABLATION_WIDTH)
    return relu_bottleneck(model) if bottleneck == "relu6" else model


def costs(model: nn.Module, repeats: int, batch_size: int) -> dict:
    """Parameters, multiply-adds at 32x32, and the time of a float32 forward pass on the run's device at batch 1
    and at ``batch_size`` (a GPU run thus shows what a GPU changes)."""
    device = get_device()
    one = measure_latency(model, (1, 3, 32, 32), device=device, warmup=5, repeats=repeats)
    many = measure_latency(model, (1, 3, 32, 32), device=device, warmup=2, repeats=max(3, repeats // 4),
                           batch_size=batch_size)
    return {"parameters": count_parameters(model), "macs": count_flops(model)["macs"],
            "latency_ms": one["median_ms"], "latency_iqr_ms": one["iqr_ms"], "batch_size": batch_size,
            "batch_images_per_s": many["images_per_s"], "device": one["device"]}


def recipe(run) -> dict:
    """One recipe for every network (see the module docstring), float32."""
    return dict(epochs=run.scaled(full=300, long=9, quick=2, smoke=1),
                schedule=run.scaled(full="step", long="onecycle", quick="onecycle", smoke="onecycle"),
                lr=0.1, amp=False)


@experiment("08", "efficient_cifar", minutes=60)
def efficient_cifar(run):
    """Six CIFAR forms (accuracy, parameters, FLOPs, latency); MobileNetV2 linear vs ReLU6 bottleneck, paired."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=7_500, quick=1_500, smoke=256),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=128))
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2], quick=[0, 1], smoke=[0])
    repeats = run.scaled(full=50, long=40, quick=20, smoke=3)
    batch_size = run.scaled(full=128, long=128, quick=128, smoke=8)
    names = run.scaled(full=list(NETWORKS), long=list(NETWORKS), quick=list(NETWORKS),
                       smoke=["resnet20", "mobilenet_v2"])  # the tests: two networks of the six
    values = {"networks": {name: NETWORKS[name] for name in names}, "recipe": recipe(run),
              "train_images": len(data.train.labels), "val_images": len(data.val.labels),
              "test_images": len(data.test.labels), "seeds": seeds, "ablation_width": ABLATION_WIDTH, "table": {},
              "bottleneck": {"linear": {}, "relu6": {}}}
    for name in names:
        model = build(name, 0, data.num_classes)
        history = run.fit(name, model, data, **recipe(run), seed=0)
        row = run.once(f"costs_{name}", lambda: costs(model, repeats, batch_size))
        rows = history.rows
        row.update(test_accuracy=history.test["accuracy"],
                   train_images_per_s=sum(r["images_per_s"] for r in rows) / len(rows))
        values["table"][name] = row
        if name == "resnet20":
            run.keep(name, model)
    for seed in seeds:
        for kind in ("linear", "relu6"):
            model = build("mobilenet_v2", seed, data.num_classes, bottleneck=kind)
            history = run.fit(f"mobilenet_v2_{kind}_seed{seed}", model, data, **recipe(run), seed=seed)
            values["bottleneck"][kind][seed] = history.test["accuracy"]
            if seed == 0:
                run.keep(f"mobilenet_v2_{kind}", model)
    return values
