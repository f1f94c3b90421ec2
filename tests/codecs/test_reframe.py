"""Per-frame framing of the face codecs' video (lamina.codecs.reframe, `--reframe`): the transforms' coding, the
fit that finds a moved face, and both face codecs' reframed clips decoded layer by layer."""
from __future__ import annotations

import numpy as np
import pytest

from lamina.bitstream import Bitstream, Reader
from lamina.codecs import reframe
from lamina.errors import BitstreamError

# A head that moves out of the framing: (log scale, angle, shift x, shift y) in the module's units, frame -> chip
MOVES = [(0, 0, 0, 0), (12, 25, 20, -10), (25, 50, 40, -20), (30, 40, 45, -25)]


@pytest.fixture(scope="module")
def face(data_root):
    """The first frame of a training clip (lp_d3) in the framing, as the video bench aligns it."""
    from lamina.bench.video import load_clip
    return load_clip(data_root / "video" / "lp_d3.mp4", 1, True)[0][0]


@pytest.fixture(scope="module")
def moved(face):
    """The face moved away from the framing by the inverse of each of MOVES."""
    return [reframe.from_chip(face, params) for params in MOVES]


def test_transforms_round_trip_and_refuse_damage():
    rng = np.random.default_rng(0)
    transforms = [tuple(int(v) for v in row) for row in rng.integers(-300, 300, (9, 4))] + [(0, 0, 0, 0)]
    data = reframe.pack(transforms)
    assert reframe.unpack(data, len(transforms)) == transforms
    assert reframe.pack([]) == b"" and reframe.unpack(b"", 0) == []
    # a still head costs 4 bits a frame
    assert len(reframe.pack([(3, -2, 5, 1)] * 9)) <= 2 + 9 * 4 // 8 + 1
    with pytest.raises(BitstreamError):
        reframe.unpack(data[:-2], len(transforms))
    with pytest.raises(BitstreamError):
        reframe.unpack(data + b"\x80", len(transforms))


def test_header_tail_round_trips_and_stays_the_old_format_without_reframe():
    for code, flag, geometry in [(None, False, False), (16, False, False), (None, True, False), (24, True, False),
                                 (None, False, True), (16, True, True)]:
        tail = reframe.header_tail(code, flag, geometry)
        assert reframe.read_header_tail(Reader(tail), len(tail)) == (code, flag, geometry)
    assert reframe.header_tail(None, False) == b"" and reframe.header_tail(16, False) == b"\x10"
    for bad in (b"\x00", b"\x10\x04", b"\x10\x00"):  # a zero detail step without flags; unknown / no flags
        with pytest.raises(BitstreamError):
            reframe.read_header_tail(Reader(bad), len(bad))


def test_identity_transform_leaves_the_frame_and_the_fit_finds_a_moved_face(face, moved):
    assert np.array_equal(reframe.matrix((0, 0, 0, 0), 256, 256), np.array([[1.0, 0, 0], [0, 1, 0]]))
    assert np.array_equal(reframe.to_chip(face, (0, 0, 0, 0)), face)
    own = reframe.fit(face) / reframe.UNITS  # the first frame is in the framing already: within a unit or two of zero
    assert np.all(np.abs(own) < 2), own
    corners = np.array([[0, 0, 1], [255, 0, 1], [0, 255, 1], [255, 255, 1]], float).T

    def full(params):
        return np.vstack([reframe.matrix(params, 256, 256), [0, 0, 1]])
    for params, frame in zip(MOVES, moved):
        # moved -> face is the move, face -> framing the face's own transform: the fit is their composition
        found = reframe.fit(frame) / reframe.UNITS
        assert np.abs(full(found) @ corners - full(own) @ full(params) @ corners).max() < 2, (params, found)


@pytest.mark.parametrize("name", ["latent-flow", "stylegan-scalable"])
def test_reframed_clip_decodes_layer_by_layer_and_follows_the_moving_face(name, moved):
    import lamina
    plain, framed = lamina.load(name, quality=1, reframe="off"), lamina.load(name, quality=1)  # on by default
    a, b = plain.encode_video(moved, 25.0).to_bytes(), framed.encode_video(moved, 25.0).to_bytes()
    info = framed.video_info(Bitstream.parse(b))
    assert info["reframe"] is True and "reframe" not in plain.video_info(Bitstream.parse(a))
    basic = Bitstream.parse(b).layers[0].payload
    transforms, _ = reframe.split_transforms(basic, len(moved))
    assert transforms == reframe.fit_clip(moved)
    for layers in (1, 2, 3):
        decoded = framed.decode_video(b, layers=layers)
        assert len(decoded) == len(moved) and decoded[0].shape == moved[0].shape
    errors = {}
    for key, data, codec in (("plain", a, plain), ("reframed", b, framed)):
        decoded = codec.decode_video(data)
        errors[key] = np.mean([np.abs(d.astype(float) - f).mean() for d, f in zip(decoded[2:], moved[2:])])
    assert errors["reframed"] < errors["plain"], errors


def test_reframe_option_is_on_or_off(moved):
    import lamina
    from lamina.errors import InputError
    assert lamina.load("latent-flow", quality=1).reframe and not lamina.load("latent-flow", quality=1,
                                                                              reframe="off").reframe
    with pytest.raises(InputError, match="on or off"):
        lamina.load("latent-flow", quality=1, reframe="maybe")
    with pytest.raises(InputError, match="square"):
        lamina.load("latent-flow", quality=1).encode_video([f[:, :240] for f in moved[:2]], 25.0)
