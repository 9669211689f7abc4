"""Numbers about networks: complexity, receptive fields, shift-invariance, features and filters.

The names below are importable from here and from their modules. The receptive-field functions
are read from their module, :mod:`cnnlab.analysis.receptive_field` (the graph walk behind it is
:mod:`cnnlab.analysis.rf_walk`): ``cnnlab.analysis.receptive_field.receptive_field(model, layer)``,
or ``from cnnlab.analysis.receptive_field import receptive_field``.
"""
from . import receptive_field
from .attention import attention_by_class, attention_features, attention_vs_scale, enlarge, soften
from .calibration import Reliability, reliability, softmax_outputs
from .complexity import (Latency, SummaryTable, activation_memory, count_flops, count_parameters, measure_latency,
                         saved_activation_memory, summary)
from .feature_reuse import feature_reuse
from .erf import effective_receptive_field, erf_fraction
from .efficiency import arithmetic_intensity, layer_kind, work_by_kind
from .features import activation_maximization, feature_maps, first_layer_filters, input_channels, misclassified
from .receptive_field import RF, measured_receptive_field, receptive_field_table
from .regularization import (BRANCH_REGULARIZERS, logit_gaps, mixed_samples, optimal_logit_gap,
                             penultimate_projection, regularizer_masks, residual_branch_mix, shake_shake_mix,
                             unitwise_ratios)
from .shift import consistency, equivariance_error, shift_images
from .paired import Paired, paired, test_standard_error
from .rank import kendall_tau, ranks, spearman_rho
from .lesion import accuracy_without, block_deletion, deleted_blocks, residual_blocks
from .signal import gradient_propagation, signal_propagation

__all__ = [
    "receptive_field", "Latency", "SummaryTable", "activation_memory", "count_flops", "count_parameters",
    "saved_activation_memory", "feature_reuse",
    "measure_latency", "summary", "effective_receptive_field", "erf_fraction", "activation_maximization",
    "feature_maps", "first_layer_filters", "input_channels", "misclassified", "RF", "measured_receptive_field",
    "receptive_field_table", "BRANCH_REGULARIZERS", "logit_gaps", "mixed_samples", "optimal_logit_gap",
    "penultimate_projection", "regularizer_masks", "residual_branch_mix", "shake_shake_mix", "unitwise_ratios",
    "consistency", "equivariance_error", "shift_images", "signal_propagation", "gradient_propagation",
    "accuracy_without", "block_deletion", "deleted_blocks", "residual_blocks", "Paired", "paired",
    "test_standard_error", "Reliability", "reliability", "softmax_outputs", "arithmetic_intensity", "layer_kind",
    "work_by_kind", "attention_by_class", "attention_features", "attention_vs_scale", "enlarge", "soften",
    "kendall_tau", "ranks", "spearman_rho",
]
