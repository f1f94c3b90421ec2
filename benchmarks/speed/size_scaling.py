"""Encode/decode time against image size for every codec (one torch thread), so a user can predict a data set's
cost: 256x256, 512x512, 768x512 and 1024x1024. Natural-image codecs code Kodak's kodim23 resized (bicubic) to each
size; the face codecs (stylegan-scalable, latent-flow, feature-texture) a utk-test face in the shared framing,
resized likewise (they code the face at their model's resolution and resize the output). Median of `--repeat`
warm runs; VVC in the same run as the reference.

Usage: python benchmarks/speed/size_scaling.py --out docs/results/speed [--repeat 3]
Writes size_scaling.jsonl (a row per codec and size, as measured: a rerun skips the rows it holds),
size_scaling.json and size_scaling.png (decode and encode ms vs megapixels, log-log). The face codecs code square
face crops only: their 768x512 row records the refusal.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SIZES = [(256, 256), (512, 512), (768, 512), (1024, 1024)]
CODECS = [("jpeg", 50), ("webp", 50), ("avif", 30), ("vvc", 51), ("av1", 55), ("hyperprior", 2), ("mean-scale", 2),
          ("codebook-svr", 3), ("progressive-mask", 3), ("stylegan-scalable", 3), ("latent-flow", 3),
          ("feature-texture", 2)]
FACE_CODECS = {"stylegan-scalable", "latent-flow", "feature-texture"}


def main() -> None:
    import torch
    from profile_codecs import timed  # the sibling script in benchmarks/speed/
    from PIL import Image
    import lamina
    from lamina.data.datasets import load_dataset
    from lamina.paths import data_root
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    natural = Image.open(data_root() / "kodak" / "kodim23.png").convert("RGB")
    face = Image.fromarray(load_dataset("utk-test", limit=1)[0].image())
    from lamina.errors import LaminaError
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "size_scaling.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = {(r["codec"], r["width"], r["height"]) for r in rows}
    for name, quality in CODECS:
        codec = lamina.load(name, quality=quality)
        for w, h in SIZES:
            if (name, w, h) in done:
                continue
            source = face if name in FACE_CODECS else natural
            image = np.asarray(source.resize((w, h), Image.BICUBIC))
            row = {"codec": name, "quality": quality, "width": w, "height": h, "megapixels": w * h / 1e6}
            try:
                data = codec.encode(image).to_bytes()
            except LaminaError as exc:
                row["refused"] = str(exc).split(":")[0]
            else:
                row.update(bytes=len(data), encode_ms=1000 * timed(lambda: codec.encode(image), args.repeat),
                           decode_ms=1000 * timed(lambda: codec.decode(data), args.repeat))
            rows.append(row)
            with log.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    rows = [r for r in rows if "refused" not in r]
    (out / "size_scaling.json").write_text(json.dumps({"threads": 1, "rows": rows}, indent=1) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), dpi=110)
    for ax, key in zip(axes, ("decode_ms", "encode_ms")):
        for index, (name, _) in enumerate(CODECS):
            points = [(r["megapixels"], r[key]) for r in rows if r["codec"] == name]
            ax.plot(*zip(*points), marker="o", markersize=3, label=name, color=plt.cm.tab20(index),
                    linestyle="-" if name in FACE_CODECS or index < 5 else "--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("megapixels (256², 512², 768x512, 1024²)")
        ax.set_ylabel(f"{key.split('_')[0]} time, ms (one thread)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "size_scaling.png")


if __name__ == "__main__":
    main()
