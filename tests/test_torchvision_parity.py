"""The torchvision-parity forms compute what torchvision computes: torchvision's weights (random, seeded)
are copied into ours tensor by tensor, then both models run on the same image. This is a second,
independent implementation: it catches what a parameter count cannot, such as a stride on the wrong
convolution (ResNet v1 puts a stage's stride on the first 1x1 conv, torchvision's v1.5 on the 3x3 conv
[he2016deep]; both have the same parameters), a missing activation or a swapped branch order.

One model per block form; deeper repeats of the same blocks (ResNet-101/152, VGG-13/16/19, DenseNet-169/
201, EfficientNet-B1..B7) have the same parameter shapes layer by layer (test_zoo.py counts them).
AlexNet, DenseNet-121 and Inception-v3's modules are compared in test_models_classic.py.
"""
import re

import pytest
import torch
import torchvision

from cnnlab.models import create, info

FORMS = ["resnet18_imagenet", "resnet50_imagenet", "resnext50_32x4d_imagenet", "wide_resnet50_2_imagenet",
         "vgg11_bn_imagenet", "mobilenet_v2_imagenet", "efficientnet_b0_imagenet", "squeezenet1_0_imagenet",
         "squeezenet1_1_imagenet", "googlenet_imagenet", "shufflenet_v2_x1_0_imagenet"]


def resnet_name(torchvision_name: str) -> str:
    """Our name of a torchvision ResNet tensor: conv1/bn1 -> stem.0/stem.1, layerK.i.* -> stages.stageK.i.*,
    downsample -> shortcut, fc -> head.2 (a state_dict mapping by name, so no order is assumed)."""
    name = re.sub(r"^conv1\.", "stem.0.", torchvision_name)
    name = re.sub(r"^bn1\.", "stem.1.", name)
    name = re.sub(r"^layer(\d)\.", r"stages.stage\1.", name)
    return re.sub(r"^fc\.", "head.2.", name.replace(".downsample.", ".shortcut."))


def copy_weights(source: torch.nn.Module, target: torch.nn.Module, rename=None) -> None:
    """Copy every parameter and buffer of ``source`` into ``target``: by ``rename(torchvision name)`` when
    given, else in registration order; every tensor must find its place with the same shape."""
    mine, theirs = target.state_dict(), source.state_dict()
    assert len(mine) == len(theirs), f"{len(mine)} tensors here, {len(theirs)} in torchvision"
    names = [rename(n) for n in theirs] if rename else list(mine)
    assert sorted(names) == sorted(mine), f"unmatched: {sorted(set(names) ^ set(mine))[:5]}"
    for name, (their_name, value) in zip(names, theirs.items()):
        assert mine[name].shape == value.shape, \
            f"{name} {tuple(mine[name].shape)} vs torchvision {their_name} {tuple(value.shape)}"
    target.load_state_dict(dict(zip(names, theirs.values())))


@pytest.mark.parametrize("name", FORMS)
def test_computes_what_torchvision_computes(name):
    entry = info(name)
    builder = getattr(torchvision.models, entry.torchvision_builder)
    torch.manual_seed(0)
    quiet = {"init_weights": True} if entry.torchvision_builder == "googlenet" else {}
    theirs = builder(weights=None, **quiet).eval()
    ours = create(name, num_classes=1000).eval()
    copy_weights(theirs, ours, resnet_name if entry.torchvision_builder.startswith(("resnet", "resnext", "wide"))
                 else None)
    size = ours.input_size or max(ours.min_input_size or 0, 64)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
