"""Bjontegaard delta rate and delta PSNR over the overlapping quality (or rate) interval.

method="cubic": VCEG-M33, a cubic polynomial fit of log-rate vs quality. method="pchip": piecewise cubic
Hermite interpolation (as in JVET's common test conditions), which stays faithful to curves that
flatten out (e.g. a similarity that saturates near 1) where the single cubic swings wildly.
"""
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


def _mean_gap(x_anchor, y_anchor, x_test, y_test, what: str, method: str = "cubic") -> float:
    """Mean of (test curve - anchor curve), y as a function of x, over the common x range."""
    low, high = max(x_anchor.min(), x_test.min()), min(x_anchor.max(), x_test.max())
    if high <= low:
        raise ValueError(f"the two curves do not overlap in {what}")
    if method == "pchip":
        from scipy.interpolate import PchipInterpolator
        areas = []
        for x, y in ((x_anchor, y_anchor), (x_test, y_test)):
            order = np.argsort(x)
            if np.any(np.diff(x[order]) <= 0):
                raise ValueError(f"pchip needs strictly increasing {what} values")
            areas.append(PchipInterpolator(x[order], y[order]).integrate(low, high))
        return float((areas[1] - areas[0]) / (high - low))
    if method != "cubic":
        raise ValueError(f"unknown BD method {method!r}")
    with warnings.catch_warnings():  # near-flat curves fit badly; the number is still what VCEG-M33 gives
        warnings.simplefilter("ignore", np.RankWarning)
        fit_a = np.polyint(np.polyfit(x_anchor, y_anchor, 3))
        fit_t = np.polyint(np.polyfit(x_test, y_test, 3))
    area_a = np.polyval(fit_a, high) - np.polyval(fit_a, low)
    area_t = np.polyval(fit_t, high) - np.polyval(fit_t, low)
    return float((area_t - area_a) / (high - low))


def bd_rate(rate_anchor, quality_anchor, rate_test, quality_test, method: str = "cubic") -> float:
    """Average bitrate difference (%) of the test curve vs the anchor at equal quality; negative = savings."""
    log_ra, qa = _prepare(rate_anchor, quality_anchor)
    log_rt, qt = _prepare(rate_test, quality_test)
    return float((10 ** _mean_gap(qa, log_ra, qt, log_rt, "quality", method) - 1) * 100)


def bd_psnr(rate_anchor, quality_anchor, rate_test, quality_test, method: str = "cubic") -> float:
    """Average quality difference of the test curve vs the anchor at equal rate; positive = better."""
    log_ra, qa = _prepare(rate_anchor, quality_anchor)
    log_rt, qt = _prepare(rate_test, quality_test)
    return _mean_gap(log_ra, qa, log_rt, qt, "rate", method)
