"""Diagnoses of the anomalies in the paper-reproduction results (Chapter 10).

    python -m lab paper-diagnose [--budget tiny|full] [--write]

Reads the tuned configurations from ``paper_setting<k>.json`` and re-runs them exactly as the
sweep does (:func:`~deepstock_lite.paper.tuning.evaluate_config`), keeping what the sweep
throws away; writes ``paper_diagnoses.json`` (into ``data/results/``, the file the chapter
loads, only at ``--budget full`` with ``--write``; else into ``results_tmp/``, or ``--out``):

* ``ds_lr``: DS + Base on Setting 1, the tuned configuration, the configuration an earlier
  6-trial study chose (:data:`SIX_TRIAL_PARAMS`) and the same at :data:`LOW_LR`, several
  seeds: the validation loss of every epoch, the epoch of the kept (best
  validation) model, and the test loss. Shows where a run at a large learning rate sticks.
* ``s4_none``: DDPG and distributional SAC with None decoding on Setting 4, the tuned
  configuration re-trained, then replayed on the test trajectories: the orders and stock of
  the first periods, each test row's mean excess over the optimal level, and the order's
  response to the stock (a base-stock policy has slope −1; a policy that ignores its stock
  keeps any early excess forever under backlog).

``--budget full`` (the sweep's "small" training budget) takes about ten minutes on one core;
``--budget tiny`` is a smoke test. The file is written after every run (``complete`` false
until the last), and a killed run started again skips the runs the file holds.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from deepstock_lite.core import results_store as store
from deepstock_lite.core.policies import FunctionPolicy
from deepstock_lite.core.simulator import simulate
from deepstock_lite.core.record_returns import record_returns
from deepstock_lite.paper.tuning import evaluate_config, make_setting

from .budgets import PAPER_DIAGNOSE_PLANS as PLANS

__all__ = ["PLANS", "ds_lr_curves", "s4_none_replay", "run"]

LOW_LR = 3e-3
#: the configuration an earlier, 6-trial study of Setting 1 chose for DS + Base (every trial
#: trained on seed 0; re-run on 2 seeds it scored 0.917 and 1.545): kept as the example of a
#: configuration chosen on one lucky seed
SIX_TRIAL_PARAMS = {"lr": 0.025860397069785688, "batch_size": 10, "width": 128,
                    "initial_bias": 0.42894453051982107}


def _row(key, method, reg):
    data = store.load_results(f"paper_setting{key}")
    try:
        row = next(r for r in data["rows"] if r["method"] == method and r["reg"] == reg)
    except (KeyError, TypeError, StopIteration):
        raise store.ResultsError(
            f"{store.describe(store.results_path(f'paper_setting{key}'))} has no "
            f"{method} + {reg} row; regenerate it with python -m lab paper") from None
    return data, row


def target(budget="full", out="paper_diagnoses", *, write=False, force=False):
    """``(path, old)`` of the diagnoses' results file, checked before anything trains, after
    reading the tuned configurations the diagnoses need
    (:func:`deepstock_lite.core.results_store.prepare`)."""
    if budget not in PLANS:
        raise ValueError(f"budget must be one of {sorted(PLANS)}, got {budget!r}")
    for key, method, reg in (("1", "ds", "base"), ("4", "ddpg", "none"),
                             *(("4", m, "none") for m in PLANS[budget]["rl_methods"])):
        _row(key, method, reg)
    if not out:
        return None, None
    return store.prepare(out, budget=budget, write=write, force=force,
                         identity={"budget": budget, "train_budget": PLANS[budget]["train"]})


def _reusable(previous, bench, key):
    """The runs of an earlier file's part ``previous`` a resumed run keeps, by ``key(run)``:
    only when its benchmark is this run's (the tuned configurations it read are the same)."""
    if not isinstance(previous, dict) or previous.get("benchmark") != bench:
        return {}
    return store.finished_units(previous, key, rows="runs" if "runs" in previous
                                      else "rows")


