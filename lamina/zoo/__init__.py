"""The zoo: weights trained by lamina, committed beside this file, one model card (JSON) per weights file.

One weights format for everything lamina writes (`save`): a torch file holding
    {"format": "lamina-weights-v1", "codec": NAME, "config": {...constructor arguments...}, "state_dict": {...}}
with parameters in fp16 and buffers unchanged (`fp16_parameters`), and a card NAME.json beside it that
records at least the model id. Files committed before this format (hyperprior/mean-scale
{'arch','N','M','state_dict'}, stylegan-scalable v1, feature-texture v1) are read by `load` into the same
(config, state_dict) shape and stay byte-identical on disk, so their model ids and every stream coded with
them are unchanged; a retrained model is written in the current format.

Names: codec weights are `CODEC-qQUALITY.pt` (or `CODEC.pt` for one file per codec); evaluator networks
(landmark heatmaps, parsing, attribute probe) live in `evaluators/`. The model id of a file is the first 8
bytes of its SHA-256 (DESIGN.md); cards record it, so streams are matched to weights by (codec, quality) from
the header and the card's id, without hashing every committed file.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import torch

from ..errors import BitstreamError, InputError

ROOT = Path(__file__).resolve().parent
EVALUATORS = ROOT / "evaluators"
FORMAT = "lamina-weights-v1"
# Layouts of files committed before FORMAT (read-only): format marker -> how to read it.
_LEGACY_FORMATS = {"lamina-stylegan-scalable-v1": "stylegan-scalable", "lamina-feature-texture-v1": "feature-texture"}


def read_checkpoint(path: Path, what: str):
    """torch.load(path, weights_only=True) on CPU; InputError for a missing, truncated or foreign file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} weights not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, not a torch file, pickled code refused by weights_only, ...
        raise InputError(f"cannot read {what} weights {path}: {str(exc).splitlines()[0][:200]}") from exc


def fp16_parameters(module: torch.nn.Module) -> dict:
    """state_dict with parameters in fp16 and buffers as they are (CDF tables, likelihood bounds and other
    constants that fp16 would break), the form lamina's learned models are committed in."""
    parameters = {name for name, _ in module.named_parameters()}
    return {k: (v.half() if k in parameters else v) for k, v in module.state_dict().items()}


def model_id_of(path: Path) -> bytes:
    """First 8 bytes of the SHA-256 of a weights file (cached while the file is unchanged)."""
    stat = Path(path).stat()
    return _file_digest(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _file_digest(path: str, mtime_ns: int, size: int) -> bytes:
    return hashlib.sha256(Path(path).read_bytes()).digest()[:8]


@dataclass(frozen=True)
class Weights:
    """A weights file read into one shape, whatever its layout on disk."""

    codec: str
    config: dict
    state_dict: dict


def save(path: Path, codec: str, config: dict, state_dict: dict, card: dict | None = None) -> bytes:
    """Write a weights file in the current format (atomically) and its card; returns the model id."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, "codec": codec, "config": config, "state_dict": state_dict}, tmp)
    tmp.replace(path)
    model_id = model_id_of(path)
    card = dict(card or {})
    card.update({"codec": codec, "model_id": model_id.hex(), "format": FORMAT})
    path.with_suffix(".json").write_text(json.dumps(card, indent=2, default=str) + "\n")
    return model_id


def load(path: Path, codec: str) -> Weights:
    """Read a weights file of `codec` (current format or a committed legacy layout); InputError otherwise."""
    data = read_checkpoint(path, codec)
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a lamina weights file (found {type(data).__name__})")
    marker = data.get("format")
    if marker == FORMAT:
        found, config, state = data.get("codec"), data.get("config"), data.get("state_dict")
    elif marker in _LEGACY_FORMATS:
        found = _LEGACY_FORMATS[marker]
        if found == "feature-texture":
            config = {"lambdas": {int(k): v for k, v in data.get("lambdas", {}).items()}}
            state = {key: data.get(key) for key in ("extractor", "generator", "codecs")}
        else:
            config, state = data.get("config"), data.get("state_dict")
    elif "arch" in data and "state_dict" in data:  # hyperprior / mean-scale (and feature-texture residuals)
        found, config, state = data["arch"], {"N": data.get("N"), "M": data.get("M")}, data["state_dict"]
    else:
        found, config, state = None, None, None
    if found != codec or not isinstance(config, dict) or not isinstance(state, dict):
        raise InputError(f"{path} is not a {codec} weights file (found {found or marker or 'an unknown layout'!r})")
    return Weights(found, config, state)


def load_module(path: Path, codec: str, build) -> tuple[torch.nn.Module, bytes]:
    """A current-format weights file as a frozen module in eval mode: `build(**config)` with the state loaded
    (parameters back to fp32), and the file's model id; InputError when the state does not fit the network."""
    weights = load(path, codec)
    module = build(**weights.config)
    try:
        module.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in weights.state_dict.items()})
    except RuntimeError as exc:
        raise InputError(f"{path} does not fit {codec}: {str(exc).splitlines()[0][:200]}") from exc
    return module.eval().requires_grad_(False), model_id_of(path)


# Integer entropy tables (CompressAI CDFs, their offsets and lengths, Gaussian scale tables) of models whose files
# leave them out: computed from float networks, they would differ between CPUs with other float kernels and a stream
# would not decode across machines (issue 22), so they are computed once and committed beside the weights.
TABLE_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")


