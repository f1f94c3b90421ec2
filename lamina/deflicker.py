"""A decoder-side temporal filter for generative video (issue 26): each decoded frame is blended with the previous
output frame warped onto it by optical flow, where the two agree.

Generative decoders draw every frame afresh, so texture and the low-quality layer's coding noise change from frame
to frame where the original does not (flicker). The filter, per frame t > 0 of the decoded frames D:

    flow  = DIS optical flow from D_t to D_t-1 (OpenCV, the "medium" preset, grey levels), one thread
    P     = out_t-1 warped by the flow (bilinear, borders replicated)
    d     = |G(P) - G(D_t)| averaged over RGB, G a Gaussian blur of sigma BLUR pixels
    c     = strength * exp(-(d / tolerance)^2)        (per pixel: 0 where the warped frame disagrees)
    out_t = D_t + c (P - D_t)

so moving content follows the flow, new or disagreeing content (occlusions, cuts, a changed expression) comes
from D_t, and out_0 = D_0. Nothing is coded: a stream decodes to D with strength 0. Used by codebook-svr's
`--deflicker` (off by default: on the evaluation clips it cut flicker 2-4% and raised LPIPS;
docs/results/video/probe-deflicker/, talking-faces-deflicker/). The flow and the warp run in float32 in OpenCV,
so the filtered pixels carry a CPU's float differences further than the decoder's own (not pinned across CPUs).
"""
from __future__ import annotations

import numpy as np

BLUR = 2.0        # pixels: the blur under which the warped and the current frame are compared
TOLERANCE = 4.0   # grey levels: the agreement scale of the blend weight


def check_strength(strength: float) -> float:
    """`strength` as a float; InputError unless it is in [0, 1] (callers check before decoding the frames)."""
    from .errors import InputError
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"--deflicker must be in [0, 1], got {strength:g}")
    return strength


def deflicker(frames: list[np.ndarray], strength: float, tolerance: float = TOLERANCE,
              blur: float = BLUR) -> list[np.ndarray]:
    """The filtered frames (HxWx3 uint8, as given); strength in [0, 1], 0 returns the frames unchanged."""
    strength = check_strength(strength)
    if strength == 0 or len(frames) < 2:
        return list(frames)
    import cv2
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        h, w = frames[0].shape[:2]
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        previous = frames[0].astype(np.float32)
        out = [frames[0]]
        for t in range(1, len(frames)):
            current = frames[t].astype(np.float32)
            grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in (frames[t], frames[t - 1])]
            flow = dis.calc(grey[0], grey[1], None)  # for each pixel of frame t, where it was in frame t-1
            warped = cv2.remap(previous, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
            d = np.abs(cv2.GaussianBlur(warped, (0, 0), blur) - cv2.GaussianBlur(current, (0, 0), blur)).mean(2)
            weight = (strength * np.exp(-(d / tolerance) ** 2))[..., None]
            previous = current + weight * (warped - current)
            out.append(np.clip(np.rint(previous), 0, 255).astype(np.uint8))
        return out
    finally:
        cv2.setNumThreads(threads)
