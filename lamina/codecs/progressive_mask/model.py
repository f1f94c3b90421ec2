"""RMPGC networks (seed 001): an 8-channel latent at 1/8 resolution quantised to 5 levels, a mask-conditioned
decoder, and the importance map (SIM + LCM, Otsu blend) that decides where enhancement channels are sent.

Two backbones share the interface (`space`):
- "taef2": the latent is computed from the frozen pretrained TAEF2 latent (32 ch at 1/8) by a small analysis
  head, and the synthesis head predicts a TAEF2 latent that the frozen TAEF2 decoder renders (the GAN decoder
  stand-in: TAEF2's decoder was itself trained adversarially);
- "pixel": the paper's LSGAN backbone at CPU width (encoder c7s1-32, three stride-2 convs 64/128/256,
  decoder 3 ResBlocks at 256 ch and three transposed convs), trained from scratch.
The probe between them is in docs/results/progressive-mask/probe.md.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CODEC = "progressive-mask"
LEVELS = (-2.0, -1.0, 0.0, 1.0, 2.0)
SIGMA = 2.0           # soft-quantiser sharpness (Agustsson et al. 2017, eq. 11 of the paper; not given there)
CHANNELS, BASE = 8, 2  # C and C_b of the paper
BOUND = 2.5            # |z| < BOUND (tanh), half a level beyond the outer levels


class ResBlock(nn.Module):
    def __init__(self, width: int, norm: bool = False):
        super().__init__()
        layers = [nn.Conv2d(width, width, 3, padding=1)]
        if norm:
            layers.append(nn.InstanceNorm2d(width, affine=True))
        layers += [nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, padding=1)]
        if norm:
            layers.append(nn.InstanceNorm2d(width, affine=True))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.body(x)


def _analysis(space: str, width: int) -> nn.Module:
    if space == "taef2":
        return nn.Sequential(nn.Conv2d(32, width, 3, padding=1), nn.ReLU(inplace=True), ResBlock(width),
                             ResBlock(width), nn.Conv2d(width, CHANNELS, 3, padding=1))
    def down(cin, cout):
        return [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.InstanceNorm2d(cout, affine=True),
                nn.ReLU(inplace=True)]
    return nn.Sequential(nn.Conv2d(3, 32, 7, padding=3), nn.InstanceNorm2d(32, affine=True), nn.ReLU(inplace=True),
                         *down(32, 64), *down(64, 128), *down(128, width), nn.Conv2d(width, CHANNELS, 3, padding=1))


def _synthesis(space: str, width: int, conditioned: bool) -> nn.Module:
    cin = CHANNELS + (1 if conditioned else 0)
    if space == "taef2":
        return nn.Sequential(nn.Conv2d(cin, width, 3, padding=1), nn.ReLU(inplace=True), ResBlock(width),
                             ResBlock(width), ResBlock(width), nn.Conv2d(width, 32, 3, padding=1))
    def up(cin, cout):
        return [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
                nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
    return nn.Sequential(nn.Conv2d(cin, width, 3, padding=1), nn.InstanceNorm2d(width, affine=True),
                         nn.ReLU(inplace=True), ResBlock(width, True), ResBlock(width, True), ResBlock(width, True),
                         *up(width, 128), *up(128, 64), *up(64, 32), nn.Conv2d(32, 3, 7, padding=3))


def quantize(z: torch.Tensor, soft: bool = False) -> torch.Tensor:
    """Nearest of LEVELS (eq. 10); with soft=True the forward value is still hard, the gradient is that of
    the soft-to-hard relaxation sum_n softmax(-SIGMA |z - q_n|) q_n (eq. 11)."""
    levels = torch.tensor(LEVELS, dtype=z.dtype, device=z.device)
    hard = z.clamp(LEVELS[0], LEVELS[-1]).round()
    if not soft:
        return hard
    weights = torch.softmax(-SIGMA * (z[..., None] - levels).abs(), dim=-1)
    relaxed = (weights * levels).sum(-1)
    return relaxed + (hard - relaxed).detach()


def channel_variance(z: torch.Tensor) -> torch.Tensor:
    """v of eq. 9: the per-position variance over channels (N x h x w), the latent complexity map."""
    return z.var(1, unbiased=False)


def otsu(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold of a map (maximises the between-class variance of a 64-bin histogram)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return hi
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    p = hist / hist.sum()
    omega = np.cumsum(p)
    centres = (edges[:-1] + edges[1:]) / 2
    mu = np.cumsum(p * centres)
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(edges[int(np.argmax(between[:-1])) + 1])


def importance(sim: np.ndarray | None, lcm: np.ndarray, policy: str = "blend") -> np.ndarray:
    """The importance map I that ranks latent positions (eq. 12): blend = (1 + e)·B + sigmoid(v)·(1 − B) with
    B the Otsu mask of the SIM e; "lcm" = v alone (VRGC); "sim" = e alone."""
    lcm = np.asarray(lcm, dtype=np.float64)
    if policy == "lcm" or sim is None:
        return lcm
    sim = np.asarray(sim, dtype=np.float64)
    if policy == "sim":
        return sim
    b = (sim > otsu(sim)).astype(np.float64)
    return (1 + sim) * b + (1 / (1 + np.exp(-lcm))) * (1 - b)


def top_mask(score: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the `count` highest positions (ties broken by raster order, so it is deterministic)."""
    flat = np.asarray(score, dtype=np.float64).ravel()
    order = np.lexsort((np.arange(flat.size), -flat))
    mask = np.zeros(flat.size, dtype=bool)
    mask[order[:int(count)]] = True
    return mask.reshape(np.shape(score))


