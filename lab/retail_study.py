"""Chapter 11's e-commerce experiments: one policy for all SKUs of a synthetic catalogue.

    python -m lab retail-table1 --budget full --jobs 2 --write
    python -m lab retail-pareto --budget full --jobs 2 --write

``retail-table1`` trains {DDPG, PPO, distributional SAC, DS} × {None, Base, Coeff, Both} on the
training SKUs of a catalogue (model selection on validation SKUs) and evaluates every policy on
held-out test SKUs, reporting — as the paper's Table 1 does — the change in stockout rate
(percentage points) and in turnover time (days) relative to DDPG + Both, beside the tuned
forecast base stock and forecast (s, S). ``retail-pareto`` sweeps the weight ``w`` of the
objective :math:`J = 100\\,SR + w\\,TT` for DS and the heuristics and records the
stockout–turnover trade-off. Results are JSON files in ``deepstock_lite/data/results/`` that
the chapter loads (written there only by a ``--budget full`` run with ``--write`` or ``--out
NAME``; other runs write ``results_tmp/<name>.json`` or ``--out PATH``; a file of another
budget or experiment is replaced only with ``--force``); runs are independent, so ``--jobs``
runs them in parallel processes. The file is written after every finished run (``complete``
false until the end), and a killed command started again with the same budget skips the runs
the file holds.

Budgets are fixed, not tuned per method (the paper tunes each pair with 50 Optuna trials): read
the table as "what each pair reaches with the same small budget and hand-set defaults". The
study's pieces (the catalogue, the decodings, each method's fit) are
:mod:`deepstock_lite.paper.retail_study`'s.
"""
from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import platform
import time
from dataclasses import asdict

from deepstock_lite.core import results_store as store
from deepstock_lite.core.decoding import KINDS
from deepstock_lite.core.results_store import (add_output_options, finished_units, interrupted,
                                               output_request)
from deepstock_lite.core.validation import (check_choice, check_int, check_names, check_real,
                                            check_seeds)
from deepstock_lite.rl.ddpg import CLAMP_GRADIENTS, CRITIC_INPUTS
from deepstock_lite.paper.retail_study import (BUDGETS, DDPG_OPTIONS, INITIAL_ACTION,
                                                   METHODS, RetailStudy, fit_heuristics,
                                                   fit_method, study_for_budget)

__all__ = ["table1", "pareto", "TABLE1_EXPERIMENT", "PARETO_EXPERIMENT"]

TABLE1_EXPERIMENT = "one policy for all SKUs: method x regularization on held-out SKUs"
PARETO_EXPERIMENT = "stockout-turnover trade-off: policies trained for each weight"


def _run(args):
    method, kind, study, budget, seed, overrides = args
    row, _ = fit_method(method, kind, study, budget, seed, overrides=overrides)
    print(f"{method:>4} + {kind:<5} seed {seed}: test J {row['objective']:.3f} "
          f"(SR {row['stockout_rate']:.2f}%, TT {row['turnover_days']:.1f} d) "
          f"in {row['seconds']:.0f} s", flush=True)
    return row


def _run_keyed(unit):
    key, task = unit
    return key, _run(task)


def _run_units(jobs, units, on_row):
    """Run ``units`` (``(key, task)`` pairs), one after the other when ``jobs == 1``, else in
    ``jobs`` spawned processes, and call ``on_row(key, row)`` as each one finishes (the
    driver writes its file there, so a killed run keeps every finished unit)."""
    if not units:
        return
    if jobs == 1:
        for key, task in units:
            on_row(key, _run(task))
        return
    with mp.get_context("spawn").Pool(min(jobs, len(units))) as pool:
        for key, row in pool.imap_unordered(_run_keyed, units, chunksize=1):
            on_row(key, row)


def table1_target(out="retail_table1", *, budget="full", critic_input="action",
                  clamp_gradient=None, write=False, force=False):
    """``(path, old)`` of a Table 1 results file, checked before anything trains
    (:func:`deepstock_lite.core.results_store.prepare`; ``(None, None)`` for ``out=None``)."""
    if not out:
        return None, None
    return store.prepare(out, budget=budget, write=write, force=force,
                         identity={"experiment": TABLE1_EXPERIMENT, "budget": budget,
                                   "critic_input": critic_input,
                                   "clamp_gradient": clamp_gradient},
                         defaults=dict(DDPG_OPTIONS))


