"""One training path: `lamina train NAME --stage S` fills a stage's typed config (a dataclass, or a function's
keywords) with what the command line gives; every default lives once, in that config. codebook-svr and
progressive-mask train, checkpoint, resume and export through it on tiny synthetic caches."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lamina.cli import build_parser
from lamina.errors import InputError


def parse(*argv):
    return build_parser("train").parse_args(["train", *argv])


def test_options_not_given_take_the_stage_config_defaults_and_given_ones_win():
    from lamina.codecs.codebook_svr.task import TrainConfig as SVRConfig
    from lamina.codecs.progressive_mask.task import TrainConfig as PMConfig
    from lamina.train.trainable import config_from, loop_config
    svr = config_from(SVRConfig, parse("codebook-svr", "--codebook", "b.pt", "--out", "r"))
    assert (svr.lr, svr.batch_size, svr.factor, svr.val_every, svr.seed) == (1e-3, 16, "2,4", 250, 0)
    pm = config_from(PMConfig, parse("progressive-mask", "--out", "r"))
    assert (pm.lr, pm.batch_size, pm.sfm_weight, pm.crop, pm.device) == (2e-4, 8, 10.0, 128, "cpu")
    shared = loop_config(parse("hyperprior", "--out", "r", "--steps", "5"))
    assert (shared.lr, shared.batch_size, shared.patch, shared.betas, shared.data) == (1e-4, 8, 128, (0.9, 0.999), "utk")
    svr = config_from(SVRConfig, parse("codebook-svr", "--codebook", "b.pt", "--out", "r", "--lr", "5e-4",
                                       "--batch-size", "4", "--factor", "4", "--pixel-weight", "1", "--resume"))
    assert (svr.lr, svr.batch_size, svr.factor, svr.pixel_weight, svr.resume) == (5e-4, 4, "4", 1.0, True)
    pm = config_from(PMConfig, parse("progressive-mask", "--out", "r", "--crop", "224", "--gan-weight", "0",
                                     "--max-minutes", "2", "--variant", "mpgc1"))
    assert (pm.crop, pm.gan_weight, pm.max_minutes, pm.variant) == (224, 0.0, 2.0, "mpgc1")
    shared = loop_config(parse("hyperprior", "--out", "r", "--steps", "5", "--betas", "0", "0.99", "--lr", "1e-3"))
    assert (shared.betas, shared.lr, shared.checkpoint_every) == ((0.0, 0.99), 1e-3, 500)


def test_no_inner_argument_parser_in_lamina():
    """The CLI is the one argument parser: stage functions take typed arguments."""
    lamina = Path(__file__).resolve().parents[2] / "lamina"
    parsers = [p.relative_to(lamina).as_posix() for p in lamina.rglob("*.py") if "argparse" in p.read_text()]
    assert parsers == ["cli.py"]


def test_bad_stage_arguments_are_input_errors():
    from lamina.registry import trainables
    svr = trainables()["codebook-svr"]
    with pytest.raises(InputError, match="--codebook and --out"):
        svr.run("train", parse("codebook-svr", "--out", "r"))
    with pytest.raises(InputError, match="K/N"):
        svr.run("cache", parse("codebook-svr", "--part", "2/2"))
    with pytest.raises(InputError, match="JSON object"):
        svr.run("export", parse("codebook-svr", "--run", "r", "--quality", "1", "--lq-quality", "42", "--card", "[1]"))


def _svr_cache(folder: Path, count: int = 21) -> None:
    rng = np.random.default_rng(0)
    plain, coded = [], []
    for i in range(count):
        record = {"name": f"x{i}", "latent": torch.from_numpy(rng.normal(size=(32, 16, 16))).half(),
                  "down2": torch.from_numpy(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)),
                  "down4": torch.from_numpy(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))}
        plain.append(record)
        coded.append({**record, "lq4-vvc": (42, record["down4"], 50), "lq2-vvc": (42, record["down2"], 90)})
    folder.mkdir()
    torch.save(plain, folder / "part0of1.pt")
    torch.save(coded, folder / "lq-part0of1.pt")


def test_codebook_svr_stages_train_resume_and_export(tmp_path, monkeypatch):
    from lamina.codecs.codebook_svr import task
    from lamina.codecs.codebook_svr.model import load_model
    _svr_cache(tmp_path / "cache")
    book = tmp_path / "book.pt"
    task.build_codebook(book, grid=2, codes=8, iterations=2, cache=tmp_path / "cache")
    assert torch.load(book, weights_only=True)["codebook"].shape == (8, 128)
    config = task.TrainConfig(codebook=book, out=tmp_path / "run", cache=tmp_path / "cache", steps=2,
                              batch_size=2, val_every=1, width=8)
    task.train(config)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2] and all(np.isfinite(row["mse_svr"]) for row in log)
    config.steps, config.resume = 3, True
    task.train(config)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 3
    monkeypatch.setattr(task.zoo, "path", lambda codec, quality: tmp_path / f"{codec}-q{quality}.pt")
    path = task.export(tmp_path / "run", quality=2, lq_quality=47, factor=4, card={"note": "test"})
    model, _ = load_model(path)
    assert model.config["lq_quality"] == 47 and model.config["factor"] == 4
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["note"] == "test" and card["trained_steps"] == 3


def test_progressive_mask_latent_phase_trains_and_resumes(tmp_path):
    from lamina.codecs.progressive_mask import task
    rng = np.random.default_rng(0)

    def split(n):
        return {"images": torch.from_numpy(rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)),
                "latents": torch.from_numpy(rng.normal(size=(n, 32, 28, 28))).half(),
                "sims": torch.from_numpy(rng.random((n, 7, 7))).half(), "labels": torch.arange(n)}
    torch.save({"train": split(4), "val": split(2)}, tmp_path / "cache.pt")
    config = task.TrainConfig(out=tmp_path / "run", cache=tmp_path / "cache.pt", phase="latent", width=8, crop=64,
                              batch_size=2, steps=2, lr=1e-3)
    task.train(config)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["final"] and log[-1]["step"] == 2 and 0 <= log[-1]["top1_full"] <= 1
    config.steps, config.resume = 3, True
    task.train(config)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3 and state["args"]["out"] == str(tmp_path / "run")
