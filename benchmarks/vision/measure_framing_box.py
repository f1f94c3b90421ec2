"""Measure where dlib's frontal detector finds the face in the shared crop framing.

Prints the median detected box (as fractions of the image side) over utk-train crops and the detection
rate; lamina.vision.face.FRAMING_BOX holds the result (median: a few detections frame only part of the face). Usage: python benchmarks/vision/measure_framing_box.py [N]
"""
import sys

import numpy as np

from lamina.data.datasets import load_dataset
from lamina.vision.face import detect_faces


def main(count: int = 200) -> None:
    boxes, missed = [], 0
    for item in load_dataset("utk-train", limit=count):
        image = item.image()
        rects = detect_faces(image)
        if not rects:
            missed += 1
            continue
        r = rects[0]
        h, w = image.shape[:2]
        boxes.append((r.left() / w, r.top() / h, r.right() / w, r.bottom() / h))
    mean = np.median(boxes, axis=0)
    print(f"detected {len(boxes)}/{count}; median box (l, t, r, b) = {tuple(round(float(v), 4) for v in mean)}; "
          f"std = {np.round(np.std(boxes, axis=0), 4).tolist()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
