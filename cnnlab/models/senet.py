"""SE-ResNets [hu2018squeeze]: ResNets whose every residual branch ends with squeeze-and-excitation.

The SE block (:class:`cnnlab.layers.SqueezeExcite`) re-weights the channels of the residual branch
just before it is added to the shortcut ([hu2018squeeze] Fig. 3), so the network is a
:class:`cnnlab.models.resnet.ResNet` with one SE appended to every block's ``body``. The
reduction ratio is ``r = 16`` as in the paper; in the 16-channel first stage of the CIFAR forms
that leaves one hidden unit (kept as the paper's rule, ``reduction`` changes it).
:func:`cnnlab.layers.attention_weights` reads the channel weights of every block.
"""
from __future__ import annotations

import torch.nn as nn

from ..layers.residual import BasicBlock, Bottleneck
from ..layers.se import SqueezeExcite
from .registry import register
from .resnet import ResNet, cifar_resnet

__all__ = ["add_squeeze_excite"]


def add_squeeze_excite(model: ResNet, reduction: int = 16) -> ResNet:
    """Append an SE block with ratio ``reduction`` to the residual branch of every block of ``model``."""
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no residual blocks to put squeeze-and-excitation in")
    for block in blocks:
        last = block.body[-1]  # BatchNorm in the original order, the last conv in the pre-activation ones
        channels = last.num_features if isinstance(last, nn.BatchNorm2d) else last.out_channels
        block.body.append(SqueezeExcite(channels, reduction))
    return model


def _add_se_cifar(depth: int) -> None:
    def build(num_classes: int = 10, reduction: int = 16, **options) -> ResNet:
        return add_squeeze_excite(cifar_resnet(depth, num_classes, **options), reduction)

    build.__doc__ = f"SE-ResNet-{depth} on CIFAR: ResNet-{depth} of [he2016deep] with SE (r=16) in every block."
    register(f"se_resnet{depth}", paper="hu2018squeeze", family="senet", tags=("chapter09",))(build)


for _depth in (20, 56):
    _add_se_cifar(_depth)


@register("se_resnet50_imagenet", paper="hu2018squeeze", family="senet", input_size=224,
          reference="paper: hu2018squeeze, §4 model complexity, ResNet-50 plus ~2.5M (28.1M)",
          reference_params=28_100_000, tags=("chapter09",))
def se_resnet50_imagenet(num_classes: int = 1000, reduction: int = 16, **options) -> ResNet:
    """SE-ResNet-50 [hu2018squeeze]: torchvision's ResNet-50 layout with SE (r=16) in every bottleneck."""
    model = ResNet("bottleneck", [3, 4, 6, 3], [256, 512, 1024, 2048], num_classes, stem="imagenet",
                   input_size=224, **options)
    return add_squeeze_excite(model, reduction)
