"""feature-texture: real feature + texture layers from bytes with the committed weights, feature decoding
without pixels, the verification protocol, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina.bitstream import Bitstream
from lamina.codecs.feature_texture import nets
from lamina.codecs.feature_texture.codec import (
    FeatureTexture,
    denormalise_residual,
    normalise_residual,
    residual_qualities,
)
from lamina.errors import BitstreamError, InputError
from lamina.metrics.pixel import psnr


@pytest.fixture(scope="module")
def celeba_face(data_root):
    from lamina.data.datasets import load_dataset
    return load_dataset("celeba-test", root=data_root, limit=1)[0].image()


@pytest.fixture(scope="module")
def codec():
    return FeatureTexture(quality=residual_qualities()[0])


@pytest.fixture(scope="module")
def stream(codec, celeba_face):
    return codec.encode(celeba_face)


def test_satd_of_a_constant_difference_is_its_dc_coefficient():
    a = torch.zeros(1, 3, 8, 8)
    assert float(nets.satd(a, a)) == 0.0
    # Orthonormal 4x4 Hadamard: a constant difference d has one coefficient 4d per block, mean d/4.
    assert float(nets.satd(a + 0.2, a)) == pytest.approx(0.05, abs=1e-7)
    # Orthonormal: the sum of squared coefficients equals the sum of squared differences (Parseval).
    d = torch.randn(1, 1, 4, 4)
    h = nets._hadamard4()
    assert torch.allclose((h @ d[0, 0] @ h.T).pow(2).sum(), d.pow(2).sum(), atol=1e-5)


def test_fixed_crop_matches_the_sphereface_template():
    # The framing points land on the template under the crop transform (inverse check via the grid).
    # A least-squares similarity over five points (read at the nearest grid pixel): eyes within 1.5% of the
    # side, every point within 4%.
    from lamina.nn import mobilefacenet
    grid = mobilefacenet._crop_grid(256, 256)[0].numpy()
    errors = []
    for (fx, fy), (tx, ty) in zip(mobilefacenet.FRAMING_POINTS5, mobilefacenet.TEMPLATE_112x96):
        gx, gy = grid[int(round(ty)), int(round(tx))]
        errors.append(np.hypot((gx + 1) / 2 - fx, (gy + 1) / 2 - fy))
    assert max(errors[:2]) < 0.015 and max(errors) < 0.04, errors


def test_residual_normalisation_inverts_exactly():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    base = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    x_enh, low, high = normalise_residual(image, base)
    assert x_enh.min() == 0.0 and x_enh.max() == 1.0
    back = np.round(base + denormalise_residual(x_enh, low, high))
    assert np.array_equal(back.astype(np.uint8), image)


def test_two_layers_round_trip_and_quality_grows(codec, stream, celeba_face):
    data = stream.to_bytes()
    parsed = Bitstream.parse(data)
    assert parsed.declared_layers == ("feature", "texture")
    assert [len(layer.payload) for layer in parsed.layers] == [s for _, s in stream.layer_sizes()]
    feature_bytes = len(parsed.layers[0].payload)
    assert 5 <= feature_bytes <= 120, feature_bytes  # a compact feature: tens of bytes
    base = codec.decode(data, layers=1)
    full = codec.decode(data)
    assert base.shape == full.shape == celeba_face.shape
    # The truncated stream decodes to exactly the same base image.
    assert np.array_equal(codec.decode(parsed.truncate(1).to_bytes()), base)
    assert psnr(celeba_face, full) > psnr(celeba_face, base) + 3
    assert psnr(celeba_face, base) > 14  # x_base is a face-like texture, not noise


def test_decoding_is_deterministic_and_matches_the_encoder(codec, stream):
    again = codec.encode(codec.decode(stream.to_bytes(), layers=2))
    assert len(again.to_bytes()) > 0
    assert np.array_equal(codec.decode(stream.to_bytes()), codec.decode(stream.to_bytes()))


def test_feature_decodes_without_any_image_network(codec, stream, celeba_face, monkeypatch):
    raw = codec.extract(celeba_face)
    calls = []
    for module in (codec.model.generator, codec.model.extractor, codec.residual_network):
        monkeypatch.setattr(module, "forward", lambda *a, **k: calls.append(1))
    feature = codec.decode_feature(stream.truncate(1).to_bytes())
    assert not calls
    assert feature.shape == (128,) and abs(np.linalg.norm(feature) - 1) < 1e-5
    assert float(feature @ raw) > 0.9  # the decoded feature is close to the raw one


def test_every_feature_quality_round_trips_and_rate_grows(celeba_face):
    from lamina.codecs.feature_texture.codec import _model, weights_file
    sizes = []
    for q in sorted(_model(str(weights_file()), "cpu").codecs):
        c = FeatureTexture(feature_quality=q, residual="jpeg", quality=10)
        s = c.encode(celeba_face)
        sizes.append(len(s.layers[0].payload))
        assert c.decode(s.to_bytes()).shape == celeba_face.shape
    assert sizes[0] < sizes[1] and sizes[0] < sizes[-1]  # λ1 = 1e-3 codes the fewest bytes


@pytest.mark.parametrize("residual", ["jpeg", "jpeg2000", "heic"])
def test_classic_residual_codecs(residual, celeba_face):
    c = FeatureTexture(residual=residual)
    s = c.encode(celeba_face)
    full = c.decode(s.to_bytes())
    assert psnr(celeba_face, full) > psnr(celeba_face, c.decode(s.to_bytes(), layers=1))


def test_model_mismatch_and_header_mismatch_are_refused(celeba_face):
    from lamina.registry import load_for_stream
    a = FeatureTexture(feature_quality=1, residual="jpeg", quality=10)
    b = FeatureTexture(feature_quality=2, residual="jpeg", quality=10)
    stream = a.encode(celeba_face)
    with pytest.raises(BitstreamError, match="model id mismatch"):
        b.decode(stream.to_bytes())
    # A stream naming a model lamina does not have.
    forged = Bitstream(stream.codec, stream.height, stream.width, stream.layers, model_id=b"\x01" * 8,
                       codec_header=stream.codec_header)
    with pytest.raises(BitstreamError, match="model id mismatch"):
        load_for_stream(Bitstream.parse(forged.to_bytes()))
    assert load_for_stream(stream).feature_quality == 1


def test_bad_residual_names_and_qualities():
    with pytest.raises(InputError, match="unknown residual codec"):
        FeatureTexture(residual="bpg")
    with pytest.raises(InputError, match="feature quality"):
        FeatureTexture(feature_quality=99)
    with pytest.raises(InputError, match="residual quality"):
        FeatureTexture(quality=99)


def test_corrupted_texture_range_is_an_error(codec, stream):
    from lamina.bitstream import Layer
    bad = Bitstream(stream.codec, stream.height, stream.width,
                    (stream.layers[0], Layer("texture", b"\xff\x07" + stream.layers[1].payload[2:])),
                    model_id=stream.model_id, codec_header=stream.codec_header)
    with pytest.raises(BitstreamError):
        codec.decode(bad.to_bytes())


def test_cli_feature_decode_and_errors(tmp_path, celeba_face, capsys):
    from PIL import Image

    from lamina.cli import main
    src = tmp_path / "face.png"
    Image.fromarray(celeba_face).save(src)
    lmn = tmp_path / "face.lmn"
    assert main(["encode", str(src), "-o", str(lmn), "--codec", "feature-texture", "--residual", "jpeg",
                 "--quality", "10"]) == 0
    assert main(["decode", str(lmn), "--layers", "1", "--feature", "-o", str(tmp_path / "f.npy")]) == 0
    feature = np.load(tmp_path / "f.npy")
    assert feature.shape == (128,) and feature.dtype == np.float32
    assert main(["decode", str(lmn), "--feature", "-o", str(tmp_path / "f.png")]) == 2
    assert main(["decode", str(lmn), "--layers", "2", "--feature", "-o", str(tmp_path / "g.npy")]) == 2
    jpeg = tmp_path / "j.lmn"
    assert main(["encode", str(src), "-o", str(jpeg), "--codec", "jpeg"]) == 0
    capsys.readouterr()
    assert main(["decode", str(jpeg), "--feature", "-o", str(tmp_path / "h.npy")]) == 2
    assert "no feature layer" in capsys.readouterr().err
    assert main(["encode", str(src), "-o", str(tmp_path / "x.lmn"), "--codec", "feature-texture",
                 "--residual", "bpg"]) == 2
    assert "unknown residual codec" in capsys.readouterr().err
    assert main(["encode", str(src), "-o", str(tmp_path / "y.lmn"), "--codec", "jpeg", "--residual", "jpeg"]) == 2
    assert not (tmp_path / "h.npy").exists() and not (tmp_path / "x.lmn").exists()


def test_verification_pairs_are_balanced_and_held_out(data_root):
    from lamina.data.datasets import load_dataset
    from lamina.data.pairs import build_pairs, held_out_identities, load_pairs
    rows = load_pairs()
    assert rows == build_pairs(root=data_root)  # the committed list is the one the code builds
    assert len(rows) == 1200 and len({(a, b) for _, a, b, _ in rows}) == 1200
    identity = {item.name: item.identity for item in load_dataset("celeba-test", root=data_root)}
    held = held_out_identities(data_root)
    for fold in range(10):
        part = [r for r in rows if r[0] == fold]
        assert sum(r[3] for r in part) == 60 and len(part) == 120
    for _, a, b, same in rows:
        assert identity[a] in held and identity[b] in held
        assert (identity[a] == identity[b]) == bool(same)


def test_verification_accuracy_protocol():
    from lamina.data.pairs import verification_accuracy
    rng = np.random.default_rng(0)
    ids = {f"{i}": rng.normal(size=8) for i in range(40)}
    rows = [(k % 10, f"{k}", f"{k}", 1) for k in range(20)] + [(k % 10, f"{k}", f"{k + 20}", 0) for k in range(20)]
    assert verification_accuracy(ids, rows)[0] == 1.0
    flipped = [(f, a, b, 1 - s) for f, a, b, s in rows]
    assert verification_accuracy(ids, flipped)[0] <= 0.5
