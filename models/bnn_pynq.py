"""FINN's BNN-PYNQ networks, as Brevitas ships them (brevitas_examples.bnn_pynq), without pretrained
weights (those download from the internet): the MNIST MLPs TFC (3 x 64), SFC (3 x 256) and LFC
(3 x 1024), and the CIFAR-10 CNV (6 conv3x3 + 3 dense), at 1- or 2-bit weights and activations.

Each takes pixels in [0, 1] (it maps them to [-1, 1] itself) and ends in a TensorNorm (a float
scalar affine), so its hardware ends in a TopK(1) label select, as in finn-examples.
"""

# registry name -> brevitas_examples config name. brevitas_examples has no lfc_2w2a.
CONFIGS = {
    "tfc-w1a1": "tfc_1w1a", "tfc-w1a2": "tfc_1w2a", "tfc-w2a2": "tfc_2w2a",
    "sfc-w1a1": "sfc_1w1a", "sfc-w1a2": "sfc_1w2a", "sfc-w2a2": "sfc_2w2a",
    "lfc-w1a1": "lfc_1w1a", "lfc-w1a2": "lfc_1w2a",
    "cnv-w1a1": "cnv_1w1a", "cnv-w1a2": "cnv_1w2a", "cnv-w2a2": "cnv_2w2a",
}
MNIST_SHAPE, CIFAR10_SHAPE = (1, 28, 28), (3, 32, 32)


def input_shape(name):
    return CIFAR10_SHAPE if name.startswith("cnv") else MNIST_SHAPE


def dataset(name):
    return "cifar10" if name.startswith("cnv") else "mnist"


def build(name):
    """The untrained BNN-PYNQ module of registry name `name` (e.g. "tfc-w1a1")."""
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    module, _ = model_with_cfg(CONFIGS[name], pretrained=False)
    return module
