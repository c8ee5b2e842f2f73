r"""The e-commerce simulation: one policy for every SKU, in days of cover (issue 7).

:class:`RetailEnv` runs a pool of catalogue SKUs (:mod:`~deepstock_lite.deepstock.catalogue`)
under lost sales, one **day** per step for all SKUs at once, in the *normalized units* of
:class:`~deepstock_lite.deepstock.normalization.SkuScaler`: stock and orders are divided by the
SKU's scale :math:`\hat s_i` (mean sales per day of the history before day 0, floored at 1/28)
and read as days of cover, so one network serves SKUs that sell 0.1 or 500 units a day.

**Events of day t** (SKU :math:`i`, :math:`t_0` the first day of the episode):

1. orders due today arrive into on-hand stock :math:`x_{it}`;
2. the observation is formed;
3. on a review day, :math:`(t - t_0) \bmod P_i = 0`, the action :math:`a_{it}` (days of cover) is
   converted to units :math:`q_{it} = \operatorname{clip}(\hat s_i a_{it}, 0, q_{\max}\hat s_i)`
   (rounded with ``np.rint`` when ``integer_orders``) and placed with lead time
   :math:`\ell_{it}` (``catalogue.lead_times[i, t]`` with random lead times, else :math:`L_i`);
   :math:`\ell = 0` arrives at once, before demand. On other days the action is ignored;
4. demand is served: sales :math:`y_{it} = \min(D_{it}, x_{it})`, lost sales
   :math:`D_{it} - y_{it}`, end-of-day stock :math:`e_{it} = x_{it} - y_{it}`;
5. the day is a stockout day when it *ends* out of stock,
   :math:`o_{it} = 1[e_{it} = 0] = 1[D_{it} \ge x_{it}]`.

The episode starts with :math:`x = \operatorname{rint}(\hat s_i (L_i + P_i))` on hand and an
empty pipeline; the first ``burn_in`` days (default :math:`\max L + \max P` over the pool) are
simulated, with the policy acting, but count neither in the metrics nor in the rewards (at most
half the episode by default).

**Metrics** (:func:`retail_metrics`, over the counted days :math:`\mathcal T`): stockout rate
:math:`SR_i = \frac{1}{|\mathcal T|}\sum_t o_{it}`, turnover time
:math:`TT_i = \bar e_i / \max(\bar y_i, \varepsilon)` in days (mean end-of-day stock over mean
daily sales, :math:`\varepsilon` the scaler's floor), the SKU objective
:math:`J_i = 100\,SR_i + w\,TT_i` (w in percentage points of stockout per day of turnover) and the
catalogue objective :math:`J = 100\,\overline{SR} + w\,\overline{TT}` (means over SKUs; lower is
better).

**Rewards.** :math:`TT_i` is a ratio of two sums over the episode, so it is not a sum of daily
terms: a day's stock costs more turnover when the SKU sells less over the *whole* episode.
``reward="sparse"`` pays the exact :math:`-J_i` on the last day (the paper's production reward).
``reward="attributed"`` charges each order, on its review day, the dense cost of the days it
influences, :math:`[t+l, t+l+P)` (a zero-order look-ahead, as in the paper's synthetic code):
it shortens the credit-assignment path of the RL agents from :math:`l + P` days to one step.
``reward="dense"`` pays :math:`r_{it} = -(100\,o_{it} + w\,e_{it}/\hat s_i)/|\mathcal T|` each
counted day: it divides by the *fixed* scale :math:`\hat s_i` instead of the realized mean sales,
so the rewards add up to :math:`-J_i` exactly when :math:`\max(\bar y_i, \varepsilon) = \hat s_i`
and to a surrogate otherwise.

**Observation** (float32, one row per SKU; ``env.obs_names``)::

    [on_hand, pipeline slot 1 … n_slots, sales_mean_7, sales_mean_28, forecast_7, forecast_28,
     promo_today, promo_next_7, dow_sin, dow_cos, L, P, review_today, days_to_next_review,
     log_scale]

Stock, pipeline (slot k: units arriving k days from now) and the four rates are divided by
:math:`\hat s_i`; ``n_slots`` is the longest possible lead time in the catalogue, so
``inventory_position(obs, env.position_L)`` is the inventory position in days of cover.
The trailing sales means are computed *online* from the simulated, censored sales (history
demand before the first day: stock sufficed then); the forecasts, promotions and calendar come
from :meth:`Catalogue.features` (they do not depend on the policy). ``days_to_next_review`` is
the number of days from today to the next review day after today (1…P). ``log_scale`` is
:math:`\log \hat s_i`: normalization makes every SKU look alike in days of cover, but how
noisy a day of demand is still depends on the scale (Poisson noise is relatively larger for
slow movers), so the one shared policy is told the scale.

:func:`retail_rollout_torch` runs the same dynamics in torch with the stockout indicator relaxed
to a sigmoid, so :func:`train_ds_retail` can train a DeepStock policy by backpropagation.
"""
from __future__ import annotations

