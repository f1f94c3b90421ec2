"""StyleGAN2 generator (pure PyTorch): W+ sizes, the modulated convolution against a per-sample reference,
FIR upsampling, and loading a checkpoint written in the rosinality layout."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lamina.nn import stylegan2 as sg
from lamina.errors import InputError


def test_256_generator_has_14_styles_and_makes_256_images():
    g = sg.Generator(256, style_dim=16, n_mlp=2, channels={2 ** i: 4 for i in range(2, 9)})
    assert g.n_latent == 14 and g.num_layers == 13
    w = g.mapping(torch.randn(2, 16))[:, None].repeat(1, 14, 1)
    with torch.no_grad():
        image = g(w)
    assert image.shape == (2, 3, 256, 256) and torch.isfinite(image).all()
    with torch.no_grad():  # fixed noise buffers: decoding is deterministic
        assert torch.equal(image, g(w))
    with pytest.raises(InputError):
        g(w[:, :13])


def test_modulated_conv_matches_a_per_sample_reference():
    torch.manual_seed(0)
    conv = sg.ModulatedConv2d(5, 6, 3, style_dim=7)
    x, style = torch.randn(2, 5, 9, 9), torch.randn(2, 7)
    out = conv(x, style)
    for n in range(2):
        s = conv.modulation(style[n:n + 1])[0]
        w = conv.weight[0] * conv.scale * s.view(1, 5, 1, 1)
        w = w / torch.sqrt(w.pow(2).sum([1, 2, 3], keepdim=True) + 1e-8)
        assert torch.allclose(out[n], F.conv2d(x[n:n + 1], w, padding=1)[0], atol=1e-5)


def test_upsampling_conv_doubles_size_and_matches_reference():
    torch.manual_seed(0)
    conv = sg.ModulatedConv2d(3, 4, 3, style_dim=5, upsample=True)
    x, style = torch.randn(1, 3, 6, 6), torch.randn(1, 5)
    out = conv(x, style)
    assert out.shape == (1, 4, 12, 12)
    s = conv.modulation(style)[0]
    w = conv.weight[0] * conv.scale * s.view(1, 3, 1, 1)
    w = w / torch.sqrt(w.pow(2).sum([1, 2, 3], keepdim=True) + 1e-8)
    ref = F.conv_transpose2d(x, w.transpose(0, 1), stride=2)
    assert torch.allclose(out, conv.blur(ref), atol=1e-5)


def test_fir_upsampling_keeps_constants():
    up = sg.Upsample(sg.BLUR_KERNEL)
    out = up(torch.full((1, 2, 8, 8), 3.0))
    assert out.shape == (1, 2, 16, 16)
    assert torch.allclose(out[:, :, 2:-2, 2:-2], torch.full_like(out[:, :, 2:-2, 2:-2], 3.0))


def _rosinality_state(style_dim=8, c4=8, c8=4):
    """A tiny generator state dict written key by key in rosinality's layout (size 8, n_mlp 2)."""
    r = torch.randn
    state = {}
    for i in (1, 2):
        state[f"style.{i}.weight"], state[f"style.{i}.bias"] = r(style_dim, style_dim), r(style_dim)
    state["input.input"] = r(1, c4, 4, 4)

    def styled(prefix, cin, cout, blur=False):
        state[f"{prefix}.conv.weight"] = r(1, cout, cin, 3, 3)
        state[f"{prefix}.conv.modulation.weight"] = r(cin, style_dim)
        state[f"{prefix}.conv.modulation.bias"] = torch.ones(cin)
        if blur:
            state[f"{prefix}.conv.blur.kernel"] = sg.make_kernel(sg.BLUR_KERNEL) * 4
        state[f"{prefix}.noise.weight"] = torch.zeros(1)
        state[f"{prefix}.activate.bias"] = torch.zeros(cout)

    def to_rgb(prefix, cin, upsample):
        state[f"{prefix}.bias"] = torch.zeros(1, 3, 1, 1)
        state[f"{prefix}.conv.weight"] = r(1, 3, cin, 1, 1)
        state[f"{prefix}.conv.modulation.weight"] = r(cin, style_dim)
        state[f"{prefix}.conv.modulation.bias"] = torch.ones(cin)
        if upsample:
            state[f"{prefix}.upsample.kernel"] = sg.make_kernel(sg.BLUR_KERNEL) * 4

    styled("conv1", c4, c4)
    to_rgb("to_rgb1", c4, False)
    styled("convs.0", c4, c8, blur=True)
    styled("convs.1", c8, c8)
    to_rgb("to_rgbs.0", c8, True)
    for i, side in enumerate((4, 8, 8)):
        state[f"noises.noise_{i}"] = r(1, 1, side, side)
    return state


