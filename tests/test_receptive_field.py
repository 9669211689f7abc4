"""Receptive fields: the walk (analytic) against hand computation and against measurement, the
effective receptive field, their figures and explorer, and clear errors for bad input."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn as nn
import torchvision

from cnnlab import models
from cnnlab.analysis import effective_receptive_field, erf_fraction, receptive_field_table, measured_receptive_field
from cnnlab.analysis.receptive_field import receptive_field
from cnnlab.viz import plot_erf, plot_receptive_field, plot_rf_growth
from cnnlab.widgets import receptive_field_explorer

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


def test_figures_are_returned():
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.MaxPool2d(2), conv(4, 4, 3, padding=1))
    image = torch.rand(3, 16, 16)
    figures = [
        plot_receptive_field(image, (0, 0, 3, 3)),
        plot_receptive_field(image, model=model, layer="2", unit=(2, 2)),
        plot_rf_growth(receptive_field_table(model, (1, 3, 16, 16)), image_size=16),
        plot_erf(effective_receptive_field(model, "2", n=2, input_size=(1, 3, 16, 16)), (0, 0, 5, 5)),
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


@pytest.mark.parametrize("input_size, message", [
    ((1, 1, 32, 32), r"input_size=\(1, 1, 32, 32\) does not fit"),   # a 3-channel model given 1 channel
    ((1, 3, 2, 2), r"input_size=\(1, 3, 2, 2\) does not fit"),       # smaller than the 3x3 pool's window
    ((3, 32, 32), r"input_size must be \(N, C, H, W\)"),
    ((1, 3, 32.0, 32), r"input_size must be \(N, C, H, W\)"),
    ((1, 3, 0, 32), r"input_size must be \(N, C, H, W\)"),
    ("32", r"input_size must be \(N, C, H, W\)"),
])
def test_bad_input_size_is_a_clear_error_without_a_printed_traceback(input_size, message, capsys):
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3))
    for walk in (receptive_field, receptive_field_table):
        with pytest.raises(ValueError, match=message):
            walk(model, input_size=input_size)
    with pytest.raises(ValueError, match=message):
        measured_receptive_field(model, None, (0, 0), input_size=input_size)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("unit", [(8, 0), (0, 11), (-1, 0), (0, -2), (1,), (1.0, 2), "ab"])
def test_measured_unit_outside_the_map_or_negative_is_refused(unit):
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.MaxPool2d(2))  # 16x16 image -> 8x8 map
    with pytest.raises(ValueError, match="unit"):
        measured_receptive_field(model, None, unit, input_size=(1, 3, 16, 16))
    # unit 7 pools conv units 14-15, which read pixels 13-16; the image ends at 15
    assert measured_receptive_field(model, None, (7, 7), input_size=(1, 3, 16, 16)) == (13, 13, 15, 15)


def test_the_module_path_is_not_shadowed_by_the_function():
    import inspect

    import cnnlab.analysis
    assert inspect.ismodule(cnnlab.analysis.receptive_field)  # the package docstring's path
    assert cnnlab.analysis.receptive_field.receptive_field is receptive_field
