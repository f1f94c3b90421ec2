"""Calibrate the face codecs' framing check (lamina.vision.face.FRAMING_LIMITS, issue 15 item 3).

Three measurements, written to docs/results/face-check/face_check.json and printed as markdown:
1. Where aligned crops put the eyes (utk-test, celeba-test, Helen test, AFW): the percentiles of scale, offset
   and roll that the limits must leave inside (and the share the check accepts).
2. Known misalignments of aligned utk-test crops (zoom, shift, rotation; reflected borders), each scored by the
   check and by what the face codecs make of it: PSNR and LPIPS-alex of stylegan-scalable's and latent-flow's
   decoded image against the misaligned input, next to the aligned input's.
3. Real unaligned inputs: the first frame of each shared talking-face clip and the 24 Kodak images.
--sheet writes only pictures/misaligned.jpg: two utk-test faces aligned and misaligned (top) and what
latent-flow decodes from each (below), the face check switched off.

Usage: python benchmarks/vision/measure_face_check.py [--faces 24] [--out docs/results/face-check] [--sheet]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def warp(image: np.ndarray, zoom: float = 1.0, shift: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """The crop zoomed about its centre, shifted right by `shift` of its side and rotated by `angle` degrees
    (borders reflected, so the result looks like a photo around the face, not a padded crop)."""
    import cv2
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, zoom)
    matrix[0, 2] += shift * w
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


PERTURBATIONS = [("aligned", {}), ("zoom 0.5", {"zoom": 0.5}), ("zoom 0.65", {"zoom": 0.65}),
                 ("zoom 0.8", {"zoom": 0.8}), ("zoom 0.9", {"zoom": 0.9}), ("zoom 1.1", {"zoom": 1.1}),
                 ("zoom 1.25", {"zoom": 1.25}), ("zoom 1.4", {"zoom": 1.4}), ("shift 0.05", {"shift": 0.05}),
                 ("shift 0.1", {"shift": 0.1}), ("shift 0.2", {"shift": 0.2}), ("rotate 8", {"angle": 8}),
                 ("rotate 15", {"angle": 15}), ("rotate 25", {"angle": 25})]


def fits_of(images) -> list:
    from lamina.vision.face import framing_fit
    return [framing_fit(image) for image in images]


def summary(fits) -> dict:
    from lamina.vision.face import FRAMING_LIMITS
    found = [f for f in fits if f is not None]
    scale = np.array([f.scale for f in found])
    offset = np.array([f.offset for f in found])
    roll = np.abs([f.roll for f in found])
    return {"images": len(fits), "faces": len(found), "mesh fallback": sum(f.source == "mesh" for f in found),
            "accepted": sum(1 for f in found if not f.problems(FRAMING_LIMITS)) / max(len(fits), 1),
            "scale p0.5/p50/p99.5": [round(float(np.percentile(scale, q)), 3) for q in (0.5, 50, 99.5)],
            "offset p50/p99.5": [round(float(np.percentile(offset, q)), 3) for q in (50, 99.5)],
            "|roll| p50/p99.5": [round(float(np.percentile(roll, q)), 2) for q in (50, 99.5)]}


SHEET = [("aligned", {}), ("zoom 0.8", {"zoom": 0.8}), ("zoom 1.25", {"zoom": 1.25}), ("shift 0.1", {"shift": 0.1}),
         ("rotate 15", {"angle": 15}), ("zoom 0.6", {"zoom": 0.6})]


def sheet(out: Path) -> None:
    from PIL import Image

    import lamina
    from lamina.data.datasets import load_dataset
    codec = lamina.load("latent-flow", check_face=False)
    faces = [item.image() for item in load_dataset("utk-test")]
    rows = []
    for face in (faces[260], faces[400]):
        inputs = [warp(face, **kwargs) for _, kwargs in SHEET]
        rows += [np.concatenate(inputs, 1), np.concatenate([codec.decode(codec.encode(x)) for x in inputs], 1)]
    (out / "pictures").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).resize((len(SHEET) * 160, 4 * 160)).save(
        out / "pictures" / "misaligned.jpg", quality=88)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=24, help="utk-test crops per misalignment")
    parser.add_argument("--out", default="docs/results/face-check")
    parser.add_argument("--sheet", action="store_true", help="only write pictures/misaligned.jpg")
    args = parser.parse_args()
    if args.sheet:
        return sheet(Path(args.out))
    import torch
    torch.set_num_threads(2)
    import lamina
    from lamina.data.datasets import data_root, load_dataset
    from lamina.metrics.perceptual import lpips_alex
    from lamina.metrics.pixel import psnr
    from lamina.video import read_video
    result = {"aligned sets": {}, "misaligned": {}, "unaligned": {}}

    for name, limit in (("utk-test", None), ("celeba-test", 400), ("landmarks-helen-test", None),
                        ("landmarks-afw", None)):
        fits = fits_of(item.image() for item in load_dataset(name, limit=limit))
        result["aligned sets"][name] = summary(fits)
        print(name, result["aligned sets"][name], flush=True)

    codecs = {name: lamina.load(name, check_face=False) for name in ("stylegan-scalable", "latent-flow")}
    faces = [item.image() for item in load_dataset("utk-test")][::500 // args.faces][:args.faces]
    for label, kwargs in PERTURBATIONS:
        images = [warp(face, **kwargs) for face in faces]
        row = summary(fits_of(images))
        for name, codec in codecs.items():
            decoded = [codec.decode(codec.encode(image)) for image in images]
            row[f"{name} PSNR"] = round(float(np.mean([psnr(a, b) for a, b in zip(images, decoded)])), 2)
            row[f"{name} LPIPS"] = round(float(np.mean([lpips_alex(a, b) for a, b in zip(images, decoded)])), 4)
        result["misaligned"][label] = row
        print(label, row, flush=True)

    from lamina.vision.face import FRAMING_LIMITS
    root = data_root()
    for clip in sorted((root / "video").glob("*.mp4")):
        frame = read_video(clip, max_frames=1)[0][0]
        fit = fits_of([frame])[0]
        result["unaligned"][clip.name] = None if fit is None else {
            "scale": round(fit.scale, 3), "offset": round(fit.offset, 3), "roll": round(fit.roll, 1),
            "accepted": not fit.problems(FRAMING_LIMITS)}
        print(clip.name, result["unaligned"][clip.name], flush=True)
    kodak = fits_of(item.image() for item in load_dataset("kodak"))
    result["unaligned"]["kodak"] = {"images": len(kodak), "faces": sum(f is not None for f in kodak),
                                    "accepted": sum(1 for f in kodak if f is not None and not f.problems())}
    print("kodak", result["unaligned"]["kodak"])
    result["limits"] = FRAMING_LIMITS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "face_check.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