import copy
import itertools
import math
import time

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import VectorEnv
from torch import nn

from ..core.validation import check_array, check_bool, check_choice, check_int, check_real
from .catalogue import Catalogue, TRAILING_WINDOWS
from .ds import DSPolicy
from .normalization import SkuScaler
from .regularization import Regularization

__all__ = ["RetailEnv", "retail_metrics", "forecast_base_stock", "forecast_s_S",
           "tune_heuristic", "retail_rollout_torch", "train_ds_retail", "OBJECTIVES",
           "forecast_target"]

# "service": J = 100 SR + w TT (the paper's business metrics); "cost": the per-period cost
# h·(end stock) + b·(lost sales), in days of sales
OBJECTIVES = ("service", "cost")

try:
    from gymnasium.vector import AutoresetMode
    _NO_AUTORESET = AutoresetMode.DISABLED
except ImportError:  # pragma: no cover - gymnasium < 1.1
    _NO_AUTORESET = "Disabled"

_W7, _W28 = TRAILING_WINDOWS
_RING = max(TRAILING_WINDOWS)
# the exogenous columns of Catalogue.features used as they are (sales means are recomputed)
_EXO = ("forecast_7", "forecast_28", "promo_today", "promo_next_7", "dow_sin", "dow_cos")


# -- metrics -------------------------------------------------------------------------------
def retail_metrics(stockout, end, sales, demand, floor, *, weight=0.1, objective="service",
                   h=0.1, b=0.9, scale=None):
    r"""Stockout rate, turnover and objective from daily arrays of shape ``(n_skus, days)``.

    ``stockout`` (0/1), ``end`` (end-of-day stock), ``sales`` and ``demand``; ``floor`` is the
    smallest mean daily sales in the turnover denominator. Returns a dict: ``stockout_rate``
    (percent, mean over SKUs of :math:`SR_i`), ``turnover_days`` (mean of :math:`TT_i`),
    ``objective`` :math:`100\,\overline{SR} + w\,\overline{TT}`, ``fill_rate`` (total sales /
    total demand, 1 without demand), ``lost_sales_share`` (1 − fill rate) and the per-SKU arrays
    ``sr_i`` (fraction), ``tt_i`` (days) and ``j_i``.

    Also the per-period cost in days of sales, ``cost`` (mean over SKUs of
    :math:`C_i = \frac{1}{|\mathcal T|}\sum_t (h\,e_{it} + b\,(D_{it} - y_{it}))/\hat s_i`,
    per-SKU ``c_i``), with ``scale`` the SKUs' :math:`\hat s_i` (default 1). With
    ``objective="cost"`` the ``objective`` and ``j_i`` are :math:`\bar C` and :math:`C_i`
    instead of the service objective.
    """
    arrs = []
    for name, a in (("stockout", stockout), ("end", end), ("sales", sales),
                    ("demand", demand)):
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"{name} must be a non-empty 2-D array (n_skus, days), got shape "
                             f"{a.shape}")
        if not np.isfinite(a).all() or (a < 0).any():
            raise ValueError(f"{name} must be finite and non-negative")
        arrs.append(a)
    if len({a.shape for a in arrs}) != 1:
        raise ValueError(f"stockout, end, sales and demand must have the same shape, got "
                         f"{[a.shape for a in arrs]}")
    floor = check_real("floor", floor, low=0.0, low_open=True)
    weight = check_real("weight", weight, low=0.0)
    objective = check_choice("objective", objective, set(OBJECTIVES))
    h = check_real("h", h, low=0.0)
    b = check_real("b", b, low=0.0)
    n, days = arrs[0].shape
    scale = np.ones(n) if scale is None else check_array("scale", scale, ndim=1,
                                                          nonnegative=True)
    if scale.shape != (n,) or (scale <= 0).any():
        raise ValueError(f"scale must hold {n} positive per-SKU scales, got shape {scale.shape}")
    return _metrics_from_sums(days, *(a.sum(axis=1) for a in arrs), floor, weight,
                              objective, h, b, 1.0 / scale)


