"""codebook-svr: generative sparse visual representation with a fidelity control image (seed 004, SVR).

Encoding: the image (edge-padded to a multiple of 8·grid) -> frozen TAEF2 encoder -> latent; each grid x grid
block -> nearest codeword's index (= its training-frequency rank) -> rANS under an order-0 adaptive categorical
whose prior is the training frequencies (layer `indices`). The padded image downsampled `factor` x (bicubic) and coded by the LQ codec (VVC or lamina's
mean-scale; layer `fidelity` = that codec's payload).

Decoding: 1 layer -> TAEF2 decoder of the codewords Y_q (the generative reconstruction); 2 layers -> the decoded
x^LQ -> E^LQ -> CFT: Y_mod = Y_q + α·(β ⊙ Y_q + γ) -> TAEF2 decoder. `alpha` (decode option, default 1) sets the
fidelity strength; `lq_only` returns x^LQ upsampled (bicubic), the paper's fidelity-codec baseline.

Codec header: varint quality, varint LQ codec (0 vvc, 1 mean-scale), varint LQ quality. Model id: the weights
file's (codebook, index model and networks in one file).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ... import zoo
from ...bitstream import Bitstream, Layer, Reader, encode_varint
from ...errors import BitstreamError, InputError
from ...imageio import downsample, pad_to, to_tensor, to_uint8
from ..base import DECODER_OPTION, VIDEO, LayerSpec, Option, ZooCodec, chosen_decoder, register
from .indexcoding import decode_adaptive, encode_adaptive
from .model import CODEC, load_model
from .video import LQ_ENCODERS

LQ_CODECS = ("vvc", "mean-scale")


@lru_cache(maxsize=4)
def _cached(path: str, device: str):
    return load_model(Path(path), device)


def _lq_codec(name: str, quality: int):
    import lamina
    return lamina.load(name, quality=quality)


def lq_payload(name: str, quality: int, image: np.ndarray) -> bytes:
    """The LQ codec's payload (no lamina container) for a small HxWx3 uint8 image."""
    return _lq_codec(name, quality).encode(image).layers[0].payload


def lq_image(name: str, quality: int, payload: bytes, height: int, width: int) -> np.ndarray:
    """Decode an LQ payload of a height x width image (BitstreamError when it does not decode)."""
    try:
        image = _lq_codec(name, quality).decompress(payload, height, width)
    except BitstreamError:
        raise
    except Exception as exc:
        raise BitstreamError(f"codebook-svr: fidelity payload cannot be decoded by {name}: {exc}") from exc
    if image.shape != (height, width, 3):
        raise BitstreamError(f"codebook-svr: fidelity payload decodes to {image.shape[1]}x{image.shape[0]}, "
                             f"not {width}x{height}: stream is corrupted")
    return image


