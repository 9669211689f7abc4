"""SE-ResNets [hu2018squeeze]: ResNets whose every residual branch ends with squeeze-and-excitation.

The SE block (:class:`cnnlab.layers.SqueezeExcite`) re-weights the channels of the residual branch
just before it is added to the shortcut ([hu2018squeeze] Fig. 3), so the network is a
:class:`cnnlab.models.resnet.ResNet` whose every block has an ``se`` child (``se_reduction``). The
reduction ratio is ``r = 16`` as in the paper; in the 16-channel first stage of the CIFAR forms
that leaves one hidden unit (kept as the paper's rule, ``reduction`` changes it).
:func:`cnnlab.layers.attention_weights` reads the channel weights of every block.
"""
from __future__ import annotations

from .registry import register
from .resnet import ResNet, cifar_resnet

__all__: list[str] = []


@register("se_resnet20", paper="hu2018squeeze", family="senet", tags=("chapter09",))
def se_resnet20(num_classes: int = 10, *, reduction: int = 16, block_variant: str = "original",
                drop_prob: float = 0.0) -> ResNet:
    """SE-ResNet-20 on CIFAR: ResNet-20 of [he2016deep] with SE (r=16) in every block."""
    return cifar_resnet(20, num_classes, block_variant=block_variant, drop_prob=drop_prob, se_reduction=reduction)


@register("se_resnet56", paper="hu2018squeeze", family="senet", tags=("chapter09",))
def se_resnet56(num_classes: int = 10, *, reduction: int = 16, block_variant: str = "original",
                drop_prob: float = 0.0) -> ResNet:
    """SE-ResNet-56 on CIFAR: ResNet-56 of [he2016deep] with SE (r=16) in every block."""
    return cifar_resnet(56, num_classes, block_variant=block_variant, drop_prob=drop_prob, se_reduction=reduction)


@register("se_resnet50_imagenet", paper="hu2018squeeze", family="senet", input_size=224,
          reference="paper: hu2018squeeze, §4 model complexity, ResNet-50 plus ~2.5M (28.1M)",
          reference_params=28_100_000, tags=("chapter09",))
def se_resnet50_imagenet(num_classes: int = 1000, *, reduction: int = 16, drop_prob: float = 0.0) -> ResNet:
    """SE-ResNet-50 [hu2018squeeze]: torchvision's ResNet-50 layout with SE (r=16) in every bottleneck."""
    return ResNet("bottleneck", [3, 4, 6, 3], [256, 512, 1024, 2048], num_classes, stem="imagenet",
                  input_size=224, drop_prob=drop_prob, se_reduction=reduction)
