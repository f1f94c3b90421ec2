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
