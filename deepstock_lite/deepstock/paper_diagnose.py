"""Diagnoses of the anomalies in the paper-reproduction results (Chapter 10).

    python -m deepstock_lite.deepstock.paper_diagnose [--budget tiny|full] [--write]

Reads the tuned configurations from ``paper_setting<k>.json`` and re-runs them exactly as the
sweep does (:func:`~deepstock_lite.deepstock.tuning.evaluate_config`), keeping what the sweep
throws away; writes ``paper_diagnoses.json`` (into ``data/results/``, the file the chapter
loads, only at ``--budget full`` with ``--write``; else into ``results_tmp/``, or ``--out``):

* ``ds_lr``: DS + Base on Setting 1, the tuned configuration, the configuration an earlier
  6-trial study chose (:data:`SIX_TRIAL_PARAMS`) and the same at :data:`LOW_LR`, several
  seeds: the validation loss of every epoch, the epoch of the kept (best
  validation) model, and the test loss. Shows where a run at a large learning rate sticks.
* ``s4_none``: DDPG and distributional SAC with None decoding on Setting 4, the tuned
  configuration re-trained, then replayed on the test trajectories: the orders and stock of
  the first periods, and the order's response to the stock (a base-stock policy has slope −1;
  a policy that ignores its stock keeps any early excess forever under backlog).

``--budget full`` (the sweep's "small" training budget) takes about ten minutes on one core;
``--budget tiny`` is a smoke test.
"""
from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np

from ..core import results_store as store
from ..core.policies import FunctionPolicy
from ..core.simulator import simulate
from . import experiments
from .tuning import evaluate_config, make_setting

__all__ = ["PLANS", "capture", "ds_lr_curves", "s4_none_replay", "run"]

#: per budget: the sweep's training budget, DS seeds and learning rates, RL seeds
PLANS = {
    "tiny": dict(train="tiny", ds_seeds=(0,), rl_seeds=(0,), rl_methods=("ddpg",)),
    "full": dict(train="small", ds_seeds=(0, 1, 2, 3), rl_seeds=(0, 1),
                 rl_methods=("ddpg", "dsac")),
}
LOW_LR = 3e-3
#: the configuration an earlier, 6-trial study of Setting 1 chose for DS + Base (every trial
#: trained on seed 0; re-run on 2 seeds it scored 0.917 and 1.545): kept as the example of a
#: configuration chosen on one lucky seed
SIX_TRIAL_PARAMS = {"lr": 0.025860397069785688, "batch_size": 10, "width": 128,
                    "initial_bias": 0.42894453051982107}


@contextlib.contextmanager
def capture(module, name):
    """Record what ``module.name`` returns while the block runs (the sweep's code keeps only
    the losses; this keeps the trained object too)."""
    original, seen = getattr(module, name), []

    def wrapped(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out)
        return out

    setattr(module, name, wrapped)
    try:
        yield seen
    finally:
        setattr(module, name, original)


def _row(key, method, reg):
    data = experiments.load_results(f"paper_setting{key}")
    try:
        row = next(r for r in data["rows"] if r["method"] == method and r["reg"] == reg)
    except (KeyError, TypeError, StopIteration):
        raise store.ResultsError(
            f"{store.describe(experiments.results_path(f'paper_setting{key}'))} has no "
            f"{method} + {reg} row; regenerate it with deepstock_lite.deepstock.paper") from None
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


