"""stylegan-scalable: the three-layer face codec on a StyleGAN2 prior (seed 000) — codec, container and swap.

The codec runs from a weights file (encoder, entropy model, generator, w̄): the committed
`lamina/zoo/stylegan-scalable-q*.pt` (CPU-trained, preliminary: docs/results/stylegan-scalable/) register it;
tests also use tiny randomly initialised models written by `save_model`. Encoding refuses images without a
face in the shared framing (NoFaceError).

Layers `basic`, `middle`, `enhanced`: each payload holds that layer's hyper-latents and style symbols
(lamina.codecs.style_entropy), so k layers decode from the first k payloads: x̂_k = G({L1..Lk, 0..} + w̄)
(Eqs. 4-6). Codec header: varint quality. Model id: first 8 bytes of the weights file's SHA-256.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..bitstream import Bitstream, Layer, encode_varint
from ..checkpoint import fp16_parameters
from ..errors import BitstreamError, InputError
from ..vision.face import require_framed_face
from .base import Codec, LayerSpec, decode_varint_exact
from .hyperprior import ZOO, model_id_of, split_aux_parameters
from .style_encoder import HierarchicalStyleEncoder, layered_w_plus
from .style_entropy import LayerwiseEntropyModel, swap_layers
from .stylegan2 import Generator

FORMAT = "lamina-stylegan-scalable-v1"
LAYER_NAMES = ("basic", "middle", "enhanced")
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


def paper_lambda(lmbda: float, size: int) -> float:
    """λ at `size` that prices a bit like the paper's λ at 256x256 (rates are per pixel of the model input)."""
    return lmbda * (size / 256) ** 2


def to_model_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """N x C x H x W resized to size x size (antialiased bilinear), unchanged when already that size: how every
    image reaches the model, in coding, training and the entropy refit."""
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def image_to_model(image: np.ndarray, size: int) -> torch.Tensor:
    """An RGB uint8 face (H x W x 3) as the model's 1 x 3 x size x size input in [-1, 1]."""
    x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float().div(127.5).sub(1)
    return to_model_size(x, size)


def weights_path(quality: int) -> Path:
    return ZOO / f"stylegan-scalable-q{quality}.pt"


def available_qualities() -> list[int]:
    return sorted(int(p.stem.rsplit("-q", 1)[1]) for p in ZOO.glob("stylegan-scalable-q*.pt"))


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


def save_model(model: ScalableModel, path: Path) -> bytes:
    """Write the weights file (fp16 parameters; CDF tables are rebuilt on load); returns the model id."""
    state = {k: v for k, v in fp16_parameters(model).items()
             if not any(t in k for t in _TABLES) and not k.startswith("discriminator.")}  # training only
    torch.save({"format": FORMAT, "config": model.config, "state_dict": state}, path)
    return model_id_of(path)


