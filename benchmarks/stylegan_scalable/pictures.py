"""Pictures of stylegan-scalable: layers and face swap on utk-test faces, and generator samples.

Usage: python benchmarks/stylegan_scalable/pictures.py OUT_DIR [--quality 3] [--faces 6]
Writes OUT_DIR/layers.png (original | basic | basic+middle | all three, bytes in the captions),
OUT_DIR/swap.png (A | B | A's basic+enhanced with B's middle | B's with A's middle, by `swap`, no pixels
decoded) and OUT_DIR/samples.png: what the generator makes from random styles. On lamina's face prior, styles
are drawn from a Gaussian fitted (per style token and dimension) to the styles of 256 utk-train faces, scaled by
0.7 (truncation); on the older pixel model, from its (untrained) mapping network around w̄.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch


def main() -> None:
    from lamina.imageio import labelled_grid
    from lamina import load
    from lamina.bitstream import Bitstream
    from lamina.data.datasets import load_dataset
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--quality", type=int, default=3)
    parser.add_argument("--faces", type=int, default=6)
    parser.add_argument("--offset", type=int, default=0, help="first utk-test face shown")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codec = load("stylegan-scalable", quality=args.quality)
    faces = [item.image() for item in load_dataset("utk-test", limit=args.offset + args.faces)][args.offset:]
    streams = [codec.encode(face) for face in faces]
    rows = []
    for face, stream in zip(faces, streams):
        row = [("original", face)]
        for k, name in enumerate(("basic", "+middle", "+enhanced"), start=1):
            data = stream.truncate(k).to_bytes()
            row.append((f"{name} {len(data)} B", codec.decode(data, layers=k)))
        rows.append(row)
    labelled_grid(rows, out / "layers.png")
    rows = []
    for i in range(0, len(faces) - 1, 2):
        a, b = streams[i], streams[i + 1]
        ab, ba = codec.swap(a, b), codec.swap(b, a)
        rows.append([("A", faces[i]), ("B", faces[i + 1]), ("A decoded", codec.decode(a.to_bytes())),
                     ("B decoded", codec.decode(b.to_bytes())),
                     ("A, middle of B", codec.decode(Bitstream.parse(ab.to_bytes()))),
                     ("B, middle of A", codec.decode(Bitstream.parse(ba.to_bytes())))])
    labelled_grid(rows, out / "swap.png")
    torch.manual_seed(0)
    model = codec.model
    with torch.no_grad():
        if hasattr(model, "prior"):
            from lamina.priors.face import image_to_model
            train = [item.image() for item in load_dataset("utk-train", limit=256)]
            styles = torch.cat([model.encode(image_to_model(im, model.config["size"])) for im in train])
            mean, std = styles.mean(0), styles.std(0)
            x = model.synthesize(mean + 0.7 * std * torch.randn(8, *mean.shape), 3)
        else:
            w = model.generator.style(torch.randn(8, model.config["dim"]))
            w = model.w_avg + 0.7 * (w - model.w_avg)  # truncation 0.7
            x = model.generator(w[:, None].expand(-1, model.generator.n_latent, -1))
    images = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    labelled_grid([[(f"sample {i}", im) for i, im in enumerate(images)]], out / "samples.png")
    print(f"pictures in {out}")


if __name__ == "__main__":
    main()
