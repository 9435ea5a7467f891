"""Per-layer bit widths as a file (`BITS=bits.json`): what a mixed-precision search writes
(compiler/search.py) and what `make train` / `make build` read to build a registry model at those widths.

    {"model": "vgg10", "bitw": [8, 4, ...], "bita": [4, 4, ...], ...}

bitw: one weight width per weight layer, in the module's order; bita: one width per searched activation
(each QuantReLU, in order). The model's builder takes them as weight_bits / act_bits. Whatever else the
search wrote (its settings, the chosen network's estimate) is kept, not read.
"""
import dataclasses
import json
from pathlib import Path

from models.errors import MissingFileError, UserError

# Registry models whose builders take per-layer widths (weight_bits / act_bits sequences)
PER_LAYER_MODELS = ("vgg10", "vgg10-w4a4", "tiny")
MIN_BITS, MAX_BITS = 2, 8


def read_bits(path):
    """{"model"?, "bitw", "bita", ...} from a bits file, each width checked."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"bit-width file {path} not found (make search writes one)")
    try:
        bits = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"bit-width file {path} is not JSON: {error}") from None
    if not isinstance(bits, dict):
        raise UserError(f"bit-width file {path} holds a {type(bits).__name__}: expected an object with lists "
                        '"bitw" and "bita"')
    for key in ("bitw", "bita"):
        widths = bits.get(key)
        if not isinstance(widths, list) or not widths or not all(
                isinstance(b, int) and MIN_BITS <= b <= MAX_BITS for b in widths):
            raise UserError(f'bit-width file {path}: "{key}" is {widths!r}; expected a list of integer widths '
                            f"{MIN_BITS}..{MAX_BITS}, one per layer")
    return bits


def with_bits(spec, path):
    """The registry spec `spec` built at the per-layer widths of bits file `path`; its extra["bits"] says
    which, so that a checkpoint of other widths is refused (models/train.py)."""
    bits = read_bits(path)
    if spec.name not in PER_LAYER_MODELS:
        raise UserError(f"BITS={path}: model '{spec.name}' takes no per-layer bit widths; the models that do: "
                        f"{', '.join(PER_LAYER_MODELS)}")
    if bits.get("model", spec.name) != spec.name:
        raise UserError(f"BITS={path} holds the widths of model '{bits['model']}', not of '{spec.name}'")
    widths = {"bitw": list(bits["bitw"]), "bita": list(bits["bita"])}
    try:        # the builder checks the counts: checked now, not in a later step
        spec.build(weight_bits=widths["bitw"], act_bits=widths["bita"])
    except ValueError as error:
        raise UserError(f"BITS={path} does not fit model '{spec.name}': {error}") from None
    build = spec.build
    return dataclasses.replace(spec, build=lambda: build(weight_bits=widths["bitw"], act_bits=widths["bita"]),
                               extra={**spec.extra, "bits": widths})
