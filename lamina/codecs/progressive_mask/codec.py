"""progressive-mask: mask-based progressive generative coding for classification and reconstruction
(seed 001, RMPGC).

Encoding (image edge-padded to a multiple of 16): frozen TAEF2 encoder -> analysis head -> z (8 x h/8 x w/8)
-> nearest of {-2..2}. Importance map I (eq. 12) from the Grad-CAM++ map of EfficientNet-Lite0 (SIM, resized to
the latent grid; Otsu threshold B) and the channel variance of z (LCM); mask M = the S highest positions of I.

Layers (each a prefix of the stream; all symbols block-adaptive arithmetic coded, lamina.entropy.adaptive):
1. `base`: channels 1-2 at every position;
2. `mask`: M (binary) and channels 3-8 where M = 1;
3. `rest`: channels 3-8 where M = 0 (the full latent);
4. `residual-coarse`: the TAEF2-latent residual left by the full latent, 2x2-averaged, quantised (step 1.5);
5. `residual-fine`: what remains, at latent resolution (step 1.0).
Decoding k layers: the synthesis head reads the masked latent and its condition U (0 for base only, M, 1 for the
full latent) and predicts a TAEF2 latent; residual layers are added to it; the frozen TAEF2 decoder renders.

Rate: quality q sets S = round(P·MASK_FRACTIONS[q]) and the stream keeps all five layers; `--bpp r` sets S by
the paper's rate control (S ≈ ⌊P·(r − bits_base)/bits_enh⌋, then the largest S whose stream fits r) and the
stream ends after the layer that meets r. Codec header: varint quality (0 with --bpp), varint mask policy.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ... import zoo
from ...bitstream import Bitstream, Layer, Reader, encode_varint
from ...entropy import adaptive
from ...errors import BitstreamError, InputError
from ...imageio import pad_to, to_tensor, to_uint8
from ..base import DECODER_OPTION, LayerSpec, Option, ZooCodec, register
from .model import BASE, CHANNELS, CODEC, LEVELS, channel_variance, importance, load_model, quantize, \
    resize_map, top_mask

MULTIPLE = 16
MASK_FRACTIONS = {1: 0.0, 2: 0.1, 3: 0.25, 4: 0.5, 5: 0.75, 6: 1.0}  # quality -> S / P
POLICIES = ("blend", "lcm", "sim")
LAYER_NAMES = ("base", "mask", "rest", "residual-coarse", "residual-fine")


@lru_cache(maxsize=4)
def _cached(path: str):
    return load_model(Path(path))


def _weights() -> Path:
    return zoo.path(CODEC, 1)


@register
class ProgressiveMask(ZooCodec):
    """One network (`lamina/zoo/progressive-mask-q1.pt`); qualities 1-6 are mask sizes (S/P 0, 0.1, 0.25, 0.5,
    0.75, 1), not separate models."""

    name = CODEC
    status = ("CPU-trained: plausible, classifiable images with generated texture; the base layers alone "
              "show the scene with smeared small detail and a faint grid; residual layers restore detail")
    layers = (LayerSpec("base", ("machine-classification",)), LayerSpec("mask", ("machine-classification",)),
              LayerSpec("rest", ("human-generative",)), LayerSpec("residual-coarse", ("human",)),
              LayerSpec("residual-fine", ("human",)))
    higher_is_better = True
    training_module = "lamina.codecs.progressive_mask.task"
    encode_options = (
        Option("--bpp", "bpp", type=float,
               help="progressive-mask: target rate in bits per pixel (mask size by rate control; the stream "
                    "ends at the layer that meets it)"),
        Option("--mask-policy", "mask_policy", choices=POLICIES,
               help="progressive-mask: importance map: blend (SIM + LCM, default), lcm (VRGC), sim"),
    )
    decode_options = (DECODER_OPTION,)

    @classmethod
    def available(cls) -> bool:
        return _weights().exists()

    @classmethod
    def bench_grid(cls) -> tuple:
        return tuple(MASK_FRACTIONS) if cls.available() else ()

    @classmethod
    def default_setting(cls):
        return 4 if cls.available() else None

    @classmethod
    def describe_qualities(cls) -> str:
        return "qualities 1-6 (mask size S/P 0, 0.1, 0.25, 0.5, 0.75, 1; one network), or --bpp"

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> "ProgressiveMask":
        codec = cls(quality=max(1, Reader(stream.codec_header).varint("quality")), device=device)
        if not stream.matches_model(codec.model_id):
            raise BitstreamError("progressive-mask: the stream was written by other weights than the committed "
                                 "model (model id differs)")
        return codec

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None,
                 bpp: float | None = None, mask_policy: str | None = None):
        quality = 4 if quality is None else int(quality)
        if quality not in MASK_FRACTIONS:
            raise InputError(f"progressive-mask: quality must be one of 1-6, got {quality}")
        self.quality, self.device = quality, device
        self.weights = Path(weights) if weights else _weights()
        if not self.weights.exists():
            raise InputError(f"progressive-mask: weights {self.weights} not found")
        self.model, self.model_id = _cached(str(self.weights))
        if self.model.space != "taef2":
            raise InputError("progressive-mask: only TAEF2-space networks are supported by the codec")
        if bpp is not None and not (bpp > 0):
            raise InputError(f"progressive-mask: --bpp must be positive, got {bpp:g}")
        self.bpp = bpp
        self.policy = mask_policy or "blend"
        if self.policy not in POLICIES:
            raise InputError(f"progressive-mask: mask policy must be one of {', '.join(POLICIES)}")
        self.steps = tuple(float(s) for s in self.model.config["residual_steps"])
        self.clip = int(self.model.config["residual_clip"])
        self.last_rate_control: dict | None = None

    # -- analysis ------------------------------------------------------------------------------------------------
    def analyse(self, image: np.ndarray) -> dict:
        """Everything the layers are made of: quantised latent symbols, SIM, LCM, importance map, TAEF2 latent."""
        from ...nn.taef2 import encode
        from ...vision.classify import gradcam_pp
        padded = pad_to(image, MULTIPLE)
        t = encode(to_tensor(padded))
        z = self.model.encode_latent(t)
        zq = quantize(z)
        h, w = zq.shape[2:]
        sim = None
        if self.policy != "lcm":
            cam, _ = gradcam_pp(padded)
            sim = np.clip(resize_map(cam, h, w), 0, 1)
        lcm = channel_variance(z)[0].numpy()
        return {"t": t, "zq": zq, "sim": sim, "lcm": lcm, "importance": importance(sim, lcm, self.policy)}

    # -- layers --------------------------------------------------------------------------------------------------
    @staticmethod
    def _symbols(zq: torch.Tensor) -> np.ndarray:
        return (zq[0].numpy() - LEVELS[0]).astype(np.int64)  # C x h x w in 0..4

    @staticmethod
    def base_layer(sym: np.ndarray) -> bytes:
        return adaptive.encode([(sym[c].ravel(), 5) for c in range(BASE)])

    @staticmethod
    def mask_layer(sym: np.ndarray, mask: np.ndarray) -> bytes:
        m = mask.ravel()
        return adaptive.encode([(m.astype(np.int64), 2)] + [(sym[c].ravel()[m], 5) for c in range(BASE, CHANNELS)])

    def latent_layers(self, sym: np.ndarray, mask: np.ndarray) -> tuple[bytes, bytes, bytes]:
        m = mask.ravel()
        rest = adaptive.encode([(sym[c].ravel()[~m], 5) for c in range(BASE, CHANNELS)])
        return self.base_layer(sym), self.mask_layer(sym, mask), rest

    def residual_layers(self, t: torch.Tensor, zq: torch.Tensor) -> tuple[bytes, bytes]:
        full = torch.ones_like(zq[:, :1])
        pred = self.model.decode_latent(zq, full)
        r = t - pred
        coarse = (F.avg_pool2d(r, 2) / self.steps[0]).round().clamp(-self.clip, self.clip)
        r = r - F.interpolate(coarse * self.steps[0], scale_factor=2, mode="nearest")
        fine = (r / self.steps[1]).round().clamp(-self.clip, self.clip)
        alphabet = 2 * self.clip + 1
        return tuple(adaptive.encode([((q[0, c].numpy().astype(np.int64) + self.clip).ravel(), alphabet)
                                      for c in range(q.shape[1])]) for q in (coarse, fine))

    def header(self, quality: int) -> bytes:
        return encode_varint(quality) + encode_varint(POLICIES.index(self.policy))

    def _stream(self, h: int, w: int, payloads, quality: int) -> Bitstream:
        return Bitstream(self.name, h, w, tuple(Layer(n, p) for n, p in zip(LAYER_NAMES, payloads)),
                         model_id=self.model_id, codec_header=self.header(quality))

    @torch.no_grad()
    def _encode(self, image: np.ndarray) -> Bitstream:
        h, w = image.shape[:2]
        if min(h, w) < MULTIPLE:
            raise InputError(f"progressive-mask needs images of at least {MULTIPLE}x{MULTIPLE}, got {w}x{h}")
        return self.encode_analysed(self.analyse(image), h, w)

    def encode_analysed(self, a: dict, h: int, w: int) -> Bitstream:
        """The stream of an analysed image (`analyse`), for this codec's quality or --bpp."""
        sym = self._symbols(a["zq"])
        positions = sym.shape[1] * sym.shape[2]
        if self.bpp is None:
            mask = top_mask(a["importance"], round(positions * MASK_FRACTIONS[self.quality]))
            return self._stream(h, w, (*self.latent_layers(sym, mask), *self.residual_layers(a["t"], a["zq"])),
                                self.quality)
        return self._rate_controlled(h, w, a, sym, positions)

    def _rate_controlled(self, h: int, w: int, a: dict, sym: np.ndarray, positions: int) -> Bitstream:
        """The stream for --bpp: S from eq. 13 on the coded sizes, then the largest S whose stream fits."""
        target = self.bpp * h * w / 8  # bytes

        def size(stream):
            return len(stream.to_bytes())

        base = self.base_layer(sym)  # the same in every candidate: coded once

        def prefix(mask):  # base + mask layers
            return self._stream(h, w, (base, self.mask_layer(sym, mask)), 0)

        empty = np.zeros_like(a["importance"], dtype=bool)
        low = size(prefix(empty))
        masked_all = self.mask_layer(sym, ~empty)
        latent_full = size(self._stream(h, w, (base, masked_all), 0))
        residuals = self.residual_layers(a["t"], a["zq"])
        everything = self._stream(h, w, (base, masked_all, b"", *residuals), 0)
        high = size(everything)
        if not low <= target <= high:
            raise InputError(f"progressive-mask: --bpp {self.bpp:g} is outside this image's reachable range "
                             f"{8 * low / (h * w):.4f}-{8 * high / (h * w):.4f} bpp (base layers only .. all "
                             f"layers)")
        if target >= latent_full:  # the full latent fits: add whole residual layers while they fit
            stream = self._stream(h, w, (base, masked_all), 0)
            for k in range(3, len(LAYER_NAMES) + 1):
                candidate = everything.truncate(k)
                if size(candidate) <= target:
                    stream = candidate
            self.last_rate_control = {"S": positions, "S_formula": positions, "positions": positions,
                                      "bpp": 8 * size(stream) / (h * w), "layers": len(stream.layers)}
            return stream
        # eq. 13: S ≈ ⌊P·(r − bits_base)/bits_enh⌋ with the coded sizes of the base and the full enhancement
        formula = int(positions * (target - low) / max(latent_full - low, 1))

        def fits(count):  # the S = count highest positions of I
            return size(prefix(top_mask(a["importance"], count))) <= target

        lo, hi = 0, positions  # largest S that fits, starting from the formula's guess
        guess = min(max(formula, 0), positions)
        if fits(guess):
            lo = guess
        else:
            hi = guess - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid - 1
        stream = prefix(top_mask(a["importance"], lo))
        self.last_rate_control = {"S": lo, "S_formula": formula, "positions": positions,
                                  "bpp": 8 * size(stream) / (h * w), "layers": len(stream.layers)}
        return stream

    def setting(self) -> str:
        return f"q={self.quality}" if self.bpp is None else f"--bpp {self.bpp:g}"

    def encode_note(self) -> str | None:
        rc = self.last_rate_control
        if self.bpp is None or not rc:
            return None
        achieved = rc["bpp"]
        return (f"rate control: requested {self.bpp:g} bpp, achieved {achieved:.4f} bpp "
                f"({100 * (achieved - self.bpp) / self.bpp:+.1f}%), mask {rc['S']} of {rc['positions']} latent "
                f"positions (eq. 13 estimate {rc['S_formula']}), layers {rc['layers']}")

    # -- decoding ------------------------------------------------------------------------------------------------
    def read_header(self, header: bytes) -> str:
        reader = Reader(header)
        reader.varint("quality")
        policy = reader.varint("mask policy")
        if policy >= len(POLICIES) or reader.pos != len(header):
            raise BitstreamError("progressive-mask: corrupted codec header")
        return POLICIES[policy]

    def decode_latent(self, stream: Bitstream, layers: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(masked quantised latent, condition U) of the first `layers` (<= 3) layers."""
        self.read_header(stream.codec_header)
        gh, gw = -(-stream.height // MULTIPLE) * 2, -(-stream.width // MULTIPLE) * 2
        positions = gh * gw
        sym = np.zeros((CHANNELS, positions), dtype=np.int64) + 2  # level 0 where nothing was sent
        base = adaptive.decode(stream.layers[0].payload, [(positions, 5)] * BASE, "progressive-mask base layer")
        for c in range(BASE):
            sym[c] = base[c]
        mask = np.zeros(positions, dtype=bool)
        if layers >= 2:
            reader = adaptive.SegmentDecoder(stream.layers[1].payload, "progressive-mask mask layer")
            mask = reader.segment(positions, 2).astype(bool)
            count = int(mask.sum())
            for c in range(BASE, CHANNELS):
                sym[c, mask] = reader.segment(count, 5)
            reader.finish()
        if layers >= 3:
            count = positions - int(mask.sum())
            parts = adaptive.decode(stream.layers[2].payload, [(count, 5)] * (CHANNELS - BASE),
                                    "progressive-mask rest layer")
            for c in range(BASE, CHANNELS):
                sym[c, ~mask] = parts[c - BASE]
            mask[:] = True
        zq = torch.from_numpy((sym + LEVELS[0]).reshape(1, CHANNELS, gh, gw).astype(np.float32))
        u = torch.from_numpy(mask.reshape(1, 1, gh, gw).astype(np.float32))
        return self.model.masked(zq, u), u

    def residual(self, stream: Bitstream, layers: int, gh: int, gw: int) -> torch.Tensor:
        alphabet = 2 * self.clip + 1
        out = torch.zeros(1, 32, gh, gw)
        for k, (step, scale) in enumerate(zip(self.steps, (2, 1))):
            if layers < 4 + k:
                break
            h, w = gh // scale, gw // scale
            parts = adaptive.decode(stream.layers[3 + k].payload, [(h * w, alphabet)] * 32,
                                    f"progressive-mask {LAYER_NAMES[3 + k]} layer")
            q = torch.from_numpy(np.stack(parts).reshape(1, 32, h, w).astype(np.float32) - self.clip) * step
            out = out + (F.interpolate(q, scale_factor=2, mode="nearest") if scale == 2 else q)
        return out

    @torch.no_grad()
    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        from ...nn.taef2 import decode
        zq, u = self.decode_latent(stream, min(layers, 3))
        t = self.model.decode_latent(zq, u)
        if layers >= 4:
            t = t + self.residual(stream, layers, *zq.shape[2:])
        x = decode(t)
        return to_uint8(x, stream.height, stream.width)
