"""Smoke-size training of every feature-texture stage on CPU: losses fall, exported weights code real streams."""
from __future__ import annotations

import json

import numpy as np

from lamina.codecs.feature_texture import task as ft


def _log(out, stage):
    return [row for row in map(json.loads, (out / "log.jsonl").read_text().splitlines()) if row["stage"] == stage]


def test_all_stages_train_export_and_round_trip(tmp_path, data_root, monkeypatch):
    out, zoo = tmp_path / "run", tmp_path / "zoo"
    out.mkdir()
    zoo.mkdir()
    monkeypatch.setattr(ft, "FEATURE_LAMBDAS", {1: 1e-4, 2: 1e-6})
    ft.stage_extractor(out, steps=3, batch=4, root=data_root, limit=24)
    ft.stage_features(out, root=data_root, limit=24)
    features = np.load(out / "features.npz")["features"]
    assert features.shape == (48, 128) and np.allclose(np.linalg.norm(features, axis=1), 1, atol=1e-4)
    for q in (1, 2):
        ft.stage_codec(out, q, steps=150, batch=32)
    rows = _log(out, "codec-q1")
    first, last = rows[0], rows[-1]
    assert last["mse"] + 1e-4 * last["bits"] < first["mse"] + 1e-4 * first["bits"]
    ft.stage_texture(out, steps=4, batch=2, root=data_root, limit=24)
    ft.stage_residual(out, 1, steps=2, feature_quality=2, batch=2, root=data_root, limit=24)
    from lamina.codecs.feature_texture.codec import FeatureTexture
    from lamina.codecs.feature_texture.task import export
    weights = export(out, folder=zoo)
    assert (zoo / "feature-texture-residual-q1.pt").exists()
    image = np.load(out / "cache" / "faces-celeba-train-256-first24.npy")[0]
    for residual in ("hyperprior", "jpeg"):
        codec = FeatureTexture(quality=1 if residual == "hyperprior" else 20, residual=residual, weights=weights)
        stream = codec.encode(image)
        assert [name for name, _ in stream.layer_sizes()] == ["feature", "texture"]
        assert codec.decode(stream.to_bytes(), layers=1).shape == image.shape
        assert codec.decode(stream.to_bytes()).shape == image.shape
        assert codec.decode_feature(stream.truncate(1).to_bytes()).shape == (128,)
