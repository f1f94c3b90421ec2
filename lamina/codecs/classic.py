"""Classic image codecs wrapped as single-layer lamina codecs.

Each codec's `quality` is its own native knob (documented per class, with its direction); the
container stores it in the codec header. Encoders and versions are listed by `encoder_versions()`.
"""
from __future__ import annotations

import io
import subprocess

import numpy as np
from PIL import Image

from ..errors import BitstreamError
from ..ffmpeg import decode_in_process, ffmpeg_exe, run_ffmpeg
from .base import SingleLayerCodec, register


def _pil_decode(payload: bytes, expected_format: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(payload)) as img:
            if img.format != expected_format:
                raise BitstreamError(f"payload is {img.format}, expected {expected_format}")
            return np.asarray(img.convert("RGB"))
    except BitstreamError:
        raise
    except Exception as exc:  # any decoder failure on corrupted bytes is a stream error
        raise BitstreamError(f"{expected_format} payload cannot be decoded: {exc}") from exc


def _pil_encode(image: np.ndarray, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt, **options)
    return buf.getvalue()


class JPEG(SingleLayerCodec):
    """Baseline JPEG (libjpeg-turbo through Pillow), 4:2:0; quality 1..95, higher is better."""

    name = "jpeg"
    quality_range = (1, 95)
    default_quality = 75
    bench_qualities = (1, 5, 10, 25, 50)

    def compress(self, image):
        return _pil_encode(image, "JPEG", quality=self.quality, optimize=True)

    def decompress(self, payload, height, width):
        return _pil_decode(payload, "JPEG")


class JPEG2000(SingleLayerCodec):
    """JPEG 2000 (OpenJPEG through Pillow), 9/7 wavelet; quality = compression ratio, lower is better."""

    name = "jpeg2000"
    quality_range = (4, 1000)
    higher_is_better = False
    default_quality = 16
    bench_qualities = (1000, 300, 120, 50, 20)

    def compress(self, image):
        return _pil_encode(image, "JPEG2000", quality_mode="rates", quality_layers=[self.quality],
                           irreversible=True, no_jp2=True)

    def decompress(self, payload, height, width):
        return _pil_decode(payload, "JPEG2000")


class WebP(SingleLayerCodec):
    """Lossy WebP (libwebp through Pillow), method 6; quality 0..100, higher is better."""

    name = "webp"
    quality_range = (0, 100)
    default_quality = 75
    bench_qualities = (0, 5, 20, 40, 70)

    def compress(self, image):
        return _pil_encode(image, "WEBP", quality=self.quality, method=6, lossless=False)

    def decompress(self, payload, height, width):
        return _pil_decode(payload, "WEBP")


class AVIF(SingleLayerCodec):
    """AVIF, AV1 intra (libavif/libaom through Pillow), 4:2:0, speed 6; quality 0..100, higher is better."""

    name = "avif"
    quality_range = (0, 100)
    default_quality = 50
    bench_qualities = (0, 15, 30, 50, 70)
    speed = 6  # speed 0 is ~35x slower for ~2% fewer bytes at q=0 on a 200x200 face

    def compress(self, image):
        return _pil_encode(image, "AVIF", quality=self.quality, speed=self.speed, subsampling="4:2:0")

    def decompress(self, payload, height, width):
        return _pil_decode(payload, "AVIF")


class HEIC(SingleLayerCodec):
    """HEIC, HEVC intra (x265 through libheif / pillow-heif), 4:2:0; quality 0..100, higher is better."""

    name = "heic"
    quality_range = (0, 100)
    default_quality = 50
    bench_qualities = (0, 15, 30, 50, 70)

    def __init__(self, quality=None):
        import pillow_heif
        pillow_heif.register_heif_opener()
        super().__init__(quality)

    def compress(self, image):
        return _pil_encode(image, "HEIF", quality=self.quality, chroma=420)

    def decompress(self, payload, height, width):
        return _pil_decode(payload, "HEIF")


class JPEGXL(SingleLayerCodec):
    """JPEG XL (libjxl through imagecodecs), effort 9; quality 0..100 (libjxl's scale), higher is better."""

    name = "jpegxl"
    quality_range = (0, 100)
    default_quality = 75
    bench_qualities = (0, 15, 35, 60, 85)

    def compress(self, image):
        import imagecodecs
        return bytes(imagecodecs.jpegxl_encode(image, level=self.quality, effort=9))

    def decompress(self, payload, height, width):
        import imagecodecs
        try:
            image = imagecodecs.jpegxl_decode(payload)
        except Exception as exc:
            raise BitstreamError(f"JPEG XL payload cannot be decoded: {exc}") from exc
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise BitstreamError(f"JPEG XL payload decodes to {image.shape} {image.dtype}, not RGB")
        return image


