"""Seeded demand processes. ``sample(n_paths, horizon, seed)`` returns a float array of shape
``(n_paths, horizon)`` of non-negative demands; discrete processes also give the per-period
:class:`~deepstock_lite.core.distributions.DiscreteDistribution` the exact formulas need."""
from __future__ import annotations

import numpy as np
from scipy import stats

from .distributions import DiscreteDistribution, poisson_pmf
from .seeding import make_rng
from .validation import check_int, check_real

__all__ = ["DemandProcess", "Poisson", "Normal", "UniformInteger", "NegativeBinomial",
           "FromArray"]


class DemandProcess:
    """Base class: i.i.d. demand per period unless a subclass says otherwise."""

    def sample(self, n_paths, horizon, seed=None):
        n_paths = check_int("n_paths", n_paths, low=1)
        horizon = check_int("horizon", horizon, low=1)
        return self._sample(n_paths, horizon, make_rng(seed)).astype(float)

    def _sample(self, n, T, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def distribution(self):
        """Per-period demand as a :class:`DiscreteDistribution` (discrete processes only)."""
        raise NotImplementedError(f"{type(self).__name__} has no discrete distribution")


class Poisson(DemandProcess):
    """Poisson demand with the given ``mean`` per period."""

    def __init__(self, mean):
        self.mean = check_real("mean", mean, low=0.0)

    def _sample(self, n, T, rng):
        return rng.poisson(self.mean, size=(n, T))

    def distribution(self):
        return poisson_pmf(self.mean)

    def __repr__(self):
        return f"Poisson(mean={self.mean:g})"


class Normal(DemandProcess):
    """Normal(mean, std²) demand, rounded to the nearest integer and floored at zero.

    The rounding makes it discrete: ``distribution()`` is exact for the rounded variable. The
    closed forms in :mod:`deepstock_lite.classical` use the continuous normal, which is close
    when ``mean`` is several ``std`` above zero.
    """

    def __init__(self, mean, std):
        self.mean = check_real("mean", mean, low=0.0)
        self.std = check_real("std", std, low=0.0, low_open=True)

    def _sample(self, n, T, rng):
        return np.maximum(np.rint(rng.normal(self.mean, self.std, size=(n, T))), 0.0)

    def distribution(self):
        m = int(np.ceil(self.mean + 12 * self.std))
        edges = np.arange(m + 1) + 0.5  # rounded value k collects (k - 0.5, k + 0.5]
        cdf = stats.norm.cdf(edges, self.mean, self.std)
        pmf = np.diff(np.concatenate([[0.0], cdf]))  # k = 0 also collects the negative part
        return DiscreteDistribution(pmf / pmf.sum())

    def __repr__(self):
        return f"Normal(mean={self.mean:g}, std={self.std:g})"


class UniformInteger(DemandProcess):
    """Demand uniform on the integers ``low, low+1, …, high`` (both included)."""

    def __init__(self, low, high):
        self.low = check_int("low", low, low=0)
        self.high = check_int("high", high, low=self.low)

    def _sample(self, n, T, rng):
        return rng.integers(self.low, self.high + 1, size=(n, T))

    def distribution(self):
        pmf = np.zeros(self.high + 1)
        pmf[self.low:] = 1.0 / (self.high - self.low + 1)
        return DiscreteDistribution(pmf)

    def __repr__(self):
        return f"UniformInteger({self.low}, {self.high})"


class NegativeBinomial(DemandProcess):
    """Negative binomial demand with the given ``mean`` and ``var`` (``var > mean``): an
    over-dispersed Poisson, typical of slow-moving e-commerce items.

    numpy's parametrization: ``n = mean² / (var − mean)``, ``p = n / (n + mean)``.
    """

    def __init__(self, mean, var):
        self.mean = check_real("mean", mean, low=0.0, low_open=True)
        self.var = check_real("var", var, low=self.mean, low_open=True)
        self.n = self.mean ** 2 / (self.var - self.mean)
        self.p = self.n / (self.n + self.mean)

    def _sample(self, n, T, rng):
        return rng.negative_binomial(self.n, self.p, size=(n, T))

    def distribution(self):
        m = int(stats.nbinom.isf(1e-12, self.n, self.p)) + 1
        pmf = stats.nbinom.pmf(np.arange(m + 1), self.n, self.p)
        return DiscreteDistribution(pmf / pmf.sum())

    def __repr__(self):
        return f"NegativeBinomial(mean={self.mean:g}, var={self.var:g})"


class FromArray(DemandProcess):
    """Resample whole rows of a fixed array of demand trajectories (shape ``(n, T)``)."""

    def __init__(self, demand):
        from .validation import check_demand
        self.demand = check_demand("demand", demand)

    def _sample(self, n, T, rng):
        if T > self.demand.shape[1]:
            raise ValueError(f"horizon must be <= {self.demand.shape[1]} for this array")
        rows = rng.integers(0, self.demand.shape[0], size=n)
        return self.demand[rows, :T]
