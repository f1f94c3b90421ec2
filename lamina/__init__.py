"""lamina: scalable, generative image and video coding for humans and machines."""
from ._version import __version__
from .bitstream import Bitstream, Layer
from .codecs.base import Codec, LayerSpec
from .errors import BitstreamError, InputError, LaminaError
from .registry import load

__all__ = ["__version__", "Bitstream", "Layer", "Codec", "LayerSpec", "BitstreamError", "InputError", "LaminaError", "load"]
