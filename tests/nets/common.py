"""What the test nets share: a quick calibration so activations are not degenerate."""
import torch

import models
from models.calibration import calibrate


def calibrated(module, input_shape):
    """(`module` with BatchNorm statistics and quantizer scales set from random frames, in eval mode,
    its input shape): what a `make_model` returns."""
    return calibrate(module, input_shape, batches=3, batch_size=32, signed=True), input_shape


def untrained_tiny():
    """The registry's tiny model, seeded and calibrated, untrained: a checkpoint needs Brevitas'
    initialized activation scales to load."""
    torch.manual_seed(0)
    return calibrate(models.get("tiny").build(), (2, 64), batches=1, signed=True)
