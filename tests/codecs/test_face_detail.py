"""The face codecs' detail residual (lamina.priors.detail) on the committed stylegan-scalable model: by default the
`enhanced` layer, coded against the latent of the basic and middle styles, which it leaves untouched, moving the
decoded face toward the original; `--detail-step 0` gives the paper's three style layers."""
from __future__ import annotations

import numpy as np
import torch
import pytest

import lamina
from lamina.bitstream import Bitstream, encode_varint
from lamina.errors import BitstreamError, InputError


@pytest.fixture(scope="module")
def codecs(data_root):
    # video in the first frame's framing (these clips alternate faces; test_reframe.py covers --reframe); images
    # without the geometry increments in front of each payload (test_geometry.py covers them) and, but for the fine
    # layer's own tests, without the fourth layer; video frames coded as the images are (no --temporal-smooth:
    # test_temporal_smooth.py covers it)
    return (lamina.load("stylegan-scalable", quality=3, detail_step=0.0, reframe="off", geometry="off",
                        temporal_smooth=0),
            lamina.load("stylegan-scalable", quality=3, detail_step=1.0, reframe="off", geometry="off", fine_step=0,
                        temporal_smooth=0))


def test_detail_residual_is_the_enhanced_layer_after_unchanged_style_layers(codecs, utk_faces):
    plain, detailed = codecs
    face = utk_faces[0]
    a, b = plain.encode(face), detailed.encode(face)
    assert a.declared_layers == b.declared_layers == ("basic", "middle", "enhanced")
    assert [l.payload for l in b.layers[:2]] == [l.payload for l in a.layers[:2]]
    assert b.layers[2].payload != a.layers[2].payload
    assert b.codec_header == encode_varint(3) + encode_varint(16)  # quality 3, step 16/16
    data = b.to_bytes()
    assert len(data) == (len(a.to_bytes()) - len(a.layers[2].payload) + len(b.layers[2].payload)
                         + len(b.header_bytes()) - len(a.header_bytes()))
    for k in (1, 2):  # the style layers decode as in the paper's layout, by either codec object
        assert np.array_equal(detailed.decode(data, layers=k), plain.decode(a.to_bytes(), layers=k))
        assert np.array_equal(plain.decode(data, layers=k), plain.decode(a.to_bytes(), layers=k))
    full = plain.decode(data)  # the layout and step come from the stream, not from the decoding object
    assert np.array_equal(full, detailed.decode(data))
    assert full.shape == face.shape and not np.array_equal(full, plain.decode(a.to_bytes()))
    cut = Bitstream.parse(data).truncate(2).to_bytes()
    assert np.array_equal(detailed.decode(cut), plain.decode(a.to_bytes(), layers=2))


def test_detail_residual_improves_identity_landmarks_and_lpips(codecs, utk_faces):
    """On fixed faces the residual layer brings the face closer to the original than the two style layers under
    it in identity and LPIPS, latent residual (default) and fitted at the encoder (--detail-fit 20) alike. (On the
    prior v3 the fitted layer improved landmarks too; on the prior v4 it does not on these 4 faces, NME 0.029 ->
    0.032: docs/results/face-prior/refit-v4/.)"""
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(("lpips_alex", "identity_dlib", "landmarks_dlib"))
    residual = codecs[1]
    fitted = lamina.load("stylegan-scalable", quality=3, detail_step=1.0, detail_fit=20, geometry="off", fine_step=0)
    for codec, keys in ((residual, ("lpips_alex", "id_dlib_distance")),
                        (fitted, ("lpips_alex", "id_dlib_distance"))):
        two, three = [], []
        streams = codec.encode_many(utk_faces[:4], batch=2)  # two faces at a time (two cores)
        for face, stream in zip(utk_faces[:4], streams):
            ref = evaluator.reference(face)
            data = stream.to_bytes()
            two.append(evaluator.score(ref, codec.decode(data, layers=2)))
            three.append(evaluator.score(ref, codec.decode(data, layers=3)))
        for key in keys:
            before, after = np.mean([s[key] for s in two]), np.mean([s[key] for s in three])
            assert after < before, (codec.detail_fit, key, before, after)