def ds_lr_curves(seeds=(0, 1, 2, 3), budget="small"):
    """DS + Base on Setting 1: the tuned configuration, the configuration of an earlier
    6-trial study (:data:`SIX_TRIAL_PARAMS`) and the same at :data:`LOW_LR`, each with every
    seed; each run is labelled by its ``config`` (``"tuned"``, ``"six_trial"``, ``"low_lr"``)."""
    from . import ds
    data, row = _row("1", "ds", "base")
    bench = data["benchmark"]
    configs = (("tuned", row["params"]), ("six_trial", SIX_TRIAL_PARAMS),
               ("low_lr", {**SIX_TRIAL_PARAMS, "lr": LOW_LR}))
    runs = []
    for label, params in configs:
        for seed in seeds:
            with capture(ds, "train_ds") as seen:
                out = evaluate_config("ds", "base", "1", params, seed, budget)
            res = seen[-1]
            runs.append({"config": label, "params": dict(params), "lr": params["lr"],
                         "seed": seed,
                         "val_curve": [round(h["val"], 4) for h in res.history],
                         "train_curve": [round(h["train"], 4) for h in res.history],
                         "best_epoch": res.best_epoch, "epochs_run": len(res.history),
                         "val": out["val"], "test": out["test"],
                         "gap": out["test"] / bench - 1})
            print(f"DS + Base, setting 1, {label} (lr {params['lr']:.4f}), seed {seed}: kept "
                  f"epoch {res.best_epoch} of {len(res.history)}, test {out['test']:.4f} "
                  f"({runs[-1]['gap']:+.1%})", flush=True)
    return {"params": row["params"], "tuned_lr": row["params"]["lr"], "benchmark": bench,
            "six_trial_params": SIX_TRIAL_PARAMS, "sweep_rerun_test": row["rerun_test"],
            "runs": runs}


def s4_none_replay(methods=("ddpg", "dsac"), seeds=(0, 1), budget="small", periods=16):
    """Re-train the tuned None configurations on Setting 4 and replay them on test."""
    from ..rl import ddpg, dsac
    modules = {"ddpg": ddpg, "dsac": dsac}
    data, _ = _row("4", "ddpg", "none")
    bench = data["benchmark"]
    S = make_setting("4")
    z = 1.2815515655446004
    sig = S.data.info["test_sigma"]
    target = 100 + z * sig                          # the optimal order-up-to level per row
    obs_fn = S.observation_fn("test")
    out = []
    for m in methods:
        _, row = _row("4", m, "none")
        for seed in seeds:
            with capture(modules[m], "train") as seen:
                res = evaluate_config(m, "none", "4", row["params"], seed, budget)
            agent = seen[-1][0]
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
                "slope": float(np.mean(slopes)),
                "trajectory": {k: np.round(getattr(sim, k)[0, :periods], 1).tolist()
                               for k in ("order", "demand", "end_inventory")},
                "trajectory_target": float(target[0])})
            r = out[-1]
            print(f"{m} None, setting 4, seed {seed}: test {r['test']:.3f} ({r['gap']:+.0%});"
                  f" first order {r['first_order']:.0f}, then {r['later_order']:.0f};"
                  f" slope {r['slope']:+.2f}", flush=True)
    return {"benchmark": bench, "rows": out}


def run(budget="full", out="paper_diagnoses", *, write=False, force=False):
    """Both diagnoses at ``budget`` (see :data:`PLANS`); writes ``<out>.json`` (``None``:
    nothing; the committed file with ``write=True`` at ``budget="full"``, else
    ``results_tmp/``; ``force``: replace a file of another budget)."""
    path, _ = target(budget, out, write=write, force=force)
    plan = PLANS[budget]
    t0 = time.process_time()
    data = {"budget": budget, "train_budget": plan["train"],
            "ds_lr": ds_lr_curves(plan["ds_seeds"], budget=plan["train"]),
            "s4_none": s4_none_replay(plan["rl_methods"], plan["rl_seeds"],
                                      budget=plan["train"]),
            "command": f"python -m deepstock_lite.deepstock.paper_diagnose --budget {budget}"}
    data["cpu_seconds"] = time.process_time() - t0
    if path is not None:
        store.write_json(path, data)
        print(store.report(path), flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m deepstock_lite.deepstock.paper_diagnose")
    p.add_argument("--budget", choices=sorted(PLANS), default="full")
    experiments.add_output_options(p, "paper_diagnoses.json")
    a = p.parse_args(argv)
    out, write = experiments.output_request(a)
    kw = dict(out=out or "paper_diagnoses", write=write, force=a.force)
    try:
        target(a.budget, **kw)
    except store.ResultsError as e:
        p.error(str(e))
    import torch
    torch.set_num_threads(1)
    run(a.budget, **kw)


if __name__ == "__main__":
    main()
