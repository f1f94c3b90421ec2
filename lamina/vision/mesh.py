"""MediaPipe face mesh (468 points), quiet and thread-safe: used by the face front end (framing check without a
dlib face) and by the landmark evaluators."""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

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
