"""Chapter 11's business metrics: stockout rate, turnover time and the objectives built on
them (see :mod:`~deepstock_lite.paper.retail` for the definitions)."""
from __future__ import annotations

import numpy as np

from ..core.validation import check_array, check_choice, check_real

__all__ = ["OBJECTIVES", "retail_metrics", "metrics_from_sums", "daily_cost"]

# "service": J = 100 SR + w TT (the paper's business metrics); "cost": the per-period cost
# h·(end stock) + b·(lost sales), in days of sales
OBJECTIVES = ("service", "cost")


def retail_metrics(stockout, end, sales, demand, floor, *, weight=0.1, objective="service",
                   h=0.1, b=0.9, scale=None):
    r"""Stockout rate, turnover and objective from daily arrays of shape ``(n_skus, days)``.

    ``stockout`` (0/1), ``end`` (end-of-day stock), ``sales`` and ``demand``; ``floor`` is the
    smallest mean daily sales in the turnover denominator. Returns a dict: ``stockout_rate``
    (percent, mean over SKUs of :math:`SR_i`), ``turnover_days`` (mean of :math:`TT_i`),
    ``objective`` :math:`100\,\overline{SR} + w\,\overline{TT}`, ``fill_rate`` (total sales /
    total demand, 1 without demand), ``lost_sales_share`` (1 − fill rate) and the per-SKU arrays
    ``sr_i`` (fraction), ``tt_i`` (days) and ``j_i``.

    Also the per-period cost in days of sales, ``cost`` (mean over SKUs of
    :math:`C_i = \frac{1}{|\mathcal T|}\sum_t (h\,e_{it} + b\,(D_{it} - y_{it}))/\hat s_i`,
    per-SKU ``c_i``), with ``scale`` the SKUs' :math:`\hat s_i` (default 1). With
    ``objective="cost"`` the ``objective`` and ``j_i`` are :math:`\bar C` and :math:`C_i`
    instead of the service objective.
    """
    arrs = []
    for name, a in (("stockout", stockout), ("end", end), ("sales", sales),
                    ("demand", demand)):
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"{name} must be a non-empty 2-D array (n_skus, days), got shape "
                             f"{a.shape}")
        if not np.isfinite(a).all() or (a < 0).any():
            raise ValueError(f"{name} must be finite and non-negative")
        arrs.append(a)
    if len({a.shape for a in arrs}) != 1:
        raise ValueError(f"stockout, end, sales and demand must have the same shape, got "
                         f"{[a.shape for a in arrs]}")
    floor = check_real("floor", floor, low=0.0, low_open=True)
    weight = check_real("weight", weight, low=0.0)
    objective = check_choice("objective", objective, set(OBJECTIVES))
    h = check_real("h", h, low=0.0)
    b = check_real("b", b, low=0.0)
    n, days = arrs[0].shape
    scale = np.ones(n) if scale is None else check_array("scale", scale, ndim=1,
                                                          nonnegative=True)
    if scale.shape != (n,) or (scale <= 0).any():
        raise ValueError(f"scale must hold {n} positive per-SKU scales, got shape {scale.shape}")
    return metrics_from_sums(days, *(a.sum(axis=1) for a in arrs), floor, weight,
                              objective, h, b, 1.0 / scale)


def metrics_from_sums(days, so_sum, end_sum, sales_sum, demand_sum, floor, weight,
                       objective, h, b, inv_s):
    """The single definition of the metrics, from per-SKU sums over ``days`` days."""
    sr = so_sum / days
    tt = (end_sum / days) / np.maximum(sales_sum / days, floor)
    c = (h * end_sum + b * (demand_sum - sales_sum)) * inv_s / days
    j = 100.0 * sr + weight * tt if objective == "service" else c
    tot_d, tot_s = float(demand_sum.sum()), float(sales_sum.sum())
    fill = tot_s / tot_d if tot_d > 0 else 1.0
    return {"stockout_rate": 100.0 * float(sr.mean()),
            "turnover_days": float(tt.mean()),
            "objective": (100.0 * float(sr.mean()) + weight * float(tt.mean())
                          if objective == "service" else float(c.mean())),
            "cost": float(c.mean()),
            "fill_rate": fill, "lost_sales_share": 1.0 - fill,
            "sr_i": sr, "tt_i": tt, "c_i": c, "j_i": j}


def daily_cost(env, stockout, end, lost, inv_s):
    """One counted day's share of the SKU objective: the dense reward is minus this (numpy or
    torch; ``stockout`` may be relaxed)."""
    if env.objective == "service":
        return (100.0 * stockout + env.weight * end * inv_s) / env.n_counted
    return (env.h * end + env.b * lost) * inv_s / env.n_counted
