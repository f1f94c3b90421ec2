"""latent-flow's model (seed 002, SGANC): the face prior's frozen style encoder and generator
(lamina.priors.face), a RealNVP flow T per style vector (one shared by all styles, or one per stage), and
factorized entropy models (CompressAI EntropyBottleneck) over the flow's output: one per style group
(basic / middle / enhanced) for intra coding, one per group for video's latent differences.

Coordinates: the prior's generator sees w = w̄ + step · s (step = the prior's style_step, 0.5); T reads the
style vector in the prior's symbol units s = (w - w̄) / step (an affine change of coordinates of W+) and
the distortion is measured in W units, MSE(w, ŵ) = step² · MSE(s, ŝ). Coding: y = T(s) rounded around the
entropy model's medians, ŝ = T⁻¹(ŷ). Only T and the entropy models are learned; the weights file holds them
and the prior's name and model id (the prior has its own file)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ... import zoo
from ...errors import InputError
from ...priors.face import GROUP_NAMES, group_slices
from .flow import RealNVP

CODEC = "latent-flow"
LAYER_NAMES = GROUP_NAMES  # the style groups are the codec's layers
# quality -> λ of L = R + λ·D (R: bits per face, D: mean squared error of W+ in W units). With T = identity a
# rounding step Δ costs ~768·log2(1/Δ) bits for D = step²·Δ²/12, so λ ≈ 26,600/Δ² has its optimum at Δ:
# the four values sit near stylegan-scalable's coding steps 2, 1.4, 1, 0.7.
LAMBDAS = {1: 6_000.0, 2: 13_000.0, 3: 27_000.0, 4: 54_000.0}
_TABLES = ("_quantized_cdf", "_offset", "_cdf_length")  # rebuilt by update() on load


def stage_weights(groups: tuple[int, ...], per_stage: bool) -> torch.Tensor:
    """Per-style weights of the distortion: all 1, or (per-stage models, the paper's SS) 1 over the first
    stage, then decreasing linearly to 0.01 at the last style."""
    total = sum(groups)
    if not per_stage:
        return torch.ones(total)
    first = groups[0]
    rest = torch.linspace(1.0, 0.01, total - first + 1)[1:]
    return torch.cat([torch.ones(first), rest])


class LatentFlowModel(nn.Module):
    """Frozen prior + flow(s) T + intra and difference entropy models of one quality (λ)."""

    def __init__(self, prior, per_stage: bool = False, couplings: int = 13, hidden: int | None = None,
                 prior_name: str = "face-prior", prior_id: str = "", lmbda: float = 0.0):
        super().__init__()
        from ...compat import import_compressai
        EntropyBottleneck = import_compressai().entropy_models.EntropyBottleneck
        self.prior = prior.eval().requires_grad_(False)
        self.groups, self.dim = tuple(prior.groups), int(prior.dim)
        self.per_stage = bool(per_stage)
        self.config = {"prior": prior_name, "prior_id": prior_id, "per_stage": self.per_stage,
                       "couplings": couplings, "hidden": hidden or self.dim, "lambda": lmbda,
                       "size": prior.size, "dim": self.dim, "groups": list(self.groups)}
        self.flows = nn.ModuleList([RealNVP(self.dim, couplings, hidden)
                                    for _ in range(len(self.groups) if per_stage else 1)])
        self.entropy = nn.ModuleList([EntropyBottleneck(n * self.dim) for n in self.groups])
        self.delta = nn.ModuleList([EntropyBottleneck(n * self.dim) for n in self.groups])
        self.register_buffer("weights", stage_weights(self.groups, self.per_stage))

    @property
    def style_step(self) -> float:
        return float(self.prior.style_step)

    def group_slices(self) -> list[slice]:
        return group_slices(self.groups)

    def flow(self, k: int) -> RealNVP:
        return self.flows[k if self.per_stage else 0]

    # ------------------------------------------------------------------ style space <-> proxy space
    def to_proxy(self, styles: torch.Tensor) -> list[torch.Tensor]:
        """Styles N x T x dim -> per group the flow's output N x (n·dim) x 1 (the entropy models' layout)."""
        return [self.flow(k)(styles[:, part]).flatten(1)[..., None] for k, part in enumerate(self.group_slices())]

    def from_proxy(self, proxies: list[torch.Tensor]) -> torch.Tensor:
        """The first len(proxies) groups' proxies -> their styles N x t x dim."""
        return torch.cat([self.flow(k).inverse(y.reshape(y.shape[0], -1, self.dim))
                          for k, y in enumerate(proxies)], dim=1)

    def forward(self, styles: torch.Tensor) -> dict:
        """Training pass: proxies with uniform noise (eval: rounded around the medians), reconstructed styles,
        bits per group (N x 3) and the weighted W-space MSE per face (N)."""
        noisy, bits = [], []
        for eb, y in zip(self.entropy, self.to_proxy(styles)):
            y_hat, likelihood = eb(y)
            noisy.append(y_hat)
            bits.append(-torch.log2(likelihood).flatten(1).sum(1))
        s_hat = self.from_proxy(noisy)
        error = (styles - s_hat).pow(2).mean(2) * self.style_step ** 2  # N x T, W units
        distortion = (error * self.weights).sum(1) / self.weights.sum()
        return {"styles": s_hat, "bits": torch.stack(bits, 1), "distortion": distortion,
                "mse_w": error.mean(1)}

    @torch.no_grad()
    def init_entropy_from_prior(self) -> None:
        """Start each group's intra model from the prior's own factorized rate model over those styles (with
        T = identity at initialisation, the codec starts at the prior's operating point)."""
        source = self.prior.entropy.state_dict()
        for eb, part in zip(self.entropy, self.group_slices()):
            channels = slice(part.start * self.dim, part.stop * self.dim)
            for name, value in eb.named_parameters():
                value.copy_(source[name][channels])

    def aux_loss(self) -> torch.Tensor:
        return sum(eb.loss() for eb in self.entropy)

    def delta_aux_loss(self) -> torch.Tensor:
        return sum(eb.loss() for eb in self.delta)

    # ------------------------------------------------------------------ images
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N x 3 x size x size in [-1, 1]) -> the prior's styles (N x T x dim)."""
        from ...priors.face import encode_images
        return encode_images(self.prior, x)

    def synthesize(self, styles: torch.Tensor, layers: int) -> torch.Tensor:
        """Image in about [-1, 1] at the prior's size from the first `layers` groups' styles."""
        from ...priors.face import render
        return render(self.prior, self.prior.synthesize(styles, layers)) * 2 - 1

    # ------------------------------------------------------------------ real bytes
    def update(self) -> None:
        for eb in list(self.entropy) + list(self.delta):
            eb.update(force=True)

    @torch.no_grad()
    def compress(self, styles: torch.Tensor, layers: int | None = None) -> list[bytes]:
        """One payload per group of one face's styles (1 x T x dim); the first `layers` groups only if given (each
        group is coded on its own)."""
        return [eb.compress(y)[0] for eb, y in zip(self.entropy[:layers], self.to_proxy(styles))]

    @torch.no_grad()
    def decompress_proxies(self, payloads: list[bytes]) -> list[torch.Tensor]:
        return [eb.decompress([payload], (1,)) for eb, payload in zip(self.entropy, payloads)]

    def state_dict_to_save(self) -> dict:
        """Flows and entropy models (fp16; CDF tables left out): the prior has its own weights file."""
        return {k: v for k, v in zoo.fp16_parameters(self).items()
                if not k.startswith("prior.") and not any(t in k for t in _TABLES)}


