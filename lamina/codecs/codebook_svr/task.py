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

import json
import time
from dataclasses import dataclass
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


def _part(part: str) -> tuple[int, int]:
    try:
        k, n = (int(v) for v in part.split("/"))
    except ValueError:
        raise InputError(f"--part is K/N (this process's share), got {part!r}") from None
    if not 0 <= k < n:
        raise InputError(f"--part K/N needs 0 <= K < N, got {part!r}")
    return k, n


def cache(part: str = "0/1", out: Path = CACHE) -> Path:
    """TAEF2 latents of the training images (frozen encoder, computed once) and the images downsampled 2x and 4x
    (the fidelity layer's inputs before coding): OUT/partKofN.pt."""
    from ...nn.taef2 import load_encoder
    k, n = _part(part)
    out = Path(out)
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
    return out / f"part{k}of{n}.pt"


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


def lq(part: str = "0/1", out: Path = CACHE) -> Path:
    """The cache part's records with their coded LQ images (code_lq): OUT/lq-partKofN.pt."""
    k, n = _part(part)
    path = Path(out) / f"part{k}of{n}.pt"
    records = torch.load(path, weights_only=True)
    code_lq(records, seed=k)
    torch.save(records, Path(out) / f"lq-part{k}of{n}.pt")
    print("done", len(records), flush=True)
    return Path(out) / f"lq-part{k}of{n}.pt"


def load_records(cache: Path = CACHE, lq: bool = True) -> tuple[list[dict], list[dict]]:
    """(train, validation) records; every 20th cached image is held out for validation."""
    prefix = "lq-" if lq else ""
    records = []
    for part in sorted(cache.glob(f"{prefix}part*of*.pt")):
        records += torch.load(part, weights_only=True)
    return [r for i, r in enumerate(records) if i % 20], records[::20]


def build_codebook(out: Path, grid: int = 2, codes: int = 256, iterations: int = 20, sample: int = 400_000,
                   cache: Path = CACHE) -> None:
    train, _ = load_records(Path(cache), lq=False)
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


def _train_step(opt, loss: torch.Tensor, step: int, start: float, log: Path, every: int, validate, checkpoint,
                last_checkpoint: float) -> float:
    """One optimiser step on `loss`; at every `every`-th step (`step` counts this one) a row with validate()'s
    numbers appended to `log` and printed; checkpoint() when the last was 10 minutes ago. Returns the time of the
    last checkpoint."""
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % every == 0:
        row = {"step": step, "loss": round(loss.item(), 5), "minutes": round((time.time() - start) / 60, 2),
               **validate()}
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    if time.time() - last_checkpoint > 600:
        checkpoint()
        return time.time()
    return last_checkpoint


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


@dataclass
class TrainConfig:
    """One training run of E^LQ + CFT; its defaults live here only (`lamina train codebook-svr --stage train`
    fills what the command line gives)."""

    codebook: Path                 # the codebook file of stage codebook
    out: Path                      # the run folder (checkpoint.pt, log.jsonl)
    cache: Path = CACHE            # what stages cache and lq wrote
    factor: str = "2,4"            # LQ downsampling factor(s): E^LQ reads the first's resolution, trains on all
    lq_codec: str = "vvc"
    width: int = 64
    lr: float = 1e-3
    batch_size: int = 16
    steps: int = 100_000
    max_minutes: float = 30        # this invocation's training minutes; the last fifth at lr / 5
    threads: int = 1
    seed: int = 0
    val_every: int = 250
    resume: bool = False
    init_from: Path | None = None  # another run's folder: start from its networks
    pixel_weight: float = 0.0      # + w·(LPIPS-alex + L1) of the TAEF2-decoded crop against the decoded true latent