@register
class CodebookSVR(ZooCodec):
    name = CODEC
    status = ("CPU-trained codebooks: sharp, natural-looking images whose texture is generated, not the "
              "original's (PSNR 21-22 dB on Kodak); the indices layer alone is a blocky mosaic of the scene")
    layers = (LayerSpec("indices", ("human-generative",)), LayerSpec("fidelity", ("human",)))
    higher_is_better = True
    training_module = "lamina.codecs.codebook_svr.task"
    capabilities = frozenset({VIDEO})
    encode_options = (
        Option("--lq-codec", "lq_codec", choices=LQ_CODECS,
               help="codebook-svr: codec of the fidelity layer's low-quality image (default: the model's)"),
        Option("--lq-quality", "lq_quality", type=int,
               help="codebook-svr: its quality (VVC QP, mean-scale quality; default: the model's)"),
        Option("--lq-qp", "lq_qp", type=int,
               help="codebook-svr video: QP of the low-quality frames (default: the quality's, VIDEO_LQ_QP)"),
        Option("--lq-video", "lq_video", choices=LQ_ENCODERS,
               help="codebook-svr video: encoder of the low-quality frames (default x265)"),
        Option("--stable", "stable", type=float,
               help="codebook-svr video: keep the previous frame's index where its codeword is within this "
                    "relative distance of the nearest (0 = always the nearest; default STABLE)"),
        Option("--stable-neighbours", "neighbours", type=float,
               help="codebook-svr video: a block that changes takes its neighbours' index (this frame's causal "
                    "neighbours, the previous frame's 3x3: cheap to code) where that codeword is within this "
                    "relative distance of the nearest (0 = off; default NEIGHBOURS)"),
        Option("--latent-smooth", "latent_smooth", type=float,
               help="codebook-svr video: the decoder blends the latent of each block whose index did not change "
                    "with the previous frame's, this weight on the previous (written in the stream, in 1/16; default "
                    "0 = off: it lowers flicker only at the lowest rates, docs/results/video/)"),
    )
    decode_options = (
        Option("--alpha", "alpha", type=float,
               help="codebook-svr: fidelity strength α in [0, 1] (0 = codebook only, 1 = default)"),
        Option("--lq-only", "lq_only", type=bool,
               help="codebook-svr: output the fidelity layer's low-quality image alone, upsampled"),
        Option("--deflicker", "deflicker", type=float,
               help="codebook-svr video: strength in [0, 1] of the decoder's motion-compensated temporal filter "
                    "(lamina.deflicker; 0 = off; default DEFLICKER)"),
        DECODER_OPTION,
    )

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 lq_codec: str | None = None, lq_quality: int | None = None, lq_qp: int | None = None,
                 stable: float | None = None, lq_video: str | None = None, neighbours: float | None = None,
                 latent_smooth: float | None = None):
        if weights is None:
            quality, weights = zoo.find(CODEC, quality)
        self.quality, self.device, self.weights = int(quality or 0), device, Path(weights)
        self.model, self.model_id = _cached(str(self.weights), device)
        config = self.model.config
        self.lq_codec = lq_codec or config["lq_codec"]
        if self.lq_codec not in LQ_CODECS:
            raise InputError(f"codebook-svr: LQ codec must be one of {', '.join(LQ_CODECS)}, got {self.lq_codec!r}")
        self.lq_quality = int(config["lq_quality"] if lq_quality is None else lq_quality)
        _lq_codec(self.lq_codec, self.lq_quality)  # range check now, not after the latent is computed
        from .video import LATENT_SMOOTH, NEIGHBOURS, SMOOTH_UNIT, STABLE, VIDEO_LQ_QP
        self.lq_video = lq_video or LQ_ENCODERS[0]
        if self.lq_video not in LQ_ENCODERS:
            raise InputError(f"codebook-svr: --lq-video must be one of {', '.join(LQ_ENCODERS)}, got {self.lq_video!r}")
        self.lq_qp = VIDEO_LQ_QP.get(self.quality, 40) if lq_qp is None else int(lq_qp)
        from ...video import VIDEO_BASELINES
        low, top = VIDEO_BASELINES[self.lq_video][3]  # the encoder's QP range, as baseline_video_encode checks it
        if not low <= self.lq_qp <= top:
            raise InputError(f"codebook-svr: --lq-qp is a {self.lq_video} QP, {low}..{top}, got {self.lq_qp}")
        self.stable = STABLE if stable is None else float(stable)
        if not 0 <= self.stable <= 1:
            raise InputError(f"codebook-svr: --stable must be in [0, 1], got {self.stable:g}")
        self.neighbours = NEIGHBOURS if neighbours is None else float(neighbours)
        if not 0 <= self.neighbours <= 1:
            raise InputError(f"codebook-svr: --stable-neighbours must be in [0, 1], got {self.neighbours:g}")
        self.factor, self.grid = int(config["factor"]), int(config["grid"])
        # the stream carries it in 1/SMOOTH_UNIT: the encoder's object holds what the decoder will use
        self.latent_smooth = (LATENT_SMOOTH if latent_smooth is None
                              else round(float(latent_smooth) * SMOOTH_UNIT) / SMOOTH_UNIT)
        if not 0 <= self.latent_smooth < 1:
            raise InputError(f"codebook-svr: --latent-smooth must be in [0, 1), got {latent_smooth:g}")

    @property
    def multiple(self) -> int:
        return 8 * self.grid

    # -- pieces shared with video and evaluation ---------------------------------------------------------------
    def latent_of(self, padded: np.ndarray) -> torch.Tensor:
        from ...nn.taef2 import encode
        return encode(to_tensor(padded).to(self.device))

    def indices_of(self, padded: np.ndarray) -> torch.Tensor:
        """1 x h/g x w/g codebook indices of a padded image."""
        return self.model.quantize(self.latent_of(padded))

    def render(self, indices: torch.Tensor, lq: np.ndarray | None, alpha: float, height: int,
               width: int) -> np.ndarray:
        """TAEF2 decoder of Y_q (lq None) or of the CFT-modulated Y_mod, cropped to height x width."""
        from ...nn.taef2 import decode
        return to_uint8(decode(self.code_latent(indices, lq, alpha)), height, width)

    def code_latent(self, indices: torch.Tensor, lq: np.ndarray | None, alpha: float, model=None) -> torch.Tensor:
        """Y_q, or Y_mod with x^LQ (`model`'s E^LQ + CFT; the codec's own unless given, e.g. a probe's
        checkpoint): what render decodes."""
        model = self.model if model is None else model
        y = model.lookup(indices.to(self.device))
        if lq is not None and alpha > 0:
            y = model.modulate(y, to_tensor(lq).to(self.device), alpha)
        return y

    def upsample_lq(self, lq: np.ndarray, height: int, width: int) -> np.ndarray:
        x = F.interpolate(to_tensor(lq), scale_factor=self.factor, mode="bicubic", align_corners=False)
        return to_uint8(x, height, width)

    def header(self) -> bytes:
        """quality, then the LQ codec and its quality in one varint (code x 64 + quality: one byte for VVC QPs)."""
        return encode_varint(self.quality) + encode_varint(LQ_CODECS.index(self.lq_codec) * 64 + self.lq_quality)

    def read_header(self, header: bytes, version: int = 2) -> tuple[str, int]:
        """(LQ codec, LQ quality); container v1 streams wrote them as two varints."""
        reader = Reader(header)
        reader.varint("quality")
        if version >= 2:
            code, quality = divmod(reader.varint("LQ codec and quality"), 64)
        else:
            code = reader.varint("LQ codec")
            quality = reader.varint("LQ quality")
        if code >= len(LQ_CODECS) or reader.pos != len(header):
            raise BitstreamError("codebook-svr: corrupted codec header")
        return LQ_CODECS[code], quality

    # -- image coding --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _encode(self, image: np.ndarray) -> Bitstream:
        h, w = image.shape[:2]
        if min(h, w) < self.multiple:
            raise InputError(f"codebook-svr needs images of at least {self.multiple}x{self.multiple}, got {w}x{h}")
        padded = pad_to(image, self.multiple)
        indices = self.indices_of(padded).numpy()
        index_bytes = encode_adaptive(indices.ravel(), self.model.index_probabilities())
        small = downsample(padded, self.factor)
        fidelity = lq_payload(self.lq_codec, self.lq_quality, small)
        return Bitstream(self.name, h, w, (Layer("indices", index_bytes), Layer("fidelity", fidelity)),
                         model_id=self.model_id, codec_header=self.header())

    def grid_shape(self, height: int, width: int) -> tuple[int, int]:
        return -(-height // self.multiple), -(-width // self.multiple)

    def decode_indices(self, payload: bytes, height: int, width: int) -> torch.Tensor:
        gh, gw = self.grid_shape(height, width)
        ranks = decode_adaptive(payload, gh * gw, self.model.index_probabilities())
        return torch.from_numpy(ranks.reshape(1, gh, gw))

    def decode_lq(self, payload: bytes, height: int, width: int, lq_codec: str, lq_quality: int) -> np.ndarray:
        gh, gw = self.grid_shape(height, width)
        m = self.multiple // self.factor
        return lq_image(lq_codec, lq_quality, payload, gh * m, gw * m)

    @torch.no_grad()
    def _decode(self, stream: Bitstream, layers: int, alpha: float | None = None,
                lq_only: bool | None = None, deflicker: float | None = None) -> np.ndarray:
        if deflicker is not None:
            raise InputError("codebook-svr: --deflicker filters video frames; this is an image stream")
        alpha = 1.0 if alpha is None else float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise InputError(f"codebook-svr: alpha must be in [0, 1], got {alpha:g}")
        lq_codec, lq_quality = self.read_header(stream.codec_header, stream.version)
        lq = None
        if layers >= 2 or lq_only:
            if layers < 2:
                raise InputError("--lq-only needs the fidelity layer (layer 2)")
            lq = self.decode_lq(stream.layers[1].payload, stream.height, stream.width, lq_codec, lq_quality)
            if lq_only:
                return self.upsample_lq(lq, stream.height, stream.width)
        indices = self.decode_indices(stream.layers[0].payload, stream.height, stream.width)
        return self.render(indices, lq, alpha, stream.height, stream.width)

    # -- video -----------------------------------------------------------------------------------------------------
    def encode_video(self, frames: list[np.ndarray], fps: float) -> Bitstream:
        from .video import encode_video
        return encode_video(self, frames, fps)

    def decode_video(self, stream: Bitstream | bytes, layers: int | None = None, alpha: float | None = None,
                     lq_only: bool | None = None, decoder: str | None = None,
                     deflicker: float | None = None) -> list[np.ndarray]:
        from .video import decode_video
        if isinstance(stream, (bytes, bytearray)):
            stream = Bitstream.parse(bytes(stream))
        with chosen_decoder(self, decoder):
            return decode_video(self, self.check_stream(stream), layers, alpha, lq_only, deflicker)

    @classmethod
    def video_info(cls, stream: Bitstream) -> dict:
        from .video import video_header
        return video_header(stream)
