"""TAEF2, the pretrained tiny autoencoder of the FLUX.2 latent space (MIT; weights in
`../shared/data/weights/taef2/`, architecture in that folder's README): an RGB image in [0, 1] of size H x W
<-> a 32 x H/8 x W/8 latent (values roughly N(0, 1)). Its decoder was trained adversarially, so it renders
sharp texture from accurate latents. lamina's face prior generates these latents (lamina.priors.face)."""
from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ..batching import batchable
from ..errors import InputError

LATENT_CHANNELS = 32
SCALE = 8  # latent side = image side / 8


def _conv(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=bias)


class Block(nn.Module):
    """conv-ReLU-conv-ReLU-conv + identity skip, ReLU; GN blocks first add a pooled 1x1 branch to the input."""

    def __init__(self, channels: int = 64, group_norm: bool = False):
        super().__init__()
        self.conv = nn.Sequential(_conv(channels, channels), nn.ReLU(), _conv(channels, channels), nn.ReLU(),
                                  _conv(channels, channels))
        if group_norm:
            self.pool = nn.Sequential(nn.Conv2d(channels, 4 * channels, 1, bias=False), nn.GroupNorm(4, 4 * channels),
                                      nn.ReLU(), nn.Conv2d(4 * channels, channels, 1, bias=False))
        else:
            self.pool = None
        self.act = nn.ReLU()

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return self.act(self.conv(x) + x)


class Clamp(nn.Module):
    def forward(self, x):
        return torch.tanh(x / 3) * 3


def encoder() -> nn.Sequential:
    """Image in [0, 1] (N x 3 x H x W, H and W multiples of 8) -> latent N x 32 x H/8 x W/8."""
    layers = [_conv(3, 64), Block()]
    for group in range(3):
        layers += [nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)]
        layers += [Block(group_norm=group == 2) for _ in range(3)]
    layers += [_conv(64, LATENT_CHANNELS)]
    return nn.Sequential(*layers)


def decoder() -> nn.Sequential:
    """Latent N x 32 x h x w -> image N x 3 x 8h x 8w (about [0, 1]; clamp for display)."""
    layers = [Clamp(), _conv(LATENT_CHANNELS, 64), nn.ReLU()] + [Block(group_norm=True) for _ in range(3)]
    for blocks in (3, 3, 1):
        layers += [nn.Upsample(scale_factor=2), _conv(64, 64, bias=False)] + [Block() for _ in range(blocks)]
    layers += [_conv(64, 3)]
    return nn.Sequential(*layers)


def lite_decoder(mid: int = 32, top: int = 16, mid_blocks: int = 2) -> nn.Sequential:
    """A cheaper student of `decoder()` (lamina's distilled "lite" decoder, `lamina train taef2-lite`): the same
    layers up to 2x the latent's side, then `mid` channels and `mid_blocks` blocks at 4x and `top` channels and
    one block at 8x, where the teacher spends ~90% of its arithmetic with 64 channels (3 and 1 blocks)."""
    layers = [Clamp(), _conv(LATENT_CHANNELS, 64), nn.ReLU()] + [Block(group_norm=True) for _ in range(3)]
    layers += [nn.Upsample(scale_factor=2), _conv(64, 64, bias=False)] + [Block() for _ in range(3)]
    layers += [nn.Upsample(scale_factor=2), _conv(64, mid, bias=False)] + [Block(mid) for _ in range(mid_blocks)]
    layers += [nn.Upsample(scale_factor=2), _conv(mid, top, bias=False), Block(top), _conv(top, 3)]
    return nn.Sequential(*layers)


def weights_dir() -> Path:
    from ..zoo import shared_weights
    return Path(os.environ.get("LAMINA_TAEF2") or shared_weights("taef2"))


def _load(module: nn.Sequential, path: Path) -> nn.Sequential:
    from ..zoo import read_checkpoint
    state = read_checkpoint(path, "TAEF2")
    try:
        module.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, AttributeError) as exc:
        raise InputError(f"{path} does not fit the TAEF2 architecture: {str(exc).splitlines()[0][:200]}") from exc
    return module.eval().requires_grad_(False)


@lru_cache(maxsize=2)
def load_encoder(device: str = "cpu") -> nn.Sequential:
    """The frozen pretrained TAEF2 encoder."""
    return _load(encoder(), weights_dir() / "taef2_encoder.pth").to(device)


