"""Named models. A spec says how to build the module and what it expects as input."""
from dataclasses import dataclass, field
from typing import Callable

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple          # one frame, without the batch dimension, e.g. (2, 1024)
    description: str
    topk: int = 0               # >0: the hardware ends in a TopK(k) label select instead of raw scores
    dataset: str = "radioml"    # which data source feeds it (radioml: RadioML 2018.01A layout)
    train_snr_min: int = -20    # train only on frames with SNR >= this (dB), as the seed did
    extra: dict = field(default_factory=dict)


def _vgg10(**kwargs):
    from models.vgg10 import VGG10
    return lambda: VGG10(**kwargs)


_SPECS = {s.name: s for s in [
    ModelSpec("vgg10", _vgg10(), (2, 1024),
              "VGG10 challenge baseline: w8a8, 64 conv filters, 128 dense (ITU-ML5G-PS-007 sandbox)"),
    ModelSpec("vgg10-w4a4", _vgg10(filters=32, weight_bits=4, act_bits=4), (2, 1024),
              "VGG10 as in finn-examples: w4a4, 32 conv filters, TopK head", topk=1),
    ModelSpec("tiny", _vgg10(filters=8, dense=16, weight_bits=4, act_bits=4, n_conv=2, input_length=64),
              (2, 64), "Tiny VGG-style test network: 2 convs of 8 filters, w4a4, 64-sample input"),
]}


def names():
    return sorted(_SPECS)


def get(name):
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown model '{name}'; known models: {', '.join(names())} "
                       f"(or pass a .onnx file or path/to/file.py:function)") from None
