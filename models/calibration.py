"""Statistics without training: BatchNorm running statistics and Brevitas' runtime-statistics
activation scales, from a few forward passes on random frames."""
import torch


def calibrate(module, input_shape, batches=2, batch_size=8, signed=False, seed=0):
    """`module` after `batches` training-mode forward passes on seeded uniform random frames ([-1, 1)
    if `signed`, else [0, 1)), in eval mode. Each activation quantizer takes its own scale (a fresh
    module's all start alike) and a checkpoint of it loads; the weights do not change."""
    torch.manual_seed(seed)
    module.train()
    with torch.no_grad():
        for _ in range(batches):
            frames = torch.rand(batch_size, *input_shape)
            module(frames * 2 - 1 if signed else frames)
    return module.eval()
