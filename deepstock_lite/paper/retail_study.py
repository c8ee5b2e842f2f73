"""The pieces of Chapter 11's e-commerce study: one policy for all SKUs of a synthetic catalogue.

:class:`RetailStudy` fixes the catalogue and its split into training, validation and held-out
test SKUs; :func:`retail_regularization` builds each decoding (None, Base, Coeff, Both) for the
retail environment; :func:`fit_method` trains one method with one decoding under a budget of
:data:`BUDGETS` and scores it on the test SKUs; :func:`fit_heuristics` tunes the forecast base
stock and forecast (s, S) rules; :func:`relative_to` reports a table as the paper's Table 1
does, relative to DDPG + Both. The lab's ``python -m lab retail-table1`` and ``retail-pareto``
run the study and write the results files the chapter loads.

Budgets are fixed, not tuned per method (the paper tunes each pair with 50 Optuna trials): read
the table as "what each pair reaches with the same small budget and hand-set defaults".
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..core.validation import check_choice, check_int, check_real
from .catalogue import make_catalogue
from .catalogue_config import CatalogueConfig
from ..core.decoding import KINDS, Regularization
from .retail import (OBJECTIVES, PeriodCoeff, RetailEnv, forecast_base_stock, forecast_s_S,
                     metrics_by_period, retail_ds_config, train_ds_retail, tune_heuristic)

__all__ = ["RetailStudy", "METHODS", "INITIAL_ACTION", "retail_regularization", "rl_config",
           "fit_method", "fit_heuristics", "summarize", "relative_to", "DDPG_OPTIONS",
           "BUDGETS", "study_for_budget"]

METHODS = ("ddpg", "ppo", "dsac", "ds")
#: table1's DDPG-only options (DDPGConfig fields) and their defaults, the paper's setup
DDPG_OPTIONS = {"critic_input": "action", "clamp_gradient": None}
# initial action bias (share of the output range an untrained policy starts at), chosen so
# that every decoding starts near a sensible order: None 1.5 days per review, Base a 12-day
# target, Coeff ≈ 1.2 days of the demand signals per review day (PeriodCoeff: P days of
# cover for a SKU reviewed every P days), Both ≈ 12-day target (the paper tunes it)
INITIAL_ACTION = {"none": 0.05, "base": 0.2, "coeff": 0.04, "both": 0.1}
HEURISTIC_GRID = {"k": [float(k) for k in np.arange(0.0, 6.01, 0.5)], "window": [7, 28],
                  "cv": [0.0, 0.2, 0.4]}
S_S_GRID = {**HEURISTIC_GRID, "m": [0.0, 1.0, 2.0, 4.0, 7.0]}

BUDGETS = {
    "tiny": {"n_skus": 300, "horizon": 30, "episodes": 2, "ppo_episodes": 2, "grad_steps": 1,
             "ds_epochs": 1, "ds_seconds": 30.0},
    "full": {"n_skus": 5000, "horizon": 90, "episodes": 30, "ppo_episodes": 100,
             "grad_steps": 32, "ds_epochs": 40, "ds_seconds": None},
    # what a shared two-core machine finished for two seeds in the time it had
    "short": {"n_skus": 5000, "horizon": 90, "episodes": 12, "ppo_episodes": 40,
              "grad_steps": 16, "ds_epochs": 15, "ds_seconds": None},
}


@dataclass
class RetailStudy:
    """The catalogue, its SKU split and the objective weight shared by every run."""
    n_skus: int = 5000
    horizon: int = 90
    seed: int = 0
    weight: float = 0.1
    n_envs: int = 256           # SKUs per training episode of the RL agents
    objective: str = "service"  # or "cost" (see RetailEnv)

    def __post_init__(self):
        self.n_skus = check_int("n_skus", self.n_skus, low=20)
        self.horizon = check_int("horizon", self.horizon, low=20)
        self.seed = check_int("seed", self.seed, low=0)
        self.weight = check_real("weight", self.weight, low=0.0)
        self.n_envs = check_int("n_envs", self.n_envs, low=1)
        self.objective = check_choice("objective", self.objective, set(OBJECTIVES))

    def build(self):
        """``(catalogue, splits, envs)``: ``envs`` holds ``train`` (all training SKUs, for
        DS and the heuristics), ``val`` and ``test`` (held-out SKUs)."""
        cat = make_catalogue(CatalogueConfig(n_skus=self.n_skus, horizon=self.horizon,
                                             seed=self.seed))
        splits = dict(zip(("train", "val", "test"), cat.split(by="sku", fractions=(0.6, 0.2,
                                                                                   0.2))))
        envs = {k: RetailEnv(cat, v, weight=self.weight, objective=self.objective)
                for k, v in splits.items()}
        return cat, splits, envs


def retail_regularization(kind, env):
    """The decoding ``kind`` for a :class:`RetailEnv`, in days of cover: None orders up to 30
    days, Base targets up to 60 days, Both weights the four demand signals by up to 28 days
    each plus a bias of up to 14 days (a target position); Coeff is a :class:`PeriodCoeff`,
    up to 7 days of each signal plus 3.5 days *per review day* (an order that covers the
    SKU's review period :math:`P`)."""
    check_choice("kind", kind, set(KINDS))
    if kind == "none":
        return Regularization("none", L=env.position_L, a_max=30.0)
    if kind == "base":
        return Regularization("base", L=env.position_L, a_max=60.0)
    if kind == "coeff":
        return PeriodCoeff(L=env.position_L, feature_index=env.demand_feature_index,
                           days=7.0, bias_scale=3.5, period_index=env.obs_names.index("P"))
    return Regularization(kind, L=env.position_L, feature_index=env.demand_feature_index,
                          days=28.0, bias_scale=14.0)


def rl_config(method, kind, B, n_envs, horizon, seed):
    """``(module, config)`` of the study's RL agent ``method`` with decoding ``kind``, at the
    budget ``B`` (a :data:`BUDGETS` entry), for ``n_envs`` SKUs of ``horizon`` days."""
    from ..rl import ddpg, dsac, ppo
    episode = n_envs * horizon
    common = dict(gamma=0.9, initial_action=INITIAL_ACTION[kind], seed=seed)
    if method == "ppo":
        steps = B["ppo_episodes"] * episode
        return ppo, ppo.PPOConfig(total_steps=steps, eval_every=max(steps // 10, 1),
                                  log_std_init=-1.6, **common)
    steps = B["episodes"] * episode
    kw = dict(total_steps=steps, learning_starts=episode, eval_every=episode,
              gradient_steps=B["grad_steps"], **common)
    if method == "ddpg":
        return ddpg, ddpg.DDPGConfig(exploration_noise=0.1, **kw)
    return dsac, dsac.DSACConfig(**kw)


def fit_method(method, kind, study, budget="full", seed=0, envs=None, overrides=None):
    """Train ``method`` with decoding ``kind``; returns ``(row, act)``: the row holds the test
    metrics, the validation objective, the training time, the learning curve ``curve``
    (``episodes`` of training — epochs for DS — and the validation objective ``val``) and the
    test metrics per review period ``by_period`` (:func:`metrics_by_period`); ``act`` is the
    policy. ``overrides``: fields of the RL agent's config to change (not for DS)."""
    check_choice("method", method, set(METHODS))
    if overrides is not None and (method == "ds" or not isinstance(overrides, dict)):
        raise TypeError("overrides must be a dict of RL config fields (not for method 'ds')")
    check_choice("budget", budget, set(BUDGETS))
    B = BUDGETS[budget]
    if envs is None:
        _, _, envs = study.build()
    cat = envs["train"].catalogue
    reg = retail_regularization(kind, envs["train"])
    t0 = time.perf_counter()
    if method == "ds":
        config = retail_ds_config(epochs=B["ds_epochs"], seed=seed,
                                  initial_bias=INITIAL_ACTION[kind])
        policy, hist = train_ds_retail(envs["train"], envs["val"], reg, config,
                                       time_limit=B["ds_seconds"])
        act = policy.act_numpy
        curve = {"episodes": [h["epoch"] + 1 for h in hist], "val": [h["val"] for h in hist]}
    else:
        import torch
        torch.set_num_threads(1)
        module, config = rl_config(method, kind, B, study.n_envs, envs["train"].T, seed)
        if overrides:
            config = replace(config, **overrides)
        train_env = RetailEnv(cat, envs["train"].skus, n_envs=min(study.n_envs,
                                                                  envs["train"].skus.size),
                              weight=study.weight, objective=study.objective,
                              reward="attributed", seed=seed)
        agent, hist = module.train(train_env, config, eval_env=envs["val"], decoder=reg,
                                   quiet=True)
        act = agent.act
        episode = train_env.num_envs * train_env.T
        curve = {"episodes": [h["step"] / episode for h in hist if "eval_cost" in h],
                 "val": [h["eval_cost"] for h in hist if "eval_cost" in h]}
    seconds = time.perf_counter() - t0
    test = envs["test"].rollout_metrics(act)
    row = {"method": method, "kind": kind, "seed": seed, "seconds": seconds,
           "val_objective": envs["val"].rollout(act), **summarize(test), "curve": curve,
           "by_period": {str(k): v for k, v in metrics_by_period(envs["test"], act).items()}}
    return row, act


def summarize(m):
    """The four numbers of a :meth:`RetailEnv.rollout_metrics` dict that results files keep."""
    keys = ("objective", "stockout_rate", "turnover_days", "fill_rate")
    if not isinstance(m, dict):
        raise TypeError(f"m must be a dict of rollout metrics with keys {list(keys)}, "
                        f"got {type(m).__name__}")
    missing = [k for k in keys if k not in m]
    if missing:
        raise ValueError(f"m must hold the rollout metrics {list(keys)}; missing {missing}")
    out = {}
    for k in keys:
        try:
            out[k] = float(m[k])
        except (TypeError, ValueError):
            raise TypeError(f"m[{k!r}] must be a number, got {type(m[k]).__name__}") from None
        if not math.isfinite(out[k]):
            raise ValueError(f"m[{k!r}] must be finite, got {out[k]}")
    return out


def fit_heuristics(envs):
    """Forecast base stock and forecast (s, S), grid-tuned on the training SKUs; their test
    metrics (one row each)."""
    rows = []
    for name, grid, make in (("base_stock", HEURISTIC_GRID, forecast_base_stock),
                             ("s_S", S_S_GRID, forecast_s_S)):
        params, train_obj, _ = tune_heuristic(name, envs["train"], grid)
        params = {k: float(v) if k != "window" else int(v) for k, v in params.items()}
        test = envs["test"].rollout_metrics(make(envs["test"], **params))
        rows.append({"method": name, "params": params, "train_objective": float(train_obj),
                     **summarize(test)})
    return rows


def relative_to(rows, method="ddpg", kind="both"):
    """Per (method, kind), the mean over seeds of the change in stockout rate (percentage
    points) and turnover (days) relative to ``method + kind`` of the same seed, and of the
    objective; ``<key>_min`` / ``<key>_max`` give the range over seeds, ``n_seeds`` their
    number."""
    ref = {r["seed"]: r for r in rows if r["method"] == method and r["kind"] == kind}
    out = {}
    for r in rows:
        base = ref.get(r["seed"])
        if base is None:
            continue
        d = out.setdefault((r["method"], r["kind"]), {"d_stockout_pp": [], "d_turnover_days": [],
                                                      "objective": []})
        d["d_stockout_pp"].append(r["stockout_rate"] - base["stockout_rate"])
        d["d_turnover_days"].append(r["turnover_days"] - base["turnover_days"])
        d["objective"].append(r["objective"])
    return {k: {**{m: float(np.mean(v)) for m, v in d.items()},
                **{f"{m}_min": float(np.min(v)) for m, v in d.items()},
                **{f"{m}_max": float(np.max(v)) for m, v in d.items()},
                "n_seeds": len(d["objective"])} for k, d in out.items()}


def study_for_budget(study, budget):
    """The study to run (default :class:`RetailStudy`), shrunk to the catalogue of the tiny
    budget when ``budget == "tiny"``."""
    study = RetailStudy() if study is None else study
    if budget != "tiny":
        return study
    return RetailStudy(**{**asdict(study), "n_skus": BUDGETS["tiny"]["n_skus"],
                          "horizon": BUDGETS["tiny"]["horizon"], "n_envs": 32})
