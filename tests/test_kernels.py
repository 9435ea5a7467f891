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
from compiler.codegen import KERNELS_DIR, rtl
from compiler.estimate import costmodel
from compiler.estimate.cycles import layer_cycles
from compiler.hwops import dsp_packing
from compiler.sim import CppSim
from compiler.sim.cppsim import ap_types_include_dir
from compiler.verify import generic_ops, run_graph, to_stream_order
from compiler.hwgraphs import (chain, depthwise_conv, layer, mvau, random_values, reorg, sorted_thresholds, swg,
                               tiny_cnn)

BOARD = boards.get("pynq-z2")
FRAMES = 3


@pytest.fixture(params=[False, True], ids=["fast", "synth"])
def synth(request):
    """Every kernel is checked twice: with the fast C-simulation shortcuts and with the
    synthesizable code itself (DFK_SYNTH_CSIM)."""
    return request.param


def check(model, tmp_path, input_dtype, seed=0, synth=False, extremes=()):
    """Run FRAMES random frames through FINN's execution and our cppsim; they must agree exactly.
    synth=True simulates the synthesizable loops instead of the fast C-simulation paths; then every
    layer must also run its cycle model's loop iterations per frame (each iteration of an II=1 loop
    is a cycle), so each kernel test is a trip-count test too."""
    model.set_tensor_datatype(model.graph.input[0].name, DataType[input_dtype])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    rng = np.random.default_rng(seed)
    shape = model.get_tensor_shape(model.graph.input[0].name)
    frames = random_values(rng, input_dtype, (FRAMES, *shape[1:]))
    frames = np.concatenate([frames] + [np.full_like(frames[:1], value) for value in extremes])
    expected = verify.run_graph(verify.generic_ops(model), frames)
    codegen.generate(model, tmp_path / "hls", BOARD, 100)
    defines = ["DFK_SYNTH_CSIM", "DFK_COUNT_CYCLES"] if synth else []
    sim = CppSim(model, tmp_path / "hls", tmp_path / "cppsim", log=lambda *_: None, defines=defines).build()
    stream_in = np.stack([verify.to_stream_order(model, model.graph.input[0].name, f) for f in frames])
    got, stats, _ = sim.run(stream_in.astype(np.int64))      # BIPOLAR as -1/+1, as the harness takes it
    out_name = model.graph.output[0].name
    want = np.stack([verify.to_stream_order(model, out_name, e) for e in expected])
    np.testing.assert_array_equal(got, want)
    if synth:
        assert stats["layer_cycles"] == [len(frames) * layer_cycles(getCustomOp(node)) + call_flush(node)
                                         for node in model.graph.node]


def call_flush(node):
    """Cycles a kernel takes once per call beyond its frames: a label select writes the last vector's
    K indices after the call's last vector."""
    return getCustomOp(node).get_nodeattr("K") if node.op_type.startswith("LabelSelect") else 0


@pytest.mark.parametrize("mw,mh,simd,pe,idt,wdt,vecs", [
    (6, 8, 1, 1, "INT8", "INT8", (1, 5, 1)),      # first VGG10 conv: signed input
    (12, 8, 4, 2, "UINT4", "INT4", (1, 3, 1)),
    (12, 8, 12, 8, "UINT4", "INT4", (1, 2, 1)),   # fully parallel: SIMD = MW, PE = MH
    (16, 4, 2, 4, "UINT2", "INT2", (1,)),
    (48, 16, 24, 16, "UINT1", "INT16", (1, 2, 1)),  # a 6,144-bit weight word: wider than any ap_uint
])
def test_mvau_with_thresholds(tmp_path, mw, mh, simd, pe, idt, wdt, vecs, synth):
    rng = np.random.default_rng(1)
    weights = random_values(rng, wdt, (mw, mh))
    thresholds = sorted_thresholds(rng, mh, 15, -40, 40)
    model = chain(mvau("fc", mw, mh, vecs=vecs, idt=idt, wdt=wdt, thresholds=thresholds,
                       outputDataType="UINT4", SIMD=simd, PE=pe))
    model.set_initializer("fc_w", weights)
    check(model, tmp_path, idt, synth=synth)


