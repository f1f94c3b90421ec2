"""Readers for the shared face sets and Kodak, in a fixed deterministic order.

Each dataset is a list of `Item`s (lazy image loading). Names used by `lamina bench`:
utk-test, utk-train, celeba-test, celeba-train, landmarks-helen-test, landmarks-helen-train,
landmarks-afw, kodak, imagenette-test, imagenette-train (Item.identity = the ImageNet-1k class index),
bsds500-test.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError

from ..paths import DEFAULT_ROOT, data_root  # noqa: F401  (where the shared data lives)


@dataclass(frozen=True)
class Item:
    """One image of a dataset with whatever ground truth the set has."""

    name: str
    path: Path
    identity: int | None = None
    attributes: tuple[int, ...] | None = None
    imagenet_class: int | None = None  # ImageNet-1k class index (imagenette sets), for top-1/top-5 accuracy
    landmarks: np.ndarray | None = field(default=None, compare=False)  # 68x2, crop pixels
    user: bool = False  # a user's own file: read with lamina's input policy (lamina.imageio.load_image)

    def image(self) -> np.ndarray:
        """The image as HxWx3 uint8 (shared sets: grey or palette files are converted, these are trusted data;
        a user's files: lamina.imageio.load_image, which refuses what it cannot code faithfully)."""
        if self.user:
            from ..imageio import load_image
            return load_image(self.path)
        from PIL import Image
        with Image.open(self.path) as img:
            return np.asarray(img.convert("RGB"))


# The shared talking-face clips (../shared/data/video/): these three train latent-flow's delta model
# (lamina train latent-flow --stage video); the others are the evaluation clips (`lamina bench --video
# --dataset talking-faces`).
VIDEO_TRAIN_CLIPS = ("lp_d3.mp4", "lp_d6.mp4", "lp_d9.mp4")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")


def user_dataset(spec: Path) -> list[Item]:
    """A user's images: every image file of a folder (sorted), or the files a text file lists (one path per line,
    relative to the list's folder; '#' starts a comment). Items are named by their path as given."""
    if spec.is_dir():
        paths = sorted(p for p in spec.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        items = [Item(p.name, p, user=True) for p in paths]
    else:
        names = [line.split("#", 1)[0].strip() for line in spec.read_text(errors="replace").splitlines()]
        names = [n for n in names if n]
        missing = [n for n in names if not (spec.parent / n).is_file()]
        if missing:
            raise InputError(f"{spec} lists {len(missing)} files that do not exist, e.g. {missing[0]}")
        items = [Item(n, spec.parent / n, user=True) for n in names]
    if len({item.name for item in items}) != len(items):
        raise InputError(f"{spec}: image names must be unique (the bench keys its rows by name)")
    if not items:
        raise InputError(f"no images in {spec} (a folder of {', '.join(IMAGE_SUFFIXES)} files, or a text file "
                         f"listing image paths)")
    return items


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


@lru_cache(maxsize=4)
def celeba_labels(root: Path) -> tuple[list[str], dict[str, tuple[int, tuple[int, ...]]]]:
    """Attribute names and {file: (identity, 40 attributes)} from labels.csv."""
    with open(root / "faces" / "celeba" / "labels.csv", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        table = {row[0]: (int(row[1]), tuple(int(v) for v in row[2:])) for row in reader}
    return header[2:], table


def read_pts(path: Path) -> np.ndarray:
    """68 x 2 landmark array from a .pts file of 'x y' lines (with or without the 300-W braces)."""
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                rows.append((float(parts[0]), float(parts[1])))
            except ValueError:
                continue
    points = np.array(rows, dtype=np.float64)
    if points.shape != (68, 2):
        raise InputError(f"{path}: expected 68 points, found {len(points)}")
    return points


def load_dataset(name: str, root=None, limit: int | None = None) -> list[Item]:
    """Items of a named dataset (or of a folder of images / a text file listing images: `user_dataset`), sorted
    deterministically, optionally the first `limit`."""
    if name not in DATASETS and Path(name).exists():
        items = user_dataset(Path(name))
        return items[:limit] if limit else items
    root = data_root(root)
    faces = root / "faces"
    if name in ("utk-test", "utk-train"):
        split = name.split("-")[1]
        items = [Item(f, faces / "utk" / f) for f in sorted(_lines(faces / "utk" / f"{split}.txt"))]
    elif name in ("celeba-test", "celeba-train"):
        split = name.split("-")[1]
        _, table = celeba_labels(root)
        items = [Item(f, faces / "celeba" / "images" / f, identity=table[f][0], attributes=table[f][1])
                 for f in sorted(_lines(faces / "celeba" / f"{split}.txt"))]
    elif name in ("landmarks-helen-test", "landmarks-helen-train", "landmarks-afw"):
        folder = {"landmarks-helen-test": "helen_testset", "landmarks-helen-train": "helen_trainset",
                  "landmarks-afw": "afw"}[name]
        base = faces / "landmarks68" / folder
        items = [Item(p.name, p, landmarks=read_pts(p.with_suffix(".pts"))) for p in sorted(base.glob("*.jpg"))]
    elif name == "kodak":
        items = [Item(p.name, p) for p in sorted((root / "kodak").glob("*.png"))]
    elif name in ("imagenette-test", "imagenette-train"):
        base = root / "natural" / "imagenette"
        classes = imagenette_classes(root)
        items = [Item(f, base / "images" / f, identity=classes[f.split("/")[0]],
                      imagenet_class=classes[f.split("/")[0]])
                 for f in sorted(_lines(base / f"{name.split('-')[1]}.txt"))]
    elif name == "bsds500-test":
        items = [Item(p.name, p) for p in sorted((root / "natural" / "bsds500-test").glob("*.jpg"))]
    else:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, or a folder of images or a "
                         f"text file listing image paths")
    if not items:
        raise InputError(f"dataset {name} is empty under {root}")
    return items[:limit] if limit else items


DATASETS = ("utk-test", "utk-train", "celeba-test", "celeba-train", "landmarks-helen-test",
            "landmarks-helen-train", "landmarks-afw", "kodak", "imagenette-test", "imagenette-train", "bsds500-test")


@lru_cache(maxsize=4)
def imagenette_classes(root: Path) -> dict[str, int]:
    """Imagenette wnid -> ImageNet-1k class index (an Item's `identity` on the imagenette sets)."""
    rows = _lines(root / "natural" / "imagenette" / "classes.tsv")[1:]
    return {row.split("\t")[0]: int(row.split("\t")[1]) for row in rows}
