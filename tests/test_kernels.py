"""Each kernel, through codegen and cppsim, against FINN's Python execution of the same HW layer."""
import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

import boards
from compiler import codegen, verify
from compiler.codegen import KERNELS_DIR
from compiler.sim import CppSim
from compiler.sim.cppsim import ap_types_include_dir
from compiler.verify import generic_ops, run_graph, to_stream_order
from hwgraphs import chain, depthwise_conv, layer, mvau, swg, tiny_cnn

BOARD = boards.get("pynq-z2")
FRAMES = 3


@pytest.fixture(params=[False, True], ids=["native", "naive"])
def naive(request):
    """Every kernel is checked twice: with the native C-simulation shortcuts and with the
    synthesizable code itself (DFK_NAIVE_CSIM)."""
    return request.param


def random_values(rng, dtype, shape):
    if dtype == "BIPOLAR":
        return (2 * rng.integers(0, 2, size=shape) - 1).astype(np.float32)
    dtype = DataType[dtype]
    return rng.integers(dtype.min(), dtype.max() + 1, size=shape).astype(np.float32)


def bipolar_as_bits(values, dtype):
    """A BIPOLAR stream carries -1/+1 as one bit, 0/1 (FINN's packing)."""
    return (values + 1) // 2 if dtype == DataType["BIPOLAR"] else values


def check(model, tmp_path, input_dtype, seed=0, naive=False, count_cycles=()):
    """Run FRAMES random frames through FINN's execution and our cppsim; they must agree exactly.
    naive=True simulates the synthesizable loop nests instead of the native C-simulation paths; then
    the layers named in count_cycles must also run FINN's get_exp_cycles() loop iterations per frame."""
    model.set_tensor_datatype(model.graph.input[0].name, DataType[input_dtype])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    rng = np.random.default_rng(seed)
    shape = model.get_tensor_shape(model.graph.input[0].name)
    frames = random_values(rng, input_dtype, (FRAMES, *shape[1:]))
    expected = verify.run_graph(verify.generic_ops(model), frames)
    codegen.generate(model, tmp_path / "hls", BOARD, 100)
    defines = (["DFK_NAIVE_CSIM"] + (["DFK_COUNT_CYCLES"] if count_cycles else [])) if naive else []
    sim = CppSim(model, tmp_path / "hls", tmp_path / "cppsim", log=lambda *_: None, defines=defines).build()
    stream_in = np.stack([verify.to_stream_order(model, model.graph.input[0].name, f) for f in frames])
    got, stats, _ = sim.run(bipolar_as_bits(stream_in, DataType[input_dtype]).astype(np.int64))
    out_name = model.graph.output[0].name
    want = np.stack([verify.to_stream_order(model, out_name, e) for e in expected])
    out_dtype = model.get_tensor_datatype(out_name)
    if out_dtype == DataType["BIPOLAR"]:    # the harness reads the bit as a signed 1-bit value
        got = (got != 0).astype(np.int64)
    np.testing.assert_array_equal(got, bipolar_as_bits(want, out_dtype))
    if naive:
        for node, cycles in zip(model.graph.node, stats["layer_cycles"]):
            if node.name in count_cycles:
                assert cycles == FRAMES * getCustomOp(node).get_exp_cycles(), node.name


def sorted_thresholds(rng, channels, steps, low, high):
    return np.sort(rng.integers(low, high, size=(channels, steps)), axis=1).astype(np.float32)


@pytest.mark.parametrize("mw,mh,simd,pe,idt,wdt,vecs", [
    (6, 8, 1, 1, "INT8", "INT8", (1, 5, 1)),      # first VGG10 conv: signed input
    (12, 8, 4, 2, "UINT4", "INT4", (1, 3, 1)),
    (12, 8, 12, 8, "UINT4", "INT4", (1, 2, 1)),   # fully parallel: SIMD = MW, PE = MH
    (16, 4, 2, 4, "UINT2", "INT2", (1,)),
])
def test_mvau_with_thresholds(tmp_path, mw, mh, simd, pe, idt, wdt, vecs, naive):
    rng = np.random.default_rng(1)
    weights = random_values(rng, wdt, (mw, mh))
    thresholds = sorted_thresholds(rng, mh, 15, -40, 40)
    model = chain(mvau("fc", mw, mh, vecs=vecs, idt=idt, wdt=wdt, thresholds=thresholds,
                       outputDataType="UINT4", SIMD=simd, PE=pe))
    model.set_initializer("fc_w", weights)
    check(model, tmp_path, idt, naive=naive)


