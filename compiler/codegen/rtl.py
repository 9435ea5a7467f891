"""RTL code generation: per layer a SystemVerilog wrapper over a module of our library (rtl/) with
its memories, memory files ($readmemh hex words), and a stitched top with a FIFO on every stream
between layers. Generated from the same graph as the HLS code (node attributes are the single
source of truth), with the same word layout: lane i of a word at bits [i*B, (i+1)*B).

`generate(model, out_dir)` writes out_dir/: lib/*.sv (the library), <layer>.sv, <layer>_*.mem,
accel_top.sv, accel_axi.sv (the IP Vivado packages), rtlsim_top.sv (the simulation view: the IP
plus handshake probes), sources.f (every source of the IP, in compile order) and synth/: one
wrapper per distinct FIFO of the top, so that synthesis can count them like layers (compiler/synth).
"""
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp

from compiler.codegen import dma_stream_width, streams
from compiler.codegen.layers import (CodegenError, channel_thresholds, constants_impl, covering_type, integers,
                                     mvau_operands, reorg_shape, window_producer_simd_must_match)
from compiler.estimate.cycles import layer_cycles, window_buffer_words
from compiler.hwops import base_op, dsp_packing, fifo_style, signed_bits, threshold_stages

RTL_LIBRARY = Path(__file__).resolve().parents[2] / "rtl"
TOP = "accel_top"          # the layers and FIFOs, between two AXI streams of the graph's word widths
AXI_TOP = "accel_axi"      # the IP: TOP behind DMA-width streams and the AXI-lite control registers
SIM_TOP = "rtlsim_top"     # AXI_TOP with probes, for Verilator
_env = jinja2.Environment(loader=jinja2.PackageLoader("compiler.codegen", "templates/rtl"),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                          lstrip_blocks=True)


@dataclass
class Memory:
    """A ROM in a layer's wrapper: `words` are its contents, already packed into WIDTH-bit words;
    en/addr/data are the wrapper signals it is read through."""
    name: str
    width: int
    words: list
    en: str
    addr: str
    data: str
    style: str = "auto"

    @property
    def depth(self):
        return len(self.words)

    @property
    def addr_bits(self):
        return max(1, (self.depth - 1).bit_length())


@dataclass
class Port:
    """A streamed port of a layer wrapper: s_axis / m_axis, or s0_axis, s1_axis, ... for several."""
    name: str
    tensor: str
    width: int
    is_input: bool


# IEEE 1800-2017 keywords: a node named like one gets a prefixed module name.
SV_KEYWORDS = set("""accept_on alias always always_comb always_ff always_latch and assert assign assume automatic
before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking
cmos config const constraint context continue cover covergroup coverpoint cross deassign default defparam design
disable dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable endtask enum
event eventually expect export extends extern final first_match for force foreach forever fork forkjoin function
generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir include
initial inout input inside instance int integer interconnect interface intersect join join_any join_none large let
liblist library local localparam logic longint macromodule matches medium modport module nand negedge nettype new
nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter pmos posedge primitive
priority program property protected pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand
randc randcase randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran
rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint shortreal
showcancelled signed small soft solve specify specparam static string strong strong0 strong1 struct super supply0
supply1 sync_accept_on sync_reject_on table tagged task this throughout time timeprecision timeunit tran tranif0
tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0 unsigned until until_with untyped use
uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor
xor""".split())


