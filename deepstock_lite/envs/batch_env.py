"""The batched environment: :class:`BatchInventoryEnv`, ``n`` SKUs stepped together in numpy
as a ``gymnasium.vector.VectorEnv`` (the design is described in
:mod:`deepstock_lite.envs.inventory_env`; the episode logic is
:class:`~deepstock_lite.envs.episode.InventoryCore`'s).
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv

from ..core.validation import MAX_COUNT, check_int
from .episode import InventoryCore, check_options

__all__ = ["BatchInventoryEnv"]

try:
    from gymnasium.vector import AutoresetMode
    _NO_AUTORESET = AutoresetMode.DISABLED
except ImportError:  # pragma: no cover - gymnasium < 1.1
    _NO_AUTORESET = "Disabled"


def _check_seed(seed, name="seed"):
    """A seed as given (``None`` or a ``Generator``), or a checked non-negative integer."""
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return seed
    return check_int(name, seed, low=0)


class BatchInventoryEnv(VectorEnv):
    """``n_envs`` SKUs stepped together in numpy, as a ``gymnasium.vector.VectorEnv``.

    All SKUs share the episode clock, so they truncate together; there is **no autoreset**:
    after ``truncated`` call :meth:`reset`. With an array ``demand`` and ``n_envs=None`` every
    row is one environment and :meth:`reset` uses the rows in order (held-out evaluation);
    otherwise rows are drawn at random, or chosen with ``options={"paths": idx}``.

    ``seed`` seeds the stream of episodes drawn by :meth:`reset` calls without a seed (``None``:
    fresh entropy at the first such reset). :meth:`rollout` always evaluates on seeded demand
    (see there), so the same policy gives the same cost every time.
    """

    metadata = {"autoreset_mode": _NO_AUTORESET, "render_modes": []}

    def __init__(self, system, demand, horizon, q_max, n_envs=None, *, warmup=0, n_history=0,
                 integer_orders=False, on_hand=0.0, reward="period", features=None, seed=None):
        self.core = InventoryCore(system, demand, horizon, q_max, warmup, n_history,
                                   integer_orders, on_hand, reward, features)
        if n_envs is None:
            if self.core.array is None:
                raise ValueError("n_envs is required when demand is a demand process")
            self.num_envs, self._rows = self.core.array.shape[0], np.arange(
                self.core.array.shape[0])
        else:
            self.num_envs, self._rows = check_int("n_envs", n_envs, low=1, high=MAX_COUNT), None
            size = self.num_envs * (self.core.T + self.core.n_history + self.core.obs_dim)
            if size > MAX_COUNT:
                raise ValueError(f"n_envs * (periods + n_history + obs_dim) must be at most "
                                 f"{MAX_COUNT} (the arrays allocated per episode), got "
                                 f"n_envs={self.num_envs}: {size}")
        self.seed = _check_seed(seed)
        self.single_observation_space, self.single_action_space = self.core.spaces()
        self.observation_space = spaces.Box(-np.inf, np.inf,
                                            shape=(self.num_envs, self.core.obs_dim),
                                            dtype=np.float32)
        self.action_space = spaces.Box(0.0, np.float32(self.core.q_max),
                                       shape=(self.num_envs, 1), dtype=np.float32)
        self._np_random = None

    def reset(self, *, seed=None, options=None):
        seed = _check_seed(seed)
        if seed is not None:
            self._np_random = np.random.default_rng(seed)
        elif self._np_random is None:
            self._np_random = np.random.default_rng(self.seed)
        options = check_options(options, {"paths"})
        rows = self._rows
        if "paths" in options:
            rows = options["paths"]
            if self.core.array is None:
                raise ValueError("options['paths'] needs an array demand")
        obs = self.core.reset(self.num_envs, self._np_random, rows)
        return obs, {"t": self.core.state.t}

    def step(self, actions):
        obs, reward, truncated, info = self.core.step(actions, "actions")
        n = self.num_envs
        return (obs, reward.astype(np.float64), np.zeros(n, dtype=bool),
                np.full(n, bool(truncated)), info)

    def rollout(self, policy_fn, *, seed=None, options=None):
        """Run one whole episode with ``policy_fn(obs) -> actions`` and return the average
        cost per period (periods after the warm-up, all rows).

        The episode's demand (a demand process, or random rows of an array) is drawn with
        ``seed``; by default the environment's ``seed``, or 0 when it has none. So repeated
        rollouts score every policy on the same demand (common random numbers), and the
        stream of :meth:`reset` calls without a seed is left where it was.
        """
        if not callable(policy_fn):
            raise TypeError(f"policy_fn must be callable (obs -> actions), got "
                            f"{type(policy_fn).__name__}")
        seed = _check_seed(seed)
        if seed is None:
            seed = 0 if self.seed is None else self.seed
        if isinstance(seed, np.random.Generator):
            raise TypeError("seed must be an integer for rollout, got a Generator")
        saved = self._np_random
        try:
            obs, _ = self.reset(seed=seed, options=options)
            total, done = 0.0, False
            while not done:
                obs, _, _, trunc, info = self.step(policy_fn(obs))
                total += info["cost"].sum()
                done = bool(trunc[0])
        finally:
            self._np_random = saved
        return total / (self.num_envs * self.core.horizon)

    @property
    def state(self):
        """The simulator's :class:`~deepstock_lite.core.simulator.InventoryState`."""
        return self.core.state
