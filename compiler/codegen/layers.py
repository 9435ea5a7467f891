"""Per-layer code descriptors: how each FINN HW op maps onto a kernel of our library.

`describe(model, node)` reads the node's attributes from the graph (the single source of truth)
and returns a Layer: the kernel header, the C++ call with its template arguments, the constant
arrays (weights, thresholds, parameters) and the stream widths. Templates turn Layers into code.
"""
from dataclasses import dataclass, field

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp


class CodegenError(ValueError):
    """A layer (or a layer configuration) our kernel library cannot implement."""


@dataclass
class ConstArray:
    """A constant array stored in a layer's parameter header."""
    name: str
    dtype: DataType          # FINN datatype of the values (gives the synthesis storage type)
    values: np.ndarray       # integer values, already in the layout the kernel indexes

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
    arrays: list = field(default_factory=list)


def ap_type(dtype):
    if dtype == DataType["BIPOLAR"] or not dtype.is_integer():
        raise CodegenError(f"data type {dtype.name} is not supported by the kernel library (integers only)")
    return f"ap_int<{dtype.bitwidth()}>" if dtype.signed() else f"ap_uint<{dtype.bitwidth()}>"


def native_type(dtype):
    """Smallest C integer type holding every value of `dtype`: faster to compile and simulate than
    ap_int, with identical values."""
    for bits in (8, 16, 32, 64):
        if dtype.bitwidth() <= bits:
            return f"{'' if dtype.signed() else 'u'}int{bits}_t"
    raise CodegenError(f"data type {dtype.name} is wider than 64 bits")


def _integers(name, values):
    rounded = np.round(values)
    if not np.array_equal(values, rounded):
        raise CodegenError(f"{name} has non-integer values (run RoundAndClipThresholds / integer params first)")
    return rounded.astype(np.int64)


def _base_op(node):
    for suffix in ("_hls", "_rtl"):
        if node.op_type.endswith(suffix):
            return node.op_type[: -len(suffix)]
    return node.op_type


def _fmpadding(model, node, inst):
    h, w = inst.get_nodeattr("ImgDim")
    top, left, bottom, right = inst.get_nodeattr("Padding")
    cf = inst.get_nodeattr("NumChannels") // inst.get_nodeattr("SIMD")
    word = f"ap_uint<{inst.get_instream_width()}>"
    return "fmpadding.hpp", (f"dfk::fmpadding<{h}, {w}, {top}, {left}, {bottom}, {right}, {cf}, {word}>"
                             f"(in, out, frames * {int(np.prod(inst.get_nodeattr('numInputVectors')))})"), []


def _sliding_window(model, node, inst):
    parallel = bool(inst.get_nodeattr("parallel_window"))
    channels, simd = inst.get_nodeattr("IFMChannels"), inst.get_nodeattr("SIMD")
    if parallel and not inst.get_nodeattr("depthwise") and simd != channels:
        raise CodegenError(f"{node.name}: parallel_window=1 needs SIMD = IFMChannels ({channels}), not {simd}, "
                           "unless depthwise=1")
    if inst.get_nodeattr("M") != 1:
        raise CodegenError(f"{node.name}: M={inst.get_nodeattr('M')} is not supported; only M=1")
    ih, iw = inst.get_nodeattr("IFMDim")
    oh, ow = inst.get_nodeattr("OFMDim")
    kh, kw = inst.get_nodeattr("ConvKernelDim")
    sh, sw = inst.get_nodeattr("Stride")
    dh, dw = inst.get_nodeattr("Dilation")
    cf = channels // simd
    depthwise = "true" if inst.get_nodeattr("depthwise") else "false"
    word = f"ap_uint<{inst.get_instream_width()}>"
    # The kernel takes FINN's cycle estimate for its RTL generator (latency and stalls included) as
    # its cycles per frame, so that folding estimates and kernel agree.
    try:
        cycles = inst.get_exp_cycles()
    except AssertionError as error:     # FINN checks the configuration there
        raise CodegenError(f"{node.name}: {error}") from error
    return "sliding_window.hpp", (
        f"dfk::sliding_window<{ih}, {iw}, {kh}, {kw}, {sh}, {sw}, {dh}, {dw}, {oh}, {ow}, {cf}, {depthwise}, {word}, "
        f"{'true' if parallel else 'false'}, ap_uint<{inst.get_outstream_width()}>, {cycles}>(in, out, frames)"), []


