"""Picture grid for docs/results/feature-texture: original, x_base at three feature rates, and the full
stream at the lowest learned and JPEG residual settings, for the first N celeba-test and utk-test faces.

Usage: python benchmarks/feature_texture/pictures.py OUT.png [N]
"""
from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageDraw

from lamina.codecs.feature_texture.codec import FeatureTexture, residual_qualities
from lamina.data.datasets import load_dataset

TILE = 160


def main(out: str, count: int = 4) -> None:
    faces = [i.image() for i in load_dataset("celeba-test", limit=count)] + \
            [i.image() for i in load_dataset("utk-test", limit=count)]
    columns = [("original", None)]
    for fq in (0, 1, 4):
        columns.append((f"x_base fq{fq}", (FeatureTexture(feature_quality=fq, residual="jpeg", quality=5), 1)))
    columns.append((f"full, hyperprior q{residual_qualities()[0]}", (FeatureTexture(quality=residual_qualities()[0]), 2)))
    columns.append(("full, jpeg q5", (FeatureTexture(residual="jpeg", quality=5), 2)))
    sheet = Image.new("RGB", (TILE * len(columns), 18 + TILE * len(faces)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (label, _) in enumerate(columns):
        draw.text((c * TILE + 4, 3), label, fill="black")
    for r, face in enumerate(faces):
        for c, (label, spec) in enumerate(columns):
            if spec is None:
                image, note = face, ""
            else:
                codec, layers = spec
                stream = codec.encode(face)
                image = codec.decode(stream.to_bytes(), layers=layers)
                note = f"{stream.bytes_up_to(layers)} B"
            tile = Image.fromarray(np.ascontiguousarray(image)).resize((TILE, TILE), Image.BICUBIC)
            sheet.paste(tile, (c * TILE, 18 + r * TILE))
            if note:
                draw.text((c * TILE + 4, 18 + r * TILE + 4), note, fill="yellow")
    sheet.save(out)
    print(out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4)
