"""Face parsing maps rasterised from the MediaPipe face mesh, scored by frequency-weighted IoU.

Classes: 0 background, 1 face skin (inside the face oval), 2 left brow, 3 right brow, 4 left eye,
5 right eye, 6 nose, 7 lips/mouth. Stand-in for BiSeNet/CelebAMask-HQ parsing (no weights/masks here).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

CLASSES = ("background", "skin", "left_brow", "right_brow", "left_eye", "right_eye", "nose", "mouth")


def _ordered_loop(connections) -> list[int]:
    """Walk an edge set that forms a closed contour into an ordered vertex list."""
    nxt = {}
    for a, b in connections:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    start = min(nxt)
    order, prev, cur = [start], None, start
    while True:
        options = [n for n in nxt[cur] if n != prev]
        if not options or options[0] == start:
            break
        prev, cur = cur, options[0]
        order.append(cur)
        if len(order) > len(nxt):
            break
    return order


@lru_cache(maxsize=1)
def _regions():
    import mediapipe as mp
    fm = mp.solutions.face_mesh
    vertices = lambda conns: sorted({v for edge in conns for v in edge})  # noqa: E731
    return [
        (1, "loop", _ordered_loop(fm.FACEMESH_FACE_OVAL)),
        (6, "hull", vertices(fm.FACEMESH_NOSE)),
        (2, "hull", vertices(fm.FACEMESH_LEFT_EYEBROW)),
        (3, "hull", vertices(fm.FACEMESH_RIGHT_EYEBROW)),
        (4, "hull", vertices(fm.FACEMESH_LEFT_EYE)),
        (5, "hull", vertices(fm.FACEMESH_RIGHT_EYE)),
        (7, "hull", vertices(fm.FACEMESH_LIPS)),
    ]


def parsing_map(points: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """HxW uint8 label map from 468 mesh points (all background when points is None)."""
    import cv2
    label = np.zeros((height, width), np.uint8)
    if points is None:
        return label
    for cls, kind, indices in _regions():
        poly = points[indices].astype(np.float32)
        if kind == "hull":
            poly = cv2.convexHull(poly)[:, 0, :]
        cv2.fillPoly(label, [np.round(poly).astype(np.int32)], int(cls))
    return label


def fw_iou(reference: np.ndarray, predicted: np.ndarray, num_classes: int = len(CLASSES)) -> float:
    """Frequency-weighted IoU of two label maps (weights = class frequency in the reference)."""
    total = reference.size
    score = 0.0
    for cls in range(num_classes):
        ref, pred = reference == cls, predicted == cls
        count = ref.sum()
        if count == 0:
            continue
        union = np.logical_or(ref, pred).sum()
        score += count / total * np.logical_and(ref, pred).sum() / union
    return float(score)
