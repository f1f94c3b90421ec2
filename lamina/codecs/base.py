"""The codec interface every lamina codec implements (classic and learned alike)."""
from __future__ import annotations

import functools
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..bitstream import KIND_IMAGE, ZERO_MODEL_ID, Bitstream, decode_varint_exact, encode_varint
from ..errors import BitstreamError, InputError
from ..imageio import to_array
from ..options import Option  # noqa: F401  (codecs declare their encode options with it)

# Optional capabilities a codec declares in `capabilities` (the CLI asks for them, never for names):
VIDEO = "video"        # encode_video(frames, fps, **options) / decode_video(stream, layers) / video_info(stream)
SWAP = "swap"          # swap(a, b) -> Bitstream: layers of two streams combined without decoding pixels
FEATURE = "feature"    # decode_feature(stream) -> np.ndarray: the first layer as a feature vector


def register(cls):
    """Class decorator: make `lamina.load(cls.name, ...)` build cls (when cls.available())."""
    from ..bitstream import LAYER_NAMES
    from ..registry import add
    add(cls.name, cls)
    LAYER_NAMES.setdefault(cls.name, tuple(spec.name for spec in cls.layers))
    return cls


THREADS_ENV = "LAMINA_THREADS"


def codec_threads() -> int:
    """Torch threads every codec operation runs with: $LAMINA_THREADS, default 1. Float convolutions sum in an
    order that depends on the thread count (oneDNN splits work by threads), so one fixed count makes streams and
    decoded images independent of the caller's torch setting: bit-exact on a given machine."""
    value = os.environ.get(THREADS_ENV, "1")
    if not value.isdigit() or not 1 <= int(value) <= 1024:
        raise InputError(f"{THREADS_ENV} must be a whole number 1..1024, got {value!r}")
    return int(value)


_threads_lock = threading.Lock()
_threads_users = 0          # codec calls inside fixed_threads() now, in any Python thread
_threads_before: int = 1    # the count the first of them found (restored when the last one leaves)


@contextmanager
def fixed_threads():
    """Run the block with codec_threads() torch threads and restore the caller's count after (a no-op when torch
    was never imported: classic codecs). The count is process-wide, so concurrent and nested codec calls share
    one setting: the first to enter sets it, the last to leave restores it."""
    global _threads_users, _threads_before
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    wanted = codec_threads()
    with _threads_lock:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0 and torch.get_num_threads() != _threads_before:
                torch.set_num_threads(_threads_before)


