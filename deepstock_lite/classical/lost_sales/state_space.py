r"""The lost-sales state space, its size and memory estimate, and the transition matrix.

A state is :math:`x = (x_0, x_1, \dots, x_{L-1})`: :math:`x_0` on hand after the period's
arrival, :math:`x_l` the order arriving :math:`l` periods from now. The exact methods of
:mod:`deepstock_lite.classical.lost_sales` work on the states whose position
:math:`x_0 + \dots + x_{L-1}` is at most a bound :math:`S` (pipeline entries at most a cap
for the capped heuristics). This module enumerates them, counts them and estimates the
memory a computation on them needs *before* building anything (:data:`MAX_STATES`,
:data:`MAX_TRANSITIONS`, :data:`MAX_MEMORY`), and builds the sparse transition matrix
:math:`P[x, x']` of any set of (state, order) pairs: the next state is
:math:`((x_0 - D)^+ + x_1, x_2, \dots, x_{L-1}, z)` (Zipkin 2008).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ...core.validation import check_int

__all__ = ["MAX_STATES", "MAX_TRANSITIONS", "MAX_MEMORY", "memory_estimate"]


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


def memory_estimate(*, L, S, cap=None, all_orders=False):
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


def check_size(L, S, cap, all_orders=False):
    """Refuse, before anything is allocated, a state space above :data:`MAX_STATES` or a
    computation whose :func:`memory_estimate` exceeds :data:`MAX_MEMORY`."""
    count = _count_states(L, S, cap)
    if count > MAX_STATES:
        raise ValueError(f"the lost-sales state space would have {count:,} states (L="
                         f"{L}, positions up to {S}), more than {MAX_STATES:,}: use "
                         "a shorter lead time L, a smaller mean demand or a lower "
                         "max_position")
    need = memory_estimate(L=L, S=S, cap=cap, all_orders=all_orders)
    if need > MAX_MEMORY:
        raise ValueError(f"the exact lost-sales computation would need about "
                         f"{need / 2**30:,.1f} GiB of memory (L={L}, positions up to {S}, "
                         f"{count:,} states), more than the limit MAX_MEMORY = "
                         f"{MAX_MEMORY / 2**30:g} GiB: use a shorter lead time L, a smaller "
                         "mean demand or a lower max_position (or raise "
                         "deepstock_lite.classical.lost_sales.state_space.MAX_MEMORY on a "
                         "machine with the memory)")
    return count


class StateSpace:
    """States with position <= ``S`` (and pipeline entries <= ``cap``), plus the sparse
    transition matrix of any set of (state, order) pairs."""

    def __init__(self, model, S, cap=None):
        self.model, self.L, self.S = model, model.L, S
        self.cap = S if cap is None else min(cap, S)
        check_size(self.L, S, self.cap)
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