def new_model(prior_name: str = "face-prior", per_stage: bool = False, couplings: int = 13,
              hidden: int | None = None, lmbda: float = 0.0, expected_id: str | None = None) -> LatentFlowModel:
    """A fresh model on the committed prior `prior_name`."""
    from ...priors.face import committed_prior
    prior, prior_id = committed_prior(prior_name, CODEC, expected_id)
    return LatentFlowModel(prior, per_stage, couplings, hidden, prior_name, prior_id, lmbda)


def save_model(model: LatentFlowModel, path: Path, card: dict | None = None) -> bytes:
    """Write the weights file (lamina.zoo format), its card and its entropy tables; returns the model id."""
    model_id = zoo.save(path, CODEC, model.config, model.state_dict_to_save(), card)
    model.update()
    zoo.write_tables(path, model)
    return model_id


def load_model(path: Path, device: str = "cpu") -> tuple[LatentFlowModel, bytes]:
    """(model in eval mode with its CDF tables, model id) of a weights file; InputError for foreign files or
    a file fitted on another prior."""
    weights = zoo.load(path, CODEC)
    c = weights.config
    model = new_model(c["prior"], c["per_stage"], c["couplings"], c["hidden"], c.get("lambda", 0.0), c["prior_id"])
    state = {k: v.float() if v.is_floating_point() else v for k, v in weights.state_dict.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("prior.") and not any(t in k for t in _TABLES)
               and not k.endswith("likelihood_lower_bound.bound")]
    if missing or unexpected:
        raise InputError(f"{path} does not fit the latent-flow architecture (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    if not zoo.read_tables(path, model):
        model.update()
    return model.eval().requires_grad_(False).to(device), zoo.model_id_of(path)
