"""Hierarchical style encoder (pSp-like) and the layered W+ composition of stylegan-scalable (seed 000,
Section III-A, Eqs. 1-6).

A convolutional backbone gives three feature levels F1 (1/4), F2 (1/8), F3 (1/16 of the input side). As in
pSp's feature pyramid, F3 alone maps to the basic layer's styles, F2 + upsampled F3 to the middle layer's and
F1 + upsampled (F2 + F3) to the enhanced layer's, each style through its own map2style block (strided 3x3
convolutions down to 1x1, then an equalised linear layer). The encoder outputs *residual* styles E(x); the
generator sees E(x) + w̄ (Eq. 3), and layer k decodes from {L1, .., Lk, 0, ..} + w̄ (Eqs. 4-6).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InputError
from ...nn.psp import Map2Style

GROUPS_256 = (6, 4, 4)  # basic / middle / enhanced styles of a 256x256 generator (14 = 2·log2(256) - 2)


def _stage(cin, cout, blocks=2):
    layers = [nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.PReLU(cout)]
    for _ in range(blocks - 1):
        layers += [nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.PReLU(cout)]
    return nn.Sequential(*layers)


class HierarchicalStyleEncoder(nn.Module):
    """Image (N x 3 x size x size in [-1, 1]) -> residual W+ styles (N x sum(groups) x dim)."""

    def __init__(self, size: int = 256, dim: int = 512, groups: tuple[int, int, int] = GROUPS_256, width: int = 32):
        super().__init__()
        if size < 64 or size & (size - 1):
            raise InputError(f"style encoder size must be a power of two >= 64, got {size}")
        self.size, self.dim, self.groups = size, dim, tuple(groups)
        c1, c2, c3 = 2 * width, 4 * width, 8 * width
        self.stem = _stage(3, width, 1)          # 1/2
        self.stage1 = _stage(width, c1)          # 1/4   -> F1
        self.stage2 = _stage(c1, c2)             # 1/8   -> F2
        self.stage3 = _stage(c2, c3)             # 1/16  -> F3
        self.lateral2 = nn.Conv2d(c2, c3, 1)
        self.lateral1 = nn.Conv2d(c1, c3, 1)
        s3, s2, s1 = size // 16, size // 8, size // 4
        self.styles = nn.ModuleList(
            [Map2Style(c3, dim, s3) for _ in range(groups[0])] + [Map2Style(c3, dim, s2) for _ in range(groups[1])]
            + [Map2Style(c3, dim, s1) for _ in range(groups[2])])

    @staticmethod
    def _up_add(x, y):
        return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=False) + y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            raise InputError(f"style encoder expects {self.size}x{self.size} inputs, got {tuple(x.shape[-2:])}")
        f1 = self.stage1(self.stem(x))
        f2 = self.stage2(f1)
        f3 = self.stage3(f2)
        p2 = self._up_add(f3, self.lateral2(f2))
        p1 = self._up_add(p2, self.lateral1(f1))
        features = [f3] * self.groups[0] + [p2] * self.groups[1] + [p1] * self.groups[2]
        return torch.stack([block(f) for block, f in zip(self.styles, features)], dim=1)


def layered_w_plus(residual: torch.Tensor, w_avg: torch.Tensor, groups: tuple[int, ...], layers: int) -> torch.Tensor:
    """Eqs. 4-6: W+ for decoding `layers` layers: the first layers' residual styles, zeros for the rest, + w̄."""
    if not 1 <= layers <= len(groups):
        raise InputError(f"layers must be 1..{len(groups)}, got {layers}")
    if residual.shape[1] < sum(groups[:layers]):
        raise InputError(f"{residual.shape[1]} styles given, {sum(groups[:layers])} needed for {layers} layers")
    keep = sum(groups[:layers])
    w = torch.zeros(residual.shape[0], sum(groups), residual.shape[2], dtype=residual.dtype, device=residual.device)
    w[:, :keep] = residual[:, :keep]
    return w + w_avg.reshape(1, 1, -1)