def train(config: TrainConfig) -> Path:
    """Train (or continue, with resume) a run; returns its checkpoint."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    book = torch.load(config.codebook, weights_only=True)
    factors = tuple(int(f) for f in config.factor.split(","))
    model = SVRModel(codes=book["codes"], grid=book["grid"], factor=factors[-1], lq_codec=config.lq_codec,
                     width=config.width, elq_input=factors[0])
    model.codebook.copy_(book["codebook"])
    model.index_counts.copy_(book["counts"])
    train_records, val_records = load_records(Path(config.cache))
    batches = Batches(train_records, factors, config.lq_codec)
    params = list(model.elq.parameters()) + list(model.cft.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    step, log = 0, out / "log.jsonl"
    ckpt = out / "checkpoint.pt"
    if config.init_from:
        model.load_state_dict(torch.load(Path(config.init_from) / "checkpoint.pt", weights_only=True)["model"])
    if config.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    start, last_ckpt = time.time(), time.time()
    key = f"lq{factors[-1]}-{config.lq_codec}"
    if config.pixel_weight > 0:
        from ...metrics.perceptual import LPIPS
        from ...nn.taef2 import load_decoder
        decoder, lpips = load_decoder(), LPIPS("alex")

    def checkpoint():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "config": model.config}, ckpt)

    decayed = False
    while time.time() - start < config.max_minutes * 60 and step < config.steps:
        if not decayed and time.time() - start > 0.8 * config.max_minutes * 60:  # last fifth of the run at lr / 5
            for group in opt.param_groups:
                group["lr"] = config.lr * 0.2
            decayed = True
        lat, lq = batches.batch(config.batch_size, config.seed, step)
        with torch.no_grad():
            yq = model.lookup(model.quantize(lat))
        y_mod = model.modulate(yq, lq)
        loss = F.mse_loss(y_mod, lat)
        if config.pixel_weight > 0:
            # Perceptual term through the frozen TAEF2 decoder, against the decoder's own image of the true
            # latent (the best this decoder can render): LPIPS-alex + L1.
            with torch.no_grad():
                target = decoder(lat).clamp(0, 1)
            image = decoder(y_mod).clamp(0, 1)
            loss = loss + config.pixel_weight * (lpips(image, target).mean() + F.l1_loss(image, target))
        step += 1
        last_ckpt = _train_step(opt, loss, step, start, log, config.val_every,
                                lambda: validation_loss(model, val_records, key), checkpoint, last_ckpt)
    checkpoint()
    print("stopped at step", step, flush=True)
    return ckpt


def export(run: Path, quality: int, lq_quality: int, lq_codec: str | None = None, factor: int | None = None,
           card: dict | None = None) -> Path:
    """A zoo file from a training run's checkpoint with the quality's LQ setting (codec, downsampling factor)."""
    state = torch.load(Path(run) / "checkpoint.pt", weights_only=True)
    config = dict(state["config"], lq_quality=lq_quality, lq_codec=lq_codec or state["config"]["lq_codec"])
    if factor:
        config["factor"] = factor
    model = SVRModel(**config)
    model.load_state_dict(state["model"])
    path = zoo.path(CODEC, quality)
    card = {"quality": quality, "trained_steps": state["step"], "run": str(run),
            "stand_ins": "TAEF2 (pretrained, frozen) for FeMaSR's VQGAN encoder/decoder; codebook by k-means in "
                         "its latent space; LQ codec VVC (VVenC) or lamina's mean-scale for MLIC",
            **(card or {})}
    model_id = save_model(model, path, card)
    print(path, model_id.hex())
    return path


# ------------------------------------------------------------------------------------------ the video-decoder probe
# A probe of a video-tuned decoder side (issue 26; not shipped: on the held-out clip it lowered LPIPS at q1-q2 only
# and cost PSNR and flicker, docs/results/video/probe-codebook-svr-video-decoder/): E^LQ + CFT fine-tuned on what
# the video mode decodes — the training clips' frames, their index maps as the video encoder chooses them, and
# low-quality frames coded as one x265 / VVenC video at the ladder's QPs — with a temporal term:
#
#     L = MSE(Y_mod,t, Y_t) + MSE(Y_mod,t-1, Y_t-1) + w_t · MSE(Y_mod,t − Y_mod,t-1, Y_t − Y_t-1)
#         [+ w_p · (LPIPS-alex + L1) of frame t's TAEF2-decoded crop against the decoder's image of Y_t]
#
# The codebook, TAEF2 and the encoder side stay as they are. Training clips: VIDEO_TRAIN_CLIPS minus the last (held
# out for validation), half of each batch celeba-train faces; the evaluation clips are never read.
# `benchmarks/codebook_svr/video_decoder_probe.py` decodes the held-out clip with a run's checkpoint.
#
#     lamina train codebook-svr --stage video-cache --cache runs/codebook-svr/video-cache
#     lamina train codebook-svr --stage video-train --cache runs/codebook-svr/video-cache \
#         --out runs/codebook-svr/video [--temporal-weight 1] [--pixel-weight 1] [--lr 2e-4] [--max-minutes 15] [--resume]
VIDEO_CACHE = Path("runs/codebook-svr/video-cache")
# The fidelity videos the decoder sees in training: the video ladder's x265 QPs (VIDEO_LQ_QP) and its VVenC points.
VIDEO_LQ = (("x265", 37), ("x265", 42), ("x265", 47), ("vvenc", 32), ("vvenc", 37), ("vvenc", 42))


def video_cache(out: Path = VIDEO_CACHE, quality: int = 1) -> list[Path]:
    """Per training clip (all its frames, aligned as `lamina bench --video --align` does): the TAEF2 latents, the
    video encoder's index maps and the decoded low-quality frames of every VIDEO_LQ setting: OUT/<clip>.pt."""
    import lamina
    from ...data.datasets import VIDEO_TRAIN_CLIPS
    from ...imageio import downsample
    from ...paths import data_root
    from ...video import baseline_video_decode, baseline_video_encode, read_video
    from ...vision.align import align_clip
    from .video import stable_index_maps
    codec = lamina.load("codebook-svr", quality=quality)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in VIDEO_TRAIN_CLIPS:
        start = time.time()
        raw, fps = read_video(data_root() / "video" / name)
        frames = align_clip(raw, 256)  # as `lamina bench --video --align` frames a clip
        with torch.no_grad():
            latents = torch.stack([codec.latent_of(f)[0].half() for f in frames])
            maps = np.stack(stable_index_maps(codec, frames, codec.stable, codec.neighbours))
        small = [downsample(f, codec.factor) for f in frames]
        h, w = small[0].shape[:2]
        lq = {}
        for encoder, qp in VIDEO_LQ:
            stream = baseline_video_encode(small, fps, encoder, qp)
            lq[f"{encoder}{qp}"] = torch.from_numpy(np.stack(baseline_video_decode(stream, encoder, h, w, len(small))))
        path = out / f"{Path(name).stem}.pt"
        torch.save({"clip": name, "latents": latents, "maps": torch.from_numpy(maps), "lq": lq,
                    "model_id": codec.model_id.hex()}, path)
        print(f"{name}: {len(frames)} frames, {time.time() - start:.0f} s", flush=True)
        paths.append(path)
    return paths


