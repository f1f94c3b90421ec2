"""A differentiable 68-point landmark heatmap network, trained here (stand-in for AdaptiveWing / HRNet in
stylegan-scalable's landmark distortion, Eq. 17: D_lm = ||H(x) - H(x̂)||²).

Input: a face crop in the shared framing, resized to 128x128, RGB in [0, 1]. Output: 68 heatmaps at 32x32.
Trained on helen_trainset ground truth plus utk-train faces labelled by dlib's 68-point predictor
(distillation); evaluated by NME on helen_testset ground truth (`lamina train landmark-heatmap --stage eval`).
Weights: lamina/zoo/evaluators/landmark-heatmap.pt (+ .json card), written by `lamina train landmark-heatmap`.
"""
from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..imageio import to_tensor

INPUT, OUTPUT, POINTS, SIGMA = 128, 32, 68, 1.5
FOREGROUND_WEIGHT = 20.0  # MSE weight 1 + 20·target: plain MSE collapses to flat maps (peaks ~0.07)
from ..zoo import EVALUATORS

WEIGHTS = EVALUATORS / "landmark-heatmap.pt"


def _block(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class HeatmapNet(nn.Module):
    """Encoder to 8x8, decoder back to 32x32 with skips; `outputs` channels (68 heatmaps by default)."""

    def __init__(self, width: int = 32, outputs: int = POINTS):
        super().__init__()
        w = width
        self.d1 = nn.Sequential(_block(3, w, 2), _block(w, w))            # 64
        self.d2 = nn.Sequential(_block(w, 2 * w, 2), _block(2 * w, 2 * w))  # 32
        self.d3 = nn.Sequential(_block(2 * w, 4 * w, 2), _block(4 * w, 4 * w))  # 16
        self.d4 = nn.Sequential(_block(4 * w, 8 * w, 2), _block(8 * w, 8 * w))  # 8
        self.u3 = _block(8 * w + 4 * w, 4 * w)
        self.u2 = _block(4 * w + 2 * w, 4 * w)
        self.head = nn.Conv2d(4 * w, outputs, 1)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Five intermediate maps (64, 32, 16, 8 -> 16, -> 32 px): the multi-layer features of Eq. 18 / 19-style
        cosine distortions."""
        x = F.interpolate(x, size=(INPUT, INPUT), mode="bilinear", align_corners=False, antialias=True) \
            if x.shape[-2:] != (INPUT, INPUT) else x
        f1 = self.d1(x)
        f2 = self.d2(f1)
        f3 = self.d3(f2)
        f4 = self.d4(f3)
        u3 = self.u3(torch.cat([F.interpolate(f4, scale_factor=2, mode="bilinear", align_corners=False), f3], 1))
        u2 = self.u2(torch.cat([F.interpolate(u3, scale_factor=2, mode="bilinear", align_corners=False), f2], 1))
        return [f1, f2, f3, f4, u2]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(x)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W in [0, 1] -> N x 68 x 32 x 32 heatmaps."""
        return self.head(self.features(x))


def heatmaps(points: np.ndarray, size: int, image_side: float) -> np.ndarray:
    """68 Gaussian heatmaps (size x size) of points given in pixels of an image_side x image_side crop."""
    scale = size / image_side
    grid = np.arange(size) + 0.5
    px, py = points[:, 0] * scale, points[:, 1] * scale
    gx = np.exp(-((grid[None, :] - px[:, None]) ** 2) / (2 * SIGMA ** 2))
    gy = np.exp(-((grid[None, :] - py[:, None]) ** 2) / (2 * SIGMA ** 2))
    return (gy[:, :, None] * gx[:, None, :]).astype(np.float32)


def soft_argmax(maps: torch.Tensor, image_side: float, temperature: float = 20.0) -> torch.Tensor:
    """N x 68 x S x S -> N x 68 x 2 points in pixels of an image_side crop (differentiable)."""
    n, k, s, _ = maps.shape
    prob = torch.softmax(maps.reshape(n, k, -1) * temperature, dim=-1).reshape(n, k, s, s)
    coords = (torch.arange(s, dtype=maps.dtype, device=maps.device) + 0.5) * (image_side / s)
    return torch.stack([(prob.sum(2) * coords).sum(-1), (prob.sum(3) * coords).sum(-1)], dim=-1)


@lru_cache(maxsize=1)
def load_heatmap_net(path: str | None = None) -> HeatmapNet:
    from ..zoo import read_checkpoint
    from ..errors import InputError
    path = Path(path) if path else WEIGHTS
    data = read_checkpoint(path, "landmark heatmap network")
    net = HeatmapNet(int(data.get("width", 32)) if isinstance(data, dict) else 32)
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()})
    except (KeyError, RuntimeError, TypeError) as exc:
        raise InputError(f"{path} is not a landmark heatmap checkpoint: {exc}") from exc
    return net.eval().requires_grad_(False)


