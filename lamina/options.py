"""Command-line options that a codec or a trainable declares (`lamina encode` / `lamina train`): a neutral home
shared by codecs, training and the CLI."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """A codec-specific command-line option of `lamina encode` (its value reaches the codec's constructor
    as keyword `dest`; None when not given), or a trainable's option of `lamina train`."""

    flag: str
    dest: str
    help: str
    type: type = str
    choices: tuple | None = None
