"""Conditional coding of a video's codebook index maps (issue 26): one rANS stream for the whole clip, each
frame's changed indices coded given the previous frame.

- frame 0: every index under the image coder's order-0 adaptive categorical (indexcoding.adaptive_probabilities);
- frame t > 0, the change mask (raster order): an adaptive binary model per context, the context = how many of
  the current frame's causal neighbours (left, up, up-left, up-right) changed (0..4) x how many of the 3 x 3
  positions around it changed in the previous frame (0..3, clipped): changes come in patches (mouth, eyes) and
  persist from frame to frame;
- frame t > 0, each changed index v (raster order) given the previous index p at its position, as its place in
  one ordering of the other K - 1 codewords: first the candidates, the distinct indices (not p) of the current
  frame's causal neighbours and then of the previous frame's 3 x 3 neighbourhood (what moves in from a
  neighbour: 39-46% of the changes on the training clips), then every other codeword by its distance to p's
  codeword (a changed block usually moves to a nearby codeword); an adaptive categorical over the places,
  starting from a 1/(place + 1) prior.

The codeword ordering uses integer distances of the codebook rounded to 1/256 (exact arithmetic, ties broken by
index), so encoder and decoder agree on every CPU. Every count is an integer (indexcoding.COUNT_UNIT), as in the
image coder. Measured on the training clips (lp_d3/d6/d9, 50 aligned frames; benchmarks/codebook_svr/
temporal_index_probe.py): see docs/results/video/probe-codebook-svr-index-context/.
"""
from __future__ import annotations

import numpy as np

from ...errors import BitstreamError
from .indexcoding import COUNT_UNIT, adaptive_probabilities, take_adaptive

MASK_CONTEXTS = 5 * 4
MASK_INIT = np.array([4, 4], dtype=np.int64)   # pseudo-counts of each binary context (in COUNT_UNIT/4)
PLACE_PRIOR = 0.25                             # strength of the 1/(place + 1) prior, as ADAPT_PRIOR for ranks
CURRENT_NEIGHBOURS = ((0, -1), (-1, 0), (-1, -1), (-1, 1))
PREVIOUS_NEIGHBOURS = ((0, -1), (-1, 0), (0, 1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1))


def codeword_order(codebook: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, place): order[p] lists every codeword by its integer squared distance to codeword p (ties by
    index, p itself first), place[p, v] is v's position in order[p]."""
    book = np.round(np.asarray(codebook, dtype=np.float64) * 256).astype(np.int64)
    norms = (book * book).sum(1)
    distance = norms[:, None] + norms[None, :] - 2 * (book @ book.T)
    np.fill_diagonal(distance, -1)  # p first even where another codeword rounds to the same vector
    order = np.argsort(distance, axis=1, kind="stable")
    place = np.empty_like(order)
    rows = np.arange(len(book))[:, None]
    place[rows, order] = np.arange(len(book))[None, :]
    return order, place


def place_counts(codes: int) -> np.ndarray:
    """Initial integer counts of the K - 1 places of a changed index: a 1/(place + 1) prior."""
    harmonic = 1.0 / np.arange(1, codes)
    return np.maximum(1, np.round(PLACE_PRIOR * (codes - 1) * COUNT_UNIT * harmonic / harmonic.sum())).astype(np.int64)


def _mask_context(changed: np.ndarray, previous_changed: np.ndarray, y: int, x: int) -> int:
    h, w = changed.shape
    causal = sum(1 for dy, dx in CURRENT_NEIGHBOURS if 0 <= y + dy and 0 <= x + dx < w and changed[y + dy, x + dx])
    around = int(previous_changed[max(0, y - 1):y + 2, max(0, x - 1):x + 2].sum())
    return causal * 4 + min(around, 3)


def _candidates(current: np.ndarray, previous: np.ndarray, y: int, x: int) -> list[int]:
    """Distinct indices other than previous[y, x]: the current frame's causal neighbours (all known to the
    decoder: raster order), then the previous frame's 3 x 3 neighbourhood."""
    h, w = current.shape
    p = previous[y, x]
    out: list[int] = []
    for grid, offsets in ((current, CURRENT_NEIGHBOURS), (previous, PREVIOUS_NEIGHBOURS)):
        for dy, dx in offsets:
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w:
                c = int(grid[yy, xx])
                if c != p and c not in out:
                    out.append(c)
    return out


