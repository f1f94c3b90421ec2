"""Learned baselines: real rANS bytes, round trips, model ids, bad checkpoints."""
import json

import numpy as np
import pytest
import torch

from lamina.bitstream import Bitstream
from lamina import zoo
from lamina.codecs.hyperprior.codec import Hyperprior, MeanScale
from lamina.codecs.hyperprior.model import ARCHS, build_network, save_weights
from lamina.errors import BitstreamError, InputError

CLASSES = {"hyperprior": Hyperprior, "mean-scale": MeanScale}


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """Untrained tiny networks saved in lamina's weights format (two seeds -> two model ids)."""
    folder = tmp_path_factory.mktemp("weights")
    paths = {}
    for arch in ARCHS:
        for seed in (0, 1):
            torch.manual_seed(seed)
            network = build_network(arch, 8, 12)
            path = folder / f"{arch}-{seed}.pt"
            save_weights(network, arch, 8, 12, path)
            paths[arch, seed] = path
    return paths


@pytest.mark.parametrize("arch", list(ARCHS))
def test_round_trip_is_exact_and_sizes_are_not_multiples_of_64(arch, tiny_weights, small_image):
    codec = CLASSES[arch](quality=1, weights=tiny_weights[arch, 0])
    image = small_image[:45, :37]
    stream = codec.encode(image)
    data = stream.to_bytes()
    first = codec.decode(data)
    assert first.shape == image.shape and first.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(first, CLASSES[arch](quality=1, weights=tiny_weights[arch, 0]).decode(data))
    assert Bitstream.parse(data).bpp() == pytest.approx(8 * len(data) / (45 * 37))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_stream_from_other_weights_is_a_model_id_error(arch, tiny_weights, small_image):
    stream = CLASSES[arch](quality=1, weights=tiny_weights[arch, 0]).encode(small_image)
    with pytest.raises(BitstreamError, match="model id mismatch"):
        CLASSES[arch](quality=1, weights=tiny_weights[arch, 1]).decode(stream)


def test_wrong_corrupted_and_truncated_checkpoints(tiny_weights, tmp_path):
    with pytest.raises(InputError, match="not a hyperprior weights file"):
        Hyperprior(quality=1, weights=tiny_weights["mean-scale", 0])
    corrupted = tmp_path / "corrupted.pt"
    data = bytearray(tiny_weights["hyperprior", 0].read_bytes())
    corrupted.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(InputError, match="cannot read hyperprior weights"):
        Hyperprior(quality=1, weights=corrupted)
    wrong_shape = tmp_path / "wrong.pt"
    torch.manual_seed(0)
    save_weights(build_network("hyperprior", 8, 16), "hyperprior", 8, 16, wrong_shape)
    state = torch.load(wrong_shape, weights_only=True)
    state["config"]["M"] = 12
    torch.save(state, wrong_shape)
    with pytest.raises(InputError, match="does not fit"):
        Hyperprior(quality=1, weights=wrong_shape)
    with pytest.raises(InputError, match="weights not found"):
        Hyperprior(quality=1, weights=tmp_path / "missing.pt")


def test_corrupted_payload_is_an_error_or_a_same_size_image(tiny_weights, small_image):
    codec = Hyperprior(quality=1, weights=tiny_weights["hyperprior", 0])
    stream = codec.encode(small_image)
    payload = bytearray(stream.layers[0].payload)
    payload[0] = 0x7F  # z length now points past the payload or splits it wrongly
    bad = Bitstream(stream.codec, stream.height, stream.width, (type(stream.layers[0])("image", bytes(payload)),),
                    model_id=stream.model_id, codec_header=stream.codec_header)
    try:
        image = codec.decode(bad.to_bytes())
    except BitstreamError:
        return
    assert image.shape == small_image.shape


@pytest.mark.parametrize("arch", list(ARCHS))
def test_committed_weights_round_trip_faces_with_cards(arch, face):
    qualities = zoo.qualities(arch)
    assert len(qualities) >= 4, f"{arch}: committed qualities {qualities}"
    sizes, psnrs = [], []
    for quality in qualities:
        card = json.loads(zoo.path(arch, quality).with_suffix(".json").read_text())
        assert card["quality"] == quality and card["validation"]["bpp_written"] > 0
        codec = CLASSES[arch](quality=quality)
        data = codec.encode(face).to_bytes()
        decoded = CLASSES[arch].for_stream(Bitstream.parse(data)).decode(data)
        sizes.append(len(data))
        psnrs.append(10 * np.log10(255 ** 2 / np.mean((decoded.astype(float) - face) ** 2)))
    assert sizes == sorted(sizes) and psnrs == sorted(psnrs)
    # This face (utk-test's first, heavily textured) measured 20.1-24.7 dB over q1-q4 for both models.
    assert psnrs[0] > 19 and psnrs[-1] > 23


def test_committed_codecs_feed_every_face_evaluator(face):
    """Decoded learned images go through dlib, MediaPipe and MobileFaceNet (contiguity, dtype, size)."""
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(["landmarks_dlib", "landmarks_mesh", "parsing", "identity_dlib", "identity_mfn"])
    ref = evaluator.reference(face)
    for cls in CLASSES.values():
        codec = cls(quality=max(zoo.qualities(cls.arch)))
        scores = evaluator.score(ref, codec.decode(codec.encode(face).to_bytes()))
        assert all(np.isfinite(v) for k, v in scores.items() if k != "nme_dlib_gt")
        assert scores["id_dlib_kept"] == 1.0 and scores["nme_dlib"] < 0.1 and scores["parsing_fwiou"] > 0.7


def test_likelihood_bound_survives_fp16_files(tmp_path):
    """Files whose 1e-9 likelihood bound was flushed to zero by fp16 still estimate finite rates."""
    from lamina.codecs.hyperprior.model import load_network
    torch.manual_seed(0)
    path = tmp_path / "old.pt"
    save_weights(build_network("mean-scale", 8, 12), "mean-scale", 8, 12, path)
    data = torch.load(path, weights_only=True)
    bounds = [k for k in data["state_dict"] if k.endswith("likelihood_lower_bound.bound")]
    assert bounds and all(data["state_dict"][k].dtype == torch.float32 for k in bounds)
    for key in bounds:  # what files written with all-fp16 buffers hold
        data["state_dict"][key] = data["state_dict"][key].half()
    torch.save(data, path)
    network = load_network(path, "mean-scale")
    for key in bounds:
        assert float(network.state_dict()[key]) == pytest.approx(1e-9)
