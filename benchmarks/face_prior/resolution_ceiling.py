"""Issue 23 probe (b), its ceiling: what the prior's output size costs before any prior is trained. Each held-out
face goes through the frozen TAEF2 autoencoder alone at the working size S (the face resized to S, encoded, decoded,
resized back to its own size), S = 128 (the prior's latent is 16 x 16, as committed) and 256 (a 32 x 32 latent: one
more generator level), beside a plain bilinear resize to S and back. The dlib identity kept, NME, LPIPS-alex and
PSNR of these bound what a prior at that size can reach; the prior's own projection is measured beside them.

    .venv/bin/python benchmarks/face_prior/resolution_ceiling.py --limit 64 --out docs/results/face-prior/probe-v2
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lamina import zoo
from lamina.imageio import to_tensor
from lamina.nn.taef2 import decode, load_encoder
from lamina.priors.evaluate import reconstruct
from lamina.priors.face import load_prior


def resized(image: np.ndarray, size: int, autoencode: bool) -> np.ndarray:
    x = F.interpolate(to_tensor(image[None]), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if autoencode:
        with torch.no_grad():
            x = decode(load_encoder()(x))
    x = F.interpolate(x, size=image.shape[:2], mode="bicubic", align_corners=False).clamp(0, 1)
    return (x[0] * 255).round().byte().permute(1, 2, 0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--weights", default=str(zoo.path("face-prior")))
    parser.add_argument("--out", default="docs/results/face-prior/probe-v2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from lamina.data.training import split_items
    from lamina.vision.evaluators import Evaluator
    items = split_items("faces")[1][:args.limit]
    prior = load_prior(Path(args.weights))
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib"))
    variants = {"resize 128": lambda im: resized(im, 128, False), "TAEF2 at 128": lambda im: resized(im, 128, True),
                "resize 256": lambda im: resized(im, 256, False), "TAEF2 at 256": lambda im: resized(im, 256, True),
                "prior projection (3 layers)": lambda im: reconstruct(prior, im, 3)}
    rows = {name: [] for name in variants}
    for item in items:
        image = item.image()
        ref = evaluator.reference(image, item)
        for name, fn in variants.items():
            rows[name].append(evaluator.score(ref, fn(image)))
    summary = {name: {k: float(np.nanmean([r[k] for r in scores])) for k in scores[0]} for name, scores in rows.items()}
    summary["faces"] = len(items)
    summary["image_size"] = list(items[0].image().shape[:2])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "resolution-ceiling.json").write_text(json.dumps(summary, indent=1))
    for name, s in summary.items():
        if isinstance(s, dict):
            print(f"{name:30s} identity {s['id_dlib_kept']:.3f} dist {s['id_dlib_distance']:.3f} "
                  f"LPIPS {s['lpips_alex']:.3f} PSNR {s['psnr']:.2f} NME {s['nme_dlib']:.4f}")


if __name__ == "__main__":
    main()
