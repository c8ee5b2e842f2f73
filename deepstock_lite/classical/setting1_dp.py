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

Every function takes the demand as its one positional argument and everything else by
keyword (``policy=``, ``h=``, ``b=``, ...). For :func:`solve_setting1_dp` and
:func:`setting1_expected_loss` the demand is the per-day laws :math:`D_t`: a 2-D array of
integer trajectories (day :math:`t` follows the empirical law of column :math:`t`) or a
sequence of one integer demand law per day (e.g. the paper's uniform law on
:math:`\{\ell_t, \dots, \ell_t + 4\}`); :func:`setting1_expected_loss` computes the exact
expected loss of *any* Setting 1 policy under them, by propagating the law of the net
inventory day by day (no Monte Carlo). For :func:`setting1_loss` it is the demand paths the
policy is run on.

**Ties.** When the critical fractile hits a step of an empirical cdf exactly (with 10
training trajectories the cdf moves in steps of 0.1 and :math:`b/(b+h) = 0.9`), several
order-up-to levels have the same expected cost up to rounding noise of about
:math:`10^{-16}`. Ties are broken as in :mod:`deepstock_lite.classical.lost_sales`: every
level within a relative ``tie_tol`` (default :math:`10^{-12}`) of the minimum counts as a
minimizer and the smallest is chosen, so the result does not depend on rounding noise.

