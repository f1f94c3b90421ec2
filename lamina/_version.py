"""lamina's version (one place; the container names it in errors about newer streams)."""
__version__ = "0.2.0"
