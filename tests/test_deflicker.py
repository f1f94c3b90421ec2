"""lamina.deflicker: the decoder-side motion-compensated temporal filter for video (issue 26)."""
import cv2
import numpy as np
import pytest

from lamina.bench.video import flicker
from lamina.deflicker import deflicker
from lamina.errors import InputError


@pytest.fixture(scope="module")
def moving_clip():
    """A smooth texture panning 1 pixel a frame (whole pixels, so each frame is the last one shifted)."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(40, 200, (64, 96, 3)).astype(np.float32), (0, 0), 2)
    return [np.clip(base[:, t:t + 80], 0, 255).astype(np.uint8) for t in range(8)]


def test_strength_zero_and_one_frame_leave_the_frames_alone(moving_clip):
    assert all(a is b for a, b in zip(deflicker(moving_clip, 0.0), moving_clip))
    assert deflicker(moving_clip[:1], 0.8)[0] is moving_clip[0]
    with pytest.raises(InputError, match="deflicker"):
        deflicker(moving_clip, 1.5)


def test_noise_that_changes_every_frame_is_filtered_and_motion_is_kept(moving_clip):
    rng = np.random.default_rng(1)
    noisy = [np.clip(f + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in moving_clip]
    out = deflicker(noisy, 0.8)
    assert len(out) == len(noisy) and all(o.shape == f.shape and o.dtype == np.uint8 for o, f in zip(out, noisy))
    assert np.array_equal(out[0], noisy[0])
    assert flicker(moving_clip, out) < 0.7 * flicker(moving_clip, noisy)
    # a clean pan is followed, not smeared: the filtered clip stays on the original (the right edge enters anew)
    clean = deflicker(moving_clip, 0.8)
    assert max(np.abs(a.astype(int) - b)[:, :-4].mean() for a, b in zip(clean, moving_clip)) < 0.5

