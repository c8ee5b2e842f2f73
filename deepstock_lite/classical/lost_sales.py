r"""Exact lost-sales inventory control with a lead time (Zipkin 2008).

Periodic review, i.i.d. integer demand, lead time :math:`L \ge 1`, unmet demand lost. The
state at the start of a period, after that period's arrival, is
:math:`x = (x_0, x_1, \dots, x_{L-1})`: :math:`x_0` on hand, :math:`x_l` the order arriving
:math:`l` periods from now. Each period: order :math:`z`, demand :math:`D`, cost
:math:`c(x_0) = h\,E(x_0 - D)^+ + b\,E(D - x_0)^+`, next state
:math:`((x_0 - D)^+ + x_1, x_2, \dots, x_{L-1}, z)` (the convention of
:mod:`deepstock_lite.core.simulator`). The long-run average cost :math:`g` solves

.. math:: g + v(x) = c(x_0) + \min_{z} E\, v\big((x_0 - D)^+ + x_1, x_2, \dots, z\big),

solved here by relative value iteration (Puterman 1994, §8.5.5) over all states whose
position :math:`x_0 + \dots + x_{L-1} + z` is at most the optimal *backorder* base-stock
level :math:`S_{bo}` (Zipkin 2008: the optimal lost-sales position never exceeds it, so the
bound loses nothing). Each iteration is one sparse matrix-vector product over the
(state, order) pairs and one segmented minimum; the stopping rule uses the bounds
:math:`\min_x (Tv - v) \le g \le \max_x (Tv - v)`, so the printed cost is certified.

The same machinery evaluates any stationary policy exactly (:func:`evaluate_policy_exact`)
and the classical heuristics: base stock, capped base stock (Xin 2021), myopic (Zipkin 2008)
and constant order.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..core.validation import MAX_QUANTITY, _asarray, check_int, check_real
from ..core.distributions import DiscreteDemand, as_discrete_demand as as_demand

__all__ = ["LostSalesModel", "LostSalesResult", "PolicyEvaluation", "HeuristicResult",
           "LookupPolicy", "backorder_base_stock_level", "solve_lost_sales",
           "evaluate_policy_exact", "best_base_stock", "best_capped_base_stock",
           "myopic_policy", "best_constant_order", "lost_sales_heuristics", "DiscreteDemand",
           "MAX_MEMORY", "memory_estimate"]


# ---------------------------------------------------------------------------------------
# state space and transitions
# ---------------------------------------------------------------------------------------
def _simplex(dim, total, cap=None):
    """All integer vectors of length ``dim`` with non-negative entries summing to at most
    ``total`` (entries 1.. also at most ``cap``), in lexicographic order (first slowest)."""
    vec = np.arange(total + 1, dtype=np.int32)[:, None]
    for _ in range(dim - 1):
        room = total - vec.sum(1)
        top = room if cap is None else np.minimum(room, cap)
        cnt = top + 1
        rep = np.repeat(np.arange(len(vec)), cnt)
        last = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        vec = np.column_stack([vec[rep], last.astype(np.int32)])
    return vec


MAX_STATES = 5_000_000  # largest state space the exact methods build
MAX_TRANSITIONS = 40_000_000  # largest number of (state, next state) pairs they build


def _count_states(L, S, cap):
    """Number of integer vectors of length L, entries >= 0, sum <= S, entries 1.. <= cap."""
    full = math.comb(S + L, L)
    if cap >= S or L == 1 or full <= MAX_STATES:
        return full
    if L * (cap + 1) * (S + 1) > 50_000_000:
        return full  # too many to count quickly: surely too many to build
    # states are (x0, rest): count the rest by a small DP over the pipeline sums
    ways = _pipelines_by_sum(L, S, cap)
    return int(sum(ways[k] * (S - k + 1) for k in range(S + 1)))


def _pipelines_by_sum(L, S, cap):
    """``ways[k]``: the number of pipelines ``(x1..x_{L-1})``, entries in ``0..cap``, summing
    to ``k``, for ``k = 0..S`` (exact integers)."""
    ways = np.zeros(S + 1, dtype=object)
    ways[0] = 1
    for _ in range(L - 1):
        new = np.zeros(S + 1, dtype=object)
        for v in range(cap + 1):
            new[v:] += ways[:S + 1 - v]
        ways = new
    return ways


#: largest memory, in bytes, one exact computation (:func:`solve_lost_sales`,
#: :func:`evaluate_policy_exact`, the heuristics) may need: 2 GiB. The need is estimated from
#: the size of the state space before anything is allocated (:func:`memory_estimate`), and a
#: larger one is refused with a ``ValueError`` that gives the estimate and this limit (a
#: larger problem would otherwise fail with ``MemoryError`` after minutes, or wake the
#: out-of-memory killer). Raise it deliberately, on a machine that has the memory.
MAX_MEMORY = 2 * 2**30

# bytes per unit of each size, fitted to tracemalloc peaks (those of the Zipkin cells
# L = 2..4, solved or evaluated, lie 4-20% below the estimate): the dense index (int32), the
# (state, order) pairs the transition matrix has rows for, and its non-zero entries (the
# temporaries that build the CSR matrix: each entry's row, leftover, column, probability)
_BYTES_INDEX, _BYTES_PAIR_PER_L, _BYTES_PAIR, _BYTES_NNZ = 4, 8, 48, 48


def _sizes(L, S, cap, all_orders):
    """``(index, states, pairs, nnz)`` of the state space with positions <= ``S`` and pipeline
    entries <= ``cap``: the dense index length, the states, the (state, order) pairs whose
    transitions are built (every order that keeps the position within ``S`` when
    ``all_orders``, else one per state) and the entries of their transition matrix (a state
    with ``x0`` on hand branches into ``x0 + 1`` next states). Exact, without building
    anything; upper bounds when the pipeline cap makes counting slow."""
    index = (S + 1) * (cap + 1) ** (L - 1)
    if all_orders or cap >= S or L == 1:
        # sum x0 + ... + x_{L-1} (+ z) <= S: C(S + dim, dim); sum over them of (x0 + 1)
        # counts the vectors with x0 split in two, one dimension more
        states = math.comb(S + L, L)
        if all_orders:
            return index, states, math.comb(S + L + 1, L + 1), math.comb(S + L + 2, L + 2)
        return index, states, states, math.comb(S + L + 1, L + 1)
    if L * (cap + 1) * (S + 1) > 50_000_000:   # too many to count quickly: bounds
        states = math.comb(S + L, L)
        return index, states, states, math.comb(S + L + 1, L + 1)
    ways = _pipelines_by_sum(L, S, cap)
    states = int(sum(ways[k] * (S - k + 1) for k in range(S + 1)))
    nnz = int(sum(ways[k] * ((S - k + 1) * (S - k + 2) // 2) for k in range(S + 1)))
    return index, states, states, nnz


def memory_estimate(L, S, cap=None, *, all_orders=False):
    """Estimated peak memory, in bytes, of an exact computation on the lost-sales states with
    lead time ``L``, positions up to ``S`` and pipeline entries up to ``cap`` (default ``S``):
    building the transition matrix of one order per state (policy evaluation), or of every
    order (``all_orders``: :func:`solve_lost_sales`, :func:`myopic_policy`). Computed from the
    sizes alone (:data:`MAX_MEMORY` is the limit)."""
    L = check_int("L", L, low=1, high=1000)
    S = check_int("S", S, low=0, high=10_000_000)
    cap = S if cap is None else min(check_int("cap", cap, low=0), S)
    index, states, pairs, nnz = _sizes(L, S, cap, all_orders)
    return (_BYTES_INDEX * index + states * (4 * L + 32)
            + pairs * (_BYTES_PAIR_PER_L * L + _BYTES_PAIR) + _BYTES_NNZ * nnz)


def _check_size(L, S, cap, all_orders=False):
    """Refuse, before anything is allocated, a state space above :data:`MAX_STATES` or a
    computation whose :func:`memory_estimate` exceeds :data:`MAX_MEMORY`."""
    count = _count_states(L, S, cap)
    if count > MAX_STATES:
        raise ValueError(f"the lost-sales state space would have {count:,} states (L="
                         f"{L}, positions up to {S}), more than {MAX_STATES:,}: use "
                         "a shorter lead time L, a smaller mean demand or a lower "
                         "max_position")
    need = memory_estimate(L, S, cap, all_orders=all_orders)
    if need > MAX_MEMORY:
        raise ValueError(f"the exact lost-sales computation would need about "
                         f"{need / 2**30:,.1f} GiB of memory (L={L}, positions up to {S}, "
                         f"{count:,} states), more than the limit MAX_MEMORY = "
                         f"{MAX_MEMORY / 2**30:g} GiB: use a shorter lead time L, a smaller "
                         "mean demand or a lower max_position (or raise "
                         "deepstock_lite.classical.lost_sales.MAX_MEMORY on a machine with "
                         "the memory)")
    return count


class _Space:
    """States with position <= ``S`` (and pipeline entries <= ``cap``), plus the sparse
    transition matrix of any set of (state, order) pairs."""

    def __init__(self, model, S, cap=None):
        self.model, self.L, self.S = model, model.L, S
        self.cap = S if cap is None else min(cap, S)
        _check_size(self.L, S, self.cap)
        self.states = _simplex(self.L, S, None if cap is None else self.cap)
        # each state x branches into x0 + 1 next states; the leftover law is (S+1)^2
        pairs = int(self.states[:, 0].sum()) + len(self.states) + (S + 1) ** 2
        if pairs > MAX_TRANSITIONS:
            raise ValueError(f"the lost-sales transition matrix would hold {pairs:,} entries "
                             f"(L={self.L}, positions up to {S}), more than "
                             f"{MAX_TRANSITIONS:,}: use a smaller mean demand, a shorter lead "
                             "time L or a lower max_position")
        self.n = len(self.states)
        self.position = self.states.sum(1)
        self.shape = (S + 1,) + (self.cap + 1,) * (self.L - 1)
        self.strides = np.array([int(np.prod(self.shape[k + 1:])) for k in range(self.L)],
                                dtype=np.int64)
        self.index = np.full(int(np.prod(self.shape)), -1, dtype=np.int32)
        self.index[self.states @ self.strides] = np.arange(self.n, dtype=np.int32)
        self.cost = model.period_cost(self.states[:, 0])

    def room(self):
        """Largest order each state may place and stay in the space."""
        r = self.S - self.position
        return r if self.L == 1 else np.minimum(r, self.cap)

    def lookup(self, states):
        """Flat indices of integer ``states`` (m, L); -1 where outside the space."""
        st = np.asarray(states)
        inside = np.all(st >= 0, 1) & (st.sum(1) <= self.S)
        if self.L > 1:
            inside &= np.all(st[:, 1:] <= self.cap, 1)
        out = np.full(len(st), -1, dtype=np.int64)
        out[inside] = self.index[st[inside] @ self.strides]
        return out

    def transitions(self, rows, z):
        """CSR matrix: row ``k`` is the law of the next state from ``states[rows[k]]`` when
        ordering ``z[k]``. The leftover ``w = (x0 - D)^+`` takes the value ``j >= 1`` with
        probability ``P(D = x0 - j)`` and 0 with ``P(D >= x0)``."""
        x = self.states[rows]
        x0 = x[:, 0].astype(np.int64)
        cnt = x0 + 1
        nnz = int(cnt.sum())
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(cnt, out=ptr[1:])
        # dense index of the next state with w = 0; adding w moves along the first axis
        ext = np.column_stack([x[:, 1:], np.asarray(z, np.int64)]).astype(np.int64)
        base = ext @ self.strides
        rep = np.repeat(np.arange(len(rows)), cnt)
        w = np.arange(nnz, dtype=np.int64) - ptr[:-1][rep]
        col = self.index[base[rep] + w * self.strides[0]]
        if col.size and col.min() < 0:
            raise ValueError("an order leaves the state space: raise max_position")
        data = self.model.leftover_law(self.S)[x0[rep], w]
        return sp.csr_matrix((data, col, ptr), shape=(len(rows), self.n))


class LostSalesModel:
    """Checked parameters of Zipkin's lost-sales model and the per-state quantities."""

    def __init__(self, L, h, b, demand=None, mean=None, pmf=None):
        self.L = check_int("L", L, low=1, high=1000)
        self.h = check_real("h", h, low=0.0, low_open=True, high=MAX_QUANTITY)
        self.b = check_real("b", b, low=0.0, low_open=True, high=MAX_QUANTITY)
        self.demand = as_demand(demand, mean=mean, pmf=pmf)
        if self.demand.p0 >= 1.0:
            raise ValueError("demand must not be identically zero (P(D = 0) < 1 required; check "
                             "demand=, mean= or pmf=)")
        from .s_S import lead_time_law
        self.lead = lead_time_law(self.demand, self.L)
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
        """S_bo: smallest y with P(D_{L+1} <= y) >= b/(b+h)."""
        return self.lead.quantile(self.b / (self.b + self.h))

    def describe(self):
        return f"L={self.L}, h={self.h:g}, b={self.b:g}, {self.demand.name}"