def test_mvau_signed_output_and_shared_thresholds(tmp_path, naive):
    rng = np.random.default_rng(2)
    thresholds = np.sort(rng.integers(-30, 30, size=(1, 7))).astype(np.float32)   # one row for all channels
    model = chain(mvau("fc", 8, 4, vecs=(1, 4, 1), idt="INT4", wdt="INT3", thresholds=thresholds,
                       outputDataType="INT3", ActVal=-4, SIMD=2, PE=2))
    model.set_initializer("fc_w", random_values(rng, "INT3", (8, 4)))
    check(model, tmp_path, "INT4", naive=naive)


def test_mvau_without_activation(tmp_path, naive):
    rng = np.random.default_rng(3)
    model = chain(mvau("fc", 32, 6, idt="UINT8", wdt="INT8", outputDataType="INT24", SIMD=8, PE=3))
    model.set_initializer("fc_w", random_values(rng, "INT8", (32, 6)))
    check(model, tmp_path, "UINT8", naive=naive)


@pytest.mark.parametrize("idt,wdt,xnor,activation,simd,pe", [
    ("BINARY", "BINARY", 1, "BIPOLAR", 4, 2),     # FINN's binary MVAU: XNOR popcount, sign activation
    ("BINARY", "BINARY", 1, None, 1, 1),           # popcount itself
    ("BIPOLAR", "BIPOLAR", 0, "UINT2", 12, 6),     # BIPOLAR x BIPOLAR is a popcount too, fully parallel
    ("INT4", "BIPOLAR", 0, "UINT4", 3, 3),         # 1-bit {-1, +1} weights, integer inputs
    ("UINT8", "BIPOLAR", 0, None, 6, 1),
    ("BIPOLAR", "INT3", 0, None, 2, 6),            # bipolar inputs, integer weights
    ("INT4", "INT2", 0, "BIPOLAR", 6, 3),          # sign activation of an integer layer (ActVal -1)
])
def test_mvau_bipolar(tmp_path, idt, wdt, xnor, activation, simd, pe, naive):
    mw, mh = 12, 6
    rng = np.random.default_rng(10)
    if activation is None:
        thresholds, extra = None, {"outputDataType": "INT16"}
    else:
        steps = 1 if activation == "BIPOLAR" else DataType[activation].get_num_possible_values() - 1
        popcount = xnor or (idt == "BIPOLAR" and wdt == "BIPOLAR")
        low, high = (0, mw + 1) if popcount else (-8 * mw, 8 * mw)
        thresholds = sorted_thresholds(rng, mh, steps, low, high)
        extra = {"outputDataType": activation, "ActVal": -1 if activation == "BIPOLAR" and not xnor else 0}
    model = chain(mvau("fc", mw, mh, vecs=(1, 3, 1), idt=idt, wdt=wdt, thresholds=thresholds, binaryXnorMode=xnor,
                       SIMD=simd, PE=pe, **extra))
    model.set_initializer("fc_w", random_values(rng, wdt, (mw, mh)))
    check(model, tmp_path, idt, naive=naive, count_cycles=("fc",))


@pytest.mark.parametrize("ifm,k,channels,stride,simd,depthwise", [
    (10, 3, 2, 1, 2, 0),
    (12, 3, 4, 2, 2, 0),       # stride 2, SIMD < channels
    (11, 2, 4, 3, 1, 0),       # stride > kernel, odd length: trailing rows dropped
    (8, 2, 6, 2, 3, 1),        # depthwise (max-pool window), channel folds
])
def test_sliding_window_1d(tmp_path, ifm, k, channels, stride, simd, depthwise, naive):
    node = swg("swg", ifm, k, channels, stride=stride, depthwise=depthwise)
    node[2]["SIMD"] = simd
    check(chain(node), tmp_path, "UINT4", naive=naive)


