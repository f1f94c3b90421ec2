"""codebook-svr (seed 004): index coding round trips, real layered streams with the committed weights (indices
alone, indices + fidelity, the α knob, x^LQ alone), video with changed indices only, and errors on bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.bitstream import Bitstream
from lamina.cli import main
from lamina.codecs.codebook_svr.codec import lq_payload
from lamina.imageio import downsample, pad_to
from lamina.codecs.codebook_svr.indexcoding import (adaptive_probabilities, decode_adaptive, decode_indices,
                                                    encode_adaptive, encode_indices, fit_gmm, zigzag)
from lamina.codecs.codebook_svr.model import kmeans
from lamina.codecs.codebook_svr.temporal import TemporalIndexCoder, codeword_order
from lamina.codecs.codebook_svr.video import code_index_maps, decode_index_maps
from lamina.errors import BitstreamError, InputError
from lamina.metrics.pixel import psnr


@pytest.fixture(scope="module")
def codec():
    return lamina.load("codebook-svr", quality=1)


@pytest.fixture(scope="module")
def photo(data_root):
    from lamina.data.datasets import load_dataset
    image = load_dataset("kodak", root=data_root)[22].image()
    return np.ascontiguousarray(image[200:296, 300:428])   # 128 x 96, a multiple of 16


@pytest.fixture(scope="module")
def stream(codec, photo):
    return codec.encode(photo)


def test_zigzag_is_the_papers_mapping():
    assert zigzag(np.arange(6)).tolist() == [0, -1, 1, -2, 2, -3]


def test_static_and_adaptive_index_coders_round_trip():
    rng = np.random.default_rng(0)
    prior = np.linspace(2, 1, 64)
    prior /= prior.sum()
    indices = rng.choice(64, size=500, p=prior)
    assert np.array_equal(decode_indices(encode_indices(indices, prior), 500, prior), indices)
    assert np.array_equal(decode_adaptive(encode_adaptive(indices, prior), 500, prior), indices)
    # an image that uses few codewords costs far less under the adaptive model than log2(64) = 6 bits each
    few = rng.choice(4, size=500)
    assert len(encode_adaptive(few, prior)) * 8 / 500 < 2.6
    p = adaptive_probabilities(few, prior)
    assert p.shape == (500, 64) and np.allclose(p.sum(1), 1)


def test_index_payload_errors():
    prior = np.full(16, 1 / 16)
    payload = encode_adaptive(np.arange(16), prior)
    with pytest.raises(BitstreamError):
        decode_adaptive(payload[:-1], 16, prior)          # not whole words
    with pytest.raises(BitstreamError):
        decode_adaptive(payload + payload, 16, prior)     # data left over
    with pytest.raises(BitstreamError):
        decode_indices(b"\x01\x02\x03", 16, prior)


def test_gmm_is_a_distribution_close_to_the_histogram():
    counts = np.maximum(1, (1000 * np.exp(-np.arange(256) / 40))).astype(np.int64)
    p = fit_gmm(counts)
    assert p.shape == (256,) and abs(p.sum() - 1) < 1e-9
    q = counts / counts.sum()
    assert (q * np.log2(q / p)).sum() < 0.1   # KL below 0.1 bit per index


def test_kmeans_sorts_codewords_by_frequency():
    torch.manual_seed(0)
    x = torch.cat([torch.randn(600, 4) * 0.1, torch.randn(200, 4) * 0.1 + 5, torch.randn(50, 4) * 0.1 - 5])
    book, counts = kmeans(x, 3, iterations=10)
    assert counts.tolist() == [600, 200, 50]
    assert torch.allclose(book[1], torch.full((4,), 5.0), atol=0.1)


def test_layers_have_the_exact_payloads(codec, photo, stream):
    """Layer 1 = the adaptive-coded indices of the padded image; layer 2 = the LQ codec's payload of the padded
    image downsampled by the model's factor."""
    assert stream.declared_layers == ("indices", "fidelity")
    padded = pad_to(photo, codec.multiple)
    indices = codec.indices_of(padded).numpy()
    assert indices.shape == (1, 96 // 16, 128 // 16)
    assert stream.layers[0].payload == encode_adaptive(indices.ravel(), codec.model.index_probabilities())
    assert stream.layers[1].payload == lq_payload(codec.lq_codec, codec.lq_quality, downsample(padded, codec.factor))


def test_progressive_decoding_gains_quality_with_each_layer(codec, photo, stream):
    data = stream.to_bytes()
    one = codec.decode(Bitstream.parse(data).truncate(1).to_bytes())
    two = codec.decode(data)
    assert one.shape == two.shape == photo.shape
    assert psnr(photo, two) > psnr(photo, one) + 1.0
    # α = 0 is the codebook reconstruction exactly; α moves the image towards x^LQ's content
    assert np.array_equal(codec.decode(stream, alpha=0.0), one)
    half = codec.decode(stream, alpha=0.5)
    assert psnr(photo, one) < psnr(photo, half) < psnr(photo, two) + 0.5
    lq = codec.decode(stream, lq_only=True)
    assert lq.shape == photo.shape and psnr(photo, lq) > 18


def test_bad_alpha_and_lq_only_without_fidelity(codec, stream):
    with pytest.raises(InputError, match="alpha"):
        codec.decode(stream, alpha=1.5)
    with pytest.raises(InputError, match="fidelity"):
        codec.decode(stream.truncate(1), lq_only=True)


def test_foreign_and_corrupted_streams(codec, stream):
    other = lamina.load("codebook-svr", quality=max(lamina.load("codebook-svr").bench_grid()))
    if other.model_id != codec.model_id:
        with pytest.raises(BitstreamError, match="model id"):
            other.decode(stream.to_bytes())
    data = bytearray(stream.to_bytes())
    with pytest.raises(BitstreamError):
        codec.decode(bytes(data[:-40]))
    broken = Bitstream(stream.codec, stream.height, stream.width, stream.layers, model_id=stream.model_id,
                       codec_header=stream.codec_header + b"\x00")
    with pytest.raises(BitstreamError, match="header"):
        codec.decode(broken)


def test_tiny_input_is_refused(codec):
    with pytest.raises(InputError, match="at least"):
        codec.encode(np.zeros((8, 40, 3), np.uint8))


def test_cli_alpha_and_lq_only(tmp_path, photo, capsys):
    from PIL import Image
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    out = tmp_path / "s.lmn"
    assert main(["encode", str(src), "-o", str(out), "--codec", "codebook-svr", "--quality", "1"]) == 0
    assert main(["decode", str(out), "-o", str(tmp_path / "a.png"), "--alpha", "0.5"]) == 0
    assert main(["decode", str(out), "-o", str(tmp_path / "l.png"), "--lq-only"]) == 0
    capsys.readouterr()
    assert main(["decode", str(out), "-o", str(tmp_path / "b.png"), "--alpha", "2"]) == 2
    assert "alpha must be in [0, 1]" in capsys.readouterr().err
    jpeg = tmp_path / "j.lmn"
    assert main(["encode", str(src), "-o", str(jpeg), "--codec", "jpeg"]) == 0
    capsys.readouterr()
    assert main(["decode", str(jpeg), "-o", str(tmp_path / "c.png"), "--alpha", "0.5"]) == 2
    assert "applies to codebook-svr" in capsys.readouterr().err


def test_changed_index_coding_round_trips():
    rng = np.random.default_rng(1)
    prior = np.full(32, 1 / 32)
    maps = [rng.integers(0, 32, (6, 8))]
    for _ in range(3):
        nxt = maps[-1].copy()
        nxt[rng.random(nxt.shape) < 0.2] = rng.integers(0, 32)
        maps.append(nxt)
    maps.append(maps[-1].copy())  # a frame with no change at all
    payloads, unchanged = code_index_maps(maps, prior)
    assert 0.7 < unchanged < 0.9
    assert all(np.array_equal(a, b) for a, b in zip(decode_index_maps(payloads, (6, 8), prior), maps))
    assert len(payloads[-1]) < 8  # an unchanged frame costs its (all-zero) mask only


def _moving_maps(rng, codes: int, shape=(6, 8), frames: int = 5) -> list[np.ndarray]:
    """Index maps of a scene where a patch moves one block right per frame (what the temporal coder's candidates
    predict), a few other blocks change at random, and the last frame repeats."""
    maps = [rng.integers(0, codes, shape)]
    for _ in range(frames - 2):
        nxt = maps[-1].copy()
        y, x = rng.integers(0, shape[0] - 4), rng.integers(1, shape[1] - 4)
        nxt[y:y + 4, x:x + 4] = maps[-1][y:y + 4, x - 1:x + 3]
        noise = rng.random(shape) < 0.02
        nxt[noise] = rng.integers(0, codes, int(noise.sum()))
        maps.append(nxt)
    maps.append(maps[-1].copy())
    return maps


def test_codeword_order_is_by_distance_with_self_first():
    book = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [1.0, 0.0]])  # codewords 1 and 3 are equal
    order, place = codeword_order(book)
    assert order[0].tolist() == [0, 1, 3, 2]
    assert order[3].tolist() == [3, 1, 0, 2]  # itself first even on a tie at distance 0
    assert all(place[p, order[p, i]] == i for p in range(4) for i in range(4))


