"""The face codecs' `detail` layer (lamina.priors.detail) on the committed stylegan-scalable model: a fourth
layer after the three style layers, which leaves them untouched and moves the decoded face toward the original."""
from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina.bitstream import Bitstream, encode_varint
from lamina.errors import BitstreamError, InputError


@pytest.fixture(scope="module")
def codecs(data_root):
    return (lamina.load("stylegan-scalable", quality=3, detail_step=0.0),
            lamina.load("stylegan-scalable", quality=3, detail_step=1.0))


def test_detail_layer_is_a_fourth_layer_after_unchanged_style_layers(codecs, utk_faces):
    plain, detailed = codecs
    face = utk_faces[0]
    a, b = plain.encode(face), detailed.encode(face)
    assert a.declared_layers == ("basic", "middle", "enhanced")
    assert b.declared_layers == ("basic", "middle", "enhanced", "detail")
    assert [l.payload for l in b.layers[:3]] == [l.payload for l in a.layers]
    assert b.codec_header == encode_varint(3) + encode_varint(16)  # quality 3, step 16/16
    data = b.to_bytes()
    assert len(data) == len(a.to_bytes()) + len(b.layers[3].payload) + (len(b.header_bytes()) - len(a.header_bytes()))
    for k in (1, 2, 3):  # the style layers decode as without the detail layer, by either codec object
        assert np.array_equal(detailed.decode(data, layers=k), plain.decode(a.to_bytes(), layers=k))
        assert np.array_equal(plain.decode(data, layers=k), plain.decode(a.to_bytes(), layers=k))
    full = plain.decode(data)  # the step comes from the stream, not from the decoding object
    assert np.array_equal(full, detailed.decode(data))
    assert full.shape == face.shape and not np.array_equal(full, plain.decode(a.to_bytes()))
    cut = Bitstream.parse(data).truncate(3).to_bytes()
    assert np.array_equal(detailed.decode(cut), plain.decode(a.to_bytes()))


def test_detail_layer_improves_identity_landmarks_and_lpips(codecs, utk_faces):
    """On fixed faces the fourth layer brings every measure closer to the original (issue 23: every added layer
    must help; the three style layers of the current prior do not yet, docs/results/face-prior/)."""
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(("lpips_alex", "identity_dlib", "landmarks_dlib"))
    _, detailed = codecs
    three, four = [], []
    for face in utk_faces[:4]:
        ref = evaluator.reference(face)
        data = detailed.encode(face).to_bytes()
        three.append(evaluator.score(ref, detailed.decode(data, layers=3)))
        four.append(evaluator.score(ref, detailed.decode(data, layers=4)))
    for key in ("lpips_alex", "id_dlib_distance", "nme_dlib"):
        before, after = np.mean([s[key] for s in three]), np.mean([s[key] for s in four])
        assert after < before, (key, before, after)


def test_detail_step_and_header_errors(codecs, utk_faces):
    with pytest.raises(InputError):
        lamina.load("stylegan-scalable", quality=3, detail_step=0.3)  # not a multiple of 1/16
    with pytest.raises(InputError):
        lamina.load("stylegan-scalable", quality=3, detail_step=-1.0)
    plain, detailed = codecs
    stream = detailed.encode(utk_faces[0])
    no_step = Bitstream.parse(stream.to_bytes())
    no_step = Bitstream(no_step.codec, no_step.height, no_step.width, no_step.layers, model_id=no_step.model_id,
                        codec_header=encode_varint(3))
    with pytest.raises(BitstreamError, match="detail"):
        plain.decode(no_step.to_bytes())
    zero_step = Bitstream(no_step.codec, no_step.height, no_step.width, no_step.layers, model_id=no_step.model_id,
                          codec_header=encode_varint(3) + encode_varint(0))
    with pytest.raises(BitstreamError):
        plain.decode(zero_step.to_bytes())
