"""The Big-Little stage of Big-Little Net [chen2019biglittle], used by :mod:`cnnlab.models.assemble_resnet`."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["BigLittleStage"]


class BigLittleStage(nn.Module):
    """``relu(upsample(big(x)) + little(x))`` [chen2019biglittle]: big branch at half resolution, little
    branch at full resolution; ``little`` ends with a 1x1 conv + BN back to the stage width."""

    def __init__(self, big: nn.Module, little: nn.Module):
        super().__init__()
        self.big, self.little = big, little
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        little = self.little(x)
        big = F.interpolate(self.big(x), size=little.shape[-2:], mode="bilinear", align_corners=False)
        return self.act(big + little)
