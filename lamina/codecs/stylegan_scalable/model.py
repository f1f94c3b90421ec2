"""stylegan-scalable's model (seed 000): hierarchical style encoder + layer-wise entropy model + StyleGAN2
generator + w̄ of one quality, its architecture presets, λ ladder and weights file (lamina.zoo)."""
from __future__ import annotations

from pathlib import Path

import torch

from ... import zoo
from ...errors import InputError
from ...priors.face import GROUP_NAMES
from ...nn.stylegan2 import Generator
from .encoder import HierarchicalStyleEncoder, layered_w_plus
from .entropy import LayerwiseEntropyModel

CODEC = "stylegan-scalable"
LAYER_NAMES = GROUP_NAMES  # the style groups are the codec's layers
_TABLES = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")  # rebuilt by update() on load


# Architectures. "paper": the 256x256 generator (14 W+ styles, 6/4/4) with 512-d styles, a GPU job.
# "cpu128": what lamina trains on 2 CPU cores: 128x128 (12 styles, 4/4/4), 128-d styles, narrow channels,
# a 4-layer mapping network. Rates are in bits per pixel of the model's input, so the paper's λ (bpp at
# 256x256) is divided by (256 / size)^2 to price a bit the same: λ = 10 at 256 is λ = 2.5 at 128.
PRESETS = {
    "paper": {"size": 256, "dim": 512, "groups": (6, 4, 4), "n_mlp": 8, "channels": None, "width": 32},
    "cpu128": {"size": 128, "dim": 128, "groups": (4, 4, 4), "n_mlp": 4,
               "channels": {4: 128, 8: 128, 16: 128, 32: 128, 64: 64, 128: 32}, "width": 16, "style_step": 0.5,
               "encoder_gain": 10.0},
}


LAMBDAS = {1: 20.0, 2: 15.0, 3: 10.0, 4: 5.0}  # quality -> the paper's λ (at 256x256); higher quality, more bits
# On lamina's face prior (PriorScalableModel): quality -> coding step (symbols = round(styles / step)).
CODING_STEPS = {1: 2.0, 2: 1.4, 3: 1.0, 4: 0.7}


def paper_lambda(lmbda: float, size: int) -> float:
    """λ at `size` that prices a bit like the paper's λ at 256x256 (rates are per pixel of the model input)."""
    return lmbda * (size / 256) ** 2


class ScalableModel(torch.nn.Module):
    """Encoder + layer-wise entropy model + generator + w̄ of one quality.

    `style_step` is the quantisation step in W space: the entropy model codes the integer symbols
    round(g·E(x) / style_step) and the generator sees w̄ + style_step · ŵ, where g = `encoder_gain` scales the
    encoder's raw output into W. The paper (pretrained pSp encoder and StyleGAN2) has step 1 and g = 1. Trained
    from scratch, a freshly initialised encoder's residuals are ~0.01 W units: they drown in the training noise
    and grow slowly, so the reconstructions stay one mean face (measured: the first CPU runs and a 60-step probe,
    where g = 10 with Adam β1 = 0.9 gave 1.6x the spread between faces of g = 1). cpu128 uses g = 10, step 0.5."""

    def __init__(self, size=256, dim=512, groups=(6, 4, 4), n_mlp=8, channels=None, width=32, cross_layer=True,
                 style_step: float = 1.0, encoder_gain: float = 1.0):
        super().__init__()
        self.config = {"size": size, "dim": dim, "groups": list(groups), "n_mlp": n_mlp,
                       "channels": {int(k): int(v) for k, v in (channels or {}).items()} or None,
                       "width": width, "cross_layer": cross_layer, "style_step": style_step,
                       "encoder_gain": encoder_gain}
        self.style_step, self.encoder_gain = float(style_step), float(encoder_gain)
        self.generator = Generator(size, dim, n_mlp, channels=channels)
        if sum(groups) != self.generator.n_latent:
            raise InputError(f"layer groups {groups} must cover the generator's {self.generator.n_latent} styles")
        self.encoder = HierarchicalStyleEncoder(size, dim, tuple(groups), width)
        self.entropy = LayerwiseEntropyModel(dim, tuple(groups), cross_layer=cross_layer)
        self.register_buffer("w_avg", torch.zeros(1, dim))
        self.groups = tuple(groups)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N x 3 x size x size in [-1, 1]) -> residual styles in symbol units (N x T x dim)."""
        return self.encoder(x) * (self.encoder_gain / self.style_step)

    def w_plus(self, styles: torch.Tensor, layers: int) -> torch.Tensor:
        """Eqs. 4-6: the generator's W+ from the first `layers` layers' styles (symbol units)."""
        return layered_w_plus(styles * self.style_step, self.w_avg, self.groups, layers)

    def synthesize(self, styles: torch.Tensor, layers: int) -> torch.Tensor:
        """x̂_k in about [-1, 1] at the model size from the first `layers` layers' styles (symbol units)."""
        return self.generator(self.w_plus(styles, layers))


