"""Training of lamina's face prior (lamina.priors.face) on the shared loop: cached faces and TAEF2 latents,
the layered-autoencoder loss with quantisation noise and a rate controller, validation, export, and the
`lamina train face-prior` stages (cache, train, export, evaluate)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from ..train.loop import TrainTask
from .face import LAYER_PROBS, NAME, PRESETS, FacePrior, load_prior, render, save_prior


class CachedFaces:
    """Training faces at the prior's size (uint8) with their TAEF2 latents (lamina.priors.cache), served as
    batches that are a function of (seed, rank, step) (no flips: a flipped latent is not the latent of the
    flipped face)."""

    def __init__(self, path: Path, limit: int | None = None, condition: bool = False):
        if not Path(path).exists():
            raise InputError(f"face prior cache not found: {path} (lamina train face-prior --stage cache)")
        data = torch.load(path, weights_only=True)
        self.images, self.latents = data["images"][:limit], data["latents"][:limit]
        self.conditions = identity_cache(Path(path), self.images) if condition else None

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index) -> dict[str, torch.Tensor]:
        images = self.images[index].permute(0, 3, 1, 2).float() / 255
        batch = {"image": images, "latent": self.latents[index].float()}
        if self.conditions is not None:
            batch["condition"] = self.conditions[index].float()
        return batch

    def batch(self, size: int, seed: int, rank: int, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([seed, rank, step])
        return self.take(torch.from_numpy(rng.integers(len(self), size=size)))


def identity_cache(path: Path, images: torch.Tensor) -> torch.Tensor:
    """The decoded identity features (lamina.priors.identity) of a cache file's faces, computed once and kept beside
    it as identity-<name> (fp16)."""
    out = path.with_name(f"identity-{path.name}")
    if out.exists():
        features = torch.load(out, weights_only=True)
        if len(features) >= len(images):
            return features[:len(images)]
    from .identity import identity_condition
    features = torch.cat([identity_condition(images[i:i + 512].permute(0, 3, 1, 2).float() / 255)
                          for i in range(0, len(images), 512)]).half()
    torch.save(features, out)
    return features


class FacePriorTask(TrainTask):
    """The prior's TrainTask on the shared loop (lamina.train.loop)."""

    name = "face-prior"

    def __init__(self, preset: str = "latent128", target_bits: float = 3200.0, pixel_every: int = 4,
                 pixel_batch: int = 4, pixel_weight: float = 1.0, rate_warmup: int = 300, rate_lr: float = 0.01,
                 cache: str | Path = "runs/prior/cache", encoder_gain: float | None = None,
                 identity_weight: float = 0.0, landmark_weight: float = 0.0, condition: str | None = None,
                 basic_landmark_weight: float = 0.0):
        if preset not in PRESETS:
            raise InputError(f"unknown face prior preset {preset!r}; known: {', '.join(PRESETS)}")
        self.preset = preset
        self.arch = dict(PRESETS[preset])
        if encoder_gain is not None:
            self.arch["encoder_gain"] = encoder_gain
        if condition not in (None, "identity"):
            raise InputError(f"face prior condition must be 'identity', got {condition!r}")
        if condition:
            self.arch["condition_dim"] = 128
        self.target_bits, self.pixel_every, self.pixel_batch = float(target_bits), int(pixel_every), int(pixel_batch)
        self.pixel_weight, self.rate_warmup, self.rate_lr = float(pixel_weight), int(rate_warmup), float(rate_lr)
        self.cache = Path(cache)
        self.identity_weight = float(identity_weight)
        self.landmark_weight = float(landmark_weight)
        # issue 23's basic-layer landmarks: on pixel steps the same faces are also rendered from their basic layer
        # alone, and their landmark term is added with this weight
        self.basic_landmark_weight = float(basic_landmark_weight)
        self.step = 0
        self._lpips = None
        self._identity = None
        self._heatmap = None

    def fingerprint(self) -> dict:
        """What a checkpoint of this task must match to be resumed."""
        return {"task": self.name, "preset": self.preset, "arch": self.arch, "target_bits": self.target_bits,
                "pixel_every": self.pixel_every, "pixel_batch": self.pixel_batch,
                "pixel_weight": self.pixel_weight, "identity_weight": self.identity_weight,
                **({"landmark_weight": self.landmark_weight} if self.landmark_weight else {}),
                **({"basic_landmark_weight": self.basic_landmark_weight} if self.basic_landmark_weight else {})}

    @property
    def lpips(self):
        if self._lpips is None:
            from ..metrics.perceptual import LPIPS
            self._lpips = LPIPS("alex").eval().requires_grad_(False)
        return self._lpips

    def identity_distance(self, image: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """1 - cos of MobileFaceNet embeddings (the shared weights; ArcFace's stand-in) on the fixed crop."""
        from ..nn.mobilefacenet import crop_112x96
        if self._identity is None:
            from ..nn.mobilefacenet import load_mobilefacenet
            self._identity = load_mobilefacenet().eval().requires_grad_(False)

        def embed(x):
            return F.normalize(self._identity((crop_112x96(x) * 255 - 127.5) / 128), dim=1)
        with torch.no_grad():
            reference = embed(image)
        return 1 - (embed(x_hat) * reference).sum(1)

    def landmark_distance(self, image: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """The seed's landmark distortion (Eq. 17, as stylegan-scalable's objective computes it): the squared norm of
        each of the 68 heatmaps' difference under lamina's heatmap network (AdaptiveWing's stand-in), averaged."""
        if self._heatmap is None:
            from ..vision.heatmap import load_heatmap_net
            self._heatmap = load_heatmap_net()
        with torch.no_grad():
            reference = self._heatmap(image)
        return (self._heatmap(x_hat) - reference).pow(2).flatten(2).sum(2).mean(1)

    def make_data(self, config):
        size = self.arch["size"]
        cache_size = 128 if self.arch["space"] == "pixel" else size
        condition = bool(self.arch.get("condition_dim"))
        train = CachedFaces(self.cache / f"train-{cache_size}.pt", config.max_train_images, condition)
        validation = CachedFaces(self.cache / f"validation-{cache_size}.pt", condition=condition).take(slice(None))
        return train, validation

    def build_model(self) -> FacePrior:
        model = FacePrior(**self.arch)
        with torch.no_grad():
            model.w_avg.copy_(model.generator.mean_latent(1024))
        return model

    def parameter_groups(self, model):
        from ..entropy import split_aux_parameters
        return split_aux_parameters(model, frozen_prefixes=("generator.style.",))

    def set_step(self, step: int) -> None:
        self.step = step

    def inputs(self, model: FacePrior, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(encoder input, target image in [0, 1] at the output size)."""
        image = batch["image"]
        if model.space == "taef2":
            return batch["latent"], image
        image = F.interpolate(image, size=(model.size, model.size), mode="bilinear", align_corners=False,
                              antialias=True)
        return image * 2 - 1, image

    def losses(self, model: FacePrior, batch: dict) -> dict[str, torch.Tensor]:
        x_in, image = self.inputs(model, batch)
        styles = model.encode(x_in)
        noisy = styles + torch.empty_like(styles).uniform_(-0.5, 0.5)
        bits = model.style_bits(noisy)
        n = styles.shape[0]
        layers = torch.multinomial(torch.tensor(LAYER_PROBS), n, replacement=True).to(styles.device) + 1
        out = model.synthesize(noisy, layers, batch.get("condition"))
        if model.space == "taef2":
            distortion = (out - batch["latent"]).pow(2).flatten(1).mean(1)
        else:
            distortion = (out / 2 + 0.5 - image).pow(2).flatten(1).mean(1) * 10 \
                + self.lpips(image, out / 2 + 0.5)
        terms = {"distortion": distortion.mean()}
        loss = distortion.mean()
        if model.space == "taef2" and self.pixel_every and self.step % self.pixel_every == 0:
            k = min(self.pixel_batch, n)
            pixels = render(model, out[:k])
            lpips = self.lpips(image[:k], pixels).mean()
            mse = (pixels - image[:k]).pow(2).mean()
            loss = loss + self.pixel_weight * (lpips + 10 * mse)
            terms.update({"lpips": lpips, "pixel_mse": mse})
            if self.identity_weight:
                identity = self.identity_distance(image[:k], pixels).mean()
                loss = loss + self.identity_weight * identity
                terms["identity"] = identity
            if self.landmark_weight:
                landmarks = self.landmark_distance(image[:k], pixels).mean()
                loss = loss + self.landmark_weight * landmarks
                terms["landmarks"] = landmarks
            if self.basic_landmark_weight:
                condition = batch.get("condition")
                basic = model.synthesize(noisy[:k], torch.ones_like(layers[:k]),
                                         None if condition is None else condition[:k])
                basic_landmarks = self.landmark_distance(image[:k], render(model, basic)).mean()
                loss = loss + self.basic_landmark_weight * basic_landmarks
                terms["basic_landmarks"] = basic_landmarks
        total_bits = bits.sum(1).mean()
        lam = model.log_lambda.exp() if self.step >= self.rate_warmup else torch.zeros(())
        loss = loss + lam * total_bits / 1000
        if self.step >= self.rate_warmup and model.training:
            with torch.no_grad():  # dual ascent: raise λ while over budget, lower it while under
                model.log_lambda.add_(self.rate_lr * (float(total_bits) / self.target_bits - 1))
                model.log_lambda.clamp_(-12, 4)
        terms.update({"loss": loss, "bits": total_bits.detach(), "lambda": lam.detach() if torch.is_tensor(lam) else lam,
                      "aux_loss": model.entropy.loss()})
        return terms

    @torch.no_grad()
    def validate(self, model: FacePrior, batch: dict) -> dict[str, float]:
        x_in, image = self.inputs(model, batch)
        styles = torch.round(model.encode(x_in))
        bits = model.style_bits(styles)
        result = {"bits_per_layer": [round(float(b), 1) for b in bits.mean(0)],
                  "style_std": float(model.encode(x_in).std())}
        for k in (1, 2, 3):
            out = model.synthesize(styles, k, batch.get("condition"))
            if model.space == "taef2":
                result[f"latent_mse_{k}"] = float((out - batch["latent"]).pow(2).mean())
            pixels = torch.cat([render(model, out[i:i + 16]) for i in range(0, len(out), 16)]).clamp(0, 1)
            result[f"psnr_{k}"] = float(-10 * torch.log10((pixels - image).pow(2).flatten(1).mean(1)).mean())
            result[f"lpips_{k}"] = float(self.lpips(image, pixels).mean())
        return result

    def warm_start(self, model, weights: Path) -> None:
        loaded = load_prior(Path(weights))
        model.load_state_dict(loaded.state_dict(), strict=False)

    def export(self, model: FacePrior, out: Path, card: dict) -> Path:
        path = out / f"{NAME}-{self.preset}.pt"
        card = dict(card)
        card.update({"model": NAME, "preset": self.preset, "architecture": model.config,
                     "training": self.fingerprint(), "final_lambda": float(model.log_lambda.exp())})
        save_prior(model.cpu().eval(), path, card)
        return path


# ------------------------------------------------------------------------------------------ lamina train
def _stage_cache(args) -> str:
    from .cache import build
    size = PRESETS[args.preset or "latent128"]["size"]
    from ..train.trainable import given
    return str(build(Path(args.cache or "runs/prior/cache"), 128 if PRESETS[args.preset or "latent128"]["space"]
                     == "pixel" else size, **given(args, "data", "limit", root="data_root")))


def _stage_train(args) -> str:
    from ..train.trainable import run_loop
    task = FacePriorTask(args.preset or "latent128", target_bits=args.target_bits or 3200.0,
                         pixel_every=4 if args.pixel_every is None else args.pixel_every,
                         identity_weight=args.identity_weight or 0.0, landmark_weight=args.landmark_weight or 0.0,
                         condition=args.condition, basic_landmark_weight=args.basic_landmark_weight or 0.0,
                         cache=args.cache or "runs/prior/cache")
    return run_loop(task, args)


def _stage_export(args) -> str:
    """Export the latest checkpoint of a run (running or stopped) as a prior weights file, without training: the
    moving average of the weights where the run keeps one (--ema: what the loop's own export writes), else the
    live weights."""
    from ..zoo import read_checkpoint
    out = Path(args.out or "runs/prior/long")
    state = read_checkpoint(out / "checkpoint.pt", "face prior checkpoint")
    fingerprint = json.loads(state.get("fingerprint") or "null") or {}
    preset = fingerprint.get("preset") or args.preset or "latent128"
    model = FacePrior(**fingerprint.get("arch", PRESETS[preset]))
    average = state.get("ema")
    model.load_state_dict({**state["model"], **(average or {})})
    path = Path(args.weights) if args.weights else out / f"{NAME}-{preset}-step{state['step']}.pt"
    save_prior(model.eval(), path, {"model": NAME, "preset": preset, "steps": state["step"],
                                    "wall_time_s": round(float(state.get("elapsed_s", 0)), 1),
                                    "training": fingerprint, "final_lambda": float(model.log_lambda.exp()),
                                    "weights": "the moving average (--ema)" if average else "the live weights",
                                    "exported_from": str(out / "checkpoint.pt")})
    return f"{path}: step {state['step']}"


def _stage_evaluate(args) -> str:
    from .evaluate import evaluate_items
    if not args.weights:
        raise InputError("the evaluate stage needs --weights (an exported face prior)")
    return json.dumps(evaluate_items(load_prior(Path(args.weights)), args.dataset or "validation",
                                     args.limit or 64), indent=1)


def _register() -> None:
    from ..options import Option
    from ..registry import add_trainable
    from ..train.trainable import Trainable
    options = (Option("--cache", "cache", help="face prior: folder of the cached faces and TAEF2 latents "
                                               "(default runs/prior/cache)"),
               Option("--target-bits", "target_bits", type=float, help="face prior: the rate controller's target "
                                                                        "(estimated bits per face, default 3200)"),
               Option("--pixel-every", "pixel_every", type=int, help="face prior: pixel-space LPIPS + MSE through "
                                                                      "the frozen TAEF2 decoder every N steps (0: never)"),
               Option("--identity-weight", "identity_weight", type=float,
                      help="face prior: weight of the MobileFaceNet identity term on pixel steps"),
               Option("--landmark-weight", "landmark_weight", type=float,
                      help="face prior: weight of the heatmap-network landmark term on pixel steps"),
               Option("--basic-landmark-weight", "basic_landmark_weight", type=float,
                      help="face prior: on pixel steps also render the faces from their basic layer alone and add "
                           "their landmark term with this weight"),
               Option("--condition", "condition", help="face prior: 'identity' conditions the generator on "
                                                        "feature-texture's decoded identity feature (probe (c))"),
               Option("--dataset", "dataset", help="face prior evaluate: 'validation' or a dataset name"),
               Option("--limit", "limit", type=int, help="evaluate: first N images"))
    add_trainable(Trainable(NAME, "lamina's face prior (StyleGAN2 synthesis of TAEF2 latents + style encoder); "
                                  "stages: cache, train, export (a run's latest checkpoint), evaluate",
                            {"train": _stage_train, "cache": _stage_cache, "evaluate": _stage_evaluate,
                             "export": _stage_export},
                            options, default_stage="train"))


_register()
