"""The book's deep-RL agents on Zipkin's 16 lost-sales cells, scored exactly.

    python -m lab zipkin-rl --budget full --write  # all cells, 2 seeds
    python -m lab zipkin-rl --budget longer --write --regs base  # more transitions
    python -m lab zipkin-rl --budget ppo_ortho --write  # PPO, orthogonal initial weights
    python -m lab zipkin-rl --budget ppo_torch --write  # PPO, its paired control
    python -m lab zipkin-rl --budget tiny --cells 2,4 --seeds 1

For every cell (L, b) of Zipkin's table (Poisson(5) demand, h = 1, lost sales), every
algorithm (DDPG, PPO and distributional SAC; ``--algos`` picks some), every decoding (None: the
actor outputs the order in [0, S]; Base: it outputs a target position in [0, 2S], with S the
backorder base-stock level that bounds the optimal position) and every seed: train with the
chapters' configuration, keep the best policy on held-out demand, round its orders and
evaluate that stationary policy *exactly* (relative value iteration,
:func:`~deepstock_lite.classical.evaluate_policy_exact`). ``--budget longer`` trains each
agent on more transitions (and DDPG on a larger minibatch: ``lab/budgets.py``), with which
Chapter 9 finds PPO and dist. SAC within 1% everywhere (DDPG not, with its own settings;
``python -m lab zipkin-rl-critic`` runs it with dist. SAC's). ``--budget ppo_ortho`` runs
the table's PPO with orthogonal initial weights (``ortho_init=True``; Chapter 13 asks whether
they should be the default), ``--budget ppo_torch`` the table's PPO again as its paired
control (the same seeds and CPU settings); both run PPO only. Rows are written to
``zipkin_rl.json`` (any other committing budget: ``zipkin_rl_<budget>.json``) as soon as each
run ends, so a killed sweep resumes where it stopped (finished runs are skipped): the
committed file in ``data/results/`` only at a committing budget (every one but ``tiny``) with
``--write`` (or ``--out NAME``), else in ``results_tmp/`` (or ``--out PATH``). A file of
another budget is replaced only with ``--force``.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import numpy as np

from deepstock_lite.classical import (DiscreteDemand, backorder_base_stock_level,
                                     best_capped_base_stock, evaluate_policy_exact,
                                     solve_lost_sales)
from deepstock_lite.core import results_store as store
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.seeding import set_seed
from deepstock_lite.core.simulator import InventorySystem
from deepstock_lite.core.validation import check_choice, check_int, check_names, check_seeds
from deepstock_lite.core.results_store import add_output_options, output_request
from .budgets import ZIPKIN_RL as _BUDGETS, ZIPKIN_RL_FILES as _FILES
from .ds_experiments import ZIPKIN_CELLS, parse_cells

__all__ = ["zipkin_rl_run", "zipkin_rl_sweep", "ALGOS", "REGS"]

ALGOS = ("ddpg", "ppo", "dsac")
REGS = ("none", "base")
MEAN, H = 5.0, 1.0
EXPERIMENT = "deep RL agents on Zipkin's lost-sales cells"


def _setup(algo, seed, scale, steps_mult=1):
    """(number of parallel envs, episode length, config) — the chapters' settings, with
    ``steps_mult`` times their transitions (the learning rates decay over all of them)."""
    from deepstock_lite.rl import ddpg, dsac, ppo
    if algo == "ddpg":
        cfg = ddpg.DDPGConfig(total_steps=25_000, learning_starts=2_000, eval_every=2_500,
                              seed=seed)
        n_envs, horizon = 1, 100
    elif algo == "ppo":
        cfg = ppo.PPOConfig(total_steps=300_000, lr=1e-3, minibatch_size=512,
                            log_std_init=-1.6, eval_every=10_240, seed=seed)
        n_envs, horizon = 16, 64
    else:
        cfg = dsac.DSACConfig(total_steps=20_000, learning_starts=2_000, eval_every=2_500,
                              seed=seed)
        n_envs, horizon = 2, 100
    if steps_mult != 1:
        cfg = dataclasses.replace(cfg, total_steps=cfg.total_steps * steps_mult)
    if scale != 1.0:  # a smoke-test budget: shrink every step count together
        steps = max(int(cfg.total_steps * scale), 64 * n_envs)
        kw = {"total_steps": steps, "eval_every": max(steps // 2, 1)}
        if hasattr(cfg, "learning_starts"):
            kw["learning_starts"] = max(steps // 4, 1)
        if algo == "ppo":
            kw.update(minibatch_size=64)
        cfg = dataclasses.replace(cfg, **kw)
    return n_envs, horizon, cfg


def exact_cost(agent, L, b, S):
    """``(cost, start)``: the exact average cost per period of the agent's current policy on
    cell (L, b), its orders rounded and kept inside the exact evaluator's bound ``S``;
    ``start`` is the state it is scored from when the policy's chain has several closed
    classes (else ``None``)."""
    law = DiscreteDemand.poisson(MEAN)

    def rounded_policy(states):
        q = np.rint(agent.act(states.astype(np.float64)))
        return np.clip(q, 0.0, S - states.sum(1))  # inside the exact evaluator's bound

    try:
        return float(evaluate_policy_exact(law, policy=rounded_policy, L=L, h=H, b=b).cost), None
    except RuntimeError:
        # a learned policy can have several closed classes (e.g. it never orders again once
        # the stock is gone): score it from the state its evaluation runs start in
        start = (int(S // 2),) + (0,) * (L - 1)
        # such chains mix slowly: certify the cost to 1e-4 (0.002% of the smallest optimum)
        cost = float(evaluate_policy_exact(law, policy=rounded_policy, L=L, h=H, b=b,
                                           start=start, tol=1e-4, max_iter=500_000).cost)
        return cost, start


def _train_scoring_checkpoints(agent_type, train_env, cfg, eval_env, decoder, score):
    """Train as ``module.train`` does, stopping after every evaluation to ``score`` the
    current policy (a dict: its ``gap``, and any other fields); returns ``(agent holding its
    best policy, [{"step", "gap", ..., "eval_cost"}])``. ``learn`` stops at the end of the
    episode in which an evaluation falls and resumes as an uninterrupted run continues, so
    training is unchanged; when the cadence is a multiple of the episode (the full budget's)
    the policy scored is the one evaluated, else its ``eval_cost`` is ``None``."""
    agent = agent_type(cfg, train_env.single_observation_space.shape[0], cfg.a_max, decoder)
    checkpoints = []
    while agent.global_step < cfg.total_steps and not agent.keep.stop:
        agent.learn(train_env, until=min(agent.schedule.next, cfg.total_steps),
                    eval_env=eval_env, quiet=True)
        row = agent.history[-1] if agent.history else {}
        evaluated = row.get("step") == agent.global_step
        checkpoints.append({"step": agent.global_step, **score(agent),
                            "eval_cost": row["eval_cost"] if evaluated else None})
    agent.load_best()
    return agent, checkpoints


def zipkin_rl_run(L, b, *, algo="ddpg", reg="base", seed=0, budget="full",
                  return_agent=False, overrides=None, score_checkpoints=False,
                  checkpoint_extra=None, agent_type=None, n_envs=None):
    """Train one agent on cell (L, b) and return its row (exact cost, gap, CPU seconds); with
    ``return_agent``, ``(row, agent)`` (the agent holding its best policy on validation).
    ``overrides``: config fields to change from the chapters' configuration (a dict), after
    the budget's own (``longer``: its ``steps_mult`` and ``config``); the row of a run that
    changed any records ``steps_mult`` and ``config``, the fields it ran with.
    ``score_checkpoints`` (DDPG only): the row also holds ``checkpoints``, the exact gap of
    the policy at every evaluation (not only of the one kept), to tell a run that never found
    a good policy from one that found it but did not keep it; training is unchanged.
    ``checkpoint_extra`` (with ``score_checkpoints``): a function of the agent whose dict
    each checkpoint also holds (its CPU time, as the scoring's, is not counted as
    training's). ``agent_type`` (with ``score_checkpoints``): a subclass of
    :class:`~deepstock_lite.rl.ddpg.DDPG` to train instead of DDPG itself (an experiment's
    change to one of its parts). ``n_envs``: the training env's number of SKUs stepped at
    once (default the chapters' for the algorithm; the row records another)."""
    from deepstock_lite.envs import BatchInventoryEnv
    from deepstock_lite.rl import BaseStockDecoder, IdentityDecoder, ddpg, dsac, ppo

    L = check_int("L", L, low=1, high=4)
    if (L, b) not in ZIPKIN_CELLS:
        raise ValueError(f"(L, b) must be one of Zipkin's cells {ZIPKIN_CELLS}, got {(L, b)}")
    check_choice("algo", algo, set(ALGOS))
    check_choice("reg", reg, set(REGS))
    seed = check_int("seed", seed, low=0)
    check_choice("budget", budget, set(_BUDGETS))
    if n_envs is not None:
        n_envs = check_int("n_envs", n_envs, low=1, high=64)
    if score_checkpoints and algo != "ddpg":
        raise ValueError(f"score_checkpoints is implemented for algo='ddpg', got {algo!r}")
    if checkpoint_extra is not None and not (score_checkpoints and callable(checkpoint_extra)):
        raise ValueError("checkpoint_extra must be a function of the agent, and needs "
                         "score_checkpoints=True")
    if agent_type is not None and not (score_checkpoints and isinstance(agent_type, type)
                                       and issubclass(agent_type, ddpg.DDPG)):
        raise ValueError("agent_type must be a subclass of DDPG, and needs "
                         "score_checkpoints=True")
    B = _BUDGETS[budget]
    set_seed(seed)
    system = InventorySystem(L=L, h=H, b=b, backlog=False)
    law = DiscreteDemand.poisson(MEAN)
    S = int(backorder_base_stock_level(law, L=L, h=H, b=b))
    steps_mult = B.get("steps_mult", {}).get(algo, 1)
    chapter_envs, horizon, cfg = _setup(algo, seed, B["scale"], steps_mult)
    n_envs = chapter_envs if n_envs is None else n_envs
    a_max = float(S) if reg == "none" else 2.0 * S
    decoder = IdentityDecoder() if reg == "none" else BaseStockDecoder(L)
    if overrides is not None and not isinstance(overrides, dict):
        raise TypeError(f"overrides must be a dict of config fields, got "
                        f"{type(overrides).__name__}")
    budget_config = B.get("config", {}).get(algo, {})
    cfg = dataclasses.replace(cfg, a_max=a_max, **{**budget_config, **(overrides or {})})
    train_env = BatchInventoryEnv(system, Poisson(MEAN), horizon, a_max, n_envs=n_envs,
                                  on_hand=S / 2, reward="attributed")
    D = Poisson(MEAN).sample(B["eval_paths"], B["eval_horizon"], seed=777 + seed)
    eval_env = BatchInventoryEnv(system, D, B["eval_horizon"], a_max, on_hand=S / 2)
    module = {"ddpg": ddpg, "ppo": ppo, "dsac": dsac}[algo]
    opt = float(solve_lost_sales(law, L=L, h=H, b=b).cost)
    t0 = time.process_time()
    if score_checkpoints:   # the scoring's CPU time is not training's
        t_scoring = []

        def score(agent):
            t = time.process_time()
            out = {"gap": exact_cost(agent, L, b, S)[0] / opt - 1}
            if checkpoint_extra is not None:
                out.update(checkpoint_extra(agent))
            t_scoring.append(time.process_time() - t)
            return out

        agent, checkpoints = _train_scoring_checkpoints(agent_type or ddpg.DDPG, train_env,
                                                        cfg, eval_env, decoder, score)
        cpu = time.process_time() - t0 - sum(t_scoring)
    else:
        agent, hist = module.train(train_env, cfg, eval_env=eval_env, decoder=decoder,
                                   quiet=True)
        cpu = time.process_time() - t0
    cost, start = exact_cost(agent, L, b, S)
    row = {"L": L, "b": b, "algo": algo, "reg": reg, "seed": seed, "optimal": opt,
           "cost": cost, "gap": cost / opt - 1, "cpu_seconds": cpu,
           "best_step": int(agent.best["step"]) if agent.best else None,
           "total_steps": int(cfg.total_steps),
           "evaluated_from": None if start is None else list(start)}
    ran = {**budget_config, **(overrides or {})}        # the config fields the run changed
    if steps_mult != 1 or ran:
        row.update(steps_mult=steps_mult, config=ran)
    if n_envs != chapter_envs:
        row["n_envs"] = n_envs
    if score_checkpoints:
        row["checkpoints"] = checkpoints
    return (row, agent) if return_agent else row


def _key(r):
    return (r["L"], r["b"], r["algo"], r["reg"], r["seed"])


def default_out(budget):
    """The sweep's file name for ``budget``: ``zipkin_rl`` for ``full`` and ``tiny``, else
    ``zipkin_rl_<budget>``."""
    return _FILES.get(check_choice("budget", budget, set(_BUDGETS)), "zipkin_rl")


def target(out="zipkin_rl", *, budget="full", write=False, force=False):
    """``(path, old)``: where the sweep writes and the rows it resumes from, checked before
    anything trains (:func:`deepstock_lite.core.results_store.prepare`). A plain name is a
    file of the committed folder with ``write=True`` (every budget but ``tiny``; the command
    names each one's file, :func:`default_out`), else of ``results_tmp/``; a file of another
    budget is replaced only with ``force``."""
    check_choice("budget", budget, set(_BUDGETS))
    if not out:
        return None, None
    return store.prepare(out, budget=budget, write=write, force=force,
                         committing=tuple(_FILES),
                         identity={"experiment": EXPERIMENT, "budget": budget})


def zipkin_rl_sweep(cells=None, algos=ALGOS, regs=REGS, seeds=(0, 1),
                    budget="full", out="zipkin_rl", quiet=False, *, write=False, force=False):
    """Every cell x algorithm x decoding x seed; resumable (finished rows are kept). ``out``
    (``None``: nothing written), ``write`` and ``force`` as in :func:`target`."""
    if cells is None:
        cells = ZIPKIN_CELLS
    else:
        cells = [tuple(c) if isinstance(c, (tuple, list)) else c for c in cells]
        bad = [c for c in cells if c not in ZIPKIN_CELLS]
        if bad or not cells:
            raise ValueError(f"cells must be a non-empty list of Zipkin's (L, b) cells "
                             f"{ZIPKIN_CELLS}, got {bad or cells}")
    algos = check_names("algos", algos, ALGOS)
    budget_algos = _BUDGETS[check_choice("budget", budget, set(_BUDGETS))].get("algos", ALGOS)
    if not set(algos) & set(budget_algos):
        raise ValueError(f"budget {budget!r} runs only algos {list(budget_algos)}, got "
                         f"{list(algos)}")
    algos = tuple(a for a in algos if a in budget_algos)
    regs = check_names("regs", regs, REGS)
    seeds = check_seeds(seeds)
    path, old = target(out, budget=budget, write=write, force=force)
    data = {"rows": []} if old is None else old
    done = {_key(r) for r in data.get("rows", [])}
    data.setdefault("rows", [])
    data.update({"experiment": EXPERIMENT,
                 "budget": budget, "machine": platform.processor() or platform.machine(),
                 "command": "python -m lab zipkin-rl --budget " + budget})
    capped = data.setdefault("capped_base_stock", {})
    # the cheapest informative order: every cell with seed 0 and Base first
    written = False
    plan = [(s, r, a, L, b) for s in seeds for r in sorted(regs, key=lambda r: r != "base")
            for a in algos for (L, b) in cells]
    for seed, reg, algo, L, b in plan:
        if (L, b, algo, reg, seed) in done:
            continue
        key = f"{L},{b}"
        if key not in capped:
            capped[key] = float(best_capped_base_stock(DiscreteDemand.poisson(MEAN), L=L, h=H,
                                                       b=b).cost)
        row = zipkin_rl_run(L, b, algo=algo, reg=reg, seed=seed, budget=budget)
        data["rows"].append(row)
        if path is not None:
            store.write_json(path, data)
            written = True
        if not quiet:
            print(f"L={L} b={b:>2} {algo:>4} {reg:>4} seed {seed}: gap {row['gap']:+.2%} "
                  f"({row['cpu_seconds']:.0f} CPU s)", flush=True)
    if not quiet and path is not None:
        print(store.report(path) if written else
              f"nothing to run: every run is in {store.describe(path)}", flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab zipkin-rl",
                                description=__doc__.splitlines()[0])
    p.add_argument("--budget", choices=sorted(_BUDGETS), default="full")
    p.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    p.add_argument("--regs", nargs="+", choices=REGS, default=list(REGS))
    p.add_argument("--seeds", type=store.int_at_least(1), default=2,
                   help="seeds 0..N-1 (default 2)")
    p.add_argument("--cells", nargs="+", default=None, metavar="L,b",
                   help="only these cells, e.g. 2,4 (default: all 16)")
    add_output_options(p, "zipkin_rl.json (another committing budget: "
                          "zipkin_rl_<budget>.json)", committing=tuple(_FILES))
    a = p.parse_args(argv)
    cells = parse_cells(p, a.cells)
    out, write = output_request(a)
    kw = dict(out=out or default_out(a.budget), budget=a.budget, write=write, force=a.force)
    store.check_then_run(p, lambda: target(**kw), lambda: zipkin_rl_sweep(
        cells=cells, algos=tuple(a.algos), regs=tuple(a.regs), seeds=tuple(range(a.seeds)),
        **kw))


if __name__ == "__main__":
    main()