def test_fitted_detail_layer_is_the_encoders_choice_alone(codecs, utk_faces):
    """--detail-fit N fits the detail offset to the face at the encoder: same style layers, same header, a decoder
    that does not know; the default (0) writes the (shrunk) latent residual. On fixed faces the fitted layer decodes
    closer to the face (docs/results/face-prior/probe-v2.md: on validation faces every
    measure improves at about half the bytes of the full residual). Its bytes depend on the CPU's float kernels:
    properties only here."""
    from lamina.metrics.pixel import psnr
    residual, fitted = codecs[1], lamina.load("stylegan-scalable", quality=3, detail_step=1.0, detail_fit=20,
                                              geometry="off", fine_step=0)
    assert residual.detail_fit == 0
    quality = []
    for face in utk_faces[:2]:
        a, b = residual.encode(face), fitted.encode(face)
        assert [l.payload for l in a.layers[:2]] == [l.payload for l in b.layers[:2]]
        assert a.codec_header == b.codec_header and a.layers[2].payload != b.layers[2].payload
        decoded = [residual.decode(a.to_bytes()), residual.decode(b.to_bytes())]
        assert np.array_equal(decoded[1], fitted.decode(b.to_bytes()))
        quality.append([psnr(face, d) for d in decoded])
    assert np.mean([q[1] for q in quality]) > np.mean([q[0] for q in quality]), quality
    with pytest.raises(InputError, match="detail-fit"):
        lamina.load("stylegan-scalable", quality=3, detail_fit=-1)


def test_detail_step_and_header_errors(codecs, utk_faces):
    with pytest.raises(InputError):
        lamina.load("stylegan-scalable", quality=3, detail_step=0.3)  # not a multiple of 1/16
    with pytest.raises(InputError):
        lamina.load("stylegan-scalable", quality=3, detail_step=-1.0)
    plain, detailed = codecs
    stream = Bitstream.parse(detailed.encode(utk_faces[0]).to_bytes())
    four = Bitstream(stream.codec, stream.height, stream.width, stream.layers + stream.layers[2:], model_id=stream.model_id,
                     codec_header=stream.codec_header)  # the layout before 2026-12-06 had a fourth `detail` layer
    with pytest.raises(BitstreamError, match="at most 3 layers"):
        plain.decode(four.to_bytes())
    zero_step = Bitstream(stream.codec, stream.height, stream.width, stream.layers, model_id=stream.model_id,
                          codec_header=encode_varint(3) + encode_varint(0))
    with pytest.raises(BitstreamError):
        plain.decode(zero_step.to_bytes())


def test_stylegan_video_key_frames_carry_a_detail_layer_that_their_group_reuses(codecs, utk_faces):
    from lamina.codecs.stylegan_scalable.video import video_header
    plain_codec, codec = codecs
    frames = [utk_faces[i % 3] for i in range(5)]
    stream = Bitstream.parse(codec.encode_video(frames, 25.0, keyframe_interval=2).to_bytes())
    assert stream.available_layers == 4 and video_header(stream)[3] == codec.detail_step
    full, styles_only = codec.decode_video(stream), codec.decode_video(stream, layers=3)
    # a key frame's style layers decode exactly as the same face coded as an image in the paper's layout
    # (video keeps the enhanced styles; its key-frame `detail` layer is coded against all three style groups)
    image = plain_codec.encode(frames[2]).to_bytes()
    assert np.array_equal(styles_only[2], plain_codec.decode(image)) and not np.array_equal(full[2], styles_only[2])
    # the other frames of the group change with the key frame's offset
    assert not np.array_equal(full[3], styles_only[3])
    plain = plain_codec.encode_video(frames, 25.0, keyframe_interval=2)
    assert plain.available_layers == 3 and len(plain.to_bytes()) < len(stream.to_bytes())
    assert all(np.array_equal(a, b) for a, b in zip(codec.decode_video(plain.to_bytes()), styles_only))


def test_latent_flow_video_key_frames_carry_a_detail_layer(utk_faces):
    from lamina.codecs.latent_flow.video import video_header
    # geometry off: its increments are fitted to what the whole stream decodes to, so they differ with detail
    # temporal smoothing off: frame 0 is then coded as the image is
    codec = lamina.load("latent-flow", quality=2, detail_step=1.0, reframe="off", geometry="off", temporal_smooth=0)
    plain = lamina.load("latent-flow", quality=2, reframe="off", geometry="off", temporal_smooth=0)
    frames = [utk_faces[i % 3] for i in range(5)]
    for loop in ("open", "closed"):
        stream = Bitstream.parse(codec.encode_video(frames, 25.0, gop=2, loop=loop).to_bytes())
        assert stream.available_layers == 4 and video_header(stream).detail_step == codec.detail_step == 1.0
        styles_only = plain.encode_video(frames, 25.0, gop=2, loop=loop)
        assert [l.payload for l in stream.layers[:3]] == [l.payload for l in styles_only.layers]
        full, three = codec.decode_video(stream), codec.decode_video(stream, layers=3)
        assert all(np.array_equal(a, b) for a, b in zip(three, codec.decode_video(styles_only.to_bytes())))
        paper = lamina.load("latent-flow", quality=2, detail_step=0, geometry="off")  # frame 0: the image, paper layout
        assert np.array_equal(three[0], paper.decode(paper.encode(frames[0]).to_bytes()))
        assert not any(np.array_equal(a, b) for a, b in zip(full, three))