def ds_lr_curves(seeds=(0, 1, 2, 3), budget="small", *, previous=None, progress=None):
    """DS + Base on Setting 1: the tuned configuration, the configuration of an earlier
    6-trial study (:data:`SIX_TRIAL_PARAMS`) and the same at :data:`LOW_LR`, each with every
    seed; each run is labelled by its ``config`` (``"tuned"``, ``"six_trial"``, ``"low_lr"``).

    ``previous``: this part of an interrupted run's file; its runs with the same
    configuration are kept, not re-trained. ``progress(part)``: called with the part so far
    after every new run (the driver writes its file there)."""
    from deepstock_lite.paper import differentiable_simulator as ds
    data, row = _row("1", "ds", "base")
    bench = data["benchmark"]
    configs = (("tuned", row["params"]), ("six_trial", SIX_TRIAL_PARAMS),
               ("low_lr", {**SIX_TRIAL_PARAMS, "lr": LOW_LR}))
    done = _reusable(previous, bench, lambda r: (r["config"], r["seed"], r["params"]["lr"],
                                                  tuple(sorted(r["params"].items()))))
    part = {"params": row["params"], "tuned_lr": row["params"]["lr"], "benchmark": bench,
            "six_trial_params": SIX_TRIAL_PARAMS, "sweep_rerun_test": row["rerun_test"],
            "runs": []}
    runs = part["runs"]
    for label, params in configs:
        for seed in seeds:
            key = (label, seed, params["lr"], tuple(sorted(dict(params).items())))
            if key in done:
                runs.append(done[key])
                continue
            with record_returns(ds, "train_ds") as seen:
                out = evaluate_config("ds", "base", "1", params, seed, budget)
            res = seen[-1]
            runs.append({"config": label, "params": dict(params), "lr": params["lr"],
                         "seed": seed,
                         "val_curve": [round(h["val"], 4) for h in res.history],
                         "train_curve": [round(h["train"], 4) for h in res.history],
                         "best_epoch": res.best_step, "epochs_run": len(res.history),
                         "val": out["val"], "test": out["test"],
                         "gap": out["test"] / bench - 1})
            print(f"DS + Base, setting 1, {label} (lr {params['lr']:.4f}), seed {seed}: kept "
                  f"epoch {res.best_step} of {len(res.history)}, test {out['test']:.4f} "
                  f"({runs[-1]['gap']:+.1%})", flush=True)
            if progress is not None:
                progress(part)
    return part


