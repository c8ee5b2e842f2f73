r"""The newsvendor problem.

Order :math:`S` before demand :math:`D` is seen; pay :math:`h` per unit left over and :math:`b`
per unit short:

.. math:: g(S) = h\,E(S - D)^+ + b\,E(D - S)^+ .

:math:`g` is convex and :math:`g'(S) = (h + b)F(S) - b`, so the optimum is the smallest
:math:`S` with :math:`F(S) \ge b/(b+h)`, the *critical fractile* (Snyder & Shen 2019,
Theorem 4.1 and eq. (4.17)). For normal demand :math:`S^* = \mu + z_\alpha\sigma` and
:math:`g^* = (h+b)\,\sigma\,\varphi(z_\alpha)` (eq. (4.24)).

Every function takes the demand as its one positional argument and everything else by
keyword (``h=``, ``b=``, ``S=``): :func:`optimal_newsvendor` and :func:`newsvendor_cost` take
any demand law, a :class:`~deepstock_lite.core.distributions.DiscreteDemand` (exact:
Poisson, geometric, any finite pmf), a frozen ``scipy.stats`` law, discrete or continuous
(lognormal, gamma, ...; the cost is integrated to about 1e-10 relative, see
:class:`~deepstock_lite.core.continuous.ContinuousDemand`) or a demand process of
:mod:`deepstock_lite.core.demand`. :func:`newsvendor_normal` and
:func:`newsvendor_cost_normal` are the closed forms for a normal law
(``stats.norm(mu, sigma)``); :func:`newsvendor_empirical` and
:func:`newsvendor_cost_empirical` take a demand sample instead of a law (the
sample-average approximation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..core.continuous import ContinuousDemand, as_demand_law
from ..core.distributions import DiscreteDemand
from ..core.validation import MAX_QUANTITY, check_array, check_real

__all__ = ["critical_ratio", "NewsvendorSolution", "optimal_newsvendor", "newsvendor_cost",
           "newsvendor_normal", "newsvendor_cost_normal", "newsvendor_empirical",
           "newsvendor_cost_empirical"]


@dataclass(frozen=True, kw_only=True)
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


def critical_ratio(*, h, b):
    """The critical fractile b / (b + h) (Snyder & Shen 2019, eq. (4.17))."""
    h, b = _costs(h, b)
    return b / (b + h)


def check_S_levels(S):
    from ..core.distributions import check_levels
    return check_levels("S", S)


def as_result(x):
    return float(x) if np.ndim(x) == 0 else np.asarray(x, float)


def normal_parameters(demand, *, low=-1e15):
    """``(mu, sigma)`` of a normal demand law: ``stats.norm(mu, sigma)`` or a
    :class:`~deepstock_lite.core.continuous.ContinuousDemand` of one (the closed forms of
    this module and :mod:`deepstock_lite.classical.base_stock` need a normal law)."""
    try:
        law = as_demand_law(demand)
    except (TypeError, ValueError) as e:
        if "demand" in str(e):
            raise
        raise type(e)(f"demand: {e}") from None
    if not (isinstance(law, ContinuousDemand) and law.is_normal):
        raise TypeError(f"demand must be a normal law here, stats.norm(mu, sigma), got {law!r} "
                        "(optimal_newsvendor / optimal_base_stock take any law)")
    if not low <= law.mean <= 1e15 or not 0 < law.std <= 1e15:
        raise ValueError(f"demand must have a mean in [{low:g}, 1e+15] and a standard "
                         f"deviation in (0, 1e+15], got {law!r}")
    return law.mean, law.std


def newsvendor_cost(demand, *, S, h, b):
    r"""Expected cost :math:`g(S) = h E(S - D)^+ + b E(D - S)^+` (vectorized in ``S``).

    ``demand``: a :class:`~deepstock_lite.core.distributions.DiscreteDemand`, a frozen
    ``scipy.stats`` law (discrete or continuous) or a demand process."""
    h, b = _costs(h, b)
    law = as_demand_law(demand)
    S = check_S_levels(S)
    return as_result(h * law.expected_excess(S) + b * law.expected_shortfall(S))


def optimal_newsvendor(demand, *, h, b):
    """Optimal order and expected cost for any demand law: the smallest ``S`` with
    ``F(S) >= b/(b+h)`` (Snyder & Shen 2019, Theorem 4.1; an integer for discrete demand).

    ``demand``: a :class:`~deepstock_lite.core.distributions.DiscreteDemand` (e.g.
    ``DiscreteDemand.poisson(6)``, ``DiscreteDemand.geometric(5)``), a frozen
    ``scipy.stats`` law such as ``stats.lognorm(0.4, scale=50)`` or a demand process.
    Discrete laws are exact; continuous costs are integrated to about 1e-10 relative (closed
    form for the normal).
    """
    alpha = critical_ratio(h=h, b=b)
    law = as_demand_law(demand)
    if isinstance(law, ContinuousDemand) and law.is_normal:
        return newsvendor_normal(law, h=h, b=b)
    S = float(law.quantile(alpha)) if isinstance(law, DiscreteDemand) else law.quantile(
        min(max(alpha, 1e-15), 1 - 1e-15))
    return NewsvendorSolution(S=S, cost=newsvendor_cost(law, S=S, h=h, b=b), ratio=alpha)


def newsvendor_cost_normal(demand, *, S, h, b):
    r"""Expected cost for normal demand ``stats.norm(mu, sigma)``, via the standard normal
    loss function :math:`L(z) = \varphi(z) - z(1 - \Phi(z))` (Snyder & Shen eq. (4.22)):
    :math:`g(S) = \sigma\,[(h+b)L(z) + h z]` with :math:`z = (S-\mu)/\sigma`; vectorized
    in ``S``."""
    h, b = _costs(h, b)
    mu, sigma = normal_parameters(demand)
    z = (check_S_levels(S) - mu) / sigma
    loss = stats.norm.pdf(z) - z * stats.norm.sf(z)
    return as_result(sigma * ((h + b) * loss + h * z))


def newsvendor_normal(demand, *, h, b):
    """Optimal order and cost for normal demand ``stats.norm(mu, sigma)`` (Snyder & Shen
    eqs. (4.23)–(4.24))."""
    alpha = critical_ratio(h=h, b=b)
    mu, sigma = normal_parameters(demand)
    z = stats.norm.ppf(min(max(alpha, 1e-300), 1.0))
    if not np.isfinite(z):  # b = 0 or h = 0: the optimum runs off to -inf or +inf
        raise ValueError("h and b must both be > 0 for normal demand (otherwise the "
                         f"optimal order is infinite), got h={h}, b={b}")
    cost = (h + b) * sigma * stats.norm.pdf(z)
    return NewsvendorSolution(S=float(mu + z * sigma), cost=float(cost), ratio=alpha)


def _sample(sample):
    x = check_array("sample", sample, ndim=1, nonnegative=True)
    if x.max() > 1e15:
        raise ValueError("sample must hold demands at most 1e15")
    return x


def newsvendor_cost_empirical(sample, *, S, h, b):
    """Average cost of order ``S`` over a demand ``sample`` (the sample-average
    approximation); vectorized in ``S``."""
    h, b = _costs(h, b)
    x = _sample(sample)
    S = check_S_levels(S)
    if S.ndim > 1:
        raise ValueError(f"S must be a number or a 1-D array, got shape {S.shape}")
    S = np.atleast_1d(S)
    if S.size * x.size > 50_000_000:
        raise ValueError("S and sample are too large together (more than 5e7 pairs)")
    out = (h * np.maximum(S[:, None] - x, 0) + b * np.maximum(x - S[:, None], 0)).mean(1)
    return float(out[0]) if out.size == 1 else out


def newsvendor_empirical(sample, *, h, b):
    r"""Data-driven newsvendor (sample-average approximation, Levi, Roundy & Shmoys 2007):
    minimize the average cost over the demand ``sample``. The minimizer is the
    :math:`\lceil n\,b/(b+h) \rceil`-th smallest observation. ``cost`` is the in-sample cost,
    which is optimistic: evaluate out of sample to see the true cost."""
    alpha = critical_ratio(h=h, b=b)
    x = np.sort(_sample(sample))
    k = int(np.ceil(x.size * alpha - 1e-12))
    S = float(x[max(k, 1) - 1])
    return NewsvendorSolution(S=S, cost=newsvendor_cost_empirical(x, S=S, h=h, b=b),
                              ratio=alpha)
