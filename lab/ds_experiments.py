"""Long experiments as functions with a small-budget default and a script entry point that
writes a results file (JSON); chapters load the files from ``deepstock_lite/data/results/``.

    python -m lab zipkin-ds --budget full --write

trains DS (the differentiable simulator) with the None and Base decodings on all 16 cells of
Zipkin's lost-sales table and evaluates each trained policy *exactly* (relative value iteration
on the rounded policy, :func:`~deepstock_lite.classical.evaluate_policy_exact`).
It writes ``zipkin_ds.json`` after every trained policy (``complete`` false until the last);
killed and started again with the same budget, it skips the runs the file holds (``--force``
starts afresh; a finished file is replaced). The budgets (:data:`lab.budgets.ZIPKIN_DS`):
``full`` (512 training and 1 024 validation trajectories), ``small`` (128 and 256, the earlier
table), and Chapter 9's two controls, ``val1024`` (128 and 1 024) and ``epochs800`` (``small``
with four times the epochs and patiences: as many gradient steps as ``full``); each committing
budget writes its own file (``zipkin_ds_<budget>.json``, ``zipkin_ds.json`` for ``full``).

    python -m lab ds-surrogate --budget full --write

compares DS trained with the exact pathwise gradient against surrogate gradients of the kinks
(``DSConfig.surrogate``, :mod:`deepstock_lite.paper.differentiable_simulator`): on the
paper's Settings 1–4 with DS + Base at the best configuration of ``paper_setting<k>.json``,
evaluated as the lab's `paper` experiment evaluates it, and on four of Zipkin's lost-sales cells
with None and Base (at the ``medium`` budget: 64 training trajectories, 100 epochs),
every seed kept (three by default). It writes ``ds_surrogate.json`` after every run and
resumes from it (runs already in the file are skipped).

Where a run writes (:mod:`deepstock_lite.core.results_store`): only a ``--budget full`` run
with ``--write`` (or ``--out NAME``, a plain name) replaces a file of the committed folder;
any other run writes ``results_tmp/<name>.json`` (or ``--out PATH``) and says so. A file of
another budget or experiment is replaced only with ``--force``. ``--budget tiny`` is a smoke
test.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from deepstock_lite.classical import (DiscreteDemand, backorder_base_stock_level,
                                     best_capped_base_stock, evaluate_policy_exact,
                                     solve_lost_sales)
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.simulator import InventorySystem
from deepstock_lite.core import results_store as store
from deepstock_lite.core.validation import check_int, check_name, check_real, check_seeds
from deepstock_lite.paper.differentiable_simulator import DSConfig, config_dict, train_ds
from deepstock_lite.core.decoding import Regularization
from deepstock_lite.paper.settings import setting1, setting2, setting3, setting4
from deepstock_lite.paper.tuning import PARAM_KEYS

from .budgets import ZIPKIN_DS as _BUDGETS, ZIPKIN_DS_COMMITTING

__all__ = ["ZIPKIN_CELLS", "zipkin_ds_cell", "zipkin_ds_sweep", "parse_cells",
           "ds_setting_run", "ds_surrogate_study", "SURROGATE_CELLS"]

ZIPKIN_CELLS = [(L, b) for b in (4, 9, 19, 39) for L in (1, 2, 3, 4)]
ZIPKIN_EXPERIMENT = "DS on Zipkin's lost-sales cells"
SURROGATE_EXPERIMENT = "DS: exact against surrogate gradients"



def zipkin_ds_cell(L, b, *, reg="base", budget="full", seed=0, mean=5.0, h=1.0,
                   surrogate=None, leak=None):
    """Train DS on one lost-sales cell (Poisson demand) and return its exact cost and gap.

    ``surrogate``/``leak``: the backward pass of DS's kinks (default: :class:`DSConfig`'s)."""
    L = check_int("L", L, low=1, high=8)
    b = check_real("b", b, low=0.0, low_open=True)
    mean = check_real("mean", mean, low=0.0, high=50.0, low_open=True)
    h = check_real("h", h, low=0.0, low_open=True)
    seed = check_int("seed", seed, low=0)
    check_name("reg", reg, ("none", "base"))
    check_name("budget", budget, tuple(_BUDGETS))
    B = _BUDGETS[budget]
    system = InventorySystem(L=L, h=h, b=b, backlog=False)
    law = DiscreteDemand.poisson(mean)
    S_bo = backorder_base_stock_level(law, L=L, h=h, b=b)
    T = 100 + 10 * L
    train = Poisson(mean).sample(B["n_train"], T, seed=1000 + seed)
    val = Poisson(mean).sample(B["n_val"], T, seed=2000 + seed)
    # None outputs the order itself, Base a target position; both ranges contain the optimum
    decoder = Regularization(reg, L=L, a_max=float(S_bo) if reg == "none" else 2.0 * S_bo)
    grad = {k: v for k, v in (("surrogate", surrogate), ("leak", leak)) if v is not None}
    cfg = DSConfig(epochs=B["epochs"], batch_size=32, lr=3e-3, patience=B["patience"],
                   lr_patience=B.get("lr_patience", 10), initial_bias=0.3, seed=seed, **grad)
    t0 = time.perf_counter()
    res = train_ds(system, decoder, train, val, config=cfg, cost_start=10 * L + 10,
                   on_hand=S_bo / 2)
    seconds = time.perf_counter() - t0

    def rounded_policy(states):
        q = np.rint(res.policy.act_numpy(states.astype(np.float32)))
        return np.minimum(q, S_bo - states.sum(1))  # stay inside the exact evaluator's bound

    cost = float(evaluate_policy_exact(law, policy=rounded_policy, L=L, h=h, b=b).cost)
    opt = float(solve_lost_sales(law, L=L, h=h, b=b).cost)
    return {"L": L, "b": b, "reg": reg, "seed": seed, "gradient": cfg.surrogate,
            "optimal": opt, "ds_cost": cost,
            "gap": cost / opt - 1, "train_seconds": seconds, "epochs_run": len(res.history),
            "best_val": res.best_val, "config": config_dict(cfg)}


def _check_cells(cells):
    if isinstance(cells, (str, bytes)) or not hasattr(cells, "__iter__"):
        raise TypeError(f"cells must be a list of (L, b) pairs, got {type(cells).__name__}")
    cells = [tuple(c) if isinstance(c, (tuple, list)) else c for c in cells]
    bad = [c for c in cells if c not in ZIPKIN_CELLS]
    if bad or not cells:
        raise ValueError(f"cells must be a non-empty list of Zipkin's (L, b) cells "
                         f"{ZIPKIN_CELLS}, got {bad or cells}")
    return cells


def _target(out, budget, identity, write, force, committing=("full",)):
    """``(path, old)`` of a run's results file, checked before it trains
    (:func:`deepstock_lite.core.results_store.prepare`); ``(None, None)`` for ``out=None``."""
    if out is None:
        return None, None
    return store.prepare(out, budget=budget, identity=identity, write=write, force=force,
                         committing=committing)


def _zipkin_key(row):
    return (row["L"], row["b"], row["reg"], row["seed"])


def zipkin_ds_sweep(cells=None, regs=("base", "none"), budget="full", seeds=(0,),
                    out="zipkin_ds", *, write=False, force=False):
    """All cells × decodings × seeds; writes ``<out>.json`` and returns it. ``out=None``
    writes nothing. A plain name ``out`` is a file of the committed folder with ``write=True``
    (a budget of ``ZIPKIN_DS_COMMITTING`` only), else of ``results_tmp/``; a path is taken as
    given. ``force``: replace a file of another budget or experiment, or start afresh.

    Resumable: the file is written after every trained (cell, decoding, seed), with
    ``complete`` false until the last; an interrupted file started again with the same
    budget keeps the runs it holds (with this gradient) and runs the others, and the rows
    come in the order of an uninterrupted run (rows of cells, decodings or seeds this run does
    not ask for are dropped, as a new run's file would not hold them). A finished file is
    replaced by a new run."""
    cells = ZIPKIN_CELLS if cells is None else _check_cells(cells)
    if isinstance(regs, str) or not regs:
        raise TypeError(f"regs must be a non-empty sequence of decodings, got {regs!r}")
    regs = tuple(check_name("regs", r, ("none", "base")) for r in regs)
    check_name("budget", budget, tuple(_BUDGETS))
    seeds = check_seeds(seeds)
    path, old = _target(out, budget, {"experiment": ZIPKIN_EXPERIMENT, "budget": budget},
                        write, force, committing=tuple(ZIPKIN_DS_COMMITTING))
    old = store.interrupted(old, force)
    gradient = DSConfig().surrogate
    plan = [(L, b, reg, seed) for L, b in cells for reg in regs for seed in seeds]
    done = {k: r for k, r in store.finished_units(old, _zipkin_key).items()
            if k in plan and r.get("gradient", "exact") == gradient}
    rows = dict(done)
    data = {"experiment": ZIPKIN_EXPERIMENT, "budget": budget, "gradient": gradient,
            "command": _command(cells, regs, budget, seeds, out),
            "machine": platform.processor() or platform.machine(), "rows": [],
            "complete": False}

    def save(complete):
        data["rows"] = [rows[k] for k in plan if k in rows]
        data["complete"] = complete
        if path is not None:
            store.write_json(path, data)

    if done:
        print(f"resuming {store.describe(path)}: {len(done)} of {len(plan)} runs done",
              flush=True)
    capped = {}
    for L, b, reg, seed in plan:
        if (L, b, reg, seed) in rows:
            continue
        if (L, b) not in capped:
            capped[L, b] = float(best_capped_base_stock(DiscreteDemand.poisson(5.0), L=L,
                                                        h=1.0, b=b).cost)
        row = zipkin_ds_cell(L, b, reg=reg, budget=budget, seed=seed)
        row["capped_base_stock"] = capped[L, b]
        rows[L, b, reg, seed] = row
        save(False)
        print(f"L={L} b={b:>2} {reg:>4} seed {seed}: gap {row['gap']:+.2%} "
              f"({row['train_seconds']:.0f} s)", flush=True)
    save(True)
    if path is not None:
        print(store.report(path), flush=True)
    return data


# -- exact against surrogate gradients --------------------------------------------------------
SURROGATE_CELLS = [(2, 4), (4, 4), (1, 39), (4, 39)]   # short and long lead times, b low and high
GRADIENTS = ("exact", "leaky")


def ds_setting_run(key, params, seed=0, *, budget="small", surrogate="exact", leak=0.1,
                   reg="base"):
    """DS on paper Setting ``key`` with a tuned configuration ``params`` (lr, batch_size, width,
    initial_bias), trained and evaluated exactly as the paper's experiments do
    (:func:`deepstock_lite.paper.tuning.evaluate_config`), but with the chosen gradient.
    Returns ``{"val": …, "test": …, "epochs_run": …, "seconds": …}``."""
    settings = {"1": setting1, "2": setting2, "3": setting3, "4": setting4}
    key = check_name("key", str(key), tuple(settings))
    if not isinstance(params, dict) or not PARAM_KEYS["ds"] <= set(params):
        raise TypeError("params must be a dict with lr, batch_size, width and initial_bias")
    check_name("budget", budget, ("tiny", "small", "full"))
    check_name("reg", reg, ("none", "base"))
    seed = check_int("seed", seed, low=0)
    S = settings[key]()
    n_train = S.data.train.shape[0]
    steps = {"tiny": 0, "small": 1500, "full": 6000}[budget]   # as in tuning._ds_run
    epochs = 5 if budget == "tiny" else max(1, steps * params["batch_size"] // n_train)
    cfg = DSConfig(hidden=(params["width"],) * 2, lr=params["lr"],
                   batch_size=params["batch_size"], epochs=epochs,
                   patience=max(epochs // 5, 2), lr_patience=max(epochs // 30, 1),
                   initial_bias=params["initial_bias"], seed=seed, surrogate=surrogate,
                   leak=leak)
    feats = None if S.features is None else {k: S.features[k] for k in ("train", "val")}
    t0 = time.process_time()
    res = train_ds(S.system, Regularization(reg, L=S.system.L, a_max=S.q_max), S.data.train,
                   S.data.val, config=cfg, features=feats, n_history=S.n_history,
                   on_hand=S.on_hand, cost_start=S.cost_start)
    test = S.evaluate_on_observations(res.policy.act_numpy, "test")
    return {"val": float(res.best_val), "test": float(test), "epochs_run": len(res.history),
            "best_epoch": res.best_step, "cpu_seconds": time.process_time() - t0}


def _paper_best(key, reg):
    """The best DS configuration and benchmark recorded by the paper's experiments."""
    data = store.load_results(f"paper_setting{key}")
    try:
        row = next(r for r in data["rows"] if r["method"] == "ds" and r["reg"] == reg)
    except (KeyError, TypeError, StopIteration):
        path = store.results_path(f"paper_setting{key}")
        raise store.ResultsError(f"{store.describe(path)} has no DS + {reg} row; regenerate it "
                                 "with python -m lab paper") from None
    return {"params": row["params"], "budget": data["budget"],
            "benchmark": data["benchmark"], "paper_rerun_test": row["rerun_test"]}


def ds_surrogate_study(budget="full", seeds=(0, 1, 2), settings=("1", "2", "3", "4"),
                       cells=None, leak=0.1, out="ds_surrogate", *, write=False, force=False):
    """Exact against surrogate gradients, every seed kept; resumable (see module docstring).

    ``budget="tiny"`` trains for a few epochs only (a smoke test). Writes ``<out>.json``
    after every run (``out=None``: nothing written; ``out``, ``write`` and ``force`` as in
    :func:`zipkin_ds_sweep`); a file of the same budget and leak is resumed, and its seeds
    are kept with the new ones."""
    check_name("budget", budget, ("tiny", "full"))
    seeds = check_seeds(seeds)
    if isinstance(settings, str) or not hasattr(settings, "__iter__"):
        raise TypeError(f"settings must be a sequence of setting keys, got {settings!r}")
    settings = tuple(check_name("settings", str(k), ("1", "2", "3", "4"))
                     for k in settings)
    cells = SURROGATE_CELLS if cells is None else _check_cells(cells)
    leak = check_real("leak", leak, low=0.0, high=1.0, low_open=True)
    path, old = _target(out, budget, {"experiment": SURROGATE_EXPERIMENT, "budget": budget,
                                      "leak": leak}, write, force)
    data = {"experiment": SURROGATE_EXPERIMENT, "budget": budget,
            "leak": leak, "seeds": list(seeds), "settings": {}, "rows": [],
            "command": "python -m lab ds-surrogate "
                       f"--budget {budget}" + ("" if seeds == (0, 1, 2) else
                                               f" --seeds {len(seeds)}"),
            "machine": platform.processor() or platform.machine()}
    if old is not None:        # the same budget and leak: resume
        data["rows"] = [r for r in old.get("rows", []) if r.get("gradient") in GRADIENTS]
        data["settings"] = old.get("settings", {})
        data["seeds"] = sorted(set(old.get("seeds", [])) | set(seeds))
    done = {(r["part"], r["where"], r["reg"], r["gradient"], r["seed"]) for r in data["rows"]}

    written = []

    def record(row):
        data["rows"].append(row)
        if path is not None:
            store.write_json(path, data)
            written.append(path)

    for key in settings:       # the configuration is read once and kept with the results
        if key not in data["settings"]:
            data["settings"][key] = _paper_best(key, "base")
    run_budget = "tiny" if budget == "tiny" else None
    for seed in seeds:         # seed-major: an interrupted run has every cell for some seeds
        for key in settings:
            info = data["settings"][key]
            for grad in GRADIENTS:
                if ("setting", key, "base", grad, seed) in done:
                    continue
                r = ds_setting_run(key, info["params"], seed, budget=run_budget
                                   or info["budget"], surrogate=grad, leak=leak)
                r.update(part="setting", where=key, reg="base", gradient=grad, seed=seed,
                         gap=r["test"] / info["benchmark"] - 1)
                record(r)
                print(f"setting {key} base {grad:>16} seed {seed}: test {r['test']:.4f} "
                      f"({r['gap']:+.1%})", flush=True)
        for L, b in cells:
            for reg in ("base", "none"):
                for grad in GRADIENTS:
                    where = f"{L},{b}"
                    if ("zipkin", where, reg, grad, seed) in done:
                        continue
                    t0 = time.process_time()
                    r = zipkin_ds_cell(L, b, reg=reg, budget="tiny" if budget == "tiny"
                                       else "medium", seed=seed, surrogate=grad, leak=leak)
                    r.update(part="zipkin", where=where, cpu_seconds=time.process_time() - t0)
                    record(r)
                    print(f"zipkin L={L} b={b:>2} {reg:>4} {grad:>6} seed {seed}: gap "
                          f"{r['gap']:+.2%}", flush=True)
    if written:
        print(store.report(path), flush=True)
    elif path is not None and old is not None:
        print(f"nothing to run: every run is in {store.describe(path)}", flush=True)
    return data


def _command(cells, regs, budget, seeds, out):
    cmd = f"python -m lab zipkin-ds --budget {budget}"
    if cells is not None and list(cells) != ZIPKIN_CELLS:
        cmd += " --cells " + " ".join(f"{L},{b}" for L, b in cells)
    if tuple(regs) != ("base", "none"):
        cmd += " --regs " + " ".join(regs)
    if tuple(seeds) != (0,):
        cmd += f" --seeds {len(seeds)}"
    return cmd + ("" if out == zipkin_ds_name(budget) else f" --out {out}")


def zipkin_ds_name(budget):
    """The results file a zipkin-ds run of ``budget`` writes by default: its committed name
    (``zipkin_ds`` for ``full``, ``zipkin_ds_<budget>`` for the other committing budgets), and
    ``zipkin_ds`` for the smoke test ``tiny`` (which only writes ``results_tmp/``)."""
    return ZIPKIN_DS_COMMITTING.get(budget, "zipkin_ds")


def parse_cells(parser, values):
    """``--cells 4,19 2,9`` as (L, b) tuples (None when not given); an argparse error for a
    cell outside Zipkin's table."""
    if not values:
        return None
    try:
        cells = [tuple(int(v) for v in c.split(",")) for c in values]
    except ValueError:
        parser.error(f"--cells takes L,b pairs such as 4,19, got {values}")
    bad = [c for c in cells if c not in ZIPKIN_CELLS]
    if bad:
        parser.error(f"--cells must be among Zipkin's (L, b) cells {ZIPKIN_CELLS}, got {bad}")
    return cells


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab")
    p.add_argument("experiment", choices=["zipkin-ds", "ds-surrogate"])
    p.add_argument("--budget", choices=["full", "small", "val1024", "epochs800", "tiny"],
                   default="full",
                   help="zipkin-ds: full (512 training, 1024 validation trajectories), small "
                        "(128, 256), val1024 (128, 1024), epochs800 (small with four times the "
                        "epochs) or tiny, a smoke test; ds-surrogate: full (Zipkin's cells at "
                        "64 trajectories, 100 epochs) or tiny")
    p.add_argument("--seeds", type=store.int_at_least(1), default=None,
                   help="seeds 0..N-1 (default: zipkin-ds 1, ds-surrogate 3)")
    p.add_argument("--cells", nargs="+", default=None, metavar="L,b",
                   help="only these cells, e.g. 4,19 (default: zipkin-ds all 16, ds-surrogate "
                        f"{' '.join(f'{L},{b}' for L, b in SURROGATE_CELLS)})")
    p.add_argument("--regs", nargs="+", default=None, choices=["base", "none"],
                   help="zipkin-ds only (default: base none)")
    store.add_output_options(p, "zipkin_ds.json or ds_surrogate.json")
    a = p.parse_args(argv)
    cells = parse_cells(p, a.cells)
    out, write = store.output_request(a)
    if a.experiment == "ds-surrogate":
        if a.regs is not None:
            p.error("--regs is a zipkin-ds option (ds-surrogate trains None and Base)")
        if a.budget not in ("full", "tiny"):
            p.error(f"--budget of ds-surrogate must be full or tiny, got {a.budget}")
        seeds = tuple(range(3 if a.seeds is None else a.seeds))
        kw = dict(budget=a.budget, seeds=seeds, cells=cells, out=out or "ds_surrogate",
                  write=write, force=a.force)
        run = ds_surrogate_study
    else:
        seeds = tuple(range(1 if a.seeds is None else a.seeds))
        kw = dict(cells=cells, regs=tuple(a.regs or ("base", "none")), budget=a.budget,
                  seeds=seeds, out=out or zipkin_ds_name(a.budget), write=write,
                  force=a.force)
        run = zipkin_ds_sweep
    import torch
    torch.set_num_threads(1)
    try:      # the run checks its destination (and reads what it needs) before it trains
        run(**kw)
    except store.ResultsError as e:
        p.error(str(e))


if __name__ == "__main__":
    main()
