"""Training: ``fit()``, ``evaluate()``, ``History``, checkpoints, losses, AGC, live curves.

Read :mod:`cnnlab.train.loop` first: it is the training loop, top to bottom; one step of it is
:class:`~cnnlab.train.step.TrainStep`, its options a :class:`~cnnlab.train.recipe.Recipe`.
"""
from .agc import adaptive_clip_grad, agc_parameters, unitwise_norm
from .checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from .evaluate import Evaluation, evaluate
from .history import History, compare
from .losses import classification_loss, distillation_loss
from .loop import StepInfo, fit
from .precision import Precision, choose_precision
from .recipe import Recipe
from .step import TrainStep

__all__ = ["fit", "StepInfo", "Recipe", "TrainStep", "evaluate", "Evaluation", "History", "compare",
           "save_checkpoint", "load_checkpoint", "read_checkpoint", "CheckpointError", "classification_loss",
           "distillation_loss", "adaptive_clip_grad", "agc_parameters", "unitwise_norm", "Precision",
           "choose_precision"]