def pareto_target(out="retail_pareto", *, budget="full", write=False, force=False):
    """``(path, old)`` of a Pareto results file, as :func:`table1_target`."""
    if not out:
        return None, None
    return store.prepare(out, budget=budget, write=write, force=force,
                         identity={"experiment": PARETO_EXPERIMENT, "budget": budget})


def table1(study=None, *, methods=METHODS, kinds=KINDS, budget="full", seeds=(0,), jobs=1,
           out="retail_table1", heuristics=None, critic_input="action", clamp_gradient=None,
           write=False, force=False):
    """Every method × decoding × seed plus the tuned heuristics; writes ``<out>.json``
    after every finished run (with ``complete`` false until the end; ``None``: nothing). A
    plain name ``out`` is a file of the committed folder with ``write=True``
    (``budget="full"`` only), else of ``results_tmp/``; ``force`` replaces a file of another
    budget or experiment (or starts afresh).
    Resumable: an interrupted file started again with the same budget, study and critic input
    keeps the runs it holds. A finished file of the same study and critic input keeps the
    runs outside this run's request (e.g. ``methods=("ddpg",)`` re-runs DDPG's rows and keeps
    DS's); the runs of the request are trained again. ``force`` starts afresh. The rows come in
    one order (seed, method, decoding), whatever the history of the file.
    ``heuristics``: rows of :func:`fit_heuristics` computed before on the same study, reused
    instead of re-tuned (they do not depend on the learned policies). ``critic_input``:
    what DDPG's critic scores (``"action"``, the paper's setup, or the decoded ``"order"``;
    :class:`~deepstock_lite.rl.ddpg.DDPGConfig`) and ``clamp_gradient`` (the actor's gradient
    where the order is clamped: ``None``, each critic's own, ``"zero"`` or ``"pass"``); each
    needs ``methods == ("ddpg",)`` when not its default."""
    check_choice("budget", budget, set(BUDGETS))
    study = study_for_budget(study, budget)
    check_int("jobs", jobs, low=1)
    seeds = check_seeds(seeds)
    methods = check_names("methods", methods, METHODS)
    kinds = check_names("kinds", kinds, KINDS)
    check_choice("critic_input", critic_input, set(CRITIC_INPUTS))
    if clamp_gradient is not None:
        check_choice("clamp_gradient", clamp_gradient, set(CLAMP_GRADIENTS))
    over = {k: v for k, v in (("critic_input", critic_input), ("clamp_gradient", clamp_gradient))
            if v != DDPG_OPTIONS[k]} or None
    for name, value in (over or {}).items():
        if tuple(methods) != ("ddpg",):
            raise ValueError(f"{name}={value!r} is a DDPG option: methods must be "
                             f"('ddpg',), got {tuple(methods)}")
    path, old = table1_target(out, budget=budget, critic_input=critic_input,
                              clamp_gradient=clamp_gradient, write=write, force=force)
    source = None if force or not isinstance(old, dict) else old   # its rows may be kept
    old = interrupted(old, force)
    plan = list(itertools.product(seeds, methods, kinds))

    def unit(r):
        return r["seed"], r["method"], r["kind"]

    def same(o):
        return o.get("study") == asdict(study)
    done = {k: r for k, r in finished_units(old, unit, same=same).items() if k in plan}
    kept = {k: r for k, r in finished_units(source, unit, same=same).items()
            if k not in plan}           # runs outside the request, finished file or not
    rows = {**kept, **done}
    t0 = time.perf_counter()
    before = sum(float(r.get("seconds") or 0.0) for r in rows.values())
    cmd = (f"python -m lab retail-table1 --budget {budget} "
           f"--jobs {jobs} --seeds {len(seeds)} --methods " + " ".join(methods)
           + ("" if tuple(kinds) == KINDS else " --kinds " + " ".join(kinds))
           + ("" if critic_input == "action" else f" --critic-input {critic_input}")
           + ("" if clamp_gradient is None else f" --clamp-gradient {clamp_gradient}")
           + ("" if over is None else f" --out {out}"))
    history = [] if not kept else (source.get("commands") or [source.get("command")])
    data = {"experiment": TABLE1_EXPERIMENT,
            "study": asdict(study), "budget": budget, "budget_detail": BUDGETS[budget],
            "initial_action": INITIAL_ACTION, "seeds": list(seeds), "rows": [],
            "critic_input": critic_input, "clamp_gradient": clamp_gradient,
            "heuristics": [], "complete": False, "command": cmd,
            # the commands whose runs the file holds, oldest first
            "commands": [c for c in history if c and c != cmd] + [cmd],
            "machine": platform.processor() or platform.machine()}

    def order(k):
        return k[0], METHODS.index(k[1]), KINDS.index(k[2])

    def save():
        data["rows"] = [rows[k] for k in sorted(rows, key=order)]
        data["seeds"] = sorted({k[0] for k in rows} | set(seeds))
        data["wall_seconds"] = before + time.perf_counter() - t0
        if path is not None:
            store.write_json(path, data)

    def finished(key, row):
        rows[key] = row
        save()

    if done:
        print(f"resuming {store.describe(path)}: {len(done)} of {len(plan)} runs done",
              flush=True)
    _run_units(jobs, [(k, (k[1], k[2], study, budget, k[0], over)) for k in plan
                      if k not in rows], finished)
    if heuristics is None:
        _, _, envs = study.build()
        heuristics = fit_heuristics(envs)
    data.update(heuristics=heuristics, complete=True)
    save()
    if path is not None:
        print(store.report(path), flush=True)
    return data