def module_name(node_name):
    """The node's name as a SystemVerilog module name (FINN's names, e.g. MVAU_hls_0, stay as they are)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node_name) and node_name not in SV_KEYWORDS:
        return node_name
    return "layer_" + re.sub(r"[^A-Za-z0-9_]", "_", node_name)


@dataclass
class RtlLayer:
    name: str                    # the node's
    op_type: str
    module: str                  # library module the wrapper instantiates
    params: dict                 # its parameters, in order
    ports: list                  # wrapper ports, inputs first
    connections: dict            # library module port -> wrapper signal expression
    memories: list = field(default_factory=list)
    wires: list = field(default_factory=list)      # (width, name) declared in the wrapper
    assigns: list = field(default_factory=list)    # (lhs, rhs) continuous assignments in the wrapper
    cycles: int = 0              # cycles per frame of the layer in steady state (its cycle model)

    @property
    def module_name(self):
        return module_name(self.name)


def pack_words(lanes, bits):
    """Rows of lane values (two's complement, `bits` each, lane 0 lowest) as integer words."""
    lanes = np.asarray(lanes, dtype=object).reshape(len(lanes), -1)
    mask = (1 << bits) - 1
    words = []
    for row in lanes:
        word = 0
        for i, value in enumerate(row):
            word |= (int(value) & mask) << (i * bits)
        words.append(word)
    return words


def element(dtype):
    """(bits, signed, bipolar) of how a FINN datatype travels in a stream lane."""
    if dtype == DataType["BIPOLAR"]:
        return 1, False, True
    if not dtype.is_integer():
        raise CodegenError(f"data type {dtype.name} is not supported by the RTL library (integers and BIPOLAR only)")
    return dtype.bitwidth(), dtype.signed(), False


def _axis(prefix):
    return {f"{prefix}_tdata": f"{prefix}_tdata", f"{prefix}_tvalid": f"{prefix}_tvalid",
            f"{prefix}_tready": f"{prefix}_tready"}


def _single_stream(model, node, inst):
    inputs = stream_inputs(model, node)
    return [Port("s_axis", inputs[0], inst.get_instream_width(0), True),
            Port("m_axis", node.output[0], inst.get_outstream_width(0), False)]


def stream_inputs(model, node):
    return [t for t in node.input if model.get_initializer(t) is None]


def _vectors(inst):
    return int(np.prod(inst.get_nodeattr("numInputVectors")))


# ------------------------------------------------------------------------------------------ thresholds

def threshold_memories(name, values, pe, acc_lo, acc_hi):
    """Per lane and stage, the memories of threshold_search for thresholds `values` (channels, count)
    of channel fold * PE + lane compared with values in [acc_lo, acc_hi]: (stages, compare width,
    memories as {(lane, stage): words})."""
    channels, count = values.shape
    stages = threshold_stages(count)
    cw = max(signed_bits(acc_lo, acc_hi), signed_bits(int(values.min()), int(values.max()))) + 1
    pad = (1 << (cw - 1)) - 1                          # above every value compared
    padded = np.full((channels, (1 << stages) - 1), pad, dtype=np.int64)
    padded[:, :count] = np.sort(values, axis=1)        # the count of thresholds met is order-free
    folds = channels // pe
    memories = {}
    for lane in range(pe):
        for stage in range(stages):
            span = 1 << (stages - stage)
            words = [padded[fold * pe + lane, prefix * span + span // 2 - 1]
                     for fold in range(folds) for prefix in range(1 << stage)]
            memories[(lane, stage)] = [int(w) & ((1 << cw) - 1) for w in words]
    return stages, cw, memories


def _threshold_params(layer, model, node, inst, channels, pe, acc_lo, acc_hi, out_bits):
    """Add the thresholds of a MVAU/VVAU/Thresholding node to `layer` (params, memories, wires)."""
    values, act_val = channel_thresholds(model, node, inst, channels)
    if values is None:
        layer.params.update(THRESHOLD_STAGES=0)
        layer.connections.update(threshold_addr_o="", threshold_data_i="'0")
        return
    if inst.get_output_datatype() == DataType["BIPOLAR"]:
        # FINN outputs 2 * count - 1 for one threshold: the bit is the count itself.
        if values.shape[1] != 1:
            raise CodegenError(f"{node.name}: a BIPOLAR output needs exactly one threshold, not {values.shape[1]}")
        act_val = 0
    stages, cw, memories = threshold_memories(node.name, values, pe, acc_lo, acc_hi)
    folds = channels // pe
    addr_bits = max(1, ((folds << (stages - 1)) - 1).bit_length())
    layer.params.update(THRESHOLD_STAGES=stages, CW=cw, OUT_BITS=out_bits, ACT_VAL=act_val)
    layer.wires += [(pe * stages * addr_bits, "threshold_addr"), (pe * stages * cw, "threshold_data")]
    layer.connections.update(threshold_addr_o="threshold_addr", threshold_data_i="threshold_data")
    for (lane, stage), words in memories.items():
        index = lane * stages + stage
        depth_bits = max(1, (len(words) - 1).bit_length())
        layer.memories.append(Memory(
            f"thresholds_pe{lane}_s{stage}", cw, words, en="mem_en",
            addr=f"threshold_addr[{index * addr_bits} +: {depth_bits}]",
            data=f"threshold_data[{index * cw} +: {cw}]"))


# ----------------------------------------------------------------------------------------- describers

def _mvau(model, node, inst):
    mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
    simd, pe = inst.get_nodeattr("SIMD"), inst.get_nodeattr("PE")
    sf, nf = mw // simd, mh // pe
    idt, wdt = inst.get_input_datatype(0), inst.get_input_datatype(1)
    adt, odt = inst.get_accumulator_datatype(), inst.get_output_datatype()
    weights, x_bipolar, w_bipolar = mvau_operands(model, node, inst)
    packing = dsp_packing(inst)
    in_bits, in_signed = (1, False) if x_bipolar else element(idt)[:2]
    w_bits, w_signed = (1, False) if w_bipolar else element(wdt)[:2]
    if x_bipolar and w_bipolar:
        acc_lo, acc_hi = 0, mw          # XNOR popcount: the number of agreeing bits
    else:
        acc_lo, acc_hi = int(adt.min()), int(adt.max())
    acc_bits = signed_bits(acc_lo, acc_hi) - (acc_lo >= 0)
    # W[sf*SIMD + s][nf*PE + p] -> word nf*SF + sf, lane p*SIMD + s
    lanes = weights.reshape(sf, simd, nf, pe).transpose(2, 0, 3, 1).reshape(nf * sf, pe * simd)
    out_bits = 1 if odt == DataType["BIPOLAR"] else odt.bitwidth()
    layer = RtlLayer(node.name, node.op_type, "mvau", dict(
        MW=mw, MH=mh, PE=pe, SIMD=simd, IN_BITS=in_bits, IN_SIGNED=int(in_signed), IN_BIPOLAR=int(x_bipolar),
        W_BITS=w_bits, W_SIGNED=int(w_signed), W_BIPOLAR=int(w_bipolar), ACC_BITS=acc_bits,
        DSP_PACK=packing.lanes, PACK_SHIFT=packing.shift, PACKED_BITS=packing.packed_bits),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))
    layer.wires += [(max(1, (nf * sf - 1).bit_length()), "weight_addr"), (pe * simd * w_bits, "weight_data")]
    layer.connections.update(weight_addr_o="weight_addr", weight_data_i="weight_data")
    layer.memories.append(Memory("weights", pe * simd * w_bits, pack_words(lanes, w_bits),
                                 en="mem_en", addr="weight_addr", data="weight_data"))
    _threshold_params(layer, model, node, inst, mh, pe, acc_lo, acc_hi, out_bits)
    layer.params["OUT_BITS"] = out_bits     # without thresholds: the accumulator in the output type
    return layer


def _thresholding(model, node, inst):
    channels, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
    idt, odt = inst.get_input_datatype(0), inst.get_output_datatype()
    in_bits, in_signed, _ = element(idt)
    layer = RtlLayer(node.name, node.op_type, "thresholding", dict(
        CHANNELS=channels, PE=pe, IN_BITS=in_bits, IN_SIGNED=int(in_signed)),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))
    out_bits = 1 if odt == DataType["BIPOLAR"] else odt.bitwidth()
    _threshold_params(layer, model, node, inst, channels, pe, int(idt.min()), int(idt.max()), out_bits)
    return layer


