"""Gymnasium environments over the simulator: :class:`InventoryEnv` (one SKU), here, and
:class:`~deepstock_lite.envs.batch_env.BatchInventoryEnv` (a ``gymnasium.vector.VectorEnv``
stepping ``n`` SKUs at once), in :mod:`~deepstock_lite.envs.batch_env`; both step the batched
episode logic of :mod:`~deepstock_lite.envs.episode`.

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
  libraries need); it replays the simulator's event order operation by operation, serving
  demand with :func:`float_serve_demand` (the plain-float copy of
  :func:`~deepstock_lite.core.simulator.serve_demand`), so its trajectories, costs and
  observations are bit-identical to :class:`BatchInventoryEnv` and to
  :func:`~deepstock_lite.core.simulator.simulate` on the same demand.
"""
from __future__ import annotations

import math
import numbers
from collections import deque

import numpy as np
import gymnasium as gym

from ..core.validation import check_int
from .episode import InventoryCore, as_actions, check_options

__all__ = ["InventoryEnv"]


def float_serve_demand(*, h, b, backlog):
    """:func:`~deepstock_lite.core.simulator.serve_demand` for one SKU in plain Python floats:
    returns ``serve(x0, demand) -> (end, cost)``.

    Every floating-point operation is the numpy function's, in its order
    (``tests/test_simulator.py`` checks them bit for bit), so :class:`InventoryEnv`'s
    trajectories are the batched simulator's. A closure over the costs, made once per
    environment; :class:`InventoryEnv` calls it in its general step and its attributed
    look-ahead, and writes it inline in its one-period step, the hot path (a call there would
    cost about 8% of the step).
    """
    hb = h + b
    if backlog:
        def serve(x0, demand):
            end = x0 - demand
            return end, hb * (end if end > 0.0 else 0.0) - b * end
    else:
        def serve(x0, demand):
            sales = x0 if x0 > 0.0 else 0.0         # min(demand, max(x0, 0)), numpy's order
            if demand < sales:
                sales = demand
            end = x0 - sales
            return end, h * end + b * (demand - sales)
    return serve


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
        self.core = InventoryCore(system, demand, horizon, q_max, warmup, n_history,
                                   integer_orders, on_hand, reward, features)
        self.observation_space, self.action_space = self.core.spaces()
        sy = self.core.system
        self._L, self._P, self._K, self._c = sy.L, sy.P, sy.K, sy.c
        self._h, self._b, self._hb, self._backlog = sy.h, sy.b, sy.h + sy.b, sy.backlog
        self._q_max, self._integer = self.core.q_max, self.core.integer_orders
        self._attributed = self.core.reward_mode == "attributed"
        self._end = self.core.warmup + self.core.horizon
        self._nh = self.core.n_history
        self._serve = float_serve_demand(h=sy.h, b=sy.b, backlog=sy.backlog)
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
        options = check_options(options, {"path"})
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
        # the simulator's event order (deepstock_lite.core.simulator), one period at a time,
        # serving demand with the operations of serve_demand: the trajectory is bit-identical
        # to the batched simulator's
        if self._simple:        # P = 1, no ordering costs: one period
            L, x, pipe = self._L, self._x, self._pipe
            if L:
                pipe.append(q)
            else:
                x = x + q
            # float_serve_demand written inline: calling it here would cost about 8% of the
            # step (benchmarks/simulator.py, section 2); tests/test_simulator.py checks this
            # copy against serve_demand bit for bit
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
                # periods in between run with no new order (a later one arrives after t0 + L),
                # and the pipeline now holds their L - 1 arrivals, this order last
                D, serve = self._D, self._serve
                for j, arriving in enumerate(pipe):
                    x = serve(x, D[t + j])[0] + arriving
                reward_cost = serve(x, D[t0 + L])[1]
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
        L, P, K, c = self._L, self._P, self._K, self._c
        attributed_mode, serve = self._attributed, self._serve
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
            end, cost = serve(x, D[t0 + k])
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
