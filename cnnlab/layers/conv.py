"""The basic conv -> batch-norm -> activation block used across the zoo."""
from torch import nn

__all__ = ["ConvBNAct"]


class ConvBNAct(nn.Sequential):
    """Convolution, optional BatchNorm, optional activation (children: conv, bn, act).

    padding=None gives "same-ish" padding dilation*(k//2) per side of a square or (kh, kw) kernel;
    bias=None means "bias only when there is no norm" (BN's shift makes a conv bias redundant);
    ``eps`` is the batch norm's epsilon (1e-3 in the Inception models, as torchvision's).

    ``torchvision.ops.Conv2dNormActivation`` builds the same three layers, but as children
    ``0``, ``1``, ``2``; we keep this small class for the names ``conv``/``bn``/``act``, which hooks,
    feature-map layer names and receptive-field tables show to the learner (``stem.conv`` rather
    than ``stem.0``), as torchvision's own Inception models do with their ``BasicConv2d``.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, dilation=1, bias=None, norm=True, act=nn.ReLU, eps=1e-5):
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if padding is None:
            padding = tuple(dilation * (k // 2) for k in kernel)
        if bias is None:
            bias = not norm
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding,
                              dilation=dilation, groups=groups, bias=bias)
        if norm:
            self.bn = nn.BatchNorm2d(out_channels, eps=eps)
        if act is not None:
            self.act = act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.SiLU) else act()
