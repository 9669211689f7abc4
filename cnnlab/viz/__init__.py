"""Matplotlib figures of cnnlab's numbers; every plotting function returns the ``Figure``.

Each module's ``__all__`` is re-exported here, so ``cnnlab.viz.plot_erf`` works directly.
"""
import importlib
import pkgutil

__all__: list[str] = []

for _mod in pkgutil.iter_modules(__path__):
    _m = importlib.import_module(f"{__name__}.{_mod.name}")
    for _name in getattr(_m, "__all__", ()):
        globals()[_name] = getattr(_m, _name)
        __all__.append(_name)
