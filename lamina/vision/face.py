"""dlib face detection and 68-point shapes (shared by alignment, landmarks and identity), and the face codecs'
check that an image is a face crop in the shared framing (require_framed_face)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import NoFaceError

from ..framing import (FRAMING_BOX, FRAMING_EYE_DISTANCE, FRAMING_EYES, FRAMING_LIMITS,  # noqa: F401
                       FRAMING_POINTS5, FRAMING_POINTS5_MESH)

# MediaPipe face-mesh eye contours (6 points each, like dlib's 36-41 and 42-47): the fallback eye centres.
MESH_EYES = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))
MESH_NOSE_TIP, MESH_MOUTH_CORNERS = 1, (61, 291)


@lru_cache(maxsize=1)
def detector():
    import dlib
    return dlib.get_frontal_face_detector()


def face_recognition_models():
    """The face_recognition_models package (dlib's model files), imported without the setuptools deprecation
    warning its `import pkg_resources` prints on every first use (the package is unmaintained; the warning is
    not lamina's user's concern)."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import face_recognition_models as package
    return package


@lru_cache(maxsize=1)
def shape_predictor():
    import dlib
    return dlib.shape_predictor(face_recognition_models().pose_predictor_model_location())


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


@dataclass(frozen=True)
class FramingFit:
    """Where an image's face sits against the shared framing, from its five points (eye centres, nose tip, mouth
    corners): scale = the face's size over the framing's, offset = distance of the points' centre from the
    framing's in framing eye distances, roll = in-plane rotation in degrees, counter-clockwise as seen positive;
    source = 'dlib' or 'mesh' (MediaPipe, where dlib finds no face)."""

    scale: float
    offset: float
    roll: float
    source: str

    def problems(self, limits: dict = FRAMING_LIMITS) -> list[str]:
        """What puts the face outside `limits`, in words (empty when it fits)."""
        low, high = limits["scale"]
        out = []
        if not low <= self.scale <= high:
            out.append(f"the face is {self.scale:.2f}x the framing's size (needs {low}-{high})")
        if self.offset > limits["offset"]:
            out.append(f"the face is {self.offset:.2f} eye distances off the framing's centre (at most "
                       f"{limits['offset']})")
        if abs(self.roll) > limits["roll"]:
            turn = "counter-clockwise" if self.roll > 0 else "clockwise"
            out.append(f"the face is rotated {abs(self.roll):.0f} degrees {turn} (at most {limits['roll']:.0f})")
        return out


def five_points(landmarks68: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners from 68 points (the SphereFace 5-point order)."""
    return np.stack([landmarks68[36:42].mean(0), landmarks68[42:48].mean(0), landmarks68[30],
                     landmarks68[48], landmarks68[54]])


def face_points5(image: np.ndarray) -> tuple[np.ndarray, str] | None:
    """(5x2 pixel points of the largest face in the SphereFace order: eye centres (image-left first), nose tip,
    mouth corners; 'dlib' or 'mesh' (MediaPipe, where dlib finds no face)), or None without a face."""
    rects = detect_faces(image)
    if rects:
        return five_points(shape_to_array(shape68(image, rects[0]))), "dlib"
    from .mesh import mesh468
    p = mesh468(image)
    if p is None:
        return None
    eyes = sorted([p[list(MESH_EYES[0])].mean(0), p[list(MESH_EYES[1])].mean(0)], key=lambda e: e[0])
    mouth = sorted([p[MESH_MOUTH_CORNERS[0]], p[MESH_MOUTH_CORNERS[1]]], key=lambda e: e[0])
    return np.stack([*eyes, p[MESH_NOSE_TIP], *mouth]), "mesh"


def framing_fit(image: np.ndarray) -> FramingFit | None:
    """The FramingFit of the image's largest face (None without one): the least-squares similarity transform
    from its five points onto the framing's (FRAMING_POINTS5), i.e. the correction `lamina align` would make.
    A turned head foreshortens only some of the distances, so this scale is steadier than the eye distance."""
    found = face_points5(image)
    if found is None:
        return None
    points, source = found
    h, w = image.shape[:2]
    target = (FRAMING_POINTS5 if source == "dlib" else FRAMING_POINTS5_MESH) * np.array([w, h])
    src, dst = points - points.mean(0), target - target.mean(0)
    # Similarity dst ~ k R src: with complex numbers z_dst ~ c z_src, c = sum(conj(z_src) z_dst) / sum(|z_src|^2).
    zs, zd = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    c = np.sum(np.conj(zs) * zd) / np.sum(np.abs(zs) ** 2)
    unit = FRAMING_EYE_DISTANCE * w
    return FramingFit(scale=float(1 / abs(c)), offset=float(np.linalg.norm(points.mean(0) - target.mean(0)) / unit),
                      roll=float(np.degrees(np.angle(c))), source=source)


def framing_problem(image: np.ndarray) -> str | None:
    """Why the image is not a face crop in the shared framing, in words (None when it is): no face, not square,
    or its face outside FRAMING_LIMITS."""
    fit = framing_fit(image)
    if fit is None:
        return "no face found"
    h, w = image.shape[:2]
    if not 0.8 <= w / h <= 1.25:
        return f"the face is not in the shared framing (the image is {w}x{h}, not a square crop)"
    problems = fit.problems()
    return f"the face is not in the shared framing ({'; '.join(problems)})" if problems else None


def require_framed_face(image: np.ndarray) -> None:
    """NoFaceError unless the image is a face crop in the shared framing (codecs trained on such crops): a face
    whose five points sit where the framing puts them, at its scale and upright (FRAMING_LIMITS)."""
    problem = framing_problem(image)
    if problem:
        raise NoFaceError(f"{problem}: this codec codes aligned face crops: encode with --align 256, or crop "
                          f"first with `lamina align`")


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
