"""Building blocks of the networks, one idea (or one paper's block) per module.

Rule: ``layers/`` holds every module that is a part of a network (a block, cell, join, shortcut,
normalization or regularizer), even one that a single model uses; ``models/`` holds only whole
networks (``models.base.Network`` subclasses), their builders and their sizing rules.
Every name below is importable from here and from its module, e.g. ``cnnlab.layers.SqueezeExcite``
is ``cnnlab.layers.se.SqueezeExcite``.
"""
from .antialias import BlurPool, MaxBlurPool, binomial_filter
from .big_little import BigLittleStage
from .conv import ConvBNAct
from .dense import DenseBlock, DenseLayer, Transition
from .fire import Fire
from .fractal import ColumnSampler, FractalBlock, FractalJoin
from .inception import (GridReduction, InceptionAsymmetric, InceptionAux, InceptionExpanded, InceptionFactorized5x5,
                        InceptionModule, InceptionNaive, InceptionV3Aux)
from .lenet import LENET5_C3_TABLE, EuclideanRBF, PartialConv, ScaledTanh, TrainableSubsampling, rbf_codes, rbf_loss
from .lrn import PaperLRN
from .mbconv import MBConv, make_divisible
from .mlpconv import MLPConv
from .msd import SCALE_FACTORS, MSDLayer
from .nas_ops import SEARCH_SPACE, FactorizedReduce, Genotype, NASCell, ReLUConvBN, SeparableStack
from .neocognitron import CCell, OnOffSplit, SCell, gaussian_window
from .nf import NFBasicBlock, NFBottleneck
from .resize import Resize
from .regularizers import DropBlock2d, ShakeDrop, ShakeShake, Swapout, drop_probabilities, survival_probabilities
from .residual import (SHORTCUTS, BasicBlock, Bottleneck, PreActBlock, PreActBottleneck, PyramidBlock,
                       PyramidBottleneck, ResidualBlock, WideBlock, ZeroPadShortcut, make_shortcut)
from .running_stats import running_stats_kept
from .resnext import EarlyConcatenation, GroupedConvolution, ResNeXtBlock, SplitTransformMerge
from .scaled_ws import ACTIVATION_GAMMA, ScaledActivation, ScaledStdConv2d
from .se import SqueezeExcite, attention_weights
from .separable import DepthwiseSeparableConv, separable_cost, standard_conv_cost
from .shake_shake import ShakeShakeBlock, ShiftedPoolShortcut
from .shuffle import ChannelShuffle, ShuffleV2Unit, channel_shuffle
from .sk import SelectiveKernel, SKBottleneck
from .xception import XceptionBlock

__all__ = [
    "BlurPool", "MaxBlurPool", "binomial_filter", "BigLittleStage", "ConvBNAct", "DenseBlock", "DenseLayer",
    "Transition", "Fire", "ColumnSampler", "FractalBlock", "FractalJoin", "GridReduction", "InceptionAsymmetric",
    "InceptionAux", "InceptionExpanded", "InceptionFactorized5x5", "InceptionModule", "InceptionNaive", "InceptionV3Aux",
    "LENET5_C3_TABLE", "EuclideanRBF", "PartialConv", "ScaledTanh", "TrainableSubsampling", "rbf_codes", "rbf_loss", "PaperLRN",
    "MBConv", "make_divisible", "MLPConv", "SCALE_FACTORS", "MSDLayer", "SEARCH_SPACE", "FactorizedReduce",
    "Genotype", "NASCell", "ReLUConvBN", "SeparableStack", "CCell", "OnOffSplit", "SCell", "gaussian_window",
    "NFBasicBlock", "NFBottleneck", "DropBlock2d", "ShakeDrop", "ShakeShake", "Swapout", "drop_probabilities",
    "survival_probabilities", "SHORTCUTS", "BasicBlock", "Bottleneck", "PreActBlock", "PreActBottleneck",
    "PyramidBlock", "PyramidBottleneck", "ResidualBlock", "WideBlock", "ZeroPadShortcut", "make_shortcut",
    "running_stats_kept", "EarlyConcatenation", "GroupedConvolution", "ResNeXtBlock", "SplitTransformMerge",
    "ACTIVATION_GAMMA", "ScaledActivation", "ScaledStdConv2d", "SqueezeExcite", "attention_weights",
    "DepthwiseSeparableConv", "separable_cost", "standard_conv_cost", "ShakeShakeBlock", "ShiftedPoolShortcut",
    "ChannelShuffle", "ShuffleV2Unit", "channel_shuffle", "Resize",
    "SelectiveKernel", "SKBottleneck", "XceptionBlock",
]
