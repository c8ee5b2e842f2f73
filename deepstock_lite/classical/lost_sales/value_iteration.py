r"""Relative value iteration for the lost-sales model: the optimal policy
(:func:`solve_lost_sales`) and the exact long-run cost of any stationary policy
(:func:`evaluate_policy_exact`).

The average-cost optimality equation

.. math:: g + v(x) = c(x_0) + \min_{z} E\, v\big((x_0 - D)^+ + x_1, x_2, \dots, z\big)

is solved by relative value iteration (Puterman 1994, §8.5.5). Each iteration is one
sparse matrix-vector product over the (state, order) pairs and one segmented minimum; the
stopping rule uses the bounds :math:`\min_x (Tv - v) \le g \le \max_x (Tv - v)`, so the
printed cost is certified.
"""
from __future__ import annotations

import numpy as np

from .model import LostSalesModel, check_bound, check_tol_iter
from .policy import LookupPolicy, LostSalesResult, PolicyEvaluation
from .state_space import check_size, StateSpace

__all__ = ["solve_lost_sales", "evaluate_policy_exact"]


def _rvi(step, cost, tol, max_iter):
    """Relative value iteration ``v <- T v - (T v)[0]``; stops when the bounds on the gain,
    min and max of ``T v - v``, are within ``tol`` (Puterman 1994, Thm 8.5.5)."""
    v = np.zeros_like(cost)
    for it in range(1, max_iter + 1):
        tv = cost + step(v)
        diff = tv - v
        lo, hi = float(diff.min()), float(diff.max())
        v = tv - tv[0]
        if hi - lo <= tol:
            return 0.5 * (lo + hi), lo, hi, v, it
    raise RuntimeError(f"value iteration did not reach tol={tol:g} in max_iter={max_iter} "
                       f"iterations (bounds {lo:.6f}..{hi:.6f})")


def solve_lost_sales(demand, *, L, h, b, max_position=None, tol=1e-6, max_iter=20_000):
    r"""Optimal long-run average cost and policy of Zipkin's lost-sales model: relative value
    iteration on :math:`g + v(x) = c(x_0) + \min_z E\,v(x')` (Puterman 1994, §8.5.5).

    ``demand``: a :class:`~deepstock_lite.core.distributions.DiscreteDemand` (e.g.
    ``DiscreteDemand.poisson(5)``, ``DiscreteDemand.geometric(5)``), a frozen ``scipy.stats``
    discrete law or a discrete demand process. ``max_position`` defaults to the backorder
    base-stock level ``S_bo`` (Zipkin 2008) and may not be lower.
    ``tol`` bounds ``upper - lower`` of the certified cost.
    """
    model = LostSalesModel(demand, L=L, h=h, b=b)
    S = check_bound(model, max_position)
    tol, max_iter = check_tol_iter(tol, max_iter)
    check_size(model.L, S, S, all_orders=True)   # memory, before anything is allocated
    space = StateSpace(model, S)
    room = space.room()
    rows = np.repeat(np.arange(space.n), room + 1)           # every (state, order) pair
    z = np.arange(len(rows)) - np.repeat(np.cumsum(room + 1) - (room + 1), room + 1)
    A = space.transitions(rows, z)
    starts = np.concatenate(([0], np.cumsum(room + 1)[:-1]))
    g, lo, hi, v, it = _rvi(lambda v: np.minimum.reduceat(A @ v, starts), space.cost,
                            tol, max_iter)
    orders = argmin_segments(A @ v, starts, room + 1)
    policy = LookupPolicy(space, orders)
    return LostSalesResult(cost=g, lower=lo, upper=hi, policy=policy, values=v,
                           max_position=S, iterations=it, model=model)


def argmin_segments(q, starts, lengths):
    """First position of the minimum in each segment (ties: the smallest order)."""
    mins = np.minimum.reduceat(q, starts)
    seg = np.repeat(np.arange(len(starts)), lengths)
    pos = np.arange(len(q)) - np.repeat(starts, lengths)
    scale = 1e-12 * max(1.0, float(np.abs(mins).max()))
    hit = np.where(q <= mins[seg] + scale, pos, np.iinfo(np.int64).max)
    return np.minimum.reduceat(hit, starts)


