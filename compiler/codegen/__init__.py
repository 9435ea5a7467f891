"""HLS C++ code generation: one file per layer over our kernel library, a dataflow top function,
parameter headers, a Vitis HLS Tcl script and the cppsim harness."""
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp

from compiler.codegen.layers import CodegenError, describe  # noqa: F401

KERNELS_DIR = Path(__file__).resolve().parents[2] / "kernels"
TOP_NAME = "dataflow_top"
_env = jinja2.Environment(loader=jinja2.PackageLoader("compiler.codegen", "templates"),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@dataclass
class Stream:
    """An inter-layer stream: the tensor it carries and how elements pack into its words."""
    tensor: str
    var: str
    width: int
    dtype: DataType
    elems: int               # elements per frame

    @property
    def bits(self):
        return self.dtype.bitwidth()

    @property
    def signed(self):
        return self.dtype.signed()

    @property
    def lanes(self):
        return self.width // self.bits

    @property
    def words(self):
        return self.elems // self.lanes


def chain(model):
    """The dataflow partition's nodes in stream order; only linear chains are supported so far."""
    nodes = list(model.graph.node)
    for prev, node in zip(nodes, nodes[1:]):
        if len(node.input) < 1 or node.input[0] != prev.output[0] or len(model.find_consumers(prev.output[0])) != 1:
            raise CodegenError(f"node '{node.name}' does not directly follow '{prev.name}': only linear "
                               "dataflow chains are supported so far (no forks/joins)")
    return nodes


def streams(model):
    """Streams in order: graph input, between each pair of layers, graph output."""
    nodes = chain(model)
    tensors = [nodes[0].input[0]] + [n.output[0] for n in nodes]
    widths = [getCustomOp(nodes[0]).get_instream_width()] + [getCustomOp(n).get_outstream_width() for n in nodes]
    result = []
    for i, (tensor, width) in enumerate(zip(tensors, widths)):
        dtype = model.get_tensor_datatype(tensor)
        var = "in0" if i == 0 else "out0" if i == len(tensors) - 1 else f"s{i}"
        elems = int(np.prod(model.get_tensor_shape(tensor)))
        if width % dtype.bitwidth():
            raise CodegenError(f"stream {tensor}: width {width} is not a multiple of its {dtype.name} elements")
        result.append(Stream(tensor, var, width, dtype, elems))
    for prev, node, stream in zip(nodes, nodes[1:], result[1:]):
        if getCustomOp(node).get_instream_width() != stream.width:
            raise CodegenError(f"'{prev.name}' writes {stream.width}-bit words but '{node.name}' reads "
                               f"{getCustomOp(node).get_instream_width()}-bit words: insert a data width "
                               "converter (the build does this with FINN's InsertDWC)")
    return result


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def generate(model, out_dir, board, clock_mhz):
    """Write hls/ (layers, params, top, kernels, synth.tcl) into out_dir; returns the Layer list."""
    out_dir = Path(out_dir)
    layers = [describe(model, node) for node in chain(model)]
    stream_list = streams(model)
    context = dict(top=TOP_NAME, layers=layers, streams=stream_list, input=stream_list[0],
                   output=stream_list[-1], board=board, clock_mhz=clock_mhz)
    for layer in layers:
        _write(out_dir / "layers" / f"{layer.name}.hpp", _env.get_template("layer.hpp.j2").render(layer=layer))
        _write(out_dir / "layers" / f"{layer.name}.cpp", _env.get_template("layer.cpp.j2").render(layer=layer))
        if layer.arrays:
            _write(out_dir / "params" / f"{layer.name}.h", _env.get_template("params.h.j2").render(layer=layer))
    for name in ("top.hpp", "top.cpp", "synth.tcl"):
        _write(out_dir / name, _env.get_template(f"{name}.j2").render(**context))
    # The kernels travel with the generated code so the folder synthesizes on another machine.
    shutil.copytree(KERNELS_DIR, out_dir / "kernels", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("tests", "*.py", "__pycache__"))
    return layers


def generate_cppsim_main(model, hls_dir, path):
    layers = [describe(model, node) for node in chain(model)]
    stream_list = streams(model)
    _write(Path(path), _env.get_template("cppsim_main.cpp.j2").render(
        top=TOP_NAME, layers=layers, streams=stream_list, input=stream_list[0], output=stream_list[-1]))
