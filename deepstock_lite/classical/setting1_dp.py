r"""The benchmark of the DeepStock paper's Setting 1: an exact finite-horizon dynamic program
on the empirical per-day demand laws (Xie et al. 2026; Bertsekas 2017, Ch. 1).

Setting 1 as the authors' code runs it: days :math:`t = 0, \dots, T-1` (:math:`T = 31`),
backlog, lead time :math:`L = 1`, review every :math:`P = 2` days from day 2, no order whose
arrival falls after the horizon (orders on days 2, 4, …, 28), integer orders
:math:`0 \dots 100`, initial stock 0. With :math:`L = 1` nothing is in transit at the start
of a day, so the state is the net inventory :math:`I_t` after arrival, and

.. math::
    V_t(I) = E\,c_t(I - D_t) + \min_{0 \le q \le q_{max}} E\,V_{t+1}(I - D_t + q)
    \quad\text{(review days; } q = 0 \text{ otherwise)}, \qquad V_T \equiv 0,

with :math:`c_t(e) = (h\,e^+ + b\,e^-)/(T-3)` on the costed days :math:`3 \dots T-1` and 0
before. :math:`D_t` follows the empirical law of column :math:`t` of the training data,
independently over days. The loss of a policy on data is the authors' loss: per trajectory
:math:`h` times the mean over days :math:`3 \dots T-1` of the end-of-day stock plus :math:`b`
times the mean backlog, then the mean over trajectories; it is computed by running the
policy in :func:`deepstock_lite.core.simulator.simulate`.

Because :math:`E V_{t+1}(y - D_t)` is convex in :math:`y`, the optimal policy is a base
stock capped by :math:`q_{max}`: order :math:`\min((S_t - I)^+, q_{max})`. The solver checks
that its table has this form, so the policy extends to any state (and to non-integer data).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.simulator import InventorySystem, simulate
from ..core.validation import check_array, check_int, check_real

__all__ = ["Setting1Solution", "solve_setting1_dp", "setting1_loss", "setting1_system"]

FIRST_REVIEW, P, L, COST_START = 2, 2, 1, 3


def setting1_system(*, h=0.1, b=0.9):
    """The simulator system of Setting 1 (backlog, L = 1, P = 2, first order on day 2)."""
    return InventorySystem(L=L, P=P, h=h, b=b, backlog=True, first_review=FIRST_REVIEW)


def _review_days(T):
    # an order placed on day t is on hand on day t + L; it must arrive by day T - 1
    return [t for t in range(FIRST_REVIEW, T - L) if (t - FIRST_REVIEW) % P == 0]


def setting1_loss(policy, demand, *, h=0.1, b=0.9, per_trajectory=False):
    """The authors' loss of ``policy`` on ``demand`` (shape ``(n, T)``): ``h``·mean over days
    ``3..T-1`` of the end-of-day stock + ``b``·mean backlog, averaged over trajectories."""
    D = check_array("demand", demand, ndim=(1, 2), nonnegative=True)
    D = np.atleast_2d(D)
    if D.shape[1] <= COST_START:
        raise ValueError(f"demand must have more than {COST_START} days, got {D.shape[1]}")
    res = simulate(setting1_system(h=h, b=b), policy, D)
    loss = res.cost[:, COST_START:].mean(1)
    return loss if per_trajectory else float(loss.mean())


@dataclass
class Setting1Solution:
    """The optimal policy of the empirical DP: ``targets[t]`` is the order-up-to level
    :math:`S_t` of review day ``t``; the order is ``min((S_t - I)^+, max_order)``."""
    targets: dict
    expected_loss: float            # the DP value: expected loss under the empirical laws
    grid: np.ndarray = field(repr=False)          # net-inventory states of the table
    order_table: np.ndarray = field(repr=False)   # (review days, grid) optimal orders
    review_days: list = field(repr=False, default_factory=list)
    h: float = 0.1
    b: float = 0.9
    max_order: int = 100

    def order(self, t, inventory):
        """Optimal order on day ``t`` at net inventory ``inventory`` (array or scalar)."""
        inv = np.asarray(inventory, float)
        if t not in self.targets:
            return np.zeros_like(inv)
        return np.clip(self.targets[t] - inv, 0.0, float(self.max_order))

    def act(self, state):
        """Policy interface of the simulator (with L = 1 the position is the on-hand stock)."""
        return self.order(state.t, state.position)

    def loss(self, demand, per_trajectory=False):
        """The authors' loss of this policy on ``demand`` (shape ``(n, T)``)."""
        return setting1_loss(self, demand, h=self.h, b=self.b, per_trajectory=per_trajectory)


