"""A multi-scale stem of three strided conv branches concatenated on channels (AaronNet's pattern,
hardware variant: the branches end in one shared quantizer, so the concat is of integers with one
scale), then a depthwise conv, global max pool and a dense head."""
import brevitas.nn as qnn
import torch
from brevitas.quant import Int32Bias
from torch import nn

from models.vgg10 import InputQuantizer
from tests.nets.common import calibrated


class Branch(nn.Module):
    def __init__(self, kernel, filters, out_act):
        super().__init__()
        self.layers = nn.Sequential(
            qnn.QuantConv1d(2, filters, kernel, stride=4, padding=kernel // 2, bias=False, weight_bit_width=6),
            nn.BatchNorm1d(filters),
            qnn.QuantReLU(bit_width=6),
            qnn.QuantConv1d(filters, filters, 1, bias=False, weight_bit_width=6),
            nn.BatchNorm1d(filters),
            out_act,
        )

    def forward(self, x):
        return self.layers(x)


class MultiBranchNet(nn.Module):
    def __init__(self, filters=4):
        super().__init__()
        self.input_quant = qnn.QuantHardTanh(act_quant=InputQuantizer, bit_width=6)
        shared = qnn.QuantIdentity(bit_width=6, return_quant_tensor=True)
        self.branches = nn.ModuleList([Branch(kernel, filters, shared) for kernel in (8, 6, 4)])
        channels = 3 * filters
        self.depthwise = nn.Sequential(
            qnn.QuantConv1d(channels, channels, 3, padding=1, groups=channels, bias=False, weight_bit_width=6),
            nn.BatchNorm1d(channels),
            qnn.QuantReLU(bit_width=6, return_quant_tensor=True),
            nn.MaxPool1d(17),
        )
        self.fc = qnn.QuantLinear(channels, 24, bias=True, weight_bit_width=6, bias_quant=Int32Bias,
                                  return_quant_tensor=True)

    def forward(self, x):
        x = self.input_quant(x)
        x = torch.cat([branch(x) for branch in self.branches], dim=1)
        return self.fc(torch.flatten(self.depthwise(x), 1))


def make_model():
    return calibrated(MultiBranchNet(), (2, 64))