def test_temporal_index_coding_round_trips_and_beats_per_frame_coding():
    rng = np.random.default_rng(3)
    book = rng.normal(size=(64, 8))
    prior = np.full(64, 1 / 64)
    coder = TemporalIndexCoder(book, prior)
    maps = _moving_maps(rng, 64, (12, 16), frames=8)
    payload = coder.encode(maps)
    assert all(np.array_equal(a, b) for a, b in zip(coder.decode(payload, len(maps), (12, 16)), maps))
    old = sum(len(p) for p in code_index_maps(maps, prior)[0])
    assert len(payload) < 0.9 * old
    # one frame only, and every index changing every frame (the largest symbol places)
    assert np.array_equal(coder.decode(coder.encode(maps[:1]), 1, (12, 16))[0], maps[0])
    churn = [np.arange(192).reshape(12, 16) % 64, (np.arange(192).reshape(12, 16) + 7) % 64]
    assert all(np.array_equal(a, b) for a, b in zip(coder.decode(coder.encode(churn), 2, (12, 16)), churn))
    with pytest.raises(BitstreamError):
        coder.decode(payload[:-4], len(maps), (12, 16))
    with pytest.raises(BitstreamError):
        coder.decode(payload + b"\0", len(maps), (12, 16))


def test_video_round_trip_and_variable_frame_size(codec, photo):
    frames = [photo, np.roll(photo, 2, axis=1), np.roll(photo, 4, axis=1)]
    stats: dict = {}
    from lamina.codecs.codebook_svr.video import encode_video
    stream = encode_video(codec, frames, 25.0, stats)
    assert 0 <= stats["unchanged"] <= 1
    parsed = Bitstream.parse(stream.to_bytes())
    assert codec.video_info(parsed)["frames"] == 3
    assert codec.video_info(parsed)["index_coding"] == 1
    decoded = codec.decode_video(parsed)
    assert len(decoded) == 3 and all(d.shape == photo.shape for d in decoded)
    only = codec.decode_video(parsed, layers=1)
    assert psnr(frames[1], decoded[1]) > psnr(frames[1], only[1])
    with pytest.raises(InputError, match="variable frame sizes"):
        codec.encode_video([photo, photo[:80]], 25.0)


