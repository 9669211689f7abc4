"""The architectures of the course, from Neocognitron to NFNet.

``create(name, num_classes=10, **options)`` builds one, ``list_models()`` lists them all, and
``info(name)`` says which paper each follows and what its parameter count is checked against.
Each module of this package holds one family (its network class and its builders, each a plain
function registered with ``@register``); read it beside the chapter that uses it. The blocks the
networks are made of live in :mod:`cnnlab.layers`.
"""
from .registry import ModelInfo, create, info, list_models, options_of, register

__all__ = ["create", "list_models", "info", "options_of", "register", "ModelInfo"]

FAMILIES = ("alexnet", "assemble_resnet", "densenet", "early_exit", "efficientnet", "fractalnet", "googlenet",
            "inception", "lenet", "mobilenet", "msdnet", "nasnet", "neocognitron", "nfnet", "nin", "pyramidnet",
            "resnet", "ror", "senet", "shake_shake", "shufflenet", "sknet", "squeezenet", "vgg", "xception")
"""The model modules; importing one registers its builders."""

_loaded = False


def _load_all() -> None:
    """Import every model module of ``FAMILIES`` once, so each registers its builders."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
