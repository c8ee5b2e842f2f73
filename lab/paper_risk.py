"""Distributional SAC risk-neutral and risk-averse on Setting 4 (Chapter 10).

    python -m lab paper-risk [--budget tiny|full] [--write]

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

from deepstock_lite.core import results_store as store
from deepstock_lite.core.policies import FunctionPolicy
from deepstock_lite.core.simulator import simulate
from deepstock_lite.core.decoding import Regularization
from deepstock_lite.paper.analysis import cvar, optimal_z
from deepstock_lite.paper.tuning import make_setting

from .budgets import PAPER_RISK_CONFIGS as CONFIGS, PAPER_RISK_PLANS as PLANS

__all__ = ["PLANS", "TAIL", "Z_GRID", "cvar", "tail_metrics", "base_stock_frontier",
           "optimal_z", "run"]

RISKS = ("neutral", "cvar")
#: the share of worst outcomes the tail metrics average (per period and per path)
TAIL = 0.1
#: safety factors of the base-stock frontier
Z_GRID = tuple(round(z, 2) for z in np.arange(0.0, 3.01, 0.1))
MEAN = 100.0                       # Setting 4's demand mean


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
    from deepstock_lite.rl import dsac
    torch.set_num_threads(1)
    t0 = time.process_time()
    S = make_setting("4")
    config = dsac.DSACConfig(**CONFIGS[budget], a_max=S.q_max, seed=seed, risk=risk)
    agent, hist = dsac.train(S.make_env("train"), config, eval_env=S.make_env("val"),
                             decoder=Regularization("base", L=S.system.L, a_max=S.q_max),
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
    from deepstock_lite.rl import dsac
    path, old = target(budget, out, write=write, force=force, jobs=jobs)
    plan = PLANS[budget]
    level = dsac.DSACConfig().cvar_level
    S = make_setting("4")
    old = store.interrupted(old, force) or {}
    done = store.finished_units(old, lambda r: (r["risk"], r["seed"])) if old else {}
    frontier = base_stock_frontier(S)
    z_opt = optimal_z(S.system.h, S.system.b, level, CONFIGS[budget]["gamma"])
    bench = base_stock_frontier(S, (z_opt["mean"],))[0]["mean"]
    data = {"budget": budget, "config": CONFIGS[budget], "cvar_level": level, "tail": TAIL,
            "benchmark": bench, "optimal_z": z_opt, "base_stock": frontier, "rows": [],
            "complete": False,
            "command": f"python -m lab paper-risk --budget {budget}"}
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
    p = argparse.ArgumentParser(prog="python -m lab paper-risk")
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
