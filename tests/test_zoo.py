"""Generic checks that EVERY registered model passes (written once, run over ``list_models()``).

* its registry entry is complete (paper key in ``book/references.bib``, a chapter tag, a known
  torchvision builder);
* built on the meta device (no memory, no compute) at its reference number of classes, its
  parameter count equals torchvision's model or the paper's published figure within the figure's
  rounding, and a forward at its ``input_size`` gives the expected output shape;
* it is traceable by ``torch.fx`` and refuses wrong channels or sizes with a ValueError naming
  what it expects;
* CIFAR forms (input 32) run forward and backward on a real (2, 3, 32, 32) batch in train and eval
  mode: the outputs have the shape their tags promise ("aux": a tuple in training, "multi-exit": a
  list in both modes), every parameter gets a finite gradient, and eval mode is deterministic.
  Forms tagged "large" (too slow for a CPU test) only run forward in both modes on the meta
  device, where shapes are checked but values are not (marked slow: meta dispatch of hundreds of
  layers still takes seconds).
"""
from __future__ import annotations

import functools
import re

import pytest
import torch
import torch.fx
import torch.nn.functional as F
import torchvision

from cnnlab.models import create, info, list_models
from cnnlab.models.registry import options_of
from cnnlab.models.base import Network

NAMES = list_models()
CIFAR = [pytest.param(n, marks=pytest.mark.slow) if "large" in info(n).tags else n
         for n in NAMES if info(n).input_size == 32]


# Models with neither a torchvision twin nor a published figure: their count at the reference number
# of classes, frozen. Where a comment names a source, the count was checked against it (by hand); the
# others were counted by cnnlab on 2026-11-30 after the block tests of their family passed, and guard
# against an unnoticed change of a layer (a frozen value, not an independent oracle).
FROZEN_COUNTS = {
    "alexnet": 1_643_880,
    "alexnet_imagenet": 60_965_224,  # krizhevsky2012imagenet: 60 million; per layer in test_models_classic.py
    "assemble_resnet": 656_488,
    "assemble_resnet50_imagenet": 41_136_136,
    "efficientnet_b0": 5_288_548,  # torchvision's efficientnet_b0: the same layers, other strides
    "fractalnet20": 34_232_488,  # 33.7M at 10 classes, as the authors' generator gives (fractalnet.py docstring)
    "fractalnet20_w16": 2_241_304,
    "googlenet": 8_302_168,
    "googlenet_paper_imagenet": 13_378_280,
    "inception_v3_small": 3_362_888,
    "lenet5": 60_300,  # lecun1998gradient's 60,000 + C1's 2 more input channels (2 x 6 x 25)
    "lenet5_folk": 146_156,  # conv 5x5 6/16, fc 120/84/classes by hand: 456 + 2,416 + 48,120 + 10,164 + 85,000
    "mobilenet_v1": 4_231_976,  # howard2017mobilenets Table 8's 4.2M: same layers, other strides
    "mobilenet_v2": 3_504_872,  # torchvision.models.mobilenet_v2's count: the same layers, other strides
    "msdnet": 3_265_528,
    "nasnet_a_small": 739_032,
    "neocognitron": 788_452,
    "nf_resnet20": 336_833,
    "nf_resnet56": 920_147,
    "nfnet_f0_cifar": 2_413_668,
    "nin": 1_158_056,
    "nin_imagenet": 7_595_176,  # the released Caffe model's layers by hand (test_models_classic.py)
    "plain110": 1_792_312,
    "plain20": 334_072,
    "plain32": 528_504,
    "plain44": 722_936,
    "plain56": 917_368,
    "preact_resnet18": 11_680_168,
    "pyramidnet110_a270": 28_769_607,
    "pyramidnet20_a24": 180_843,
    "pyramidnet20_a24_shakedrop": 180_843,
    "resnet101": 44_541_480,  # torchvision resnet101 (44,549,160) - 9,408 + 1,728 (3x3 stem)
    "resnet152": 60_185_128,  # torchvision resnet152 (60,192,808) - 9,408 + 1,728 (3x3 stem)
    "resnet18": 11_681_832,  # torchvision resnet18 (11,689,512) with a 3x3 stem conv instead of 7x7: - 9,408 + 1,728
    "resnet34": 21_789_992,  # torchvision resnet34 (21,797,672) - 9,408 + 1,728 (3x3 stem)
    "resnet50": 25_549_352,  # torchvision resnet50 (25,557,032) - 9,408 + 1,728 (3x3 stem)
    "resnet_early_exit": 384_072,
    "resnext29_16x64d": 69_169_960,
    "ror3_resnet110": 1_796_216,
    "ror3_resnet20": 337_976,
    "ror3_wrn58_4": 13_901_400,
    "se_resnet20": 336_445,
    "se_resnet56": 924_487,
    "sknet": 597_000,
    "shufflenet_v2": 2_278_604,  # torchvision's shufflenet_v2_x1_0: the same layers, other strides, no max-pool
    "squeezenet": 1_235_496,
    "vgg11": 9_733_480,  # torchvision vgg11's features (9,220,480) + one linear 512 -> 1000
    "vgg11_bn": 9_738_984,
    "vgg13": 9_917_992,
    "vgg13_bn": 9_923_880,
    "vgg16": 15_227_688,  # torchvision vgg16's features (14,714,688) + one linear 512 -> 1000
    "vgg16_bn": 15_236_136,
    "vgg19": 20_537_384,  # torchvision vgg19's features (20,024,384) + one linear 512 -> 1000
    "vgg19_bn": 20_548_392,
    "xception": 1_441_202,
    "zfnet": 2_019_688,
    "zfnet_imagenet": 62_357_608,
}