class PriorScalableModel(torch.nn.Module):
    """stylegan-scalable on lamina's face prior (lamina.priors.face): the prior's hierarchical style encoder
    (reading the TAEF2 latent of the face) and its StyleGAN2 synthesis of TAEF2 latents, both frozen and
    shared by every quality (`lamina/zoo/face-prior.pt`), the pretrained TAEF2 decoder, and this quality's
    layer-wise entropy model (hyper-transformer + cross-layer transformer, Eqs. 7-13).

    The quality knob is `coding_step`: symbols are round(s / coding_step) of the prior's styles s (the prior
    was trained with U(-1/2, 1/2) noise on s, i.e. coding_step 1); a larger step spends fewer bits. The weights
    file holds only the entropy model and the prior's name and model id (a few MB instead of a whole generator
    per quality)."""

    def __init__(self, prior, coding_step: float = 1.0, cross_layer: bool = True, prior_name: str = "face-prior",
                 prior_id: str = ""):
        super().__init__()
        self.prior = prior.eval().requires_grad_(False)
        self.coding_step = float(coding_step)
        self.groups = tuple(prior.groups)
        self.config = {"kind": "prior", "prior": prior_name, "prior_id": prior_id, "coding_step": coding_step,
                       "cross_layer": cross_layer, "size": prior.size, "dim": prior.dim, "groups": list(self.groups)}
        self.entropy = LayerwiseEntropyModel(prior.dim, self.groups, cross_layer=cross_layer)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N x 3 x size x size in [-1, 1]) -> styles in symbol units (N x T x dim)."""
        from ...priors.face import encode_images
        return encode_images(self.prior, x) / self.coding_step

    def synthesize(self, styles: torch.Tensor, layers: int) -> torch.Tensor:
        """x̂_k in about [-1, 1] at the model size from the first `layers` layers' styles (symbol units)."""
        from ...priors.face import render
        return render(self.prior, self.prior.synthesize(styles * self.coding_step, layers)) * 2 - 1

    def state_dict_to_save(self) -> dict:
        """The entropy model only: the prior has its own weights file."""
        return {k: v for k, v in zoo.fp16_parameters(self).items() if k.startswith("entropy.")}


def save_model(model, path: Path, card: dict | None = None) -> bytes:
    """Write the weights file (lamina.zoo format, fp16 parameters, no CDF tables), its card and its entropy tables
    (zoo.write_tables: computed once here, read on load); returns the model id."""
    if isinstance(model, PriorScalableModel):
        state = model.state_dict_to_save()
    else:
        state = zoo.fp16_parameters(model)
    state = {k: v for k, v in state.items()
             if not any(t in k for t in _TABLES) and not k.startswith("discriminator.")}  # training only
    model_id = zoo.save(path, CODEC, model.config, state, card)
    model.entropy.update()
    zoo.write_tables(path, model)
    return model_id


def prior_model(prior_name: str, coding_step: float, cross_layer: bool = True, expected_id: str | None = None):
    """A PriorScalableModel on the committed prior `prior_name` (lamina/zoo/PRIOR.pt) with a fresh entropy model;
    InputError when the prior is missing or is not the one `expected_id` names."""
    from ...priors.face import committed_prior
    prior, prior_id = committed_prior(prior_name, CODEC, expected_id)
    return PriorScalableModel(prior, coding_step, cross_layer, prior_name, prior_id)


def load_model(path: Path, device: str = "cpu"):
    """(model in eval mode with its CDF tables: the committed ones, else computed, model id) of a weights file;
    InputError for foreign files."""
    weights = zoo.load(path, CODEC)
    config = dict(weights.config)
    if config.get("kind") == "prior":  # the file holds the entropy model; the prior has its own weights
        model = prior_model(config["prior"], config["coding_step"], config["cross_layer"], config["prior_id"])
        own = "entropy."
    else:
        config["channels"] = {int(k): v for k, v in config["channels"].items()} if config.get("channels") else None
        model = ScalableModel(**config)
        own = ""
    state = {k: v.float() if v.is_floating_point() else v for k, v in weights.state_dict.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k.startswith(own) and not any(t in k for t in _TABLES)
               and not k.endswith("likelihood_lower_bound.bound") and not k.endswith("lower_bound_scale.bound")]
    if missing or unexpected:
        raise InputError(f"{path} does not fit the stylegan-scalable architecture "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    if not zoo.read_tables(path, model):
        model.entropy.update()
    return model.eval().requires_grad_(False).to(device), zoo.model_id_of(path)
