"""latent-flow: face images and video coded in the face prior's style space through a RealNVP flow and a
factorized entropy model (seed 002, SGANC)."""
from .codec import LatentFlow  # noqa: F401
