"""Where a build's model comes from: a registry name, a QONNX/ONNX file, or `file.py:function`.

A Source knows the model's input shape, how to export it to QONNX (with given weights) and, for
PyTorch models, how to compute the integer reference outputs that verification compares against.
Loading one checks it: a file that is not a model, or a shape that contradicts the model, is a
SourceError naming the file and what was expected.
"""
import copy
import importlib.util
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import MissingFileError, UserError


ORIGINAL_NAME = "name in the model file: "       # node doc_string prefix: the node's name before cleanup


class SourceError(UserError):
    """MODEL= or INPUT_SHAPE= does not give a model the flow can take."""


@dataclass
class Source:
    key: str                          # identity of the model for rebuild decisions (with the files' content)
    input_shape: tuple
    files: tuple = ()                 # the files the model is read from (.py or .onnx)
    topk: int = 0
    spec: object = None               # models.ModelSpec of registry models (trainable)
    build_module: callable = None     # () -> torch module, for PyTorch sources
    onnx_path: Path | None = None
    notes: tuple = ()                 # lines for the build log: how the input shape was read
    _loaded: dict = field(default_factory=dict, repr=False, compare=False)   # checkpoint -> registry module

    @property
    def trainable(self):
        return self.spec is not None

    def module(self, checkpoint, log=lambda *_: None):
        """The PyTorch module, with the weights of `checkpoint` if given (a UserError if they do not
        fit); how a team's published weights were imported goes to `log`."""
        if self.spec is not None and checkpoint:
            # a team's file is imported and its added quantizers calibrated (seconds): once per build
            from models.train import load_checkpoint

            stat = Path(checkpoint).stat()
            key = (str(checkpoint), stat.st_mtime_ns, stat.st_size)
            if key not in self._loaded:
                said = []
                self._loaded[key] = load_checkpoint(checkpoint, self.spec, said.append), said
            module, said = self._loaded[key]
            for line in said:
                log(line)
            return copy.deepcopy(module)
        module = self.build_module()
        if checkpoint:
            from models.train import load_weights, read_checkpoint

            load_weights(module, read_checkpoint(checkpoint), checkpoint, self.key)
        return module.eval()

    def export(self, checkpoint):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.util.cleanup import cleanup_model

        from models.export import export_brevitas

        if self.onnx_path:
            model = ModelWrapper(str(self.onnx_path))
            for node in model.graph.node:      # cleanup renames nodes; messages name the file's names too
                if node.name:
                    node.doc_string = f"{ORIGINAL_NAME}{node.name}"
            return cleanup_model(model)
        return export_brevitas(self.module(checkpoint), self.input_shape)

    @property
    def torch_reference(self):
        return None if self.onnx_path else self._torch_reference

    def _torch_reference(self, checkpoint, frames, dtype):
        """PyTorch outputs evaluated in `dtype` (np.float32 or np.float64) and their quantum: the
        output QuantTensor's scale (None if the model returns a plain tensor)."""
        import torch

        module = self.module(checkpoint).to(torch.float64 if dtype == np.float64 else torch.float32)
        with torch.no_grad():
            out = module(torch.from_numpy(np.asarray(frames, dtype=dtype)))
        scale = getattr(out, "scale", None)
        value = getattr(out, "value", out)
        return value.numpy().astype(np.float64), None if scale is None else float(scale.reshape(-1)[0])


    def torch_activations(self, checkpoint, frame):
        """Per activation quantizer, in forward order, for one frame evaluated in float64: its
        integer outputs and how far (in quantization steps) each pre-rounding value was from a
        rounding boundary. Lets verification tell a float rounding flip from a real mismatch."""
        import brevitas.nn as qnn
        import torch

        module = self.module(checkpoint).to(torch.float64)
        records = []

        def hook(layer, inputs, output):
            scale = float(layer.act_quant.scale().reshape(-1)[0])
            pre = inputs[0].detach()
            if isinstance(layer, qnn.QuantReLU):
                pre = torch.relu(pre)
            steps = (pre / scale).reshape(-1).numpy()
            value = getattr(output, "value", output).detach()
            records.append({"ints": np.round(value.reshape(-1).numpy() / scale),
                            "distance": np.abs(steps - np.floor(steps) - 0.5)})

        quantizers = [m for m in module.modules()
                      if isinstance(m, (qnn.QuantReLU, qnn.QuantHardTanh, qnn.QuantIdentity))]
        handles = [m.register_forward_hook(hook) for m in quantizers]
        try:
            with torch.no_grad():
                module(torch.from_numpy(np.asarray(frame, dtype=np.float64)[None]))
        finally:
            for handle in handles:
                handle.remove()
        return records


