"""Statistics without training: BatchNorm running statistics and Brevitas' runtime-statistics
activation scales, from a few forward passes on random frames (or on given ones)."""
import torch


def calibrate(module, input_shape, batches=2, batch_size=8, signed=False, seed=0, frames=None):
    """`module` after `batches` training-mode forward passes on seeded uniform random frames ([-1, 1)
    if `signed`, else [0, 1)), or on consecutive batches of `frames` (at least batches x batch_size,
    e.g. images), in eval mode. Each activation quantizer takes its own scale (a fresh module's all
    start alike) and a checkpoint of it loads; the weights do not change."""
    torch.manual_seed(seed)
    module.train()
    with torch.no_grad():
        for batch in range(batches):
            if frames is not None:
                module(torch.as_tensor(frames[batch * batch_size:(batch + 1) * batch_size]))
                continue
            random = torch.rand(batch_size, *input_shape)
            module(random * 2 - 1 if signed else random)
    return module.eval()
