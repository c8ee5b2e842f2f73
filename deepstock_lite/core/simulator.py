r"""A batched periodic-review inventory simulator (numpy).

One period :math:`t` runs in this order (the convention of Zipkin 2008 and of the DeepStock
authors' code; it is the *only* place in the package where the event order is written down):

1. **Start of period.** ``on_hand`` :math:`x_0` is the net inventory after this period's
   arrival (negative = backlog). ``pipeline[:, k]`` is the order that arrives at the start of
   period :math:`t+1+k`, for :math:`k = 0, \dots, L-2`.
2. **Order.** If :math:`t` is a review period (:math:`t \ge t_0` and :math:`(t-t_0) \bmod P = 0`)
   the policy sees the state and orders :math:`q_t \ge 0`, paying :math:`K\,1\{q_t>0\} + c\,q_t`.
   With :math:`L = 0` the order is on hand at once; otherwise it joins the pipeline and is on
   hand at the start of period :math:`t+L`. *An order placed in period t serves the demand of
   period t + L.*
3. **Demand.** Demand :math:`D_t` is served from on-hand stock: sales
   :math:`\min(D_t, x_0^+)`. Unmet demand is backordered (``backlog=True``, net inventory
   :math:`x_0 - D_t` may go negative) or lost (net inventory :math:`(x_0 - D_t)^+`).
4. **Cost.** Holding :math:`h` per unit of end-of-period on-hand stock; shortage :math:`b` per
   unit backordered at the end of the period (backlog) or per unit of demand lost (lost sales).
5. **Arrival.** The pipeline moves one period: the order due at :math:`t+1` is added to the
   net inventory, which becomes next period's :math:`x_0`.

Everything is vectorized over a batch of ``n`` SKUs or sample paths. Steps 3 and 4 are the
function :func:`serve_demand`, which the two other backends copy operation by operation: the
single environment in plain floats (:class:`~deepstock_lite.envs.InventoryEnv`, bit for bit)
and the differentiable simulator in torch (:func:`~deepstock_lite.paper.ds_rollout`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import (MAX_COUNT, MAX_QUANTITY, check_array, check_bool, check_demand,
                         check_int, check_real, as_array)

__all__ = ["InventorySystem", "InventoryState", "PeriodRecord", "SimulationResult", "simulate",
           "serve_demand"]

_MAX_LEAD = 10_000  # longest lead time and review period (periods)


class InventorySystem:
    """Parameters of the inventory system; the event order lives in :meth:`step`.

    Parameters
    ----------
    L : lead time in periods (``L >= 0``).
    P : review period: orders may be placed only every ``P`` periods (``P >= 1``).
    h : holding cost per unit of end-of-period on-hand stock (``h >= 0``).
    b : shortage cost per unit backordered per period, or per unit lost (``b >= 0``).
    backlog : ``True`` for backorders, ``False`` for lost sales.
    K : fixed cost per order placed (``K >= 0``).
    c : cost per unit ordered (``c >= 0``).
    first_review : first period in which an order may be placed (``>= 0``).

    Costs, stocks, demands and orders are limited to ``MAX_QUANTITY`` (1e12) in absolute
    value, lead time and review period to 10,000 periods, so every cost stays finite.
    """

    def __init__(self, L=0, P=1, h=1.0, b=9.0, backlog=True, K=0.0, c=0.0, first_review=0):
        self.L = check_int("L", L, low=0, high=_MAX_LEAD)
        self.P = check_int("P", P, low=1, high=_MAX_LEAD)
        self.h = check_real("h", h, low=0.0, high=MAX_QUANTITY)
        self.b = check_real("b", b, low=0.0, high=MAX_QUANTITY)
        self.backlog = check_bool("backlog", backlog)
        self.K = check_real("K", K, low=0.0, high=MAX_QUANTITY)
        self.c = check_real("c", c, low=0.0, high=MAX_QUANTITY)
        self.first_review = check_int("first_review", first_review, low=0, high=MAX_COUNT)

    def __repr__(self):
        kind = "backlog" if self.backlog else "lost sales"
        return (f"InventorySystem(L={self.L}, P={self.P}, h={self.h:g}, b={self.b:g}, {kind}, "
                f"K={self.K:g}, c={self.c:g}, first_review={self.first_review})")

    # -- state -------------------------------------------------------------------------
    def initial_state(self, n=1, on_hand=0.0, pipeline=None):
        """State at the start of period 0 for ``n`` SKUs.

        ``pipeline`` (shape ``(n, L-1)`` or ``(L-1,)``) holds the orders due at the starts of
        periods 1, 2, ..., L-1; it must be empty (or ``None``) when ``L <= 1``.
        """
        n = check_int("n", n, low=1, high=MAX_COUNT)
        on_hand = check_real("on_hand", on_hand, low=-MAX_QUANTITY, high=MAX_QUANTITY,
                             allow_array=True)
        if np.ndim(on_hand) > 1 or np.ndim(on_hand) == 1 and np.size(on_hand) not in (1, n):
            raise ValueError(f"on_hand must be a number or have shape ({n},), got shape "
                             f"{np.shape(on_hand)}")
        on_hand = np.broadcast_to(np.asarray(on_hand, float).reshape(-1)
                                  if np.ndim(on_hand) else on_hand, (n,)).copy()
        if not self.backlog and np.any(on_hand < 0):
            raise ValueError("on_hand must be >= 0 under lost sales")
        m = max(self.L - 1, 0)
        if pipeline is None:
            pipe = np.zeros((n, m))
        else:
            pipe = as_array("pipeline", pipeline)
            if pipe.size == 0:
                pipe = np.zeros((n, 0)) if pipe.ndim < 2 else pipe.astype(float)
            else:
                pipe = np.asarray(check_real("pipeline", pipe, low=0.0, high=MAX_QUANTITY,
                                             allow_array=True), float)
            if pipe.ndim == 1:
                pipe = np.broadcast_to(pipe, (n, pipe.shape[0]))
            if pipe.shape != (n, m):
                raise ValueError(f"pipeline must have shape ({n}, {m}) for L={self.L}, "
                                 f"got {pipe.shape}")
            if not np.all(np.isfinite(pipe)) or np.any(pipe < 0):
                raise ValueError("pipeline must hold finite non-negative orders")
        return InventoryState(on_hand, pipe, self.L)

    def is_review(self, t):
        """Whether an order may be placed in period ``t``."""
        return t >= self.first_review and (t - self.first_review) % self.P == 0

    # -- one period ------------------------------------------------------------------------
    def step(self, state, order, demand):
        """Advance ``state`` by one period in place; return the period's
        :class:`PeriodRecord`.

        ``order`` is ignored (treated as 0) unless ``state.t`` is a review period.
        ``demand`` is this period's demand, shape ``(n,)``.
        """
        n = state.n
        if _is_clean(demand, n):
            if not (demand.min() >= 0.0 and demand.max() <= MAX_QUANTITY):
                raise ValueError(f"demand must be finite and in [0, {MAX_QUANTITY:g}], "
                                 f"got min {demand.min()}, max {demand.max()}")
        else:
            demand = check_array("demand", demand, nonnegative=True,
                                 max_abs=MAX_QUANTITY).reshape(-1)
            if demand.shape != (n,):
                raise ValueError(f"demand must have shape ({n},), got {demand.shape}")
        if self.is_review(state.t):
            q = _as_orders(order, n)
        else:
            q = np.zeros(n)
        # 2. the order joins the pipeline (or stock, when L = 0)
        if self.L == 0:
            state.on_hand = state.on_hand + q
        else:
            state._place(q)
        x0 = state.on_hand  # never modified in place below, so no copy is needed
        # 3. demand is served and 4. the end-of-period cost charged; then the ordering cost
        sales, unmet, end, cost = serve_demand(x0, demand, h=self.h, b=self.b,
                                               backlog=self.backlog)
        if self.c:
            cost += self.c * q
        if self.K:
            cost += self.K * (q > 0)
        # 5. arrival of the order due at the start of next period
        state.on_hand = end + state._arrive() if self.L > 0 else end.copy()
        state.t += 1
        return PeriodRecord(order=q, start_on_hand=x0, demand=demand, sales=sales,
                            unmet=unmet, end_inventory=end, cost=cost)


def serve_demand(x0, demand, *, h, b, backlog):
    r"""Steps 3 and 4 of a period: serve ``demand`` from the net inventory ``x0`` and charge
    the end-of-period cost; returns ``(sales, unmet, end, cost)`` (arrays of one shape).

    * sales :math:`\min(D, x_0^+)`, unmet demand :math:`D - \text{sales}`;
    * end-of-period net inventory: :math:`x_0 - D` under backlog (negative = backordered),
      :math:`x_0 - \text{sales}` under lost sales;
    * cost: :math:`h\,\text{end}^+ + b\,\text{end}^-` under backlog (computed as
      :math:`(h+b)\,\text{end}^+ - b\,\text{end}`), :math:`h\,\text{end} + b\,\text{unmet}`
      under lost sales. The ordering cost is the caller's.

    No argument checks (:meth:`InventorySystem.step` validates). Copied in plain floats, bit
    for bit (:func:`~deepstock_lite.envs.inventory_env.float_serve_demand`), and in torch
    (:func:`~deepstock_lite.paper.differentiable_simulator.torch_serve_demand`);
    ``tests/test_simulator.py`` checks both against this function.
    """
    sales = np.minimum(demand, np.maximum(x0, 0.0))
    unmet = demand - sales
    if backlog:
        end = x0 - demand
        cost = (h + b) * np.maximum(end, 0.0) - b * end
    else:
        end = x0 - sales
        cost = h * end + b * unmet
    return sales, unmet, end, cost


class InventoryState:
    """Batched state at the start of a period, after that period's arrival.

    Attributes
    ----------
    on_hand : net inventory ``x0`` (negative = backlog), shape ``(n,)``.
    pipeline : orders in transit, shape ``(n, max(L-1, 0))``; column ``k`` arrives at the start
        of period ``t+1+k``.
    position : inventory position ``on_hand + pipeline.sum(1)`` (the paper's tot(I)).
    t : the current period.
    """

    def __init__(self, on_hand, pipeline, L, t=0):
        self.on_hand = on_hand
        self.L = L
        self.t = t
        n = on_hand.shape[0]
        # circular buffer of L slots; slot (head + k) % L arrives at the start of t+1+k
        self._pipe = np.zeros((max(L, 1), n))
        self._head = 0
        if L > 1:
            self._pipe[: L - 1] = pipeline.T
        self._in_transit = self._pipe.sum(0)

    @property
    def n(self):
        return self.on_hand.shape[0]

    @property
    def pipeline(self):
        if self.L <= 1:
            return np.zeros((self.n, 0))
        idx = (self._head + np.arange(self.L - 1)) % self.L
        return self._pipe[idx].T.copy()

    @property
    def in_transit(self):
        return self._in_transit.copy()

    @property
    def position(self):
        return self.on_hand + self._in_transit

    def _place(self, q):
        self._pipe[(self._head + self.L - 1) % self.L] = q
        self._in_transit += q

    def _arrive(self):
        """Take the order due next period out of the pipeline and return it.

        The slot is not cleared: it becomes the slot of the order placed next period, which
        :meth:`_place` writes every period (zeros outside review periods).
        """
        arriving = self._pipe[self._head]
        self._in_transit -= arriving
        self._head = (self._head + 1) % self.L
        return arriving

    def copy(self):
        return InventoryState(self.on_hand.copy(), self.pipeline, self.L, self.t)

    def __repr__(self):
        return f"InventoryState(t={self.t}, n={self.n}, L={self.L})"


@dataclass
class PeriodRecord:
    """What happened in one period, each field of shape ``(n,)``."""
    order: np.ndarray
    start_on_hand: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    unmet: np.ndarray
    end_inventory: np.ndarray
    cost: np.ndarray


@dataclass
class SimulationResult:
    """Per-period records of a simulation, each of shape ``(n, T)`` (paths × periods)."""
    system: InventorySystem
    order: np.ndarray
    start_on_hand: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    unmet: np.ndarray
    end_inventory: np.ndarray
    cost: np.ndarray
    final_state: InventoryState

    def average_cost(self, start=0):
        """Average cost per period over all paths, periods ``start`` … ``T-1``."""
        from .metrics import average_cost
        return average_cost(self.cost, start=start)

    def metrics(self, start=0):
        """The book's four metrics (see :mod:`deepstock_lite.core.metrics`)."""
        from .metrics import summarize
        return summarize(self, start=start)


def simulate(system, policy, demand, *, on_hand=0.0, pipeline=None, seed=None, n=None,
             horizon=None):
    """Run ``policy`` on ``system`` for every path of ``demand``.

    ``demand`` is either an array of trajectories, shape ``(n, T)`` (a 1-D array is one path),
    or a demand process with a ``sample(n, horizon, seed)`` method, in which case ``n`` and
    ``horizon`` are required. ``policy`` has an ``act(state) -> orders`` method or is a
    callable with that signature.
    """
    if not isinstance(system, InventorySystem):
        raise TypeError(f"system must be an InventorySystem, got {type(system).__name__}")
    if hasattr(demand, "sample") and not isinstance(demand, np.ndarray):
        if not callable(demand.sample):
            raise TypeError(f"demand must be an array of demands or a demand process with a "
                            f"sample(n, horizon, seed) method; {type(demand).__name__}.sample "
                            f"is not callable")
        if n is None or horizon is None:
            raise ValueError("n and horizon are required when demand is a demand process")
        demand = demand.sample(n, horizon, seed=seed)
    # a given array gets the size limit sampled demand has (n * horizon <= MAX_COUNT), checked
    # on its shape before it is copied or any record is allocated
    _check_size(getattr(demand, "shape", None))
    # non-finite (NaN, inf), negative or huge demands, given or sampled, are refused here,
    # before the first period: they would make every cost non-finite
    D = check_demand("demand", demand)
    _check_size(D.shape)  # a list of lists has no shape until it is read
    act = policy_function(policy)
    n_paths, T = D.shape
    state = system.initial_state(n_paths, on_hand=on_hand, pipeline=pipeline)
    Dt = np.ascontiguousarray(D.T)
    fields = ("order", "start_on_hand", "sales", "unmet", "end_inventory", "cost")
    rec = {f: np.empty((T, n_paths)) for f in fields}  # period-major: rows are contiguous
    zero = np.zeros(n_paths)
    for t in range(T):
        q = act(state) if system.is_review(t) else zero
        r = system.step(state, q, Dt[t])
        for f in fields:
            rec[f][t] = getattr(r, f)
    return SimulationResult(system=system, final_state=state, demand=D,
                            **{f: rec[f].T for f in fields})


def _check_size(shape):
    """Refuse demand trajectories with more than ``MAX_COUNT`` entries (paths x periods), the
    limit of a sampled demand: the simulation allocates several arrays of that size."""
    if not isinstance(shape, tuple) or not all(isinstance(k, (int, np.integer)) for k in shape):
        return
    size = 1
    for k in shape:
        size *= int(k)
    if size > MAX_COUNT:
        raise ValueError(f"demand must have at most {MAX_COUNT:,} entries (paths x periods, "
                         f"the limit of sampled demand), got {size:,} (shape "
                         f"{tuple(int(k) for k in shape)}): simulate the paths in batches")


def policy_function(policy):
    if hasattr(policy, "act"):
        return policy.act
    if callable(policy):
        return policy
    raise TypeError("policy must have an act(state) method or be callable")


def _is_clean(demand, n):
    """Fast path of :meth:`InventorySystem.step`: a float vector the simulator built."""
    return (isinstance(demand, np.ndarray) and demand.dtype == np.float64
            and demand.shape == (n,))


def _as_orders(order, n):
    if isinstance(order, (str, bytes)) or order is None:
        raise TypeError(f"order must be numbers, got {type(order).__name__}")
    try:
        q = np.asarray(order, dtype=float)
    except (ValueError, TypeError) as e:
        raise TypeError(f"order must be an array of numbers ({e})") from None
    if q.ndim == 2 and q.shape[1] == 1:
        q = q[:, 0]
    q = np.broadcast_to(q, (n,)) if q.ndim == 0 else q
    if q.shape != (n,):
        raise ValueError(f"order must have shape ({n},), got {q.shape}")
    if not (q.min() >= 0.0) or not (q.max() <= MAX_QUANTITY):
        raise ValueError(f"order must be finite, non-negative and at most {MAX_QUANTITY:g}; "
                         f"the policy returned min {q.min()}, max {q.max()}")
    return q
