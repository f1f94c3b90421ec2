"""lamina's face prior: a StyleGAN2 synthesis network and a hierarchical style encoder trained together as a
layered autoencoder on the shared face train splits, on 2 CPU cores.

No pretrained StyleGAN2-FFHQ / pSp exists here (../shared/docs/SEEDS.md), so lamina trains its own. Two
spaces (probed in docs/results/face-prior/probe.md, chosen by held-out numbers):

- `taef2` (the default): the generator outputs TAEF2 latents (32 x s/8 x s/8) and the frozen pretrained
  TAEF2 decoder (lamina.nn.taef2) renders pixels; the encoder reads the cached TAEF2 latent of the face.
  The loss is the latent MSE every step plus, every `pixel_every` steps, LPIPS-alex and pixel MSE through the
  frozen decoder. About 64x cheaper per face than pixels of the same size.
- `pixel`: a plain StyleGAN2 generator in pixels (64 px), the encoder reads pixels; bicubic to the output size.

What makes it a *codec's* prior (seed 000's W+ coding, stylegan-scalable and latent-flow stand on it):
- Styles are residuals in symbol units s = E(x); the generator sees w = w̄ + step · ŝ. Training adds uniform
  noise U(-1/2, 1/2) to s (coding rounds it), so rounded styles decode to faces.
- A factorized entropy model (CompressAI EntropyBottleneck over every style dimension) prices the styles in
  bits; a rate controller (a Lagrange multiplier updated every step, kept in the checkpoint) holds the mean
  estimate at `target_bits`, so the prior lands in the codec's byte budget without a λ sweep.
- Layered: styles are grouped basic / middle / enhanced (coarse to fine generator levels); every training
  sample decodes from a random prefix of k layers (the rest at w̄, Eqs. 4-6 of seed 000), so any prefix
  decodes to a face.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError

FORMAT = "lamina-face-prior-v1"

# Architectures. `size` is the output image side; in `taef2` space the generator works at size/8.
PRESETS = {
    "latent128": {"space": "taef2", "size": 128, "dim": 256, "groups": (2, 2, 2), "n_mlp": 4,
                  "channels": {4: 256, 8: 256, 16: 256}, "width": 128},
    "latent128-narrow": {"space": "taef2", "size": 128, "dim": 128, "groups": (2, 2, 2), "n_mlp": 4,
                         "channels": {4: 128, 8: 128, 16: 128}, "width": 64},
    "pixel64": {"space": "pixel", "size": 64, "dim": 256, "groups": (4, 3, 3), "n_mlp": 4,
                "channels": {4: 256, 8: 256, 16: 128, 32: 64, 64: 32}, "width": 64},
    # The paper's widths at 256 px (a GPU job: scripts/gpu_train_prior.sh).
    "latent256-paper": {"space": "taef2", "size": 256, "dim": 512, "groups": (3, 3, 2), "n_mlp": 8,
                        "channels": {4: 512, 8: 512, 16: 512, 32: 512}, "width": 256},
    # Smoke size for tests.
    "tiny": {"space": "taef2", "size": 64, "dim": 32, "groups": (1, 1, 2), "n_mlp": 2,
             "channels": {4: 32, 8: 32}, "width": 16},
}
STYLE_STEP = 0.5          # W units per symbol
LAYER_PROBS = (0.25, 0.25, 0.5)  # training: probability of decoding from 1, 2, 3 layers


def _conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2))


class StyleHead(nn.Module):
    """map2style with a normalised output: log2(spatial) strided convolutions to 1x1, PixelNorm, an equalised
    linear layer. The PixelNorm keeps a fresh encoder's styles O(1) (without it they start ~0.01 and drown
    in the quantisation noise, measured: std 0.009 at initialisation)."""

    def __init__(self, in_ch: int, dim: int, spatial: int):
        super().__init__()
        from ..codecs.stylegan2 import EqualLinear
        layers, ch = [], in_ch
        for _ in range(int(math.log2(spatial))):
            layers += [nn.Conv2d(ch, dim, 3, 2, 1), nn.LeakyReLU(0.2)]
            ch = dim
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(dim, dim)
        self.dim = dim

    def forward(self, x):
        h = self.convs(x).view(-1, self.dim)
        return self.linear(h * torch.rsqrt(h.pow(2).mean(1, keepdim=True) + 1e-8))


class StyleEncoder(nn.Module):
    """Hierarchical (pSp-like) style encoder: input (TAEF2 latent or pixels, side `side`) -> features at 16, 8,
    4; a top-down pyramid; basic styles from the 4x4 level, middle from 8x8, enhanced from 16x16, each through
    its own map2style block. Output: N x T x dim residual styles (symbol units after `gain`)."""

    def __init__(self, in_channels: int, side: int, dim: int, groups: tuple[int, int, int], width: int,
                 gain: float = 1.0):
        super().__init__()
        if side < 16 or side & (side - 1):
            raise InputError(f"style encoder input side must be a power of two >= 16, got {side}")
        layers, ch = [_conv(in_channels, width)], width
        for _ in range(int(math.log2(side // 16))):
            layers.append(_conv(ch, width, stride=2))
        self.stem = nn.Sequential(*layers, _conv(width, width))           # 16x16 -> F1
        self.down2 = nn.Sequential(_conv(width, 2 * width, 2), _conv(2 * width, 2 * width))  # 8x8 -> F2
        self.down3 = nn.Sequential(_conv(2 * width, 2 * width, 2), _conv(2 * width, 2 * width))  # 4x4 -> F3
        self.lateral1 = nn.Conv2d(width, 2 * width, 1)
        c = 2 * width
        self.styles = nn.ModuleList([StyleHead(c, dim, 4) for _ in range(groups[0])]
                                    + [StyleHead(c, dim, 8) for _ in range(groups[1])]
                                    + [StyleHead(c, dim, 16) for _ in range(groups[2])])
        self.groups, self.gain = tuple(groups), float(gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.stem(x)
        f2 = self.down2(f1)
        f3 = self.down3(f2)
        p2 = f2 + F.interpolate(f3, scale_factor=2, mode="nearest")
        p1 = self.lateral1(f1) + F.interpolate(p2, scale_factor=2, mode="nearest")
        features = [f3] * self.groups[0] + [p2] * self.groups[1] + [p1] * self.groups[2]
        return torch.stack([block(f) for block, f in zip(self.styles, features)], dim=1) * self.gain


class FacePrior(nn.Module):
    """Encoder + generator (+ factorized style entropy model for training) of one preset."""

    def __init__(self, space: str = "taef2", size: int = 128, dim: int = 256, groups=(2, 2, 2), n_mlp: int = 4,
                 channels=None, width: int = 128, encoder_gain: float = 2.0, style_step: float = STYLE_STEP):
        super().__init__()
        from ..compat import import_compressai
        EntropyBottleneck = import_compressai().entropy_models.EntropyBottleneck

        from ..codecs.stylegan2 import Generator
        if space not in ("taef2", "pixel"):
            raise InputError(f"face prior space must be 'taef2' or 'pixel', got {space!r}")
        channels = {int(k): int(v) for k, v in channels.items()}
        self.config = {"space": space, "size": size, "dim": dim, "groups": list(groups), "n_mlp": n_mlp,
                       "channels": channels, "width": width, "encoder_gain": encoder_gain,
                       "style_step": style_step}
        self.space, self.size, self.groups = space, size, tuple(groups)
        self.side = size // 8 if space == "taef2" else size  # generator / encoder working side
        out_channels = 32 if space == "taef2" else 3
        self.generator = Generator(self.side, dim, n_mlp, channels=channels, out_channels=out_channels)
        if sum(groups) != self.generator.n_latent:
            raise InputError(f"layer groups {groups} must cover the generator's {self.generator.n_latent} styles")
        self.encoder = StyleEncoder(out_channels, self.side, dim, self.groups, width, gain=encoder_gain)
        self.style_step = float(style_step)
        self.n_styles = sum(groups)
        self.dim = dim
        self.entropy = EntropyBottleneck(self.n_styles * dim)
        self.register_buffer("w_avg", torch.zeros(1, dim))
        self.register_buffer("log_lambda", torch.tensor(-6.0))  # the rate controller's multiplier (log)

    def layer_mask(self, layers: torch.Tensor) -> torch.Tensor:
        """N x T x 1 mask: 1 for the styles of each sample's first `layers` layers."""
        token_layer = torch.cat([torch.full((n,), k) for k, n in enumerate(self.groups)]).to(layers.device)
        return (token_layer[None, :] < layers[:, None]).float()[..., None]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder input (latent, or pixels in [-1, 1]) -> styles in symbol units (N x T x dim)."""
        return self.encoder(x)

    def synthesize(self, styles: torch.Tensor, layers: torch.Tensor | int = 3) -> torch.Tensor:
        """Generator output (TAEF2 latent or pixels in about [-1, 1]) from the first `layers` layers' styles."""
        if isinstance(layers, int):
            layers = torch.full((styles.shape[0],), layers, device=styles.device)
        w = self.w_avg[:, None] + self.style_step * styles * self.layer_mask(layers)
        return self.generator(w)

    def style_bits(self, styles: torch.Tensor) -> torch.Tensor:
        """N x 3 bits per layer of (noisy or rounded) styles under the factorized model."""
        n = styles.shape[0]
        values = styles.reshape(n, -1).t().unsqueeze(1)  # C x 1 x N, CompressAI's internal layout
        likelihood, _, _ = self.entropy._likelihood(values)
        likelihood = self.entropy.likelihood_lower_bound(likelihood) if self.entropy.use_likelihood_bound else likelihood
        bits = -torch.log2(likelihood).squeeze(1).t().reshape(n, self.n_styles, self.dim).sum(2)
        splits = torch.split(bits, list(self.groups), dim=1)
        return torch.stack([part.sum(1) for part in splits], dim=1)


