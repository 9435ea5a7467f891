"""Per-layer code descriptors: how each FINN HW op maps onto a kernel of our library.

`describe(model, node, stream_inputs, board)` reads the node's attributes from the graph (the single
source of truth) and returns a Layer: the kernel header, the layer's configuration (the members of
its config struct, hls4ml style: one struct per layer in params/<layer>.h, the kernel's only
template argument), the call, the constant arrays (weights, thresholds, parameters) with the memory
each goes to, and the stream widths. Templates turn Layers into code.

Memories and multipliers go where FINN's estimate (node_res_estimation, which the folding optimizer
and the reports use) puts them: an explicit ram_style is followed, `auto` becomes what FINN counts
for it (BRAM if it counts BRAM, else LUTRAM); products use DSP slices where FINN counts DSPs
(resType). So the synthesized layer uses the resources its estimate says.
"""
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp

from compiler import hwops
from compiler.estimate.cycles import layer_cycles
from compiler.hwops import base_op, dsp_packing, multiplies_on_dsp
from models.errors import UserError


class CodegenError(UserError):
    """A layer (or a layer configuration) our kernel library cannot implement."""


@dataclass
class ConstArray:
    """A constant array stored in a layer's parameter header."""
    name: str
    dtype: DataType          # FINN datatype of the values (gives the synthesis storage type)
    values: np.ndarray       # integer values, already in the layout the kernel indexes
    storage: str | None = None   # the ROM's implementation (Vitis BIND_STORAGE impl: bram, lutram)

    @property
    def synth_type(self):
        return ap_type(self.dtype)

    @property
    def sim_type(self):
        return native_type(self.dtype)

    @property
    def dims(self):
        return "".join(f"[{d}]" for d in self.values.shape)

    def initializer(self):
        """Nested C initializer list, e.g. {{1, -2}, {3, 4}}."""
        def nest(a):
            if a.ndim == 1:
                return "{" + ", ".join(str(int(v)) for v in a) + "}"
            return "{" + ",\n".join(nest(sub) for sub in a) + "}"
        return nest(self.values)


@dataclass
class Port:
    name: str                # parameter name in the layer function: in/out, or in0, in1, out0, ...
    tensor: str
    width: int
    is_input: bool


@dataclass
class Layer:
    name: str
    op_type: str
    kernel: str              # header in kernels/
    call: str                # C++ call of the kernel with the port names and `frames` in scope
    ports: list              # inputs first, then outputs
    config: list             # the members of the layer's config struct (C++ declarations)
    arrays: list = field(default_factory=list)

    @property
    def config_name(self):
        return f"{self.name}_config"


@dataclass
class Kernel:
    """What a describer finds: the kernel's header and function, the call's arguments, the config
    struct's members and the constant arrays."""
    header: str
    function: str
    args: str
    config: list
    arrays: list = field(default_factory=list)


def const(name, value, ctype="unsigned"):
    """A config struct member: a compile-time constant."""
    if isinstance(value, bool):
        value, ctype = str(value).lower(), "bool"
    return f"static const {ctype} {name} = {value};"


def typedef(name, ctype):
    """A config struct member: a type."""
    return f"typedef {ctype} {name};"


def memory_impl(inst, board, style_attr="ram_style", estimated=True):
    """hwops.memory_impl on `board`, which must have the UltraRAM it names."""
    impl = hwops.memory_impl(inst, board.part, style_attr, estimated)
    if impl == "uram" and not board.resources.get("URAM"):
        style = inst.get_nodeattr(style_attr) if style_attr in inst.get_nodeattr_types() else "auto"
        raise CodegenError(f"{inst.onnx_node.name}: its memory would be UltraRAM ({style_attr}={style}), but "
                           f"{board.name} has none; use ram_style block or distributed")
    return impl


def constants_impl(inst, board, kind):
    """hwops.constants_impl on `board`: block RAM or LUTRAM, never UltraRAM, which the bitstream cannot
    initialise (our kernels have no runtime-writeable weights)."""
    impl = hwops.constants_impl(inst, board.part, kind)
    if impl == "uram":
        raise CodegenError(f"{inst.onnx_node.name}: its constants would go to UltraRAM, which the bitstream cannot "
                           "initialise (our kernels have no runtime-writeable weights); use ram_style block or "
                           "distributed")
    return impl


def multiplier(inst, board):
    """The products' multiplier (hwops.multiplies_on_dsp)."""
    return "dfk::mul_dsp" if multiplies_on_dsp(inst, board.part) else "dfk::mul_lut"


