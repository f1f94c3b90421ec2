"""Bjontegaard delta rate and delta PSNR (VCEG-M33): cubic fit of log-rate vs quality, integrated
over the overlapping quality (or rate) interval."""
from __future__ import annotations

import warnings

import numpy as np


def _prepare(rate, quality):
    rate = np.asarray(rate, dtype=np.float64)
    quality = np.asarray(quality, dtype=np.float64)
    if rate.shape != quality.shape or rate.size < 4:
        raise ValueError("BD metrics need at least 4 (rate, quality) points per curve")
    if np.any(rate <= 0):
        raise ValueError("rates must be positive")
    order = np.argsort(rate)
    return np.log10(rate[order]), quality[order]


def bd_rate(rate_anchor, quality_anchor, rate_test, quality_test) -> float:
    """Average bitrate difference (%) of the test curve vs the anchor at equal quality; negative = savings."""
    log_ra, qa = _prepare(rate_anchor, quality_anchor)
    log_rt, qt = _prepare(rate_test, quality_test)
    with warnings.catch_warnings():  # near-flat curves fit badly; the number is still what VCEG-M33 gives
        warnings.simplefilter("ignore", np.RankWarning)
        fit_a = np.polyfit(qa, log_ra, 3)
        fit_t = np.polyfit(qt, log_rt, 3)
    low, high = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if high <= low:
        raise ValueError("the two curves do not overlap in quality")
    int_a = np.polyval(np.polyint(fit_a), high) - np.polyval(np.polyint(fit_a), low)
    int_t = np.polyval(np.polyint(fit_t), high) - np.polyval(np.polyint(fit_t), low)
    avg_diff = (int_t - int_a) / (high - low)
    return float((10 ** avg_diff - 1) * 100)


def bd_psnr(rate_anchor, quality_anchor, rate_test, quality_test) -> float:
    """Average quality difference of the test curve vs the anchor at equal rate; positive = better."""
    log_ra, qa = _prepare(rate_anchor, quality_anchor)
    log_rt, qt = _prepare(rate_test, quality_test)
    fit_a = np.polyfit(log_ra, qa, 3)
    fit_t = np.polyfit(log_rt, qt, 3)
    low, high = max(log_ra.min(), log_rt.min()), min(log_ra.max(), log_rt.max())
    if high <= low:
        raise ValueError("the two curves do not overlap in rate")
    int_a = np.polyval(np.polyint(fit_a), high) - np.polyval(np.polyint(fit_a), low)
    int_t = np.polyval(np.polyint(fit_t), high) - np.polyval(np.polyint(fit_t), low)
    return float((int_t - int_a) / (high - low))