def _with_fixed_threads(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with fixed_threads():
            return method(*args, **kwargs)
    wrapper.fixed_threads = True
    return wrapper


# The generative codecs' decode option: which TAEF2 decoder renders (lamina.nn.taef2.DECODERS; a decode-time
# choice that changes no coded byte and is never used by an encoder).
DECODER_OPTION = Option("--decoder", "decoder", choices=("reference", "int8", "lite", "lite-int8"),
                        help="generative codecs: the TAEF2 decoder that renders: reference (default), or faster "
                             "with other pixels: int8, lite (distilled), lite-int8 (docs/results/speed/)")


@contextmanager
def chosen_decoder(codec, decoder: str | None):
    """Run a decode with `decoder` (DECODER_OPTION) when the codec offers it; an error when it does not."""
    if decoder is not None and DECODER_OPTION not in codec.decode_options:
        raise InputError(f"{codec.name} has no --decoder choice (it does not render with TAEF2)")
    from ..nn.taef2 import decoding_with
    with decoding_with(decoder):
        yield


# Codec methods that run networks: each runs under fixed_threads() (wrapped in every subclass that defines them).
NETWORK_METHODS = ("encode", "decode", "encode_video", "decode_video", "swap", "decode_feature")


@dataclass(frozen=True)
class LayerSpec:
    """A layer's name and the tasks it is meant to serve."""

    name: str
    serves: tuple[str, ...]


class Codec:
    """Base class: subclasses set `name`, `layers` and implement `_encode` / `_decode`."""

    name: ClassVar[str]
    layers: tuple[LayerSpec, ...]
    model_id: bytes = ZERO_MODEL_ID
    capabilities: ClassVar[frozenset[str]] = frozenset()
    encode_options: ClassVar[tuple[Option, ...]] = ()   # extra `lamina encode` options (constructor keywords)
    decode_options: ClassVar[tuple[Option, ...]] = ()   # extra `lamina decode` options (decode() keywords)
    accepts_device: ClassVar[bool] = False              # learned codecs: the constructor takes device=
    higher_is_better: ClassVar[bool] = True
    learned: ClassVar[bool] = False
    # Learned codecs: what their decoded images look like today, in one plain line (lamina bench reports print
    # it beside the encoder, so a reader of the numbers knows what the pictures are).
    status: ClassVar[str | None] = None
    # The module that registers this codec's lamina.train.trainable.Trainable (imported only by `lamina train`,
    # so the runtime never imports training code), or None.
    training_module: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        """Every network-running method a codec defines runs with a fixed torch thread count (fixed_threads), so
        its output does not depend on the caller's."""
        super().__init_subclass__(**kwargs)
        for name in NETWORK_METHODS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "fixed_threads", False):
                setattr(cls, name, _with_fixed_threads(method))

    @classmethod
    def available(cls) -> bool:
        """Whether the codec can be loaded here (learned codecs: trained weights are committed)."""
        return True

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> "Codec":
        """The codec (and, for learned codecs, the weights) that decodes this stream."""
        return cls(device=device) if cls.accepts_device else cls()

    @classmethod
    def describe_qualities(cls) -> str:
        """One line for `lamina codecs`: the quality knob's range or the committed qualities."""
        return "qualities " + ",".join(str(q) for q in cls.bench_grid())

    @classmethod
    def default_setting(cls):
        """The quality used when none is given (`lamina encode` without --quality)."""
        return getattr(cls, "default_quality", None)

    @classmethod
    def video_info(cls, stream: Bitstream) -> dict:
        """VIDEO codecs: {'frames': int, 'fps': float, ...the codec's video settings} from a video stream's codec
        header (BitstreamError when it is corrupted)."""
        raise BitstreamError(f"{cls.name} has no video mode")

    @classmethod
    def video_fps(cls, stream: Bitstream) -> float:
        return cls.video_info(stream)["fps"]

    def setting(self) -> str:
        """The setting this codec codes at, as `lamina encode` prints it (q=QUALITY; a rate-controlled codec
        says its target instead)."""
        return f"q={getattr(self, 'quality', None)}"

    def encode_note(self) -> str | None:
        """A line `lamina encode` prints after the last encode, e.g. a rate control's achieved vs requested rate
        (None: nothing to add)."""
        return None

    def supports(self, capability: str) -> bool:
        """Whether this codec declares an optional capability (VIDEO, SWAP, FEATURE)."""
        return capability in self.capabilities

    @classmethod
    def bench_grid(cls) -> tuple:
        """Settings `lamina bench` sweeps by default, lowest rate first."""
        return tuple(getattr(cls, "bench_qualities", (None,)))

    @classmethod
    def lowest_setting(cls):
        """The setting that gives the smallest stream (the demo's choice)."""
        return cls.bench_grid()[0]

    @_with_fixed_threads
    def encode(self, image) -> Bitstream:
        """Code an image (PIL RGB, HxWx3 uint8, or float tensor in [0, 1]) into a Bitstream."""
        return self._encode(to_array(image))

    @_with_fixed_threads
    def decode(self, stream: Bitstream | bytes, layers: int | None = None, **options) -> np.ndarray:
        """Decode the first `layers` layers (all held layers when None) to an HxWx3 uint8 image; `options` are the
        codec's decode_options (keywords of its _decode)."""
        stream = self.check_stream(stream)
        if stream.kind != KIND_IMAGE:
            raise BitstreamError("this is a video stream: decode it with `lamina decode ... -o out.mp4`")
        k = stream.available_layers if layers is None else layers
        if not 1 <= k <= stream.available_layers:
            raise BitstreamError(f"cannot decode {k} layers: stream holds {stream.available_layers} "
                                 f"of {len(stream.declared_layers)}")
        # Every consumer (dlib, OpenCV, PIL) may need a C-contiguous array: guarantee it here, once.
        with chosen_decoder(self, options.pop("decoder", None)):
            image = np.ascontiguousarray(self._decode(stream, k, **options))
        if image.shape != (stream.height, stream.width, 3):
            raise BitstreamError(f"decoded image is {image.shape[1]}x{image.shape[0]} but the header says "
                                 f"{stream.width}x{stream.height}: stream is corrupted")
        return image

    def encode_many(self, images, batch: int = 8) -> list[Bitstream]:
        """encode() of every image, `batch` images at a time in worker threads (lamina.batching): on a GPU the
        TAEF2 encoder runs once per group of same-sized images; on the CPU the encodes run side by side. The same
        streams as one encode() per image on the CPU."""
        from ..batching import run_batched
        return run_batched(self.encode, images, batch)

    def decode_many(self, streams, layers: int | None = None, batch: int = 8, group: bool | None = None,
                    **options) -> list[np.ndarray]:
        """decode() of every stream, `batch` streams at a time in worker threads (lamina.batching): the TAEF2
        decoder runs once per group of same-sized latents on a GPU (`group=True`: on the CPU too, with the same
        pixels as one decode() per stream, tests/test_batching.py); otherwise the decodes run side by side."""
        from ..batching import run_batched
        return run_batched(lambda stream: self.decode(stream, layers, **options), streams, batch, group)

    def check_stream(self, stream: Bitstream | bytes) -> Bitstream:
        """Parse if needed and verify the stream belongs to this codec and model."""
        if isinstance(stream, (bytes, bytearray, memoryview)):
            stream = Bitstream.parse(bytes(stream))
        if stream.codec != self.name:
            raise BitstreamError(f"stream was coded by {stream.codec!r}, not {self.name!r}")
        if not stream.matches_model(self.model_id):
            raise BitstreamError(f"model id mismatch: stream needs {stream.model_id.hex()}, "
                                 f"loaded model is {self.model_id.hex()}")
        expected = tuple(spec.name for spec in self.layers)
        if stream.version >= 2:  # v2 streams carry only the layer count: the names are this codec's spec
            if len(stream.declared_layers) > len(expected):
                raise BitstreamError(f"stream declares {len(stream.declared_layers)} layers, {self.name} has "
                                     f"{len(expected)}")
            stream = stream.named(expected)
        if stream.declared_layers != expected[:len(stream.declared_layers)]:
            raise BitstreamError(f"layer names {stream.declared_layers} do not match {self.name}'s {expected}")
        return stream

    def _encode(self, image: np.ndarray) -> Bitstream:
        raise NotImplementedError

    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        raise NotImplementedError


