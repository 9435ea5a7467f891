"""The build's PYNQ driver (driver/ in the build folder, deployable to the board as is).

The driver code is fixed (runtime/: driver.py, the command line; accelerator.py, packing, host ops and
platforms); what is model-specific is read from the graphs here and written beside it:
- accel_config.json: the accelerator's input and output streams (FINN's normal and folded shapes,
  datatype, stream and DMA word widths, from the first and last node), the host ops before and after
  it, the board's clock and the block design's cell names;
- host_params.npz: the host ops' constants (input quantizer thresholds, output scale).
The host ops run in numpy (a board need not have qonnx): the driver computes what verify.py's
accelerator_inputs / host_outputs compute with qonnx.
"""
import shutil
from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from compiler import board as board_project
from compiler.codegen import FRAMES_OFFSET, dma_stream_width
from compiler.fileio import write_json
from compiler.frontend import split_parent
from models.errors import UserError

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
RADIOML = Path(__file__).resolve().parents[2] / "models" / "radioml.py"
RUNTIME_FILES = ("driver.py", "accelerator.py")


class DriverGenError(UserError):
    """The model's accelerator or host ops are of a kind the driver cannot run."""


def generate(out_dir, parent, dataflow, board, clock_mhz, model_input_shape, radioml_input=None, model=""):
    """Write driver/ into out_dir. radioml_input: (the RadioML file validation defaults to, the host's
    average pool), if the model takes RadioML frames."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    head, _, tail = split_parent(parent)
    params = {}
    last = dataflow.find_producer(dataflow.graph.output[0].name)
    classes = (tail[-1].op_type == "TopK") if tail else last.op_type.startswith("LabelSelect")
    config = {
        "model": model, "board": board.name, "ps": board.ps, "clock_mhz": clock_mhz,
        "bitfile": board_project.BITFILE,
        "cells": {"accelerator": board_project.CELLS["accelerator"], "dma": board_project.CELLS["dma"]},
        "frames_offset": FRAMES_OFFSET, "dma_max_bytes": board_project.DMA_MAX_BYTES,
        "cppsim": "../cppsim/cppsim",
        "input": stream_format(dataflow, "input"), "output": stream_format(dataflow, "output"),
        "host": {"model_input_shape": list(model_input_shape),
                 "graph_input_shape": parent.get_tensor_shape(parent.graph.input[0].name),
                 "head": host_ops(parent, head, "head", params), "tail": host_ops(parent, tail, "tail", params),
                 "outputs": "classes" if classes else "scores"},
        "dataset": {"path": str(Path(radioml_input[0]).resolve()), "average_pool": radioml_input[1],
                    "frame_length": int(model_input_shape[-1]) * radioml_input[1]} if radioml_input else None,
    }
    write_json(config, out_dir / "accel_config.json")
    np.savez(out_dir / "host_params.npz", **params)
    for name in RUNTIME_FILES:
        shutil.copy(RUNTIME_DIR / name, out_dir / name)
    if radioml_input:
        shutil.copy(RADIOML, out_dir / "radioml.py")     # the official split, for validate on the board
    return config


def stream_format(model, which):
    """An accelerator stream as the driver packs it, from the first node's input or the last node's output."""
    if which == "input":
        tensor = model.graph.input[0].name
        node = model.find_consumer(tensor)
        inst, port = getCustomOp(node), list(node.input).index(tensor)
        normal, folded = inst.get_normal_input_shape(port), inst.get_folded_input_shape(port)
        dtype, width = inst.get_input_datatype(port), inst.get_instream_width(port)
    else:
        node = model.find_producer(model.graph.output[0].name)
        inst = getCustomOp(node)
        if node.op_type.startswith("ConvolutionInputGenerator"):
            raise DriverGenError(f"the accelerator ends in {node.name}, whose stream order is not its tensor's")
        normal, folded = inst.get_normal_output_shape(), inst.get_folded_output_shape()
        dtype, width = inst.get_output_datatype(), inst.get_outstream_width()
    if not dtype.is_integer():
        raise DriverGenError(f"the accelerator's {which} is {dtype.name}; the driver packs integer types "
                             "(and BIPOLAR) only")
    bits = dtype.bitwidth()
    if width != folded[-1] * bits or np.prod(normal) != np.prod(folded):
        raise DriverGenError(f"{node.name}: {which} folded shape {folded} of {dtype.name} does not match "
                             f"its {width}-bit stream or normal shape {normal}")
    # a BIPOLAR element travels as one unsigned bit (1: +1, 0: -1)
    signed = dtype.signed() and dtype.name != "BIPOLAR"
    return {"datatype": dtype.name, "bits": bits, "signed": bool(signed), "shape_normal": list(normal),
            "shape_folded": list(folded), "stream_width": width, "word_bits": dma_stream_width(width)}


def host_ops(parent, nodes, prefix, params):
    """The parent graph's nodes before/after the accelerator as the driver runs them (a chain of
    one-input ops); their constants go into params."""
    ops = []
    for index, node in enumerate(nodes):
        key = f"{prefix}{index}_{node.op_type}"
        computed = [t for t in node.input if t and parent.get_initializer(t) is None]
        if len(computed) != 1:
            raise DriverGenError(f"host op {node.name} ({node.op_type}) takes {len(computed)} computed inputs; "
                                 "the driver runs chains of one-input ops only")
        op = {"op": node.op_type, "name": node.name}
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "MultiThreshold":
            inst = getCustomOp(node)
            rank = len(parent.get_tensor_shape(node.input[0]))
            layout = inst.get_nodeattr("data_layout") or {2: "NC", 3: "NWC", 4: "NCHW"}[rank]
            # The count of thresholds below a value does not depend on their order: sorted, the
            # driver finds it by binary search.
            params[key] = np.sort(parent.get_initializer(node.input[1]).astype(np.float32), axis=1)
            op.update(thresholds=key, channel_axis=layout.index("C") if "C" in layout else 1,
                      out_scale=float(inst.get_nodeattr("out_scale")), out_bias=float(inst.get_nodeattr("out_bias")))
        elif node.op_type in ("Mul", "Add", "Sub", "Div"):
            if node.op_type in ("Sub", "Div") and parent.get_initializer(node.input[0]) is not None:
                raise DriverGenError(f"host op {node.name}: constant {node.op_type.lower()} data is not supported")
            params[key] = np.asarray(next(parent.get_initializer(t) for t in node.input
                                          if parent.get_initializer(t) is not None), dtype=np.float32)
            op["constant"] = key
        elif node.op_type == "Transpose":
            op["perm"] = list(attrs["perm"].ints)
            if op["perm"][0] != 0:
                raise DriverGenError(f"host op {node.name} moves the batch axis")
        elif node.op_type == "Reshape":
            op["shape"] = [int(v) for v in parent.get_initializer(node.input[1])]
            if op["shape"][0] not in (1, -1):
                raise DriverGenError(f"host op {node.name} reshapes the batch axis")
        elif node.op_type == "Flatten":
            if "axis" in attrs and attrs["axis"].i != 1:
                raise DriverGenError(f"host op {node.name} flattens from axis {attrs['axis'].i}; only 1 is supported")
        elif node.op_type == "TopK":
            rank = len(parent.get_tensor_shape(node.input[0]))
            if (("axis" in attrs and attrs["axis"].i not in (-1, rank - 1))
                    or ("largest" in attrs and attrs["largest"].i != 1) or parent.find_consumers(node.output[0])):
                raise DriverGenError(f"host op {node.name}: only TopK over the last axis, largest first, "
                                     "using its indices is supported")
            op["k"] = int(parent.get_initializer(node.input[1]).reshape(-1)[0])
        elif node.op_type != "Identity":
            raise DriverGenError(f"host op {node.name} ({node.op_type}) is not supported by the driver; it runs "
                                 "MultiThreshold, Mul, Add, Sub, Div, Transpose, Reshape, Flatten, Identity, TopK")
        ops.append(op)
    return ops
