"""Each RTL module, through RTL codegen and Verilator, against FINN's Python execution of the same HW
layer: exact outputs with and without random input gaps and output backpressure, and the measured
cycles per frame equal to the layer's stated cycle model."""
import numpy as np
import pytest
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

import boards
from compiler import verify
from compiler.codegen import rtl
from compiler.hwops import dsp_packing
from compiler.sim.fifo_sizing import size_fifos, with_depths
from compiler.sim.rtlsim import Deadlock, RtlSim
from compiler.hwgraphs import chain, mvau, random_values, sorted_thresholds

pytestmark = pytest.mark.rtl
FRAMES = 4
BOARD = boards.get("pynq-z2")


def check_rtl(model, tmp_path, input_dtype, seed=0, frames=FRAMES, input_order=None, deep_fifos=True, extremes=()):
    """FRAMES random frames through FINN's execution and our rtlsim must agree exactly, streamed
    as fast as taken and with random gaps and backpressure; streamed as fast as taken, a frame
    takes the graph's slowest layer's stated cycles. deep_fifos: every FIFO holds a frame, so that
    the layers' own cycle models are measured (a bursty producer before a shallow FIFO slows its
    consumer down: FIFO sizing's concern, tested below); else the model's depths.
    Returns the rtlsim stats of the plain run.
    input_order(frame) gives a frame's elements in stream order where the first layer reads another
    order than verify.to_stream_order says (a Pool fed without its depthwise window).
    extremes: values every input position takes in some frame besides the random ones."""
    model.set_tensor_datatype(model.graph.input[0].name, DataType[input_dtype])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    if deep_fifos:
        model = with_depths(model, {link.tensor: link.words + 2 for link in rtl.links(model) if link.depth})
    rng = np.random.default_rng(seed)
    shape = model.get_tensor_shape(model.graph.input[0].name)
    x = random_values(rng, input_dtype, (frames, *shape[1:]))
    x = np.concatenate([x] + [np.full_like(x[:1], value) for value in extremes])
    expected = verify.run_graph(verify.generic_ops(model), x)
    layers, _ = rtl.generate(model, tmp_path / "rtl", BOARD)
    sim = RtlSim(model, tmp_path / "rtl", tmp_path / "rtlsim", log=lambda *_: None).build()
    order = input_order or (lambda frame: verify.to_stream_order(model, model.graph.input[0].name, frame))
    stream_in = np.stack([order(f) for f in x]).astype(np.int64)     # BIPOLAR as -1/+1, as the harness takes it
    out_name = model.graph.output[0].name
    want = np.stack([verify.to_stream_order(model, out_name, e) for e in expected])
    got, stats = sim.run(stream_in)
    np.testing.assert_array_equal(got, want)
    stalled, _ = sim.run(stream_in, seed=seed + 1, in_gap=0.3, out_stall=0.4)
    np.testing.assert_array_equal(stalled, want)
    done = stats["frame_done"]
    assert done[-1] - done[-2] == max(layer.cycles for layer in layers)
    return stats


@pytest.mark.parametrize("mw,mh,simd,pe,idt,wdt,vecs", [
    (6, 8, 1, 1, "INT8", "INT8", (1, 5, 1)),      # SIMD = 1, PE = 1: signed input
    (12, 8, 4, 2, "UINT4", "INT4", (1, 3, 1)),
    (12, 8, 12, 8, "UINT4", "INT4", (1, 2, 1)),   # fully parallel: SIMD = MW, PE = MH
    (16, 4, 2, 4, "UINT2", "INT2", (1,)),
    (9, 6, 3, 3, "UINT1", "UINT3", (1, 7, 1)),    # 1-bit input, unsigned weights, odd sizes
    (48, 16, 24, 16, "UINT1", "INT16", (1, 2, 1)),  # a 6,144-bit weight word: wider than any ap_uint
])
def test_mvau_with_thresholds(tmp_path, mw, mh, simd, pe, idt, wdt, vecs):
    rng = np.random.default_rng(1)
    model = chain(mvau("fc", mw, mh, vecs=vecs, idt=idt, wdt=wdt, thresholds=sorted_thresholds(rng, mh, 15, -40, 40),
                       outputDataType="UINT4", SIMD=simd, PE=pe))
    model.set_initializer("fc_w", random_values(rng, wdt, (mw, mh)))
    check_rtl(model, tmp_path, idt)


