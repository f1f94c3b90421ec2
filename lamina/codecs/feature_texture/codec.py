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
crops MobileFaceNet's 112x96 input by a fixed transform (lamina.vision.face.FRAMING_POINTS5).
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ... import zoo
from ...bitstream import Bitstream, Layer, Reader, encode_varint
from ...entropy.hyperprior_payload import compress_payload, decompress_payload
from ...errors import BitstreamError, InputError
from ...imageio import to_tensor
from ..base import FEATURE, Codec, LayerSpec, Option, register
from ..hyperprior.model import cached_network
from . import nets

CODEC = "feature-texture"


def weights_file() -> Path:
    """The committed feature-texture weights (zoo/feature-texture.pt)."""
    return zoo.path(CODEC)
DEFAULT_FEATURE_QUALITY = 1  # λ1 = 1e-4: within a point of the uncompressed feature (docs/results/feature-texture)
LEARNED_RESIDUAL = "hyperprior"
CLASSIC_RESIDUALS = ("jpeg", "jpeg2000", "heic", "vvc", "webp", "hevc", "avif", "jpegxl", "av1")


RESIDUAL = "feature-texture-residual"  # zoo name of the learned residual codec's weights


def residual_weights(quality: int, folder: Path | None = None) -> Path:
    return zoo.path(RESIDUAL, quality, folder)


def residual_qualities(folder: Path | None = None) -> list[int]:
    return zoo.qualities(RESIDUAL, folder)


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

    def __init__(self, path: Path | None = None, device: str = "cpu"):
        path = Path(path or weights_file())
        weights = zoo.load(path, CODEC)
        data = {**weights.state_dict, **weights.config}
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
        self.digest = hashlib.sha256(path.read_bytes()).digest()  # part of every stream's model id


@lru_cache(maxsize=4)
def _model(path: str, device: str) -> FeatureTextureModel:
    return FeatureTextureModel(Path(path), device)


def _residual_class(name: str):
    from ..classic import CLASSIC_CODECS
    classes = {cls.name: cls for cls in CLASSIC_CODECS}
    if name not in CLASSIC_RESIDUALS or name not in classes:
        raise InputError(f"unknown residual codec {name!r}; known: {', '.join((LEARNED_RESIDUAL,) + CLASSIC_RESIDUALS)}")
    return classes[name]


