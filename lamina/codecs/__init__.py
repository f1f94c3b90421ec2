"""Codecs behind one interface; importing this package registers the built-in ones."""
from .base import Codec, LayerSpec  # noqa: F401
