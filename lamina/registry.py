"""Name -> codec factory. Classic codecs register here; learned codecs add themselves with `register`."""
from __future__ import annotations

from typing import Callable

from .codecs.base import Codec
from .errors import InputError

_FACTORIES: dict[str, Callable[..., Codec]] = {}


def register(name: str, factory: Callable[..., Codec]) -> None:
    """Make `lamina.load(name, ...)` call factory(**kwargs)."""
    _FACTORIES[name] = factory


def names() -> list[str]:
    """Registered codec names, in registration order."""
    _ensure_builtins()
    return list(_FACTORIES)


def codec_class(name: str):
    """The factory registered under name; InputError for unknown names."""
    _ensure_builtins()
    if name not in _FACTORIES:
        raise InputError(f"unknown codec {name!r}; known: {', '.join(_FACTORIES)}")
    return _FACTORIES[name]


def load(name: str, quality: int | None = None, device: str = "cpu", **options) -> Codec:
    """A ready codec by registry name (classic codecs ignore device)."""
    factory = codec_class(name)
    if getattr(factory, "accepts_device", False):
        options["device"] = device
    return factory(quality=quality, **options)


def load_for_stream(stream, device: str = "cpu") -> Codec:
    """The codec (and, for learned codecs, the weights) that decodes this stream."""
    factory = codec_class(stream.codec)
    if hasattr(factory, "for_stream"):
        return factory.for_stream(stream, device=device)
    return load(stream.codec, device=device)


_builtins_loaded = False


def _ensure_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from .codecs.classic import CLASSIC_CODECS
    from .codecs.hyperprior import Hyperprior, MeanScale, available_qualities
    for cls in CLASSIC_CODECS:
        _FACTORIES.setdefault(cls.name, cls)
    for cls in (Hyperprior, MeanScale):
        if available_qualities(cls.arch):  # learned codecs appear once trained weights are committed
            _FACTORIES.setdefault(cls.name, cls)
    from .codecs.stylegan_scalable import StyleganScalable
    from .codecs.stylegan_scalable import available_qualities as stylegan_qualities
    if stylegan_qualities():  # registered once trained weights are committed (issue 4)
        _FACTORIES.setdefault(StyleganScalable.name, StyleganScalable)
    from .codecs.feature_texture import (
        REGISTERED_RESIDUALS,
        WEIGHTS,
        FeatureTexture,
        variant,
    )
    if WEIGHTS.exists():
        _FACTORIES.setdefault(FeatureTexture.name, FeatureTexture)
        for residual in REGISTERED_RESIDUALS:  # bench names: the same codec with a classic residual codec
            _FACTORIES.setdefault(f"{FeatureTexture.name}+{residual}", variant(residual))