def test_video_streams_of_index_coding_0_still_decode(codec, photo):
    """Streams written before the temporal index coder (per-frame payloads, a 4-field codec header) decode to
    the same frames as the stream written now."""
    from lamina.bitstream import Layer, encode_varint, pack_payloads
    from lamina.codecs.codebook_svr.video import stable_index_maps
    frames = [photo, np.roll(photo, 3, axis=1)]
    plain = lamina.load("codebook-svr", quality=1, latent_smooth=0)
    new = Bitstream.parse(plain.encode_video(frames, 25.0).to_bytes())
    maps = stable_index_maps(codec, [pad_to(f, codec.multiple) for f in frames], codec.stable, codec.neighbours)
    payloads, _ = code_index_maps(maps, codec.model.index_probabilities())
    header = b"".join(encode_varint(v) for v in (codec.quality, 2, 25000, codec.lq_qp))
    old = Bitstream(codec.name, new.height, new.width, (Layer("indices", pack_payloads(payloads)), new.layers[1]),
                    model_id=new.model_id, kind=new.kind, codec_header=header)
    old = Bitstream.parse(old.to_bytes())
    assert codec.video_info(old)["index_coding"] == 0
    assert all(np.array_equal(a, b) for a, b in zip(codec.decode_video(old), codec.decode_video(new)))


