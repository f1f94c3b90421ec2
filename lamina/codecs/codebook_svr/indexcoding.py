"""Lossless coding of codebook indices (SVR §3.3) and the models it was chosen from.

Indices are frequency ranks (codewords are stored in descending training frequency). Models compared on
held-out images (bits per index):
- `fixed`: ceil(log2 K) bits;
- `categorical`: the static categorical of the training frequencies, rANS-coded with constriction;
- `gmm`: the paper's — ranks zig-zag mapped (odd r -> -(r+1)/2, even r -> r/2) and modelled by a discretised
  Gaussian mixture fitted to the training ranks (a smoothed version of the same histogram, so never better);
- `adaptive` (kept, the stream's): an order-0 adaptive categorical (pseudo-counts from the training frequencies,
  grown by each coded index), rANS-coded with constriction.
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import BitstreamError


ADAPT_PRIOR = 0.25  # pseudo-counts per codeword before the first index: ADAPT_PRIOR * K * training frequency
COUNT_UNIT = 16     # counts are integers in these units, so encoder and decoder compute bit-identical models


def initial_counts(prior: np.ndarray, strength: float | None = None) -> np.ndarray:
    """Integer pseudo-counts (in COUNT_UNIT) of the adaptive model before the first index, each at least 1."""
    strength = ADAPT_PRIOR if strength is None else strength
    prior = np.asarray(prior, dtype=np.float64)
    return np.maximum(1, np.round(strength * len(prior) * prior * COUNT_UNIT)).astype(np.int64)


def adaptive_probabilities(indices: np.ndarray, prior: np.ndarray, strength: float | None = None) -> np.ndarray:
    """n x K probabilities of an order-0 adaptive categorical: for the i-th index, the counts of indices 0..i-1
    plus strength·K·prior (the training frequencies), normalised. Counts are exact integers, so the decoder's
    one-at-a-time update gives the same floats."""
    indices = np.asarray(indices, dtype=np.int64).ravel()
    counts = np.zeros((len(indices), len(prior)), dtype=np.int64)
    counts[np.arange(1, len(indices)), indices[:-1]] = COUNT_UNIT
    counts = np.cumsum(counts, 0) + initial_counts(prior, strength)[None]
    return counts / counts.sum(1, keepdims=True)


def encode_adaptive(indices: np.ndarray, prior: np.ndarray) -> bytes:
    """rANS bytes of a flat array of ranks under the adaptive categorical (adaptive_probabilities)."""
    import constriction
    indices = np.ascontiguousarray(indices, dtype=np.int32).ravel()
    coder = constriction.stream.stack.AnsCoder()
    family = constriction.stream.model.Categorical(perfect=False)
    coder.encode_reverse(indices, family, adaptive_probabilities(indices, prior))
    return coder.get_compressed().astype("<u4").tobytes()


def take_adaptive(coder, family, count: int, prior: np.ndarray) -> np.ndarray:
    """`count` ranks from an ANS coder under the adaptive categorical (the model updated after each): the
    decoding side of adaptive_probabilities."""
    counts = initial_counts(prior)
    out = np.empty(int(count), dtype=np.int64)
    for i in range(int(count)):
        symbol = int(coder.decode(family, (counts / counts.sum())[None])[0])
        out[i] = symbol
        counts[symbol] += COUNT_UNIT
    return out


def decode_adaptive(payload: bytes, count: int, prior: np.ndarray) -> np.ndarray:
    """Inverse of encode_adaptive (index by index, the model updated after each); BitstreamError when the
    payload is not a whole stream of `count` ranks."""
    import constriction
    if len(payload) % 4:
        raise BitstreamError("codebook-svr: index payload is not a whole number of 32-bit words: stream is corrupted")
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    family = constriction.stream.model.Categorical(perfect=False)
    try:
        out = take_adaptive(coder, family, count, prior)
    except Exception as exc:
        raise BitstreamError(f"codebook-svr: index payload cannot be decoded: {exc}") from exc
    if not coder.is_empty():
        raise BitstreamError("codebook-svr: index payload has data left over after the last index: "
                             "stream is corrupted")
    return out


def _model(probabilities: np.ndarray):
    import constriction
    return constriction.stream.model.Categorical(np.asarray(probabilities, dtype=np.float64), perfect=False)


def encode_indices(indices: np.ndarray, probabilities: np.ndarray) -> bytes:
    """rANS bytes of a flat array of ranks under a static categorical."""
    import constriction
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(np.ascontiguousarray(indices, dtype=np.int32).ravel(), _model(probabilities))
    return coder.get_compressed().astype("<u4").tobytes()


def decode_indices(payload: bytes, count: int, probabilities: np.ndarray) -> np.ndarray:
    """Inverse of encode_indices; BitstreamError when the payload is not a whole ANS stream of `count` ranks."""
    import constriction
    if len(payload) % 4:
        raise BitstreamError("codebook-svr: index payload is not a whole number of 32-bit words: stream is corrupted")
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    try:
        out = coder.decode(_model(probabilities), int(count))
    except Exception as exc:
        raise BitstreamError(f"codebook-svr: index payload cannot be decoded: {exc}") from exc
    if not coder.is_empty():
        raise BitstreamError("codebook-svr: index payload has data left over after the last index: "
                             "stream is corrupted")
    return np.asarray(out, dtype=np.int64)


def zigzag(ranks: np.ndarray) -> np.ndarray:
    """The paper's mapping of a frequency rank to a signed integer: odd r -> -(r+1)/2, even r -> r/2."""
    ranks = np.asarray(ranks, dtype=np.int64)
    return np.where(ranks % 2 == 1, -(ranks + 1) // 2, ranks // 2)


def fit_gmm(counts: np.ndarray, components: int = 4, iterations: int = 200) -> np.ndarray:
    """A discretised Gaussian mixture over the zig-zag-mapped ranks, fitted by EM to the training histogram;
    returns the probability of each rank (K values)."""
    values = zigzag(np.arange(len(counts))).astype(np.float64)
    weights = counts.astype(np.float64) / counts.sum()
    spread = math.sqrt(float((weights * values ** 2).sum()))
    mix = np.full(components, 1 / components)
    means = np.zeros(components)
    sigmas = spread * np.geomspace(0.1, 1.5, components)
    for _ in range(iterations):
        dens = mix[:, None] * np.exp(-0.5 * ((values[None] - means[:, None]) / sigmas[:, None]) ** 2) / sigmas[:, None]
        resp = dens / np.maximum(dens.sum(0, keepdims=True), 1e-300)
        w = resp * weights[None]
        total = w.sum(1) + 1e-12
        mix = total / total.sum()
        means = (w * values[None]).sum(1) / total
        sigmas = np.sqrt((w * (values[None] - means[:, None]) ** 2).sum(1) / total) + 0.3
    from scipy.stats import norm
    cdf = lambda v: (mix[:, None] * norm.cdf((v[None] - means[:, None]) / sigmas[:, None])).sum(0)  # noqa: E731
    p = cdf(values + 0.5) - cdf(values - 0.5)
    p = np.maximum(p, 1e-9)
    return p / p.sum()


def bits_static(indices: np.ndarray, probabilities: np.ndarray) -> float:
    """Ideal code length (bits) of the indices under a static model."""
    return float(-np.log2(probabilities[np.asarray(indices).ravel()]).sum())