def test_rosinality_checkpoint_loads(tmp_path):
    state = _rosinality_state()
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": state, "g": state, "latent_avg": torch.zeros(8)}, path)
    g = sg.load_rosinality(path)
    assert g.size == 8 and g.n_latent == 4 and g.channels == {4: 8, 8: 4}
    assert set(g.state_dict()) == set(state)
    assert torch.equal(g.state_dict()["convs.0.conv.weight"], state["convs.0.conv.weight"])
    with torch.no_grad():
        assert g(torch.randn(2, 4, 8)).shape == (2, 3, 8, 8)
    # The mapping network is PixelNorm then EqualLinear (lr_mul 0.01) with fused leaky ReLU.
    z = torch.randn(1, 8)
    h = z / torch.sqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
    for i in (1, 2):
        w, b = state[f"style.{i}.weight"], state[f"style.{i}.bias"]
        h = F.leaky_relu(F.linear(h, w * 0.01 / math.sqrt(8)) + b * 0.01, 0.2) * math.sqrt(2)
    assert torch.allclose(g.mapping(z), h, atol=1e-5)


def test_bad_stylegan_checkpoints(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"g_ema": {"foo": torch.zeros(1)}}, bad)
    with pytest.raises(InputError, match="not a rosinality"):
        sg.load_rosinality(bad)
    state = _rosinality_state()
    state["convs.1.conv.weight"] = torch.randn(1, 4, 5, 3, 3)
    torch.save({"g_ema": state}, bad)
    with pytest.raises(InputError, match="does not fit"):
        sg.load_rosinality(bad)
    with pytest.raises(InputError):
        sg.Generator(100)


def _rosinality_discriminator_state(c8=4, c4=6):
    """A size-8 discriminator state dict written key by key in rosinality's layout."""
    r = torch.randn
    kernel = sg.make_kernel(sg.BLUR_KERNEL)
    return {"convs.0.0.weight": r(c8, 3, 1, 1), "convs.0.1.bias": r(c8),
            "convs.1.conv1.0.weight": r(c8, c8, 3, 3), "convs.1.conv1.1.bias": r(c8),
            "convs.1.conv2.0.kernel": kernel, "convs.1.conv2.1.weight": r(c4, c8, 3, 3), "convs.1.conv2.2.bias": r(c4),
            "convs.1.skip.0.kernel": kernel, "convs.1.skip.1.weight": r(c4, c8, 1, 1),
            "final_conv.0.weight": r(c4, c4 + 1, 3, 3), "final_conv.1.bias": r(c4),
            "final_linear.0.weight": r(c4, c4 * 16), "final_linear.0.bias": r(c4),
            "final_linear.1.weight": r(1, c4), "final_linear.1.bias": r(1)}


def test_rosinality_discriminator_loads_and_scores(tmp_path):
    state = _rosinality_discriminator_state()
    path = tmp_path / "ckpt.pt"
    torch.save({"d": state, "g_ema": _rosinality_state()}, path)
    d = sg.load_rosinality_discriminator(path)
    assert d.size == 8 and set(d.state_dict()) == set(state)
    x = torch.randn(4, 3, 8, 8, requires_grad=True)
    scores = d(x)
    assert scores.shape == (4, 1)
    # Minibatch standard deviation: a sample's score depends on the others in its group.
    y = x.detach().clone()
    y[1:] = 0
    assert not torch.allclose(d(y)[0], scores[0].detach())
    r1 = sg.r1_penalty(scores, x)
    assert r1 > 0 and r1.requires_grad
    loss = sg.d_logistic_loss(scores, -scores) + sg.g_nonsaturating_loss(scores)
    assert torch.isfinite(loss)
    with pytest.raises(InputError):
        sg.load_rosinality_discriminator(tmp_path / "missing.pt")


def test_discriminator_at_256_and_adversarial_losses_are_softplus():
    d = sg.Discriminator(256, channels={2 ** i: 4 for i in range(2, 9)})
    assert d(torch.randn(2, 3, 256, 256)).shape == (2, 1)
    zero = torch.zeros(3, 1)
    assert float(sg.g_nonsaturating_loss(zero)) == pytest.approx(math.log(2))
    assert float(sg.d_logistic_loss(zero, zero)) == pytest.approx(2 * math.log(2))
