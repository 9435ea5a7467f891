"""Imperial_IPC1 (ITU-ML5G-PS-007 rank 7), RadioML 2018.01A: a conv branch and a float statistics
branch (models.md §4), in the final 5-bit form (w5/a5, last conv w4/a4, inputs 5 bit).

  - statistics branch: `host_features` (32 float features of the frame) -> QuantHardTanh 5 bit,
    signed, constant [-1, 1] -> Linear 32->32 (no bias) + BN + QuantReLU(5);
  - conv branch: AvgPool1d(2) (1024 -> 512) -> QuantHardTanh 5 bit, signed, constant [-2, 2] ->
    7 x [QuantConv1d(k3, s2, p1, no bias) -> BN -> QuantReLU] (64 filters, 512 -> 4 samples) ->
    Flatten 256 -> Linear 256->128 (no bias) + BN + QuantReLU(5);
  - head: Concat (conv 128, statistics 32) -> Linear 160->128 (no bias) + BN + QuantReLU(5) ->
    Linear 128->24 (integer bias).
The training-only auxiliary heads of the original are left out.

Hardware partition (the registry's `imperial` entry is the FPGA part):
  host, before:  the AvgPool1d(2) of the (2, 1024) frame, which is the FPGA input (2, 512); and
                 `host_features` of the frame with the whole statistics branch;
  FPGA:          `ImperialConvBranch`: from the 5-bit input QuantHardTanh through Linear 256->128
                 + BN + QuantReLU(5); it outputs 128 unsigned 5-bit integers and their scale;
  host, after:   the head: Concat with the statistics branch output, Linear 160->128 + BN +
                 QuantReLU(5), Linear 128->24.
The statistics are float (moments, cumulants, a Hilbert transform): they cannot be integer
hardware, and with them on the host the Concat and the head, which need them, go there too.

`ImperialIPC(hardware=False)` is the published model: the Concat drops the quantizers, so Linear
160->128 gets a 32-bit float input. `hardware=True` re-quantizes both Concat operands with one
shared QuantReLU(5), so the head is integer-only too. In an export of `ImperialIPC` the statistics
are one `HostFeatures` node (domain "host"): qonnx's cost lists it as unsupported, i.e. zero cost,
as the published cost (finn-base) did for the float operators.
"""
import brevitas.nn as qnn
from brevitas.quant import Int32Bias
import numpy as np
import torch
from torch import nn

from models.vgg10 import NUM_CLASSES, InputQuantizer

FRAME_LENGTH = 1024
N_FEATURES = 32


class StatsQuantizer(InputQuantizer):
    """Signed quantizer with a fixed [-1, 1] range for the statistics features."""

    min_val = -1.0
    max_val = 1.0


# ---------------------------------------------------------------------------------------------
# Statistics features (host)
# ---------------------------------------------------------------------------------------------

