"""Experiments defined once, run live by the chapters and kept, longer, in the store.

Some lessons need more training than a chapter's five-minute ``quick`` run allows: a degradation curve,
trained filters, a feature-reuse map. Each such experiment is a function registered with
:func:`~cnnlab.experiments.registry.experiment`; the chapter runs it live under its own profile and draws
it beside the longer run kept in the store (:mod:`cnnlab.experiments.store`), which ``make runs`` made on a
CPU under the ``long`` profile, with its provenance.

* :mod:`~cnnlab.experiments.registry` -- ``@experiment``, ``Experiment.run()`` / ``.stored()``
* :mod:`~cnnlab.experiments.run`      -- ``Run`` (what an experiment is handed) and ``Result``
* :mod:`~cnnlab.experiments.store`    -- the stored results and their staleness
* :mod:`~cnnlab.experiments.runner`   -- ``python -m cnnlab.experiments run|list|check``
"""
from . import fit_vs_textbook
from . import degradation
from . import vgg_nin
from . import resnet_family
from . import fractal_columns
from . import lenet5_losses
from . import googlenet_training
from . import densenet_vs_resnet
from . import alexnet_filters, relu_vs_tanh
from . import efficient_cifar
from . import se_vs_resnet, sk_scale
from . import compound_scaling
from . import nas_search
from .registry import EXPERIMENTS, Experiment, experiment, get, list_experiments
from .run import Result, Run

__all__ = ["EXPERIMENTS", "Experiment", "experiment", "get", "list_experiments", "Result", "Run", "fit_vs_textbook"]
