"""Training of stylegan-scalable on the shared loop (lamina.train.loop)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ... import zoo
from ...entropy import split_aux_parameters
from ...errors import InputError
from ...train.loop import TrainTask
from ...priors.face import image_to_model, to_model_size
from .model import _TABLES, ScalableModel, load_model, save_model


class StyleganScalableTask(TrainTask):
    """Training task: encoder, generator and entropy model trained jointly on J = J_L1 + J_L2 + J_L3 (Eqs. 23-26,
    lamina.train.stylegan_objective), plus CompressAI's auxiliary quantile loss. First phase without the
    adversarial term; the second phase (`adversarial=True`, warm-started from the first phase's export) adds
    λ_adv·softplus(-D(x̂3)) to J_L3 and trains a StyleGAN2 discriminator with the non-saturating logistic loss
    and R1 (λ_r1 = 10, lazily every R1_EVERY steps as in StyleGAN2). The mapping network is not trained: w̄ is
    fixed at initialisation. The discriminator is never exported.

    Training from scratch (no pretrained StyleGAN2 or pSp here) adds a schedule of `rate_warmup` = W steps
    (W = 0 is the paper's objective from the first step): steps [0, W) train encoder and generator as a
    layered autoencoder on Σ_k MSE + λ_LPIPS·LPIPS of x̂1, x̂2, x̂3 (no rate, no task networks), standing in for
    the paper's pretrained initialisation; steps [W, 2W) use the paper's objective with λ ramping linearly from
    0; from 2W on, the paper's objective. Measured in the first CPU runs: with the rate term from the start,
    or a ramp from step 0, the styles collapsed to zero, and with the task terms from the start every face
    decoded to one mean face (10.5 dB after 100 steps, vs 13.3 dB after 60 pixel-only steps). x̂ is not
    clamped to [0, 1] in training (clamping a saturated untrained generator zeroes its gradients); decoding and
    validation clamp.
    """

    R1_EVERY = 16

    def __init__(self, lmbda: float = 10.0, quality: int | None = None, size: int = 256, dim: int = 512,
                 groups=(6, 4, 4), n_mlp: int = 8, channels=None, width: int = 32, paper_lmbda: float | None = None,
                 adversarial: bool = False, rate_warmup: int = 0, style_step: float = 1.0,
                 encoder_gain: float = 1.0):
        self.name, self.lmbda, self.quality = "stylegan-scalable", lmbda, quality
        self.paper_lmbda = lmbda if paper_lmbda is None else paper_lmbda
        self.adversarial, self.rate_warmup = adversarial, rate_warmup
        self.rate_scale, self.pixel_phase = 1.0, False
        self.model_kwargs = {"size": size, "dim": dim, "groups": tuple(groups), "n_mlp": n_mlp,
                             "channels": channels, "width": width, "style_step": style_step,
                             "encoder_gain": encoder_gain}
        self._objective = None
        self._fake = None  # x̂3 of the last main step, detached, for the discriminator step

    @property
    def objective(self):
        if self._objective is None:
            from .objective import ObjectiveWeights, ScalableObjective
            self._objective = ScalableObjective(ObjectiveWeights(lmbda=self.lmbda))
        return self._objective

    def build_model(self) -> ScalableModel:
        model = ScalableModel(**self.model_kwargs)
        model.w_avg.copy_(model.generator.mean_latent(1024))
        if self.adversarial:
            from ...nn.stylegan2 import Discriminator
            model.discriminator = Discriminator(self.model_kwargs["size"], channels=self.model_kwargs["channels"])
        return model

    def parameter_groups(self, model):
        groups = split_aux_parameters(model, frozen_prefixes=("generator.style.", "discriminator."))  # w̄ is fixed
        if self.adversarial:
            groups["disc"] = list(model.discriminator.parameters())
        return groups

    def set_step(self, step: int) -> None:
        """The from-scratch schedule (class docstring): pixel-only phase, then λ ramping up, then the paper's."""
        self.pixel_phase = bool(self.rate_warmup) and step < self.rate_warmup
        self.rate_scale = min(1.0, max(0.0, step / self.rate_warmup - 1)) if self.rate_warmup else 1.0

    def decode_layers(self, model: ScalableModel, x01: torch.Tensor):
        """(x in [0, 1] at the model size, [x̂1, x̂2, x̂3] (in [0, 1] outside training), bits N x 3)."""
        x01 = to_model_size(x01, model.config["size"])
        out = model.entropy(model.encode(x01 * 2 - 1))
        x_hats = [model.generator(model.w_plus(out["w_hat"], k)) for k in (1, 2, 3)]
        x_hats = [(x if model.training else x.clamp(-1, 1)) / 2 + 0.5 for x in x_hats]
        return x01, x_hats, out["bits"]

    def losses(self, model, batch):
        x, x_hats, bits = self.decode_layers(model, batch)
        if self.pixel_phase:
            self._fake = x_hats[2].detach() if self.adversarial else None
            terms = self.objective.reconstruction(x, x_hats)
            return {"loss": terms["J"], "bpp": bits.sum(1).mean().detach() / (x.shape[2] * x.shape[3]),
                    "mse_3": terms["mse_3"], "lpips_3": terms["lpips_3"], "aux_loss": model.entropy.hyper_entropy.loss()}
        fake_scores = None
        if self.adversarial:
            fake_scores = model.discriminator(x_hats[2] * 2 - 1)
            self._fake = x_hats[2].detach()
        terms = self.objective(x, x_hats, bits, fake_scores, rate_scale=self.rate_scale)
        out = {"loss": terms["J"], "bpp": terms["bpp"], "mse_3": terms["mse_3"], "lpips_3": terms["lpips_3"],
               "aux_loss": model.entropy.hyper_entropy.loss()}
        if fake_scores is not None:
            out["g_adv"] = F.softplus(-fake_scores).mean()
        return out

    def discriminator_losses(self, model, batch, step: int) -> dict[str, torch.Tensor]:
        """Non-saturating logistic loss on real faces vs the last main step's x̂3; every R1_EVERY steps also
        λ_r1/2 · R1 · R1_EVERY (lazy regularisation)."""
        from ...nn.stylegan2 import d_logistic_loss, r1_penalty
        real = to_model_size(batch, model.config["size"]) * 2 - 1
        fake = self._fake * 2 - 1
        d_loss = d_logistic_loss(model.discriminator(real), model.discriminator(fake))
        out = {"d_loss": d_loss}
        if step % self.R1_EVERY == 0:
            real = real.detach().requires_grad_(True)
            r1 = r1_penalty(model.discriminator(real), real)
            out["d_loss"] = d_loss + self.objective.weights.r1 / 2 * r1 * self.R1_EVERY
            out["r1"] = r1
        return out

    def validate(self, model, images):
        x, x_hats, bits = self.decode_layers(model, images)
        pixels = x.shape[2] * x.shape[3]
        result = {"J": float(self.objective(x, x_hats, bits)["J"])}
        for k, x_hat in enumerate(x_hats, start=1):
            result[f"bpp_estimated_{k}_layers"] = float(bits[:, :k].sum(1).mean() / pixels)
            result[f"psnr_{k}_layers"] = float(-10 * torch.log10(F.mse_loss(x_hat, x)))
        return result

    def warm_start(self, model, weights: Path) -> None:
        """Start from an exported model (e.g. the first phase, or a neighbouring λ); the CDF tables, rebuilt by
        update() at export, are left out, and a discriminator (second phase) starts fresh."""
        loaded, _ = load_model(Path(weights))
        state = {k: v for k, v in loaded.state_dict().items() if not any(t in k for t in _TABLES)}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("discriminator.") and not any(t in k for t in _TABLES) for k in missing):
            raise InputError(f"{weights} does not fit this stylegan-scalable architecture")

    def export(self, model, out: Path, card: dict) -> Path:
        path = out / f"stylegan-scalable-q{self.quality or 0}.pt"
        model = model.cpu().eval()
        card = dict(card)
        card.update({"codec": "stylegan-scalable", "quality": self.quality, "lambda": self.lmbda,
                     "paper_lambda": self.paper_lmbda,
                     "schedule": {"rate_warmup": self.rate_warmup, "adversarial": self.adversarial},
                     "architecture": model.config,
                     "objective": ("Eqs. 23-26 with the adversarial term (second phase)" if self.adversarial else
                                   "Eqs. 23-26 without the adversarial term (first phase)")
                     + " (lamina.codecs.stylegan_scalable.objective)",
                     "status": "preliminary unless trained on a GPU for the paper's 50K + 10K iterations"})
        save_model(model, path, card)
        return path


# ------------------------------------------------------------------------------------------ entropy refit
def encode_styles(model, images: list[np.ndarray], batch: int = 32) -> torch.Tensor:
    """Symbol-unit styles (N x T x dim) of uint8 face crops, as the codec computes them."""
    size = model.config["size"]
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(model.encode(torch.cat([image_to_model(im, size) for im in images[i:i + batch]])))
    return torch.cat(out)


def fit_entropy(entropy, styles: torch.Tensor, steps: int, seed: int = 0, lr: float = 1e-3, batch: int = 64):
    """Train an entropy model on the rate of fixed styles (noisy relaxation), then build its CDF tables."""
    parts = split_aux_parameters(entropy)
    main, aux = torch.optim.Adam(parts["main"], lr=lr), torch.optim.Adam(parts["aux"], lr=lr)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    entropy.requires_grad_(True).train()
    for _ in range(steps):
        rate = entropy(styles[rng.integers(len(styles), size=batch)])["bits"].sum(1).mean()
        main.zero_grad()
        aux.zero_grad()
        (rate + entropy.hyper_entropy.loss()).backward()
        torch.nn.utils.clip_grad_norm_(parts["main"], 1.0)
        main.step()
        aux.step()
    entropy.eval().requires_grad_(False)
    entropy.update()
    return entropy


def written_bits(entropy, styles: torch.Tensor) -> np.ndarray:
    """Mean bits per layer of the real payloads (rANS) of each style set."""
    return np.array([[8 * len(p) for p in entropy.compress(styles[i:i + 1])] for i in range(len(styles))]).mean(0)


def training_faces(count: int, seed: int) -> list[np.ndarray]:
    from ...data.training import split_items
    train, _ = split_items("faces")
    pick = np.random.default_rng(seed).choice(len(train), size=min(count, len(train)), replace=False)
    return [train[i].image() for i in sorted(pick)]


def refit(weights: Path, steps: int = 800, train_images: int = 3000, seed: int = 0, fresh: bool = False) -> str:
    """Rate-only refit of a trained model's entropy model on frozen styles; rewrites `weights` (a new model id).

    Decoded styles are round(g·E(x)/step) whatever the entropy model (entropy.py codes symbols
    relative to rounded means), so retraining only the entropy model (hyper-transformer, cross-layer transformer,
    factorized hyper-prior) on the rate R1 + R2 + R3 changes the bytes and never the decoded images. The short
    joint CPU training leaves the entropy model far from converged (the ablation in
    docs/results/stylegan-scalable/ measured it); this stage continues its training with encoder and generator
    frozen, on styles of training faces.

    `fresh` re-initialises the entropy model first (measured on quality 3: continuing the jointly trained one
    for 800 steps took the held-out bits per layer from 2642/2143/1157 to 1908/1789/892, while a fresh model
    of the same architecture reaches ~1640/995/780 in the ablation). Returns a one-line summary with the
    held-out bits per layer before and after."""
    from ...data.training import split_items
    from .entropy import LayerwiseEntropyModel
    model, old_id = load_model(Path(weights))
    styles = encode_styles(model, training_faces(train_images, seed))
    _, held_out = split_items("faces")  # the last 64 utk-train faces, never trained on
    held = encode_styles(model, [item.image() for item in held_out])
    before = written_bits(model.entropy, held)
    if fresh:
        torch.manual_seed(seed)
        model.entropy = LayerwiseEntropyModel(model.config["dim"], model.groups, cross_layer=model.config["cross_layer"])
    fit_entropy(model.entropy, styles, steps, seed)
    after = written_bits(model.entropy, held)
    card = zoo.card(Path(weights))
    card["entropy_refit"] = {"steps": steps, "train_images": train_images, "seed": seed, "fresh": fresh,
                             "held_out_bits_per_layer_before": np.round(before, 1).tolist(),
                             "held_out_bits_per_layer_after": np.round(after, 1).tolist()}
    new_id = save_model(model, Path(weights), card)
    return (f"{weights}: model id {old_id.hex()} -> {new_id.hex()}; held-out bits per layer "
            f"{np.round(before, 1).tolist()} -> {np.round(after, 1).tolist()}")


def from_prior(prior: str, qualities: dict[int, float], steps: int = 800, train_images: int = 3000, seed: int = 0,
               folder: Path | None = None, cross_layer: bool = True) -> list[str]:
    """stylegan-scalable on lamina's face prior: for each quality q (coding step c), a fresh layer-wise entropy
    model fitted on the rate of the prior's styles of `train_images` training faces (divided by c, rounded),
    written to zoo/stylegan-scalable-qQ.pt with its held-out bits. The prior's encoder and generator stay frozen
    (they are the codec's analysis and synthesis); only the bytes are learned here."""
    from ...data.training import split_items
    from .model import prior_model
    faces = training_faces(train_images, seed)
    _, held_out = split_items("faces")  # the last 64 utk-train faces, never trained on
    held_images = [item.image() for item in held_out]
    base = prior_model(prior, 1.0, cross_layer)
    styles, held = encode_styles(base, faces), encode_styles(base, held_images)  # coding step 1
    lines = []
    for quality, step in sorted(qualities.items()):
        torch.manual_seed(seed)
        model = prior_model(prior, step, cross_layer)
        fit_entropy(model.entropy, styles / step, steps, seed)
        bits = written_bits(model.entropy, held / step)
        card = {"quality": quality, "coding_step": step, "prior": prior, "prior_id": model.config["prior_id"],
                "entropy_fit": {"steps": steps, "train_images": train_images, "seed": seed, "batch": 64, "lr": 1e-3,
                                "objective": "R1 + R2 + R3 (bits of the rounded styles, noisy relaxation)"},
                "held_out_bits_per_layer": np.round(bits, 1).tolist(),
                "held_out": "the last 64 utk-train faces (real rANS payload bytes x 8)",
                "command": f"lamina train stylegan-scalable --stage from-prior --weights {prior} --steps {steps} "
                           f"--train-images {train_images} --seed {seed}" + (
                               f" --quality {quality} --coding-step {step}" if len(qualities) == 1 else
                               f" (one run for qualities {', '.join(map(str, sorted(qualities)))})"),
                "status": "preliminary: CPU-trained prior (see lamina/zoo/face-prior.json)"}
        path = zoo.path("stylegan-scalable", quality, folder)
        model_id = save_model(model, path, card)
        lines.append(f"{path}: coding step {step}, held-out bits per layer {np.round(bits, 1).tolist()}, "
                     f"id {model_id.hex()}")
    return lines


# ------------------------------------------------------------------------------------------ lamina train
def make_task(lmbda: float | None = None, quality: int | None = None, preset: str = "paper",
              adversarial: bool = False, rate_warmup: int = 0) -> StyleganScalableTask:
    """The task of a preset (PRESETS) and quality; λ is the paper's (256x256 bpp) value, rescaled to the
    preset's size; `adversarial` adds the second phase's GAN term."""
    from .model import LAMBDAS as PAPER_LAMBDAS
    from .model import PRESETS, paper_lambda
    if preset not in PRESETS:
        raise InputError(f"unknown stylegan-scalable preset {preset!r}; known: {', '.join(PRESETS)}")
    if lmbda is None:
        if quality not in PAPER_LAMBDAS:
            raise InputError(f"give --lambda or a --quality in {sorted(PAPER_LAMBDAS)}")
        lmbda = PAPER_LAMBDAS[quality]
    return StyleganScalableTask(lmbda=paper_lambda(lmbda, PRESETS[preset]["size"]), paper_lmbda=lmbda,
                                quality=quality, adversarial=adversarial, rate_warmup=rate_warmup,
                                **PRESETS[preset])


def _stage_train(args) -> str:
    from ...train.trainable import run_loop
    task = make_task(args.lmbda, args.quality, args.preset or "paper", bool(args.adversarial), args.rate_warmup or 0)
    return run_loop(task, args)


def _stage_refit(args) -> str:
    if not args.weights:
        raise InputError("the refit stage needs --weights (an exported stylegan-scalable file; it is rewritten)")
    from ...train.trainable import given
    return refit(Path(args.weights), **given(args, "steps", "train_images", "seed", "fresh"))


def _stage_from_prior(args) -> str:
    from .model import CODING_STEPS
    if args.quality is not None:
        qualities = {args.quality: args.coding_step or CODING_STEPS.get(args.quality, 1.0)}
    else:
        qualities = dict(CODING_STEPS)
    from ...train.trainable import given
    return "\n".join(from_prior(args.weights or "face-prior", qualities, **given(args, "steps", "train_images", "seed")))


def _register() -> None:
    from ...options import Option
    from ...registry import add_trainable
    from ...train.trainable import Trainable
    options = (
        Option("--adversarial", "adversarial", type=bool, help="stylegan-scalable: second phase, with the GAN term "
                                                               "and a discriminator"),
        Option("--rate-warmup", "rate_warmup", type=int, help="stylegan-scalable: lambda 0 for this many steps, "
                                                              "then a linear ramp over as many (from scratch)"),
        Option("--weights", "weights", help="refit stages: the exported weights file to refit (rewritten)"),
        Option("--fresh", "fresh", type=bool, help="refit: start from a newly initialised entropy model"),
        Option("--train-images", "train_images", type=int, help="refit: training faces whose styles are fitted"),
        Option("--coding-step", "coding_step", type=float, help="from-prior: the quality's coding step "
                                                                "(symbols = round(styles / step))"),
    )
    add_trainable(Trainable("stylegan-scalable", "stages: train (the shared loop; --preset, --quality, "
                                                 "--adversarial, --rate-warmup), refit (rate-only entropy refit), "
                                                 "from-prior (entropy models on lamina's face prior, --weights NAME)",
                            {"train": _stage_train, "refit": _stage_refit, "from-prior": _stage_from_prior},
                            options))


_register()
