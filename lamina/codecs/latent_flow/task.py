"""Training of latent-flow (seed 002) on the shared loop: only the flow T and the entropy models learn, on
cached styles of the frozen face prior (no image is generated in training, as in the paper).

    lamina train latent-flow --stage cache                       # styles of the prior cache's faces, once
    lamina train latent-flow --quality 3 --steps 6000 --out runs/latent-flow/q3     # L = R + λ·MSE_W
    lamina train latent-flow --stage video --weights lamina/zoo/latent-flow-q3.pt    # difference model
    lamina train latent-flow --stage evaluate --weights ...      # real bytes, W MSE, LPIPS on held-out faces
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ... import zoo
from ...errors import InputError
from ...priors.face import image_to_model
from ...train.loop import TrainTask
from .model import CODEC, LAMBDAS, LatentFlowModel, load_model, new_model, save_model

STYLES = Path("runs/latent-flow/styles")


class CachedStyles:
    """The prior's styles (N x T x dim) of cached faces, served as batches that are a function of
    (seed, rank, step)."""

    def __init__(self, path: Path, limit: int | None = None):
        if not Path(path).exists():
            raise InputError(f"latent-flow style cache not found: {path} (lamina train latent-flow --stage cache)")
        data = torch.load(path, weights_only=True)
        self.styles = data["styles"][:limit].float()

    def __len__(self) -> int:
        return len(self.styles)

    def batch(self, size: int, seed: int, rank: int, step: int) -> torch.Tensor:
        rng = np.random.default_rng([seed, rank, step])
        return self.styles[torch.from_numpy(rng.integers(len(self), size=size))]


def cache_styles(prior_cache: Path, out: Path, prior_name: str = "face-prior", batch: int = 128) -> list[Path]:
    """Styles of every face in the face prior's cache (TAEF2 latents, lamina.priors.cache) through the frozen
    prior's style encoder: out/{train,validation}.pt with the prior's id (recomputed when it changed)."""
    from ...priors.face import committed_prior
    prior, prior_id = committed_prior(prior_name, CODEC)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split in ("validation", "train"):
        path = out / f"{split}.pt"
        if path.exists() and torch.load(path, weights_only=True).get("prior_id") == prior_id:
            written.append(path)
            continue
        source = prior_cache / f"{split}-{prior.size}.pt"
        if not source.exists():
            raise InputError(f"face prior cache not found: {source} (lamina train face-prior --stage cache)")
        latents = torch.load(source, weights_only=True)["latents"]
        with torch.no_grad():
            styles = torch.cat([prior.encode(latents[i:i + batch].float()) for i in range(0, len(latents), batch)])
        torch.save({"styles": styles.half(), "prior_id": prior_id}, path)
        written.append(path)
    return written


class LatentFlowTask(TrainTask):
    """L = R + λ·D (eq. 5): R the bits of T(s) + U(-1/2, 1/2) under the factorized model (per face), D the
    (per-style weighted) MSE of W+ in W units between w and T⁻¹(T(w) + ε); CompressAI's auxiliary quantile
    loss on the side."""

    name = CODEC

    def __init__(self, lmbda: float, quality: int | None = None, per_stage: bool = False, couplings: int = 13,
                 hidden: int | None = None, prior: str = "face-prior", styles: Path = STYLES):
        self.lmbda, self.quality, self.per_stage = float(lmbda), quality, bool(per_stage)
        self.couplings, self.hidden, self.prior, self.styles = couplings, hidden, prior, Path(styles)

    def fingerprint(self) -> dict:
        return {"task": self.name, "lambda": self.lmbda, "per_stage": self.per_stage, "couplings": self.couplings,
                "hidden": self.hidden, "prior_id": zoo.model_id_of(zoo.path(self.prior)).hex()}

    def make_data(self, config):
        train = CachedStyles(self.styles / "train.pt", config.max_train_images)
        return train, CachedStyles(self.styles / "validation.pt").styles

    def build_model(self) -> LatentFlowModel:
        model = new_model(self.prior, self.per_stage, self.couplings, self.hidden, self.lmbda)
        model.init_entropy_from_prior()
        return model

    def parameter_groups(self, model):
        from ...entropy import split_aux_parameters
        return split_aux_parameters(model, frozen_prefixes=("prior.", "delta."))

    def losses(self, model: LatentFlowModel, styles: torch.Tensor) -> dict[str, torch.Tensor]:
        out = model(styles)
        rate, distortion = out["bits"].sum(1).mean(), out["distortion"].mean()
        return {"loss": rate + self.lmbda * distortion, "bits": rate.detach(), "mse_w": out["mse_w"].mean().detach(),
                "aux_loss": model.aux_loss()}

    def validate(self, model: LatentFlowModel, styles: torch.Tensor) -> dict[str, float]:
        out = model(styles)  # eval mode: rounded around the medians
        return {"bits": float(out["bits"].sum(1).mean()),
                "bits_per_layer": [round(float(b), 1) for b in out["bits"].mean(0)],
                "mse_w": float(out["mse_w"].mean()),
                "lagrangian": float(out["bits"].sum(1).mean() + self.lmbda * out["distortion"].mean())}

    def warm_start(self, model, weights: Path) -> None:
        # The file's state alone (not load_model): the flow may have been fitted on another prior than the one
        # committed now (a refit on a new prior starts from the old flow).
        saved = zoo.load(Path(weights), CODEC).state_dict
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in saved.items() if not k.startswith("prior.")
                 and not any(t in k for t in ("_quantized_cdf", "_offset", "_cdf_length"))}
        model.load_state_dict(state, strict=False)

    def export(self, model: LatentFlowModel, out: Path, card: dict) -> Path:
        path = out / f"{CODEC}-q{self.quality or 0}.pt"
        model = model.cpu().eval()
        model.update()
        card = dict(card)
        card.update({"codec": CODEC, "quality": self.quality, "lambda": self.lmbda, "architecture": model.config,
                     "objective": "L = R + lambda * MSE(w, T^-1(T(w) + U)) in W units (eq. 5 of seed 002); no "
                                  "images generated in training",
                     "data": "styles of the face prior's cached training faces (utk-train + celeba-train + "
                             "landmarks-helen-train, train_images of them); validation: the last 64 utk-train faces",
                     "status": "CPU-trained on lamina's own face prior (no StyleGAN2-FFHQ / pSp here)"})
        save_model(model, path, card)
        return path


# ------------------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def evaluate(model: LatentFlowModel, dataset: str = "validation", limit: int = 64) -> dict:
    """Real rANS bytes, W MSE and LPIPS-alex / PSNR against the original and against the projection
    G(E(x)) on held-out faces (the validation faces, or a dataset's first `limit`)."""
    from ...data.training import split_items
    from ...metrics.perceptual import LPIPS
    if dataset == "validation":
        _, items = split_items("faces")
        images = [item.image() for item in items[:limit]]
    else:
        from ...data.datasets import load_dataset
        images = [item.image() for item in load_dataset(dataset)[:limit]]
    lpips = LPIPS("alex").eval()
    rows = []
    for image in images:
        x = image_to_model(image, model.config["size"])
        styles = model.encode(x)
        payloads = model.compress(styles)
        s_hat = model.from_proxy(model.decompress_proxies(payloads))
        x01 = x / 2 + 0.5
        projected = (model.synthesize(styles, 3).clamp(-1, 1) + 1) / 2
        decoded = (model.synthesize(s_hat, 3).clamp(-1, 1) + 1) / 2
        rows.append({"bytes": sum(len(p) for p in payloads),
                     "mse_w": float((styles - s_hat).pow(2).mean() * model.style_step ** 2),
                     "lpips_original": float(lpips(x01, decoded)), "lpips_projected": float(lpips(projected, decoded)),
                     "lpips_projection_vs_original": float(lpips(x01, projected)),
                     "psnr_original": float(-10 * torch.log10((x01 - decoded).pow(2).mean())),
                     "psnr_projected": float(-10 * torch.log10((projected - decoded).pow(2).mean()))})
    return {k: round(float(np.mean([r[k] for r in rows])), 5) for k in rows[0]} | {"faces": len(rows)}


# ------------------------------------------------------------------------------------------ video difference model
# latent-flow's difference model for video: with the flow T frozen (the image model of the same quality),
# a fresh factorized entropy model per style group is fitted on the rate of consecutive-frame proxy
# differences y_t - y_{t-1} (uniform-noise relaxation) of the training clips. The open-loop distortion does not
# depend on this model (it only prices v_t), so the fit is rate-only; the Irwin-Hall residual model is fixed.
#
# Training clips: lp_d3, lp_d6, lp_d9 (the shared talking-face clips not used in docs/results/latent-flow's
# video measurements, which use WDA_KatieHill_000, RD_Radio34_000 and lp_d0); the last 20% of each clip's
# frames are held out to report the fitted rate.
from ...data.datasets import VIDEO_TRAIN_CLIPS as TRAIN_CLIPS  # noqa: E402
CLIP_CACHE = Path("runs/latent-flow/clips")
HELD_OUT = 0.2


def clip_styles(name: str, model, side: int = 256, cache: Path = CLIP_CACHE, batch: int = 32,
                max_frames: int | None = None, reframed: bool = True) -> torch.Tensor:
    """The prior's styles (F x T x dim) of every frame of a shared clip, aligned into the face framing with
    its first frame's alignment (lamina.vision.align.align_clip), then, `reframed` (as the codec's video default
    --reframe codes them), each frame warped into the framing by its own transform (lamina.codecs.reframe);
    cached per prior id."""
    from ...data.datasets import data_root
    from ...video import read_video
    from ...vision.align import align_clip
    from .. import reframe
    path = cache / (f"{Path(name).stem}{'' if max_frames is None else f'-{max_frames}'}"
                    f"{'-reframed' if reframed else ''}.pt")
    if path.exists():
        data = torch.load(path, weights_only=True)
        if data.get("prior_id") == model.config["prior_id"]:
            return data["styles"].float()
    frames, _ = read_video(data_root() / "video" / name, max_frames=max_frames)
    frames = align_clip(frames, side)
    if reframed:
        frames = reframe.chips(frames)[1]
    size = model.config["size"]
    with torch.no_grad():
        styles = torch.cat([model.encode(torch.cat([image_to_model(f, size) for f in frames[i:i + batch]]))
                            for i in range(0, len(frames), batch)])
    cache.mkdir(parents=True, exist_ok=True)
    torch.save({"styles": styles.half(), "prior_id": model.config["prior_id"]}, path)
    return styles


def differences(model, styles: torch.Tensor) -> list[torch.Tensor]:
    """Per group the proxy differences y_t - y_{t-1} (F-1 x C x 1) of one clip."""
    with torch.no_grad():
        proxies = model.to_proxy(styles)
    return [y[1:] - y[:-1] for y in proxies]


def fit_delta(weights: Path, steps: int = 2000, seed: int = 0, batch: int = 64, lr: float = 5e-3,
              init_scale: float = 1.0, clips: tuple[str, ...] = TRAIN_CLIPS, max_frames: int | None = None,
              cache: Path = CLIP_CACHE) -> str:
    """Fit the difference entropy models of a latent-flow weights file on the training clips; rewrites the file
    (a new model id) and its card. Returns a one-line summary with held-out bits per frame."""
    from ...compat import import_compressai
    from ...entropy import split_aux_parameters
    EntropyBottleneck = import_compressai().entropy_models.EntropyBottleneck
    model, old_id = load_model(weights)
    train, held = [[] for _ in model.groups], [[] for _ in model.groups]
    for name in clips:
        for k, d in enumerate(differences(model, clip_styles(name, model, cache=cache, max_frames=max_frames))):
            cut = int(len(d) * (1 - HELD_OUT))
            train[k].append(d[:cut])
            held[k].append(d[cut:])
    train = [torch.cat(parts) for parts in train]
    held = [torch.cat(parts) for parts in held]
    torch.manual_seed(seed)
    # differences are small (most round to 0): a narrow initial density (CompressAI's default init_scale is 10)
    model.delta = torch.nn.ModuleList([EntropyBottleneck(n * model.dim, init_scale=init_scale) for n in model.groups])
    parts = split_aux_parameters(model.delta)
    main, aux = torch.optim.Adam(parts["main"], lr=lr), torch.optim.Adam(parts["aux"], lr=lr)
    rng = np.random.default_rng(seed)
    model.delta.train().requires_grad_(True)
    for _ in range(steps):
        index = torch.from_numpy(rng.integers(len(train[0]), size=batch))
        rate = sum(-torch.log2(eb(d[index])[1]).flatten(1).sum(1).mean() for eb, d in zip(model.delta, train))
        main.zero_grad()
        aux.zero_grad()
        (rate + model.delta_aux_loss()).backward()
        main.step()
        aux.step()
    model.eval().requires_grad_(False)
    model.update()
    # held-out: real bytes of the rounded differences (the open-loop v_t), per frame, all groups
    from .video import _delta_medians
    held_bytes = []
    for i in range(len(held[0])):
        total = 0
        for eb, d in zip(model.delta, held):
            v = torch.round(d[i:i + 1])
            total += len(eb.compress(v + _delta_medians(eb, v))[0])
        held_bytes.append(total)
    card = zoo.card(weights)
    card["video_difference_model"] = {
        "clips": list(clips), "frames": int(len(train[0])), "steps": steps, "batch": batch, "lr": lr,
        "init_scale": init_scale,
        "seed": seed, "objective": "bits of y_t - y_{t-1} + U(-1/2, 1/2) under a fresh factorized model per group",
        "held_out": f"the last {int(HELD_OUT * 100)}% of each clip's frames ({len(held_bytes)} differences)",
        "held_out_bytes_per_frame": round(float(np.mean(held_bytes)), 1),
        "command": f"lamina train latent-flow --stage video --weights {weights} --steps {steps} --seed {seed}"}
    new_id = save_model(model, weights, card)
    return (f"{weights}: difference model fitted on {len(train[0])} frame pairs; held-out "
            f"{np.mean(held_bytes):.1f} bytes per difference frame; model id {old_id.hex()} -> {new_id.hex()}")


# ------------------------------------------------------------------------------------------ lamina train
def _lambda(args) -> float:
    if args.lmbda is not None:
        return float(args.lmbda)
    if args.quality not in LAMBDAS:
        raise InputError(f"give --lambda or a --quality in {sorted(LAMBDAS)}")
    return LAMBDAS[args.quality]


def _stage_cache(args) -> str:
    paths = cache_styles(Path(args.cache or "runs/prior/cache"), Path(args.styles or STYLES))
    return ", ".join(str(p) for p in paths)


def _stage_train(args) -> str:
    from ...train.trainable import run_loop
    couplings = 13 if args.couplings is None else args.couplings
    task = LatentFlowTask(_lambda(args), args.quality, bool(args.per_stage), couplings,
                          styles=Path(args.styles or STYLES))
    return run_loop(task, args)


def _stage_evaluate(args) -> str:
    if not args.weights:
        raise InputError("the evaluate stage needs --weights (an exported latent-flow file)")
    model, _ = load_model(Path(args.weights))
    return json.dumps(evaluate(model, args.dataset or "validation", args.limit or 64))


def _stage_video(args) -> str:
    if not args.weights:
        raise InputError("the video stage needs --weights (an exported latent-flow file; it is rewritten)")
    from ...train.trainable import given
    return fit_delta(Path(args.weights), **given(args, "steps", "seed"))


def _register() -> None:
    from ...options import Option
    from ...registry import add_trainable
    from ...train.trainable import Trainable
    options = (
        Option("--per-stage", "per_stage", type=bool, help="latent-flow: one flow and entropy model per stage, "
                                                           "distortion weights decaying to 0.01 (the paper's SS)"),
        Option("--couplings", "couplings", type=int, help="latent-flow: coupling layers of T (default 13)"),
        Option("--styles", "styles", help="latent-flow: folder of the cached styles (default runs/latent-flow/styles)"),
    )
    add_trainable(Trainable(CODEC, "latent-flow (SGANC): stages cache (styles of the face prior's cache), train "
                                   "(flow + factorized entropy model, --quality or --lambda), video (difference "
                                   "entropy model on the training clips, --weights), evaluate (--weights)",
                            {"train": _stage_train, "cache": _stage_cache, "video": _stage_video,
                             "evaluate": _stage_evaluate}, options, default_stage="train"))


_register()
