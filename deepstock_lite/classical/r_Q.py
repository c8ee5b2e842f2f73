r"""Continuous review :math:`(r, Q)` with a lead time: the textbook approximation.

When the inventory position falls to the reorder point :math:`r`, order :math:`Q` units; they
arrive after a fixed lead time :math:`L`. Demand arrives at rate :math:`\lambda` per unit of
time, and the demand over the lead time is normal, :math:`N(\lambda L, \sigma_L^2)`. Unmet
demand is backordered at a one-time penalty :math:`p` per unit short. The approximate
expected cost per unit of time (Hadley & Whitin's approximation, the "(Q, R)" model of
Nahmias' *Production and Operations Analysis* and the EOQ-with-backorders setting of
Snyder & Shen 2019, Ch. 5) is

.. math:: C(r, Q) = \frac{K\lambda}{Q} + h\Big(\frac{Q}{2} + r - \lambda L\Big)
          + \frac{p\lambda}{Q}\, n(r),

with :math:`n(r) = E(D_L - r)^+ = \sigma_L\,\mathcal{L}(z)` the expected shortage per cycle,
:math:`z = (r - \lambda L)/\sigma_L` and :math:`\mathcal{L}(z) = \varphi(z) - z(1 - \Phi(z))`
the standard normal loss function. Setting both partial derivatives to zero gives

.. math:: Q = \sqrt{\frac{2\lambda\,(K + p\,n(r))}{h}}, \qquad
          1 - F(r) = \frac{Qh}{p\lambda},

and the classical algorithm alternates the two, starting from the EOQ
:math:`Q_0 = \sqrt{2K\lambda/h}`. The approximation counts the mean inventory as
:math:`Q/2 + r - \lambda L` (backorders as negative stock), so it is meaningful only where
:math:`p\lambda > hQ`; there the fixed point is the minimum, and an error is raised when the
iteration leaves that region.

**Calling convention.** As everywhere in :mod:`deepstock_lite.classical`, the demand law is
the one positional argument: ``stats.norm(lam, sigma)``, the demand over **one unit of
time** (the unit in which ``h`` is charged, e.g. a year), exactly as
:func:`~deepstock_lite.classical.base_stock_normal` takes the demand of one period. The
lead time ``L`` is a real number in the same unit, and the lead-time demand is
:math:`N(\lambda L, \sigma^2 L)` (independent increments). A textbook that gives the
lead-time standard deviation :math:`\sigma_L` directly corresponds to
``stats.norm(lam, sigma_L / sqrt(L))``. Costs are keyword-only: ``K=`` per order, ``h=`` per
unit per unit of time, ``p=`` per unit short (a one-time charge, not the per-period backlog
rate ``b`` of the periodic models, hence its own name).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..core.validation import MAX_QUANTITY, check_int, check_real
from .newsvendor import normal_parameters, as_result

__all__ = ["RQSolution", "optimal_r_Q", "r_Q_cost"]


@dataclass(frozen=True, kw_only=True)
class RQSolution:
    r: float                     #: reorder point (inventory position that triggers an order)
    Q: float                     #: order quantity
    cost: float                  #: expected cost per unit of time C(r, Q)
    shortage_per_cycle: float    #: n(r), the expected units short per order cycle
    stockout_probability: float  #: 1 - F(r), the chance that a cycle runs short
    iterations: int              #: number of (Q, r) updates until convergence
    path: tuple = ()             #: the iterates (Q_k, r_k), starting at the EOQ


def _inputs(demand, K, h, p, L):
    K = check_real("K", K, low=0.0, low_open=True, high=MAX_QUANTITY)
    h = check_real("h", h, low=0.0, low_open=True, high=MAX_QUANTITY)
    p = check_real("p", p, low=0.0, low_open=True, high=MAX_QUANTITY)
    L = check_real("L", L, low=0.0, low_open=True, high=1e6)
    lam, sigma = normal_parameters(demand, low=0.0)
    if lam <= 0:
        raise ValueError(f"demand must have a positive mean rate lambda > 0, got {lam:g}")
    return K, h, p, L, lam, sigma * np.sqrt(L)


def _shortage(r, mu_L, sigma_L):
    """n(r) = E(D_L - r)^+ = sigma_L * (phi(z) - z (1 - Phi(z)))."""
    z = (r - mu_L) / sigma_L
    return sigma_L * (stats.norm.pdf(z) - z * stats.norm.sf(z))


def r_Q_cost(demand, *, r, Q, K, h, p, L):
    r"""Expected cost per unit of time of the :math:`(r, Q)` policy,
    :math:`C(r, Q) = K\lambda/Q + h(Q/2 + r - \lambda L) + p\lambda\,n(r)/Q` (see the module
    note; ``demand`` is ``stats.norm(lam, sigma)`` per unit of time). ``r`` and ``Q``
    broadcast against each other (arrays give a grid)."""
    K, h, p, L, lam, sigma_L = _inputs(demand, K, h, p, L)
    r = check_real("r", r, low=-MAX_QUANTITY, high=MAX_QUANTITY, allow_array=True)
    Q = check_real("Q", Q, low=0.0, low_open=True, high=MAX_QUANTITY, allow_array=True)
    mu_L = lam * L
    cost = K * lam / Q + h * (Q / 2 + r - mu_L) + p * lam * _shortage(r, mu_L, sigma_L) / Q
    return as_result(cost)


def optimal_r_Q(demand, *, K, h, p, L, tol=1e-10, max_iter=1000):
    r"""Reorder point and order quantity of the :math:`(r, Q)` policy by the iterative
    algorithm (Hadley & Whitin; Nahmias' "(Q, R)" procedure):

    1. :math:`Q \leftarrow \sqrt{2K\lambda/h}` (the EOQ);
    2. :math:`r \leftarrow F^{-1}(1 - Qh/(p\lambda))` (lead-time demand quantile);
    3. :math:`Q \leftarrow \sqrt{2\lambda(K + p\,n(r))/h}`;
    4. repeat 2-3 until :math:`Q` and :math:`r` move less than ``tol`` (relative).

    ``demand`` is ``stats.norm(lam, sigma)``, the demand per unit of time; lead-time demand
    is :math:`N(\lambda L, \sigma^2 L)`. Raises ``ValueError`` if :math:`Qh \ge p\lambda`
    at some step (the penalty ``p`` is too small for the approximation to have a minimum).
    """
    K, h, p, L, lam, sigma_L = _inputs(demand, K, h, p, L)
    tol = check_real("tol", tol, low=0.0, low_open=True, high=1e-2)
    max_iter = check_int("max_iter", max_iter, low=1, high=1_000_000)
    mu_L = lam * L
    Q = np.sqrt(2 * K * lam / h)                                  # step 1: the EOQ
    path = []
    for it in range(1, max_iter + 1):
        alpha = Q * h / (p * lam)
        if alpha >= 1:
            raise ValueError(
                f"p must be larger for the (r, Q) approximation to have a minimum: need "
                f"p * lambda > h * Q, got p={p:g}, lambda={lam:g}, h={h:g}, Q={Q:g}")
        r = mu_L + sigma_L * stats.norm.isf(alpha)                # step 2: 1 - F(r) = Qh/(p lam)
        path.append((float(Q), float(r)))
        Q_new = np.sqrt(2 * lam * (K + p * _shortage(r, mu_L, sigma_L)) / h)   # step 3
        r_new = mu_L + sigma_L * stats.norm.isf(min(Q_new * h / (p * lam), 1.0))
        if (abs(Q_new - Q) <= tol * Q and abs(r_new - r) <= tol * max(abs(r), sigma_L)):
            Q, r = Q_new, r_new
            break
        Q = Q_new                                                 # step 4: repeat
    else:
        raise RuntimeError(f"the (r, Q) iteration did not converge in max_iter={max_iter} "
                           "steps")
    path.append((float(Q), float(r)))
    n = float(_shortage(r, mu_L, sigma_L))
    cost = K * lam / Q + h * (Q / 2 + r - mu_L) + p * lam * n / Q
    return RQSolution(r=float(r), Q=float(Q), cost=float(cost), shortage_per_cycle=n,
                      stockout_probability=float(Q * h / (p * lam)), iterations=it,
                      path=tuple(path))
