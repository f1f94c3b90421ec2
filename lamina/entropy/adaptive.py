"""Block-adaptive order-0 arithmetic coding of small-alphabet symbols (constriction's range coder).

Symbols come in segments (e.g. one per latent channel); each segment has its own categorical model that starts
uniform and is updated after every block of BLOCK symbols with the counts seen so far. Counts are integers, so
encoder and decoder compute bit-identical probabilities on any machine or thread count, and decoding a block is
one vectorised call (no per-symbol Python loop).
"""
from __future__ import annotations

import numpy as np

from ..errors import BitstreamError

BLOCK = 32
INITIAL = 1      # pseudo-count of every symbol before the first block
UNIT = 4         # weight of one seen symbol, so the model adapts quickly from the uniform start


def _probabilities(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def _initial_counts(alphabet: int, initial: np.ndarray | None) -> np.ndarray:
    """A segment's counts before its first block: INITIAL each (uniform), or given integer counts (a fitted
    starting distribution, e.g. lamina.priors.detail's)."""
    if initial is None:
        return np.full(alphabet, INITIAL, dtype=np.int64)
    counts = np.asarray(initial, dtype=np.int64).copy()
    if counts.shape != (alphabet,) or counts.min() < 1:
        raise ValueError(f"initial counts must be {alphabet} positive integers")
    return counts


def _segment_probabilities(symbols: np.ndarray, alphabet: int, initial: np.ndarray | None = None) -> np.ndarray:
    """n x alphabet model of one segment, block by block."""
    n = len(symbols)
    out = np.empty((n, alphabet))
    counts = _initial_counts(alphabet, initial)
    for start in range(0, n, BLOCK):
        block = symbols[start:start + BLOCK]
        out[start:start + len(block)] = _probabilities(counts)
        counts += UNIT * np.bincount(block, minlength=alphabet)
    return out


def encode(segments: list[tuple]) -> bytes:
    """Range-coder bytes of the segments, each (flat array of ints in [0, alphabet), alphabet[, initial counts])."""
    import constriction
    encoder = constriction.stream.queue.RangeEncoder()
    family = constriction.stream.model.Categorical(perfect=False)
    for symbols, alphabet, *initial in segments:
        symbols = np.ascontiguousarray(symbols, dtype=np.int32).ravel()
        if len(symbols) == 0:
            continue
        if symbols.min() < 0 or symbols.max() >= alphabet:
            raise ValueError(f"symbol outside [0, {alphabet})")
        encoder.encode(symbols, family, _segment_probabilities(symbols, alphabet, *initial))
    return encoder.get_compressed().astype("<u4").tobytes()


class SegmentDecoder:
    """Reads the segments of an `encode` payload one at a time (a segment's length may depend on an earlier
    one); BitstreamError for anything that is not such a stream."""

    def __init__(self, payload: bytes, what: str = "payload"):
        import constriction
        self.what = what
        if len(payload) % 4:
            raise BitstreamError(f"{what} is not a whole number of 32-bit words: stream is corrupted")
        self.decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))

    def segment(self, n: int, alphabet: int, initial: np.ndarray | None = None) -> np.ndarray:
        import constriction
        symbols = np.empty(int(n), dtype=np.int64)
        counts = _initial_counts(alphabet, initial)
        try:
            for start in range(0, int(n), BLOCK):
                size = min(BLOCK, int(n) - start)
                # one concrete model for the block's i.i.d. symbols: the same quantized distribution as the
                # encoder's per-symbol rows (same bits), ~30% less per-block overhead than building those rows
                model = constriction.stream.model.Categorical(_probabilities(counts), perfect=False)
                block = np.asarray(self.decoder.decode(model, size), dtype=np.int64)
                symbols[start:start + size] = block
                counts += UNIT * np.bincount(block, minlength=alphabet)
        except Exception as exc:
            raise BitstreamError(f"{self.what} cannot be decoded: {exc}") from exc
        return symbols

    def finish(self) -> None:
        if not self.decoder.maybe_exhausted():
            raise BitstreamError(f"{self.what} has data left over after the last symbol: stream is corrupted")


def decode(payload: bytes, specs: list[tuple], what: str = "payload") -> list[np.ndarray]:
    """Inverse of encode given each segment's (length, alphabet[, initial counts]); BitstreamError when the
    payload is not such a stream."""
    reader = SegmentDecoder(payload, what)
    out = [reader.segment(n, alphabet, *initial) for n, alphabet, *initial in specs]
    reader.finish()
    return out
