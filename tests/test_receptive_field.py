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


def _layers_to_check(model, size, depth=0):
    """The first walkable stage (of at most ``depth`` dots in its name) with a feature map larger than 1x1,
    the one in the middle, and the output."""
    stages = [r for r in receptive_field_table(model, (1, 3, size, size))
              if r["size"] is not None and r["name"].count(".") <= depth and r["output_size"] != (1, 1)]
    picked = {stages[0]["name"], stages[len(stages) // 2]["name"]} if stages else set()
    return sorted(picked) + [None]


@pytest.mark.parametrize("name", ["resnet18", "shufflenet_v2_x0_5", "squeezenet1_0"])
def test_analytic_equals_measured_on_torchvision_models(name):
    model = getattr(torchvision.models, name)().eval()
    _check_against_measurement(model, 48, _layers_to_check(model, 48))


# One CIFAR model per block family: the walk and the measurement of a family's blocks are the same in its
# deeper or wider repeats, so one member keeps the check's value at a fraction of its time. A family
# registered later must be added here or to UNWALKABLE (test_every_family_is_covered).
FAMILY_REPRESENTATIVES = {
    "alexnet": "zfnet", "densenet": "densenet40_k12", "efficientnet": "efficientnet_b0",
    "fractalnet": "fractalnet20_w16", "googlenet": "googlenet", "inception": "inception_v3_small",
    "lenet": "lenet5_folk", "mobilenet": "mobilenet_v2", "msdnet": "msdnet", "nasnet": "nasnet_a_small",
    "neocognitron": "neocognitron", "nfnet": "nf_resnet20", "nin": "nin", "resnet_cifar": "resnet20",
    "preact_resnet": "preact_resnet18", "pyramidnet": "pyramidnet20_a24_shakedrop", "resnet": "resnet18",
    "early_exit": "resnet_early_exit", "ror": "ror3_resnet20", "senet": "se_resnet20",
    "shake_shake": "shake_shake26_2x32d", "shufflenet": "shufflenet_v2", "sknet": "sknet", "squeezenet": "squeezenet",
    "vgg": "vgg11_bn",
    "wide_resnet": "wrn16_4", "xception": "xception",
    # ResNeXt has no small CIFAR form: its grouped bottleneck is checked on the meta device against
    # ResNet-50's known field (test_known_fields_of_multi_stride_networks).
}

# The models the analytic walk cannot follow, the first layer it stops at, and why (the error it raises).
# Their walkable layers are still checked against the measurement (test_unwalkable_models_...).
UNWALKABLE = {
    "lenet5": ("output", "sub"),                            # the RBF output: distances to fixed codes
    "assemble_resnet": ("stages.stage1", "interpolate"),      # Big-Little stages upsample their little branch
    "assemble_resnet50_imagenet": ("stages.stage1", "interpolate"),
}


def test_every_family_is_covered():
    families = {models.info(n).family for n in models.list_models()}
    only_unwalkable = families - {models.info(n).family for n in models.list_models() if n not in UNWALKABLE}
    assert only_unwalkable == {"assemble_resnet"}  # its Big-Little stages: checked up to them below
    assert families - only_unwalkable - {"resnext"} == set(FAMILY_REPRESENTATIVES)
    for family, name in FAMILY_REPRESENTATIVES.items():
        assert models.info(name).family == family and models.info(name).input_size == 32


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILY_REPRESENTATIVES.values()))
def test_analytic_equals_measured_on_one_model_per_family(name):
    entry = models.info(name)
    torch.manual_seed(0)
    model = models.create(name, num_classes=10).eval()
    size = entry.input_size if getattr(model, "input_size", None) is not None else 48
    several_exits = "multi-exit" in entry.tags  # MSDNet, early-exit ResNets: a list of logits, check the stages
    layers = _layers_to_check(model, size, depth=2 if several_exits else 0)
    if several_exits:
        layers = [layer for layer in layers if layer is not None]
    assert layers, f"{name}: no layer to check"
    _check_against_measurement(model, size, layers)


@pytest.mark.parametrize("name", sorted(UNWALKABLE))
def test_unwalkable_models_raise_the_documented_error_and_their_walkable_layers_are_checked(name):
    entry, (stop, operation) = models.info(name), UNWALKABLE[name]
    torch.manual_seed(0)
    with torch.device("meta"):
        on_meta = models.create(name, num_classes=10).eval()
    size = (1, 3, entry.input_size, entry.input_size)
    with pytest.raises(ValueError, match=rf"cannot walk to layer '{stop}'.*{operation}.*does not know"):
        receptive_field(on_meta, stop, size)
    with pytest.raises(ValueError, match=operation):
        receptive_field(on_meta, None, size)
    table = receptive_field_table(on_meta, size)
    walkable = [r["name"] for r in table if r["size"] is not None and "." not in r["name"]]
    assert walkable, f"{name}: no walkable top-level layer before {stop}"
    if entry.input_size == 32:  # measured on the real model (the ImageNet form's stem is the same as the CIFAR one)
        model = models.create(name, num_classes=10).eval()
        _check_against_measurement(model, 32, [walkable[0], walkable[-1]] if walkable[0] != walkable[-1]
                                   else walkable)


