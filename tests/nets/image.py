"""2D convs in DeepBurning-MixQ's layer order (quantizer at each conv's input, so a MaxPool sits
between a BatchNorm and the next quantizer), mixed activation bit widths, an 8-bit image input
quantizer with scale 1/256 and a 1x1 conv head with an integer bias."""
import brevitas.nn as qnn
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int32Bias, Uint8ActPerTensorFloat
from torch import nn

from tests.nets.common import calibrated


class ImageInputQuantizer(Uint8ActPerTensorFloat):
    """8-bit image input in [0, 1) with scale 1/256 (MixQ's ImageInputQ floors; Brevitas rounds)."""

    scaling_impl_type = ScalingImplType.CONST
    max_val = 255 / 256


class ImageNet(nn.Sequential):
    def __init__(self):
        layers = [qnn.QuantIdentity(act_quant=ImageInputQuantizer)]
        channels = 3
        for filters, act_bits, pool in ((8, None, True), (8, 4, False), (16, 3, True)):
            if act_bits:
                layers.append(qnn.QuantReLU(bit_width=act_bits))
            layers += [qnn.QuantConv2d(channels, filters, 3, padding=1, bias=False, weight_bit_width=4),
                       nn.BatchNorm2d(filters)]
            layers += [nn.MaxPool2d(2)] if pool else []
            channels = filters
        layers += [qnn.QuantReLU(bit_width=4, return_quant_tensor=True),
                   qnn.QuantConv2d(channels, 6, 1, bias=True, weight_bit_width=8, bias_quant=Int32Bias,
                                   return_quant_tensor=True)]
        super().__init__(*layers)


def make_model():
    return calibrated(ImageNet(), (3, 16, 16))