def ap_type(dtype):
    if dtype == DataType["BIPOLAR"] or not dtype.is_integer():
        raise CodegenError(f"data type {dtype.name} is not supported by the kernel library (integers only)")
    return f"ap_int<{dtype.bitwidth()}>" if dtype.signed() else f"ap_uint<{dtype.bitwidth()}>"


def lane_type(dtype):
    """The type of a lane for kernels that move or compare values without arithmetic: a BIPOLAR lane
    is its bit, 1 for +1 and 0 for -1, which orders as the values do."""
    return "ap_uint<1>" if dtype == DataType["BIPOLAR"] else ap_type(dtype)


def native_type(dtype):
    """Smallest C integer type holding every value of `dtype`: faster to compile and simulate than
    ap_int, with identical values."""
    for bits in (8, 16, 32, 64):
        if dtype.bitwidth() <= bits:
            return f"{'' if dtype.signed() else 'u'}int{bits}_t"
    raise CodegenError(f"data type {dtype.name} is wider than 64 bits")


def integers(name, values):
    rounded = np.round(values)
    if not np.array_equal(values, rounded):
        raise CodegenError(f"{name} has non-integer values (run RoundAndClipThresholds / integer params first)")
    return rounded.astype(np.int64)


def _fmpadding(model, node, inst, board):
    h, w = inst.get_nodeattr("ImgDim")
    top, left, bottom, right = inst.get_nodeattr("Padding")
    config = [const("IN_H", h), const("IN_W", w), const("PAD_T", top), const("PAD_L", left), const("PAD_B", bottom),
              const("PAD_R", right), const("CF", inst.get_nodeattr("NumChannels") // inst.get_nodeattr("SIMD")),
              const("IMAGES", int(np.prod(inst.get_nodeattr("numInputVectors")))),
              typedef("word_t", f"ap_uint<{inst.get_instream_width()}>")]
    return Kernel("fmpadding.hpp", "dfk::fmpadding", "in, out, frames", config)


# ram_style implementations -> the sliding window's dfk::ram_style
WINDOW_RAM = {"bram": "dfk::ram_block", "lutram": "dfk::ram_distributed", "uram": "dfk::ram_ultra"}


def _sliding_window(model, node, inst, board):
    parallel = bool(inst.get_nodeattr("parallel_window"))
    channels, simd = inst.get_nodeattr("IFMChannels"), inst.get_nodeattr("SIMD")
    if parallel and not inst.get_nodeattr("depthwise") and simd != channels:
        raise CodegenError(f"{node.name}: parallel_window=1 needs SIMD = IFMChannels ({channels}), not {simd}, "
                           "unless depthwise=1")
    if inst.get_nodeattr("M") != 1:
        raise CodegenError(f"{node.name}: M={inst.get_nodeattr('M')} is not supported; only M=1")
    (ih, iw), (oh, ow) = inst.get_nodeattr("IFMDim"), inst.get_nodeattr("OFMDim")
    (kh, kw), (sh, sw), (dh, dw) = (inst.get_nodeattr(a) for a in ("ConvKernelDim", "Stride", "Dilation"))
    config = [const("IN_H", ih), const("IN_W", iw), const("K_H", kh), const("K_W", kw), const("S_H", sh),
              const("S_W", sw), const("D_H", dh), const("D_W", dw), const("OUT_H", oh), const("OUT_W", ow),
              const("CF", channels // simd), const("DEPTHWISE", bool(inst.get_nodeattr("depthwise"))),
              const("PARALLEL", parallel), const("CYCLES", layer_cycles(inst)),
              const("RAM_STYLE", WINDOW_RAM[memory_impl(inst, board)], "dfk::ram_style"),
              typedef("word_t", f"ap_uint<{inst.get_instream_width()}>"),
              typedef("window_t", f"ap_uint<{inst.get_outstream_width()}>")]
    return Kernel("sliding_window.hpp", "dfk::sliding_window", "in, out, frames", config)


def mvau_operands(model, node, inst):
    """An MVAU's integer weights (MW, MH) and whether its inputs and weights are bipolar. BIPOLAR
    operands travel as one bit (1 = +1, 0 = -1): bipolar weights come as 0/1; binaryXnorMode reads
    BINARY operands so. Returns (weights, x_bipolar, w_bipolar)."""
    idt, wdt = inst.get_input_datatype(0), inst.get_input_datatype(1)
    weights = integers(f"{node.name} weights", model.get_initializer(node.input[1]))
    xnor = bool(inst.get_nodeattr("binaryXnorMode"))
    x_bipolar = idt == DataType["BIPOLAR"] or (xnor and idt == DataType["BINARY"])
    w_bipolar = wdt == DataType["BIPOLAR"] or (xnor and wdt == DataType["BINARY"])
    if xnor and not (x_bipolar and w_bipolar):
        raise CodegenError(f"{node.name}: binaryXnorMode needs BINARY or BIPOLAR inputs and weights, "
                           f"not {idt.name} and {wdt.name}")
    if wdt == DataType["BIPOLAR"]:
        weights = (weights + 1) // 2
    return weights, x_bipolar, w_bipolar


def _mvau(model, node, inst, board):
    mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
    simd, pe = inst.get_nodeattr("SIMD"), inst.get_nodeattr("PE")
    sf, nf = mw // simd, mh // pe
    wdt, adt, odt = inst.get_input_datatype(1), inst.get_accumulator_datatype(), inst.get_output_datatype()
    weights, x_bipolar, w_bipolar = mvau_operands(model, node, inst)
    if wdt == DataType["BIPOLAR"]:
        wdt = DataType["BINARY"]
    if x_bipolar and w_bipolar:
        # FINN computes the number of agreeing bits (XNOR popcount), 0..MW, whatever accDataType says.
        adt = DataType[f"UINT{int(mw).bit_length()}"]
    # W[sf*SIMD + s][nf*PE + pe] -> weights[pe][nf*SF + sf][s]
    weights = weights.reshape(sf, simd, nf, pe).transpose(3, 2, 0, 1).reshape(pe, nf * sf, simd)
    thresholds, n_thresholds, act_val = _thresholds(model, node, inst, mh, pe,
                                                    constants_impl(inst, board, "thresholds"))
    if odt == DataType["BIPOLAR"]:
        # FINN outputs 2 * count - 1 for one threshold, whose bit is the count itself.
        if n_thresholds != 1:
            raise CodegenError(f"{node.name}: a BIPOLAR output needs exactly one threshold, not {n_thresholds}")
        act_val, out_type = 0, "ap_uint<1>"
    else:
        out_type = ap_type(odt)
    config = [const("MW", mw), const("MH", mh), const("SIMD", simd), const("PE", pe), const("NT", n_thresholds),
              const("ACT_VAL", act_val, "int"), const("VECTORS", int(np.prod(inst.get_nodeattr("numInputVectors")))),
              typedef("in_t", "dfk::bipolar" if x_bipolar else ap_type(inst.get_input_datatype(0))),
              typedef("weight_t", "dfk::bipolar" if w_bipolar else ap_type(wdt)),
              typedef("acc_t", ap_type(adt)), typedef("out_t", out_type),
              const("MUL", multiplier(inst, board), "dfk::multiplier"),
              *(const(name, value) for name, value in zip(("PACK", "PACK_SHIFT", "PACKED_BITS"), dsp_packing(inst)))]
    arrays = [ConstArray(f"{node.name}_weights", wdt, weights, constants_impl(inst, board, "weights")), thresholds]
    return Kernel("mvau.hpp", "dfk::mvau", f"in, out, {node.name}_weights, {node.name}_thresholds, frames",
                  config, arrays)


def channel_thresholds(model, node, inst, channels):
    """The node's integer thresholds as one row per channel (channels, count) and its ActVal; (None, 0)
    when the node has no activation. A single row shared by all channels is repeated."""
    if "noActivation" in inst.get_nodeattr_types() and inst.get_nodeattr("noActivation"):
        return None, 0
    tensor = node.input[-1]     # thresholds are the last input of MVAU, VVAU and Thresholding
    values = integers(f"{node.name} thresholds", model.get_initializer(tensor))
    return np.broadcast_to(values, (channels, values.shape[1])), int(inst.get_nodeattr("ActVal"))


def _thresholds(model, node, inst, channels, pe, storage=None):
    """The node's thresholds as thresholds[pe][cf][t] for channel cf*PE+pe (in the ROM `storage`),
    their count and ActVal; a 1-element dummy when the node has no activation."""
    values, act_val = channel_thresholds(model, node, inst, channels)
    if values is None:
        return ConstArray(f"{node.name}_thresholds", DataType["INT8"], np.zeros((pe, channels // pe, 1), np.int64)), 0, 0
    count = values.shape[1]
    values = np.ascontiguousarray(values.reshape(channels // pe, pe, count).transpose(1, 0, 2))
    dtype = model.get_tensor_datatype(node.input[-1])
    if not dtype.is_integer() or not (dtype.allowed(values.min()) and dtype.allowed(values.max())):
        dtype = covering_type(values)
    return ConstArray(f"{node.name}_thresholds", dtype, values, storage), count, act_val


def window_producer_simd_must_match(model, node, pe):
    """Pool and VVAU read the channel-fold-major windows of a depthwise sliding window: its SIMD must
    equal their PE."""
    producer = model.find_producer(node.input[0])
    if producer is not None and base_op(producer.op_type) == "ConvolutionInputGenerator":
        simd = getCustomOp(producer).get_nodeattr("SIMD")
        if simd != pe:
            raise CodegenError(f"{node.name}: PE={pe} must equal the SIMD={simd} of the sliding window "
                               f"{producer.name} that feeds it (the window is emitted channel fold by channel fold)")


def covering_type(values):
    """Smallest FINN integer type holding all `values`."""
    lo, hi = int(values.min()), int(values.max())
    for bits in range(1, 65):
        if lo >= 0 and hi < 2 ** bits:
            return DataType[f"UINT{bits}"]
        if -(2 ** (bits - 1)) <= lo and hi < 2 ** (bits - 1):
            return DataType[f"INT{bits}"]
    raise CodegenError(f"values in [{lo}, {hi}] need more than 64 bits")


def _vvau(model, node, inst, board):
    channels, pe, simd = inst.get_nodeattr("Channels"), inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    window_producer_simd_must_match(model, node, pe)
    kh, kw = inst.get_nodeattr("Kernel")
    if (kh * kw) % simd:
        raise CodegenError(f"{node.name}: SIMD={simd} must divide the kernel size {kh * kw}")
    idt, wdt = inst.get_input_datatype(0), DataType[inst.get_nodeattr("weightDataType")]
    adt, odt = DataType[inst.get_nodeattr("accDataType")], inst.get_output_datatype()
    weights = integers(f"{node.name} weights", model.get_initializer(node.input[1])).reshape(channels, kh * kw)
    # W[cf*PE + pe][sf*SIMD + s] -> weights[pe][cf*SF + sf][s]
    weights = weights.reshape(channels // pe, pe, kh * kw // simd, simd).transpose(1, 0, 2, 3).reshape(pe, -1, simd)
    thresholds, n_thresholds, act_val = _thresholds(model, node, inst, channels, pe,
                                                    constants_impl(inst, board, "thresholds"))
    config = [const("C", channels), const("PE", pe), const("SIMD", simd), const("K", kh * kw),
              const("NT", n_thresholds), const("ACT_VAL", act_val, "int"),
              const("PIXELS", int(np.prod(inst.get_nodeattr("Dim")))), typedef("in_t", ap_type(idt)),
              typedef("weight_t", ap_type(wdt)), typedef("acc_t", ap_type(adt)), typedef("out_t", ap_type(odt)),
              const("MUL", multiplier(inst, board), "dfk::multiplier")]
    arrays = [ConstArray(f"{node.name}_weights", wdt, np.ascontiguousarray(weights),
                         constants_impl(inst, board, "weights")), thresholds]
    return Kernel("vvau.hpp", "dfk::vvau", f"in, out, {node.name}_weights, {node.name}_thresholds, frames",
                  config, arrays)


def _thresholding(model, node, inst, board):
    channels, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
    thresholds, n_thresholds, act_val = _thresholds(model, node, inst, channels, pe,
                                                    constants_impl(inst, board, "thresholds"))
    odt = inst.get_output_datatype()
    if odt == DataType["BIPOLAR"] and (n_thresholds, act_val) != (1, 0):
        # FINN outputs 2 * count - 1 for one threshold and ActVal 0, whose bit is the count itself
        raise CodegenError(f"{node.name}: a BIPOLAR output needs one threshold and ActVal 0, not "
                           f"{n_thresholds} and {act_val}")
    config = [const("C", channels), const("PE", pe), const("NT", n_thresholds), const("ACT_VAL", act_val, "int"),
              const("PIXELS", int(np.prod(inst.get_nodeattr("numInputVectors")))),
              typedef("in_t", ap_type(inst.get_input_datatype(0))), typedef("out_t", lane_type(odt))]
    return Kernel("thresholding.hpp", "dfk::thresholding", f"in, out, {node.name}_thresholds, frames", config,
                  [thresholds])


def _global_acc_pool(model, node, inst, board):
    batch, *spatial = inst.get_nodeattr("numInputVectors")
    config = [const("C", inst.get_nodeattr("NumChannels")), const("PE", inst.get_nodeattr("PE")),
              const("PIXELS", int(np.prod(spatial))), const("VECTORS", batch),
              typedef("in_t", ap_type(inst.get_input_datatype(0))), typedef("out_t", ap_type(inst.get_output_datatype()))]
    return Kernel("global_acc_pool.hpp", "dfk::global_acc_pool", "in, out, frames", config)


def _pool(model, node, inst, board):
    if inst.get_nodeattr("Function") != "MaxPool":
        raise CodegenError(f"{node.name}: Pool Function={inst.get_nodeattr('Function')} is not supported yet "
                           "(supported: MaxPool)")
    pe = inst.get_nodeattr("PE")
    window_producer_simd_must_match(model, node, pe)
    kh, kw = inst.get_nodeattr("KernelSize")
    oh, ow = inst.get_nodeattr("OutImgDims")
    config = [const("C", inst.get_nodeattr("Channels")), const("PE", pe), const("K2", kh * kw),
              const("PIXELS", oh * ow * inst.get_nodeattr("BatchSize")),
              typedef("elem_t", lane_type(inst.get_input_datatype()))]
    return Kernel("pool.hpp", "dfk::max_pool", "in, out, frames", config)


def _elementwise(model, node, inst, board):
    op = base_op(node.op_type)[len("Elementwise"):]
    if op not in ("Add", "Sub", "Mul", "Max"):
        raise CodegenError(f"{node.name}: Elementwise{op} is not supported yet (supported: Add, Sub, Mul, Max)")
    styles = (inst.get_nodeattr("lhs_style"), inst.get_nodeattr("rhs_style"))
    out_shape = list(inst.get_nodeattr("out_shape"))
    channels, pe = out_shape[-1], inst.get_nodeattr("PE")
    ldt, rdt, odt = (DataType[inst.get_nodeattr(a)] for a in ("lhs_dtype", "rhs_dtype", "out_dtype"))
    config = [typedef("op_t", f"dfk::{op}"), const("C", channels), const("PE", pe),
              const("PIXELS", int(np.prod(out_shape[:-1]))), typedef("lhs_t", ap_type(ldt)),
              typedef("rhs_t", ap_type(rdt)), typedef("out_t", ap_type(odt))]
    if styles == ("input", "input"):
        if list(inst.get_nodeattr("lhs_shape")) != list(inst.get_nodeattr("rhs_shape")):
            raise CodegenError(f"{node.name}: two streamed operands must have the same shape (no broadcasting yet)")
        return Kernel("elementwise.hpp", "dfk::elementwise_streams", "in0, in1, out, frames", config)
    if styles != ("input", "const"):
        raise CodegenError(f"{node.name}: lhs_style/rhs_style {styles} not supported; supported: (input, const), "
                           "(input, input)")
    params = integers(f"{node.name} constant", model.get_initializer(node.input[1])).reshape(-1)
    if params.size not in (1, channels):
        raise CodegenError(f"{node.name}: the constant must have 1 or {channels} (channel) values, not {params.size}")
    # channel cf*PE + pe -> params[pe][cf]: the lanes of a word read their constants in one cycle
    params = params.reshape(1, 1) if params.size == 1 else params.reshape(channels // pe, pe).T.copy()
    return Kernel("elementwise.hpp", "dfk::elementwise_const", f"in, out, {node.name}_params, frames", config,
                  [ConstArray(f"{node.name}_params", rdt, params, constants_impl(inst, board, "params"))])


def _duplicate_streams(model, node, inst, board):
    outs = ", ".join(f"out{i}" for i in range(inst.get_nodeattr("NumOutputStreams")))
    config = [const("WORDS", int(np.prod(inst.get_folded_input_shape()[:-1]))),
              typedef("word_t", f"ap_uint<{inst.get_instream_width()}>")]
    return Kernel("duplicate_streams.hpp", "dfk::duplicate_streams", f"in, frames, {outs}", config)


def _concat(model, node, inst, board):
    simd, channels = inst.get_nodeattr("SIMD"), inst.get_nodeattr("ChannelsPerStream")
    inputs = ", ".join(f"dfk::concat_input<{lane_type(inst.get_input_datatype(i))}, {c // simd}>"
                       for i, c in enumerate(channels))
    config = [const("SIMD", simd), const("PIXELS", int(np.prod(inst.get_nodeattr("numInputVectors")))),
              typedef("out_t", lane_type(inst.get_output_datatype())), typedef("inputs", f"dfk::concat_inputs<{inputs}>")]
    ins = ", ".join(f"in{i}" for i in range(len(channels)))
    return Kernel("concat.hpp", "dfk::concat", f"out, frames, {ins}", config)


def reorg_shape(inst):
    """hwops.reorg_shape of a Shuffle node; a CodegenError for any other shuffle (no kernel for it)."""
    shape = hwops.reorg_shape(inst)
    if shape is None:
        raise CodegenError(f"node '{inst.onnx_node.name}' (Shuffle, perm {list(inst.get_nodeattr('perm'))} of "
                           f"{list(inst.get_nodeattr('transpose_in_shape'))}) is not a reorg: our library implements "
                           f"only the space-to-depth shuffle (perm {list(hwops.REORG_NHWC_PERM)})")
    return shape


def _reorg(model, node, inst, board):
    h, w, channels, block = reorg_shape(inst)
    config = [const("IN_H", h), const("IN_W", w), const("BLOCK", block), const("CF", channels // inst.get_nodeattr("SIMD")),
              typedef("word_t", f"ap_uint<{inst.get_instream_width()}>")]
    return Kernel("reorg.hpp", "dfk::reorg", "in, out, frames", config)


def _label_select(model, node, inst, board):
    config = [const("LABELS", inst.get_nodeattr("Labels")), const("PE", inst.get_nodeattr("PE")),
              const("K", inst.get_nodeattr("K")), const("VECTORS", int(np.prod(inst.get_nodeattr("numInputVectors")))),
              typedef("in_t", lane_type(inst.get_input_datatype())), typedef("out_t", ap_type(inst.get_output_datatype()))]
    return Kernel("label_select.hpp", "dfk::label_select", "in, out, frames", config)


def _data_width_converter(model, node, inst, board):
    config = [const("IN_W", inst.get_instream_width()), const("OUT_W", inst.get_outstream_width()),
              const("IN_WORDS", int(np.prod(inst.get_folded_input_shape()[:-1]))),
              const("OUT_WORDS", int(np.prod(inst.get_folded_output_shape()[:-1])))]
    return Kernel("data_width_converter.hpp", "dfk::data_width_converter", "in, out, frames", config)


_DESCRIBERS = {
    "FMPadding": _fmpadding,
    "ConvolutionInputGenerator": _sliding_window,
    "MVAU": _mvau,
    "VVAU": _vvau,
    "Thresholding": _thresholding,
    "GlobalAccPool": _global_acc_pool,
    "Pool": _pool,
    "ElementwiseAdd": _elementwise,
    "ElementwiseSub": _elementwise,
    "ElementwiseMul": _elementwise,
    "ElementwiseMax": _elementwise,
    "LabelSelect": _label_select,
    "DuplicateStreams": _duplicate_streams,
    "StreamingConcat": _concat,
    "StreamingDataWidthConverter": _data_width_converter,
    "Shuffle": _reorg,
}
SUPPORTED_OPS = sorted(_DESCRIBERS)


def describe(model, node, stream_inputs, board):
    """The Layer of `node`, whose streamed inputs (in port order) are `stream_inputs`, for `board`."""
    op = base_op(node.op_type)
    if op not in _DESCRIBERS:
        raise CodegenError(f"node '{node.name}' (op type {node.op_type}) has no kernel in our library; "
                           f"supported: {', '.join(SUPPORTED_OPS)}")
    inst = getCustomOp(node)
    kernel = _DESCRIBERS[op](model, node, inst, board)

    def names(prefix, n):
        return [prefix] if n == 1 else [f"{prefix}{i}" for i in range(n)]

    ports = [Port(name, tensor, inst.get_instream_width(i), True)
             for i, (name, tensor) in enumerate(zip(names("in", len(stream_inputs)), stream_inputs))]
    ports += [Port(name, tensor, inst.get_outstream_width(i), False)
              for i, (name, tensor) in enumerate(zip(names("out", len(node.output)), node.output))]
    call = f"{kernel.function}<{node.name}_config>({kernel.args})"
    return Layer(node.name, op, kernel.header, call, ports, kernel.config, kernel.arrays)
