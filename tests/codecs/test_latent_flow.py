"""latent-flow (seed 002): the RealNVP flow, the Irwin-Hall residual model, real image streams decoded layer by
layer, video in open and closed loop, and errors on foreign streams, bad GOPs and variable frame sizes. A small
randomly perturbed flow (2 couplings) on the committed face prior keeps it fast."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lamina.bitstream import Bitstream
from lamina.codecs.latent_flow.codec import LatentFlow
from lamina.codecs.latent_flow.flow import RealNVP
from lamina.codecs.latent_flow import residual as residual_model
from lamina.codecs.latent_flow.irwin_hall import decode_residual, encode_residual, entropy_bits, residual_pmf
from lamina.codecs.latent_flow.model import load_model, new_model, save_model, stage_weights
from lamina.codecs.latent_flow.video import code_proxies, decode_proxies
from lamina.errors import BitstreamError, InputError


def _perturbed(seed: int, per_stage: bool = False):
    torch.manual_seed(seed)
    model = new_model(couplings=2, per_stage=per_stage)
    model.init_entropy_from_prior()
    with torch.no_grad():
        for flow in model.flows:
            for net in list(flow.scale) + list(flow.shift):
                net[4].weight.normal_(0, 0.02)
    return model


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("zoo") / "latent-flow-q1.pt"
    save_model(_perturbed(0), path)
    return path


@pytest.fixture(scope="module")
def codec(weights):
    # video in the first frame's framing: these clips alternate faces (test_reframe.py covers --reframe); images
    # without geometry increments in front of the payloads (test_geometry.py covers them)
    return LatentFlow(quality=1, weights=weights, reframe="off", geometry="off")


def test_flow_is_invertible_and_starts_as_the_identity():
    torch.manual_seed(0)
    flow = RealNVP(128, couplings=13)
    x = torch.randn(4, 6, 128) * 3
    assert torch.equal(flow(x), x)  # zero-initialised last layers: T = identity
    # the paper's design at lamina's style width: 13 couplings x 2 nets x 3 Linear(128, 128)
    assert sum(p.numel() for p in flow.parameters()) == 13 * 2 * 3 * (128 * 128 + 128)
    for p in flow.parameters():
        torch.nn.init.normal_(p, std=0.05)
    y = flow(x)
    assert (y - x).abs().mean() > 0.1
    assert torch.allclose(flow.inverse(y), x, atol=1e-4)


def test_irwin_hall_pmf_matches_the_lemma():
    low, p = residual_pmf(3)  # g = 1: P(0) = 3/4, P(±1) = 1/8
    assert low == -2 and np.allclose(p, [0, 0.125, 0.75, 0.125, 0])
    low, p = residual_pmf(12)  # g = 10: the density of a sum of 12 U(-1/2, 1/2), by numerical convolution
    step = 1 / 400
    box = np.ones(400) * step
    density = box / step
    for _ in range(11):
        density = np.convolve(density, box)
    grid = (np.arange(len(density)) - (len(density) - 1) / 2) * step
    for j in (0, 1, 2, 3):
        assert math.isclose(p[j - low], float(np.interp(j, grid, density)), abs_tol=2e-3)
    assert math.isclose(p[-low], 0.394, abs_tol=1e-3) and math.isclose(p[1 - low], 0.244, abs_tol=1e-3)
    for n in (3, 4, 12, 30):
        assert math.isclose(residual_pmf(n)[1].sum(), 1.0, abs_tol=1e-9)
    assert math.isclose(entropy_bits(3), 1.061, abs_tol=1e-3) and math.isclose(entropy_bits(12), 2.047, abs_tol=1e-3)


def test_residual_coder_round_trips_any_integer():
    values = np.random.default_rng(0).integers(-3, 4, size=768)
    values[5], values[6] = 200, -500  # outside the table: escaped
    for n in (3, 12):
        assert np.array_equal(decode_residual(encode_residual(values, n), len(values), n), values)
    # the fixed pmf prices zeros: 768 zeros cost about 768 x -log2 P(0) bits
    zeros = encode_residual(np.zeros(768, dtype=int), 12)
    assert len(zeros) < 768 * -math.log2(0.394) / 8 + 16


def test_adaptive_residual_model_round_trips_and_prices_the_real_peak():
    rng = np.random.default_rng(1)
    gop = 10
    a = residual_model.half_width(gop)
    assert a == 6
    peaked = np.where(rng.random(768) < 0.9, 0, rng.choice([-2, -1, 1, 2], 768))  # ~90% zeros, as on real clips
    spread = rng.integers(-a, a + 1, 768)
    for values in (peaked, spread, np.zeros(5, dtype=int)):
        data = residual_model.encode(values, gop, "adaptive")
        assert np.array_equal(residual_model.decode(data, len(values), gop, "adaptive"), values)
    # far fewer bytes than the paper's fixed pmf on peaked residuals; not much worse on spread ones
    assert len(residual_model.encode(peaked, gop, "adaptive")) < 0.5 * len(encode_residual(peaked, gop + 2))
    assert len(residual_model.encode(spread, gop, "adaptive")) < 1.2 * len(encode_residual(spread, gop + 2))
    # values beyond what g + 2 roundings can build up are clamped (both sides then use the clamped value)
    wild = np.array([0, 40, -40, 3])
    assert residual_model.representable(wild, gop, "adaptive").tolist() == [0, 6, -6, 3]
    assert residual_model.representable(wild, gop, "irwin-hall").tolist() == wild.tolist()
    with pytest.raises(ValueError):
        residual_model.encode(wild, gop, "adaptive")
    with pytest.raises(BitstreamError):
        residual_model.decode(residual_model.encode(peaked, gop, "adaptive")[:-4], 768, gop, "adaptive")
    with pytest.raises(InputError, match="residual model"):
        residual_model.check("laplace")


def test_stage_weights_decay_to_one_hundredth():
    w = stage_weights((2, 2, 2), per_stage=True)
    assert w[:2].tolist() == [1.0, 1.0] and math.isclose(float(w[-1]), 0.01, abs_tol=1e-6)
    assert torch.all(w[1:] <= w[:-1])
    assert torch.equal(stage_weights((2, 2, 2), per_stage=False), torch.ones(6))


def test_three_layers_decode_progressively(codec, face):
    stream = LatentFlow(quality=1, weights=codec.weights, detail_step=0, geometry="off").encode(face)  # the paper's
    assert stream.declared_layers == ("basic", "middle", "enhanced")
    styles = codec.styles_of(face)
    payloads = codec.model.compress(styles)
    assert [size for _, size in stream.layer_sizes()] == [len(p) for p in payloads]
    default = codec.encode(face)  # the default: `enhanced` is the detail residual, `detail` the fine residual
    assert default.declared_layers == ("basic", "middle", "enhanced", "detail") and default.layers[:2] == stream.layers[:2]
    data = stream.to_bytes()
    images = [codec.decode(data, layers=k) for k in (1, 2, 3)]
    assert all(im.shape == face.shape for im in images)
    for k in (1, 2):  # the first k payloads decode the first k layers
        assert np.array_equal(codec.decode(Bitstream.parse(data).truncate(k).to_bytes()), images[k - 1])
    # more layers, closer to the prior's projection G(E(x))
    projected = codec.render(styles, 3, *face.shape[:2]).astype(float)
    errors = [np.abs(im.astype(float) - projected).mean() for im in images]
    assert errors[2] < errors[0]


def test_decoded_styles_are_the_inverse_flow_of_the_decoded_proxies(codec, face):
    styles = codec.styles_of(face)
    proxies = codec.model.decompress_proxies(codec.model.compress(styles))
    paper = LatentFlow(quality=1, weights=codec.weights, detail_step=0, geometry="off")  # the three style groups
    decoded = codec.decode_proxies([l.payload for l in paper.encode(face).layers])
    assert len(decoded) == len(proxies) == 3 and all(torch.equal(a, b) for a, b in zip(proxies, decoded))
    error = (codec.model.from_proxy(decoded) - styles).abs().max()
    assert 0 < error < 5  # rounding in the proxy space, mapped back through T⁻¹


def test_foreign_streams_are_refused(codec, face, tmp_path):
    other = tmp_path / "latent-flow-q1.pt"
    save_model(_perturbed(1), other)
    stream = LatentFlow(quality=1, weights=other).encode(face)
    with pytest.raises(BitstreamError, match="model id"):
        codec.decode(stream.to_bytes())


def test_a_model_fitted_on_another_prior_is_refused(weights, tmp_path):
    from lamina import zoo
    model, _ = load_model(weights)
    model.config = dict(model.config, prior_id="0123456789abcdef")
    path = tmp_path / "latent-flow-q1.pt"
    save_model(model, path)
    with pytest.raises(InputError, match="face prior 0123456789abcdef"):
        load_model(path)
    assert zoo.load(path, "latent-flow").config["prior_id"] == "0123456789abcdef"


def test_per_stage_model_round_trips(tmp_path, face):
    path = tmp_path / "latent-flow-q2.pt"
    save_model(_perturbed(2, per_stage=True), path)
    model, _ = load_model(path)
    assert len(model.flows) == 3 and model.config["per_stage"]
    codec = LatentFlow(quality=2, weights=path)
    assert codec.decode(codec.encode(face).to_bytes()).shape == face.shape


@pytest.mark.parametrize("loop,residual", [("open", "adaptive"), ("open", "irwin-hall"), ("closed", "adaptive")])
def test_video_round_trip(codec, utk_faces, loop, residual):
    frames = [utk_faces[i % 2] for i in range(7)]  # two alternating faces: large differences
    stream = codec.encode_video(frames, 25.0, gop=3, loop=loop, residual_model=residual)
    data = stream.to_bytes()
    info = codec.video_info(Bitstream.parse(data))
    assert info["loop"] == loop and info.get("residual") == (residual if loop == "open" else None)
    decoded = codec.decode_video(data)
    assert len(decoded) == 7 and decoded[0].shape == frames[0].shape
    # the decoder rebuilds exactly the encoder's latents
    proxies = [codec.model.to_proxy(codec.styles_of(f)) for f in frames]
    payloads, expected, residuals = code_proxies(codec.model, proxies, 3, loop, residual)
    rebuilt = decode_proxies(codec.model, payloads, 7, 3, loop, residual)
    assert all(torch.equal(a, b) for ea, eb in zip(expected, rebuilt) for a, b in zip(ea, eb))
    assert len(residuals) == (2 if loop == "open" else 0)  # anchors at frames 3 and 6
    if loop == "closed":  # no drift: every frame within rounding of its own latent
        for ys, ys_hat in zip(proxies[1:], expected[1:]):
            assert all((y - y_hat).abs().max() <= 0.5 + 1e-4 for y, y_hat in zip(ys, ys_hat))
    assert len(codec.decode_video(data, layers=1)) == 7
    assert codec.video_fps(Bitstream.parse(data)) == 25.0


def test_video_refuses_bad_gop_and_variable_frame_size(codec, utk_faces):
    frames = [utk_faces[0], utk_faces[1]]
    for gop in (0, -2):
        with pytest.raises(InputError, match="GOP"):
            codec.encode_video(frames, 25.0, gop=gop)
    small = utk_faces[1][:100, :100]
    with pytest.raises(InputError, match="variable frame sizes"):
        codec.encode_video([utk_faces[0], small], 25.0, gop=2)


def test_cli_video_with_gop_and_bad_gop(weights, utk_faces, tmp_path, monkeypatch, capsys):
    from lamina import zoo
    from lamina.cli import main
    from lamina.video import read_video, write_video
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "latent-flow-q1.pt").symlink_to(weights)
    (tmp_path / "zoo" / "face-prior.pt").symlink_to(zoo.path("face-prior"))
    monkeypatch.setattr(zoo, "ROOT", tmp_path / "zoo")
    clip = tmp_path / "clip.mp4"
    write_video(clip, [utk_faces[i % 2] for i in range(5)], 25.0)
    lmn, out = tmp_path / "clip.lmn", tmp_path / "out.mp4"
    assert main(["encode", str(clip), "-o", str(lmn), "--codec", "latent-flow", "--gop", "2"]) == 0
    capsys.readouterr()
    assert main(["info", str(lmn)]) == 0
    assert "frames:    5 at 25 fps (0.20 s); gop 2, loop open" in capsys.readouterr().out
    assert main(["decode", str(lmn), "-o", str(out), "--layers", "2"]) == 0
    assert len(read_video(out)[0]) == 5
    for bad in (["--gop", "0"], ["--gop", "-1"]):
        assert main(["encode", str(clip), "-o", str(tmp_path / "bad.lmn"), "--codec", "latent-flow", *bad]) == 2
        assert not (tmp_path / "bad.lmn").exists()


def test_adaptive_residual_decoder_on_forged_payloads_fails_cleanly():
    rng = np.random.default_rng(6)
    real = residual_model.encode(np.where(rng.random(256) < 0.9, 0, 1), 10, "adaptive")
    for trial in range(200):
        forged = bytearray(real if trial % 2 else rng.integers(0, 256, 4 * int(rng.integers(0, 8)), dtype=np.uint8))
        if forged and trial % 2:
            forged[int(rng.integers(0, len(forged)))] ^= 1 << int(rng.integers(0, 8))
        try:
            values = residual_model.decode(bytes(forged), 256, 10, "adaptive")
        except BitstreamError:
            continue
        assert len(values) == 256 and np.abs(values).max() <= residual_model.half_width(10)