def test_mvau_signed_output_and_shared_thresholds(tmp_path, synth):
    rng = np.random.default_rng(2)
    thresholds = np.sort(rng.integers(-30, 30, size=(1, 7))).astype(np.float32)   # one row for all channels
    model = chain(mvau("fc", 8, 4, vecs=(1, 4, 1), idt="INT4", wdt="INT3", thresholds=thresholds,
                       outputDataType="INT3", ActVal=-4, SIMD=2, PE=2))
    model.set_initializer("fc_w", random_values(rng, "INT3", (8, 4)))
    check(model, tmp_path, "INT4", synth=synth)


def test_mvau_without_activation(tmp_path, synth):
    rng = np.random.default_rng(3)
    model = chain(mvau("fc", 32, 6, idt="UINT8", wdt="INT8", outputDataType="INT24", SIMD=8, PE=3))
    model.set_initializer("fc_w", random_values(rng, "INT8", (32, 6)))
    check(model, tmp_path, "UINT8", synth=synth)


@pytest.mark.parametrize("idt,wdt,pe", [("UINT8", "INT8", 4), ("INT8", "INT8", 3), ("UINT4", "INT4", 7),
                                         ("INT4", "UINT3", 6)])
def test_mvau_on_dsps_packs_lanes_exactly(tmp_path, idt, wdt, pe, synth):
    """Neighbouring lanes' products from one DSP multiplier (hwops.dsp_packing; the RTL's twin in
    test_rtl): every extreme operand value, exact."""
    rng = np.random.default_rng(11)
    mw, mh = 12, 2 * pe
    model = chain(mvau("fc", mw, mh, vecs=(1, 4, 1), idt=idt, wdt=wdt, outputDataType="INT24", SIMD=4, PE=pe,
                       resType="dsp"))
    weights = random_values(rng, wdt, (mw, mh))
    weights[:, :4] = [DataType[wdt].min(), DataType[wdt].max(), DataType[wdt].min(), 0]
    model.set_initializer("fc_w", weights)
    check(model, tmp_path, idt, synth=synth, extremes=(DataType[idt].min(), DataType[idt].max()))
    _, params = generated(model)["fc"]
    assert f"static const unsigned PACK = {dsp_packing(getCustomOp(model.graph.node[0])).lanes};" in params


@pytest.mark.parametrize("idt,wdt,xnor,activation,simd,pe", [
    ("BINARY", "BINARY", 1, "BIPOLAR", 4, 2),     # FINN's binary MVAU: XNOR popcount, sign activation
    ("BINARY", "BINARY", 1, None, 1, 1),           # popcount itself
    ("BIPOLAR", "BIPOLAR", 0, "UINT2", 12, 6),     # BIPOLAR x BIPOLAR is a popcount too, fully parallel
    ("INT4", "BIPOLAR", 0, "UINT4", 3, 3),         # 1-bit {-1, +1} weights, integer inputs
    ("UINT8", "BIPOLAR", 0, None, 6, 1),
    ("BIPOLAR", "INT3", 0, None, 2, 6),            # bipolar inputs, integer weights
    ("INT4", "INT2", 0, "BIPOLAR", 6, 3),          # sign activation of an integer layer (ActVal -1)
])
def test_mvau_bipolar(tmp_path, idt, wdt, xnor, activation, simd, pe, synth):
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
    check(model, tmp_path, idt, synth=synth)


@pytest.mark.parametrize("ifm,k,channels,stride,simd,depthwise", [
    (10, 3, 2, 1, 2, 0),
    (12, 3, 4, 2, 2, 0),       # stride 2, SIMD < channels
    (11, 2, 4, 3, 1, 0),       # stride > kernel, odd length: trailing rows dropped
    (8, 2, 6, 2, 3, 1),        # depthwise (max-pool window), channel folds
])
def test_sliding_window_1d(tmp_path, ifm, k, channels, stride, simd, depthwise, synth):
    node = swg("swg", ifm, k, channels, stride=stride, depthwise=depthwise)
    node[2]["SIMD"] = simd
    check(chain(node), tmp_path, "UINT4", synth=synth)


