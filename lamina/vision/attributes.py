"""CelebA 40-attribute classifier: a linear probe on frozen MobileFaceNet embeddings.

Trained here on the shared CelebA train split (`lamina train celeba-attributes-probe`); weights and model
card live in lamina/zoo/evaluators/ (celeba-attributes-probe.pt / .json).
"""
from __future__ import annotations

import json
import time
from functools import lru_cache

import numpy as np
import torch


from ..zoo import EVALUATORS

WEIGHTS = EVALUATORS / "celeba-attributes-probe.pt"
CARD = EVALUATORS / "celeba-attributes-probe.json"


def aligned_crop(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    from ..nn.mobilefacenet import align_112x96
    from .face import five_points
    return align_112x96(image, five_points(landmarks68))


def raw_embedding(crops: np.ndarray) -> np.ndarray:
    """Un-normalised 128-d MobileFaceNet outputs for aligned 112x96 crops."""
    from ..nn.mobilefacenet import normalise, shared_mobilefacenet
    with torch.no_grad():
        return shared_mobilefacenet()(normalise(crops)).numpy()


@lru_cache(maxsize=1)
def probe() -> tuple[list[str], torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(names, weight 40x128, bias 40, feature mean, feature std) from the zoo."""
    from ..zoo import read_checkpoint
    state = read_checkpoint(WEIGHTS, "attribute probe (train with lamina train celeba-attributes-probe)")
    names = json.loads(CARD.read_text())["attributes"]
    return names, state["weight"].float(), state["bias"].float(), state["mean"].float(), state["std"].float()


def predict(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """40 binary attribute predictions (uint8) for the face with these landmarks."""
    _, weight, bias, mean, std = probe()
    feat = (torch.from_numpy(raw_embedding(aligned_crop(image, landmarks68)[None])) - mean) / std
    return ((feat @ weight.T + bias)[0] > 0).numpy().astype(np.uint8)


def _features(split: str) -> tuple[np.ndarray, np.ndarray]:
    from ..data.datasets import load_dataset
    from .face import face_box, shape68, shape_to_array
    feats, labels = [], []
    for item in load_dataset(f"celeba-{split}"):
        image = item.image()
        marks = shape_to_array(shape68(image, face_box(image)))
        feats.append(raw_embedding(aligned_crop(image, marks)[None])[0])
        labels.append(item.attributes)
    return np.array(feats, np.float32), np.array(labels, np.float32)


def train(steps: int = 2000, weight_decay: float = 1e-3) -> dict:
    """Fit the probe on celeba-train, evaluate on celeba-test, write weights and card to the zoo."""
    from ..data.datasets import celeba_labels, data_root
    start = time.time()
    torch.manual_seed(0)
    x_train, y_train = _features("train")
    x_test, y_test = _features("test")
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    xt = torch.from_numpy((x_train - mean) / std)
    yt = torch.from_numpy(y_train)
    linear = torch.nn.Linear(xt.shape[1], yt.shape[1])
    optimiser = torch.optim.Adam(linear.parameters(), lr=1e-2, weight_decay=weight_decay)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(linear(xt), yt)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        pred = (linear(torch.from_numpy((x_test - mean) / std)) > 0).numpy()
    per_attr = (pred == (y_test > 0.5)).mean(0)
    majority = np.maximum(y_train.mean(0) > 0.5, 0)
    majority_acc = ((y_test > 0.5) == majority[None]).mean(0)
    names, _ = celeba_labels(data_root())
    torch.save({"weight": linear.weight.detach().half(), "bias": linear.bias.detach().half(),
                "mean": torch.from_numpy(mean).half(), "std": torch.from_numpy(std).half()}, WEIGHTS)
    card = {
        "model": "celeba-attributes-probe",
        "task": "CelebA 40 binary attributes",
        "architecture": "linear layer (40x128) on standardised, frozen MobileFaceNet embeddings",
        "backbone": "MobileFaceNet, CASIA-WebFace weights from ../shared/data/weights/mobilefacenet/068.ckpt",
        "input": "face aligned to 112x96 by a 5-point similarity from dlib 68-point landmarks",
        "training_data": f"celeba-train ({len(x_train)} images of the shared CelebA re-crops)",
        "optimiser": f"Adam lr 1e-2, weight decay {weight_decay}, {steps} full-batch steps, seed 0",
        "device": "cpu",
        "wall_time_s": round(time.time() - start, 1),
        "stored_as": "fp16 (test accuracy measured with the fp32 weights before conversion)",
        "test_accuracy_mean": round(float(per_attr.mean()), 4),
        "test_majority_baseline_mean": round(float(majority_acc.mean()), 4),
        "test_images": len(x_test),
        "per_attribute_test_accuracy": {n: round(float(a), 4) for n, a in zip(names, per_attr)},
        "attributes": list(names),
        "command": "lamina train celeba-attributes-probe (before the zoo move: python -m lamina.vision.attributes train)",
    }
    CARD.write_text(json.dumps(card, indent=2) + "\n")
    return card