def _decoder(device):
    from ..nn.taef2 import load_decoder
    return load_decoder(str(device))


def render(model: FacePrior, out: torch.Tensor) -> torch.Tensor:
    """Generator output -> image N x 3 x size x size in about [0, 1]."""
    if model.space == "taef2":
        return _decoder(out.device)(out)
    return out / 2 + 0.5


class CachedFaces:
    """Training faces at the prior's size (uint8) with their TAEF2 latents (lamina.priors.cache), served as
    batches that are a function of (seed, rank, step); flips are drawn per sample (image and latent)."""

    def __init__(self, path: Path, limit: int | None = None):
        if not Path(path).exists():
            raise InputError(f"face prior cache not found: {path} (python -m lamina.priors.cache)")
        data = torch.load(path, weights_only=True)
        self.images, self.latents = data["images"][:limit], data["latents"][:limit]

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index) -> dict[str, torch.Tensor]:
        images = self.images[index].permute(0, 3, 1, 2).float() / 255
        return {"image": images, "latent": self.latents[index].float()}

    def batch(self, size: int, seed: int, rank: int, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([seed, rank, step])
        return self.take(torch.from_numpy(rng.integers(len(self), size=size)))


class FacePriorTask:
    """The prior's TrainTask on the shared loop (lamina.train.loop)."""

    name = "face-prior"

    def __init__(self, preset: str = "latent128", target_bits: float = 3200.0, pixel_every: int = 4,
                 pixel_batch: int = 4, pixel_weight: float = 1.0, rate_warmup: int = 300, rate_lr: float = 0.01,
                 cache: str | Path = "runs/prior/cache", encoder_gain: float | None = None,
                 identity_weight: float = 0.0):
        if preset not in PRESETS:
            raise InputError(f"unknown face prior preset {preset!r}; known: {', '.join(PRESETS)}")
        self.preset = preset
        self.arch = dict(PRESETS[preset])
        if encoder_gain is not None:
            self.arch["encoder_gain"] = encoder_gain
        self.target_bits, self.pixel_every, self.pixel_batch = float(target_bits), int(pixel_every), int(pixel_batch)
        self.pixel_weight, self.rate_warmup, self.rate_lr = float(pixel_weight), int(rate_warmup), float(rate_lr)
        self.cache = Path(cache)
        self.identity_weight = float(identity_weight)
        self.step = 0
        self._lpips = None
        self._identity = None

    def fingerprint(self) -> dict:
        """What a checkpoint of this task must match to be resumed."""
        return {"task": self.name, "preset": self.preset, "arch": self.arch, "target_bits": self.target_bits,
                "pixel_every": self.pixel_every, "pixel_batch": self.pixel_batch,
                "pixel_weight": self.pixel_weight, "identity_weight": self.identity_weight}

    @property
    def lpips(self):
        if self._lpips is None:
            from ..metrics.perceptual import LPIPS
            self._lpips = LPIPS("alex").eval().requires_grad_(False)
        return self._lpips

    def identity_distance(self, image: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """1 - cos of MobileFaceNet embeddings (the shared weights; ArcFace's stand-in) on the fixed crop."""
        from ..codecs.ftnets import crop_112x96
        if self._identity is None:
            from ..vision.mobilefacenet import load_mobilefacenet
            self._identity = load_mobilefacenet().eval().requires_grad_(False)

        def embed(x):
            return F.normalize(self._identity((crop_112x96(x) * 255 - 127.5) / 128), dim=1)
        with torch.no_grad():
            reference = embed(image)
        return 1 - (embed(x_hat) * reference).sum(1)

    def make_data(self, config):
        size = self.arch["size"]
        cache_size = 128 if self.arch["space"] == "pixel" else size
        train = CachedFaces(self.cache / f"train-{cache_size}.pt", config.max_train_images)
        validation = CachedFaces(self.cache / f"validation-{cache_size}.pt").take(slice(None))
        return train, validation

    def build_model(self) -> FacePrior:
        model = FacePrior(**self.arch)
        with torch.no_grad():
            model.w_avg.copy_(model.generator.mean_latent(1024))
        return model

    def parameter_groups(self, model):
        from ..codecs.hyperprior import split_aux_parameters
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
        out = model.synthesize(noisy, layers)
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
            out = model.synthesize(styles, k)
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
        path = out / f"face-prior-{self.preset}.pt"
        save_prior(model.cpu().eval(), path)
        card = dict(card)
        card.update({"model": "face-prior", "preset": self.preset, "architecture": model.config,
                     "training": self.fingerprint(), "final_lambda": float(model.log_lambda.exp())})
        path.with_suffix(".json").write_text(json.dumps(card, indent=2, default=str) + "\n")
        return path


def save_prior(model: FacePrior, path: Path) -> None:
    """fp16 weights file (state dict + config); the entropy model's CDF tables are left out."""
    from ..checkpoint import fp16_parameters
    state = {k: v for k, v in fp16_parameters(model).items() if not k.startswith("entropy._")}
    torch.save({"format": FORMAT, "config": model.config, "state_dict": state}, path)


def load_prior(path: Path) -> FacePrior:
    from ..checkpoint import read_checkpoint
    data = read_checkpoint(path, "face prior")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not a lamina face prior weights file")
    model = FacePrior(**data["config"])
    state = {k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("entropy._")]
    if missing or unexpected:
        raise InputError(f"{path} does not fit the face prior architecture (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    return model.eval()
