"""Issue 23 probe (d): what a spatial enhanced layer would buy. On the committed face prior, the TAEF2-latent
residual r = latent(x) - G(round(E(x))) of each held-out face is average-pooled by P, quantised with step D and
added back (nearest upsampling) before the TAEF2 decoder renders the face. Per setting: bytes of the residual
(real range-coder bytes of lamina.entropy.adaptive, one segment per pooled map, and the ideal static-model bits
of a pmf fitted on the same faces: what a learned entropy model could approach) and the decoded face's dlib
identity kept, LPIPS-alex and PSNR against the original, at the original's size.

    .venv/bin/python benchmarks/face_prior/residual_probe.py --limit 64 --out docs/results/face-prior/probe-v2
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lamina import zoo
from lamina.entropy import adaptive
from lamina.priors.evaluate import prior_input
from lamina.priors.face import load_prior, render

SETTINGS = [(None, None), (4, 1.0), (4, 0.5), (2, 1.0), (2, 0.5), (2, 0.35), (1, 1.0), (1, 0.5)]
CLIP = 15


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
    model = load_prior(Path(args.weights))
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib"))
    images = [item.image() for item in items]
    refs = [evaluator.reference(image, item) for image, item in zip(images, items)]
    with torch.no_grad():
        latents = torch.cat([prior_input(model, image[None]) for image in images])
        generated = model.synthesize(torch.round(model.encode(latents)), 3)
    residual = latents - generated
    rows = []
    for pool, step in SETTINGS:
        if pool is None:
            symbols, added = None, torch.zeros_like(residual)
        else:
            pooled = F.avg_pool2d(residual, pool) if pool > 1 else residual
            symbols = torch.round(pooled / step).clamp(-CLIP, CLIP).to(torch.int64)
            added = F.interpolate(symbols.float() * step, scale_factor=pool, mode="nearest") if pool > 1 \
                else symbols.float() * step
        with torch.no_grad():
            pixels = render(model, generated + added)
        scores, real_bytes = [], []
        for i, image in enumerate(images):
            x = F.interpolate(pixels[i:i + 1], size=image.shape[:2], mode="bicubic", align_corners=False).clamp(0, 1)
            decoded = (x[0] * 255).round().byte().permute(1, 2, 0).numpy()
            scores.append(evaluator.score(refs[i], decoded))
            if symbols is not None:
                flat = (symbols[i].flatten() + CLIP).numpy()
                real_bytes.append(len(adaptive.encode([(flat, 2 * CLIP + 1)])))
        row = {"pool": pool, "step": step,
               "bytes_adaptive": float(np.mean(real_bytes)) if real_bytes else 0.0,
               **{name: float(np.nanmean([s[name] for s in scores])) for name in scores[0]}}
        if symbols is not None:  # ideal bits under one static pmf per channel fitted on these faces
            s = (symbols + CLIP).permute(1, 0, 2, 3).reshape(symbols.shape[1], -1).numpy()
            bits = 0.0
            for channel in s:
                p = np.bincount(channel, minlength=2 * CLIP + 1) + 0.5
                p = p / p.sum()
                bits += -np.log2(p[channel]).sum()
            row["bytes_static_model"] = bits / 8 / len(images)
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "residual_probe.json").write_text(json.dumps({"faces": len(images), "weights": args.weights,
                                                         "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
