"""One training loop for every lamina codec (see loop.py)."""
