"""The multi-task scalable R-D objective (Eqs. 14-26): structure of the rate terms, zero distortion at x̂ = x,
gradients reach every decoded layer."""
from __future__ import annotations

import pytest
import torch

from lamina.codecs.stylegan_scalable.objective import ObjectiveWeights, ScalableObjective


@pytest.fixture(scope="module")
def objective():
    return ScalableObjective(ObjectiveWeights(lmbda=10.0))


def test_rate_weights_follow_the_layer_structure(objective):
    torch.manual_seed(0)
    x = torch.rand(1, 3, 128, 128)
    x_hats = [(x + 0.1 * torch.randn_like(x)).clamp(0, 1) for _ in range(3)]
    bits = torch.tensor([[300.0, 200.0, 500.0]], requires_grad=True)
    out = objective(x, x_hats, bits)
    out["J"].backward()
    # Layer 1's bits are paid in J1, J2 and J3, layer 2's in J2 and J3, layer 3's in J3 only (Eqs. 23-26).
    per_bit = 10.0 / (128 * 128)
    assert torch.allclose(bits.grad, torch.tensor([[3 * per_bit, 2 * per_bit, per_bit]]))
    assert torch.isclose(out["J"], out["J1"] + out["J2"] + out["J3"])
    # The from-scratch warm-up scales λ only (bpp is still reported unscaled).
    half = objective(x, x_hats, bits.detach(), rate_scale=0.5)
    assert torch.isclose(out["J"] - half["J"], 0.5 * per_bit * torch.tensor(3 * 300 + 2 * 200 + 500.0), rtol=1e-4)
    assert torch.isclose(half["bpp"], out["bpp"])


def test_rate_warmup_schedule():
    from lamina.codecs.stylegan_scalable.task import StyleganScalableTask
    task = StyleganScalableTask(rate_warmup=300)
    schedule = []
    for step in (0, 150, 300, 450, 600, 5000):
        task.set_step(step)
        schedule.append((task.pixel_phase, task.rate_scale))
    assert schedule == [(True, 0.0), (True, 0.0), (False, 0.0), (False, 0.5), (False, 1.0), (False, 1.0)]
    plain = StyleganScalableTask()
    plain.set_step(0)
    assert (plain.pixel_phase, plain.rate_scale) == (False, 1.0)


def test_pixel_phase_objective(objective):
    x = torch.rand(2, 3, 64, 64)
    assert float(objective.reconstruction(x, [x.clone()] * 3)["J"]) < 1e-4
    noisy = [(x + 0.1 * torch.randn_like(x)).clamp(0, 1) for _ in range(3)]
    out = objective.reconstruction(x, noisy)
    expected = sum(out[f"mse_{k}"] + 0.8 * out[f"lpips_{k}"] for k in (1, 2, 3))
    assert torch.isclose(out["J"], expected)


def test_perfect_reconstruction_has_no_distortion_and_gradients_flow(objective):
    x = torch.rand(2, 3, 128, 128)
    out = objective(x, [x.clone() for _ in range(3)], torch.zeros(2, 3))
    for name in ("lm", "sg", "identity", "mse", "lpips"):
        assert float(out[f"{name}_3"]) < 1e-4, name
    x_hats = [(x + 0.05 * torch.randn_like(x)).clamp(0, 1).requires_grad_(True) for _ in range(3)]
    out = objective(x, x_hats, torch.zeros(2, 3), fake_scores=torch.zeros(2, 1))
    out["J"].backward()
    assert all(h.grad is not None and float(h.grad.abs().sum()) > 0 for h in x_hats)
    assert float(out["identity_2"]) > 0 and float(out["lm_1"]) > 0


def test_make_task_rescales_the_papers_lambda_to_the_preset_size():
    from lamina.errors import InputError
    from lamina.codecs.stylegan_scalable.task import make_task
    cpu = make_task(quality=3, preset="cpu128")
    assert (cpu.paper_lmbda, cpu.lmbda) == (10.0, 2.5) and cpu.model_kwargs["size"] == 128
    paper = make_task(lmbda=15.0)
    assert (paper.lmbda, paper.model_kwargs["size"], paper.model_kwargs["style_step"]) == (15.0, 256, 1.0)
    with pytest.raises(InputError, match="preset"):
        make_task(quality=3, preset="huge")
    with pytest.raises(InputError, match="quality"):
        make_task(quality=9)
