"""Graph rewrites that work around known qonnx 1.0.0 / finn-plus 1.6.1 problems.

Each is a small qonnx Transformation named after the problem; the docstring names the symptom, so it
can be deleted once the upstream fix lands.
"""
import numpy as np
from onnx import helper
from qonnx.transformation.base import Transformation
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import get_by_name


class PadMaxPoolDilationsTo2D(Transformation):
    """Change3DTo4DTensors leaves MaxPool with a 1-element `dilations`, so onnxruntime fails with
    "Attribute dilations has incorrect size". Extend it to one entry per spatial axis."""

    def apply(self, model):
        for node in model.get_nodes_by_op_type("MaxPool"):
            dilations = get_by_name(node.attribute, "dilations")
            kernel = get_by_name(node.attribute, "kernel_shape")
            if dilations is not None and len(dilations.ints) < len(kernel.ints):
                padded = list(dilations.ints) + [1] * (len(kernel.ints) - len(dilations.ints))
                node.attribute.remove(dilations)
                node.attribute.append(helper.make_attribute("dilations", padded))
        return model, False


class MakeGraphInputNHWC(Transformation):
    """With an NCHW graph input, a Transpose stays between the first HW layers and
    CreateDataflowPartition fails with "cycle-free graph violated: partition depends on itself".
    Make the graph input NHWC by prepending a Transpose NHWC->NCHW, which streamlining then absorbs
    into the first layer."""

    def apply(self, model):
        graph_in = model.graph.input[0]
        shape = model.get_tensor_shape(graph_in.name)
        if len(shape) != 4 or model.get_tensor_layout(graph_in.name) == ["N", "H", "W", "C"]:
            return model, False
        n, c, h, w = shape
        nchw_name = model.make_new_valueinfo_name()
        model.graph.value_info.append(helper.make_tensor_value_info(nchw_name, graph_in.type.tensor_type.elem_type, shape))
        model.set_tensor_datatype(nchw_name, model.get_tensor_datatype(graph_in.name))
        for consumer in model.find_consumers(graph_in.name):
            for i, name in enumerate(consumer.input):
                if name == graph_in.name:
                    consumer.input[i] = nchw_name
        transpose = helper.make_node("Transpose", [graph_in.name], [nchw_name], perm=[0, 3, 1, 2])
        model.graph.node.insert(0, transpose)
        model.set_tensor_shape(graph_in.name, [n, h, w, c])
        model.set_tensor_layout(graph_in.name, ["N", "H", "W", "C"])
        return model.transform(InferShapes()), False



class SnapIntegerBiases(Transformation):
    """MoveMulPastAdd divides an integer bias (Brevitas Int32Bias: bias = k * scale) by the scale in
    float32, leaving values like 65.00001 or -29856.998 (a few ulps off), which then cannot run as an
    integer add in hardware. Round Add constants on integer streams whose values are all within a
    relative `tol` of integers."""

    def __init__(self, tol=1e-6):
        super().__init__()
        self.tol = tol

    def apply(self, model):
        for node in model.get_nodes_by_op_type("Add"):
            dynamic = [t for t in node.input if model.get_initializer(t) is None]
            constant = [t for t in node.input if model.get_initializer(t) is not None]
            if len(dynamic) != 1 or len(constant) != 1 or not model.get_tensor_datatype(dynamic[0]).is_integer():
                continue
            value = model.get_initializer(constant[0])
            rounded = np.round(value)
            if not np.array_equal(value, rounded) and (np.abs(value - rounded) <= self.tol * np.maximum(1, np.abs(value))).all():
                model.set_initializer(constant[0], rounded.astype(value.dtype))
        return model, False
