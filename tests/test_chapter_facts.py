"""Numbers chapters 01-03 print, checked here with expected values worked out by hand from the papers'
layer lists (nbval compares printed text only where a cell is not ``nbval-ignore-output``, and never a
figure). MACs: a conv layer costs c_in x c_out x k x k per output pixel; a linear layer c_in x c_out.
"""
import pytest
import torch

from cnnlab.analysis import count_flops, count_parameters
from cnnlab.models import create


def conv_costs(layers):
    """(parameters, MACs) of a list of (c_in, c_out, k, output side) convolutions with biases."""
    return (sum(cin * cout * k * k + cout for cin, cout, k, _ in layers),
            sum(cin * cout * k * k * side * side for cin, cout, k, side in layers))


# VGG-16, configuration D of simonyan2015very Table 1: 3x3 convs, 2x2 pools halving the side.
VGG16_CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
               (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
VGG16_STAGE = [0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]


def vgg16_convs(image_side):
    return [(cin, cout, 3, image_side >> stage) for (cin, cout), stage in zip(VGG16_CONVS, VGG16_STAGE)]


def test_vgg16_imagenet_parameters_and_macs():
    params, macs = conv_costs(vgg16_convs(224))
    fc = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
    params += sum(a * b + b for a, b in fc)
    macs += sum(a * b for a, b in fc)
    assert params == 138_357_544  # the paper's Table 2: 138 million
    model = create("vgg16_imagenet", num_classes=1000)
    assert count_parameters(model) == params
    assert count_parameters(model.classifier) == sum(a * b + b for a, b in fc)  # chapter 03: 89.4% in the head
    assert count_flops(model, (1, 3, 224, 224))["macs"] == macs == 15_470_264_320


def test_vgg16_cifar_parameters_and_macs():
    params, macs = conv_costs(vgg16_convs(32))
    model = create("vgg16")  # one linear layer 512 -> 10 after the last pool (1x1 map)
    assert count_parameters(model) == params + 512 * 10 + 10 == 14_719_818
    assert count_flops(model, (1, 3, 32, 32))["macs"] == macs + 512 * 10 == 313_201_664


# NiN's ImageNet form: the layers of Lin et al.'s released Caffe model [lin2014network] (each mlpconv a
# k x k conv and two 1x1 convs; 3x3/2 pools; a 224 image gives 54, 27, 13, 6 px maps).
NIN_IMAGENET = [(3, 96, 11, 54), (96, 96, 1, 54), (96, 96, 1, 54),
                (96, 256, 5, 27), (256, 256, 1, 27), (256, 256, 1, 27),
                (256, 384, 3, 13), (384, 384, 1, 13), (384, 384, 1, 13),
                (384, 1024, 3, 6), (1024, 1024, 1, 6), (1024, 1000, 1, 6)]
NIN_CIFAR = [(3, 192, 5, 32), (192, 160, 1, 32), (160, 96, 1, 32),
             (96, 192, 5, 16), (192, 192, 1, 16), (192, 192, 1, 16),
             (192, 192, 3, 8), (192, 192, 1, 8), (192, 10, 1, 8)]


@pytest.mark.parametrize("name, layers, side, classes", [("nin_imagenet", NIN_IMAGENET, 224, 1000),
                                                          ("nin", NIN_CIFAR, 32, 10)])
def test_nin_parameters_and_macs(name, layers, side, classes):
    model = create(name, num_classes=classes)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [layer[:3] for layer in layers]
    params, macs = conv_costs(layers)
    assert count_parameters(model) == params
    assert count_flops(model, (1, 3, side, side))["macs"] == macs
    assert (params, macs) == {"nin_imagenet": (7_595_176, 1_100_188_800), "nin": (966_986, 222_486_528)}[name]


def test_lenet_parameter_counts_of_chapter_01():
    # lecun1998gradient: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164 -> 60,000 on 1 channel;
    # 3 channels add 2 x 6 x 25 weights to C1.
    assert count_parameters(create("lenet5", num_classes=10)) == 60_000 + 300
    # the folk LeNet: 5x5 convs 3->6->16, then 400 -> 120 -> 84 -> 10
    folk = (3 * 6 * 25 + 6) + (6 * 16 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert count_parameters(create("lenet5_folk", num_classes=10)) == folk == 62_006
