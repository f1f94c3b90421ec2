"""Reference for feature-texture's x_base: PSNR of one constant image, the mean training face (celeba-train +
utk-train at 256x256), against the test faces. x_base should beat it: the feature must carry more than "a face".

Usage: python benchmarks/feature_texture/mean_face_psnr.py [N_CELEBA]   (prints PSNR on utk-test (500) and celeba-test (first N))
"""
import sys

import numpy as np
from PIL import Image

from lamina.data.datasets import load_dataset
from lamina.metrics.pixel import psnr


def main(count: int = 100) -> None:
    total, n = np.zeros((256, 256, 3)), 0
    for source in ("celeba-train", "utk-train"):
        for item in load_dataset(source):
            image = item.image()
            if image.shape[:2] != (256, 256):
                image = np.asarray(Image.fromarray(image).resize((256, 256), Image.BICUBIC))
            total += image
            n += 1
    mean = np.round(total / n).astype(np.uint8)
    for dataset, limit in (("utk-test", None), ("celeba-test", count)):
        scores = []
        for item in load_dataset(dataset, limit=limit):
            image = item.image()
            reference = mean if image.shape[:2] == (256, 256) else np.asarray(
                Image.fromarray(mean).resize((image.shape[1], image.shape[0]), Image.BILINEAR))
            scores.append(psnr(image, reference))
        print(f"{dataset}: mean-face PSNR {np.mean(scores):.2f} dB over {len(scores)} faces")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
