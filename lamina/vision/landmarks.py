"""Landmark evaluators: dlib 68-point shape predictor and MediaPipe face mesh, scored by NME.

NME = mean point-to-point error / distance between the outer eye corners of the reference
(68-point: indices 36 and 45; mesh: indices 33 and 263). The face box for dlib comes from the
reference image, so a decoded image is judged on landmark localisation, not on detection.
"""
from __future__ import annotations

import numpy as np

from .face import box_from_array, shape68, shape_to_array
from .mesh import mesh468, native_stderr_silenced  # noqa: F401  (the mesh evaluator and its quiet loader)

MESH_OUTER_EYE_CORNERS = (33, 263)
DLIB_OUTER_EYE_CORNERS = (36, 45)


def nme(points: np.ndarray, reference: np.ndarray, corners=DLIB_OUTER_EYE_CORNERS) -> float:
    """Normalised mean error of points against reference points."""
    norm = np.linalg.norm(reference[corners[0]] - reference[corners[1]])
    return float(np.mean(np.linalg.norm(points - reference, axis=1)) / norm)


def dlib68(image: np.ndarray, box) -> np.ndarray:
    """68x2 landmarks predicted by dlib inside box (left, top, right, bottom)."""
    return shape_to_array(shape68(np.ascontiguousarray(image), box_from_array(box)))


