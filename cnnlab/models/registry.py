"""One registry for every architecture of the course: ``create(name)`` and ``list_models()``.

A model module registers its builders with :func:`register`, saying which paper it follows,
which input it takes and, where one exists, the reference its parameter count must equal
(a torchvision model, or a figure published in the paper). The tests check every entry.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Callable

import torch.nn as nn

__all__ = ["ModelInfo", "register", "create", "list_models", "info", "options_of"]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one architecture.

    ``input_size`` is the side of the square input the model is built for (32 for CIFAR forms,
    224 for ImageNet forms). ``reference_params`` is the parameter count it must have at the
    default number of classes of ``reference_classes`` and ``reference`` names its source, e.g.
    ``"torchvision.models.resnet18"`` or ``"paper: He et al. 2016, Table 6 (0.27M)"``.
    ``torchvision_builder`` (e.g. ``"resnet18"``) lets tests count torchvision's own model.
    """

    name: str
    builder: Callable[..., nn.Module]
    paper: str
    family: str
    input_size: int = 32
    reference: str | None = None
    reference_params: int | None = None
    reference_classes: int = 1000
    torchvision_builder: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, ModelInfo] = {}


def register(name: str, *, paper: str, family: str, input_size: int = 32, reference: str | None = None,
             reference_params: int | None = None, reference_classes: int = 1000,
             torchvision_builder: str | None = None, tags: tuple[str, ...] = ()):
    """Decorator: register ``builder(num_classes=..., *, option=default, ...) -> nn.Module`` under ``name``.

    A builder is a plain function whose keyword parameters are the options ``create`` accepts.
    """

    if isinstance(tags, str):
        raise TypeError(f"tags of {name!r} must be a tuple of strings, got the string {tags!r}")

    def wrap(builder):
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is registered twice")
        _REGISTRY[name] = ModelInfo(name, builder, paper, family, input_size, reference, reference_params,
                                    reference_classes, torchvision_builder, tuple(tags))
        return builder

    return wrap


def _ensure_loaded() -> None:
    from . import _load_all  # importing the package imports every model module once

    _load_all()


def info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of ``name``; an unknown name gets the nearest registered names."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        near = difflib.get_close_matches(name, _REGISTRY, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise KeyError(f"unknown model {name!r}{hint} (cnnlab.models.list_models() lists all "
                       f"{len(_REGISTRY)})") from None


def create(name: str, num_classes: int = 10, **options) -> nn.Module:
    """Build the registered model ``name`` with ``num_classes`` outputs; ``options`` go to its builder.

    Every builder declares its options as keyword parameters (``inspect.signature`` reads them): an
    option it does not declare is refused before anything is built, naming the options it takes.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    entry = info(name)
    try:
        inspect.signature(entry.builder).bind(num_classes=num_classes, **options)
    except TypeError:
        accepted = options_of(name)
        unknown = sorted(set(options) - accepted)
        hints = [f"{option!r} (did you mean {', '.join(near)}?)" if (near := difflib.get_close_matches(
                     option, accepted, n=2, cutoff=0.6)) else repr(option) for option in unknown]
        raise TypeError(f"model {name!r} takes no option {', '.join(hints)}; it takes "
                        f"{', '.join(sorted(accepted)) or 'no options'} (see cnnlab.models.info({name!r}).builder)"
                        ) from None
    model = entry.builder(num_classes=num_classes, **options)
    model.cnnlab_name = name
    return model


def options_of(name: str) -> set[str]:
    """The keyword options ``create(name, ...)`` accepts: the builder's parameters but ``num_classes``."""
    parameters = inspect.signature(info(name).builder).parameters.values()
    return {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"num_classes"}


def list_models(family: str | None = None, input_size: int | None = None, tag: str | None = None) -> list[str]:
    """Registered names, optionally only one family, one input size (32 or 224) or one tag."""
    _ensure_loaded()
    return sorted(n for n, e in _REGISTRY.items()
                  if (family is None or e.family == family)
                  and (input_size is None or e.input_size == input_size)
                  and (tag is None or tag in e.tags))
