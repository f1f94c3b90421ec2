"""The rate-only entropy refit: fewer real bytes, identical decoded styles (so identical images)."""
from __future__ import annotations

import numpy as np
import torch

from lamina.codecs.stylegan_scalable.model import ScalableModel
from lamina.codecs.stylegan_scalable.task import encode_styles, fit_entropy, written_bits


def test_refit_lowers_bytes_and_keeps_decoded_styles(utk_faces):
    torch.manual_seed(0)
    model = ScalableModel(size=64, dim=16, groups=(4, 3, 3), n_mlp=2, channels={4: 8, 8: 8, 16: 8, 32: 4, 64: 4},
                          width=4, style_step=0.25, encoder_gain=4.0).eval().requires_grad_(False)
    model.entropy.update()
    rng = np.random.default_rng(0)
    faces = utk_faces + [np.clip(f.astype(int) + rng.integers(-20, 20, f.shape), 0, 255).astype(np.uint8)
                         for f in utk_faces for _ in range(7)]
    styles = encode_styles(model, faces)
    assert styles.shape == (32, 10, 16) and float(styles.round().abs().mean()) > 0.5  # symbols carry bits
    before = written_bits(model.entropy, styles[:4])
    decoded_before = model.entropy.decompress(model.entropy.compress(styles[:1]))
    fit_entropy(model.entropy, styles, steps=60, seed=0, lr=1e-2, batch=16)
    after = written_bits(model.entropy, styles[:4])
    assert after.sum() < 0.9 * before.sum(), (before, after)
    assert torch.equal(model.entropy.decompress(model.entropy.compress(styles[:1])), decoded_before)
    assert not model.entropy.training and not any(p.requires_grad for p in model.entropy.parameters())
