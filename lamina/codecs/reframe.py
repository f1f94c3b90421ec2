"""Per-frame framing for the face codecs' video modes (issue 26, `--reframe`): the face prior was trained on crops
in the shared framing (lamina.framing), while a talking face leaves the first frame's alignment as the head moves.
With reframing the encoder fits, for every frame, the similarity transform that `lamina align` would apply to it,
codes the frame warped by it (the "chip"), and sends the transform; the decoder renders each chip and warps it back
into the frame. Pixels outside the warped chip repeat its edge. The transforms come from dlib's float landmarks, so
a reframed stream's bytes may differ between CPUs (the decoder's warp does not depend on them).

A transform is four integers: the log scale (units of 1/256), the rotation (units of 0.2 degrees) and the shift of
the frame's centre (units of 1/512 of the side), frame -> chip. The encoder fits each frame as `lamina align` would
crop it (dlib's 68 points; a frame where dlib finds no face keeps the previous frame's transform), smooths the
clip's transforms over seven frames (binomial weights) so that landmark jitter does not shake the picture, then
rounds them. Stream: the frames' differences from the previous frame's integers (frame 0: from the identity), each
zigzag-mapped and written as an order-0 Exp-Golomb code, four per frame, padded to a byte; 1-2 bytes a frame for a
moving head.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import BitstreamError, InputError

SCALE_UNIT = 1 / 256          # of the log scale
ANGLE_UNIT = math.radians(0.2)
SHIFT_UNIT = 1 / 512          # of the frame's side
UNITS = np.array([SCALE_UNIT, ANGLE_UNIT, SHIFT_UNIT, SHIFT_UNIT])   # of the four integers
SMOOTHING = (1 / 64, 6 / 64, 15 / 64, 20 / 64, 15 / 64, 6 / 64, 1 / 64)   # binomial, 7 frames


def fit(frame: np.ndarray) -> np.ndarray | None:
    """(log scale, angle in radians, shift x, shift y as fractions of the side) of the transform frame -> chip that
    `lamina align` would apply to this frame (dlib's 68 points, get_face_chip_details with the framing's padding
    0.2), about the frame's centre; None without a face. Square frames."""
    import dlib
    from ..vision.face import detect_faces, shape68
    h, w = frame.shape[:2]
    if h != w:
        raise InputError(f"reframing needs square frames (aligned face crops), got {w}x{h}")
    rects = detect_faces(frame)
    if not rects:
        return None
    details = dlib.get_face_chip_details(shape68(frame, rects[0]), size=w, padding=0.2)
    rect = details.rect
    scale = details.cols / (rect.right() - rect.left() + 1)      # chip pixels per frame pixel
    angle = -details.angle                                         # dlib's angle turns the chip into the frame
    centre = (w - 1) / 2
    middle = complex((rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2)
    # chip point of the frame's centre: centre_chip + scale e^{i angle} (centre - middle)
    chip_point = complex(centre, centre) + scale * complex(math.cos(angle), math.sin(angle)) * (complex(centre, centre)
                                                                                               - middle)
    shift = chip_point - complex(centre, centre)
    return np.array([math.log(scale), angle, shift.real / w, shift.imag / h])


def fit_clip(frames: list[np.ndarray]) -> list[tuple[int, int, int, int]]:
    """The clip's rounded transforms (fit each frame, smooth over SMOOTHING's frames, round to the units)."""
    fitted, previous = [], np.zeros(4)
    for frame in frames:
        found = fit(frame)
        previous = previous if found is None else found
        fitted.append(previous)
    values = np.stack(fitted)
    half = len(SMOOTHING) // 2
    if half:  # the ends repeat the first and last frame's transform
        padded = np.concatenate([values[:1]] * half + [values] + [values[-1:]] * half)
        values = sum(weight * padded[i:i + len(values)] for i, weight in enumerate(SMOOTHING))
    return [tuple(int(v) for v in row) for row in np.round(values / UNITS)]


def matrix(params: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """2x3 float64 matrix frame -> chip of rounded transform params."""
    log_scale, angle, sx, sy = params
    s, a = math.exp(log_scale * SCALE_UNIT), angle * ANGLE_UNIT
    rot = s * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    shift = np.array([sx * SHIFT_UNIT * width, sy * SHIFT_UNIT * height])
    return np.hstack([rot, (centre + shift - rot @ centre)[:, None]])


def to_chip(frame: np.ndarray, params) -> np.ndarray:
    """The frame warped into the framing (same size; outside pixels repeat the frame's edge)."""
    import cv2
    h, w = frame.shape[:2]
    return cv2.warpAffine(np.ascontiguousarray(frame), matrix(params, w, h), (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def from_chip(chip: np.ndarray, params) -> np.ndarray:
    """A decoded chip warped back into the frame (the inverse of to_chip)."""
    import cv2
    h, w = chip.shape[:2]
    return cv2.warpAffine(np.ascontiguousarray(chip), matrix(params, w, h), (w, h),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def pack(transforms: list[tuple[int, int, int, int]]) -> bytes:
    """Differences from the previous frame, signed order-0 Exp-Golomb (lamina.entropy.expgolomb), four per frame,
    padded to a byte."""
    from ..entropy import expgolomb
    previous, values = (0, 0, 0, 0), []
    for params in transforms:
        values += [value - before for value, before in zip(params, previous)]
        previous = params
    return expgolomb.to_bytes(expgolomb.bits(values))


def unpack(data: bytes, count: int) -> list[tuple[int, int, int, int]]:
    """The inverse of pack for `count` frames; BitstreamError on a truncated or corrupted block."""
    from ..entropy import expgolomb
    text = expgolomb.text(data)
    differences, pos = expgolomb.read(text, 0, 4 * count, "reframe transforms")
    if len(text) - pos >= 8 or "1" in text[pos:]:
        raise BitstreamError("reframe transforms have trailing bits: stream is corrupted")
    out, previous = [], (0, 0, 0, 0)
    for t in range(count):
        previous = tuple(before + d for before, d in zip(previous, differences[4 * t:4 * t + 4]))
        out.append(previous)
    return out


def with_transforms(transforms: list[tuple[int, int, int, int]], basic: bytes) -> bytes:
    """The basic layer's payload of a reframed clip: varint length + the packed transforms, then the frames'."""
    from ..bitstream import encode_varint
    block = pack(transforms)
    return encode_varint(len(block)) + block + basic


def split_transforms(payload: bytes, count: int) -> tuple[list[tuple[int, int, int, int]], bytes]:
    """(the clip's transforms, the rest of the basic layer's payload) of a reframed clip."""
    from ..bitstream import Reader
    reader = Reader(payload)
    block = reader.take(reader.varint("reframe length"), "reframe transforms")
    return unpack(block, count), payload[reader.pos:]


def chips(frames: list[np.ndarray]) -> tuple[list[tuple[int, int, int, int]], list[np.ndarray]]:
    """(the clip's rounded transforms, its frames warped into the framing)."""
    transforms = fit_clip(frames)
    return transforms, [to_chip(frame, params) for frame, params in zip(frames, transforms)]


REFRAMED, GEOMETRY = 1, 2   # the video header's flags


def header_tail(detail_code: int | None, reframe: bool, geometry: bool = False) -> bytes:
    """The optional end of a face codec's video header: nothing; the detail step code; or, for a reframed clip or
    one with coded geometry (lamina.codecs.geometry: every frame's basic payload starts with an increment), the
    detail step code (0: no detail layer) and a flags varint (1: reframed, 2: geometry)."""
    from ..bitstream import encode_varint
    if reframe or geometry:
        return encode_varint(detail_code or 0) + encode_varint(REFRAMED * reframe + GEOMETRY * geometry)
    return b"" if detail_code is None else encode_varint(detail_code)


def read_header_tail(reader, end: int) -> tuple[int | None, bool, bool]:
    """(detail step code or None, reframed, geometry) from what header_tail wrote; BitstreamError on unknown
    flags."""
    if reader.pos >= end:
        return None, False, False
    code = reader.varint("detail step")
    if reader.pos >= end:
        if code == 0:
            raise BitstreamError("video codec header is corrupted (detail step 0)")
        return code, False, False
    flags = reader.varint("video flags")
    if flags not in (REFRAMED, GEOMETRY, REFRAMED | GEOMETRY):
        raise BitstreamError(f"video codec header has unknown flags {flags}")
    return code or None, bool(flags & REFRAMED), bool(flags & GEOMETRY)


def unchip(frames: list[np.ndarray], transforms: list[tuple[int, int, int, int]] | None) -> list[np.ndarray]:
    """Decoded chips warped back into their frames (unchanged when the clip was not reframed)."""
    if transforms is None:
        return frames
    return [from_chip(frame, params) for frame, params in zip(frames, transforms)]
