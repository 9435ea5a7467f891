"""DeepBurning-MixQ image CNNs (models.md §5) as Brevitas modules: VGG-tiny (CIFAR-10), UltraNet,
UltraNet with its bypass and SkyNet (DAC-SDC object detection).

MixQ's own quantizers are not Brevitas; these modules keep its layer pattern and bit widths with
Brevitas quantizers:
  - image input: 8-bit unsigned with a fixed scale 1/256 (MixQ's ImageInputQ; it floors, Brevitas
    rounds to nearest);
  - weights: QuantConv2d / QuantLinear at the layer's bit width with Brevitas' default per-tensor
    learned-scale quantizer (MixQ: a Gaussian-std-based step);
  - activations: MixQ's HWGQ is unsigned, so it is also the ReLU, and sits at each conv's input:
    here a QuantReLU at the layer's `act_bits`, learned scale (MixQ: a fixed step per bit width).
    It runs right after the previous BatchNorm, ahead of the max pool: a max pool and a monotone
    quantizer commute, and the pool then works on integers, as in MixQ's own hardware model.
Layer pattern: [input quantizer] -> Conv(bias=False) -> BN -> [MaxPool2d(2)]. Both nets are
hardware-friendly as they are (no faithful/hardware split).
"""
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int32Bias, Uint8ActPerTensorFloatMaxInit
import brevitas.nn as qnn
import torch
from torch import nn

VGG_TINY_CHANNELS = (3, 64, 64, 128, 128, 256, 256)
VGG_TINY_POOLS = (1, 3, 5)                              # convs followed by MaxPool2d(2)
ULTRANET_CHANNELS = (3, 16, 32, 64, 64, 64, 64, 64, 64)
ULTRANET_POOLS = (0, 1, 2, 3)
YOLO_HEAD_INPUTS = 36                                   # the YOLO head's input: 6 anchors x 6 values
SKYNET_CHANNELS = (3, 48, 96, 192, 384, 512, 96)
SKYNET_POOLS = (0, 1, 2)                                # blocks followed by MaxPool2d(2)


class ImageInputQuantizer(Uint8ActPerTensorFloatMaxInit):
    """Unsigned image quantizer with a fixed scale: 2**-bits (1/256 at 8 bit) for [0, 1) pixels."""

    max_val = 255 / 256
    scaling_impl_type = ScalingImplType.CONST


def conv3x3_stack(channels, pools, weight_bits, act_bits):
    """The image quantizer, then per conv i: QuantConv2d 3x3 pad 1 (w weight_bits[i]) -> BN ->
    QuantReLU(act_bits[i + 1]) -> MaxPool2d(2) if i is in `pools`. act_bits[0] is the image input;
    act_bits[i + 1] quantizes conv i's output, i.e. the next layer's input (MixQ's bita[i + 1])."""
    n_conv = len(channels) - 1
    if len(weight_bits) != n_conv or len(act_bits) != n_conv + 1:
        raise ValueError(f"{n_conv} convs need {n_conv} weight bit widths and {n_conv + 1} activation bit "
                         f"widths, got {len(weight_bits)} and {len(act_bits)}")
    layers = [qnn.QuantIdentity(act_quant=ImageInputQuantizer, bit_width=act_bits[0],
                                max_val=1 - 2.0 ** -act_bits[0])]
    for i in range(n_conv):
        layers += [
            qnn.QuantConv2d(channels[i], channels[i + 1], 3, padding=1, weight_bit_width=weight_bits[i],
                            bias=False),
            nn.BatchNorm2d(channels[i + 1]),
            # the last one feeds a layer with an integer bias, which needs the input scale
            qnn.QuantReLU(bit_width=act_bits[i + 1], return_quant_tensor=i == n_conv - 1),
        ]
        if i in pools:
            layers.append(nn.MaxPool2d(2))
    return layers


