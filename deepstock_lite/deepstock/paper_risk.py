"""Distributional SAC risk-neutral and risk-averse on Setting 4 (Chapter 10).

    python -m deepstock_lite.deepstock.paper_risk [--budget tiny|full] [--write]

Setting 4 is a repeated newsvendor (normal demand, mean 100, a standard deviation
:math:`\\sigma` per SKU, backorders, :math:`h = 0.1`, :math:`b = 0.9`, :math:`L = 0`,
:math:`P = 1`): every period's cost depends only on that period's order-up-to level
:math:`y = 100 + z\\sigma`, so a policy is summarized by its safety factor :math:`z`, and
the tail of the cost has known answers. Dist. SAC + Base is trained with each seed twice, with
the configuration :data:`CONFIGS`, fixed in advance rather than the sweep's (which was tuned
for the mean and at its own discount, while the exact answer for the discounted CVaR,
:func:`optimal_z`, holds for the discount the runs use): risk-neutral and with ``risk="cvar"`` (the mean of the worst
:data:`~deepstock_lite.rl.dsac.DSACConfig` ``cvar_level`` share of its return quantiles),
nothing else changed. The final policy of each run (no selection, which would score the
risk-averse policy on its mean) is replayed on the test trajectories and scored on the mean
and on the tail of its cost (:func:`tail_metrics`). Beside them: base stock for a grid of
:math:`z` on the same trajectories (:func:`base_stock_frontier`), and the safety factors that
minimize each objective exactly (:func:`optimal_z`).

Writes ``paper_risk.json`` (into ``data/results/``, the file the chapter loads, only at
``--budget full`` with ``--write``; else into ``results_tmp/``, or ``--out``), after every run
(``complete`` false until the last); a killed run started again keeps the runs the file holds.
``--budget full`` (5 seeds, 20 000 transitions a run) takes about twenty minutes on one core
(``--jobs 2``: two processes); ``--budget tiny`` is a smoke test.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
from scipy import stats

from ..core import results_store as store
from ..core.policies import FunctionPolicy
from ..core.simulator import simulate
from . import experiments
from ..core.decoding import Regularization
from .tuning import make_setting

__all__ = ["PLANS", "TAIL", "Z_GRID", "cvar", "tail_metrics", "base_stock_frontier",
           "optimal_z", "run"]

#: per budget: the seeds
PLANS = {"tiny": dict(seeds=(0,)), "full": dict(seeds=(0, 1, 2, 3, 4))}
#: per budget: the dist. SAC configuration (with ``a_max`` = the setting's q_max, ``seed`` and
#: ``risk`` added): Chapter 8's choices (gamma 0.9, Huber threshold 0.1), a warm-up of 2 000
#: transitions and a quarter of an update per transition, as the sweep's dist. SAC
CONFIGS = {"tiny": dict(total_steps=600, learning_starts=200, eval_every=200, gamma=0.9,
                        kappa=0.1, gradient_steps=12),
           "full": dict(total_steps=20_000, learning_starts=2_000, eval_every=2_000,
                        gamma=0.9, kappa=0.1, gradient_steps=12)}
RISKS = ("neutral", "cvar")
#: the share of worst outcomes the tail metrics average (per period and per path)
TAIL = 0.1
#: safety factors of the base-stock frontier
Z_GRID = tuple(round(z, 2) for z in np.arange(0.0, 3.01, 0.1))
MEAN = 100.0                       # Setting 4's demand mean


def cvar(x, share):
    """Mean of the worst (largest) ``share`` of the costs ``x`` (at least one value)."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    return float(x[-max(1, int(round(share * x.size))):].mean())


