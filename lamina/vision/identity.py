"""Identity evaluators: dlib's ResNet face descriptor (threshold 0.6) and MobileFaceNet cosine similarity."""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from .face import box_from_array

DLIB_SAME_PERSON = 0.6  # dlib's documented same-person threshold on descriptor distance
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _recognizer():
    import dlib

    from .face import face_recognition_models
    return dlib.face_recognition_model_v1(face_recognition_models().face_recognition_model_location())


def dlib_descriptor(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """128-d dlib descriptor of the face whose 68 points are given (no jitter)."""
    import dlib
    points = [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks68]
    left, top = landmarks68.min(0)
    right, bottom = landmarks68.max(0)
    shape = dlib.full_object_detection(box_from_array((left, top, right, bottom)), points)
    with _lock:
        return np.array(_recognizer().compute_face_descriptor(np.ascontiguousarray(image), shape, 0))
