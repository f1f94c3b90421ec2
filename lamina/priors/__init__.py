"""Generative priors trained by lamina and shared by codecs (lamina.priors.face: the face prior)."""
