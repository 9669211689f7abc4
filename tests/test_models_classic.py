"""Tests for the classic zoo's building blocks."""
import pytest
import torch
from torch import nn

from cnnlab.layers.conv import ConvBNAct


def test_conv_bn_act_shapes_and_children():
    block = ConvBNAct(4, 8, kernel_size=5, stride=2)
    assert block(torch.zeros(2, 4, 16, 16)).shape == (2, 8, 8, 8)
    assert block.conv.bias is None and isinstance(block.bn, nn.BatchNorm2d)


def test_conv_bn_act_without_norm_has_bias_and_no_bn():
    block = ConvBNAct(4, 8, norm=False, act=None)
    assert block.conv.bias is not None and len(block) == 1


def test_conv_bn_act_refuses_groups_not_dividing_channels():
    with pytest.raises(ValueError, match="groups"):
        ConvBNAct(3, 8, groups=2)
