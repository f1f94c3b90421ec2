"""codebook-svr's networks and tables (seed 004, SVR), in the pretrained TAEF2 latent space.

- **Codebook** (stand-in for FeMaSR's VQGAN codebook; TAEF2's frozen encoder/decoder stand in for its E^emb and
  E^rec): K codewords over `grid` x `grid` blocks of the 32-channel latent (grid 1: one index per latent position
  = 1/8 of the image side; grid 2: 1/16), learned by k-means on training latents. Codewords are stored in
  descending training frequency, so an index is its frequency rank (the paper's reordering).
- **Index model**: an order-0 adaptive categorical whose prior is the training frequencies (`index_counts`,
  integers, so encoder and decoder build bit-identical tables) — chosen over fixed-length codes, the static
  categorical and the paper's Gaussian mixture on the zig-zag-mapped rank by the measured bits per index
  (lamina.codecs.codebook_svr.indexcoding, docs/results/codebook-svr/).
- **E^LQ**: a small conv net from the decoded low-quality image x^LQ (the input downsampled `factor` x and coded
  by VVC or mean-scale) to features at latent resolution.
- **CFT** (CodeFormer's controllable feature transformation, SVR's eq.): Y_mod = Y_q + α·(β ⊙ Y_q + γ),
  (β, γ) = Θ(concat(Y_q, F_LQ)); α = 0 is the pure codebook reconstruction, α = 1 the trained operating point.
  Applied at the code level only: E^rec (TAEF2's decoder) stays frozen here (CPU), so there are no decoder
  scales to modulate.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import zoo
from ...errors import InputError

CODEC = "codebook-svr"
LATENT = 32


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int | None = None):
        super().__init__()
        cout = cout or cin
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.skip(x) + self.body(x)


class LQEncoder(nn.Module):
    """x^LQ (N x 3 x H/f x W/f in [0, 1]) -> N x width x H/8 x W/8 features."""

    def __init__(self, factor: int, width: int = 64, blocks: int = 3):
        super().__init__()
        downs = int(round(math.log2(8 / factor)))
        if 2 ** downs * factor != 8:
            raise InputError(f"codebook-svr: LQ factor must be 1, 2, 4 or 8, got {factor}")
        layers = [nn.Conv2d(3, width, 3, padding=1), nn.LeakyReLU(0.2)]
        for _ in range(downs):
            layers += [nn.Conv2d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2), ResBlock(width)]
        layers += [ResBlock(width) for _ in range(blocks)]
        self.net = nn.Sequential(*layers)

    def forward(self, lq):
        return self.net(lq * 2 - 1)


class CFT(nn.Module):
    """Θ: concat(Y_q, F_LQ) -> (β, γ); Y_mod = Y_q + α·(β ⊙ Y_q + γ)."""

    def __init__(self, width: int = 64, blocks: int = 2):
        super().__init__()
        self.fuse = nn.Sequential(ResBlock(LATENT + width, width), *[ResBlock(width) for _ in range(blocks - 1)])
        self.scale = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv2d(width, LATENT, 3, padding=1))
        self.shift = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2),
                                   nn.Conv2d(width, LATENT, 3, padding=1))

    def forward(self, yq, features, alpha: float = 1.0):
        h = self.fuse(torch.cat([yq, features], 1))
        return yq + alpha * (self.scale(h) * yq + self.shift(h))


class SVRModel(nn.Module):
    """Codebook + index model + E^LQ + CFT for one fidelity setting (factor, LQ codec, its quality)."""

    def __init__(self, codes: int = 256, grid: int = 2, factor: int = 4, lq_codec: str = "vvc",
                 lq_quality: int = 42, width: int = 64, elq_input: int | None = None):
        super().__init__()
        elq_input = int(factor if elq_input is None else elq_input)
        self.config = dict(codes=int(codes), grid=int(grid), factor=int(factor), lq_codec=str(lq_codec),
                           lq_quality=int(lq_quality), width=int(width), elq_input=elq_input)
        self.grid = int(grid)
        self.register_buffer("codebook", torch.zeros(codes, LATENT * grid * grid))
        self.register_buffer("index_counts", torch.ones(codes, dtype=torch.int64))
        # E^LQ reads x^LQ at 1/elq_input of the image side; an LQ image coded at another factor is resized
        # (bicubic) to that resolution first, so one network serves the 4x and 2x fidelity layers.
        self.elq = LQEncoder(elq_input, width)
        self.cft = CFT(width)

    # -- codebook ---------------------------------------------------------------------------------------------
    def blocks(self, latent: torch.Tensor) -> torch.Tensor:
        """N x 32 x h x w (h, w multiples of grid) -> N x (h/g) x (w/g) x 32g² block vectors."""
        g = self.grid
        return F.pixel_unshuffle(latent, g).permute(0, 2, 3, 1) if g > 1 else latent.permute(0, 2, 3, 1)

    def quantize(self, latent: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """Nearest codeword (L2) of every block: N x h/g x w/g int64 indices (= frequency ranks)."""
        vectors = self.blocks(latent)
        indices, _ = nearest(vectors.reshape(-1, vectors.shape[-1]).float(), self.codebook.float(), chunk)
        return indices.reshape(vectors.shape[:3])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """N x h/g x w/g indices -> Y_q, N x 32 x h x w."""
        vectors = self.codebook.float()[indices].permute(0, 3, 1, 2)
        return F.pixel_shuffle(vectors, self.grid) if self.grid > 1 else vectors

    def index_probabilities(self) -> np.ndarray:
        counts = self.index_counts.double().numpy()
        return counts / counts.sum()

    # -- decoder side -----------------------------------------------------------------------------------------
    def modulate(self, yq: torch.Tensor, lq: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """Y_mod from Y_q and the decoded x^LQ (N x 3 x H/f x W/f in [0, 1]); sizes must align (H = 8h)."""
        side = yq.shape[-2] * 8 // self.config["elq_input"], yq.shape[-1] * 8 // self.config["elq_input"]
        if tuple(lq.shape[-2:]) != side:
            lq = F.interpolate(lq, size=side, mode="bicubic", align_corners=False).clamp(0, 1)
        return self.cft(yq, self.elq(lq), alpha)


def save_model(model: SVRModel, path: Path, card: dict | None = None) -> bytes:
    return zoo.save(path, CODEC, model.config, zoo.fp16_parameters(model), card)


def load_model(path: Path, device: str = "cpu") -> tuple[SVRModel, bytes]:
    model, model_id = zoo.load_module(path, CODEC, SVRModel)
    return model.to(device), model_id


def nearest(vectors: torch.Tensor, book: torch.Tensor, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest codeword (L2) of every row of `vectors` (n x d) and its squared distance, in chunks
    of `chunk` rows (the n x K distance matrix is never held whole)."""
    norms = (book * book).sum(1)
    indices = torch.empty(len(vectors), dtype=torch.int64)
    errors = torch.empty(len(vectors))
    for i in range(0, len(vectors), chunk):
        part = vectors[i:i + chunk]
        best = (norms[None] - 2 * part @ book.T).min(1)
        indices[i:i + chunk], errors[i:i + chunk] = best.indices, best.values + (part * part).sum(1)
    return indices, errors


