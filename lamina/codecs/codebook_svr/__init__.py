"""codebook-svr: codebook indices in the pretrained TAEF2 latent space plus a low-quality fidelity image with
CFT modulation (seed 004, SVR); images and video."""
from .codec import CodebookSVR  # noqa: F401