def test_fine_layer_is_a_fourth_layer_over_unchanged_layers(codecs, utk_faces):
    """The fine residual (lamina.priors.detail.encode_fine, --fine-step, on by default) is a fourth layer `detail`:
    the first three layers are the three-layer stream's, byte for byte and pixel for pixel; the header says its step;
    its offset is zero outside the window around the eyes, nose and mouth; and it brings the face closer to the
    original (identity, LPIPS) on fixed faces."""
    from lamina.priors import detail
    from lamina.vision.evaluators import Evaluator
    three = codecs[1]
    fine = lamina.load("stylegan-scalable", quality=3, detail_step=1.0, reframe="off", geometry="off")
    assert fine.fine_step == 2.0 and lamina.load("stylegan-scalable", quality=3, detail_step=0).fine_step == 0
    evaluator = Evaluator(("lpips_alex", "identity_dlib"))
    before, after = [], []
    for face in utk_faces[:3]:
        a, b = three.encode(face), fine.encode(face)
        assert b.declared_layers == ("basic", "middle", "enhanced", "detail")
        assert [l.payload for l in b.layers[:3]] == [l.payload for l in a.layers]
        assert b.codec_header == a.codec_header + encode_varint(2) + encode_varint(32)   # flags: fine; step 32/16
        data = b.to_bytes()
        for k in (1, 2, 3):
            assert np.array_equal(three.decode(data, layers=k), three.decode(a.to_bytes(), layers=k))
        ref = evaluator.reference(face)
        before.append(evaluator.score(ref, three.decode(data, layers=3)))
        after.append(evaluator.score(ref, three.decode(data)))
    for key in ("lpips_alex", "id_dlib_distance"):
        assert np.mean([s[key] for s in after]) < np.mean([s[key] for s in before]), key
    offset = detail.decode_fine(b.layers[3].payload, (32, 16, 16), 2.0)
    rows, columns = detail.fine_window(16, 16)
    assert (rows.start, rows.stop) == (3, 13) and offset.abs().sum() > 0
    inside = torch.zeros_like(offset, dtype=torch.bool)
    inside[..., rows, columns] = True
    assert not offset[~inside].any() and torch.all(torch.remainder(offset, 2.0) == 0)


def test_fine_layer_errors(codecs, utk_faces):
    from lamina.priors import detail
    for options in ({"detail_step": 0, "fine_step": 2.0}, {"fine_step": -2.0}, {"fine_step": 0.3}):
        with pytest.raises(InputError, match="fine-step|multiple"):
            lamina.load("stylegan-scalable", quality=3, **options)
    fine = lamina.load("stylegan-scalable", quality=3, detail_step=1.0, reframe="off", geometry="off")
    stream = fine.encode(utk_faces[0])
    for header in (encode_varint(3) + encode_varint(16) + encode_varint(2),                     # no fine step
                   encode_varint(3) + encode_varint(0) + encode_varint(2) + encode_varint(32),  # fine without detail
                   encode_varint(3) + encode_varint(16) + encode_varint(2) + encode_varint(0),  # step 0
                   encode_varint(3) + encode_varint(16) + encode_varint(6) + encode_varint(32)):  # unknown flag
        bad = Bitstream(stream.codec, stream.height, stream.width, stream.layers, model_id=stream.model_id,
                        codec_header=header)
        with pytest.raises(BitstreamError, match="codec header"):
            fine.decode(bad.to_bytes())
    with pytest.raises(BitstreamError):
        detail.decode_fine(stream.layers[3].payload[:5], (32, 16, 16), 2.0)


def test_swap_of_default_streams_takes_basic_from_the_first_and_middle_from_the_second(codecs, utk_faces):
    """In the default layout the enhanced layer is A's detail residual, which belongs to A's face: the swapped
    stream has A's basic and B's middle styles only, exactly (no pixels decoded)."""
    _, detailed = codecs
    a, b = detailed.encode(utk_faces[0]), detailed.encode(utk_faces[1])
    swapped = detailed.swap(a.to_bytes(), b.to_bytes())
    assert swapped.declared_layers == ("basic", "middle") and swapped.codec_header == a.codec_header[:1]
    styles = [detailed.decode_styles([l.payload for l in s.layers[:2]]) for s in (a, b, swapped)]
    parts = detailed.model.entropy.layer_slices()
    assert torch.equal(styles[2][:, parts[0]], styles[0][:, parts[0]])
    assert torch.equal(styles[2][:, parts[1]], styles[1][:, parts[1]])
    decoded = detailed.decode(swapped.to_bytes())
    assert decoded.shape == utk_faces[0].shape
    with pytest.raises(BitstreamError, match="holds 2 of 3"):
        detailed.swap(a.truncate(2), b)
