"""Pixel fidelity: PSNR (RGB, peak 255), MS-SSIM (pytorch-msssim, 5 scales), FSIM (piq)."""
from __future__ import annotations

import numpy as np
import torch

from ..imageio import to_tensor


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all RGB samples; capped at 100 dB for identical images."""
    mse = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return 100.0 if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """MS-SSIM (Wang et al. 2003, 5 scales, 11x11 Gaussian window); images need sides > 160 px.

    Smaller images use as many scales as fit, with the standard weights renormalised.
    """
    from pytorch_msssim import ms_ssim as _ms_ssim
    x, y = to_tensor(reference), to_tensor(decoded)
    side = min(x.shape[-2:])
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    scales = 5
    while scales > 1 and side <= (11 - 1) * 2 ** (scales - 1):
        scales -= 1
    w = torch.tensor(weights[:scales]) / sum(weights[:scales])
    with torch.no_grad():
        return float(_ms_ssim(x, y, data_range=1.0, size_average=True, weights=w.tolist()))


def fsim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """FSIMc (Zhang et al. 2011) from piq."""
    from ..compat import make_torchvision_importable
    make_torchvision_importable()
    import piq
    with torch.no_grad():
        return float(piq.fsim(to_tensor(decoded), to_tensor(reference), data_range=1.0, chromatic=True))


# Cross-CPU tolerance (issue 22): coded bytes are identical on every machine; a decoded image may differ between
# CPUs with other float kernels (AVX-512 vs AVX2 vs none) by float rounding in the synthesis networks. Measured:
# at most one grey level in a few hundred pixels. The promise, and what the golden and cross-CPU tests accept:
CPU_MAX_LEVELS = 2          # no sample differs by more than this many grey levels
CPU_MIN_EQUAL = 0.99        # at least this fraction of samples is identical
BLOCK = 16                  # golden references: means of BLOCK x BLOCK pixel blocks, per channel
BLOCK_STEP = 64             # ... stored in 1/64 grey levels (uint16)


def cpu_difference(a: np.ndarray, b: np.ndarray) -> str | None:
    """None when two decodes of one stream agree within the cross-CPU tolerance, else what is off, in words."""
    if a.shape != b.shape:
        return f"shapes differ: {a.shape} vs {b.shape}"
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    worst, equal = int(diff.max(initial=0)), float((diff == 0).mean()) if diff.size else 1.0
    if worst > CPU_MAX_LEVELS or equal < CPU_MIN_EQUAL:
        return (f"max |diff| {worst} levels (tolerance {CPU_MAX_LEVELS}), {100 * equal:.2f}% of samples equal "
                f"(tolerance {100 * CPU_MIN_EQUAL:g}%)")
    return None


def block_means(image: np.ndarray) -> np.ndarray:
    """Per-channel means of BLOCK x BLOCK blocks (edge blocks partial) in 1/BLOCK_STEP grey levels, uint16:
    a compact reference of a decoded image (768 numbers for 256 x 256)."""
    h, w = image.shape[:2]
    gh, gw = -(-h // BLOCK), -(-w // BLOCK)
    sums = np.zeros((gh, gw, image.shape[2]), np.float64)
    counts = np.zeros((gh, gw, 1), np.float64)
    rows, cols = np.arange(h) // BLOCK, np.arange(w) // BLOCK
    np.add.at(sums, (rows[:, None], cols[None, :]), image.astype(np.float64))
    np.add.at(counts, (rows[:, None], cols[None, :]), 1.0)
    return np.round(sums / counts * BLOCK_STEP).astype(np.uint16)


def block_difference(measured: np.ndarray, reference: np.ndarray) -> str | None:
    """None when block means (block_means) are what decodes within the cross-CPU tolerance can give: every
    block within CPU_MAX_LEVELS, and the mean block change within what (1 - CPU_MIN_EQUAL) of the samples off by
    CPU_MAX_LEVELS allows (plus the storage rounding); else what is off."""
    if measured.shape != reference.shape:
        return f"block grid differs: {measured.shape} vs {reference.shape}"
    diff = np.abs(measured.astype(np.float64) - reference.astype(np.float64)) / BLOCK_STEP
    slack = 1.0 / BLOCK_STEP
    worst, mean = float(diff.max(initial=0)), float(diff.mean()) if diff.size else 0.0
    mean_limit = (1 - CPU_MIN_EQUAL) * CPU_MAX_LEVELS + slack
    if worst > CPU_MAX_LEVELS + slack or mean > mean_limit:
        return (f"block means moved by up to {worst:.2f} levels (limit {CPU_MAX_LEVELS}), {mean:.3f} on average "
                f"(limit {mean_limit:.3f})")
    return None
