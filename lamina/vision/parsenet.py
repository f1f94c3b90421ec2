"""A small face-parsing network trained here on MediaPipe-mesh region maps (stand-in for BiSeNet in
stylegan-scalable's segmentation distortion, Eq. 18: Σ_i 1 - cos(P_i(x̂), P_i(x)) over five feature maps).

Same encoder-decoder as the landmark heatmap network (lamina.vision.heatmap.HeatmapNet) with 8 class logits
(lamina.vision.parsing.CLASSES) at 32x32, upsampled to the input. Trained on utk-train faces whose mesh is
found; evaluated by frequency-weighted IoU against the mesh maps of utk-test originals.
`lamina train parsing-net --stage train|eval`; weights lamina/zoo/evaluators/parsing-net.pt (+ .json card).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..imageio import to_tensor
from ..zoo import EVALUATORS
from .heatmap import INPUT, HeatmapNet
from .parsing import CLASSES

WEIGHTS = EVALUATORS / "parsing-net.pt"


def parsing_net(width: int = 32) -> HeatmapNet:
    return HeatmapNet(width, outputs=len(CLASSES))


def logits(net: HeatmapNet, x: torch.Tensor) -> torch.Tensor:
    """N x 8 x H x W class logits for N x 3 x H x W faces in [0, 1]."""
    return F.interpolate(net(x), size=x.shape[-2:], mode="bilinear", align_corners=False)


@lru_cache(maxsize=1)
def load_parsing_net(path: str | None = None) -> HeatmapNet:
    from ..zoo import read_checkpoint
    from ..errors import InputError
    path = Path(path) if path else WEIGHTS
    data = read_checkpoint(path, "parsing network")
    net = parsing_net()
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()})
    except (KeyError, RuntimeError, TypeError) as exc:
        raise InputError(f"{path} is not a parsing-network checkpoint: {exc}") from exc
    return net.eval().requires_grad_(False)


def predict(image: np.ndarray, net: HeatmapNet | None = None) -> np.ndarray:
    """H x W label map of one face crop."""
    net = net or load_parsing_net()
    x = to_tensor(image)
    with torch.no_grad():
        return logits(net, x)[0].argmax(0).byte().numpy()


def _mesh_labelled(dataset: str, count: int, root=None):
    from PIL import Image

    from ..data.datasets import load_dataset
    from .landmarks import mesh468
    from .parsing import parsing_map
    images, labels = [], []
    for item in load_dataset(dataset, root=root, limit=count):
        image = np.asarray(Image.fromarray(item.image()).resize((INPUT, INPUT), Image.BILINEAR))
        points = mesh468(image)
        if points is None:
            continue
        images.append(image)
        labels.append(parsing_map(points, INPUT, INPUT))
    return np.stack(images), np.stack(labels)


def train(out: Path, steps: int, batch: int = 16, count: int = 3000, seed: int = 0, root=None) -> Path:
    from .heatmap import fit, save_fp16
    torch.manual_seed(seed)
    images, labels = _mesh_labelled("utk-train", count, root)
    targets = torch.from_numpy(labels).long()
    net = parsing_net()
    log = fit(net, images, lambda net, x, idx: F.cross_entropy(logits(net, x), targets[idx]), steps, batch, seed)
    path = save_fp16(net, out / "parsing-net.pt")
    (out / "train_log.json").write_text(json.dumps({"images": len(images), "utk_train_first": count, "steps": steps,
                                                    "batch": batch, "log": log}, indent=1))
    return path


def evaluate(path: Path | None = None, limit: int = 200, root=None) -> dict:
    """Mean FwIoU against the mesh maps of the first `limit` utk-test originals (where the mesh is found)."""
    from .parsing import fw_iou
    net = load_parsing_net(str(path) if path else None)
    images, labels = _mesh_labelled("utk-test", limit, root)
    scores = [fw_iou(label, predict(image, net)) for image, label in zip(images, labels)]
    return {"faces": len(scores), "fw_iou": float(np.mean(scores))}
