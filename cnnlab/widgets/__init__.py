"""Interactive explorers (ipywidgets) around cnnlab's figures; each renders statically too."""
from .attention import sk_scale_explorer
from .base import Explorer, figure_png
from .compare import compare_explorer
from .densenet import densenet_explorer
from .efficient import multiplier_explorer
from .family import fractal_explorer, width_depth_explorer
from .filters import filter_explorer
from .inception import inception_branch_costs, inception_explorer
from .lesion import lesion_explorer
from .nas import mutation_explorer
from .receptive_field import receptive_field_explorer
from .regularization import REGULARIZERS, regularizer_explorer
from .scaling import scaling_explorer
from .shift import shift_explorer

__all__ = ["Explorer", "figure_png", "compare_explorer", "filter_explorer", "receptive_field_explorer",
           "inception_branch_costs", "inception_explorer",
           "lesion_explorer", "scaling_explorer",
           "fractal_explorer", "width_depth_explorer",
           "densenet_explorer", "multiplier_explorer", "REGULARIZERS", "regularizer_explorer", "shift_explorer",
           "sk_scale_explorer", "mutation_explorer"]
