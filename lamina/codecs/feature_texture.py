"""feature-texture: scalable feature + texture face coding (seed 003).

Layers
  feature  the entropy-coded latent of the FC+GDN feature codec (factorized model, rANS). Decodes to the
           128-d identity feature with no image network (`decode_feature`), or to x_base through the
           Laplacian-pyramid generator.
  texture  the residual x - x_base, min-max normalised (Eq. 5), coded by a residual codec chosen by name:
           `hyperprior` (CompressAI scale hyperprior fine-tuned here on such residuals) or a classic codec
           (jpeg, jpeg2000, heic, vvc, webp, ...). Reconstruction x_rec = x_base + de-normalised residual (Eq. 6).

Codec header: varint feature quality, varint len + residual codec name, varint residual quality.
Texture payload: zigzag varints min, max (integer residual range in 8-bit levels), then the residual
codec's bytes (hyperprior: varint len(z) + z + y, z of shape ceil(H/64) x ceil(W/64)).
Model id: first 8 bytes of SHA-256 over the feature-texture weights' digest, the feature quality, the
residual codec name and (learned residual) the residual weights' digest.

Inputs are face crops in the shared framing (dlib get_face_chip, padding 0.2): the feature extractor
crops MobileFaceNet's 112x96 input by a fixed transform (ftnets.FRAMING_POINTS5).
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..bitstream import Bitstream, Layer, _Reader, encode_varint
from ..checkpoint import fp16_parameters
from ..errors import BitstreamError, InputError
from ..imageio import to_tensor
from . import ftnets as nets
from .base import Codec, LayerSpec
from .hyperprior import (
    ZOO,
    cached_network,
    compress_payload,
    decompress_payload,
    model_id_of,
)

WEIGHTS = ZOO / "feature-texture.pt"
FORMAT = "lamina-feature-texture-v1"
DEFAULT_FEATURE_QUALITY = 1  # λ1 = 1e-4: within a point of the uncompressed feature (docs/results/feature-texture)
LEARNED_RESIDUAL = "hyperprior"
CLASSIC_RESIDUALS = ("jpeg", "jpeg2000", "heic", "vvc", "webp", "hevc", "avif", "jpegxl", "av1")


def residual_weights(quality: int, folder: Path = ZOO) -> Path:
    return Path(folder) / f"feature-texture-residual-q{quality}.pt"


def residual_qualities(folder: Path = ZOO) -> list[int]:
    return sorted(int(p.stem.rsplit("-q", 1)[1]) for p in Path(folder).glob("feature-texture-residual-q*.pt"))


# ----------------------------------------------------------------------------------- shared helpers
def base_from_feature(generator: nets.LaplacianGenerator, f: torch.Tensor, height: int,
                      width: int | None = None) -> np.ndarray:
    """x_base (N x H x W x 3 uint8) from decoded features: the generator's 256x256 output, resized."""
    width = height if width is None else width
    x = generator(f.float())[-1]
    if x.shape[-2:] != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return x.clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def normalise_residual(image: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Eq. 5: (x_enh in [0, 1] as float32, min, max) of the integer residual image - base."""
    residual = image.astype(np.int16) - base.astype(np.int16)
    low, high = int(residual.min()), int(residual.max())
    high = max(high, low + 1)
    return ((residual - low) / (high - low)).astype(np.float32), low, high


def denormalise_residual(x_enh: np.ndarray, low: int, high: int) -> np.ndarray:
    """Inverse of Eq. 5 (float residual in 8-bit levels)."""
    return low + x_enh.astype(np.float32) * (high - low)


def _zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def _unzigzag(v: int) -> int:
    return v // 2 if v % 2 == 0 else -(v + 1) // 2


# --------------------------------------------------------------------------------------- weights
def _load_state(module: torch.nn.Module, state: dict, what: str, path: Path) -> None:
    try:
        nets.load_state(module, state)
    except (RuntimeError, KeyError, AttributeError) as exc:
        raise InputError(f"{path}: {what} does not fit: {str(exc).splitlines()[0][:200]}") from exc


class FeatureTextureModel:
    """The decoded contents of lamina/zoo/feature-texture.pt: extractor, generator, feature codecs."""

    def __init__(self, path: Path = WEIGHTS, device: str = "cpu"):
        from ..checkpoint import read_checkpoint
        path = Path(path)
        data = read_checkpoint(path, "feature-texture")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise InputError(f"{path} is not a feature-texture weights file (format {found!r})")
        self.path, self.device = path, device
        self.extractor = nets.FeatureExtractor()
        _load_state(self.extractor, data["extractor"], "extractor", path)
        self.generator = nets.LaplacianGenerator()
        _load_state(self.generator, data["generator"], "generator", path)
        self.codecs: dict[int, nets.FeatureCodec] = {}
        for quality, state in data["codecs"].items():
            codec = nets.FeatureCodec()
            _load_state(codec, state, f"feature codec q{quality}", path)
            self.codecs[int(quality)] = codec.eval()
        self.lambdas = {int(k): v for k, v in data.get("lambdas", {}).items()}
        for module in (self.extractor, self.generator, *self.codecs.values()):
            module.eval().requires_grad_(False).to(device)
        self.digest = hashlib.sha256(path.read_bytes()).digest()


@lru_cache(maxsize=4)
def _model(path: str, device: str) -> FeatureTextureModel:
    return FeatureTextureModel(Path(path), device)


def _residual_class(name: str):
    from .classic import CLASSIC_CODECS
    classes = {cls.name: cls for cls in CLASSIC_CODECS}
    if name not in CLASSIC_RESIDUALS or name not in classes:
        raise InputError(f"unknown residual codec {name!r}; known: {', '.join((LEARNED_RESIDUAL,) + CLASSIC_RESIDUALS)}")
    return classes[name]


# ------------------------------------------------------------------------------------------ codec
class FeatureTexture(Codec):
    """Base layer = compact identity feature; enhancement layer = residual texture."""

    name = "feature-texture"
    layers = (LayerSpec("feature", ("identity", "verification")), LayerSpec("texture", ("human",)))
    higher_is_better = True
    accepts_device = True
    residual = LEARNED_RESIDUAL

    def __init__(self, quality: int | None = None, residual: str | None = None, feature_quality: int | None = None,
                 device: str = "cpu", weights: str | Path | None = None):
        self.weights = Path(weights) if weights else WEIGHTS
        if not self.weights.exists():
            raise InputError(f"no trained feature-texture weights at {self.weights}")
        self.model = _model(str(self.weights), device)
        self.device = device
        self.residual = residual or type(self).residual
        self.feature_quality = DEFAULT_FEATURE_QUALITY if feature_quality is None else int(feature_quality)
        if self.feature_quality not in self.model.codecs:
            raise InputError(f"feature quality {self.feature_quality} has no feature codec; "
                             f"available: {sorted(self.model.codecs)}")
        digest = hashlib.sha256(self.model.digest + bytes([self.feature_quality]) + self.residual.encode())
        if self.residual == LEARNED_RESIDUAL:
            qualities = residual_qualities(self.weights.parent)
            quality = (qualities[-1] if qualities else 0) if quality is None else int(quality)
            if quality not in qualities:
                raise InputError(f"feature-texture: residual quality {quality} has no weights; available: {qualities}")
            self.residual_path = residual_weights(quality, self.weights.parent)
            self.residual_network = cached_network(str(self.residual_path), "hyperprior", device)
            digest.update(model_id_of(self.residual_path))
        else:
            cls = _residual_class(self.residual)
            quality = cls.default_quality if quality is None else int(quality)
            self.residual_codec = cls(quality=quality)
        self.quality = quality
        self.model_id = digest.digest()[:8]

    # ------------------------------------------------------------------ registry / bench hooks
    @classmethod
    def bench_grid(cls) -> tuple:
        if cls.residual == LEARNED_RESIDUAL:
            return tuple(residual_qualities())
        return tuple(_residual_class(cls.residual).bench_qualities)

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> FeatureTexture:
        feature_quality, residual, quality = cls.parse_header(stream.codec_header)
        try:
            codec = FeatureTexture(quality=quality, residual=residual, feature_quality=feature_quality, device=device)
        except InputError as exc:
            raise BitstreamError(f"stream cannot be decoded with the committed models: {exc}") from exc
        if codec.model_id != stream.model_id:
            raise BitstreamError(f"model id mismatch: stream needs {stream.model_id.hex()}, the committed "
                                 f"feature-texture models give {codec.model_id.hex()}")
        return codec

    @staticmethod
    def parse_header(header: bytes) -> tuple[int, str, int]:
        reader = _Reader(header)
        feature_quality = reader.varint("feature quality")
        residual = reader.text("residual codec")
        quality = reader.varint("residual quality")
        if reader.pos != len(header):
            raise BitstreamError("feature-texture codec header has trailing bytes")
        return feature_quality, residual, quality

    def _header(self) -> bytes:
        name = self.residual.encode()
        return encode_varint(self.feature_quality) + encode_varint(len(name)) + name + encode_varint(self.quality)

    # ------------------------------------------------------------------------------ coding
    @property
    def feature_codec(self) -> nets.FeatureCodec:
        return self.model.codecs[self.feature_quality]

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return to_tensor(image).to(self.device)

    @torch.no_grad()
    def extract(self, image: np.ndarray) -> np.ndarray:
        """The raw (uncompressed) 128-d unit-norm base-layer feature of a face crop."""
        return self.model.extractor(self._tensor(image))[0].cpu().numpy()

    @torch.no_grad()
    def _encode(self, image: np.ndarray) -> Bitstream:
        h, w = image.shape[:2]
        if min(h, w) < 32:
            raise InputError(f"feature-texture needs a face crop of at least 32x32, got {w}x{h}")
        f_raw = self.model.extractor(self._tensor(image))
        feature_bytes = self.feature_codec.compress(f_raw)[0]
        f_rec = self.feature_codec.decompress([feature_bytes])  # what the decoder will see
        base = base_from_feature(self.model.generator, f_rec, h, w)[0]
        x_enh, low, high = normalise_residual(image, base)
        texture = encode_varint(_zigzag(low)) + encode_varint(_zigzag(high)) + self._code_residual(x_enh)
        layers = (Layer("feature", feature_bytes), Layer("texture", texture))
        return Bitstream(self.name, h, w, layers, model_id=self.model_id, codec_header=self._header())

    def _code_residual(self, x_enh: np.ndarray) -> bytes:
        if self.residual == LEARNED_RESIDUAL:
            x = torch.from_numpy(x_enh).permute(2, 0, 1)[None].to(self.device)
            return compress_payload(self.residual_network, x)[0]
        return self.residual_codec.compress(np.round(x_enh * 255).astype(np.uint8))

    def _decode_residual(self, payload: bytes, h: int, w: int) -> np.ndarray:
        if self.residual == LEARNED_RESIDUAL:
            x_hat = decompress_payload(self.residual_network, payload, h, w, "texture layer")
            return x_hat.permute(1, 2, 0).cpu().numpy()
        return self.residual_codec.decompress(payload, h, w).astype(np.float32) / 255.0

    def _check_header(self, stream: Bitstream) -> None:
        header = self.parse_header(stream.codec_header)
        if header != (self.feature_quality, self.residual, self.quality):
            raise BitstreamError(f"stream was coded with (feature q, residual, q) = {header}, "
                                 f"this codec is {(self.feature_quality, self.residual, self.quality)}")

    @torch.no_grad()
    def decode_feature(self, stream: Bitstream | bytes) -> np.ndarray:
        """The decoded 128-d unit-norm feature from the first layer alone (no image network runs)."""
        stream = self.check_stream(stream)
        self._check_header(stream)
        return F.normalize(self._feature(stream), dim=1)[0].cpu().numpy()

    def _feature(self, stream: Bitstream) -> torch.Tensor:
        payload = stream.layers[0].payload
        if not payload:
            raise BitstreamError("feature layer is empty")
        try:
            f_rec = self.feature_codec.decompress([payload])
        except Exception as exc:
            raise BitstreamError(f"feature layer cannot be decoded: {exc}") from exc
        if not torch.isfinite(f_rec).all():
            raise BitstreamError("feature layer decodes to non-finite values: stream is corrupted")
        return f_rec

    @torch.no_grad()
    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        self._check_header(stream)
        h, w = stream.height, stream.width
        base = base_from_feature(self.model.generator, self._feature(stream), h, w)[0]
        if layers == 1:
            return base
        reader = _Reader(stream.layers[1].payload)
        low, high = _unzigzag(reader.varint("residual min")), _unzigzag(reader.varint("residual max"))
        if not -255 <= low < high <= 255:
            raise BitstreamError(f"texture layer residual range {low}..{high} is impossible: stream is corrupted")
        x_enh = self._decode_residual(stream.layers[1].payload[reader.pos:], h, w)
        x_rec = base.astype(np.float32) + denormalise_residual(x_enh, low, high)
        return np.clip(np.round(x_rec), 0, 255).astype(np.uint8)

    def card(self) -> dict:
        path = self.weights.with_suffix(".json")
        return json.loads(path.read_text()) if path.exists() else {}


def variant(residual: str) -> type:
    """A FeatureTexture subclass whose residual codec is fixed (registry entries `feature-texture+NAME`)."""
    direction = _residual_class(residual).higher_is_better  # the quality knob is the residual codec's
    return type(f"FeatureTexture_{residual}", (FeatureTexture,), {"residual": residual, "higher_is_better": direction})


REGISTERED_RESIDUALS = ("jpeg", "jpeg2000", "heic", "vvc")


# ------------------------------------------------------------------------------------------ export
def export(out: Path, zoo: Path = ZOO) -> Path:
    """Collect the trained stages of `out` into zoo/feature-texture.pt and the residual models."""
    import shutil

    from ..checkpoint import read_checkpoint
    from ..train.feature_texture import FEATURE_LAMBDAS, load_codec, load_extractor
    extractor, _ = load_extractor(out)
    generator = nets.LaplacianGenerator()
    generator.load_state_dict(read_checkpoint(out / "texture.pt", "texture stage")["generator"])
    codecs = {}
    for quality in sorted(FEATURE_LAMBDAS):
        path = out / f"codec-q{quality}.pt"
        if path.exists():
            codecs[quality] = fp16_parameters(load_codec(path))
    data = {"format": FORMAT, "extractor": fp16_parameters(extractor), "generator": fp16_parameters(generator),
            "codecs": codecs, "lambdas": {q: FEATURE_LAMBDAS[q] for q in codecs}}
    target = zoo / WEIGHTS.name
    tmp = target.with_name(target.name + ".tmp")
    torch.save(data, tmp)
    tmp.replace(target)
    for path in sorted(out.glob("residual-q*.pt")):
        shutil.copyfile(path, zoo / f"feature-texture-{path.name}")
    _write_card(out, target, codecs)
    return target


def _stage_steps(out: Path) -> dict:
    from ..checkpoint import read_checkpoint
    steps = {}
    for path in sorted(out.glob("*.pt")):
        if path.stem.startswith("residual"):
            continue
        data = read_checkpoint(path, path.stem)
        steps[path.stem] = {k: data[k] for k in ("steps", "qualities", "images", "identities") if k in data}
    steps["residual"] = "200 steps, batch 8, 128x128 crops, Adam 1e-4 (main) / 1e-3 (aux)"
    steps["batches"] = "extractor 32 (256x256 faces, flips), codec 256 feature vectors (SATD on 16), texture 8"
    return steps


def _write_card(out: Path, target: Path, codecs: dict) -> None:
    from ..train import feature_texture as ft
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()] if (out / "log.jsonl").exists() else []

    def last(stage):
        rows = [r for r in log if r["stage"] == stage]
        return rows[-1] if rows else None

    card = {
        "codec": "feature-texture", "format": FORMAT, "model_file_sha256_8": model_id_of(target).hex(),
        "status": "preliminary: trained on CPU in minutes per stage (no GPU was lent); see docs/results/feature-texture",
        "paper": "seed 003 (scalable feature and texture compression); equations mapped in lamina/codecs/ftnets.py",
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
    target.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