def parse_shape(value, name="INPUT_SHAPE"):
    """A frame's shape ("2,1024", "2x1024" or a tuple) as a tuple of positive ints; None if not given."""
    if value is None or value == "":
        return None
    if isinstance(value, (tuple, list)):
        parts = [None if isinstance(part, bool) else str(part) for part in value]
    else:
        parts = [part for part in str(value).replace("x", ",").split(",") if part.strip()]
    if not parts or not all(part and part.strip().isdigit() and int(part) > 0 for part in parts):
        raise SourceError(f"{name} {value!r}: expected the shape of one frame as positive integers, e.g. 2,1024")
    return tuple(int(part) for part in parts)


def _shown(shape):
    return ",".join(map(str, shape))


def frame_shape(shape, takes, given):
    """The shape of one frame from `shape` (described as `given` in messages), which may lead with
    a batch dimension of 1, as Brevitas' export_qonnx(input_shape=...) takes it. `takes(frame)`
    says whether the model takes frames of that shape. Returns (frame shape, a note for the log or
    None): a leading 1 that the model rejects is the batch's; where the model takes both readings,
    the shape is one frame, and the note says so."""
    if len(shape) < 2 or shape[0] != 1 or not takes(shape[1:]):
        return shape, None
    if not takes(shape):
        return shape[1:], (f"{given} {_shown(shape)} leads with the batch dimension (as Brevitas' export_qonnx "
                           f"takes it): frames of shape {_shown(shape[1:])}")
    return shape, (f"{given} {_shown(shape)} is read as one frame (the model also takes frames of shape "
                   f"{_shown(shape[1:])}; if {_shown(shape)} includes the batch dimension, give "
                   f"{_shown(shape[1:])})")


def _raised_in(error, path):
    """`error` as a line, with the line of `path` (a user's file) it came from."""
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if Path(frame.filename).resolve() == path.resolve()]
    return f"{type(error).__name__}: {error}" + (f" (line {lines[-1]})" if lines else "")


def _from_python(ref, input_shape):
    import torch

    path, _, function = ref.rpartition(":")
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"MODEL={ref}: model file {path} not found (MODEL=path/to/file.py:function)")
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        raise SourceError(f"MODEL={ref}: running {path} raised {_raised_in(error, path)}") from None
    if not callable(getattr(module, function, None)):
        raise SourceError(f"MODEL={ref}: {path} has no function '{function}'")
    try:
        result = getattr(module, function)()
    except Exception as error:
        raise SourceError(f"MODEL={ref}: {function}() raised {_raised_in(error, path)}") from None
    net, returned_shape = result if isinstance(result, tuple) and len(result) == 2 else (result, None)
    if not isinstance(net, torch.nn.Module):
        raise SourceError(f"MODEL={ref}: {function}() returned {type(result).__name__}; expected a Brevitas "
                          "module (torch.nn.Module), or (module, input_shape)")
    def takes(frame):
        try:
            with torch.no_grad():
                net.eval()(torch.zeros(1, *frame))
            return True
        except Exception:
            return False

    returned = parse_shape(returned_shape, f"the shape {function}() returns")
    declared = returned or parse_shape(getattr(net, "input_shape", None), "the module's input_shape")
    notes = []
    if input_shape:
        input_shape, note = frame_shape(input_shape, takes, "INPUT_SHAPE")
        notes.append(note)
    if declared:
        declared, note = frame_shape(declared, takes, f"the shape {function}() returns" if returned
                                     else "the module's input_shape")
        notes.append(note)
    if input_shape and declared and input_shape != declared:
        raise SourceError(f"INPUT_SHAPE={_shown(input_shape)} contradicts {ref}, whose module takes frames of shape "
                          f"{_shown(declared)}: leave INPUT_SHAPE out, or make them agree")
    shape = input_shape or declared
    if not shape:
        raise SourceError(f"MODEL={ref}: {function}() returned a module without an input shape: return "
                          "(module, (C, L)) or give INPUT_SHAPE=C,L")
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, *shape))
    except Exception as error:
        given = "INPUT_SHAPE" if input_shape else "its declared input shape"
        raise SourceError(f"MODEL={ref}: the module does not take a frame of shape {_shown(shape)} ({given}): "
                          f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}") from None
    return Source(key=ref, input_shape=shape, files=(path,), build_module=lambda: net,
                  notes=tuple(note for note in notes if note))