def test_mvau_thresholds_in_any_order_with_ties_and_shared_rows(tmp_path):
    """One threshold row for every channel, unsorted, with repeated values; signed output (ActVal -4)."""
    rng = np.random.default_rng(2)
    row = rng.integers(-30, 30, size=(1, 7)).astype(np.float32)
    row[0, 3] = row[0, 5]
    model = chain(mvau("fc", 8, 4, vecs=(1, 4, 1), idt="INT4", wdt="INT3", thresholds=row,
                       outputDataType="INT3", ActVal=-4, SIMD=2, PE=2))
    model.set_initializer("fc_w", random_values(rng, "INT3", (8, 4)))
    check_rtl(model, tmp_path, "INT4")


def test_mvau_eight_bit_activation_uses_eight_search_stages(tmp_path):
    rng = np.random.default_rng(4)
    model = chain(mvau("fc", 8, 4, vecs=(1, 3, 1), idt="UINT8", wdt="INT8",
                       thresholds=sorted_thresholds(rng, 4, 255, -20000, 20000), outputDataType="UINT8", SIMD=4, PE=2))
    model.set_initializer("fc_w", random_values(rng, "INT8", (8, 4)))
    check_rtl(model, tmp_path, "UINT8")
    assert "THRESHOLD_STAGES(8)" in (tmp_path / "rtl" / "fc.sv").read_text()


def test_mvau_without_activation(tmp_path):
    rng = np.random.default_rng(3)
    model = chain(mvau("fc", 32, 6, idt="UINT8", wdt="INT8", outputDataType="INT24", SIMD=8, PE=3))
    model.set_initializer("fc_w", random_values(rng, "INT8", (32, 6)))
    check_rtl(model, tmp_path, "UINT8")


@pytest.mark.parametrize("idt,wdt,pe,packing", [
    ("UINT8", "INT8", 4, 2),       # w8a8: two products per DSP48E1 (9 + 2 * 8 = 25 bits)
    ("INT8", "INT8", 3, 2),        # signed input; odd PE: the last lane has a multiplier of its own
    ("UINT4", "INT4", 7, 3),       # w4a4: three per DSP, groups of 3, 3 and 1
    ("INT4", "UINT3", 6, 4),       # products of 7 bits: four per DSP, groups of 4 and 2
])
def test_mvau_on_dsps_packs_lanes_exactly(tmp_path, idt, wdt, pe, packing):
    """Products of neighbouring PE lanes from one multiplier: every extreme operand value, exact."""
    rng = np.random.default_rng(11)
    mw, mh = 12, 2 * pe
    model = chain(mvau("fc", mw, mh, vecs=(1, 4, 1), idt=idt, wdt=wdt, outputDataType="INT24", SIMD=4, PE=pe,
                       resType="dsp"))
    x_type, w_type = DataType[idt], DataType[wdt]
    weights = random_values(rng, wdt, (mw, mh))
    weights[:, :4] = [w_type.min(), w_type.max(), w_type.min(), 0]     # the corners of the products
    model.set_initializer("fc_w", weights)
    assert dsp_packing(getCustomOp(model.graph.node[0])).lanes == packing
    check_rtl(model, tmp_path, idt, extremes=(x_type.min(), x_type.max()))
    assert f"DSP_PACK({packing})" in (tmp_path / "rtl" / "fc.sv").read_text()


