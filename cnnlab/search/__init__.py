"""Neural architecture search at the scale of a CPU: a small NASNet-style cell space (:mod:`.space`) and two
search strategies over it, random search and regularized evolution (:mod:`.strategies`)."""
from .space import BLOCKS, OPS, Architecture, mutate, network, random_architecture, random_cell
from .strategies import Candidate, best_so_far, random_search, regularized_evolution

__all__ = ["BLOCKS", "OPS", "Architecture", "mutate", "network", "random_architecture", "random_cell", "Candidate",
           "best_so_far", "random_search", "regularized_evolution"]
