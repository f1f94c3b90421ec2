"""The face codecs' detail residuals (issue 23, probe (d)) in the face prior's TAEF2-latent space: the coarse
residual (the image streams' `enhanced` layer, video's key-frame `detail` layer) and, at the end of this module, the
fine residual over it (the image streams' fourth layer, `detail`).

The prior's generator reproduces pose, expression, colouring and hair from the styles, but not who the person
is (docs/results/face-prior/). The detail layer codes what it misses where the renderer reads it: the residual
r = latent(x) - G(decoded styles) between the face's TAEF2 latent (the frozen TAEF2 encoder) and the latent the
decoder generates from the stream's styles, average-pooled by POOL, shrunk by SHRINK at the encoder, quantised with
a uniform step and clipped to ±CLIP, and added back (nearest upsampling) before the TAEF2 decoder renders the face. Symbols are coded with
lamina.entropy.adaptive: one segment, channel after channel (per-channel segments each pay the start, 4x the
bytes), whose counts start from INITIAL_COUNTS, a distribution fitted on training faces, instead of uniform
(11% fewer bytes on validation faces; integer counts, so identical on every CPU).

The encoder computes G(decoded styles) exactly as the decoder will (the same styles; float rounding between CPUs
moves it by ~1e-6, which only moves pixels, never the symbols' decoding). Payload: the range-coder bytes.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ..entropy import adaptive
from ..errors import BitstreamError, InputError

POOL = 2
CLIP = 15
ALPHABET = 2 * CLIP + 1
STEP_UNIT = 1 / 16  # the codec header stores the step as a multiple of this (varint)
# Starting counts of the symbols -CLIP..CLIP: the histogram of the step-1.0 symbols of 240 training faces (every
# 70th face of the `faces` training split, 120 each through stylegan-scalable q1 and latent-flow q4), scaled to
# about 1024, at least 1 (benchmarks/face_prior/detail_probe.py --fit-initial).
INITIAL_COUNTS = np.ones(ALPHABET, dtype=np.int64)
INITIAL_COUNTS[CLIP - 1:CLIP + 2] = (57, 909, 58)
# The fine layer's (below): the histogram of its step-2.0 symbols on the same training faces, scaled the same way
# (benchmarks/face_prior/detail_probe.py --fit-initial --fine 2.0).
FINE_INITIAL_COUNTS = np.ones(ALPHABET, dtype=np.int64)
FINE_INITIAL_COUNTS[CLIP - 1:CLIP + 2] = (25, 974, 24)


# The encoder codes SHRINK x the pooled residual (the decoder does not know: it adds symbol x step). A full
# correction (1.0) of the prior's latent toward the TAEF2 encoder's, in 2x2 block means, left a haze that moved
# landmarks (validation faces, prior v3, stylegan-scalable q1: NME 0.0291 against the style layers' 0.0280); 0.75
# keeps landmarks better than the style layers (0.0274) at 74% of the bytes, identity kept 90.6% (1.0: 96.9%),
# LPIPS 0.194 (0.189). Chosen on the 64 validation faces (docs/results/face-prior/probe-v2.md, "shrink").
SHRINK = 0.75


def step_code(step: float) -> int:
    """The header's integer for a quantisation step (a positive multiple of STEP_UNIT)."""
    code = int(round(step / STEP_UNIT))
    if code < 1 or abs(code * STEP_UNIT - step) > 1e-9:
        raise InputError(f"detail step must be a positive multiple of {STEP_UNIT}, not {step}")
    return code


def target_latent(prior, faces: torch.Tensor) -> torch.Tensor:
    """The TAEF2 latent the detail layer moves toward: faces N x 3 x size x size in [-1, 1]."""
    from ..nn.taef2 import encode
    return encode(faces / 2 + 0.5)


def encode(target: torch.Tensor, generated: torch.Tensor, step: float, fit_steps: int = 0,
           image: torch.Tensor | None = None) -> bytes:
    """Payload of one face's detail layer (target, generated: 1 x C x h x w latents). With fit_steps, the pooled
    offset starts at the residual and is fitted to the face `image` (1 x 3 x H x W in [0, 1]) first (fit())."""
    residual = F.avg_pool2d((target - generated).double(), POOL)
    if fit_steps:
        if image is None:
            raise InputError("a fitted detail layer needs the face image")
        residual = fit(generated, image, residual.float(), step, fit_steps).double()
    else:
        residual = residual * SHRINK
    symbols = torch.round(residual / step).clamp(-CLIP, CLIP).to(torch.int64)[0] + CLIP
    return adaptive.encode([(symbols.flatten().numpy(), ALPHABET, INITIAL_COUNTS)])


