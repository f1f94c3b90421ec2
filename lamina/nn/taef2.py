"""TAEF2, the pretrained tiny autoencoder of the FLUX.2 latent space (MIT; weights in
`../shared/data/weights/taef2/`, architecture in that folder's README): an RGB image in [0, 1] of size H x W
<-> a 32 x H/8 x W/8 latent (values roughly N(0, 1)). Its decoder was trained adversarially, so it renders
sharp texture from accurate latents. lamina's face prior generates these latents (lamina.priors.face)."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError

LATENT_CHANNELS = 32
SCALE = 8  # latent side = image side / 8


def _conv(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=bias)


class Block(nn.Module):
    """conv-ReLU-conv-ReLU-conv + identity skip, ReLU; GN blocks first add a pooled 1x1 branch to the input."""

    def __init__(self, channels: int = 64, group_norm: bool = False):
        super().__init__()
        self.conv = nn.Sequential(_conv(channels, channels), nn.ReLU(), _conv(channels, channels), nn.ReLU(),
                                  _conv(channels, channels))
        if group_norm:
            self.pool = nn.Sequential(nn.Conv2d(channels, 4 * channels, 1, bias=False), nn.GroupNorm(4, 4 * channels),
                                      nn.ReLU(), nn.Conv2d(4 * channels, channels, 1, bias=False))
        else:
            self.pool = None
        self.act = nn.ReLU()

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return self.act(self.conv(x) + x)


class Clamp(nn.Module):
    def forward(self, x):
        return torch.tanh(x / 3) * 3


def encoder() -> nn.Sequential:
    """Image in [0, 1] (N x 3 x H x W, H and W multiples of 8) -> latent N x 32 x H/8 x W/8."""
    layers = [_conv(3, 64), Block()]
    for group in range(3):
        layers += [nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)]
        layers += [Block(group_norm=group == 2) for _ in range(3)]
    layers += [_conv(64, LATENT_CHANNELS)]
    return nn.Sequential(*layers)


def decoder() -> nn.Sequential:
    """Latent N x 32 x h x w -> image N x 3 x 8h x 8w (about [0, 1]; clamp for display)."""
    layers = [Clamp(), _conv(LATENT_CHANNELS, 64), nn.ReLU()] + [Block(group_norm=True) for _ in range(3)]
    for blocks in (3, 3, 1):
        layers += [nn.Upsample(scale_factor=2), _conv(64, 64, bias=False)] + [Block() for _ in range(blocks)]
    layers += [_conv(64, 3)]
    return nn.Sequential(*layers)


def weights_dir() -> Path:
    from ..zoo import shared_weights
    return Path(os.environ.get("LAMINA_TAEF2") or shared_weights("taef2"))


def _load(module: nn.Sequential, path: Path) -> nn.Sequential:
    from ..zoo import read_checkpoint
    state = read_checkpoint(path, "TAEF2")
    try:
        module.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, AttributeError) as exc:
        raise InputError(f"{path} does not fit the TAEF2 architecture: {str(exc).splitlines()[0][:200]}") from exc
    return module.eval().requires_grad_(False)


@lru_cache(maxsize=2)
def load_encoder(device: str = "cpu") -> nn.Sequential:
    """The frozen pretrained TAEF2 encoder."""
    return _load(encoder(), weights_dir() / "taef2_encoder.pth").to(device)


@lru_cache(maxsize=2)
def load_decoder(device: str = "cpu") -> nn.Sequential:
    """The frozen pretrained TAEF2 decoder."""
    return _load(decoder(), weights_dir() / "taef2_decoder.pth").to(device)