def decode_points(maps: np.ndarray, image_side: float) -> np.ndarray:
    """68 x S x S heatmaps -> 68 x 2 points: the peak cell refined by the centroid of its 3x3 neighbourhood
    (a soft-argmax over the whole map is pulled to the centre by the flat background of regressed maps)."""
    k, s, _ = maps.shape
    out = np.empty((k, 2))
    for i in range(k):
        y, x = np.unravel_index(int(np.argmax(maps[i])), (s, s))
        y0, y1, x0, x1 = max(y - 1, 0), min(y + 2, s), max(x - 1, 0), min(x + 2, s)
        patch = np.clip(maps[i, y0:y1, x0:x1], 0, None) + 1e-9
        ys, xs = np.mgrid[y0:y1, x0:x1]
        out[i] = [(xs * patch).sum() / patch.sum() + 0.5, (ys * patch).sum() / patch.sum() + 0.5]
    return out * (image_side / s)


def predict(image: np.ndarray, net: HeatmapNet | None = None) -> np.ndarray:
    """68 x 2 landmarks (pixels) of one face crop."""
    net = net or load_heatmap_net()
    x = to_tensor(image)
    with torch.no_grad():
        points = decode_points(net(x)[0].numpy(), INPUT)
    return points * np.array([image.shape[1] / INPUT, image.shape[0] / INPUT])


# ------------------------------------------------------------------------------------------ training
def _training_set(utk_count: int, root=None):
    from PIL import Image

    from ..data.datasets import load_dataset
    from .face import face_box, shape68, shape_to_array
    images, points = [], []

    def add(image, pts):
        side = image.shape[0]
        images.append(np.asarray(Image.fromarray(image).resize((INPUT, INPUT), Image.BILINEAR)))
        points.append(pts * (INPUT / side))

    for item in load_dataset("landmarks-helen-train", root=root):
        add(item.image(), item.landmarks)
    for item in load_dataset("utk-train", root=root, limit=utk_count):
        image = item.image()
        add(image, shape_to_array(shape68(image, face_box(image))))
    return np.stack(images), np.stack(points)


def fit(net: nn.Module, images: np.ndarray, batch_loss, steps: int, batch: int, seed: int) -> list[dict]:
    """Adam 2e-3 with cosine decay to 1e-5; batch_loss(net, x, idx) on random batches drawn as a function of
    (seed, step); returns the loss log (every 100 steps and the last)."""
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=1e-5)
    start, log = time.time(), []
    for step in range(steps):
        idx = np.random.default_rng([seed, step]).integers(len(images), size=batch)
        x = to_tensor(images[idx])
        loss = batch_loss(net, x, idx)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        scheduler.step()
        if step % 100 == 0 or step == steps - 1:
            log.append({"step": step, "loss": round(float(loss.detach()), 4), "elapsed": round(time.time() - start, 1)})
            print(log[-1], flush=True)
    return log


def save_fp16(net: nn.Module, path: Path, **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**extra, "state_dict": {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}},
               path)
    return path


def train(out: Path, steps: int, batch: int = 16, utk_count: int = 3000, seed: int = 0, root=None) -> Path:
    torch.manual_seed(seed)
    images, points = _training_set(utk_count, root)
    targets = torch.from_numpy(np.stack([heatmaps(p, OUTPUT, INPUT) for p in points]))

    def batch_loss(net, x, idx):
        target = targets[idx]
        return ((net(x) - target).pow(2) * (1 + FOREGROUND_WEIGHT * target)).mean() * 1000

    net = HeatmapNet()
    log = fit(net, images, batch_loss, steps, batch, seed)
    path = save_fp16(net, out / "landmark-heatmap.pt", width=32)
    (out / "train_log.json").write_text(json.dumps({"images": len(images), "helen_train": 870,
                                                    "utk_train_dlib_labelled": utk_count, "steps": steps,
                                                    "batch": batch, "log": log}, indent=1))
    return path


def evaluate(path: Path | None = None, root=None, limit: int | None = None) -> dict:
    """NME (outer-eye-corner normalised) on helen_testset ground truth, this network vs dlib."""
    from ..data.datasets import load_dataset
    from .face import face_box, shape68, shape_to_array
    from .landmarks import nme
    net = load_heatmap_net(str(path) if path else None)
    ours, dlib = [], []
    for item in load_dataset("landmarks-helen-test", root=root, limit=limit):
        image = item.image()
        ours.append(nme(predict(image, net), item.landmarks))
        dlib.append(nme(shape_to_array(shape68(image, face_box(image))), item.landmarks))
    return {"faces": len(ours), "nme_heatmap_net": float(np.mean(ours)), "nme_dlib": float(np.mean(dlib))}