def load_model(path: Path, device: str = "cpu") -> tuple[ScalableModel, bytes]:
    from ..checkpoint import read_checkpoint
    data = read_checkpoint(path, "stylegan-scalable")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not a stylegan-scalable weights file")
    config = dict(data["config"])
    config["channels"] = {int(k): v for k, v in config["channels"].items()} if config.get("channels") else None
    model = ScalableModel(**config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not any(t in k for t in _TABLES)
               and not k.endswith("likelihood_lower_bound.bound") and not k.endswith("lower_bound_scale.bound")]
    if missing or unexpected:
        raise InputError(f"{path} does not fit the stylegan-scalable architecture "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.entropy.update()
    return model.eval().requires_grad_(False).to(device), model_id_of(path)


@lru_cache(maxsize=4)
def _cached(path: str, device: str):
    return load_model(Path(path), device)


class StyleganScalable(Codec):
    name = "stylegan-scalable"
    layers = (LayerSpec("basic", ("landmarks", "parsing")), LayerSpec("middle", ("identity", "attributes")),
              LayerSpec("enhanced", ("human",)))
    higher_is_better = True
    accepts_device = True

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 check_face: bool = True):
        if weights is None:
            qualities = available_qualities()
            if not qualities:
                raise InputError(f"no trained stylegan-scalable weights in {ZOO}")
            quality = qualities[-1] if quality is None else int(quality)
            if quality not in qualities:
                raise InputError(f"stylegan-scalable: quality {quality} has no weights; available: {qualities}")
            weights = weights_path(quality)
        self.quality, self.device, self.weights = int(quality or 0), device, Path(weights)
        self.check_face = check_face  # refuse images without a face in the shared framing (NoFaceError)
        self.model, self.model_id = _cached(str(self.weights), device)

    @classmethod
    def bench_grid(cls) -> tuple:
        return tuple(available_qualities())

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> StyleganScalable:
        for quality in available_qualities():  # compare file digests; load only the model that matches
            if model_id_of(weights_path(quality)) == stream.model_id:
                return cls(quality=quality, device=device)
        raise BitstreamError(f"model id mismatch: no committed stylegan-scalable weights have id {stream.model_id.hex()}")

    def _to_model(self, image: np.ndarray) -> torch.Tensor:
        return image_to_model(image, self.model.config["size"]).to(self.device)

    @torch.no_grad()
    def _encode(self, image: np.ndarray) -> Bitstream:
        if self.check_face:
            require_framed_face(image)
        h, w = image.shape[:2]
        payloads = self.model.entropy.compress(self.model.encode(self._to_model(image)))
        layers = tuple(Layer(name, payload) for name, payload in zip(LAYER_NAMES, payloads))
        return Bitstream(self.name, h, w, layers, model_id=self.model_id, codec_header=encode_varint(self.quality))

    @torch.no_grad()
    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        decode_varint_exact(stream.codec_header, "codec header (quality)")
        styles = self.decode_styles([layer.payload for layer in stream.layers[:layers]])
        return self.render(styles, layers, stream.height, stream.width)

    def decode_styles(self, payloads: list[bytes]) -> torch.Tensor:
        """Residual styles of the first len(payloads) layers; BitstreamError for payloads that do not decode."""
        try:
            return self.model.entropy.decompress(payloads)
        except BitstreamError:
            raise
        except Exception as exc:
            raise BitstreamError(f"stylegan-scalable payload cannot be decoded: {exc}") from exc

    @torch.no_grad()
    def render(self, styles: torch.Tensor, layers: int, height: int, width: int) -> np.ndarray:
        """x̂_k = G({L1..Lk, 0..} + w̄) (Eqs. 4-6) at height x width, uint8."""
        x = self.model.generator(self.model.w_plus(styles, layers))
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
        return ((x[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()

    def encode_video(self, frames: list[np.ndarray], fps: float, keyframe_interval: int) -> Bitstream:
        """Key-frame video mode (see encode_video below)."""
        return encode_video(self, frames, fps, keyframe_interval)

    def decode_video(self, stream: Bitstream | bytes, layers: int | None = None) -> list[np.ndarray]:
        if isinstance(stream, (bytes, bytearray)):
            stream = Bitstream.parse(bytes(stream))
        return decode_video(self, stream, layers)

    @staticmethod
    def video_fps(stream: Bitstream) -> float:
        return video_header(stream)[2]

    def swap(self, a: Bitstream | bytes, b: Bitstream | bytes) -> Bitstream:
        """A's basic and enhanced layers with B's middle layer, re-coded without decoding pixels (the paper's
        face swap). Both streams must be complete and coded by this model."""
        checked = []
        for label, stream in (("first", a), ("second", b)):
            try:  # codec name, model id and layer names, as for decoding
                stream = self.check_stream(stream)
            except BitstreamError as exc:
                raise BitstreamError(f"swap: the {label} stream: {exc}") from exc
            checked.append(stream)
            if stream.available_layers != len(LAYER_NAMES):
                raise BitstreamError(f"swap: the {label} stream holds {stream.available_layers} of 3 layers")
        a, b = checked
        payloads = swap_layers(self.model.entropy, [l.payload for l in a.layers], [l.payload for l in b.layers], (1,))
        layers = tuple(Layer(name, payload) for name, payload in zip(LAYER_NAMES, payloads))
        return Bitstream(self.name, a.height, a.width, layers, model_id=self.model_id, codec_header=a.codec_header)


# ------------------------------------------------------------------------------------------ training
class StyleganScalableTask:
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
            from ..train.stylegan_objective import ObjectiveWeights, ScalableObjective
            self._objective = ScalableObjective(ObjectiveWeights(lmbda=self.lmbda))
        return self._objective

    def build_model(self) -> ScalableModel:
        model = ScalableModel(**self.model_kwargs)
        model.w_avg.copy_(model.generator.mean_latent(1024))
        if self.adversarial:
            from .stylegan2 import Discriminator
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
        from .stylegan2 import d_logistic_loss, r1_penalty
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
        import json
        path = out / f"stylegan-scalable-q{self.quality or 0}.pt"
        model = model.cpu().eval()
        model_id = save_model(model, path)
        card = dict(card)
        card.update({"codec": "stylegan-scalable", "quality": self.quality, "lambda": self.lmbda,
                     "paper_lambda": self.paper_lmbda,
                     "schedule": {"rate_warmup": self.rate_warmup, "adversarial": self.adversarial},
                     "model_id": model_id.hex(), "architecture": model.config,
                     "objective": ("Eqs. 23-26 with the adversarial term (second phase)" if self.adversarial else
                                   "Eqs. 23-26 without the adversarial term (first phase)")
                     + " (lamina.train.stylegan_objective)",
                     "status": "preliminary unless trained on a GPU for the paper's 50K + 10K iterations"})
        path.with_suffix(".json").write_text(json.dumps(card, indent=2, default=str) + "\n")
        return path


# ------------------------------------------------------------------------------------------ video
def _pack(payloads: list[bytes]) -> bytes:
    return b"".join(encode_varint(len(p)) + p for p in payloads)


def _unpack(data: bytes, count: int, what: str) -> list[bytes]:
    from ..bitstream import _Reader
    reader = _Reader(data)
    out = [reader.take(reader.varint(f"{what} length"), what) for _ in range(count)]
    if reader.pos != len(data):
        raise BitstreamError(f"{what}: {len(data) - reader.pos} unexpected trailing bytes")
    return out


def encode_video(codec: StyleganScalable, frames: list[np.ndarray], fps: float, keyframe_interval: int) -> Bitstream:
    """Key frames (every `keyframe_interval`-th, from 0) with all three layers, other frames with the basic
    layer only. Layer payloads: basic = every frame's basic payload; middle / enhanced = the key frames'.
    Codec header: varint quality, frame count, key-frame interval, fps x 1000."""
    from ..bitstream import KIND_VIDEO
    if keyframe_interval < 1:
        raise InputError(f"keyframe interval must be >= 1, got {keyframe_interval}")
    if not frames:
        raise InputError("the video has no frames")
    h, w = frames[0].shape[:2]
    if codec.check_face:  # one framing for the clip: the first frame must hold a framed face
        require_framed_face(frames[0])
    for i, frame in enumerate(frames):
        if frame.shape != frames[0].shape:
            raise InputError(f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 is {w}x{h}: "
                             f"variable frame sizes are not supported")
    per_layer: list[list[bytes]] = [[], [], []]
    with torch.no_grad():
        for i, frame in enumerate(frames):
            key = i % keyframe_interval == 0
            payloads = codec.model.entropy.compress(codec.model.encode(codec._to_model(frame)), None if key else 1)
            for k, payload in enumerate(payloads):
                per_layer[k].append(payload)
    header = (encode_varint(codec.quality) + encode_varint(len(frames)) + encode_varint(keyframe_interval)
              + encode_varint(int(round(fps * 1000))))
    layers = tuple(Layer(name, _pack(p)) for name, p in zip(LAYER_NAMES, per_layer))
    return Bitstream(codec.name, h, w, layers, model_id=codec.model_id, kind=KIND_VIDEO, codec_header=header)


def video_header(stream: Bitstream) -> tuple[int, int, float]:
    """(frames, keyframe interval, fps) of a video stream."""
    from ..bitstream import KIND_VIDEO, _Reader
    if stream.kind != KIND_VIDEO:
        raise BitstreamError("not a video stream")
    reader = _Reader(stream.codec_header)
    reader.varint("quality")
    frames, interval, fps = reader.varint("frames"), reader.varint("keyframe interval"), reader.varint("fps")
    if reader.pos != len(stream.codec_header) or frames < 1 or interval < 1:
        raise BitstreamError("video codec header is corrupted")
    return frames, interval, fps / 1000


@torch.no_grad()
def decode_video(codec: StyleganScalable, stream: Bitstream, layers: int | None = None) -> list[np.ndarray]:
    """Frames decoded from the first `layers` layers: frame t uses its own basic styles and, from 2 layers on,
    the middle (and enhanced) styles of its key frame."""
    stream = codec.check_stream(stream)
    count, interval, _ = video_header(stream)
    k = stream.available_layers if layers is None else layers
    if not 1 <= k <= stream.available_layers:
        raise BitstreamError(f"cannot decode {k} layers: stream holds {stream.available_layers}")
    keys = (count + interval - 1) // interval
    basic = _unpack(stream.layers[0].payload, count, "basic payload")
    upper = [_unpack(stream.layers[j].payload, keys, f"{LAYER_NAMES[j]} payload") for j in range(1, k)]
    frames, key_styles = [], None
    for t in range(count):
        if t % interval == 0 and k > 1:  # a key frame: its own styles for every layer held
            styles = key_styles = codec.decode_styles([basic[t]] + [layer[t // interval] for layer in upper])
        else:
            styles = codec.decode_styles([basic[t]])
            if k > 1:
                styles = torch.cat([styles, key_styles[:, styles.shape[1]:]], dim=1)
        frames.append(codec.render(styles, k, stream.height, stream.width))
    return frames