# Analysis by synthesis at the encoder (the decoder is unchanged; --detail-fit N): the pooled offset o starts at
# the residual and takes N Adam steps (lr FIT_LR) on what the decoder will render, 10 * MSE + LPIPS-alex against
# the face at the prior's size, plus a rate proxy FIT_RATE * mean|o| / step. Chosen on validation faces
# (benchmarks/face_prior/detail_fit_probe.py, docs/results/face-prior/probe-v2.md). Its symbols depend on the
# CPU's float kernels (20 optimiser steps amplify float rounding: measured, every face's symbols differed between
# AVX-512 and AVX2 kernels, for Adam and for a plain normalised gradient alike), so it is off by default: a fitted
# stream decodes the same everywhere, but the same face may be coded to other bytes on another CPU.
FIT_STEPS = 20
FIT_RATE = 0.5
FIT_LR = 0.05


@lru_cache(maxsize=1)
def _fit_networks():
    from ..nn.perceptual import LPIPS
    from ..nn.taef2 import load_decoder
    return load_decoder(), LPIPS("alex").eval().requires_grad_(False)


def fit(generated: torch.Tensor, image: torch.Tensor, start: torch.Tensor, step: float, steps: int = FIT_STEPS,
        rate: float = FIT_RATE, lr: float = FIT_LR) -> torch.Tensor:
    """The pooled offset (1 x C x h/POOL x w/POOL) fitted so that decode(generated + up(o)) looks like `image`."""
    decoder, lpips = _fit_networks()
    generated, image = generated.detach().float(), image.detach().float()
    o = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([o], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad()
            pixels = decoder(generated + F.interpolate(o, scale_factor=POOL, mode="nearest"))
            loss = 10 * (pixels - image).pow(2).mean() + lpips(image, pixels).mean() + rate * o.abs().mean() / step
            loss.backward()
            optimizer.step()
    return o.detach()


def decode(payload: bytes, shape: tuple[int, int, int], step: float) -> torch.Tensor:
    """The 1 x C x h x w latent offset a detail payload adds; BitstreamError when it does not decode."""
    channels, height, width = shape
    if height % POOL or width % POOL:
        raise BitstreamError(f"detail layer: latent size {height}x{width} is not a multiple of {POOL}")
    count = channels * (height // POOL) * (width // POOL)
    symbols = adaptive.decode(payload, [(count, ALPHABET, INITIAL_COUNTS)], "detail layer")[0] - CLIP
    offset = torch.from_numpy(symbols.reshape(1, channels, height // POOL, width // POOL)).float() * step
    return F.interpolate(offset, scale_factor=POOL, mode="nearest")


# ------------------------------------------------------------------ the fine layer (issue 23: recognition)
# The coarse residual (2 x 2 block means) keeps a face recognisable as "the same person" (identity kept ~93% at
# stylegan-scalable q1) but not recognisable among thousands (CelebA: ~39% of celeba-test faces found in the
# gallery; VVC at 381 B: 84%). What is left sits at the latent's own resolution around the eyes, nose and mouth:
# the fine layer codes the rest of the residual, target - (generated + coarse offset), at pool 1 inside the square
# FINE_REGION of the latent (fractions of its side), quantised with its own step. Chosen on celeba-train faces
# recognised leave-one-out (benchmarks/face_prior/celeba_detail_probe.py; docs/results/face-prior/fine/).
FINE_REGION = (3 / 16, 13 / 16)


def fine_window(height: int, width: int) -> tuple[slice, slice]:
    """Rows and columns of a height x width latent that the fine layer codes."""
    lo, hi = FINE_REGION
    return slice(round(lo * height), round(hi * height)), slice(round(lo * width), round(hi * width))


def encode_fine(target: torch.Tensor, current: torch.Tensor, step: float) -> bytes:
    """Payload of one face's fine layer: target - current (1 x C x h x w latents; current = the generated latent
    plus the decoded coarse offset) inside fine_window, round(r / step) clipped to ±CLIP, adaptive-coded."""
    rows, columns = fine_window(*target.shape[2:])
    residual = (target - current).double()[0, :, rows, columns]
    symbols = torch.round(residual / step).clamp(-CLIP, CLIP).to(torch.int64) + CLIP
    return adaptive.encode([(symbols.flatten().numpy(), ALPHABET, FINE_INITIAL_COUNTS)])


def decode_fine(payload: bytes, shape: tuple[int, int, int], step: float) -> torch.Tensor:
    """The 1 x C x h x w latent offset a fine payload adds (zero outside fine_window); BitstreamError when it
    does not decode."""
    channels, height, width = shape
    rows, columns = fine_window(height, width)
    size = (rows.stop - rows.start, columns.stop - columns.start)
    symbols = adaptive.decode(payload, [(channels * size[0] * size[1], ALPHABET, FINE_INITIAL_COUNTS)],
                              "fine detail layer")[0] - CLIP
    offset = torch.zeros(1, channels, height, width)
    offset[0, :, rows, columns] = torch.from_numpy(symbols.reshape(channels, *size)).float() * step
    return offset