class VGGTiny(nn.Sequential):
    """VGG_tiny_FixQ, CIFAR-10 3x32x32: six 3x3 convs 64, 64, pool, 128, 128, pool, 256, 256, pool,
    Flatten 4096, Linear 4096->10 (bias, w8/a8). Defaults: bitw 4,4,4,4,4,4 and bita 8,4,4,4,4,4
    (bita[0] is the image input); the README's searched example is bitw 8,2,2,2,2,2, bita 8,3,3,3,6,3."""

    def __init__(self, weight_bits=(4, 4, 4, 4, 4, 4), act_bits=(8, 4, 4, 4, 4, 4), linear_bits=8,
                 num_classes=10):
        layers = conv3x3_stack(VGG_TINY_CHANNELS, VGG_TINY_POOLS, weight_bits, tuple(act_bits) + (linear_bits,))
        layers += [
            nn.Flatten(),
            qnn.QuantLinear(VGG_TINY_CHANNELS[-1] * 4 * 4, num_classes, weight_bit_width=linear_bits, bias=True,
                            bias_quant=Int32Bias, return_quant_tensor=True),
        ]
        super().__init__(*layers)


class UltraNet(nn.Sequential):
    """UltraNet_FixQ, DAC-SDC 3x160x320: 3x3 convs 16, pool, 32, pool, 64, pool, 64, pool, then
    4 x 64 at 10x20, then a 1x1 conv 64->36 with bias giving the YOLO head's input (the YOLO decoding,
    6 anchors of (20, 20), runs on the host). Defaults are the "BJTU" bits: bitw 4 x 9,
    bita 8,4,4,4,4,4,4,4,4 (bita[0] is the image input, bita[8] the 1x1 conv's input); "iSmart" is
    bitw 8,4,4,4,4,4,4,4,8."""

    def __init__(self, weight_bits=(4,) * 9, act_bits=(8,) + (4,) * 8):
        n_conv = len(ULTRANET_CHANNELS)                     # eight 3x3 convs and the 1x1
        if len(weight_bits) != n_conv or len(act_bits) != n_conv:
            raise ValueError(f"UltraNet has {n_conv} convs: give {n_conv} weight and {n_conv} activation bit "
                             f"widths, got {len(weight_bits)} and {len(act_bits)}")
        layers = conv3x3_stack(ULTRANET_CHANNELS, ULTRANET_POOLS, weight_bits[:-1], act_bits)
        layers.append(qnn.QuantConv2d(ULTRANET_CHANNELS[-1], YOLO_HEAD_INPUTS, 1, weight_bit_width=weight_bits[-1],
                                      bias=True, bias_quant=Int32Bias, return_quant_tensor=True))
        super().__init__(*layers)


