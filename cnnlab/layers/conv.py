"""The basic conv -> batch-norm -> activation block used across the zoo."""
from torch import nn

__all__ = ["ConvBNAct"]


class ConvBNAct(nn.Sequential):
    """Convolution, optional BatchNorm, optional activation (children: conv, bn, act).

    padding=None gives "same-ish" padding dilation*(kernel_size//2); bias=None means
    "bias only when there is no norm" (BN's shift makes a conv bias redundant).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, dilation=1, bias=None, norm=True, act=nn.ReLU):
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding is None:
            padding = dilation * (kernel_size // 2)
        if bias is None:
            bias = not norm
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                              dilation=dilation, groups=groups, bias=bias)
        if norm:
            self.bn = nn.BatchNorm2d(out_channels)
        if act is not None:
            self.act = act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.SiLU) else act()