# ---------------------------------------------------------------------------------------
# results and the lookup policy
# ---------------------------------------------------------------------------------------
class LookupPolicy:
    """A stationary lost-sales policy given as a table ``order[state]``, usable in
    :func:`deepstock_lite.core.simulator.simulate` (``act(state) -> orders``).

    States whose position exceeds the table's bound order nothing (the optimal and all the
    heuristic policies order nothing there); other states missing from the table raise.
    """

    def __init__(self, space, orders):
        self._space = space
        self.L, self.max_position = space.L, space.S
        self.states = space.states
        self.orders = np.asarray(orders, dtype=np.int64)

    def order(self, x):
        """Order of one state ``x = (x0, ..., x_{L-1})``."""
        x = self._read("x", x)
        if x.ndim != 1 or x.size != self.L:
            raise ValueError(f"x must have {self.L} entries (x0, ..., x_(L-1)), got shape "
                             f"{x.shape}")
        return int(self.order_many(x[None, :])[0])

    def _read(self, name, value):
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{name} must hold stock levels, got {type(value).__name__}")
        st = _asarray(name, value)
        if st.dtype == bool or not (np.issubdtype(st.dtype, np.integer)
                                    or np.issubdtype(st.dtype, np.floating)):
            raise TypeError(f"{name} must hold numbers, got dtype {st.dtype}")
        st = st.astype(float)
        if not np.all(np.isfinite(st)) or np.any(st != np.round(st)) or np.any(st < 0):
            raise ValueError(f"{name} must hold non-negative integer stock levels "
                             "(LookupPolicy)")
        return st

    def order_many(self, states):
        st = self._read("states", states)
        if st.ndim != 2 or st.shape[1] != self.L:
            raise ValueError(f"states must have shape (n, {self.L}), got {st.shape}")
        if np.any(st > 1e9):
            raise ValueError("states must hold stock levels at most 1e9")
        st = st.astype(np.int64)
        idx = self._space.lookup(st)
        above = st.sum(1) > self.max_position
        if np.any((idx < 0) & ~above):
            raise ValueError("state outside the policy table (pipeline above its cap)")
        return np.where(idx >= 0, self.orders[np.maximum(idx, 0)], 0)

    def act(self, state):
        x = np.column_stack([state.on_hand, state.pipeline])
        return self.order_many(x).astype(float)

    def __repr__(self):
        return (f"LookupPolicy(L={self.L}, states={len(self.orders)}, "
                f"max_position={self.max_position})")