def test_fmpadding(tmp_path, naive):
    model = chain(layer("FMPadding_rtl", "pad", ImgDim=[7, 1], Padding=[2, 0, 1, 0], NumChannels=4, SIMD=2,
                        inputDataType="INT4"))
    check(model, tmp_path, "INT4", naive=naive)


def test_max_pool_after_depthwise_window(tmp_path, naive):
    window = swg("pool_swg", 8, 2, 6, stride=2, depthwise=1, dt="INT4")
    window[2]["SIMD"] = 3
    model = chain(window, layer("Pool_hls", "pool", Channels=6, PE=3, KernelSize=[2, 1], Function="MaxPool",
                                OutImgDims=[4, 1], InputDataType="INT4", OutputDataType="INT4"))
    check(model, tmp_path, "INT4", naive=naive)


def test_elementwise_add_per_channel_constant(tmp_path, naive):
    rng = np.random.default_rng(4)
    model = chain(layer("ElementwiseAdd_hls", "bias", [("c", random_values(rng, "INT9", (6,)), "INT9")],
                        lhs_shape=[1, 6], rhs_shape=[6], out_shape=[1, 6], lhs_dtype="INT12", rhs_dtype="INT9",
                        out_dtype="INT13", lhs_style="input", rhs_style="const", PE=3))
    check(model, tmp_path, "INT12", naive=naive)


@pytest.mark.parametrize("labels,pe,k", [(24, 1, 1), (12, 4, 3)])
def test_label_select_breaks_ties_towards_lower_index(tmp_path, labels, pe, k, naive):
    # INT2 inputs over 12+ labels guarantee ties.
    model = chain(layer("LabelSelect_hls", "top", Labels=labels, PE=pe, K=k, inputDataType="INT2",
                        numInputVectors=[1]))
    check(model, tmp_path, "INT2", seed=k, naive=naive)


@pytest.mark.parametrize("shape,in_width,out_width,dtype", [
    ([1, 12], 12, 8, "UINT4"),
    ([1, 2, 1, 136], 8, 136, "INT8"),      # narrow -> wide, wider than 64 bits
    ([1, 225], 200, 72, "UINT8"),          # wide -> wide, neither divides the other
    ([1, 256], 512, 64, "INT4"),
    ([1, 512], 64, 2048, "INT8"),          # wider than ap_uint's default limit of 1024 bits
])
def test_data_width_converter(tmp_path, shape, in_width, out_width, dtype, naive):
    model = chain(layer("StreamingDataWidthConverter_hls", "dwc", inShape=shape, outShape=shape,
                        inWidth=in_width, outWidth=out_width, dataType=dtype))
    check(model, tmp_path, dtype, naive=naive)
    # its buffer holds an input and an output word; Vitis HLS gets the same limit as cppsim
    wide = [f"AP_INT_MAX_W={in_width + out_width}"] if in_width + out_width > 1024 else []
    assert codegen.compile_defines(model) == wide
    assert all(f"-D{d}" in (tmp_path / "hls" / "synth.tcl").read_text() for d in wide)


@pytest.mark.parametrize("pe,shared", [(2, False), (4, True)])
def test_thresholding(tmp_path, pe, shared, naive):
    rng = np.random.default_rng(5)
    thresholds = sorted_thresholds(rng, 1 if shared else 8, 7, -60, 60)
    model = chain(layer("Thresholding_hls", "act", [("t", thresholds, "INT8")], NumChannels=8, PE=pe, numSteps=7,
                        inputDataType="INT8", weightDataType="INT8", outputDataType="INT4", ActVal=-4,
                        numInputVectors=[1, 3, 1]))
    check(model, tmp_path, "INT8", naive=naive)


