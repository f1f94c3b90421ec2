"""Learned baselines from CompressAI, trained here: `hyperprior` and `mean-scale` (model.py: networks and
weights, codec.py: the lamina codecs, task.py: training on the shared loop)."""
from .codec import Hyperprior, LearnedHyperprior, MeanScale  # noqa: F401  (registers both codecs)
