"""The training frame: smoke training on CPU, exact resume, and DDP replicas kept identical."""
import json
import os
import socket
import subprocess
import sys

import pytest

from lamina.codecs.hyperprior.task import HyperpriorTask
from lamina.train.loop import TrainConfig, train

TINY = dict(n=8, m=12)


def tiny_config(out, steps, **extra):
    values = dict(out=out, steps=steps, batch_size=2, patch=64, lr=1e-3, val_every=steps, checkpoint_every=steps,
                  max_train_images=24, progress=False)
    values.update(extra)
    return TrainConfig(**values)


def test_smoke_training_improves_and_exports_a_working_codec(tmp_path, face):
    task = HyperpriorTask("mean-scale", 0.01, quality=3, **TINY)
    card = train(task, tiny_config(tmp_path, 60, val_every=20))
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [20, 40, 60]
    assert log[-1]["val"]["psnr"] > log[0]["val"]["psnr"] + 1.0
    saved = json.loads((tmp_path / "mean-scale-q3.json").read_text())
    assert saved["validation"]["bpp_written"] > 0 and saved["steps"] == 60 and card["wall_time_s"] > 0
    from lamina.codecs.hyperprior.codec import MeanScale
    codec = MeanScale(quality=3, weights=tmp_path / "mean-scale-q3.pt")
    stream = codec.encode(face)
    assert codec.decode(stream.to_bytes()).shape == face.shape


def test_resume_is_exact(tmp_path):
    task = HyperpriorTask("hyperprior", 0.01, quality=1, **TINY)
    train(task, tiny_config(tmp_path / "straight", 6, checkpoint_every=3))
    train(task, tiny_config(tmp_path / "resumed", 3, checkpoint_every=3))
    train(task, tiny_config(tmp_path / "resumed", 6, checkpoint_every=3))
    straight = json.loads((tmp_path / "straight" / "hyperprior-q1.json").read_text())["model_id"]
    resumed = json.loads((tmp_path / "resumed" / "hyperprior-q1.json").read_text())["model_id"]
    assert straight == resumed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_two_cpu_processes_hold_identical_weights(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", LAMINA_DDP_BACKEND="gloo")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "lamina.cli", "train", "hyperprior", "--lambda", "0.01",
           "--steps", "4", "--batch-size", "2", "--patch", "64", "--N", "8", "--M", "12", "--lr", "1e-3",
           "--val-every", "4", "--max-train-images", "16", "--out", str(tmp_path), "--quiet"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    digests = [(tmp_path / f"rank{r}.sha256").read_text() for r in (0, 1)]
    assert digests[0] == digests[1]
    card = json.loads((tmp_path / "hyperprior-q0.json").read_text())
    assert card["world_size"] == 2


def test_unknown_training_names_are_errors(capsys):
    from lamina.cli import main
    from lamina.errors import InputError
    from lamina.registry import trainable
    with pytest.raises(InputError, match="nothing called 'jpeg'"):
        trainable("jpeg")
    assert main(["train", "jpeg", "--steps", "1", "--out", "x"]) == 2
    assert main(["train", "hyperprior", "--steps", "1", "--out", "x"]) == 2  # neither --quality nor --lambda
    assert "--quality" in capsys.readouterr().err
    assert main(["train", "hyperprior", "--stage", "nope", "--steps", "1", "--out", "x"]) == 2


def test_warm_start_copies_the_given_weights(tmp_path):
    from lamina.codecs.hyperprior.model import load_network
    from lamina.train.loop import weights_digest
    task = HyperpriorTask("hyperprior", 0.01, quality=1, **TINY)
    train(task, tiny_config(tmp_path / "first", 2))
    source = tmp_path / "first" / "hyperprior-q1.pt"
    model = task.build_model()
    task.warm_start(model, source)
    assert weights_digest(model) == weights_digest(load_network(source, "hyperprior"))


class _Poisoned(HyperpriorTask):
    """Returns a NaN loss on the steps listed (counted per call)."""

    def __init__(self, nan_calls, **kwargs):
        super().__init__("hyperprior", 0.01, quality=1, **kwargs)
        self.nan_calls, self.calls = set(nan_calls), 0

    def losses(self, model, batch):
        out = super().losses(model, batch)
        self.calls += 1
        if self.calls in self.nan_calls or "all" in self.nan_calls:
            out["loss"] = out["loss"] * float("nan")
        return out


def test_a_non_finite_step_is_skipped_and_never_reaches_the_weights(tmp_path):
    import torch
    train(_Poisoned({2, 3}, **TINY), tiny_config(tmp_path, 5))
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_persistent_non_finite_losses_stop_training(tmp_path):
    with pytest.raises(FloatingPointError, match="non-finite losses"):
        train(_Poisoned({"all"}, **TINY), tiny_config(tmp_path, 30))


def test_the_weight_average_is_exported_validated_and_resumed_exactly(tmp_path):
    import torch
    task = HyperpriorTask("hyperprior", 0.01, quality=1, **TINY)
    train(task, tiny_config(tmp_path / "live", 6, checkpoint_every=3))
    train(task, tiny_config(tmp_path / "straight", 6, checkpoint_every=3, ema=0.5))
    train(task, tiny_config(tmp_path / "resumed", 3, checkpoint_every=3, ema=0.5))
    train(task, tiny_config(tmp_path / "resumed", 6, checkpoint_every=3, ema=0.5))
    card = lambda run: json.loads((tmp_path / run / "hyperprior-q1.json").read_text())  # noqa: E731
    assert card("straight")["model_id"] == card("resumed")["model_id"] != card("live")["model_id"]
    state = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    live, average = state["model"], state["ema"]
    assert set(average) == {k for k, v in live.items() if v.is_floating_point()}
    assert any(not torch.equal(live[k], average[k]) for k in average)
    # the exported weights are the average, not the live weights the checkpoint resumes from
    exported = torch.load(tmp_path / "straight" / "hyperprior-q1.pt", weights_only=True)["state_dict"]
    keys = [k for k in average if k.startswith(("g_a.", "g_s."))]
    gap = lambda ref: sum(float((exported[k].float() - ref[k].float()).abs().sum()) for k in keys)  # noqa: E731
    assert gap(average) < 0.2 * gap(live)
    entry = json.loads((tmp_path / "straight" / "log.jsonl").read_text().splitlines()[-1])
    assert entry["val"] != entry["val_live"]


def test_a_weight_average_decay_outside_0_1_is_an_error(tmp_path):
    from lamina.errors import InputError
    with pytest.raises(InputError, match="decay"):
        train(HyperpriorTask("hyperprior", 0.01, quality=1, **TINY), tiny_config(tmp_path, 2, ema=1.0))