class SingleLayerCodec(Codec):
    """A codec with one quality knob and one layer: the shape of every classic codec."""

    layers = (LayerSpec("image", ("human",)),)
    quality_range: ClassVar[tuple[int, int]]
    higher_is_better: ClassVar[bool] = True
    default_quality: ClassVar[int]
    # A quality grid used by the benchmark, lowest setting first.
    bench_qualities: ClassVar[tuple[int, ...]]

    def __init__(self, quality: int | None = None):
        quality = self.default_quality if quality is None else int(quality)
        low, high = self.quality_range
        if not low <= quality <= high:
            raise InputError(f"{self.name}: quality {quality} outside its range {low}..{high}")
        self.quality = quality

    @classmethod
    def lowest_setting(cls) -> int:
        """The end of the quality range that gives the smallest stream."""
        return cls.quality_range[0] if cls.higher_is_better else cls.quality_range[1]

    @classmethod
    def describe_qualities(cls) -> str:
        return "quality {}..{}".format(*cls.quality_range)

    @property
    def lowest_quality(self) -> int:
        """The setting that gives the smallest stream."""
        return self.lowest_setting()

    def _encode(self, image: np.ndarray) -> Bitstream:
        payload = self.compress(image)
        h, w = image.shape[:2]
        return Bitstream(codec=self.name, height=h, width=w, layers=(self._layer(payload),),
                         model_id=self.model_id, codec_header=encode_varint(self.quality))

    def _layer(self, payload: bytes):
        from ..bitstream import Layer
        return Layer(self.layers[0].name, payload)

    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        quality = decode_varint_exact(stream.codec_header, "codec header (quality)")
        low, high = self.quality_range
        if not low <= quality <= high:
            raise BitstreamError(f"{self.name}: codec header quality {quality} outside {low}..{high}")
        return self.decompress(stream.layers[0].payload, stream.height, stream.width)

    def compress(self, image: np.ndarray) -> bytes:
        """Native codec bytes for one image."""
        raise NotImplementedError

    def decompress(self, payload: bytes, height: int, width: int) -> np.ndarray:
        """Inverse of compress; raises BitstreamError on bad payloads."""
        raise NotImplementedError

    @classmethod
    def target_bpp(cls, image, bpp: float) -> tuple[int, float]:
        """The quality whose whole-file bpp is closest to `bpp` for this image, and that bpp."""
        image = to_array(image)
        low, high = cls.quality_range
        cache: dict[int, float] = {}

        def rate(q: int) -> float:
            if q not in cache:
                cache[q] = cls(quality=q).encode(image).bpp()
            return cache[q]

        # bpp is monotone in quality up to encoder noise: bisect, then check the neighbours.
        lo, hi = low, high
        while hi - lo > 1:
            mid = (lo + hi) // 2
            increasing = rate(mid) < bpp if cls.higher_is_better else rate(mid) > bpp
            if increasing:
                lo = mid
            else:
                hi = mid
        best = min({lo, hi}, key=lambda q: (abs(rate(q) - bpp), q))
        return best, rate(best)