# ---------------------------------------------------------------------------------------
# exact evaluation of a stationary policy
# ---------------------------------------------------------------------------------------
def evaluate_orders(space, orders, tol, max_iter, start=None):
    orders = np.asarray(orders)
    if orders.shape != (space.n,):
        raise ValueError(f"policy table must have one order per state ({space.n}), "
                         f"got shape {orders.shape}")
    if np.any(orders < 0) or np.any(orders != np.round(orders)):
        raise ValueError("orders must be non-negative integers")
    orders = orders.astype(np.int64)
    if np.any(orders > space.room()):
        raise ValueError("an order takes the position above max_position "
                         f"({space.S}): raise max_position")
    P = space.transitions(np.arange(space.n), orders)
    if start is not None:
        return _evaluate_from(space, P, orders, start, tol, max_iter)
    try:
        g, lo, hi, v, it = _rvi(lambda v: P @ v, space.cost, tol, max_iter)
    except RuntimeError:
        try:  # a periodic chain: the same gain, from the aperiodic chain (P + I)/2
            g, lo, hi, it = _rvi_aperiodic(P, space.cost, tol, max_iter)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: the policy's long-run cost depends on the starting "
                               "state (several closed classes); pass start= to evaluate it "
                               "from one state") from None
    return PolicyEvaluation(cost=g, lower=lo, upper=hi, iterations=it,
                            policy=LookupPolicy(space, orders))


def _rvi_aperiodic(P, cost, tol, max_iter, tau=0.9):
    """RVI on ``tau P + (1 - tau) I`` with cost ``tau c``: its gain is ``tau`` times ``P``'s,
    and it converges on periodic chains too (Puterman 1994 §8.5.4, the aperiodicity
    transformation)."""
    g, lo, hi, _, it = _rvi(lambda v: tau * (P @ v) + (1.0 - tau) * v, tau * cost,
                            tau * tol, max_iter)
    return g / tau, lo / tau, hi / tau, it


def _evaluate_from(space, P, orders, start, tol, max_iter):
    """Long-run average cost from one ``start`` state: relative value iteration on the states
    the policy can reach from it (one closed class there, whatever the rest of the chain)."""
    st = np.asarray(start)
    if st.shape != (space.L,) or not np.all(np.isfinite(st)) or np.any(st < 0) or \
            np.any(st != np.round(st)):
        raise ValueError(f"start must be {space.L} non-negative integers (on hand, then the "
                         f"orders in transit), got {start!r}")
    k = int(space.lookup(st.astype(np.int64)[None, :])[0])
    if k < 0:
        raise ValueError(f"start {tuple(int(x) for x in st)} is outside the evaluated states "
                         f"(position <= {space.S}): raise max_position")
    seen = np.zeros(space.n, bool)
    seen[k] = True
    frontier = np.array([k])
    P = P.tocsr()
    while frontier.size:        # breadth-first search over the transitions with P > 0
        nxt = np.unique(P[frontier].indices)
        frontier = nxt[~seen[nxt]]
        seen[frontier] = True
    idx = np.flatnonzero(seen)
    sub = P[idx][:, idx]
    try:
        g, lo, hi, it = _rvi_aperiodic(sub, space.cost[idx], tol, max_iter)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}: from start {tuple(int(x) for x in st)} the policy can "
                           "still end in closed classes of different costs") from None
    return PolicyEvaluation(cost=g, lower=lo, upper=hi, iterations=it,
                            policy=LookupPolicy(space, orders))


def evaluate_policy_exact(demand, *, policy, L, h, b, max_position=None, tol=1e-6,
                          max_iter=50_000, start=None):
    r"""Exact long-run average cost of a stationary policy (relative value iteration on
    :math:`g + v = c + P_\pi v`, Puterman 1994 §8.5).

    ``policy`` is a :class:`LookupPolicy`, or a function ``f(states) -> orders`` applied to
    the ``(n, L)`` integer array of all states ``(x0, ..., x_{L-1})`` with position
    ``<= max_position`` (default: the backorder base-stock level). The policy must keep the
    position after ordering within ``max_position``. A :class:`LookupPolicy` is evaluated on
    its own table unless ``max_position`` is given.

    A policy whose chain has several closed classes (a learned policy can have them: e.g. one
    that never orders once the stock is gone) has a cost that depends on where it starts; the
    default (one gain for every state) then raises ``RuntimeError``. ``start`` (on hand, then the
    orders in transit, oldest first) evaluates it from that state instead.
    """
    model = LostSalesModel(demand, L=L, h=h, b=b)
    S = check_bound(model, max_position) if max_position is not None else None
    tol, max_iter = check_tol_iter(tol, max_iter)
    if isinstance(policy, LookupPolicy):
        if policy.L != model.L:
            raise ValueError(f"policy is for L={policy.L}, model has L={model.L}")
        cap = policy._space.cap if S is None else None
        space = StateSpace(model, policy.max_position if S is None else S, cap=cap)
        orders = policy.order_many(space.states)
    elif callable(policy):
        space = StateSpace(model, model.backorder_level() if S is None else S)
        orders = np.asarray(policy(space.states.copy()))
    else:
        raise TypeError("policy must be a LookupPolicy or a function of the states array")
    return evaluate_orders(space, orders, tol, max_iter, start)