def _sliding_window(model, node, inst):
    get = inst.get_nodeattr
    if get("M") != 1:
        raise CodegenError(f"{node.name}: M={get('M')} is not supported; only M=1")
    channels, simd = get("IFMChannels"), get("SIMD")
    parallel, depthwise = bool(get("parallel_window")), bool(get("depthwise"))
    if parallel and not depthwise and simd != channels:
        raise CodegenError(f"{node.name}: parallel_window=1 needs SIMD = IFMChannels ({channels}), not {simd}, "
                           "unless depthwise=1")
    (ih, iw), (oh, ow) = get("IFMDim"), get("OFMDim")
    (kh, kw), (sh, sw), (dh, dw) = get("ConvKernelDim"), get("Stride"), get("Dilation")
    cf = channels // simd
    params = dict(IN_H=ih, IN_W=iw, K_H=kh, K_W=kw, S_H=sh, S_W=sw, D_H=dh, D_W=dw, OUT_H=oh, OUT_W=ow, CF=cf)
    if parallel:
        params.update(WIDTH=inst.get_instream_width())
    else:
        params.update(DEPTHWISE=int(depthwise), WIDTH=inst.get_instream_width(),
                      BUF=window_buffer_words(ih, iw, kh, kw, sh, sw, dh, dw, cf))
    return RtlLayer(node.name, node.op_type, "sliding_window_parallel" if parallel else "sliding_window", params,
                    _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
                    cycles=layer_cycles(inst))


