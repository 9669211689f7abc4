"""Complexity (parameters, FLOPs, memory, latency) and shift-invariance (consistency, equivariance),
with their figures and explorer."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn as nn
import torchvision

from cnnlab.analysis import (activation_memory, consistency, count_flops, count_parameters, equivariance_error,
                             measure_latency, shift_images, summary)
from cnnlab.viz import plot_equivariance, plot_shift_consistency, plot_summary
from cnnlab.widgets import shift_explorer

matplotlib.use("Agg")

def conv(cin, cout, k, **kw):
    return nn.Conv2d(cin, cout, k, **kw)


def test_flops_of_conv_and_linear_follow_the_formula():
    c_in, c_out, k, groups, h_out = 4, 8, 3, 2, 30
    layer = nn.Conv2d(c_in, c_out, k, groups=groups)
    counted = count_flops(layer, (1, c_in, 32, 32))
    assert counted["flops"] == 2 * h_out * h_out * c_out * c_in * k * k // groups
    assert counted["macs"] == counted["flops"] // 2
    assert count_flops(nn.Linear(20, 7), (1, 1, 1, 20))["flops"] == 2 * 20 * 7


def test_parameters_memory_and_summary():
    model = nn.Sequential(conv(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    assert count_parameters(model) == (3 * 9 * 8 + 8) + 16 + (8 * 256 * 10 + 10)
    model[1].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - 16
    assert count_parameters(torchvision.models.resnet18()) == 11_689_512
    assert activation_memory(model) == 4 * (3 * 8 * 32 * 32 + 8 * 16 * 16 + 8 * 16 * 16 + 10)
    table = summary(model)
    assert [r["name"] for r in table] == ["0", "1", "2", "3", "4", "5"]
    assert table[0]["output_shape"] == (1, 8, 32, 32) and table[0]["rf"] == (3, 3)
    assert table[3]["rf"] == (4, 4) and table[3]["stride"] == (2, 2)
    assert sum(r["flops"] for r in table) == count_flops(model)["flops"]
    text = str(table)
    assert text == str(summary(model)) and "total" in text and "MaxPool2d" in text
    assert "<table>" in table._repr_html_()
    with pytest.raises(ValueError, match="input_size"):
        summary(model, (3, 32, 32))


def test_latency_reports_median_and_throughput():
    result = measure_latency(nn.Conv2d(3, 4, 3), (1, 3, 16, 16), device="cpu", warmup=1, repeats=3, batch_size=2)
    assert result["median_ms"] > 0 and result["iqr_ms"] >= 0
    assert result["images_per_s"] == pytest.approx(2000 / result["median_ms"])
    assert "images/s" in str(result)


def _circular_invariant():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular"), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1, padding_mode="circular"), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 10))


def _strided():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 16, 10))


def test_consistency_is_one_for_circular_network_and_lower_for_strided_one():
    images = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert consistency(_circular_invariant(), images, max_shift=8, n_pairs=4) == 1.0
    assert consistency(_strided(), images, max_shift=8, n_pairs=4) < 0.9
    assert consistency(_strided(), images, max_shift=8, n_pairs=4, mode="crop") < 0.9


def test_equivariance_error_zero_for_stride_one_circular_conv():
    images = torch.randn(4, 3, 16, 16)
    result = equivariance_error(_circular_invariant(), images, "2", shifts=range(0, 4))
    assert result["stride"] == 1 and result["shifts"] == [0, 1, 2, 3]
    assert max(result["errors"]) < 1e-5
    strided = equivariance_error(_strided(), torch.randn(4, 3, 32, 32), "2", shifts=range(0, 3))
    assert strided["stride"] == 4 and strided["errors"][0] == 0 and strided["errors"][1] > 0.1


def test_shift_rejects_bad_input():
    model = _circular_invariant()
    with pytest.raises(ValueError, match="from 0 to 15"):
        consistency(model, torch.randn(2, 3, 16, 16), max_shift=16)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        consistency(model, torch.randn(3, 16, 16))
    with pytest.raises(ValueError, match="mode"):
        shift_images(torch.randn(1, 3, 8, 8), 1, 1, mode="wrap")
    with pytest.raises(KeyError, match="layers are"):
        equivariance_error(model, torch.randn(1, 3, 8, 8), "nope")
    moved = shift_images(torch.arange(16.).view(1, 1, 4, 4), 1, 0, mode="crop")
    assert moved[0, 0, 0].tolist() == [0, 0, 0, 0] and moved[0, 0, 1].tolist() == [0, 1, 2, 3]


def test_figures_are_returned():
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.MaxPool2d(2), conv(4, 4, 3, padding=1))
    figures = [
        plot_shift_consistency({"baseline": 0.8, "anti-aliased": 0.9}),
        plot_equivariance({"baseline": {"shifts": [0, 1], "errors": [0.0, 0.4], "stride": 2}}),
        plot_summary(summary(model, (1, 3, 16, 16))),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figures)
    plt.close("all")


def test_shift_explorer_reacts_to_each_control(assert_reacts):
    model = _strided()
    explorer = shift_explorer(model, torch.rand(3, 32, 32), layers=["0", "3"], max_shift=4)
    assert_reacts(explorer, [("dy", 3), ("dx", -2), ("layer", "3")])
    assert "image/png" in explorer._repr_mimebundle_()
    with pytest.raises(ValueError, match="from 0 to 31"):
        shift_explorer(model, torch.rand(3, 32, 32), layers=["0"], max_shift=40)
    with pytest.raises(KeyError, match="layers are"):
        shift_explorer(model, torch.rand(3, 32, 32), layers=["nope"])