def _metrics_from_sums(days, so_sum, end_sum, sales_sum, demand_sum, floor, weight,
                       objective, h, b, inv_s):
    """The single definition of the metrics, from per-SKU sums over ``days`` counted days."""
    sr = so_sum / days
    tt = (end_sum / days) / np.maximum(sales_sum / days, floor)
    c = (h * end_sum + b * (demand_sum - sales_sum)) * inv_s / days
    j = 100.0 * sr + weight * tt if objective == "service" else c
    tot_d, tot_s = float(demand_sum.sum()), float(sales_sum.sum())
    fill = tot_s / tot_d if tot_d > 0 else 1.0
    return {"stockout_rate": 100.0 * float(sr.mean()), "turnover_days": float(tt.mean()),
            "objective": (100.0 * float(sr.mean()) + weight * float(tt.mean())
                          if objective == "service" else float(c.mean())),
            "cost": float(c.mean()),
            "fill_rate": fill, "lost_sales_share": 1.0 - fill,
            "sr_i": sr, "tt_i": tt, "c_i": c, "j_i": j}


def _daily_cost(env, stockout, end, lost, inv_s):
    """One counted day's share of the SKU objective: the dense reward is minus this (numpy or
    torch; ``stockout`` may be relaxed)."""
    if env.objective == "service":
        return (100.0 * stockout + env.weight * end * inv_s) / env.n_counted
    return (env.h * end + env.b * lost) * inv_s / env.n_counted