@pytest.mark.parametrize("idt,wdt,xnor,activation,simd,pe", [
    ("BINARY", "BINARY", 1, "BIPOLAR", 4, 2),     # FINN's binary MVAU: XNOR popcount, sign activation
    ("BINARY", "BINARY", 1, None, 1, 1),           # popcount itself
    ("BIPOLAR", "BIPOLAR", 0, "UINT2", 12, 6),     # BIPOLAR x BIPOLAR is a popcount too, fully parallel
    ("INT4", "BIPOLAR", 0, "UINT4", 3, 3),         # 1-bit {-1, +1} weights, integer inputs
    ("BIPOLAR", "INT3", 0, None, 2, 6),            # bipolar inputs, integer weights
    ("INT4", "INT2", 0, "BIPOLAR", 6, 3),          # sign activation of an integer layer
])
def test_mvau_bipolar(tmp_path, idt, wdt, xnor, activation, simd, pe):
    mw, mh = 12, 6
    rng = np.random.default_rng(10)
    attrs = dict(binaryXnorMode=xnor, SIMD=simd, PE=pe)
    if activation is None:
        acc = "UINT16" if xnor or (idt == wdt == "BIPOLAR") else "INT16"
        layer = mvau("fc", mw, mh, vecs=(1, 3, 1), idt=idt, wdt=wdt, outputDataType=acc, **attrs)
    else:
        steps = {"BIPOLAR": 1, "UINT2": 3, "UINT4": 15}[activation]
        low, high = (0, mw) if (xnor or idt == wdt == "BIPOLAR") else (-30, 30)
        layer = mvau("fc", mw, mh, vecs=(1, 3, 1), idt=idt, wdt=wdt, outputDataType=activation,
                     thresholds=sorted_thresholds(rng, mh, steps, low, high),
                     ActVal=-1 if activation == "BIPOLAR" and not xnor else 0, **attrs)
    model = chain(layer)
    model.set_initializer("fc_w", random_values(rng, wdt, (mw, mh)))
    check_rtl(model, tmp_path, idt)


@pytest.mark.parametrize("channels,pe,idt,odt,steps,act_val", [
    (8, 1, "INT16", "UINT4", 15, 0),
    (8, 8, "INT8", "INT4", 15, -8),      # PE = channels, signed output
    (6, 3, "UINT5", "UINT2", 3, 0),
    (4, 2, "INT12", "BIPOLAR", 1, 0),
])
def test_thresholding(tmp_path, channels, pe, idt, odt, steps, act_val):
    from compiler.hwgraphs import layer

    rng = np.random.default_rng(5)
    lo, hi = DataType[idt].min(), DataType[idt].max()
    thresholds = sorted_thresholds(rng, channels, steps, max(lo, -200), min(hi, 200) + 1)
    model = chain(layer("Thresholding_rtl", "act", [("t", thresholds, "INT16")], NumChannels=channels, PE=pe,
                        numSteps=steps, inputDataType=idt, weightDataType="INT16", outputDataType=odt,
                        ActVal=act_val, numInputVectors=[1, 5, 1]))
    check_rtl(model, tmp_path, idt)


@pytest.mark.parametrize("ifm,k,stride,dilation,channels,simd,depthwise,parallel", [
    ([34, 1], [3, 1], [1, 1], [1, 1], 2, 1, 0, 0),    # VGG10's 1D windows
    ([16, 1], [2, 1], [2, 1], [1, 1], 8, 2, 1, 0),    # max-pool windows, depthwise, channel folds
    ([13, 1], [3, 1], [4, 1], [1, 1], 3, 1, 0, 0),    # stride > kernel: input words no window uses
    ([15, 1], [3, 1], [1, 1], [2, 1], 4, 4, 0, 0),    # dilation
    ([20, 1], [5, 1], [2, 1], [1, 1], 4, 2, 1, 1),    # depthwise parallel window
    ([9, 1], [3, 1], [1, 1], [1, 1], 6, 6, 0, 1),     # parallel, all channels in a word
    ([6, 7], [3, 2], [1, 2], [1, 1], 4, 2, 0, 0),     # 2D, unequal kernel, stride and sizes
    ([7, 6], [2, 3], [2, 1], [1, 1], 4, 1, 1, 0),     # 2D depthwise
    ([6, 6], [3, 3], [1, 1], [1, 1], 2, 2, 0, 1),     # 2D parallel (line buffers)
    ([7, 7], [2, 2], [2, 2], [1, 1], 6, 3, 1, 1),     # 2D depthwise parallel, stride 2
])
def test_sliding_window(tmp_path, ifm, k, stride, dilation, channels, simd, depthwise, parallel):
    from compiler.hwgraphs import layer

    out = [(i - d * (kk - 1) - 1) // s + 1 for i, kk, s, d in zip(ifm, k, stride, dilation)]
    model = chain(layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=ifm, OFMDim=out, ConvKernelDim=k,
                        Stride=stride, Dilation=dilation, IFMChannels=channels, SIMD=simd, depthwise=depthwise,
                        parallel_window=parallel, inputDataType="INT4", outputDataType="INT4"))
    check_rtl(model, tmp_path, "INT4")