def reorg(x, block=2):
    """MixQ's ReorgLayer: each block x block patch of every channel becomes block**2 channels, output
    channel (i * block + j) * C + c holding input channel c at patch offset (i, j): ONNX SpaceToDepth.
    Written as its definition (Reshape, Transpose, Reshape), the pattern the flow maps to a reorg layer."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // block, block, w // block, block).permute(0, 3, 5, 1, 2, 4)
    return x.reshape(n, c * block * block, h // block, w // block)


class UltraNetBypass(nn.Module):
    """UltraNetBypass_FixQ, DAC-SDC 3x160x320: UltraNet whose conv 3 output (64x20x40) is also
    reorganized to 256x10x20 and concatenated ahead of the pooled branch's convs 4-6 (64x10x20);
    conv 7 (3x3, 320->64) and the 1x1 conv 64->36 (bias) follow. Nine convs, bitw/bita as UltraNet's.
    MixQ quantizes the concat once, at conv 7's input (bita[7]), from floats; here, so that the concat
    joins integers of one scale, one shared QuantReLU at bita[7] quantizes conv 6's output and
    re-quantizes the reorganized conv 3 output (itself quantized at bita[4] for conv 4)."""

    def __init__(self, weight_bits=(4,) * 9, act_bits=(8,) + (4,) * 8):
        super().__init__()
        n_conv = len(ULTRANET_CHANNELS)
        if len(weight_bits) != n_conv or len(act_bits) != n_conv:
            raise ValueError(f"UltraNetBypass has {n_conv} convs: give {n_conv} weight and {n_conv} activation "
                             f"bit widths, got {len(weight_bits)} and {len(act_bits)}")
        # convs 0-6 as UltraNet's; the stack's last activation (conv 6's output, bita[7]) becomes the concat's
        stack = conv3x3_stack(ULTRANET_CHANNELS[:8], ULTRANET_POOLS, weight_bits[:7], act_bits[:8])[:-1]
        last_pool = [i for i, m in enumerate(stack) if isinstance(m, nn.MaxPool2d)][-1]
        self.trunk = nn.Sequential(*stack[:last_pool])          # convs 0-3, the pools after 0-2
        self.branch = nn.Sequential(*stack[last_pool:])         # the pool after conv 3, convs 4-6
        self.concat_quant = qnn.QuantReLU(bit_width=act_bits[7])
        self.head = nn.Sequential(
            qnn.QuantConv2d(4 * ULTRANET_CHANNELS[4] + ULTRANET_CHANNELS[7], ULTRANET_CHANNELS[8], 3, padding=1,
                            weight_bit_width=weight_bits[7], bias=False),
            nn.BatchNorm2d(ULTRANET_CHANNELS[8]),
            qnn.QuantReLU(bit_width=act_bits[8], return_quant_tensor=True),
            qnn.QuantConv2d(ULTRANET_CHANNELS[-1], YOLO_HEAD_INPUTS, 1, weight_bit_width=weight_bits[-1],
                            bias=True, bias_quant=Int32Bias, return_quant_tensor=True))

    def forward(self, x):
        p2 = self.trunk(x)
        joined = torch.cat([self.concat_quant(reorg(p2)), self.concat_quant(self.branch(p2))], dim=1)
        return self.head(joined)


class SkyNet(nn.Sequential):
    """SkyNet_FixQ, DAC-SDC 3x160x320: six blocks of a depthwise kxk conv (groups = channels, pad k//2)
    -> BN -> pointwise 1x1 conv -> BN, channels 3, 48, 96, 192, 384, 512, 96, max pools after blocks 0-2,
    then a 1x1 conv 96->36 without bias (the YOLO head's input, 36x20x40). 13 convs: weight_bits[2b] and
    [2b + 1] are block b's depthwise and pointwise, [12] the head's; act_bits[0] is the image input,
    act_bits[i] conv i's input (MixQ's bita). Defaults w5/a8. kernel=5 is SkyNetk5. Every conv's output
    is quantized by an unsigned QuantReLU, bounded at its scale x (2**bits - 1), as MixQ's ReLU6-style
    HWGQ; models.md's SkyNet_FixQ has no bypass, so neither has this."""

    def __init__(self, kernel=3, weight_bits=(5,) * 13, act_bits=(8,) * 13):
        n_conv = 2 * (len(SKYNET_CHANNELS) - 1) + 1
        if len(weight_bits) != n_conv or len(act_bits) != n_conv:
            raise ValueError(f"SkyNet has {n_conv} convs: give {n_conv} weight and {n_conv} activation bit "
                             f"widths, got {len(weight_bits)} and {len(act_bits)}")
        if kernel not in (3, 5):
            raise ValueError(f"SkyNet's depthwise kernel is 3 (skynet) or 5 (skynetk5), got {kernel}")
        layers = [qnn.QuantIdentity(act_quant=ImageInputQuantizer, bit_width=act_bits[0],
                                    max_val=1 - 2.0 ** -act_bits[0])]
        for b, (cin, cout) in enumerate(zip(SKYNET_CHANNELS, SKYNET_CHANNELS[1:])):
            dw, pw = 2 * b, 2 * b + 1
            layers += [
                qnn.QuantConv2d(cin, cin, kernel, padding=kernel // 2, groups=cin, weight_bit_width=weight_bits[dw],
                                bias=False),
                nn.BatchNorm2d(cin),
                qnn.QuantReLU(bit_width=act_bits[dw + 1]),
                qnn.QuantConv2d(cin, cout, 1, weight_bit_width=weight_bits[pw], bias=False),
                nn.BatchNorm2d(cout),
                # the last one feeds the head, whose quantized output needs the input's scale
                qnn.QuantReLU(bit_width=act_bits[pw + 1], return_quant_tensor=pw + 1 == n_conv - 1),
            ]
            if b in SKYNET_POOLS:
                layers.append(nn.MaxPool2d(2))
        layers.append(qnn.QuantConv2d(SKYNET_CHANNELS[-1], YOLO_HEAD_INPUTS, 1, weight_bit_width=weight_bits[-1],
                                      bias=False, return_quant_tensor=True))
        super().__init__(*layers)
