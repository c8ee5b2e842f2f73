"""A broad fuzz of the package's public entry points (not collected by pytest: run it as
``python tests/fuzz_all.py [--only core,classical] [--timeout 3] [--json out.json]``).

Every case is a public callable with a small *valid* baseline call. The fuzz replaces one
argument at a time by a bad value (negative, zero, NaN, inf, huge, wrong type, wrong shape or
dtype, empty, a list where a name is expected) and classifies the outcome:

* ``ok``: the call succeeded and everything it returned is finite (numbers, arrays, tensors,
  dataclass fields, dict values, and the result of the case's ``use`` step, e.g. a short
  simulation with a freshly built system);
* ``named``: it raised ``ValueError``/``TypeError`` whose message names the argument.

Anything else is a finding: ``unnamed`` (a ValueError/TypeError that does not name the
argument), ``exception`` (any other exception type), ``nonfinite`` (NaN or inf returned
silently) or ``hang`` (no answer within the timeout). ``tests/test_fuzz.py`` runs the same
cases with hypothesis-drawn bad values inside the CI budget.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import numbers
import signal
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np


# ---------------------------------------------------------------------------------------
# bad values
# ---------------------------------------------------------------------------------------
class _Weird:
    def __repr__(self):
        return "<object>"


NAN, INF = float("nan"), float("inf")
BAD_NUMBERS = [-1, 0, -1e-9, NAN, INF, -INF, 1e308, 1e153, 10 ** 18, -10 ** 18, 2.5, True,
               np.float32("nan"), np.int64(-3)]
BAD_TYPES = ["3", "", None, [1, 2], (1,), {}, 1 + 2j, _Weird(), b"x"]
BAD_ARRAYS = [[], np.array([]), np.zeros((0, 3)), np.array([[NAN]]), np.array([INF, 1.0]),
              np.array([-1.0, 2.0]), np.array(["a", "b"]), np.array([True, False]),
              np.zeros((2, 2, 2)), np.full(3, 1e308), [[1, 2], [3]],
              np.array([1, 2], dtype=object), np.ones((7, 1)), np.ones(5)]
ALL_BAD = BAD_NUMBERS + BAD_TYPES + BAD_ARRAYS


def bad_repr(v):
    if isinstance(v, np.ndarray):
        return f"array(shape={v.shape}, dtype={v.dtype}, first={v.ravel()[:2].tolist()})"
    r = repr(v)
    return r if len(r) < 60 else r[:57] + "..."


# ---------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str                       # e.g. "classical.optimal_s_S"
    owner: str                      # file that owns the callable
    target: Callable[[], Callable]  # builds the callable (fresh object for methods)
    kwargs: dict                    # the valid baseline call, by keyword
    use: Callable | None = None     # applied to the result; must give finite numbers
    params: list | None = None      # the arguments to fuzz (default: all of kwargs)
    allow_nonfinite: tuple = ()     # documented non-finite results, by argument
    timeout: float = 0.0            # a longer limit for valid but heavy calls (seconds)

    def fuzz_params(self):
        return list(self.kwargs) if self.params is None else self.params


def _cases():
    from scipy import stats

    from deepstock_lite import classical as C
    from deepstock_lite import core
    from deepstock_lite.core.simulator import InventoryState

    sysL1 = lambda: core.InventorySystem(L=1)
    D = np.ones((2, 5))
    pois3 = C.DiscreteDemand.poisson(3)
    train6 = np.array([[3, 1, 4, 2, 5, 2], [5, 2, 6, 3, 8, 6]])

    def simulate_with(obj):
        return core.simulate(core.InventorySystem(L=1), obj, D).cost

    def simulate_system(s):
        return core.simulate(s, core.BaseStock(5), D).cost

    def env_use(env):
        env.reset(seed=0)
        return env.step(np.array([1.0]))[1]

    cs = []
    add = lambda *a, **k: cs.append(Case(*a, **k))
    O = "deepstock_lite/core/"
    # -- core ---------------------------------------------------------------------------
    add("core.InventorySystem", O + "simulator.py", lambda: core.InventorySystem,
        dict(L=1, P=1, h=1.0, b=9.0, backlog=True, K=0.0, c=0.0, first_review=0),
        use=simulate_system)
    add("core.InventorySystem.initial_state", O + "simulator.py",
        lambda: core.InventorySystem(L=2).initial_state,
        dict(n=2, on_hand=0.0, pipeline=np.zeros((2, 1))), use=lambda s: s.position)
    add("core.InventorySystem.step", O + "simulator.py",
        lambda: (lambda order, demand, _s=core.InventorySystem(L=1):
                 _s.step(_s.initial_state(2), order, demand).cost),
        dict(order=np.ones(2), demand=np.ones(2)))
    add("core.simulate", O + "simulator.py", lambda: core.simulate,
        dict(system=sysL1(), policy=core.BaseStock(5), demand=D, on_hand=0.0, pipeline=None,
             seed=None, n=None, horizon=None), use=lambda r: r.cost)
    add("core.simulate[process]", O + "simulator.py", lambda: core.simulate,
        dict(system=sysL1(), policy=core.BaseStock(5), demand=core.Poisson(3), seed=0,
             n=2, horizon=4), use=lambda r: r.cost)
    for cls, kw in [(core.Poisson, dict(mean=3)), (core.Normal, dict(mean=3, std=1)),
                    (core.UniformInteger, dict(low=1, high=3)),
                    (core.NegativeBinomial, dict(mean=3, var=5))]:
        add(f"core.{cls.__name__}", O + "demand.py", (lambda c=cls: c), kw,
            use=lambda p: (p.sample(2, 3, seed=0), p.distribution().pmf))
    add("core.FromArray", O + "demand.py", lambda: core.FromArray, dict(demand=D),
        use=lambda p: p.sample(2, 1, seed=0))
    add("core.Poisson.sample", O + "demand.py", lambda: core.Poisson(3).sample,
        dict(n_paths=2, horizon=3, seed=0))
    add("core.FromArray.sample", O + "demand.py", lambda: core.FromArray(D).sample,
        dict(n_paths=2, horizon=3, seed=0))
    O2 = O + "distributions.py"
    add("core.DiscreteDemand", O2, lambda: core.DiscreteDemand, dict(pmf=[0.5, 0.5]),
        use=lambda d: (d.mean, d.expected_excess(3)))
    add("core.DiscreteDemand.poisson", O2, lambda: core.DiscreteDemand.poisson,
        dict(mean=3), use=lambda d: (d.mean, d.expected_excess(3), d.quantile(0.9)))
    add("core.DiscreteDemand.geometric", O2, lambda: core.DiscreteDemand.geometric,
        dict(mean=3), use=lambda d: (d.mean, d.expected_excess(3), d.quantile(0.9)))
    add("core.DiscreteDemand.from_scipy", O2, lambda: core.DiscreteDemand.from_scipy,
        dict(law=stats.poisson(3)), use=lambda d: d.pmf)
    add("core.DiscreteDemand.from_sample", O2, lambda: core.DiscreteDemand.from_sample,
        dict(sample=[1, 2, 3]), use=lambda d: d.pmf)
    for meth, kw in [("sum_of", dict(k=2)), ("convolve_power", dict(n=2)),
                     ("head", dict(n=3)), ("cdf", dict(y=2)), ("quantile", dict(ratio=0.5)),
                     ("expected_excess", dict(y=2)), ("expected_shortfall", dict(y=2)),
                     ("expected_positive_part", dict(y=2))]:
        add(f"core.DiscreteDemand.{meth}", O2, (lambda m=meth: getattr(pois3, m)), kw,
            use=(lambda d: d.pmf) if meth in ("sum_of", "convolve_power") else None)
    O3 = O + "continuous.py"
    add("core.ContinuousDemand", O3, lambda: core.ContinuousDemand,
        dict(law=stats.lognorm(0.4)), use=lambda d: d.expected_excess(1.0))
    add("core.ContinuousDemand.discretize", O3,
        lambda: core.ContinuousDemand(stats.lognorm(0.4)).discretize,
        dict(step=0.1, tail=1e-10), use=lambda r: (r[0], r[2], r[1].pmf))
    add("core.poisson_pmf", O2, lambda: core.poisson_pmf, dict(mean=3, tail=1e-12),
        use=lambda d: d.pmf)
    O3 = O + "metrics.py"
    add("core.average_cost", O3, lambda: core.average_cost, dict(cost=D, start=0))
    add("core.fill_rate", O3, lambda: core.fill_rate, dict(sales=D, demand=D, start=0))
    add("core.stockout_rate", O3, lambda: core.stockout_rate, dict(end_inventory=D, start=0))
    add("core.turnover_time", O3, lambda: core.turnover_time,
        dict(end_inventory=D, sales=D, start=0), allow_nonfinite=("sales",))
    add("core.summarize", O3, lambda: core.summarize,
        dict(result=core.simulate(sysL1(), core.BaseStock(5), D), start=0))
    add("core.t_interval", O + "statistics.py", lambda: core.t_interval,
        dict(x=[1.0, 2.0, 4.0], level=0.95), allow_nonfinite=("x",))   # n < 2: NaN bounds
    add("core.load_results", O + "results_store.py", lambda: core.load_results,
        dict(name="zipkin_ds"), use=lambda d: len(d["rows"]))

    def captured(cm):
        with cm as seen:
            core.simulate(sysL1(), core.BaseStock(5), D)
        return len(seen)
    add("core.record_returns", O + "record_returns.py", lambda: core.record_returns,
        dict(module=core, name="simulate"), use=captured)
    O4 = O + "paper_data.py"
    add("core.indep_floors", O4, lambda: core.indep_floors, dict(horizon=31, seed=42),
        use=lambda r: r[0])
    add("core.make_indep", O4, lambda: core.make_indep,
        dict(n_train=2, n_val=2, n_test=2, horizon=31, seed=42), use=lambda s: s.train)
    add("core.make_ar1", O4, lambda: core.make_ar1,
        dict(n_train=2, n_val=2, n_test=2, horizon=5, burn_in=2, seed=0),
        use=lambda s: s.train)
    add("core.make_iid", O4, lambda: core.make_iid,
        dict(n_skus=2, n_train=2, n_val=2, n_test=2, horizon=4, mean=100.0,
             sigma_range=(5.0, 20.0), seed=0), use=lambda s: s.train)
    O5 = O + "policies.py"
    add("core.BaseStock", O5, lambda: core.BaseStock, dict(S=5), use=simulate_with)
    add("core.SSPolicy", O5, lambda: core.SSPolicy, dict(s=2, S=5), use=simulate_with)
    add("core.ConstantOrder", O5, lambda: core.ConstantOrder, dict(q=2), use=simulate_with)
    add("core.FunctionPolicy", O5, lambda: core.FunctionPolicy,
        dict(fn=lambda s: np.ones(s.n), name="f"), use=simulate_with)
    add("core.set_seed", O + "seeding.py", lambda: core.set_seed,
        dict(seed=0, torch_threads=None), use=lambda g: g.random())
    add("core.make_rng", O + "seeding.py", lambda: core.make_rng, dict(seed=0),
        use=lambda g: g.random())
    # -- classical: the demand is the one positional argument, passed here by its name ------
    K = "deepstock_lite/classical/"
    hb = dict(h=1.0, b=4.0)
    nv, bs = K + "newsvendor.py", K + "base_stock.py"
    norm = stats.norm(50, 8)
    add("classical.critical_ratio", nv, lambda: C.critical_ratio, dict(hb))
    add("classical.optimal_newsvendor", nv, lambda: C.optimal_newsvendor,
        dict(demand=pois3, **hb), use=lambda s: (s.S, s.cost))
    add("classical.optimal_newsvendor[lognorm]", nv, lambda: C.optimal_newsvendor,
        dict(demand=stats.lognorm(0.4, scale=5), **hb), use=lambda s: (s.S, s.cost))
    add("classical.optimal_newsvendor[process]", nv, lambda: C.optimal_newsvendor,
        dict(demand=core.Poisson(3), **hb), use=lambda s: (s.S, s.cost))
    add("classical.newsvendor_cost", nv, lambda: C.newsvendor_cost,
        dict(demand=pois3, S=3, **hb))
    add("classical.newsvendor_normal", nv, lambda: C.newsvendor_normal,
        dict(demand=norm, **hb), use=lambda s: (s.S, s.cost))
    add("classical.newsvendor_cost_normal", nv, lambda: C.newsvendor_cost_normal,
        dict(demand=norm, S=50, **hb))
    add("classical.newsvendor_empirical", nv, lambda: C.newsvendor_empirical,
        dict(sample=[1, 2, 3], **hb), use=lambda s: (s.S, s.cost))
    add("classical.newsvendor_cost_empirical", nv, lambda: C.newsvendor_cost_empirical,
        dict(sample=[1, 2, 3], S=2, **hb))
    lp = dict(L=1, P=1)
    add("classical.optimal_base_stock", bs, lambda: C.optimal_base_stock,
        dict(demand=pois3, **hb, **lp, step=None), use=lambda s: (s.S, s.cost))
    add("classical.optimal_base_stock[lognorm]", bs, lambda: C.optimal_base_stock,
        dict(demand=stats.lognorm(0.4, scale=5), **hb, L=1, P=2, step=0.05),
        use=lambda s: (s.S, s.cost, s.error))
    add("classical.base_stock_cost", bs, lambda: C.base_stock_cost,
        dict(demand=pois3, S=5, **hb, **lp, step=None))
    add("classical.base_stock_normal", bs, lambda: C.base_stock_normal,
        dict(demand=stats.norm(5, 2), **hb, L=1, P=2), use=lambda s: (s.S, s.cost))
    add("classical.base_stock_cost_normal", bs, lambda: C.base_stock_cost_normal,
        dict(demand=stats.norm(5, 2), S=10, **hb, L=1, P=2))
    ss = K + "s_S.py"
    hbk = dict(h=1.0, b=9.0, K=4.0)
    add("classical.optimal_s_S", ss, lambda: C.optimal_s_S,
        dict(demand=pois3, **hbk, L=0, max_iter=1000), use=lambda r: r.cost)
    add("classical.optimal_s_S[process]", ss, lambda: C.optimal_s_S,
        dict(demand=core.Poisson(3), **hbk), use=lambda r: r.cost)
    add("classical.s_S_cost", ss, lambda: C.s_S_cost,
        dict(demand=pois3, s=2, S=6, **hbk, L=0))
    add("classical.s_S_cost_grid", ss, lambda: C.s_S_cost_grid,
        dict(demand=pois3, s_values=[1, 2], S_values=[5, 6], **hbk),
        allow_nonfinite=("s_values", "S_values"))
    add("classical.eoq_s_S", ss, lambda: C.eoq_s_S, dict(demand=pois3, **hbk),
        use=lambda r: r.cost)
    add("classical.finite_horizon_s_S", ss, lambda: C.finite_horizon_s_S,
        dict(demand=pois3, T=3, **hbk, grid=None), use=lambda r: r.H)
    add("classical.k_convexity_constant", ss, lambda: C.k_convexity_constant,
        dict(values=[3.0, 1.0, 2.0, 4.0]))
    add("classical.renewal_mass", ss, lambda: C.renewal_mass, dict(demand=pois3, n=5))
    add("classical.single_period_cost", ss, lambda: C.single_period_cost,
        dict(demand=pois3, y=3, h=1.0, b=9.0, L=0))
    rq = K + "r_Q.py"
    rq_costs = dict(K=50.0, h=2.0, p=25.0, L=0.5)
    add("classical.optimal_r_Q", rq, lambda: C.optimal_r_Q,
        dict(demand=stats.norm(200, 35), **rq_costs, tol=1e-10, max_iter=1000),
        use=lambda s: (s.r, s.Q, s.cost))
    add("classical.r_Q_cost", rq, lambda: C.r_Q_cost,
        dict(demand=stats.norm(200, 35), r=140.0, Q=110.0, **rq_costs))
    ls = K + "lost_sales/"
    pois2 = C.DiscreteDemand.poisson(2)
    lsk = dict(demand=pois2, L=1, h=1.0, b=4.0)
    add("classical.solve_lost_sales", ls + "value_iteration.py", lambda: C.solve_lost_sales,
        dict(**lsk, max_position=None, tol=1e-4, max_iter=2000), use=lambda r: r.cost)
    add("classical.evaluate_policy_exact", ls + "value_iteration.py",
        lambda: C.evaluate_policy_exact,
        dict(**lsk, policy=lambda st: np.zeros(len(st), dtype=int), tol=1e-4),
        use=lambda r: r.cost)
    add("classical.backorder_base_stock_level", ls + "model.py",
        lambda: C.backorder_base_stock_level, dict(lsk))
    for fn in ("best_base_stock", "best_capped_base_stock", "myopic_policy",
               "best_constant_order", "lost_sales_heuristics"):
        add(f"classical.{fn}", ls + "heuristics.py", (lambda f=fn: getattr(C, f)),
            dict(**lsk, tol=1e-4),
            use=(lambda r: [v.cost for v in r.values()]) if fn == "lost_sales_heuristics"
            else (lambda r: r.cost), timeout=30.0)
    pol = C.solve_lost_sales(pois2, L=1, h=1.0, b=4.0).policy
    add("classical.LookupPolicy.order", ls + "policy.py", lambda: pol.order, dict(x=[1]))
    add("classical.LookupPolicy.order_many", ls + "policy.py", lambda: pol.order_many,
        dict(states=[[1], [2]]))
    s1 = K + "setting1_dp.py"
    add("classical.solve_setting1_dp", s1, lambda: C.solve_setting1_dp,
        dict(demand=train6, h=0.1, b=0.9, max_order=6, tie_tol=1e-12),
        use=lambda s: s.expected_loss)
    add("classical.solve_setting1_dp[laws]", s1, lambda: C.solve_setting1_dp,
        dict(demand=[pois3] * 6, h=0.1, b=0.9, max_order=10), use=lambda s: s.expected_loss)
    add("classical.setting1_loss", s1, lambda: C.setting1_loss,
        dict(demand=train6, policy=lambda s: np.full(s.n, 4.0), h=0.1, b=0.9))
    add("classical.setting1_expected_loss", s1, lambda: C.setting1_expected_loss,
        dict(demand=train6, policy=lambda s: np.full(s.n, 4.0), h=0.1, b=0.9,
             max_states=10_000))
    add("classical.setting1_system", s1, lambda: C.setting1_system, dict(h=0.1, b=0.9),
        use=simulate_system)
    sol = C.solve_setting1_dp(train6, max_order=6)
    add("classical.Setting1Solution.order", s1, lambda: sol.order, dict(t=2, inventory=3.0))
    add("classical.Setting1Solution.exact_loss", s1, lambda: sol.exact_loss,
        dict(demand=train6))
    del InventoryState
    cs += _other_cases(sysL1, env_use)
    return cs


def _other_cases(sysL1, env_use):
    """Entry points owned by the other layers (envs, rl, deepstock)."""
    from deepstock_lite import core
    cs = []
    add = lambda *a, **k: cs.append(Case(*a, **k))
    try:
        from deepstock_lite import envs as E
    except Exception:  # pragma: no cover - the fuzz reports what it can import
        return cs
    Oe = "deepstock_lite/envs/inventory_env.py"
    Ob = "deepstock_lite/envs/batch_env.py"
    envkw = dict(system=sysL1(), demand=core.Poisson(3), horizon=5, q_max=10.0, warmup=0,
                 n_history=0, integer_orders=False, on_hand=0.0, reward="period",
                 features=None)
    add("envs.InventoryEnv", Oe, lambda: E.InventoryEnv, envkw, use=env_use)
    add("envs.InventoryEnv.step", Oe,
        lambda: (lambda action, _e=E.InventoryEnv(sysL1(), core.Poisson(3), 5, 10.0):
                 (_e.reset(seed=0), _e.step(action))[1][1]),
        dict(action=np.array([1.0])))
    benv = lambda: E.BatchInventoryEnv(sysL1(), core.Poisson(3), 5, 10.0, n_envs=2, seed=0)
    add("envs.BatchInventoryEnv", Ob, lambda: E.BatchInventoryEnv,
        dict(envkw, n_envs=2, seed=0),
        use=lambda e: (e.reset(seed=0), e.step(np.ones((2, 1))))[1][1])
    add("envs.BatchInventoryEnv.step", Ob,
        lambda: (lambda actions, _e=benv(): (_e.reset(seed=0), _e.step(actions))[1][1]),
        dict(actions=np.ones((2, 1))))
    add("envs.BatchInventoryEnv.rollout", Ob, lambda: benv().rollout,
        dict(policy_fn=lambda o: np.full((2, 1), 4.0), seed=0))
    add("envs.RegularizedAction", Oe, lambda: E.RegularizedAction,
        dict(env=E.InventoryEnv(sysL1(), core.Poisson(3), 5, 10.0), regularization="base"))
    try:
        import deepstock_lite.rl as R
    except Exception:  # pragma: no cover
        return cs
    Or = "deepstock_lite/rl/"
    add("rl.ReplayBuffer", Or + "buffers.py", lambda: R.ReplayBuffer,
        dict(capacity=10, obs_dim=2, act_dim=1))
    T2 = np.ones((3, 2))
    add("rl.compute_gae", Or + "ppo.py", lambda: R.compute_gae,
        dict(rewards=T2, values=T2, next_values=T2, terminated=np.zeros((3, 2)),
             truncated=np.zeros((3, 2)), gamma=0.9, lam=0.95))
    Dec = "deepstock_lite/core/decoding.py"
    add("rl.inventory_position", Dec, lambda: R.inventory_position,
        dict(obs=np.ones((2, 3)), L=2))
    add("rl.BaseStockDecoder", Dec, lambda: R.BaseStockDecoder, dict(L=2))
    add("rl.make_decoder", Dec, lambda: R.make_decoder,
        dict(spec={"name": "base", "L": 2}))
    add("rl.ObsNormalizer", Or + "normalization.py", lambda: R.ObsNormalizer,
        dict(dim=3, enabled=True, clip=10.0, eps=1e-8))
    add("rl.RewardScaler", Or + "normalization.py", lambda: R.RewardScaler,
        dict(n_envs=2, gamma=0.9, enabled=True, clip=10.0, eps=1e-8))
    add("rl.RunningMeanStd", Or + "normalization.py", lambda: R.RunningMeanStd,
        dict(shape=(), epsilon=1e-4))
    add("rl.load_checkpoint", Or + "checkpoint.py", lambda: R.load_checkpoint,
        dict(path="/nonexistent/ckpt.pt"), params=[])
    for cfg in ("DDPGConfig", "PPOConfig", "DSACConfig"):
        klass = getattr(R, cfg)
        fields = [f.name for f in dataclasses.fields(klass)]
        add(f"rl.{cfg}", Or + cfg[:-6].lower() + ".py", (lambda k=klass: k), {},
            params=fields)
    for agent in ("DDPG", "PPO", "DSAC"):
        add(f"rl.{agent}", Or + agent.lower() + ".py", (lambda a=agent: getattr(R, a)),
            dict(config=getattr(R, agent + "Config")(), obs_dim=3, a_max=10.0),
            timeout=20.0)  # the first agent built in a process warms torch up (seconds)
    try:
        import deepstock_lite.paper as DS
    except Exception:  # pragma: no cover
        return cs
    Od = "deepstock_lite/paper/"
    add("deepstock.Regularization", "deepstock_lite/core/decoding.py", lambda: DS.Regularization,
        dict(kind="base", L=2, a_max=20.0, feature_index=(), days=28.0, bias_scale=0.0))
    add("deepstock.initial_bias_logit", "deepstock_lite/core/decoding.py",
        lambda: DS.initial_bias_logit, dict(fraction=0.5))
    add("deepstock.DSConfig", Od + "differentiable_simulator.py", lambda: DS.DSConfig, {},
        params=[f.name for f in dataclasses.fields(DS.DSConfig)])
    reg = DS.Regularization("base", L=1, a_max=20.0)
    add("deepstock.DSPolicy", Od + "differentiable_simulator.py", lambda: DS.DSPolicy,
        dict(obs_dim=1, regularization=reg, hidden=(4,), obs_scale=1.0, initial_bias=0.5,
             obs_shift=0.0, surrogate="exact", leak=0.1, integer_orders=False))
    tiny = DS.DSConfig(epochs=1, batch_size=2) if "epochs" in {
        f.name for f in dataclasses.fields(DS.DSConfig)} else None
    add("deepstock.train_ds", Od + "differentiable_simulator.py", lambda: DS.train_ds,
        dict(system=sysL1(), regularization=reg, train=np.ones((2, 6)), val=np.ones((2, 6)),
             config=tiny, n_history=0, on_hand=0.0, warmup=0, cost_start=0),
        use=lambda r: getattr(r, "val_loss", 0.0), timeout=90.0)  # config=None: full training
    add("deepstock.setting1", Od + "settings.py", lambda: DS.setting1, dict(seed=42))
    add("deepstock.setting4", Od + "settings.py", lambda: DS.setting4,
        dict(n_train=2, horizon=4, n_skus=2, seed=0))
    add("deepstock.CatalogueConfig", Od + "catalogue_config.py", lambda: DS.CatalogueConfig, {},
        params=["n_skus", "horizon", "seed", "history", "scale_median", "noise_cv",
                "zero_inflation", "promo_rate", "review_periods", "lead_range"])
    add("deepstock.censor", Od + "censoring.py", lambda: DS.censor,
        dict(demand=np.ones((2, 3)), available=np.ones((2, 3))))
    add("deepstock.SkuScaler", Od + "normalization.py", lambda: DS.SkuScaler,
        dict(floor=1 / 28, unit_features=(0, 1, 2, 3)))
    try:
        from deepstock_lite.paper import retail_study, tuning
        import tempfile
        ds_params = dict(lr=3e-3, batch_size=2, width=8, initial_bias=0.5)
        # a valid budget like "small" trains for minutes: a longer limit for those calls
        add("deepstock.tuning.evaluate_config", Od + "tuning.py",
            lambda: tuning.evaluate_config,
            dict(method="ds", reg_kind="base", setting=1, params=ds_params, seed=0,
                 budget="tiny"), params=["method", "reg_kind", "setting", "params",
                                         "seed", "budget"], timeout=120.0)
        # the study lives in a temporary database (storage=None is the default file under
        # studies/, which the fuzz must not write); budget "tiny" keeps each trial short
        tmp = tempfile.mkdtemp(prefix="fuzz_study_")
        db = f"sqlite:///{tmp}/fuzz.db"
        add("deepstock.tuning.run_study", Od + "tuning.py",
            lambda: _in_dir(tuning.run_study, tmp),
            dict(method="ds", reg_kind="base", setting=1, n_trials=1, storage=db,
                 budget="tiny"),
            params=["method", "reg_kind", "setting", "n_trials", "storage"], timeout=60.0)
        add("deepstock.retail_study.summarize", Od + "retail_study.py",
            lambda: retail_study.summarize, dict(m=None), params=["m"])
    except Exception:  # pragma: no cover
        pass
    return cs


def _in_dir(fn, path):
    """``fn`` called with ``path`` as the working directory (files a default argument
    writes, such as a study database under ``studies/``, land there)."""
    import os

    def call(**kwargs):
        old = os.getcwd()
        os.chdir(path)
        try:
            return fn(**kwargs)
        finally:
            os.chdir(old)
    return call


# ---------------------------------------------------------------------------------------
# running one call
# ---------------------------------------------------------------------------------------
class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def nonfinite(x, depth=0):
    """True if ``x`` holds a NaN or inf (numbers, arrays, tensors, containers, dataclasses)."""
    if depth > 4 or x is None or isinstance(x, (str, bytes, bool)):
        return False
    if isinstance(x, numbers.Number):
        try:
            return not math.isfinite(complex(x).real) or not math.isfinite(complex(x).imag)
        except (OverflowError, TypeError):
            return True
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            return not bool(np.all(np.isfinite(x)))
        if x.dtype == object:
            return any(nonfinite(v, depth + 1) for v in x.ravel()[:1000])
        return False
    if type(x).__module__.startswith("torch") and hasattr(x, "isfinite"):
        return x.is_floating_point() and not bool(x.isfinite().all())
    if isinstance(x, dict):
        return any(nonfinite(v, depth + 1) for v in list(x.values())[:1000])
    if isinstance(x, (list, tuple)):
        return any(nonfinite(v, depth + 1) for v in x[:1000])
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return any(nonfinite(getattr(x, f.name), depth + 1) for f in dataclasses.fields(x))
    return False


def _limit_memory(extra=4 * 2**30):
    """Cap the address space at its current size plus ``extra`` bytes for one call, so a
    huge allocation raises MemoryError (a finding) instead of waking the OOM killer.
    Returns the previous limits (None where unsupported)."""
    try:
        import resource
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * resource.getpagesize()
        old = resource.getrlimit(resource.RLIMIT_AS)
        cap = size + extra
        if old[1] != resource.RLIM_INFINITY:
            cap = min(cap, old[1])
        resource.setrlimit(resource.RLIMIT_AS, (cap, old[1]))
        return old
    except (ImportError, OSError, ValueError):
        return None


def _restore_memory(old):
    if old is not None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, old)


def run_call(case, param, bad, timeout=3.0):
    """Call ``case`` with ``param`` replaced by ``bad``; return ``(status, detail)``."""
    kwargs = dict(case.kwargs)
    kwargs[param] = bad
    timeout = max(timeout, case.timeout)
    old = signal.signal(signal.SIGALRM, _alarm)
    limits = _limit_memory()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                fn = case.target()
                out = fn(**kwargs)
                used = case.use(out) if case.use is not None else None
    except _Timeout:
        return "hang", f"no answer within {timeout:g} s"
    except (ValueError, TypeError) as e:
        msg = str(e)
        if param in msg:
            return "named", msg
        return "unnamed", f"{type(e).__name__}: {msg[:200]}"
    except Exception as e:  # noqa: BLE001 - the point is to catch everything
        return "exception", f"{type(e).__name__}: {str(e)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        _restore_memory(limits)
    if param not in case.allow_nonfinite and (nonfinite(out) or nonfinite(used)):
        return "nonfinite", "NaN or inf returned"
    return "ok", ""


FAILURES = ("unnamed", "exception", "nonfinite", "hang")


def main(argv=None):
    ap = argparse.ArgumentParser(description="fuzz the public entry points")
    ap.add_argument("--only", default="", help="comma-separated prefixes (core,classical,..)")
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    prefixes = [p for p in args.only.split(",") if p]
    cases = [c for c in _cases() if not prefixes or c.name.split(".")[0] in prefixes]
    tally, findings = Counter(), []
    for case in cases:
        for param in case.fuzz_params():
            for bad in ALL_BAD:
                status, detail = run_call(case, param, bad, args.timeout)
                tally[status] += 1
                if status in FAILURES:
                    findings.append(dict(case=case.name, owner=case.owner, param=param,
                                         bad=bad_repr(bad), status=status, detail=detail))
                    print(f"{status:9} {case.name}({param}={bad_repr(bad)}) -> {detail}",
                          flush=True)
    print(f"\n{len(cases)} cases, {sum(tally.values())} calls: " +
          ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    by_owner = Counter(f["owner"] for f in findings)
    for owner, n in by_owner.most_common():
        print(f"  {n:5} findings in {owner}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(findings, f, indent=1)
    return findings


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
