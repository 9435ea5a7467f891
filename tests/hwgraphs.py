"""Hand-built FINN HW graphs for tests: single layers or short chains with given attributes."""
import numpy as np
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

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
