"""StyleGAN2 generator in pure PyTorch (no custom CUDA ops), with the parameter names of the widely used
rosinality implementation so that its checkpoints load directly (`load_rosinality`).

The prior of the stylegan-scalable codec (seed 000). Generator: mapping network (PixelNorm + EqualLinear layers with
lr multiplier 0.01), constant 4x4 input, modulated/demodulated 3x3 convolutions, per-layer noise injection,
skip toRGB branches with FIR upsampling, two styles per resolution level: n_latent = 2·log2(size) - 2
(14 W+ styles at 256x256). Discriminator: residual blocks with FIR downsampling and minibatch standard
deviation; non-saturating logistic losses and the R1 penalty.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError

BLUR_KERNEL = (1, 3, 3, 1)


def default_channels(channel_multiplier: int = 2) -> dict[int, int]:
    """Channels per resolution of the official configuration."""
    return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * channel_multiplier, 128: 128 * channel_multiplier,
            256: 64 * channel_multiplier, 512: 32 * channel_multiplier, 1024: 16 * channel_multiplier}


def make_kernel(k) -> torch.Tensor:
    k = torch.tensor(k, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad=(0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, FIR-filter, downsample (the reference op, in plain PyTorch)."""
    n, c, h, w = x.shape
    x = x.reshape(n * c, 1, h, w)
    if up > 1:
        x = x.reshape(n * c, 1, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n * c, 1, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    x = x[:, :, max(-p0, 0):x.shape[2] - max(-p1, 0), max(-p0, 0):x.shape[3] - max(-p1, 0)]
    weight = torch.flip(kernel, [0, 1])[None, None].to(x)
    x = F.conv2d(x, weight)
    x = x[:, :, ::down, ::down]
    return x.reshape(n, c, x.shape[2], x.shape[3])


class Blur(nn.Module):
    def __init__(self, kernel, pad, upsample_factor: int = 1):
        super().__init__()
        kernel = make_kernel(kernel)
        if upsample_factor > 1:
            kernel = kernel * upsample_factor ** 2
        self.register_buffer("kernel", kernel)
        self.pad = pad

    def forward(self, x):
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    def __init__(self, kernel, factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor ** 2)
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x):
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate; optional fused bias + leaky ReLU (gain sqrt 2)."""

    def __init__(self, in_dim, out_dim, bias=True, bias_init=0.0, lr_mul=1.0, activation=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.activation = activation
        self.scale = (1 / math.sqrt(in_dim)) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x):
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if self.activation:
            return F.leaky_relu(F.linear(x, self.weight * self.scale) + bias, 0.2) * math.sqrt(2)
        return F.linear(x, self.weight * self.scale, bias)


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


class ModulatedConv2d(nn.Module):
    """Weight modulated by a per-sample style (Eq. 1 of StyleGAN2), demodulated, optionally 2x upsampling."""

    def __init__(self, in_ch, out_ch, kernel_size, style_dim, demodulate=True, upsample=False, blur_kernel=BLUR_KERNEL):
        super().__init__()
        self.eps, self.kernel_size, self.in_ch, self.out_ch = 1e-8, kernel_size, in_ch, out_ch
        self.upsample, self.demodulate = upsample, demodulate
        if upsample:
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.scale = 1 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1)

    def forward(self, x, style):
        n, c, h, w = x.shape
        s = self.modulation(style).view(n, 1, c, 1, 1)
        weight = self.scale * self.weight * s
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + self.eps).view(n, self.out_ch, 1, 1, 1)
        weight = weight.view(n * self.out_ch, c, self.kernel_size, self.kernel_size)
        x = x.reshape(1, n * c, h, w)
        if self.upsample:
            weight = weight.view(n, self.out_ch, c, self.kernel_size, self.kernel_size).transpose(1, 2)
            weight = weight.reshape(n * c, self.out_ch, self.kernel_size, self.kernel_size)
            out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=n)
            out = self.blur(out.view(n, self.out_ch, out.shape[2], out.shape[3]))
            return out
        out = F.conv2d(x, weight, padding=self.padding, groups=n)
        return out.view(n, self.out_ch, out.shape[2], out.shape[3])


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, image, noise=None):
        if noise is None:
            noise = image.new_empty(image.shape[0], 1, image.shape[2], image.shape[3]).normal_()
        return image + self.weight * noise


class ConstantInput(nn.Module):
    def __init__(self, channels, size=4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int):
        return self.input.repeat(batch, 1, 1, 1)


class StyledConv(nn.Module):
    def __init__(self, in_ch, out_ch, kernel_size, style_dim, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, kernel_size, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_ch)

    def forward(self, x, style, noise=None):
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    """1x1 modulated convolution to the output channels (3 for RGB; 32 for a TAEF2-latent prior) + skip."""

    def __init__(self, in_ch, style_dim, upsample=True, out_ch: int = 3):
        super().__init__()
        if upsample:
            self.upsample = Upsample(BLUR_KERNEL)
        self.conv = ModulatedConv2d(in_ch, out_ch, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x, style, skip=None):
        out = self.conv(x, style) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class Generator(nn.Module):
    """StyleGAN2 generator; `forward(w_plus)` maps N x n_latent x style_dim W+ codes to images in about [-1, 1]."""

    def __init__(self, size: int = 256, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 lr_mlp: float = 0.01, channels: dict[int, int] | None = None, out_channels: int = 3):
        super().__init__()
        if size < 4 or size & (size - 1):
            raise InputError(f"StyleGAN2 size must be a power of two >= 4, got {size}")
        self.size, self.style_dim = size, style_dim
        self.channels = dict(channels or default_channels(channel_multiplier))
        self.style = nn.Sequential(PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation=True)
                                                  for _ in range(n_mlp)])
        self.input = ConstantInput(self.channels[4])
        self.conv1 = StyledConv(self.channels[4], self.channels[4], 3, style_dim)
        self.to_rgb1 = ToRGB(self.channels[4], style_dim, upsample=False, out_ch=out_channels)
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.n_latent = self.log_size * 2 - 2
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        self.noises = nn.Module()
        for layer in range(self.num_layers):
            res = (layer + 5) // 2
            self.noises.register_buffer(f"noise_{layer}", torch.randn(1, 1, 2 ** res, 2 ** res))
        in_ch = self.channels[4]
        for i in range(3, self.log_size + 1):
            out_ch = self.channels[2 ** i]
            self.convs.append(StyledConv(in_ch, out_ch, 3, style_dim, upsample=True))
            self.convs.append(StyledConv(out_ch, out_ch, 3, style_dim))
            self.to_rgbs.append(ToRGB(out_ch, style_dim, out_ch=out_channels))
            in_ch = out_ch

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """Z (N x style_dim) -> W (N x style_dim)."""
        return self.style(z)

    @torch.no_grad()
    def mean_latent(self, samples: int = 4096) -> torch.Tensor:
        """w̄, the average W of the mapping network (1 x style_dim)."""
        z = torch.randn(samples, self.style_dim, device=self.input.input.device)
        return self.style(z).mean(0, keepdim=True)

    def forward(self, w_plus: torch.Tensor, randomize_noise: bool = False) -> torch.Tensor:
        """Image from W+ (N x n_latent x style_dim). Fixed noise buffers unless randomize_noise (deterministic decode)."""
        if w_plus.ndim != 3 or w_plus.shape[1:] != (self.n_latent, self.style_dim):
            raise InputError(f"W+ must be N x {self.n_latent} x {self.style_dim}, got {tuple(w_plus.shape)}")
        noise = [None] * self.num_layers if randomize_noise else \
            [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]
        out = self.conv1(self.input(w_plus.shape[0]), w_plus[:, 0], noise=noise[0])
        skip = self.to_rgb1(out, w_plus[:, 1])
        i = 1
        for conv_up, conv, noise_up, noise_same, to_rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2],
                                                              noise[2::2], self.to_rgbs):
            out = conv_up(out, w_plus[:, i], noise=noise_up)
            out = conv(out, w_plus[:, i + 1], noise=noise_same)
            skip = to_rgb(out, w_plus[:, i + 2], skip)
            i += 2
        return skip


class EqualConv2d(nn.Module):
    def __init__(self, in_ch, out_ch, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_ch * kernel_size ** 2)
        self.stride, self.padding = stride, padding
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, bias=self.bias, stride=self.stride, padding=self.padding)


class ScaledLeakyReLU(nn.Module):
    def forward(self, x):
        return F.leaky_relu(x, 0.2) * math.sqrt(2)


class ConvLayer(nn.Sequential):
    """[Blur] + EqualConv2d (stride 2 when downsampling) + [fused bias + leaky ReLU]."""

    def __init__(self, in_ch, out_ch, kernel_size, downsample=False, bias=True, activate=True):
        layers = []
        if downsample:
            p = (len(BLUR_KERNEL) - 2) + (kernel_size - 1)
            layers.append(Blur(BLUR_KERNEL, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_ch, out_ch, kernel_size, stride, padding, bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_ch) if bias else ScaledLeakyReLU())
        super().__init__(*layers)


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = ConvLayer(in_ch, in_ch, 3)
        self.conv2 = ConvLayer(in_ch, out_ch, 3, downsample=True)
        self.skip = ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False, bias=False)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator with minibatch standard deviation (rosinality parameter names)."""

    def __init__(self, size: int = 256, channel_multiplier: int = 2, channels: dict[int, int] | None = None):
        super().__init__()
        if size < 8 or size & (size - 1):
            raise InputError(f"StyleGAN2 discriminator size must be a power of two >= 8, got {size}")
        self.size = size
        channels = dict(channels or default_channels(channel_multiplier))
        convs = [ConvLayer(3, channels[size], 1)]
        in_ch = channels[size]
        for i in range(int(math.log2(size)), 2, -1):
            convs.append(ResBlock(in_ch, channels[2 ** (i - 1)]))
            in_ch = channels[2 ** (i - 1)]
        self.convs = nn.Sequential(*convs)
        self.stddev_group, self.stddev_feat = 4, 1
        self.final_conv = ConvLayer(in_ch + 1, channels[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(channels[4] * 16, channels[4], activation=True),
                                          EqualLinear(channels[4], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.convs(x)
        n, c, h, w = out.shape
        group = min(n, self.stddev_group)
        if n % group:
            raise InputError(f"discriminator batch {n} must be a multiple of {group}")
        std = out.view(group, -1, self.stddev_feat, c // self.stddev_feat, h, w)
        std = torch.sqrt(std.var(0, unbiased=False) + 1e-8).mean([2, 3, 4], keepdim=True).squeeze(2)
        out = torch.cat([out, std.repeat(group, 1, h, w)], 1)
        return self.final_linear(self.final_conv(out).view(n, -1))


def d_logistic_loss(real_pred: torch.Tensor, fake_pred: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss of the discriminator."""
    return F.softplus(-real_pred).mean() + F.softplus(fake_pred).mean()


def g_nonsaturating_loss(fake_pred: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss (the adversarial term of the R-D objective)."""
    return F.softplus(-fake_pred).mean()


def r1_penalty(real_pred: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1: mean over the batch of ||∇_x D(x)||² on real images (weight it by λ_r1 / 2)."""
    (grad,) = torch.autograd.grad(real_pred.sum(), real_images, create_graph=True)
    return grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean()


def _channels_from_state(state: dict) -> tuple[int, dict[int, int], int, int]:
    """(size, channels, style_dim, n_mlp) read off a rosinality generator state dict."""
    style_dim = state["style.1.weight"].shape[1]
    n_mlp = len({k.split(".")[1] for k in state if k.startswith("style.")})
    channels = {4: state["input.input"].shape[1]}
    n_up = len({k.split(".")[1] for k in state if k.startswith("to_rgbs.")})
    for i in range(n_up):
        channels[2 ** (i + 3)] = state[f"convs.{2 * i}.conv.weight"].shape[1]
    return 2 ** (n_up + 2), channels, style_dim, n_mlp


def load_rosinality_discriminator(path: str | os.PathLike, key: str = "d") -> Discriminator:
    """A Discriminator from a rosinality-layout checkpoint ({'d': state, ...})."""
    from ..zoo import read_checkpoint
    path = Path(path)
    data = read_checkpoint(path, "StyleGAN2 discriminator (rosinality layout)")
    state = data.get(key) if isinstance(data, dict) else None
    if not isinstance(state, dict) or "convs.0.0.weight" not in state or "final_conv.0.weight" not in state:
        raise InputError(f"{path} holds no rosinality StyleGAN2 discriminator under {key!r}")
    blocks = len({k.split(".")[1] for k in state if k.startswith("convs.")}) - 1
    size = 2 ** (blocks + 2)
    try:
        channels = {size: state["convs.0.0.weight"].shape[0]}
        for b in range(1, blocks + 1):
            channels[size >> b] = state[f"convs.{b}.conv2.1.weight"].shape[0]
        discriminator = Discriminator(size, channels=channels)
        discriminator.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except (KeyError, RuntimeError) as exc:
        raise InputError(f"{path} does not fit the StyleGAN2 discriminator layout: {str(exc).splitlines()[0][:200]}") from exc
    return discriminator.eval()


def load_rosinality(path: str | os.PathLike, key: str = "g_ema") -> Generator:
    """A Generator from a rosinality-layout checkpoint ({'g_ema': state, ...} or a bare state dict)."""
    from ..zoo import read_checkpoint
    path = Path(path)
    data = read_checkpoint(path, "StyleGAN2 (rosinality layout)")
    state = data.get(key, data) if isinstance(data, dict) else None
    if not isinstance(state, dict) or "style.1.weight" not in state or "input.input" not in state:
        raise InputError(f"{path} is not a rosinality StyleGAN2 generator checkpoint (no {key!r} with style/input keys)")
    try:
        size, channels, style_dim, n_mlp = _channels_from_state(state)
    except (KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"{path} does not fit the StyleGAN2 layout: missing or malformed {exc}") from exc
    generator = Generator(size, style_dim, n_mlp, channels=channels)
    try:
        generator.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as exc:
        raise InputError(f"{path} does not fit the StyleGAN2 layout: {str(exc).splitlines()[0][:200]}") from exc
    return generator.eval()