# -- the environment -----------------------------------------------------------------------
def _check_skus(name, skus, n_all):
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
        self.skus = _check_skus("skus", skus, cat.n_skus)
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
        self._pre = np.ascontiguousarray(full[:, full.shape[1] - _RING:].T)  # (28, n_pool)

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

    # -- episode -------------------------------------------------------------------------
    def _positions(self, options):
        if options and "skus" in options:
            idx = _check_skus("options['skus']", options["skus"], self.catalogue.n_skus)
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
        self._ring = self._ring[(np.arange(_RING) - self.d0) % _RING]  # align with day index
        self._sum7 = self._ring[[(self.d0 - k) % _RING for k in range(1, _W7 + 1)]].sum(0)
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
        o[S + 1] = np.maximum(self._sum7, 0.0) * self._inv_s / _W7
        o[S + 2] = np.maximum(self._sum28, 0.0) * self._inv_s / _W28
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
            attributed = self._attributed_cost(t)
        D = self._D[t]
        sales = np.minimum(D, x)
        x -= sales
        stockout = x <= 0.0
        day = self.d0 + t
        # trailing sales sums: add today, drop the day that leaves each window
        slot = day % _RING
        self._sum7 += sales - self._ring[(day - _W7) % _RING]
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
                reward = -_daily_cost(self, stockout, x, D - sales, self._inv_s)
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

    def _attributed_cost(self, t):
        """Dense cost of the days today's order influences, :math:`[t+l, t+l+P)`, by a
        zero-order look-ahead on the realized demand (no later order arrives before
        :math:`t+l+P` with deterministic lead times, so the attribution is then exact)."""
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
                cost = _daily_cost(self, x <= 0.0, x, self._D[d] - sales, self._inv_s)
                total += cost * (review & (k >= lead) & (k < lead + self._Pc))
        return total

    def _metrics(self):
        return _metrics_from_sums(self.n_counted, self._so, self._end_sum, self._sales_sum,
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


# -- classical practice as policies of the observation -------------------------------------
def forecast_target(env, obs, k, window=7, cv=0.2, scale=None):
    r"""The forecast base-stock target in days of cover for observation rows ``obs`` (any
    leading shape): :math:`\mu + k\sqrt{\mu/\hat s + (c\mu)^2}` with
    :math:`\mu = F (L+P)` the normalized forecast over the protection interval (the safety
    stock of :math:`\mu_u + k\sqrt{\mu_u + (c\mu_u)^2}` units, divided by :math:`\hat s`).
    ``scale``: the rows' :math:`\hat s` (default ``env.current_scale``, the episode's SKUs).
    Returns ``(target, forecast)``."""
    k, window, cv = _check_heuristic(env, k, window, cv)
    obs = np.asarray(obs)
    if obs.ndim < 2 or obs.shape[-1] != env.obs_dim:
        raise ValueError(f"obs must have rows of {env.obs_dim} columns, got shape {obs.shape}")
    s = env.current_scale if scale is None else np.asarray(scale, dtype=float)
    if s.shape != obs.shape[-2:-1]:
        raise ValueError(f"scale must have one entry per SKU row ({obs.shape[-2]}), got "
                         f"shape {s.shape}")
    return _forecast_target(env.n_slots, s, obs, k, window, cv)


def _forecast_target(S, s, obs, k, window, cv):
    f = obs[..., S + 3] if window == 7 else obs[..., S + 4]      # forecast / ŝ
    cover = obs[..., S + 9] + obs[..., S + 10]                   # L + P days
    mu = f * cover                                               # days of cover
    sigma = np.sqrt(np.maximum(mu / s + (cv * mu) ** 2, 0.0))    # std in days of cover
    return mu + k * sigma, f


def _check_heuristic(env, k, window, cv):
    if not isinstance(env, RetailEnv):
        raise TypeError(f"env must be a RetailEnv, got {type(env).__name__}")
    k = check_real("k", k)
    window = check_choice("window", window, {7, 28})
    cv = check_real("cv", cv, low=0.0)
    return k, window, cv


def forecast_base_stock(env, k, window=7, cv=0.2):
    r"""Forecast base stock in days of cover: with :math:`\mu_u = F_u (L+P)` the forecast demand
    over the protection interval (``forecast_window`` in units per day, nominal :math:`L`),
    order up to :math:`y_u = \mu_u + k\sqrt{\mu_u + (c\,\mu_u)^2}` (Poisson noise for slow
    movers, a relative error ``cv`` for fast ones): :math:`a = (y_u/\hat s - \text{position})^+`.
    The policy reads ``env.current_scale``, so it runs on the SKUs of ``env``'s episode."""
    k, window, cv = _check_heuristic(env, k, window, cv)
    L = env.position_L

    def policy(obs):
        y, _ = _forecast_target(env.n_slots, env.current_scale, obs, k, window, cv)
        return np.maximum(y - _position(obs, L), 0.0)
    return policy


def forecast_s_S(env, k, m, window=7, cv=0.2):
    r"""Forecast (s, S): reorder point :math:`s` = the base-stock target of
    :func:`forecast_base_stock`, order-up-to :math:`S = s + m F` (``m`` days of forecast),
    ordered only when the position is at or below :math:`s`."""
    k, window, cv = _check_heuristic(env, k, window, cv)
    m = check_real("m", m, low=0.0)
    L = env.position_L

    def policy(obs):
        s, f = _forecast_target(env.n_slots, env.current_scale, obs, k, window, cv)
        pos = _position(obs, L)
        return np.where(pos <= s, np.maximum(s + m * f - pos, 0.0), 0.0)
    return policy


def _position(obs, L):
    return obs[:, 0].astype(float) + obs[:, 1:L].sum(1, dtype=float)


_HEURISTICS = {"base_stock": forecast_base_stock, "s_S": forecast_s_S}


def tune_heuristic(name, env, grid):
    """Grid search of ``"base_stock"`` or ``"s_S"`` on ``env`` (a training environment).

    ``grid``: dict parameter → list of values (``k``, ``m``, ``window``, ``cv``). Returns
    ``(best_params, best_objective, table)`` with ``table`` a list of ``{**params,
    "objective"}``, one per combination, each evaluated by one :meth:`RetailEnv.rollout`
    (seed 0, so a drawing environment sees the same SKUs for every combination)."""
    check_choice("name", name, set(_HEURISTICS))
    if not isinstance(grid, dict) or not grid:
        raise TypeError("grid must be a non-empty dict: parameter -> list of values")
    keys = list(grid)
    allowed = {"k", "window", "cv"} | ({"m"} if name == "s_S" else set())
    for key in keys:
        if key not in allowed:
            raise ValueError(f"grid parameter {key!r} is not one of {sorted(allowed)}")
        if isinstance(grid[key], (str, bytes)) or not hasattr(grid[key], "__len__") \
                or len(grid[key]) == 0:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values")
    if "k" not in grid or (name == "s_S" and "m" not in grid):
        raise ValueError(f"grid must give 'k'{' and m' if name == 's_S' else ''}")
    table, best = [], (math.inf, None)
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, combo))
        obj = env.rollout(_HEURISTICS[name](env, **params), seed=0)
        table.append({**params, "objective": obj})
        if obj < best[0]:
            best = (obj, params)
    return best[1], best[0], table