def tail_metrics(cost, start_on_hand, end_inventory, sigma):
    """Mean and tail of a replay on Setting 4's test trajectories (arrays (n, T); ``sigma``
    (n,)): mean cost per period, the mean of the worst :data:`TAIL` of period costs and of
    path costs (each path's mean over its periods), the share of periods that end in
    backorder, and the policy's safety factor :math:`z = (y - 100)/\\sigma` (mean over the
    periods after the first, where the order-up-to level is the policy's own)."""
    z = (start_on_hand[:, 1:] - MEAN) / sigma[:, None]
    return {"mean": float(cost.mean()), "cvar_period": cvar(cost, TAIL),
            "cvar_path": cvar(cost.mean(1), TAIL),
            "stockout_share": float((end_inventory < 0).mean()),
            "z": float(z.mean())}


def _replay(S, act):
    sim = simulate(S.system, FunctionPolicy(act), S.data.test, on_hand=S.on_hand)
    return tail_metrics(sim.cost, sim.start_on_hand, sim.end_inventory,
                        S.data.info["test_sigma"])


def base_stock_frontier(S, zs=Z_GRID):
    """:func:`tail_metrics` of base stock :math:`y = 100 + z\\sigma` (the true mean and
    :math:`\\sigma` of each SKU) for every ``z`` of ``zs``, on the test trajectories."""
    sig = S.data.info["test_sigma"]
    out = []
    for z in zs:
        y = MEAN + z * sig
        out.append({"z_set": float(z),
                    **_replay(S, lambda st, y=y: np.maximum(y - st.on_hand, 0.0))})
    return out


def optimal_z(h, b, level, gamma, n_paths=100_000, horizon=40, seed=0):
    """Safety factors that minimize each objective exactly, for normal demand and base stock
    (the cost scales with :math:`\\sigma`, so each optimum holds for every SKU):

    * ``mean``: the newsvendor's critical fractile :math:`\\Phi^{-1}(b/(h+b))`;
    * ``cvar_period``: the CVaR at ``level`` of one period's cost
      :math:`h(z-\\varepsilon)^+ + b(\\varepsilon-z)^+`, :math:`\\varepsilon \\sim N(0,1)`
      (by quadrature on a fine grid of levels);
    * ``cvar_return``: the CVaR at ``level`` of the discounted cost
      :math:`\\sum_t \\gamma^t c_t` of a stationary base stock (what the risk-averse actor's
      critic estimates), by simulation with ``n_paths`` paths of ``horizon`` periods.
    """
    grid = np.linspace(0.0, 3.0, 151)           # steps of 0.02
    u = (np.arange(200_000) + 0.5) / 200_000
    eps = stats.norm.ppf(u)

    def one_period(z):
        return h * np.maximum(z - eps, 0.0) + b * np.maximum(eps - z, 0.0)

    per = [cvar(one_period(z), level) for z in grid]
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n_paths, horizon)).astype(np.float32)
    disc = (gamma ** np.arange(horizon)).astype(np.float32)
    ret = []
    for z in grid:
        c = h * np.maximum(z - e, 0.0) + b * np.maximum(e - z, 0.0)
        ret.append(cvar(c @ disc, level))
    return {"mean": float(stats.norm.ppf(b / (h + b))),
            "cvar_period": float(grid[int(np.argmin(per))]),
            "cvar_return": float(grid[int(np.argmin(ret))]),
            "level": level, "gamma": gamma}