def test_video_decodes_with_and_without_the_temporal_filter(codec, photo):
    from lamina.deflicker import deflicker
    frames = [photo, np.roll(photo, 2, axis=1), np.roll(photo, 4, axis=1)]
    stream = codec.encode_video(frames, 25.0)
    plain = codec.decode_video(stream, deflicker=0)
    # off by default (docs/results/video/talking-faces-deflicker/)
    assert all(np.array_equal(a, b) for a, b in zip(codec.decode_video(stream), plain))
    filtered = codec.decode_video(stream, deflicker=1.0)
    assert np.array_equal(plain[0], filtered[0])  # the first frame has no past
    assert any(not np.array_equal(a, b) for a, b in zip(plain[1:], filtered[1:]))
    assert all(np.array_equal(a, b) for a, b in zip(deflicker(plain, 1.0), filtered))
    with pytest.raises(InputError, match="deflicker"):
        codec.decode_video(stream, deflicker=-0.1)
    with pytest.raises(InputError, match="video"):
        codec.decode(codec.encode(photo), deflicker=0.5)


def test_temporal_index_decoder_on_forged_payloads_fails_cleanly():
    """Arbitrary bytes either decode to index maps in range or raise BitstreamError, never anything else."""
    rng = np.random.default_rng(5)
    coder = TemporalIndexCoder(rng.normal(size=(16, 4)), np.full(16, 1 / 16))
    real = coder.encode(_moving_maps(rng, 16, (6, 8), frames=4))
    for trial in range(300):
        if trial % 2:
            payload = rng.integers(0, 256, 4 * int(rng.integers(0, 12)), dtype=np.uint8).tobytes()
        else:
            forged = bytearray(real)
            forged[int(rng.integers(0, len(forged)))] ^= 1 << int(rng.integers(0, 8))
            payload = bytes(forged)
        try:
            maps = coder.decode(payload, 4, (6, 8))
        except BitstreamError:
            continue
        assert len(maps) == 4 and all(m.shape == (6, 8) and 0 <= m.min() and m.max() < 16 for m in maps)


def test_video_low_quality_frames_through_vvenc(codec, photo):
    """--lq-video vvenc: the header names the encoder (x265 streams with nothing after it keep the 5-field
    header), frames decode, and the QP range is the encoder's."""
    frames = [photo, np.roll(photo, 2, axis=1), np.roll(photo, 4, axis=1)]
    x265 = Bitstream.parse(codec.encode_video(frames, 25.0).to_bytes())
    vvc_codec = lamina.load("codebook-svr", quality=1, lq_video="vvenc", lq_qp=55)
    vvc = Bitstream.parse(vvc_codec.encode_video(frames, 25.0).to_bytes())
    assert codec.video_info(x265)["lq_video"] == "x265" and codec.video_info(vvc)["lq_video"] == "vvenc"
    assert len(vvc.codec_header) == len(x265.codec_header) + 1
    smoothed = lamina.load("codebook-svr", quality=1, latent_smooth=0.5).encode_video(frames, 25.0)
    assert len(smoothed.codec_header) == len(x265.codec_header) + 2  # x265's field (0), then the smoothing
    assert vvc.layers[0].payload == x265.layers[0].payload  # the same indices, another LQ stream
    decoded = codec.decode_video(vvc)
    assert len(decoded) == 3 and psnr(frames[1], decoded[1]) > psnr(frames[1], codec.decode_video(vvc, layers=1)[1])
    with pytest.raises(InputError, match="0..51"):
        lamina.load("codebook-svr", quality=1, lq_qp=55)
    with pytest.raises(InputError, match="lq-video"):
        lamina.load("codebook-svr", quality=1, lq_video="av1")


