"""Discrete demand distributions on 0, 1, ..., m (the objects the exact formulas work on)."""
from __future__ import annotations

import numpy as np
from scipy import stats

from .validation import check_array, check_int, check_real

__all__ = ["DiscreteDistribution", "poisson_pmf"]

_TAIL = 1e-12  # probability mass we allow to drop when truncating an infinite support


class DiscreteDistribution:
    """A probability mass function on the integers ``0 … m``: ``pmf[k] = P(D = k)``.

    The pmf must be non-empty, non-negative and sum to one (within 1e-9).
    """

    def __init__(self, pmf):
        pmf = check_array("pmf", pmf, ndim=1, nonnegative=True)
        total = pmf.sum()
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"pmf must sum to 1 (a normalized distribution), got {total:.12g}")
        self.pmf = pmf / total

    @classmethod
    def from_sample(cls, sample):
        """The empirical distribution of a sample of non-negative integers."""
        x = check_array("sample", sample, ndim=1, nonnegative=True)
        if np.any(x != np.round(x)):
            raise ValueError("sample must hold integers for a discrete distribution")
        return cls(np.bincount(x.astype(int)) / x.size)

    @property
    def support(self):
        return np.arange(self.pmf.size)

    @property
    def mean(self):
        return float(self.support @ self.pmf)

    @property
    def var(self):
        return float((self.support - self.mean) ** 2 @ self.pmf)

    def cdf(self, y):
        """P(D <= y) for real y (vectorized)."""
        c = np.cumsum(self.pmf)
        idx = np.floor(np.asarray(y, float)).astype(int)
        out = np.where(idx < 0, 0.0, c[np.clip(idx, 0, c.size - 1)])
        return out

    def quantile(self, alpha):
        """Smallest integer y with P(D <= y) >= alpha."""
        alpha = check_real("alpha", alpha, low=0.0, high=1.0)
        c = np.cumsum(self.pmf)
        return int(np.searchsorted(c, alpha - 1e-12))

    def convolve_power(self, n):
        """Distribution of the sum of ``n`` i.i.d. copies (``n >= 1``)."""
        n = check_int("n", n, low=1)
        out = self.pmf
        for _ in range(n - 1):
            out = np.convolve(out, self.pmf)
        return DiscreteDistribution(out / out.sum())

    def expected_positive_part(self, y):
        """E[(y − D)^+] and E[(D − y)^+] for each y (first-order loss functions)."""
        y = np.atleast_1d(np.asarray(y, float))
        d = self.support
        over = np.maximum(y[:, None] - d[None, :], 0.0) @ self.pmf
        under = np.maximum(d[None, :] - y[:, None], 0.0) @ self.pmf
        return over, under

    def __repr__(self):
        return f"DiscreteDistribution(mean={self.mean:.4g}, support=0..{self.pmf.size - 1})"


def poisson_pmf(mean, tail=_TAIL):
    """Poisson(mean) truncated where the remaining tail is below ``tail`` (mass renormalized)."""
    mean = check_real("mean", mean, low=0.0)
    m = int(stats.poisson.isf(tail, mean)) + 1 if mean > 0 else 0
    pmf = stats.poisson.pmf(np.arange(m + 1), mean)
    return DiscreteDistribution(pmf / pmf.sum())