# Field sizes and effective strides known independently of the walk, at named layers:
# * AlexNet [krizhevsky2012imagenet] pool5: 195 px, stride 32 -- araujo2019computing's table of modern
#   networks (alexnet_v2, whose conv/pool kernels and strides are the paper's); the earlier layers by the recurrence
#   r += (k - 1) * j, j *= s done by hand on the paper's layer list (11/4, 3/2, 5, 3/2, 3, 3, 3, 3/2).
# * VGG-16 [simonyan2015very] pool5: 212 px, stride 32 -- araujo2019computing's table (vgg_16); the
#   other rows by hand from the paper's Table 1, configuration D (3x3 convs, 2x2/2 pools).
# * ResNet-50 [he2016deep] stage outputs 35/91/267/427, strides 4/8/16/32, by hand for torchvision's v1.5
#   (stride on the 3x3 conv of a stage's first bottleneck). araujo2019computing's table lists 483 for
#   resnet_v1_50, which puts that stride on the first 1x1 conv: 427 tells the two forms apart.
# * MobileNet-v1 [howard2017mobilenets] last layer: 315 px, stride 32 -- araujo2019computing's table.
# * NiN's ImageNet form (Lin et al.'s released Caffe model: mlpconvs 11/4, 5, 3, 3, each 3x3 pool /2):
#   by hand 11, 19, 51, 67, 99, 131, 195.
VGG16_ROWS = [(3, 1), (5, 1), (6, 2), (10, 2), (14, 2), (16, 4), (24, 4), (32, 4), (40, 4), (44, 8), (60, 8),
              (76, 8), (92, 8), (100, 16), (132, 16), (164, 16), (196, 16), (212, 32)]
KNOWN_FIELDS = {
    "alexnet_imagenet": {"features.conv1": (11, 4), "features.pool1": (19, 8), "features.conv2": (51, 8),
                         "features.pool2": (67, 16), "features.conv3": (99, 16), "features.conv4": (131, 16),
                         "features.conv5": (163, 16), "features.pool5": (195, 32)},
    "resnet50_imagenet": {"stem": (11, 4), "stages.stage1": (35, 4), "stages.stage2": (91, 8),
                          "stages.stage3": (267, 16), "stages.stage4": (427, 32)},
    "resnext50_32x4d_imagenet": {"stages.stage4": (427, 32)},
    "mobilenet_v1_imagenet": {"features.layer13": (315, 32)},
    "nin_imagenet": {"features.mlpconv1": (11, 4), "features.pool1": (19, 8), "features.mlpconv2": (51, 8),
                     "features.pool2": (67, 16), "features.mlpconv3": (99, 16), "features.pool3": (131, 32),
                     "features.mlpconv4": (195, 32)},
}


@pytest.mark.parametrize("name", sorted(KNOWN_FIELDS))
def test_known_fields_of_multi_stride_networks(name):
    with torch.device("meta"):
        model = models.create(name, num_classes=10).eval()
    size = models.info(name).input_size
    rows = {r["name"]: r for r in receptive_field_table(model, (1, 3, size, size))}
    found = {layer: (rows[layer]["size"], rows[layer]["stride"]) for layer in KNOWN_FIELDS[name]}
    assert found == {layer: ((r, r), (s, s)) for layer, (r, s) in KNOWN_FIELDS[name].items()}


@pytest.mark.parametrize("name, size", [("vgg16_imagenet", 224), ("vgg16", 32)])
def test_vgg16_layer_table(name, size):
    """Chapter 03's table: the same fields at 32 and 224 px (the walk does not clip them to the image)."""
    with torch.device("meta"):
        model = models.create(name, num_classes=10).eval()
    rows = [r for r in receptive_field_table(model, (1, 3, size, size)) if r["type"] in ("Conv2d", "MaxPool2d")]
    assert [(r["size"][0], r["stride"][0]) for r in rows] == VGG16_ROWS


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


def test_receptive_field_explorer_reacts_to_each_control(assert_reacts):
    model = nn.Sequential(conv(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), conv(4, 4, 3, padding=1))
    explorer = receptive_field_explorer(model, torch.rand(3, 16, 16))
    assert list(explorer.controls["layer"].options) == ["0", "1", "2", "3"]
    assert_reacts(explorer, [("i", 0), ("j", 0), ("layer", "3")])
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
