"""The paper's Settings 2 and 3 over several draws of their data (Chapter 10's data-draw check).

    python -m lab paper-draws --settings 2 3 --draws 0 1 2 3 4 \\
        --seeds 0 1 2 --methods ds ppo dsac ddpg --budget small --write

The sweep (`python -m lab paper`) tuned every (method, decoding) pair on one
draw of the data (data seed 0) and re-ran the best configuration with training seeds 0, 1, 2.
This driver takes those best configurations from the committed ``paper_setting2.json`` and
``paper_setting3.json`` (no re-tuning) and re-runs them on other draws of the same generator
(data seed ``d``: :func:`~deepstock_lite.paper.settings.setting2` /
:func:`~deepstock_lite.paper.settings.setting3` with
``seed=d``, the sweep's reading "total"), through the sweep's own code path
(:func:`~.tuning.evaluate_config`, as the sweep's re-runs call it). Each draw also gets its own
benchmark (:func:`~.paper.benchmark`: DS trained on that draw's test paths) and the simple
heuristic of :mod:`~deepstock_lite.paper.heuristics` re-tuned on that draw's training paths.

Units and rows:

* ``rows``: one per (setting, draw, method, decoding, seed): validation and test loss, the gap
  to the draw's benchmark, the selected epoch (DS, ``best_epoch``, 0-based) or step (RL,
  ``best_step``), the configuration, CPU and wall seconds; a run that diverges is kept as a
  row with ``test`` null and its ``error`` (a rerun would diverge again);
* ``heuristic``: one per (setting, draw): :func:`~deepstock_lite.paper.heuristics.tune`'s
  result and gap;
* ``benchmarks``: one per (setting, draw), computed before the draw's first unit.

**Resume.** The file is written atomically after every unit, with ``complete`` false until
every unit of the run's request is in it. Rows of earlier runs at the same budget are kept,
finished file or not (a run with ``--methods ddpg`` adds DDPG rows to a file holding DS rows;
a killed run started again with the same command runs only the missing units); ``--force``
recomputes everything. A learned row whose configuration is no longer the committed sweep's is
dropped (and recomputed if asked for). Rows are stored in a fixed order (setting, draw, method,
seed, decoding), so a resumed file equals an uninterrupted run's, timings aside.

The committed ``data/results/paper_draws.json`` is written only at the sweep's ``small``
budget with ``--write`` (or ``--out NAME``); other runs write ``results_tmp/paper_draws.json``
(or ``--out PATH``). :func:`paired_differences` summarises a file for the chapter: the paired
Base − None differences with 95% t-intervals, and the per-draw gaps.
"""
from __future__ import annotations

import argparse
import time

from deepstock_lite.core import results_store as store
from deepstock_lite.core.results_store import add_output_options, output_request
from deepstock_lite.core.validation import check_choice, check_names, check_seeds
from deepstock_lite.core.record_returns import record_returns
from deepstock_lite.paper.analysis import DRAW_SETTINGS as SETTINGS
from .budgets import (PAPER_DRAWS as BUDGETS, PAPER_DRAWS_COMMITTING as COMMITTING,
                      PAPER_DRAWS_RESOLUTION as RESOLUTION)
from .paper import METHODS, REGS, benchmark
from deepstock_lite.paper.heuristics import tune
from deepstock_lite.paper.tuning import evaluate_config, make_setting

__all__ = ["SETTINGS", "BUDGETS", "sweep_configs", "learned_unit", "heuristic_unit",
           "run_draws", "target", "main"]

NAME = "paper_draws"
EXPERIMENT = "paper settings 2-3 over data draws"
READING = "total"             # the sweep's committed reading


