"""Learned baselines: Balle 2018 scale hyperprior (`hyperprior`) and Minnen 2018 mean-scale hyperprior
without the autoregressive context (`mean-scale`), from CompressAI, trained here on faces.

Bitstream: one layer `image` = varint(len(z bytes)) + z bytes (EntropyBottleneck, rANS) + y bytes
(GaussianConditional, rANS). Codec header = varint quality, varint z height, varint z width. Inputs
are padded (edge replicate) to a multiple of 64 and cropped back after decoding.
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
from .base import Codec, LayerSpec

ZOO = Path(__file__).resolve().parents[1] / "zoo"
STRIDE = 64  # total downsampling of the hyper path (16 x 4)
ARCHS = {"hyperprior": "ScaleHyperprior", "mean-scale": "MeanScaleHyperprior"}


def split_aux_parameters(model: torch.nn.Module, frozen_prefixes: tuple[str, ...] = ()) -> dict[str, list]:
    """{'main': every parameter but the entropy bottlenecks' quantiles (and names under frozen_prefixes),
    'aux': the quantiles, which CompressAI's auxiliary loss trains with their own optimiser}."""
    main, aux = [], []
    for name, parameter in model.named_parameters():
        if name.endswith(".quantiles"):
            aux.append(parameter)
        elif not name.startswith(frozen_prefixes):
            main.append(parameter)
    return {"main": main, "aux": aux}


def build_network(arch: str, n: int, m: int) -> torch.nn.Module:
    """A CompressAI network of this lamina arch name with N and M channels."""
    from ..compat import import_compressai
    import_compressai()
    from compressai.models import MeanScaleHyperprior, ScaleHyperprior
    if arch not in ARCHS:
        raise InputError(f"unknown learned architecture {arch!r}")
    return {"hyperprior": ScaleHyperprior, "mean-scale": MeanScaleHyperprior}[arch](N=n, M=m)


def weights_path(arch: str, quality: int) -> Path:
    return ZOO / f"{arch}-q{quality}.pt"


def available_qualities(arch: str) -> list[int]:
    """Qualities with committed weights, lowest rate first."""
    return sorted(int(p.stem.rsplit("-q", 1)[1]) for p in ZOO.glob(f"{arch}-q*.pt"))


def save_weights(network: torch.nn.Module, arch: str, n: int, m: int, path: Path) -> bytes:
    """Write {'arch','N','M','state_dict'} with float tensors in fp16; returns the 8-byte model id."""
    network.update(force=True)
    # Parameters in fp16; buffers (CDF tables, scale table, LowerBound constants such as the 1e-9
    # likelihood bound, which fp16 would flush to zero) stay as they are.
    state = fp16_parameters(network)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"arch": arch, "N": n, "M": m, "state_dict": state}, tmp)
    tmp.replace(path)
    return model_id_of(path)


def model_id_of(path: Path) -> bytes:
    """First 8 bytes of the SHA-256 of a weights file (cached while the file is unchanged)."""
    stat = Path(path).stat()
    return _file_digest(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _file_digest(path: str, mtime_ns: int, size: int) -> bytes:
    return hashlib.sha256(Path(path).read_bytes()).digest()[:8]


def pad_to_stride(x: torch.Tensor) -> torch.Tensor:
    """Edge-replicate an NCHW tensor to multiples of STRIDE (as coded)."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % STRIDE, 0, (-h) % STRIDE), mode="replicate")


def padded_tensor(image: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xH'xW' float in [0, 1], edge-replicated to multiples of STRIDE (as coded)."""
    return pad_to_stride(to_tensor(image).to(device))


def z_shape(height: int, width: int) -> tuple[int, int]:
    """Hyper-latent size of an HxW image (after padding to STRIDE)."""
    return (height + (-height) % STRIDE) // STRIDE, (width + (-width) % STRIDE) // STRIDE


def compress_payload(network: torch.nn.Module, x: torch.Tensor) -> tuple[bytes, tuple[int, int]]:
    """(varint len(z) + z bytes + y bytes, z shape) of a 1x3xHxW float image in [0, 1]."""
    out = network.compress(pad_to_stride(x))
    y_bytes, z_bytes = out["strings"][0][0], out["strings"][1][0]
    return encode_varint(len(z_bytes)) + z_bytes + y_bytes, tuple(out["shape"])


def decompress_payload(network: torch.nn.Module, payload: bytes, height: int, width: int, what: str) -> torch.Tensor:
    """Inverse of compress_payload: 3xHxW float in [0, 1]; BitstreamError for payloads that do not decode."""
    reader = _Reader(payload)
    z_bytes = reader.take(reader.varint("z length"), "z string")
    y_bytes = payload[reader.pos:]
    try:
        x_hat = network.decompress([[y_bytes], [z_bytes]], z_shape(height, width))["x_hat"]
    except Exception as exc:
        raise BitstreamError(f"{what}: payload cannot be decoded: {exc}") from exc
    return x_hat[0, :, :height, :width].clamp(0, 1)


def load_network(path: Path, arch: str) -> torch.nn.Module:
    """Network from a lamina weights file; clear InputError for missing, corrupted or foreign files."""
    from ..checkpoint import read_checkpoint
    data = read_checkpoint(path, arch)
    if not isinstance(data, dict) or data.get("arch") != arch or "state_dict" not in data:
        found = data.get("arch") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{path} is not a {arch} checkpoint (found {found!r})")
    network = build_network(arch, int(data["N"]), int(data["M"]))
    # The 1e-9 likelihood bounds belong to the architecture: keep the constructor's values. Files written
    # before parameters-only fp16 hold them flushed to zero, which only breaks likelihood *estimates*;
    # the scale bound is part of how those files code, so it is kept as stored.
    constants = {k: v for k, v in network.state_dict().items() if k.endswith("likelihood_lower_bound.bound")}
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in data["state_dict"].items()}
    state.update(constants)
    try:
        network.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        raise InputError(f"{path} does not fit the {arch} architecture: {str(exc).splitlines()[0][:200]}") from exc
    return network.eval().requires_grad_(False)


