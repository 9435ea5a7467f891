"""Named models. A spec says how to build the module and what it expects as input."""
import importlib
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from models.errors import UserError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple          # one frame, without the batch dimension, e.g. (2, 1024)
    description: str
    topk: int = 0               # >0: the hardware ends in a TopK(k) label select instead of raw scores
    dataset: str = "radioml"    # its data: radioml (RadioML 2018.01A layout), mnist, cifar10 or image (3xHxW)
    train_snr_min: int = -20    # train only on frames with SNR >= this (dB), as the seed did
    # model-specific facts: weight_decay (training); for a model that is the FPGA part of another:
    # host_pool (the host averages this many consecutive samples first) and full_model + submodule
    # (the registry model to train, and its submodule holding these weights); for a hardware variant of
    # a challenge team's model: published (the registry model as the team published it)
    extra: dict = field(default_factory=dict)


def _build(module, cls, **kwargs):
    """A builder that imports its module only when called (Brevitas imports are slow); keyword arguments
    given to it override those of the spec (per-layer bit widths: models/bits.py)."""
    def build(**overrides):
        return getattr(importlib.import_module(f"models.{module}"), cls)(**{**kwargs, **overrides})
    return build


def _vgg10(**kwargs):
    return _build("vgg10", "VGG10", **kwargs)


def _bnn_pynq_specs():
    """FINN's BNN-PYNQ networks from brevitas_examples (models/bnn_pynq.py), each with a TopK(1) head."""
    from models import bnn_pynq

    layers = {"tfc": "MLP 784-64-64-64-10", "sfc": "MLP 784-256-256-256-10", "lfc": "MLP 784-1024-1024-1024-10",
              "cnv": "CNV: 6 conv3x3 (64-64-128-128-256-256, 2 max pools) + 512-512-10 dense"}
    for name, config in bnn_pynq.CONFIGS.items():
        family, bits = name.split("-")
        data = "CIFAR-10" if bnn_pynq.dataset(name) == "cifar10" else "MNIST"
        yield ModelSpec(name, _build("bnn_pynq", "build", name=name), bnn_pynq.input_shape(name),
                        f"BNN-PYNQ {family.upper()}-{bits.upper()} ({config} of brevitas_examples), {data}: "
                        f"{layers[family]}", topk=1, dataset=bnn_pynq.dataset(name))


_SPECS = {s.name: s for s in [
    ModelSpec("vgg10", _vgg10(), (2, 1024),
              "VGG10 challenge baseline: w8a8, 64 conv filters, 128 dense (ITU-ML5G-PS-007 sandbox)"),
    ModelSpec("vgg10-w4a4", _vgg10(filters=32, weight_bits=4, act_bits=4), (2, 1024),
              "VGG10 as in finn-examples: w4a4, 32 conv filters, TopK head", topk=1),
    ModelSpec("tiny", _vgg10(filters=8, dense=16, weight_bits=4, act_bits=4, n_conv=2, input_length=64),
              (2, 64), "Tiny VGG-style test network: 2 convs of 8 filters, w4a4, 64-sample input"),
    ModelSpec("bacalhau", _build("bacalhau", "BacalhauNet"), (2, 1024),
              "BacalhauNetV1 (1st place): 5 depthwise-separable blocks, w6a6; residual sums re-quantized",
              train_snr_min=-6, extra={"weight_decay": 1e-4, "published": "bacalhau-faithful"}),
    ModelSpec("bacalhau-faithful", _build("bacalhau", "BacalhauNet", hardware=False), (2, 1024),
              "BacalhauNetV1 as published: residual sums stay float (for the published cost)",
              train_snr_min=-6, extra={"weight_decay": 1e-4}),
    ModelSpec("aaronnet32", _build("aaronnet", "AaronNet"), (2, 1024),
              "AaronNet32: multi-scale conv (33) + 5 depthwise-separable blocks, w6a6; re-quantized "
              "concat and block ends", extra={"published": "aaronnet32-faithful"}),
    ModelSpec("aaronnet32-faithful", _build("aaronnet", "AaronNet", hardware=False), (2, 1024),
              "AaronNet32 as published: float concat and block ends (for the published cost)"),
    ModelSpec("aaronnet48", _build("aaronnet", "AaronNet", msc_filters=48, blocks=(48,) * 5), (2, 1024),
              "AaronNet48: multi-scale conv (48) + 5 depthwise-separable blocks of 48, w6a6; re-quantized "
              "concat and block ends", extra={"published": "aaronnet48-faithful"}),
    ModelSpec("aaronnet48-faithful", _build("aaronnet", "AaronNet", msc_filters=48, blocks=(48,) * 5,
                                            hardware=False), (2, 1024),
              "AaronNet48 as published: float concat and block ends (for the published cost)"),
    # The FPGA part of Imperial_IPC1: the host feeds it the AvgPool1d(2) of each frame and runs the
    # statistics branch and the head (models/imperial.py); its weights are imperial-full's conv_branch.
    ModelSpec("imperial", _build("imperial", "ImperialConvBranch"), (2, 512),
              "Imperial_IPC1 conv branch (the FPGA part): 7 strided convs + Linear 256->128, w5a5 "
              "(last conv w4a4), 5-bit input = AvgPool1d(2) of the frame",
              extra={"host_pool": 2, "full_model": "imperial-full", "submodule": "conv_branch"}),
    ModelSpec("imperial-full", _build("imperial", "ImperialIPC"), (2, 1024),
              "Imperial_IPC1, both branches and the head, statistics on the host; re-quantized concat",
              extra={"published": "imperial-faithful"}),
    ModelSpec("imperial-faithful", _build("imperial", "ImperialIPC", hardware=False), (2, 1024),
              "Imperial_IPC1 as published: float concat (for the published cost)"),
    ModelSpec("vggtiny", _build("mixq", "VGGTiny"), (3, 32, 32),
              "DeepBurning-MixQ VGG-tiny, CIFAR-10: 6 conv3x3 + Linear, bitw 4x6 bita 8,4,4,4,4,4, linear w8a8",
              dataset="cifar10"),
    ModelSpec("ultranet", _build("mixq", "UltraNet"), (3, 160, 320),
              "DeepBurning-MixQ UltraNet, DAC-SDC detection: 8 conv3x3 + conv1x1 64->36, bitw 4x9 "
              "bita 8,4,...", dataset="image"),
    ModelSpec("ultranet-bypass", _build("mixq", "UltraNetBypass"), (3, 160, 320),
              "DeepBurning-MixQ UltraNetBypass, DAC-SDC detection: UltraNet whose conv 3 output is reorganized "
              "(space-to-depth 2x2) and concatenated before conv 7 (320->64), bitw 4x9 bita 8,4,...", dataset="image"),
    ModelSpec("skynet", _build("mixq", "SkyNet"), (3, 160, 320),
              "DeepBurning-MixQ SkyNet, DAC-SDC detection: 6 x (depthwise 3x3 + pointwise 1x1), conv1x1 96->36, "
              "w5 a8", dataset="image"),
    ModelSpec("skynetk5", _build("mixq", "SkyNet", kernel=5), (3, 160, 320),
              "DeepBurning-MixQ SkyNetk5: SkyNet with 5x5 depthwise convs, w5 a8", dataset="image"),
    *_bnn_pynq_specs(),
]}


def names():
    return sorted(_SPECS)


def get(name):
    try:
        return _SPECS[name]
    except KeyError:
        raise UserError(f"unknown model '{name}'; known models: {', '.join(names())} "
                       f"(or pass a .onnx file or path/to/file.py:function)") from None
