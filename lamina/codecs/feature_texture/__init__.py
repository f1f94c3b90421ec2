"""feature-texture: scalable feature + texture face coding (seed 003). See README.md beside this file: nets.py
(networks, SATD), codec.py (runtime), task.py (staged training and export)."""
from .codec import FeatureTexture  # noqa: F401  (registers the codec and its feature-texture+NAME variants)
