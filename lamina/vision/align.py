"""Face alignment into the shared crop framing: dlib 68-point shape + get_face_chip(padding=0.2)."""
from __future__ import annotations

import numpy as np

from ..errors import InputError, NoFaceError
from .face import detect_faces, shape68


def align_face(image: np.ndarray, size: int = 256) -> np.ndarray:
    """The largest face of an RGB photo, aligned and cropped as UTKFace/CelebA crops are (size x size)."""
    import dlib
    if not 32 <= size <= 4096:
        raise InputError(f"aligned size must be 32..4096, got {size}")
    rects = detect_faces(image, upsample=1)
    if not rects:
        raise NoFaceError("no face found to align")
    shape = shape68(image, rects[0])
    return np.asarray(dlib.get_face_chip(image, shape, size=size, padding=0.2))
