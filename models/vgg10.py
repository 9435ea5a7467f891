"""VGG10 RadioML 2018.01A classifier (ITU-ML5G-PS-007 baseline), as a Brevitas module.

Architecture as in the challenge sandbox notebook (models.md §1): an 8-bit input quantizer with a
constant [-2, 2] range, then `n_conv` blocks of QuantConv1d(k=3, p=1, no bias) -> BatchNorm1d ->
QuantReLU -> MaxPool1d(2), Flatten, two QuantLinear+BN+QuantReLU layers and a QuantLinear with an
integer bias producing the 24 class scores. The last layer returns a QuantTensor so that callers can
read the output scale and compare outputs as integers.

Bit widths are one for all layers or per layer (a mixed-precision search's result, compiler/search.py):
`weight_bits` n_conv + 3 (convs, then the three dense layers), `act_bits` n_conv + 2 (the ReLU after each
conv and after the first two dense layers).
"""
from brevitas.inject.defaults import Int8ActPerTensorFloatMinMaxInit
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int32Bias
import brevitas.nn as qnn
from torch import nn

NUM_CLASSES = 24


class InputQuantizer(Int8ActPerTensorFloatMinMaxInit):
    """Signed 8-bit input quantizer with a fixed [-2, 2] range (scale 1/64)."""

    min_val = -2.0
    max_val = 2.0
    scaling_impl_type = ScalingImplType.CONST


def per_layer(bits, count, name):
    """`bits` (one width, or one per layer) as a tuple of `count` widths."""
    if isinstance(bits, int):
        return (bits,) * count
    if len(bits) != count:
        raise ValueError(f"{name}: {count} bit widths expected (one per layer), got {len(bits)}: {list(bits)}")
    return tuple(int(b) for b in bits)


class VGG10(nn.Sequential):
    def __init__(self, filters=64, dense=128, weight_bits=8, act_bits=8, input_bits=8,
                 n_conv=7, input_length=1024, num_classes=NUM_CLASSES):
        if input_length % (2 ** n_conv):
            raise ValueError(f"input_length {input_length} must be divisible by 2**n_conv = {2 ** n_conv}")
        bitw = per_layer(weight_bits, n_conv + 3, "weight_bits")
        bita = per_layer(act_bits, n_conv + 2, "act_bits")
        layers = [qnn.QuantHardTanh(act_quant=InputQuantizer, bit_width=input_bits)]
        channels = 2
        for i in range(n_conv):
            layers += [
                qnn.QuantConv1d(channels, filters, 3, padding=1, weight_bit_width=bitw[i], bias=False),
                nn.BatchNorm1d(filters),
                qnn.QuantReLU(bit_width=bita[i]),
                nn.MaxPool1d(2),
            ]
            channels = filters
        layers += [
            nn.Flatten(),
            qnn.QuantLinear(filters * (input_length >> n_conv), dense, weight_bit_width=bitw[n_conv], bias=False),
            nn.BatchNorm1d(dense),
            qnn.QuantReLU(bit_width=bita[n_conv]),
            qnn.QuantLinear(dense, dense, weight_bit_width=bitw[n_conv + 1], bias=False),
            nn.BatchNorm1d(dense),
            qnn.QuantReLU(bit_width=bita[n_conv + 1], return_quant_tensor=True),
            qnn.QuantLinear(dense, num_classes, weight_bit_width=bitw[n_conv + 2], bias=True,
                            bias_quant=Int32Bias, return_quant_tensor=True),
        ]
        super().__init__(*layers)
