"""Issue 23 probe: does the face codecs' `detail` layer need the enhanced styles under it? On the prior's
validation faces (the last 64 utk-train faces, held out of its training), the detail layer coded against the latent
of all three style groups (today's layout: basic, middle, enhanced styles, detail) vs against the latent of the
first two (the enhanced styles left at w̄ and not sent): payload bytes and the detail layer's face (LPIPS-alex, dlib
identity kept, dlib NME, PSNR), and the faces of 2 and 3 style groups.

    .venv/bin/python benchmarks/face_prior/enhanced_layout_probe.py --codec stylegan-scalable --quality 1 \
        --out docs/results/face-prior/probe-v2/enhanced-layout-sg-q1.json
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

KEYS = ("payload_bytes", "id_dlib_kept", "id_dlib_distance", "lpips_alex", "nme_dlib", "psnr")


@torch.no_grad()
def main() -> None:
    import lamina
    from lamina.data.training import split_items
    from lamina.priors import detail
    from lamina.vision.evaluators import Evaluator
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", required=True)
    parser.add_argument("--quality", type=int, required=True)
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    items = split_items("faces")[1][:args.limit]
    evaluator = Evaluator(("psnr", "lpips_alex", "identity_dlib", "landmarks_dlib"))
    codec = lamina.load(args.codec, quality=args.quality)
    step = codec.detail_step
    rows: dict[str, list[dict]] = {}
    for item in items:
        image = item.image()
        h, w = image.shape[:2]
        ref = evaluator.reference(image, item)
        x = codec.model_input(image)
        payloads = codec.code_styles(x)
        for groups in (2, 3):
            styles = codec.prior_styles(payloads[:groups])
            style_bytes = sum(len(p) for p in payloads[:groups])
            plain = codec.render_layers(payloads[:groups], groups, h, w)
            rows.setdefault(f"{groups} style groups", []).append(
                {**evaluator.score(ref, plain), "payload_bytes": style_bytes})
            coded = codec.detail_payload(x, styles, step)
            generated = codec.generated_latent(styles)
            offset = detail.decode(coded, tuple(generated.shape[1:]), step)
            face = codec.render_with_detail(generated, offset, h, w)
            rows.setdefault(f"{groups} style groups + detail", []).append(
                {**evaluator.score(ref, face), "payload_bytes": style_bytes + len(coded)})
    result = {"faces": len(items), "codec": args.codec, "quality": args.quality, "detail_step": step,
              "model_id": codec.model_id.hex() if isinstance(codec.model_id, bytes) else codec.model_id,
              "rows": {name: {key: float(np.nanmean([r[key] for r in v])) for key in KEYS} for name, v in rows.items()}}
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    for name, row in result["rows"].items():
        print(name, json.dumps({k: round(v, 4) for k, v in row.items()}))


if __name__ == "__main__":
    main()
