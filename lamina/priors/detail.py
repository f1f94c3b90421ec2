"""The face codecs' `detail` layer (issue 23, probe (d)): a coarse residual in the face prior's TAEF2-latent space.

The prior's generator reproduces pose, expression, colouring and hair from the styles, but not who the person
is (docs/results/face-prior/). The detail layer codes what it misses where the renderer reads it: the residual
r = latent(x) - G(decoded styles) between the face's TAEF2 latent (the frozen TAEF2 encoder) and the latent the
decoder generates from the stream's styles, average-pooled by POOL, quantised with a uniform step and clipped to
±CLIP, and added back (nearest upsampling) before the TAEF2 decoder renders the face. Symbols are coded with
lamina.entropy.adaptive: one segment, channel after channel (per-channel segments each pay the start, 4x the
bytes), whose counts start from INITIAL_COUNTS, a distribution fitted on training faces, instead of uniform
(11% fewer bytes on validation faces; integer counts, so identical on every CPU).

The encoder computes G(decoded styles) exactly as the decoder will (the same styles; float rounding between CPUs
moves it by ~1e-6, which only moves pixels, never the symbols' decoding). Payload: the range-coder bytes.
"""
from __future__ import annotations

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


def step_code(step: float) -> int:
    """The header's integer for a quantisation step (a positive multiple of STEP_UNIT)."""
    code = int(round(step / STEP_UNIT))
    if code < 1 or abs(code * STEP_UNIT - step) > 1e-9:
        raise InputError(f"detail step must be a positive multiple of {STEP_UNIT}, not {step}")
    return code


def target_latent(prior, faces: torch.Tensor) -> torch.Tensor:
    """The TAEF2 latent the detail layer moves toward: faces N x 3 x size x size in [-1, 1]."""
    from ..nn.taef2 import load_encoder
    return load_encoder(str(faces.device))(faces / 2 + 0.5)


def encode(target: torch.Tensor, generated: torch.Tensor, step: float) -> bytes:
    """Payload of one face's detail layer (target, generated: 1 x C x h x w latents)."""
    residual = F.avg_pool2d((target - generated).double(), POOL)
    symbols = torch.round(residual / step).clamp(-CLIP, CLIP).to(torch.int64)[0] + CLIP
    return adaptive.encode([(symbols.flatten().numpy(), ALPHABET, INITIAL_COUNTS)])


def decode(payload: bytes, shape: tuple[int, int, int], step: float) -> torch.Tensor:
    """The 1 x C x h x w latent offset a detail payload adds; BitstreamError when it does not decode."""
    channels, height, width = shape
    if height % POOL or width % POOL:
        raise BitstreamError(f"detail layer: latent size {height}x{width} is not a multiple of {POOL}")
    count = channels * (height // POOL) * (width // POOL)
    symbols = adaptive.decode(payload, [(count, ALPHABET, INITIAL_COUNTS)], "detail layer")[0] - CLIP
    offset = torch.from_numpy(symbols.reshape(1, channels, height // POOL, width // POOL)).float() * step
    return F.interpolate(offset, scale_factor=POOL, mode="nearest")