@pytest.mark.parametrize("ifm,k,channels,pe,simd,parallel,idt,wdt,with_activation", [
    ([9, 1], [3, 1], 6, 2, 1, 0, "UINT4", "INT4", True),
    ([9, 1], [3, 1], 6, 2, 1, 0, "UINT4", "INT4", False),
    ([9, 1], [3, 1], 6, 2, 3, 1, "UINT4", "INT4", True),      # SIMD = K from a parallel window, PE < channels
    ([6, 5], [3, 3], 6, 3, 9, 1, "INT8", "INT8", False),      # 2D, 8-bit signed
    ([6, 5], [3, 3], 4, 4, 3, 1, "UINT1", "INT2", True),      # parallel window -> width converter -> SIMD < K
    ([10, 1], [4, 1], 4, 4, 2, 0, "INT3", "UINT2", False),    # serial window -> width converter -> SIMD = 2
])
def test_vvau_after_depthwise_window(tmp_path, ifm, k, channels, pe, simd, parallel, idt, wdt, with_activation,
                                     naive):
    rng = np.random.default_rng(6)
    model = chain(*depthwise_conv("dw", rng, ifm, k, channels, pe, simd, parallel, idt, wdt, with_activation))
    check(model, tmp_path, idt, naive=naive, count_cycles=("dw_swg", "dw"))


def test_global_acc_pool(tmp_path, naive):
    model = chain(layer("GlobalAccPool_hls", "gap", NumChannels=6, PE=3, inputDataType="INT5",
                        numInputVectors=[1, 5, 1]))
    check(model, tmp_path, "INT5", naive=naive)


def test_sliding_window_and_padding_2d(tmp_path, naive):
    pad = layer("FMPadding_rtl", "pad", ImgDim=[5, 6], Padding=[1, 1, 1, 2], NumChannels=4, SIMD=2,
                inputDataType="UINT4")
    window = layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=[7, 9], ConvKernelDim=[3, 2], IFMChannels=4,
                   OFMDim=[3, 4], Stride=[2, 2], Dilation=[1, 2], SIMD=2, depthwise=0, inputDataType="UINT4",
                   outputDataType="UINT4")
    check(chain(pad, window), tmp_path, "UINT4", naive=naive)


def branching_model(join, input_dtype, shape, out_shape, seed):
    """x -> fork -> (a: thresholding to UINT2 -> c, b) -> `join`(c, b) -> y, PE 2; inner tensors `shape`."""
    vecs, channels = shape[:-1], shape[-1]
    hls = dict(domain="finn.custom_op.fpgadataflow.hls", backend="fpgadataflow")
    nodes = [
        helper.make_node("DuplicateStreams_hls", ["x"], ["a", "b"], name="fork", NumChannels=channels, PE=2,
                         NumOutputStreams=2, inputDataType=input_dtype, numInputVectors=vecs, **hls),
        helper.make_node("Thresholding_hls", ["a", "thr"], ["c"], name="act", NumChannels=channels, PE=2, numSteps=3,
                         inputDataType=input_dtype, weightDataType="INT8", outputDataType="UINT2", ActVal=0,
                         numInputVectors=vecs, **hls),
        join,
    ]
    graph = helper.make_graph(nodes, "branches", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              value_info=[helper.make_tensor_value_info(t, TensorProto.FLOAT, shape) for t in "abc"])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    low, high = DataType[input_dtype].min(), DataType[input_dtype].max()
    model.set_initializer("thr", sorted_thresholds(np.random.default_rng(seed), channels, 3, low, high + 1))
    model.set_tensor_datatype("thr", DataType["INT8"])
    return model


