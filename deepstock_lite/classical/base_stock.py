r"""Optimal base-stock levels for periodic review with backorders, lead time L and review
period P.

An order placed at a review brings the inventory position to :math:`S`; nothing ordered later
arrives before period :math:`t+L+P`. So the net inventory at the end of period :math:`t+L+j`,
:math:`j = 0,\dots,P-1`, is :math:`S - D_{[t, t+L+j]}`, the demand over :math:`L+1+j` periods,
and the long-run cost per period is

.. math:: C(S) = \frac{1}{P}\sum_{j=0}^{P-1} E\big[h\,(S - D_{L+1+j})^+ + b\,(D_{L+1+j} - S)^+\big].

With :math:`P = 1` this is the newsvendor on lead-time demand: :math:`S^*` is the
:math:`b/(b+h)` quantile of :math:`D_{L+1}` and, for normal demand,
:math:`S^* = (L+1)\mu + z\sigma\sqrt{L+1}`, :math:`g^* = (h+b)\sigma\sqrt{L+1}\varphi(z)`
(Snyder & Shen 2019, §4.3.3, eqs. (4.30)–(4.31)). With :math:`P > 1`, :math:`C` is convex and
:math:`S^*` solves :math:`\frac1P\sum_j F_{L+1+j}(S) = b/(b+h)` (the order-up-to level of the
(R, S) policy, e.g. Axsäter 2015 §6.3 / Zipkin 2000 §7.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ..core.distributions import DiscreteDistribution, poisson_pmf
from ..core.validation import check_int, check_real
from .newsvendor import critical_ratio

__all__ = ["BaseStockSolution", "base_stock_normal", "base_stock_cost_normal",
           "base_stock_discrete", "base_stock_cost_discrete", "base_stock_poisson"]


@dataclass(frozen=True)
class BaseStockSolution:
    S: float     #: optimal order-up-to level for the inventory position
    cost: float  #: expected holding + shortage cost per period


def _LP(L, P):
    return check_int("L", L, low=0), check_int("P", P, low=1)


def base_stock_cost_normal(S, mu, sigma, h, b, L=0, P=1):
    """C(S) for i.i.d. N(mu, sigma²) demand per period (continuous approximation)."""
    L, P = _LP(L, P)
    alpha = critical_ratio(h, b)  # validates h, b
    mu = check_real("mu", mu, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    S = np.asarray(S, float)
    total = 0.0
    for j in range(P):
        n = L + 1 + j
        m, s = n * mu, sigma * np.sqrt(n)
        z = (S - m) / s
        loss = stats.norm.pdf(z) - z * stats.norm.sf(z)
        total = total + s * ((h + b) * loss + h * z)
    del alpha
    out = total / P
    return float(out) if np.ndim(out) == 0 else out


def base_stock_normal(mu, sigma, h, b, L=0, P=1):
    """Optimal base-stock level and cost for normal demand (closed form when P = 1)."""
    L, P = _LP(L, P)
    alpha = critical_ratio(h, b)
    mu = check_real("mu", mu, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    z = stats.norm.ppf(alpha)
    if P == 1:
        s = sigma * np.sqrt(L + 1)
        return BaseStockSolution(S=float((L + 1) * mu + z * s),
                                 cost=float((h + b) * s * stats.norm.pdf(z)))

    def excess(S):
        return np.mean([stats.norm.cdf(S, n * mu, sigma * np.sqrt(n))
                        for n in range(L + 1, L + P + 1)]) - alpha

    lo = (L + 1) * mu - 10 * sigma * np.sqrt(L + P)
    hi = (L + P) * mu + 10 * sigma * np.sqrt(L + P)
    S = optimize.brentq(excess, lo, hi, xtol=1e-10)
    return BaseStockSolution(S=float(S), cost=base_stock_cost_normal(S, mu, sigma, h, b, L, P))


def _lead_time_dists(dist, L, P):
    d = dist.convolve_power(L + 1)
    out = [d]
    for _ in range(P - 1):
        d = DiscreteDistribution(np.convolve(d.pmf, dist.pmf))
        out.append(d)
    return out


def base_stock_cost_discrete(S, pmf, h, b, L=0, P=1):
    """C(S) for i.i.d. integer demand with the given per-period pmf (vectorized in S)."""
    L, P = _LP(L, P)
    critical_ratio(h, b)
    dist = pmf if isinstance(pmf, DiscreteDistribution) else DiscreteDistribution(pmf)
    total = 0.0
    for d in _lead_time_dists(dist, L, P):
        over, under = d.expected_positive_part(S)
        total = total + h * over + b * under
    out = total / P
    return float(out[0]) if np.ndim(S) == 0 else out


def base_stock_discrete(pmf, h, b, L=0, P=1):
    """Optimal integer base-stock level: smallest S with (1/P)Σ_j F_{L+1+j}(S) >= b/(b+h)."""
    L, P = _LP(L, P)
    alpha = critical_ratio(h, b)
    dist = pmf if isinstance(pmf, DiscreteDistribution) else DiscreteDistribution(pmf)
    dists = _lead_time_dists(dist, L, P)
    m = dists[-1].pmf.size
    grid = np.arange(m)
    F = np.mean([d.cdf(grid) for d in dists], axis=0)
    S = int(np.searchsorted(F, alpha - 1e-12))
    return BaseStockSolution(S=float(S), cost=base_stock_cost_discrete(S, dist, h, b, L, P))


def base_stock_poisson(mean, h, b, L=0, P=1):
    """Optimal integer base-stock level and cost for Poisson(mean) demand per period."""
    return base_stock_discrete(poisson_pmf(mean), h, b, L, P)
