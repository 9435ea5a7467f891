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
from compiler.hwops import DMA_STREAM_WIDTHS, MIN_FIFO_DEPTH, WIDEST_WORD, converter_buffer_bits, fifo_depth

KERNELS_DIR = Path(__file__).resolve().parents[2] / "kernels"
TOP_NAME = "dataflow_top"
AP_INT_DEFAULT_MAX_W = 1024
# The accelerator's boundary, the same for both backends: an AXI DMA moves stream words zero-padded
# to one of these widths.
# Vitis HLS puts an s_axilite bundle's first scalar argument at 0x10 (after ap_ctrl 0x00, GIE 0x04,
# IER 0x08, ISR 0x0c): the accelerator's `frames` register (rtl/axi_lite_control.sv keeps it there too).
FRAMES_OFFSET = 0x10
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
    depth: int = MIN_FIFO_DEPTH    # words of the FIFO in front of its consumer (both backends)

    @property
    def bits(self):
        return self.dtype.bitwidth()

    @property
    def bipolar(self):
        """FINN BIPOLAR: a lane is one bit, 1 for +1 and 0 for -1."""
        return self.dtype == DataType["BIPOLAR"]

    @property
    def signed(self):
        """Whether a lane is two's complement (a BIPOLAR bit is not)."""
        return self.dtype.signed() and not self.bipolar

    @property
    def lanes(self):
        return self.width // self.bits

    @property
    def words(self):
        return self.elems // self.lanes


def streams(model):
    """Every stream of the dataflow graph, in topological order: the graph input, then each layer's
    outputs. A stream has one producer and one consumer (fan-out needs a DuplicateStreams layer)."""
    graph_in, graph_out = model.graph.input[0].name, model.graph.output[0].name
    first = model.find_consumer(graph_in)
    widths = {graph_in: getCustomOp(first).get_instream_width(list(first.input).index(graph_in))}
    for node in model.graph.node:
        for index, tensor in enumerate(node.output):
            widths[tensor] = getCustomOp(node).get_outstream_width(index)
    result = []
    for i, (tensor, width) in enumerate(widths.items()):
        consumers = model.find_consumers(tensor)
        if tensor != graph_out and len(consumers) != 1:
            raise CodegenError(f"stream {tensor} feeds {len(consumers)} layers; a stream needs exactly one "
                               "consumer (fan-out goes through a DuplicateStreams layer)")
        for consumer in consumers:
            port = _stream_inputs(model, consumer).index(tensor)
            if getCustomOp(consumer).get_instream_width(port) != width:
                raise CodegenError(f"'{tensor}' carries {width}-bit words but '{consumer.name}' reads "
                                   f"{getCustomOp(consumer).get_instream_width(port)}-bit words: insert a data width "
                                   "converter (the build does this with FINN's InsertDWC)")
        dtype = model.get_tensor_datatype(tensor)
        if width % dtype.bitwidth():
            raise CodegenError(f"stream {tensor}: width {width} is not a multiple of its {dtype.name} elements")
        var = "in0" if tensor == graph_in else "out0" if tensor == graph_out else f"s{i}"
        stream = Stream(tensor, var, width, dtype, int(np.prod(model.get_tensor_shape(tensor))))
        if consumers:       # the FIFO in front of the consumer, the same in the HLS and the RTL
            stream.depth = fifo_depth(getCustomOp(consumers[0]), _stream_inputs(model, consumers[0]).index(tensor))
        result.append(stream)
    return result


def dma_stream_width(bits):
    """The narrowest AXI DMA stream width that holds a `bits`-wide stream word."""
    for width in DMA_STREAM_WIDTHS:
        if width >= bits:
            return width
    raise CodegenError(f"a {bits}-bit stream word is wider than the AXI DMA's widest stream "
                       f"({DMA_STREAM_WIDTHS[-1]} bits); lower the PE/SIMD of the first or last layer")