def host_features(x):
    """The 32 statistics features of frames x (N, 2, L) of I/Q samples, as float32 (N, 32):
      [0:8]   mean of I, Q; then their 2nd, 3rd, 4th central moments (I, Q each);
      [8:26]  cumulants C20, C21, C40, C41, C42, C60, C61, C62, C63 of z = I + jQ as (re, im),
              standard definitions over the raw moments Mpq = mean(z^(p-q) conj(z)^q), no roots;
      [26:32] std over time (ddof 1) of the amplitude, unwrapped phase and frequency (diff of the
              phase, 0 first) of the analytic signal of I and of Q, each normalized by its max.
    The original computes the same features (its C42 squares |M20|^2 once more, a slip not copied)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] != 2:
        raise ValueError(f"host_features expects frames of shape (N, 2, L), got {x.shape}")
    return np.concatenate([_moments(x), _cumulants(x[:, 0] + 1j * x[:, 1]), _instantaneous(x)],
                          axis=1).astype(np.float32)


def _moments(x):
    mean = x.mean(axis=-1)
    centered = x - mean[..., None]
    return np.concatenate([mean] + [(centered ** p).mean(axis=-1) for p in (2, 3, 4)], axis=1)


def _cumulants(z):
    def m(p, q):
        return (z ** (p - q) * np.conj(z) ** q).mean(axis=-1)

    m20, m21, m22 = m(2, 0), m(2, 1), m(2, 2)
    m40, m41, m42, m43 = m(4, 0), m(4, 1), m(4, 2), m(4, 3)
    m60, m61, m62, m63 = m(6, 0), m(6, 1), m(6, 2), m(6, 3)
    cumulants = [
        m20,
        m21,
        m40 - 3 * m20 ** 2,
        m41 - 3 * m20 * m21,
        m42 - np.abs(m20) ** 2 - 2 * m21 ** 2,
        m60 - 15 * m20 * m40 + 30 * m20 ** 3,
        m61 - 5 * m21 * m40 - 10 * m20 * m41 + 30 * m20 ** 2 * m21,
        m62 - 6 * m20 * m42 - 8 * m21 * m41 - m22 * m40 + 6 * m20 ** 2 * m22 + 24 * m21 ** 2 * m20,
        m63 - 9 * m21 * m42 + 12 * m21 ** 3 - 3 * m20 * m43 - 3 * m22 * m41 + 18 * m20 * m21 * m22,
    ]
    return np.stack([part for c in cumulants for part in (c.real, c.imag)], axis=1)


def _instantaneous(x):
    """Hilbert transform through the DFT: zero the negative frequencies, double the positive ones."""
    length = x.shape[-1]
    h = np.zeros(length)
    h[0] = h[length // 2] = 1
    h[1:length // 2] = 2
    analytic = np.fft.ifft(np.fft.fft(x, axis=-1) * h, axis=-1)
    amplitude = np.abs(analytic)
    phase = np.unwrap(np.angle(analytic), axis=-1)
    frequency = np.diff(phase, axis=-1, prepend=phase[..., :1])
    stds = [_by_max(v).std(axis=-1, ddof=1) for v in (amplitude, phase, frequency)]
    return np.concatenate(stds, axis=1)


def _by_max(v):
    peak = v.max(axis=-1, keepdims=True)
    return v / np.where(peak == 0, 1, peak)         # an all-zero row stays zero instead of NaN


class HostFeatures(nn.Module):
    """`host_features` inside a module: numpy in eager mode (no gradient needed, nothing before it
    is learned), one opaque `host::HostFeatures` node in an ONNX export."""

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return torch.onnx.ops.symbolic("host::HostFeatures", (x,), dtype=x.dtype,
                                           shape=(x.shape[0], N_FEATURES), version=1)
        return torch.from_numpy(host_features(x.detach().cpu().numpy())).to(x)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

class ImperialConvBranch(nn.Sequential):
    """The FPGA part: (2, 512) (the host's AvgPool1d(2) of a frame) -> 128 features."""

    def __init__(self, filters=64, dense=128, weight_bits=5, act_bits=5, input_bits=5, last_conv_bits=4,
                 n_conv=7, input_length=FRAME_LENGTH // 2):
        if input_length % (2 ** n_conv):
            raise ValueError(f"input_length {input_length} must be divisible by 2**n_conv = {2 ** n_conv}")
        layers = [qnn.QuantHardTanh(act_quant=InputQuantizer, bit_width=input_bits)]
        channels = 2
        for i in range(n_conv):
            last = i == n_conv - 1                          # the last conv is w4, a4
            layers += [
                qnn.QuantConv1d(channels, filters, 3, stride=2, padding=1, bias=False,
                                weight_bit_width=last_conv_bits if last else weight_bits),
                nn.BatchNorm1d(filters),
                qnn.QuantReLU(bit_width=last_conv_bits if last else act_bits),
            ]
            channels = filters
        layers += [
            nn.Flatten(),
            qnn.QuantLinear(filters * (input_length >> n_conv), dense, weight_bit_width=weight_bits, bias=False),
            nn.BatchNorm1d(dense),
            qnn.QuantReLU(bit_width=act_bits, return_quant_tensor=True),
        ]
        super().__init__(*layers)


class ImperialIPC(nn.Module):
    """Both branches and the head: (2, 1024) frames -> 24 class scores."""

    def __init__(self, hardware=True, filters=64, dense=128, bits=5, num_classes=NUM_CLASSES):
        super().__init__()
        self.pool = nn.AvgPool1d(2)
        self.conv_branch = ImperialConvBranch(filters, dense, weight_bits=bits, act_bits=bits, input_bits=bits)
        self.features = HostFeatures()
        self.stats_branch = nn.Sequential(
            qnn.QuantHardTanh(act_quant=StatsQuantizer, bit_width=bits),
            qnn.QuantLinear(N_FEATURES, N_FEATURES, weight_bit_width=bits, bias=False),
            nn.BatchNorm1d(N_FEATURES),
            qnn.QuantReLU(bit_width=bits),
        )
        self.concat_quant = qnn.QuantReLU(bit_width=bits) if hardware else None
        self.head = nn.Sequential(
            qnn.QuantLinear(dense + N_FEATURES, dense, weight_bit_width=bits, bias=False),
            nn.BatchNorm1d(dense),
            qnn.QuantReLU(bit_width=bits, return_quant_tensor=True),
            qnn.QuantLinear(dense, num_classes, weight_bit_width=bits, bias=True, bias_quant=Int32Bias,
                            return_quant_tensor=True),
        )

    def forward(self, x):
        conv = self.conv_branch(self.pool(x))
        conv = getattr(conv, "value", conv)                 # a QuantTensor except during export
        stats = self.stats_branch(self.features(x))
        if self.concat_quant is not None:
            conv, stats = self.concat_quant(conv), self.concat_quant(stats)
        return self.head(torch.cat([conv, stats], dim=1))
