"""latent-flow and stylegan-scalable measured against the face prior's projection G(E(x)) (the reference of the
paper's main figures, seed 002), beside the projection's own distance to the original.

Both codecs decode through the same frozen prior, so G(E(x)) is the best either can do; their distance to it
is what their coding loses. Every committed quality of both codecs, all layers, on the first --limit faces of
a dataset (images at their own size, as `lamina bench` scores them).

Usage: python benchmarks/latent_flow/projected.py OUT.csv [--dataset utk-test] [--limit 500] [--stride 2]
                                                 [--codecs vvc:63 av1:63 ...]
(--stride k scores every k-th of the first --limit faces; the tables are rewritten every 25 faces, so a run
stopped early leaves the means of the faces it scored.)
Writes OUT.csv (codec, quality, images, bytes, bits per image, psnr, ms_ssim, lpips_alex, dists vs the projection;
a 'projection' row scores G(E(x)) against the original) and OUT.json (the same, per face means).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def main() -> None:
    from lamina import load
    from lamina.codecs.latent_flow.codec import LatentFlow
    from lamina.codecs.stylegan_scalable.codec import StyleganScalable
    from lamina.data.datasets import load_dataset
    from lamina.errors import NoFaceError
    from lamina.metrics.perceptual import dists, lpips_alex
    from lamina.metrics.pixel import ms_ssim, psnr
    from lamina.vision.face import require_framed_face

    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--dataset", default="utk-test")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--codecs", nargs="*", default=None,
                        help="NAME:QUALITY settings instead of every quality of latent-flow and stylegan-scalable "
                             "(e.g. vvc:63 av1:55: classic codecs against the same projection)")
    args = parser.parse_args()
    metrics = {"psnr": psnr, "ms_ssim": ms_ssim, "lpips_alex": lpips_alex, "dists": dists}
    if args.codecs:
        codecs = [(name, int(q), load(name, quality=int(q))) for name, q in (c.split(":") for c in args.codecs)]
    else:
        codecs = [("latent-flow", q, load("latent-flow", quality=q)) for q in LatentFlow.bench_grid()]
        codecs += [("stylegan-scalable", q, load("stylegan-scalable", quality=q))
                   for q in StyleganScalable.bench_grid()]
    rows: dict[tuple, list[dict]] = {}
    reference_codec = load("latent-flow")  # its prior's projection (latent-flow and stylegan-scalable share it)
    for i, item in enumerate(load_dataset(args.dataset, limit=args.limit)):
        if i % args.stride:
            continue
        image = item.image()
        try:
            require_framed_face(image)  # the faces the face codecs refuse are left out for every codec
            streams = [(name, q, codec, codec.encode(image)) for name, q, codec in codecs]
        except NoFaceError:
            continue
        styles = reference_codec.styles_of(image)
        projection = reference_codec.render(styles, 3, *image.shape[:2])
        rows.setdefault(("projection", 0), []).append(
            {"bytes": 0, **{m: f(image, projection) for m, f in metrics.items()}})
        for name, q, codec, stream in streams:
            decoded = codec.decode(stream.to_bytes())
            rows.setdefault((name, q), []).append(
                {"bytes": len(stream.to_bytes()), **{m: f(projection, decoded) for m, f in metrics.items()}})
        if len(rows[("projection", 0)]) % 25 == 0:
            write(rows, Path(args.out), args)
            print(f"{i + 1} faces read, {len(rows[('projection', 0)])} scored", flush=True)
    write(rows, Path(args.out), args)


def write(rows: dict, out: Path, args) -> None:
    table = []
    for (name, q), values in rows.items():
        mean = {k: float(np.mean([v[k] for v in values])) for k in values[0]}
        table.append({"codec": name, "quality": q, "images": len(values), "reference": "original" if name ==
                      "projection" else "projection G(E(x))", "bits_per_image": 8 * mean["bytes"], **mean})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        for row in table:
            writer.writerow({k: f"{v:.5g}" if isinstance(v, float) else v for k, v in row.items()})
    out.with_suffix(".json").write_text(json.dumps({"dataset": args.dataset, "limit": args.limit,
                                                    "stride": args.stride, "rows": table}, indent=1) + "\n")


if __name__ == "__main__":
    main()
