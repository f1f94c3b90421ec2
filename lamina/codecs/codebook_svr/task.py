"""Training of codebook-svr on cached TAEF2 latents: stage 1 is the codebook (k-means in the frozen TAEF2 latent
space, the stand-in for FeMaSR's VQGAN pretraining); stage 2 trains E^LQ and CFT with the codebook and TAEF2 frozen
(the paper freezes E^emb and the codebooks; E^rec = TAEF2's decoder also stays frozen here): L = MSE(Y_mod, Y) in
latent space (Y the TAEF2 latent of the original, α = 1), optionally + w·(LPIPS-alex + L1) of the TAEF2-decoded
crop against the decoder's image of Y.

    lamina train codebook-svr --stage cache --part 0/2          # (and 1/2 in parallel): latents, 2x/4x images
    lamina train codebook-svr --stage lq --part 0/2             # the coded LQ images (VVC, mean-scale)
    lamina train codebook-svr --stage codebook --grid 2 --codes 256 --out runs/codebook-svr/codebook-g2-k256.pt
    lamina train codebook-svr --stage train --codebook runs/codebook-svr/codebook-g2-k256.pt --factor 2,4 \
        --lr 1e-3 --batch-size 8 --pixel-weight 1 --max-minutes 57 --out runs/codebook-svr/long/g2-k256/main [--resume]
    lamina train codebook-svr --stage export --run ... --quality 1 --lq-factor 4 --lq-quality 47
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ... import zoo
from ...data.datasets import load_dataset
from ...errors import InputError
from ...imageio import downsample, to_tensor
from .model import CODEC, SVRModel, kmeans, save_model

CACHE = Path("runs/codebook-svr/cache")


# ------------------------------------------------------------------------------------------ the cache
def training_items(faces: int = 800):
    """The training images: imagenette train (2,500) and a fixed subset of `faces` celeba-train faces (never test
    splits, Kodak or BSDS500)."""
    items = load_dataset("imagenette-train")
    celeba = load_dataset("celeba-train")
    rng = np.random.default_rng(0)
    items += [celeba[i] for i in sorted(rng.choice(len(celeba), size=faces, replace=False))]
    return items


def cache_main(argv=None) -> None:
    """TAEF2 latents of the training images (frozen encoder, computed once) and the images downsampled 2x and 4x
    (the fidelity layer's inputs before coding): OUT/partKofN.pt."""
    from ...nn.taef2 import load_encoder
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", default="0/1")
    parser.add_argument("--out", default="runs/codebook-svr/cache")
    args = parser.parse_args(argv)
    k, n = (int(v) for v in args.part.split("/"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = training_items()[k::n]
    encoder = load_encoder()
    records = []
    with torch.no_grad():
        for i, item in enumerate(items):
            image = item.image()
            h, w = (s // 8 * 8 for s in image.shape[:2])
            image = np.ascontiguousarray(image[:h, :w])
            latent = encoder(to_tensor(image))[0].half()
            records.append({"name": item.name, "latent": latent,
                            "down2": torch.from_numpy(downsample(image, 2)),
                            "down4": torch.from_numpy(downsample(image, 4))})
            if i % 200 == 0:
                print(f"{i}/{len(items)}", flush=True)
    torch.save(records, out / f"part{k}of{n}.pt")
    print("done", len(records), flush=True)


LQ_QPS = (37, 42, 47)          # VVC QPs the decoder-side networks see in training (one drawn per image and factor)
LQ_MEAN_SCALE = (1, 2, 3, 4)   # mean-scale qualities, likewise


def code_lq(records: list[dict], seed: int) -> None:
    """Add each record's coded-and-decoded fidelity images: VVC at a random QP of LQ_QPS and mean-scale at a random
    quality of LQ_MEAN_SCALE, for both downsampling factors (lq{factor}-{codec}: (setting, uint8 image, bytes))."""
    import lamina
    rng = np.random.default_rng(seed)
    for i, record in enumerate(records):
        for factor in (4, 2):
            small = record[f"down{factor}"].numpy()
            for codec_name, settings in (("vvc", LQ_QPS), ("mean-scale", LQ_MEAN_SCALE)):
                setting = int(rng.choice(settings))
                codec = lamina.load(codec_name, quality=setting)
                stream = codec.encode(small)
                record[f"lq{factor}-{codec_name}"] = (setting, torch.from_numpy(codec.decode(stream)),
                                                      len(stream.layers[0].payload))
        if i % 200 == 0:
            print(f"lq {i}/{len(records)}", flush=True)


def main_lq(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", default="0/1")
    parser.add_argument("--out", default="runs/codebook-svr/cache")
    args = parser.parse_args(argv)
    k, n = (int(v) for v in args.part.split("/"))
    path = Path(args.out) / f"part{k}of{n}.pt"
    records = torch.load(path, weights_only=True)
    code_lq(records, seed=k)
    torch.save(records, Path(args.out) / f"lq-part{k}of{n}.pt")
    print("done", len(records), flush=True)


def load_records(cache: Path = CACHE, lq: bool = True) -> tuple[list[dict], list[dict]]:
    """(train, validation) records; every 20th cached image is held out for validation."""
    prefix = "lq-" if lq else ""
    records = []
    for part in sorted(cache.glob(f"{prefix}part*of*.pt")):
        records += torch.load(part, weights_only=True)
    return [r for i, r in enumerate(records) if i % 20], records[::20]


def build_codebook(grid: int, codes: int, out: Path, iterations: int = 20, sample: int = 400_000) -> None:
    train, _ = load_records(lq=False)
    probe = SVRModel(codes=codes, grid=grid)
    vectors = torch.cat([probe.blocks(_crop_grid(r["latent"][None].float(), grid)).reshape(-1, 32 * grid * grid)
                         for r in train])
    g = torch.Generator().manual_seed(0)
    book, _ = kmeans(vectors[torch.randperm(len(vectors), generator=g)[:sample]], codes, iterations)
    probe.codebook.copy_(book)
    idx = torch.cat([probe.quantize(_crop_grid(r["latent"][None].float(), grid)).flatten() for r in train])
    counts = torch.bincount(idx, minlength=codes) + 1
    order = counts.argsort(descending=True, stable=True)
    torch.save({"grid": grid, "codes": codes, "codebook": book[order].clone(), "counts": counts[order].clone()}, out)


def _crop_grid(latent: torch.Tensor, grid: int) -> torch.Tensor:
    return latent[..., :latent.shape[-2] // grid * grid, :latent.shape[-1] // grid * grid]


class Batches:
    """Random aligned crops (latent, LQ image) with flips, a function of (seed, step). With several factors, each
    crop's LQ comes from one drawn at random and is resized (bicubic) to the first factor's resolution."""

    def __init__(self, records: list[dict], factors: tuple[int, ...], lq_codec: str, crop: int = 16):
        self.records, self.factors, self.lq_codec, self.crop = records, tuple(factors), lq_codec, crop

    def batch(self, size: int, seed: int, step: int):
        rng = np.random.default_rng([seed, step])
        latents, lqs = [], []
        for i in rng.integers(len(self.records), size=size):
            r = self.records[int(i)]
            factor = int(self.factors[int(rng.integers(len(self.factors)))])
            s = 8 // factor
            lat, lq = r["latent"], r[f"lq{factor}-{self.lq_codec}"][1]
            h, w = lat.shape[1:]
            y, x = (int(rng.integers(0, (h - self.crop) // 2 + 1)) * 2, int(rng.integers(0, (w - self.crop) // 2 + 1)) * 2)
            lat = lat[:, y:y + self.crop, x:x + self.crop].float()
            lq = lq[y * s:(y + self.crop) * s, x * s:(x + self.crop) * s].permute(2, 0, 1).float() / 255
            if factor != self.factors[0]:
                side = self.crop * 8 // self.factors[0]
                lq = F.interpolate(lq[None], size=(side, side), mode="bicubic", align_corners=False)[0].clamp(0, 1)
            if rng.random() < 0.5:
                lat, lq = lat.flip(-1), lq.flip(-1)
            latents.append(lat)
            lqs.append(lq)
        return torch.stack(latents), torch.stack(lqs)


def validation_loss(model: SVRModel, records: list[dict], key: str) -> dict:
    """Latent MSE of Y_q and of Y_mod (α = 1) on whole validation images."""
    mse_q, mse_mod = [], []
    with torch.no_grad():
        for r in records:
            lat = _crop_grid(r["latent"][None].float(), model.grid)
            lq = r[key][1].permute(2, 0, 1)[None].float() / 255
            s = 8 // model.config["factor"]
            lq = lq[..., :lat.shape[-2] * s, :lat.shape[-1] * s]
            yq = model.lookup(model.quantize(lat))
            mse_q.append(F.mse_loss(yq, lat).item())
            mse_mod.append(F.mse_loss(model.modulate(yq, lq), lat).item())
    return {"mse_codebook": float(np.mean(mse_q)), "mse_svr": float(np.mean(mse_mod))}


def train(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    book = torch.load(args.codebook, weights_only=True)
    factors = tuple(int(f) for f in args.factor.split(","))
    model = SVRModel(codes=book["codes"], grid=book["grid"], factor=factors[-1], lq_codec=args.lq_codec,
                     width=args.width, elq_input=factors[0])
    model.codebook.copy_(book["codebook"])
    model.index_counts.copy_(book["counts"])
    train_records, val_records = load_records()
    batches = Batches(train_records, factors, args.lq_codec)
    params = list(model.elq.parameters()) + list(model.cft.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    step, log = 0, out / "log.jsonl"
    ckpt = out / "checkpoint.pt"
    if args.init_from:
        model.load_state_dict(torch.load(Path(args.init_from) / "checkpoint.pt", weights_only=True)["model"])
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    start, last_ckpt = time.time(), time.time()
    key = f"lq{factors[-1]}-{args.lq_codec}"
    if args.pixel_weight > 0:
        from ...metrics.perceptual import LPIPS
        from ...nn.taef2 import load_decoder
        decoder, lpips = load_decoder(), LPIPS("alex")

    def checkpoint():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "config": model.config}, ckpt)

    decayed = False
    while time.time() - start < args.minutes * 60 and step < args.steps:
        if not decayed and time.time() - start > 0.8 * args.minutes * 60:  # last fifth of the run at lr / 5
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.2
            decayed = True
        lat, lq = batches.batch(args.batch_size, args.seed, step)
        with torch.no_grad():
            yq = model.lookup(model.quantize(lat))
        y_mod = model.modulate(yq, lq)
        loss = F.mse_loss(y_mod, lat)
        if args.pixel_weight > 0:
            # Perceptual term through the frozen TAEF2 decoder, against the decoder's own image of the true
            # latent (the best this decoder can render): LPIPS-alex + L1.
            with torch.no_grad():
                target = decoder(lat).clamp(0, 1)
            image = decoder(y_mod).clamp(0, 1)
            loss = loss + args.pixel_weight * (lpips(image, target).mean() + F.l1_loss(image, target))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % args.val_every == 0:
            row = {"step": step, "loss": loss.item(), "minutes": round((time.time() - start) / 60, 2),
                   **validation_loss(model, val_records, key)}
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
        if time.time() - last_ckpt > 600:
            checkpoint()
            last_ckpt = time.time()
    checkpoint()
    print("stopped at step", step, flush=True)


def export(args) -> None:
    """A zoo file from a training run's checkpoint with the quality's LQ setting."""
    state = torch.load(Path(args.run) / "checkpoint.pt", weights_only=True)
    config = dict(state["config"], lq_quality=args.lq_quality, lq_codec=args.lq_codec or state["config"]["lq_codec"])
    if args.factor:
        config["factor"] = args.factor
    model = SVRModel(**config)
    model.load_state_dict(state["model"])
    path = zoo.path(CODEC, args.quality)
    card = {"quality": args.quality, "trained_steps": state["step"], "run": str(args.run),
            "stand_ins": "TAEF2 (pretrained, frozen) for FeMaSR's VQGAN encoder/decoder; codebook by k-means in "
                         "its latent space; LQ codec VVC (VVenC) or lamina's mean-scale for MLIC",
            **json.loads(args.card or "{}")}
    model_id = save_model(model, path, card)
    print(path, model_id.hex())


def main(argv: list[str]) -> None:
    """The stages with their own argument parser (what `lamina train codebook-svr --stage ...` calls)."""
    if argv[:1] == ["cache"]:
        return cache_main(argv[1:])
    if argv[:1] == ["lq"]:
        return main_lq(argv[1:])
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="stage", required=True)
    p = sub.add_parser("codebook")
    p.add_argument("--grid", type=int, default=2)
    p.add_argument("--codes", type=int, default=256)
    p.add_argument("--out", required=True)
    p = sub.add_parser("train")
    p.add_argument("--codebook", required=True)
    p.add_argument("--factor", default="4", help="LQ downsampling factor(s), e.g. 2,4: E^LQ reads the first's "
                                                  "resolution and is trained on LQ images of all")
    p.add_argument("--lq-codec", default="vvc")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init-from", default=None, help="start from another run's checkpoint (its networks)")
    p.add_argument("--pixel-weight", type=float, default=0.0,
                   help="add w·(LPIPS-alex + L1) of the TAEF2-decoded crop against the decoded true latent")
    p = sub.add_parser("export")
    p.add_argument("--run", required=True)
    p.add_argument("--quality", type=int, required=True)
    p.add_argument("--lq-quality", type=int, required=True)
    p.add_argument("--lq-codec", default=None)
    p.add_argument("--factor", type=int, default=None, help="the fidelity layer's downsampling factor")
    p.add_argument("--card", default=None, help="extra card fields as JSON")
    args = parser.parse_args(argv)
    {"codebook": lambda: build_codebook(args.grid, args.codes, Path(args.out)), "train": lambda: train(args),
     "export": lambda: export(args)}[args.stage]()


# ------------------------------------------------------------------------------------------ lamina train
def _stage(args, stage: str) -> str:
    out = args.out
    if stage in ("cache", "lq"):
        argv = ["--part", args.part or "0/1", "--out", out or str(CACHE)]
        (cache_main if stage == "cache" else main_lq)(argv)
        return f"{stage}: part {args.part or '0/1'} -> {out or CACHE}"
    if stage == "codebook":
        if not out:
            raise InputError("give --out (the codebook file)")
        build_codebook(args.grid or 2, args.codes or 256, Path(out))
        return f"codebook -> {out}"
    if stage == "train":
        if not (args.codebook and out):
            raise InputError("give --codebook and --out")
        argv = ["train", "--codebook", args.codebook, "--factor", args.factor or "2,4", "--lr", str(args.lr),
                "--batch-size", str(args.batch_size), "--minutes", str(args.max_minutes or 30),
                "--pixel-weight", str(args.pixel_weight or 0), "--out", out, "--seed", str(args.seed),
                "--val-every", str(args.val_every)]
        argv += ["--resume"] if args.resume else []
        argv += ["--init-from", args.init_from] if args.init_from else []
        main(argv)
        return f"trained codebook-svr -> {out}"
    if not (args.run and args.quality is not None and args.lq_quality is not None):
        raise InputError("give --run, --quality and --lq-quality")
    argv = ["export", "--run", args.run, "--quality", str(args.quality), "--lq-quality", str(args.lq_quality)]
    argv += ["--factor", str(args.lq_factor)] if args.lq_factor else []
    argv += ["--card", args.card] if args.card else []
    main(argv)
    return f"exported codebook-svr q{args.quality}"


def _register() -> None:
    from ...options import Option
    from ...registry import add_trainable
    from ...train.trainable import Trainable
    options = (
        Option("--part", "part", help="codebook-svr cache / lq: K/N, this process's share of the images"),
        Option("--grid", "grid", type=int, help="codebook-svr codebook: latents per index side (1 or 2)"),
        Option("--codes", "codes", type=int, help="codebook-svr codebook: K"),
        Option("--codebook", "codebook", help="codebook-svr train: the codebook file"),
        Option("--factor", "factor", help="codebook-svr train: LQ factors, e.g. 2,4"),
        Option("--pixel-weight", "pixel_weight", type=float,
               help="codebook-svr train: weight of LPIPS-alex + L1 through the frozen TAEF2 decoder"),
        Option("--run", "run", help="codebook-svr export: the training run folder"),
        Option("--lq-factor", "lq_factor", type=int, help="codebook-svr export: the quality's LQ factor"),
        Option("--lq-quality", "lq_quality", type=int, help="codebook-svr export: the quality's LQ codec setting"),
        Option("--card", "card", help="codebook-svr export: extra model-card fields as a JSON object"),
    )
    stages = {name: (lambda args, name=name: _stage(args, name))
              for name in ("train", "cache", "lq", "codebook", "export")}
    add_trainable(Trainable(CODEC, "codebook-svr (SVR): stages cache (TAEF2 latents), lq (coded LQ images), "
                                   "codebook (k-means), train (E^LQ + CFT), export (--run --quality --lq-quality)",
                            stages, options, default_stage="train"))


_register()