def _mvau(model, node, inst):
    mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
    simd, pe = inst.get_nodeattr("SIMD"), inst.get_nodeattr("PE")
    sf, nf = mw // simd, mh // pe
    idt, wdt = inst.get_input_datatype(0), inst.get_input_datatype(1)
    adt, odt = inst.get_accumulator_datatype(), inst.get_output_datatype()
    weights = _integers(f"{node.name} weights", model.get_initializer(node.input[1]))
    # BIPOLAR operands travel as one bit (1 = +1, 0 = -1); binaryXnorMode reads BINARY operands so.
    xnor = bool(inst.get_nodeattr("binaryXnorMode"))
    x_bipolar = idt == DataType["BIPOLAR"] or (xnor and idt == DataType["BINARY"])
    w_bipolar = wdt == DataType["BIPOLAR"] or (xnor and wdt == DataType["BINARY"])
    if xnor and not (x_bipolar and w_bipolar):
        raise CodegenError(f"{node.name}: binaryXnorMode needs BINARY or BIPOLAR inputs and weights, "
                           f"not {idt.name} and {wdt.name}")
    if wdt == DataType["BIPOLAR"]:
        weights, wdt = (weights + 1) // 2, DataType["BINARY"]
    if x_bipolar and w_bipolar:
        # FINN computes the number of agreeing bits (XNOR popcount), 0..MW, whatever accDataType says.
        adt = DataType[f"UINT{int(mw).bit_length()}"]
    # W[sf*SIMD + s][nf*PE + pe] -> weights[pe][nf*SF + sf][s]
    weights = weights.reshape(sf, simd, nf, pe).transpose(3, 2, 0, 1).reshape(pe, nf * sf, simd)
    thresholds, n_thresholds, act_val = _thresholds(model, node, inst, mh, pe)
    if odt == DataType["BIPOLAR"]:
        # FINN outputs 2 * count - 1 for one threshold, whose bit is the count itself.
        if n_thresholds != 1:
            raise CodegenError(f"{node.name}: a BIPOLAR output needs exactly one threshold, not {n_thresholds}")
        act_val, out_type = 0, "ap_uint<1>"
    else:
        out_type = ap_type(odt)
    arrays = [ConstArray(f"{node.name}_weights", wdt, weights), thresholds]
    vectors = int(np.prod(inst.get_nodeattr("numInputVectors")))
    in_type = "dfk::bipolar" if x_bipolar else ap_type(idt)
    w_type = "dfk::bipolar" if w_bipolar else ap_type(wdt)
    return "mvau.hpp", (
        f"dfk::mvau<{mw}, {mh}, {simd}, {pe}, {n_thresholds}, {act_val}, {in_type}, {w_type}, "
        f"{ap_type(adt)}, {out_type}>(in, out, {node.name}_weights, {node.name}_thresholds, frames * {vectors})"
    ), arrays


