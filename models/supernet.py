"""The supernet of a mixed-precision search (DeepBurning-MixQ's, compiler/search.py drives it): a registry
model whose every weight layer and activation holds all candidate bit widths at once.

Each weight layer quantizes its weights at every candidate width and uses their mix, weighted by the
softmax of its architecture parameters; each activation (the model's QuantReLUs) likewise mixes its
input quantized at every candidate width. The quantizers are plain PyTorch fake quantizers (per-tensor
max scaling for weights, a learned clip for activations, straight-through rounding), as MixQ's search
uses its own rather than the final network's: only the choice of widths carries over. The network at the
chosen widths is then the registry model itself, trained with Brevitas (models/bits.py).

A model is searchable if it is an nn.Sequential of Brevitas layers with plain convolutions (groups 1),
linear layers, QuantReLUs, and layers without parameters to quantize (BatchNorm, pools, Flatten); its
first quantizer (the input's) is kept at its width.
"""
from dataclasses import dataclass

import brevitas.nn as qnn
import torch
from torch import nn

from models.errors import UserError

ACT_CLIP_INIT = 4.0        # BatchNorm'd activations: a clip at 4 sigma keeps nearly all of them


def _round_ste(x):
    """round(x) forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def quantize_weight(weight, bits):
    """Symmetric per-tensor fake quantization: max |w| at the largest level of `bits` signed bits."""
    levels = 2 ** (bits - 1) - 1
    scale = weight.detach().abs().max().clamp(min=1e-8) / levels
    return _round_ste(weight / scale).clamp(-levels, levels) * scale


def quantize_activation(x, bits, clip):
    """Unsigned fake quantization of ReLU(x) clipped at `clip` (learned, PACT-style) to `bits` bits."""
    levels = 2 ** bits - 1
    y = torch.minimum(torch.relu(x), clip)
    return _round_ste(y / clip * levels) * clip / levels


class Choice(nn.Module):
    """Architecture parameters over candidate widths: softmax weights, and the width now chosen."""

    def __init__(self, candidates):
        super().__init__()
        self.candidates = tuple(candidates)
        self.alpha = nn.Parameter(torch.zeros(len(candidates)))

    def probabilities(self):
        return torch.softmax(self.alpha, 0)

    def chosen(self):
        return self.candidates[int(self.alpha.argmax())]


class MixedWeightLayer(nn.Module):
    """A conv or linear layer whose weights are the mix of their quantizations at the candidate widths;
    `hard` (set at evaluation of the chosen network) takes the chosen width alone."""

    def __init__(self, layer, candidates):
        super().__init__()
        self.layer, self.choice, self.hard = layer, Choice(candidates), False

    def forward(self, x):
        weight = self.layer.weight
        if self.hard:
            mixed = quantize_weight(weight, self.choice.chosen())
        else:
            mixed = sum(p * quantize_weight(weight, b) for p, b in zip(self.choice.probabilities(),
                                                                         self.choice.candidates))
        if isinstance(self.layer, nn.Linear):
            return nn.functional.linear(x, mixed, self.layer.bias)
        return self.layer._conv_forward(x, mixed, self.layer.bias)


class MixedActivation(nn.Module):
    def __init__(self, candidates):
        super().__init__()
        self.choice, self.hard = Choice(candidates), False
        self.clip = nn.Parameter(torch.tensor(ACT_CLIP_INIT))

    def forward(self, x):
        if self.hard:
            return quantize_activation(x, self.choice.chosen(), self.clip)
        return sum(p * quantize_activation(x, b, self.clip) for p, b in zip(self.choice.probabilities(),
                                                                            self.choice.candidates))


@dataclass(frozen=True)
class WeightLayer:
    """What the hardware cost of a weight layer depends on besides widths: its matrix (MW x MH, as FINN's
    MVAU sees it) and how many vectors a frame streams through it; which activations feed it and follow
    it (indices of the searched activations; -1: the fixed input quantizer; None: none, raw scores)."""
    mw: int
    mh: int
    vectors: int
    input_act: int
    output_act: int | None


def _plain(layer):
    """The torch layer of a Brevitas QuantConv/QuantLinear with its weights (and bias), unquantized."""
    if isinstance(layer, qnn.QuantLinear):
        plain = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    else:
        if layer.groups != 1:
            raise UserError(f"the search takes plain convolutions; {type(layer).__name__} has groups={layer.groups}")
        cls = nn.Conv1d if isinstance(layer, qnn.QuantConv1d) else nn.Conv2d
        plain = cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                    layer.dilation, bias=layer.bias is not None)
    plain.load_state_dict({k: v for k, v in layer.state_dict().items() if k in ("weight", "bias")})
    return plain


class Supernet(nn.Module):
    """The supernet of `model` (a searchable registry module) with candidate widths `weight_bits` and
    `act_bits`; `frame_shape` (one frame) gives each weight layer's vector count."""

    def __init__(self, model, weight_bits, act_bits, frame_shape):
        super().__init__()
        if not isinstance(model, nn.Sequential):
            raise UserError(f"the search takes models that are an nn.Sequential of layers; this one is a "
                            f"{type(model).__name__}")
        layers, self.weight_layers, acts = [], [], 0
        self.input_bits, self.input_signed = None, False
        for module in model:
            if isinstance(module, (qnn.QuantConv1d, qnn.QuantConv2d, qnn.QuantLinear)):
                layers.append(MixedWeightLayer(_plain(module), weight_bits))
                self.weight_layers.append([layers[-1], acts - 1])
            elif isinstance(module, qnn.QuantReLU):
                layers.append(MixedActivation(act_bits))
                acts += 1
            elif isinstance(module, (qnn.QuantHardTanh, qnn.QuantIdentity)) and self.input_bits is None and not layers:
                self.input_bits = int(module.act_quant.bit_width())
                self.input_signed = bool(module.act_quant.is_signed)
                layers.append(module)
            elif any(p.numel() for p in module.parameters(recurse=False)) and not isinstance(module, nn.modules.batchnorm._BatchNorm):
                raise UserError(f"the search cannot mix the widths of {type(module).__name__} layers")
            else:
                layers.append(module)
        self.body = nn.Sequential(*layers)
        self.activations = [m for m in layers if isinstance(m, MixedActivation)]
        self._shapes = self._layer_shapes(frame_shape)

    def _layer_shapes(self, frame_shape):
        vectors = {}
        hooks = [m.register_forward_hook(lambda m, i, o: vectors.__setitem__(m, o[0, 0].numel()))
                 for m, _ in self.weight_layers]
        was_training = self.training
        self.eval()
        with torch.no_grad():
            self(torch.zeros(1, *frame_shape))
        self.train(was_training)
        for hook in hooks:
            hook.remove()
        # the activation that follows a weight layer is the next one in the network, unless another
        # weight layer comes first
        order = list(self.body)
        shapes = []
        for k, (mixed, input_act) in enumerate(self.weight_layers):
            follows = order[order.index(mixed) + 1:]
            after = next((m for m in follows if isinstance(m, (MixedActivation, MixedWeightLayer))), None)
            output_act = self.activations.index(after) if isinstance(after, MixedActivation) else None
            layer = mixed.layer
            mw = layer.in_features if isinstance(layer, nn.Linear) else layer.weight[0].numel()
            shapes.append(WeightLayer(mw, layer.weight.shape[0], vectors[mixed], input_act, output_act))
        return shapes

    @property
    def layers(self):
        return self._shapes

    def forward(self, x):
        return self.body(x)

    def architecture_parameters(self):
        return [m.choice.alpha for m, _ in self.weight_layers] + [a.choice.alpha for a in self.activations]

    def weight_parameters(self):
        arch = {id(p) for p in self.architecture_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def weight_probabilities(self):
        return [m.choice.probabilities() for m, _ in self.weight_layers]

    def activation_probabilities(self):
        return [a.choice.probabilities() for a in self.activations]

    def chosen(self):
        """{"bitw": [...], "bita": [...]}: the most probable width of every layer."""
        return {"bitw": [m.choice.chosen() for m, _ in self.weight_layers],
                "bita": [a.choice.chosen() for a in self.activations]}

    def set_hard(self, hard):
        for module in self.body:
            if isinstance(module, (MixedWeightLayer, MixedActivation)):
                module.hard = hard
