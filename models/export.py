"""Brevitas module -> QONNX graph: the first step of a build, and what the challenge cost is counted on."""
import os
import tempfile


def export_brevitas(module, input_shape):
    """Export a Brevitas module to a QONNX graph (one frame of `input_shape`, batch 1)."""
    import torch
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    module.eval()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = os.path.join(tmp, "export.onnx")
        export_qonnx(module, torch.zeros(1, *input_shape), export_path=tmp_path)
        return cleanup_model(ModelWrapper(tmp_path))
