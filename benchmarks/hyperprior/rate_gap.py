"""Estimated bits (likelihoods) vs written bytes for every committed learned model.

For each model and image: the information content -sum(log2 p) of y and z under the model (what
training optimises), the rANS payload actually written, and the whole lamina file. Usage:
python benchmarks/hyperprior/rate_gap.py [--dataset utk-test] [--images 100] [--out runs/rate-gap]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    from lamina.codecs.hyperprior.codec import Hyperprior, MeanScale
    from lamina.codecs.hyperprior.task import HyperpriorTask
    from lamina.entropy.hyperprior_payload import padded_tensor
    from lamina.zoo import qualities as available_qualities
    from lamina.data.datasets import load_dataset
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="utk-test")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--out", default="runs/rate-gap")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = [item.image() for item in load_dataset(args.dataset, limit=args.images)]
    rows = []
    for cls in (Hyperprior, MeanScale):
        for quality in available_qualities(cls.arch):
            codec = cls(quality=quality)
            estimated, payload, whole = [], [], []
            for image in images:
                stream = codec.encode(image)
                with torch.no_grad():
                    likelihoods = codec.network(padded_tensor(image))["likelihoods"]
                estimated.append(float(HyperpriorTask.bits(likelihoods)) / 8)
                payload.append(len(stream.layers[0].payload))
                whole.append(len(stream.to_bytes()))
            e, p, t = (float(np.mean(v)) for v in (estimated, payload, whole))
            rows.append({"codec": cls.name, "quality": quality, "estimated_bytes": e, "payload_bytes": p,
                         "file_bytes": t, "payload_over_estimated": p / e, "file_over_estimated": t / e,
                         "container_bytes": t - p})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rate_gap.json").write_text(json.dumps({"dataset": args.dataset, "images": len(images),
                                                   "rows": rows}, indent=2) + "\n")
    lines = [f"# Estimated vs written rate ({args.dataset}, first {len(images)} images, means)", "",
             "estimated = -sum(log2 likelihoods) of y and z / 8 (padded to a multiple of 64, as coded); payload = "
             "rANS bytes of z and y plus the z-length varint; file = the whole lamina file.", "",
             "| codec | quality | estimated B | payload B | file B | payload / estimated | file / estimated |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['codec']} | {r['quality']} | {r['estimated_bytes']:.1f} | {r['payload_bytes']:.1f} | "
                     f"{r['file_bytes']:.1f} | {r['payload_over_estimated']:.3f} | {r['file_over_estimated']:.3f} |")
    (out / "rate_gap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