def kmeans(vectors: torch.Tensor, codes: int, iterations: int = 25, seed: int = 0,
           chunk: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means (k-means++ seeding on a subsample, empty clusters restarted at far points): codebook
    (codes x d) sorted by descending cluster size, and those sizes."""
    g = torch.Generator().manual_seed(seed)
    x = vectors.float()
    sample = x[torch.randperm(len(x), generator=g)[:min(len(x), 20 * codes)]]
    centres = [sample[torch.randint(len(sample), (1,), generator=g)].squeeze(0)]
    dist = ((sample - centres[0]) ** 2).sum(1)
    for _ in range(codes - 1):
        nxt = sample[torch.multinomial(dist / dist.sum(), 1, generator=g)].squeeze(0)
        centres.append(nxt)
        dist = torch.minimum(dist, ((sample - nxt) ** 2).sum(1))
    book = torch.stack(centres)

    for _ in range(iterations):
        idx, err = nearest(x, book, chunk)
        counts = torch.bincount(idx, minlength=codes)
        sums = torch.zeros_like(book).index_add_(0, idx, x)
        alive = counts > 0
        book[alive] = sums[alive] / counts[alive, None]
        dead = (~alive).nonzero().flatten()
        if len(dead):
            book[dead] = x[err.topk(len(dead)).indices]
    idx, _ = nearest(x, book, chunk)
    counts = torch.bincount(idx, minlength=codes)
    order = counts.argsort(descending=True, stable=True)
    return book[order].contiguous(), counts[order]
