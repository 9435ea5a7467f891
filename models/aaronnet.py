"""AaronNet (Aaronica, ITU-ML5G-PS-007 Grand Finale), RadioML 2018.01A, as a Brevitas module.

Architecture (models.md §3), all weights and activations 6 bit:
  - input: QuantHardTanh, signed, constant [-2, 2] range (VGG10's quantizer at 6 bit);
  - multi-scale conv (MSC): three parallel branches QuantConv1d(2->f, k, stride 4, pad k//2, bias)
    -> BN -> QuantReLU -> QuantConv1d(f->f, 1, bias) -> BN with k = 32, 26, 18 (output length 257),
    concatenated to F = 3f channels;
  - five AaronBlocks: depthwise QuantConv1d(C, C, 3, pad 1, groups C, bias) -> BN -> QuantReLU ->
    pointwise QuantConv1d(C->C', 1, bias) -> BN -> MaxPool1d(2)   (257 -> 128 -> ... -> 8);
  - head: global max pool (AdaptiveMaxPool1d(1) in the original; MaxPool1d(8) here, the same for the
    fixed length) -> Linear C->48 (bias) + BN + QuantReLU -> Linear 48->48 + BN + QuantReLU ->
    Linear 48->24 (integer bias).
AaronNet32: F = 33, blocks 32, 32, 32, 32, 40 (13 302 weights, 1 098 102 MACs);
AaronNet48: F = 48, blocks 48 x 5 (21 200 weights, 2 044 816 MACs).

`hardware=False` is the published model: the MSC branches are concatenated unquantized and the
blocks end without an activation, so every depthwise conv and the first Linear get a 32-bit float
input. `hardware=True` (the registry default) differs in exactly these points:
  - each MSC branch ends in one shared signed QuantIdentity(6) (same scale, same bit width) before
    the Concat;
  - each block ends in a signed QuantIdentity(6) after its BN, before the MaxPool (signed, since the
    original block has no ReLU there);
  - the biases of the convs and Linears that a BN follows are dropped: the BN shift subsumes them,
    and FINN then has no float bias to fold.
"""
import brevitas.nn as qnn
from brevitas.quant import Int32Bias
import torch
from torch import nn

from models.vgg10 import NUM_CLASSES, InputQuantizer

MSC_KERNELS = (32, 26, 18)
MSC_STRIDE = 4


class AaronNet(nn.Module):
    def __init__(self, msc_filters=33, blocks=(32, 32, 32, 32, 40), dense=48, bits=6, hardware=True,
                 input_length=1024, num_classes=NUM_CLASSES):
        super().__init__()
        if msc_filters % len(MSC_KERNELS):
            raise ValueError(f"msc_filters {msc_filters} must be a multiple of {len(MSC_KERNELS)} branches")
        bias = not hardware                                 # hardware: BN absorbs the biases
        branch_filters = msc_filters // len(MSC_KERNELS)
        self.input_quant = qnn.QuantHardTanh(act_quant=InputQuantizer, bit_width=bits)
        self.msc = nn.ModuleList(
            nn.Sequential(
                qnn.QuantConv1d(2, branch_filters, k, stride=MSC_STRIDE, padding=k // 2,
                                weight_bit_width=bits, bias=bias),
                nn.BatchNorm1d(branch_filters),
                qnn.QuantReLU(bit_width=bits),
                qnn.QuantConv1d(branch_filters, branch_filters, 1, weight_bit_width=bits, bias=bias),
                nn.BatchNorm1d(branch_filters),
            )
            for k in MSC_KERNELS)
        self.msc_quant = qnn.QuantIdentity(bit_width=bits) if hardware else None
        block_layers, channels = [], msc_filters
        length = input_length // MSC_STRIDE + 1             # 257 for k//2 padding of even kernels
        for out_channels in blocks:
            block_layers += [
                qnn.QuantConv1d(channels, channels, 3, padding=1, groups=channels, weight_bit_width=bits,
                                bias=bias),
                nn.BatchNorm1d(channels),
                qnn.QuantReLU(bit_width=bits),
                qnn.QuantConv1d(channels, out_channels, 1, weight_bit_width=bits, bias=bias),
                nn.BatchNorm1d(out_channels),
            ]
            if hardware:
                block_layers.append(qnn.QuantIdentity(bit_width=bits))
            block_layers.append(nn.MaxPool1d(2))
            channels, length = out_channels, length // 2
        self.blocks = nn.Sequential(*block_layers)
        self.head = nn.Sequential(
            nn.MaxPool1d(length),                           # global max pool
            nn.Flatten(),
            qnn.QuantLinear(channels, dense, weight_bit_width=bits, bias=bias),
            nn.BatchNorm1d(dense),
            qnn.QuantReLU(bit_width=bits),
            qnn.QuantLinear(dense, dense, weight_bit_width=bits, bias=bias),
            nn.BatchNorm1d(dense),
            qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
            qnn.QuantLinear(dense, num_classes, weight_bit_width=bits, bias=True, bias_quant=Int32Bias,
                            return_quant_tensor=True),
        )

    def forward(self, x):
        x = self.input_quant(x)
        branches = [branch(x) for branch in self.msc]
        if self.msc_quant is not None:
            branches = [self.msc_quant(b) for b in branches]
        return self.head(self.blocks(torch.cat(branches, dim=1)))