class FFmpegIntraCodec(SingleLayerCodec):
    """A video encoder run on one frame (intra only) through the bundled ffmpeg, 4:2:0, BT.601."""

    higher_is_better = False
    container_format: str  # ffmpeg's raw elementary-stream muxer/demuxer
    decoder: str           # ffmpeg decoder, named so the choice never depends on ffmpeg's defaults

    def encoder_args(self) -> list[str]:
        raise NotImplementedError

    def compress(self, image):
        h, w = image.shape[:2]
        # 4:2:0 needs even sides: replicate the last row/column, crop after decoding.
        padded = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        ph, pw = padded.shape[:2]
        args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{pw}x{ph}", "-i", "pipe:", "-frames:v", "1",
                "-pix_fmt", "yuv420p"] + self.encoder_args() + ["-f", self.container_format, "pipe:"]
        payload = run_ffmpeg(args, padded.tobytes(), f"{self.name} encoder")
        if not payload:
            raise RuntimeError(f"{self.name} encoder wrote no bytes")
        return payload

    def decompress(self, payload, height, width):
        """Decoded in this process (PyAV's libavcodec; `decompress_with_process` is the ffmpeg binary's reference)."""
        ph, pw = height + height % 2, width + width % 2
        frames = decode_in_process(payload, self.decoder, f"{self.name} decoder")
        if not frames or frames[0].shape != (ph, pw, 3):
            got = f"{frames[0].shape[1]}x{frames[0].shape[0]}" if frames else "no frame"
            raise BitstreamError(f"{self.name} payload decodes to {got}, expected {pw}x{ph}")
        return frames[0][:height, :width].copy()

    def decompress_with_process(self, payload, height, width):
        """The same decode through the ffmpeg binary (one process per image): the reference path."""
        ph, pw = height + height % 2, width + width % 2
        args = ["-f", self.container_format, "-c:v", self.decoder, "-i", "pipe:", "-frames:v", "1", "-f", "rawvideo",
                "-pix_fmt", "rgb24", "pipe:"]
        raw = run_ffmpeg(args, payload, f"{self.name} decoder")
        if len(raw) != ph * pw * 3:
            raise BitstreamError(f"{self.name} payload decodes to {len(raw)} bytes, expected {ph}x{pw}x3")
        return np.frombuffer(raw, np.uint8).reshape(ph, pw, 3)[:height, :width].copy()


class VVC(FFmpegIntraCodec):
    """VVC intra (VVenC, medium preset); quality = QP 0..63, lower is better."""

    name = "vvc"
    quality_range = (0, 63)
    default_quality = 37
    bench_qualities = (63, 55, 47, 39, 31)
    container_format = "vvc"
    decoder = "vvc"

    def encoder_args(self):
        return ["-c:v", "libvvenc", "-qp", str(self.quality), "-preset", "medium"]


class HEVC(FFmpegIntraCodec):
    """HEVC intra (x265, its SEI option string removed with info=0); quality = QP 0..51, lower is better."""

    name = "hevc"
    quality_range = (0, 51)
    default_quality = 32
    bench_qualities = (51, 45, 39, 33, 27)
    container_format = "hevc"
    decoder = "hevc"

    def encoder_args(self):
        return ["-c:v", "libx265", "-x265-params", f"qp={self.quality}:info=0:log-level=error"]


class AV1(FFmpegIntraCodec):
    """AV1 intra still picture (libaom, cpu-used 4); quality = CRF 0..63, lower is better."""

    name = "av1"
    quality_range = (0, 63)
    default_quality = 35
    bench_qualities = (63, 55, 47, 38, 28)
    container_format = "obu"
    decoder = "libdav1d"

    def encoder_args(self):
        return ["-c:v", "libaom-av1", "-crf", str(self.quality), "-b:v", "0", "-still-picture", "1",
                "-cpu-used", "4"]


CLASSIC_CODECS = tuple(register(cls) for cls in (JPEG, JPEG2000, WebP, AVIF, HEIC, JPEGXL, VVC, HEVC, AV1))


def encoder_versions() -> dict[str, str]:
    """Which library/binary and version produces each classic codec's bytes."""
    import imagecodecs
    import PIL
    import pillow_heif
    from PIL import features
    ff = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True).stdout
    ff_version = ff.split("\n")[0].replace("ffmpeg version ", "").split(" Copyright")[0]
    heif = pillow_heif.libheif_info()
    import av
    dec = f"PyAV {av.__version__}, libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))}"
    return {
        "jpeg": f"Pillow {PIL.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}",
        "jpeg2000": f"Pillow {PIL.__version__}, OpenJPEG {features.version('jpg_2000')}",
        "webp": f"Pillow {PIL.__version__}, libwebp {features.version('webp')}",
        "avif": f"Pillow {PIL.__version__}, libavif {features.version('avif')}",
        "heic": f"pillow-heif {pillow_heif.__version__}, libheif {heif['libheif']}, {heif['HEIF']}",
        "jpegxl": f"imagecodecs {imagecodecs.__version__}, {imagecodecs.jpegxl_version()}",
        "vvc": f"ffmpeg {ff_version} (imageio-ffmpeg), libvvenc; decoder: {dec}, native vvc",
        "hevc": f"ffmpeg {ff_version} (imageio-ffmpeg), libx265; decoder: {dec}, native hevc",
        "av1": f"ffmpeg {ff_version} (imageio-ffmpeg), libaom-av1; decoder: {dec}, libdav1d",
    }
