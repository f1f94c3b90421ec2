"""Golden references of every committed learned model on two fixed faces: the coded bytes exactly (SHA-256 and
length: streams are portable, the same on every CPU), and every decoded layer within the cross-CPU tolerance
(lamina.metrics.pixel: decoded pixels may differ between CPUs with other float kernels by float rounding), through
compact block means (16 x 16 blocks, per channel, 1/64 grey level) instead of pixel hashes.

A deliberate change regenerates the file with LAMINA_GOLDEN_WRITE=1 and says why in its commit; entries still
within the tolerance are kept as they are, so the file changes only when bytes or images change beyond it."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

from lamina.metrics.pixel import block_difference, block_means

GOLDEN = Path(__file__).parent / "golden" / "learned_codecs.json"


def committed_models() -> list[tuple[str, dict]]:
    """(label, lamina.load kwargs) of every committed learned model (feature-texture: every feature quality
    with the default residual quality, and every residual quality with the default feature quality)."""
    import lamina
    from lamina import registry
    out = []
    for name in ("hyperprior", "mean-scale", "stylegan-scalable", "latent-flow", "codebook-svr", "progressive-mask"):
        for quality in registry.codec_class(name).bench_grid():
            out.append((f"{name}-q{quality}", {"name": name, "quality": quality}))
    ft = registry.codec_class("feature-texture")
    for quality in ft.bench_grid():
        out.append((f"feature-texture-q{quality}", {"name": "feature-texture", "quality": quality}))
    model = lamina.load("feature-texture").model
    for feature_quality in sorted(model.codecs):
        out.append((f"feature-texture-f{feature_quality}",
                    {"name": "feature-texture", "feature_quality": feature_quality}))
    return out


def faces(data_root) -> dict[str, np.ndarray]:
    from lamina.data.datasets import load_dataset
    return {"utk-test-0": load_dataset("utk-test", root=data_root, limit=1)[0].image(),
            "celeba-test-0": load_dataset("celeba-test", root=data_root, limit=1)[0].image()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_blocks(image: np.ndarray) -> str:
    """A decoded image's golden reference: its block means, uint16 little-endian, zlib, base64."""
    means = block_means(np.asarray(image))
    shape = "x".join(map(str, means.shape))
    return shape + ":" + base64.b64encode(zlib.compress(means.astype("<u2").tobytes(), 9)).decode()


def unpack_blocks(text: str) -> np.ndarray:
    shape, data = text.split(":", 1)
    values = np.frombuffer(zlib.decompress(base64.b64decode(data)), "<u2")
    return values.reshape(tuple(int(n) for n in shape.split("x")))


def measure(data_root) -> dict:
    """Bytes and block means of every model x face x layer prefix (codecs run at LAMINA_THREADS; two models side
    by side in threads, lamina.batching: the second core of a CI machine, and a check that concurrent coding
    changes nothing)."""
    import lamina
    from lamina.batching import run_batched
    images = faces(data_root)

    def one(model) -> list[tuple[str, dict]]:
        label, kwargs = model
        kwargs = dict(kwargs)
        codec = lamina.load(kwargs.pop("name"), **kwargs)
        out = []
        for face_name, image in images.items():
            stream = codec.encode(image)
            data = stream.to_bytes()
            decoded = [pack_blocks(codec.decode(data, layers=k)) for k in range(1, stream.available_layers + 1)]
            out.append((f"{label}/{face_name}", {"bytes": len(data), "stream": _sha(data), "decoded": decoded}))
        return out
    return dict(entry for entries in run_batched(one, committed_models(), batch=2) for entry in entries)


def differences(measured: dict, golden: dict) -> dict[str, str]:
    """key -> what changed beyond the tolerance (bytes exactly; images by block means)."""
    out = {}
    for key, entry in golden.items():
        now = measured.get(key)
        if now is None:
            out[key] = "missing"
        elif (now["bytes"], now["stream"]) != (entry["bytes"], entry["stream"]):
            out[key] = f"coded bytes changed ({entry['bytes']} -> {now['bytes']} bytes)"
        elif len(now["decoded"]) != len(entry["decoded"]):
            out[key] = "layer count changed"
        elif not all(":" in text for text in entry["decoded"]):
            out[key] = "reference in an older format (pixel hashes)"
        else:
            for k, (a, b) in enumerate(zip(now["decoded"], entry["decoded"]), 1):
                problem = block_difference(unpack_blocks(a), unpack_blocks(b))
                if problem:
                    out[key] = f"layer {k}: {problem}"
                    break
    return out


