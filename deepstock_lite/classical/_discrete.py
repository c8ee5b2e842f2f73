"""Integer demand laws shared by the exact methods of Part I (``s_S``, ``lost_sales``).

A law is known through its head pmf ``P(D = 0..n-1)`` (computed on demand, to any length) and
its mean. That is all the exact methods need: every expectation they take is either a finite
sum over the head (``E(y - D)^+``) or follows from the mean (``E(D - y)^+ = E D - y +
E(y - D)^+``), so Poisson and geometric demand are handled without truncation error.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..core.validation import check_array, check_int, check_real

__all__ = ["DiscreteDemand", "as_demand"]

_PMF_TOL = 1e-9  # how far from 1 a user pmf may sum


class DiscreteDemand:
    """Law of a non-negative integer demand per period.

    Build it with :meth:`poisson`, :meth:`geometric` or :meth:`from_pmf` (finite support
    ``0..m``). :meth:`sum_of` gives the law of the total of ``k`` i.i.d. periods.
    """

    def __init__(self, head_fn, mean, name):
        self._head_fn = head_fn
        self.mean = float(mean)
        self.name = name

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def poisson(cls, mean):
        """Poisson(``mean``) demand, ``mean > 0``."""
        mean = check_real("mean", mean, low=0.0, low_open=True)
        return cls(lambda n: stats.poisson.pmf(np.arange(n), mean), mean, f"Poisson({mean:g})")

    @classmethod
    def geometric(cls, mean):
        """Geometric demand on {0, 1, 2, ...}: ``P(D = k) = (1 - q) q^k``, ``q = mean/(1+mean)``."""
        mean = check_real("mean", mean, low=0.0, low_open=True)
        q = mean / (1.0 + mean)
        return cls(lambda n: (1 - q) * q ** np.arange(n), mean, f"Geometric(mean={mean:g})")

    @classmethod
    def from_pmf(cls, pmf):
        """Demand with ``P(D = k) = pmf[k]``, ``k = 0..m``; ``pmf`` must sum to 1."""
        p = check_array("pmf", pmf, ndim=1, nonnegative=True)
        if abs(p.sum() - 1.0) > _PMF_TOL:
            raise ValueError(f"pmf must sum to 1 (within {_PMF_TOL:g}), got {p.sum():.12g}")
        p = p / p.sum()

        def head(n):
            out = np.zeros(n)
            k = min(n, p.size)
            out[:k] = p[:k]
            return out

        return cls(head, float(np.arange(p.size) @ p), f"pmf(0..{p.size - 1})")

    def sum_of(self, k):
        """Law of the total demand of ``k >= 1`` i.i.d. periods (the lead-time demand)."""
        k = check_int("k", k, low=1)
        if k == 1:
            return self

        def head(n):
            # the head of a convolution of non-negative laws only needs the heads: exact
            one = self.head(n)
            out = one
            for _ in range(k - 1):
                out = np.convolve(out, one)[:n]
            return out

        return DiscreteDemand(head, k * self.mean, f"{k} x {self.name}")

    # -- quantities used by the exact methods ----------------------------------------------
    def head(self, n):
        """``P(D = j)`` for ``j = 0..n-1``."""
        return np.asarray(self._head_fn(int(n)), float) if n > 0 else np.zeros(0)

    @property
    def p0(self):
        return float(self.head(1)[0])

    def expected_excess(self, y):
        """``E(y - D)^+`` for integer ``y`` (array or scalar); 0 for ``y <= 0``."""
        y = np.asarray(y)
        top = int(max(np.max(y), 0))
        p = self.head(top + 1)
        # E(y - D)^+ = sum_{j<y} F(j), F the cdf: a cumulative sum of the cdf
        cdf = np.cumsum(p)
        cum = np.concatenate(([0.0], np.cumsum(cdf)))  # cum[y] = sum_{j<y} F(j)
        return np.where(y > 0, cum[np.clip(y, 0, top)], 0.0)

    def expected_shortfall(self, y):
        """``E(D - y)^+`` for integer ``y``, from the mean: ``E D - y + E(y - D)^+``."""
        y = np.asarray(y)
        return self.mean - y + self.expected_excess(y)

    def quantile(self, ratio):
        """Smallest integer ``y >= 0`` with ``P(D <= y) >= ratio`` (the newsvendor fractile)."""
        ratio = check_real("ratio", ratio, low=0.0, high=1.0, low_open=True, high_open=True)
        n = max(16, int(2 * self.mean) + 16)
        while True:
            cdf = np.cumsum(self.head(n))
            hit = np.flatnonzero(cdf >= ratio - 1e-12)
            if hit.size:
                return int(hit[0])
            n *= 2

    def __repr__(self):
        return f"DiscreteDemand({self.name}, mean={self.mean:g})"


def as_demand(demand=None, *, mean=None, pmf=None):
    """Read the demand arguments of a public function: exactly one of ``demand`` (a
    :class:`DiscreteDemand`, or a :class:`deepstock_lite.core.distributions.
    DiscreteDistribution`), ``mean`` (Poisson demand of that mean) or ``pmf``."""
    given = [a is not None for a in (demand, mean, pmf)]
    if sum(given) != 1:
        raise ValueError("give exactly one of demand (a DiscreteDemand), mean (Poisson) or pmf")
    if demand is not None:
        from ..core.distributions import DiscreteDistribution
        if isinstance(demand, DiscreteDistribution):
            return DiscreteDemand.from_pmf(demand.pmf)
        if not isinstance(demand, DiscreteDemand):
            raise TypeError(f"demand must be a DiscreteDemand, got {type(demand).__name__}")
        return demand
    if mean is not None:
        return DiscreteDemand.poisson(mean)
    return DiscreteDemand.from_pmf(pmf)