# -- the sweep's configurations -----------------------------------------------------------------
def sweep_configs(settings=SETTINGS, methods=METHODS):
    """``{(setting, method, reg): row}`` of the committed sweep files ``paper_setting<k>.json``
    (the best configuration ``params`` and the sweep's re-runs ``rerun_test`` with their
    ``seeds``); a :class:`~deepstock_lite.core.results_store.ResultsError` naming the file
    when one is missing, corrupt, of another reading, or lacks a pair."""
    out = {}
    for key in settings:
        data = store.load_results(f"paper_setting{key}")
        name = f"paper_setting{key}.json"
        if data.get("reading", "total") != READING:
            raise store.ResultsError(f"{name} holds the reading {data.get('reading')!r}; this "
                                     f"driver re-runs the sweep of reading {READING!r}")
        by_pair = {(r.get("method"), r.get("reg")): r for r in data.get("rows") or []
                   if isinstance(r, dict)}
        for method in methods:
            for reg in REGS:
                row = by_pair.get((method, reg))
                if not row or not isinstance(row.get("params"), dict):
                    raise store.ResultsError(
                        f"{name} has no {method} + {reg} configuration; regenerate it with "
                        "python -m lab paper")
                out[key, method, reg] = {"params": row["params"],
                                         "rerun_test": row.get("rerun_test"),
                                         "seeds": data.get("seeds"),
                                         "sweep_budget": data.get("budget")}
    return out


# -- the units ----------------------------------------------------------------------------------
def _trainer(method):
    """``(module, name)`` of the training function ``evaluate_config`` calls for ``method``
    (wrapped with :func:`~deepstock_lite.core.record_returns` to read the selected epoch or
    step, which the sweep's code path computes but does not return)."""
    if method == "ds":
        from deepstock_lite.paper import differentiable_simulator as ds
        return ds, "train_ds"
    from deepstock_lite.rl import ddpg, dsac, ppo
    return {"ddpg": ddpg, "dsac": dsac, "ppo": ppo}[method], "train"


def _selected(method, seen):
    """The selected epoch (DS) or step (RL) of the captured training result, if any."""
    if not seen:
        return {}
    if method == "ds":
        return {"best_epoch": int(seen[-1].best_step)}
    agent, _ = seen[-1]
    best = getattr(agent, "best", None)
    return {"best_step": int(best["step"])} if best else {}


def learned_unit(key, draw, method, reg, seed, params, budget="small"):
    """Train ``params`` (method + decoding ``reg``) with training seed ``seed`` on draw
    ``draw`` of Setting ``key``'s data, exactly as the sweep re-runs a configuration
    (:func:`~.tuning.evaluate_config`); return the row (without the gap)."""
    from deepstock_lite.rl.evaluation import TrainingDivergedError
    module, name = _trainer(method)
    t0, w0 = time.process_time(), time.perf_counter()
    row = {"setting": key, "draw": draw, "method": method, "reg": reg, "seed": seed,
           "params": params}
    with record_returns(module, name) as seen:
        try:
            r = evaluate_config(method, reg, key, params, seed, budget, reading=READING,
                                data_seed=draw)
            row.update(val=float(r["val"]), test=float(r["test"]))
        except TrainingDivergedError as e:
            # deterministic: a resumed run would diverge again, so the failure is the result
            row.update(val=None, test=None, error=f"{type(e).__name__}: {e}")
    row.update(_selected(method, seen))
    row.update(cpu_seconds=time.process_time() - t0, wall_seconds=time.perf_counter() - w0)
    return row


def heuristic_unit(key, draw, budget="small"):
    """The heuristic of :mod:`~deepstock_lite.paper.heuristics` tuned on draw ``draw``'s
    training paths, its family chosen on validation
    (:func:`~deepstock_lite.paper.heuristics.tune`); the row (no gap)."""
    t0, w0 = time.process_time(), time.perf_counter()
    S = make_setting(key, READING, draw)
    out = tune(S, key, RESOLUTION[budget])
    fam = out["families"][out["chosen"]]
    return {"setting": key, "draw": draw, "method": "heuristic", "chosen": out["chosen"],
            "a": fam["a"], "k": fam["k"], "train": out["train"], "val": out["val"],
            "test": out["test"], "oracle_test": out["oracle_test"],
            "families": out["families"], "resolution": RESOLUTION[budget],
            "cpu_seconds": time.process_time() - t0, "wall_seconds": time.perf_counter() - w0}


def benchmark_unit(key, draw):
    """The sweep's benchmark of Setting ``key`` (:func:`~.paper.benchmark`) on draw ``draw``."""
    t0 = time.process_time()
    b = benchmark(key, READING, data_seed=draw)
    return {"setting": key, "draw": draw, **b, "cpu_seconds": time.process_time() - t0}


