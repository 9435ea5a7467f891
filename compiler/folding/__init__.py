"""Folding config: how parallel each HW layer is (PE, SIMD) and which memories it uses.

The graph's node attributes are the truth; the config is FINN's folding_config.json format, which
users edit and rebuild with. `validate` reports every problem at once; `optimize` finds the legal
folding that meets a throughput target with the least resources (or the fastest one that fits a budget),
`auto_fold` runs FINN's SetFolding instead and checks that what it produced is legal.
"""
from compiler.folding.auto import auto_fold
from compiler.folding.config import apply, apply_fifo_depths, extract, load, save, validate
from compiler.folding.optimize import DEFAULT_LIMITS, FoldingSpace, optimize, resource_budget
from compiler.folding.rules import FIFO_ATTRS, FOLDING_ATTRS, FoldingError, legal_values

__all__ = ["DEFAULT_LIMITS", "FIFO_ATTRS", "FOLDING_ATTRS", "FoldingError", "FoldingSpace", "apply",
           "apply_fifo_depths", "auto_fold", "extract", "legal_values", "load", "optimize", "resource_budget", "save",
           "validate"]
