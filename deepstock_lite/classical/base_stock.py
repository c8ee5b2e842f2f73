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

Every function takes the demand as its one positional argument and everything else by
keyword (``S=``, ``h=``, ``b=``, ``L=``, ``P=``). :func:`optimal_base_stock` and
:func:`base_stock_cost` take any demand law:

* a :class:`~deepstock_lite.core.distributions.DiscreteDemand`, a ``scipy.stats``
  discrete law or a demand process of :mod:`deepstock_lite.core.demand`: exact (the
  lead-time laws are exact convolutions, no truncation);
* a normal or gamma ``scipy.stats`` law: exact (closed under sums; the cost is integrated
  to about 1e-10 relative);
* any other continuous ``scipy.stats`` law (lognormal, Weibull, ...): with ``L = 0`` and
  ``P = 1`` it is the newsvendor (integrated, 1e-10); otherwise the demand is rounded to a
  grid of ``step`` units and the lead-time laws are convolved. The solution's ``error``
  bounds the absolute cost error:
  :math:`\max(h, b)\,\bar n\,E|D_\delta - D|`, :math:`\bar n = L + (P+1)/2`.

:func:`base_stock_normal` and :func:`base_stock_cost_normal` are the closed forms for a
normal law (``stats.norm(mu, sigma)``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ..core.continuous import ContinuousDemand, as_demand_law
from ..core.distributions import DiscreteDemand
from ..core.validation import check_int, check_real
from .newsvendor import check_S_levels, normal_parameters, as_result, critical_ratio

__all__ = ["BaseStockSolution", "optimal_base_stock", "base_stock_cost", "base_stock_normal",
           "base_stock_cost_normal"]

_MAX_L, _MAX_P = 1000, 1000


@dataclass(frozen=True, kw_only=True)
class BaseStockSolution:
    S: float     #: optimal order-up-to level for the inventory position
    cost: float  #: expected holding + shortage cost per period
    error: float = 0.0  #: bound on the absolute error of ``cost`` (0: exact up to rounding)


def _check_lead_and_review(L, P):
    """``(L, P)``: the lead time and the review period, checked."""
    return check_int("L", L, low=0, high=_MAX_L), check_int("P", P, low=1, high=_MAX_P)


def _check_hb(h, b):
    critical_ratio(h=h, b=b)  # validates h, b
    return float(h), float(b)


# -- the lead-time laws D_{L+1+j}, j = 0..P-1 -----------------------------------------------
class _Leads:
    """The P lead-time laws as (offset, scale, law): D_n = offset + scale * X_n."""

    def __init__(self, law, L, P, step):
        self.n = list(range(L + 1, L + P + 1))
        self.error = 0.0
        if isinstance(law, DiscreteDemand):
            self.kind = "discrete"
            self.parts = [(0.0, 1.0, law.sum_of(n)) for n in self.n]
        elif law.is_normal or law.law.dist.name == "gamma" or len(self.n) == 1 and L == 0:
            self.kind = "continuous"
            self.parts = [(0.0, 1.0, _sum_continuous(law, n)) for n in self.n]
        else:
            self.kind = "grid"
            step = law.std / 1000 if step is None else check_real(
                "step", step, low=0.0, low_open=True)
            offset, one, err = law.discretize(step)
            self.step, self.unit_error = step, err
            self.parts = [(n * offset, step, one.sum_of(n)) for n in self.n]

    def cost(self, S, h, b):
        total = 0.0
        for off, scale, d in self.parts:
            y = (S - off) / scale
            total = total + scale * (h * d.expected_excess(y) + b * d.expected_shortfall(y))
        return total / len(self.parts)

    def mean_cdf(self, S):
        return np.mean([d.cdf((S - off) / scale) for off, scale, d in self.parts], axis=0)


def _sum_continuous(law, n):
    if n == 1:
        return law
    f = law.law
    if law.is_normal:
        return ContinuousDemand(stats.norm(n * f.mean(), np.sqrt(n) * f.std()))
    shapes, loc, scale = f.dist._parse_args(*f.args, **f.kwds)
    return ContinuousDemand(stats.gamma(n * shapes[0], loc=n * loc, scale=scale))


def base_stock_cost(demand, *, S, h, b, L=0, P=1, step=None):
    r"""Long-run cost per period :math:`C(S) = \frac1P\sum_j E[h(S - D_{L+1+j})^+ +
    b(D_{L+1+j} - S)^+]` of the base-stock level ``S`` (vectorized in ``S``) for i.i.d.
    demand with law ``demand`` (see the module note for the precision)."""
    L, P = _check_lead_and_review(L, P)
    h, b = _check_hb(h, b)
    leads = _Leads(as_demand_law(demand), L, P, step)
    return as_result(leads.cost(check_S_levels(S), h, b))


def optimal_base_stock(demand, *, h, b, L=0, P=1, step=None):
    r"""Optimal base-stock level and its cost per period, for i.i.d. demand with any law:
    the smallest ``S`` with :math:`\frac1P\sum_j F_{L+1+j}(S) \ge b/(b+h)` (an integer for
    discrete demand; with ``P = 1`` Snyder & Shen 2019, eqs. (4.30)–(4.31)). ``demand``: a
    :class:`~deepstock_lite.core.distributions.DiscreteDemand`, a frozen ``scipy.stats`` law
    or a demand process. ``step``: grid step for continuous laws other than the normal and
    gamma when ``L + P > 1`` (default ``std / 1000``); ``error`` of the solution bounds the
    cost error (see the module note)."""
    L, P = _check_lead_and_review(L, P)
    alpha = critical_ratio(h=h, b=b)
    h, b = float(h), float(b)
    law = as_demand_law(demand)
    if isinstance(law, ContinuousDemand) and law.is_normal:
        return base_stock_normal(law, h=h, b=b, L=L, P=P)
    leads = _Leads(law, L, P, step)
    if leads.kind == "discrete":
        top = leads.parts[-1][2].top
        F = leads.mean_cdf(np.arange(top + 1))
        S = float(min(np.searchsorted(F, alpha - 1e-12), top))
        return BaseStockSolution(S=S, cost=float(leads.cost(S, h, b)))
    if not 0 < alpha < 1:
        raise ValueError("h and b must both be > 0 for continuous demand (otherwise the "
                         f"optimal level is infinite), got h={h}, b={b}")
    if leads.kind == "continuous":
        lo = min(d.quantile(alpha) for _, _, d in leads.parts)
        hi = max(d.quantile(alpha) for _, _, d in leads.parts)
        if hi - lo < 1e-12 * max(1.0, abs(hi)):
            S = hi
        else:
            S = optimize.brentq(lambda s: leads.mean_cdf(s) - alpha, lo, hi, xtol=1e-12,
                                rtol=1e-12)
        return BaseStockSolution(S=float(S), cost=float(leads.cost(S, h, b)))
    # grid: the optimal grid point of the rounded demand
    offs = [off for off, _, _ in leads.parts]
    top = leads.parts[-1][2].top
    grid = offs[0] + leads.step * np.arange(top + 1 + len(offs))
    F = leads.mean_cdf(grid)
    S = float(grid[min(np.searchsorted(F, alpha - 1e-12), grid.size - 1)])
    nbar = L + (P + 1) / 2
    return BaseStockSolution(S=S, cost=float(leads.cost(S, h, b)),
                             error=float(max(h, b) * nbar * leads.unit_error))


def _normal_cost(S, mu, sigma, h, b, L, P):
    total = 0.0
    for j in range(P):
        n = L + 1 + j
        m, s = n * mu, sigma * np.sqrt(n)
        z = (S - m) / s
        loss = stats.norm.pdf(z) - z * stats.norm.sf(z)
        total = total + s * ((h + b) * loss + h * z)
    return as_result(total / P)


def base_stock_cost_normal(demand, *, S, h, b, L=0, P=1):
    r"""``C(S)`` for i.i.d. normal demand ``stats.norm(mu, sigma)`` per period (continuous
    approximation; with ``P = 1`` the newsvendor cost of Snyder & Shen 2019, eq. (4.22), on
    :math:`N((L+1)\mu, (L+1)\sigma^2)`); vectorized in ``S``."""
    L, P = _check_lead_and_review(L, P)
    critical_ratio(h=h, b=b)  # validates h, b
    mu, sigma = normal_parameters(demand, low=0.0)
    return _normal_cost(check_S_levels(S), mu, sigma, h, b, L, P)


def base_stock_normal(demand, *, h, b, L=0, P=1):
    """Optimal base-stock level and cost for normal demand ``stats.norm(mu, sigma)`` per
    period (closed form when ``P = 1``, Snyder & Shen 2019, eqs. (4.30)–(4.31))."""
    L, P = _check_lead_and_review(L, P)
    alpha = critical_ratio(h=h, b=b)
    mu, sigma = normal_parameters(demand, low=0.0)
    if not 0 < alpha < 1:
        raise ValueError("h and b must both be > 0 for normal demand (otherwise the optimal "
                         f"level is infinite), got h={h}, b={b}")
    z = stats.norm.ppf(alpha)
    if P == 1:
        s = sigma * np.sqrt(L + 1)
        return BaseStockSolution(S=float((L + 1) * mu + z * s),
                                 cost=float((h + b) * s * stats.norm.pdf(z)))

    def excess(S):
        return np.mean([stats.norm.cdf(S, n * mu, sigma * np.sqrt(n))
                        for n in range(L + 1, L + P + 1)]) - alpha

    lo = (L + 1) * mu - 40 * sigma * np.sqrt(L + P)
    hi = (L + P) * mu + 40 * sigma * np.sqrt(L + P)
    S = optimize.brentq(excess, lo, hi, xtol=1e-10)
    return BaseStockSolution(S=float(S),
                             cost=_normal_cost(check_S_levels(S), mu, sigma, h, b, L, P))
