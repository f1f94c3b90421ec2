"""lamina's face prior (lamina.priors): TAEF2 loads and round-trips a face, the tiny preset trains through the
shared loop from a cache, exports and reloads exactly, layers change the output, resume refuses another
configuration."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina.errors import InputError


def test_taef2_round_trips_a_face(face):
    from lamina.imageio import to_tensor
    from lamina.nn.taef2 import load_decoder, load_encoder
    x = torch.nn.functional.interpolate(to_tensor(face), size=(128, 128), mode="bilinear", antialias=True)
    with torch.no_grad():
        z = load_encoder()(x)
        y = load_decoder()(z).clamp(0, 1)
    assert z.shape == (1, 32, 16, 16)
    psnr = float(-10 * torch.log10((y - x).pow(2).mean()))
    assert psnr > 28, psnr  # README: 33 dB on 128 px celeba-test faces


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_root):
    from lamina.priors.cache import build
    from lamina.priors.face_task import FacePriorTask
    from lamina.train.loop import TrainConfig, train
    root = tmp_path_factory.mktemp("prior")
    build(root / "cache", 128, "faces", root=data_root, limit=12)
    task = FacePriorTask("tiny", pixel_every=2, pixel_batch=2, identity_weight=0.5, landmark_weight=0.5,
                         rate_warmup=1, cache=root / "cache")
    config = TrainConfig(out=root / "run", steps=4, batch_size=4, lr=1e-3, val_every=4, checkpoint_every=2,
                         progress=False)
    train(task, config)
    return root, task, config


def test_tiny_prior_trains_exports_and_reloads(tiny_run, face):
    from lamina.priors.evaluate import reconstruct
    from lamina.priors.face import load_prior, save_prior
    root, _, _ = tiny_run
    model = load_prior(root / "run" / "face-prior-tiny.pt")
    assert (root / "run" / "face-prior-tiny.json").exists()
    copy = root / "copy.pt"
    save_prior(model, copy)
    again = load_prior(copy)
    styles = torch.round(torch.randn(2, model.n_styles, model.dim) * 3)
    with torch.no_grad():
        assert torch.equal(model.synthesize(styles, 3), again.synthesize(styles, 3))
        one, three = model.synthesize(styles, 1), model.synthesize(styles, 3)
        assert not torch.equal(one, three)  # the upper layers' styles reach the output
        # decoding k layers ignores the styles of layers above k
        other = styles.clone()
        other[:, model.groups[0]:] = 0
        assert torch.equal(model.synthesize(other, 1), one)
    bits = model.style_bits(styles)
    assert bits.shape == (2, 3) and bool((bits > 0).all())
    image = reconstruct(model, face, 2)
    assert image.shape == face.shape and image.dtype == np.uint8
    # the evaluation encodes once for all layer counts: the same pixels as one reconstruction per count
    from lamina.priors.evaluate import reconstructions
    assert all(np.array_equal(a, reconstruct(model, face, k))
               for k, a in zip((1, 2, 3), reconstructions(model, face, (1, 2, 3))))


def test_pixel_steps_carry_identity_and_landmark_terms_with_gradients(tiny_run):
    """The seed's multi-task terms on the prior (issue 23 probe (a)): on a pixel step the loss has the MobileFaceNet
    identity and heatmap landmark terms, and they reach the generator."""
    from lamina.train.loop import TrainConfig
    root, task, _ = tiny_run
    train, _ = task.make_data(TrainConfig(out=root / "unused", steps=1))
    model = task.build_model()
    task.set_step(0)
    terms = task.losses(model, train.batch(2, 0, 0, 0))
    assert {"identity", "landmarks", "lpips"} <= set(terms) and float(terms["landmarks"]) >= 0
    terms["landmarks"].backward()
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.generator.parameters())
    task.set_step(1)  # not a pixel step: latent terms only
    assert "landmarks" not in task.losses(model, train.batch(2, 0, 0, 1))


def test_the_export_stage_writes_the_weight_average_of_a_run_that_keeps_one(tiny_run):
    """`lamina train face-prior --stage export` of a run trained with --ema: the same weights as the loop's own
    export (the average), not the checkpoint's live weights."""
    from lamina.cli import main
    from lamina.priors.face_task import FacePriorTask
    from lamina.train.loop import TrainConfig, train
    root, _, _ = tiny_run
    task = FacePriorTask("tiny", pixel_every=0, rate_warmup=1, cache=root / "cache")
    out = root / "ema-run"
    train(task, TrainConfig(out=out, steps=3, batch_size=4, lr=1e-3, val_every=3, checkpoint_every=3,
                            progress=False, ema=0.5))
    assert main(["train", "face-prior", "--stage", "export", "--out", str(out),
                 "--weights", str(out / "staged.pt")]) == 0
    live = torch.load(out / "checkpoint.pt", weights_only=True)["model"]
    loop_export = torch.load(out / "face-prior-tiny.pt", weights_only=True)["state_dict"]
    staged = torch.load(out / "staged.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(staged[k], loop_export[k]) for k in loop_export)
    assert any(not torch.equal(staged[k].float(), live[k].float().half().float()) for k in staged
               if staged[k].is_floating_point())


def test_the_basic_landmark_term_reaches_the_basic_styles_only(tiny_run):
    """--basic-landmark-weight: on a pixel step the faces are also rendered from their basic layer alone; that
    term's gradient reaches the basic styles' encoder output and not the upper layers' styles."""
    from lamina.priors.face_task import FacePriorTask
    from lamina.train.loop import TrainConfig
    root, task, _ = tiny_run
    basic_task = FacePriorTask("tiny", pixel_every=2, pixel_batch=2, landmark_weight=0.5, basic_landmark_weight=1.0,
                               rate_warmup=1, cache=root / "cache")
    assert basic_task.fingerprint() != task.fingerprint()
    train, _ = basic_task.make_data(TrainConfig(out=root / "unused", steps=1))
    model = basic_task.build_model()
    basic_task.set_step(0)
    styles = []
    encode = model.encode
    model.encode = lambda x: styles.append(encode(x)) or styles[-1].retain_grad() or styles[-1]
    terms = basic_task.losses(model, train.batch(2, 0, 0, 0))
    assert float(terms["basic_landmarks"]) > 0
    terms["basic_landmarks"].backward()
    grad = styles[0].grad
    first = model.groups[0]
    assert bool(grad[:, :first].abs().sum() > 0) and float(grad[:, first:].abs().sum()) == 0.0


def test_identity_condition_starts_as_the_unconditioned_prior_and_learns_from_the_feature(tiny_run, face, tmp_path):
    """Probe (c): a conditioned prior warm-started from an unconditioned one decodes exactly as it (zero-initialised
    map); the decoded feature-texture identity feature is cached beside the faces and reaches the generator; the
    condition survives export, and synthesis without it is refused."""
    from lamina.priors.evaluate import reconstruct
    from lamina.priors.face import load_prior, save_prior
    from lamina.priors.face_task import FacePriorTask
    from lamina.train.loop import TrainConfig
    root, _, _ = tiny_run
    base = load_prior(root / "run" / "face-prior-tiny.pt")
    task = FacePriorTask("tiny", pixel_every=0, condition="identity", cache=root / "cache")
    train, validation = task.make_data(TrainConfig(out=root / "unused", steps=1))
    assert (root / "cache" / "identity-train-128.pt").exists()
    assert validation["condition"].shape == (len(validation["image"]), 128)
    assert torch.allclose(validation["condition"].norm(dim=1), torch.ones(1), atol=1e-2)  # unit norm, fp16
    model = task.build_model()
    task.warm_start(model, root / "run" / "face-prior-tiny.pt")
    model.eval()
    styles = torch.round(torch.randn(2, model.n_styles, model.dim) * 3)
    condition = validation["condition"][:2]
    with torch.no_grad():
        assert torch.equal(model.synthesize(styles, 2, condition), base.synthesize(styles, 2))
        model.condition.weight.normal_()
        moved = model.synthesize(styles, 2, condition)
        assert not torch.equal(moved, base.synthesize(styles, 2))
    with pytest.raises(InputError, match="identity"):
        model.synthesize(styles, 2)
    save_prior(model, tmp_path / "conditioned.pt")
    again = load_prior(tmp_path / "conditioned.pt")
    assert again.condition_dim == 128
    with torch.no_grad():
        assert torch.allclose(again.synthesize(styles, 2, condition), moved, atol=1e-2)  # fp16 file
    assert reconstruct(again, face, 3).shape == face.shape
    with pytest.raises(InputError, match="condition"):
        FacePriorTask("tiny", condition="age")


def test_resume_refuses_another_configuration(tiny_run):
    from lamina.priors.face_task import FacePriorTask
    from lamina.train.loop import train
    root, task, config = tiny_run
    other = FacePriorTask("tiny", pixel_every=3, cache=root / "cache")
    with pytest.raises(InputError, match="another training configuration"):
        train(other, config)
    from dataclasses import replace
    with pytest.raises(InputError, match="--resume"):
        train(task, replace(config, resume=False))


def test_foreign_weights_and_presets_are_refused(tmp_path):
    from lamina.priors.face import load_prior
    from lamina.priors.face_task import FacePriorTask
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something"}, bad)
    with pytest.raises(InputError):
        load_prior(bad)
    with pytest.raises(InputError, match="preset"):
        FacePriorTask("huge")


def test_stylegan_scalable_on_the_prior_codes_layers_from_real_bytes(tiny_run, monkeypatch, face, tmp_path):
    """The from-prior stage writes small per-quality files (entropy model + the prior's id); the codec encodes
    three layers, decodes each prefix, spends fewer bytes at a coarser coding step, and refuses a changed prior."""
    import shutil

    from lamina import zoo
    from lamina.codecs.stylegan_scalable.codec import StyleganScalable
    from lamina.codecs.stylegan_scalable.model import load_model
    from lamina.codecs.stylegan_scalable.task import from_prior
    from lamina.priors.face import load_prior, save_prior
    root, _, _ = tiny_run
    shutil.copy(root / "run" / "face-prior-tiny.pt", tmp_path / "face-prior.pt")
    monkeypatch.setattr(zoo, "ROOT", tmp_path)
    from_prior("face-prior", {1: 4.0, 3: 1.0}, steps=4, train_images=8)
    assert zoo.qualities("stylegan-scalable") == [1, 3]
    from lamina.batching import run_batched

    def check(quality: int) -> int:
        codec = StyleganScalable(quality=quality, check_face=False, detail_step=0)
        stream = codec.encode(face)
        data = stream.to_bytes()
        assert stream.declared_layers == ("basic", "middle", "enhanced")
        detailed = StyleganScalable(quality=quality, check_face=False, fine_step=0).encode(face)  # enhanced = residual
        assert detailed.declared_layers == stream.declared_layers and detailed.layers[:2] == stream.layers[:2]
        assert detailed.layers[2] != stream.layers[2]
        images = [codec.decode(data, layers=k) for k in (1, 2, 3)]
        assert all(image.shape == face.shape for image in images)
        assert np.array_equal(codec.decode(stream.truncate(1).to_bytes()), images[0])
        return len(data)
    sizes = dict(zip((1, 3), run_batched(check, (1, 3), batch=2)))  # the two qualities side by side (two cores)
    assert sizes[1] < sizes[3]
    changed = load_prior(tmp_path / "face-prior.pt")
    with torch.no_grad():
        changed.generator.input.input.add_(1)
    save_prior(changed, tmp_path / "face-prior.pt")
    with pytest.raises(InputError, match="refit"):
        load_model(zoo.path("stylegan-scalable", 3))
