"""Reading and validating input images: one place that decides what lamina accepts."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .bitstream import MAX_PIXELS  # noqa: F401  (64 MP: a bomb guard, far above any face or Kodak image)
from .errors import InputError
MIN_SIDE = 16


def check_array(image: np.ndarray) -> np.ndarray:
    """Validate an HxWx3 uint8 RGB array and return it contiguous."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"unsupported pixel type {image.dtype}: lamina codes 8-bit RGB images")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"unsupported image shape {image.shape}: lamina codes HxWx3 RGB images")
    h, w = image.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:
        raise InputError(f"image is {w}x{h}: both sides must be at least {MIN_SIDE} pixels")
    if h * w > MAX_PIXELS:
        raise InputError(f"image is {w}x{h} = {h * w} pixels, above the limit of {MAX_PIXELS}")
    return np.ascontiguousarray(image)


def to_tensor(images: np.ndarray):
    """HxWx3 or NxHxWx3 uint8 -> 1x3xHxW or Nx3xHxW float32 tensor in [0, 1]."""
    import torch
    images = np.ascontiguousarray(images)
    if not images.flags.writeable:  # torch wraps the buffer and warns about read-only arrays: copy those
        images = images.copy()
    x = torch.from_numpy(images)
    # (permute, then unsqueeze: the memory layout the metrics and networks have always received)
    x = x.permute(2, 0, 1).unsqueeze(0) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float() / 255.0


def to_uint8(x, height: int | None = None, width: int | None = None) -> np.ndarray:
    """1x3xHxW float tensor in about [0, 1] -> HxWx3 uint8 (clamped, rounded), cropped to height x width when given:
    the inverse of to_tensor, and how padded network outputs come back to the coded size."""
    height, width = height or x.shape[-2], width or x.shape[-1]
    return (x[0, :, :height, :width].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()


def pad_to(image: np.ndarray, multiple: int) -> np.ndarray:
    """HxWx3 edge-padded to multiples of `multiple` (unchanged when it already is)."""
    h, w = image.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else image


def downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """HxWx3 uint8 reduced `factor` x (bicubic, Pillow; sides rounded down)."""
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((w // factor, h // factor), Image.BICUBIC))


def to_array(image) -> np.ndarray:
    """Turn a PIL image, uint8 array or float tensor/array in [0, 1] (CHW or HWC) into HxWx3 uint8."""
    if isinstance(image, Image.Image):
        if image.mode in ("L", "1") or (image.mode == "P" and "transparency" not in image.info):
            image = image.convert("RGB")  # lossless, as load_image does
        if image.mode != "RGB":
            raise InputError(f"unsupported image mode {image.mode!r}: convert to RGB first")
        return check_array(np.asarray(image))
    if hasattr(image, "detach"):  # torch tensor
        image = image.detach().cpu().numpy()
    if isinstance(image, np.ndarray) and image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.floating):
            raise InputError(f"unsupported pixel type {image.dtype}")
        if image.ndim == 4 and image.shape[0] == 1:
            image = image[0]
        if image.ndim == 3 and image.shape[0] == 3 and image.shape[2] != 3:
            image = image.transpose(1, 2, 0)
        image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    return check_array(image)


def _is_16_bit(img: Image.Image) -> bool:
    """Whether a file holds more than 8 bits per sample. Pillow opens a 16-bit RGB PNG as mode 'RGB' (already
    reduced to 8 bits), so the raw mode of its tiles ('RGB;16B') is checked too."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return True
    return any(";16" in str(tile.args) for tile in (getattr(img, "tile", None) or []))


def load_image(path: str | os.PathLike, notices: list[str] | None = None) -> np.ndarray:
    """Read an image file as 8-bit RGB (HxWx3 uint8). The policy, one place for every path:

    - 8-bit RGB: as is;
    - conversions that lose nothing are made, with a notice appended to `notices` (the CLI prints them):
      greyscale and bilevel (coded as R = G = B), palette, and an alpha channel that is fully opaque (dropped);
    - what cannot be coded faithfully is refused with a hint: 16-bit images (the extra precision would be lost),
      transparent pixels (no background to put them on), CMYK and other colour spaces."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"is a directory, not an image: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"empty file: {path}")
    notices = [] if notices is None else notices
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise InputError(f"image is {w}x{h} = {w * h} pixels, above the limit of {MAX_PIXELS}")
            if _is_16_bit(img):
                raise InputError(f"{path} is a 16-bit image: lamina codes 8-bit RGB and would lose the extra "
                                 f"precision; convert it to 8 bits first (e.g. `magick IN -depth 8 OUT.png`)")
            img.load()
            if img.mode == "RGB":
                return check_array(np.asarray(img))
            if img.mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
                notices.append(f"{path.name}: palette image converted to RGB")
            if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
                alpha = np.asarray(img.getchannel("A"))
                if alpha.min() < 255:
                    raise InputError(f"{path} has transparent pixels: lamina codes RGB; flatten it onto a "
                                     f"background first (e.g. `magick IN -background white -flatten OUT.png`)")
                notices.append(f"{path.name}: fully opaque alpha channel dropped")
                img = img.convert("RGB" if img.mode.startswith("RGB") else "L")
            if img.mode in ("L", "1"):
                notices.append(f"{path.name}: {'greyscale' if img.mode == 'L' else 'bilevel'} image coded as RGB "
                               f"(R = G = B)")
                img = img.convert("RGB")
            if img.mode != "RGB":
                raise InputError(f"unsupported image mode {img.mode!r} in {path}: lamina reads 8-bit RGB, grey or "
                                 f"opaque RGBA; convert it to RGB first (e.g. `magick IN -colorspace sRGB OUT.png`)")
            return check_array(np.asarray(img))
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InputError(f"not a readable image: {path}") from exc
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write an HxWx3 uint8 image atomically (no half-written file is left on failure)."""
    path = Path(path)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".ppm": "PPM", ".tif": "TIFF",
           ".tiff": "TIFF"}.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot write {path}: use .png, .ppm, .bmp, .tif (lossless) or .jpg")
    options = {"quality": 95} if fmt == "JPEG" else {}
    write_atomic(path, lambda handle: Image.fromarray(image).save(handle, format=fmt, **options))


def write_atomic(path: str | os.PathLike, writer) -> None:
    """Call writer(file handle) on a temporary file next to path, then rename it into place."""
    path = Path(path)
    if not path.parent.exists():
        raise InputError(f"output folder does not exist: {path.parent}")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            if isinstance(writer, (bytes, bytearray)):
                handle.write(writer)
            else:
                writer(handle)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def labelled_grid(rows: list[list[tuple[str, np.ndarray]]], path: str | os.PathLike, height: int | None = None,
                  caption: int = 16) -> None:
    """A contact sheet: one row of tiles per list, each (label, HxWx3 uint8) tile with its label above it, every
    tile scaled to `height` pixels high (default: the first tile's height), aspect kept; written atomically."""
    from PIL import Image, ImageDraw
    first = rows[0][0][1]
    height = height or first.shape[0]
    width = max(1, round(first.shape[1] * height / first.shape[0]))
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (columns * width, len(rows) * (height + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, row in enumerate(rows):
        for j, (label, image) in enumerate(row):
            tile = Image.fromarray(np.ascontiguousarray(image))
            if tile.size != (width, height):
                tile = tile.resize((width, height), Image.BILINEAR)
            sheet.paste(tile, (j * width, i * (height + caption) + caption))
            draw.text((j * width + 3, i * (height + caption) + 2), label, fill="black")
    write_atomic(path, lambda handle: sheet.save(handle, format="PNG"))
