"""latent-flow training: the flow + entropy model on cached styles lowers the Lagrangian and exports a file the
codec decodes with; the video stage fits the difference model on a clip and rewrites the file."""
from __future__ import annotations

import json

import torch

from lamina.codecs.latent_flow.codec import LatentFlow
from lamina.codecs.latent_flow.model import load_model
from lamina.codecs.latent_flow.task import LatentFlowTask, fit_delta
from lamina.train.loop import TrainConfig, train


def test_training_lowers_the_lagrangian_and_exports_a_working_codec(tmp_path, face):
    # styles of the committed prior's scale (std ~3.6 symbol units), a few hundred faces
    torch.manual_seed(0)
    styles = torch.randn(256, 6, 128) * 3.6
    (tmp_path / "styles").mkdir()
    torch.save({"styles": styles[:192].half()}, tmp_path / "styles" / "train.pt")
    torch.save({"styles": styles[192:].half()}, tmp_path / "styles" / "validation.pt")
    task = LatentFlowTask(lmbda=4000.0, quality=1, couplings=2, styles=tmp_path / "styles")
    out = tmp_path / "run"
    train(task, TrainConfig(out=out, steps=60, batch_size=16, lr=1e-2, val_every=30, progress=False))
    log = [json.loads(line) for line in open(out / "log.jsonl")]
    model, _ = load_model(out / "latent-flow-q1.pt")
    start = task.build_model().eval()
    with torch.no_grad():
        first = start(styles[192:])
        first = float(first["bits"].sum(1).mean() + task.lmbda * first["distortion"].mean())
    assert log[-1]["val"]["lagrangian"] < first
    codec = LatentFlow(quality=1, weights=out / "latent-flow-q1.pt")
    assert codec.decode(codec.encode(face).to_bytes()).shape == face.shape
    assert model.config["lambda"] == 4000.0 and len(model.flows[0].scale) == 2


def test_video_stage_fits_the_difference_model(tmp_path, utk_faces):
    from lamina.codecs.latent_flow.model import new_model, save_model
    torch.manual_seed(0)
    model = new_model(couplings=1)
    model.init_entropy_from_prior()
    path = tmp_path / "latent-flow-q1.pt"
    save_model(model, path)
    summary = fit_delta(path, steps=40, clips=("lp_d0.mp4",), max_frames=12, cache=tmp_path / "clips")
    assert "difference model fitted on 8 frame pairs" in summary  # int(11 pairs x 0.8); the rest held out
    loaded, _ = load_model(path)
    assert not torch.equal(loaded.delta[0].quantiles, model.delta[0].quantiles)
    codec = LatentFlow(quality=1, weights=path, check_face=False)
    frames = [utk_faces[0]] * 3 + [utk_faces[1]] * 2
    assert len(codec.decode_video(codec.encode_video(frames, 25.0, gop=2).to_bytes())) == 5
