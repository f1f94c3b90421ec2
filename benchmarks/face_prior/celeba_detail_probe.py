"""Issue 23, the CelebA recognition target: how much detail residual does recognition need? On CelebA *train*
faces (the test split is not used to choose), each probe face is coded by a face codec's basic + middle styles and
a detail residual of a given pooling / step / shrink (lamina.priors.detail, its module constants set per variant),
and recognised leave-one-out in the gallery of the other celeba-train originals (dlib descriptors; the probe's own
original is left out, its identity's other images stay). Also: identity kept / distance against its own original,
LPIPS-alex, bytes. Geometry is off here (it moves landmarks, not texture: +0-6 points of recognition on celeba-test).

    .venv/bin/python benchmarks/face_prior/celeba_detail_probe.py --codec stylegan-scalable --quality 1 \
        --variants 2:1.0:0.75 2:1.0:1.0 2:0.5:1.0 1:1.0:1.0 1:1.5:1.0 --limit 100 \
        --gallery /path/celeba-train-gallery.npz --out docs/results/face-prior/probe-v2/celeba-detail-sg-q1.json

The prior was trained on celeba-train among its faces, so its numbers here are optimistic against celeba-test;
read the variants against each other (and against the committed setting, 2:1.0:0.75).
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import torch


def refine(target: torch.Tensor, current: torch.Tensor, lo: int, hi: int, step: float):
    """(bytes, latent offset): the residual target - current inside rows/columns lo..hi-1, quantised with `step`
    at the latent's resolution (pool 1) and coded as the detail layer codes its symbols."""
    from lamina.entropy import adaptive
    from lamina.priors import detail
    r = (target - current).double()[0, :, lo:hi, lo:hi]
    symbols = torch.round(r / step).clamp(-detail.CLIP, detail.CLIP).to(torch.int64)
    coded = adaptive.encode([((symbols + detail.CLIP).flatten().numpy(), detail.ALPHABET, detail.INITIAL_COUNTS)])
    offset = torch.zeros_like(current)
    offset[0, :, lo:hi, lo:hi] = symbols.to(offset) * step
    return coded, offset


def outside(target: torch.Tensor, generated: torch.Tensor, lo: int, hi: int) -> bytes:
    """The committed detail payload (pool 2, step 1.0, SHRINK) with its symbols zero in the 2 x 2 blocks whose centre
    lies inside rows / columns lo..hi-1."""
    import torch.nn.functional as F
    from lamina.entropy import adaptive
    from lamina.priors import detail
    residual = F.avg_pool2d((target - generated).double(), detail.POOL) * detail.SHRINK
    symbols = torch.round(residual / 1.0).clamp(-detail.CLIP, detail.CLIP).to(torch.int64)[0]
    centres = torch.arange(symbols.shape[1]) * detail.POOL + (detail.POOL - 1) / 2
    inside = (centres >= lo) & (centres < hi)
    symbols[:, inside[:, None] & inside[None, :]] = 0
    return adaptive.encode([((symbols + detail.CLIP).flatten().numpy(), detail.ALPHABET, detail.INITIAL_COUNTS)])