# (h, w, channels, block, simd): block 2 and 3, channel folds, SIMD = channels
REORGS = [(4, 6, 3, 2, 1), (6, 3, 4, 3, 2), (2, 8, 8, 2, 8)]


@pytest.mark.parametrize("h,w,channels,block,simd", REORGS)
def test_reorg(tmp_path, h, w, channels, block, simd, synth):
    check(chain(reorg("s2d", h, w, channels, block, simd, dt="INT4")), tmp_path, "INT4", synth=synth)


def test_reorg_is_onnx_space_to_depth():
    """The Shuffle our frontend makes of a reorg, on NHWC data, is ONNX's SpaceToDepth on the NCHW data."""
    from onnx.reference import ReferenceEvaluator

    h, w, channels, block = 6, 9, 5, 3
    x = np.random.default_rng(0).normal(size=(1, channels, h, w)).astype(np.float32)
    onnx_graph = helper.make_graph([helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=block)], "s2d",
                                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    (want,) = ReferenceEvaluator(qonnx_make_model(onnx_graph)).run(None, {"x": x})
    got = run_graph(chain(reorg("s2d", h, w, channels, block, dt="FLOAT32")), x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(got.transpose(0, 3, 1, 2), want)


def test_a_shuffle_that_is_not_a_reorg_is_refused(tmp_path):
    model = chain(layer("Shuffle", "transpose", in_shape=[1, 4, 6], transpose_in_shape=[1, 4, 6], perm=[0, 2, 1],
                        transpose_out_shape=[1, 6, 4], out_shape=[1, 6, 4], data_type="INT4", SIMD=1, NumChannels=6))
    model.set_tensor_datatype("t0", DataType["INT4"])
    model = model.transform(InferDataTypes())
    with pytest.raises(codegen.CodegenError, match=r"'transpose' \(Shuffle, perm \[0, 2, 1\].*only the space-to-depth"):
        codegen.generate(model, tmp_path / "hls", BOARD, 100)


def test_fmpadding(tmp_path, synth):
    model = chain(layer("FMPadding_rtl", "pad", ImgDim=[7, 1], Padding=[2, 0, 1, 0], NumChannels=4, SIMD=2,
                        inputDataType="INT4"))
    check(model, tmp_path, "INT4", synth=synth)


def test_max_pool_after_depthwise_window(tmp_path, synth):
    window = swg("pool_swg", 8, 2, 6, stride=2, depthwise=1, dt="INT4")
    window[2]["SIMD"] = 3
    model = chain(window, layer("Pool_hls", "pool", Channels=6, PE=3, KernelSize=[2, 1], Function="MaxPool",
                                OutImgDims=[4, 1], InputDataType="INT4", OutputDataType="INT4"))
    check(model, tmp_path, "INT4", synth=synth)


@pytest.mark.parametrize("pe,constants", [(3, 6), (1, 6), (2, 1)])     # per channel, or one scalar
def test_elementwise_add_constant(tmp_path, pe, constants, synth):
    rng = np.random.default_rng(4)
    model = chain(layer("ElementwiseAdd_hls", "bias", [("c", random_values(rng, "INT9", (constants,)), "INT9")],
                        lhs_shape=[1, 3, 6], rhs_shape=[constants], out_shape=[1, 3, 6], lhs_dtype="INT12",
                        rhs_dtype="INT9", out_dtype="INT13", lhs_style="input", rhs_style="const", PE=pe))
    check(model, tmp_path, "INT12", synth=synth)


@pytest.mark.parametrize("labels,pe,k", [(24, 1, 1), (12, 4, 3)])
def test_label_select_breaks_ties_towards_lower_index(tmp_path, labels, pe, k, synth):
    # INT2 inputs over 12+ labels guarantee ties.
    model = chain(layer("LabelSelect_hls", "top", Labels=labels, PE=pe, K=k, inputDataType="INT2",
                        numInputVectors=[1]))
    check(model, tmp_path, "INT2", seed=k, synth=synth)


@pytest.mark.parametrize("shape,in_width,out_width,dtype,buffer", [
    ([1, 12], 12, 8, "UINT4", 16),            # 12 + 8 - gcd 4
    ([1, 2, 1, 136], 8, 136, "INT8", 136),    # narrow -> wide, wider than 64 bits: the output word
    ([1, 225], 200, 72, "UINT8", 264),        # wide -> wide, neither divides the other: 200 + 72 - 8
    ([1, 256], 512, 64, "INT4", 512),         # wide -> narrow: the input word
    ([1, 512], 64, 2048, "INT8", 2048),       # wider than ap_uint's default limit of 1024 bits
])
def test_data_width_converter(tmp_path, shape, in_width, out_width, dtype, buffer, synth):
    """Equal to FINN's execution, at max(input words, output words) cycles per frame (check), with a
    buffer of `buffer` bits: Vitis HLS gets the same ap_uint limit as cppsim."""
    model = chain(layer("StreamingDataWidthConverter_hls", "dwc", inShape=shape, outShape=shape,
                        inWidth=in_width, outWidth=out_width, dataType=dtype))
    check(model, tmp_path, dtype, synth=synth)
    bits = np.prod(shape) * DataType[dtype].bitwidth()
    assert layer_cycles(getCustomOp(model.graph.node[0])) == max(bits // in_width, bits // out_width)
    wide = [f"AP_INT_MAX_W={buffer}"] if buffer > 1024 else []
    assert codegen.compile_defines(model) == wide
    assert all(f"-D{d}" in (tmp_path / "hls" / "synth.tcl").read_text() for d in wide)


def test_converter_buffer_beyond_the_widest_ap_uint_is_refused():
    # 4000 -> 3000 bits keeps 4000 + 3000 - 1000 bits
    model = chain(layer("StreamingDataWidthConverter_hls", "dwc", inShape=[1, 1500], outShape=[1, 1500],
                        inWidth=4000, outWidth=3000, dataType="UINT8"))
    with pytest.raises(codegen.CodegenError, match=r"dwc: a 6000-bit word is wider than .*AP_INT_MAX_W <= 4096"):
        codegen.compile_defines(model)


@pytest.mark.parametrize("pe,shared", [(2, False), (4, True)])
def test_thresholding(tmp_path, pe, shared, synth):
    rng = np.random.default_rng(5)
    thresholds = sorted_thresholds(rng, 1 if shared else 8, 7, -60, 60)
    model = chain(layer("Thresholding_hls", "act", [("t", thresholds, "INT8")], NumChannels=8, PE=pe, numSteps=7,
                        inputDataType="INT8", weightDataType="INT8", outputDataType="INT4", ActVal=-4,
                        numInputVectors=[1, 3, 1]))
    check(model, tmp_path, "INT8", synth=synth)


@pytest.mark.parametrize("ifm,k,channels,pe,simd,parallel,idt,wdt,with_activation", [
    ([9, 1], [3, 1], 6, 2, 1, 0, "UINT4", "INT4", True),
    ([9, 1], [3, 1], 6, 2, 1, 0, "UINT4", "INT4", False),
    ([9, 1], [3, 1], 6, 2, 3, 1, "UINT4", "INT4", True),      # SIMD = K from a parallel window, PE < channels
    ([6, 5], [3, 3], 6, 3, 9, 1, "INT8", "INT8", False),      # 2D, 8-bit signed
    ([6, 5], [3, 3], 4, 4, 3, 1, "UINT1", "INT2", True),      # parallel window -> width converter -> SIMD < K
    ([10, 1], [4, 1], 4, 4, 2, 0, "INT3", "UINT2", False),    # serial window -> width converter -> SIMD = 2
])
def test_vvau_after_depthwise_window(tmp_path, ifm, k, channels, pe, simd, parallel, idt, wdt, with_activation,
                                     synth):
    rng = np.random.default_rng(6)
    model = chain(*depthwise_conv("dw", rng, ifm, k, channels, pe, simd, parallel, idt, wdt, with_activation))
    check(model, tmp_path, idt, synth=synth)


def test_global_acc_pool(tmp_path, synth):
    model = chain(layer("GlobalAccPool_hls", "gap", NumChannels=6, PE=3, inputDataType="INT5",
                        numInputVectors=[1, 5, 1]))
    check(model, tmp_path, "INT5", synth=synth)


def test_sliding_window_and_padding_2d(tmp_path, synth):
    pad = layer("FMPadding_rtl", "pad", ImgDim=[5, 6], Padding=[1, 1, 1, 2], NumChannels=4, SIMD=2,
                inputDataType="UINT4")
    window = layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=[7, 9], ConvKernelDim=[3, 2], IFMChannels=4,
                   OFMDim=[3, 4], Stride=[2, 2], Dilation=[1, 2], SIMD=2, depthwise=0, inputDataType="UINT4",
                   outputDataType="UINT4")
    check(chain(pad, window), tmp_path, "UINT4", synth=synth)


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


@pytest.mark.parametrize("op,idt,odt", [("Add", "UINT4", "UINT5"),
                                         ("Max", "INT4", "INT4")])    # the max of an unsigned and a signed lane
def test_residual_fork_and_join(tmp_path, op, idt, odt, synth):
    """DuplicateStreams -> (thresholding branch, identity branch) -> Elementwise<op> of two streams."""
    shape = [1, 5, 1, 4]
    join = helper.make_node(f"Elementwise{op}_hls", ["c", "b"], ["y"], domain="finn.custom_op.fpgadataflow.hls",
                            backend="fpgadataflow", name="join", lhs_shape=shape, rhs_shape=shape, out_shape=shape,
                            lhs_dtype="UINT2", rhs_dtype=idt, out_dtype=odt, lhs_style="input",
                            rhs_style="input", PE=2)
    check(branching_model(join, idt, shape, shape, seed=7), tmp_path, idt, synth=synth)


def test_concat_of_two_branches(tmp_path, synth):
    """DuplicateStreams -> (thresholding branch to UINT2, identity INT4) -> StreamingConcat."""
    shape = [1, 3, 1, 4]
    cat = helper.make_node("StreamingConcat_hls", ["c", "b"], ["y"], domain="finn.custom_op.fpgadataflow.hls",
                           backend="fpgadataflow", name="cat", SIMD=2, ChannelsPerStream=[4, 4],
                           inputDataTypes=["UINT2", "INT4"], numInputVectors=shape[:-1])
    check(branching_model(cat, "INT4", shape, [1, 3, 1, 8], seed=8), tmp_path, "INT4", synth=synth)


@pytest.mark.parametrize("two_d", [False, True])
def test_sliding_window_parallel_window(tmp_path, two_d, synth):
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
    check(model, tmp_path, "INT4", synth=synth)


def test_loop_trip_counts_equal_the_cycle_model(tmp_path):
    """The synthesizable loops of a whole network run exactly the cycle model's II=1 iterations per
    frame, so our estimates and our kernels agree."""
    model = tiny_cnn()
    model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT4"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    codegen.generate(model, tmp_path / "hls", BOARD, 100)
    sim = CppSim(model, tmp_path / "hls", tmp_path / "cppsim", log=lambda *_: None,
                 defines=["DFK_SYNTH_CSIM", "DFK_COUNT_CYCLES"]).build()
    x = np.random.default_rng(0).integers(0, 16, size=(FRAMES, sim.streams[0].elems))
    _, stats, _ = sim.run(x)
    assert stats["layer_cycles"] == [FRAMES * layer_cycles(getCustomOp(node)) + call_flush(node)
                                     for node in model.graph.node]


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
    ([7, 7], [3, 3], [2, 2], [1, 1], 4, 2, 1, 1),       # parallel 2D windows from here: line buffers
    ([10, 12], [3, 3], [1, 1], [1, 1], 2, 2, 0, 1),
    ([12, 12], [3, 3], [1, 1], [2, 2], 2, 2, 0, 1),     # dilated: each line buffer spans two rows
    ([9, 11], [3, 3], [2, 1], [1, 1], 6, 2, 1, 1),      # depthwise, channel folds
    ([8, 9], [2, 4], [2, 3], [1, 1], 3, 3, 0, 1),
]


