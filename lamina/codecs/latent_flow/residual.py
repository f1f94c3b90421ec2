"""The residual models of latent-flow's open-loop video: every g-th frame the residual r = round(y - ŷ) (all
integers) is coded with one of

- `irwin-hall`: the paper's fixed pmf (lamina.codecs.latent_flow.irwin_hall), derived from the training
  relaxation: it assumes the residual is a sum of g + 2 uniform rounding errors (39% zeros at g = 10);
- `adaptive` (the default since issue 26): a discrete Laplace over -A..A, A = ceil((g + 2) / 2) (the largest
  |r| that g + 2 roundings can build up; larger values are clamped, and ŷ takes the clamped value on both
  sides), whose scale the encoder picks per payload from SCALES (a 2-bit choice coded first) and whose counts
  then adapt to the values coded (lamina.entropy.adaptive, integer counts). The real residuals are far more
  peaked than Irwin-Hall: 73-95% zeros on the talking-face clips (docs/results/latent-flow/video/residuals.json).

Chosen on latent-flow's training clips (lp_d3/d6/d9, 50 aligned frames, open loop; benchmarks/latent_flow/
residual_probe.py, docs/results/video/probe-latent-flow-residual/): at g = 10 the residual bytes drop 78% at q1
and 27% at q4 against Irwin-Hall; a fixed scale was as good only at the quality it was chosen for.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ...entropy import adaptive
from ...errors import InputError
from .irwin_hall import decode_residual, encode_residual

RESIDUALS = ("irwin-hall", "adaptive")
DEFAULT = "adaptive"
SCALES = (0.2, 0.35, 0.6, 1.0)   # Laplace scales the encoder picks from (values in proxy rounding steps)
STRENGTH = 256                   # pseudo-count total of the starting distribution (adaptive.UNIT per value seen)


def half_width(gop: int) -> int:
    return -(-(gop + 2) // 2)


@lru_cache(maxsize=64)
def _initial(gop: int) -> tuple[np.ndarray, ...]:
    j = np.arange(-half_width(gop), half_width(gop) + 1)
    out = []
    for scale in SCALES:
        p = np.exp(-np.abs(j) / scale)
        out.append(np.maximum(1, np.round(STRENGTH * p / p.sum())).astype(np.int64))
    return tuple(out)


def check(model: str) -> str:
    if model not in RESIDUALS:
        raise InputError(f"latent-flow: residual model must be one of {', '.join(RESIDUALS)}, got {model!r}")
    return model


def representable(r: np.ndarray, gop: int, model: str) -> np.ndarray:
    """The residual the stream will carry: clamped to -A..A for `adaptive` (Irwin-Hall codes any integer)."""
    if model == "adaptive":
        a = half_width(gop)
        return np.clip(r, -a, a)
    return r


def encode(values: np.ndarray, gop: int, model: str) -> bytes:
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if model == "irwin-hall":
        return encode_residual(values, gop + 2)
    a = half_width(gop)
    if np.abs(values).max(initial=0) > a:
        raise ValueError("residual outside the adaptive model's range: clamp with representable() first")
    symbols = values + a
    candidates = [adaptive.encode([(np.array([c]), len(SCALES)), (symbols, 2 * a + 1, initial)])
                  for c, initial in enumerate(_initial(gop))]
    return min(candidates, key=len)


def decode(data: bytes, count: int, gop: int, model: str) -> np.ndarray:
    if model == "irwin-hall":
        return decode_residual(data, count, gop + 2)
    a = half_width(gop)
    reader = adaptive.SegmentDecoder(data, "latent-flow residual")
    choice = int(reader.segment(1, len(SCALES))[0])
    symbols = reader.segment(count, 2 * a + 1, _initial(gop)[choice])
    reader.finish()
    return symbols - a