@dataclass
class PolicyEvaluation:
    """Exact long-run average cost of a stationary policy: ``lower <= cost <= upper``."""
    cost: float
    lower: float
    upper: float
    iterations: int
    policy: LookupPolicy = field(repr=False)


@dataclass
class LostSalesResult:
    """Optimal lost-sales policy: ``cost`` certified within ``[lower, upper]``."""
    cost: float
    lower: float
    upper: float
    policy: LookupPolicy = field(repr=False)
    values: np.ndarray = field(repr=False)   # relative values v(x), v(0) = 0
    max_position: int = 0
    iterations: int = 0
    model: LostSalesModel = field(repr=False, default=None)

    @property
    def states(self):
        return self.policy.states

    @property
    def orders(self):
        return self.policy.orders

    def order(self, x):
        return self.policy.order(x)


@dataclass
class HeuristicResult:
    """A heuristic's best parameters and its exact cost."""
    name: str
    params: dict
    cost: float
    policy: LookupPolicy = field(repr=False, default=None)


# ---------------------------------------------------------------------------------------
# relative value iteration
# ---------------------------------------------------------------------------------------
def _tol_iter(tol, max_iter):
    return (check_real("tol", tol, low=1e-12, high=1e6),
            check_int("max_iter", max_iter, low=1, high=10_000_000))


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