def _thresholds(model, node, inst, channels, pe):
    """The node's thresholds as thresholds[pe][cf][t] for channel cf*PE+pe (a single row is shared by
    all channels), their count and ActVal; a 1-element dummy when the node has no activation."""
    if "noActivation" in inst.get_nodeattr_types() and inst.get_nodeattr("noActivation"):
        return ConstArray(f"{node.name}_thresholds", DataType["INT8"], np.zeros((pe, channels // pe, 1), np.int64)), 0, 0
    tensor = node.input[-1]     # thresholds are the last input of MVAU, VVAU and Thresholding
    values = _integers(f"{node.name} thresholds", model.get_initializer(tensor))
    values = np.broadcast_to(values, (channels, values.shape[1]))
    count = values.shape[1]
    values = np.ascontiguousarray(values.reshape(channels // pe, pe, count).transpose(1, 0, 2))
    dtype = model.get_tensor_datatype(tensor)
    if not dtype.is_integer() or not (dtype.allowed(values.min()) and dtype.allowed(values.max())):
        dtype = _covering_type(values)
    return ConstArray(f"{node.name}_thresholds", dtype, values), count, int(inst.get_nodeattr("ActVal"))


def _window_producer_simd_must_match(model, node, pe):
    """Pool and VVAU read the channel-fold-major windows of a depthwise sliding window: its SIMD must
    equal their PE."""
    producer = model.find_producer(node.input[0])
    if producer is not None and _base_op(producer) == "ConvolutionInputGenerator":
        simd = getCustomOp(producer).get_nodeattr("SIMD")
        if simd != pe:
            raise CodegenError(f"{node.name}: PE={pe} must equal the SIMD={simd} of the sliding window "
                               f"{producer.name} that feeds it (the window is emitted channel fold by channel fold)")


def _covering_type(values):
    """Smallest FINN integer type holding all `values`."""
    lo, hi = int(values.min()), int(values.max())
    for bits in range(1, 65):
        if lo >= 0 and hi < 2 ** bits:
            return DataType[f"UINT{bits}"]
        if -(2 ** (bits - 1)) <= lo and hi < 2 ** (bits - 1):
            return DataType[f"INT{bits}"]
    raise CodegenError(f"values in [{lo}, {hi}] need more than 64 bits")


def _vvau(model, node, inst):
    channels, pe, simd = inst.get_nodeattr("Channels"), inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    _window_producer_simd_must_match(model, node, pe)
    kh, kw = inst.get_nodeattr("Kernel")
    if (kh * kw) % simd:
        raise CodegenError(f"{node.name}: SIMD={simd} must divide the kernel size {kh * kw}")
    idt, wdt = inst.get_input_datatype(0), DataType[inst.get_nodeattr("weightDataType")]
    adt, odt = DataType[inst.get_nodeattr("accDataType")], inst.get_output_datatype()
    weights = _integers(f"{node.name} weights", model.get_initializer(node.input[1])).reshape(channels, kh * kw)
    # W[cf*PE + pe][sf*SIMD + s] -> weights[pe][cf*SF + sf][s]
    weights = weights.reshape(channels // pe, pe, kh * kw // simd, simd).transpose(1, 0, 2, 3).reshape(pe, -1, simd)
    thresholds, n_thresholds, act_val = _thresholds(model, node, inst, channels, pe)
    pixels = int(np.prod(inst.get_nodeattr("Dim")))
    return "vvau.hpp", (
        f"dfk::vvau<{channels}, {pe}, {simd}, {kh * kw}, {n_thresholds}, {act_val}, {ap_type(idt)}, {ap_type(wdt)}, "
        f"{ap_type(adt)}, {ap_type(odt)}>(in, out, {node.name}_weights, {node.name}_thresholds, frames * {pixels})"
    ), [ConstArray(f"{node.name}_weights", wdt, np.ascontiguousarray(weights)), thresholds]


def _thresholding(model, node, inst):
    channels, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
    thresholds, n_thresholds, act_val = _thresholds(model, node, inst, channels, pe)
    idt, odt = inst.get_input_datatype(0), inst.get_output_datatype()
    pixels = int(np.prod(inst.get_nodeattr("numInputVectors")))
    return "thresholding.hpp", (
        f"dfk::thresholding<{channels}, {pe}, {n_thresholds}, {act_val}, {ap_type(idt)}, {ap_type(odt)}>"
        f"(in, out, {node.name}_thresholds, frames * {pixels})"), [thresholds]


def _global_acc_pool(model, node, inst):
    channels, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
    batch, *spatial = inst.get_nodeattr("numInputVectors")
    idt, odt = inst.get_input_datatype(0), inst.get_output_datatype()
    return "global_acc_pool.hpp", (
        f"dfk::global_acc_pool<{channels}, {pe}, {int(np.prod(spatial))}, {ap_type(idt)}, {ap_type(odt)}>"
        f"(in, out, frames * {batch})"), []


def _pool(model, node, inst):
    if inst.get_nodeattr("Function") != "MaxPool":
        raise CodegenError(f"{node.name}: Pool Function={inst.get_nodeattr('Function')} is not supported yet "
                           "(supported: MaxPool)")
    channels, pe = inst.get_nodeattr("Channels"), inst.get_nodeattr("PE")
    _window_producer_simd_must_match(model, node, pe)
    kh, kw = inst.get_nodeattr("KernelSize")
    oh, ow = inst.get_nodeattr("OutImgDims")
    dtype = inst.get_input_datatype()
    pixels = oh * ow * inst.get_nodeattr("BatchSize")
    return "pool.hpp", (f"dfk::max_pool<{channels // pe}, {pe}, {kh * kw}, {ap_type(dtype)}>"
                        f"(in, out, frames * {pixels})"), []


def _elementwise(model, node, inst):
    op = _base_op(node)[len("Elementwise"):]
    if op not in ("Add", "Sub", "Mul"):
        raise CodegenError(f"{node.name}: Elementwise{op} is not supported yet (supported: Add, Sub, Mul)")
    styles = (inst.get_nodeattr("lhs_style"), inst.get_nodeattr("rhs_style"))
    out_shape = list(inst.get_nodeattr("out_shape"))
    channels, pe = out_shape[-1], inst.get_nodeattr("PE")
    ldt, rdt, odt = (DataType[inst.get_nodeattr(a)] for a in ("lhs_dtype", "rhs_dtype", "out_dtype"))
    pixels = int(np.prod(out_shape[:-1]))
    if styles == ("input", "input"):
        if list(inst.get_nodeattr("lhs_shape")) != list(inst.get_nodeattr("rhs_shape")):
            raise CodegenError(f"{node.name}: two streamed operands must have the same shape (no broadcasting yet)")
        return "elementwise.hpp", (
            f"dfk::elementwise_streams<dfk::{op}, {channels}, {pe}, {ap_type(ldt)}, {ap_type(rdt)}, {ap_type(odt)}>"
            f"(in0, in1, out, frames * {pixels})"), []
    if styles != ("input", "const"):
        raise CodegenError(f"{node.name}: lhs_style/rhs_style {styles} not supported; supported: (input, const), "
                           "(input, input)")
    params = _integers(f"{node.name} constant", model.get_initializer(node.input[1])).reshape(-1)
    if params.size not in (1, channels):
        raise CodegenError(f"{node.name}: the constant must have 1 or {channels} (channel) values, not {params.size}")
    return "elementwise.hpp", (
        f"dfk::elementwise_const<dfk::{op}, {channels}, {pe}, {params.size}, {ap_type(ldt)}, {ap_type(rdt)}, "
        f"{ap_type(odt)}>(in, out, {node.name}_params, frames * {pixels})"
    ), [ConstArray(f"{node.name}_params", rdt, params)]


def _duplicate_streams(model, node, inst):
    words = int(np.prod(inst.get_folded_input_shape()[:-1]))
    outs = ", ".join(f"out{i}" for i in range(inst.get_nodeattr("NumOutputStreams")))
    return "duplicate_streams.hpp", f"dfk::duplicate_streams<{words}>(in, frames, {outs})", []


def _concat(model, node, inst):
    simd, odt = inst.get_nodeattr("SIMD"), inst.get_output_datatype()
    parts = [f"dfk::concat_part<{simd}, {channels // simd}, {ap_type(inst.get_input_datatype(i))}, {ap_type(odt)}>"
             f"(in{i}, out);" for i, channels in enumerate(inst.get_nodeattr("ChannelsPerStream"))]
    pixels = int(np.prod(inst.get_nodeattr("numInputVectors")))
    return "concat.hpp", (f"for (unsigned p = 0; p < frames * {pixels}; p++) {{\n        "
                          + "\n        ".join(parts) + "\n    }"), []


def _label_select(model, node, inst):
    labels, pe, k = inst.get_nodeattr("Labels"), inst.get_nodeattr("PE"), inst.get_nodeattr("K")
    idt, odt = inst.get_input_datatype(), inst.get_output_datatype()
    vectors = int(np.prod(inst.get_nodeattr("numInputVectors")))
    return "label_select.hpp", (f"dfk::label_select<{labels}, {pe}, {k}, {ap_type(idt)}, {ap_type(odt)}>"
                                f"(in, out, frames * {vectors})"), []


def _data_width_converter(model, node, inst):
    in_words = int(np.prod(inst.get_folded_input_shape()[:-1]))
    return "data_width_converter.hpp", (
        f"dfk::data_width_converter<{inst.get_instream_width()}, {inst.get_outstream_width()}, {in_words}>"
        "(in, out, frames)"), []


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
    "LabelSelect": _label_select,
    "DuplicateStreams": _duplicate_streams,
    "StreamingConcat": _concat,
    "StreamingDataWidthConverter": _data_width_converter,
}
SUPPORTED_OPS = sorted(_DESCRIBERS)


def describe(model, node, stream_inputs):
    """The Layer of `node`, whose streamed inputs (in port order) are `stream_inputs`."""
    op = _base_op(node)
    if op not in _DESCRIBERS:
        raise CodegenError(f"node '{node.name}' (op type {node.op_type}) has no kernel in our library; "
                           f"supported: {', '.join(SUPPORTED_OPS)}")
    inst = getCustomOp(node)
    kernel, call, arrays = _DESCRIBERS[op](model, node, inst)

    def names(prefix, n):
        return [prefix] if n == 1 else [f"{prefix}{i}" for i in range(n)]

    ports = [Port(name, tensor, inst.get_instream_width(i), True)
             for i, (name, tensor) in enumerate(zip(names("in", len(stream_inputs)), stream_inputs))]
    ports += [Port(name, tensor, inst.get_outstream_width(i), False)
              for i, (name, tensor) in enumerate(zip(names("out", len(node.output)), node.output))]
    return Layer(node.name, op, kernel, call, ports, arrays)
