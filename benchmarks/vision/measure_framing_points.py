"""Measure where the five SphereFace points (eye centres, nose tip, mouth corners) sit in the shared framing.

feature-texture crops every face to MobileFaceNet's 112x96 input by one fixed similarity transform (no
detector in the codec), mapping these median points onto the SphereFace template; FRAMING_POINTS5 in
lamina/vision/face.py holds the printed result. Usage: python benchmarks/vision/measure_framing_points.py [N]
"""
import sys

import numpy as np

from lamina.data.datasets import load_dataset
from lamina.vision.face import detect_faces, five_points, shape68, shape_to_array


def main(count: int = 300) -> None:
    points, missed = [], 0
    for source in ("celeba-train", "utk-train"):
        for item in load_dataset(source, limit=count // 2):
            image = item.image()
            rects = detect_faces(image)
            if not rects:
                missed += 1
                continue
            h, w = image.shape[:2]
            points.append(five_points(shape_to_array(shape68(image, rects[0]))) / np.array([w, h]))
    median = np.median(points, axis=0)
    spread = np.median(np.abs(np.array(points) - median), axis=0)
    print(f"detected {len(points)}/{len(points) + missed}; median points as fractions of (width, height):")
    print(np.round(median, 4).tolist())
    print("median absolute deviation:", np.round(spread, 4).tolist())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
