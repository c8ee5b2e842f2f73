"""A tuned simple heuristic beside the learned methods on the paper's four settings, and a test
of why the learned methods fail on Setting 3.

Chapter 10 compares DS, DDPG, PPO and distributional SAC (None and Base decodings) on the four
synthetic settings. This script puts a simple parametric rule beside them and runs the
experiments of the chapter's Setting 3 diagnosis:

* ``heuristic/<setting>/<data seed>``: the order-up-to rules of
  :mod:`deepstock_lite.paper.heuristics` (a constant base stock, and
  ``a + k x signal`` with the setting's feature as the signal), fitted on the **training**
  paths, the family chosen on the **validation** paths, scored on the **test** paths, each
  with the setting's own loss on the same paths as the learned methods; for the book's data
  (data seed 0; Setting 1: 42) and four other draws of each setting's data. Each row also keeps
  the rule chosen on validation alone and the best rule of the grid on the test paths.
* ``other_val/<data seed>``: Setting 3's ``yesterday`` rule chosen on the validation paths of
  *another* draw of the data (same generator, same size: 5 paths) and scored on the book's test
  paths: does a representative validation set of the same size select well?
* ``ds/<reg>/<validation>/<seed>``: DS on Setting 3 with the sweep's tuned configuration
  (``paper_setting3.json``), trained exactly as the sweep trains it, with the sweep's
  validation paths (``sweep``: it reproduces the sweep's re-runs), with the training and
  validation paths pooled as the validation set (``pooled``), and with the validation paths of
  other data draws (``draw<s>``); every run keeps the epoch early stopping kept and every
  epoch's validation loss.

    python benchmarks/paper_heuristics.py --budget full --write   # ~6 CPU-minutes
    python benchmarks/paper_heuristics.py --budget tiny            # seconds, results_tmp/

Finished parts are kept in the results file as soon as they end, so a killed run resumes.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

from deepstock_lite.core import results_store as store

NAME = "paper_heuristics"
#: the book's data seed of each setting (Setting 1's floors are the authors', seed 42)
BOOK_SEED = {"1": 42, "2": 0, "3": 0, "4": 0}
BUDGETS = {
    "full": dict(resolution="fine", extra_seeds=4, other_val=tuple(range(1, 51)),
                 ds_train="small", ds_seeds=(0, 1, 2), ds_regs=("base", "none"),
                 ds_draws=(1, 2, 3, 4, 5)),
    "tiny": dict(resolution="coarse", extra_seeds=1, other_val=(1, 2), ds_train="tiny",
                 ds_seeds=(0,), ds_regs=("base",), ds_draws=(1,)),
}


def data_seeds(key, budget):
    """The book's data seed of Setting ``key`` and the budget's extra draws after it."""
    s0 = BOOK_SEED[key]
    return [s0 + i for i in range(BUDGETS[budget]["extra_seeds"] + 1)]


def make(key, seed):
    """Setting ``key`` on data seed ``seed`` (reading "total", the sweep's)."""
    from deepstock_lite.paper.settings import setting1, setting2, setting3, setting4
    return {"1": setting1, "2": setting2, "3": setting3, "4": setting4}[key](seed=seed)


def _benchmark(key, S):
    """The setting's benchmark where it is cheap (Setting 1's empirical DP, Setting 4's
    closed-form base stock); ``None`` for Settings 2-3 (DS trained on the test paths)."""
    if key == "1":
        from deepstock_lite.classical import solve_setting1_dp
        return float(solve_setting1_dp(S.data.train).loss(S.data.test))
    if key == "4":
        from deepstock_lite.core.policies import BaseStock
        return float(S.evaluate(BaseStock(100 + 1.2815515655446004 *
                                          S.data.info["test_sigma"])))
    return None


def heuristic_row(key, seed, budget):
    from deepstock_lite.paper.heuristics import tune
    S = make(key, seed)
    t = time.process_time()
    out = tune(S, key, BUDGETS[budget]["resolution"])
    return {"setting": key, "data_seed": seed, **out,
            "mean_demand": {sp: float(S.demand(sp).mean()) for sp in ("train", "val", "test")},
            "benchmark": _benchmark(key, S), "cpu_s": round(time.process_time() - t, 2)}


def other_val_row(seed, budget):
    """Setting 3's ``yesterday`` rule chosen on the validation paths of data seed ``seed``,
    scored on the book's test paths (data seed 0)."""
    from deepstock_lite.paper.heuristics import default_grid, rule_costs
    book, other = make("3", 0), make("3", seed)
    S = dataclasses.replace(book, data=dataclasses.replace(book.data, val=other.data.val))
    a, k = default_grid("3", "yesterday", BUDGETS[budget]["resolution"])
    val = rule_costs(S, "val", "yesterday", a, k).mean(0)
    test = rule_costs(S, "test", "yesterday", a, k).mean(0)
    g = int(np.argmin(val))
    return {"data_seed": seed, "val_mean_demand": float(S.data.val.mean()),
            "a": float(a[g]), "k": float(k[g]), "val": float(val[g]), "test": float(test[g]),
            "oracle_test": float(test.min())}


def _validation_paths(which):
    """Setting 3's validation paths for a DS run: ``sweep``, ``pooled`` or ``draw<s>``."""
    book = make("3", 0)
    if which == "sweep":
        return book.data.val
    if which == "pooled":
        return np.concatenate([book.data.train, book.data.val])
    return make("3", int(which[4:])).data.val


def ds_row(reg, which, seed, budget):
    """DS on Setting 3 with the sweep's tuned configuration for ``reg``, trained as the sweep
    trains it, early-stopped on the validation paths ``which``."""
    import torch

    from deepstock_lite.paper import differentiable_simulator as ds, tuning
    from deepstock_lite.core.results_store import load_results
    from deepstock_lite.core.record_returns import record_returns
    torch.set_num_threads(1)
    sweep = load_results("paper_setting3")
    row = next(r for r in sweep["rows"] if r["method"] == "ds" and r["reg"] == reg)
    book = make("3", 0)
    S = dataclasses.replace(book, data=dataclasses.replace(book.data,
                                                           val=_validation_paths(which)))
    t = time.process_time()
    with record_returns(ds, "train_ds") as seen:
        out = tuning._ds_run(row["params"], S, reg, seed, BUDGETS[budget]["ds_train"])
    res = seen[-1]
    first = res.history[0] if res.history else {"val": np.nan, "train": np.nan}
    return {"reg": reg, "validation": which, "seed": seed, "params": row["params"],
            "val_mean_demand": float(S.data.val.mean()), "val": float(out["val"]),
            "test": float(out["test"]), "best_epoch": int(res.best_step),
            "epochs_run": len(res.history), "first_epoch_val": float(first["val"]),
            "val_curve": [round(float(h["val"]), 4) for h in res.history],
            "train_curve": [round(float(h["train"]), 4) for h in res.history],
            "cpu_s": round(time.process_time() - t, 2)}


def todo(budget):
    """Every part of the study at ``budget``: ``(key, function, args)``."""
    b = BUDGETS[budget]
    parts = [(f"heuristic/{k}/{s}", heuristic_row, (k, s, budget))
             for k in "1234" for s in data_seeds(k, budget)]
    parts += [(f"other_val/{s}", other_val_row, (s, budget)) for s in b["other_val"]]
    vals = ["sweep", "pooled"] + [f"draw{s}" for s in b["ds_draws"]]
    parts += [(f"ds/{reg}/{v}/{seed}", ds_row, (reg, v, seed, budget))
              for reg in b["ds_regs"] for v in vals for seed in b["ds_seeds"]]
    return parts


def _meta(budget):
    from deepstock_lite.paper.heuristics import FAMILIES, SETTING_FAMILIES
    b = BUDGETS[budget]
    return {"experiment": NAME, "budget": budget, "resolution": b["resolution"],
            "families": FAMILIES,
            "setting_families": {k: list(v) for k, v in SETTING_FAMILIES.items()},
            "book_seed": BOOK_SEED, "ds_train_budget": b["ds_train"],
            "command": f"python benchmarks/paper_heuristics.py --budget {budget}"
                       + (" --write" if budget == "full" else "")}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    store.add_output_options(p, f"{NAME}.json")
    args = p.parse_args(argv)
    budget = args.budget
    path, old = store.prepare_from_args(p, args, NAME, {"experiment": NAME, "budget": budget})
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = old or {"meta": _meta(budget), "runs": {}}
    left = [t for t in todo(budget) if t[0] not in data["runs"]]
    for key, fn, fargs in left:
        data["runs"][key] = fn(*fargs)
        store.write_json(path, data)
        r = data["runs"][key]
        print(f"{key:24} test {r['test']:.4f}" + (f"  kept epoch {r['best_epoch'] + 1}"
                                                  if "best_epoch" in r else ""), flush=True)
    if not left:
        store.write_json(path, data)
    print(store.report(path), file=sys.stderr)
    return data


if __name__ == "__main__":
    main()