@torch.no_grad()
def main() -> None:
    import lamina
    from lamina.codecs.face_codec import DETAIL_OVER
    from lamina.data.datasets import load_dataset
    from lamina.priors import detail
    from lamina.vision.evaluators import Evaluator, Gallery
    from lamina.vision.identity import dlib_descriptor
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", required=True)
    parser.add_argument("--quality", type=int, required=True)
    parser.add_argument("--variants", nargs="+", required=True,
                        help="POOL:STEP:SHRINK (the detail residual so), RLO:HI:STEP (the committed residual, then "
                             "the rest at pool 1 in rows / columns LO..HI-1 with STEP), NLO:HI:STEP (that refinement "
                             "alone over the styles), CLO:HI:STEP (the committed residual outside that square, the refinement inside)")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--gallery", required=True, help="celeba-train gallery cache (.npz; built when missing)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    gallery = Gallery.build(cache_path=Path(args.gallery))
    items = list(load_dataset("celeba-train"))
    if len(items) != len(gallery.identities):
        raise SystemExit("the gallery cache is not of this celeba-train")
    counts = Counter(int(i) for i in gallery.identities)
    # every k-th train image whose identity has another train image (so that it can be recognised at all)
    eligible = [j for j, item in enumerate(items) if counts[int(item.identity)] > 1]
    chosen = eligible[::max(1, len(eligible) // args.limit)][:args.limit]
    evaluator = Evaluator(("lpips_alex", "identity_dlib"))
    codec = lamina.load(args.codec, quality=args.quality, geometry="off")
    pool0, shrink0 = detail.POOL, detail.SHRINK
    rows: dict[str, list[dict]] = {}

    def score(name, image, face, ref, j, nbytes):
        descriptor = dlib_descriptor(face, ref["lm68"])   # as the bench's recognition: the original's landmarks
        distances = np.linalg.norm(gallery.descriptors - descriptor, axis=1)
        distances[j] = np.inf
        correct = float(gallery.identities[int(np.argmin(distances))] == items[j].identity)
        rows.setdefault(name, []).append({**evaluator.score(ref, face), "bytes": nbytes, "recognised": correct})

    for j in chosen:
        image = items[j].image()
        h, w = image.shape[:2]
        ref = evaluator.reference(image, items[j])
        x = codec.model_input(image)
        payloads = codec.code_styles(x, DETAIL_OVER)
        style_bytes = sum(len(p) for p in payloads)
        generated = codec.generated_latent(codec.prior_styles(payloads))
        target = detail.target_latent(codec.model.prior, x)
        score("styles", image, codec.render_layers(payloads, DETAIL_OVER, h, w), ref, j, style_bytes)
        score("original", image, image, ref, j, 0)
        for variant in args.variants:
            if variant[0] == "C":  # the committed residual outside the square, the pool-1 refinement inside
                lo, hi, fine = variant[1:].split(":")
                base = outside(target, generated, int(lo), int(hi))
                offset = detail.decode(base, tuple(generated.shape[1:]), 1.0)
                coded, refined = refine(target, generated + offset, int(lo), int(hi), float(fine))
                score(f"detail {variant}", image, codec.render_with_detail(generated, offset + refined, h, w), ref,
                      j, style_bytes + len(base) + len(coded))
                continue
            if variant[0] in "RN":  # (R: the committed residual, then) a pool-1 refinement inside a square
                lo, hi, fine = variant[1:].split(":")
                base = detail.encode(target, generated, 1.0) if variant[0] == "R" else b""
                offset = detail.decode(base, tuple(generated.shape[1:]), 1.0) if base else 0 * generated
                coded, refined = refine(target, generated + offset, int(lo), int(hi), float(fine))
                score(f"detail {variant}", image, codec.render_with_detail(generated, offset + refined, h, w), ref,
                      j, style_bytes + len(base) + len(coded))
                continue
            pool, step, shrink = variant.split(":")
            detail.POOL, detail.SHRINK = int(pool), float(shrink)
            try:
                coded = detail.encode(target, generated, float(step))
                offset = detail.decode(coded, tuple(generated.shape[1:]), float(step))
            finally:
                detail.POOL, detail.SHRINK = pool0, shrink0
            score(f"detail {variant}", image, codec.render_with_detail(generated, offset, h, w), ref, j,
                  style_bytes + len(coded))
    keys = ("bytes", "recognised", "id_dlib_kept", "id_dlib_distance", "lpips_alex")
    result = {"faces": len(chosen), "codec": args.codec, "quality": args.quality, "split": "celeba-train, leave one out",
              "rows": {name: {k: float(np.nanmean([r[k] for r in v])) for k in keys} for name, v in rows.items()}}
    Path(args.out).write_text(json.dumps(result, indent=1))
    for name, row in result["rows"].items():
        print(f"{name:24s}", " ".join(f"{k} {v:.4f}" for k, v in row.items()))


if __name__ == "__main__":
    main()
