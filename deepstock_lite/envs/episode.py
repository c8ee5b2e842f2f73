"""The batched episode logic both environments share: :func:`observation` (the observation of
every policy in the book), :class:`InventoryCore` (the checks of the arguments, each episode's
demand, one review cycle on the batched simulator, the attributed reward, the spaces),
:func:`as_actions` (the checks of an action) and :func:`check_options` (of a reset's options).

:class:`~deepstock_lite.envs.inventory_env.InventoryEnv` and
:class:`~deepstock_lite.envs.batch_env.BatchInventoryEnv` hold one :class:`InventoryCore` each;
the docstring of :mod:`deepstock_lite.envs.inventory_env` describes the design.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ..core.simulator import InventorySystem
from ..core.validation import (MAX_COUNT, check_bool, check_choice, check_demand, check_int,
                                check_real)

__all__ = ["InventoryCore", "observation", "as_actions", "check_options"]


def observation(state, demand, n_history=0, features=None):
    """The observation of every policy in the book, for a batch of simulator states:
    ``[on_hand, pipeline (L−1), last n_history demands (zeros before period 0), features]``.

    ``demand`` (n, T) and ``features`` (n, T, F) are the rows of the states' trajectories; a
    state past the last feature period sees the last one. Returns a float64 array (n, d).
    """
    t = state.t
    parts = [state.on_hand[:, None], state.pipeline]
    if n_history:
        hist = np.zeros((state.n, n_history))
        k = min(n_history, t)
        if k:
            hist[:, n_history - k:] = demand[:, t - k:t]
        parts.append(hist)
    if features is not None:
        parts.append(features[:, min(t, features.shape[1] - 1)])
    return np.concatenate(parts, axis=1)


class InventoryCore:
    """Batched episode logic shared by both environments (not exported by
    :mod:`deepstock_lite.envs`)."""

    def __init__(self, system, demand, horizon, q_max, warmup, n_history, integer_orders,
                 on_hand, reward, features=None):
        if not isinstance(system, InventorySystem):
            raise TypeError(f"system must be an InventorySystem, got {type(system).__name__}")
        self.system = system
        self.horizon = check_int("horizon", horizon, low=1)
        if self.horizon % system.P:
            raise ValueError(f"horizon must be a multiple of the review period P={system.P}, "
                             f"got {horizon}")
        self.q_max = check_real("q_max", q_max, low=0.0, low_open=True)
        self.warmup = check_int("warmup", warmup, low=0, high=MAX_COUNT)
        if not system.is_review(self.warmup):
            raise ValueError(f"warmup must end on a review period of {system!r}; "
                             f"period {self.warmup} is not one")
        self.n_history = check_int("n_history", n_history, low=0, high=MAX_COUNT)
        if self.warmup + self.horizon + self.n_history > MAX_COUNT:
            raise ValueError(f"warmup + horizon + n_history must be at most {MAX_COUNT}, got "
                             f"warmup={self.warmup}, horizon={self.horizon}, "
                             f"n_history={self.n_history}")
        self.integer_orders = check_bool("integer_orders", integer_orders)
        self.on_hand = check_real("on_hand", on_hand)
        if not isinstance(reward, str):
            raise TypeError(f"reward must be 'period' or 'attributed', got "
                            f"{type(reward).__name__}")
        self.reward_mode = check_choice("reward", reward, {"period", "attributed"})
        self.T = self.warmup + self.horizon + (system.L if reward == "attributed" else 0)
        if hasattr(demand, "sample") and not isinstance(demand, np.ndarray):
            self.process, self.array = demand, None
        else:
            self.process, self.array = None, check_demand("demand", demand)
            if self.array.shape[1] < self.T:
                raise ValueError(f"demand must have at least {self.T} periods (warmup + horizon"
                                 f"{' + L' if reward == 'attributed' else ''}), "
                                 f"got {self.array.shape[1]}")
        self.features = None
        if features is not None:
            if self.array is None:
                raise ValueError("features need an array demand (rows must match)")
            F = np.asarray(features, dtype=float)
            if F.ndim != 3 or F.shape[0] != self.array.shape[0] or F.shape[1] < self.T:
                raise ValueError(f"features must have shape ({self.array.shape[0]}, >= {self.T},"
                                 f" F), got {F.shape}")
            if not np.all(np.isfinite(F)):
                raise ValueError("features must be finite")
            self.features = F
            # period-major copy: an episode reads one period of every row at each step, which
            # is contiguous here (in F it is a strided gather, slow on thousands of rows)
            self._features_by_period = np.ascontiguousarray(F[:, :self.T].transpose(1, 0, 2))
        self.obs_dim = (1 + max(system.L - 1, 0) + self.n_history
                        + (0 if self.features is None else self.features.shape[2]))
        self.state = None

    # -- episode ---------------------------------------------------------------------------
    def reset(self, n, rng, rows):
        if self.process is not None:
            self.D = self.process.sample(n, self.T, seed=rng)
        else:
            if rows is None:
                rows = rng.integers(0, self.array.shape[0], size=n)
            rows = np.asarray(rows) if not isinstance(rows, (str, bytes)) else np.array([])
            if rows.shape != (n,) or not np.issubdtype(rows.dtype, np.integer) or \
                    rows.min() < 0 or rows.max() >= self.array.shape[0]:
                raise ValueError(f"paths must be {n} row indices in [0, "
                                 f"{self.array.shape[0] - 1}]")
            self.D = self.array[rows, :self.T]
            # (n, T, F) with each period's rows contiguous: the same values as features[rows]
            self.F = (None if self.features is None else
                      self._features_by_period.take(rows, axis=1).transpose(1, 0, 2))
        self.Dt = np.ascontiguousarray(self.D.T)
        self.state = self.system.initial_state(n, on_hand=self.on_hand)
        for t in range(self.warmup):
            self.system.step(self.state, 0.0, self.Dt[t])
        return self.observe()

    def observe(self):
        F = None if self.features is None else self.F
        return observation(self.state, self.D, self.n_history, F).astype(np.float32)

    def decode(self, action, n, name="action"):
        a = as_actions(action, n, name)
        q = np.clip(a, 0.0, self.q_max)
        return np.rint(q) if self.integer_orders else q

    def step(self, action, name="action"):
        if self.state is None or self.state.t >= self.warmup + self.horizon:
            raise RuntimeError("the episode has ended (truncated): call reset() first")
        sys, s = self.system, self.state
        q = self.decode(action, s.n, name)
        t0 = s.t
        if self.reward_mode == "attributed":
            attributed = self.attributed_cost(q)
        period_cost = np.zeros(s.n)
        for k in range(sys.P):
            rec = sys.step(s, q if k == 0 else 0.0, self.Dt[s.t])
            period_cost += rec.cost
        cost = attributed if self.reward_mode == "attributed" else period_cost
        truncated = s.t >= self.warmup + self.horizon
        info = {"cost": period_cost, "order": q, "t": t0}
        return self.observe(), -cost, truncated, info

    def attributed_cost(self, q):
        """The cost of the periods ``[t+L, t+L+P)`` that the order ``q`` placed now serves,
        by a look-ahead on the realized demand (the ``reward="attributed"`` of Chapter 5)."""
        sys = self.system
        look = self.state.copy()
        total = np.zeros(look.n)
        for k in range(sys.L + sys.P):
            rec = sys.step(look, q if k == 0 else 0.0, self.Dt[look.t])
            if k == 0:
                total += sys.K * (q > 0) + sys.c * q
            if k >= sys.L:
                total += rec.cost - (rec.order * sys.c + sys.K * (rec.order > 0))
        return total

    def spaces(self):
        obs = spaces.Box(-np.inf, np.inf, shape=(self.obs_dim,), dtype=np.float32)
        act = spaces.Box(0.0, np.float32(self.q_max), shape=(1,), dtype=np.float32)
        return obs, act


def as_actions(action, n, name="action"):
    """Orders ``(n,)`` (float64) from an action of shape ``(n,)`` or ``(n, 1)`` (also a scalar
    when ``n == 1``), after checking type, shape and finiteness; ``name`` names it in errors."""
    if isinstance(action, (str, bytes)) or action is None:
        raise TypeError(f"{name} must be an array of numbers (orders), got "
                        f"{type(action).__name__}")
    try:
        a = np.asarray(action)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be a rectangular array of numbers ({e})") from None
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.floating)
                               or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name} must hold numbers (int or float), got dtype {a.dtype}")
    if a.shape not in ((n,), (n, 1)) and not (n == 1 and a.size == 1 and a.ndim <= 2):
        raise ValueError(f"{name} must have shape ({n},) or ({n}, 1), got {a.shape}")
    a = a.astype(np.float64).reshape(n)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return a


def check_options(options, allowed):
    """The ``options`` of a ``reset``: ``{}`` for ``None``, else a dict with keys in ``allowed``."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"options has unknown keys {sorted(unknown)}; allowed: "
                         f"{sorted(allowed)}")
    return options
