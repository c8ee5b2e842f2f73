"""Zipkin's lost-sales model: the checked parameters and the per-state quantities (the
period cost and the law of the leftover stock), plus the argument checks the exact methods
share."""
from __future__ import annotations

import numpy as np

from ...core.distributions import as_discrete_demand
from ...core.validation import MAX_QUANTITY, check_int, check_real
from ..s_S import lead_time_law

__all__ = ["LostSalesModel", "backorder_base_stock_level"]


class LostSalesModel:
    """Checked parameters of Zipkin's lost-sales model and the per-state quantities.

    ``demand``: a :class:`~deepstock_lite.core.distributions.DiscreteDemand`, a frozen
    ``scipy.stats`` discrete law or a discrete demand process; ``L >= 1`` the lead time,
    ``h`` the holding cost and ``b`` the lost-sales penalty per unit."""

    def __init__(self, demand, *, L, h, b):
        self.L = check_int("L", L, low=1, high=1000)
        self.h = check_real("h", h, low=0.0, low_open=True, high=MAX_QUANTITY)
        self.b = check_real("b", b, low=0.0, low_open=True, high=MAX_QUANTITY)
        self.demand = as_discrete_demand(demand)
        if self.demand.p0 >= 1.0:
            raise ValueError("demand must not be identically zero (P(D = 0) < 1 required)")
        self.lead = lead_time_law(self.demand, L=self.L)
        self._law = {}

    def period_cost(self, x0):
        """c(x0) = h E(x0 - D)^+ + b E(D - x0)^+ (holding on leftover stock, b per unit lost)."""
        d = self.demand
        return self.h * d.expected_excess(x0) + self.b * d.expected_shortfall(x0)

    def leftover_law(self, S):
        """Matrix ``P[x0, w] = P((x0 - D)^+ = w)`` for ``x0, w = 0..S``."""
        if S not in self._law:
            p = self.demand.head(S + 1)
            tail = np.clip(1.0 - np.concatenate(([0.0], np.cumsum(p)[:-1])), 0.0, 1.0)
            a = np.arange(S + 1)
            diff = a[:, None] - a[None, :]
            P = np.where((diff >= 0) & (a[None, :] >= 1), p[np.clip(diff, 0, S)], 0.0)
            P[:, 0] = tail
            self._law[S] = P
        return self._law[S]

    def backorder_level(self):
        """S_bo: smallest y with P(D_{L+1} <= y) >= b/(b+h) (Zipkin 2008: the optimal
        lost-sales position never exceeds it)."""
        return self.lead.quantile(self.b / (self.b + self.h))

    def describe(self):
        return f"L={self.L}, h={self.h:g}, b={self.b:g}, {self.demand.name}"



def check_tol_iter(tol, max_iter):
    return (check_real("tol", tol, low=1e-12, high=1e6),
            check_int("max_iter", max_iter, low=1, high=10_000_000))



def check_bound(model, max_position):
    S_bo = model.backorder_level()
    if max_position is None:
        return S_bo
    S = check_int("max_position", max_position, low=0, high=10_000_000)
    if S < S_bo:
        raise ValueError(f"max_position must be >= the backorder base-stock level {S_bo} "
                         f"(the optimal position can reach it), got {S}")
    return S


def backorder_base_stock_level(demand, *, L, h, b):
    """Optimal backorder base-stock level: the smallest ``y`` with
    ``P(D_{L+1} <= y) >= b/(b+h)`` (the newsvendor fractile of lead-time demand, Snyder &
    Shen 2019, §4.3.3); the bound of the lost-sales state space (Zipkin 2008)."""
    return LostSalesModel(demand, L=L, h=h, b=b).backorder_level()