def target(budget="full", out="paper_risk", *, write=False, force=False, jobs=1):
    """``(path, old)`` of the results file, checked before anything trains
    (:func:`deepstock_lite.core.results_store.prepare`)."""
    if budget not in PLANS:
        raise ValueError(f"budget must be one of {sorted(PLANS)}, got {budget!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if not out:
        return None, None
    return store.prepare(out, budget=budget, write=write, force=force,
                         identity={"budget": budget, "config": CONFIGS[budget]})


def train_and_replay(budget, risk, seed):
    """One run: dist. SAC + Base on Setting 4's training paths with :data:`CONFIGS`
    ``[budget]`` and ``risk``; the final policy's :func:`tail_metrics` on the test paths,
    with its validation cost and the CPU seconds of the run."""
    import torch
    from ..rl import dsac
    torch.set_num_threads(1)
    t0 = time.process_time()
    S = make_setting("4")
    config = dsac.DSACConfig(**CONFIGS[budget], a_max=S.q_max, seed=seed, risk=risk)
    agent, hist = dsac.train(S.make_env("train"), config, eval_env=S.make_env("val"),
                             decoder=Regularization("base", L=S.system.L, scale=S.q_max),
                             quiet=True,
                             restore_best=False)
    obs_fn = S.observation_fn("test")
    return {"risk": risk, "seed": seed,
            "val_curve": [h["eval_cost"] for h in hist if "eval_cost" in h],
            **_replay(S, lambda st: agent.act(obs_fn(st))),
            "cpu_seconds": time.process_time() - t0}


def _unit(args):
    return args, train_and_replay(*args)


def run(budget="full", out="paper_risk", *, write=False, force=False, jobs=1):
    """Every seed of :data:`PLANS` twice (risk-neutral, CVaR), the base-stock frontier and
    the exact optima; writes ``<out>.json`` (``None``: nothing; the committed file with
    ``write=True`` at ``budget="full"``, else ``results_tmp/``; ``force``: start afresh).
    Resumable: the file is written after every run; an interrupted file started again keeps
    its runs of the same tuned configuration."""
    from ..rl import dsac
    path, old = target(budget, out, write=write, force=force, jobs=jobs)
    plan = PLANS[budget]
    level = dsac.DSACConfig().cvar_level
    S = make_setting("4")
    old = experiments.interrupted(old, force) or {}
    done = experiments.finished_units(old, lambda r: (r["risk"], r["seed"])) if old else {}
    frontier = base_stock_frontier(S)
    z_opt = optimal_z(S.system.h, S.system.b, level, CONFIGS[budget]["gamma"])
    bench = base_stock_frontier(S, (z_opt["mean"],))[0]["mean"]
    data = {"budget": budget, "config": CONFIGS[budget], "cvar_level": level, "tail": TAIL,
            "benchmark": bench, "optimal_z": z_opt, "base_stock": frontier, "rows": [],
            "complete": False,
            "command": f"python -m deepstock_lite.deepstock.paper_risk --budget {budget}"}
    plan_units = [(risk, seed) for seed in plan["seeds"] for risk in RISKS]
    rows = {k: done[k] for k in plan_units if k in done}

    def save(complete=False):
        data["rows"] = [rows[k] for k in plan_units if k in rows]
        data["complete"] = complete
        data["cpu_seconds"] = sum(r["cpu_seconds"] for r in data["rows"])
        if path is not None:
            store.write_json(path, data)

    def finished(key, r):
        rows[key] = r
        print(f"dist. SAC + Base, {r['risk']}, seed {r['seed']}: mean {r['mean']:.3f}, worst "
              f"{TAIL:.0%} of periods {r['cvar_period']:.2f}, z {r['z']:.2f}", flush=True)
        save()

    if rows:
        print(f"resuming {store.describe(path)}: {len(rows)} runs in the file", flush=True)
    todo = [(budget, risk, seed) for risk, seed in plan_units if (risk, seed) not in rows]
    if jobs == 1:
        for args in todo:
            finished(args[1:], train_and_replay(*args))
    elif todo:
        with mp.get_context("spawn").Pool(min(jobs, len(todo))) as pool:
            for args, r in pool.imap_unordered(_unit, todo, chunksize=1):
                finished(args[1:], r)
    save(True)
    if path is not None:
        print(store.report(path), flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m deepstock_lite.deepstock.paper_risk")
    p.add_argument("--budget", choices=sorted(PLANS), default="full")
    p.add_argument("--jobs", type=store.int_at_least(1), default=1,
                   help="processes training in parallel (default 1)")
    store.add_output_options(p, "paper_risk.json")
    a = p.parse_args(argv)
    out, write = store.output_request(a)
    kw = dict(out=out or "paper_risk", write=write, force=a.force, jobs=a.jobs)
    store.check_then_run(p, lambda: target(a.budget, **kw), lambda: run(a.budget, **kw))


if __name__ == "__main__":
    main()