def resize_map(values: np.ndarray, h: int, w: int) -> np.ndarray:
    """A map bilinearly resized to h x w (SIM at 7x7 -> latent grid)."""
    t = torch.as_tensor(np.asarray(values, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()


class PMModel(nn.Module):
    """Analysis + synthesis of one variant. `conditioned`: the decoder reads the condition mask U (MPGC-2,
    RMPGC); unconditioned networks (VRGC, MPGC-1) see the masked latent only."""

    def __init__(self, space: str = "taef2", width: int = 128, conditioned: bool = True, variant: str = "rmpgc",
                 residual_steps: tuple = (1.5, 1.0), residual_clip: int = 15):
        super().__init__()
        if space not in ("taef2", "pixel"):
            raise ValueError(f"unknown space {space!r}")
        self.config = {"space": space, "width": width, "conditioned": conditioned, "variant": variant,
                       "residual_steps": list(residual_steps), "residual_clip": residual_clip}
        self.space, self.conditioned = space, conditioned
        self.analysis = _analysis(space, width)
        self.synthesis = _synthesis(space, width, conditioned)

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """z (N x 8 x h x w, continuous, within ±BOUND) from a TAEF2 latent (taef2) or an image in [0, 1]
        (pixel). The soft bound keeps z where the soft quantiser has gradients (beyond the outer levels it has
        none, and z drifted away in the first probe)."""
        z = self.analysis(x if self.space == "taef2" else x * 2 - 1)
        return BOUND * torch.tanh(z / BOUND)

    def decode_latent(self, zq: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """A TAEF2 latent (taef2) or an image in [0, 1] (pixel) from the masked quantised latent and U (N x 1)."""
        inp = torch.cat([zq, condition], 1) if self.conditioned else zq
        out = self.synthesis(inp)
        return out if self.space == "taef2" else (torch.tanh(out) + 1) / 2

    @staticmethod
    def masked(zq: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Base channels everywhere, enhancement channels where U = 1 (zeros elsewhere)."""
        keep = torch.cat([torch.ones_like(zq[:, :BASE]), condition.expand(-1, CHANNELS - BASE, -1, -1)], 1)
        return zq * keep


def save_model(model: PMModel, path: Path, card: dict | None = None) -> bytes:
    """fp16 state dict + config in the zoo format, with the model card beside it."""
    from ... import zoo
    return zoo.save(path, CODEC, model.config, zoo.fp16_parameters(model), card)


def load_model(path: Path) -> tuple[PMModel, bytes]:
    from ... import zoo
    return zoo.load_module(path, CODEC, PMModel)
