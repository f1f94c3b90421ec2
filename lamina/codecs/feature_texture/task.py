"""Training of the feature-texture codec, stage by stage (seed 003, Sections III-B..D).

  extractor  MobileFaceNet (shared CASIA-WebFace weights) + feature-structure head, Eq. 1:
             cosine-softmax identity cross-entropy on celeba-train identities (held-out verification
             identities excluded) + λs·SATD(x_s, x_trans), λs = 100
  features   f_raw of every training face and its 32x32 target x_s, cached
  codec      one FC+GDN feature codec per λ1, Eq. 3: ||f_raw - f_rec||² + λ1·bits + λ2·SATD(x_s, x_trans)
  texture    Laplacian-pyramid generator from decoded features of every feature codec trained so far, Eq. 4
  residual   the learned residual codec: hyperprior warm-started from the image model of the same quality,
             trained on min-max normalised residuals x - x_base (Eq. 5)
  export     lamina/zoo/feature-texture.pt (+ residual models) with model cards

Every stage is seeded; batches are functions of (seed, step). Stages are short (minutes on CPU) and write
their result at the end; `lamina train feature-texture --stage STAGE --out runs/feature-texture [...]`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ... import zoo
from ...zoo import read_checkpoint
from ...entropy import split_aux_parameters
from ...imageio import to_tensor
from . import nets

LAMBDA_S = 100.0
# The paper fine-tunes at 1e-4; here 1e-4 for 700 steps cost 6 points of held-out verification accuracy
# (95.3% -> 89.2%, runs/feature-texture-v1), so the pretrained extractor moves ten times slower.
EXTRACTOR_LR = 1e-5
LAMBDA_2 = 0.01
# λ1 per feature quality (the paper sweeps 1e-4 .. 1e-7); quality 0 is an extra, lower rate point.
FEATURE_LAMBDAS = {0: 1e-3, 1: 1e-4, 2: 1e-5, 3: 1e-6, 4: 1e-7}
SOURCES = ("celeba-train", "utk-train")  # concatenated in this order
SATD_BATCH = 16  # codec stage: the SATD term of Eq. 3 on the first 16 features of each batch


def train_count(total: int) -> int:
    """Rows [0, train_count) train the codec, texture and residual stages; the rest (the last 64 utk-train
    faces, as lamina.data.training holds out for every codec) only validate."""
    return total - min(64, total // 4)


def _log(out: Path, row: dict) -> None:
    with open(out / "log.jsonl", "a") as handle:
        handle.write(json.dumps(row) + "\n")


def load_faces(source: str, cache: Path, root=None, limit: int | None = None) -> tuple[list, np.ndarray]:
    """(items, N x 256 x 256 x 3 uint8) for a training source (first `limit` only), cached under cache/."""
    from PIL import Image

    from ...data.datasets import load_dataset
    items = load_dataset(source, root=root, limit=limit)
    path = cache / f"faces-{source}-256{f'-first{limit}' if limit else ''}.npy"
    if path.exists():
        return items, np.load(path)
    images = np.empty((len(items), 256, 256, 3), np.uint8)
    for i, item in enumerate(items):
        image = item.image()
        if image.shape[:2] != (256, 256):
            image = np.asarray(Image.fromarray(image).resize((256, 256), Image.BICUBIC))
        images[i] = image
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, images)
    return items, images


# ------------------------------------------------------------------------------------------ stage 1
def stage_extractor(out: Path, steps: int, batch: int = 32, seed: int = 0, root=None, limit=None) -> Path:
    from ...data.pairs import held_out_identities
    from ...nn.mobilefacenet import load_mobilefacenet
    torch.manual_seed(seed)
    items, images = load_faces("celeba-train", out / "cache", root, limit)
    held = held_out_identities(root)
    keep = [i for i, item in enumerate(items) if item.identity not in held]
    labels_raw = np.array([items[i].identity for i in keep])
    classes, labels = np.unique(labels_raw, return_inverse=True)
    extractor = nets.FeatureExtractor()
    extractor.net.load_state_dict(load_mobilefacenet().state_dict())
    head = nets.StructureHead()
    classifier = torch.nn.Parameter(torch.randn(len(classes), nets.FEATURE_DIM) * 0.01)
    scale = 16.0  # cosine softmax: logits = s·cos(f, w_c)
    optimiser = torch.optim.Adam([{"params": extractor.parameters(), "lr": EXTRACTOR_LR},
                                  {"params": head.parameters(), "lr": 1e-3},
                                  {"params": [classifier], "lr": 1e-2}])
    extractor.eval()  # BatchNorm statistics stay those of the pretrained network (small batches)
    start = time.time()
    for step in range(steps):
        rng = np.random.default_rng([seed, step])
        idx = rng.integers(len(keep), size=batch)
        x = to_tensor(images[[keep[i] for i in idx]])
        flip = torch.from_numpy(rng.random(batch) < 0.5)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        f = extractor(x)
        logits = scale * f @ F.normalize(classifier, dim=1).T
        ce = F.cross_entropy(logits, torch.from_numpy(labels[idx]))
        s = nets.satd(nets.downsample(x, nets.STRUCTURE_SIZE), head(f))
        loss = ce + LAMBDA_S * s
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == steps - 1:
            acc = float((logits.argmax(1) == torch.from_numpy(labels[idx])).float().mean())
            _log(out, {"stage": "extractor", "step": step, "ce": float(ce), "satd": float(s), "train_acc": acc,
                       "elapsed": round(time.time() - start, 1)})
    path = out / "extractor.pt"
    torch.save({"extractor": extractor.state_dict(), "head": head.state_dict(), "steps": steps,
                "identities": len(classes), "images": len(keep)}, path)
    return path


def load_extractor(out: Path):
    data = read_checkpoint(out / "extractor.pt", "feature-texture extractor stage")
    extractor, head = nets.FeatureExtractor(), nets.StructureHead()
    extractor.load_state_dict(data["extractor"])
    head.load_state_dict(data["head"])
    return extractor.eval(), head.eval()


# ------------------------------------------------------------------------------------------ stage 2
@torch.no_grad()
def stage_features(out: Path, root=None, limit=None) -> Path:
    extractor, _ = load_extractor(out)
    feats, targets = [], []
    for source in SOURCES:
        _, images = load_faces(source, out / "cache", root, limit)
        for i in range(0, len(images), 64):
            x = to_tensor(images[i:i + 64])
            feats.append(extractor(x).numpy())
            targets.append(nets.downsample(x, nets.STRUCTURE_SIZE).numpy())
    path = out / "features.npz"
    np.savez(path, features=np.concatenate(feats), targets=np.concatenate(targets).astype(np.float16))
    return path


# ------------------------------------------------------------------------------------------ stage 3
def stage_codec(out: Path, quality: int, steps: int, batch: int = 256, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    data = np.load(out / "features.npz")
    feats, targets = torch.from_numpy(data["features"]), torch.from_numpy(data["targets"].astype(np.float32))
    _, head_init = load_extractor(out)
    lmbda = FEATURE_LAMBDAS[quality]
    codec, head = nets.FeatureCodec(), nets.StructureHead()
    head.load_state_dict(head_init.state_dict())
    groups = split_aux_parameters(codec)
    main, aux = groups["main"] + list(head.parameters()), groups["aux"]
    optimiser, aux_optimiser = torch.optim.Adam(main, lr=1e-3), torch.optim.Adam(aux, lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=1e-5)
    codec.train()
    start = time.time()
    for step in range(steps):
        idx = torch.from_numpy(np.random.default_rng([seed, step]).integers(train_count(len(feats)), size=batch))
        f, xs = feats[idx], targets[idx]
        f_rec, likelihoods = codec(f)
        bits = -torch.log2(likelihoods).sum() / batch
        mse = (f - f_rec).pow(2).sum(1).mean()
        s = nets.satd(xs[:SATD_BATCH], head(f_rec[:SATD_BATCH]))  # the 32x32 head is the costly part
        loss = mse + lmbda * bits + LAMBDA_2 * s
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        optimiser.step()
        scheduler.step()
        aux_loss = codec.entropy.loss()
        aux_optimiser.zero_grad()
        aux_loss.backward()
        aux_optimiser.step()
        if step % 200 == 0 or step == steps - 1:
            _log(out, {"stage": f"codec-q{quality}", "step": step, "bits": float(bits), "mse": float(mse),
                       "satd": float(s), "aux": float(aux_loss), "elapsed": round(time.time() - start, 1)})
    fit_quantiles(codec)
    codec.eval()
    codec.entropy.update(force=True)
    path = out / f"codec-q{quality}.pt"
    torch.save({"codec": codec.state_dict(), "head": head.state_dict(), "lambda": lmbda, "steps": steps}, path)
    return path


def fit_quantiles(codec: nets.FeatureCodec, steps: int = 3000) -> float:
    """Converge the entropy bottleneck's quantiles (CompressAI's aux loss) for the final density: they
    only set the range of the CDF tables, and the slow aux optimiser of the main phase leaves them short."""
    quantiles = split_aux_parameters(codec)["aux"]
    for lr in (1e-1, 1e-2):  # coarse, then fine
        optimiser = torch.optim.Adam(quantiles, lr=lr)
        for _ in range(steps):
            loss = codec.entropy.loss()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return float(codec.entropy.loss().detach())


def load_codec(path: Path) -> nets.FeatureCodec:
    codec = nets.FeatureCodec()
    nets.load_state(codec, read_checkpoint(path, "feature codec")["codec"])
    codec.eval()
    codec.entropy.update(force=True)
    return codec


@torch.no_grad()
def decoded_features(out: Path, qualities) -> dict[int, np.ndarray]:
    """f_rec of every training face for each feature quality (rounded latents, as decoded)."""
    feats = torch.from_numpy(np.load(out / "features.npz")["features"])
    return {q: load_codec(out / f"codec-q{q}.pt")(feats)[0].numpy() for q in qualities}


# ------------------------------------------------------------------------------------------ stage 4
def _all_faces(out: Path, root, limit) -> np.ndarray:
    return np.concatenate([np.asarray(load_faces(s, out / "cache", root, limit)[1]) for s in SOURCES])


def trained_qualities(out: Path) -> list[int]:
    return sorted(q for q in FEATURE_LAMBDAS if (out / f"codec-q{q}.pt").exists())


def stage_texture(out: Path, steps: int, batch: int = 8, seed: int = 0, root=None, limit=None) -> Path:
    torch.manual_seed(seed)
    qualities = trained_qualities(out)
    images = _all_faces(out, root, limit)
    decoded = decoded_features(out, qualities)
    generator = nets.LaplacianGenerator()
    _, head = load_extractor(out)
    generator.head.load_state_dict(head.state_dict())
    optimiser = torch.optim.Adam(generator.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=1e-5)
    generator.train()
    start = time.time()
    for step in range(steps):
        rng = np.random.default_rng([seed, step])
        idx = rng.integers(train_count(len(images)), size=batch)
        qs = rng.choice(qualities, size=batch)
        f = torch.from_numpy(np.stack([decoded[q][i] for q, i in zip(qs, idx)]))
        x = to_tensor(images[idx])
        levels = generator(f)[1:]
        loss = sum(nets.satd(level, nets.downsample(x, level.shape[-1])) for level in levels)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(generator.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        if step % 100 == 0 or step == steps - 1:
            with torch.no_grad():
                psnr = float(-10 * torch.log10(F.mse_loss(levels[-1].clamp(0, 1), x)))
            _log(out, {"stage": "texture", "step": step, "satd_sum": float(loss), "psnr_256": psnr,
                       "elapsed": round(time.time() - start, 1)})
    path = out / "texture.pt"
    torch.save({"generator": generator.state_dict(), "steps": steps, "qualities": qualities}, path)
    return path


# ------------------------------------------------------------------------------------------ stage 5
def stage_residual(out: Path, quality: int, steps: int, feature_quality: int, batch: int = 8, patch: int = 128,
                   seed: int = 0, root=None, limit=None, control: bool = False) -> Path:
    """Fine-tune the image hyperprior of this quality on normalised residuals of the training faces.

    control=True fine-tunes it identically (same steps, batches, crops) on the faces themselves: the fair
    direct-coding anchor for the scalable stream, written to control-q<q>.pt (benchmarks only)."""
    from .codec import base_from_feature, normalise_residual
    from ..hyperprior.model import load_network
    from ..hyperprior.task import LAMBDAS, HyperpriorTask
    torch.manual_seed(seed)
    images = _all_faces(out, root, limit)
    f_rec = decoded_features(out, [feature_quality])[feature_quality]
    generator = nets.LaplacianGenerator()
    generator.load_state_dict(read_checkpoint(out / "texture.pt", "texture stage")["generator"])
    generator.eval()
    task = HyperpriorTask("hyperprior", LAMBDAS[quality], quality=quality)
    network = load_network(zoo.path("hyperprior", quality), "hyperprior").train().requires_grad_(True)
    groups = task.parameter_groups(network)
    optimiser, aux_optimiser = torch.optim.Adam(groups["main"], lr=1e-4), torch.optim.Adam(groups["aux"], lr=1e-3)
    start = time.time()
    for step in range(steps):
        rng = np.random.default_rng([seed, step])
        idx = rng.integers(train_count(len(images)), size=batch)
        with torch.no_grad():
            base = base_from_feature(generator, torch.from_numpy(f_rec[idx]), 256)
        residual = [images[i].astype(np.float32) / 255 if control else normalise_residual(images[i], base[k])[0]
                    for k, i in enumerate(idx)]
        y, x = rng.integers(256 - patch + 1, size=2)
        crop = torch.from_numpy(np.stack(residual)[:, y:y + patch, x:x + patch]).permute(0, 3, 1, 2).float()
        losses = task.losses(network, crop)
        optimiser.zero_grad()
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(groups["main"], 1.0)
        optimiser.step()
        aux_optimiser.zero_grad()
        losses["aux_loss"].backward()
        aux_optimiser.step()
        if step % 50 == 0 or step == steps - 1:
            _log(out, {"stage": f"{'control' if control else 'residual'}-q{quality}", "step": step, "bpp": float(losses["bpp"]),
                       "mse": float(losses["mse"]), "elapsed": round(time.time() - start, 1)})
    path = out / f"{'control' if control else 'residual'}-q{quality}.pt"
    from ..hyperprior.model import save_weights
    save_weights(network.eval(), "hyperprior", task.n, task.m, path)
    return path


# ------------------------------------------------------------------------------------------ export
def export(out: Path, folder: Path | None = None) -> Path:
    """Collect the trained stages of `out` into zoo/feature-texture.pt and the residual models (lamina.zoo
    format, with their cards)."""
    from ..hyperprior.model import load_network, save_weights
    from .codec import CODEC, RESIDUAL
    extractor, _ = load_extractor(out)
    generator = nets.LaplacianGenerator()
    generator.load_state_dict(read_checkpoint(out / "texture.pt", "texture stage")["generator"])
    codecs = {}
    for quality in sorted(FEATURE_LAMBDAS):
        path = out / f"codec-q{quality}.pt"
        if path.exists():
            codecs[quality] = zoo.fp16_parameters(load_codec(path))
    state = {"extractor": zoo.fp16_parameters(extractor), "generator": zoo.fp16_parameters(generator),
             "codecs": codecs}
    target = zoo.path(CODEC, folder=folder)
    zoo.save(target, CODEC, {"lambdas": {q: FEATURE_LAMBDAS[q] for q in codecs}}, state, _card(out, codecs))
    for path in sorted(out.glob("residual-q*.pt")):
        quality = int(path.stem.rsplit("-q", 1)[1])
        config = zoo.load(path, "hyperprior").config
        save_weights(load_network(path, "hyperprior"), "hyperprior", int(config["N"]), int(config["M"]),
                     zoo.path(RESIDUAL, quality, folder),
                     {"role": f"feature-texture learned residual codec, residual quality {quality}"})
    return target


def _stage_steps(out: Path) -> dict:
    steps = {}
    for path in sorted(out.glob("*.pt")):
        if path.stem.startswith("residual"):
            continue
        data = read_checkpoint(path, path.stem)
        steps[path.stem] = {k: data[k] for k in ("steps", "qualities", "images", "identities") if k in data}
    steps["residual"] = "200 steps, batch 8, 128x128 crops, Adam 1e-4 (main) / 1e-3 (aux)"
    steps["batches"] = "extractor 32 (256x256 faces, flips), codec 256 feature vectors (SATD on 16), texture 8"
    return steps


def _card(out: Path, codecs: dict) -> dict:
    import sys
    ft = sys.modules[__name__]
    from .codec import DEFAULT_FEATURE_QUALITY
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()] if (out / "log.jsonl").exists() else []

    def last(stage):
        rows = [r for r in log if r["stage"] == stage]
        return rows[-1] if rows else None

    card = {
        "status": "preliminary: trained on CPU in minutes per stage (no GPU was lent); see docs/results/feature-texture",
        "paper": "seed 003 (scalable feature and texture compression); equations mapped in lamina/codecs/feature_texture/README.md",
        "extractor": {"init": "MobileFaceNet, shared CASIA-WebFace checkpoint (../shared/data/weights/mobilefacenet)",
                      "loss": f"cosine-softmax identity CE (s=16) + {ft.LAMBDA_S:g} * SATD(x_s 32x32, x_trans)",
                      "data": "celeba-train minus the 85 verification identities (lamina/data/pairs.py)",
                      "lr": ft.EXTRACTOR_LR, "batchnorm": "frozen statistics", "last_log": last("extractor")},
        "feature_codec": {"architecture": "FC 128-256-GDN-256-GDN-64, clip ±20, EntropyBottleneck(64); decoder mirror with IGDN",
                          "loss": f"||f - f_rec||^2 + lambda1 * bits + {ft.LAMBDA_2:g} * SATD(x_s, x_trans)",
                          "note": "last_log.aux is before the final quantile fit (fit_quantiles), which runs after training",
                          "lambdas": {q: ft.FEATURE_LAMBDAS[q] for q in codecs},
                          "last_log": {q: last(f"codec-q{q}") for q in codecs}},
        "texture": {"architecture": "structure head (FC + 3 deconv to 32x32) + Laplacian levels 64/128/256",
                    "loss": "sum over 3 levels of SATD(x_base^l, x^l)", "trained_on": "decoded features of every feature quality",
                    "last_log": last("texture")},
        "residual": {"architecture": "CompressAI ScaleHyperprior N=64 M=96, warm-started from lamina/zoo/hyperprior-q<q>.pt",
                     "data": "min-max normalised residuals x - x_base (default feature quality), random 128x128 crops",
                     "last_log": {p.stem: last(p.stem) for p in sorted(out.glob("residual-q*.pt"))}},
        "steps": _stage_steps(out),
        "data": "celeba-train + utk-train resized to 256 (last 64 utk-train held out); no test images",
        "default_feature_quality": DEFAULT_FEATURE_QUALITY,
    }
    return card


# ------------------------------------------------------------------------------------------ lamina train
def _out(args) -> Path:
    out = Path(args.out or "runs/feature-texture")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _qualities(args, default) -> list[int]:
    return [args.quality] if args.quality is not None else list(default)


def _stage_refit_quantiles(args) -> str:
    """Re-converge the entropy-model quantiles of saved feature codecs."""
    out, lines = _out(args), []
    for q in _qualities(args, trained_qualities(out)):
        path = out / f"codec-q{q}.pt"
        data = read_checkpoint(path, "feature codec")
        codec = nets.FeatureCodec()
        nets.load_state(codec, data["codec"])
        lines.append(f"{path} aux loss {fit_quantiles(codec)}")
        codec.entropy.update(force=True)
        data["codec"] = codec.state_dict()
        torch.save(data, path)
    return "\n".join(lines)


def _stage_residual(control: bool):
    def stage(args) -> str:
        from .codec import DEFAULT_FEATURE_QUALITY
        fq = DEFAULT_FEATURE_QUALITY if args.feature_quality is None else args.feature_quality
        return "\n".join(str(stage_residual(_out(args), q, args.steps or 1000, fq, root=args.data_root,
                                             limit=args.limit, control=control))
                         for q in _qualities(args, [1, 2, 3, 4]))
    return stage


def _register() -> None:
    from ...options import Option
    from ...registry import add_trainable
    from ...train.trainable import Trainable
    stages = {
        "extractor": lambda a: str(stage_extractor(_out(a), a.steps or 1000, root=a.data_root, limit=a.limit)),
        "features": lambda a: str(stage_features(_out(a), root=a.data_root, limit=a.limit)),
        "codec": lambda a: "\n".join(str(stage_codec(_out(a), q, a.steps or 1000))
                                     for q in _qualities(a, sorted(FEATURE_LAMBDAS))),
        "refit": _stage_refit_quantiles,
        "texture": lambda a: str(stage_texture(_out(a), a.steps or 1000, root=a.data_root, limit=a.limit)),
        "residual": _stage_residual(False),
        "control": _stage_residual(True),
        "export": lambda a: str(export(_out(a))),
    }
    options = (Option("--limit", "limit", type=int, help="feature-texture smoke runs: first N images of each source"),
               Option("--feature-quality", "feature_quality", type=int,
                      help="feature-texture residual stages: the feature quality whose x_base the residual follows"))
    add_trainable(Trainable("feature-texture", "stages: " + ", ".join(stages), stages, options))


_register()
