"""Hand-built FINN HW graphs (for tests and for the cost model's calibration sweep): single layers or
short chains with given attributes, and random operands for them."""
import numpy as np
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from compiler.hwops import reorg_attrs


def random_values(rng, dtype, shape):
    """Uniform random values of a FINN datatype (BIPOLAR as -1/+1), as float32 like FINN's tensors."""
    if dtype == "BIPOLAR":
        return (2 * rng.integers(0, 2, size=shape) - 1).astype(np.float32)
    dtype = DataType[dtype]
    return rng.integers(dtype.min(), dtype.max() + 1, size=shape).astype(np.float32)


def sorted_thresholds(rng, channels, steps, low, high):
    """Per channel `steps` random thresholds in [low, high), ascending."""
    return np.sort(rng.integers(low, high, size=(channels, steps)), axis=1).astype(np.float32)


def accumulator_span(count, idt, wdt):
    """(low, high) of a sum of `count` products of idt x wdt values; two 1-bit operands (BIPOLAR, or
    BINARY in XNOR mode) count agreeing positions: (0, count)."""
    if idt == wdt and idt in ("BIPOLAR", "BINARY"):
        return 0, count

    def magnitude(name):
        return 1 if name == "BIPOLAR" else max(-DataType[name].min(), DataType[name].max())
    high = count * magnitude(idt) * magnitude(wdt)
    return -high, high


def _domain(op_type):
    suffix = {"_hls": ".hls", "_rtl": ".rtl"}.get(op_type[-4:], "")
    return "finn.custom_op.fpgadataflow" + suffix


def inst(op_type, **attrs):
    """The custom-op instance of a lone node, enough for legal_values()."""
    node = helper.make_node(op_type, ["in"], ["out"], domain=_domain(op_type), backend="fpgadataflow",
                            name=op_type, **attrs)
    return getCustomOp(node)


def layer(op_type, name, params=(), **attrs):
    """One node of chain(): params are (input name suffix, initializer, FINN datatype)."""
    return op_type, name, attrs, params


def chain(*layers):
    """A model of HW layers in a row, each feeding the next."""
    nodes = []
    for i, (op_type, name, attrs, params) in enumerate(layers):
        inputs = [f"t{i}"] + [f"{name}_{suffix}" for suffix, _, _ in params]
        nodes.append(helper.make_node(op_type, inputs, [f"t{i + 1}"], domain=_domain(op_type),
                                      backend="fpgadataflow", name=name, **attrs))
    ishape = getCustomOp(nodes[0]).get_normal_input_shape()
    oshape = getCustomOp(nodes[-1]).get_normal_output_shape()
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, list(ishape))],
        [helper.make_tensor_value_info(f"t{len(nodes)}", TensorProto.FLOAT, list(oshape))])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    for _, name, _, params in layers:
        for suffix, value, dtype in params:
            model.set_initializer(f"{name}_{suffix}", value.astype(np.float32))
            model.set_tensor_datatype(f"{name}_{suffix}", DataType[dtype])
    return model


def reorg(name, h, w, channels, block=2, simd=1, dt="UINT4"):
    """A reorg (space-to-depth by `block` of an NHWC image) as chain() takes it: FINN's Shuffle node
    that compiler.frontend.reorg makes of a SpaceToDepth."""
    return layer("Shuffle", name, data_type=dt, SIMD=simd, **reorg_attrs(h, w, channels, block))


def mvau(name, mw, mh, vecs=(1,), op="MVAU_hls", wdt="INT4", idt="UINT4", thresholds=None, **attrs):
    params = [("w", np.ones((mw, mh)), wdt)]
    if thresholds is None:
        attrs = {"outputDataType": "INT16", "noActivation": 1, **attrs}
    else:
        params.append(("t", thresholds, "INT16"))
    attrs = {"PE": 1, "SIMD": 1, **attrs}
    return layer(op, name, params, MW=mw, MH=mh, inputDataType=idt, weightDataType=wdt,
                 numInputVectors=list(vecs), **attrs)


