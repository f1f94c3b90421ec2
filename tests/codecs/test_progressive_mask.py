"""progressive-mask (seed 001, RMPGC): the block-adaptive arithmetic coder, Otsu / importance / mask pieces,
Grad-CAM++, real layered streams with the committed weights (exact layer contents, every prefix decodes, quality
grows with layers), rate control (--bpp hits the request from below; unreachable rates name the range) and errors
on bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.bitstream import Bitstream
from lamina.cli import main
from lamina.codecs.progressive_mask.codec import MASK_FRACTIONS, MULTIPLE
from lamina.codecs.progressive_mask.model import BASE, CHANNELS, LEVELS, importance, otsu, quantize, top_mask
from lamina.entropy import adaptive
from lamina.errors import BitstreamError, InputError
from lamina.metrics.pixel import psnr


@pytest.fixture(scope="module")
def codec():
    return lamina.load("progressive-mask", quality=4)


@pytest.fixture(scope="module")
def photo(data_root):
    from lamina.data.datasets import load_dataset
    return load_dataset("imagenette-test", root=data_root)[0].image()   # 224 x 224, a tench


@pytest.fixture(scope="module")
def stream(codec, photo):
    return codec.encode(photo)


def test_adaptive_coder_round_trips_segments_of_any_alphabet():
    rng = np.random.default_rng(0)
    segments = [(rng.choice(5, size=300, p=[.05, .2, .5, .2, .05]), 5), (rng.integers(0, 2, 77), 2),
                (np.zeros(0, dtype=int), 5), (rng.integers(0, 31, 1000), 31)]
    payload = adaptive.encode(segments)
    out = adaptive.decode(payload, [(len(s), a) for s, a in segments])
    assert all(np.array_equal(s, o) for (s, _), o in zip(segments, out))
    # a peaked source costs less than its uniform log2(5) = 2.32 bits per symbol
    peaked = rng.choice(5, size=2000, p=[.02, .08, .8, .08, .02])
    assert len(adaptive.encode([(peaked, 5)])) * 8 / 2000 < 1.2
    reader = adaptive.SegmentDecoder(payload)
    assert np.array_equal(reader.segment(300, 5), segments[0][0])   # segment by segment gives the same


def test_adaptive_coder_errors():
    payload = adaptive.encode([(np.arange(5).repeat(20), 5)])
    with pytest.raises(BitstreamError):
        adaptive.decode(payload[:-1], [(100, 5)])            # not whole words
    with pytest.raises(ValueError):
        adaptive.encode([(np.array([5]), 5)])                # symbol outside the alphabet


def test_quantizer_levels_and_soft_gradient():
    z = torch.linspace(-3.5, 3.5, 29, requires_grad=True)
    q = quantize(z, soft=True)
    assert set(q.detach().tolist()) <= set(LEVELS)
    assert torch.equal(q.detach(), quantize(z.detach()))
    q.sum().backward()
    assert z.grad.abs().sum() > 0


def test_otsu_importance_and_top_mask():
    values = np.concatenate([np.full(50, 0.1), np.full(30, 0.9)])
    assert 0.1 < otsu(values) < 0.9
    sim = np.zeros((4, 4))
    sim[1:3, 1:3] = 1.0
    lcm = np.arange(16, dtype=float).reshape(4, 4)
    score = importance(sim, lcm)
    salient = sim > 0.5
    assert score[salient].min() > score[~salient].max()          # salient positions always rank first
    assert np.array_equal(top_mask(score, 4), salient)
    assert top_mask(score, 7).sum() == 7
    assert np.array_equal(importance(sim, lcm, "lcm"), lcm)      # VRGC: complexity alone


def test_gradcam_pp_peaks_on_the_object(photo):
    from lamina.vision.classify import gradcam_pp
    cam, label = gradcam_pp(photo)
    assert cam.shape == (7, 7) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert label == 0                                             # tench
    assert cam[3:6, 1:5].mean() > 2 * cam[0:2].mean()             # the fish, not the background


def test_layers_are_exact(codec, stream, photo):
    h, w = photo.shape[:2]
    positions = (-(-h // MULTIPLE) * 2) * (-(-w // MULTIPLE) * 2)
    assert [layer.name for layer in stream.layers] == ["base", "mask", "rest", "residual-coarse", "residual-fine"]
    assert all(len(layer.payload) > 0 for layer in stream.layers)
    base = adaptive.decode(stream.layers[0].payload, [(positions, 5)] * BASE)
    assert len(base) == BASE
    reader = adaptive.SegmentDecoder(stream.layers[1].payload)
    mask = reader.segment(positions, 2)
    assert mask.sum() == round(positions * MASK_FRACTIONS[4])
    for _ in range(CHANNELS - BASE):
        reader.segment(int(mask.sum()), 5)
    reader.finish()
    adaptive.decode(stream.layers[2].payload, [(positions - int(mask.sum()), 5)] * (CHANNELS - BASE))


def test_every_prefix_decodes_and_quality_grows(codec, stream, photo):
    sizes, scores = [], []
    for k in range(1, 6):
        data = stream.truncate(k).to_bytes()
        decoded = codec.decode(data, layers=k)
        assert decoded.shape == photo.shape
        sizes.append(len(data))
        scores.append(psnr(photo, decoded))
    assert sizes == sorted(sizes)
    assert scores[0] < scores[2] < scores[3] < scores[4]           # base < full latent < + residual layers


def test_rate_control_hits_requests_from_below(photo):
    codec = lamina.load("progressive-mask", bpp=0.1)
    rates = []
    for target in (0.08, 0.1, 0.14):
        codec.bpp = target
        data = codec.encode(photo).to_bytes()
        achieved = 8 * len(data) / (photo.shape[0] * photo.shape[1])
        assert achieved <= target and achieved > 0.9 * target
        assert codec.encode_note().startswith(f"rate control: requested {target:g} bpp")
        rates.append(codec.last_rate_control["S"])
    assert rates == sorted(rates) and rates[0] < rates[-1]


def test_unreachable_rates_name_the_range(photo):
    for target in (0.001, 50.0):
        with pytest.raises(InputError, match=r"reachable range \d\.\d+-\d\.\d+ bpp"):
            lamina.load("progressive-mask", bpp=target).encode(photo)


def test_cli_bpp_and_bad_input(tmp_path, photo, capsys):
    from PIL import Image
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    out = tmp_path / "s.lmn"
    assert main(["encode", str(src), "--codec", "progressive-mask", "--bpp", "0.12", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "progressive-mask --bpp 0.12," in printed and "q=" not in printed and "achieved" in printed
    assert main(["encode", str(src), "--codec", "progressive-mask", "--bpp", "0.0001", "-o", str(out)]) == 2
    assert "reachable range" in capsys.readouterr().err
    assert main(["encode", str(src), "--codec", "progressive-mask", "--quality", "9", "-o", str(out)]) == 2


def test_corrupted_and_foreign_streams(codec, stream):
    with pytest.raises(BitstreamError):
        Bitstream.parse(stream.to_bytes()[:-7])
    layers = list(stream.layers)
    layers[1] = type(layers[1])(layers[1].name, layers[1].payload[:-4])
    broken = Bitstream(stream.codec, stream.height, stream.width, tuple(layers), model_id=stream.model_id,
                       codec_header=stream.codec_header)
    with pytest.raises(BitstreamError):
        codec.decode(broken.to_bytes())
    foreign = Bitstream(stream.codec, stream.height, stream.width, stream.layers, model_id=bytes(8),
                        codec_header=stream.codec_header)
    with pytest.raises(BitstreamError):
        codec.decode(foreign.to_bytes())