@functools.lru_cache(maxsize=None)
def on_meta(name: str) -> torch.nn.Module:
    """The model built once on the meta device, at its reference number of classes."""
    with torch.device("meta"):
        return create(name, num_classes=info(name).reference_classes)


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def logits_of(output, tags: tuple[str, ...], training: bool) -> list[torch.Tensor]:
    """The list of logit tensors an output holds, checking its form against the model's tags."""
    if "multi-exit" in tags:
        assert isinstance(output, list) and len(output) >= 2, "a multi-exit model returns a list of logits"
        return output
    if "aux" in tags and training:
        assert isinstance(output, tuple) and len(output) >= 2, "an aux model returns (main, aux...) in training"
        return list(output)
    assert isinstance(output, torch.Tensor), f"expected one logits tensor, got {type(output).__name__}"
    return [output]


def published_tolerance(reference: str) -> float:
    """Half a unit of the last digit of the figure in ``"... (0.27M)"``: 0.27M allows +-5,000."""
    match = re.search(r"\((\d+(?:\.(\d+))?)M\)", reference)
    assert match, f"reference {reference!r} must end with the published figure, e.g. '(0.27M)'"
    decimals = len(match.group(2) or "")
    return 0.5 * 10 ** (6 - decimals)


def test_registry_is_not_empty_and_names_are_lower_snake():
    assert len(NAMES) > 10
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry_is_complete(name, bib_keys):
    entry = info(name)
    assert entry.paper in bib_keys, f"paper key {entry.paper!r} is missing from book/references.bib"
    assert entry.family and any(re.fullmatch(r"chapter\d\d", t) for t in entry.tags), "needs a chapterNN tag"
    if entry.torchvision_builder is not None:
        assert hasattr(torchvision.models, entry.torchvision_builder)
        assert entry.reference == f"torchvision.models.{entry.torchvision_builder}"
    if entry.reference_params is not None:
        assert entry.reference and entry.reference.startswith("paper: ")
        published_tolerance(entry.reference)
    assert name.endswith("_imagenet") == (entry.input_size != 32), "ImageNet forms, and only they, end in _imagenet"
    assert "num_classes" not in options_of(name)


def test_every_model_has_a_parameter_count_to_meet():
    """A torchvision twin, a published figure or a frozen count: no model's size goes unchecked."""
    unchecked = [n for n in NAMES if info(n).torchvision_builder is None and info(n).reference_params is None
                 and n not in FROZEN_COUNTS]
    assert not unchecked
    assert not set(FROZEN_COUNTS) - set(NAMES), "a frozen count for a model that is no longer registered"


