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


pytestmark = pytest.mark.usefixtures("one_thread")  # fixture in conftest.py


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
