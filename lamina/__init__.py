"""lamina: scalable, generative image and video coding for humans and machines."""
from .bitstream import Bitstream, Layer
from .codecs.base import Codec, LayerSpec
from .errors import BitstreamError, InputError, LaminaError
from .registry import load

__all__ = ["Bitstream", "Layer", "Codec", "LayerSpec", "BitstreamError", "InputError", "LaminaError", "load"]
__version__ = "0.1.0"
