"""Every explorer of cnnlab.widgets, built small, with one control change that must redraw it.

Shared by the ipywidgets 7/8 test (tests/test_widgets_compat.py, which also runs this file as a script
under ipywidgets 7.7.1) and the live JupyterLab test (tests/test_lab.py, whose notebook imports it).
"""
from __future__ import annotations

import sys

import torch
from torch import nn


def _small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def _resnet(name):
    import cnnlab

    torch.manual_seed(0)
    return cnnlab.models.create(name, num_classes=10).eval()


def _architecture():
    import random

    from cnnlab.search import random_architecture

    return random_architecture(random.Random(0))


def cases():
    """``{name: (build, control, new value)}``; ``build()`` returns the explorer."""
    from cnnlab import widgets
    from cnnlab.models.resnet import wide_resnet

    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    batches = [(images, torch.tensor([0, 1, 2, 3]))]
    results = [dict(name=n, accuracy=a, flops=f, params=p) for n, a, f, p in
               [("a", 0.5, 1e6, 1e4), ("b", 0.7, 2e6, 3e4), ("c", 0.6, 3e6, 2e4)]]
    return {
        "compare": (lambda: widgets.compare_explorer(results), "x", "params"),
        "densenet": (lambda: widgets.densenet_explorer(depth=22), "k", 24),
        "filters": (lambda: widgets.filter_explorer(_small_cnn(), images[:1]), "channel", 3),
        "fractal": (widgets.fractal_explorer, "columns", 4),
        "inception": (lambda: widgets.inception_explorer(in_channels=64, size=8, widths=(16, 24, 32, 4, 8, 8),
                                                         max_width=64), "c3", 48),
        "multipliers": (lambda: widgets.multiplier_explorer(), "alpha", 0.5),
        "mutation": (lambda: widgets.mutation_explorer(_architecture(), channels=4), "steps", 3),
        "lesion": (lambda: widgets.lesion_explorer({"ResNet-20": _resnet("resnet20")}, batches),
                   "delete", ("stages.stage1.1",)),
        "receptive_field": (lambda: widgets.receptive_field_explorer(_small_cnn(), images[0], layers=["0", "2"]),
                            "layer", "2"),
        "regularizer": (lambda: widgets.regularizer_explorer(images, classes=["a", "b", "c", "d"]), "p", 0.4),
        "scaling": (lambda: widgets.scaling_explorer(phi=1), "alpha", 1.5),
        "shift": (lambda: widgets.shift_explorer(_small_cnn(), images[0], layers=["0", "2"], max_shift=4), "dx", 3),
        "sk_scale": (lambda: widgets.sk_scale_explorer(_resnet("sknet"), images[:2]), "scale", 1.5),
        "width_depth": (lambda: widgets.width_depth_explorer(wide_resnet, depths=(10, 16), widths=(1, 2),
                                                             references={"ResNet-20": (20, 2.7e5)}), "width", 2),
    }


def figure_bytes(explorer) -> bytes:
    import matplotlib.pyplot as plt

    fig = explorer.figure()
    fig.canvas.draw()
    drawn = bytes(fig.canvas.buffer_rgba())
    plt.close(fig)
    return drawn


def check(name: str) -> str:
    """Build one explorer, check its display bundle and that one change redraws it once and changes the figure;
    returns a line saying what was found (raises AssertionError otherwise)."""
    import ipywidgets

    build, control, value = cases()[name]
    explorer = build()
    bundle = explorer._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == explorer.widget.model_id, f"{name}: the bundle does not show the explorer's widget"
    assert bundle["image/png"] and bundle["text/plain"], f"{name}: no static figure"
    before, redraws = figure_bytes(explorer), explorer.redraws
    explorer.set(**{control: value})
    assert explorer.redraws == redraws + 1, f"{name}: {explorer.redraws - redraws} redraws for one change"
    assert figure_bytes(explorer) != before, f"{name}: {control}={value!r} did not change the figure"
    return f"ok {name} (ipywidgets {ipywidgets.__version__})"


if __name__ == "__main__":  # python explorer_cases.py: check every explorer in this environment
    for case in (sys.argv[1:] or cases()):
        print(check(case), flush=True)
