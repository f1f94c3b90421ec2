"""Codec specs of `lamina bench` (images and --video): `name[:q1,q2,...][@key=value,...]`.

The settings given after ':' replace --qualities (else the codec's default grid); the options after '@' are the
codec's own `lamina encode` options (its constructor's: codebook-svr@lq_codec=mean-scale, latent-flow@gop=5) or
`lamina decode` options (codebook-svr@alpha=0.5, codebook-svr@lq_only=1). A spec with options is its own curve,
labelled `name@options` in every row, table and plot; without options the label is the codec's name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InputError


@dataclass
class RunConfig:
    """What every `lamina bench` run names (images: runner.BenchConfig, clips: video.VideoBenchConfig)."""

    dataset: str
    codecs: list[str]             # codec specs (parse)
    out: Path
    qualities: list[int] | None = None
    metrics: list[str] | None = None
    limit: int | None = None      # first N images (clips)
    workers: int = 1
    anchors: list[str] | None = None
    data_root: str | None = None
    progress: bool = True
    device: str = "cpu"           # where the learned codecs run (the evaluators stay on the CPU)


@dataclass(frozen=True)
class Setting:
    label: str                      # the rows' "codec" column
    codec: str                      # registry name (or a video baseline)
    quality: int | None
    encode: dict = field(default_factory=dict)   # constructor options
    decode: dict = field(default_factory=dict)   # decode(...) options

    @property
    def options(self) -> dict:
        return {**self.encode, **self.decode}


def codec_name(spec: str) -> str:
    return spec.partition("@")[0].partition(":")[0]


def _typed(spec: str, option, value: str):
    kind = option.type
    if kind is bool:
        if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise InputError(f"bench: {spec!r}: {option.dest} is yes or no")
        return value.lower() in ("1", "true", "yes")
    try:
        typed = (kind or str)(value)
    except ValueError:
        raise InputError(f"bench: {spec!r}: {option.dest} needs a {(kind or str).__name__}") from None
    if option.choices and typed not in option.choices:
        raise InputError(f"bench: {spec!r}: {option.dest} must be one of {', '.join(map(str, option.choices))}")
    return typed


def parse(spec: str, qualities: list[int] | None, default_grid: Callable[[str], tuple],
          classes: Callable[[str], type] | None = None) -> list[Setting]:
    """The settings of one spec. classes(name) gives the codec class whose encode/decode options are allowed
    (None: the codec takes no options)."""
    head, _, option_text = spec.partition("@")
    name, _, given = head.partition(":")
    try:
        chosen = [int(v) for v in given.split(",")] if given else qualities
    except ValueError:
        raise InputError(f"bench: {spec!r}: settings are integers, e.g. vvc:51,45") from None
    cls = classes(name) if classes else None
    encode_known = {o.dest: o for o in getattr(cls, "encode_options", ())}
    decode_known = {o.dest: o for o in getattr(cls, "decode_options", ())}
    encode, decode = {}, {}
    for pair in filter(None, option_text.split(",")):
        key, _, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if key in encode_known:
            encode[key] = _typed(spec, encode_known[key], value)
        elif key in decode_known:
            decode[key] = _typed(spec, decode_known[key], value)
        else:
            known = ", ".join([*encode_known, *decode_known]) or "none"
            raise InputError(f"bench: {name} has no option {key!r}; its options: {known}")
    label = f"{name}@{option_text}" if option_text else name
    return [Setting(label, name, None if q is None else int(q), encode, decode)
            for q in (chosen or default_grid(name))]