def swg(name, ifm, k, channels, stride=1, depthwise=0, dt="UINT4"):
    return layer("ConvolutionInputGenerator_rtl", name, IFMDim=[ifm, 1], ConvKernelDim=[k, 1], IFMChannels=channels,
                 OFMDim=[(ifm - k) // stride + 1, 1], Stride=[stride, 1], Dilation=[1, 1], SIMD=1,
                 depthwise=depthwise, inputDataType=dt, outputDataType=dt)


def depthwise_conv(name, rng, ifm, k, channels, pe, simd, parallel, idt, wdt, activation):
    """Depthwise window (SIMD = pe) -> [width converter] -> VVAU (PE, SIMD), random weights and, with
    activation, thresholds to UINT4; the layers of chain()."""
    dilation, stride = [1, 1], [1, 1]
    out = [i - kk + 1 for i, kk in zip(ifm, k)]
    window = layer("ConvolutionInputGenerator_rtl", f"{name}_swg", IFMDim=ifm, OFMDim=out, ConvKernelDim=k,
                   Stride=stride, Dilation=dilation, IFMChannels=channels, SIMD=pe, depthwise=1,
                   parallel_window=parallel, inputDataType=idt, outputDataType=idt)
    kernel, bits = k[0] * k[1], DataType[idt].bitwidth()
    dt = DataType[wdt]
    params = [("w", rng.integers(dt.min(), dt.max() + 1, size=(channels, 1, *k)).astype(np.float32), wdt)]
    attrs = dict(PE=pe, SIMD=simd, Dim=out, Channels=channels, Kernel=k, inputDataType=idt, weightDataType=wdt)
    if activation:
        steps = np.sort(rng.integers(-4 * kernel, 4 * kernel, size=(channels, 15)), axis=1)
        params.append(("t", steps.astype(np.float32), "INT16"))
        attrs.update(outputDataType="UINT4", noActivation=0)
    else:
        attrs.update(outputDataType="INT24", accDataType="INT24", noActivation=1)
    layers = [window]
    in_width, out_width = (kernel if parallel else 1) * pe * bits, simd * pe * bits
    if in_width != out_width:
        shape = [1, *out, kernel * channels]
        layers.append(layer("StreamingDataWidthConverter_hls", f"{name}_dwc", inShape=shape, outShape=shape,
                            inWidth=in_width, outWidth=out_width, dataType=idt))
    return layers + [layer("VVAU_hls", name, params, **attrs)]


def tiny_cnn():
    """A 1D CNN in the shape of the RadioML VGG nets: pad, conv, max-pool, depthwise conv, pointwise conv,
    global pool, top-1."""
    thresholds = np.tile(np.arange(15), (8, 1))
    return chain(
        layer("FMPadding_rtl", "pad0", ImgDim=[32, 1], Padding=[1, 0, 1, 0], NumChannels=2, SIMD=1,
              inputDataType="UINT4"),
        swg("conv0_swg", 34, 3, 2),
        mvau("conv0", 6, 8, vecs=(1, 32, 1), thresholds=thresholds, outputDataType="UINT4"),
        swg("pool0_swg", 32, 2, 8, stride=2, depthwise=1),
        layer("Pool_hls", "pool0", Channels=8, PE=1, KernelSize=[2, 1], Function="MaxPool", OutImgDims=[16, 1],
              InputDataType="UINT4", OutputDataType="UINT4"),
        swg("dw1_swg", 16, 3, 8, depthwise=1),
        layer("VVAU_hls", "dw1", [("w", np.ones((8, 1, 3, 1)), "INT4")], PE=1, SIMD=1, Dim=[14, 1], Channels=8,
              Kernel=[3, 1], inputDataType="UINT4", weightDataType="INT4", outputDataType="INT16", noActivation=1),
        layer("Thresholding_rtl", "act1", [("t", thresholds, "INT16")], NumChannels=8, PE=1, numSteps=15,
              inputDataType="INT16", weightDataType="INT16", outputDataType="UINT4", numInputVectors=[1, 14, 1]),
        mvau("fc2", 8, 4, vecs=(1, 14, 1)),
        layer("GlobalAccPool_hls", "gap", NumChannels=4, PE=1, inputDataType="INT16", numInputVectors=[1, 14, 1]),
        layer("LabelSelect_hls", "top1", Labels=4, PE=1, K=1, inputDataType="INT32", numInputVectors=[1, 1, 1]),
    )


def residual_block(channels=4, vectors=16):
    """A fork and a join as in BacalhauNet: DuplicateStreams -> (pointwise MVAU | Thresholding) ->
    ElementwiseAdd, UINT4 streams of `vectors` x `channels`."""
    vecs, steps = [1, vectors, 1], np.tile(np.arange(15), (channels, 1))
    shape = [1, vectors, 1, channels]

    def node(op_type, name, inputs, outputs, **attrs):
        return helper.make_node(op_type, inputs, outputs, domain=_domain(op_type), backend="fpgadataflow",
                                name=name, **attrs)

    nodes = [
        node("DuplicateStreams_hls", "fork", ["x"], ["a", "b"], NumChannels=channels, NumOutputStreams=2, PE=1,
             inputDataType="UINT4", numInputVectors=vecs),
        node("MVAU_hls", "conv", ["a", "conv_w", "conv_t"], ["c"], MW=channels, MH=channels, PE=1, SIMD=1,
             inputDataType="UINT4", weightDataType="INT4", outputDataType="UINT4", noActivation=0,
             mem_mode="internal_decoupled", numInputVectors=vecs),
        node("Thresholding_hls", "skip", ["b", "skip_t"], ["d"], NumChannels=channels, PE=1, numSteps=15,
             inputDataType="UINT4", weightDataType="UINT5", outputDataType="UINT4", numInputVectors=vecs),
        node("ElementwiseAdd_hls", "join", ["c", "d"], ["y"], lhs_dtype="UINT4", rhs_dtype="UINT4",
             out_dtype="UINT5", lhs_shape=shape, rhs_shape=shape, out_shape=shape),
    ]
    graph = helper.make_graph(nodes, "residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    for name in "abcd":
        model.set_tensor_shape(name, shape)
    for name, value, dtype in [("conv_w", np.ones((channels, channels)), "INT4"), ("conv_t", steps, "INT16"),
                               ("skip_t", steps, "UINT5")]:
        model.set_initializer(name, value.astype(np.float32))
        model.set_tensor_datatype(name, DataType[dtype])
    return model


def vvau(name, rng, dim, k, channels, pe, simd, idt, wdt, odt=None):
    """A lone VVAU (depthwise conv of Kernel k over Dim pixels) with random weights and, with an output
    type odt, random thresholds to it (ActVal its minimum, -1 for BIPOLAR); odt None: the accumulator out."""
    kernel = k[0] * k[1]
    weights = (2 * rng.integers(0, 2, size=(channels, 1, *k)) - 1 if wdt == "BIPOLAR" else
               rng.integers(DataType[wdt].min(), DataType[wdt].max() + 1, size=(channels, 1, *k)))
    params = [("w", weights.astype(np.float32), wdt)]
    attrs = dict(PE=pe, SIMD=simd, Dim=dim, Channels=channels, Kernel=k, inputDataType=idt, weightDataType=wdt)
    low, high = accumulator_span(kernel, idt, wdt)
    acc = "UINT16" if low == 0 else "INT24"
    if odt is None:
        attrs.update(outputDataType=acc, accDataType=acc, noActivation=1)
    else:
        steps = 1 if odt == "BIPOLAR" else DataType[odt].get_num_possible_values() - 1
        thresholds = np.sort(rng.integers(low, high + 1, size=(channels, steps)), axis=1)
        params.append(("t", thresholds.astype(np.float32), "INT16"))
        attrs.update(outputDataType=odt, accDataType=acc, noActivation=0,
                     ActVal=-1 if odt == "BIPOLAR" else int(DataType[odt].min()))
    return layer("VVAU_hls", name, params, **attrs)


def fork_join(shape, input_dtype, branch_dtypes, join_op, seed=0, pe=1, fifo_depth=32, **join_attrs):
    """x -> DuplicateStreams (PE pe, one output per branch) -> branch i: a Thresholding (PE pe, random
    thresholds) to branch_dtypes[i], or straight on for None -> join_op of the branches -> y. Inner
    tensors are `shape`; the join's input FIFOs hold fifo_depth words, enough for the branches' skew.
    (Nodes are named duplicate, act<i>, combine: fork and join are SystemVerilog keywords.)"""
    vecs, channels = list(shape[:-1]), shape[-1]
    rng = np.random.default_rng(seed)

    def node(op_type, name, inputs, outputs, **attrs):
        return helper.make_node(op_type, inputs, outputs, domain=_domain(op_type), backend="fpgadataflow",
                                name=name, **attrs)

    forks = [f"a{i}" for i in range(len(branch_dtypes))]
    nodes = [node("DuplicateStreams_hls", "duplicate", ["x"], forks, NumChannels=channels, NumOutputStreams=len(forks),
                  PE=pe, inputDataType=input_dtype, numInputVectors=vecs)]
    joined, thresholds = [], {}
    low, high = DataType[input_dtype].min(), DataType[input_dtype].max()
    for i, dtype in enumerate(branch_dtypes):
        if dtype is None:
            joined.append(forks[i])
            continue
        steps = DataType[dtype].get_num_possible_values() - 1
        thresholds[f"act{i}_t"] = np.sort(rng.integers(low, high + 1, size=(channels, steps)), axis=1)
        nodes.append(node("Thresholding_hls", f"act{i}", [forks[i], f"act{i}_t"], [f"b{i}"], NumChannels=channels,
                          PE=pe, numSteps=steps, inputDataType=input_dtype, weightDataType="INT16",
                          outputDataType=dtype, ActVal=int(DataType[dtype].min()), numInputVectors=vecs))
        joined.append(f"b{i}")
    join = node(join_op, "combine", joined, ["y"], inFIFODepths=[fifo_depth] * len(joined), **join_attrs)
    out_shape = list(getCustomOp(join).get_normal_output_shape())
    graph = helper.make_graph(nodes + [join], "fork_join",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              value_info=[helper.make_tensor_value_info(t, TensorProto.FLOAT, shape)
                                          for t in dict.fromkeys(forks + joined)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    for name, values in thresholds.items():
        model.set_initializer(name, values.astype(np.float32))
        model.set_tensor_datatype(name, DataType["INT16"])
    return model


def skewed_fork(size=8, channels=2, seed=0):
    """x -> DuplicateStreams -> (3x3 conv: padding, window, MVAU | straight on) -> ElementwiseAdd -> y,
    UINT4 NHWC size x size x channels. The conv branch reads about a row of pixels before its first
    output, so the straight branch's FIFO must hold that many words, or the join starves it of room
    while the conv waits for input: a deadlock with FIFOs of 2."""
    rng = np.random.default_rng(seed)
    shape, padded = [1, size, size, channels], [1, size + 2, size + 2, channels]

    def node(op_type, name, inputs, outputs, **attrs):
        return helper.make_node(op_type, inputs, outputs, domain=_domain(op_type), backend="fpgadataflow",
                                name=name, **attrs)

    nodes = [
        node("DuplicateStreams_hls", "duplicate", ["x"], ["a", "b"], NumChannels=channels, NumOutputStreams=2, PE=1,
             inputDataType="UINT4", numInputVectors=[1, size, size]),
        node("FMPadding_rtl", "pad", ["a"], ["p"], ImgDim=[size, size], Padding=[1, 1, 1, 1], NumChannels=channels,
             SIMD=1, inputDataType="UINT4", numInputVectors=1),
        node("ConvolutionInputGenerator_rtl", "window", ["p"], ["w"], IFMDim=[size + 2, size + 2],
             OFMDim=[size, size], ConvKernelDim=[3, 3], Stride=[1, 1], Dilation=[1, 1], IFMChannels=channels,
             SIMD=1, depthwise=0, inputDataType="UINT4", outputDataType="UINT4"),
        node("MVAU_hls", "conv", ["w", "conv_w", "conv_t"], ["c"], MW=9 * channels, MH=channels, PE=1, SIMD=1,
             inputDataType="UINT4", weightDataType="INT4", outputDataType="UINT4", noActivation=0,
             mem_mode="internal_decoupled", numInputVectors=[1, size, size]),
        node("ElementwiseAdd_hls", "add", ["c", "b"], ["y"], lhs_dtype="UINT4", rhs_dtype="UINT4", out_dtype="UINT5",
             lhs_shape=shape, rhs_shape=shape, out_shape=shape),
    ]
    graph = helper.make_graph(nodes, "skewed_fork", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    for name, tensor_shape in [("a", shape), ("b", shape), ("p", padded), ("c", shape),
                               ("w", [1, size, size, 9 * channels])]:
        model.set_tensor_shape(name, tensor_shape)
    thresholds = np.sort(rng.integers(-60, 60, size=(channels, 15)), axis=1)
    for name, value, dtype in [("conv_w", rng.integers(-8, 8, size=(9 * channels, channels)), "INT4"),
                               ("conv_t", thresholds, "INT16")]:
        model.set_initializer(name, value.astype(np.float32))
        model.set_tensor_datatype(name, DataType[dtype])
    return model
