"""Issue 23 probes of the face codecs' detail residual, on the prior's 64 validation faces (the last 64 utk-train
faces, held out of its training), for a face codec and quality: the first G style groups alone, then + the pooled
residual against their latent, shrunk by each a (lamina.priors.detail.SHRINK: symbols round(a * residual / step);
the decoder adds symbol x step and does not know a): payload bytes, dlib identity kept / distance, dlib NME,
LPIPS-alex, PSNR.

    # how much of the residual to code (probe-v2.md, "Shrinking the residual")
    .venv/bin/python benchmarks/face_prior/detail_shrink_probe.py --codec stylegan-scalable --quality 1 \
        --shrink 0.6 0.7 0.75 0.8 0.9 1.0 --out docs/results/face-prior/probe-v2/detail-shrink-sg-q1.json
    # the residual under two or three style groups (probe-v2.md, "The enhanced layer": its JSONs were written by
    # this probe's first form, enhanced_layout_probe.py at commit 8ee2424, with the full residual)
    .venv/bin/python benchmarks/face_prior/detail_shrink_probe.py --codec stylegan-scalable --quality 1 \
        --groups 2 3 --shrink 1.0 --out ...
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

KEYS = ("payload_bytes", "id_dlib_kept", "id_dlib_distance", "nme_dlib", "lpips_alex", "psnr")


@torch.no_grad()
def main() -> None:
    import lamina
    from lamina.codecs.face_codec import DETAIL_OVER
    from lamina.data.training import split_items
    from lamina.priors import detail
    from lamina.vision.evaluators import Evaluator
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", required=True)
    parser.add_argument("--quality", type=int, required=True)
    parser.add_argument("--shrink", type=float, nargs="+", required=True)
    parser.add_argument("--groups", type=int, nargs="+", default=[DETAIL_OVER],
                        help="style groups under the residual (default: the image layout's)")
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib"))
    codec = lamina.load(args.codec, quality=args.quality)
    rows: dict[str, list[dict]] = {}
    for item in split_items("faces")[1][:args.limit]:
        image = item.image()
        h, w = image.shape[:2]
        ref = evaluator.reference(image, item)
        x = codec.model_input(image)
        coded_styles = codec.code_styles(x, max(args.groups))
        target = detail.target_latent(codec.model.prior, x)
        for groups in args.groups:
            payloads = coded_styles[:groups]
            style_bytes = sum(len(p) for p in payloads)
            generated = codec.generated_latent(codec.prior_styles(payloads))
            rows.setdefault(f"{groups} style groups", []).append(
                {**evaluator.score(ref, codec.render_layers(payloads, groups, h, w)), "payload_bytes": style_bytes})
            for a in args.shrink:  # detail.encode codes SHRINK x its residual: scale the target so that it codes a x
                coded = detail.encode(generated + (a / detail.SHRINK) * (target - generated), generated, args.step)
                offset = detail.decode(coded, tuple(generated.shape[1:]), args.step)
                face = codec.render_with_detail(generated, offset, h, w)
                rows.setdefault(f"{groups} style groups + residual x {a}", []).append(
                    {**evaluator.score(ref, face), "payload_bytes": style_bytes + len(coded)})
    result = {"faces": args.limit, "codec": args.codec, "quality": args.quality, "step": args.step,
              "rows": {name: {key: float(np.nanmean([r[key] for r in v])) for key in KEYS} for name, v in rows.items()}}
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    for name, row in result["rows"].items():
        print(name, json.dumps({k: round(v, 4) for k, v in row.items()}))


if __name__ == "__main__":
    main()
