"""Verification: every stage of the flow computes exactly what the reference computes.

Outputs are compared as integers: class scores are divided by the output quantum (the scale the
host applies after the accelerator), class indices are compared directly. A cppsim or rtlsim
mismatch is localized to the first layer whose output stream differs from the HW-graph execution.
"""
import copy

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_node, execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import get_preferred_qonnx_opset

from compiler.frontend import split_parent
from models.errors import UserError


# Float outputs divided by the quantum are integers up to float32 noise, which grows with the
# magnitude of the frame's values (w8a8 VGG10 scores reach ~2e5 quanta, where a float32 ulp is ~0.016).
ABS_TOLERANCE, REL_TOLERANCE = 1e-3, 1e-6


class VerificationError(UserError):
    """The model has host ops around the accelerator that verification cannot run."""


def output_quantum(parent):
    """The factor the host multiplies the accelerator's integer output with (1 if none)."""
    _, _, tail = split_parent(parent)
    quantum = 1.0
    for node in tail:
        if node.op_type == "Mul":
            constant = next(parent.get_initializer(t) for t in node.input if parent.get_initializer(t) is not None)
            if np.asarray(constant).size != 1:
                raise VerificationError(f"host op {node.name} multiplies by a non-scalar; cannot derive the output quantum")
            quantum *= float(np.asarray(constant).reshape(-1)[0])
        elif node.op_type not in ("Reshape", "Flatten", "Identity", "Transpose"):
            raise VerificationError(f"host op {node.name} ({node.op_type}) after the accelerator is not supported")
    return quantum


def generic_ops(model):
    """A copy of a specialized HW graph with generic op types (MVAU_hls -> MVAU): FINN executes
    `_hls`/`_rtl` nodes only in cppsim/rtlsim (which need Vitis/Vivado), the generic ones in Python."""
    model = ModelWrapper(copy.deepcopy(model.model))
    for node in model.graph.node:
        for suffix in ("_hls", "_rtl"):
            if node.op_type.endswith(suffix):
                node.op_type = node.op_type[: -len(suffix)]
                if node.domain.endswith("." + suffix[1:]):
                    node.domain = node.domain[: -len(suffix)]
    return model


def run_graph(model, frames):
    """Execute a graph frame by frame with qonnx; frames are shaped like the graph input without batch."""
    name_in, name_out = model.graph.input[0].name, model.graph.output[0].name
    return np.stack([execute(model, {name_in: f[None].astype(np.float32)})[name_out][0] for f in frames])


def execute(model, inputs):
    """qonnx's node-by-node execution (the full context), except that every output takes the shape the
    graph declares for it. FINN's RemoveCNVtoFCFlatten leaves 4D and 2D shapes on the two sides of a
    dropped Flatten (same stream); some layers' Python execution returns their input's shape there, and
    a width converter's rejects any shape but its own."""
    context = model.make_empty_exec_context()
    context.update(inputs)
    opsets = model.get_opset_imports()
    for node in model.graph.node:
        execute_node(node, context, model.graph, opsets.get(node.domain, get_preferred_qonnx_opset()))
        for tensor in node.output:
            shape = model.get_tensor_shape(tensor)
            if shape is not None and context[tensor].size == np.prod(shape):
                context[tensor] = context[tensor].reshape(shape)
    return context


def accelerator_inputs(parent, frames):
    """Run the host ops in front of the accelerator; returns its integer input frames."""
    head, partition, _ = split_parent(parent)
    if not head:
        return np.asarray(frames)
    name_in = parent.graph.input[0].name
    return np.stack([execute_onnx(parent, {name_in: f[None].astype(np.float32)}, return_full_exec_context=True,
                                  end_node=head[-1])[partition.input[0]][0] for f in frames])


def host_outputs(parent, accel_out):
    """Apply the host ops after the accelerator to its output frames."""
    _, partition, tail = split_parent(parent)
    if not tail:
        return np.asarray(accel_out, dtype=np.float64)
    shape = parent.get_tensor_shape(partition.output[0])
    name_out = parent.graph.output[0].name
    return np.stack([execute_onnx(parent, {partition.output[0]: o.reshape(shape).astype(np.float32)},
                                  start_node=tail[0])[name_out][0] for o in accel_out])