def s4_none_replay(methods=("ddpg", "dsac"), seeds=(0, 1), budget="small", periods=16, *,
                   previous=None, progress=None):
    """Re-train the tuned None configurations on Setting 4 and replay them on test.
    ``previous`` and ``progress`` as in :func:`ds_lr_curves`."""
    from deepstock_lite.rl import ddpg, dsac
    modules = {"ddpg": ddpg, "dsac": dsac}
    data, _ = _row("4", "ddpg", "none")
    bench = data["benchmark"]
    S = make_setting("4")
    z = 1.2815515655446004
    sig = S.data.info["test_sigma"]
    target = 100 + z * sig                          # the optimal order-up-to level per row
    obs_fn = S.observation_fn("test")
    done = _reusable(previous, bench, lambda r: (r["method"], r["seed"],
                                                  tuple(sorted(r["params"].items())),
                                                  len(r["trajectory"]["order"])))
    part = {"benchmark": bench, "rows": []}
    out = part["rows"]
    for m in methods:
        _, row = _row("4", m, "none")
        for seed in seeds:
            key = (m, seed, tuple(sorted(row["params"].items())), periods)
            if key in done:
                out.append(done[key])
                continue
            with record_returns(modules[m], "train") as seen:
                res = evaluate_config(m, "none", "4", row["params"], seed, budget)
            agent, _ = seen[-1]
            sim = simulate(S.system, FunctionPolicy(lambda st: agent.act(obs_fn(st))),
                           S.data.test, on_hand=S.on_hand)
            # the order's response to the stock, at the states the policy visits
            x = sim.start_on_hand - sim.order        # stock before the order, L = 0
            slopes = []
            for t in range(0, S.T, max(S.T // 8, 1)):
                o = np.column_stack([x[:, t], sig])
                o2 = o.copy()
                o2[:, 0] += 10.0
                slopes.append(np.mean(agent.act(o2) - agent.act(o)) / 10.0)
            excess = sim.start_on_hand - target[:, None]   # after the order, vs optimal
            out.append({
                "method": m, "seed": seed, "params": row["params"],
                "val": res["val"], "test": res["test"], "gap": res["test"] / bench - 1,
                "first_order": float(sim.order[:, 0].mean()),
                "later_order": float(sim.order[:, 1:].mean()),
                "target": float(target.mean()),
                "mean_end_stock": float(sim.end_inventory.mean()),
                "optimal_end_stock": float((target[:, None] - sim.demand).mean()),
                "excess_stock": float(excess.mean()),
                # each test row's own excess after the first period: a level learned wrong
                # per SKU shows here, and its cost is that of a base stock at that level
                "row_excess": np.round(excess[:, 1:].mean(axis=1), 3).tolist(),
                "slope": float(np.mean(slopes)),
                "trajectory": {k: np.round(getattr(sim, k)[0, :periods], 1).tolist()
                               for k in ("order", "demand", "end_inventory")},
                "trajectory_target": float(target[0])})
            r = out[-1]
            print(f"{m} None, setting 4, seed {seed}: test {r['test']:.3f} ({r['gap']:+.0%});"
                  f" first order {r['first_order']:.0f}, then {r['later_order']:.0f};"
                  f" slope {r['slope']:+.2f}", flush=True)
            if progress is not None:
                progress(part)
    return part


def run(budget="full", out="paper_diagnoses", *, write=False, force=False):
    """Both diagnoses at ``budget`` (see :data:`PLANS`); writes ``<out>.json`` (``None``:
    nothing; the committed file with ``write=True`` at ``budget="full"``, else
    ``results_tmp/``; ``force``: replace a file of another budget, or start afresh).

    Resumable: the file is written after every run (re-trained configuration and seed), with
    ``complete`` false until the last; an interrupted file started again with the same budget
    keeps the runs it holds (of the same tuned configurations), in the order of an
    uninterrupted run. A finished file is replaced by a new run."""
    path, old = target(budget, out, write=write, force=force)
    plan = PLANS[budget]
    old = store.interrupted(old, force) or {}
    t0 = time.process_time()
    parts = {"ds_lr": None, "s4_none": None}
    lists = (("ds_lr", "runs"), ("s4_none", "rows"))
    old_runs = {id(r) for k, key in lists for r in (old.get(k) or {}).get(key) or []}

    def save(complete):
        # the CPU time of the earlier sessions counts when their runs are kept
        kept = any(id(r) in old_runs for k, key in lists
                   for r in (parts[k] or {}).get(key) or [])
        data = {"budget": budget, "train_budget": plan["train"],
                **{k: v for k, v in parts.items() if v is not None},
                "command": f"python -m lab paper-diagnose --budget "
                           f"{budget}",
                "complete": complete,
                "cpu_seconds": (float(old.get("cpu_seconds") or 0.0) if kept else 0.0)
                + time.process_time() - t0}
        if path is not None:
            store.write_json(path, data)
        return data

    def progress(name):
        def update(part):
            parts[name] = part
            save(False)
        return update

    if old_runs:
        print(f"resuming {store.describe(path)}: {len(old_runs)} runs in the file (kept "
              "where their configuration is this run's)", flush=True)
    parts["ds_lr"] = ds_lr_curves(plan["ds_seeds"], budget=plan["train"],
                                  previous=old.get("ds_lr"), progress=progress("ds_lr"))
    parts["s4_none"] = s4_none_replay(plan["rl_methods"], plan["rl_seeds"],
                                      budget=plan["train"], previous=old.get("s4_none"),
                                      progress=progress("s4_none"))
    data = save(True)
    if path is not None:
        print(store.report(path), flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab paper-diagnose")
    p.add_argument("--budget", choices=sorted(PLANS), default="full")
    store.add_output_options(p, "paper_diagnoses.json")
    a = p.parse_args(argv)
    out, write = store.output_request(a)
    kw = dict(out=out or "paper_diagnoses", write=write, force=a.force)
    store.check_then_run(p, lambda: target(a.budget, **kw), lambda: run(a.budget, **kw))


if __name__ == "__main__":
    main()
