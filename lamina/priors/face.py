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

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import zoo
from ..errors import InputError
from ..nn.psp import Map2Style

NAME = "face-prior"

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
    "tiny": {"space": "taef2", "size": 128, "dim": 16, "groups": (2, 2, 2), "n_mlp": 1,
             "channels": {4: 16, 8: 16, 16: 16}, "width": 8},
}
STYLE_STEP = 0.5          # W units per symbol
GROUP_NAMES = ("basic", "middle", "enhanced")  # the style groups, coarse to fine: the face codecs' layers
LAYER_PROBS = (0.25, 0.25, 0.5)  # training: probability of decoding from 1, 2, 3 layers


def group_slices(groups: tuple[int, ...]) -> list[slice]:
    """The style positions of each group, e.g. (2, 2, 2) -> [0:2], [2:4], [4:6]."""
    out, start = [], 0
    for n in groups:
        out.append(slice(start, start + n))
        start += n
    return out


def to_model_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """N x C x H x W resized to size x size (antialiased bilinear), unchanged when already that size: how every
    image reaches a face model, in coding, training and the entropy refit."""
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def image_to_model(image, size: int) -> torch.Tensor:
    """An RGB uint8 face (H x W x 3) as a face model's 1 x 3 x size x size input in [-1, 1]."""
    import numpy as np
    x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float().div(127.5).sub(1)
    return to_model_size(x, size)


def _conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2))


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
        self.styles = nn.ModuleList([Map2Style(c, dim, 4, True) for _ in range(groups[0])]
                                    + [Map2Style(c, dim, 8, True) for _ in range(groups[1])]
                                    + [Map2Style(c, dim, 16, True) for _ in range(groups[2])])
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
                 channels=None, width: int = 128, encoder_gain: float = 2.0, style_step: float = STYLE_STEP,
                 condition_dim: int = 0):
        super().__init__()
        from ..compat import import_compressai
        EntropyBottleneck = import_compressai().entropy_models.EntropyBottleneck

        from ..nn.stylegan2 import Generator
        if space not in ("taef2", "pixel"):
            raise InputError(f"face prior space must be 'taef2' or 'pixel', got {space!r}")
        channels = {int(k): int(v) for k, v in channels.items()}
        self.config = {"space": space, "size": size, "dim": dim, "groups": list(groups), "n_mlp": n_mlp,
                       "channels": channels, "width": width, "encoder_gain": encoder_gain,
                       "style_step": style_step, **({"condition_dim": condition_dim} if condition_dim else {})}
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
        # Identity conditioning (issue 23 probe (c)): a decoded identity feature (N x condition_dim) moves every
        # style position by a learned linear offset, present in every layer prefix. Zero-initialised, so a warm
        # start from an unconditioned prior decodes exactly as that prior did.
        self.condition_dim = int(condition_dim)
        if self.condition_dim:
            self.condition = nn.Linear(self.condition_dim, self.n_styles * dim)
            nn.init.zeros_(self.condition.weight)
            nn.init.zeros_(self.condition.bias)
        self.register_buffer("w_avg", torch.zeros(1, dim))
        self.register_buffer("log_lambda", torch.tensor(-6.0))  # the rate controller's multiplier (log)

    def layer_mask(self, layers: torch.Tensor) -> torch.Tensor:
        """N x T x 1 mask: 1 for the styles of each sample's first `layers` layers."""
        token_layer = torch.cat([torch.full((n,), k) for k, n in enumerate(self.groups)]).to(layers.device)
        return (token_layer[None, :] < layers[:, None]).float()[..., None]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder input (latent, or pixels in [-1, 1]) -> styles in symbol units (N x T x dim)."""
        return self.encoder(x)

    def synthesize(self, styles: torch.Tensor, layers: torch.Tensor | int = 3,
                   condition: torch.Tensor | None = None) -> torch.Tensor:
        """Generator output (TAEF2 latent or pixels in about [-1, 1]) from the first `layers` layers' styles (and,
        for a conditioned prior, the decoded identity feature `condition`, N x condition_dim)."""
        if styles.shape[1] < self.n_styles:  # only the first layers were decoded: the rest sit at w̄
            styles = F.pad(styles, (0, 0, 0, self.n_styles - styles.shape[1]))
        if isinstance(layers, int):
            layers = torch.full((styles.shape[0],), layers, device=styles.device)
        w = self.w_avg[:, None] + self.style_step * styles * self.layer_mask(layers)
        if self.condition_dim:
            if condition is None:
                raise InputError("this face prior is identity-conditioned: synthesize needs the identity feature")
            w = w + self.condition(condition).view(len(w), self.n_styles, self.dim)
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


def render(model: FacePrior, out: torch.Tensor) -> torch.Tensor:
    """Generator output -> image N x 3 x size x size in about [0, 1] (TAEF2 space: lamina.nn.taef2.decode, the
    fast runtime when decoding without gradients)."""
    if model.space == "taef2":
        from ..nn.taef2 import decode
        return decode(out)
    return out / 2 + 0.5


def save_prior(model: FacePrior, path: Path, card: dict | None = None) -> bytes:
    """fp16 weights file in the zoo format (the entropy model's CDF tables are left out) + card; the id."""
    state = {k: v for k, v in zoo.fp16_parameters(model).items() if not k.startswith("entropy._")}
    return zoo.save(path, NAME, model.config, state, card)


def load_prior(path: Path) -> FacePrior:
    """A FacePrior in eval mode from a weights file; InputError for foreign files."""
    weights = zoo.load(path, NAME)
    model = FacePrior(**weights.config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in weights.state_dict.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("entropy._")]
    if missing or unexpected:
        raise InputError(f"{path} does not fit the face prior architecture (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    return model.eval()


def encode_images(model: FacePrior, x: torch.Tensor) -> torch.Tensor:
    """Images (N x 3 x size x size in [-1, 1]) -> the prior's styles (symbol units at coding step 1): the
    frozen TAEF2 encoder, then the style encoder (taef2 space); the style encoder alone (pixel space)."""
    if model.space == "taef2":
        from ..nn.taef2 import encode
        return model.encode(encode(x / 2 + 0.5))
    return model.encode(x)


def committed_prior(name: str, codec: str, expected_id: str | None = None) -> tuple[FacePrior, str]:
    """(the committed prior lamina/zoo/NAME.pt, its model id hex) for `codec`; InputError when it is missing or
    is not the one `expected_id` names (a model fitted on another prior)."""
    path = zoo.path(name)
    if not path.exists():
        raise InputError(f"{codec} needs the face prior {path}, which is not there")
    prior_id = zoo.model_id_of(path).hex()
    if expected_id and prior_id != expected_id:
        raise InputError(f"this {codec} model was fitted on face prior {expected_id}, but {path} is {prior_id}: "
                         f"refit it (lamina train {codec})")
    return load_prior(path), prior_id