def _check_bound(model, max_position):
    S_bo = model.backorder_level()
    if max_position is None:
        return S_bo
    S = check_int("max_position", max_position, low=0, high=10_000_000)
    if S < S_bo:
        raise ValueError(f"max_position must be >= the backorder base-stock level {S_bo} "
                         f"(the optimal position can reach it), got {S}")
    return S


def backorder_base_stock_level(L, *, h, b, demand=None, mean=None, pmf=None):
    """Optimal backorder base-stock level: the smallest ``y`` with
    ``P(D_{L+1} <= y) >= b/(b+h)`` (newsvendor fractile of lead-time demand)."""
    return LostSalesModel(L, h, b, demand, mean, pmf).backorder_level()


def solve_lost_sales(L, *, h, b, demand=None, mean=None, pmf=None, max_position=None,
                     tol=1e-6, max_iter=20_000):
    r"""Optimal long-run average cost and policy of Zipkin's lost-sales model.

    Demand: ``mean`` (Poisson), ``pmf`` (on ``0..m``) or ``demand`` (a
    :class:`DiscreteDemand`, e.g. ``DiscreteDemand.geometric(5)``). ``max_position``
    defaults to the backorder base-stock level ``S_bo`` (Zipkin 2008) and may not be
    lower.
    ``tol`` bounds ``upper - lower`` of the certified cost.
    """
    model = LostSalesModel(L, h, b, demand, mean, pmf)
    S = _check_bound(model, max_position)
    tol, max_iter = _tol_iter(tol, max_iter)
    _check_size(model.L, S, S, all_orders=True)   # memory, before anything is allocated
    space = _Space(model, S)
    room = space.room()
    rows = np.repeat(np.arange(space.n), room + 1)           # every (state, order) pair
    z = np.arange(len(rows)) - np.repeat(np.cumsum(room + 1) - (room + 1), room + 1)
    A = space.transitions(rows, z)
    starts = np.concatenate(([0], np.cumsum(room + 1)[:-1]))
    g, lo, hi, v, it = _rvi(lambda v: np.minimum.reduceat(A @ v, starts), space.cost,
                            tol, max_iter)
    orders = _argmin_segments(A @ v, starts, room + 1)
    policy = LookupPolicy(space, orders)
    return LostSalesResult(cost=g, lower=lo, upper=hi, policy=policy, values=v,
                           max_position=S, iterations=it, model=model)


