"""The classical lost-sales heuristics, each optimized over its parameters and evaluated
exactly: base stock (Zipkin 2008), capped base stock (Xin 2021), myopic (Zipkin 2008) and
constant order (Reiman 2004)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp

from ...core.validation import check_int, check_real
from .model import LostSalesModel, check_tol_iter
from .policy import HeuristicResult
from .state_space import check_size, StateSpace
from .value_iteration import argmin_segments, evaluate_orders

__all__ = ["best_base_stock", "best_capped_base_stock", "myopic_policy",
           "best_constant_order", "lost_sales_heuristics"]


def _capped(model, S, r, tol, max_iter):
    """Capped base stock min((S - position)^+, r), evaluated on its closed class."""
    space = StateSpace(model, S, cap=r)
    orders = np.minimum(np.maximum(S - space.position, 0), r)
    return evaluate_orders(space, orders, tol, max_iter)


def _line_search(f, start, low, high):
    """Minimize an integer function assumed unimodal on [low, high] by walking from
    ``start``; returns (argmin, value, cache)."""
    cache = {}

    def F(x):
        if x not in cache:
            cache[x] = f(x)
        return cache[x]

    x = min(max(start, low), high)
    while True:
        best = x
        for y in (x - 1, x + 1):
            if low <= y <= high and F(y) < F(best):
                best = y
        if best == x:
            return x, F(x), cache
        step = best - x
        x = best
        while low <= x + step <= high and F(x + step) < F(x):
            x += step


def best_base_stock(demand, *, L, h, b, tol=1e-6, max_iter=50_000):
    """Best base-stock policy on the position, ``z = (S - position)^+`` (Zipkin 2008),
    searched over ``S <= S_bo`` (its cost is convex in ``S``: Janakiraman & Roundy 2004)."""
    model = LostSalesModel(demand, L=L, h=h, b=b)
    tol, max_iter = check_tol_iter(tol, max_iter)
    S_bo = model.backorder_level()
    evals = {}

    def f(S):
        evals[S] = _capped(model, S, S, tol, max_iter)
        return evals[S].cost

    S, cost, _ = _line_search(f, S_bo, 0, S_bo)
    return HeuristicResult(name="base stock", params={"S": S}, cost=cost,
                           policy=evals[S].policy)


def best_capped_base_stock(demand, *, L, h, b, tol=1e-6, max_iter=50_000,
                           max_position=None):
    """Best capped base stock, ``z = min((S - position)^+, r)`` (Xin 2021), searched over
    ``r`` and ``S`` (a walk on each axis from the base-stock optimum; the cost surface is
    unimodal in the instances checked). ``S`` may exceed ``S_bo`` up to ``max_position``
    (default ``S_bo + 2 mean``)."""
    model = LostSalesModel(demand, L=L, h=h, b=b)
    tol, max_iter = check_tol_iter(tol, max_iter)
    S_bo = model.backorder_level()
    S_max = (S_bo + int(math.ceil(2 * model.demand.mean)) if max_position is None
             else check_int("max_position", max_position, low=S_bo, high=10_000_000))
    evals = {}

    def cost(S, r):
        if (S, r) not in evals:
            evals[S, r] = _capped(model, S, r, tol, max_iter)
        return evals[S, r].cost

    best_S = {}

    def f_r(r):  # best S for this cap
        near = min(best_S, key=lambda q: abs(q - r)) if best_S else None
        S, c, _ = _line_search(lambda S: cost(S, r), best_S.get(near, S_bo), 0, S_max)
        best_S[r] = S
        return c

    mu = model.demand.mean
    r, c, _ = _line_search(f_r, int(math.ceil(1.5 * mu)), 1, S_max)
    S = best_S[r]
    if S == S_max:
        raise ValueError(f"best capped base stock level reached max_position={S_max}: "
                         "raise max_position")
    return HeuristicResult(name="capped base stock", params={"S": S, "r": r}, cost=c,
                           policy=evals[S, r].policy)


def myopic_policy(demand, *, L, h, b, tol=1e-6, max_iter=50_000):
    r"""Myopic policy (Zipkin 2008, "myopic-1"): order the :math:`z` that minimizes the
    expected cost :math:`E\,c(x_0^{(L)})` of period :math:`t + L`, the first period the
    order can serve; :math:`x_0^{(L)}` is computed exactly by pushing :math:`c` back
    :math:`L - 1` periods through the transition law (orders placed later arrive later)."""
    model = LostSalesModel(demand, L=L, h=h, b=b)
    tol, max_iter = check_tol_iter(tol, max_iter)
    S = model.backorder_level()
    check_size(model.L, S, S, all_orders=True)   # memory, before anything is allocated
    space = StateSpace(model, S)
    w = space.cost
    if model.L > 1:
        P0 = space.transitions(np.arange(space.n), np.zeros(space.n, np.int64))
        for _ in range(model.L - 1):
            w = P0 @ w
    room = space.room()
    rows = np.repeat(np.arange(space.n), room + 1)
    z = np.arange(len(rows)) - np.repeat(np.cumsum(room + 1) - (room + 1), room + 1)
    starts = np.concatenate(([0], np.cumsum(room + 1)[:-1]))
    # the bound S_bo never binds: on-hand at t+L under lost sales is at least the backorder
    # net inventory, so the convex one-period cost turns up no later than position S_bo
    orders = argmin_segments(space.transitions(rows, z) @ w, starts, room + 1)
    ev = evaluate_orders(space, orders, tol, max_iter)
    return HeuristicResult(name="myopic-1", params={}, cost=ev.cost, policy=ev.policy)


def best_constant_order(demand, *, L, h, b, tol=1e-6, max_iter=50_000, mass_tol=1e-10):
    """Best constant order ``z = r < mean`` (Reiman 2004; Zipkin 2008). On-hand stock is
    unbounded under it, so the chain is truncated (order 0 above a position bound) and the
    bound doubled until the stationary mass where truncation bites is below ``mass_tol``."""
    model = LostSalesModel(demand, L=L, h=h, b=b)
    tol, max_iter = check_tol_iter(tol, max_iter)
    mass_tol = check_real("mass_tol", mass_tol, low=1e-15, high=0.5)
    mu = model.demand.mean
    S0 = model.backorder_level() + int(math.ceil(4 * mu))

    def f(r):
        S = S0
        while True:
            ev = _capped(model, S, r, tol, max_iter)
            pi = _stationary(ev.policy._space, ev.policy.orders)
            if pi[ev.policy._space.position > S - r].sum() <= mass_tol:
                return ev
            S *= 2

    evals = {}

    def F(r):
        evals[r] = f(r)
        return evals[r].cost

    top = int(math.ceil(mu)) - 1
    r, c, _ = _line_search(F, max(top, 0), 0, max(top, 0))
    return HeuristicResult(name="constant order", params={"r": r}, cost=c,
                           policy=evals[r].policy)


def _stationary(space, orders, tol=1e-13, max_iter=100_000):
    """Stationary distribution (used only for the truncation check): a direct sparse solve of
    ``pi (P - I) = 0``, ``sum(pi) = 1``; power iteration if that system is singular."""
    P = space.transitions(np.arange(space.n), orders).T.tocsr()
    import scipy.sparse.linalg as spla
    A = (P - sp.identity(space.n, format="csr")).tolil()
    A[space.n - 1, :] = 1.0
    rhs = np.zeros(space.n)
    rhs[-1] = 1.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pi = spla.spsolve(A.tocsc(), rhs)
    if np.all(np.isfinite(pi)) and pi.min() > -1e-9 and np.abs(P @ pi - pi).sum() < 1e-9:
        return np.clip(pi, 0.0, None)
    pi = np.full(space.n, 1.0 / space.n)
    for _ in range(max_iter):
        new = P @ pi
        if np.abs(new - pi).sum() < tol:
            return new
        pi = new
    return pi


def lost_sales_heuristics(demand, *, L, h, b, tol=1e-6):
    """The four heuristics of Zipkin (2008) and Xin (2021), each at its best parameters."""
    LostSalesModel(demand, L=L, h=h, b=b)  # check every argument before any work
    check_tol_iter(tol, 1)
    kw = dict(L=L, h=h, b=b, tol=tol)
    return {"base stock": best_base_stock(demand, **kw),
            "capped base stock": best_capped_base_stock(demand, **kw),
            "myopic-1": myopic_policy(demand, **kw),
            "constant order": best_constant_order(demand, **kw)}