def to_stream_order(model, tensor, values):
    """A tensor as the elements of its stream, in order. Differs from the NHWC layout only after a
    depthwise sliding window, which emits channel fold by channel fold."""
    producer = model.find_producer(tensor)
    values = np.asarray(values)
    if producer is not None and producer.op_type.startswith("ConvolutionInputGenerator"):
        inst = getCustomOp(producer)
        if inst.get_nodeattr("depthwise"):
            kh, kw = inst.get_nodeattr("ConvKernelDim")
            channels, simd = inst.get_nodeattr("IFMChannels"), inst.get_nodeattr("SIMD")
            lead = values.shape[:-1]
            values = values.reshape(*lead, kh * kw, channels // simd, simd)
            values = np.swapaxes(values, -3, -2)
    return values.reshape(-1)


# Float evaluations of the model. They can disagree with each other on a frame where a value sits on
# a quantization rounding boundary (float32 vs float64, or another summation order): there either
# integer result is the model's. PyTorch's own float64/float32 pair decides which frames those are;
# without PyTorch, the two float graphs do.
REFERENCE_FAMILIES = (("pytorch", "pytorch_float32"), ("qonnx_export", "finn_onnx"))
# Integer arithmetic from streamlining on: these must agree with each other exactly, always.
INTEGER_CHAIN = ("streamline", "hw_graph", "cppsim", "cppsim_synth", "rtlsim")
# Integer stages that run on the first frames only (the synthesizable loops simulate slowly): each is
# compared with the stage before it, and no stage with it.
PARTIAL_STAGES = ("cppsim_synth",)
# More frames than this share on a rounding boundary (where the reference family's float evaluations
# disagree, or a float32 threshold flipped an activation) is not rounding: something is wrong.
MAX_BOUNDARY_SHARE = 0.2


def too_many_boundary_frames(count, frames):
    """Whether `count` of `frames` frames on a rounding boundary is more than rounding explains (one
    frame always may be)."""
    return count > max(1, MAX_BOUNDARY_SHARE * frames)


def in_form_of(values, like):
    """`values` (scores) as `like` has them: the same scores, or the top-k class indices
    (largest first, lower index first among equal scores, as ONNX TopK)."""
    if values.shape[1] == like.shape[1]:
        return values
    return np.argsort(-values, axis=1, kind="stable")[:, :like.shape[1]]


def as_class_indices(outputs, k):
    """Every stage's outputs (scores or class indices) as its top-k class indices."""
    like = np.zeros((1, k))
    return {name: in_form_of(np.asarray(values).reshape(len(values), -1), like) for name, values in outputs.items()}


def differing_frames(a, b):
    return set(np.nonzero((np.abs(a - b) >= 0.5).any(axis=1))[0].tolist())


def judge(outputs, quantum):
    """Compare every stage's outputs (an ordered dict, the reference first) in output units.

    The integer stages must equal the reference exactly on every frame, except on rounding-boundary
    frames (where the reference family's float evaluations disagree), where they must equal one of
    those evaluations; and they must always agree with each other exactly. The float graph stages are
    float32 evaluations with their own summation order: they are reported, not judged."""
    names = list(outputs)
    family = next([n for n in f if n in outputs] for f in REFERENCE_FAMILIES if f[0] == names[0])
    values = {}
    for name in names:
        out = np.asarray(outputs[name], dtype=np.float64).reshape(len(outputs[name]), -1)
        is_labels = name != names[0] and out.shape[1] != values[names[0]].shape[1]
        # a reported-only float32 graph's large sums may sit further from integers than the tolerance
        judged = name in family or name in INTEGER_CHAIN
        values[name] = out if is_labels else as_integers(name, out, quantum, check=judged)
    reference = values[names[0]]
    boundary = set()
    for name in family[1:]:
        boundary |= differing_frames(in_form_of(values[name], reference), reference)

    stages = []
    for name in names[1:]:
        got = values[name]
        expected = in_form_of(reference[:len(got)], got)     # a partial stage ran the first frames
        mismatched = differing_frames(got, expected)
        unexplained = set() if name not in INTEGER_CHAIN else {
            f for f in mismatched if f not in boundary or all(
                differing_frames(got[[f]], in_form_of(values[n][[f]], got)) for n in family)}
        stages.append({"stage": name, "judged": name in INTEGER_CHAIN, "frames": len(got),
                       "max_abs_diff": float(np.abs(got - expected).max()), "mismatched_frames": sorted(mismatched),
                       "unexplained_frames": sorted(unexplained), "ok": not unexplained})
    chain = [n for n in names if n in INTEGER_CHAIN]
    for i, after in enumerate(chain[1:], 1):
        before = [n for n in chain[:i] if n not in PARTIAL_STAGES][-1]
        got, expected = values[after], values[before][:len(values[after])]
        mismatched = differing_frames(got, expected)
        stages.append({"stage": f"{after}_vs_{before}", "judged": True, "frames": len(got),
                       "max_abs_diff": float(np.abs(got - expected).max()),
                       "mismatched_frames": sorted(mismatched), "unexplained_frames": sorted(mismatched),
                       "ok": not mismatched})
    too_many = too_many_boundary_frames(len(boundary), len(reference))
    # frames on which every integer stage equals the reference exactly (the others sit on a boundary)
    inexact = set().union(*(s["mismatched_frames"] for s in stages if s["stage"] in INTEGER_CHAIN))
    # the reference in whole quanta, as the hardware computes it: a tie goes to the lower class, not to float noise
    rounded = np.round(reference)
    predictions = rounded.argmax(axis=1) if rounded.shape[1] > 1 else rounded[:, 0]
    return {"frames": len(reference), "output_quantum": quantum, "reference": names[0],
            "exact_frames": len(reference) - len(inexact),
            "reference_family": family, "boundary_frames": sorted(boundary), "too_many_boundary_frames": too_many,
            "stages": stages, "predictions": [int(p) for p in predictions],
            "distinct_predictions": len(set(predictions.tolist())),
            "ok": not too_many and all(s["ok"] for s in stages)}


# A float32 threshold (FINN computes them in float32 while streamlining) can flip an activation whose
# exact pre-rounding value lies this close (in quantization steps) to a rounding boundary.
BOUNDARY_STEPS = 1e-3


def explain_by_activations(streamlined, frame_nhwc, torch_activations):
    """Why the integer graph differs from PyTorch on a frame: the first activation quantizer whose
    integer outputs differ (streamlined graph MultiThreshold vs PyTorch quantizer, in order), and how
    close PyTorch's pre-rounding values were to a boundary there. Returns a record with
    `explained` True when every differing value sat within BOUNDARY_STEPS of a boundary."""
    thresholds = [n for n in streamlined.graph.node if n.op_type == "MultiThreshold"]
    if len(thresholds) != len(torch_activations):
        return {"explained": False, "detail": f"{len(thresholds)} MultiThreshold nodes but "
                                              f"{len(torch_activations)} PyTorch activation quantizers"}
    context = execute_onnx(streamlined, {streamlined.graph.input[0].name: frame_nhwc[None].astype(np.float32)},
                           return_full_exec_context=True)
    for index, (node, torch_act) in enumerate(zip(thresholds, torch_activations)):
        graph_values = context[node.output[0]]
        if graph_values.ndim == 4:     # NHWC -> NCHW, PyTorch's order
            graph_values = graph_values.transpose(0, 3, 1, 2)
        graph_values = graph_values.reshape(-1)
        differing = np.nonzero(graph_values != torch_act["ints"])[0]
        if differing.size:
            distance = float(torch_act["distance"][differing].max())
            return {"explained": distance < BOUNDARY_STEPS, "node": node.name, "quantizer_index": index,
                    "differing_values": int(differing.size), "max_distance_to_boundary_steps": distance}
    return {"explained": False, "detail": "every activation agrees; the difference arises after the last one"}


def as_integers(name, values, quantum, check=True):
    """`values` in units of `quantum`; with `check`, they must be integers up to float noise."""
    scaled = np.asarray(values, dtype=np.float64) / quantum
    if not check:
        return scaled
    error = np.abs(scaled - np.round(scaled))
    magnitude = np.abs(scaled).reshape(len(scaled), -1).max(axis=1).reshape(-1, *[1] * (scaled.ndim - 1))
    if (error > ABS_TOLERANCE + REL_TOLERANCE * magnitude).any():
        raise VerificationError(f"{name}: outputs divided by the quantum {quantum:g} are not integers "
                                f"(off by up to {error.max():.3g}); is the output quantized?")
    return scaled


def first_differing_layer(dataflow, frame_input, observed, frame):
    """The first layer (in topological order) whose output stream, as a simulator recorded it for one
    frame (`observed`: tensor -> its elements in stream order), differs from the HW-graph execution of
    `frame_input` (the accelerator's input in stream order). None if every recorded stream agrees."""
    graph_in = dataflow.graph.input[0].name
    context = execute(generic_ops(dataflow),
                      {graph_in: np.asarray(frame_input).reshape(dataflow.get_tensor_shape(graph_in)).astype(np.float32)})
    for node in dataflow.graph.node:
        for tensor in node.output:
            if tensor not in observed:
                continue
            got = np.asarray(observed[tensor]).reshape(-1)
            expected = np.round(to_stream_order(dataflow, tensor, context[tensor]))
            if got.shape != expected.shape:
                detail = f"it produced {got.size} elements, expected {expected.size}"
            elif not np.array_equal(got, expected):
                pos = int(np.nonzero(got != expected)[0][0])
                detail = f"element {pos} of its output is {int(got[pos])}, expected {int(expected[pos])}"
            else:
                continue
            return {"layer": node.name, "op_type": node.op_type, "frame": int(frame), "detail": detail}
    return None


def localize_cppsim_mismatch(dataflow, sim, accel_in, frame):
    """first_differing_layer for a cppsim run of one frame."""
    x = accel_in[frame:frame + 1]
    out, _, dumps = sim.run(x.reshape(1, -1), dump=True)
    observed = {stream.tensor: (out if stream.var == "out0" else dumps[index])[0]
                for index, stream in enumerate(sim.streams) if stream.var == "out0" or index in dumps}
    return first_differing_layer(dataflow, x, observed, frame)


def localize_rtlsim_mismatch(dataflow, sim, accel_in, frame):
    """first_differing_layer for a run of one frame through a stream-recording build of the rtlsim."""
    x = accel_in[frame:frame + 1]
    _, _, dumps = sim.run(x.reshape(1, -1))
    return first_differing_layer(dataflow, x, {tensor: values[0] for tensor, values in dumps.items()}, frame)
