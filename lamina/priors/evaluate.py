"""Held-out scores of a face prior's reconstructions (rounded styles, as coding sees them): PSNR, LPIPS-alex,
dlib identity kept and dlib landmark NME against the original at its own size, per number of layers.

    lamina train face-prior --stage evaluate --weights runs/prior/X/face-prior-latent128.pt [--dataset utk-test]
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .face import FacePrior, render


def model_pixels(model: FacePrior, images: np.ndarray) -> torch.Tensor:
    """N x H x W x 3 uint8 faces as N x 3 x size x size pixels in [0, 1] at the prior's size."""
    from ..imageio import to_tensor
    return F.interpolate(to_tensor(images), size=(model.size, model.size), mode="bilinear", align_corners=False,
                         antialias=True)


def encoder_input(model: FacePrior, x: torch.Tensor) -> torch.Tensor:
    """The style encoder's input for pixels in [0, 1] at the prior's size: their TAEF2 latent, or pixels in [-1, 1]."""
    if model.space == "taef2":
        from ..nn.taef2 import load_encoder
        return load_encoder()(x)
    return x * 2 - 1


def prior_input(model: FacePrior, images: np.ndarray) -> torch.Tensor:
    """Encoder input for N x H x W x 3 uint8 faces: the TAEF2 latent of the face at the prior's size, or pixels."""
    return encoder_input(model, model_pixels(model, images))


@torch.no_grad()
def reconstructions(model: FacePrior, image: np.ndarray, layers=(1, 2, 3)) -> list[np.ndarray]:
    """Round-trip one face through rounded styles, encoded once, rendered from each number of `layers`; uint8 at the
    input's size."""
    x = model_pixels(model, image[None])
    styles = torch.round(model.encode(encoder_input(model, x)))
    condition = None
    if model.condition_dim:  # identity-conditioned: the decoded feature of the face at the prior's size
        from .identity import identity_condition
        condition = identity_condition(x)
    out = []
    for k in layers:
        y = render(model, model.synthesize(styles, k, condition))
        y = F.interpolate(y, size=image.shape[:2], mode="bicubic", align_corners=False).clamp(0, 1)
        out.append((y[0] * 255).round().byte().permute(1, 2, 0).numpy())
    return out


def reconstruct(model: FacePrior, image: np.ndarray, layers: int) -> np.ndarray:
    """Round-trip one face through rounded styles with the first `layers` layers; uint8 at the input's size."""
    return reconstructions(model, image, (layers,))[0]


def evaluate(model: FacePrior, items, metrics=("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib")) -> dict:
    from ..vision.evaluators import Evaluator
    evaluator = Evaluator(metrics)
    rows = {k: [] for k in (1, 2, 3)}
    for item in items:
        image = item.image()
        ref = evaluator.reference(image, item)
        for k, decoded in zip(rows, reconstructions(model, image, tuple(rows))):
            rows[k].append(evaluator.score(ref, decoded))
    return {f"{k}_layers": {name: float(np.nanmean([r[name] for r in rows[k]])) for name in rows[k][0]}
            for k in rows}


def evaluate_items(model: FacePrior, dataset: str = "validation", limit: int = 64) -> dict:
    """evaluate() on 'validation' (the last 64 utk-train faces, held out of training) or a dataset's first N."""
    if dataset == "validation":
        from ..data.training import split_items
        items = split_items("faces")[1][:limit]
    else:
        from ..data.datasets import load_dataset
        items = load_dataset(dataset, limit=limit)
    return evaluate(model, items)
