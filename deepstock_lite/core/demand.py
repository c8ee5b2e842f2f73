"""Seeded demand processes. ``sample(n_paths, horizon, seed)`` returns a float array of shape
``(n_paths, horizon)`` of non-negative demands; discrete processes also give the per-period
law (:class:`~deepstock_lite.core.distributions.DiscreteDemand`) the exact formulas need,
so a process can be passed as the demand of the functions of
:mod:`deepstock_lite.classical`."""
from __future__ import annotations

import numpy as np
from scipy import stats

from .distributions import MAX_SUPPORT, DiscreteDemand
from .seeding import make_rng
from .validation import check_int, check_real

__all__ = ["DemandProcess", "Poisson", "Normal", "UniformInteger", "NegativeBinomial",
           "FromArray"]


_MAX_DRAWS = 100_000_000  # largest sample (n_paths * horizon) drawn at once
_MAX_MEAN = 1e9           # demand parameters above this are surely a unit mistake


class DemandProcess:
    """Base class: i.i.d. demand per period unless a subclass says otherwise."""

    def sample(self, n_paths, horizon, seed=None):
        n_paths = check_int("n_paths", n_paths, low=1, high=_MAX_DRAWS)
        horizon = check_int("horizon", horizon, low=1, high=_MAX_DRAWS)
        if n_paths * horizon > _MAX_DRAWS:
            raise ValueError(f"n_paths * horizon must be at most {_MAX_DRAWS:,}, got "
                             f"{n_paths * horizon:,}")
        return self._sample(n_paths, horizon, make_rng(seed)).astype(float)

    def _sample(self, n, T, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def distribution(self):
        """Per-period demand law, a :class:`~deepstock_lite.core.distributions.DiscreteDemand`
        (discrete processes only)."""
        raise NotImplementedError(f"{type(self).__name__} has no discrete distribution")


class Poisson(DemandProcess):
    """Poisson demand with the given ``mean`` per period."""

    def __init__(self, mean):
        self.mean = check_real("mean", mean, low=0.0, high=_MAX_MEAN)

    def _sample(self, n, T, rng):
        return rng.poisson(self.mean, size=(n, T))

    def distribution(self):
        """The exact Poisson law (no truncation)."""
        return DiscreteDemand.poisson(self.mean)

    def __repr__(self):
        return f"Poisson(mean={self.mean:g})"


class Normal(DemandProcess):
    """Normal(mean, std²) demand, rounded to the nearest integer and floored at zero.

    The rounding makes it discrete: ``distribution()`` is exact for the rounded variable. The
    closed forms in :mod:`deepstock_lite.classical` use the continuous normal, which is close
    when ``mean`` is several ``std`` above zero.
    """

    def __init__(self, mean, std):
        self.mean = check_real("mean", mean, low=0.0, high=_MAX_MEAN)
        self.std = check_real("std", std, low=0.0, low_open=True, high=_MAX_MEAN)

    def _sample(self, n, T, rng):
        return np.maximum(np.rint(rng.normal(self.mean, self.std, size=(n, T))), 0.0)

    def distribution(self):
        m = int(np.ceil(self.mean + 12 * self.std))
        if m >= MAX_SUPPORT:
            raise ValueError(f"mean + 12 std must be below {MAX_SUPPORT:,} for the discrete "
                             f"law of a Normal process, got {m:,}")
        edges = np.arange(m + 1) + 0.5  # rounded value k collects (k - 0.5, k + 0.5]
        cdf = stats.norm.cdf(edges, self.mean, self.std)
        pmf = np.diff(np.concatenate([[0.0], cdf]))  # k = 0 also collects the negative part
        return DiscreteDemand(pmf / pmf.sum())

    def __repr__(self):
        return f"Normal(mean={self.mean:g}, std={self.std:g})"


class UniformInteger(DemandProcess):
    """Demand uniform on the integers ``low, low+1, …, high`` (both included)."""

    def __init__(self, low, high):
        self.low = check_int("low", low, low=0, high=MAX_SUPPORT - 1)
        self.high = check_int("high", high, low=self.low, high=MAX_SUPPORT - 1)

    def _sample(self, n, T, rng):
        return rng.integers(self.low, self.high + 1, size=(n, T))

    def distribution(self):
        pmf = np.zeros(self.high + 1)
        pmf[self.low:] = 1.0 / (self.high - self.low + 1)
        return DiscreteDemand(pmf)

    def __repr__(self):
        return f"UniformInteger({self.low}, {self.high})"


class NegativeBinomial(DemandProcess):
    """Negative binomial demand with the given ``mean`` and ``var`` (``var > mean``): an
    over-dispersed Poisson, typical of slow-moving e-commerce items.

    numpy's parametrization: ``n = mean² / (var − mean)``, ``p = n / (n + mean)``.
    """

    def __init__(self, mean, var):
        self.mean = check_real("mean", mean, low=0.0, low_open=True, high=_MAX_MEAN)
        self.var = check_real("var", var, low=self.mean, low_open=True, high=1e18)
        self.n = self.mean ** 2 / (self.var - self.mean)
        self.p = self.n / (self.n + self.mean)

    def _sample(self, n, T, rng):
        return rng.negative_binomial(self.n, self.p, size=(n, T))

    def distribution(self):
        """The exact negative binomial law (no truncation)."""
        try:
            return DiscreteDemand.from_scipy(stats.nbinom(self.n, self.p))
        except ValueError as e:
            raise ValueError(f"mean={self.mean:g}, var={self.var:g}: {e}") from None

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
