r"""Reading a trained DeepStock policy, and judging a deployment (Chapter 12).

A :class:`~.differentiable_simulator.DSPolicy` with Coeff or Both decoding outputs
coefficients :math:`u = (u_1, \dots, u_k, u_0) \in [0, 1]^{k+1}` and turns them into a target
(Both) or an order (Coeff),

.. math:: y = M \sum_{i=1}^{k} u_i f_i + u_0 B,

with :math:`f_i` the demand features of the observation (rates per day; in a
:class:`~deepstock_lite.paper.retail.RetailEnv` they are divided by the SKU's scale, so one
unit of :math:`f_i` is one "normal day" of sales), :math:`M` the days multiplying the
coefficients (28) and :math:`B` the largest bias (14 days). So :math:`M u_i` reads as *days of
cover of feature* :math:`i` and :math:`u_0 B` as *extra days of cover*. This module extracts
those numbers:

* :func:`coefficients` — :math:`M u_i` and :math:`u_0 B` per observation row, in days;
* :func:`target_terms` — the additive decomposition of :math:`y` into
  :math:`M u_i f_i` and :math:`u_0 B` (they sum to :meth:`Regularization.target`);
* :func:`record_rollout` — one :class:`RetailEnv` episode with every observation and the daily
  orders, sales, demand and end-of-day stock kept, for plotting one SKU's story;
* :func:`heuristic_target` — the forecast base-stock target of the same observations;
* :func:`difference_in_differences` — the pilot's estimator on per-unit outcomes.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.validation import check_array
from .differentiable_simulator import DSPolicy
from .retail import RetailEnv, forecast_target

__all__ = ["network_outputs", "coefficients", "target_terms", "record_rollout",
           "heuristic_target", "difference_in_differences"]


def _check_policy(policy):
    if not isinstance(policy, DSPolicy):
        raise TypeError(f"policy must be a DSPolicy, got {type(policy).__name__}")
    if policy.reg.kind not in ("coeff", "both"):
        raise ValueError(f"coefficients exist only for Coeff and Both decodings, got "
                         f"{policy.reg.kind!r}")
    return policy


def _check_obs(obs, policy):
    obs = check_array("obs", obs, ndim=2)
    width = policy.obs_shift.numel() if policy.obs_shift.ndim else None
    if width is not None and obs.shape[1] != width:
        raise ValueError(f"obs must have {width} columns (the policy's observation width), "
                         f"got {obs.shape[1]}")
    return obs


@torch.no_grad()
def network_outputs(policy, obs):
    """The sigmoid outputs :math:`u \\in [0, 1]^k` of ``policy``'s network for the rows of
    ``obs`` (raw observations, shape ``(n, obs_dim)``); returns a numpy array ``(n, k)``."""
    if not isinstance(policy, DSPolicy):
        raise TypeError(f"policy must be a DSPolicy, got {type(policy).__name__}")
    obs = _check_obs(obs, policy)
    x = torch.as_tensor(obs, dtype=torch.float32)
    u = torch.sigmoid(policy.net((x - policy.obs_shift) / policy.obs_scale))
    return u.numpy().astype(float)


def _names(policy, names):
    k = len(policy.reg.feature_index)
    if names is None:
        names = [f"f{i}" for i in policy.reg.feature_index]
    else:
        names = [names[i] for i in policy.reg.feature_index]
    if len(set(names)) != k:
        raise ValueError("feature names must be distinct")
    return names


def coefficients(policy, obs, names=None):
    """Coefficients in days: ``{feature name: M·u_i}`` for each demand feature and
    ``"bias": u_0·B`` (arrays of shape ``(n,)``). ``names`` is the list of observation column
    names (e.g. ``env.obs_names``); without it the features are called ``f<column>``."""
    _check_policy(policy)
    u = network_outputs(policy, obs)
    out = {n: policy.reg.days * u[:, j] for j, n in enumerate(_names(policy, names))}
    out["bias"] = policy.reg.bias_scale * u[:, -1]
    return out


def target_terms(policy, obs, names=None):
    """The target (Both) or order (Coeff) as a sum of terms, in the observation's units:
    ``{feature name: M·u_i·f_i, "bias": u_0·B}``; ``sum(target_terms(...).values())`` equals
    ``policy.reg.target(u, obs)``."""
    coef = coefficients(policy, obs, names)
    obs = np.asarray(obs, dtype=float)
    out = {}
    for (name, c), col in zip(coef.items(), policy.reg.feature_index):
        out[name] = c * obs[:, col]
    out["bias"] = coef["bias"]
    return out


def record_rollout(env, policy_fn, *, seed=None, options=None):
    """Run one :class:`RetailEnv` episode and keep everything: returns a dict with ``obs``
    ``(T, n, obs_dim)`` (the observation each day, before the order), ``order`` (units),
    ``demand``, ``sales``, ``end`` (end-of-day stock) and ``stockout`` (each ``(n, T)``),
    ``skus`` (catalogue indices of the rows), ``scale`` (:math:`\\hat s`) and ``metrics``
    (:func:`retail_metrics` of the counted days, as :meth:`RetailEnv.rollout_metrics`)."""
    if not isinstance(env, RetailEnv):
        raise TypeError(f"env must be a RetailEnv, got {type(env).__name__}")
    if not callable(policy_fn):
        raise TypeError("policy_fn must be callable: obs -> actions")
    obs, _ = env.reset(seed=seed, options=options)
    rows = {k: [] for k in ("order", "demand", "sales", "end", "stockout")}
    all_obs = []
    for _ in range(env.T):
        all_obs.append(obs)
        obs, _, _, _, info = env.step(policy_fn(obs))
        rows["order"].append(info["order_units"])
        rows["demand"].append(info["sales"] + info["lost"])
        rows["sales"].append(info["sales"])
        rows["end"].append(info["end"])
        rows["stockout"].append(info["stockout"].astype(float))
    out = {k: np.stack(v, 1) for k, v in rows.items()}
    out["obs"] = np.stack(all_obs, 0)
    out["skus"] = env.current_skus.copy()
    out["scale"] = env.current_scale.copy()
    out["metrics"] = env._metrics()
    return out


def heuristic_target(env, obs, k, window=7, cv=0.2, scale=None):
    """The forecast base-stock target (days of cover) of
    :func:`~deepstock_lite.paper.retail.forecast_base_stock` for observation rows ``obs``
    of the SKUs with scales ``scale`` (default: ``env.current_scale``, the SKUs of the current
    episode). ``obs`` may have a leading day axis ``(T, n, obs_dim)``
    (:func:`~deepstock_lite.paper.retail.forecast_target`)."""
    return forecast_target(env, obs, k, window, cv, scale)[0]


def difference_in_differences(pre, post, treated):
    r"""The difference-in-differences estimate from per-unit outcomes:

    .. math:: \hat\tau = (\bar y^{T}_{\text{post}} - \bar y^{T}_{\text{pre}})
                       - (\bar y^{C}_{\text{post}} - \bar y^{C}_{\text{pre}}),

    with ``treated`` a boolean mask (both groups non-empty)."""
    pre = check_array("pre", pre, ndim=1)
    post = check_array("post", post, ndim=1)
    treated = np.asarray(treated)
    if treated.dtype != bool:
        raise TypeError("treated must be a boolean mask")
    if not (pre.shape == post.shape == treated.shape):
        raise ValueError(f"pre, post and treated must have the same shape, got {pre.shape}, "
                         f"{post.shape}, {treated.shape}")
    if treated.all() or not treated.any():
        raise ValueError("treated must leave both a treated and a control group")
    d = post - pre
    return float(d[treated].mean() - d[~treated].mean())