def _empirical_laws(D):
    laws = []
    for col in D.T:
        vals, cnt = np.unique(col.astype(np.int64), return_counts=True)
        laws.append((vals, cnt / cnt.sum()))
    return laws


def solve_setting1_dp(train_demand, *, h=0.1, b=0.9, max_order=100):
    r"""Solve the Setting 1 DP on the per-day empirical laws of ``train_demand``
    (shape ``(n_train, T)``, integers, ``T > 4``; the paper has ``T = 31``)."""
    D = check_array("train_demand", train_demand, ndim=2, nonnegative=True)
    if np.any(D != np.round(D)):
        raise ValueError("train_demand must hold integer demands (the DP runs on integers)")
    T = D.shape[1]
    if T <= COST_START + 1:
        raise ValueError(f"train_demand must have more than {COST_START + 1} days, got {T}")
    h = check_real("h", h, low=0.0)
    b = check_real("b", b, low=0.0)
    max_order = check_int("max_order", max_order, low=0)
    laws = _empirical_laws(D)
    dmax = int(D.max())
    # every reachable net inventory lies in [lo, hi]: no order can fall below -sum of the
    # maxima; hi leaves room above any sensible target (checked below)
    lo = -int(D.max(0).sum()) - 1
    hi = max_order + 3 * dmax + 1
    grid = np.arange(lo, hi + 1)
    n = grid.size
    reviews = _review_days(T)
    weight = 1.0 / (T - COST_START)

    def expect(f, t, shift):
        """E f(grid + shift - D_t) on the grid (indices clipped at the grid's ends, which
        only unreachable states touch)."""
        vals, probs = laws[t]
        idx = np.clip(np.arange(n)[:, None] + shift - vals[None, :], 0, n - 1)
        return f[idx] @ probs

    cost = weight * (h * np.maximum(grid, 0) + b * np.maximum(-grid, 0))
    V = np.zeros(n)
    table, targets = {}, {}
    win = np.arange(max_order + 1)
    for t in range(T - 1, -1, -1):
        stage = expect(cost, t, 0) if t >= COST_START else np.zeros(n)
        W = expect(V, t, 0)  # W[j] = E V_{t+1}(y - D_t) at order-up-to position y = grid[j]
        if t in reviews:
            idx = np.arange(n)[:, None] + win[None, :]
            Wwin = np.where(idx < n, W[np.minimum(idx, n - 1)], np.inf)
            q = np.argmin(Wwin, axis=1)              # first minimum: the smallest order
            S_t = int(grid[np.argmin(W)])
            if S_t >= hi - max_order:
                raise RuntimeError(f"target {S_t} on day {t} too close to the grid top {hi}")
            rule = np.clip(S_t - grid, 0, max_order)
            # the table is exact on the states reachable on day t (no clipping below)
            reach = grid >= -int(D.max(0)[:t].sum())
            if not np.array_equal(q[reach], rule[reach]):
                raise RuntimeError(f"day {t}: DP table is not a capped base stock")
            table[t], targets[t] = q, S_t
            V = stage + Wwin[np.arange(n), q]
        else:
            V = stage + W
    value = float(V[np.searchsorted(grid, 0)])
    order_table = np.array([table[t] for t in reviews])
    return Setting1Solution(targets=dict(sorted(targets.items())), expected_loss=value,
                            grid=grid, order_table=order_table, review_days=reviews, h=h,
                            b=b, max_order=max_order)
