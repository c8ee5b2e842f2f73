r"""The newsvendor problem.

Order :math:`S` before demand :math:`D` is seen; pay :math:`h` per unit left over and :math:`b`
per unit short:

.. math:: g(S) = h\,E(S - D)^+ + b\,E(D - S)^+ .

:math:`g` is convex and :math:`g'(S) = (h + b)F(S) - b`, so the optimum is the smallest
:math:`S` with :math:`F(S) \ge b/(b+h)`, the *critical fractile* (Snyder & Shen 2019,
Theorem 4.1 and eq. (4.17)). For normal demand :math:`S^* = \mu + z_\alpha\sigma` and
:math:`g^* = (h+b)\,\sigma\,\varphi(z_\alpha)` (eq. (4.24)).

The documented entry points take keyword arguments and any demand law:
:func:`optimal_newsvendor` and :func:`newsvendor_cost` with ``demand=`` a
:class:`~deepstock_lite.core.distributions.DiscreteDemand` (exact: Poisson, geometric, any
finite pmf) or a frozen ``scipy.stats`` law, discrete or continuous (lognormal, gamma, ...;
the cost is integrated to about 1e-10 relative, see
:class:`~deepstock_lite.core.distributions.ContinuousDemand`). The older
``newsvendor_normal`` / ``_discrete`` / ``_poisson`` functions are thin wrappers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..core.distributions import (ContinuousDemand, DiscreteDemand, as_demand_law,
                                   as_discrete_demand)
from ..core.validation import MAX_QUANTITY, check_array, check_real

__all__ = ["critical_ratio", "NewsvendorSolution", "optimal_newsvendor", "newsvendor_cost",
           "newsvendor_cost_poisson", "newsvendor_normal", "newsvendor_cost_normal",
           "newsvendor_discrete", "newsvendor_cost_discrete", "newsvendor_poisson",
           "newsvendor_empirical", "newsvendor_cost_empirical"]


@dataclass(frozen=True)
class NewsvendorSolution:
    S: float      #: optimal order quantity
    cost: float   #: expected cost g(S*)
    ratio: float  #: critical ratio b / (b + h)


def _costs(h, b):
    h = check_real("h", h, low=0.0, high=MAX_QUANTITY)
    b = check_real("b", b, low=0.0, high=MAX_QUANTITY)
    if h + b == 0:
        raise ValueError("h + b must be > 0 (otherwise every order is optimal)")
    return h, b


def critical_ratio(h, b):
    """The critical fractile b / (b + h)."""
    h, b = _costs(h, b)
    return b / (b + h)


def _levels(S):
    from ..core.distributions import _real_levels
    return _real_levels("S", S)


def _out(x):
    return float(x) if np.ndim(x) == 0 else np.asarray(x, float)


def newsvendor_cost(S, *, demand, h, b):
    r"""Expected cost :math:`g(S) = h E(S - D)^+ + b E(D - S)^+` (vectorized in ``S``).

    ``demand``: a :class:`~deepstock_lite.core.distributions.DiscreteDemand` or a frozen
    ``scipy.stats`` law (discrete or continuous)."""
    h, b = _costs(h, b)
    law = as_demand_law(demand)
    S = _levels(S)
    return _out(h * law.expected_excess(S) + b * law.expected_shortfall(S))


def optimal_newsvendor(*, demand, h, b):
    """Optimal order and expected cost for any demand law: the smallest ``S`` with
    ``F(S) >= b/(b+h)`` (an integer for discrete demand).

    ``demand``: a :class:`~deepstock_lite.core.distributions.DiscreteDemand` (e.g.
    ``DiscreteDemand.poisson(6)``, ``DiscreteDemand.geometric(5)``) or a frozen
    ``scipy.stats`` law such as ``stats.lognorm(0.4, scale=50)``. Discrete laws are exact;
    continuous costs are integrated to about 1e-10 relative (closed form for the normal).
    """
    alpha = critical_ratio(h, b)
    law = as_demand_law(demand)
    if isinstance(law, ContinuousDemand) and law.is_normal:
        return newsvendor_normal(law.mean, law.std, h, b)
    S = float(law.quantile(alpha)) if isinstance(law, DiscreteDemand) else law.quantile(
        min(max(alpha, 1e-15), 1 - 1e-15))
    return NewsvendorSolution(S=S, cost=newsvendor_cost(S, demand=law, h=h, b=b), ratio=alpha)


def newsvendor_cost_poisson(S, mean, *, h, b):
    """Expected cost at order ``S`` for Poisson(``mean``) demand (exact, vectorized)."""
    return newsvendor_cost(S, demand=DiscreteDemand.poisson(mean), h=h, b=b)


def newsvendor_cost_normal(S, mu, sigma, h, b):
    r"""Expected cost for N(mu, sigma²) demand, via the standard normal loss function
    :math:`L(z) = \varphi(z) - z(1 - \Phi(z))` (Snyder & Shen eq. (4.22)):
    :math:`g(S) = \sigma\,[(h+b)L(z) + h z]` with :math:`z = (S-\mu)/\sigma`."""
    h, b = _costs(h, b)
    mu = check_real("mu", mu, low=-1e15, high=1e15)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True, high=1e15)
    z = (_levels(S) - mu) / sigma
    loss = stats.norm.pdf(z) - z * stats.norm.sf(z)
    return _out(sigma * ((h + b) * loss + h * z))


def newsvendor_normal(mu, sigma, h, b):
    """Optimal order and cost for normal demand (Snyder & Shen eqs. (4.23)–(4.24))."""
    alpha = critical_ratio(h, b)
    mu = check_real("mu", mu, low=-1e15, high=1e15)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True, high=1e15)
    z = stats.norm.ppf(min(max(alpha, 1e-300), 1.0))
    if not np.isfinite(z):  # b = 0 or h = 0: the optimum runs off to -inf or +inf
        raise ValueError("h and b must both be > 0 for normal demand (otherwise the "
                         f"optimal order is infinite), got h={h}, b={b}")
    cost = (h + b) * sigma * stats.norm.pdf(z)
    return NewsvendorSolution(S=float(mu + z * sigma), cost=float(cost), ratio=alpha)


def _as_dist(pmf):
    return as_discrete_demand(pmf=pmf) if not isinstance(pmf, DiscreteDemand) else pmf


def newsvendor_cost_discrete(S, pmf, h, b):
    """Expected cost g(S) for demand with the given pmf on 0..m (or a
    :class:`~deepstock_lite.core.distributions.DiscreteDemand`); vectorized in S.
    Same as :func:`newsvendor_cost`."""
    return newsvendor_cost(S, demand=_as_dist(pmf), h=h, b=b)


def newsvendor_discrete(pmf, h, b):
    """Optimal integer order for any discrete demand: smallest S with F(S) >= b/(b+h).
    Same as :func:`optimal_newsvendor`."""
    return optimal_newsvendor(demand=_as_dist(pmf), h=h, b=b)


def newsvendor_poisson(mean, h, b):
    """Optimal integer order and cost for Poisson demand (exact, no truncation)."""
    return optimal_newsvendor(demand=DiscreteDemand.poisson(mean), h=h, b=b)


def _sample(sample):
    x = check_array("sample", sample, ndim=1, nonnegative=True)
    if x.max() > 1e15:
        raise ValueError("sample must hold demands at most 1e15")
    return x


def newsvendor_cost_empirical(S, sample, h, b):
    """Average cost of order S over a demand sample (the sample-average approximation)."""
    h, b = _costs(h, b)
    x = _sample(sample)
    S = _levels(S)
    if S.ndim > 1:
        raise ValueError(f"S must be a number or a 1-D array, got shape {S.shape}")
    S = np.atleast_1d(S)
    if S.size * x.size > 50_000_000:
        raise ValueError("S and sample are too large together (more than 5e7 pairs)")
    out = (h * np.maximum(S[:, None] - x, 0) + b * np.maximum(x - S[:, None], 0)).mean(1)
    return float(out[0]) if out.size == 1 else out


def newsvendor_empirical(sample, h, b):
    r"""Data-driven newsvendor (sample-average approximation, Levi, Roundy & Shmoys 2007):
    minimize the average cost over the sample. The minimizer is the
    :math:`\lceil n\,b/(b+h) \rceil`-th smallest observation. ``cost`` is the in-sample cost,
    which is optimistic: evaluate out of sample to see the true cost."""
    alpha = critical_ratio(h, b)
    x = np.sort(_sample(sample))
    k = int(np.ceil(x.size * alpha - 1e-12))
    S = float(x[max(k, 1) - 1])
    return NewsvendorSolution(S=S, cost=newsvendor_cost_empirical(S, x, h, b), ratio=alpha)