def test_residual_fork_and_join(tmp_path, naive):
    """DuplicateStreams -> (thresholding branch, identity branch) -> ElementwiseAdd of two streams."""
    shape = [1, 5, 1, 4]
    add = helper.make_node("ElementwiseAdd_hls", ["c", "b"], ["y"], domain="finn.custom_op.fpgadataflow.hls",
                           backend="fpgadataflow", name="add", lhs_shape=shape, rhs_shape=shape, out_shape=shape,
                           lhs_dtype="UINT2", rhs_dtype="UINT4", out_dtype="UINT5", lhs_style="input",
                           rhs_style="input", PE=2)
    check(branching_model(add, "UINT4", shape, shape, seed=7), tmp_path, "UINT4", naive=naive)


def test_concat_of_two_branches(tmp_path, naive):
    """DuplicateStreams -> (thresholding branch to UINT2, identity INT4) -> StreamingConcat."""
    shape = [1, 3, 1, 4]
    cat = helper.make_node("StreamingConcat_hls", ["c", "b"], ["y"], domain="finn.custom_op.fpgadataflow.hls",
                           backend="fpgadataflow", name="cat", SIMD=2, ChannelsPerStream=[4, 4],
                           inputDataTypes=["UINT2", "INT4"], numInputVectors=shape[:-1])
    check(branching_model(cat, "INT4", shape, [1, 3, 1, 8], seed=8), tmp_path, "INT4", naive=naive)


@pytest.mark.parametrize("two_d", [False, True])
def test_sliding_window_parallel_window(tmp_path, two_d, naive):
    """parallel_window=1: one whole window per word, straight into an MVAU with SIMD = MW."""
    rng = np.random.default_rng(9)
    dims = ([6, 5], [4, 4], [3, 2]) if two_d else ([8, 1], [6, 1], [3, 1])
    k = dims[2][0] * dims[2][1]
    window = layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=dims[0], OFMDim=dims[1], ConvKernelDim=dims[2],
                   Stride=[1, 1], Dilation=[1, 1], IFMChannels=2, SIMD=2, depthwise=0, parallel_window=1,
                   inputDataType="INT4", outputDataType="INT4")
    conv = mvau("conv", 2 * k, 4, vecs=(1, *dims[1]), idt="INT4", wdt="INT4", outputDataType="INT12",
                SIMD=2 * k, PE=2)
    model = chain(window, conv)
    model.set_initializer("conv_w", random_values(rng, "INT4", (2 * k, 4)))
    check(model, tmp_path, "INT4", naive=naive)


def test_loop_trip_counts_equal_finn_cycle_estimates(tmp_path):
    """The synthesizable loop nests run exactly FINN's get_exp_cycles() II=1 iterations per frame,
    so our estimates and our kernels agree."""
    model = tiny_cnn()
    model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT4"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    codegen.generate(model, tmp_path / "hls", BOARD, 100)
    sim = CppSim(model, tmp_path / "hls", tmp_path / "cppsim", log=lambda *_: None,
                 defines=["DFK_NAIVE_CSIM", "DFK_COUNT_CYCLES"]).build()
    x = np.random.default_rng(0).integers(0, 16, size=(FRAMES, sim.streams[0].elems))
    _, stats, _ = sim.run(x)
    for node, cycles in zip(model.graph.node, stats["layer_cycles"]):
        assert cycles == FRAMES * getCustomOp(node).get_exp_cycles(), node.name


def window_min_cycles(inst):
    """Cycles per frame the fastest sliding window that reads one word and writes one word per cycle
    can take (a word leaves at the earliest in the cycle it arrives; unbounded buffer)."""
    (ih, iw), (oh, ow) = inst.get_nodeattr("IFMDim"), inst.get_nodeattr("OFMDim")
    (kh, kw), (sh, sw), (dh, dw) = (inst.get_nodeattr(a) for a in ("ConvKernelDim", "Stride", "Dilation"))
    cf = inst.get_nodeattr("IFMChannels") // inst.get_nodeattr("SIMD")
    if inst.get_nodeattr("parallel_window"):      # a window leaves with its bottom-right word
        return ih * iw * cf
    order = ("cf", "kh", "kw") if inst.get_nodeattr("depthwise") else ("kh", "kw", "cf")
    needed = []
    for oy, ox in np.ndindex(oh, ow):
        for pos in np.ndindex(*(dict(kh=kh, kw=kw, cf=cf)[a] for a in order)):
            p = dict(zip(order, pos))
            needed.append(((oy * sh + p["kh"] * dh) * iw + ox * sw + p["kw"] * dw) * cf + p["cf"])
    # Word j of the output cannot leave before cycle needed[j] (its input) nor before cycle j.
    last = -1
    for word in needed:
        last = max(last + 1, word)
    return max(last + 1, ih * iw * cf)


