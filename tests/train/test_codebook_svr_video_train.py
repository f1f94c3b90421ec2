"""The codebook-svr video-decoder probe's training (lamina.codecs.codebook_svr.task) on a tiny synthetic
cache: the loop runs, validates on the held-out clip, checkpoints, resumes, and trains E^LQ + CFT only."""
from __future__ import annotations

import json

import numpy as np
import torch

from lamina import zoo
from lamina.codecs.codebook_svr.model import load_model
from lamina.codecs.codebook_svr.task import VIDEO_LQ, VideoTrainConfig, train_video
from lamina.data.datasets import VIDEO_TRAIN_CLIPS


def _fake_clip(rng, frames: int) -> dict:
    return {"latents": torch.from_numpy(rng.normal(size=(frames, 32, 32, 32))).half(),
            "maps": torch.from_numpy(rng.integers(0, 256, (frames, 16, 16))),
            "lq": {f"{e}{q}": torch.from_numpy(rng.integers(0, 256, (frames, 64, 64, 3), dtype=np.uint8))
                   for e, q in VIDEO_LQ}}


def test_video_training_runs_and_resumes(tmp_path):
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in VIDEO_TRAIN_CLIPS:
        torch.save(_fake_clip(rng, 4), cache / f"{name.rsplit('.', 1)[0]}.pt")
    torch.save(_fake_clip(rng, 5), cache / "faces.pt")
    run = tmp_path / "run"
    config = VideoTrainConfig(out=run, cache=cache, max_minutes=0.03, val_every=2, batch_size=4)
    train_video(config)
    first = torch.load(run / "checkpoint.pt", weights_only=True)["step"]
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert first >= 2 and rows[0]["step"] == 0 and all(np.isfinite(r["val_mse"]) for r in rows)
    train_video(VideoTrainConfig(out=run, cache=cache, max_minutes=0.03, val_every=2, batch_size=4, resume=True))
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] > first
    state = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    base, _ = load_model(zoo.path("codebook-svr", 1))
    assert torch.equal(state["codebook"], base.codebook)  # the codebook is the base's: only E^LQ / CFT train
    assert not torch.equal(state["cft.shift.2.weight"], base.state_dict()["cft.shift.2.weight"])
