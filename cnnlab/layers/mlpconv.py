"""The mlpconv layer of Network in Network [lin2014network], used by :mod:`cnnlab.models.nin`."""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

__all__ = ["MLPConv"]


class MLPConv(nn.Sequential):
    """Conv k x k -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv -> ReLU (children conv, relu, cccp1, ...).

    The two 1x1 convolutions are a small MLP slid over every position ("cccp" in the authors'
    Caffe files). ``batch_norm=True`` puts a batch norm after each convolution (children ``bn``,
    ``bn1``, ``bn2``), which the paper predates; the convolutions keep their biases.
    """

    def __init__(self, in_channels: int, widths: tuple[int, int, int], kernel_size: int, stride: int = 1,
                 padding: int = 0, batch_norm: bool = False):
        if len(widths) != 3 or min(widths) < 1:
            raise ValueError(f"an mlpconv layer needs three positive widths (conv, 1x1, 1x1), got {widths}")
        layers = OrderedDict(conv=nn.Conv2d(in_channels, widths[0], kernel_size, stride, padding))
        if batch_norm:
            layers["bn"] = nn.BatchNorm2d(widths[0])
        layers["relu"] = nn.ReLU()
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
            layers[f"cccp{i}"] = nn.Conv2d(c_in, c_out, 1)
            if batch_norm:
                layers[f"bn{i}"] = nn.BatchNorm2d(c_out)
            layers[f"relu{i}"] = nn.ReLU()
        super().__init__(layers)