def compile_defines(model):
    """Preprocessor definitions the generated code needs, as NAME=VALUE: ap_uint is limited to 1024 bits
    unless AP_INT_MAX_W says more (set only when needed: a higher limit slows compilation), and at most
    WIDEST_WORD. The widest word is a stream's, or a width converter's buffer."""
    widest, where = 0, None
    for node in model.graph.node:
        inst = getCustomOp(node)
        ins = [inst.get_instream_width(i) for i in range(len(_stream_inputs(model, node)))]
        outs = [inst.get_outstream_width(i) for i in range(len(node.output))]
        buffer = converter_buffer_bits(ins[0], outs[0]) if node.op_type.startswith("StreamingDataWidthConverter") else 0
        if max(buffer, *ins, *outs) > widest:
            widest, where = max(buffer, *ins, *outs), node.name
    if widest > WIDEST_WORD:
        raise CodegenError(f"{where}: a {widest}-bit word is wider than the widest ap_uint Vitis HLS supports "
                           f"(AP_INT_MAX_W <= {WIDEST_WORD}); lower the PE/SIMD of it or its neighbours")
    return [f"AP_INT_MAX_W={widest}"] if widest > AP_INT_DEFAULT_MAX_W else []


def _stream_inputs(model, node):
    """A node's streamed inputs (its other inputs are constant parameters)."""
    return [t for t in node.input if model.get_initializer(t) is None]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def generate(model, out_dir, board, clock_mhz):
    """Write hls/ (layers, params, top, kernels, synth.tcl) into out_dir; returns the Layer list."""
    out_dir = Path(out_dir)
    context = _context(model, board)
    layers = context["layers"]
    for layer in layers:
        _write(out_dir / "layers" / f"{layer.name}.hpp", _env.get_template("layer.hpp.j2").render(layer=layer))
        _write(out_dir / "layers" / f"{layer.name}.cpp", _env.get_template("layer.cpp.j2").render(layer=layer))
        _write(out_dir / "params" / f"{layer.name}.h", render_params(layer))
    for name in ("top.hpp", "top.cpp", "synth.tcl"):
        _write(out_dir / name, _env.get_template(f"{name}.j2").render(**context, board=board, clock_mhz=clock_mhz))
    # The kernels travel with the generated code so the folder synthesizes on another machine.
    shutil.copytree(KERNELS_DIR, out_dir / "kernels", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("tests", "*.py", "__pycache__"))
    return layers


def render_params(layer):
    """params/<layer>.h: the layer's config struct and constant arrays."""
    return _env.get_template("params.h.j2").render(layer=layer)


def generate_cppsim_main(model, path):
    stream_list = streams(model)
    _write(Path(path), _env.get_template("cppsim_main.cpp.j2").render(
        top=TOP_NAME, layers=[node.name for node in model.graph.node], streams=stream_list,
        input=next(s for s in stream_list if s.var == "in0"), output=next(s for s in stream_list if s.var == "out0")))


def _context(model, board):
    """What the templates need: layers, streams (var per tensor), the graph's input and output."""
    stream_list = streams(model)
    var = {s.tensor: s.var for s in stream_list}
    layers = [describe(model, node, _stream_inputs(model, node), board) for node in model.graph.node]
    index = {s.tensor: i for i, s in enumerate(stream_list)}
    internal = [(i, s) for i, s in enumerate(stream_list) if s.var not in ("in0", "out0")]
    # Per layer: the stream variables it is called with, and the internal streams it writes (which
    # a C simulation harness may observe right after the call).
    calls = [(layer, [var[p.tensor] for p in layer.ports],
              [(index[p.tensor], var[p.tensor]) for p in layer.ports if not p.is_input and var[p.tensor] != "out0"])
             for layer in layers]
    return dict(top=TOP_NAME, layers=layers, calls=calls, streams=stream_list, internal=internal,
                defines=compile_defines(model),
                input=next(s for s in stream_list if s.var == "in0"),
                output=next(s for s in stream_list if s.var == "out0"))
