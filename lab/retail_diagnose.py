r"""Why DDPG + None beats DDPG + Both on Chapter 11's catalogue: what the trained policies do.

    python -m lab retail-diagnose [--budget full|tiny] [--seeds 2] [--write]

Re-trains DDPG + None and DDPG + Both exactly as ``retail_study table1`` does (same study,
budget and seeds, so the test objective equals the Table 1 row, which the file records beside
it) and measures, on the test SKUs:

* ``response``: the change of the order (days of cover) for one more day of cover on hand, at
  the review-day states the policy visits, averaged over the states where it orders at least
  one day (a base-stock rule has exactly −1 there; steeper than −1 over-corrects, between
  −1 and 0 smooths);
* ``by_period``: per review period :math:`P`, over review cycles, the variance of the cycle's
  orders over the variance of its demand (median over SKUs; the *bullwhip ratio*), the share
  of cycles without an order, and the mean and standard deviation of end-of-day stock (days);
* ``damping``: the test metrics of the order :math:`\beta q + (1-\beta) F P` — the policy's
  order pulled towards the forecast demand of a cycle (``forecast_7`` times :math:`P`), which
  keeps the mean order and damps its reaction to the stock — for :data:`BETAS`;
* ``level`` (Both): the metrics with the learned target shifted by :data:`SHIFTS` days — can
  Both reach None's point by its level alone?;
* ``clamp`` (Both): the share of review states whose target lies below the inventory position
  (the order is zero whatever the target), and the size of the critic's gradient in the
  actor's output there and elsewhere.

A third policy tests why DDPG learns what it learns under Both: DDPG + Both re-trained with
``critic_input="order"`` (:class:`~deepstock_lite.rl.ddpg.DDPGConfig`), a critic that scores
the decoded order instead of the network's five outputs, so that the actor gets exactly no
gradient where the order is clamped at zero. Rows carry ``critic`` (``"action"`` or
``"order"``).

The tuned forecast base stock (Chapter 11) gets the same measurements, as the classical
reference. ``--budget full`` takes about 10 CPU-minutes per seed; ``tiny`` is a smoke
test. Writes ``retail_diagnose.json``: into ``data/results/``, the file the chapter loads,
only at ``--budget full`` with ``--write``; else into ``results_tmp/`` (or ``--out``). The
file is written after every trained policy (``complete`` false until the last), and a killed
run started again skips what the file holds.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict

import numpy as np

from deepstock_lite.core import results_store as store
from deepstock_lite.core.validation import check_choice, check_int, check_seeds
from deepstock_lite.core.decoding import inventory_position, order_up_to
from deepstock_lite.paper.retail import forecast_base_stock, tune_heuristic
from deepstock_lite.paper.retail_policies import damped
from deepstock_lite.paper.retail_env import RetailEnv
from deepstock_lite.paper.retail_study import (BUDGETS, HEURISTIC_GRID, fit_method,
                                                   study_for_budget)

__all__ = ["VARIANTS", "BETAS", "SHIFTS", "review_states", "order_response", "cycle_stats",
           "run"]

#: (decoding, what the critic scores): the two Table 1 pairs, and Both with a critic on the
#: decoded order, whose actor gets no gradient where the order is clamped at zero
VARIANTS = (("none", "action"), ("both", "action"), ("both", "order"))
BETAS = (1.0, 0.75, 0.5)
SHIFTS = (-3.0, -2.0, -1.0, 0.0, 1.0)
_KEEP = ("objective", "stockout_rate", "turnover_days")


def _metrics(env, policy_fn):
    m = env.rollout_metrics(policy_fn)
    return {k: float(m[k]) for k in _KEEP}


def review_states(env, policy_fn, delta=1.0):
    """One test episode of ``policy_fn`` on ``env`` (all pool SKUs). Returns ``(obs, rec)``:
    the observations of the counted review days ``(k, obs_dim)``, and a dict of ``order``,
    ``demand`` and ``end`` in days of cover, each ``(n_skus, counted days)``, plus ``q`` and
    ``dq`` ``(k,)``: the policy's order at each of those review states and its change per day
    of cover added on hand (``delta`` days added, the rest of the state unchanged), and
    ``metrics``: the episode's objective, stockout rate and turnover (as
    :meth:`RetailEnv.rollout_metrics` gives them)."""
    if not isinstance(env, RetailEnv) or env._draw:
        raise TypeError("env must be an evaluation RetailEnv (n_envs=None)")
    obs, _ = env.reset()
    seen, q_rev, dq_rev = [], [], []
    rows = {"order": [], "demand": [], "end": []}
    for t in range(env.T):
        q = np.asarray(policy_fn(obs), float)
        if t >= env.burn_in:
            review = (t % env._Pc) == 0
            more = obs.copy()
            more[:, 0] += delta
            dq = (np.asarray(policy_fn(more), float) - q) / delta
            seen.append(obs[review])
            q_rev.append(q[review])
            dq_rev.append(dq[review])
        obs, _, _, _, info = env.step(q)
        if t >= env.burn_in:
            for k, v in (("order", info["order_units"]), ("end", info["end"]),
                         ("demand", info["sales"] + info["lost"])):
                rows[k].append(v * env._inv_s)
    rec = {k: np.stack(v, 1) for k, v in rows.items()}
    m = env._metrics()
    rec.update(q=np.concatenate(q_rev), dq=np.concatenate(dq_rev),
               metrics={k: float(m[k]) for k in _KEEP})
    return np.concatenate(seen), rec


def order_response(rec, min_order=1.0):
    """From a :func:`review_states` record: the mean change of the order per day of cover on
    hand over the review states where the policy orders at least ``min_order`` days, and the
    share of such states; ``(slope, share)``."""
    use = rec["q"] >= min_order
    return (float(rec["dq"][use].mean()) if use.any() else float("nan")), float(use.mean())


def cycle_stats(env, rec):
    """Per review period of ``env``'s SKUs, from a :func:`review_states` record: ``bullwhip``
    (median over SKUs of var(orders per cycle) / var(demand per cycle)), ``no_order``
    (share of cycles without an order), ``stock_mean`` and ``stock_sd`` (end-of-day stock in
    days of cover; means over SKUs)."""
    out = {}
    n_days = rec["order"].shape[1]
    for P in np.unique(env._Pc):
        sel = env._Pc == P
        m = (n_days // P) * P
        cyc = {k: rec[k][sel, :m].reshape(sel.sum(), -1, P).sum(2) for k in ("order", "demand")}
        ratio = cyc["order"].var(1) / np.maximum(cyc["demand"].var(1), 1e-12)
        out[str(int(P))] = {"skus": int(sel.sum()), "bullwhip": float(np.median(ratio)),
                            "no_order": float(np.mean(cyc["order"] <= 0.0)),
                            "stock_mean": float(rec["end"][sel].mean()),
                            "stock_sd": float(rec["end"][sel].std(1).mean())}
    return out


def _shifted(agent, env, shift):
    """DDPG + Both with its learned target moved by ``shift`` days of cover."""
    def policy(obs):
        o = np.asarray(obs, np.float64)
        y = agent.decoder.target(agent.raw_action(obs), o) + shift
        return order_up_to(y, inventory_position(o, env.position_L))
    return policy


def _clamp(agent, env, obs):
    import torch
    o = np.asarray(obs, np.float64)
    y = agent.decoder.target(agent.raw_action(obs), o)
    idle = y < inventory_position(o, env.position_L)
    raw = torch.from_numpy(np.asarray(obs, np.float32))
    s = agent.obs_norm(raw)
    u = agent.actor(s).detach().requires_grad_(True)
    agent.critic(s, agent.critic_action(raw, u)).sum().backward()
    g = u.grad.norm(dim=1).numpy()
    return {"share_idle": float(idle.mean()),
            "grad_idle": float(np.median(g[idle])) if idle.any() else float("nan"),
            "grad_ordering": float(np.median(g[~idle])) if (~idle).any() else float("nan")}


def _measure(env, policy_fn):
    obs, rec = review_states(env, policy_fn)
    slope, ordering = order_response(rec)
    return obs, {"test": rec["metrics"], "response": slope,
                 "share_ordering": ordering, "by_period": cycle_stats(env, rec),
                 "damping": {str(b): _metrics(env, damped(env, policy_fn, b)) for b in BETAS}}


def _destination(budget, seeds, out, write, force):
    """``(path, old, table1)``: :func:`target` and the content of the file a run resumes."""
    check_choice("budget", budget, set(BUDGETS) - {"short"})
    check_seeds(seeds)
    table = store.results_path("retail_table1")
    ref = store.load(table) if table.exists() else {}
    if not out:
        return None, None, ref
    path, old = store.prepare(out, budget=budget, write=write, force=force,
                              identity={"budget": budget, "betas": list(BETAS),
                                        "shifts": list(SHIFTS)})
    return path, old, ref


def target(budget="full", seeds=(0, 1), out="retail_diagnose", *, write=False,
           force=False):
    """``(path, table1)``: the destination of the results file, checked before anything
    trains (:func:`deepstock_lite.core.results_store.prepare`; ``None`` for ``out=None``),
    and the content of the committed ``retail_table1.json`` (``{}`` when there is none)."""
    path, _, ref = _destination(budget, seeds, out, write, force)
    return path, ref


def _table1_objective(ref, study, budget, kind, critic, seed):
    """Table 1's test objective of DDPG + ``kind`` with ``seed`` (``None`` when the committed
    table is of another study or has no such row)."""
    same_study = ref.get("study") == study and ref.get("budget") == budget
    t1 = [r["objective"] for r in ref.get("rows", []) if same_study and
          critic == "action" and (r["method"], r["kind"], r["seed"]) == ("ddpg", kind, seed)]
    return t1[0] if t1 else None


def run(budget="full", seeds=(0, 1), out="retail_diagnose", *, write=False, force=False):
    """The measurements above for DDPG + None and + Both, every seed, and the tuned forecast
    base stock; writes ``<out>.json`` (``None``: nothing; the committed file with
    ``write=True`` at ``budget="full"``, else ``results_tmp/``; ``force``: replace a file of
    another budget, or start afresh) and returns its content.

    Resumable: the file is written after the heuristic and after every trained policy (seed,
    decoding, critic), with ``complete`` false until the last; an interrupted file started
    again with the same budget and study keeps what it holds, and the rows come in the order
    of an uninterrupted run. A finished file is replaced by a new run."""
    path, old, ref = _destination(budget, seeds, out, write, force)
    old = store.interrupted(old, force)
    seeds = [check_int("seeds", s, low=0) for s in seeds]
    t0 = time.process_time()
    study = study_for_budget(None, budget)
    _, _, envs = study.build()
    env = envs["test"]
    same = old is not None and old.get("study") == asdict(study)
    plan = [(seed, kind, critic) for seed in seeds for kind, critic in VARIANTS]
    done = {k: r for k, r in store.finished_units(
        old, lambda r: (r["seed"], r["kind"], r["critic"]),
        same=lambda o: same).items() if k in plan}
    rows = dict(done)
    heuristic = old.get("heuristic") if same else None
    kept = bool(done) or heuristic is not None
    data = {"budget": budget, "study": asdict(study), "betas": list(BETAS),
            "shifts": list(SHIFTS), "heuristic": heuristic, "rows": []}

    def save(complete):
        data["rows"] = [rows[k] for k in plan if k in rows]
        for r in data["rows"]:
            r["table1_objective"] = _table1_objective(ref, data["study"], budget, r["kind"],
                                                      r["critic"], r["seed"])
        data["cpu_seconds"] = ((float(old.get("cpu_seconds") or 0.0) if kept else 0.0)
                               + time.process_time() - t0)
        data["command"] = (f"python -m lab retail-diagnose --budget "
                           f"{budget} --seeds {len(seeds)}")
        data["complete"] = complete
        if path is not None:
            store.write_json(path, data)

    if kept:
        print(f"resuming {store.describe(path)}: {len(done)} of {len(plan)} policies done",
              flush=True)
    if heuristic is None:
        params, _, _ = tune_heuristic("base_stock", envs["train"], HEURISTIC_GRID)
        params = {k: float(v) if k != "window" else int(v) for k, v in params.items()}
        _, heur = _measure(env, forecast_base_stock(env, **params))
        data["heuristic"] = {"params": params, **heur}
        save(False)
    for seed, kind, critic in plan:
        if (seed, kind, critic) in rows:
            continue
        over = None if critic == "action" else {"critic_input": critic}
        row, act = fit_method("ddpg", kind, study, budget, seed, envs=envs, overrides=over)
        agent = act.__self__
        obs, m = _measure(env, act)
        m.update(kind=kind, critic=critic, seed=seed, table1_objective=None)
        if kind == "both":
            m["level"] = {str(s): _metrics(env, _shifted(agent, env, s)) for s in SHIFTS}
            m["clamp"] = _clamp(agent, env, obs)
        rows[seed, kind, critic] = m
        save(False)
        print(f"DDPG + {kind:<4} (critic on the {critic}) seed {seed}: test J "
              f"{m['test']['objective']:.3f}, response {m['response']:+.2f}, damped "
              f"(beta 0.5) J {m['damping']['0.5']['objective']:.3f}", flush=True)
    save(True)
    if path is not None:
        print(store.report(path), flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab retail-diagnose")
    p.add_argument("--budget", choices=["full", "tiny"], default="full")
    p.add_argument("--seeds", type=store.int_at_least(1), default=2,
                   help="seeds 0..N-1 (default 2, Table 1's)")
    store.add_output_options(p, "retail_diagnose.json")
    a = p.parse_args(argv)
    out, write = store.output_request(a)
    seeds = tuple(range(a.seeds))
    kw = dict(out=out or "retail_diagnose", write=write, force=a.force)
    store.check_then_run(p, lambda: target(a.budget, seeds, **kw),
                         lambda: run(a.budget, seeds, **kw))


if __name__ == "__main__":
    main()
