"""Golden hashes: the coded bytes (SHA-256) of every committed learned model on two fixed faces, and the
hashes of every decoded layer. A change to any coded byte or decoded pixel is noticed here; a deliberate
change regenerates the file with LAMINA_GOLDEN_WRITE=1 and says why in its commit."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

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


def measure(data_root) -> dict:
    """Hashes with one torch thread: float sums in convolutions depend on the thread count, so bytes and pixels
    are pinned for one (cross-thread exactness is a separate property, issue 15)."""
    import torch

    import lamina
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _measure(data_root, lamina)
    finally:
        torch.set_num_threads(threads)


def _measure(data_root, lamina) -> dict:
    result = {}
    images = faces(data_root)
    for label, kwargs in committed_models():
        kwargs = dict(kwargs)
        codec = lamina.load(kwargs.pop("name"), **kwargs)
        for face_name, image in images.items():
            data = codec.encode(image).to_bytes()
            decoded = [_sha(np.ascontiguousarray(codec.decode(data, layers=k)).tobytes())
                       for k in range(1, len(codec.layers) + 1)]
            result[f"{label}/{face_name}"] = {"bytes": len(data), "stream": _sha(data), "decoded": decoded}
    return result


def test_golden_hashes(data_root):
    measured = measure(data_root)
    if os.environ.get("LAMINA_GOLDEN_WRITE") == "1":
        GOLDEN.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(measured) == sorted(golden), "the set of committed learned models changed"
    changed = [key for key in golden if measured[key] != golden[key]]
    assert not changed, f"coded bytes or decoded images changed for {changed}"