# -- the driver ---------------------------------------------------------------------------------
def _learned_key(r):
    return (r["setting"], r["draw"], r["method"], r["reg"], r["seed"])


def _draw_key(r):
    return (r["setting"], r["draw"])


def _order(k):
    """The stored order of learned rows: setting, draw, method (as :data:`METHODS`), seed,
    decoding (None then Base: the two halves of a pair side by side)."""
    s, d, m, reg, seed = k
    return (s, d, METHODS.index(m), seed, REGS.index(reg))


def target(out=NAME, *, budget="small", write=False, force=False):
    """``(path, old)``: where the run writes and the file it adds to, checked before anything
    trains (:func:`deepstock_lite.core.results_store.prepare`; committed only at
    :data:`COMMITTING` budgets with ``write``); a file of another budget needs ``force``."""
    check_choice("budget", budget, set(BUDGETS))
    return store.prepare(out, budget=budget, committing=COMMITTING, write=write, force=force,
                         identity={"experiment": EXPERIMENT, "budget": budget,
                                   "reading": READING})


def _kept(old, configs):
    """The units of an earlier file a new run keeps: ``(rows, heuristic, benchmarks)`` as dicts
    by key; learned rows only while their configuration is still the committed sweep's."""
    rows = store.finished_units(old, _learned_key)
    stale = [k for k, r in rows.items()
             if (k[0], k[2], k[3]) in configs and r.get("params") != configs[k[0], k[2], k[3]]
             ["params"]]
    for k in stale:
        del rows[k]
    if stale:
        print(f"dropping {len(stale)} rows whose configuration is no longer the committed "
              "sweep's", flush=True)
    heur = store.finished_units(old, _draw_key, rows="heuristic")
    bench = store.finished_units(old, _draw_key, rows="benchmarks")
    return rows, heur, bench


def _plan(settings, draws, methods, seeds):
    """Every unit of a request, in run order: draw by draw (draw 0, the sweep's, first), both
    settings, the heuristic, then each method and seed with its two decodings together."""
    plan = []
    for d in draws:
        for k in settings:
            plan.append(("heuristic", (k, d)))
            plan += [("learned", (k, d, m, reg, s)) for m in methods for s in seeds
                     for reg in REGS]
    return plan


def _once(name, values):
    """``values`` (a checked tuple), refused when it repeats a value (a unit runs once)."""
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value, got {list(values)}")
    return values


def _check_request(settings, draws, seeds, methods, budget):
    """The request's arguments, checked (each error names its argument) and as tuples."""
    if isinstance(settings, (str, int)):
        raise TypeError(f"settings must be a sequence of settings from {list(SETTINGS)}, "
                        f"got {settings!r}")
    settings = _once("settings", check_names("settings", [str(s) for s in settings],
                                             SETTINGS))
    draws = _once("draws", check_seeds(draws, "draws"))
    seeds = _once("seeds", check_seeds(seeds))
    methods = _once("methods", check_names("methods", methods, METHODS))
    check_choice("budget", budget, set(BUDGETS))
    return settings, draws, seeds, methods