def test_conv_chain_with_fifos_between_layers(tmp_path):
    """Window -> MVAU -> Thresholding: three layers stitched with FIFOs of 2 words, at full rate."""
    from compiler.hwgraphs import layer, swg

    rng = np.random.default_rng(6)
    model = chain(swg("conv_swg", 18, 3, 2),
                  mvau("conv", 6, 4, vecs=(1, 16, 1), wdt="INT4", idt="UINT4", SIMD=1, PE=2),
                  layer("Thresholding_rtl", "act", [("t", sorted_thresholds(rng, 4, 15, -60, 60), "INT16")],
                        NumChannels=4, PE=2, numSteps=15, inputDataType="INT16", weightDataType="INT16",
                        outputDataType="UINT4", numInputVectors=[1, 16, 1]))
    model.set_initializer("conv_w", random_values(rng, "INT4", (6, 4)))
    stats = check_rtl(model, tmp_path, "UINT4", deep_fifos=False)
    assert [f["depth"] for f in stats["fifos"]] == [2, 2]


# ------------------------------------------------------------------------------ VVAU, pool, streams

def window_order(kernel, channels, pe):
    """The stream order of a depthwise sliding window's output (channel fold, window position, lane)
    for a frame in FINN's tensor layout (window position, channel): what a Pool reads."""
    def order(frame):
        lead = frame.shape[:-1]
        return np.swapaxes(frame.reshape(*lead, kernel, channels // pe, pe), -3, -2).reshape(-1)
    return order


@pytest.mark.parametrize("dim,k,channels,pe,simd,idt,wdt,odt", [
    ([5, 1], [3, 1], 6, 2, 1, "UINT4", "INT4", "UINT4"),     # SIMD = 1, channel folds
    ([5, 1], [3, 1], 6, 2, 1, "UINT4", "INT4", None),
    ([4, 1], [3, 1], 6, 2, 3, "UINT4", "INT4", "UINT4"),     # SIMD = K
    ([3, 2], [3, 3], 6, 3, 9, "INT8", "INT8", None),         # 2D, 8-bit signed
    ([3, 3], [3, 3], 4, 4, 3, "UINT1", "INT2", "UINT4"),     # PE = channels, SIMD < K
    ([7, 1], [4, 1], 4, 4, 2, "INT3", "UINT2", None),        # unsigned weights, signed input
    ([3, 1], [5, 1], 5, 1, 5, "INT2", "BIPOLAR", "INT3"),    # odd sizes, PE = 1, {-1, +1} weights
    ([4, 1], [3, 1], 4, 2, 3, "BIPOLAR", "BIPOLAR", "UINT2"),  # XNOR popcount
    ([4, 1], [3, 1], 4, 1, 1, "INT4", "INT3", "BIPOLAR"),    # sign activation
])
def test_vvau(tmp_path, dim, k, channels, pe, simd, idt, wdt, odt):
    from compiler.hwgraphs import vvau

    check_rtl(chain(vvau("dw", np.random.default_rng(11), dim, k, channels, pe, simd, idt, wdt, odt)), tmp_path, idt)


def test_vvau_behind_width_converter(tmp_path):
    """Serial window words (PE lanes) packed by the width converter into SIMD = K positions."""
    from compiler.hwgraphs import layer, vvau

    dim, k, channels, pe = [6, 1], [3, 1], 4, 2
    shape = [1, *dim, 3 * channels]
    dwc = layer("StreamingDataWidthConverter_hls", "dwc", inShape=shape, outShape=shape, inWidth=pe * 4,
                outWidth=3 * pe * 4, dataType="INT4")
    check_rtl(chain(dwc, vvau("dw", np.random.default_rng(12), dim, k, channels, pe, 3, "INT4", "INT4", "UINT4")),
              tmp_path, "INT4")


@pytest.mark.parametrize("out_dims,k,channels,pe,dtype", [
    ([4, 1], [2, 1], 6, 3, "INT4"),      # channel folds, signed
    ([5, 1], [3, 1], 4, 4, "UINT3"),     # PE = channels, odd kernel
    ([3, 2], [2, 2], 5, 1, "UINT8"),     # 2D, PE = 1, odd channel count
    ([3, 1], [4, 1], 3, 3, "UINT1"),
    ([6, 1], [2, 1], 4, 2, "BIPOLAR"),   # the maximum of bipolar lanes is the OR of their bits
])
def test_max_pool(tmp_path, out_dims, k, channels, pe, dtype):
    from compiler.hwgraphs import layer

    model = chain(layer("Pool_hls", "pool", Channels=channels, PE=pe, KernelSize=k, Function="MaxPool",
                        OutImgDims=out_dims, InputDataType=dtype, OutputDataType=dtype))
    check_rtl(model, tmp_path, dtype, input_order=window_order(k[0] * k[1], channels, pe))


@pytest.mark.parametrize("vecs,channels,pe,idt", [
    ([1, 5, 1], 6, 3, "INT5"),
    ([1, 7, 1], 4, 4, "UINT8"),          # PE = channels
    ([1, 3, 3], 5, 1, "UINT1"),          # 2D, PE = 1
    ([1, 1, 1], 4, 2, "INT8"),           # a single pixel
])
def test_global_acc_pool(tmp_path, vecs, channels, pe, idt):
    from compiler.hwgraphs import layer

    model = chain(layer("GlobalAccPool_hls", "gap", NumChannels=channels, PE=pe, inputDataType=idt,
                        numInputVectors=vecs))
    check_rtl(model, tmp_path, idt)


@pytest.mark.parametrize("op,shape,params,pe,ldt,rdt,odt", [
    ("Add", [1, 6], 6, 3, "INT12", "INT9", "INT13"),             # a per-channel bias
    ("Add", [1, 5, 1, 4], 4, 4, "UINT4", "UINT3", "UINT5"),      # PE = channels
    ("Sub", [1, 3, 1, 6], 6, 1, "UINT4", "INT4", "INT6"),        # PE = 1
    ("Mul", [1, 4, 1, 4], 4, 2, "INT4", "INT3", "INT7"),
    ("Mul", [1, 3, 2, 3], 1, 1, "UINT2", "UINT3", "UINT5"),      # a scalar
    ("Sub", [1, 5, 1, 6], 1, 2, "INT8", "INT8", "INT9"),
    ("Max", [1, 3, 1, 4], 4, 2, "INT4", "UINT3", "INT4"),        # signed against unsigned
])
def test_elementwise_const(tmp_path, op, shape, params, pe, ldt, rdt, odt):
    from compiler.hwgraphs import layer

    values = random_values(np.random.default_rng(13), rdt, (params,))
    model = chain(layer(f"Elementwise{op}_hls", "ew", [("c", values, rdt)], lhs_shape=shape, rhs_shape=[params],
                        out_shape=shape, lhs_dtype=ldt, rhs_dtype=rdt, out_dtype=odt, lhs_style="input",
                        rhs_style="const", PE=pe))
    check_rtl(model, tmp_path, ldt)


@pytest.mark.parametrize("op,shape,pe,idt,branch,odt", [
    ("Add", [1, 5, 1, 4], 2, "UINT4", "UINT2", "UINT5"),         # a residual add
    ("Sub", [1, 3, 1, 6], 6, "INT4", "UINT3", "INT5"),           # PE = channels
    ("Mul", [1, 4, 1, 3], 1, "INT3", "UINT2", "INT5"),           # PE = 1, odd channels
    ("Max", [1, 4, 1, 6], 3, "INT4", "UINT3", "INT4"),           # the pool of a polyphase first conv
])
def test_elementwise_streams_after_fork(tmp_path, op, shape, pe, idt, branch, odt):
    """DuplicateStreams -> (Thresholding to `branch`, identity) -> Elementwise<op> of the two streams."""
    from compiler.hwgraphs import fork_join

    model = fork_join(shape, idt, [branch, None], f"Elementwise{op}_hls", pe=pe, lhs_shape=shape, rhs_shape=shape,
                      out_shape=shape, lhs_dtype=branch, rhs_dtype=idt, out_dtype=odt, lhs_style="input",
                      rhs_style="input", PE=pe)
    check_rtl(model, tmp_path, idt)


@pytest.mark.parametrize("shape,simd,branches,idt", [
    ([1, 3, 1, 4], 2, ["UINT2", None], "INT4"),                  # UINT2 widened to INT4
    ([1, 4, 1, 3], 3, [None, "UINT3", "UINT2"], "UINT4"),        # three inputs, SIMD = channels
    ([1, 2, 2, 6], 1, ["UINT2", None, None, "INT2"], "INT8"),    # four, SIMD = 1, sign extension
])
def test_concat_of_forked_branches(tmp_path, shape, simd, branches, idt):
    """DuplicateStreams into N branches (each taking its words at its own time) -> StreamingConcat."""
    from compiler.hwgraphs import fork_join

    dtypes = [b or idt for b in branches]
    model = fork_join(shape, idt, branches, "StreamingConcat_hls", pe=simd, SIMD=simd,
                      ChannelsPerStream=[shape[-1]] * len(branches), inputDataTypes=dtypes,
                      numInputVectors=shape[:-1])
    check_rtl(model, tmp_path, idt)


@pytest.mark.parametrize("labels,pe,k,idt", [
    (24, 1, 1, "INT2"),                  # INT2 over many labels: ties
    (12, 4, 3, "INT2"),
    (10, 5, 4, "UINT3"),                 # K > LABELS/PE: K cycles per frame
    (8, 8, 5, "INT4"),                   # every label in one word
    (7, 7, 7, "UINT1"),                  # K = LABELS
    (16, 2, 2, "UINT8"),
])
def test_label_select(tmp_path, labels, pe, k, idt):
    from compiler.hwgraphs import layer

    model = chain(layer("LabelSelect_hls", "top", Labels=labels, PE=pe, K=k, inputDataType=idt, numInputVectors=[1]))
    check_rtl(model, tmp_path, idt, seed=k)


@pytest.mark.parametrize("shape,in_width,out_width,dtype", [
    ([1, 12], 12, 8, "UINT4"),           # neither width divides the other
    ([1, 2, 1, 12], 6, 4, "UINT2"),
    ([1, 12], 8, 12, "UINT4"),           # ... narrow to wide
    ([1, 225], 200, 72, "UINT8"),
    ([1, 2, 1, 136], 8, 136, "INT8"),    # narrow -> wide, wider than 64 bits
    ([1, 256], 512, 64, "INT4"),         # wide -> narrow
    ([1, 6], 12, 12, "UINT4"),           # equal widths
])
def test_data_width_converter(tmp_path, shape, in_width, out_width, dtype):
    from compiler.hwgraphs import layer

    model = chain(layer("StreamingDataWidthConverter_hls", "dwc", inShape=shape, outShape=shape, inWidth=in_width,
                        outWidth=out_width, dataType=dtype))
    check_rtl(model, tmp_path, dtype)


@pytest.mark.parametrize("dims,padding,channels,simd,dtype", [
    ([7, 1], [2, 0, 1, 0], 4, 2, "INT4"),
    ([5, 6], [1, 1, 1, 2], 4, 2, "UINT4"),     # 2D
    ([4, 5], [0, 2, 3, 0], 3, 3, "UINT8"),     # SIMD = channels
    ([6, 1], [1, 0, 1, 0], 5, 1, "INT2"),      # SIMD = 1, odd channel count
])
def test_fmpadding(tmp_path, dims, padding, channels, simd, dtype):
    from compiler.hwgraphs import layer

    model = chain(layer("FMPadding_rtl", "pad", ImgDim=dims, Padding=padding, NumChannels=channels, SIMD=simd,
                        inputDataType=dtype))
    check_rtl(model, tmp_path, dtype)


@pytest.mark.parametrize("h,w,channels,block,simd", [(4, 6, 3, 2, 1), (6, 3, 4, 3, 2), (2, 8, 8, 2, 8)])
def test_reorg(tmp_path, h, w, channels, block, simd):
    from compiler.hwgraphs import reorg

    check_rtl(chain(reorg("s2d", h, w, channels, block, simd, dt="UINT4")), tmp_path, "UINT4")


# ------------------------------------------------------------------------------------- Yosys syntax

YOSYS_CHECK = """
import os, sys
from pyosys import libyosys as ys
top = sys.argv[1]
for rtl_dir in sys.argv[2:]:
    os.chdir(rtl_dir)
    print("YOSYS CHECK", rtl_dir, flush=True)
    sources = " ".join(open("sources.f").read().split())
    design = ys.Design()
    ys.run_pass(f"read_slang --allow-use-before-declare -D SYNTHESIS --top {top} {sources}", design)
    ys.run_pass(f"hierarchy -check -top {top}", design)
"""


def library_models():
    """Small graphs that together use every module of the library (and the distinct generate branches
    of the width converter), each with its input datatype."""
    from compiler.hwgraphs import fork_join, layer, reorg, swg, vvau

    rng = np.random.default_rng(14)
    conv = chain(swg("swg", 10, 3, 2),
                 mvau("conv", 6, 4, vecs=(1, 8, 1), thresholds=sorted_thresholds(rng, 4, 15, 0, 90),
                      outputDataType="UINT4", PE=2),
                 layer("Thresholding_rtl", "act", [("t", sorted_thresholds(rng, 4, 3, 0, 16), "INT16")],
                       NumChannels=4, PE=2, numSteps=3, inputDataType="UINT4", weightDataType="INT16",
                       outputDataType="UINT2", numInputVectors=[1, 8, 1]))
    parallel = chain(layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=[9, 1], OFMDim=[7, 1], ConvKernelDim=[3, 1],
                           Stride=[1, 1], Dilation=[1, 1], IFMChannels=2, SIMD=2, depthwise=0, parallel_window=1,
                           inputDataType="UINT4", outputDataType="UINT4"),
                     mvau("conv", 6, 4, vecs=(1, 7, 1), SIMD=6, PE=4, resType="dsp"))     # packed products

    def dwc(name, shape, in_width, out_width, dtype):
        return layer("StreamingDataWidthConverter_hls", name, inShape=shape, outShape=shape, inWidth=in_width,
                     outWidth=out_width, dataType=dtype)

    pixels = [1, 6, 1, 4]
    depthwise = chain(dwc("dwc", [1, 6, 1, 12], 8, 24, "INT4"),
                      vvau("dw", rng, [6, 1], [3, 1], 4, 2, 3, "INT4", "INT4", "UINT4"),
                      dwc("wider", pixels, 8, 16, "UINT4"), dwc("narrower", pixels, 16, 4, "UINT4"),
                      dwc("neither", pixels, 4, 12, "UINT4"), dwc("back", pixels, 12, 8, "UINT4"),
                      layer("GlobalAccPool_hls", "gap", NumChannels=4, PE=2, inputDataType="UINT4",
                            numInputVectors=pixels[:-1]),
                      layer("LabelSelect_hls", "top", Labels=4, PE=2, K=2, inputDataType="UINT7", numInputVectors=[1]))
    pooling = chain(layer("FMPadding_rtl", "pad", ImgDim=[6, 1], Padding=[1, 0, 1, 0], NumChannels=4, SIMD=1,
                          inputDataType="INT4"),
                    swg("pool_swg", 8, 2, 4, stride=2, depthwise=1, dt="INT4"),
                    layer("Pool_hls", "pool", Channels=4, PE=1, KernelSize=[2, 1], Function="MaxPool",
                          OutImgDims=[4, 1], InputDataType="INT4", OutputDataType="INT4"),
                    layer("ElementwiseMul_hls", "scale", [("c", np.full((4,), 3.0), "UINT2")], lhs_shape=[1, 4, 1, 4],
                          rhs_shape=[4], out_shape=[1, 4, 1, 4], lhs_dtype="INT4", rhs_dtype="UINT2", out_dtype="INT7",
                          lhs_style="input", rhs_style="const", PE=1))
    pooling.set_tensor_shape("t3", [1, 4, 1, 4])      # FINN checks an elementwise op's input shape first
    shape = [1, 3, 1, 4]
    residual = fork_join(shape, "UINT4", ["UINT2", None], "ElementwiseAdd_hls", pe=2, lhs_shape=shape,
                         rhs_shape=shape, out_shape=shape, lhs_dtype="UINT2", rhs_dtype="UINT4", out_dtype="UINT5",
                         lhs_style="input", rhs_style="input", PE=2)
    branches = fork_join(shape, "INT4", ["UINT2", None, None], "StreamingConcat_hls", pe=2, SIMD=2,
                         ChannelsPerStream=[4, 4, 4], inputDataTypes=["UINT2", "INT4", "INT4"],
                         numInputVectors=shape[:-1])
    space_to_depth = chain(reorg("s2d", 4, 4, 4, block=2, simd=2, dt="UINT4"))
    return {"conv": (conv, "UINT4"), "parallel": (parallel, "UINT4"), "depthwise": (depthwise, "INT4"),
            "pooling": (pooling, "INT4"), "residual": (residual, "UINT4"), "branches": (branches, "INT4"),
            "space_to_depth": (space_to_depth, "UINT4")}


def test_yosys_reads_every_module(tmp_path):
    """Yosys (read_slang) elaborates the generated IP of graphs that instantiate every module of the
    library: a construct Yosys rejects fails here, not first in synthesis."""
    import re
    import subprocess
    import sys

    dirs = []
    for name, (model, dtype) in library_models().items():
        model.set_tensor_datatype(model.graph.input[0].name, DataType[dtype])
        rtl.generate(model.transform(InferShapes()).transform(InferDataTypes()), tmp_path / name, BOARD)
        dirs.append(tmp_path / name)
    sources = "\n".join(path.read_text() for d in dirs for path in d.rglob("*.sv"))
    unused = [path.stem for path in sorted(rtl.RTL_LIBRARY.glob("*.sv"))
              if not re.search(rf"^\s*{path.stem}\s*(#\s*\(|\w+\s*\()", sources, re.MULTILINE)]
    assert not unused, f"no graph of library_models() instantiates {unused}"
    result = subprocess.run([sys.executable, "-c", YOSYS_CHECK, rtl.AXI_TOP, *map(str, dirs)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_whole_graph_of_every_layer_kind(tmp_path):
    """The tiny CNN of the kernel tests (padding, conv window, MVAU, pool window, max pool, depthwise
    window, VVAU, thresholding, MVAU, global pool, label select) stitched and simulated."""
    from compiler.hwgraphs import tiny_cnn

    model = tiny_cnn()
    model.set_initializer("conv0_w", random_values(np.random.default_rng(7), "INT4", (6, 8)))
    check_rtl(model, tmp_path, "UINT4")


def test_residual_block_with_keyword_node_names(tmp_path):
    """A fork and a join (nodes named `fork` and `join`, SystemVerilog keywords): the branch FIFO
    given by sizing the graph."""
    from compiler.hwgraphs import residual_block

    check_rtl(residual_block(), tmp_path, "UINT4")
    assert (tmp_path / "rtl" / "layer_fork.sv").exists()


def test_too_shallow_fork_fifo_deadlocks_and_sizing_removes_it(tmp_path):
    """The straight branch of a skewed fork with FIFOs of 2: a deadlock, reported with the full FIFO;
    FIFO sizing finds depths with which the graph runs at its interval, and check_rtl passes."""
    from compiler.hwgraphs import skewed_fork

    model = skewed_fork()
    model.set_tensor_datatype("x", DataType["UINT4"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    frames = np.random.default_rng(0).integers(0, 16, size=(3, 8 * 8 * 2))
    rtl.generate(model, tmp_path / "shallow", BOARD)
    sim = RtlSim(model, tmp_path / "shallow", tmp_path / "shallow_sim", log=lambda *_: None).build()
    with pytest.raises(Deadlock, match=r"Full FIFOs: b \(2/2\)") as deadlock:
        sim.run(frames)
    assert deadlock.value.stats["words_out"] < 3 * 64

    result = size_fifos(model, tmp_path / "sizing", frames, BOARD, log=lambda *_: None)
    assert result.depths["b"] > 8 and result.sized_interval == result.interval
    check_rtl(with_depths(model, result.depths), tmp_path / "sized", "UINT4", deep_fifos=False)