# -- DeepStock: the differentiable simulator -----------------------------------------------
def retail_rollout_torch(policy, env, skus=None, *, tau_units=0.5, tau_rel=0.1, relaxed=True,
                         dtype=torch.float32, return_trajectory=False):
    r""":class:`RetailEnv`'s dynamics in torch for ``skus`` (catalogue indices of ``env``'s
    pool; default all), differentiable in the policy's orders.

    ``policy`` maps the observation tensor (same layout and normalization as the env) to
    normalized orders ``(n,)``; orders are clipped to ``[0, q_max]`` days of cover and **not
    rounded**. Returns the per-SKU *surrogate* objective (the negated sum of the dense rewards)

    .. math:: \tilde J_i = \frac{1}{|\mathcal T|}\sum_{t\in\mathcal T}
              \bigl(100\,\tilde o_{it} + w\,e_{it}/\hat s_i\bigr),\qquad
              \tilde o_{it} = \sigma\!\Bigl(\frac{D_{it} - x_{it} + 1/2}{\tau_i}\Bigr),

    where :math:`x_{it}` is the on-hand stock before demand: the exact indicator
    :math:`1[e_{it} = 0] = 1[D_{it} \ge x_{it}]` is a step in the stock, with zero gradient; the
    sigmoid of width :math:`\tau_i = \text{tau\_units} + \text{tau\_rel}\cdot\hat s_i` units
    (about the demand noise of the SKU) spreads it, centred half a unit below equality so that
    integer :math:`D = x` counts as a stockout. ``relaxed=False`` uses the exact indicator.
    With ``return_trajectory``, also returns a dict of ``(n, T)`` tensors ``on_hand`` (before
    demand), ``sales``, ``end``, ``order``.
    """
    if not isinstance(env, RetailEnv):
        raise TypeError(f"env must be a RetailEnv, got {type(env).__name__}")
    if not callable(policy):
        raise TypeError("policy must be callable: obs tensor -> orders")
    tau_units = check_real("tau_units", tau_units, low=0.0, low_open=True)
    tau_rel = check_real("tau_rel", tau_rel, low=0.0)
    relaxed = check_bool("relaxed", relaxed)
    if skus is None:
        pos = np.arange(env.skus.size)
    else:
        idx = _check_skus("skus", skus, env.catalogue.n_skus)
        pos = env._pos[idx]
        if (pos < 0).any():
            raise ValueError("skus must be SKUs of env's pool (env.skus)")
    kw = dict(dtype=dtype)
    T, S, n = env.T, env.n_slots, pos.size
    s_np = env._scale[pos]
    s = torch.as_tensor(s_np, **kw)
    inv_s = 1.0 / s
    Lc, Pc = env._L[pos], env._P[pos]
    Dall = torch.as_tensor(env._demand[:, pos], **kw)                    # (T, n)
    Xall = torch.as_tensor(env._exo[:, pos], **kw)                       # (T, n, 4)
    dow = torch.as_tensor(env._dow, **kw)
    lead = np.ascontiguousarray(np.broadcast_to(Lc, (T, n)) if env._lead is None
                                else env._lead[:, pos])
    onehot = torch.zeros(T, n, S + 1, **kw)
    onehot.scatter_(2, torch.as_tensor(lead, dtype=torch.int64)[:, :, None], 1.0)
    day_idx = np.arange(T)[:, None]
    phase = day_idx % Pc[None, :]
    review = torch.as_tensor(phase == 0, **kw)
    static = torch.as_tensor(np.stack([Lc, Pc], 1), **kw)
    next_rev = torch.as_tensor(Pc[None, :] - phase, **kw)
    tau = tau_units + tau_rel * s
    log_s = torch.log(s)
    pre = env._pre[:, pos]                                               # days d0-28 … d0-1
    hist = [torch.as_tensor(pre[k], **kw) for k in range(_RING)]
    sum7, sum28 = sum(hist[-_W7:]), sum(hist)
    x = torch.as_tensor(np.rint(s_np * (Lc + Pc)), **kw)
    pipe = torch.zeros(n, S, **kw)                                       # slot k+1 at column k
    zero_col = torch.zeros(n, 1, **kw)
    total = torch.zeros(n, **kw)
    traj = {k: [] for k in ("on_hand", "sales", "end", "order")}
    for t in range(T):
        obs = torch.cat([(x * inv_s)[:, None], pipe * inv_s[:, None],
                         (sum7 * inv_s / _W7)[:, None], (sum28 * inv_s / _W28)[:, None],
                         Xall[t], dow[t].expand(n, 2), static, review[t][:, None],
                         next_rev[t][:, None], log_s[:, None]], 1)
        a = policy(obs).reshape(n)
        q = a.clamp(0.0, env.q_max) * s * review[t]
        add = onehot[t] * q[:, None]
        x = x + add[:, 0]
        pipe = pipe + add[:, 1:]
        D = Dall[t]
        sales = torch.minimum(D, x)
        end = x - sales
        if t >= env.burn_in:
            so = (torch.sigmoid((D - x + 0.5) / tau) if relaxed
                  else (D >= x).to(dtype))
            total = total + _daily_cost(env, so, end, D - sales, inv_s)
        if return_trajectory:
            for key, v in (("on_hand", x), ("sales", sales), ("end", end), ("order", q)):
                traj[key].append(v)
        sum7 = sum7 + sales - hist[-_W7]
        sum28 = sum28 + sales - hist[0]
        hist = hist[1:] + [sales]
        x = end + (pipe[:, 0] if S else 0.0)
        pipe = torch.cat([pipe[:, 1:], zero_col], 1) if S else pipe
    if return_trajectory:
        return total, {k: torch.stack(v, 1) for k, v in traj.items()}
    return total