def window_node(ifm, k, stride, dilation, channels, simd, depthwise, parallel, dt="UINT16"):
    out = [(i - (kk - 1) * d - 1) // s + 1 for i, kk, s, d in zip(ifm, k, stride, dilation)]
    return layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=ifm, OFMDim=out, ConvKernelDim=k, Stride=stride,
                 Dilation=dilation, IFMChannels=channels, SIMD=simd, depthwise=depthwise, parallel_window=parallel,
                 inputDataType=dt, outputDataType=dt)


def test_sliding_window_cycles_equal_the_cycle_model(tmp_path):
    """One binary runs every window of WINDOW_GRID (as codegen calls it) on frames of element indices:
    the output equals FINN's execution, and the loop runs the cycle model's count per frame, which is
    never below the fewest cycles any window reading and writing a word per cycle can take."""
    models = [chain(window_node(*config)) for config in WINDOW_GRID]
    calls = []
    for i, model in enumerate(models):
        node = model.graph.node[0]
        spec = codegen.describe(model, node, [node.input[0]], BOARD)
        calls.append(f"""
struct config{i} {{
    {" ".join(spec.config)}
}};
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
    {spec.call.replace(spec.config_name, f"config{i}")};
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
    subprocess.run(["g++", "-std=c++17", "-O1", "-Wno-unknown-pragmas", "-DDFK_SYNTH_CSIM", "-DDFK_COUNT_CYCLES",
                    f"-I{KERNELS_DIR}", f"-I{ap_types_include_dir()}", str(source), "-o", str(binary)], check=True)
    lines = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.splitlines()
    for config, model, line in zip(WINDOW_GRID, models, lines):
        inst = getCustomOp(model.graph.node[0])
        cycles, *values = (int(v) for v in line.split())
        shape = inst.get_normal_input_shape()
        frame = np.arange(np.prod(shape), dtype=np.float32).reshape(shape[1:])
        want = to_stream_order(model, model.graph.output[0].name, run_graph(generic_ops(model), frame[None])[0])
        np.testing.assert_array_equal(np.reshape(values, (FRAMES, -1)), np.tile(want, (FRAMES, 1)), err_msg=str(config))
        model_cycles, fastest = layer_cycles(inst), window_min_cycles(inst)
        assert cycles == FRAMES * model_cycles, (config, cycles // FRAMES, model_cycles)
        assert model_cycles >= fastest, config


def generated(model, board=BOARD):
    """{layer name: (its .cpp, its params header)} of the HLS code generated for `model`."""
    layers = {node.name: codegen.describe(model, node, [node.input[0]], board) for node in model.graph.node}
    return {name: (codegen._env.get_template("layer.cpp.j2").render(layer=spec), codegen.render_params(spec))
            for name, spec in layers.items()}


@pytest.mark.parametrize("op,attrs,weights,thresholds,mul", [
    # FINN counts BRAM for decoupled weights unless distributed, for embedded ones only beyond 128 words
    ("MVAU_hls", dict(mem_mode="internal_decoupled", ram_style="auto"), "bram", "lutram", "lut"),
    ("MVAU_hls", dict(mem_mode="internal_decoupled", ram_style="distributed"), "lutram", "lutram", "lut"),
    ("MVAU_hls", dict(mem_mode="internal_embedded", ram_style="auto"), "lutram", "lutram", "lut"),
    ("MVAU_hls", dict(mem_mode="internal_embedded", ram_style="block", ram_style_thresholds="block"), "bram",
     "bram", "lut"),
    ("MVAU_hls", dict(resType="dsp"), "bram", "lutram", "dsp"),
    ("MVAU_rtl", dict(resType="auto"), "bram", "lutram", "dsp"),      # FINN's RTL MVAU computes on DSPs
])
def test_mvau_memories_and_multipliers_are_what_the_estimate_counts(op, attrs, weights, thresholds, mul):
    """One weight ROM of PE * SIMD weights per word (FINN's estimate: mem_width PE * SIMD * W, depth
    NF * SF) where FINN's estimate puts it, in the HLS and in the RTL, and DSP products where it counts DSPs."""
    model = chain(mvau("fc", 12, 8, op=op, thresholds=np.zeros((8, 3)), outputDataType="UINT2", SIMD=4, PE=2,
                       **attrs))
    layer_cpp, params = generated(model)["fc"]
    assert f"variable = fc_weights type = rom_1p impl = {weights}" in layer_cpp
    assert f"variable = fc_thresholds type = rom_1p impl = {thresholds}" in layer_cpp
    assert f"static const dfk::multiplier MUL = dfk::mul_{mul};" in params
    assert "fc_weights[2][12][4]" in params      # [PE][NF * SF][SIMD], reshaped into 12 words of 2 * 4 weights
    # the RTL backend's ROMs in the same places
    styles = {m.name.split("_")[0]: m.style for m in rtl.describe(model, model.graph.node[0], BOARD).memories}
    assert styles == {"weights": rtl.ROM_STYLES[weights], "thresholds": rtl.ROM_STYLES[thresholds]}
    kernel = (KERNELS_DIR / "mvau.hpp").read_text()
    assert "ARRAY_RESHAPE variable = weights complete dim = 1" in kernel
    assert "ARRAY_RESHAPE variable = weights complete dim = 3" in kernel


@pytest.mark.parametrize("ram_style,weights", [("auto", "lutram"), ("block", "bram")])
def test_one_weight_word_is_constants_unless_block_ram_is_asked_for(ram_style, weights):
    """SIMD = MW, PE = MH: the layer reads its one weight word every cycle, so the weights are constants
    in the logic (FINN's estimate would spend block RAM on a 1-word memory); ram_style=block is obeyed."""
    model = chain(mvau("fc", 12, 8, thresholds=np.zeros((8, 3)), outputDataType="UINT2", SIMD=12, PE=8,
                       mem_mode="internal_decoupled", ram_style=ram_style))
    inst = getCustomOp(model.graph.node[0])
    assert inst.bram_estimation(BOARD.part) > 0
    layer_cpp, _ = generated(model)["fc"]
    assert f"variable = fc_weights type = rom_1p impl = {weights}" in layer_cpp
    styles = {m.name.split("_")[0]: m.style for m in rtl.describe(model, model.graph.node[0], BOARD).memories}
    assert styles["weights"] == rtl.ROM_STYLES[weights]
    assert (costmodel.layer_cost(inst, BOARD.part)["BRAM_18K"] == 0) == (weights == "lutram")


@pytest.mark.parametrize("ram_style,expected", [("distributed", "ram_distributed"), ("block", "ram_block"),
                                                ("auto", "ram_block")])      # FINN counts BRAM for auto
def test_sliding_window_buffer_is_where_ram_style_says(ram_style, expected):
    node = swg("swg", 12, 3, 4)
    node[2]["ram_style"] = ram_style
    _, params = generated(chain(node))["swg"]
    assert f"static const dfk::ram_style RAM_STYLE = dfk::{expected};" in params


def test_ultraram_is_refused_where_it_cannot_be_built():
    node = swg("swg", 12, 3, 4)
    node[2]["ram_style"] = "ultra"
    with pytest.raises(codegen.CodegenError, match="ram_style=ultra.*Pynq-Z2 has none"):
        generated(chain(node))
    assert "RAM_STYLE = dfk::ram_ultra" in generated(chain(node), boards.get("zcu104"))["swg"][1]
    model = chain(layer("Thresholding_hls", "act", [("t", np.zeros((4, 3)), "INT8")], NumChannels=4, PE=1,
                        numSteps=3, inputDataType="INT8", weightDataType="INT8", outputDataType="UINT2",
                        ram_style="ultra", numInputVectors=[1, 3, 1]))
    with pytest.raises(codegen.CodegenError, match="UltraRAM, which the bitstream cannot initialise"):
        generated(model, boards.get("zcu104"))
