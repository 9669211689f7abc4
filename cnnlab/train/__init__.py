"""Training: ``fit()``, ``evaluate()``, ``History``, checkpoints, losses, AGC, live curves.

Read :mod:`cnnlab.train.loop` first: it is the training loop, top to bottom.
"""
from .agc import adaptive_clip_grad, agc_parameters, unitwise_norm
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluate import Evaluation, evaluate
from .history import History, compare
from .losses import classification_loss, distillation_loss
from .loop import fit

__all__ = ["fit", "evaluate", "Evaluation", "History", "compare", "save_checkpoint", "load_checkpoint",
           "classification_loss", "distillation_loss", "adaptive_clip_grad", "agc_parameters", "unitwise_norm"]