@lru_cache(maxsize=16)
def cached_network(path_str: str, arch: str, device: str):
    """load_network, once per (file, arch, device) in a process."""
    return load_network(Path(path_str), arch).to(device)


class LearnedHyperprior(Codec):
    """A trained CompressAI hyperprior model as a single-layer lamina codec."""

    arch = "hyperprior"
    layers = (LayerSpec("image", ("human",)),)
    higher_is_better = True
    accepts_device = True

    def __init__(self, quality: int | None = None, device: str = "cpu", weights: str | Path | None = None):
        qualities = available_qualities(self.arch)
        if weights is None:
            if not qualities:
                raise InputError(f"no trained {self.arch} weights in {ZOO}")
            quality = qualities[-1] if quality is None else int(quality)
            if quality not in qualities:
                raise InputError(f"{self.name}: quality {quality} has no weights; available: {qualities}")
            weights = weights_path(self.arch, quality)
        self.quality = int(quality or 0)
        self.device = device
        self.weights = Path(weights)
        self.network = cached_network(str(self.weights), self.arch, device)
        self.model_id = model_id_of(self.weights)

    @classmethod
    def for_stream(cls, stream: Bitstream, device: str = "cpu") -> "LearnedHyperprior":
        """The committed model whose id the stream names (BitstreamError when none matches)."""
        for quality in available_qualities(cls.arch):
            if model_id_of(weights_path(cls.arch, quality)) == stream.model_id:
                return cls(quality=quality, device=device)
        raise BitstreamError(f"model id mismatch: no committed {cls.name} weights have id {stream.model_id.hex()}")

    @classmethod
    def bench_grid(cls) -> tuple[int, ...]:
        return tuple(available_qualities(cls.arch))

    def _encode(self, image: np.ndarray) -> Bitstream:
        h, w = image.shape[:2]
        with torch.no_grad():
            payload, (zh, zw) = compress_payload(self.network, to_tensor(image).to(self.device))
        header = encode_varint(self.quality) + encode_varint(zh) + encode_varint(zw)
        return Bitstream(self.name, h, w, (Layer("image", payload),), model_id=self.model_id, codec_header=header)

    def _decode(self, stream: Bitstream, layers: int) -> np.ndarray:
        reader = _Reader(stream.codec_header)
        reader.varint("quality")
        zh, zw = reader.varint("z height"), reader.varint("z width")
        if reader.pos != len(stream.codec_header) or (zh, zw) != z_shape(stream.height, stream.width):
            raise BitstreamError(f"{self.name}: codec header does not match the coded size")
        with torch.no_grad():
            x_hat = decompress_payload(self.network, stream.layers[0].payload, stream.height, stream.width, self.name)
        return (x_hat.mul(255).round().byte().permute(1, 2, 0).cpu().numpy())

    def card(self) -> dict:
        card_path = self.weights.with_suffix(".json")
        return json.loads(card_path.read_text()) if card_path.exists() else {}


class Hyperprior(LearnedHyperprior):
    """Balle et al. 2018 scale hyperprior (CompressAI bmshj2018-hyperprior), trained here."""

    name = "hyperprior"
    arch = "hyperprior"