def _integer_element(node, dtype):
    """(bits, signed) of an integer lane, for modules that compute on the lane's value: a BIPOLAR
    lane's bit is not its value (-1/+1)."""
    bits, signed, bipolar = element(dtype)
    if bipolar:
        raise CodegenError(f"{node.name}: BIPOLAR operands are not supported by its RTL module (integers only)")
    return bits, signed


def _port_names(prefix, count):
    """Wrapper port names of `count` streams: s_axis for one, s0_axis, s1_axis, ... for several."""
    return [f"{prefix}_axis"] if count == 1 else [f"{prefix}{i}_axis" for i in range(count)]


def _vvau(model, node, inst):
    channels, pe, simd = inst.get_nodeattr("Channels"), inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    window_producer_simd_must_match(model, node, pe)
    kh, kw = inst.get_nodeattr("Kernel")
    kernel = kh * kw
    if kernel % simd or channels % pe:
        raise CodegenError(f"{node.name}: SIMD={simd} must divide the kernel size {kernel} and PE={pe} the "
                           f"channel count {channels}")
    if inst.get_nodeattr("binaryXnorMode"):
        raise CodegenError(f"{node.name}: binaryXnorMode is not supported on VVAU; use BIPOLAR operands")
    cf, sf = channels // pe, kernel // simd
    idt, wdt = inst.get_input_datatype(0), inst.get_input_datatype(1)
    adt, odt = inst.get_accumulator_datatype(), inst.get_output_datatype()
    weights = integers(f"{node.name} weights", model.get_initializer(node.input[1])).reshape(channels, kernel)
    in_bits, in_signed, x_bipolar = element(idt)
    w_bits, w_signed, w_bipolar = element(wdt)
    if w_bipolar:
        weights = (weights + 1) // 2
    if x_bipolar and w_bipolar:
        acc_lo, acc_hi = 0, kernel      # XNOR popcount: the number of agreeing positions
    else:
        acc_lo, acc_hi = int(adt.min()), int(adt.max())
    acc_bits = signed_bits(acc_lo, acc_hi) - (acc_lo >= 0)
    # W[cf*PE + p][sf*SIMD + s] -> word cf*SF + sf, lane p*SIMD + s
    lanes = weights.reshape(cf, pe, sf, simd).transpose(0, 2, 1, 3).reshape(cf * sf, pe * simd)
    out_bits = element(odt)[0]
    layer = RtlLayer(node.name, node.op_type, "vvau", dict(
        CHANNELS=channels, KERNEL=kernel, PE=pe, SIMD=simd, IN_BITS=in_bits, IN_SIGNED=int(in_signed),
        IN_BIPOLAR=int(x_bipolar), W_BITS=w_bits, W_SIGNED=int(w_signed), W_BIPOLAR=int(w_bipolar),
        ACC_BITS=acc_bits),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))
    layer.wires += [(max(1, (cf * sf - 1).bit_length()), "weight_addr"), (pe * simd * w_bits, "weight_data")]
    layer.connections.update(weight_addr_o="weight_addr", weight_data_i="weight_data")
    layer.memories.append(Memory("weights", pe * simd * w_bits, pack_words(lanes, w_bits),
                                 en="mem_en", addr="weight_addr", data="weight_data"))
    _threshold_params(layer, model, node, inst, channels, pe, acc_lo, acc_hi, out_bits)
    layer.params["OUT_BITS"] = out_bits     # without thresholds: the accumulator in the output type
    return layer


