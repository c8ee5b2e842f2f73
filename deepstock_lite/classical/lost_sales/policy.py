"""The lost-sales policy table (:class:`LookupPolicy`, usable in the simulator) and the
results of the exact methods."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...core.validation import as_array
from .model import LostSalesModel

__all__ = ["LookupPolicy", "PolicyEvaluation", "LostSalesResult", "HeuristicResult"]


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
        st = as_array(name, value)
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


@dataclass(kw_only=True)
class PolicyEvaluation:
    """Exact long-run average cost of a stationary policy: ``lower <= cost <= upper``."""
    cost: float
    lower: float
    upper: float
    iterations: int
    policy: LookupPolicy = field(repr=False)


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
class HeuristicResult:
    """A heuristic's best parameters and its exact cost."""
    name: str
    params: dict
    cost: float
    policy: LookupPolicy = field(repr=False, default=None)
