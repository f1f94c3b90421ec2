"""pSp's map2style block, shared by stylegan-scalable's hierarchical encoder and the face prior's."""
from __future__ import annotations

import math

import torch
from torch import nn

from .stylegan2 import EqualLinear


class Map2Style(nn.Module):
    """log2(spatial) strided 3x3 convolutions to 1x1, then an equalised linear layer. `normalize` puts a
    PixelNorm before the linear layer, which keeps a fresh encoder's styles O(1) (without it the face prior's
    started at std 0.009 and drowned in the quantisation noise)."""

    def __init__(self, in_ch: int, dim: int, spatial: int, normalize: bool = False):
        super().__init__()
        layers, ch = [], in_ch
        for _ in range(int(math.log2(spatial))):
            layers += [nn.Conv2d(ch, dim, 3, 2, 1), nn.LeakyReLU(0.2)]
            ch = dim
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(dim, dim)
        self.dim, self.normalize = dim, normalize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x).view(-1, self.dim)
        if self.normalize:
            h = h * torch.rsqrt(h.pow(2).mean(1, keepdim=True) + 1e-8)
        return self.linear(h)
