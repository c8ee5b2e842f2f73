r"""The newsvendor problem.

Order :math:`S` before demand :math:`D` is seen; pay :math:`h` per unit left over and :math:`b`
per unit short:

.. math:: g(S) = h\,E(S - D)^+ + b\,E(D - S)^+ .

:math:`g` is convex and :math:`g'(S) = (h + b)F(S) - b`, so the optimum is the smallest
:math:`S` with :math:`F(S) \ge b/(b+h)`, the *critical fractile* (Snyder & Shen 2019,
Theorem 4.1 and eq. (4.17)). For normal demand :math:`S^* = \mu + z_\alpha\sigma` and
:math:`g^* = (h+b)\,\sigma\,\varphi(z_\alpha)` (eq. (4.24)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..core.distributions import DiscreteDistribution, poisson_pmf
from ..core.validation import check_array, check_real

__all__ = ["critical_ratio", "NewsvendorSolution", "newsvendor_normal", "newsvendor_cost_normal",
           "newsvendor_discrete", "newsvendor_cost_discrete", "newsvendor_poisson",
           "newsvendor_empirical", "newsvendor_cost_empirical"]


@dataclass(frozen=True)
class NewsvendorSolution:
    S: float      #: optimal order quantity
    cost: float   #: expected cost g(S*)
    ratio: float  #: critical ratio b / (b + h)


def _costs(h, b):
    h = check_real("h", h, low=0.0)
    b = check_real("b", b, low=0.0)
    if h + b == 0:
        raise ValueError("h + b must be > 0 (otherwise every order is optimal)")
    return h, b


def critical_ratio(h, b):
    """The critical fractile b / (b + h)."""
    h, b = _costs(h, b)
    return b / (b + h)


def newsvendor_cost_normal(S, mu, sigma, h, b):
    r"""Expected cost for N(mu, sigma²) demand, via the standard normal loss function
    :math:`L(z) = \varphi(z) - z(1 - \Phi(z))` (Snyder & Shen eq. (4.22)):
    :math:`g(S) = \sigma\,[(h+b)L(z) + h z]` with :math:`z = (S-\mu)/\sigma`."""
    h, b = _costs(h, b)
    mu = check_real("mu", mu)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    z = (np.asarray(S, float) - mu) / sigma
    loss = stats.norm.pdf(z) - z * stats.norm.sf(z)
    out = sigma * ((h + b) * loss + h * z)
    return float(out) if np.ndim(out) == 0 else out


def newsvendor_normal(mu, sigma, h, b):
    """Optimal order and cost for normal demand (Snyder & Shen eqs. (4.23)–(4.24))."""
    alpha = critical_ratio(h, b)
    mu = check_real("mu", mu)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    z = stats.norm.ppf(alpha)
    return NewsvendorSolution(S=float(mu + z * sigma),
                              cost=float((h + b) * sigma * stats.norm.pdf(z)), ratio=alpha)


def _as_dist(pmf):
    return pmf if isinstance(pmf, DiscreteDistribution) else DiscreteDistribution(pmf)


def newsvendor_cost_discrete(S, pmf, h, b):
    """Expected cost g(S) for demand with the given pmf on 0..m (vectorized in S)."""
    h, b = _costs(h, b)
    over, under = _as_dist(pmf).expected_positive_part(S)
    out = h * over + b * under
    return float(out[0]) if np.ndim(S) == 0 else out


def newsvendor_discrete(pmf, h, b):
    """Optimal integer order for any discrete demand: smallest S with F(S) >= b/(b+h)."""
    alpha = critical_ratio(h, b)
    dist = _as_dist(pmf)
    S = dist.quantile(alpha)
    return NewsvendorSolution(S=float(S), cost=newsvendor_cost_discrete(S, dist, h, b),
                              ratio=alpha)


def newsvendor_poisson(mean, h, b):
    """Optimal integer order and cost for Poisson demand."""
    return newsvendor_discrete(poisson_pmf(mean), h, b)


def newsvendor_cost_empirical(S, sample, h, b):
    """Average cost of order S over a demand sample (the sample-average approximation)."""
    h, b = _costs(h, b)
    x = check_array("sample", sample, ndim=1, nonnegative=True)
    S = np.atleast_1d(np.asarray(S, float))
    out = (h * np.maximum(S[:, None] - x, 0) + b * np.maximum(x - S[:, None], 0)).mean(1)
    return float(out[0]) if out.size == 1 else out


def newsvendor_empirical(sample, h, b):
    r"""Data-driven newsvendor (sample-average approximation, Levi, Roundy & Shmoys 2007):
    minimize the average cost over the sample. The minimizer is the
    :math:`\lceil n\,b/(b+h) \rceil`-th smallest observation. ``cost`` is the in-sample cost,
    which is optimistic: evaluate out of sample to see the true cost."""
    alpha = critical_ratio(h, b)
    x = np.sort(check_array("sample", sample, ndim=1, nonnegative=True))
    k = int(np.ceil(x.size * alpha - 1e-12))
    S = float(x[max(k, 1) - 1])
    return NewsvendorSolution(S=S, cost=newsvendor_cost_empirical(S, x, h, b), ratio=alpha)