def _max_pool(model, node, inst):
    if inst.get_nodeattr("Function") != "MaxPool":
        raise CodegenError(f"{node.name}: Pool Function={inst.get_nodeattr('Function')} has no RTL module "
                           "(supported: MaxPool)")
    pe = inst.get_nodeattr("PE")
    window_producer_simd_must_match(model, node, pe)
    kernel = int(np.prod(inst.get_nodeattr("KernelSize")))
    bits, signed, _ = element(inst.get_input_datatype())     # a BIPOLAR bit's maximum is the OR
    return RtlLayer(node.name, node.op_type, "max_pool", dict(PE=pe, KERNEL=kernel, BITS=bits, SIGNED=int(signed)),
                    _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
                    cycles=layer_cycles(inst))


def _global_acc_pool(model, node, inst):
    channels, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
    batch, *spatial = inst.get_nodeattr("numInputVectors")
    pixels = int(np.prod(spatial))
    in_bits, in_signed = _integer_element(node, inst.get_input_datatype())
    out_bits, _ = _integer_element(node, inst.get_output_datatype())
    return RtlLayer(node.name, node.op_type, "global_acc_pool", dict(
        CHANNELS=channels, PE=pe, PIXELS=pixels, IN_BITS=in_bits, IN_SIGNED=int(in_signed), OUT_BITS=out_bits),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))