class ZooCodec(Codec):
    """A learned codec whose weights are the committed `lamina/zoo/ZOO_NAME-qQ.pt` files and whose codec header
    starts with varint quality: availability, the bench grid and the stream -> weights lookup come from the zoo."""

    accepts_device = True
    learned = True

    @classmethod
    def zoo_name(cls) -> str:
        """The weights files' name (the codec's name unless a subclass shares files under another)."""
        return cls.name

    @classmethod
    def available(cls) -> bool:
        from .. import zoo
        return bool(zoo.qualities(cls.zoo_name()))

    @classmethod
    def bench_grid(cls) -> tuple:
        from .. import zoo
        return tuple(zoo.qualities(cls.zoo_name()))

    @classmethod
    def default_setting(cls):
        """The highest committed quality (zoo.find's choice when none is given)."""
        grid = cls.bench_grid()
        return grid[-1] if grid else None

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> "ZooCodec":
        """The committed model of the header's quality, if its id is the stream's (else any committed model
        with that id; BitstreamError when none matches)."""
        from .. import zoo
        from ..bitstream import Reader
        quality = Reader(stream.codec_header).varint("quality")
        return cls(quality=zoo.find_for_stream(cls.zoo_name(), quality, stream.model_id), device=device)


def model_output_to_image(x, height: int, width: int, then=None) -> np.ndarray:
    """A generator's 1 x 3 x h x w output in about [-1, 1] as a height x width uint8 image (antialiased
    bilinear resize, `then` (a function of the resized tensor, e.g. the face codecs' geometry warp), clamped,
    rounded)."""
    import torch.nn.functional as F
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    if then is not None:
        x = then(x)
    return ((x[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