@lru_cache(maxsize=2)
def load_decoder(device: str = "cpu") -> nn.Sequential:
    """The frozen pretrained TAEF2 decoder."""
    return _load(decoder(), weights_dir() / "taef2_decoder.pth").to(device)


# ------------------------------------------------------------------------------------------ inference runtime
# Decoding (no gradient, CPU) runs the decoder in ONNX Runtime with a fixed thread count: measured ~2x faster than
# PyTorch eager on one thread for the face codecs' 16x16 latents (docs/results/speed/). The PyTorch module stays
# the reference (training, gradients, other devices; LAMINA_RUNTIME=torch selects it everywhere); the two agree to
# ~1e-6, far inside the cross-CPU tolerance of decoded pixels. Encoders never use it: coded bytes do not depend on
# the runtime. The ONNX graph is exported once from the shared weights into LAMINA_CACHE (default
# ~/.cache/lamina), named by the weights' hash; nothing is downloaded.
#
# Faster decoders, chosen per decode call (`decoding_with`, the codecs' `--decoder` option) and never by an
# encoder: "int8" is the same decoder with int8 weights and activations (ONNX Runtime static quantization,
# calibrated on the committed latents lamina/zoo/taef2-calibration.npz), "lite" lamina's distilled narrower
# decoder (lamina/zoo/taef2-lite.pt, `lamina train taef2-lite`), "lite-int8" both. They trade pixels for time
# (docs/results/speed/fast-decoders/): their pixels are not the reference's and may differ between CPUs.
RUNTIMES = ("onnxruntime", "torch")
DECODERS = ("reference", "int8", "lite", "lite-int8")
_DECODER = contextvars.ContextVar("lamina_taef2_decoder", default="reference")


def check_decoder(name: str) -> str:
    if name not in DECODERS:
        raise InputError(f"decoder must be one of {', '.join(DECODERS)}, got {name!r}")
    if name.startswith("lite") and not lite_weights().exists():
        raise InputError(f"the lite decoder's weights are not in this checkout ({lite_weights()}): train them with "
                         "`lamina train taef2-lite`")
    return name


@contextmanager
def decoding_with(name: str | None):
    """Within this block taef2.decode renders with decoder `name` (DECODERS; None = the reference)."""
    token = _DECODER.set(check_decoder(name or "reference"))
    try:
        yield
    finally:
        _DECODER.reset(token)


def lite_weights() -> Path:
    from ..zoo import ROOT
    return ROOT / "taef2-lite.pt"


def calibration_file() -> Path:
    from ..zoo import ROOT
    return ROOT / "taef2-calibration.npz"


@lru_cache(maxsize=2)
def load_lite_decoder(device: str = "cpu") -> nn.Sequential:
    """lamina's distilled TAEF2 decoder (committed weights)."""
    from ..zoo import load
    weights = load(lite_weights(), "taef2-lite")
    module = lite_decoder(**weights.config)
    module.load_state_dict({k: v.float() for k, v in weights.state_dict.items()})
    return module.eval().requires_grad_(False).to(device)


def runtime() -> str:
    """The decoder's inference runtime: LAMINA_RUNTIME (onnxruntime or torch), default onnxruntime."""
    chosen = os.environ.get("LAMINA_RUNTIME", "onnxruntime")
    if chosen not in RUNTIMES:
        raise InputError(f"LAMINA_RUNTIME must be one of {', '.join(RUNTIMES)}, got {chosen!r}")
    return chosen


def cache_dir() -> Path:
    return Path(os.environ.get("LAMINA_CACHE") or Path.home() / ".cache" / "lamina")


def _digest(*paths: Path) -> str:
    import hashlib
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def _write_atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def _export(module: nn.Module, path: Path) -> Path:
    import io
    import warnings
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(1, LATENT_CHANNELS, 16, 16), buffer,
                          input_names=["z"], output_names=["image"], opset_version=17, dynamo=False,
                          dynamic_axes={"z": {0: "n", 2: "h", 3: "w"}, "image": {0: "n", 2: "H", 3: "W"}})
    return _write_atomic(path, buffer.getvalue())


