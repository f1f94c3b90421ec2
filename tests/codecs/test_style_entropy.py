"""Layer-wise scalable entropy transformer: the layered mask, real per-layer bytes, k layers from k payloads."""
from __future__ import annotations

import pytest
import torch

from lamina.codecs.stylegan_scalable.entropy import LayerwiseEntropyModel, layered_mask


def test_layered_mask_blocks_unsent_layers():
    mask = layered_mask((2, 1, 1))
    expected = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(mask, expected)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = LayerwiseEntropyModel(dim=32, groups=(3, 2, 2)).eval()
    m.update()
    return m


def test_hyper_decoder_never_reads_unsent_layers(model):
    h = torch.randn(1, 7, 16)
    mean, scale = model.decode_hyper(h)
    changed = h.clone()
    changed[:, 3:] = torch.randn(1, 4, 16)  # layers 2 and 3 differ
    mean2, scale2 = model.decode_hyper(changed)
    assert torch.allclose(mean[:, :3], mean2[:, :3], atol=1e-6) and torch.allclose(scale[:, :3], scale2[:, :3], atol=1e-6)
    assert not torch.allclose(mean[:, 3:], mean2[:, 3:])
    # Decoding with only the first layer's hyper-latents gives the same parameters for it.
    mean1, _ = model.decode_hyper(h[:, :3])
    assert torch.allclose(mean1, mean[:, :3], atol=1e-6)


@pytest.mark.parametrize("cross_layer,hyper", [(True, "transformer"), (False, "transformer"), (False, "linear")])
def test_real_bytes_round_trip_layer_by_layer(cross_layer, hyper):
    torch.manual_seed(1)
    model = LayerwiseEntropyModel(dim=32, groups=(3, 2, 2), cross_layer=cross_layer, hyper=hyper).eval()
    model.update()
    w = torch.randn(1, 7, 32) * 3
    payloads = model.compress(w)
    assert len(payloads) == 3 and all(len(p) > 0 for p in payloads)
    full = model.decompress(payloads)
    assert full.shape == (1, 7, 32)
    assert torch.equal(full, torch.round(w)) and torch.equal(model(w)["w_hat"], full)  # the integer grid
    for k in (1, 2):
        assert torch.equal(model.decompress(payloads[:k]), full[:, :sum((3, 2, 2)[:k])])
    bits = model(w)["bits"][0]
    written = torch.tensor([8.0 * len(p) for p in payloads])
    assert torch.all(written > bits * 0.8) and torch.all(written < bits * 1.5 + 64)


def test_training_mode_is_differentiable_and_noisy():
    model = LayerwiseEntropyModel(dim=16, groups=(2, 1, 1)).train()
    w = torch.randn(2, 4, 16, requires_grad=True)
    out = model(w)
    assert out["bits"].shape == (2, 3)
    out["bits"].sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()
    assert not torch.equal(out["w_hat"], torch.round(w))


def test_recoding_decoded_styles_is_exact_and_swap_mixes_layers(model):
    from lamina.codecs.stylegan_scalable.entropy import swap_layers
    torch.manual_seed(2)
    a, b = torch.randn(1, 7, 32) * 3, torch.randn(1, 7, 32) * 3
    pa, pb = model.compress(a), model.compress(b)
    # Transcoding is lossless in content (the bytes differ: hyper-latents come from the rounded styles).
    assert torch.equal(model.decompress(model.compress(model.decompress(pa))), model.decompress(pa))
    swapped = model.decompress(swap_layers(model, pa, pb, take_from_b=(1,)))
    assert torch.equal(swapped[:, :3], torch.round(a[:, :3])) and torch.equal(swapped[:, 5:], torch.round(a[:, 5:]))
    assert torch.equal(swapped[:, 3:5], torch.round(b[:, 3:5]))
