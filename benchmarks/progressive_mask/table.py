"""Table II of seed 001 on Imagenette test: bpp vs EfficientNet-Lite0 top-1 / top-5 and PSNR for RMPGC and its
ablations at requested rates (rate control, real bytes), plus the originals' accuracy and each stream's base
layers alone, full latent and residual layers.

  python benchmarks/progressive_mask/table.py --out runs/progressive-mask/table/rmpgc.jsonl \
      --weights lamina/zoo/progressive-mask-q1.pt --variant RMPGC --rates 0.08 0.11 0.15 0.21 --layers
  (--part K/N splits the images over processes; --every N takes every N-th image; rows are appended and a
  rerun skips images already done)

Variants: RMPGC (its network, blend mask), MPGC-2 (conditional network trained on U in {M, 1}, blend mask),
MPGC-1 (network trained without masks, blend mask at test time) and VRGC (the MPGC-1 network with the LCM-only
mask: no SIM, no conditioning).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


from lamina.bitstream import Bitstream  # noqa: E402
from lamina.codecs.progressive_mask.codec import ProgressiveMask  # noqa: E402
from lamina.data.datasets import load_dataset  # noqa: E402
from lamina.errors import InputError  # noqa: E402
from lamina.metrics.perceptual import dists, lpips_alex  # noqa: E402
from lamina.metrics.pixel import psnr  # noqa: E402
from lamina.vision.classify import classify  # noqa: E402


def scores(image, decoded, label):
    probs = classify(decoded)
    order = np.argsort(probs)
    return {"psnr": float(psnr(image, decoded)), "top1": float(order[-1] == label), "top5": float(label in order[-5:])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--policy", default="blend")
    parser.add_argument("--rates", nargs="*", type=float, default=[0.08, 0.11, 0.15, 0.21])
    parser.add_argument("--layers", action="store_true", help="also score base only, full latent, residual layers")
    parser.add_argument("--originals", action="store_true", help="also score the originals")
    parser.add_argument("--dataset", default="imagenette-test")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--part", default="0/1")
    parser.add_argument("--perceptual", action="store_true", help="also LPIPS-alex and DISTS (Kodak, BSDS500)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    k, n = (int(v) for v in args.part.split("/"))
    items = load_dataset(args.dataset)[::args.every][k::n]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(line)["image"] for line in out.read_text().splitlines() if line.strip()}
    codec = ProgressiveMask(weights=args.weights, mask_policy=args.policy, quality=6)
    for index, item in enumerate(items):
        if item.name in done:
            continue
        image = item.image()
        h, w = image.shape[:2]
        label = item.imagenet_class
        rows = []
        start = time.perf_counter()
        with torch.no_grad():
            a = codec.analyse(image)
        analyse_s = time.perf_counter() - start

        def row(kind, stream, layers, **extra):
            data = stream.to_bytes()
            decoded = codec.decode(data, layers=layers)
            r = {"image": item.name, "variant": args.variant, "kind": kind, "layers": layers,
                 "bytes": len(data), "bpp": 8 * len(data) / (h * w), **extra}
            if label is not None:
                r.update(scores(image, decoded, label))
            else:
                r["psnr"] = float(psnr(image, decoded))
            if args.perceptual:
                r["lpips_alex"] = float(lpips_alex(image, decoded))
                r["dists"] = float(dists(image, decoded))
            rows.append(r)

        if args.originals and label is not None:
            rows.append({"image": item.name, "variant": "original", "kind": "original", "bpp": 24.0,
                         **scores(image, image, label)})
        for rate in args.rates:
            codec.bpp = rate
            try:
                with torch.no_grad():
                    stream = codec.encode_analysed(a, h, w)
            except InputError as exc:
                rows.append({"image": item.name, "variant": args.variant, "kind": "rate", "target": rate,
                             "unreachable": str(exc)})
                continue
            row("rate", stream, len(stream.layers), target=rate, S=codec.last_rate_control["S"],
                S_formula=codec.last_rate_control["S_formula"], positions=codec.last_rate_control["positions"])
        if args.layers:
            codec.bpp = None
            with torch.no_grad():
                full = codec.encode_analysed(a, h, w)  # quality 6: S = P
            for layers, kind in ((1, "base"), (2, "full-latent"), (4, "residual-coarse"), (5, "residual-fine")):
                row(kind, Bitstream.parse(full.truncate(layers).to_bytes()), layers)
        rows[0]["analyse_s"] = round(analyse_s, 3)
        with out.open("a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        if index % 20 == 0:
            print(index, len(items), flush=True)


if __name__ == "__main__":
    main()
