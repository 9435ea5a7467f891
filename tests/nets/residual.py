"""Depthwise-separable 1D blocks with a residual add (BacalhauNet's pattern, hardware variant): both
operands of the add come from one shared quantizer (same scale), the sum is re-quantized before the
next depthwise conv; global max pool; an 8-bit input-quantized dense head with an integer bias."""
import brevitas.nn as qnn
import torch
from brevitas.quant import Int8ActPerTensorFloat, Int32Bias
from torch import nn

from models.vgg10 import InputQuantizer
from tests.nets.common import calibrated


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, kernel, stride, out_act):
        super().__init__()
        self.layers = nn.Sequential(
            qnn.QuantConv1d(cin, cin, kernel, stride=stride, padding=kernel // 2, groups=cin, bias=False,
                            weight_bit_width=6),
            nn.BatchNorm1d(cin),
            qnn.QuantReLU(bit_width=6),
            qnn.QuantConv1d(cin, cout, 1, bias=False, weight_bit_width=6),
            nn.BatchNorm1d(cout),
            out_act,
        )

    def forward(self, x):
        return self.layers(x)


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_quant = qnn.QuantHardTanh(act_quant=InputQuantizer, bit_width=8)
        shared = qnn.QuantReLU(bit_width=6, return_quant_tensor=True)
        self.block0 = DepthwiseSeparable(2, 8, 5, 2, shared)
        self.block1 = DepthwiseSeparable(8, 8, 3, 1, shared)
        self.requant = qnn.QuantReLU(bit_width=6)
        self.block2 = DepthwiseSeparable(8, 16, 3, 2, qnn.QuantReLU(bit_width=6))
        self.pool = nn.MaxPool1d(16)
        self.fc = qnn.QuantLinear(16, 24, bias=True, weight_bit_width=6, input_quant=Int8ActPerTensorFloat,
                                  bias_quant=Int32Bias, return_quant_tensor=True)

    def forward(self, x):
        x = self.block0(self.input_quant(x))
        x = self.requant(x + self.block1(x))
        return self.fc(torch.flatten(self.pool(self.block2(x)), 1))


def make_model():
    return calibrated(ResidualNet(), (2, 64))
