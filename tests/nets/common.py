"""What the pattern nets share: a quick BatchNorm calibration so activations are not degenerate."""
import torch


def calibrated(module, input_shape, batches=3, seed=0):
    """`module` with BatchNorm statistics and quantizer scales set from random inputs, in eval mode."""
    torch.manual_seed(seed)
    module.train()
    with torch.no_grad():
        for _ in range(batches):
            module(torch.randn(32, *input_shape))
    return module.eval(), input_shape
