"""Exception types that the CLI turns into one line on stderr and exit code 2."""


class LaminaError(Exception):
    """Base class for every error lamina reports to a user as bad input."""


class BitstreamError(LaminaError):
    """A stream is malformed, truncated, corrupted or meant for another codec/model."""


class InputError(LaminaError):
    """An input file or image cannot be used (missing, not an image, unsupported mode, size)."""


class NoFaceError(InputError):
    """No face was found where one is required."""