def test_unknown_name_suggests_the_nearest_and_unknown_option_lists_the_accepted():
    with pytest.raises(KeyError, match=r"did you mean resnet20\b"):
        create("resnet_20")
    with pytest.raises(TypeError,
                       match=r"takes no option 'drop_porb' \(did you mean drop_prob\?\); it takes .*\bdropblock\b"):
        create("resnet20", drop_porb=0.1)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        create("resnet20", num_classes=0)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_and_output_shape_on_meta(name):
    entry = info(name)
    model = on_meta(name)
    with torch.device("meta"):
        params = count(model)
        if entry.torchvision_builder is not None:
            builder = getattr(torchvision.models, entry.torchvision_builder)
            quiet = {"init_weights": False} if entry.torchvision_builder in ("googlenet", "inception_v3") else {}
            reference = builder(weights=None, **quiet)  # init_weights: no FutureWarning, same count
            assert params == count(reference), f"{params:,} parameters, torchvision has {count(reference):,}"
        if name in FROZEN_COUNTS:
            assert params == FROZEN_COUNTS[name], f"{params:,} parameters, frozen at {FROZEN_COUNTS[name]:,}"
        if entry.reference_params is not None:
            tolerance = published_tolerance(entry.reference)
            assert abs(params - entry.reference_params) <= tolerance, \
                f"{params:,} parameters, the paper publishes {entry.reference}"
        model.eval()
        x = torch.empty(2, model.in_channels, entry.input_size, entry.input_size)
        for logits in logits_of(model(x), entry.tags, training=False):
            assert logits.shape == (2, entry.reference_classes)


@pytest.mark.parametrize("name", NAMES)
def test_is_a_network_traceable_by_fx(name):
    model = on_meta(name)
    assert isinstance(model, Network), "every classifier subclasses cnnlab.models.base.Network"
    torch.fx.symbolic_trace(model.eval())


@pytest.mark.parametrize("name", NAMES)
def test_wrong_input_is_refused_naming_what_is_expected(name):
    entry = info(name)
    model = on_meta(name).eval()
    with torch.device("meta"):
        c, size = model.in_channels, entry.input_size
        with pytest.raises(ValueError, match=f"{c} input channels"):
            model(torch.empty(2, c + 1, size, size))
        wrong = size + 1 if model.input_size is not None else model.min_input_size - 1
        expected = model.input_size if model.input_size is not None else model.min_input_size
        assert model.input_size is not None or model.min_input_size is not None, "set input_size or min_input_size"
        with pytest.raises(ValueError, match=f"{expected}x{expected}"):
            model(torch.empty(2, c, wrong, wrong))


def run_train_and_eval(model: torch.nn.Module, tags: tuple[str, ...], x: torch.Tensor, num_classes: int):
    """One training step's forward and backward, then an eval forward; returns the eval logits."""
    model.train()
    outputs = logits_of(model(x), tags, training=True)
    target = torch.arange(x.shape[0], device=x.device) % num_classes
    loss = sum(F.cross_entropy(o, target) for o in outputs)
    loss.backward()
    for out in outputs:
        assert out.shape == (x.shape[0], num_classes)
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters without a gradient: {missing[:5]}"
    model.eval()
    with torch.no_grad():
        return logits_of(model(x), tags, training=False)


@pytest.mark.parametrize("name", CIFAR)
def test_cifar_form_trains_and_evaluates(name):
    entry = info(name)
    if "large" in entry.tags:
        model = on_meta(name)
        x = torch.empty(2, model.in_channels, 32, 32, device="meta")
        for training in (True, False):
            for out in logits_of(model.train(training)(x), entry.tags, training):
                assert out.shape == (2, entry.reference_classes)
        return
    torch.manual_seed(0)
    model = create(name, num_classes=10)
    x = torch.randn(2, model.in_channels, 32, 32)
    first = run_train_and_eval(model, entry.tags, x, 10)
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients in {bad[:5]}"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if p.grad is not None)
    with torch.no_grad():
        second = logits_of(model(x), entry.tags, training=False)
    for a, b in zip(first, second):
        assert a.shape == (2, 10) and torch.isfinite(a).all()
        assert torch.equal(a, b), "eval mode must be deterministic"


def test_every_model_module_is_a_listed_family():
    from pathlib import Path

    import cnnlab.models as models
    files = {p.stem for p in Path(models.__file__).parent.glob("*.py")} - {"__init__", "registry", "base"}
    assert set(models.FAMILIES) == files


def test_register_refuses_tags_given_as_one_string():
    from cnnlab.models.registry import register
    with pytest.raises(TypeError, match="tuple of strings"):
        register("not_a_model", paper="he2016deep", family="resnet", tags=("chapter05"))  # a string, not a tuple
