"""The face codecs' coded geometry (lamina.codecs.geometry): each image layer starts with an increment of a smooth
displacement field, fitted at the encoder to the original's landmarks, that the decoder applies to the picture of
the first k layers. The increment block round-trips and refuses damage; the fit recovers a known displacement;
the committed codecs' streams carry it by default, `--geometry off` gives the same payloads without it, and it
brings the basic layer's landmarks closer to the original's."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.bitstream import Bitstream, encode_varint
from lamina.codecs import geometry
from lamina.codecs.base import fixed_threads, model_output_to_image
from lamina.errors import BitstreamError, InputError


def test_increment_blocks_round_trip_in_front_of_the_payload():
    rng = np.random.default_rng(0)
    cases = [np.zeros(geometry.VALUES, dtype=np.int64), rng.integers(-3, 4, geometry.VALUES),
             rng.integers(-400, 400, geometry.VALUES), np.eye(1, geometry.VALUES, geometry.VALUES - 1, dtype=np.int64)[0]]
    for increment in cases:
        block = geometry.pack(increment)
        for tail in (b"", b"\x00\xff payload"):
            got, rest = geometry.unpack(block + tail)
            assert np.array_equal(got, increment) and rest == tail
    assert geometry.pack(None) == geometry.pack(cases[0]) == b"\x00"      # no increment: one byte
    assert len(geometry.pack(np.ones(geometry.VALUES, dtype=np.int64))) == (1 + 3 * geometry.VALUES + 7) // 8
    nodes, rest = geometry.split([geometry.pack(cases[1]) + b"a", geometry.pack(cases[1]) + b"b"])
    assert np.array_equal(nodes, 2 * cases[1]) and rest == [b"a", b"b"]


def test_damaged_blocks_are_refused():
    block = geometry.pack(np.full(geometry.VALUES, 2, dtype=np.int64))
    for bad in (b"", block[:3], b"\x40" + block[1:], b"\x80" + b"\x00" * 4):
        with pytest.raises(BitstreamError):
            geometry.unpack(bad)


def test_field_is_smooth_zero_at_the_border_and_moves_pixels():
    nodes = np.zeros(geometry.VALUES, dtype=np.int64)
    flat = torch.rand(1, 3, 64, 48)
    assert geometry.warp(flat, nodes) is flat
    nodes[:geometry.VALUES // 2] = 4                     # every inner node: 4 units to the right (x)
    dx, dy = geometry.field(nodes, 128, 128)
    assert not dy.any() and abs(dx[0]).max() < 1e-9 and abs(dx[:, 0]).max() < 1e-9 and abs(dx[-1]).max() < 1e-9
    assert abs(dx[64, 64] - 4 * geometry.UNIT * 128) < 0.5 and dx.min() >= -0.5
    rng = np.random.default_rng(1)                      # separable weights = torch's 2-D bicubic of the node grid
    values = rng.integers(-5, 6, geometry.VALUES)
    full = torch.zeros(1, 2, geometry.GRID, geometry.GRID, dtype=torch.float64)
    full[0, :, 1:-1, 1:-1] = torch.tensor(values.reshape(2, geometry.GRID_INNER, geometry.GRID_INNER))
    reference = torch.nn.functional.interpolate(full, size=(200, 160), mode="bicubic", align_corners=True)[0].numpy()
    dx, dy = geometry.field(values, 200, 160)
    assert np.allclose(dx, reference[0] * 160 * geometry.UNIT) and np.allclose(dy, reference[1] * 200 * geometry.UNIT)
    image = torch.zeros(1, 3, 128, 128)
    image[..., 60:68, 70:78] = 1                        # a square right of the centre
    moved = geometry.warp(image, nodes)                 # moved(p) = image(p + d): the square comes left by ~4 px
    columns = np.flatnonzero(moved[0, 0, 64].numpy() > 0.5)
    assert 64 <= columns.min() <= 68 and columns.max() <= 74


def test_fit_recovers_a_known_displacement(utk_faces):
    """Faces moved by a known smooth field (every inner node 2 units in x): the fitted increment brings their
    landmarks back to under half the error. (The first utk-test face, hard for dlib, is left out.)"""
    from lamina.vision.face import box_to_tuple, face_box
    from lamina.vision.landmarks import dlib68, nme
    known = np.zeros(geometry.VALUES, dtype=np.int64)
    known[:geometry.VALUES // 2] = 2
    for face in utk_faces[1:]:
        box = box_to_tuple(face_box(face))
        landmarks = dlib68(face, box)
        moved = geometry.warp(torch.from_numpy(face.copy()).permute(2, 0, 1)[None].double() / 127.5 - 1, known)

        def picture(nodes):
            return model_output_to_image(geometry.warp(moved, nodes), *face.shape[:2])
        before = nme(dlib68(picture(None), box), landmarks)
        increment = geometry.fit(picture, landmarks, box)
        after = nme(dlib68(picture(increment), box), landmarks)
        assert before > 0.015 and after < 0.5 * before, (before, after)
        assert increment[:geometry.VALUES // 2].mean() < -0.5   # undone by moving x back (nodes far from landmarks
                                                                  # stay nearer zero)


@pytest.fixture(scope="module")
def pair():
    return (lamina.load("stylegan-scalable", quality=1), lamina.load("stylegan-scalable", quality=1, geometry="off"))


def test_default_streams_start_every_layer_with_an_increment(pair, utk_faces):
    on, off = pair
    face = utk_faces[1]
    a, b = on.encode(face), off.encode(face)
    assert a.codec_header == encode_varint(1) + encode_varint(16) + encode_varint(1 | 2) + encode_varint(32)
    assert b.codec_header == encode_varint(1) + encode_varint(16) + encode_varint(2) + encode_varint(32)  # fine only
    nodes, payloads = geometry.split([l.payload for l in a.layers])
    # the same styles and detail under it; the fine layer is coded against the face in the first layers' field
    assert payloads[:3] == [l.payload for l in b.layers[:3]] and payloads[3] != b.layers[3].payload
    assert np.any(nodes)
    for k in (1, 2, 3, 4):   # the picture as without geometry, moved by the field of the first k increments
        layer_nodes, _ = geometry.split([l.payload for l in a.layers[:k]])
        with fixed_threads(), torch.no_grad():   # as the codec's decode runs (threads and runtime move rounding)
            pixels = on.pixels(payloads[:k], on.detail_step, fine=on.fine_step)
            moved = model_output_to_image(pixels, *face.shape[:2], lambda x: geometry.warp(x, layer_nodes))
            plain = model_output_to_image(on.pixels([l.payload for l in b.layers[:k]], on.detail_step,
                                                    fine=on.fine_step), *face.shape[:2])
        assert np.array_equal(on.decode(a, layers=k), moved) and np.array_equal(off.decode(b, layers=k), plain)
    data = a.to_bytes()
    for k in (1, 2, 3, 4):
        assert np.array_equal(off.decode(data, layers=k), on.decode(data, layers=k))  # the stream decides
    cut = Bitstream.parse(data).truncate(1).to_bytes()
    assert np.array_equal(on.decode(cut), on.decode(data, layers=1))


def test_geometry_brings_the_basic_layers_landmarks_closer(pair, utk_faces):
    """Four fixed faces: the basic layer's NME with geometry below 80% of the basic layer's without."""
    from lamina.vision.evaluators import Evaluator
    on, off = pair
    evaluator = Evaluator(("landmarks_dlib",))
    errors = {"on": [], "off": []}
    for face in utk_faces:
        ref = evaluator.reference(face)
        for label, codec in (("on", on), ("off", off)):
            errors[label].append(evaluator.score(ref, codec.decode(codec.encode(face).to_bytes(), layers=1))["nme_dlib"])
    assert np.mean(errors["on"]) < 0.8 * np.mean(errors["off"]), errors


def test_paper_layout_with_geometry_and_header_errors(utk_faces):
    paper = lamina.load("latent-flow", quality=1, detail_step=0)
    stream = paper.encode(utk_faces[0])
    assert stream.codec_header == encode_varint(1) + encode_varint(0) + encode_varint(1)   # no detail step, flags
    assert paper.decode(stream.to_bytes(), layers=3).shape == utk_faces[0].shape
    for header in (encode_varint(1) + encode_varint(0) + encode_varint(4),      # an unknown flag
                   encode_varint(1) + encode_varint(16) + encode_varint(1) + encode_varint(1)):
        bad = Bitstream(stream.codec, stream.height, stream.width, stream.layers, model_id=stream.model_id,
                        codec_header=header)
        with pytest.raises(BitstreamError, match="codec header"):
            paper.decode(bad.to_bytes())
    with pytest.raises(InputError):
        lamina.load("latent-flow", quality=1, geometry="maybe")


@pytest.fixture(scope="module")
def clip(data_root):
    """Six frames of a training clip (lp_d3, a moving head), aligned as the video bench aligns them."""
    from lamina.bench.video import load_clip
    return load_clip(data_root / "video" / "lp_d3.mp4", 6, True)[0]


# latent-flow's case with -m slow (suite time; its video path with geometry also runs in test_video_rate.py,
# test_reframe.py and test_cross_cpu.py by default)
@pytest.mark.parametrize("name", ["stylegan-scalable", pytest.param("latent-flow", marks=pytest.mark.slow)])
def test_video_geometry_one_increment_a_frame_in_the_basic_layer(name, clip):
    """With --geometry on a video's basic layer carries one increment a frame (against the previous frame's field),
    the other layers are unchanged, every layer count decodes, and the decoded frames' landmarks come closer."""
    from lamina.vision.face import box_to_tuple, face_box
    from lamina.vision.landmarks import dlib68, nme
    on, off = lamina.load(name, quality=1, geometry="on"), lamina.load(name, quality=1, geometry="off")
    a, b = on.encode_video(clip, 30.0), off.encode_video(clip, 30.0)
    assert on.video_info(a)["geometry"] is True and "geometry" not in off.video_info(b)
    assert [l.payload for l in a.layers[1:]] == [l.payload for l in b.layers[1:]]
    assert len(b.layers[0].payload) < len(a.layers[0].payload) <= len(b.layers[0].payload) + 20 * len(clip)
    data = a.to_bytes()
    for k in range(1, a.available_layers + 1):
        assert len(off.decode_video(data, layers=k)) == len(clip)       # the stream decides, not the codec's option
    errors = {}
    for label, stream in (("on", data), ("off", b.to_bytes())):
        errors[label] = np.mean([nme(dlib68(decoded, box), dlib68(frame, box)) for frame, decoded
                                 in zip(clip, on.decode_video(stream)) for box in [box_to_tuple(face_box(frame))]])
    assert errors["on"] < 0.85 * errors["off"], errors
    bad = Bitstream(a.codec, a.height, a.width, a.layers, model_id=a.model_id, kind=a.kind,
                    codec_header=a.codec_header[:-1] + encode_varint(4))      # an unknown flag
    with pytest.raises(BitstreamError, match="flags"):
        on.decode_video(bad.to_bytes())
