"""Gymnasium environments over the simulator: :class:`InventoryEnv` (one SKU) and
:class:`BatchInventoryEnv` (a ``gymnasium.vector.VectorEnv`` stepping ``n`` SKUs at once).

* One environment step is one **review cycle**: the agent orders at a review period, then the
  simulator runs the ``P`` periods until the next review (with :meth:`InventorySystem.step`,
  so the event order is the simulator's).
* Observation (float32): ``[on_hand, pipeline (L−1 values, next arrival first),
  last n_history demands, features]``, where ``features`` (optional, with array demand) is an
  array ``(n_paths, T, F)`` of exogenous signals known at the start of each period (a forecast,
  a promotion flag, the day). The phase within the review cycle is always 0, so it is omitted.
* Action: ``Box(0, q_max, (1,))``; values outside are clipped; ``integer_orders`` rounds.
* Reward, ``reward="period"``: minus the cost of the ``P`` periods just simulated.
  ``reward="attributed"``: minus the cost of the periods ``[t+L, t+L+P)`` that this order is
  the last to influence (the DeepStock authors' reward), computed exactly by a zero-order
  look-ahead (no later order can arrive before ``t+L+P``), plus this order's ordering cost.
* ``terminated`` is always ``False``: inventory control is an infinite-horizon problem cut at
  ``horizon`` periods, so the end of an episode is a **truncation** and learners must keep
  bootstrapping from the value of the last state.
"""
from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces
from gymnasium.vector import VectorEnv

from ..core.simulator import InventorySystem
from ..core.validation import check_bool, check_choice, check_demand, check_int, check_real

__all__ = ["InventoryEnv", "BatchInventoryEnv", "observation"]

try:
    from gymnasium.vector import AutoresetMode
    _NO_AUTORESET = AutoresetMode.DISABLED
except ImportError:  # pragma: no cover - gymnasium < 1.1
    _NO_AUTORESET = "Disabled"


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


class _InventoryCore:
    """Batched episode logic shared by both environments (not public)."""

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
        self.warmup = check_int("warmup", warmup, low=0)
        if not system.is_review(self.warmup):
            raise ValueError(f"warmup must end on a review period of {system!r}; "
                             f"period {self.warmup} is not one")
        self.n_history = check_int("n_history", n_history, low=0)
        self.integer_orders = check_bool("integer_orders", integer_orders)
        self.on_hand = check_real("on_hand", on_hand)
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
            rows = np.asarray(rows)
            if rows.shape != (n,) or not np.issubdtype(rows.dtype, np.integer) or \
                    rows.min() < 0 or rows.max() >= self.array.shape[0]:
                raise ValueError(f"paths must be {n} row indices in [0, "
                                 f"{self.array.shape[0] - 1}]")
            self.D = self.array[rows, :self.T]
            self.F = None if self.features is None else self.features[rows, :self.T]
        self.Dt = np.ascontiguousarray(self.D.T)
        self.state = self.system.initial_state(n, on_hand=self.on_hand)
        for t in range(self.warmup):
            self.system.step(self.state, 0.0, self.Dt[t])
        return self.observe()

    def observe(self):
        F = None if self.features is None else self.F
        return observation(self.state, self.D, self.n_history, F).astype(np.float32)

    def decode(self, action, n):
        a = np.asarray(action, dtype=float).reshape(n, -1)
        if a.shape[1] != 1:
            raise ValueError(f"action must have shape ({n}, 1) or ({n},), got {np.shape(action)}")
        if not np.all(np.isfinite(a)):
            raise ValueError("action must be finite (got NaN or inf)")
        q = np.clip(a[:, 0], 0.0, self.q_max)
        return np.rint(q) if self.integer_orders else q

    def step(self, action):
        if self.state is None or self.state.t >= self.warmup + self.horizon:
            raise RuntimeError("the episode has ended (truncated): call reset() first")
        sys, s = self.system, self.state
        q = self.decode(action, s.n)
        t0 = s.t
        if self.reward_mode == "attributed":
            attributed = self._attributed_cost(q)
        period_cost = np.zeros(s.n)
        for k in range(sys.P):
            rec = sys.step(s, q if k == 0 else 0.0, self.Dt[s.t])
            period_cost += rec.cost
        cost = attributed if self.reward_mode == "attributed" else period_cost
        truncated = s.t >= self.warmup + self.horizon
        info = {"cost": period_cost, "order": q, "t": t0}
        return self.observe(), -cost, truncated, info

    def _attributed_cost(self, q):
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


