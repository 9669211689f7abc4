"""LeNet-5 [lecun1998gradient] as published, and the "folk" LeNet most code calls LeNet.

``lenet5`` follows the paper layer by layer: C1 6@28x28 (5x5), S2 trainable subsampling, C3 with the
partial connection table of Table I (16 maps, 60 connections, 1,516 parameters), S4, C5 120 maps
(5x5 over 16 maps, 48,120 parameters), F6 84 units, the scaled tanh f(a) = 1.7159 tanh(2a/3) after
every layer up to F6, and Euclidean RBF output units with fixed +-1 codes. Weights start as in the
paper (Appendix A): every weight and bias uniform in +-2.4/F_i, F_i the fan-in of its unit (25 x input
maps for a 5x5 unit, 4 for a subsampling unit); ``init="pytorch"`` keeps PyTorch's defaults instead,
for comparison. Departures, and why:

* ``in_channels`` defaults to 3 (CIFAR colour); with ``in_channels=1`` (the paper's 32x32 grey
  digits) every layer's parameter count equals the paper's.
* The RBF codes are random +-1 codes, not the paper's 7x12 ASCII bitmaps (which we cannot
  reproduce); the model returns minus the squared distances as logits. The paper's loss (eq. 9) is
  :func:`cnnlab.layers.lenet.rbf_loss` (pass it as ``loss_fn``); plain cross-entropy also trains it,
  but keeps F6 near 0 instead of at the codes (see :class:`cnnlab.layers.lenet.EuclideanRBF`).
* The paper scales its inputs so that the background is -0.1 and the ink 1.175 (mean about 0,
  variance about 1); the course's per-channel standardization plays that role.
* Trained with the course's optimizer, not the paper's stochastic diagonal Levenberg-Marquardt.

``lenet5_folk`` is what tutorials call LeNet: ReLU, max-pooling, fully connected C3, linear
layers and a softmax (in the loss) instead of squashing, subsampling coefficients, the
connection table and RBF units. Chapter 01 trains both side by side.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.lenet import LENET5_C3_TABLE, EuclideanRBF, PartialConv, ScaledTanh, TrainableSubsampling
from .base import Network
from .registry import register

__all__ = ["LeNet5", "FolkLeNet", "paper_init_"]


class LeNet5(Network):
    """LeNet-5 of [lecun1998gradient] on 32x32 inputs; children named as in the paper (c1 ... output)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, rbf_seed: int = 0, init: str = "paper"):
        super().__init__(in_channels=in_channels, input_size=32)
        if init not in ("paper", "pytorch"):
            raise ValueError(f"init must be 'paper' (uniform in +-2.4/fan-in, as published) or 'pytorch' "
                             f"(PyTorch's default initialization), got {init!r}")
        self.c1 = nn.Sequential(nn.Conv2d(in_channels, 6, 5), ScaledTanh())
        self.s2 = nn.Sequential(TrainableSubsampling(6), ScaledTanh())
        self.c3 = nn.Sequential(PartialConv(6, LENET5_C3_TABLE, 5), ScaledTanh())
        self.s4 = nn.Sequential(TrainableSubsampling(16), ScaledTanh())
        self.c5 = nn.Sequential(nn.Conv2d(16, 120, 5), ScaledTanh(), nn.Flatten())
        self.f6 = nn.Sequential(nn.Linear(120, 84), ScaledTanh())
        self.output = EuclideanRBF(84, num_classes, seed=rbf_seed)
        if init == "paper":
            paper_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.f6(self.c5(self.s4(self.c3(self.s2(self.c1(x)))))))


@torch.no_grad()
def paper_init_(model: nn.Module) -> None:
    """Set every weight and bias of ``model`` uniform in +-2.4/F_i, F_i the fan-in of its unit [lecun1998gradient]."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            parameters = [module.weight] + ([module.bias] if module.bias is not None else [])
        elif isinstance(module, TrainableSubsampling):
            fan_in = module.size ** 2
            parameters = [module.coefficient, module.bias]
        else:
            continue
        for parameter in parameters:
            parameter.uniform_(-2.4 / fan_in, 2.4 / fan_in)


class FolkLeNet(Network):
    """The "LeNet" of tutorials: conv(6)-ReLU-maxpool, conv(16)-ReLU-maxpool, FC 120-84-classes."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__(in_channels=in_channels, input_size=32)
        self.features = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, 6, 5), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(6, 16, 5), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2)))
        self.classifier = nn.Sequential(OrderedDict(
            flatten=nn.Flatten(), fc1=nn.Linear(16 * 5 * 5, 120), relu3=nn.ReLU(),
            fc2=nn.Linear(120, 84), relu4=nn.ReLU(), fc3=nn.Linear(84, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register("lenet5", paper="lecun1998gradient", family="lenet", tags=("chapter01",))
def lenet5(num_classes: int = 10, **options) -> LeNet5:
    """LeNet-5 as published (see the module docstring for what differs)."""
    return LeNet5(num_classes, **options)


@register("lenet5_folk", paper="lecun1998gradient", family="lenet", tags=("chapter01",))
def lenet5_folk(num_classes: int = 10, **options) -> FolkLeNet:
    """The modern "LeNet": ReLU, max-pooling, full connections, softmax."""
    return FolkLeNet(num_classes, **options)