def pareto(study=None, *, weights=(0.03, 0.1, 0.3, 1.0), policies=(("ds", "both"),),
           budget="full", seed=0, jobs=1, out="retail_pareto", write=False, force=False):
    """Stockout rate and turnover of each learned policy and each tuned heuristic trained
    for every weight ``w``; writes ``<out>.json`` (``out``, ``write`` and ``force`` as in
    :func:`table1`) after every trained policy and every weight's heuristics, with
    ``complete`` false until the end. Resumable: an interrupted file started again with the
    same budget and study keeps what it holds; the rows come in the order of an uninterrupted
    run. A finished file is replaced by a new run."""
    check_choice("budget", budget, set(BUDGETS))
    study = study_for_budget(study, budget)
    weights = [check_real("weights", w, low=0.0) for w in weights]
    if not weights:
        raise ValueError("weights must hold at least one weight")
    check_int("jobs", jobs, low=1)
    check_int("seed", seed, low=0)
    policies = tuple(policies)
    bad = [x for x in policies if not (isinstance(x, (tuple, list)) and len(x) == 2
                                       and x[0] in METHODS and x[1] in KINDS)]
    if bad or not policies:
        raise ValueError(f"policies must be (method, kind) pairs with method in {METHODS} "
                         f"and kind in {KINDS}, got {bad or list(policies)}")
    path, old = pareto_target(out, budget=budget, write=write, force=force)
    old = interrupted(old, force)
    t0 = time.perf_counter()
    plan = [(w, m, k, seed) for w in weights for m, k in policies]
    same = old is not None and old.get("study") == asdict(study)
    done = {k: r for k, r in finished_units(
        old, lambda r: (r["weight"], r["method"], r["kind"], r["seed"]),
        same=lambda o: same).items() if k in plan}
    rows = dict(done)
    heur = {}                 # weight -> its heuristics' rows, written together
    for r in (old.get("heuristics") or []) if same else []:
        if isinstance(r, dict) and r.get("weight") in weights:
            heur.setdefault(r["weight"], []).append(r)
    before = float(old.get("wall_seconds") or 0.0) if done or heur else 0.0
    data = {"experiment": PARETO_EXPERIMENT,
            "study": asdict(study), "budget": budget, "weights": weights, "rows": [],
            "heuristics": [], "wall_seconds": 0.0,
            "policies": [list(x) for x in policies],
            "command": f"python -m lab retail-pareto --budget "
                       f"{budget} --jobs {jobs} --policies "
                       + " ".join(f"{m}:{k}" for m, k in policies),
            "machine": platform.processor() or platform.machine(), "complete": False}

    def save(complete=False):
        data["rows"] = [rows[k] for k in plan if k in rows]
        data["heuristics"] = [r for w in weights for r in heur.get(w, [])]
        data["wall_seconds"] = before + time.perf_counter() - t0
        data["complete"] = complete
        if path is not None:
            store.write_json(path, data)

    def finished(key, row):
        row["weight"] = key[0]
        rows[key] = row
        save()

    if done or heur:
        print(f"resuming {store.describe(path)}: {len(done)} of {len(plan)} policies and "
              f"{len(heur)} of {len(weights)} weights' heuristics done", flush=True)
    _run_units(jobs, [(k, (k[1], k[2], RetailStudy(**{**asdict(study), "weight": k[0]}),
                           budget, seed, None)) for k in plan if k not in rows], finished)
    for w in weights:
        if w in heur:
            continue
        _, _, envs = RetailStudy(**{**asdict(study), "weight": w}).build()
        heur[w] = [{**r, "weight": w} for r in fit_heuristics(envs)]
        save()
    save(complete=True)
    if path is not None:
        print(store.report(path), flush=True)
    return data


