"""--temporal-smooth (face codecs' video encoders): the per-frame styles filtered in time before coding."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.codecs.face_codec import smooth_in_time
from lamina.errors import InputError


def test_smooth_in_time_is_the_121_kernel_with_repeated_ends():
    series = [torch.tensor([0.0]), torch.tensor([4.0]), torch.tensor([0.0]), torch.tensor([8.0])]
    assert [float(x) for x in smooth_in_time(series, 0.5)] == [1.0, 2.0, 3.0, 6.0]
    assert [float(x) for x in smooth_in_time(series, 0.0)] == [0.0, 4.0, 0.0, 8.0]
    constant = [torch.full((2, 3), 1.5)] * 5
    assert all(torch.equal(x, constant[0]) for x in smooth_in_time(constant, 0.8))
    assert len(smooth_in_time(series[:1], 0.5)) == 1


def test_smoothed_styles_change_less_from_frame_to_frame(utk_faces):
    """Two faces alternating: with smoothing the decoded frames move less between frames, and the default is
    latent-flow's chosen 0.5; values outside [0, 1) are refused."""
    frames = [utk_faces[i % 2] for i in range(4)]
    change = {}
    for w in (0.0, 0.5):
        codec = lamina.load("latent-flow", quality=1, reframe="off", geometry="off", temporal_smooth=w)
        decoded = codec.decode_video(codec.encode_video(frames, 25.0).to_bytes())
        change[w] = np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(decoded, decoded[1:])])
    assert change[0.5] < 0.8 * change[0.0]
    assert lamina.load("latent-flow", quality=1).temporal_smooth == 0.5
    with pytest.raises(InputError, match="temporal-smooth"):
        lamina.load("stylegan-scalable", quality=1, temporal_smooth=1.0)
