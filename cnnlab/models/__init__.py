"""The architectures of the course, from Neocognitron to NFNet.

``create(name, num_classes=10, **options)`` builds one, ``list_models()`` lists them all, and
``info(name)`` says which paper each follows and what its parameter count is checked against.
Each module of this package holds one family; read it beside the chapter that uses it.
"""
import importlib
import pkgutil

from .registry import ModelInfo, create, info, list_models, register

__all__ = ["create", "list_models", "info", "register", "ModelInfo"]

_loaded = False


def _load_all() -> None:
    """Import every model module once, so each registers its builders."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("registry", "base"):
            importlib.import_module(f"{__name__}.{mod.name}")
