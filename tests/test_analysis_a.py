"""Complexity, receptive fields (analytic vs. by hand vs. measured), effective field, shift-invariance,
and the figures and explorers around them."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn as nn
import torchvision

from cnnlab import models
from cnnlab.analysis import (activation_memory, consistency, count_flops, count_parameters, effective_receptive_field,
                             equivariance_error, erf_fraction, measure_latency, measured_receptive_field,
                             receptive_field, receptive_field_table, shift_images, summary)
from cnnlab.viz import (plot_equivariance, plot_erf, plot_receptive_field, plot_rf_growth, plot_shift_consistency,
                        plot_summary)
from cnnlab.widgets import receptive_field_explorer, shift_explorer

matplotlib.use("Agg")


def conv(cin, cout, k, **kw):
    return nn.Conv2d(cin, cout, k, **kw)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv(3, 3, 3, padding=1), nn.ReLU(), conv(3, 3, 3, padding=1))
        self.skip = conv(3, 3, 1)

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.one = conv(3, 2, 1)
        self.five = conv(3, 2, 5, padding=2)

    def forward(self, x):
        return torch.cat([self.one(x), torch.relu(self.five(x))], 1)


class Mismatched(nn.Module):
    """Adds a stride-2 map to a crop of the image of the same size: no single effective stride."""

    def __init__(self):
        super().__init__()
        self.down = conv(3, 3, 3, stride=2, padding=1)

    def forward(self, x):
        return x[:, :, :8, :8] + self.down(x)


HAND_CASES = [
    ("two 3x3", nn.Sequential(conv(3, 4, 3), nn.ReLU(), conv(4, 4, 3)), (5, 5), (1, 1)),
    ("3x3 s2 then 3x3", nn.Sequential(conv(3, 4, 3, stride=2), conv(4, 4, 3)), (7, 7), (2, 2)),
    ("dilated 3x3 d2", nn.Sequential(conv(3, 4, 3, dilation=2)), (5, 5), (1, 1)),
    ("1x7 then 7x1", nn.Sequential(conv(3, 4, (1, 7)), conv(4, 4, (7, 1))), (7, 7), (1, 1)),
    ("1x7 only", nn.Sequential(conv(3, 4, (1, 7), padding=(0, 3))), (1, 7), (1, 1)),
    ("residual add", Residual(), (5, 5), (1, 1)),
    ("inception concat", Inception(), (5, 5), (1, 1)),
    # 20 units into a 3-wide, stride-2 pool: ceil_mode adds a 10th window hanging over the edge
    ("maxpool ceil_mode", nn.Sequential(conv(3, 4, 2), nn.MaxPool2d(3, 2, ceil_mode=True), conv(4, 4, 3)),
     (8, 8), (2, 2)),
]


@pytest.mark.parametrize("label,model,size,stride", HAND_CASES, ids=[c[0] for c in HAND_CASES])
def test_receptive_field_matches_hand_computation_and_measurement(label, model, size, stride):
    rf = receptive_field(model, input_size=(1, 3, 21, 21))
    assert rf.size == size and rf.stride == stride
    oh, ow = rf.output_size
    for unit in [(0, 0), (oh // 2, ow // 2), (oh - 1, ow - 1)]:
        assert rf.region(*unit) == measured_receptive_field(model, None, unit, (1, 3, 21, 21))


def test_region_unclipped_and_padding():
    model = nn.Sequential(conv(3, 4, 3, stride=2, padding=1), conv(4, 4, 3, padding=1))
    rf = receptive_field(model, input_size=(1, 3, 32, 32))
    assert rf.start == (-3, -3) and rf.padding == (3, 3)
    assert rf.region(0, 0, clip=False) == (-3, -3, 3, 3)
    assert rf.region(0, 0) == (0, 0, 3, 3)
    assert rf.region(3, 3, clip=False) == (3, 3, 9, 9)
    with pytest.raises(ValueError, match="outside"):
        rf.region(16, 0)


def test_global_pooling_and_linear_cover_the_image():
    model = nn.Sequential(conv(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    table = {r["name"]: r for r in receptive_field_table(model, (1, 3, 16, 16))}
    assert table["0"]["size"] == (3, 3)
    assert table["1"]["size"] == table["3"]["size"] == (16, 16)
    assert receptive_field(model, input_size=(1, 3, 16, 16)).region(0, 0) == (0, 0, 15, 15)


class Branchy(nn.Module):
    """Python branching on a tensor value: torch.fx cannot trace it."""

    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_ceil_mode_window_is_cut_to_the_image():
    model = nn.Sequential(conv(3, 4, 2), nn.MaxPool2d(3, 2, ceil_mode=True))
    rf = receptive_field(model, "1", (1, 3, 21, 21))
    assert rf.output_size == (10, 10)
    assert rf.region(9, 9, clip=False) == (18, 18, 21, 21)
    assert rf.region(9, 9) == (18, 18, 20, 20) == measured_receptive_field(model, "1", (9, 9), (1, 3, 21, 21))


def test_bad_layer_and_unwalkable_model():
    model = nn.Sequential(conv(3, 4, 3), nn.ReLU())
    with pytest.raises(KeyError, match="layers are: 0, 1"):
        receptive_field(model, "conv9")
    with pytest.raises(ValueError, match="different effective strides"):
        receptive_field(Mismatched(), input_size=(1, 3, 16, 16))
    with pytest.raises(ValueError, match="measured_receptive_field"):
        receptive_field(nn.Sequential(conv(3, 3, 3), nn.Upsample(scale_factor=2)), input_size=(1, 3, 8, 8))
    with pytest.raises(ValueError, match="cannot trace"):
        receptive_field(Branchy())


def _check_against_measurement(model, size, layers):
    for layer in layers:
        rf = receptive_field(model, layer, (1, 3, size, size))
        oh, ow = rf.output_size
        for unit in {(0, 0), (oh // 2, ow // 2), (oh - 1, ow - 1)}:
            assert rf.region(*unit) == measured_receptive_field(model, layer, unit, (1, 3, size, size)), (layer, unit)


def _layers_to_check(model, size):
    """The first walkable top-level stage with a feature map, the one in the middle, and the output."""
    stages = [r for r in receptive_field_table(model, (1, 3, size, size))
              if r["size"] is not None and "." not in r["name"] and r["output_size"] != (1, 1)]
    picked = {stages[0]["name"], stages[len(stages) // 2]["name"]} if stages else set()
    return sorted(picked) + [None]


@pytest.mark.parametrize("name", ["resnet18", "shufflenet_v2_x0_5", "squeezenet1_0"])
def test_analytic_equals_measured_on_torchvision_models(name):
    model = getattr(torchvision.models, name)().eval()
    _check_against_measurement(model, 64, _layers_to_check(model, 64))


# Deeper or wider repeats of a smaller registered model built from the same blocks (which are
# checked there): the walk and the measurement see nothing new in them, and on 2 CPU cores they
# would cost most of this test's time.
SCALED_REPEATS = {
    *(f"efficientnet_b{i}_imagenet" for i in range(1, 8)),
    *(f"vgg{d}{bn}_imagenet" for d in (13, 16, 19) for bn in ("", "_bn")),
    "resnet34_imagenet", "resnet101_imagenet", "resnet152_imagenet", "resnet101", "resnet152",
    "resnext29_16x64d", "resnext101_32x8d_imagenet", "pyramidnet272_a200", "pyramidnet272_a200_shakedrop",
    "wrn28_10", "shake_shake26_2x96d", "densenet161_imagenet", "densenet169_imagenet", "densenet201_imagenet",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in models.list_models() if n not in SCALED_REPEATS])
def test_analytic_equals_measured_on_the_zoo(name):
    entry = models.info(name)
    model = models.create(name, num_classes=10).eval()
    sizes = [entry.input_size]
    if getattr(model, "input_size", None) is None and entry.input_size == 32:
        sizes.append(64)  # a fully convolutional model: its deep layers no longer cover the whole image
    several_exits = "multi-exit" in entry.tags
    for size in sizes:
        try:
            layers = _layers_to_check(model, size)
            if several_exits:  # MSDNet and early-exit ResNets return a list of logits: check the stages
                layers = [layer for layer in layers if layer is not None]
            receptive_field(model, None, (1, 3, size, size))
        except ValueError as err:
            pytest.skip(f"{name}: the analytic walk cannot follow it: {err}")
        _check_against_measurement(model, size, layers)


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


def _all_ones_stack():
    stack = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1, bias=False) for _ in range(3)])
    for layer in stack:
        nn.init.ones_(layer.weight)
    return stack


def test_effective_receptive_field_peaks_at_centre_and_stays_in_the_field():
    model = _all_ones_stack()
    erf = effective_receptive_field(model, None, input_size=(1, 1, 15, 15), n=2)
    assert erf.shape == (15, 15)
    assert int(erf.argmax()) == 7 * 15 + 7
    rf = receptive_field(model, None, (1, 1, 15, 15))
    top, left, bottom, right = rf.region(7, 7)
    assert (top, left, bottom, right) == (4, 4, 10, 10)
    assert erf[top:bottom + 1, left:right + 1].sum() == pytest.approx(erf.sum())
    share = erf_fraction(erf, rf, mass=0.95)
    assert 0 < share < 1
    assert erf_fraction(erf, rf, mass=1.0) == 1.0


def test_effective_receptive_field_uses_given_inputs_and_checks_them():
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.ReLU(), conv(4, 4, 3, padding=1))
    erf = effective_receptive_field(model, "2", torch.randn(3, 3, 16, 16))
    assert erf[8, 8] > 0 and erf[0, 0] == 0
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        effective_receptive_field(model, "2", torch.randn(3, 16, 16))
    with pytest.raises(KeyError, match="layers are"):
        effective_receptive_field(model, "nope", torch.randn(1, 3, 16, 16))


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
    image = torch.rand(3, 16, 16)
    figures = [
        plot_receptive_field(image, (0, 0, 3, 3)),
        plot_receptive_field(image, model=model, layer="2", unit=(2, 2)),
        plot_rf_growth(receptive_field_table(model, (1, 3, 16, 16)), image_size=16),
        plot_erf(effective_receptive_field(model, "2", n=2, input_size=(1, 3, 16, 16)), (0, 0, 5, 5)),
        plot_shift_consistency({"baseline": 0.8, "anti-aliased": 0.9}),
        plot_equivariance({"baseline": {"shifts": [0, 1], "errors": [0.0, 0.4], "stride": 2}}),
        plot_summary(summary(model, (1, 3, 16, 16))),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figures)
    plt.close("all")
    with pytest.raises(ValueError, match="box"):
        plot_receptive_field(image)


def _pixels(fig):
    fig.canvas.draw()
    pixels = bytes(fig.canvas.buffer_rgba())
    plt.close(fig)
    return pixels


def test_receptive_field_explorer_reacts_to_each_control():
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), conv(4, 4, 3, padding=1))
    explorer = receptive_field_explorer(model, torch.rand(3, 16, 16))
    assert list(explorer.controls["layer"].options) == ["0", "1", "2", "3"]
    for name, value in [("i", 0), ("j", 0), ("layer", "3")]:
        before, redraws = _pixels(explorer.figure()), explorer.redraws
        explorer.set(**{name: value})
        assert explorer.redraws > redraws and _pixels(explorer.figure()) != before
    assert explorer.controls["i"].max == 7
    assert "image/png" in explorer._repr_mimebundle_()


def test_shift_explorer_reacts_to_each_control():
    model = _strided()
    explorer = shift_explorer(model, torch.rand(3, 32, 32), layers=["0", "3"], max_shift=4)
    for name, value in [("dy", 3), ("dx", -2), ("layer", "3")]:
        before, redraws = _pixels(explorer.figure()), explorer.redraws
        explorer.set(**{name: value})
        assert explorer.redraws > redraws and _pixels(explorer.figure()) != before
    assert "image/png" in explorer._repr_mimebundle_()
    with pytest.raises(ValueError, match="from 0 to 31"):
        shift_explorer(model, torch.rand(3, 32, 32), layers=["0"], max_shift=40)
    with pytest.raises(KeyError, match="layers are"):
        shift_explorer(model, torch.rand(3, 32, 32), layers=["nope"])