def finn_window_cycles_reachable(inst):
    """Where FINN's get_exp_cycles() is always reachable (>= window_min_cycles): 2D windows with square
    strides, FINN's parallel style, and 1D windows without dilation, unless non-depthwise with more
    input than output words (FINN's 1D formula counts output words only, and no dilated span).
    2D windows with non-square strides may miss it (the formula reads stride_w rows per output row)."""
    (ih, iw), (sh, sw), (dh, dw) = (inst.get_nodeattr(a) for a in ("IFMDim", "Stride", "Dilation"))
    if inst.select_impl_style() == "parallel":
        return True
    if ih > 1 and iw > 1:
        return sh == sw
    if max(dh, dw) > 1:
        return False
    reads, writes = (np.prod(shape[:-1]) for shape in (inst.get_folded_input_shape(), inst.get_folded_output_shape()))
    return bool(inst.get_nodeattr("depthwise")) or reads <= writes + 2


# IFMDim, ConvKernelDim, Stride, Dilation, IFMChannels, SIMD, depthwise, parallel_window
WINDOW_GRID = [
    ([34, 1], [3, 1], [1, 1], [1, 1], 2, 1, 0, 0),      # tiny_cnn conv0: 194 cycles
    ([1, 20], [1, 3], [1, 1], [1, 1], 4, 2, 0, 0),      # 1D along W
    ([16, 1], [4, 1], [3, 1], [1, 1], 2, 2, 0, 0),
    ([13, 1], [2, 1], [3, 1], [1, 1], 2, 1, 0, 0),      # stride > kernel: reads > writes
    ([12, 1], [3, 1], [1, 1], [2, 1], 3, 1, 0, 0),      # dilation
    ([9, 1], [1, 1], [2, 1], [1, 1], 4, 2, 0, 0),       # 1x1 kernel: FINN's parallel style
    ([32, 1], [2, 1], [2, 1], [1, 1], 8, 1, 1, 0),      # max-pool window, 8 channel folds
    ([16, 1], [3, 1], [1, 1], [1, 1], 6, 2, 1, 0),      # depthwise conv
    ([15, 1], [3, 1], [2, 1], [1, 1], 4, 2, 1, 0),
    ([11, 1], [3, 1], [1, 1], [2, 1], 4, 2, 1, 0),      # depthwise, dilation
    ([8, 1], [8, 1], [1, 1], [1, 1], 4, 1, 1, 0),       # global window
    ([10, 1], [3, 1], [1, 1], [1, 1], 2, 2, 0, 1),      # parallel window
    ([11, 1], [3, 1], [2, 1], [1, 1], 6, 2, 1, 1),      # parallel depthwise, channel folds
    ([8, 8], [3, 3], [1, 1], [1, 1], 2, 2, 0, 0),
    ([9, 10], [3, 3], [2, 2], [1, 1], 4, 2, 0, 0),
    ([7, 9], [3, 2], [2, 2], [1, 2], 4, 2, 0, 0),
    ([10, 10], [3, 3], [1, 1], [2, 2], 2, 1, 0, 0),
    ([8, 9], [2, 2], [2, 2], [1, 1], 6, 2, 1, 0),       # 2D max-pool window
    ([9, 9], [3, 3], [2, 2], [1, 1], 3, 1, 1, 0),
    ([7, 8], [3, 1], [1, 1], [1, 1], 2, 1, 1, 0),
    ([6, 6], [1, 1], [2, 2], [1, 1], 2, 1, 0, 0),
    ([9, 8], [3, 3], [2, 1], [1, 1], 2, 1, 0, 0),       # non-square stride
    ([6, 5], [3, 2], [1, 1], [1, 1], 2, 2, 0, 1),
    ([7, 7], [3, 3], [2, 2], [1, 1], 4, 2, 1, 1),
]


