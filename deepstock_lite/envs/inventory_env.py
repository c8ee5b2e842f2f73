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
* :class:`InventoryEnv` steps one SKU in plain Python floats (the fast path single-environment
  libraries need); it replays the simulator's event order operation by operation, so its
  trajectories, costs and observations are bit-identical to :class:`BatchInventoryEnv` and to
  :func:`~deepstock_lite.core.simulator.simulate` on the same demand.
"""
from __future__ import annotations

import math
import numbers
from collections import deque

import numpy as np
import gymnasium as gym
from gymnasium import spaces
from gymnasium.vector import VectorEnv

from ..core.simulator import InventorySystem
from ..core.validation import (MAX_COUNT, check_bool, check_choice, check_demand, check_int,
                                check_real)

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
            self.F = None if self.features is None else self.features[rows, :self.T]
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


def _check_options(options, allowed):
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"options has unknown keys {sorted(unknown)}; allowed: "
                         f"{sorted(allowed)}")
    return options


def _check_seed(seed, name="seed"):
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return seed
    return check_int(name, seed, low=0)


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

    Each episode's demand is drawn at :meth:`reset` from the environment's seeded generator
    (``reset(seed=...)``), exactly as :class:`BatchInventoryEnv` draws it; a step then runs on
    plain Python floats (several times faster than a numpy step for one SKU).
    """

    metadata = {"render_modes": []}

    def __init__(self, system, demand, horizon, q_max, *, warmup=0, n_history=0,
                 integer_orders=False, on_hand=0.0, reward="period", features=None):
        self.core = _InventoryCore(system, demand, horizon, q_max, warmup, n_history,
                                   integer_orders, on_hand, reward, features)
        self.observation_space, self.action_space = self.core.spaces()
        sy = self.core.system
        self._L, self._P, self._h, self._b = sy.L, sy.P, sy.h, sy.b
        self._K, self._c, self._backlog = sy.K, sy.c, sy.backlog
        self._q_max, self._integer = self.core.q_max, self.core.integer_orders
        self._attributed = self.core.reward_mode == "attributed"
        self._end = self.core.warmup + self.core.horizon
        self._nh = self.core.n_history
        self._hb = sy.h + sy.b
        # the fast paths: one period per step, no ordering costs (and L >= 1 if attributed)
        self._simple = sy.P == 1 and not sy.K and not sy.c and (
            not self._attributed or sy.L >= 1)
        self._plain_obs = not self._nh and self.core.features is None
        self._feature_obs = not self._nh and self.core.features is not None
        self._t = None

    # -- episode ------------------------------------------------------------------------------
    def reset(self, *, seed=None, options=None):
        if seed is not None:
            seed = check_int("seed", seed, low=0)
        super().reset(seed=seed)
        options = _check_options(options, {"path"})
        rows = None
        if "path" in options:
            p = options["path"]
            if isinstance(p, bool) or not isinstance(p, numbers.Integral):
                raise TypeError(f"options['path'] must be an integer row index, got "
                                f"{type(p).__name__}")
            if self.core.array is None:
                raise ValueError("options['path'] needs an array demand")
            rows = np.array([int(p)])
        obs = self.core.reset(1, self.np_random, rows)
        st = self.core.state
        # the scalar state: on hand, pipeline (next arrival first), period, demand stream
        self._x = float(st.on_hand[0])
        self._pipe = deque(float(v) for v in st.pipeline[0])
        self._t = st.t
        self._D = self.core.D[0].tolist()
        # zeros before period 0, so the last n_history demands before t are hist[t:t + nh]
        self._hist = [0.0] * self._nh + self._D if self._nh else None
        # the features as rows of plain floats, float32 values: appending them to the list of
        # the observation costs less than concatenating arrays, and gives the same float32s.
        # Tuples made by zip from the columns: no list per period, which the garbage
        # collector would traverse while it lives (a tuple of floats it stops tracking). The
        # last row once more for the end of an episode (a state past the last feature period
        # sees the last one), so that row t always exists
        self._feature_rows = None
        if self.core.features is not None:
            F = self.core.F[0].astype(np.float32)          # (periods, features)
            self._feature_rows = list(zip(*F.T.tolist())) if F.shape[1] else [()] * len(F)
            self._feature_rows.append(self._feature_rows[-1])
        return obs[0], {"t": self._t}

    def _order(self, action):
        # a plain float (RegularizedAction's decoded order) or an array (1,) skip the checks
        # of as_actions, which cost more than the whole step
        if type(action) is float:
            a = action
        elif type(action) is np.ndarray and action.shape == (1,) and action.dtype.kind == "f":
            a = action.item()
        else:
            a = float(as_actions(action, 1)[0])
        if not -math.inf < a < math.inf:
            raise ValueError("action must be finite (got NaN or inf)")
        q = a if a > 0.0 else 0.0
        if q > self._q_max:
            q = self._q_max
        return float(round(q)) if self._integer else q

    def step(self, action):
        t0 = self._t
        if t0 is None or t0 >= self._end:
            raise RuntimeError("the episode has ended (truncated): call reset() first")
        if type(action) is float and 0.0 < action <= self._q_max and not self._integer:
            q = action      # RegularizedAction's order in range: _order would return it as is
        else:
            q = self._order(action)
        # the simulator's event order (deepstock_lite.core.simulator), one period at a time;
        # every floating-point operation is the one InventorySystem.step performs, so the
        # trajectory is bit-identical to the batched simulator's
        if self._simple:        # P = 1, period reward, no ordering costs: one period
            L, x, pipe = self._L, self._x, self._pipe
            if L:
                pipe.append(q)
            else:
                x = x + q
            d = self._D[t0]
            if self._backlog:
                end = x - d
                cost = self._hb * (end if end > 0.0 else 0.0) - self._b * end
            else:
                sales = x if x > 0.0 else 0.0
                if d < sales:
                    sales = d
                end = x - sales
                cost = self._h * end + self._b * (d - sales)
            x = self._x = end + pipe.popleft() if L else end
            t = self._t = t0 + 1
            period_cost = reward_cost = cost
            if self._attributed:
                # the cost of period t0 + L, which this order is the last to influence: the
                # periods in between run with no new order (nothing else arrives before)
                D, j = self._D, 0
                for arriving in pipe:
                    if j == L - 1:
                        break
                    d = D[t + j]
                    if self._backlog:
                        end = x - d
                    else:
                        sales = x if x > 0.0 else 0.0
                        if d < sales:
                            sales = d
                        end = x - sales
                    x = end + arriving
                    j += 1
                d = D[t0 + L]
                if self._backlog:
                    end = x - d
                    reward_cost = self._hb * (end if end > 0.0 else 0.0) - self._b * end
                else:
                    sales = x if x > 0.0 else 0.0
                    if d < sales:
                        sales = d
                    end = x - sales
                    reward_cost = self._h * end + self._b * (d - sales)
        else:
            period_cost, reward_cost = self._advance(q, t0)
            t = self._t
        if self._plain_obs:
            obs = np.array([self._x, *self._pipe], dtype=np.float32)
        elif self._feature_obs:     # features, no demand history: _observe written inline
            obs = np.array([self._x, *self._pipe, *self._feature_rows[t]], dtype=np.float32)
        else:
            obs = self._observe()
        return (obs, -reward_cost, False, t >= self._end,
                {"cost": period_cost, "order": q, "t": t0})

    def _advance(self, q, t0):
        """The general step: ``P`` periods, ordering costs, the attributed look-ahead."""
        L, P, h, b, K, c = self._L, self._P, self._h, self._b, self._K, self._c
        backlog, attributed_mode = self._backlog, self._attributed
        D, pipe = self._D, self._pipe
        x = self._x
        n_look = L + P if attributed_mode else P
        period_cost = 0.0
        attributed = (K * (q > 0) + c * q) if attributed_mode else 0.0
        for k in range(n_look):
            qk = q if k == 0 else 0.0
            if L == 0:
                x = x + qk
            else:
                pipe.append(qk)
            d = D[t0 + k]
            if backlog:
                end = x - d
                cost = (h + b) * (end if end > 0.0 else 0.0) - b * end
            else:
                sales = x if x > 0.0 else 0.0
                if d < sales:
                    sales = d
                end = x - sales
                cost = h * end + b * (d - sales)
            if c:
                cost += c * qk
            if K:
                cost += K * (qk > 0)
            x = end + pipe.popleft() if L > 0 else end
            if k < P:
                period_cost += cost
                if k == P - 1:
                    x_next, pipe_next = x, (list(pipe) if attributed_mode else None)
            if attributed_mode and k >= L:
                attributed += cost - (qk * c + K * (qk > 0))
        if attributed_mode:   # the look-ahead ran past this step: restore its end state
            x = x_next
            pipe.clear()
            pipe.extend(pipe_next)
        self._x, self._t = x, t0 + P
        return period_cost, (attributed if attributed_mode else period_cost)

    def _observe(self):
        t, nh = self._t, self._nh
        if nh:
            o = [self._x, *self._pipe, *self._hist[t:t + nh]]
        else:
            o = [self._x, *self._pipe]
        if self._feature_rows is not None:
            o += self._feature_rows[t]
        return np.array(o, dtype=np.float32)

    @property
    def state(self):
        """The current state as a simulator :class:`~deepstock_lite.core.simulator.InventoryState`
        (a fresh copy; ``None`` before the first reset)."""
        if self._t is None:
            return None
        sy = self.core.system
        m = max(sy.L - 1, 0)
        pipe = np.array(list(self._pipe), dtype=float).reshape(1, m)
        st = sy.initial_state(1, on_hand=0.0, pipeline=pipe if m else None)
        st.on_hand = np.array([self._x])
        st.t = self._t
        return st


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
        self.core = _InventoryCore(system, demand, horizon, q_max, warmup, n_history,
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
        options = _check_options(options, {"paths"})
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
