"""MobileFaceNet (Chen et al. 2018), written from the paper so the shared CASIA-WebFace checkpoint loads.

Input: a 112x96 face aligned SphereFace-style (5-point similarity to a fixed template), RGB
normalised as (x - 127.5) / 128. Output: a 128-d embedding (compare with cosine similarity).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..framing import FRAMING_POINTS5

# The SphereFace 112x96 template: left eye, right eye, nose tip, left and right mouth corners.
TEMPLATE_112x96 = np.array([[30.2946, 51.6963], [65.5318, 51.5014], [48.0252, 71.7366],
                            [33.5493, 92.3655], [62.7299, 92.2041]], dtype=np.float64)

# FRAMING_POINTS5 (lamina.framing): where the shared framing puts eye centres, nose tip and mouth corners. One fixed
# similarity transform maps them onto the SphereFace 112x96 template, so the codec needs no face detector.


# The fixed crop from the shared framing to MobileFaceNet's input (used by the feature-texture codec, the
# stylegan-scalable objective and the face prior's identity loss).
def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 least-squares similarity transform mapping src points onto dst points (Umeyama, no reflection)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / (s ** 2).sum(1).mean()
    out = np.eye(3)
    out[:2, :2] = scale * rot
    out[:2, 2] = mu_d - scale * rot @ mu_s
    return out


@lru_cache(maxsize=8)
def _crop_grid(height: int, width: int) -> torch.Tensor:
    """grid_sample grid (1 x 112 x 96 x 2) that crops an HxW framing-aligned face to the 112x96 template."""
    src = FRAMING_POINTS5 * np.array([width, height])
    inverse = np.linalg.inv(_similarity(src, TEMPLATE_112x96))
    v, u = np.mgrid[0:112, 0:96].astype(np.float64)
    xy = np.stack([u, v, np.ones_like(u)], -1) @ inverse.T  # template pixel -> source pixel
    gx = (2 * xy[..., 0] + 1) / width - 1
    gy = (2 * xy[..., 1] + 1) / height - 1
    return torch.from_numpy(np.stack([gx, gy], -1)).float()[None]


def crop_112x96(x: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W in [0, 1] (shared framing) -> N x 3 x 112 x 96, differentiable."""
    grid = _crop_grid(x.shape[2], x.shape[3]).to(x.device).expand(x.shape[0], -1, -1, -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)



# Bottleneck settings (expansion t, output channels c, repeats n, first stride s) from the paper.
BOTTLENECKS = ((2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1))


class ConvBlock(nn.Module):
    """conv -> BN (-> PReLU unless linear)."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, linear=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.prelu = None if linear else nn.PReLU(cout)

    def forward(self, x):
        x = self.bn(self.conv(x))
        return x if self.prelu is None else self.prelu(x)


class Bottleneck(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depthwise (stride), 1x1 linear projection."""

    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        self.residual = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.PReLU(hidden),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.PReLU(hidden),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileFaceNet(nn.Module):
    """MobileFaceNet for 112x96 inputs; `features(x)` also returns intermediate maps for losses."""

    def __init__(self, embedding_size: int = 128):
        super().__init__()
        self.conv1 = ConvBlock(3, 64, 3, stride=2, padding=1)
        self.dw_conv1 = ConvBlock(64, 64, 3, padding=1, groups=64)
        blocks, cin = [], 64
        for expansion, cout, repeats, stride in BOTTLENECKS:
            for index in range(repeats):
                blocks.append(Bottleneck(cin, cout, stride if index == 0 else 1, expansion))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.conv2 = ConvBlock(128, 512, 1)
        self.linear7 = ConvBlock(512, 512, (7, 6), groups=512, linear=True)  # global depthwise conv
        self.linear1 = ConvBlock(512, embedding_size, 1, linear=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings (N x 128) of normalised N x 3 x 112 x 96 inputs."""
        x = self.conv2(self.blocks(self.dw_conv1(self.conv1(x))))
        return self.linear1(self.linear7(x)).flatten(1)


def default_weights() -> Path:
    """The shared MobileFaceNet checkpoint (../shared/data/weights/mobilefacenet/068.ckpt)."""
    from ..zoo import shared_weights
    return shared_weights("mobilefacenet", "068.ckpt")


def load_mobilefacenet(path: str | os.PathLike | None = None) -> MobileFaceNet:
    """MobileFaceNet in eval mode with weights from a checkpoint ({'net_state_dict': ...} or a state dict)."""
    from ..zoo import read_checkpoint
    path = Path(path) if path else default_weights()
    checkpoint = read_checkpoint(path, "MobileFaceNet")
    state = checkpoint.get("net_state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise InputError(f"{path} holds no state dict")
    net = MobileFaceNet()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f"{path} is not a MobileFaceNet checkpoint: {str(exc).splitlines()[0]}") from exc
    return net.eval().requires_grad_(False)


@lru_cache(maxsize=1)
def shared_mobilefacenet() -> MobileFaceNet:
    return load_mobilefacenet()


def align_112x96(image: np.ndarray, points5: np.ndarray) -> np.ndarray:
    """112x96 crop by the similarity transform that maps points5 onto the SphereFace template."""
    import cv2
    from skimage.transform import SimilarityTransform
    tform = SimilarityTransform.from_estimate(points5, TEMPLATE_112x96) if hasattr(
        SimilarityTransform, "from_estimate") else None
    if tform is None:
        tform = SimilarityTransform()
        tform.estimate(points5, TEMPLATE_112x96)
    return cv2.warpAffine(image, tform.params[:2], (96, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def normalise(crops: np.ndarray) -> torch.Tensor:
    """N x 112 x 96 x 3 uint8 -> N x 3 x 112 x 96 float, (x - 127.5) / 128."""
    tensor = torch.from_numpy(np.ascontiguousarray(crops)).float()
    return ((tensor - 127.5) / 128.0).permute(0, 3, 1, 2)


def embed(crops: np.ndarray) -> np.ndarray:
    """Unit-norm embeddings of aligned 112x96 crops (N x 112 x 96 x 3 uint8)."""
    with torch.no_grad():
        emb = shared_mobilefacenet()(normalise(crops))
    return torch.nn.functional.normalize(emb, dim=1).numpy()
