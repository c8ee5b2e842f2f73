"""The book's metrics, computed in one place.

* average cost per period;
* fill rate: share of demand served from stock in the period it arrives;
* stockout rate: share of periods that *end* out of stock (net inventory <= 0) — the
  DeepStock paper's Alibaba metric;
* turnover time: average end-of-period on-hand stock ÷ average sales per period, in periods
  (days in the paper).

Stockout rate and turnover are ratios, not sums over time: they cannot be written as a
per-period reward, which is why the paper trains on them with an end-of-episode reward.
All functions take arrays of shape ``(n, T)`` and pool over paths and periods ``start…T-1``.
"""
from __future__ import annotations

import numpy as np

from .validation import check_array, check_int

__all__ = ["average_cost", "fill_rate", "stockout_rate", "turnover_time", "summarize"]


def _window(name, x, start, nonnegative=False):
    x = np.atleast_2d(check_array(name, x, ndim=(1, 2), max_abs=1e100,
                                  nonnegative=nonnegative))
    start = check_int("start", start, low=0, high=x.shape[1] - 1)
    return x[:, start:]


def average_cost(cost, start=0):
    """Mean cost per period over all paths and periods ``start…T-1``."""
    return float(_window("cost", cost, start).mean())


def fill_rate(sales, demand, start=0):
    """Σ sales ÷ Σ demand (1.0 when there is no demand at all)."""
    s = _window("sales", sales, start, nonnegative=True)
    d = _window("demand", demand, start, nonnegative=True)
    if s.shape != d.shape:
        raise ValueError(f"sales and demand must have the same shape, got {s.shape}, {d.shape}")
    total = d.sum()
    return float(s.sum() / total) if total > 0 else 1.0


def stockout_rate(end_inventory, start=0):
    """Share of periods whose end-of-period net inventory is <= 0."""
    return float((_window("end_inventory", end_inventory, start) <= 0).mean())


def turnover_time(end_inventory, sales, start=0):
    """Mean end-of-period on-hand stock ÷ mean sales per period (``inf`` with no sales)."""
    e = np.maximum(_window("end_inventory", end_inventory, start), 0.0)
    s = _window("sales", sales, start, nonnegative=True)
    if e.shape != s.shape:
        raise ValueError("end_inventory and sales must have the same shape")
    mean_sales = s.mean()
    return float(e.mean() / mean_sales) if mean_sales > 0 else float("inf")


def summarize(result, start=0):
    """All four metrics of a :class:`~deepstock_lite.core.simulator.SimulationResult`."""
    need = ("cost", "sales", "demand", "end_inventory")
    if not all(hasattr(result, a) for a in need):
        raise TypeError("result must be a SimulationResult (with cost, sales, demand and "
                        f"end_inventory), got {type(result).__name__}")
    return {
        "average_cost": average_cost(result.cost, start),
        "fill_rate": fill_rate(result.sales, result.demand, start),
        "stockout_rate": stockout_rate(result.end_inventory, start),
        "turnover_time": turnover_time(result.end_inventory, result.sales, start),
    }
