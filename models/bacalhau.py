"""BacalhauNetV1 (ITU-ML5G-PS-007 1st place), RadioML 2018.01A, as a Brevitas module.

Gold configuration (models.md §2): an 8-bit signed input QuantHardTanh (learned scale initialized
from [-2, 3]), then five depthwise-separable blocks with kernels 27, 21, 15, 9, 9, strides
2, 1, 2, 1, 2 and 24, 24, 48, 48, 48 output channels. Each conv is QuantConv1d(bias=False, w6) ->
BatchNorm1d -> QuantReLU(6): the depthwise one with padding k//2 and groups=C, then a pointwise 1x1.
Blocks 1 and 3 (stride 1, Cin == Cout) add their input to their output. A global max pool over the
last 128 samples, Flatten (48), and a Linear 48->24 (w6, integer bias) behind a signed 8-bit input
quantizer give the 24 class scores.

`hardware=False` is the published model: the residual sum is not re-quantized, so the depthwise
convs of blocks 2 and 4 get a 32-bit float input (that is what the published cost counts: dense
96 933 888 bops, 55 908 weight bits). `hardware=True` (the registry default) differs only at the
two residual adds, so that FINN can streamline them to integers:
  - the skip path goes through the block's own output QuantReLU (the same module as the pointwise
    conv's), so both operands of the add are on one scale;
  - the sum is re-quantized by a new QuantReLU(6) before the next block's depthwise conv.
The max pool is nn.MaxPool1d(128) (Brevitas 0.13 has no QuantMaxPool1d; a max pool of a quantized
tensor is the same either way).
"""
from brevitas.quant import Int8ActPerTensorFloat, Int32Bias
import brevitas.nn as qnn
from torch import nn

from models.vgg10 import NUM_CLASSES

KERNELS = (27, 21, 15, 9, 9)
STRIDES = (2, 1, 2, 1, 2)
CHANNELS = (24, 24, 48, 48, 48)


class SeparableBlock(nn.Module):
    """Depthwise conv + BN + QuantReLU, pointwise conv + BN + QuantReLU, and a residual add when
    the shape is kept (stride 1, Cin == Cout)."""

    def __init__(self, cin, cout, kernel, stride, weight_bits, act_bits, hardware):
        super().__init__()
        self.depthwise = nn.Sequential(
            qnn.QuantConv1d(cin, cin, kernel, stride=stride, padding=kernel // 2, groups=cin,
                            weight_bit_width=weight_bits, bias=False),
            nn.BatchNorm1d(cin),
            qnn.QuantReLU(bit_width=act_bits),
        )
        self.pointwise = nn.Sequential(
            qnn.QuantConv1d(cin, cout, 1, weight_bit_width=weight_bits, bias=False),
            nn.BatchNorm1d(cout),
        )
        self.out_act = qnn.QuantReLU(bit_width=act_bits)
        self.residual = stride == 1 and cin == cout
        self.sum_act = qnn.QuantReLU(bit_width=act_bits) if self.residual and hardware else None

    def forward(self, x):
        y = self.out_act(self.pointwise(self.depthwise(x)))
        if not self.residual:
            return y
        if self.sum_act is None:
            return y + x                                    # published: the sum stays float
        return self.sum_act(y + self.out_act(x))            # one scale for both operands, then requantize


class BacalhauNet(nn.Sequential):
    def __init__(self, hardware=True, kernels=KERNELS, strides=STRIDES, channels=CHANNELS,
                 weight_bits=6, act_bits=6, input_bits=8, fc_bits=6, input_length=1024,
                 num_classes=NUM_CLASSES):
        layers = [qnn.QuantHardTanh(min_val=-2.0, max_val=3.0, bit_width=input_bits)]
        cin, length = 2, input_length
        for kernel, stride, cout in zip(kernels, strides, channels):
            layers.append(SeparableBlock(cin, cout, kernel, stride, weight_bits, act_bits, hardware))
            cin, length = cout, (length + 2 * (kernel // 2) - kernel) // stride + 1
        layers += [
            nn.MaxPool1d(length),                           # global max pool
            nn.Flatten(),
            qnn.QuantLinear(cin, num_classes, weight_bit_width=fc_bits, bias=True,
                            input_quant=Int8ActPerTensorFloat, bias_quant=Int32Bias,
                            return_quant_tensor=True),
        ]
        super().__init__(*layers)
