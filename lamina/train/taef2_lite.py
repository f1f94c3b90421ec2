"""`lamina train taef2-lite`: a cheaper TAEF2 decoder distilled from the pretrained one (issue 25: the TAEF2
decoder is 60-80% of every generative decoder's time). The student (`lamina.nn.taef2.lite_decoder`) keeps the
teacher's layers up to 2x the latent's side and narrows the last two stages; it starts from the teacher's weights
(channels sliced) and learns to reproduce the teacher's images (L1 + LPIPS-alex against the teacher's output) from
TAEF2 latents of training images — faces at 256 and 128 (celeba-train) and natural images (imagenette-train). No
test split is used; the last images of each set are held out for the numbers the run reports.

    lamina train taef2-lite --stage cache --out runs/taef2-lite/cache.pt
    lamina train taef2-lite --stage calibration --cache runs/taef2-lite/cache.pt   # -> lamina/zoo/taef2-calibration.npz
    lamina train taef2-lite --stage train --cache runs/taef2-lite/cache.pt --out runs/taef2-lite/A [--resume]
    lamina train taef2-lite --stage export --run runs/taef2-lite/A      # -> lamina/zoo/taef2-lite.pt
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..nn import taef2
from ..errors import InputError
from ..options import Option
from ..registry import add_trainable
from .trainable import Trainable, config_from, given

CACHE = Path("runs/taef2-lite/cache.pt")
# (dataset, images, side): the latents the student learns from; the last HELD_OUT of each are held out.
SOURCES = (("celeba-train", 480, 256), ("celeba-train-128", 480, 128), ("imagenette-train", 640, 224))
HELD_OUT = 16


def _images(name: str, limit: int, side: int):
    from ..data.datasets import load_dataset
    if name == "celeba-train-128":  # other faces than the 256 set: from the end of celeba-train
        items = load_dataset("celeba-train")
        items = items[len(items) - limit:]
    else:
        items = load_dataset(name, limit=limit)
    for item in items:
        image = torch.from_numpy(np.ascontiguousarray(item.image())).permute(2, 0, 1)[None].float() / 255
        yield F.interpolate(image, size=(side, side), mode="bilinear", antialias=True, align_corners=False)


def cache(out: Path = CACHE) -> Path:
    """TAEF2 latents (fp16) of SOURCES' images, one tensor per (dataset, side)."""
    encoder = taef2.load_encoder()
    latents = {}
    with torch.no_grad():
        for name, limit, side in SOURCES:
            latents[name] = torch.cat([encoder(image).half() for image in _images(name, limit, side)])
            print(f"{name}: {tuple(latents[name].shape)}", flush=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"sources": SOURCES, "held_out": HELD_OUT, "latents": latents}, out)
    return out


