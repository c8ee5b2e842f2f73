"""The agents' learned targets against the optimal policy's, on Zipkin's cells at L = 4.

    python -m lab zipkin-rl-structure --budget full --write
    python -m lab zipkin-rl-structure --budget tiny

Chapter 9 finds DDPG + Base above 1% of the optimum on many of Zipkin's lost-sales cells. This
experiment looks at what its policy does. For each cell (L, b) of the budget, agent (DDPG, PPO,
dist. SAC) and seed it trains the agent with Base decoding as ``python -m lab zipkin-rl`` does (the same
configuration, seed and validation demand; the row records its exact gap too), then
simulates the *optimal* policy on Poisson(5) demand and, on the states it visits, compares the
agent's target position y(s) (its raw action under Base) with the optimal policy's implied
target q*(s) + position(s), at the states where the optimal order is positive: the mean of
y - y* (the bias), their correlation, and the spread of each across states. Under lost sales
the optimal target is not constant (Chapter 9), so a policy near the optimum must track it.
The budget's ``variants`` repeat some runs with a configuration field changed (DDPG's
minibatch, its transitions, TD3's changes, its exploration noise), to test a suspected cause;
their rows carry ``variant`` and ``config``. A variant with ``score_checkpoints`` also scores
exactly the policy at every evaluation, not only the one kept (row field ``checkpoints``).

Rows go to ``zipkin_rl_structure.json`` as each run ends (a killed run resumes): the committed
file only at ``--budget full`` with ``--write`` (or ``--out NAME``), else ``results_tmp/``; a
file of another budget is replaced only with ``--force``.
"""
from __future__ import annotations

import argparse

import numpy as np

from deepstock_lite.classical import DiscreteDemand, solve_lost_sales
from deepstock_lite.core import results_store as store
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.results_store import add_output_options, output_request
from deepstock_lite.core.simulator import InventorySystem

from .budgets import ZIPKIN_RL_STRUCTURE as BUDGETS
from .zipkin_rl import H, MEAN, zipkin_rl_run

__all__ = ["optimal_states", "target_structure", "target", "run_structure", "main",
           "EXPERIMENT"]

EXPERIMENT = "the agents' targets against the optimal policy's on Zipkin's cells"


def optimal_states(L, b, paths, periods, seed=0):
    """``(states, optimal orders)``: the states ``(n, L)`` (on hand, then the pipeline) the
    optimal policy of cell (L, b) visits on ``paths`` simulated paths of Poisson demand, after
    a burn-in of 50 periods, ``periods`` per path, and its order at each."""
    opt = solve_lost_sales(DiscreteDemand.poisson(MEAN), L=L, h=H, b=b)
    system = InventorySystem(L=L, h=H, b=b, backlog=False)
    state = system.initial_state(paths, on_hand=10.0)
    D = Poisson(MEAN).sample(paths, 50 + periods, seed=seed)
    X = []
    for t in range(50 + periods):
        if t >= 50:
            X.append(np.column_stack([state.on_hand, state.pipeline]))
        system.step(state, opt.policy.act(state), D[:, t])
    X = np.concatenate(X)
    return X, opt.policy.order_many(X).astype(float)


def target_structure(agent, states, orders):
    """The agent's target y(s) against the optimal implied target y*(s) = q*(s) + position(s)
    at the states where the optimal order q* is positive: ``{"bias": mean(y - y*),
    "corr": corr(y, y*) (0 when either is constant), "sd_agent", "sd_optimal",
    "n_states"}``."""
    ordering = orders > 0
    s = states[ordering]
    y_opt = orders[ordering] + s.sum(1)
    y = np.asarray(agent.raw_action(s.astype(np.float64)), np.float64).reshape(-1)
    # a constant target does not depend on the state: correlation 0 (not numpy's NaN)
    corr = float(np.corrcoef(y, y_opt)[0, 1]) if np.ptp(y) > 0 and np.ptp(y_opt) > 0 else 0.0
    return {"bias": float(np.mean(y - y_opt)), "corr": corr,
            "sd_agent": float(np.std(y)), "sd_optimal": float(np.std(y_opt)),
            "n_states": int(ordering.sum())}


def target(out="zipkin_rl_structure", *, budget="full", write=False, force=False):
    """``(path, old)``: where the experiment writes and the rows it resumes from, checked
    before anything trains (:func:`deepstock_lite.core.results_store.prepare`)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}, got {budget!r}")
    return store.prepare(out, budget=budget, write=write, force=force,
                         identity={"experiment": EXPERIMENT, "budget": budget})


def run_structure(budget="full", out="zipkin_rl_structure", *, write=False, force=False,
                  quiet=False):
    """Every cell x agent x seed of ``budget``, then its variants; resumable (finished rows
    are kept)."""
    path, old = target(out, budget=budget, write=write, force=force)
    plan = BUDGETS[budget]
    data = old or {"experiment": EXPERIMENT, "budget": budget,
                   "command": f"python -m lab zipkin-rl-structure --budget {budget}",
                   "rows": []}
    done = {(r["L"], r["b"], r["algo"], r["seed"], r.get("variant")) for r in data["rows"]}
    paths, periods = plan["states"]
    # the chapters' configuration on every cell, agent and seed; then each variant (a
    # configuration change on some cells, one agent, its seeds)
    units = [((L, b), algo, seed, None, {}) for L, b in plan["cells"]
             for algo in plan["algos"] for seed in plan["seeds"]]
    units += [(cell, v["algo"], seed, name, v)
              for name, v in plan.get("variants", {}).items()
              for cell in v["cells"] for seed in v["seeds"]]
    states_of = {}
    for (L, b), algo, seed, variant, v in units:
        if (L, b, algo, seed, variant) in done:
            continue
        if (L, b) not in states_of:
            states_of[L, b] = optimal_states(L, b, paths, periods)
        row, agent = zipkin_rl_run(L, b, algo=algo, reg="base", seed=seed,
                                   budget=plan["train"], return_agent=True,
                                   overrides=v.get("config"),
                                   score_checkpoints=v.get("score_checkpoints", False))
        row.update(target_structure(agent, *states_of[L, b]))
        if variant is not None:
            row.update(variant=variant, config=dict(v["config"]))
        data["rows"].append(row)
        if path is not None:
            store.write_json(path, data)
        if not quiet:
            print(f"L={L} b={b:>2} {algo:>4} seed {seed} {variant or ''}: gap "
                  f"{row['gap']:+.2%}, target bias {row['bias']:+.2f}, corr "
                  f"{row['corr']:+.2f}", flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab zipkin-rl-structure",
                                description=__doc__.splitlines()[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    add_output_options(p, "zipkin_rl_structure.json")
    a = p.parse_args(argv)
    out, write = output_request(a)
    kw = dict(out=out or "zipkin_rl_structure", budget=a.budget, write=write, force=a.force)
    store.check_then_run(p, lambda: target(**kw), lambda: run_structure(**kw))


if __name__ == "__main__":
    main()
