"""Issue 23: every added layer of the face codecs' default image stream brings the face closer to the original on
average, on fixed faces (every 5th of the first 100 utk-test faces: 20), for the committed models: `basic` (coarse
styles) -> + `middle` styles -> + `enhanced` (the detail residual, lamina.codecs.face_codec). Identity (dlib
distance) and LPIPS improve with every layer. Landmarks (dlib NME) change by 1-3% between layers, below the
spread of 20 faces: on 100 utk-test faces they improve with every layer at stylegan-scalable q1 (0.0285 -> 0.0283 ->
0.0275, docs/results/face-prior/refit-v4/), on these 20 the middle layer is 2% worse; so the test holds them within
5% of the previous layer (what improves them with every layer is the fitted residual, --detail-fit,
tests/codecs/test_face_detail.py)."""
from __future__ import annotations

import numpy as np
import pytest

import lamina

CASES = [("stylegan-scalable", 1), ("stylegan-scalable", 4), ("latent-flow", 1), ("latent-flow", 4)]
KEYS = ("id_dlib_distance", "lpips_alex")  # lower is better, with every layer


@pytest.fixture(scope="module")
def faces(data_root):
    from lamina.data.datasets import load_dataset
    from lamina.vision.evaluators import Evaluator
    evaluator = Evaluator(("lpips_alex", "identity_dlib", "landmarks_dlib"))
    items = load_dataset("utk-test", root=data_root, limit=100)[::5]
    return evaluator, [(item.image(), evaluator.reference(item.image(), item)) for item in items]


@pytest.mark.parametrize("name,quality", CASES)
def test_every_added_layer_improves_identity_landmarks_and_lpips(faces, name, quality):
    evaluator, items = faces
    codec = lamina.load(name, quality=quality)
    scores: dict[int, list[dict]] = {1: [], 2: [], 3: []}
    for image, ref in items:
        stream = codec.encode(image)
        assert stream.declared_layers == ("basic", "middle", "enhanced")
        data = stream.to_bytes()
        for k in scores:
            scores[k].append(evaluator.score(ref, codec.decode(data, layers=k)))
    means = {key: [float(np.nanmean([s[key] for s in scores[k]])) for k in (1, 2, 3)] for key in KEYS + ("nme_dlib",)}
    for key in KEYS:
        assert means[key][0] > means[key][1] > means[key][2], (name, quality, key, means[key])
    nme = means["nme_dlib"]
    assert nme[1] < 1.05 * nme[0] and nme[2] < 1.05 * nme[1], (name, quality, nme)
