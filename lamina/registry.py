"""Name -> codec class. Codec packages register their classes with `@register` (lamina.codecs.base) when
they are imported; learned codecs appear only where trained weights are committed (`available()`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # typing only: codecs.base imports this module to register codecs
    from .codecs.base import Codec

_CLASSES: dict[str, type[Codec]] = {}
# Importing these registers every built-in codec (classic first, then learned baselines, then scalable).
BUILTIN_PACKAGES = ("lamina.codecs.classic", "lamina.codecs.hyperprior", "lamina.codecs.stylegan_scalable",
                    "lamina.codecs.feature_texture", "lamina.codecs.latent_flow",
                    "lamina.codecs.codebook_svr", "lamina.codecs.progressive_mask")


def add(name: str, cls: type[Codec]) -> None:
    """Register cls under name (first registration wins)."""
    _CLASSES.setdefault(name, cls)


def _all() -> dict[str, type[Codec]]:
    import importlib
    for package in BUILTIN_PACKAGES:
        importlib.import_module(package)
    return _CLASSES


def _order(item) -> int:
    """Built-in packages in BUILTIN_PACKAGES order (whatever was imported first), then the rest."""
    module = item[1].__module__
    for i, package in enumerate(BUILTIN_PACKAGES):
        if package in (module, module.rsplit(".", 1)[0]):
            return i
    return len(BUILTIN_PACKAGES)


def names() -> list[str]:
    """Names of the codecs that can be loaded here: classic, learned baselines, scalable codecs."""
    return [name for name, cls in sorted(_all().items(), key=_order) if cls.available()]


def classes() -> list[type[Codec]]:
    """Every registered codec class (loadable or not), for option tables."""
    return list(dict.fromkeys(_all().values()))


def codec_class(name: str) -> type[Codec]:
    """The class registered under name; InputError for unknown (or untrained) names."""
    registered = _all()
    if name not in registered or not registered[name].available():
        raise InputError(f"unknown codec {name!r}; known: {', '.join(names())}")
    return registered[name]


def check_device(device: str) -> str:
    """A torch device name the learned codecs can run on here ('cpu', 'cuda', 'cuda:N'), normalised; InputError
    for other names and for CUDA on a machine (or torch build) without it."""
    if device == "cpu":
        return device
    import torch
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda"):
        raise InputError(f"unknown device {device!r}: use cpu, cuda or cuda:N")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: this machine (or this torch build) has no CUDA device; "
                             "use --device cpu")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise InputError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    return str(parsed)


def load(name: str, quality: int | None = None, device: str = "cpu", **options) -> Codec:
    """A ready codec by registry name on `device` (classic codecs run their encoders on the CPU whatever it is)."""
    cls = codec_class(name)
    device = check_device(device)
    if cls.accepts_device:
        options["device"] = device
    return cls(quality=quality, **options)


def load_for_stream(stream, device: str = "cpu") -> Codec:
    """The codec (and, for learned codecs, the weights) that decodes this stream, on `device`."""
    return codec_class(stream.codec).for_stream(stream, device=check_device(device))


# ------------------------------------------------------------------------------------------ training
_TRAINABLES: dict = {}
# Trainable models that are not codecs (the face prior, evaluator networks); codecs name their training module.
OTHER_TRAINING_MODULES = ("lamina.priors.face_task", "lamina.train.evaluator_nets", "lamina.train.taef2_lite")


def add_trainable(trainable) -> None:
    """Register a lamina.train.trainable.Trainable under its name."""
    _TRAINABLES.setdefault(trainable.name, trainable)


def trainables() -> dict:
    """name -> Trainable for everything `lamina train` can train (imports the training modules)."""
    import importlib
    modules = [cls.training_module for cls in classes() if cls.training_module] + list(OTHER_TRAINING_MODULES)
    for module in dict.fromkeys(modules):
        importlib.import_module(module)
    return _TRAINABLES


def trainable(name: str):
    """The Trainable registered under name; InputError for unknown names."""
    found = trainables()
    if name not in found:
        raise InputError(f"nothing called {name!r} can be trained; trainable: {', '.join(found)}")
    return found[name]
