"""cnnlab: the helper package of CNN Lab, an interactive course on convolutional networks.

Each submodule holds one idea of the course; open any of them and read it:

* :mod:`cnnlab.profiles`  -- smoke / quick / full budgets
* :mod:`cnnlab.session`   -- ``start()``: seeds, device, profile
* :mod:`cnnlab.data`      -- CIFAR-10/100, the offline stand-in, the on-device loader
* :mod:`cnnlab.train`     -- ``fit()``, ``evaluate()``, History, checkpoints
* :mod:`cnnlab.layers`    -- building blocks (residual, Inception, SE, MBConv, ...)
* :mod:`cnnlab.models`    -- the architectures: ``create(name)``, ``list_models()``
* :mod:`cnnlab.analysis`  -- params, FLOPs, latency, receptive fields, shift-invariance
* :mod:`cnnlab.viz`, :mod:`cnnlab.widgets` -- figures and explorers
* :mod:`cnnlab.experiments` -- experiments run live by the chapters and kept, longer, in the store
"""
__version__ = "0.1.0"

from .profiles import epochs, get_profile, scaled, set_profile, test_size, train_size, val_size
from .session import data_dir, get_device, seed_everything, start

__all__ = [
    "__version__", "start", "get_device", "seed_everything", "data_dir",
    "epochs", "train_size", "val_size", "test_size", "scaled", "get_profile", "set_profile",
]

_SUBMODULES = {"data", "train", "layers", "models", "analysis", "viz", "widgets", "ilsvrc", "bench", "experiments",
               "provenance"}


def __getattr__(name):
    """``cnnlab.models``, ``cnnlab.data``, ... are imported on first use (keeps ``import cnnlab`` fast)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