def window_node(ifm, k, stride, dilation, channels, simd, depthwise, parallel, dt="UINT16"):
    out = [(i - (kk - 1) * d - 1) // s + 1 for i, kk, s, d in zip(ifm, k, stride, dilation)]
    return layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=ifm, OFMDim=out, ConvKernelDim=k, Stride=stride,
                 Dilation=dilation, IFMChannels=channels, SIMD=simd, depthwise=depthwise, parallel_window=parallel,
                 inputDataType=dt, outputDataType=dt)


def test_sliding_window_cycles_equal_finn_estimates(tmp_path):
    """One binary runs every window of WINDOW_GRID (as codegen calls it) on frames of element indices:
    the output equals FINN's execution, and the loop runs FINN's get_exp_cycles() per frame, or the
    fewest cycles any II=1 window can take where FINN's estimate is below that."""
    models = [chain(window_node(*config)) for config in WINDOW_GRID]
    calls = []
    for i, model in enumerate(models):
        node = model.graph.node[0]
        spec = codegen.describe(model, node, [node.input[0]])
        calls.append(f"""
static void run{i}(unsigned frames) {{
    hls::stream<ap_uint<{spec.ports[0].width}>> in;
    hls::stream<ap_uint<{spec.ports[1].width}>> out;
    const unsigned words = {np.prod(getCustomOp(node).get_folded_input_shape()[:-1])};
    const unsigned lanes = {spec.ports[0].width // 16};
    for (unsigned f = 0; f < frames; f++)
        for (unsigned w = 0; w < words; w++) {{
            ap_uint<{spec.ports[0].width}> word;
            for (unsigned l = 0; l < lanes; l++) word.range(16 * l + 15, 16 * l) = w * lanes + l;
            in.write(word);
        }}
    dfk::cycle_counter() = 0;
    {spec.call};
    std::printf("%llu", dfk::cycle_counter());
    while (!out.empty()) {{
        ap_uint<{spec.ports[1].width}> word = out.read();
        for (unsigned l = 0; l < {spec.ports[1].width // 16}; l++)
            std::printf(" %u", unsigned(word.range(16 * l + 15, 16 * l)));
    }}
    std::printf("\\n");
}}""")
    source = tmp_path / "windows.cpp"
    source.write_text('#include <cstdio>\n#include "sliding_window.hpp"\n' + "".join(calls) + "\nint main() {\n"
                      + "".join(f"    run{i}({FRAMES});\n" for i in range(len(models))) + "}\n")
    binary = tmp_path / "windows"
    subprocess.run(["g++", "-std=c++17", "-O1", "-Wno-unknown-pragmas", "-DDFK_NAIVE_CSIM", "-DDFK_COUNT_CYCLES",
                    f"-I{KERNELS_DIR}", f"-I{ap_types_include_dir()}", str(source), "-o", str(binary)], check=True)
    lines = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.splitlines()
    for config, model, line in zip(WINDOW_GRID, models, lines):
        inst = getCustomOp(model.graph.node[0])
        cycles, *values = (int(v) for v in line.split())
        shape = inst.get_normal_input_shape()
        frame = np.arange(np.prod(shape), dtype=np.float32).reshape(shape[1:])
        want = to_stream_order(model, model.graph.output[0].name, run_graph(generic_ops(model), frame[None])[0])
        np.testing.assert_array_equal(np.reshape(values, (FRAMES, -1)), np.tile(want, (FRAMES, 1)), err_msg=str(config))
        finn, fastest = inst.get_exp_cycles(), window_min_cycles(inst)
        assert cycles == FRAMES * max(finn, fastest), (config, cycles // FRAMES, finn, fastest)
        if finn_window_cycles_reachable(inst):
            assert fastest <= finn, config
