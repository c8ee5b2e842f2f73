"""Interval estimates for the book's comparisons (over seeds, draws or paired differences)."""
from __future__ import annotations

import math

from scipy import stats

from .validation import check_array, check_real

__all__ = ["t_interval"]


def t_interval(x, level=0.95):
    """``{"mean", "low", "high", "n"}``: the mean of ``x`` and its two-sided Student-t
    interval (:mod:`scipy.stats.t`, ``n − 1`` degrees of freedom); the bounds are NaN for
    fewer than two values, or when every value is the same (no spread to estimate)."""
    x = check_array("x", x, ndim=1, allow_empty=True)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": n}
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}