def _policies(p, values):
    """``--policies ds:both ...`` as (method, kind) pairs; a usage error otherwise."""
    out = []
    for x in values:
        m, sep, k = x.partition(":")
        if not sep or m not in METHODS or k not in KINDS:
            p.error(f"--policies entries are METHOD:KIND with METHOD in {list(METHODS)} and "
                    f"KIND in {list(KINDS)} (e.g. ds:both), got {x!r}")
        out.append((m, k))
    return tuple(out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab")
    p.add_argument("experiment", choices=["retail-table1", "retail-pareto"])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full",
                   help="full (the chapter's), short (fewer episodes) or tiny (a smoke test)")
    p.add_argument("--seeds", type=store.int_at_least(1), default=1,
                   help="retail-table1: seeds 0..N-1 (retail-pareto trains seed 0)")
    p.add_argument("--jobs", type=store.int_at_least(1), default=1)
    p.add_argument("--methods", nargs="+", choices=METHODS, default=None,
                   help="retail-table1: the learned methods (default: all)")
    p.add_argument("--policies", nargs="+", default=None, metavar="METHOD:KIND",
                   help="retail-pareto: the learned policies to sweep (default ds:both)")
    p.add_argument("--critic-input", choices=CRITIC_INPUTS, default="action",
                   help="retail-table1: what DDPG's critic scores (default: the network's output, "
                        "as in the paper)")
    p.add_argument("--clamp-gradient", choices=CLAMP_GRADIENTS, default=None,
                   help="retail-table1: DDPG's actor gradient where the order is clamped at zero "
                        "(default: each critic's own; zero: masked; pass: straight through)")
    p.add_argument("--kinds", nargs="+", choices=KINDS, default=None,
                   help="retail-table1: the decodings (default: all)")
    p.add_argument("--reuse-heuristics", action="store_true",
                   help="retail-table1: keep the tuned heuristics of the existing results file "
                        "when its study is the same")
    add_output_options(p, "retail_table1.json or retail_pareto.json")
    a = p.parse_args(argv)
    out, write = output_request(a)
    if a.experiment == "retail-table1":
        if a.policies is not None:
            p.error("--policies is a retail-pareto option (retail-table1 takes --methods)")
        methods = tuple(a.methods or METHODS)
        for name, default in DDPG_OPTIONS.items():
            value, flag = getattr(a, name), "--" + name.replace("_", "-")
            if value != default and methods != ("ddpg",):
                p.error(f"{flag} {value} is a DDPG option: it needs --methods "
                        f"ddpg, got --methods {' '.join(methods)}")
        out = out or "retail_table1"
        heur = None
        try:
            path, old = table1_target(out, budget=a.budget, critic_input=a.critic_input,
                                      clamp_gradient=a.clamp_gradient, write=write,
                                      force=a.force)
            if a.reuse_heuristics:
                # the output file's heuristics, else Table 1's: they do not depend on the agents
                study = asdict(study_for_budget(None, a.budget))
                table = store.results_path("retail_table1")
                for data in (old, store.load(table) if table.exists() else None):
                    if heur is None and data and data.get("study") == study:
                        heur = data.get("heuristics") or None
        except store.ResultsError as e:
            p.error(str(e))
        import torch
        torch.set_num_threads(1)
        table1(methods=methods, budget=a.budget, seeds=tuple(range(a.seeds)), jobs=a.jobs,
               out=out, heuristics=heur, critic_input=a.critic_input,
               clamp_gradient=a.clamp_gradient, kinds=tuple(a.kinds or KINDS), write=write,
               force=a.force)
    else:
        given = [f"--{k.replace('_', '-')}" for k, default in
                 (("methods", None), *DDPG_OPTIONS.items(), ("kinds", None),
                  ("reuse_heuristics", False))
                 if getattr(a, k) != default]
        if a.seeds != 1:
            given.append("--seeds")
        if given:
            p.error(f"{', '.join(given)}: retail-table1 option(s); retail-pareto takes --policies")
        policies = _policies(p, a.policies or ["ds:both"])
        out = out or "retail_pareto"
        try:
            pareto_target(out, budget=a.budget, write=write, force=a.force)
        except store.ResultsError as e:
            p.error(str(e))
        import torch
        torch.set_num_threads(1)
        pareto(policies=policies, budget=a.budget, jobs=a.jobs, out=out, write=write,
               force=a.force)


if __name__ == "__main__":
    main()
