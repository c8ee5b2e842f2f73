"""Policies of :class:`~deepstock_lite.paper.retail_env.RetailEnv`'s observation:
classical practice (forecast base stock and forecast (s, S), grid-tuned) and
:class:`PeriodCoeff`, the Coeff decoding in days of cover per review day."""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.validation import check_choice, check_int, check_real
from ..core.decoding import register_decoder
from ..core.decoding import Regularization
from .retail_env import RetailEnv

__all__ = ["forecast_target", "forecast_base_stock", "forecast_s_S", "tune_heuristic",
           "PeriodCoeff", "damped"]


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
    if not isinstance(env, RetailEnv):
        raise TypeError(f"env must be a RetailEnv (a training environment), got "
                        f"{type(env).__name__}")
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


class PeriodCoeff(Regularization):
    r"""The Coeff decoding scaled by each SKU's review period :math:`P_i`:

    .. math:: q = P_i\,\Bigl(M\sum_k u_k f_k + B\,u_b\Bigr),

    so the coefficients :math:`c_k = M P_i u_k` read as days of cover *per review day*. An
    order covers the :math:`P_i` days until the next review, so a constant output ``u`` now
    orders the same cover per *day* for a daily-review SKU and a weekly one, where the plain
    Coeff orders the same cover per *review* (seven times too much for a daily SKU when it is
    right for a weekly one). The policy class is the same (``P`` is an observation column the
    network could learn to multiply by); only the starting point and the scale change.
    ``period_index``: the observation column of :math:`P`."""

    def __init__(self, L=0, feature_index=(), days=7.0, bias_scale=3.5, period_index=None):
        super().__init__("coeff", L=L, feature_index=feature_index, days=days,
                         bias_scale=bias_scale)
        self.period_index = check_int("period_index", period_index, low=0)

    def target(self, u, obs):
        if obs.shape[-1] <= self.period_index:
            raise ValueError(f"obs must have a column {self.period_index} (P), "
                             f"got shape {tuple(obs.shape)}")
        return obs[..., self.period_index] * super().target(u, obs)

    def to_dict(self):
        return {**super().to_dict(), "name": "period_coeff", "period_index": self.period_index}

    @classmethod
    def from_dict(cls, d):
        return cls(d["L"], d["feature_index"], d["days"], d["bias_scale"], d["period_index"])

    def __repr__(self):
        return f"PeriodCoeff(L={self.L}, features={self.feature_index}, P={self.period_index})"


register_decoder("period_coeff", PeriodCoeff.from_dict)


def damped(env, policy_fn, beta):
    r"""The order :math:`\beta q + (1-\beta) F P`: ``policy_fn``'s order pulled towards the
    forecast demand of one review cycle (``forecast_7`` times ``P``, days of cover)."""
    i_f, i_p = env.obs_names.index("forecast_7"), env.obs_names.index("P")

    def policy(obs):
        return beta * np.asarray(policy_fn(obs), float) + (1.0 - beta) * obs[:, i_f] * obs[:, i_p]
    return policy
