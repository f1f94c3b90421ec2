"""The fixed residual model of SGANC's video mode (seed 002, Lemma 1): with the training relaxation Q(x) = x + U,
the residual sent every g frames is a sum of n = g + 2 independent U(-1/2, 1/2), so P(r = j) = f_IH(j + n/2; n)
with f_IH the Irwin-Hall density. Nothing is learned; this module builds the pmf (exactly, in rationals),
its rANS table, and codes integer residuals with it (values outside the table escape to CompressAI's bypass
code, so any integer round-trips)."""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from ...compat import rans_guarded
from ...errors import BitstreamError, InputError

MAX_HALF_WIDTH = 64   # table support |j| <= min(ceil(n/2), this); farther values escape
PRECISION = 16        # rANS probability precision (bits), CompressAI's default
ESCAPE_MASS = 2.0 ** -12


def irwin_hall_density(x: Fraction, n: int) -> Fraction:
    """f_IH(x; n) = 1/(n-1)! Σ_{k=0}^{⌊x⌋} (-1)^k C(n, k) (x - k)^{n-1} for 0 <= x <= n, else 0 (exact)."""
    if x < 0 or x > n:
        return Fraction(0)
    total = sum(Fraction((-1) ** k * math.comb(n, k)) * (x - k) ** (n - 1) for k in range(math.floor(x) + 1))
    return total / math.factorial(n - 1)


@lru_cache(maxsize=32)
def residual_pmf(n: int) -> tuple[int, np.ndarray]:
    """(lowest value, probabilities of the values lowest..-lowest) of P(r = j) = f_IH(j + n/2; n)."""
    if n < 1:
        raise InputError(f"Irwin-Hall order must be >= 1, got {n}")
    half = min(math.ceil(n / 2), MAX_HALF_WIDTH)
    probs = [float(irwin_hall_density(Fraction(j) + Fraction(n, 2), n)) for j in range(-half, half + 1)]
    return -half, np.array(probs)


def entropy_bits(n: int) -> float:
    """H of the pmf in bits per value (the fixed cost per residual dimension)."""
    _, p = residual_pmf(n)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _ans():
    """CompressAI's rANS module (imported through lamina's torchvision shim)."""
    from ...compat import import_compressai
    import_compressai()
    import compressai.ans
    return compressai.ans


@lru_cache(maxsize=32)
def _table(n: int) -> tuple[list[int], int]:
    _ans()
    from compressai._CXX import pmf_to_quantized_cdf
    low, p = residual_pmf(n)
    pmf = list(p / p.sum() * (1 - ESCAPE_MASS)) + [ESCAPE_MASS]
    return list(pmf_to_quantized_cdf(pmf, PRECISION)), low


def encode_residual(values: np.ndarray, n: int) -> bytes:
    """rANS bytes of integer residuals under the Irwin-Hall(n) pmf."""
    cdf, low = _table(n)
    values = [int(v) for v in np.asarray(values).reshape(-1)]
    return _ans().RansEncoder().encode_with_indexes(values, [0] * len(values), [cdf], [len(cdf)], [low])


def decode_residual(data: bytes, count: int, n: int) -> np.ndarray:
    """`count` integer residuals from rANS bytes (BitstreamError when they do not decode)."""
    cdf, low = _table(n)
    try:
        values = _ans().RansDecoder().decode_with_indexes(rans_guarded(data, count), [0] * count, [cdf], [len(cdf)],
                                                          [low])
    except Exception as exc:
        raise BitstreamError(f"Irwin-Hall residual cannot be decoded: {exc}") from exc
    return np.array(values, dtype=np.int64)
