"""Landmark evaluators: dlib 68-point shape predictor and MediaPipe face mesh, scored by NME.

NME = mean point-to-point error / distance between the outer eye corners of the reference
(68-point: indices 36 and 45; mesh: indices 33 and 263). The face box for dlib comes from the
reference image, so a decoded image is judged on landmark localisation, not on detection.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from .face import box_from_array, shape68, shape_to_array

MESH_OUTER_EYE_CORNERS = (33, 263)
DLIB_OUTER_EYE_CORNERS = (36, 45)


def nme(points: np.ndarray, reference: np.ndarray, corners=DLIB_OUTER_EYE_CORNERS) -> float:
    """Normalised mean error of points against reference points."""
    norm = np.linalg.norm(reference[corners[0]] - reference[corners[1]])
    return float(np.mean(np.linalg.norm(points - reference, axis=1)) / norm)


def dlib68(image: np.ndarray, box) -> np.ndarray:
    """68x2 landmarks predicted by dlib inside box (left, top, right, bottom)."""
    return shape_to_array(shape68(np.ascontiguousarray(image), box_from_array(box)))


_mesh_lock = threading.Lock()


@contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the block: MediaPipe's TensorFlow Lite / absl / glog C++ code
    writes info lines ("Created TensorFlow Lite XNNPACK delegate", "All log messages before
    absl::InitializeLog()", "Feedback manager requires ...") straight to the process's stderr, where no Python
    logging setting reaches them. Python's own sys.stderr is flushed first and is unaffected afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@lru_cache(maxsize=1)
def _face_mesh():
    with native_stderr_silenced():
        import mediapipe as mp
        return mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                               min_detection_confidence=0.5)


def mesh468(image: np.ndarray) -> np.ndarray | None:
    """468x2 MediaPipe face-mesh points in pixels, or None when no face is found."""
    h, w = image.shape[:2]
    with _mesh_lock, native_stderr_silenced():
        result = _face_mesh().process(np.ascontiguousarray(image))
    if not result.multi_face_landmarks:
        return None
    marks = result.multi_face_landmarks[0].landmark
    return np.array([(p.x * w, p.y * h) for p in marks], dtype=np.float64)
