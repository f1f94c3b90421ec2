"""stylegan-scalable: the three-layer face codec on a StyleGAN2 prior (seed 000). See README.md beside this
file: model.py (networks, presets, weights), encoder.py, entropy.py, codec.py (runtime), video.py (key-frame
mode), objective.py + task.py (training, entropy refit)."""
from .codec import StyleganScalable  # noqa: F401  (registers the codec)
