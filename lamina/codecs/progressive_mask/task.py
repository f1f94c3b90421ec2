"""Training of progressive-mask (RMPGC and its ablations) on Imagenette train at 128 px crops, on CPU.

Stages (`lamina train progressive-mask --stage ...`):
- cache: per Imagenette train image (224x224): the image, its frozen TAEF2 latent (32 x 28 x 28, fp16) and the
  Grad-CAM++ map of EfficientNet-Lite0 for its predicted class (7x7). The last 10 images of every class are the
  held-out validation split (100), never trained on.
- train: losses of eq. 18 / 30-35: λ_MSE·MSE + λ_SFM·SFM (VGG16 relu1_2..relu4_3, weights 1/32..1/4) +
  λ_GAN·LSGAN (3-scale discriminator on [image, U]) + λ_R·||v||_1, every term divided by its running mean
  (EMA, the paper's "historical mean"); λ = 1, 10, 1, 1. Conditions per sample: rmpgc U ∈ {0, M, 1},
  mpgc2 U ∈ {M, 1}, mpgc1 (also VRGC's network) U = 1. `--phase latent` (taef2 space only) trains against the
  TAEF2 latent of the crop (MSE in latent space + λ_R·v), a cheap warm-up that needs no decoder pass.
- export: a zoo file from a run's checkpoint.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import InputError

from .objective import LAMBDA, SFM, Discriminator, RunningMean
from .model import BASE, CHANNELS, CODEC, PMModel, channel_variance, importance, quantize, save_model, \
    top_mask

CACHE = Path("runs/progressive-mask/cache.pt")
CROP = 128


def split_items():
    """(train, validation) Imagenette train items: the last 10 of every class are held out."""
    from ...data.datasets import load_dataset
    items = load_dataset("imagenette-train")
    by_class: dict[int, list] = {}
    for item in items:
        by_class.setdefault(item.imagenet_class, []).append(item)
    train, val = [], []
    for group in by_class.values():
        train += group[:-10]
        val += group[-10:]
    return train, val


def cache(out: Path = CACHE) -> None:
    from ...nn.taef2 import load_encoder
    from ...vision.classify import gradcam_pp_batch
    torch.set_num_threads(1)
    encoder = load_encoder()
    records = {}
    for split, items in zip(("train", "val"), split_items()):
        images, latents, sims, labels = [], [], [], []
        for start in range(0, len(items), 16):
            batch = np.stack([item.image() for item in items[start:start + 16]])
            if batch.shape[1:3] != (224, 224):
                raise ValueError("imagenette images are 224x224")
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255
            with torch.no_grad():
                latents.append(encoder(x).half())
            cam, _ = gradcam_pp_batch((x * 255 - 127) / 128)
            sims.append(cam.half())
            images.append(torch.from_numpy(batch))
            labels += [item.imagenet_class for item in items[start:start + 16]]
            print(split, start, flush=True)
        records[split] = {"images": torch.cat(images), "latents": torch.cat(latents), "sims": torch.cat(sims),
                          "labels": torch.tensor(labels)}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(records, out)


class Batches:
    """Random 128 px crops aligned to the 8 px latent grid: image, TAEF2 latent and the crop's SIM (16x16)."""

    def __init__(self, split: dict, crop: int = CROP):
        self.images, self.latents, self.crop = split["images"], split["latents"], crop
        sims = F.interpolate(split["sims"].float()[:, None], size=(28, 28), mode="bilinear", align_corners=False)
        self.sims = sims[:, 0]

    def batch(self, size: int, rng: np.random.Generator):
        idx = rng.integers(0, len(self.images), size)
        crop = self.crop
        ox, oy = rng.integers(0, 28 - crop // 8 + 1, (2, size))
        g = crop // 8
        x = torch.stack([self.images[i, 8 * b:8 * b + crop, 8 * a:8 * a + crop] for i, a, b in zip(idx, ox, oy)])
        t = torch.stack([self.latents[i, :, b:b + g, a:a + g] for i, a, b in zip(idx, ox, oy)]).float()
        s = torch.stack([self.sims[i, b:b + g, a:a + g] for i, a, b in zip(idx, ox, oy)])
        return x.permute(0, 3, 1, 2).float() / 255, t, s


def conditions(z: torch.Tensor, sims: torch.Tensor, variant: str, rng: np.random.Generator) -> torch.Tensor:
    """U per sample (N x 1 x h x w): 0 (base only), M (top-S of the blended importance map, S uniform in
    10-90% of the positions) or 1 (full), drawn uniformly among the variant's conditions."""
    n, _, h, w = z.shape
    choices = {"rmpgc": (0, 1, 2), "mpgc2": (1, 2), "mpgc1": (2,)}[variant]
    lcm = channel_variance(z.detach()).numpy()
    out = np.zeros((n, 1, h, w), dtype=np.float32)
    for i in range(n):
        kind = choices[rng.integers(len(choices))]
        if kind == 2:
            out[i] = 1
        elif kind == 1:
            count = int(rng.integers(int(0.1 * h * w), int(0.9 * h * w) + 1))
            out[i, 0] = top_mask(importance(sims[i].numpy(), lcm[i]), count)
    return torch.from_numpy(out)


@torch.no_grad()
def validate(model: PMModel, split: dict, decoder=None, limit: int = 100, device="cpu") -> dict:
    """Held-out numbers at 224 px: PSNR and EfficientNet-Lite0 top-1 of the full latent (U = 1) and of the base
    layers alone (U = 0, rmpgc only), and the empirical entropy of the symbols (bits per pixel, order 0)."""
    from ...vision.classify import efficientnet_lite0
    net = efficientnet_lite0().to(device)
    images = split["images"][:limit].permute(0, 3, 1, 2).float() / 255
    labels = split["labels"][:limit]
    out = {}
    for name, value in (("full", 1.0), ("base", 0.0)):
        if name == "base" and not model.conditioned:
            continue
        psnrs, correct, symbols = [], 0, []
        for start in range(0, len(images), 20):
            x = images[start:start + 20].to(device)
            inp = split["latents"][start:start + 20].float().to(device) if model.space == "taef2" else x
            zq = quantize(model.encode_latent(inp))
            symbols.append(zq)
            u = torch.full_like(zq[:, :1], value)
            y = model.decode_latent(model.masked(zq, u), u)
            y = (decoder(y) if model.space == "taef2" else y).clamp(0, 1)
            y = (y * 255).round() / 255
            mse = ((y - x) ** 2).flatten(1).mean(1)
            psnrs += (10 * torch.log10(1 / mse.clamp(min=1e-10))).cpu().tolist()
            correct += int((net((y * 255 - 127) / 128).argmax(1).cpu() == labels[start:start + 20]).sum())
        out[f"psnr_{name}"] = round(float(np.mean(psnrs)), 3)
        out[f"top1_{name}"] = round(correct / len(images), 3)
        zq = torch.cat(symbols)
        bits = 0.0
        for c in range(CHANNELS if name == "full" else BASE):
            p = torch.bincount((zq[:, c] + 2).long().flatten().cpu(), minlength=5).double()
            p = p[p > 0] / p.sum()
            bits += float(-(p * p.log2()).sum())
        out[f"bpp_{name}"] = round(bits / 64, 4)
    return out


@dataclass
class TrainConfig:
    """One training run (phase) of a variant; its defaults live here only (`lamina train progressive-mask --stage
    train` fills what the command line gives)."""

    out: Path                       # the run folder (checkpoint.pt, log.jsonl)
    cache: Path = CACHE             # what stage cache wrote
    space: str = "taef2"            # taef2 (heads around the frozen TAEF2) or pixel
    variant: str = "rmpgc"          # conditions: rmpgc 0/M/1, mpgc2 M/1, mpgc1 unconditioned
    phase: str = "full"             # latent (TAEF2-latent MSE warm-up) or full (pixel losses)
    width: int = 128
    lr: float = 2e-4
    batch_size: int = 8
    sfm_weight: float = LAMBDA["sfm"]
    gan_weight: float = LAMBDA["gan"]
    rate_weight: float = LAMBDA["rate"]   # not normalised by its running mean
    steps: int = 10 ** 9
    clip: float = 1.0               # gradient norm clip
    crop: int = CROP                # training crop side (multiple of 8, at most 224)
    device: str = "cpu"
    max_minutes: float = 30         # this invocation's training minutes (a resumed run gets them again)
    val_minutes: float = 10
    threads: int = 1
    seed: int = 0
    resume: bool = False
    init_from: Path | None = None   # a run folder (e.g. the latent warm-up) to start from


def train(config: TrainConfig) -> Path:
    """Train (or continue, with resume) a run; returns its checkpoint."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    records = torch.load(config.cache, weights_only=True)
    batches = Batches(records["train"], config.crop)
    device = torch.device(config.device)
    model = PMModel(space=config.space, width=config.width, conditioned=config.variant != "mpgc1", variant=config.variant)
    pixel = config.phase == "full" or config.space == "pixel"
    decoder = None
    if config.space == "taef2":
        from ...nn.taef2 import load_decoder
        decoder = load_decoder().requires_grad_(False)
    disc = Discriminator(3 + (1 if model.conditioned else 0)) if pixel and config.gan_weight > 0 else None
    sfm = SFM() if pixel and config.sfm_weight > 0 else None
    model.to(device)
    for net in (decoder, disc, sfm):
        if net is not None:
            net.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=(0.5, 0.999)) if disc else None
    norm = RunningMean()
    step, ckpt, log = 0, out / "checkpoint.pt", out / "log.jsonl"
    if config.init_from:
        state = torch.load(Path(config.init_from) / "checkpoint.pt", weights_only=True)["model"]
        own = model.state_dict()
        for k, v in state.items():  # an unconditioned warm-up starts a conditioned net: U's input weights at 0
            if k in own and own[k].shape != v.shape and own[k].dim() == 4 and own[k].shape[1] == v.shape[1] + 1:
                w = torch.zeros_like(own[k])
                w[:, :v.shape[1]] = v
                state[k] = w
        model.load_state_dict(state)
    if config.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if disc and "disc" in state:
            disc.load_state_dict(state["disc"])
            opt_d.load_state_dict(state["opt_d"])
        step = state["step"]
        norm.values = state.get("norm", {})

    def checkpoint():
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": model.config,
                 "norm": norm.values,
                 "args": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}}
        if disc:
            state.update(disc=disc.state_dict(), opt_d=opt_d.state_dict())
        torch.save(state, ckpt)

    start = last_ckpt = last_val = time.time()
    while time.time() - start < config.max_minutes * 60 and step < config.steps:
        x, t, s = (v.to(device) for v in batches.batch(config.batch_size, rng))
        z = model.encode_latent(t if config.space == "taef2" else x)
        zq = quantize(z, soft=True)
        u = conditions(z.cpu(), s.cpu(), config.variant, rng).to(device)
        y = model.decode_latent(model.masked(zq, u), u)
        rate = channel_variance(z).mean()
        terms = {"rate": rate}
        if not pixel:
            terms["mse"] = F.mse_loss(y, t)
        else:
            image = decoder(y) if config.space == "taef2" else y
            terms["mse"] = F.mse_loss(image, x)
            if sfm is not None:
                terms["sfm"] = sfm(image, x)
            if disc is not None:
                cond = F.interpolate(u, scale_factor=8, mode="nearest") if model.conditioned else None
                fake = torch.cat([image, cond], 1) if cond is not None else image
                real = torch.cat([x, cond], 1) if cond is not None else x
                d_loss = sum(((o - 1) ** 2).mean() for o in disc(real)) + \
                    sum((o ** 2).mean() for o in disc(fake.detach()))
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
                terms["gan"] = sum(((o - 1) ** 2).mean() for o in disc(fake))
        weights = {"mse": 1.0, "sfm": config.sfm_weight, "gan": config.gan_weight, "rate": config.rate_weight}
        # distortion terms are divided by their running means (the paper's normalisation); the rate proxy is not:
        # v / mean(v) is d log v, which rewards collapsing every channel to the same value without bound
        loss = sum(weights[k] * (v if k == "rate" else norm(k, v)) for k, v in terms.items())
        opt.zero_grad()
        loss.backward()
        # clipped: one unclipped spike in the first probe pushed z into tanh saturation for good
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
        step += 1
        if step % 50 == 0:
            print(json.dumps({"step": step, "minutes": round((time.time() - start) / 60, 2),
                              **{k: round(float(v.detach()), 5) for k, v in terms.items()}}), flush=True)
        if time.time() - last_val > config.val_minutes * 60:
            model.eval()
            row = {"step": step, "minutes": round((time.time() - start) / 60, 2),
                   **validate(model, records["val"], decoder, device=device)}
            model.train()
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            last_val = time.time()
        if time.time() - last_ckpt > 600:
            checkpoint()
            last_ckpt = time.time()
    checkpoint()
    model.eval()
    row = {"step": step, "minutes": round((time.time() - start) / 60, 2), "final": True,
           **validate(model, records["val"], decoder, device=device)}
    with log.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)
    return ckpt


def export(run: Path, path: Path | None = None, quality: int = 1, card: dict | None = None,
           residual_steps: tuple[float, ...] = (1.5, 1.0)) -> Path:
    """A zoo file (the quality's, or `path`) from a run's checkpoint; residual_steps are the quantisation steps of
    the two residual layers (benchmarks/progressive_mask/residual_steps.py)."""
    state = torch.load(Path(run) / "checkpoint.pt", weights_only=True)
    config = dict(state["config"], residual_steps=[float(v) for v in residual_steps])
    model = PMModel(**config)
    model.load_state_dict(state["model"])
    from ... import zoo
    path = Path(path) if path else zoo.path(CODEC, quality)
    card = {"trained_steps": state["step"], "run": str(run), "train_args": state.get("args"), **(card or {})}
    print(path, save_model(model, path, card).hex())
    return path


# ------------------------------------------------------------------------------------------ lamina train
def _stage(args, stage: str) -> str:
    from ...train.trainable import config_from, json_card
    if stage == "cache":
        out = Path(args.out or CACHE)
        cache(out)
        return f"cache -> {out}"
    if stage == "train":
        if not args.out:
            raise InputError("give --out (the run folder)")
        return f"trained progressive-mask -> {train(config_from(TrainConfig, args))}"
    if not args.run:
        raise InputError("give --run (the training run folder)")
    return f"exported progressive-mask -> {export(Path(args.run), args.weights, card=json_card(args.card))}"


def _register() -> None:
    from ...options import Option
    from ...registry import add_trainable
    from ...train.trainable import Trainable
    options = (
        Option("--cache", "cache", help="progressive-mask: the cache file (stage cache writes it, train reads it)"),
        Option("--space", "space", choices=("taef2", "pixel"), help="progressive-mask train: latent space"),
        Option("--variant", "variant", choices=("rmpgc", "mpgc2", "mpgc1"),
               help="progressive-mask train: conditions (rmpgc 0/M/1, mpgc2 M/1, mpgc1 unconditioned)"),
        Option("--phase", "phase", choices=("latent", "full"),
               help="progressive-mask train: latent (TAEF2-latent MSE warm-up) or full (pixel losses)"),
        Option("--sfm-weight", "sfm_weight", type=float, help="progressive-mask train: λ_SFM (default 10)"),
        Option("--gan-weight", "gan_weight", type=float, help="progressive-mask train: λ_GAN (default 1)"),
        Option("--rate-weight", "rate_weight", type=float, help="progressive-mask train: λ_R (default 0.1, not normalised)"),
        Option("--crop", "crop", type=int, help="progressive-mask train: crop side (multiple of 8, at most 224)"),
        Option("--threads", "threads", type=int, help="training threads (codebook-svr, progressive-mask; default 1)"),
        Option("--val-minutes", "val_minutes", type=float, help="progressive-mask train: validate every N minutes"),
        Option("--run", "run", help="progressive-mask export: the training run folder"),
        Option("--weights", "weights", help="progressive-mask export: output file (default the zoo's q1)"),
        Option("--card", "card", help="progressive-mask export: extra model-card fields as a JSON object"),
    )
    stages = {name: (lambda args, name=name: _stage(args, name)) for name in ("train", "cache", "export")}
    add_trainable(Trainable(CODEC, "progressive-mask (RMPGC): stages cache (latents + Grad-CAM++ maps), train "
                                   "(--variant, --phase), export (--run)", stages, options, default_stage="train"))


_register()