class MeanScale(LearnedHyperprior):
    """Minnen et al. 2018 mean-scale hyperprior without context model (CompressAI mbt2018-mean), trained here."""

    name = "mean-scale"
    arch = "mean-scale"


# λ per quality: below CompressAI's MSE ladder, so the learned anchors reach the classic codecs' lowest
# rates on 200x200 faces (the comparison lamina's scalable codecs are judged in).
LAMBDAS = {1: 0.0002, 2: 0.0006, 3: 0.0018, 4: 0.0067, 5: 0.013}


class HyperpriorTask:
    """Training task: L = λ·255²·MSE + bpp (likelihoods), plus CompressAI's auxiliary quantile loss."""

    def __init__(self, arch: str, lmbda: float, n: int = 64, m: int = 96, quality: int | None = None):
        if arch not in ARCHS:
            raise InputError(f"unknown learned architecture {arch!r}; known: {', '.join(ARCHS)}")
        self.name, self.arch, self.lmbda, self.n, self.m, self.quality = arch, arch, lmbda, n, m, quality

    def build_model(self):
        return build_network(self.arch, self.n, self.m)

    def parameter_groups(self, model):
        return split_aux_parameters(model)

    @staticmethod
    def bits(likelihoods: dict) -> torch.Tensor:
        """Information content -sum(log2 p) of all latents: the rate training optimises."""
        return sum(torch.log2(l.float()).sum() for l in likelihoods.values()).neg()

    @classmethod
    def rate(cls, likelihoods: dict, pixels: int) -> torch.Tensor:
        return cls.bits(likelihoods) / pixels

    def losses(self, model, batch):
        out = model(batch)
        n, _, h, w = batch.shape
        bpp = self.rate(out["likelihoods"], n * h * w)
        mse = F.mse_loss(out["x_hat"].float(), batch)
        return {"loss": self.lmbda * 255 ** 2 * mse + bpp, "bpp": bpp, "mse": mse, "aux_loss": model.aux_loss()}

    def warm_start(self, model, weights: Path) -> None:
        """Initialise from another exported model of the same architecture (e.g. the next lower λ)."""
        model.load_state_dict(load_network(Path(weights), self.arch).state_dict())

    def validate(self, model, images):
        """Estimated bpp (likelihoods) and PSNR on the validation crops."""
        out = model(images)
        n, _, h, w = images.shape
        mse = F.mse_loss(out["x_hat"].clamp(0, 1), images)
        return {"bpp_estimated": float(self.rate(out["likelihoods"], n * h * w)),
                "psnr": float(10 * torch.log10(1 / mse))}

    def export(self, model, out: Path, card: dict) -> Path:
        """fp16 weights + model card; the card's numbers are measured with the exported file (real bytes)."""
        from ..data.training import split_items
        path = out / f"{self.arch}-q{self.quality or 0}.pt"
        model = model.cpu().eval()
        save_weights(model, self.arch, self.n, self.m, path)
        codec_cls = {"hyperprior": Hyperprior, "mean-scale": MeanScale}[self.arch]
        codec = codec_cls(quality=self.quality, weights=path)
        _, val_items = split_items(card["config"]["data"], root=card["config"].get("data_root"))
        written, estimated, psnrs = [], [], []
        from ..metrics.pixel import psnr
        for item in val_items:
            image = item.image()
            stream = codec.encode(image)
            decoded = codec.decode(stream.to_bytes())
            written.append(stream.bpp())
            psnrs.append(psnr(image, decoded))
            with torch.no_grad():
                likelihoods = codec.network(padded_tensor(image))["likelihoods"]
            estimated.append(float(self.rate(likelihoods, image.shape[0] * image.shape[1])))
        card = dict(card)
        card.update({
            "codec": self.arch, "quality": self.quality, "lambda": self.lmbda, "N": self.n, "M": self.m,
            "architecture": f"CompressAI {ARCHS[self.arch]}(N={self.n}, M={self.m})",
            "loss": "lambda * 255^2 * MSE + bpp (likelihoods); Adam; aux loss on EntropyBottleneck quantiles",
            "stored_as": "fp16 parameters; buffers (CDF tables, scale table, bounds) unchanged",
            "model_id": model_id_of(path).hex(),
            "validation": {
                "images": len(val_items), "note": "held-out last images of the training source, full size, real files",
                "bpp_written": round(float(np.mean(written)), 5),
                "bpp_estimated_from_likelihoods": round(float(np.mean(estimated)), 5),
                "written_over_estimated": round(float(np.mean(written) / np.mean(estimated)), 4),
                "psnr": round(float(np.mean(psnrs)), 3)},
        })
        path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
        return path