def calibration(cache: Path = CACHE, out: Path | None = None, per_source: int = 8) -> Path:
    """The int8 decoders' calibration latents (lamina/zoo/taef2-calibration.npz, fp16): `per_source` training
    latents of each cached set, 16x16 windows (a face codec's whole latent; the centre of larger ones)."""
    data = torch.load(cache, weights_only=True)
    chosen = []
    for tensor in data["latents"].values():
        picks = np.linspace(0, len(tensor) - data["held_out"] - 1, per_source).round().astype(int)
        for z in tensor[picks]:
            y, x = (s // 2 - 8 for s in z.shape[1:])
            chosen.append(z[:, y:y + 16, x:x + 16].numpy())
    out = Path(out) if out else taef2.calibration_file()
    np.savez_compressed(out, latents=np.stack(chosen).astype(np.float16))
    return out


def init_from_teacher(student: torch.nn.Sequential, teacher: torch.nn.Sequential) -> None:
    """Copy the teacher's weights into the student, sliced to its shapes: the student's layers with parameters
    map in order onto the teacher's, its last three (4x->8x conv, 8x block, output conv) onto the teacher's last
    three; extra teacher blocks at 4x are dropped."""
    def with_params(net):
        return [m for m in net if any(True for _ in m.parameters())]
    s_layers, t_layers = with_params(student), with_params(teacher)
    pairs = list(zip(s_layers[:-3], t_layers)) + list(zip(s_layers[-3:], t_layers[-3:]))
    with torch.no_grad():
        for s_mod, t_mod in pairs:
            t_state = t_mod.state_dict()
            for key, value in s_mod.state_dict().items():
                source = t_state[key]
                value.copy_(source[tuple(slice(0, n) for n in value.shape)])


@dataclass
class LiteConfig:
    """One distillation run; defaults live here only."""

    cache: Path = CACHE
    out: Path = Path("runs/taef2-lite/run")
    mid: int = 32
    top: int = 16
    mid_blocks: int = 2
    batch: int = 4
    window: int = 16           # latent crop side (output 8x)
    lr: float = 3e-4
    cosine: bool = False       # decay the learning rate to 5% of lr along a cosine over `steps`
    lpips_weight: float = 1.0
    steps: int = 100000
    minutes: float = 0.0       # stop after this many minutes of this invocation (0: no limit)
    checkpoint_minutes: float = 10.0
    eval_every: int = 200
    seed: int = 0


def _split(latents: dict, held_out: int):
    train, held = [], []
    for name, tensor in latents.items():
        train.append(tensor[:-held_out])
        held.extend(tensor[-held_out:])
    return train, held


def _batch(train: list, config: LiteConfig, rng: np.random.Generator) -> torch.Tensor:
    out = []
    for _ in range(config.batch):
        tensor = train[rng.integers(len(train))]
        z = tensor[rng.integers(len(tensor))]
        y, x = (int(rng.integers(0, s - config.window + 1)) for s in z.shape[1:])
        z = z[:, y:y + config.window, x:x + config.window]
        out.append(z.flip(-1) if rng.random() < 0.5 else z)
    return torch.stack(out).float()


def evaluate(student, held: list, lpips) -> dict:
    """Held-out PSNR and LPIPS-alex (`lpips`: lamina.nn.perceptual.LPIPS) of the student's images against the
    teacher's (whole latents)."""
    psnr, dist = [], []
    with torch.no_grad():
        for z in held:
            z = z[None].float()
            a, b = student(z).clamp(0, 1), taef2.decode(z).clamp(0, 1)
            mse = float(((a - b) ** 2).mean())
            psnr.append(10 * np.log10(1 / max(mse, 1e-10)))
            dist.append(float(lpips(a, b)))
    return {"psnr_vs_teacher": round(float(np.mean(psnr)), 3), "lpips_vs_teacher": round(float(np.mean(dist)), 4)}


def train(config: LiteConfig, resume: bool = False) -> dict:
    from ..nn.perceptual import LPIPS
    torch.manual_seed(config.seed)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    data = torch.load(config.cache, weights_only=True)
    train_sets, held = _split(data["latents"], data["held_out"])
    student = taef2.lite_decoder(config.mid, config.top, config.mid_blocks)
    optimizer = torch.optim.Adam(student.parameters(), lr=config.lr)
    step, log = 0, []
    checkpoint = out / "checkpoint.pt"
    lpips = LPIPS("alex")
    start = last_save = time.time()

    def record(**extra) -> None:
        """Log (and print) the held-out numbers at this step."""
        log.append({"step": step, **extra, **evaluate(student.eval(), held, lpips)})
        print(json.dumps(log[-1]), flush=True)
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        student.load_state_dict(state["student"])
        optimizer.load_state_dict(state["optimizer"])
        step, log = state["step"], state["log"]
    else:
        init_from_teacher(student, taef2.load_decoder())
        record()
    rng = np.random.default_rng(config.seed + step)

    def save():
        torch.save({"student": student.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                    "log": log, "config": {k: str(v) if isinstance(v, Path) else v
                                           for k, v in asdict(config).items()}}, checkpoint)

    while step < config.steps:
        student.train()
        if config.cosine:
            for group in optimizer.param_groups:
                group["lr"] = config.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / config.steps)))
        z = _batch(train_sets, config, rng)
        with torch.no_grad():  # the teacher in its fast runtime (ONNX Runtime, same images to ~1e-6)
            target = taef2.decode(z).clamp(0, 1)
        image = student(z)
        loss = (image - target).abs().mean() + config.lpips_weight * lpips(image.clamp(0, 1), target).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % config.eval_every == 0:
            record(loss=round(loss.item(), 4), minutes=round((time.time() - start) / 60, 1))
        if time.time() - last_save > 60 * config.checkpoint_minutes:
            save()
            last_save = time.time()
        if config.minutes and time.time() - start > 60 * config.minutes:
            break
    if log[-1]["step"] != step:  # the held-out numbers of the weights as saved
        record(minutes=round((time.time() - start) / 60, 1))
    save()
    return log[-1]


def export(run: Path, out: Path | None = None) -> Path:
    """The run's student as committed weights (fp16 parameters, lamina-weights-v1, with a card)."""
    from ..zoo import ROOT, fp16_parameters, save
    state = torch.load(Path(run) / "checkpoint.pt", weights_only=False)
    config = {k: state["config"][k] for k in ("mid", "top", "mid_blocks")}
    student = taef2.lite_decoder(**config)
    student.load_state_dict(state["student"])
    out = Path(out) if out else ROOT / "taef2-lite.pt"
    card = {"held_out": state["log"][-1], "steps": state["step"], "trained_on": [s[0] for s in SOURCES],
            "teacher": "TAEF2 decoder (../shared/data/weights/taef2/, MIT)"}
    save(out, "taef2-lite", config, fp16_parameters(student), card)
    return out


def _cache_stage(args) -> str:
    return f"cache -> {cache(**given(args, 'out'))}"


def _calibration_stage(args) -> str:
    return f"calibration -> {calibration(**given(args, 'cache', out='out'))}"


def _train_stage(args) -> str:
    config = config_from(LiteConfig, args, batch="batch_size", minutes="max_minutes")
    return json.dumps(train(config, resume=bool(args.resume)))


def _export_stage(args) -> str:
    if not args.run:
        raise InputError("taef2-lite export needs --run (the training run's folder)")
    return f"export -> {export(Path(args.run), Path(args.out) if args.out else None)}"


add_trainable(Trainable(
    "taef2-lite", "a cheaper TAEF2 decoder distilled from the pretrained one; stages: cache, calibration, train, export",
    {"cache": _cache_stage, "calibration": _calibration_stage, "train": _train_stage, "export": _export_stage},
    options=(Option("--cache", "cache", type=Path, help="taef2-lite train: the latents of stage cache"),
             Option("--mid", "mid", type=int, help="taef2-lite train: channels at 4x the latent's side"),
             Option("--top", "top", type=int, help="taef2-lite train: channels at 8x"),
             Option("--mid-blocks", "mid_blocks", type=int, help="taef2-lite train: blocks at 4x"),
             Option("--window", "window", type=int, help="taef2-lite train: latent crop side"),
             Option("--lpips-weight", "lpips_weight", type=float, help="taef2-lite train: LPIPS weight"),
             Option("--cosine", "cosine", type=bool, help="taef2-lite train: cosine learning-rate decay over --steps"),
             Option("--eval-every", "eval_every", type=int, help="taef2-lite train: steps between held-out checks"),
             Option("--run", "run", help="taef2-lite export: the training run's folder")),
    default_stage="train"))
