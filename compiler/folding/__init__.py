"""Folding config: how parallel each HW layer is (PE, SIMD) and which memories it uses.

The graph's node attributes are the truth; the config is FINN's folding_config.json format, which
users edit and rebuild with. `validate` reports every problem at once, `auto_fold` runs FINN's
SetFolding and checks that what it produced is legal.
"""
from compiler.folding.auto import auto_fold
from compiler.folding.config import apply, extract, load, save, validate
from compiler.folding.rules import FIFO_ATTRS, FOLDING_ATTRS, FoldingError, legal_values

__all__ = ["FIFO_ATTRS", "FOLDING_ATTRS", "FoldingError", "apply", "auto_fold", "extract", "legal_values", "load",
           "save", "validate"]