def _elementwise(model, node, inst):
    op = base_op(node.op_type)[len("Elementwise"):]
    if op not in ("Add", "Sub", "Mul", "Max"):
        raise CodegenError(f"{node.name}: Elementwise{op} has no RTL module (supported: Add, Sub, Mul, Max)")
    styles = (inst.get_nodeattr("lhs_style"), inst.get_nodeattr("rhs_style"))
    out_shape = list(inst.get_nodeattr("out_shape"))
    channels, pe = out_shape[-1], inst.get_nodeattr("PE")
    ldt, rdt, odt = (DataType[inst.get_nodeattr(a)] for a in ("lhs_dtype", "rhs_dtype", "out_dtype"))
    l_bits, l_signed = _integer_element(node, ldt)
    out_bits, _ = _integer_element(node, odt)
    if styles == ("input", "input"):
        if list(inst.get_nodeattr("lhs_shape")) != list(inst.get_nodeattr("rhs_shape")):
            raise CodegenError(f"{node.name}: two streamed operands must have the same shape (no broadcasting)")
        r_bits, r_signed = _integer_element(node, rdt)
        lhs, rhs = stream_inputs(model, node)
        ports = [Port("s0_axis", lhs, inst.get_instream_width(0), True),
                 Port("s1_axis", rhs, inst.get_instream_width(1), True),
                 Port("m_axis", node.output[0], inst.get_outstream_width(0), False)]
        return RtlLayer(node.name, node.op_type, "elementwise_streams", dict(
            OP=f'"{op}"', PE=pe, L_BITS=l_bits, L_SIGNED=int(l_signed), R_BITS=r_bits, R_SIGNED=int(r_signed),
            OUT_BITS=out_bits), ports, {**_axis("s0_axis"), **_axis("s1_axis"), **_axis("m_axis")},
            cycles=layer_cycles(inst))
    if styles != ("input", "const"):
        raise CodegenError(f"{node.name}: lhs_style/rhs_style {styles} not supported; supported: (input, const), "
                           "(input, input)")
    params = integers(f"{node.name} constant", model.get_initializer(node.input[1])).reshape(-1)
    if params.size not in (1, channels):
        raise CodegenError(f"{node.name}: the constant must have 1 or {channels} (channel) values, not {params.size}")
    if not (rdt.is_integer() and rdt.allowed(params.min()) and rdt.allowed(params.max())):
        rdt = covering_type(params)
    r_bits, r_signed = _integer_element(node, rdt)
    per_channel = params.size == channels
    # word cf, lane p: the constant of channel cf*PE + p; a scalar: one word, in every lane
    lanes = params.reshape(channels // pe, pe) if per_channel else np.full((1, pe), params[0])
    layer = RtlLayer(node.name, node.op_type, "elementwise_const", dict(
        OP=f'"{op}"', CHANNELS=channels, PE=pe, PER_CHANNEL=int(per_channel), L_BITS=l_bits, L_SIGNED=int(l_signed),
        R_BITS=r_bits, R_SIGNED=int(r_signed), OUT_BITS=out_bits),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")}, cycles=layer_cycles(inst))
    memory = Memory("params", pe * r_bits, pack_words(lanes, r_bits), en="mem_en", addr="param_addr",
                    data="param_data")
    layer.wires += [(memory.addr_bits, "param_addr"), (memory.width, "param_data")]
    layer.connections.update(param_addr_o="param_addr", param_data_i="param_data")
    layer.memories.append(memory)
    return layer


def _duplicate_streams(model, node, inst):
    width, count = inst.get_instream_width(0), len(node.output)
    names = _port_names("m", count)
    ports = [Port("s_axis", stream_inputs(model, node)[0], width, True)]
    ports += [Port(name, tensor, width, False) for name, tensor in zip(names, node.output)]
    layer = RtlLayer(node.name, node.op_type, "duplicate_streams", dict(WIDTH=width, OUTPUTS=count), ports,
                     {**_axis("s_axis"), "m_axis_tdata": "m_tdata", "m_axis_tvalid": "m_tvalid",
                      "m_axis_tready": "m_tready"},
                     wires=[(count * width, "m_tdata"), (count, "m_tvalid"), (count, "m_tready")],
                     cycles=layer_cycles(inst))
    for i, name in enumerate(names):
        layer.assigns += [(f"{name}_tdata", f"m_tdata[{i * width} +: {width}]"), (f"{name}_tvalid", f"m_tvalid[{i}]"),
                          (f"m_tready[{i}]", f"{name}_tready")]
    return layer


def _concat(model, node, inst):
    simd, channels = inst.get_nodeattr("SIMD"), inst.get_nodeattr("ChannelsPerStream")
    if any(c % simd for c in channels):
        raise CodegenError(f"{node.name}: SIMD={simd} must divide the channels of every input ({channels})")
    out_bits, _ = _integer_element(node, inst.get_output_datatype())
    inputs, folds = stream_inputs(model, node), [c // simd for c in channels]
    names, width = _port_names("s", len(inputs)), simd * out_bits
    ports = [Port(name, tensor, inst.get_instream_width(i), True)
             for i, (name, tensor) in enumerate(zip(names, inputs))]
    ports.append(Port("m_axis", node.output[0], inst.get_outstream_width(0), False))
    packed_folds = "{" + ", ".join(f"32'd{f}" for f in reversed(folds)) + "}"     # FOLDS[0] lowest
    layer = RtlLayer(
        node.name, node.op_type, "concat", dict(INPUTS=len(inputs), WIDTH=width, FOLDS=packed_folds), ports,
        {"s_axis_tdata": "in_tdata", "s_axis_tvalid": "in_tvalid", "s_axis_tready": "in_tready", **_axis("m_axis")},
        wires=[(len(inputs) * width, "in_tdata"), (len(inputs), "in_tvalid"), (len(inputs), "in_tready")],
        cycles=layer_cycles(inst))
    # Every input's elements widened to the output type: the module's inputs share one width.
    for i, name in enumerate(names):
        bits, signed = _integer_element(node, inst.get_input_datatype(i))
        if bits == out_bits:
            layer.assigns.append((f"in_tdata[{i * width} +: {width}]", f"{name}_tdata"))
        else:
            for s in range(simd):
                lane = f"{name}_tdata[{s * bits} +: {bits}]"
                layer.assigns.append((f"in_tdata[{(i * simd + s) * out_bits} +: {out_bits}]",
                                      f"{out_bits}'($signed({lane}))" if signed else f"{out_bits}'({lane})"))
        layer.assigns += [(f"in_tvalid[{i}]", f"{name}_tvalid"), (f"{name}_tready", f"in_tready[{i}]")]
    return layer


def _label_select(model, node, inst):
    labels, pe, k = inst.get_nodeattr("Labels"), inst.get_nodeattr("PE"), inst.get_nodeattr("K")
    if labels % pe or not 1 <= k <= labels:
        raise CodegenError(f"{node.name}: PE={pe} must divide Labels={labels}, and K={k} lie in 1..{labels}")
    in_bits, in_signed = _integer_element(node, inst.get_input_datatype())
    out_bits, _ = _integer_element(node, inst.get_output_datatype())
    # The K indices of a frame leave while the next frame comes in: max(LABELS/PE, K) per frame.
    return RtlLayer(node.name, node.op_type, "label_select", dict(
        LABELS=labels, PE=pe, K=k, IN_BITS=in_bits, IN_SIGNED=int(in_signed), OUT_BITS=out_bits),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))


def _data_width_converter(model, node, inst):
    in_width, out_width = inst.get_instream_width(), inst.get_outstream_width()
    bits = int(np.prod(inst.get_normal_input_shape())) * inst.get_input_datatype().bitwidth()
    if bits % in_width or bits % out_width:
        raise CodegenError(f"{node.name}: a frame of {bits} bits is not a whole number of {in_width}-bit input "
                           f"and {out_width}-bit output words")
    return RtlLayer(node.name, node.op_type, "data_width_converter", dict(IN_WIDTH=in_width, OUT_WIDTH=out_width),
                    _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
                    cycles=layer_cycles(inst))


def _reorg(model, node, inst):
    _, w, channels, block = reorg_shape(inst)
    return RtlLayer(node.name, node.op_type, "reorg", dict(
        IN_W=w, CF=channels // inst.get_nodeattr("SIMD"), BLOCK=block, WIDTH=inst.get_instream_width()),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))


def _fmpadding(model, node, inst):
    (h, w), (top, left, bottom, right) = inst.get_nodeattr("ImgDim"), inst.get_nodeattr("Padding")
    channels, simd = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("SIMD")
    if channels % simd:
        raise CodegenError(f"{node.name}: SIMD={simd} must divide NumChannels={channels}")
    folds = channels // simd
    return RtlLayer(node.name, node.op_type, "fmpadding", dict(
        IN_H=h, IN_W=w, PAD_TOP=top, PAD_LEFT=left, PAD_BOTTOM=bottom, PAD_RIGHT=right, FOLDS=folds,
        WIDTH=inst.get_instream_width()),
        _single_stream(model, node, inst), {**_axis("s_axis"), **_axis("m_axis")},
        cycles=layer_cycles(inst))


_DESCRIBERS = {
    "ConvolutionInputGenerator": _sliding_window,
    "MVAU": _mvau,
    "Thresholding": _thresholding,
    "VVAU": _vvau,
    "Pool": _max_pool,
    "GlobalAccPool": _global_acc_pool,
    "ElementwiseAdd": _elementwise,
    "ElementwiseSub": _elementwise,
    "ElementwiseMul": _elementwise,
    "ElementwiseMax": _elementwise,
    "DuplicateStreams": _duplicate_streams,
    "StreamingConcat": _concat,
    "Shuffle": _reorg,
    "LabelSelect": _label_select,
    "StreamingDataWidthConverter": _data_width_converter,
    "FMPadding": _fmpadding,
}
SUPPORTED_OPS = sorted(_DESCRIBERS)


# constants_impl's implementations -> rom.sv's MEM_STYLE
ROM_STYLES = {"bram": "block", "lutram": "distributed"}


def describe(model, node, board):
    """The RtlLayer of `node`, its ROMs where the HLS backend puts them on `board` (constants_impl)."""
    op = base_op(node.op_type)
    if op not in _DESCRIBERS:
        raise CodegenError(f"node '{node.name}' (op type {node.op_type}) has no module in the RTL library; "
                           f"supported: {', '.join(SUPPORTED_OPS)}")
    inst = getCustomOp(node)
    layer = _DESCRIBERS[op](model, node, inst)
    for memory in layer.memories:      # weights, thresholds_pe<i>_s<j>, params
        memory.style = ROM_STYLES[constants_impl(inst, board, memory.name.split("_")[0])]
    return layer


# ---------------------------------------------------------------------------------------------- top

@dataclass
class Link:
    """A stream of the top: the producer's side `<var>`, and for streams between layers a FIFO and
    the consumer's side `<var>_q`."""
    var: str
    tensor: str
    width: int
    words: int                   # per frame
    depth: int = 0               # FIFO depth; 0 for the top's input and output (no FIFO)

    @property
    def style(self):
        return fifo_style(self.depth, self.width)


def links(model):
    """The streams of the top, in topological order (the graph input first)."""
    graph_in, graph_out = model.graph.input[0].name, model.graph.output[0].name
    return [Link(s.var, s.tensor, s.width, s.words, 0 if s.tensor in (graph_in, graph_out) else s.depth)
            for s in streams(model)]


def probes(links):
    """The handshake points the simulation observes, in order: per stream its producer's side, and
    behind a FIFO its consumer's side. Returns [(link, side)] with side "in" or "out"."""
    points = []
    for link in links:
        points.append((link, "in"))
        if link.depth:
            points.append((link, "out"))
    return points


def fifo_unit_name(link):
    return f"fifo_w{link.width}_d{link.depth}_{link.style}"


def write_fifo_units(out_dir, top_links):
    """synth/<fifo_unit_name>.sv: one FIFO configuration of the top alone, a unit of synthesis."""
    (out_dir / "synth").mkdir(exist_ok=True)
    for link in top_links:
        if link.depth:
            (out_dir / "synth" / f"{fifo_unit_name(link)}.sv").write_text(
                _env.get_template("fifo_unit.sv.j2").render(name=fifo_unit_name(link), link=link))


def generate(model, out_dir, board, fifo_limits=False):
    """Write the RTL of a dataflow graph for `board` into out_dir; returns (layers, links). With
    fifo_limits, for FIFO sizing: simulation-only FIFOs whose capacity each run sets (rtl/sim/fifo_limit.sv)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = [describe(model, node, board) for node in model.graph.node]
    top_links = links(model)
    by_tensor = {link.tensor: link for link in top_links}
    lib = out_dir / "lib"
    lib.mkdir(exist_ok=True)
    for source in sorted(RTL_LIBRARY.glob("*.sv")) + ([RTL_LIBRARY / "sim" / "fifo_limit.sv"] if fifo_limits else []):
        shutil.copyfile(source, lib / source.name)
    for layer in layers:
        (out_dir / f"{layer.module_name}.sv").write_text(_env.get_template("layer.sv.j2").render(layer=layer))
        for memory in layer.memories:
            digits = (memory.width + 3) // 4
            (out_dir / f"{layer.module_name}_{memory.name}.mem").write_text(
                "".join(f"{word:0{digits}x}\n" for word in memory.words))
    stream_in = top_links[0]
    stream_out = next(link for link in top_links if link.tensor == model.graph.output[0].name)
    context = dict(top=TOP, axi_top=AXI_TOP, sim_top=SIM_TOP, fifo_limits=fifo_limits, layers=layers, links=top_links, by_tensor=by_tensor,
                   input=stream_in, output=stream_out, probes=probes(top_links),
                   in_width=dma_stream_width(stream_in.width), out_width=dma_stream_width(stream_out.width))
    for name in ("accel_top.sv", "accel_axi.sv", "rtlsim_top.sv"):
        (out_dir / name).write_text(_env.get_template(f"{name}.j2").render(**context))
    sources = [f"lib/{p.name}" for p in sorted(lib.glob("*.sv"))] + [f"{layer.module_name}.sv" for layer in layers]
    (out_dir / "sources.f").write_text("\n".join(sources + ["accel_top.sv", "accel_axi.sv"]) + "\n")
    if not fifo_limits:
        write_fifo_units(out_dir, top_links)
    return layers, top_links