# ------------------------------------------------------------------------------------------ codec
@register
class FeatureTexture(Codec):
    """Base layer = compact identity feature; enhancement layer = residual texture."""

    name = CODEC
    status = ("preliminary (CPU-trained in minutes): the feature layer decodes to a generated face with the "
              "person's pose, skin tone and rough expression but no detail (about 15 dB); the full stream is "
              "faithful (the residual restores the original)")
    layers = (LayerSpec("feature", ("identity", "verification")), LayerSpec("texture", ("human",)))
    higher_is_better = True
    accepts_device = True
    learned = True
    training_module = "lamina.codecs.feature_texture.task"
    capabilities = frozenset({FEATURE})
    residual = LEARNED_RESIDUAL
    encode_options = (
        Option("--residual", "residual", help="feature-texture: residual codec (hyperprior, jpeg, jpeg2000, heic, "
                                              "vvc, ...)"),
        Option("--feature-quality", "feature_quality", type=int, help="feature-texture: feature codec quality"),
    )

    @classmethod
    def available(cls) -> bool:
        return weights_file().exists()

    def __init__(self, quality: int | None = None, residual: str | None = None, feature_quality: int | None = None,
                 device: str = "cpu", weights: str | Path | None = None):
        self.weights = Path(weights) if weights else weights_file()
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
            digest.update(zoo.model_id_of(self.residual_path))
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
    def default_setting(cls):
        """Learned residual: its highest committed quality; a classic residual: that codec's default."""
        if cls.residual == LEARNED_RESIDUAL:
            qualities = residual_qualities()
            return qualities[-1] if qualities else None
        return _residual_class(cls.residual).default_quality

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> FeatureTexture:
        feature_quality, residual, quality = cls.parse_header(stream.codec_header, stream.version)
        try:
            codec = FeatureTexture(quality=quality, residual=residual, feature_quality=feature_quality, device=device)
        except InputError as exc:
            raise BitstreamError(f"stream cannot be decoded with the committed models: {exc}") from exc
        if not stream.matches_model(codec.model_id):
            raise BitstreamError(f"model id mismatch: stream needs {stream.model_id.hex()}, the committed "
                                 f"feature-texture models give {codec.model_id.hex()}")
        return codec

    @staticmethod
    def parse_header(header: bytes, version: int = 2) -> tuple[int, str, int]:
        """(feature quality, residual codec, residual quality). Container v2 names the residual codec by its
        number (lamina.codec_numbers, one byte); v1 wrote its name."""
        from ...codec_numbers import CODEC_NAMES
        reader = Reader(header)
        feature_quality = reader.varint("feature quality")
        if version >= 2:
            number = reader.varint("residual codec")
            if number not in CODEC_NAMES:
                raise BitstreamError(f"feature-texture: unknown residual codec number {number}")
            residual = CODEC_NAMES[number]
        else:
            residual = reader.text("residual codec")
        quality = reader.varint("residual quality")
        if reader.pos != len(header):
            raise BitstreamError("feature-texture codec header has trailing bytes")
        return feature_quality, residual, quality

    def _header(self) -> bytes:
        from ...codec_numbers import CODEC_NUMBERS
        return encode_varint(self.feature_quality) + encode_varint(CODEC_NUMBERS[self.residual]) \
            + encode_varint(self.quality)

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
        self._last_image = image  # for encode_note's framing check (run only when the note is asked for)
        f_raw = self.model.extractor(self._tensor(image))
        feature_bytes = self.feature_codec.compress(f_raw)[0]
        f_rec = self.feature_codec.decompress([feature_bytes])  # what the decoder will see
        base = base_from_feature(self.model.generator, f_rec, h, w)[0]
        x_enh, low, high = normalise_residual(image, base)
        texture = encode_varint(_zigzag(low)) + encode_varint(_zigzag(high)) + self._code_residual(x_enh)
        layers = (Layer("feature", feature_bytes), Layer("texture", texture))
        return Bitstream(self.name, h, w, layers, model_id=self.model_id, codec_header=self._header())

    def encode_note(self) -> str | None:
        """A notice when the last encoded image is not a face crop in the shared framing: its feature layer then
        describes no face (the texture layer still restores the image). The face codecs that have no residual
        refuse such images instead (vision.face.require_framed_face)."""
        image = getattr(self, "_last_image", None)
        if image is None:
            return None
        from ...vision.face import framing_problem
        problem = framing_problem(image)
        if problem is None:
            return None
        return (f"note: {problem}, so the feature layer describes no face (the full stream still restores the "
                f"image); encode with --align 256 to code the face crop")

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
        header = self.parse_header(stream.codec_header, stream.version)
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
        reader = Reader(stream.layers[1].payload)
        low, high = _unzigzag(reader.varint("residual min")), _unzigzag(reader.varint("residual max"))
        if not -255 <= low < high <= 255:
            raise BitstreamError(f"texture layer residual range {low}..{high} is impossible: stream is corrupted")
        x_enh = self._decode_residual(stream.layers[1].payload[reader.pos:], h, w)
        x_rec = base.astype(np.float32) + denormalise_residual(x_enh, low, high)
        return np.clip(np.round(x_rec), 0, 255).astype(np.uint8)

    def card(self) -> dict:
        return zoo.card(self.weights)


def variant(residual: str) -> type:
    """A FeatureTexture subclass whose residual codec is fixed (registry entries `feature-texture+NAME`; the
    stream still names `feature-texture`, which decodes it)."""
    direction = _residual_class(residual).higher_is_better  # the quality knob is the residual codec's
    return type(f"FeatureTexture_{residual}", (FeatureTexture,), {"residual": residual, "higher_is_better": direction,
                                                                  "encode_options": ()})


REGISTERED_RESIDUALS = ("jpeg", "jpeg2000", "heic", "vvc")
for _residual in REGISTERED_RESIDUALS:  # bench names: the same codec with a classic residual codec
    from ...registry import add as _add
    _add(f"{CODEC}+{_residual}", variant(_residual))