FACES = 1200  # celeba-train faces beside the clips' frames (three people alone: the held-out clip got worse)


def face_cache(out: Path = VIDEO_CACHE, quality: int = 1, count: int = FACES) -> Path:
    """A fixed subset of celeba-train faces with the clips' keys (latents, nearest-codeword maps, LQ of every
    VIDEO_LQ setting: the faces coded as one sequence by that encoder): OUT/faces.pt. Keeps the decoder from
    learning the training clips' few faces."""
    import lamina
    from ...data.datasets import load_dataset
    from ...imageio import downsample
    from ...video import baseline_video_decode, baseline_video_encode
    codec = lamina.load("codebook-svr", quality=quality)
    items = load_dataset("celeba-train")
    rng = np.random.default_rng(1)
    chosen = sorted(rng.choice(len(items), size=min(count, len(items)), replace=False))
    images = [items[int(i)].image() for i in chosen]
    images = [im for im in images if im.shape == (256, 256, 3)]
    with torch.no_grad():
        latents = torch.stack([codec.latent_of(im)[0].half() for im in images])
        maps = torch.cat([codec.model.quantize(latents[i:i + 64].float()) for i in range(0, len(images), 64)])
    small = [downsample(im, codec.factor) for im in images]
    h, w = small[0].shape[:2]
    lq = {}
    for encoder, qp in VIDEO_LQ:  # the faces as one sequence: x265 / VVenC artefacts at the ladder's QPs
        stream = baseline_video_encode(small, 25.0, encoder, qp)
        lq[f"{encoder}{qp}"] = torch.from_numpy(np.stack(baseline_video_decode(stream, encoder, h, w, len(small))))
    path = Path(out) / "faces.pt"
    torch.save({"clip": "celeba-train", "latents": latents, "maps": maps, "lq": lq,
                "model_id": codec.model_id.hex()}, path)
    return path