def tables_path(weights: Path) -> Path:
    """The entropy-tables file beside a weights file: NAME.tables.npz."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ".tables.npz")


def table_buffers(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every entropy-table buffer of a module, by its dotted name."""
    return {name: buffer for name, buffer in module.named_buffers() if name.rsplit(".", 1)[-1] in TABLE_BUFFERS}


def write_tables(weights: Path, module: torch.nn.Module) -> Path:
    """Commit-ready copy of a module's entropy tables (as computed now) beside its weights file."""
    import numpy as np
    out = tables_path(weights)
    arrays = {name: buffer.detach().cpu().numpy() for name, buffer in table_buffers(module).items()}
    with open(out, "wb") as handle:
        np.savez_compressed(handle, __model_id__=np.frombuffer(model_id_of(weights), np.uint8), **arrays)
    return out


def read_tables(weights: Path, module: torch.nn.Module) -> bool:
    """Load a weights file's committed entropy tables into `module`; False when it has none (the caller computes
    them); InputError when the tables belong to other weights or do not fit."""
    import numpy as np
    source = tables_path(weights)
    if not source.exists():
        return False
    with np.load(source) as data:
        if bytes(data["__model_id__"]) != model_id_of(weights):
            raise InputError(f"{source} belongs to other weights than {weights}")
        wanted = table_buffers(module)
        names = set(data.files) - {"__model_id__"}
        if names != set(wanted):
            raise InputError(f"{source} does not fit {weights} (tables {sorted(names ^ set(wanted))[:3]})")
        for name in names:
            owner, attribute = (name.rsplit(".", 1) + [""])[:2] if "." in name else ("", name)
            target = module.get_submodule(owner) if owner else module
            setattr(target, attribute, torch.from_numpy(data[name].copy()))
    return True


def shared_weights(*parts: str) -> Path:
    """A pretrained file or folder that ships with the shared data (../shared/data/weights/...): TAEF2,
    MobileFaceNet."""
    from ..paths import data_root
    return data_root() / "weights" / Path(*parts)


def path(codec: str, quality: int | None = None, folder: Path | None = None) -> Path:
    """Where the weights of (codec, quality) live (in ROOT unless a folder is given)."""
    return Path(folder or ROOT) / (f"{codec}-q{quality}.pt" if quality is not None else f"{codec}.pt")


def qualities(codec: str, folder: Path | None = None) -> list[int]:
    """Qualities of `codec` with committed weights, lowest rate first."""
    found = []
    for file in Path(folder or ROOT).glob(f"{codec}-q*.pt"):
        tail = file.stem[len(codec) + 2:]
        if tail.isdigit():
            found.append(int(tail))
    return sorted(found)


def card(weights: Path) -> dict:
    """The model card beside a weights file ({} when there is none)."""
    card_path = Path(weights).with_suffix(".json")
    return json.loads(card_path.read_text()) if card_path.exists() else {}


def recorded_id(weights: Path) -> bytes:
    """The model id a card records (computed from the file when the card has none)."""
    value = card(weights).get("model_id")
    return bytes.fromhex(value) if value else model_id_of(weights)


class Found(NamedTuple):
    """What `find` resolved: the quality (the highest committed one when none was asked for) and its weights."""

    quality: int
    path: Path


def find(codec: str, quality: int | None) -> Found:
    """The committed weights of (codec, quality), quality None = the highest committed; InputError naming the
    available qualities otherwise."""
    available = qualities(codec)
    if not available:
        raise InputError(f"no trained {codec} weights in {ROOT}")
    quality = available[-1] if quality is None else int(quality)
    if quality not in available:
        retired = [e for e in retired_models() if e["codec"] == codec and e["file"].endswith(f"-q{quality}.pt")]
        why = f" ({retired[-1]['why']}; lamina {retired[-1]['last_shipped_in']} still ships it)" if retired and \
            "why" in retired[-1] else ""
        raise InputError(f"{codec}: quality {quality} has no weights{why}; available: {available}")
    return Found(quality, path(codec, quality))


def find_for_stream(codec: str, quality: int, model_id: bytes) -> int:
    """The committed quality whose weights have `model_id`: the header's quality first (its card's id, no
    hashing), then every other committed quality's card; BitstreamError when none matches."""
    candidates = qualities(codec)
    order = ([quality] if quality in candidates else []) + [q for q in candidates if q != quality]
    for q in order:
        if recorded_id(path(codec, q))[:len(model_id)] == model_id:  # v2 streams name the id's first bytes
            return q
    raise unknown_model(codec, model_id)


RETIRED = ROOT / "retired.json"


def retired_models() -> list[dict]:
    """The append-only table of weights lamina no longer ships: codec, quality, model id (8-byte hex) and the
    lamina release/commit that last shipped them (where a stream naming them still decodes)."""
    return json.loads(RETIRED.read_text())["retired"] if RETIRED.exists() else []


def unknown_model(codec: str, model_id: bytes) -> BitstreamError:
    """The error for a stream whose model id no committed weights have: names the lamina version that still ships
    the weights when they are retired ones."""
    for entry in retired_models():
        if entry["codec"] == codec and bytes.fromhex(entry["model_id"])[:len(model_id)] == model_id:
            return BitstreamError(f"this {codec} stream was coded with retired weights {entry['model_id']} "
                                  f"({entry['file']}), {entry.get('why', 'replaced since')}; decode it with lamina {entry['last_shipped_in']}, "
                                  f"which still ships them")
    return BitstreamError(f"model id mismatch: no committed {codec} weights have id {model_id.hex()} (nor any "
                          f"retired ones lamina knows of: the stream comes from other weights)")
