"""Smoke-size stylegan-scalable training on CPU through the shared loop: the objective falls on held-out faces
and the exported weights code real three-layer streams; the second (adversarial) phase warm-starts from the
first phase's export, trains a discriminator with its own optimiser and exports no discriminator."""
from __future__ import annotations

import json

import torch

from lamina.codecs.stylegan_scalable.codec import StyleganScalable
from lamina.codecs.stylegan_scalable.task import StyleganScalableTask
from lamina.train.loop import TrainConfig, train

TINY = dict(lmbda=10.0, quality=1, size=64, dim=16, groups=(4, 3, 3), n_mlp=2,
            channels={4: 16, 8: 16, 16: 8, 32: 8, 64: 8}, width=4)


def test_tiny_model_trains_exports_and_round_trips(tmp_path, data_root, face):
    task = StyleganScalableTask(**TINY)
    config = TrainConfig(out=tmp_path, steps=24, batch_size=2, patch=64, resize=64, lr=2e-3, val_every=12,
                         checkpoint_every=24, data_root=str(data_root), max_train_images=16, progress=False)
    torch.manual_seed(0)
    before_model = task.build_model()
    from lamina.data.training import center_crops, split_items
    _, val_items = split_items("utk", root=data_root)
    val = center_crops(val_items[:4], 64, resize=64)
    with torch.no_grad():
        before = task.validate(before_model.eval(), val)["J"]
    train(task, config)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-1]["val"]["J"] < before, (before, log[-1]["val"])
    codec = StyleganScalable(weights=tmp_path / "stylegan-scalable-q1.pt")
    stream = codec.encode(face)
    assert [name for name, _ in stream.layer_sizes()] == ["basic", "middle", "enhanced"]
    decoded = [codec.decode(stream.to_bytes(), layers=k) for k in (1, 2, 3)]
    assert all(d.shape == face.shape for d in decoded)
    assert json.loads((tmp_path / "stylegan-scalable-q1.json").read_text())["lambda"] == 10.0
    # (After 24 steps the rate term may have rounded the finer layers' styles to zero, so the decoded layers
    # are not required to differ here; tests/codecs/test_stylegan_scalable.py checks that with real styles.)
    assert all(size > 0 for _, size in stream.layer_sizes())

    # Second phase: adversarial, warm-started from the export above.
    phase2 = tmp_path / "adversarial"
    adv_task = StyleganScalableTask(adversarial=True, **TINY)
    train(adv_task, TrainConfig(out=phase2, steps=3, batch_size=2, patch=64, resize=64, lr=2e-3, betas=(0.0, 0.99),
                                val_every=3, checkpoint_every=3, data_root=str(data_root), max_train_images=16,
                                progress=False, init_from=str(tmp_path / "stylegan-scalable-q1.pt")))
    checkpoint = torch.load(phase2 / "checkpoint.pt", weights_only=True)
    assert set(checkpoint["optimisers"]) == {"main", "aux", "disc"}
    torch.manual_seed(0)  # the loop's initial weights: same seed, same discriminator before training
    initial = adv_task.build_model().discriminator.state_dict()
    trained = {k[len("discriminator."):]: v for k, v in checkpoint["model"].items() if k.startswith("discriminator.")}
    assert trained.keys() == initial.keys()
    assert any(not torch.equal(trained[k], initial[k]) for k in initial), "the discriminator was never updated"
    # Warm start: the second phase starts from the first phase's weights, not from a fresh initialisation.
    first = torch.load(tmp_path / "stylegan-scalable-q1.pt", weights_only=True)["state_dict"]
    second = torch.load(phase2 / "stylegan-scalable-q1.pt", weights_only=True)["state_dict"]
    assert not any(k.startswith("discriminator.") for k in second)
    fresh = before_model.state_dict()
    name = "encoder.stem.0.weight"
    assert (second[name].float() - first[name].float()).abs().max() < (first[name].float() - fresh[name]).abs().max()
    card = json.loads((phase2 / "stylegan-scalable-q1.json").read_text())
    assert "with the adversarial term" in card["objective"]
    adversarial = StyleganScalable(weights=phase2 / "stylegan-scalable-q1.pt")
    assert adversarial.decode(adversarial.encode(face).to_bytes(), layers=3).shape == face.shape
