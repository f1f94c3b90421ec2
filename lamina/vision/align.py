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


def align_clip(frames: list[np.ndarray], size: int = 256) -> list[np.ndarray]:
    """Frames of a one-face clip cropped into the shared framing with the first frame's alignment (one
    similarity transform for the whole clip, so the crop does not jitter)."""
    import dlib
    if not 32 <= size <= 4096:
        raise InputError(f"aligned size must be 32..4096, got {size}")
    if not frames:
        raise InputError("the clip has no frames")
    rects = detect_faces(frames[0], upsample=1)
    if not rects:
        raise NoFaceError("no face found in the clip's first frame to align")
    details = dlib.get_face_chip_details(shape68(frames[0], rects[0]), size=size, padding=0.2)
    return [np.asarray(dlib.extract_image_chip(np.ascontiguousarray(frame), details)) for frame in frames]
