"""Classical policies with one interface: ``act(state) -> orders`` on a batch of states.

``state`` is an :class:`~deepstock_lite.core.simulator.InventoryState`; orders are a float
array of shape ``(n,)``. Levels may be scalars (one for all SKUs) or arrays of shape ``(n,)``.
"""
from __future__ import annotations

import numpy as np

from .validation import check_real

__all__ = ["Policy", "BaseStock", "SS", "ConstantOrder", "FunctionPolicy"]


class Policy:
    """Interface: subclasses implement :meth:`act`."""

    def act(self, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, state):
        return self.act(state)


class BaseStock(Policy):
    r"""Order up to ``S`` on the inventory position: :math:`q = (S - \text{position})^+`."""

    def __init__(self, S):
        self.S = check_real("S", S, allow_array=True)

    def act(self, state):
        return np.maximum(self.S - state.position, 0.0)

    def __repr__(self):
        return f"BaseStock(S={self.S})"


class SS(Policy):
    r"""(s, S): when the inventory position is at or below ``s``, order up to ``S``.

    :math:`q = (S - \text{position})\,1\{\text{position} \le s\}`, with ``s <= S``.
    """

    def __init__(self, s, S):
        self.s = check_real("s", s, allow_array=True)
        self.S = check_real("S", S, allow_array=True)
        if np.any(np.asarray(self.s) > np.asarray(self.S)):
            raise ValueError(f"s must be <= S, got s={s}, S={S}")

    def act(self, state):
        y = state.position
        return np.where(y <= self.s, self.S - y, 0.0)

    def __repr__(self):
        return f"SS(s={self.s}, S={self.S})"


class ConstantOrder(Policy):
    """Order the same quantity ``q`` at every review, whatever the state."""

    def __init__(self, q):
        self.q = check_real("q", q, low=0.0, allow_array=True)

    def act(self, state):
        return np.broadcast_to(np.asarray(self.q, float), (state.n,)).copy()

    def __repr__(self):
        return f"ConstantOrder(q={self.q})"


class FunctionPolicy(Policy):
    """Wrap any function ``state -> orders`` as a policy."""

    def __init__(self, fn, name="function"):
        if not callable(fn):
            raise TypeError("fn must be callable")
        self.fn, self.name = fn, name

    def act(self, state):
        return self.fn(state)

    def __repr__(self):
        return f"FunctionPolicy({self.name})"
