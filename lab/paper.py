"""The paper's synthetic experiments (Xie et al. 2026) at a budget a laptop can afford.

    python -m lab paper --settings 1 2 3 4 --trials 20 --seeds 3 --write

The settings and the claims tested are the paper's; the protocol details (the dynamics and
day structure of :mod:`deepstock_lite.paper.settings`, the search spaces and the
tuning shape of random start-up trials, then TPE, then re-runs over seeds) follow the authors'
released code for the synthetic experiments, run by us, not the paper's text, scaled down to
our budget.

For each setting, each method (DS, DDPG, PPO, distributional SAC) and each decoding (None,
Base): an Optuna study of ``trials`` trials (half random start-up, then TPE) on the validation
loss, every trial's validation and test loss, the best-so-far curve, and the best configuration
re-run with ``seeds`` seeds; every test loss is reported relative to the setting's benchmark.
DDPG's studies are named after its reward rule (:func:`study_name`); a DDPG row also carries,
as ``earlier``, the same pair tuned and re-run with the book's earlier DDPG when the storage
holds that study (:func:`earlier_ddpg`), and a DDPG or dist. SAC row of Setting 4, as
``before_warmup_cap``, the pair tuned when the off-policy warm-up filled that setting's budget
(:func:`before_warmup_cap`). The benchmarks:

* Setting 1: the exact DP on the empirical per-day demand laws of the training trajectories;
* Settings 2–3: DS trained *on the test trajectories themselves* (an in-sample bound);
* Setting 4: the critical-fractile base stock ``μ + 1.282σ`` per SKU (and its empirical version).

``python -m lab paper --overfit`` runs the DS-overfitting study of Setting
4 (test gap against the number of training trajectories N and the horizon H; its file is
written after every (N, H) cell, and a killed run started again skips the cells it holds).
Results are JSON
files: ``paper_setting<k>.json`` and ``paper_ds_overfit.json`` in ``deepstock_lite/data/results/``
with ``--write`` (the committed files the chapter loads; only the sweep's ``small`` or
``full`` budget may write them, and a file of another budget, setting or reading is replaced
only with ``--force``), else in ``results_tmp/`` (or ``--out``). Every trial and every re-run
is stored in the Optuna storage ``studies/paper_s<setting>.db``, or ``--storage URL`` (re-runs
as study attributes), so an interrupted sweep
started again with the same command resumes where it stopped; the results file of a setting is
written once all its studies are complete. Settings 2–3 use the ``--reading`` of the paper's
trajectory counts (``deepstock_lite.paper.settings.READINGS``; default ``total``: 10 + 10
and 5 + 5).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import stats

from deepstock_lite.core import results_store as store
from deepstock_lite.core.policies import BaseStock
from deepstock_lite.core.validation import check_choice, check_int, check_names, check_seeds
from deepstock_lite.paper.differentiable_simulator import DSConfig, train_ds
from deepstock_lite.core.results_store import add_output_options, output_request
from deepstock_lite.core.results_store import finished_units, interrupted
from deepstock_lite.core.decoding import Regularization
from deepstock_lite.paper.settings import setting1, setting2, setting3, setting4
from deepstock_lite.paper.analysis import METHODS
from deepstock_lite.paper.settings import READINGS
from .budgets import PAPER_COMMITTING as COMMITTING
from deepstock_lite.paper.tuning import (best_so_far, evaluate_config, make_setting, run_study,
                                             trial_table)

__all__ = ["benchmark", "run_setting", "ds_overfit", "trial_costs", "trial_seconds",
           "study_name", "earlier_ddpg", "before_warmup_cap", "stored_result"]

SETTINGS = {"1": setting1, "2": setting2, "3": setting3, "4": setting4}
REGS = ("none", "base")
OVERFIT_EXPERIMENT = "DS overfitting on Setting 4"


def _ds_policy_loss(S, res, split="test"):
    return S.evaluate_on_observations(res.policy.act_numpy, split)


def benchmark(key, reading="total", data_seed=None):
    """The setting's benchmark test loss (see the module docstring) and how it was obtained,
    on the draw ``data_seed`` of its data (``None``: the sweep's, :func:`.tuning.make_setting`)."""
    S = make_setting(key, reading, data_seed)
    if key == "1":
        from deepstock_lite.classical import solve_setting1_dp
        dp = solve_setting1_dp(S.data.train)
        return {"benchmark": float(dp.loss(S.data.test)), "kind": "empirical DP"}
    if key in ("2", "3"):
        best = np.inf
        for kind in REGS:   # in-sample: train and select on the test trajectories
            res = train_ds(S.system, Regularization(kind, L=S.system.L, a_max=S.q_max),
                           S.data.test, S.data.test, n_history=S.n_history,
                           cost_start=S.cost_start,
                           config=DSConfig(epochs=400, batch_size=20, lr=1e-2, patience=100,
                                           lr_patience=20, initial_bias=0.3))
            best = min(best, _ds_policy_loss(S, res))
        return {"benchmark": float(best), "kind": "DS trained on the test trajectories"}
    z = stats.norm.ppf(0.9)
    sig = S.data.info["test_sigma"]
    true = S.evaluate(BaseStock(100 + z * sig))
    # empirical: each SKU's 90th percentile of its training demands
    sku_tr, sku_te = S.data.info["train_sku"], S.data.info["test_sku"]
    levels = np.array([np.quantile(S.data.train[sku_tr == k], 0.9, method="inverted_cdf")
                       for k in range(sku_te.max() + 1)])
    emp = S.evaluate(BaseStock(levels[sku_te]))
    return {"benchmark": float(true), "kind": "critical-fractile base stock mu + 1.282 sigma",
            "empirical_quantile": float(emp)}


def _storage(key):
    from pathlib import Path
    Path("studies").mkdir(exist_ok=True)
    return f"sqlite:///studies/paper_s{key}.db"


def trial_seconds(trial):
    """The compute of a finished trial: its recorded CPU seconds, or its wall time for trials
    run before CPU time was recorded."""
    return trial.user_attrs.get(
        "cpu_seconds", (trial.datetime_complete - trial.datetime_start).total_seconds())


def trial_costs(study):
    """``(failed, interrupted, seconds)`` of a study: trials that failed by themselves
    (diverged or non-finite), trials cut short by a stopped process (marked failed on resume
    and re-run with the same parameters: they do not count as failures), and the compute of
    the trials that ran to their end or failed by themselves (:func:`trial_seconds`)."""
    import optuna

    retried = {t.system_attrs.get("failed_trial") for t in study.trials} - {None}
    failed, seconds = 0, 0.0
    for t in study.trials:
        if t.number in retried or t.datetime_complete is None:
            continue
        failed += t.state == optuna.trial.TrialState.FAIL
        seconds += trial_seconds(t)
    return failed, len(retried), seconds


def _rerun(study, method, reg, key, params, seed, budget, reading):
    """The best configuration re-run with ``seed``, cached in the study (resumable)."""
    name = f"rerun_{seed}_{study.best_trial.number}"
    if name not in study.user_attrs:
        t0 = time.process_time()
        r = evaluate_config(method, reg, key, params, seed, budget, reading=reading)
        study.set_user_attr(name, {"val": float(r["val"]), "test": float(r["test"]),
                                   "cpu_seconds": time.process_time() - t0})
    return study.user_attrs[name]


def retuned_after_warmup_cap(method, key):
    """Whether the pair's studies were tuned again after the off-policy warm-up was capped
    (:func:`~deepstock_lite.paper.tuning.warmup_and_eval`): DDPG and dist. SAC on
    Setting 4, the one setting whose warm-up had filled the whole budget."""
    return key == "4" and method in ("ddpg", "dsac")


def study_name(method, reg, key, budget, reading="total"):
    """The Optuna study of one (method, decoding) pair of Setting ``key``. A DDPG study's name
    ends with DDPG's reward rule (:class:`~deepstock_lite.rl.ddpg.DDPGConfig`'s
    ``reward_norm``): a change of that default starts new studies, and the studies tuned with
    the earlier rule stay in the storage under the name without it (:func:`earlier_ddpg`)."""
    name = f"paper-{method}-{reg}-s{key}-{budget}" + ("" if key in ("1", "4")
                                                      else f"-{reading}")
    if method == "ddpg":
        from deepstock_lite.rl.ddpg import DDPGConfig
        name += f"-{DDPGConfig().reward_norm}"
    if retuned_after_warmup_cap(method, key):
        # the studies tuned before the cap keep the name without this suffix
        name += "-warmup"
    return name


def stored_result(storage, name, seeds):
    """The best configuration of study ``name`` and its re-runs with ``seeds``, read from
    ``storage`` (nothing trains): ``{"params", "rerun_test", "test"}``, or ``None`` when the
    storage lacks the study or one of the re-runs."""
    import optuna

    if name not in {s.study_name for s in optuna.get_all_study_summaries(storage)}:
        return None
    study = optuna.load_study(study_name=name, storage=storage)
    best = study.best_trial
    reruns = [study.user_attrs.get(f"rerun_{seed}_{best.number}") for seed in seeds]
    if any(r is None for r in reruns):
        return None
    test = [float(r["test"]) for r in reruns]
    return {"params": best.params, "rerun_test": test, "test": float(np.mean(test))}


def earlier_ddpg(storage, reg, key, budget, seeds, reading="total"):
    """DDPG's result for one pair under the book's earlier DDPG (rewards centred,
    ``ddpg.EARLIER_DEFAULTS``), read from its study (:func:`stored_result`):
    ``{"reward_norm", "params", "rerun_test", "test"}``, or ``None``."""
    from deepstock_lite.rl.ddpg import EARLIER_DEFAULTS, DDPGConfig

    if retuned_after_warmup_cap("ddpg", key):
        # the earlier DDPG's studies of this setting were tuned before the warm-up cap,
        # under another protocol: none is comparable
        return None
    name = study_name("ddpg", reg, key, budget, reading).removesuffix(
        f"-{DDPGConfig().reward_norm}")
    found = stored_result(storage, name, seeds)
    return found and {"reward_norm": EARLIER_DEFAULTS["reward_norm"], **found}


def before_warmup_cap(storage, method, reg, key, budget, seeds, reading="total"):
    """An off-policy pair of Setting 4 as tuned and re-run before the warm-up cap, when the
    warm-up filled the whole budget (:func:`stored_result` of the study named without
    ``-warmup``), or ``None``: kept beside the re-tuned row so that the flaw's effect stays
    visible."""
    if not retuned_after_warmup_cap(method, key):
        return None
    name = study_name(method, reg, key, budget, reading).removesuffix("-warmup")
    return stored_result(storage, name, seeds)


def setting_target(key, out=None, *, budget="small", reading="total", write=False,
                   force=False):
    """``(path, old)`` of Setting ``key``'s results file, checked before anything trains
    (:func:`deepstock_lite.core.results_store.prepare`): ``out`` defaults to
    ``paper_setting<key>``, a plain name of the committed folder with ``write=True`` (budgets
    :data:`COMMITTING` only), else of ``results_tmp/``."""
    return store.prepare(out or f"paper_setting{key}", budget=budget, committing=COMMITTING,
                         identity={"setting": key, "budget": budget, "reading": reading},
                         write=write, force=force)


def run_setting(key, *, trials=20, seeds=(0, 1, 2), budget="small", methods=METHODS, regs=REGS,
                storage=None, out=None, reading="total", write=False, force=False):
    """Studies and re-runs for one setting; writes ``paper_setting<key>.json`` (``out``:
    another name or a path; ``False``: nothing; ``write`` and ``force`` as in
    :func:`setting_target`). Resumes from ``storage`` (default ``studies/paper_s<key>.db``):
    finished trials and re-runs are kept."""
    key = check_choice("key", str(key), set(SETTINGS))
    trials = check_int("trials", trials, low=2)
    seeds = check_seeds(seeds)
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {list(READINGS)}, got {reading!r}")
    check_choice("budget", budget, {"tiny", "small", "full"})
    methods = check_names("methods", methods, METHODS)
    regs = check_names("regs", regs, REGS)
    path = None
    if out is not False:
        path, _ = setting_target(key, out, budget=budget, reading=reading, write=write,
                                 force=force)
    storage = storage or _storage(key)
    bench = benchmark(key, reading)
    rows = []
    for method in methods:
        for reg in regs:
            t0 = time.perf_counter()
            name = study_name(method, reg, key, budget, reading)
            study = run_study(method, reg, key, trials, storage=storage, study_name=name,
                              n_startup_trials=max(trials // 2, 1), budget=budget,
                              reading=reading, total=True)
            curve = best_so_far(study)[:trials]
            best = study.best_trial
            reruns = [_rerun(study, method, reg, key, best.params, seed, budget, reading)
                      for seed in seeds]
            table = trial_table(study)[:trials]
            failed, interrupted, cpu = trial_costs(study)
            test = float(np.mean([r["test"] for r in reruns]))

            rows.append({"method": method, "reg": reg, "params": best.params,
                         "best_so_far_val": curve[:, 0].tolist(),
                         "best_so_far_test": curve[:, 1].tolist(),
                         "trials": table, "failed_trials": failed,
                         "interrupted_trials": interrupted,
                         "rerun_val": [r["val"] for r in reruns],
                         "rerun_test": [r["test"] for r in reruns], "test": test,
                         "gap": test / bench["benchmark"] - 1,
                         "seconds": cpu + sum(r["cpu_seconds"] for r in reruns),
                         "wall_seconds_this_run": time.perf_counter() - t0})
            if method == "ddpg":   # the same pair under the earlier DDPG, for comparison
                rows[-1]["earlier"] = earlier_ddpg(storage, reg, key, budget, seeds, reading)
            if retuned_after_warmup_cap(method, key):   # the result before the cap
                rows[-1]["before_warmup_cap"] = before_warmup_cap(storage, method, reg, key,
                                                                  budget, seeds, reading)
            print(f"setting {key} {method:>4} + {reg:<4}: test {test:.4f} "
                  f"({rows[-1]['gap']:+.1%} vs {bench['kind']}), "
                  f"{rows[-1]['seconds']:.0f} s of compute", flush=True)
    cmd = (f"python -m lab paper --settings {key} --trials {trials} "
           f"--seeds {len(seeds)} --budget {budget}")
    data = {"setting": key, "name": make_setting(key, reading).name, "budget": budget,
            "trials": trials, "seeds": list(seeds), "reading": reading, **bench, "rows": rows,
            "command": cmd + ("" if reading == "total" else f" --reading {reading}")}
    if path is not None:
        store.write_json(path, data)
        print(store.report(path), flush=True)
    return data


def overfit_target(out="paper_ds_overfit", *, write=False, force=False):
    """``(path, old)`` of the overfitting study's results file (as :func:`setting_target`)."""
    return store.prepare(out, budget="full", identity={"experiment": OVERFIT_EXPERIMENT},
                         write=write, force=force)


def ds_overfit(ns=(5, 10, 20), horizons=(2, 4, 8, 16, 32, 64), seeds=(0, 1), epochs=300,
               out="paper_ds_overfit", *, write=False, force=False):
    """Setting 4: DS (Base) test and validation gaps against N and H; writes ``<out>.json``
    (``None``: nothing; the committed file with ``write=True``, else ``results_tmp/``).

    Resumable: the file is written after every (N, H) cell (all its seeds), with
    ``complete`` false until the last; an interrupted file of the same ``epochs`` started
    again keeps the cells it holds (``force``: start afresh), and the rows come in the order
    of an uninterrupted run. A finished file is replaced by a new run."""
    epochs = check_int("epochs", epochs, low=1)
    path, old = (None, None) if not out else overfit_target(out, write=write, force=force)
    old = interrupted(old, force)
    plan = [(N, H, seed) for N in ns for H in horizons for seed in seeds]
    # files written before ``epochs`` was recorded are the default study's (300 epochs)
    done = {k: r for k, r in finished_units(
                old, lambda r: (r["N"], r["H"], r["seed"]),
                same=lambda o: o.get("epochs", 300) == epochs).items() if k in plan}
    rows = dict(done)
    data = {"experiment": OVERFIT_EXPERIMENT, "rows": [], "epochs": epochs,
            "command": "python -m lab paper --overfit", "complete": False}

    def save(complete):
        data["rows"] = [rows[k] for k in plan if k in rows]
        data["complete"] = complete
        if path is not None:
            store.write_json(path, data)

    if done:
        print(f"resuming {store.describe(path)}: {len(done)} of {len(plan)} runs done",
              flush=True)
    z = stats.norm.ppf(0.9)
    for N in ns:
        for H in horizons:
            if all((N, H, seed) in rows for seed in seeds):
                continue
            for seed in seeds:        # a cell's seeds are written together
                if (N, H, seed) in rows:
                    continue
                S = setting4(n_train=N, horizon=H, seed=seed)
                sig = S.data.info["test_sigma"]
                bench = S.evaluate(BaseStock(100 + z * sig))
                res = train_ds(S.system, Regularization("base", L=0, a_max=S.q_max),
                               S.data.train, S.data.val,
                               features={k: S.features[k] for k in ("train", "val")},
                               config=DSConfig(epochs=epochs, batch_size=max(N, 5), lr=1e-2,
                                               patience=max(epochs // 4, 1), lr_patience=20,
                                               initial_bias=0.5, seed=seed))
                test = _ds_policy_loss(S, res)
                val_bench = S.evaluate(BaseStock(100 + z * S.data.info["val_sigma"]), "val")
                row = {"N": N, "H": H, "seed": seed, "test": test, "benchmark": bench,
                       "gap": test / bench - 1, "val_gap": res.best_val / val_bench - 1}
                rows[N, H, seed] = row
                print(f"N={N:2d} H={H:2d} seed {seed}: test gap {row['gap']:+.1%}, "
                      f"validation gap {row['val_gap']:+.1%}", flush=True)
            save(False)
    save(True)
    if path is not None:
        print(store.report(path), flush=True)
    return data


def _is_folder(out):
    return out.endswith(("/", os.sep)) or os.path.isdir(out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab paper")
    p.add_argument("--settings", nargs="+", default=None, choices=list(SETTINGS),
                   help="default: 1 2 3 4")
    p.add_argument("--trials", type=store.int_at_least(2), default=None, help="default 20")
    p.add_argument("--seeds", type=store.int_at_least(1), default=None, help="default 3")
    p.add_argument("--budget", choices=("tiny", "small", "full"), default=None,
                   help="training budget of every trial (default small, the chapter's; tiny "
                        "is a smoke test)")
    p.add_argument("--reading", choices=READINGS, default=None, help="default total")
    p.add_argument("--methods", nargs="+", default=None, choices=METHODS,
                   help="default: " + " ".join(METHODS))
    p.add_argument("--storage", default=None,
                   help="an Optuna database URL for the studies and re-runs (default: "
                        "sqlite:///studies/paper_s<k>.db for setting k); one URL, e.g. a "
                        "PostgreSQL server that several machines share, holds every setting's")
    p.add_argument("--overfit", action="store_true",
                   help="the fixed overfitting study of Setting 4 instead of the sweep")
    add_output_options(p, "paper_setting<k>.json (paper_ds_overfit.json with --overfit)",
                       committing=("small", "full"))
    a = p.parse_args(argv)
    out, write = output_request(a)
    sweep = ("settings", "trials", "seeds", "budget", "reading", "methods", "storage")
    if a.overfit:
        given = [f"--{k}" for k in sweep if getattr(a, k) is not None]
        if given:
            p.error(f"--overfit runs a fixed study and takes no {', '.join(given)}")
        kw = dict(write=write, force=a.force)
        store.check_then_run(p, lambda: overfit_target(out or "paper_ds_overfit", **kw),
                             lambda: ds_overfit(out=out or "paper_ds_overfit", **kw))
        return
    if a.storage is not None and "://" not in a.storage:
        p.error(f"--storage must be a database URL such as sqlite:///studies/paper.db, got "
                f"{a.storage!r}")
    settings = a.settings or list(SETTINGS)
    budget, reading = a.budget or "small", a.reading or "total"
    outs = {k: None for k in settings}
    if out is not None and _is_folder(out):
        outs = {k: os.path.join(out, f"paper_setting{k}.json") for k in settings}
    elif out is not None:
        if len(settings) > 1:
            p.error(f"--out {out}: with several settings --out must be a folder (ending "
                    "in /); a name or a file is for one setting")
        outs = {settings[0]: out}

    def check():     # every setting's destination, before the first one trains
        for k in settings:
            setting_target(k, outs[k], budget=budget, reading=reading, write=write,
                           force=a.force)

    def sweep():
        for key in settings:
            t0 = time.perf_counter()
            run_setting(key, trials=a.trials or 20, seeds=tuple(range(a.seeds or 3)),
                        budget=budget, reading=reading,
                        methods=tuple(a.methods or METHODS), out=outs[key], write=write,
                        force=a.force, storage=a.storage)
            print(f"setting {key}: {time.perf_counter() - t0:.0f} s of wall time",
                  flush=True)

    store.check_then_run(p, check, sweep)


if __name__ == "__main__":
    main()
