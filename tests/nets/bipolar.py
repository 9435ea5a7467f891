"""Bipolar activations with 2-bit weights, so the -1/+1 streams are not turned into XNOR popcounts:
a bipolar input quantizer (the accelerator takes BIPOLAR), 2D convs with sign activations, a max
pool of bipolar values, and a dense layer with a sign output (the accelerator returns BIPOLAR)."""
import brevitas.nn as qnn
import torch
from brevitas.quant import SignedBinaryActPerTensorConst
from torch import nn

from tests.nets.common import calibrated


def sign():
    return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)


class BipolarNet(nn.Sequential):
    def __init__(self):
        super().__init__(
            sign(),
            qnn.QuantConv2d(1, 8, 3, bias=False, weight_bit_width=2), nn.BatchNorm2d(8), sign(),
            nn.MaxPool2d(2),
            qnn.QuantConv2d(8, 8, 3, bias=False, weight_bit_width=2), nn.BatchNorm2d(8), sign(),
            nn.Flatten(),
            qnn.QuantLinear(32, 10, bias=False, weight_bit_width=2), nn.BatchNorm1d(10),
            qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True),
        )


def make_model():
    torch.manual_seed(0)        # the same weights on every call: a test compares two loads
    return calibrated(BipolarNet(), (1, 10, 10))
