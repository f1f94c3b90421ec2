"""Coded geometry for the face codecs' image layers: a smooth displacement field, refined by every layer, that moves
the decoded face's landmarks onto the original's (issue 23: the basic layer's landmark NME).

The face prior renders the right pose and expression, but its eyes, brows, mouth and jaw sit a few pixels away from
the original's (stylegan-scalable q1's basic layer: NME 0.027 on utk-test). A field of GRID x GRID nodes over the
image (bicubic between nodes, the outer ring fixed at zero) is cheap to send and moves them back. Each image layer
starts with an increment of the node values; the picture of the first k layers is their render, resized to the
stream's size and resampled there (bicubic, edges repeated, in float before rounding) at p + D_k(p), where D_k is
the field of the sum of the first k increments. Bilinear sampling blurred more (LPIPS of the full stream +0.004-0.006
on the training faces), and so did a warp at the model's 128 px before resizing (+0.01). The detail residual (the
`enhanced` layer of the default layout) is coded as without geometry: coding it against the face brought into the
style layers' geometry did no better (same NME, LPIPS +0.001-0.0015, one face of 24 less keeping its identity at
stylegan-scalable q1).

The encoder fits each increment to the original's dlib 68 landmarks (lamina.vision.landmarks, the face box from the
original, as the NME evaluator does): least squares of the field at the original's landmarks against where the
layer's render has them (dlib again), with a smoothness (node differences) and a small ridge term, rounded to
UNIT of the image side; FIT_ITERATIONS refinements (render warped, landmarks again) from the previous layers' field
and as many from no field, keeping the increment with the lowest NME, zero (the previous layers' field) included, so
a layer's geometry is never worse than its predecessor's on the encoder's measure. The encoder fits on a float64
render (the prior's and the TAEF2 decoder's float64 twins), so its choices do not depend on the CPU's float32
kernels: the same bytes on every machine.

Increment block, at the head of the layer's payload: one bit (0: no increment), else GRID_INNER**2 x 2 zigzag order-0
Exp-Golomb values (x of every inner node in raster order, then y), padded to a byte. Chosen on utk-train faces
(docs/results/face-prior/geometry/): 6 x 6 nodes, smoothness 0.3, a unit of 1/128 of the side, 6 refinements
(3: NME ~4% higher at every layer), restarts from no field (without: the enhanced layer's NME 4% higher).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import BitstreamError

GRID = 6
GRID_INNER = GRID - 2
VALUES = GRID_INNER * GRID_INNER * 2
UNIT = 1 / 128          # of the image's width (x) and height (y)
SMOOTHNESS = 0.3        # weight of the squared node differences against the squared landmark errors
RIDGE = 1e-2
FIT_ITERATIONS = 6
VIDEO_RATE = 3e-4       # video: the NME a block byte must buy (fit's rate; training clips: docs/results/video/)


# ------------------------------------------------------------------ the field
@lru_cache(maxsize=16)
def _weights(size: int) -> np.ndarray:
    """GRID x size: the 1-D bicubic weights (corners aligned) of each node along a side of `size` pixels; the field's
    interpolation is their outer product (separable, as torch's bicubic), so no image-sized table per node is kept."""
    import torch
    import torch.nn.functional as F
    eye = torch.eye(GRID, dtype=torch.float64).reshape(GRID, 1, GRID, 1)
    return F.interpolate(eye, size=(size, 1), mode="bicubic", align_corners=True).reshape(GRID, size).numpy()


def _inner() -> np.ndarray:
    mask = np.zeros((GRID, GRID), bool)
    mask[1:-1, 1:-1] = True
    return np.flatnonzero(mask.ravel())


def field(nodes: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel displacements (dx, dy), each height x width float64, of integer inner-node values (VALUES,)."""
    values = np.asarray(nodes, dtype=np.float64).reshape(2, GRID_INNER * GRID_INNER)
    full = np.zeros((2, GRID * GRID))
    full[:, _inner()] = values
    rows, columns = _weights(height), _weights(width)
    return (rows.T @ full[0].reshape(GRID, GRID) @ columns * (UNIT * width),
            rows.T @ full[1].reshape(GRID, GRID) @ columns * (UNIT * height))


def _sample(x, dx: np.ndarray, dy: np.ndarray):
    """x (N x C x H x W tensor) sampled (bicubic) at p + (dx, dy)(p), edges repeated."""
    import torch
    import torch.nn.functional as F
    n, _, height, width = x.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    grid = np.stack([(xx + dx) * (2 / (width - 1)) - 1, (yy + dy) * (2 / (height - 1)) - 1], -1)
    grid = torch.from_numpy(grid).to(x)[None].expand(n, -1, -1, -1)
    return F.grid_sample(x, grid, mode="bicubic", padding_mode="border", align_corners=True)


def warp(x, nodes: np.ndarray | None):
    """A picture x (N x C x H x W tensor: the render resized to the stream's size, before rounding) resampled at
    p + D(p) for the field of `nodes` (none or all zero: x itself)."""
    if nodes is None or not np.any(nodes):
        return x
    return _sample(x, *field(nodes, x.shape[2], x.shape[3]))


# ------------------------------------------------------------------ the encoder's fit
@lru_cache(maxsize=8)
def _smoothness() -> np.ndarray:
    """Rows of node differences (right and down neighbours; the fixed outer ring counts as zero) over inner nodes."""
    inner = {n: i for i, n in enumerate(_inner())}
    rows = []
    for r in range(GRID):
        for c in range(GRID):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < GRID and c + dc < GRID:
                    row = np.zeros(len(inner))
                    for node, sign in ((r * GRID + c, 1.0), ((r + dr) * GRID + c + dc, -1.0)):
                        if node in inner:
                            row[inner[node]] = sign
                    if row.any():
                        rows.append(row)
    return np.array(rows)


def fit(picture, landmarks: np.ndarray, box, start: np.ndarray | None = None, rate: float = 0.0) -> np.ndarray:
    """The increment (VALUES integers) that moves the landmarks of picture(nodes) (a callable: the layer's picture,
    uint8, under the field of nodes) onto `landmarks` (68 x 2, the original's), from the nodes `start`: the best
    of FIT_ITERATIONS refinements from `start` and as many from no field; zero when none does better. Best: the
    lowest NME + rate x the increment's block bytes (images: rate 0)."""
    from ..vision.landmarks import dlib68, nme
    start = np.zeros(VALUES, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64)
    image = picture(start)
    height, width = image.shape[:2]
    scale = np.array([UNIT * width, UNIT * height])          # pixels per unit, x and y
    xi = np.clip(np.round(landmarks[:, 0]).astype(int), 0, width - 1)
    yi = np.clip(np.round(landmarks[:, 1]).astype(int), 0, height - 1)
    sample = (_weights(height)[:, yi].T[:, :, None] * _weights(width)[:, xi].T[:, None, :]).reshape(len(xi), -1)
    sample = sample[:, _inner()]                              # 68 x inner nodes: each node's field at the landmarks
    smooth = _smoothness()
    system = sample.T @ sample + SMOOTHNESS * smooth.T @ smooth + RIDGE * np.eye(sample.shape[1])
    points = dlib68(image, box)

    def cost(error, increment):
        return error + rate * len(pack(increment)) if rate else error
    best = (cost(nme(points, landmarks), None), np.zeros(VALUES, dtype=np.int64))
    # refinements from the previous layers' field and, when there is one, from no field (a layer whose picture
    # moved its landmarks elsewhere may be better off restarting)
    origins = [start] + ([np.zeros(VALUES, dtype=np.int64)] if np.any(start) else [])
    for origin in origins:
        if origin is not start:
            points = dlib68(picture(origin), box)
            error = cost(nme(points, landmarks), origin - start)
            if error < best[0]:
                best = (error, origin - start)
        total = origin.reshape(2, -1).T * scale
        for _ in range(FIT_ITERATIONS):
            target = sample @ total + points - landmarks        # where the field must fetch each landmark from
            solved = np.linalg.solve(system, sample.T @ target)
            nodes = np.round(solved / scale).astype(np.int64).T.ravel()
            points = dlib68(picture(nodes), box)
            error = cost(nme(points, landmarks), nodes - start)
            if error < best[0]:
                best = (error, nodes - start)
            total = nodes.reshape(2, -1).T * scale
    return best[1]


def fit_frames(pixels: list, frames: list[np.ndarray], rate: float | None = None) -> list[np.ndarray]:
    """Video: each frame's increment against the previous frame's field (frame 0: against none), fitted (fit()) so
    that the decoded frame's landmarks land on the coded frame's. pixels: per frame the decoder's render at the
    model's size (1 x 3 x S x S in about [-1, 1], before resizing); frames: the coded frames (uint8, the chips of a
    reframed clip); the face box as the evaluator finds it (the framing's box where dlib finds no face); rate: NME
    per block byte (default VIDEO_RATE)."""
    from ..vision.face import box_to_tuple, face_box
    from ..vision.landmarks import dlib68
    from .base import model_output_to_image
    nodes, increments = np.zeros(VALUES, dtype=np.int64), []
    for render, frame in zip(pixels, frames):
        height, width = frame.shape[:2]
        box = box_to_tuple(face_box(frame))
        increments.append(fit(lambda n: model_output_to_image(render, height, width, lambda y: warp(y, n)),
                              dlib68(frame, box), box, nodes, VIDEO_RATE if rate is None else rate))
        nodes = nodes + increments[-1]
    return increments


def frames_to_images(pixels: list, increments, height: int, width: int) -> list[np.ndarray]:
    """Video decoder: each frame's render (model size) as a height x width uint8 image, resampled by the field of
    the frame's summed increments (None: no geometry)."""
    from .base import model_output_to_image
    if increments is None:
        return [model_output_to_image(render, height, width) for render in pixels]
    images, nodes = [], np.zeros(VALUES, dtype=np.int64)
    for render, increment in zip(pixels, increments):
        nodes = nodes + increment
        images.append(model_output_to_image(render, height, width, lambda y, n=nodes: warp(y, n)))
    return images


# ------------------------------------------------------------------ the increment block
def pack(increment: np.ndarray | None) -> bytes:
    """The block of one layer's increment (None or all zero: one byte)."""
    from ..entropy import expgolomb
    if increment is None or not np.any(increment):
        return b"\x00"
    return expgolomb.to_bytes("1" + expgolomb.bits(np.asarray(increment, dtype=np.int64).ravel()))


def unpack(payload: bytes) -> tuple[np.ndarray, bytes]:
    """(increment, the rest of the payload) of a layer payload that starts with a block; BitstreamError when it is
    truncated or corrupted."""
    from ..entropy import expgolomb
    if not payload:
        raise BitstreamError("geometry block is missing: stream is truncated or corrupted")
    if payload[0] == 0:
        return np.zeros(VALUES, dtype=np.int64), payload[1:]
    if not payload[0] & 0x80:
        raise BitstreamError("geometry block is corrupted")
    text = expgolomb.text(payload[:VALUES * 12 + 1])     # VALUES codes of at most 81 bits each fit
    values, pos = expgolomb.read(text, 1, VALUES, "geometry increments")
    return np.array(values, dtype=np.int64), payload[expgolomb.check_padding(text, pos, "geometry increments"):]


def split(payloads: list[bytes]) -> tuple[np.ndarray, list[bytes]]:
    """(node values of the sum of the increments, the payloads without their blocks) of the first layers."""
    nodes = np.zeros(VALUES, dtype=np.int64)
    rest = []
    for payload in payloads:
        increment, payload = unpack(payload)
        nodes = nodes + increment
        rest.append(payload)
    return nodes, rest