def _argmin_segments(q, starts, lengths):
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
def _evaluate(space, orders, tol, max_iter, start=None):
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


def evaluate_policy_exact(policy, L, *, h, b, demand=None, mean=None, pmf=None,
                          max_position=None, tol=1e-6, max_iter=50_000, start=None):
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
    model = LostSalesModel(L, h, b, demand, mean, pmf)
    S = _check_bound(model, max_position) if max_position is not None else None
    tol, max_iter = _tol_iter(tol, max_iter)
    if isinstance(policy, LookupPolicy):
        if policy.L != model.L:
            raise ValueError(f"policy is for L={policy.L}, model has L={model.L}")
        cap = policy._space.cap if S is None else None
        space = _Space(model, policy.max_position if S is None else S, cap=cap)
        orders = policy.order_many(space.states)
    elif callable(policy):
        space = _Space(model, model.backorder_level() if S is None else S)
        orders = np.asarray(policy(space.states.copy()))
    else:
        raise TypeError("policy must be a LookupPolicy or a function of the states array")
    return _evaluate(space, orders, tol, max_iter, start)


# ---------------------------------------------------------------------------------------
# heuristics, each optimized and evaluated exactly
# ---------------------------------------------------------------------------------------
def _capped(model, S, r, tol, max_iter):
    """Capped base stock min((S - position)^+, r), evaluated on its closed class."""
    space = _Space(model, S, cap=r)
    orders = np.minimum(np.maximum(S - space.position, 0), r)
    return _evaluate(space, orders, tol, max_iter)


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


