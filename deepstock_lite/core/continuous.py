r"""Continuous demand laws for the formulas of Part I: :class:`ContinuousDemand` (a frozen
``scipy.stats`` continuous law, its loss functions and its rounding to a grid), and
:func:`as_demand_law`, which reads the demand argument of the classical functions as either
kind of law (the discrete one is :mod:`deepstock_lite.core.distributions`'
:class:`~deepstock_lite.core.distributions.DiscreteDemand`).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .distributions import (MAX_SUPPORT, DiscreteDemand, as_discrete_demand, check_levels,
                            is_scipy_law, too_large)
from .validation import check_real

__all__ = ["ContinuousDemand", "as_demand_law"]


class ContinuousDemand:
    r"""A continuous demand law: a frozen ``scipy.stats`` continuous distribution with a
    finite mean (e.g. ``stats.lognorm(0.4, scale=50)``, ``stats.gamma(4, scale=5)``,
    ``stats.norm(50, 8)``).

    **Precision.** :meth:`expected_excess` / :meth:`expected_shortfall` integrate the cdf /
    survival function with ``scipy.integrate.quad`` to a relative error of about
    :math:`10^{-10}` (closed forms for the normal law). :meth:`discretize` rounds the
    demand to a grid; its ``error`` bounds :math:`E|D_\delta - D|`.
    """

    def __init__(self, law):
        if not is_scipy_law(law, stats.rv_continuous):
            raise TypeError("law must be a frozen scipy.stats continuous distribution, got "
                            f"{type(law).__name__}")
        self.law = law
        self.mean, self.var = float(law.mean()), float(law.var())
        if not (np.isfinite(self.mean) and np.isfinite(self.var)) or self.var <= 0:
            raise ValueError("law must have a finite mean and a finite positive variance")
        self.std = math.sqrt(self.var)
        self.lo, self.hi = (float(v) for v in law.support())
        self.name = f"{law.dist.name}{tuple(round(float(a), 6) for a in law.args)}"
        self.is_normal = law.dist.name == "norm"

    def cdf(self, y):
        return self.law.cdf(check_levels("y", y))

    def quantile(self, ratio):
        ratio = check_real("ratio", ratio, low=0.0, high=1.0, low_open=True, high_open=True)
        return float(self.law.ppf(ratio))

    def _one(self, y):
        """(E(y - D)^+, E(D - y)^+) at one real y."""
        from scipy import integrate
        if y <= self.lo:
            return 0.0, self.mean - y
        if y >= self.hi:
            return y - self.mean, 0.0
        if self.is_normal:
            mu, s = self.law.mean(), self.law.std()
            z = (y - mu) / s
            under = s * (stats.norm.pdf(z) - z * stats.norm.sf(z))
            return y - mu + under, under
        kw = dict(epsabs=1e-12 * max(1.0, self.std), epsrel=1e-10, limit=200)
        if self.law.cdf(y) >= 0.5:
            under = integrate.quad(self.law.sf, y, self.hi, **kw)[0]
            return y - self.mean + under, under
        over = integrate.quad(self.law.cdf, self.lo, y, **kw)[0]
        return over, self.mean - y + over

    def expected_excess(self, y):
        """``E(y - D)^+`` for real ``y`` (vectorized)."""
        y = check_levels("y", y)
        out = np.vectorize(lambda v: self._one(v)[0], otypes=[float])(y)
        return float(out) if out.ndim == 0 else out

    def expected_shortfall(self, y):
        """``E(D - y)^+`` for real ``y`` (vectorized)."""
        y = check_levels("y", y)
        out = np.vectorize(lambda v: self._one(v)[1], otypes=[float])(y)
        return float(out) if out.ndim == 0 else out

    def discretize(self, step, tail=1e-10):
        r"""Round the demand to the grid ``offset + k * step``: returns ``(offset, law,
        error)`` with ``law`` a :class:`DiscreteDemand` of the index ``k`` and
        ``error`` a bound on :math:`E|D_\delta - D|` (half a step plus the mass beyond the
        ``tail`` quantiles, which is moved to the end points)."""
        step = check_real("step", step, low=0.0, low_open=True, high=1e15)
        tail = check_real("tail", tail, low=1e-300, high=0.01)
        q_lo, q_hi = float(self.law.ppf(tail)), float(self.law.isf(tail))
        k0, k1 = math.floor(q_lo / step), math.ceil(q_hi / step)
        if k1 - k0 + 1 > MAX_SUPPORT:
            too_large(f"discretizing with step={step:g}", k1 - k0 + 1)
        edges = (np.arange(k0, k1 + 1) + 0.5) * step
        F = self.law.cdf(edges)
        F[-1] = 1.0
        pmf = np.diff(np.concatenate(([0.0], F)))
        error = 0.5 * step + self.expected_excess(q_lo) + self.expected_shortfall(q_hi)
        return k0 * step, DiscreteDemand(np.clip(pmf, 0.0, None) / pmf.sum()), float(error)

    def __repr__(self):
        return f"ContinuousDemand({self.name}, mean={self.mean:.4g})"


def as_demand_law(demand, name="demand"):
    """A :class:`DiscreteDemand` or :class:`ContinuousDemand` from what a user passes as the
    demand of a function of :mod:`deepstock_lite.classical`: either law, a frozen
    ``scipy.stats`` law (discrete or continuous), or a demand process of
    :mod:`deepstock_lite.core.demand` (its per-period law)."""
    if isinstance(demand, (DiscreteDemand, ContinuousDemand)):
        return demand
    if is_scipy_law(demand, stats.rv_continuous):
        return ContinuousDemand(demand)
    if demand is None:
        raise TypeError(f"{name} is required: a DiscreteDemand or a scipy.stats law")
    return as_discrete_demand(demand, name=name)
