"""Choose the residual layers' quantisation steps on held-out Imagenette *train* images (the last 10 per class,
never trained on): rate and PSNR of the full latent, + residual-coarse, + residual-fine for candidate steps.

    python benchmarks/progressive_mask/residual_steps.py --weights lamina/zoo/progressive-mask-q1.pt
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch


from lamina.codecs.progressive_mask.codec import ProgressiveMask  # noqa: E402
from lamina.codecs.progressive_mask.task import split_items  # noqa: E402
from lamina.metrics.pixel import psnr  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--steps", nargs="*", default=["0.5,0.25", "1,0.5", "1.5,0.75", "2,1"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    items = split_items()[1][::10][:args.images]
    codec = ProgressiveMask(weights=args.weights, quality=6)
    results = {}
    for item in items:
        image = item.image()
        h, w = image.shape[:2]
        with torch.no_grad():
            a = codec.analyse(image)
        for steps in args.steps:
            codec.steps = tuple(float(s) for s in steps.split(","))
            with torch.no_grad():
                stream = codec.encode_analysed(a, h, w)
            for layers in (2, 4, 5):
                data = stream.truncate(layers).to_bytes()
                r = results.setdefault(f"{steps} L{layers}", {"bpp": [], "psnr": []})
                r["bpp"].append(8 * len(data) / (h * w))
                r["psnr"].append(psnr(image, codec.decode(data, layers=layers)))
    table = {k: {m: round(float(np.mean(v)), 4) for m, v in r.items()} for k, r in results.items()}
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