def _from_onnx(path, input_shape):
    import onnx

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"MODEL={path}: model file not found")
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as error:          # protobuf's decode errors have no common base class
        raise SourceError(f"MODEL={path} is not an ONNX model: it cannot be parsed ({type(error).__name__})") from None
    if not graph.node or not graph.input:
        raise SourceError(f"MODEL={path} is not an ONNX model: it has no graph (an empty or truncated file?)")
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:]     # 0: not fixed

    def takes(frame):
        return len(frame) == len(dims) and all(not d or d == s for d, s in zip(dims, frame))

    notes = ()
    if input_shape:
        input_shape, note = frame_shape(input_shape, takes, "INPUT_SHAPE")
        notes = (note,) if note else ()
    if input_shape and not takes(input_shape):
        shown = ",".join(str(d) if d else "?" for d in dims)
        raise SourceError(f"INPUT_SHAPE={_shown(input_shape)} contradicts {path}, whose graph input takes frames of "
                          f"shape {shown}")
    shape = input_shape or tuple(dims)
    if not shape or 0 in shape:
        raise SourceError(f"MODEL={path}: the graph input has no fixed shape; give INPUT_SHAPE=C,L (one frame)")
    return Source(key=path.name, input_shape=shape, files=(path,), onnx_path=path, notes=notes)


def load_source(config):
    """The Source of config.model; config.input_shape is a tuple (see parse_shape) or None; config.bits a
    bits file (models/bits.py) or None."""
    ref, input_shape = config.model, parse_shape(config.input_shape)
    bits = config.bits
    if bits and (ref.endswith(".onnx") or ".py:" in ref):
        raise SourceError(f"BITS={bits} sets the bit widths of a registry model; MODEL={ref} is a file, whose "
                          "widths are its own")
    if ref.endswith(".onnx"):
        return _from_onnx(ref, input_shape)
    if ".py:" in ref:
        return _from_python(ref, input_shape)
    import models

    spec = models.get(ref)
    if bits:
        from models.bits import with_bits

        spec = with_bits(spec, bits)
    notes = ()
    if input_shape:
        input_shape, note = frame_shape(input_shape, lambda frame: frame == tuple(spec.input_shape), "INPUT_SHAPE")
        notes = (note,) if note else ()
    if input_shape and input_shape != tuple(spec.input_shape):
        raise SourceError(f"INPUT_SHAPE={_shown(input_shape)} contradicts model '{spec.name}', which takes frames of "
                          f"shape {_shown(spec.input_shape)}: leave INPUT_SHAPE out for registry models")
    return Source(key=spec.name, input_shape=tuple(spec.input_shape), topk=spec.topk, spec=spec,
                  build_module=spec.build, files=(Path(bits),) if bits else (), notes=notes)
