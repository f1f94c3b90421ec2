"""Hierarchical style encoder and the layered W+ composition (Eqs. 3-6), end to end with a tiny generator."""
from __future__ import annotations

import pytest
import torch

from lamina.codecs.stylegan_scalable.encoder import (
    GROUPS_256,
    HierarchicalStyleEncoder,
    layered_w_plus,
)
from lamina.nn.stylegan2 import Generator
from lamina.errors import InputError


def test_encoder_outputs_14_residual_styles_and_trains():
    enc = HierarchicalStyleEncoder(256, dim=16, width=4)
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    styles = enc(x)
    assert styles.shape == (2, 14, 16)
    styles.pow(2).mean().backward()
    assert all(p.grad is not None for p in enc.styles.parameters())
    with pytest.raises(InputError):
        enc(torch.rand(1, 3, 128, 128))


def test_basic_layer_styles_come_from_the_coarsest_features_only():
    enc = HierarchicalStyleEncoder(64, dim=8, groups=(2, 2, 2), width=4).eval()
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    base = enc(x)
    # Perturb F1/F2-only paths by changing the lateral weights: basic styles (from F3) do not move.
    with torch.no_grad():
        enc.lateral1.weight.add_(1.0)
        enc.lateral2.weight.add_(1.0)
    moved = enc(x)
    assert torch.allclose(base[:, :2], moved[:, :2]) and not torch.allclose(base[:, 2:], moved[:, 2:])


def test_layered_w_plus_and_scalable_decode():
    g = Generator(256, style_dim=16, n_mlp=2, channels={2 ** i: 4 for i in range(2, 9)}).eval()
    w_avg = g.mean_latent(64)
    residual = torch.randn(1, 14, 16)
    images = []
    for k in (1, 2, 3):
        w = layered_w_plus(residual, w_avg, GROUPS_256, k)
        assert torch.allclose(w[:, sum(GROUPS_256[:k]):], w_avg.expand(1, 14 - sum(GROUPS_256[:k]), 16))
        with torch.no_grad():
            images.append(g(w))
    assert images[0].shape == (1, 3, 256, 256)
    assert not torch.equal(images[0], images[2])
    with pytest.raises(InputError):
        layered_w_plus(residual[:, :6], w_avg, GROUPS_256, 2)