def test_changed_blocks_move_to_a_cheap_candidate_only_within_the_tolerance():
    from lamina.codecs.codebook_svr.video import prefer_candidates
    book = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.2, 0.0], [5.0, 5.0]])
    previous = np.array([[3, 3]])
    # block 0 is nearest codeword 1; block 1 (x = 1.25) is nearest codeword 2, with codeword 1 (block 0's, its
    # causal left neighbour: a coding candidate) at squared distance 0.0625 against 0.0025 for the nearest
    vectors = torch.tensor([[1.0, 0.0], [1.25, 0.0]])
    current = np.array([[1, 2]])
    assert prefer_candidates(vectors, book, current, previous, 1.0).tolist() == [[1, 2]]   # 0.0625 > 2 x 0.0025
    assert prefer_candidates(vectors, book, current, previous, 30.0).tolist() == [[1, 1]]  # within 31 x 0.0025
    # an unchanged block stays, whatever the tolerance
    assert prefer_candidates(vectors, book, np.array([[3, 2]]), previous, 30.0).tolist() == [[3, 2]]


def test_stable_neighbours_codes_fewer_bytes_and_is_range_checked(photo):
    with pytest.raises(InputError, match="stable-neighbours"):
        lamina.load("codebook-svr", quality=1, neighbours=1.5)
    frames = [photo, np.roll(photo, 3, axis=1), np.roll(photo, 6, axis=1)]
    plain = lamina.load("codebook-svr", quality=1, neighbours=0.0).encode_video(frames, 25.0)
    cheap = lamina.load("codebook-svr", quality=1, neighbours=1.0).encode_video(frames, 25.0)
    assert len(cheap.layers[0].payload) < len(plain.layers[0].payload)
    assert cheap.layers[1].payload == plain.layers[1].payload  # the fidelity frames do not change


def test_latent_smoothing_is_written_in_the_stream_and_only_changes_the_decoder_side(codec, photo):
    """--latent-smooth B: the header carries B (1/16 units); the coded indices and fidelity frames are the same
    bytes as without; the decoded frames change only where a block kept its index (frame 0 is never smoothed),
    and the first frame-to-frame change shrinks; out-of-range values are refused."""
    frames = [photo, np.roll(photo, 2, axis=1), np.roll(photo, 2, axis=1)]
    off = lamina.load("codebook-svr", quality=1, latent_smooth=0)
    on = lamina.load("codebook-svr", quality=1, latent_smooth=0.5)
    a, b = (Bitstream.parse(c.encode_video(frames, 25.0).to_bytes()) for c in (off, on))
    assert codec.video_info(a)["latent_smooth"] == 0 and codec.video_info(b)["latent_smooth"] == 0.5
    assert [layer.payload for layer in a.layers] == [layer.payload for layer in b.layers]
    plain, smooth = codec.decode_video(a), codec.decode_video(b)
    assert np.array_equal(plain[0], smooth[0]) and not np.array_equal(plain[1], smooth[1])
    change = lambda d: np.abs(d[1].astype(int) - d[0].astype(int)).mean()  # noqa: E731
    assert change(smooth) < change(plain)
    with pytest.raises(InputError, match="latent-smooth"):
        lamina.load("codebook-svr", quality=1, latent_smooth=1.0)