def run_draws(settings=SETTINGS, draws=(0, 1, 2, 3, 4), seeds=(0, 1, 2), methods=METHODS,
              budget="small", out=NAME, *, write=False, force=False, quiet=False):
    """Every (setting, draw, method, decoding, seed) and every (setting, draw) heuristic of
    the request, added to ``out`` (``None``: nothing written; ``write``/``force`` as in
    :func:`target`); returns the results dict. See the module docstring for the resume rule."""
    settings, draws, seeds, methods = _check_request(settings, draws, seeds, methods, budget)
    configs = sweep_configs(SETTINGS, METHODS)      # every pair: kept rows are checked too
    path, old = (None, None) if not out else target(out, budget=budget, write=write,
                                                    force=force)
    old = None if force else old    # prepare keeps a same-budget file even with force
    rows, heur, bench = _kept(old, configs)
    plan = _plan(settings, draws, methods, seeds)
    data = {"experiment": EXPERIMENT, "budget": budget, "reading": READING,
            "sweep": {k: {"file": f"paper_setting{k}.json",
                          "budget": configs[k, "ds", "none"]["sweep_budget"],
                          "seeds": configs[k, "ds", "none"]["seeds"]} for k in SETTINGS},
            "requested": {"settings": list(settings), "draws": list(draws),
                          "seeds": list(seeds), "methods": list(methods)},
            "commands": _commands(old, _command(settings, draws, seeds, methods, budget)),
            "complete": False}

    def holds(unit):
        kind, k = unit
        return k in (heur if kind == "heuristic" else rows)

    def save(complete):
        data.update(benchmarks=[bench[k] for k in sorted(bench)],
                    heuristic=[heur[k] for k in sorted(heur)],
                    rows=[rows[k] for k in sorted(rows, key=_order)], complete=complete)
        if path is not None:
            store.write_json(path, data)

    done = sum(holds(u) for u in plan)
    if done and not quiet:
        print(f"resuming {store.describe(path)}: {done} of {len(plan)} units done", flush=True)
    for unit in plan:
        if holds(unit):
            continue
        kind, k = unit
        if k[:2] not in bench:           # the draw's benchmark, before its first unit
            bench[k[:2]] = benchmark_unit(*k[:2])
            save(False)                  # tens of seconds of work: kept if killed now
        b = bench[k[:2]]["benchmark"]
        if kind == "heuristic":
            row = heuristic_unit(*k, budget=budget)
        else:
            s, d, m, reg, seed = k
            row = learned_unit(s, d, m, reg, seed, configs[s, m, reg]["params"], budget)
        row["gap"] = None if row["test"] is None else row["test"] / b - 1
        (heur if kind == "heuristic" else rows)[k] = row
        save(False)
        if not quiet:
            _print_unit(row)
    save(True)
    if path is not None and not quiet:
        print(store.report(path), flush=True)
    return data


def _commands(old, command):
    """The commands whose rows the file holds: the kept file's, then this run's (once)."""
    kept = [c for c in (old or {}).get("commands") or [] if c != command]
    return kept + [command]


def _command(settings, draws, seeds, methods, budget):
    return ("python -m lab paper-draws --settings " + " ".join(settings)
            + " --draws " + " ".join(map(str, draws)) + " --seeds " + " ".join(map(str, seeds))
            + " --methods " + " ".join(methods) + f" --budget {budget}")


def _print_unit(r):
    what = (f"{r['method']:>9}" if r["method"] == "heuristic"
            else f"{r['method']:>4} + {r['reg']:<4} seed {r['seed']}")
    gap = "diverged" if r["gap"] is None else f"gap {r['gap']:+.1%}"
    print(f"setting {r['setting']} draw {r['draw']} {what}: {gap}, "
          f"{r['cpu_seconds']:.1f} CPU s", flush=True)


# -- the command --------------------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab paper-draws",
                                description=__doc__.splitlines()[0])
    p.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    p.add_argument("--draws", nargs="+", type=store.int_at_least(0), default=[0, 1, 2, 3, 4],
                   help="data seeds of the draws (0: the sweep's data; default 0 1 2 3 4)")
    p.add_argument("--seeds", nargs="+", type=store.int_at_least(0), default=[0, 1, 2],
                   help="training seeds (default 0 1 2, the sweep's re-runs)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--budget", choices=BUDGETS, default="small",
                   help="training budget (default small, the sweep's; tiny is a smoke test)")
    add_output_options(p, f"{NAME}.json", committing=COMMITTING)
    a = p.parse_args(argv)
    for opt in ("settings", "draws", "seeds", "methods"):
        v = getattr(a, opt)
        if len(set(v)) != len(v):
            p.error(f"--{opt}: each value at most once, got {' '.join(map(str, v))}")
    out, write = output_request(a)

    def check():   # the sweep's configurations and the destination, before anything trains
        sweep_configs(SETTINGS, METHODS)
        target(out or NAME, budget=a.budget, write=write, force=a.force)

    store.check_then_run(p, check, lambda: run_draws(
        a.settings, a.draws, a.seeds, a.methods, a.budget, out or NAME, write=write,
        force=a.force))


if __name__ == "__main__":
    main()
