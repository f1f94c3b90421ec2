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


def box_from_array(box) -> "object":
    """dlib.rectangle from (left, top, right, bottom)."""
    import dlib
    return dlib.rectangle(*[int(v) for v in box])


def box_to_tuple(box) -> tuple[int, int, int, int]:
    return (box.left(), box.top(), box.right(), box.bottom())
