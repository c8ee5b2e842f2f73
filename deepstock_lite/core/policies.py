"""Classical policies with one interface: ``act(state) -> orders`` on a batch of states.

``state`` is an :class:`~deepstock_lite.core.simulator.InventoryState`; orders are a float
array of shape ``(n,)``. Levels may be scalars (one for all SKUs) or arrays of shape ``(n,)``.
"""
from __future__ import annotations

import numpy as np

from .validation import MAX_QUANTITY, check_real

__all__ = ["Policy", "BaseStock", "SSPolicy", "ConstantOrder", "FunctionPolicy"]


def _level(name, value, low=-MAX_QUANTITY):
    """A level: a number or a 1-D array (one per SKU), finite, at most 1e12 in size."""
    v = check_real(name, value, low=low, high=MAX_QUANTITY, allow_array=True)
    if np.ndim(v) > 1:
        raise ValueError(f"{name} must be a number or a 1-D array (one per SKU), got shape "
                         f"{np.shape(v)}")
    return v


def _fit(name, value, n):
    """Check a per-SKU level against the batch size ``n`` of the state."""
    if np.ndim(value) == 1 and value.size not in (1, n):
        raise ValueError(f"{name} has {value.size} levels but the state has {n} SKUs")
    return value


class Policy:
    """Interface: subclasses implement :meth:`act`."""

    def act(self, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, state):
        return self.act(state)


class BaseStock(Policy):
    r"""Order up to ``S`` on the inventory position: :math:`q = (S - \text{position})^+`."""

    def __init__(self, S):
        self.S = _level("S", S)

    def act(self, state):
        return np.maximum(_fit("S", self.S, state.n) - state.position, 0.0)

    def __repr__(self):
        return f"BaseStock(S={self.S})"


class SSPolicy(Policy):
    r"""(s, S): when the inventory position is at or below ``s``, order up to ``S``.

    :math:`q = (S - \text{position})\,1\{\text{position} \le s\}`, with ``s <= S``.
    """

    def __init__(self, s, S):
        self.s = _level("s", s)
        self.S = _level("S", S)
        if np.any(np.asarray(self.s) > np.asarray(self.S)):
            raise ValueError(f"s must be <= S, got s={s}, S={S}")

    def act(self, state):
        y = state.position
        return np.where(y <= _fit("s", self.s, state.n), _fit("S", self.S, state.n) - y, 0.0)

    def __repr__(self):
        return f"SSPolicy(s={self.s}, S={self.S})"


class ConstantOrder(Policy):
    """Order the same quantity ``q`` at every review, whatever the state."""

    def __init__(self, q):
        self.q = _level("q", q, low=0.0)

    def act(self, state):
        q = np.asarray(_fit("q", self.q, state.n), float)
        return np.broadcast_to(q.reshape(-1) if q.ndim else q, (state.n,)).copy()

    def __repr__(self):
        return f"ConstantOrder(q={self.q})"


class FunctionPolicy(Policy):
    """Wrap any function ``state -> orders`` as a policy."""

    def __init__(self, fn, name="function"):
        if not callable(fn):
            raise TypeError("fn must be callable")
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        self.fn, self.name = fn, name

    def act(self, state):
        return self.fn(state)

    def __repr__(self):
        return f"FunctionPolicy({self.name})"
