"""Pictures of progressive-mask's maps and layers on held-out images: original, SIM (Grad-CAM++ of
EfficientNet-Lite0), LCM (channel variance of z), the mask chosen at a requested rate, and the decoded base
layers, the masked stream at that rate, the full latent and the full stream (with residual layers).

    python benchmarks/progressive_mask/pictures.py --out docs/results/progressive-mask/pictures --bpp 0.11
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw


from lamina.codecs.progressive_mask.codec import ProgressiveMask  # noqa: E402
from lamina.data.datasets import load_dataset  # noqa: E402
from lamina.metrics.pixel import psnr  # noqa: E402
from lamina.vision.classify import classify  # noqa: E402

PICKS = (("imagenette-test", 5), ("imagenette-test", 250), ("imagenette-test", 433), ("imagenette-test", 700),
         ("kodak", 22))


def heat(values: np.ndarray, size: tuple[int, int], image: np.ndarray | None = None) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    v = (v - v.min()) / max(v.max() - v.min(), 1e-9)
    colour = np.stack([v, 0.2 + 0.0 * v, 1 - v], -1)
    big = np.asarray(Image.fromarray((colour * 255).astype(np.uint8)).resize(size, Image.NEAREST), dtype=np.float64)
    if image is not None:
        big = 0.5 * big + 0.5 * image[:size[1], :size[0]]
    return big.astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--bpp", type=float, default=0.11)
    parser.add_argument("--tile", type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codec = ProgressiveMask(quality=6)
    titles = ["original", "SIM (Grad-CAM++)", "LCM (channel var.)", f"mask at {args.bpp:g} bpp", "base layers",
              f"--bpp {args.bpp:g}", "full latent", "+ residual layers"]
    rows, notes = [], []
    for dataset, index in PICKS:
        item = load_dataset(dataset)[index]
        image = item.image()
        h, w = image.shape[:2]
        with torch.no_grad():
            a = codec.analyse(image)
            codec.bpp = args.bpp
            masked = codec.encode_analysed(a, h, w)
            s = codec.last_rate_control["S"]
            codec.bpp = None
            full = codec.encode_analysed(a, h, w)
        gh, gw = a["lcm"].shape
        from lamina.codecs.progressive_mask.model import top_mask
        mask = top_mask(a["importance"], s)
        padded = np.pad(image, ((0, gh * 8 - h), (0, gw * 8 - w), (0, 0)), mode="edge")
        tiles = [image, heat(a["sim"], (gw * 8, gh * 8), padded)[:h, :w], heat(a["lcm"], (gw * 8, gh * 8), padded)[:h, :w],
                 heat(mask.astype(float), (gw * 8, gh * 8), padded)[:h, :w]]
        decoded = {}
        for name, stream, layers in (("base", full, 1), ("bpp", masked, len(masked.layers)), ("full", full, 2),
                                     ("all", full, 5)):
            decoded[name] = codec.decode(stream.truncate(layers).to_bytes(), layers=layers)
            tiles.append(decoded[name])
        note = {"image": f"{dataset}/{item.name}", "S": s, "positions": gh * gw}
        for name, stream, layers in (("base", full, 1), ("bpp", masked, len(masked.layers)), ("full", full, 2),
                                     ("all", full, 5)):
            note[name] = {"bpp": 8 * len(stream.truncate(layers).to_bytes()) / (h * w),
                          "psnr": psnr(image, decoded[name]), "class": int(np.argmax(classify(decoded[name])))}
        note["class_original"] = int(np.argmax(classify(image)))
        notes.append(note)
        scale = args.tile / max(h, w)
        size = (round(w * scale), round(h * scale))
        rows.append([np.asarray(Image.fromarray(t).resize(size, Image.BICUBIC)) for t in tiles])
    tile_h = max(r[0].shape[0] for r in rows)
    sheet = Image.new("RGB", (len(titles) * args.tile, 16 + tile_h * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, title in enumerate(titles):
        draw.text((j * args.tile + 4, 2), title, fill="black")
    y = 16
    for r in rows:
        for j, t in enumerate(r):
            sheet.paste(Image.fromarray(t), (j * args.tile, y))
        y += tile_h
    sheet.save(out / "sheet.jpg", quality=92)
    (out / "sheet.json").write_text(json.dumps(notes, indent=1) + "\n")
    print(json.dumps(notes, indent=1))


if __name__ == "__main__":
    main()