@dataclass
class VideoTrainConfig:
    out: Path
    cache: Path = VIDEO_CACHE
    init_quality: int = 1          # the zoo model whose codebook and decoder side we start from
    temporal_weight: float = 1.0
    pixel_weight: float = 0.0
    lr: float = 2e-4
    batch_size: int = 8            # pairs of consecutive frames
    crop: int = 16                 # latent positions
    max_minutes: float = 15
    threads: int = 1
    seed: int = 0
    val_every: int = 200
    resume: bool = False
    faces: float = 0.5             # share of each batch that is single celeba-train faces (faces.pt), no temporal term


def _load(cache: Path):
    from ...data.datasets import VIDEO_TRAIN_CLIPS
    clips = [torch.load(Path(cache) / f"{Path(n).stem}.pt", weights_only=True) for n in VIDEO_TRAIN_CLIPS]
    return clips[:-1], clips[-1]


def _draw(rng, clip: dict, grid: int, crop: int) -> tuple[int, int, int]:
    """A random frame t >= 1 of the clip and the top-left corner (multiples of the grid) of a crop x crop window."""
    n, _, h, w = clip["latents"].shape
    return (int(rng.integers(1, n)), int(rng.integers(0, (h - crop) // grid + 1)) * grid,
            int(rng.integers(0, (w - crop) // grid + 1)) * grid)


def _pair(model, clip: dict, t: int, key: str, y: int, x: int, crop: int):
    """(Y_mod-ready inputs) of frames t-1, t: latents, Y_q, LQ crops."""
    g, s = model.grid, 8 // model.config["factor"]
    lat = clip["latents"][t - 1:t + 1, :, y:y + crop, x:x + crop].float()
    maps = clip["maps"][t - 1:t + 1, y // g:(y + crop) // g, x // g:(x + crop) // g].long()
    lq = clip["lq"][key][t - 1:t + 1, y * s:(y + crop) * s, x * s:(x + crop) * s].permute(0, 3, 1, 2).float() / 255
    return lat, model.lookup(maps), lq


def validate(model, clip: dict, every: int = 10) -> dict:
    """On the held-out clip: latent MSE of Y_mod and of its frame-to-frame change, per LQ setting and mean."""
    rows = {}
    with torch.no_grad():
        for encoder, qp in VIDEO_LQ:
            key = f"{encoder}{qp}"
            mse, temporal = [], []
            n, _, h, w = clip["latents"].shape
            for t in range(1, n, every):
                lat, yq, lq = _pair(model, clip, t, key, 0, 0, h)
                mod = model.modulate(yq, lq)
                mse.append(F.mse_loss(mod, lat).item())
                temporal.append(F.mse_loss(mod[1] - mod[0], lat[1] - lat[0]).item())
            rows[key] = (float(np.mean(mse)), float(np.mean(temporal)))
    return {"val_mse": float(np.mean([v[0] for v in rows.values()])),
            "val_temporal": float(np.mean([v[1] for v in rows.values()])),
            **{f"mse_{k}": round(v[0], 5) for k, v in rows.items()}}


def train_video(config: VideoTrainConfig) -> Path:
    from ... import zoo
    from .model import load_model
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    _, weights = zoo.find("codebook-svr", config.init_quality)
    model, _ = load_model(weights)
    model.float()
    model.elq.requires_grad_(True)
    model.cft.requires_grad_(True)
    train_clips, val_clip = _load(config.cache)
    params = list(model.elq.parameters()) + list(model.cft.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    ckpt, log, step = out / "checkpoint.pt", out / "log.jsonl", 0
    if config.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    elif not log.exists():
        with log.open("a") as f:
            f.write(json.dumps({"step": 0, **validate(model, val_clip)}) + "\n")
    if config.pixel_weight > 0:
        from ...metrics.perceptual import LPIPS
        from ...nn.taef2 import load_decoder
        decoder, lpips = load_decoder(), LPIPS("alex")
    sizes = np.array([len(c["latents"]) - 1 for c in train_clips], dtype=float)
    faces = torch.load(Path(config.cache) / "faces.pt", weights_only=True) if config.faces > 0 else None
    n_faces = int(round(config.batch_size * config.faces)) if faces is not None else 0
    keys = [f"{e}{q}" for e, q in VIDEO_LQ]

    def checkpoint():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": model.config,
                    "train": {k: str(v) for k, v in vars(config).items()}}, ckpt)

    start, last = time.time(), time.time()
    while time.time() - start < config.max_minutes * 60:
        rng = np.random.default_rng([config.seed, step])
        lats, yqs, lqs = [], [], []
        for _ in range(config.batch_size - n_faces):
            clip = train_clips[int(rng.choice(len(train_clips), p=sizes / sizes.sum()))]
            t, y, x = _draw(rng, clip, model.grid, config.crop)
            lat, yq, lq = _pair(model, clip, t, keys[int(rng.integers(len(keys)))], y, x, config.crop)
            if rng.random() < 0.5:
                lat, yq, lq = lat.flip(-1), yq.flip(-1), lq.flip(-1)
            lats.append(lat), yqs.append(yq), lqs.append(lq)
        pairs = 2 * len(lats)
        for _ in range(n_faces):
            t, y, x = _draw(rng, faces, model.grid, config.crop)  # one face: the second of the "pair"
            lat, yq, lq = (v[1:] for v in _pair(model, faces, t, keys[int(rng.integers(len(keys)))], y, x, config.crop))
            if rng.random() < 0.5:
                lat, yq, lq = lat.flip(-1), yq.flip(-1), lq.flip(-1)
            lats.append(lat), yqs.append(yq), lqs.append(lq)
        lat, yq, lq = torch.cat(lats), torch.cat(yqs), torch.cat(lqs)  # clip pairs interleaved (t-1, t), then faces
        mod = model.modulate(yq, lq)
        loss = F.mse_loss(mod, lat)
        if config.temporal_weight > 0:
            loss = loss + config.temporal_weight * F.mse_loss(mod[1:pairs:2] - mod[0:pairs:2],
                                                              lat[1:pairs:2] - lat[0:pairs:2])
        if config.pixel_weight > 0:  # frame t of each pair and every face
            pick = torch.cat([torch.arange(1, pairs, 2), torch.arange(pairs, len(lat))])
            with torch.no_grad():
                target = decoder(lat[pick]).clamp(0, 1)
            image = decoder(mod[pick]).clamp(0, 1)
            loss = loss + config.pixel_weight * (lpips(image, target).mean() + F.l1_loss(image, target))
        step += 1
        last = _train_step(opt, loss, step, start, log, config.val_every, lambda: validate(model, val_clip),
                           checkpoint, last)
    checkpoint()
    print("stopped at step", step, flush=True)
    return ckpt


# ------------------------------------------------------------------------------------------ lamina train
def _stage(args, stage: str) -> str:
    from ...train.trainable import config_from, given, json_card
    if stage in ("cache", "lq"):
        path = (cache if stage == "cache" else lq)(**given(args, "part", out="cache"))
        return f"{stage} -> {path}"
    if stage == "codebook":
        if not args.out:
            raise InputError("give --out (the codebook file)")
        build_codebook(Path(args.out), **given(args, "grid", "codes", "cache"))
        return f"codebook -> {args.out}"
    if stage == "train":
        if not (args.codebook and args.out):
            raise InputError("give --codebook and --out")
        return f"trained codebook-svr -> {train(config_from(TrainConfig, args))}"
    if stage == "video-cache":
        kwargs = given(args, "quality", out="cache")
        paths = video_cache(**kwargs) + [face_cache(**kwargs)]
        return f"video-cache -> {', '.join(map(str, paths))}"
    if stage == "video-train":
        if not args.out:
            raise InputError("give --out (the run folder)")
        run = train_video(config_from(VideoTrainConfig, args, init_quality="quality"))
        return f"trained codebook-svr's video decoder (probe) -> {run}"
    if not (args.run and args.quality is not None and args.lq_quality is not None):
        raise InputError("give --run, --quality and --lq-quality")
    path = export(Path(args.run), args.quality, args.lq_quality, args.lq_codec, args.lq_factor, json_card(args.card))
    return f"exported codebook-svr q{args.quality} -> {path}"


def _register() -> None:
    from ...options import Option
    from ...registry import add_trainable
    from ...train.trainable import Trainable
    options = (
        Option("--part", "part", help="codebook-svr cache / lq: K/N, this process's share of the images"),
        Option("--grid", "grid", type=int, help="codebook-svr codebook: latents per index side (1 or 2)"),
        Option("--codes", "codes", type=int, help="codebook-svr codebook: K"),
        Option("--codebook", "codebook", help="codebook-svr train: the codebook file"),
        Option("--lq-codec", "lq_codec", help="codebook-svr train/export: the LQ codec (vvc, mean-scale)"),
        Option("--width", "width", type=int, help="codebook-svr train: E^LQ/CFT width"),
        Option("--threads", "threads", type=int, help="training threads (codebook-svr, progressive-mask; default 1)"),
        Option("--factor", "factor", help="codebook-svr train: LQ factors, e.g. 2,4"),
        Option("--pixel-weight", "pixel_weight", type=float,
               help="codebook-svr train: weight of LPIPS-alex + L1 through the frozen TAEF2 decoder"),
        Option("--run", "run", help="codebook-svr export: the training run folder"),
        Option("--lq-factor", "lq_factor", type=int, help="codebook-svr export: the quality's LQ factor"),
        Option("--lq-quality", "lq_quality", type=int, help="codebook-svr export: the quality's LQ codec setting"),
        Option("--card", "card", help="codebook-svr export: extra model-card fields as a JSON object"),
        Option("--temporal-weight", "temporal_weight", type=float,
               help="codebook-svr video-train: weight of the frame-to-frame latent change term"),
    )
    stages = {name: (lambda args, name=name: _stage(args, name))
              for name in ("train", "cache", "lq", "codebook", "export", "video-cache", "video-train")}
    add_trainable(Trainable(CODEC, "codebook-svr (SVR): stages cache (TAEF2 latents), lq (coded LQ images), "
                                   "codebook (k-means), train (E^LQ + CFT), export (--run --quality --lq-quality); "
                                   "video-cache, video-train (the video-decoder probe)",
                            stages, options, default_stage="train"))


_register()