def _onnx_file(name: str = "reference") -> Path:
    """Decoder `name`'s ONNX graph (any latent size), made on first use (atomic, so processes may race): exported
    from the weights, and for the int8 decoders quantized with the committed calibration latents."""
    torch_version = torch.__version__.split("+")[0]
    if name.endswith("int8"):
        import onnxruntime
        source = _onnx_file("lite" if name == "lite-int8" else "reference")
        path = cache_dir() / f"{source.stem}-int8r7-{_digest(calibration_file())}-ort{onnxruntime.__version__}.onnx"
        if not path.exists():
            _quantize(source, path)
        return path
    weights = lite_weights() if name == "lite" else weights_dir() / "taef2_decoder.pth"
    stem = "taef2_lite" if name == "lite" else "taef2_decoder"
    path = cache_dir() / f"{stem}-{_digest(weights)}-torch{torch_version}.onnx"
    if not path.exists():
        _export(load_lite_decoder("cpu") if name == "lite" else load_decoder("cpu"), path)
    return path


def _quantize(source: Path, path: Path) -> None:
    """Static int8 quantization (QDQ, uint8 activations, per-channel int8 weights in 7 bits, min-max ranges over
    the committed calibration latents): ~3x faster than float on one thread (docs/results/speed/fast-decoders/).
    The 7-bit weights (reduce_range) keep u8 x s8 products clear of 16-bit saturation on CPUs without VNNI, where
    ONNX Runtime multiplies with VPMADDUBSW; on VNNI CPUs they cost ~1 dB against 8 bits (probe: 39.0 vs 40.0)."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    latents = np.load(calibration_file())["latents"].astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"z": z[None]} for z in latents])

        def get_next(self):
            return next(self.items, None)

    import logging
    work = path.with_name(f"{path.stem}.{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    logging.disable(logging.WARNING)  # the quantizer's notes on the GroupNorm branch's constants: not the user's
    try:
        prepared = work / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(work / "int8.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        reduce_range=True)
        _write_atomic(path, (work / "int8.onnx").read_bytes())
    finally:
        import shutil
        logging.disable(logging.NOTSET)
        shutil.rmtree(work, ignore_errors=True)


@lru_cache(maxsize=8)
def _session(threads: int, name: str = "reference"):
    """The ONNX Runtime session of decoder `name`. For the reference, None where it cannot be made (no writable
    cache folder, no onnxruntime / onnx installed, an export failure): decoding then runs on the PyTorch
    reference, with the same pixels. The other decoders have no such twin: their failure is an error."""
    try:
        return _new_session(threads, name)
    except (OSError, ImportError, RuntimeError) as exc:
        if name == "reference":
            return None
        raise InputError(f"cannot make the {name} decoder: {str(exc).splitlines()[0][:200]}") from exc


def _new_session(threads: int, name: str = "reference"):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(str(_onnx_file(name)), options, providers=["CPUExecutionProvider"])


def encode(x: torch.Tensor) -> torch.Tensor:
    """Image in [0, 1] N x 3 x H x W -> latent (the frozen encoder, PyTorch); batched across images inside
    lamina.batching.run_batched on a GPU only."""
    return _encode(None, x)


# never grouped on the CPU: there a batch of small images moves the encoder's float results (lamina.batching)
@batchable(on_cpu=False)
def _encode(_key, x: torch.Tensor) -> torch.Tensor:
    return load_encoder(str(x.device))(x)


def decode(z: torch.Tensor) -> torch.Tensor:
    """Latent N x 32 x h x w -> image N x 3 x 8h x 8w. The reference decoder: ONNX Runtime when decoding on CPU
    without gradients (same thread count as torch), else the PyTorch module. Inside `decoding_with(name)` the
    chosen faster decoder (CPU, ONNX Runtime; "lite" also as a PyTorch module elsewhere). Batched across images
    inside lamina.batching.run_batched (the decoder's name is part of the group's key)."""
    return _decode(_DECODER.get(), z)


@batchable
def _decode(name: str, z: torch.Tensor) -> torch.Tensor:
    on_cpu = not torch.is_grad_enabled() and z.device.type == "cpu"
    if name != "reference":
        if not on_cpu or runtime() == "torch":
            if name != "lite":
                raise InputError(f"the {name} decoder runs on CPU without gradients (ONNX Runtime) only")
            return load_lite_decoder(str(z.device))(z)
        session = _session(torch.get_num_threads(), name)
    else:
        session = _session(torch.get_num_threads()) if on_cpu and runtime() == "onnxruntime" else None
    if session is None:
        return load_decoder(str(z.device))(z)
    out = session.run(None, {"z": z.detach().float().contiguous().numpy()})[0]
    return torch.from_numpy(out)
