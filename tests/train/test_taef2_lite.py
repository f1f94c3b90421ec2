"""`lamina train taef2-lite`: the distilled decoder starts from the teacher, learns, exports weights the fast
decoder path loads."""
import numpy as np
import torch

from lamina.nn import taef2
from lamina.train import taef2_lite


def test_a_student_as_wide_as_the_teacher_starts_as_the_teacher():
    student = taef2.lite_decoder(mid=64, top=64, mid_blocks=3)
    taef2_lite.init_from_teacher(student, taef2.load_decoder())
    z = torch.randn(1, 32, 8, 8)
    with torch.no_grad():
        assert torch.allclose(student(z), taef2.load_decoder()(z), atol=1e-5)


def test_a_few_steps_bring_the_student_closer_and_export_loads(tmp_path, monkeypatch):
    torch.manual_seed(0)
    cache = tmp_path / "cache.pt"
    torch.save({"sources": [], "held_out": 2, "latents": {"x": (torch.randn(8, 32, 12, 12) * 0.7).half()}}, cache)
    config = taef2_lite.LiteConfig(cache=cache, out=tmp_path / "run", steps=6, eval_every=6, batch=2, window=8,
                                   lr=1e-3)
    last = taef2_lite.train(config)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 6 and last["lpips_vs_teacher"] < state["log"][0]["lpips_vs_teacher"]
    # resume continues from the checkpoint
    config.steps = 8
    taef2_lite.train(config, resume=True)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == 8
    weights = taef2_lite.export(tmp_path / "run", tmp_path / "taef2-lite.pt")
    monkeypatch.setattr(taef2, "lite_weights", lambda: weights)
    taef2.load_lite_decoder.cache_clear()
    try:
        z = torch.randn(1, 32, 8, 8)
        with torch.no_grad(), taef2.decoding_with("lite"):
            image = taef2.decode(z)
        assert image.shape == (1, 3, 64, 64) and np.isfinite(image.numpy()).all()
    finally:
        taef2.load_lite_decoder.cache_clear()
        taef2._session.cache_clear()


def test_calibration_latents_are_16x16_training_windows(tmp_path):
    cache = tmp_path / "cache.pt"
    torch.save({"sources": [], "held_out": 2, "latents": {"a": torch.randn(10, 32, 16, 16).half(),
                                                          "b": torch.randn(10, 32, 28, 28).half()}}, cache)
    out = taef2_lite.calibration(cache, tmp_path / "calibration.npz", per_source=3)
    latents = np.load(out)["latents"]
    assert latents.shape == (6, 32, 16, 16) and latents.dtype == np.float16
