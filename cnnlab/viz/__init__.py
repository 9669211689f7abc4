"""Matplotlib figures of cnnlab's numbers; every plotting function returns the ``Figure``.

The names below are importable from here and from their modules, e.g. ``cnnlab.viz.plot_erf`` is
``cnnlab.viz.receptive_field.plot_erf``.
"""
from .attention import plot_attention_vs_scale, plot_class_share, plot_excitation_by_class
from .calibration import plot_reliability
from .cell import plot_cell
from .compare import pareto_front, plot_tradeoff, results_table
from .complexity import plot_summary
from .features import plot_activation_maximization, plot_confusion, plot_misclassified
from .history import compare_histories, plot_history
from .images import image_for_display, plot_feature_maps, plot_filters, sample_images, sample_photos, show_images
from .receptive_field import plot_erf, plot_receptive_field, plot_rf_growth
from .regularization import (plot_branch_mix, plot_logit_gaps, plot_mixed_samples, plot_penultimate_projection,
                             plot_regularizer_masks, plot_survival, plot_unitwise_ratios)
from .shift import plot_equivariance, plot_shift_consistency
from .signal import plot_gradient_propagation, plot_signal_propagation
from .timeline import plot_timeline

__all__ = [
    "pareto_front", "plot_tradeoff", "results_table", "plot_summary", "plot_activation_maximization",
    "plot_confusion", "plot_misclassified", "compare_histories", "plot_history", "image_for_display",
    "plot_feature_maps", "plot_filters", "sample_images", "sample_photos", "show_images", "plot_erf",
    "plot_receptive_field", "plot_rf_growth", "plot_branch_mix", "plot_logit_gaps", "plot_mixed_samples",
    "plot_penultimate_projection", "plot_regularizer_masks", "plot_survival", "plot_unitwise_ratios",
    "plot_equivariance", "plot_shift_consistency", "plot_signal_propagation", "plot_gradient_propagation",
    "plot_timeline", "plot_reliability", "plot_attention_vs_scale", "plot_class_share", "plot_excitation_by_class",
    "plot_cell",
]