class InventoryEnv(gym.Env):
    """One SKU as a gymnasium environment (see the module docstring for the design).

    Parameters
    ----------
    system : :class:`~deepstock_lite.core.simulator.InventorySystem`.
    demand : a demand process (``sample(n, T, seed)``) or an array of trajectories ``(n, T)``;
        an array row is chosen at random at each reset unless ``options={"path": i}``.
    horizon : periods per episode after the warm-up (a multiple of ``P``).
    q_max : largest order.
    warmup : periods simulated with no orders before the first decision (costs not counted).
    n_history : number of past demands appended to the observation.
    integer_orders : round orders to integers.
    on_hand : starting net inventory.
    reward : ``"period"`` or ``"attributed"``.
    features : optional array ``(n_paths, T, F)`` appended to the observation (array demand).
    """

    metadata = {"render_modes": []}

    def __init__(self, system, demand, horizon, q_max, *, warmup=0, n_history=0,
                 integer_orders=False, on_hand=0.0, reward="period", features=None):
        self.core = _InventoryCore(system, demand, horizon, q_max, warmup, n_history,
                                   integer_orders, on_hand, reward, features)
        self.observation_space, self.action_space = self.core.spaces()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        rows = None
        if options and "path" in options:
            rows = np.array([int(options["path"])])
        obs = self.core.reset(1, self.np_random, rows)
        return obs[0], {"t": self.core.state.t}

    def step(self, action):
        obs, reward, truncated, info = self.core.step(action)
        return (obs[0], float(reward[0]), False, bool(truncated),
                {"cost": float(info["cost"][0]), "order": float(info["order"][0]),
                 "t": info["t"]})


class BatchInventoryEnv(VectorEnv):
    """``n_envs`` SKUs stepped together in numpy, as a ``gymnasium.vector.VectorEnv``.

    All SKUs share the episode clock, so they truncate together; there is **no autoreset**:
    after ``truncated`` call :meth:`reset`. With an array ``demand`` and ``n_envs=None`` every
    row is one environment and :meth:`reset` uses the rows in order (held-out evaluation);
    otherwise rows are drawn at random, or chosen with ``options={"paths": idx}``.
    """

    metadata = {"autoreset_mode": _NO_AUTORESET, "render_modes": []}

    def __init__(self, system, demand, horizon, q_max, n_envs=None, *, warmup=0, n_history=0,
                 integer_orders=False, on_hand=0.0, reward="period", features=None):
        self.core = _InventoryCore(system, demand, horizon, q_max, warmup, n_history,
                                   integer_orders, on_hand, reward, features)
        if n_envs is None:
            if self.core.array is None:
                raise ValueError("n_envs is required when demand is a demand process")
            self.num_envs, self._rows = self.core.array.shape[0], np.arange(
                self.core.array.shape[0])
        else:
            self.num_envs, self._rows = check_int("n_envs", n_envs, low=1), None
        self.single_observation_space, self.single_action_space = self.core.spaces()
        self.observation_space = spaces.Box(-np.inf, np.inf,
                                            shape=(self.num_envs, self.core.obs_dim),
                                            dtype=np.float32)
        self.action_space = spaces.Box(0.0, np.float32(self.core.q_max),
                                       shape=(self.num_envs, 1), dtype=np.float32)
        self._np_random = None

    def reset(self, *, seed=None, options=None):
        if seed is not None or self._np_random is None:
            self._np_random = np.random.default_rng(seed)
        rows = self._rows
        if options and "paths" in options:
            rows = np.asarray(options["paths"])
        obs = self.core.reset(self.num_envs, self._np_random, rows)
        return obs, {"t": self.core.state.t}

    def step(self, actions):
        obs, reward, truncated, info = self.core.step(actions)
        n = self.num_envs
        return (obs, reward.astype(np.float64), np.zeros(n, dtype=bool),
                np.full(n, bool(truncated)), info)

    def rollout(self, policy_fn, *, seed=None, options=None):
        """Run one whole episode with ``policy_fn(obs) -> actions`` and return the average
        cost per period (periods after the warm-up, all rows)."""
        obs, _ = self.reset(seed=seed, options=options)
        total, done = 0.0, False
        while not done:
            obs, _, _, trunc, info = self.step(policy_fn(obs))
            total += info["cost"].sum()
            done = bool(trunc[0])
        return total / (self.num_envs * self.core.horizon)

    @property
    def state(self):
        """The simulator's :class:`~deepstock_lite.core.simulator.InventoryState`."""
        return self.core.state
