"""Pictures of codebook-svr for docs/results/codebook-svr/pictures/: per image one row of original, x^LQ
(upsampled), indices alone, SVR at α = 0.5 and α = 1 (α = 0 is the indices-alone image by definition, Y_mod = Y_q),
with each panel's bpp in the file name table (pictures.md).

    python benchmarks/codebook_svr/pictures.py --quality 2 --out docs/results/codebook-svr/pictures
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


PICKS = (("kodak", 22), ("kodak", 14), ("kodak", 3), ("bsds500-test", 5), ("imagenette-test", 333),
         ("celeba-test", 10))


def main() -> None:
    import lamina
    from lamina.data.datasets import load_dataset
    from lamina.metrics.perceptual import lpips_alex
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--width", type=int, default=384, help="panel width in the sheet")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codec = lamina.load("codebook-svr", quality=args.quality)
    lines = ["| image | bpp (indices / full) | LPIPS-alex: x^LQ | indices | α=0.5 | α=1 |", "|---|---|---|---|---|---|"]
    rows = []
    for dataset, index in PICKS:
        item = load_dataset(dataset)[index]
        image = item.image()
        stream = codec.encode(image)
        h, w = image.shape[:2]
        panels = [image, codec.decode(stream, lq_only=True), codec.decode(stream, layers=1),
                  codec.decode(stream, alpha=0.5), codec.decode(stream)]
        bpp1 = 8 * len(stream.truncate(1).to_bytes()) / (h * w)
        scores = " | ".join(f"{lpips_alex(image, p):.3f}" for p in panels[1:])
        lines.append(f"| {dataset} {item.name} | {bpp1:.4f} / {stream.bpp():.4f} | {scores} |")
        scale = args.width / w
        size = (args.width, int(round(h * scale)))
        rows.append(np.concatenate([np.asarray(Image.fromarray(p).resize(size, Image.LANCZOS)) for p in panels], 1))
        Image.fromarray(np.concatenate(panels, 1)).save(out / f"{dataset}-{Path(item.name).stem}.jpg", quality=93)
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    Image.fromarray(sheet).save(out / "sheet.jpg", quality=90)
    (out / "pictures.md").write_text(f"codebook-svr q{args.quality}; panels: original, x^LQ upsampled, indices "
                                     f"alone, SVR α=0.5, SVR α=1 (full-resolution JPEG q93 strips beside this file)\n\n"
                                     + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
