"""Model zoo: Brevitas modules selectable by name (`MODEL=` in the Makefile)."""
from models.registry import ModelSpec, get, names

__all__ = ["ModelSpec", "get", "names"]