def test_golden_references(data_root):
    measured = measure(data_root)
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if os.environ.get("LAMINA_GOLDEN_WRITE") == "1":
        changed = differences(measured, golden)
        kept = {key: golden[key] for key in measured if key in golden and key not in changed}
        golden = {**{key: measured[key] for key in measured}, **kept}
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    assert sorted(measured) == sorted(golden), "the set of committed learned models changed"
    changed = differences(measured, golden)
    assert not changed, f"coded bytes or decoded images changed beyond the cross-CPU tolerance: {changed}"


def test_block_references_catch_real_changes(face):
    """The block-mean reference accepts what the tolerance allows and refuses a small local change."""
    reference = unpack_blocks(pack_blocks(face))
    rng = np.random.default_rng(0)
    noisy = face.astype(np.int16)
    flip = rng.random(face.shape) < 0.01                      # 1% of samples off by 2 levels
    noisy[flip] += np.where(noisy[flip] > 127, -2, 2)
    assert block_difference(block_means(noisy.astype(np.uint8)), reference) is None
    patch = face.copy()
    patch[100:124, 100:124] = np.clip(patch[100:124, 100:124].astype(np.int16) + 12, 0, 255)  # a 24 px patch
    assert block_difference(block_means(patch), reference) is not None
    assert block_difference(block_means(np.clip(face.astype(np.int16) + 1, 0, 255).astype(np.uint8)),
                            reference) is not None                                    # every sample one level up


V1_STREAMS = Path(__file__).parent / "golden" / "v1"


def test_version_1_streams_decode_as_before(data_root):
    """Streams written by lamina 0.1 (container v1, tests/golden/v1: the first utk-test face) still decode, and
    to exactly what the same model's v2 stream of the same face decodes to: the payloads are the same bytes. A
    stream whose weights lamina has since retired (the face codecs, refitted on the face prior v2) is refused with
    the lamina commit that still ships them."""
    from lamina import zoo
    from lamina.bitstream import Bitstream
    from lamina.errors import BitstreamError
    from lamina.registry import load_for_stream as codec_for_stream
    face = faces(data_root)["utk-test-0"]
    files = sorted(V1_STREAMS.glob("*.lmn"))
    assert len(files) == 10
    retired = {bytes.fromhex(entry["model_id"]): entry for entry in zoo.retired_models()}
    decoded = 0
    for path in files:
        old = Bitstream.parse(path.read_bytes())
        assert old.version == 1 and len(old.model_id) == 8
        if old.model_id in retired:
            with pytest.raises(BitstreamError, match=retired[old.model_id]["last_shipped_in"]):
                codec_for_stream(old)
            continue
        decoded += 1
        codec = codec_for_stream(old)
        if path.stem.endswith("-video"):
            # written with the paper's Irwin-Hall residuals (lamina 0.1's only model; `adaptive` is the default now)
            new = Bitstream.parse(codec.encode_video([face, load_second(data_root), face], 25.0, gop=2,
                                                     residual_model="irwin-hall").to_bytes())
            # the same style-layer payloads (video streams add key-frame `detail` payloads only with --detail-step)
            assert [l.payload for l in new.layers[:len(old.layers)]] == [l.payload for l in old.layers]
            for k in range(1, old.available_layers + 1):
                assert all(np.array_equal(a, b) for a, b in zip(codec.decode_video(old, layers=k),
                                                                 codec.decode_video(new, layers=k)))
            continue
        new = Bitstream.parse(codec.encode(face).to_bytes())
        assert new.version == 2 and new.codec == old.codec and new.matches_model(old.model_id)
        # The same payloads for the layers v1 had (the face codecs now add a fourth, `detail`, by default).
        assert [l.payload for l in new.layers[:len(old.layers)]] == [l.payload for l in old.layers], path.name
        assert len(new.header_bytes()) < len(old.header_bytes())
        for k in range(1, old.available_layers + 1):
            assert np.array_equal(codec.decode(old, layers=k), codec.decode(new, layers=k)), (path.name, k)
        cut = Bitstream.parse(old.truncate(1).to_bytes())       # lamina truncate keeps a v1 file v1
        assert cut.version == 1 and cut.available_layers == 1
    assert decoded >= 7  # every classic and non-face learned codec's v1 stream


def load_second(data_root) -> np.ndarray:
    from lamina.data.datasets import load_dataset
    return load_dataset("utk-test", root=data_root, limit=2)[1].image()
