"""Chapter 06: the ResNet family at ResNet-20's size, trained on the same seeds, and stochastic depth.

Five networks of about ResNet-20's multiply-adds train with one recipe (SGD with Nesterov momentum,
one-cycle learning rate peaking at 0.1, batch 128, weight decay 5e-4) from seeds 0, 1, 2, so that each
can be compared with ResNet-20 seed by seed (:func:`cnnlab.analysis.paired`):

* ResNet-20 [he2016deep] and WRN-10-2 [zagoruyko2016wide]: depth against width at about the same
  parameters and multiply-adds;
* PyramidNet-20 with alpha = 24 [han2017deep]: the same multiply-adds, half the parameters;
* a ResNeXt of ResNet-20's three stages with two bottlenecks each, C = 8 paths of d = 4, 8, 16 channels
  [xie2017aggregated] (:func:`small_resnext`);
* ResNet-20 with stochastic depth [huang2016deep]: the last block dropped with probability 0.5, block l
  of L with l/L of it.

After training, every block of ResNet-20 and of its stochastic-depth twin is deleted in turn at test time
(:func:`cnnlab.analysis.block_deletion`, Veit et al.'s lesion study [veit2016residual]): a network trained
with blocks missing should lose less when one is missing at test time.
"""
from __future__ import annotations

import torch

from .. import data as cifar
from .. import models
from ..analysis.lesion import block_deletion
from ..models.resnet import ResNet, wide_resnet
from .registry import experiment

__all__ = ["family", "small_resnext", "NETWORKS"]


def small_resnext(num_classes: int = 10) -> ResNet:
    """ResNet-20's three stages (16-channel stem; 2 bottlenecks per stage with outputs 64, 128, 256) with
    grouped 3x3 convolutions of C = 8 paths of d = 4, 8, 16 channels: about ResNet-20's multiply-adds.
    Ours, for a CPU: the paper's smallest CIFAR ResNeXt is ResNeXt-29 (8x64d, 34.4M parameters)."""
    return ResNet("bottleneck", [2, 2, 2], [64, 128, 256], num_classes, stem="cifar", stem_channels=16,
                  inner_widths=[32, 64, 128], groups=8)


NETWORKS = {  # name in the chapter: builder
    "ResNet-20": lambda: models.create("resnet20"),
    "WRN-10-2": lambda: wide_resnet(10, 2),
    "PyramidNet-20": lambda: models.create("pyramidnet20_a24"),
    "ResNeXt-20 (8x4d)": small_resnext,
    "ResNet-20 + stochastic depth": lambda: models.create("resnet20", drop_prob=0.5),
}
LESIONED = ("ResNet-20", "ResNet-20 + stochastic depth")


@experiment("06", "family", minutes=34)
def family(run):
    """ResNet-20, WRN-10-2, PyramidNet-20, a small ResNeXt and ResNet-20 with stochastic depth on the same
    seeds; every block of the two ResNet-20s deleted in turn at test time."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=6_500, quick=2_000, smoke=128),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=64),
                      test_size=run.scaled(full=None, long=None, quick=None, smoke=128))
    epochs = run.scaled(full=200, long=10, quick=3, smoke=1)
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2], quick=[0], smoke=[0])
    lesion_images = cifar.balanced_subset(data.test, run.scaled(full=None, long=2_500, quick=None, smoke=64),
                                          data.num_classes, seed=0)
    values = {"epochs": epochs, "seeds": seeds, "train_images": len(data.train), "val_images": len(data.val),
              "test_images": len(data.test), "lesion_images": len(lesion_images),
              "test": {name: {} for name in NETWORKS}, "lesion": {name: {} for name in LESIONED}}
    for seed in seeds:
        for name, build in NETWORKS.items():
            torch.manual_seed(seed)
            model = build()
            history = run.fit(f"{name}, seed {seed}", model, data, epochs=epochs, lr=0.1, seed=seed)
            values["test"][name][seed] = history.test["accuracy"]
            if name in LESIONED:
                model.to(memory_format=torch.contiguous_format)  # fit leaves it channels-last: slow for NCHW batches
                loader = cifar.DeviceLoader(lesion_images, 500, next(model.parameters()).device, train=False,
                                            mean=data.mean, std=data.std)
                values["lesion"][name][seed] = run.once(f"lesion {name}, seed {seed}",
                                                        lambda: block_deletion(model, loader))
    return values