def _obs_stats(env):
    """Mean and standard deviation of the observation columns under a forecast base stock
    (for the network's input standardization)."""
    pol = forecast_base_stock(env, 1.0)
    obs, _ = env.reset(seed=0)
    rows = []
    for _ in range(env.T):
        rows.append(obs[:: max(1, obs.shape[0] // 512)])
        obs = env.step(pol(obs))[0]
    X = np.concatenate(rows).astype(float)
    mean, std = X.mean(0), X.std(0)
    std[std < 1e-3] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def train_ds_retail(env_train, env_val, regularization, *, hidden=(64, 64), epochs=30,
                    batch_skus=256, lr=3e-3, seed=0, quiet=True, time_limit=None,
                    initial_bias=0.1, lr_patience=3, grad_clip=10.0, tau_units=0.5,
                    tau_rel=0.1, num_threads=1):
    r"""Train one :class:`~deepstock_lite.deepstock.ds.DSPolicy` for all SKUs of ``env_train``
    by backpropagating :func:`retail_rollout_torch`'s surrogate objective.

    Each epoch shuffles the training pool into batches of ``batch_skus`` SKUs, one Adam step
    per batch (gradient norm clipped at ``grad_clip``); after each epoch the policy is scored by
    the exact numpy :meth:`RetailEnv.rollout` on ``env_val`` (its catalogue objective), which
    drives ``ReduceLROnPlateau`` and keep-best. ``time_limit`` (seconds) stops early. Returns
    ``(policy, history)``; ``history`` holds one dict per epoch (``train`` surrogate, ``val``
    objective, ``lr``, ``seconds``). A non-finite loss or parameter raises ``RuntimeError``.
    Torch runs on ``num_threads`` threads meanwhile (one is fastest for these small batches:
    more threads mostly add synchronization); the previous setting is restored.
    """
    for name, e in (("env_train", env_train), ("env_val", env_val)):
        if not isinstance(e, RetailEnv):
            raise TypeError(f"{name} must be a RetailEnv, got {type(e).__name__}")
    if env_val.obs_dim != env_train.obs_dim:
        raise ValueError("env_train and env_val must come from catalogues with the same "
                         "observation layout")
    if not isinstance(regularization, Regularization):
        raise TypeError("regularization must be a Regularization")
    hidden = tuple(check_int("hidden", h, low=1) for h in hidden)
    epochs = check_int("epochs", epochs, low=1)
    batch_skus = check_int("batch_skus", batch_skus, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    seed = check_int("seed", seed, low=0)
    quiet = check_bool("quiet", quiet)
    if time_limit is not None:
        time_limit = check_real("time_limit", time_limit, low=0.0, low_open=True)
    num_threads = check_int("num_threads", num_threads, low=1)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _train_ds(env_train, env_val, regularization, hidden, epochs, batch_skus, lr,
                         seed, quiet, time_limit, initial_bias, lr_patience, grad_clip,
                         tau_units, tau_rel)
    finally:
        torch.set_num_threads(old_threads)


def _train_ds(env_train, env_val, regularization, hidden, epochs, batch_skus, lr, seed, quiet,
              time_limit, initial_bias, lr_patience, grad_clip, tau_units, tau_rel):
    start = time.perf_counter()
    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    mean, std = _obs_stats(env_train)
    policy = DSPolicy(env_train.obs_dim, regularization, hidden, torch.as_tensor(std),
                      initial_bias, torch.as_tensor(mean))
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=lr_patience)
    act = policy.act_numpy
    best_val = env_val.rollout(act)
    best_state = copy.deepcopy(policy.state_dict())
    history = [{"epoch": -1, "train": math.nan, "val": best_val, "lr": lr,
                "seconds": time.perf_counter() - start}]
    pool = env_train.skus
    for epoch in range(epochs):
        perm = gen.permutation(pool)
        losses = []
        for b in range(0, perm.size, batch_skus):
            loss = retail_rollout_torch(policy, env_train, perm[b:b + batch_skus],
                                        tau_units=tau_units, tau_rel=tau_rel).mean()
            if not torch.isfinite(loss):
                raise RuntimeError(f"DS training diverged at epoch {epoch}, batch "
                                   f"{b // batch_skus}: the surrogate loss is {loss.item()} "
                                   f"(try a smaller lr)")
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), grad_clip)
            opt.step()
            losses.append(loss.item())
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
        if any(not torch.isfinite(p).all() for p in policy.parameters()):
            raise RuntimeError(f"DS training diverged at epoch {epoch}: a network parameter "
                               f"is NaN or inf (try a smaller lr)")
        v = env_val.rollout(act)
        sched.step(v)
        history.append({"epoch": epoch, "train": float(np.mean(losses)), "val": v,
                        "lr": opt.param_groups[0]["lr"],
                        "seconds": time.perf_counter() - start})
        if v < best_val:
            best_val, best_state = v, copy.deepcopy(policy.state_dict())
        if not quiet:
            print(f"epoch {epoch:3d}  train {history[-1]['train']:.3f}  val {v:.3f}  "
                  f"lr {history[-1]['lr']:.1e}  {history[-1]['seconds']:.1f}s")
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    policy.load_state_dict(best_state)
    return policy, history
