"""The fast tier of data invariants (seconds): the stand-in's labels agree with what is drawn, and the
channel statistics are those of the training images.

The oracle does not use the stand-in's code: it reads the images as its docstring describes them (one
object on a background that is a colour gradient) -- a plane fitted to each image's border is the
background, the pixels far from it the object -- and checks properties a shape's *name* implies: a
ring has a hole where its centre of mass is, a disk does not and is the roundest (area / r_max^2 near
pi), solid shapes have no hole; in the CIFAR-100 stand-in the object has the colour the class names.
"""
import pytest
import torch

import cnnlab.data as cdata
from cnnlab.data.standin import COLOURS

ROWS, COLUMNS = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
SOLID = ("disk", "square", "triangle", "cross", "star", "ellipse")


def object_masks(images: torch.Tensor) -> torch.Tensor:
    """(N, 32, 32) masks of the pixels more than 0.2 (in [0, 1] RGB) away from each image's background,
    a colour plane fitted by least squares to the 2-pixel border (refitted without outliers: clutter)."""
    n = len(images)
    pixels = (images.float() / 255).reshape(n, 3, -1)
    design = torch.stack([torch.ones(1024), COLUMNS.flatten() / 32, ROWS.flatten() / 32], 1)
    border = ((ROWS < 2) | (ROWS > 29) | (COLUMNS < 2) | (COLUMNS > 29)).flatten()
    keep = border.expand(n, -1)
    for _ in range(3):
        weights = keep.float()
        gram = torch.einsum("pi,np,pj->nij", design, weights, design)
        moments = torch.einsum("pi,np,ncp->nci", design, weights, pixels)
        coefficients = torch.linalg.solve(gram[:, None], moments.unsqueeze(-1)).squeeze(-1)
        residual = (pixels - torch.einsum("nci,pi->ncp", coefficients, design)).norm(dim=1)
        keep = border & (residual < 0.12)
    return (residual > 0.2).reshape(n, 32, 32)


def shape_features(masks: torch.Tensor):
    """(has a hole at its centre of mass, area / r_max^2) of each mask (r_max: 98th percentile radius)."""
    area = masks.sum((1, 2)).float()
    cy, cx = (masks * ROWS).sum((1, 2)) / area, (masks * COLUMNS).sum((1, 2)) / area
    radius = ((ROWS - cy[:, None, None]) ** 2 + (COLUMNS - cx[:, None, None]) ** 2).sqrt()
    r_max = torch.where(masks, radius, torch.zeros(())).flatten(1).quantile(0.98, dim=1)
    centre = masks[torch.arange(len(masks)), cy.round().long().clamp(0, 31), cx.round().long().clamp(0, 31)]
    return ~centre, area / r_max ** 2


@pytest.fixture(scope="module", params=["cifar10", "cifar100"])
def standin(request):
    size = 500 if request.param == "cifar10" else 1000
    return cdata.load(request.param, source="standin", train_size=size, val_size=0, test_size=100, seed=1)


def test_drawn_shapes_agree_with_the_class_names(standin):
    images, labels = standin.train.images, standin.train.labels
    shape_of = [name.split(" ", 1)[-1] if standin.num_classes == 100 else name for name in standin.classes]
    shapes = [shape_of[label] for label in labels.tolist()]
    hole, roundness = shape_features(object_masks(images))

    def where(name):
        chosen = torch.tensor([s == name for s in shapes])
        assert chosen.sum() >= 5, f"too few {name} images to judge"
        return chosen

    assert hole[where("ring")].float().mean() > 0.9
    for name in SOLID:
        assert hole[where(name)].float().mean() < 0.1, name
    medians = {name: roundness[where(name)].median().item() for name in SOLID}
    assert max(medians, key=medians.get) == "disk" and 2.3 < medians["disk"] < 3.3, medians


def test_cifar100_standin_objects_have_the_named_colour():
    data = cdata.load("cifar100", source="standin", train_size=500, val_size=0, test_size=100, seed=2)
    named = torch.tensor([COLOURS[data.classes[label].split(" ")[0]] for label in data.train.labels.tolist()])
    pixels = (data.train.images.float() / 255).permute(0, 2, 3, 1).reshape(len(named), -1, 3)
    colour = named[:, None, :]
    shade = ((pixels * colour).sum(-1) / (colour * colour).sum(-1)).clamp(0.8, 1.1)  # light varies on the object
    close = ((pixels - shade[..., None] * colour).norm(dim=-1) < 0.15).sum(1)
    assert close.min() >= 50  # an object of radius >= 8 px shows its colour on far more pixels


def test_channel_statistics_are_those_of_the_training_images(standin):
    images = standin.train.images.float() / 255
    torch.testing.assert_close(torch.tensor(standin.mean), images.mean((0, 2, 3)), atol=2e-3, rtol=0)
    torch.testing.assert_close(torch.tensor(standin.std), images.std((0, 2, 3)), atol=2e-3, rtol=0)