**Precision.** Empirical and finite laws are exact up to rounding. A law with an unbounded
support (Poisson, geometric) is cut at its ``top``, where the tail is below
:math:`10^{-16}` per day (see :mod:`deepstock_lite.core.distributions`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.distributions import DiscreteDemand, as_discrete_demand
from ..core.simulator import InventoryState, InventorySystem, simulate
from ..core.validation import MAX_QUANTITY, check_array, check_int, check_real

__all__ = ["Setting1Solution", "solve_setting1_dp", "setting1_loss", "setting1_system",
           "setting1_expected_loss"]

FIRST_REVIEW, P, L, COST_START = 2, 2, 1, 3
_MAX_T = 10_000
_MAX_GRID = 2_000_000


def setting1_system(*, h=0.1, b=0.9):
    """The simulator system of Setting 1 (backlog, L = 1, P = 2, first order on day 2)."""
    return InventorySystem(L=L, P=P, h=h, b=b, backlog=True, first_review=FIRST_REVIEW)


def _review_days(T):
    # an order placed on day t is on hand on day t + L; it must arrive by day T - 1
    return [t for t in range(FIRST_REVIEW, T - L) if (t - FIRST_REVIEW) % P == 0]


def setting1_loss(demand, *, policy, h=0.1, b=0.9, per_trajectory=False):
    """The authors' loss of ``policy`` on ``demand`` (shape ``(n, T)``): ``h``·mean over days
    ``3..T-1`` of the end-of-day stock + ``b``·mean backlog, averaged over trajectories
    (Xie et al. 2026; the loss of the module note)."""
    D = check_array("demand", demand, ndim=(1, 2), nonnegative=True)
    D = np.atleast_2d(D)
    if D.shape[1] <= COST_START:
        raise ValueError(f"demand must have more than {COST_START} days, got {D.shape[1]}")
    res = simulate(setting1_system(h=h, b=b), policy, D)
    loss = res.cost[:, COST_START:].mean(1)
    return loss if per_trajectory else float(loss.mean())


@dataclass(kw_only=True)
class Setting1Solution:
    """The optimal policy of the DP: ``targets[t]`` is the order-up-to level
    :math:`S_t` of review day ``t``; the order is ``min((S_t - I)^+, max_order)``."""
    targets: dict
    expected_loss: float            # the DP value: expected loss under the laws it solved
    grid: np.ndarray = field(repr=False)          # net-inventory states of the table
    order_table: np.ndarray = field(repr=False)   # (review days, grid) optimal orders
    review_days: list = field(repr=False, default_factory=list)
    h: float = 0.1
    b: float = 0.9
    max_order: int = 100

    def order(self, t, inventory):
        """Optimal order on day ``t`` at net inventory ``inventory`` (array or scalar)."""
        inv = np.asarray(check_real("inventory", inventory, low=-MAX_QUANTITY,
                                    high=MAX_QUANTITY, allow_array=True), float)
        if t not in self.targets:
            return np.zeros_like(inv)
        return np.clip(self.targets[t] - inv, 0.0, float(self.max_order))

    def act(self, state):
        """Policy interface of the simulator (with L = 1 the position is the on-hand stock)."""
        return self.order(state.t, state.position)

    def loss(self, demand, *, per_trajectory=False):
        """The authors' loss of this policy on ``demand`` (shape ``(n, T)``)."""
        return setting1_loss(demand, policy=self, h=self.h, b=self.b,
                             per_trajectory=per_trajectory)

    def exact_loss(self, demand):
        """Exact expected loss of this policy under the per-day laws ``demand`` (see
        :func:`setting1_expected_loss`)."""
        return setting1_expected_loss(demand, policy=self, h=self.h, b=self.b)


def _read_laws(laws, name="demand"):
    """Per-day laws as a list of (values, probabilities), values integer ascending.

    ``laws``: a 2-D array of integer demand trajectories (each column's empirical law) or a
    sequence of per-day integer laws (:class:`~deepstock_lite.core.distributions.
    DiscreteDemand`, frozen ``scipy.stats`` discrete laws or finite pmfs)."""
    if isinstance(laws, np.ndarray) and laws.dtype != object:
        D = check_array(name, laws, ndim=2, nonnegative=True)
        if np.any(D != np.round(D)):
            raise ValueError(f"{name} must hold integer demands (the DP runs on integers)")
        if D.max() > 1e6:
            raise ValueError(f"{name} must hold demands at most 1e6, got {D.max():g}")
        out = []
        for col in D.T:
            vals, cnt = np.unique(col.astype(np.int64), return_counts=True)
            out.append((vals, cnt / cnt.sum()))
        return out
    if isinstance(laws, (str, bytes)) or not hasattr(laws, "__len__"):
        raise TypeError(f"{name} must be a sequence of per-day demand laws or a 2-D array "
                        f"of trajectories, got {type(laws).__name__}")
    if len(laws) > _MAX_T:
        raise ValueError(f"{name} must cover at most {_MAX_T} days, got {len(laws)}")
    out = []
    for t, law in enumerate(laws):
        try:
            if isinstance(law, (list, tuple, np.ndarray)):
                d = DiscreteDemand(law)   # a finite pmf on 0..m
            else:
                d = as_discrete_demand(law, name=f"{name}[{t}]")
        except (ValueError, TypeError) as e:
            if f"{name}[{t}]" in str(e):
                raise
            raise type(e)(f"{name}[{t}]: {e}") from None
        p = d.pmf
        if p.size > 1_000_000:
            raise ValueError(f"{name}[{t}] has a support above 1e6 units")
        vals = np.flatnonzero(p > 0)
        out.append((vals.astype(np.int64), p[vals]))
    return out


def _first_within(values, mins, tol):
    """Index of the first entry of each row within ``tol`` of the row's minimum."""
    return np.argmax(values <= mins[:, None] + tol, axis=1)


def solve_setting1_dp(demand, *, h=0.1, b=0.9, max_order=100, tie_tol=1e-12):
    r"""Solve the Setting 1 DP (the Bellman equation of the module note) on per-day demand
    laws ``demand``: a 2-D array of training trajectories (shape ``(n_train, T)``, integers,
    ``T > 4``; the paper has ``T = 31``), each day following its column's empirical law, or a
    sequence of one integer demand law per day. Ties between order-up-to levels within a
    relative ``tie_tol`` go to the smaller level (see the module note)."""
    dlaws = _read_laws(demand)
    T = len(dlaws)
    if T <= COST_START + 1:
        raise ValueError(f"demand must cover more than {COST_START + 1} days, got {T}")
    h = check_real("h", h, low=0.0, low_open=True, high=MAX_QUANTITY)
    b = check_real("b", b, low=0.0, low_open=True, high=MAX_QUANTITY)
    max_order = check_int("max_order", max_order, low=0, high=100_000)
    tie_tol = check_real("tie_tol", tie_tol, low=0.0, high=1e-3)
    maxima = np.array([v[-1] for v, _ in dlaws])
    dmax = int(maxima.max())
    # every reachable net inventory lies in [lo, hi]: no order can fall below -sum of the
    # maxima; hi leaves room above any sensible target (checked below)
    lo = -int(maxima.sum()) - 1
    hi = max_order + 3 * dmax + 1
    if hi - lo > _MAX_GRID:
        raise ValueError(f"the DP grid would have {hi - lo:,} states (more than "
                         f"{_MAX_GRID:,}): lower max_order or the demand")
    grid = np.arange(lo, hi + 1)
    n = grid.size
    reviews = _review_days(T)
    weight = 1.0 / (T - COST_START)

    def expect(f, t):
        """E f(grid - D_t) on the grid (indices clipped at the grid's bottom, which only
        unreachable states touch)."""
        vals, probs = dlaws[t]
        out = np.zeros(n)
        for v, pr in zip(vals, probs):
            out += pr * f[np.clip(np.arange(n) - v, 0, n - 1)]
        return out

    cost = weight * (h * np.maximum(grid, 0) + b * np.maximum(-grid, 0))
    V = np.zeros(n)
    table, targets = {}, {}
    win = np.arange(max_order + 1)
    for t in range(T - 1, -1, -1):
        stage = expect(cost, t) if t >= COST_START else np.zeros(n)
        W = expect(V, t)  # W[j] = E V_{t+1}(y - D_t) at order-up-to position y = grid[j]
        if t in reviews:
            tol = tie_tol * max(1.0, float(np.abs(W).min()))
            idx = np.arange(n)[:, None] + win[None, :]
            Wwin = np.where(idx < n, W[np.minimum(idx, n - 1)], np.inf)
            q = _first_within(Wwin, Wwin.min(axis=1), tol)  # ties: the smallest order
            S_t = int(grid[np.argmax(W <= W.min() + tol)])  # ties: the smallest level
            if S_t >= hi - max_order:
                raise RuntimeError(f"target {S_t} on day {t} too close to the grid top {hi}")
            rule = np.clip(S_t - grid, 0, max_order)
            # the table is exact on the states reachable on day t (no clipping below)
            reach = grid >= -int(maxima[:t].sum())
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


def setting1_expected_loss(demand, *, policy, h=0.1, b=0.9, max_states=1_000_000):
    r"""Exact expected loss of a Setting 1 ``policy`` when day ``t``'s demand follows
    ``demand[t]``, independently over days (no Monte Carlo).

    ``demand``: one integer demand law per day, or a 2-D array of integer trajectories (each
    day then follows its column's empirical law). ``policy``: anything
    :func:`~deepstock_lite.core.simulator.simulate` accepts (an object with
    ``act(state)`` or a callable of the state), e.g. a :class:`Setting1Solution`. The law of
    the net inventory is propagated day by day; the loss is the authors' (``h`` per unit on
    hand, ``b`` per unit backordered at the end of each day ``3..T-1``, averaged over those
    days). Orders need not be integers; the support of the inventory law is capped at
    ``max_states`` values.
    """
    from ..core.simulator import policy_function
    dlaws = _read_laws(demand)
    T = len(dlaws)
    if T <= COST_START:
        raise ValueError(f"demand must cover more than {COST_START} days, got {T}")
    h = check_real("h", h, low=0.0, high=MAX_QUANTITY)
    b = check_real("b", b, low=0.0, high=MAX_QUANTITY)
    max_states = check_int("max_states", max_states, low=1, high=100_000_000)
    act = policy_function(policy)
    system = setting1_system(h=h, b=b)
    x, p = np.zeros(1), np.ones(1)   # law of the net inventory at the start of the day
    total = 0.0
    for t in range(T):
        if system.is_review(t) and t < T - L:   # later orders arrive after the horizon
            state = InventoryState(x.copy(), np.zeros((x.size, 0)), L, t=t)
            q = np.asarray(act(state), float).reshape(-1)
            if q.size == 1:
                q = np.full(x.size, q[0])
            if q.shape != x.shape or not np.all(np.isfinite(q)) or np.any(q < 0):
                raise ValueError(f"policy must return one finite order >= 0 per state on day "
                                 f"{t}, got shape {q.shape}")
        else:
            q = np.zeros(x.size)
        vals, probs = dlaws[t]
        end = x[:, None] - vals[None, :]
        w = p[:, None] * probs[None, :]
        if t >= COST_START:
            total += float((w * (h * np.maximum(end, 0) + b * np.maximum(-end, 0))).sum())
        nxt = (end + q[:, None]).ravel()
        key = np.round(nxt, 9)
        x, inv = np.unique(key, return_inverse=True)
        p = np.bincount(inv.ravel(), weights=w.ravel())
        if x.size > max_states:
            raise ValueError(f"the inventory law has more than max_states={max_states} "
                             f"values on day {t}")
    return total / (T - COST_START)
