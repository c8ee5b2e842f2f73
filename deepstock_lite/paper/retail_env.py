"""The e-commerce environment :class:`RetailEnv`: a pool of catalogue SKUs, one day per step,
in days of cover (dynamics, observation and rewards in :mod:`~deepstock_lite.paper.retail`),
and :func:`metrics_by_period`, an evaluation broken down by review period."""
from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv

from ..core.validation import check_bool, check_choice, check_int, check_real
from .catalogue import Catalogue
from .catalogue_config import TRAILING_WINDOWS
from .normalization import SkuScaler
from .retail_metrics import OBJECTIVES, daily_cost, metrics_from_sums

__all__ = ["RetailEnv", "metrics_by_period", "check_skus", "SHORT_WINDOW", "LONG_WINDOW",
           "RING_DAYS"]

try:
    from gymnasium.vector import AutoresetMode
    _NO_AUTORESET = AutoresetMode.DISABLED
except ImportError:  # pragma: no cover - gymnasium < 1.1
    _NO_AUTORESET = "Disabled"

SHORT_WINDOW, LONG_WINDOW = TRAILING_WINDOWS
RING_DAYS = max(TRAILING_WINDOWS)
# the exogenous columns of Catalogue.features used as they are (sales means are recomputed)
_EXO = ("forecast_7", "forecast_28", "promo_today", "promo_next_7", "dow_sin", "dow_cos")

def check_skus(name, skus, n_all):
    idx = np.asarray(skus)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name} must be a non-empty 1-D integer index array")
    if idx.min() < 0 or idx.max() >= n_all:
        raise ValueError(f"{name} must be SKU indices in [0, {n_all - 1}], got range "
                         f"[{idx.min()}, {idx.max()}]")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{name} must not repeat a SKU")
    return idx.astype(np.int64)


