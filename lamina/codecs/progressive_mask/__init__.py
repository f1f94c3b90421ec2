"""progressive-mask: mask-based progressive generative coding for classification and reconstruction (seed 001,
RMPGC): base latent channels, a Grad-CAM++/complexity-masked enhancement layer at any target rate, the rest of
the latent, and residual layers for people."""
from .codec import ProgressiveMask  # noqa: F401
