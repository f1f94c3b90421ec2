"""dlib face detection and 68-point shapes, shared by alignment, landmarks and identity."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import NoFaceError

# Where dlib's frontal detector puts the face in the shared crop framing (get_face_chip, padding 0.2),
# as fractions of the side: the median box over 200 utk-train crops, 194 detected (measured by
# benchmarks/measure_framing_box.py). Used when detection fails on a crop in that framing.
FRAMING_BOX = (0.06, 0.06, 0.835, 0.835)  # left, top, right, bottom


@lru_cache(maxsize=1)
def detector():
    import dlib
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def shape_predictor():
    import dlib
    import face_recognition_models
    return dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())


def detect_faces(image: np.ndarray, upsample: int = 1) -> list:
    """dlib rectangles of the faces in an RGB uint8 image, largest first."""
    rects = list(detector()(image, upsample))
    return sorted(rects, key=lambda r: -r.width() * r.height())


def framing_box(image: np.ndarray):
    """The face box a crop in the shared framing has, from FRAMING_BOX."""
    import dlib
    h, w = image.shape[:2]
    l, t, r, b = FRAMING_BOX
    return dlib.rectangle(int(round(l * w)), int(round(t * h)), int(round(r * w)), int(round(b * h)))


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def framing_overlap(image: np.ndarray) -> float:
    """IoU (fractions of the side) between FRAMING_BOX and the image's face: dlib's largest box, or, where
    dlib finds none (about 5% of utk-test crops), the box of the MediaPipe face mesh; 0 without a face."""
    h, w = image.shape[:2]
    rects = detect_faces(image)
    if rects:
        box = (rects[0].left() / w, rects[0].top() / h, rects[0].right() / w, rects[0].bottom() / h)
    else:
        from .landmarks import mesh468
        points = mesh468(image)
        if points is None:
            return 0.0
        box = (points[:, 0].min() / w, points[:, 1].min() / h, points[:, 0].max() / w, points[:, 1].max() / h)
    return _iou(box, FRAMING_BOX)


def require_framed_face(image: np.ndarray, min_iou: float = 0.3) -> None:
    """NoFaceError unless the image is a face crop in the shared framing (codecs trained on such crops)."""
    overlap = framing_overlap(image)
    if overlap < min_iou:
        what = "no face found" if overlap == 0 else f"the face is not in the shared framing (overlap {overlap:.2f})"
        raise NoFaceError(f"{what}: this codec codes aligned face crops; align a photo first with `lamina align`")


def face_box(image: np.ndarray, assume_framing: bool = True):
    """Largest detected face; for crops in the shared framing, the framing box when detection fails."""
    rects = detect_faces(image)
    if rects:
        return rects[0]
    if assume_framing:
        return framing_box(image)
    raise NoFaceError("no face found in the image")


def shape68(image: np.ndarray, box):
    """dlib full_object_detection with 68 points inside box."""
    return shape_predictor()(image, box)


def shape_to_array(shape) -> np.ndarray:
    """68x2 float array of a dlib shape."""
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def box_from_array(box) -> object:
    """dlib.rectangle from (left, top, right, bottom)."""
    import dlib
    return dlib.rectangle(*[int(v) for v in box])


def box_to_tuple(box) -> tuple[int, int, int, int]:
    return (box.left(), box.top(), box.right(), box.bottom())