class TemporalIndexCoder:
    """Codes a list of index maps (each h x w, values 0..K-1) into one byte string and back."""

    def __init__(self, codebook: np.ndarray, prior: np.ndarray):
        self.codes = len(prior)
        if self.codes < 2:
            raise ValueError("a codebook needs at least 2 codewords")
        self.prior = np.asarray(prior, dtype=np.float64)
        self.order, self.place = codeword_order(codebook)

    # -- symbol <-> index of a changed position ----------------------------------------------------------------
    def _symbol(self, value: int, p: int, candidates: list[int]) -> int:
        if value in candidates:
            return candidates.index(value)
        place = int(self.place[p, value])
        skipped = sum(1 for e in candidates if self.place[p, e] < place) + 1  # + p itself (place 0)
        return len(candidates) + place - skipped

    def _value(self, symbol: int, p: int, candidates: list[int]) -> int:
        if symbol < len(candidates):
            return candidates[symbol]
        place = symbol - len(candidates)
        for e in sorted([0] + [int(self.place[p, c]) for c in candidates]):
            if e <= place:
                place += 1
        if place >= self.codes:
            raise BitstreamError("codebook-svr: a changed index is out of range: stream is corrupted")
        return int(self.order[p, place])

    # -- encoder ---------------------------------------------------------------------------------------------
    def encode(self, maps: list[np.ndarray]) -> bytes:
        import constriction
        family = constriction.stream.model.Categorical(perfect=False)
        groups = []  # (symbols, probabilities) in decoding order
        first = np.asarray(maps[0], dtype=np.int64).ravel()
        groups.append((first, adaptive_probabilities(first, self.prior)))
        mask_counts = np.tile(MASK_INIT, (MASK_CONTEXTS, 1))
        counts = place_counts(self.codes)
        previous_changed = np.zeros(maps[0].shape, dtype=bool)
        for previous, current in zip(maps, maps[1:]):
            previous, current = np.asarray(previous), np.asarray(current)
            changed = current != previous
            h, w = changed.shape
            bits, probabilities = [], []
            for y in range(h):
                for x in range(w):
                    c = _mask_context(changed, previous_changed, y, x)
                    probabilities.append(mask_counts[c] / mask_counts[c].sum())
                    bit = int(changed[y, x])
                    bits.append(bit)
                    mask_counts[c, bit] += COUNT_UNIT
            groups.append((np.array(bits), np.array(probabilities)))
            symbols, probabilities = [], []
            for y, x in zip(*np.nonzero(changed)):
                symbol = self._symbol(int(current[y, x]), int(previous[y, x]), _candidates(current, previous, y, x))
                symbols.append(symbol)
                probabilities.append(counts / counts.sum())
                counts[symbol] += COUNT_UNIT
            if symbols:
                groups.append((np.array(symbols), np.array(probabilities)))
            previous_changed = changed
        coder = constriction.stream.stack.AnsCoder()
        for symbols, probabilities in reversed(groups):
            coder.encode_reverse(np.ascontiguousarray(symbols, dtype=np.int32), family, probabilities)
        return coder.get_compressed().astype("<u4").tobytes()

    # -- decoder ---------------------------------------------------------------------------------------------
    def decode(self, payload: bytes, frames: int, shape: tuple[int, int]) -> list[np.ndarray]:
        import constriction
        if len(payload) % 4:
            raise BitstreamError("codebook-svr: index payload is not a whole number of 32-bit words: "
                                 "stream is corrupted")
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
        family = constriction.stream.model.Categorical(perfect=False)
        h, w = shape

        def take(probabilities: np.ndarray) -> int:
            return int(coder.decode(family, probabilities[None])[0])

        try:
            maps = [take_adaptive(coder, family, h * w, self.prior).reshape(h, w)]
            mask_counts = np.tile(MASK_INIT, (MASK_CONTEXTS, 1))
            counts = place_counts(self.codes)
            previous_changed = np.zeros(shape, dtype=bool)
            for _ in range(1, frames):
                previous = maps[-1]
                changed = np.zeros(shape, dtype=bool)
                for y in range(h):
                    for x in range(w):
                        c = _mask_context(changed, previous_changed, y, x)
                        bit = take(mask_counts[c] / mask_counts[c].sum())
                        changed[y, x] = bit
                        mask_counts[c, bit] += COUNT_UNIT
                current = previous.copy()
                for y, x in zip(*np.nonzero(changed)):
                    symbol = take(counts / counts.sum())
                    counts[symbol] += COUNT_UNIT
                    # never previous[y, x]: _value skips it (and the candidates exclude it)
                    current[y, x] = self._value(symbol, int(previous[y, x]), _candidates(current, previous, y, x))
                maps.append(current)
                previous_changed = changed
        except BitstreamError:
            raise
        except Exception as exc:
            raise BitstreamError(f"codebook-svr: index payload cannot be decoded: {exc}") from exc
        if not coder.is_empty():
            raise BitstreamError("codebook-svr: index payload has data left over after the last frame: "
                                 "stream is corrupted")
        return maps
