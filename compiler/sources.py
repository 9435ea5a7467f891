"""Where a build's model comes from: a registry name, a QONNX/ONNX file, or `file.py:function`.

A Source knows the model's input shape, how to export it to QONNX (with given weights) and, for
PyTorch models, how to compute the integer reference outputs that verification compares against.
"""
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class SourceError(ValueError):
    pass


@dataclass
class Source:
    key: str                          # identity of the model for rebuild decisions
    input_shape: tuple
    topk: int = 0
    spec: object = None               # models.ModelSpec of registry models (trainable)
    build_module: callable = None     # () -> torch module, for PyTorch sources
    onnx_path: Path | None = None

    @property
    def trainable(self):
        return self.spec is not None

    def module(self, checkpoint):
        if self.spec is not None and checkpoint:
            from models.train import load_checkpoint

            return load_checkpoint(checkpoint, self.spec)
        module = self.build_module()
        if checkpoint:
            import torch

            module.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True).get("state_dict"))
        return module.eval()

    def export(self, checkpoint):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.util.cleanup import cleanup_model

        from compiler.frontend import export_brevitas

        if self.onnx_path:
            return cleanup_model(ModelWrapper(str(self.onnx_path)))
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


def _shape(text):
    if text is None or isinstance(text, tuple):
        return text
    try:
        return tuple(int(v) for v in str(text).replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise SourceError(f"INPUT_SHAPE '{text}' is not a comma-separated list of integers, e.g. 2,1024") from None


def _from_python(ref, input_shape):
    path, _, function = ref.rpartition(":")
    if not Path(path).is_file():
        raise SourceError(f"model file {path} not found (MODEL=path/to/file.py:function)")
    module_spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not hasattr(module, function):
        raise SourceError(f"{path} has no function '{function}'")
    result = getattr(module, function)()
    net, shape = result if isinstance(result, tuple) else (result, input_shape)
    shape = _shape(input_shape) or _shape(shape) or _shape(getattr(net, "input_shape", None))
    if not shape:
        raise SourceError(f"{ref} returned a module without an input shape: return (module, (C, L)) or "
                          "give INPUT_SHAPE=C,L")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return Source(key=f"{ref}@{digest}", input_shape=tuple(shape), build_module=lambda: result[0]
                  if isinstance(result, tuple) else result)


def _from_onnx(path, input_shape):
    import onnx

    path = Path(path)
    if not path.is_file():
        raise SourceError(f"model file {path} not found")
    graph = onnx.load(str(path), load_external_data=False).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    shape = _shape(input_shape) or tuple(dims[1:])
    if not shape or 0 in shape:
        raise SourceError(f"{path}: the graph input has no fixed shape; give INPUT_SHAPE=C,L (one frame)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Source(key=f"{path.name}@{digest}", input_shape=shape, onnx_path=path)


def load_source(config):
    ref, input_shape = config.model, config.input_shape
    if ref.endswith(".onnx"):
        return _from_onnx(ref, input_shape)
    if ".py:" in ref:
        return _from_python(ref, input_shape)
    import models

    spec = models.get(ref)
    return Source(key=spec.name, input_shape=tuple(spec.input_shape), topk=spec.topk, spec=spec,
                  build_module=spec.build)