def best_base_stock(L, *, h, b, demand=None, mean=None, pmf=None, tol=1e-6,
                    max_iter=50_000):
    """Best base-stock policy on the position, ``z = (S - position)^+`` (Zipkin 2008),
    searched over ``S <= S_bo`` (its cost is convex in ``S``: Janakiraman & Roundy 2004)."""
    model = LostSalesModel(L, h, b, demand, mean, pmf)
    tol, max_iter = _tol_iter(tol, max_iter)
    S_bo = model.backorder_level()
    evals = {}

    def f(S):
        evals[S] = _capped(model, S, S, tol, max_iter)
        return evals[S].cost

    S, cost, _ = _line_search(f, S_bo, 0, S_bo)
    return HeuristicResult("base stock", {"S": S}, cost, evals[S].policy)


def best_capped_base_stock(L, *, h, b, demand=None, mean=None, pmf=None, tol=1e-6,
                           max_iter=50_000, max_position=None):
    """Best capped base stock, ``z = min((S - position)^+, r)`` (Xin 2021), searched over
    ``r`` and ``S`` (a walk on each axis from the base-stock optimum; the cost surface is
    unimodal in the instances checked). ``S`` may exceed ``S_bo`` up to ``max_position``
    (default ``S_bo + 2 mean``)."""
    model = LostSalesModel(L, h, b, demand, mean, pmf)
    tol, max_iter = _tol_iter(tol, max_iter)
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
    return HeuristicResult("capped base stock", {"S": S, "r": r}, c, evals[S, r].policy)


def myopic_policy(L, *, h, b, demand=None, mean=None, pmf=None, tol=1e-6,
                  max_iter=50_000):
    r"""Myopic policy (Zipkin 2008, "myopic-1"): order the :math:`z` that minimizes the
    expected cost :math:`E\,c(x_0^{(L)})` of period :math:`t + L`, the first period the
    order can serve; :math:`x_0^{(L)}` is computed exactly by pushing :math:`c` back
    :math:`L - 1` periods through the transition law (orders placed later arrive later)."""
    model = LostSalesModel(L, h, b, demand, mean, pmf)
    tol, max_iter = _tol_iter(tol, max_iter)
    S = model.backorder_level()
    _check_size(model.L, S, S, all_orders=True)   # memory, before anything is allocated
    space = _Space(model, S)
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
    orders = _argmin_segments(space.transitions(rows, z) @ w, starts, room + 1)
    ev = _evaluate(space, orders, tol, max_iter)
    return HeuristicResult("myopic-1", {}, ev.cost, ev.policy)


def best_constant_order(L, *, h, b, demand=None, mean=None, pmf=None, tol=1e-6,
                        max_iter=50_000, mass_tol=1e-10):
    """Best constant order ``z = r < mean`` (Reiman 2004; Zipkin 2008). On-hand stock is
    unbounded under it, so the chain is truncated (order 0 above a position bound) and the
    bound doubled until the stationary mass where truncation bites is below ``mass_tol``."""
    model = LostSalesModel(L, h, b, demand, mean, pmf)
    tol, max_iter = _tol_iter(tol, max_iter)
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
    return HeuristicResult("constant order", {"r": r}, c, evals[r].policy)


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


def lost_sales_heuristics(L, *, h, b, demand=None, mean=None, pmf=None, tol=1e-6):
    """The four heuristics of Zipkin (2008) and Xin (2021), each at its best parameters."""
    LostSalesModel(L, h, b, demand, mean, pmf)  # check every argument before any work
    _tol_iter(tol, 1)
    kw = dict(h=h, b=b, demand=demand, mean=mean, pmf=pmf, tol=tol)
    return {"base stock": best_base_stock(L, **kw),
            "capped base stock": best_capped_base_stock(L, **kw),
            "myopic-1": myopic_policy(L, **kw),
            "constant order": best_constant_order(L, **kw)}