class RetailEnv(VectorEnv):
    r"""A pool of catalogue SKUs under one policy, one day per step (see the module docstring).

    Parameters
    ----------
    catalogue : a :class:`Catalogue`.
    skus : index array of the catalogue SKUs in the pool.
    n_envs : ``None``: every pool SKU is one environment, in order (evaluation); ``k``: each
        :meth:`reset` draws ``k`` pool SKUs without replacement (training), or takes
        ``options={"skus": idx}`` (catalogue indices of pool SKUs).
    days : ``slice`` of catalogue days of the episode (default all).
    weight : :math:`w \ge 0`, days of turnover traded against percentage points of stockout.
    reward : ``"dense"``, ``"attributed"`` or ``"sparse"`` (see the module docstring).
    objective : ``"service"`` (:math:`J = 100\,\overline{SR} + w\,\overline{TT}`, default) or
        ``"cost"``: the per-period cost :math:`h\,e_{it} + b\,(D_{it} - y_{it})` per unit of
        the SKU's scale, averaged over counted days and SKUs (the objective of Chapters 1–10,
        lost-sales penalty ``b`` and holding cost ``h``, default 0.9 and 0.1 as in the paper).
        Rewards and :meth:`rollout` follow the objective; the metrics report both.
    scaler : a fitted :class:`SkuScaler` over all catalogue SKUs (default: fitted on
        ``catalogue.history_demand``, the days before day 0).
    q_max : largest order in days of cover.
    integer_orders : round orders in units.
    burn_in : uncounted days at the start (default ``max L + max P`` over the pool, at most
        half the episode).
    seed : seed of the SKU draws.

    Attributes: ``n_slots``, ``position_L``, ``demand_feature_index``, ``obs_names``,
    ``current_skus`` and ``current_scale`` (the SKUs of the episode and their :math:`\hat s`).
    """

    metadata = {"autoreset_mode": _NO_AUTORESET, "render_modes": []}

    def __init__(self, catalogue, skus, *, n_envs=None, days=None, weight=0.1, reward="dense",
                 scaler=None, q_max=60.0, integer_orders=True, burn_in=None, seed=None,
                 objective="service", h=0.1, b=0.9):
        if not isinstance(catalogue, Catalogue):
            raise TypeError(f"catalogue must be a Catalogue, got {type(catalogue).__name__}")
        cat = self.catalogue = catalogue
        self.skus = check_skus("skus", skus, cat.n_skus)
        n_pool = self.skus.size
        if days is None:
            days = slice(None)
        if not isinstance(days, slice):
            raise TypeError(f"days must be a slice of catalogue days, got {type(days).__name__}")
        d0, d1, step = days.indices(cat.T)
        if step != 1 or d1 - d0 < 1:
            raise ValueError(f"days must select consecutive days (step 1, at least one) of the "
                             f"{cat.T} catalogue days, got {days}")
        self.d0, self.d1, self.T = d0, d1, d1 - d0
        self.weight = check_real("weight", weight, low=0.0)
        self.objective = check_choice("objective", objective, set(OBJECTIVES))
        self.h = check_real("h", h, low=0.0)
        self.b = check_real("b", b, low=0.0)
        self.reward_mode = check_choice("reward", reward, {"dense", "sparse", "attributed"})
        if scaler is None:
            scaler = SkuScaler().fit(cat.history_demand)
        if not isinstance(scaler, SkuScaler):
            raise TypeError(f"scaler must be a SkuScaler, got {type(scaler).__name__}")
        if scaler.scale_ is None or scaler.scale_.size != cat.n_skus:
            raise ValueError(f"scaler must be fitted on all {cat.n_skus} catalogue SKUs")
        self.scaler = scaler
        self.q_max = check_real("q_max", q_max, low=0.0, low_open=True)
        self.integer_orders = check_bool("integer_orders", integer_orders)
        L, P = cat.L[self.skus], cat.P[self.skus]
        if burn_in is None:
            burn_in = min(int(L.max() + P.max()), self.T // 2)
        self.burn_in = check_int("burn_in", burn_in, low=0, high=self.T - 1)
        if n_envs is None:
            self.num_envs, self._draw = n_pool, False
        else:
            self.num_envs, self._draw = check_int("n_envs", n_envs, low=1, high=n_pool), True
        self.random_lead = bool(cat.config.random_lead_times)
        self.n_slots = int(cat.lead_pmf.shape[1] - 1)
        self.position_L = self.n_slots + 1
        S = self.n_slots
        self.obs_names = (["on_hand"] + [f"pipeline_{k}" for k in range(1, S + 1)]
                          + ["sales_mean_7", "sales_mean_28", *_EXO,
                             "L", "P", "review_today", "days_to_next_review", "log_scale"])
        self.demand_feature_index = tuple(range(1 + S, 5 + S))
        self.obs_dim = len(self.obs_names)

        # per-pool data, day-major so that one day of every SKU is contiguous
        s = scaler.scale_[self.skus]
        self._pos = np.full(cat.n_skus, -1, dtype=np.int64)
        self._pos[self.skus] = np.arange(n_pool)
        self._scale, self._L, self._P = s, L, P
        self._demand = np.ascontiguousarray(cat.demand[self.skus, d0:d1].T)
        self._lead = (np.ascontiguousarray(cat.lead_times[self.skus, d0:d1].T)
                      if self.random_lead else None)
        X = cat.features(skus=self.skus)                  # pool rows only
        names = list(cat.feature_names)
        cols = [names.index(c) for c in _EXO]
        exo = np.ascontiguousarray(X[:, d0:d1][:, :, cols[:4]].transpose(1, 0, 2))
        exo[:, :, :2] /= s[None, :, None].astype(np.float32)
        self._exo = exo                                   # (T, n_pool, 4), rates normalized
        self._dow = X[0, d0:d1][:, cols[4:]].astype(np.float32)   # (T, 2), same for all SKUs
        del X
        # sales of the 28 days before the first day (history demand, then catalogue demand)
        full = np.concatenate([cat.history_demand[self.skus], cat.demand[self.skus, :d0]], 1)
        self._pre = np.ascontiguousarray(full[:, full.shape[1] - RING_DAYS:].T)  # (28, n_pool)

        obs_box = spaces.Box(-np.inf, np.inf, shape=(self.obs_dim,), dtype=np.float32)
        self.single_observation_space = obs_box
        self.single_action_space = spaces.Box(0.0, np.float32(self.q_max), shape=(1,),
                                              dtype=np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(self.num_envs, self.obs_dim),
                                            dtype=np.float32)
        self.action_space = spaces.Box(0.0, np.float32(self.q_max), shape=(self.num_envs, 1),
                                       dtype=np.float32)
        self._np_random = np.random.default_rng(None if seed is None else
                                                check_int("seed", seed, low=0))
        self._t = None

    def __repr__(self):
        return (f"RetailEnv(pool={self.skus.size}, n_envs={self.num_envs}, days={self.d0}:"
                f"{self.d1}, reward={self.reward_mode!r}, weight={self.weight:g})")

    @property
    def n_counted(self):
        return self.T - self.burn_in

    @property
    def review_periods(self):
        """The review period :math:`P` of each SKU of the pool (days), in ``skus`` order."""
        return self._P

    @property
    def lead_times(self):
        """The lead time :math:`L` of each SKU of the pool (days), in ``skus`` order."""
        return self._L

    # -- episode -------------------------------------------------------------------------
    def _positions(self, options):
        if options and "skus" in options:
            idx = check_skus("options['skus']", options["skus"], self.catalogue.n_skus)
            if idx.size != self.num_envs:
                raise ValueError(f"options['skus'] must hold {self.num_envs} SKUs, got {idx.size}")
            pos = self._pos[idx]
            if (pos < 0).any():
                raise ValueError("options['skus'] must be SKUs of the pool (env.skus)")
            return pos
        if self._draw:
            return np.sort(self._np_random.choice(self.skus.size, self.num_envs, replace=False))
        return None

    def reset(self, *, seed=None, options=None):
        """Start an episode on the first day; returns ``(obs, info)``."""
        if seed is not None:
            self._np_random = np.random.default_rng(check_int("seed", seed, low=0))
        pos = self._positions(options)
        take = (lambda a, ax=0: a) if pos is None else (lambda a, ax=0: np.take(a, pos, ax))
        self._cur = pos
        self.current_skus = self.skus if pos is None else self.skus[pos]
        s = self.current_scale = take(self._scale)
        self._s32 = s.astype(np.float32)
        self._inv_s = 1.0 / s
        self._Lc, self._Pc = take(self._L), take(self._P)
        self._D = take(self._demand, 1)
        self._lt = None if self._lead is None else take(self._lead, 1)
        self._X = take(self._exo, 1)
        n = s.size
        self._ar = np.arange(n)
        self._ring = take(self._pre, 1).astype(float)        # ring[d % 28] = sales of day d
        # align with day index
        self._ring = self._ring[(np.arange(RING_DAYS) - self.d0) % RING_DAYS]
        self._sum7 = self._ring[[(self.d0 - k) % RING_DAYS
                                 for k in range(1, SHORT_WINDOW + 1)]].sum(0)
        self._sum28 = self._ring.sum(0)
        self._x = np.rint(s * (self._Lc + self._Pc))
        self._pipe = np.zeros((self.n_slots + 1, n))          # pipe[k]: arrives in k days
        self._so = np.zeros(n)
        self._end_sum = np.zeros(n)
        self._sales_sum = np.zeros(n)
        self._dem_sum = np.zeros(n)
        self._t = 0
        return self._observe(), {"day": self.d0, "skus": self.current_skus}

    def _observe(self):
        """Observation at the start of episode day ``self._t`` (after arrivals)."""
        t = min(self._t, self.T - 1)
        n, S = self._x.size, self.n_slots
        o = np.empty((self.obs_dim, n), dtype=np.float32)
        o[0] = self._x * self._inv_s
        if S:
            np.multiply(self._pipe[1:], self._inv_s, out=o[1:S + 1], casting="unsafe")
        o[S + 1] = np.maximum(self._sum7, 0.0) * self._inv_s / SHORT_WINDOW
        o[S + 2] = np.maximum(self._sum28, 0.0) * self._inv_s / LONG_WINDOW
        o[S + 3:S + 7] = self._X[t].T
        o[S + 7:S + 9] = self._dow[t][:, None]
        o[S + 9] = self._Lc
        o[S + 10] = self._Pc
        phase = self._t % self._Pc
        o[S + 11] = phase == 0
        o[S + 12] = self._Pc - phase
        o[S + 13] = np.log(self.current_scale)
        return np.ascontiguousarray(o.T)

    def _decode(self, actions):
        n = self.num_envs
        a = np.asarray(actions)
        if a.shape not in ((n,), (n, 1)):
            raise ValueError(f"actions must have shape ({n},) or ({n}, 1), got {a.shape}")
        if a.dtype == bool or not np.issubdtype(a.dtype, np.number):
            raise TypeError(f"actions must be numbers, got dtype {a.dtype}")
        a = a.reshape(n).astype(float)
        if not np.isfinite(a).all():
            raise ValueError("actions must be finite (got NaN or inf)")
        q = np.clip(a, 0.0, self.q_max) * self.current_scale
        return np.rint(q) if self.integer_orders else q

    def step(self, actions):
        """Simulate one day for every SKU; returns ``(obs, reward, terminated, truncated,
        info)``. ``info``: ``order_units``, ``sales``, ``lost``, ``end``, ``stockout``,
        ``day`` (catalogue day), ``counted``."""
        if self._t is None or self._t >= self.T:
            raise RuntimeError("the episode has ended (truncated) or not started: call reset()")
        q = self._decode(actions)
        t, x, pipe = self._t, self._x, self._pipe
        q *= (t % self._Pc) == 0
        if self._lt is None:
            pipe[self._Lc, self._ar] += q
        else:
            pipe[self._lt[t], self._ar] += q
        x += pipe[0]                                    # zero lead time: before demand
        if self.reward_mode == "attributed":
            attributed = self.attributed_cost(t)
        D = self._D[t]
        # lost sales, served here and in retail_rollout_torch without core.simulator's
        # serve_demand (or its torch copy): the stock is never negative (no clamp at 0), the
        # state is updated in place, and the day's cost is daily_cost's stock-out indicator
        # and days of cover, not h and b
        sales = np.minimum(D, x)
        x -= sales
        stockout = x <= 0.0
        day = self.d0 + t
        # trailing sales sums: add today, drop the day that leaves each window
        slot = day % RING_DAYS
        self._sum7 += sales - self._ring[(day - SHORT_WINDOW) % RING_DAYS]
        self._sum28 += sales - self._ring[slot]
        self._ring[slot] = sales
        counted = t >= self.burn_in
        n = x.size
        reward = np.zeros(n)
        if counted:
            self._so += stockout
            self._end_sum += x
            self._sales_sum += sales
            self._dem_sum += D
            if self.reward_mode == "dense":
                reward = -daily_cost(self, stockout, x, D - sales, self._inv_s)
        self._t = t + 1
        last = self._t >= self.T
        if last and self.reward_mode == "sparse":
            reward = -self._metrics()["j_i"]
        if self.reward_mode == "attributed":
            reward = -attributed
        info = {"order_units": q, "sales": sales, "lost": D - sales, "end": x.copy(),
                "stockout": stockout, "day": day, "counted": counted}
        # end of day: the pipeline moves one day closer; tomorrow's arrivals enter on hand
        pipe[:-1] = pipe[1:]
        pipe[-1] = 0.0
        x += pipe[0]
        pipe[0] = 0.0
        return (self._observe(), reward, np.zeros(n, dtype=bool), np.full(n, last), info)

    def attributed_cost(self, t):
        """Dense cost of the days today's order influences, :math:`[t+l, t+l+P)`, by a
        zero-order look-ahead on the realized demand (no later order arrives before
        :math:`t+l+P` with deterministic lead times: the attribution is then exact)."""
        review = (t % self._Pc) == 0
        lead = self._Lc if self._lt is None else self._lt[t]
        x = self._x.copy()
        total = np.zeros(x.size)
        for k in range(int((lead + self._Pc).max())):
            d = t + k
            if d >= self.T:
                break
            if 0 < k <= self.n_slots:
                x += self._pipe[k]
            sales = np.minimum(self._D[d], x)
            x -= sales
            if d >= self.burn_in:
                cost = daily_cost(self, x <= 0.0, x, self._D[d] - sales, self._inv_s)
                total += cost * (review & (k >= lead) & (k < lead + self._Pc))
        return total

    def _metrics(self):
        return metrics_from_sums(self.n_counted, self._so, self._end_sum, self._sales_sum,
                                  self._dem_sum, self.scaler.floor, self.weight,
                                  self.objective, self.h, self.b, self._inv_s)

    def rollout_metrics(self, policy_fn, *, seed=None, options=None):
        """Run one episode with ``policy_fn(obs) -> actions``; the :func:`retail_metrics` dict
        of its counted days."""
        if not callable(policy_fn):
            raise TypeError("policy_fn must be callable: obs -> actions")
        obs, _ = self.reset(seed=seed, options=options)
        for _ in range(self.T):
            obs, _, _, _, _ = self.step(policy_fn(obs))
        return self._metrics()

    def rollout(self, policy_fn, *, seed=None, options=None):
        """The catalogue objective :math:`J = 100\\,\\overline{SR} + w\\,\\overline{TT}` of
        one episode under ``policy_fn`` (lower is better)."""
        return self.rollout_metrics(policy_fn, seed=seed, options=options)["objective"]


def metrics_by_period(env, policy_fn):
    r"""One evaluation episode of ``env`` (all pool SKUs) under ``policy_fn``, broken down by
    review period: for each :math:`P`, ``skus``, ``stockout_rate`` (percent), ``turnover_days``
    and ``cover_per_review`` / ``cover_per_day``, the mean order of a review day in days of
    cover (the SKU's :math:`\hat s`) and that divided by :math:`P` (about 1 when orders keep
    pace with demand)."""
    if not isinstance(env, RetailEnv) or env._draw:
        raise TypeError("env must be an evaluation RetailEnv (n_envs=None)")
    if not callable(policy_fn):
        raise TypeError("policy_fn must be callable: obs -> actions")
    obs, _ = env.reset()
    n = env.num_envs
    q_sum, n_rev = np.zeros(n), np.zeros(n)
    for t in range(env.T):
        review = (t % env._Pc) == 0
        obs, _, _, _, info = env.step(policy_fn(obs))
        if t >= env.burn_in:
            q_sum += info["order_units"] * env._inv_s
            n_rev += review
    m = env._metrics()
    out = {}
    for P in np.unique(env._Pc):
        sel = env._Pc == P
        cover = float((q_sum[sel] / np.maximum(n_rev[sel], 1)).mean())
        out[int(P)] = {"skus": int(sel.sum()),
                       "stockout_rate": 100.0 * float(m["sr_i"][sel].mean()),
                       "turnover_days": float(m["tt_i"][sel].mean()),
                       "cover_per_review": cover, "cover_per_day": cover / float(P)}
    return out
