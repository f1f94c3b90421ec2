"""Training data for face codecs: held-out validation split, random crops/flips, deterministic sampling.

Sampling is a pure function of (seed, rank, step), so a resumed run draws exactly the batches the
uninterrupted run would have drawn, and every DDP rank draws different ones.
"""
from __future__ import annotations

import numpy as np
import torch

from ..imageio import to_tensor
from .datasets import Item, load_dataset

# Sources for training face codecs; test splits never appear here.
TRAIN_SETS = {"utk": ("utk-train",), "celeba": ("celeba-train",), "faces": ("utk-train", "celeba-train",
                                                                             "landmarks-helen-train")}
VALIDATION_IMAGES = 64  # the last N (sorted) images of the first source are held out for validation


def split_items(name: str, root=None) -> tuple[list[Item], list[Item]]:
    """(train items, validation items) of a training source name (utk, celeba, faces)."""
    from ..errors import InputError
    if name not in TRAIN_SETS:
        raise InputError(f"unknown training data {name!r}; known: {', '.join(TRAIN_SETS)}")
    sources = [load_dataset(source, root=root) for source in TRAIN_SETS[name]]
    validation = sources[0][-VALIDATION_IMAGES:]
    train = sources[0][:-VALIDATION_IMAGES] + [item for rest in sources[1:] for item in rest]
    return train, validation


def _read(item: Item, resize: int | None) -> np.ndarray:
    from PIL import Image
    image = item.image()
    if resize:
        image = np.asarray(Image.fromarray(image).resize((resize, resize), Image.BICUBIC))
    return image


class FaceCrops:
    """Decoded training images kept in memory (uint8), served as random crops with flips."""

    def __init__(self, items: list[Item], patch: int, resize: int | None = None):
        self.patch = patch
        self.images = [_read(item, resize) for item in items]

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, size: int, seed: int, rank: int, step: int) -> torch.Tensor:
        """N x 3 x patch x patch float batch in [0, 1], a function of (seed, rank, step) only."""
        rng = np.random.default_rng([seed, rank, step])
        out = np.empty((size, self.patch, self.patch, 3), np.uint8)
        for i in range(size):
            image = self.images[rng.integers(len(self.images))]
            h, w = image.shape[:2]
            y = rng.integers(h - self.patch + 1)
            x = rng.integers(w - self.patch + 1)
            crop = image[y:y + self.patch, x:x + self.patch]
            out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
        return to_tensor(out)


def center_crops(items: list[Item], size: int, resize: int | None = None) -> torch.Tensor:
    """Deterministic evaluation batch: the centre size x size crop of each (optionally resized) image."""
    crops = []
    for item in items:
        image = _read(item, resize)
        h, w = image.shape[:2]
        y, x = (h - size) // 2, (w - size) // 2
        crops.append(image[y:y + size, x:x + size])
    return to_tensor(np.stack(crops))
