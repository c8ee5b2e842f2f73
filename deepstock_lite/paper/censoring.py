r"""Lost-sales censoring: the shop sees sales :math:`\min(D, x^+)`, not demand.
:func:`censor` censors a demand by a stock; :func:`observed_sales` gives the sales of a
lost-sales simulation. (Features are built from observed sales, so censoring propagates into
what a policy sees: :meth:`~deepstock_lite.paper.catalogue.Catalogue.features`.)
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_array

__all__ = ["censor", "observed_sales"]


def censor(demand, available):
    r"""Lost-sales censoring: observed sales :math:`\min(D, x)` and the censored-day mask.

    ``demand`` and ``available`` (start-of-day on-hand stock, after that day's arrival) have
    the same shape. A day is *censored* when the stock ran out, :math:`D \ge x`: its sales
    equal the stock and are only a lower bound on demand (this includes :math:`D = x`, where
    the shop cannot tell whether more would have sold, and days that start empty). The
    censored days are exactly the days that end out of stock, the stockout rate's days.
    Returns ``(sales, censored)``.
    """
    D = check_array("demand", demand, nonnegative=True)
    x = check_array("available", available, nonnegative=True)
    if D.shape != x.shape:
        raise ValueError(f"demand and available must have the same shape, got {D.shape} "
                         f"and {x.shape}")
    return np.minimum(D, x), D >= x


def observed_sales(result):
    """``(sales, censored)`` of a lost-sales
    :class:`~deepstock_lite.core.simulator.SimulationResult`, each of shape (n, T); see
    :func:`censor`. Under backlog demand is recorded as orders, so there is no censoring to
    model: a backlog result raises ``ValueError``."""
    for attr in ("system", "demand", "start_on_hand"):
        if not hasattr(result, attr):
            raise TypeError(f"result must be a SimulationResult, got {type(result).__name__}")
    if result.system.backlog:
        raise ValueError("result must come from a lost-sales system (backlog=False); "
                         "under backlog the demand itself is observed")
    return censor(result.demand, np.maximum(result.start_on_hand, 0.0))
