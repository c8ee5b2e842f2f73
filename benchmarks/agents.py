"""Deep-RL agents against the known optima of instances (a) and (b).

For each algorithm (DDPG, PPO, distributional SAC), instance and seed: train with the
chapter's configuration (Base decoding, target range [0, 50], so the untrained actor's
midpoint 25 is NOT the optimum), select the best policy on held-out validation demand, and
score it on a separate long test set (500 paths x 2000 periods, common random numbers for
every policy). Prints the gap to the optimum (7.123 for (a), 4.395 for (b)), the gap to the
best base-stock policy on the same test paths, the cost at the start (untrained actor), and
the training wall time to come within 3% of the optimum on the validation set ("start" is
the untrained agent's validation cost), and the CPU milliseconds per environment step of
training (updates, acting and held-out evaluations included; one torch thread), the figure
to compare with Stable-Baselines3's agents on the same machine.

    python benchmarks/agents.py                      # all algorithms, both instances, 3 seeds
    python benchmarks/agents.py --algos ddpg --instances a --seeds 0 1 --json results_tmp/a.json

Every option, and that the ``--json`` file can be written, are checked before any training;
the file is written atomically.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from deepstock_lite import set_seed
from deepstock_lite.core import results_store as store
from deepstock_lite.envs import BatchInventoryEnv
from deepstock_lite.rl import BaseStockDecoder, ddpg, dsac, ppo
from deepstock_lite.rl.instances import INSTANCES, get_instance, make_envs

A_MAX = 50.0


def chapter_setup(algo, seed):
    """(env kwargs, config) used by the chapters."""
    if algo == "ddpg":
        return dict(n_envs=1, horizon=100), ddpg.DDPGConfig(a_max=A_MAX, seed=seed)
    if algo == "ppo":
        # log_std_init=-1.6 (exploration noise of 5 units at the start): the mean of a noisier
        # Gaussian policy is biased above the optimal target on an asymmetric cost, and the
        # bias left when training stops costs 2-4% on (a) (Chapter 7)
        return dict(n_envs=16, horizon=64), ppo.PPOConfig(total_steps=300_000, lr=1e-3,
                                                          minibatch_size=512, log_std_init=-1.6,
                                                          a_max=A_MAX, eval_every=10_240,
                                                          seed=seed)
    if algo == "dsac":
        return dict(n_envs=2, horizon=100), dsac.DSACConfig(a_max=A_MAX, seed=seed)
    raise ValueError(f"algo must be ddpg, ppo or dsac, got {algo!r}")


MODULES = {"ddpg": ddpg, "ppo": ppo, "dsac": dsac}


def test_env(inst, paths=500, horizon=2000, seed=999):
    D = inst.demand().sample(paths, horizon, seed=seed)
    return BatchInventoryEnv(inst.system(), D, horizon, 60.0, on_hand=15.0)


def run(algo, name, seed, test, steps=None):
    inst = get_instance(name)
    set_seed(seed)
    env_kw, cfg = chapter_setup(algo, seed)
    if steps is not None:  # a small budget (smoke tests): shrink every step count together
        extra = {"learning_starts": min(cfg.learning_starts, steps // 2)} \
            if hasattr(cfg, "learning_starts") else {}
        cfg = dataclasses.replace(cfg, total_steps=steps, eval_every=max(steps // 2, 1), **extra)
    env, ev = make_envs(name, **env_kw)
    cls = {"ddpg": ddpg.DDPG, "ppo": ppo.PPO, "dsac": dsac.DSAC}[algo]
    untrained = cls(cfg, env.single_observation_space.shape[0], A_MAX,
                    BaseStockDecoder(inst.L)).evaluate(ev)
    t, cpu = time.perf_counter(), time.process_time()
    agent, hist = MODULES[algo].train(env, cfg, eval_env=ev, decoder=BaseStockDecoder(inst.L),
                                      quiet=True)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    within = [h["wall_time"] for h in hist if h["eval_cost"] <= 1.03 * inst.optimum]
    cost = agent.evaluate(test)
    S = inst.base_stock_level
    bs = test.rollout(lambda o: np.maximum(S - o[:, 0] - o[:, 1], 0.0))
    return {"algo": algo, "instance": name, "seed": seed, "test_cost": cost,
            "gap": cost / inst.optimum - 1, "gap_vs_base_stock": cost / bs - 1,
            "base_stock_test_cost": bs, "initial_eval_cost": untrained,
            "best_step": agent.best["step"], "wall_s": wall, "cpu_s": cpu,
            "cpu_ms_per_step": 1000.0 * cpu / max(agent.global_step, 1),
            "time_to_3pct_s": within[0] if within else None}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", choices=list(MODULES), default=["ddpg", "ppo", "dsac"])
    p.add_argument("--instances", nargs="+", choices=sorted(INSTANCES), default=["a", "b"])
    p.add_argument("--seeds", nargs="+", type=store.int_at_least(0), default=[0, 1, 2])
    p.add_argument("--json", "--out", dest="json", default=None, metavar="PATH",
                   help="also write the rows to this JSON file")
    p.add_argument("--steps", type=store.int_at_least(2), default=None,
                   help="override total_steps (smoke test)")
    p.add_argument("--test-paths", type=store.int_at_least(1), default=500)
    args = p.parse_args(argv)
    if args.json is not None:
        try:
            store.check_writable(args.json, "--json")
        except store.ResultsError as e:
            p.error(str(e))
    torch.set_num_threads(1)
    tests = {n: test_env(get_instance(n), paths=args.test_paths) for n in args.instances}
    rows = []
    print(f"{'algo':5} {'inst':4} {'seed':4} {'start':>7} {'test':>7} {'gap':>7} "
          f"{'vs BS':>7} {'to 3%':>7} {'wall':>6} {'ms/step':>7}")
    for algo in args.algos:
        for name in args.instances:
            for seed in args.seeds:
                r = run(algo, name, seed, tests[name], args.steps)
                rows.append(r)
                t3 = "never" if r["time_to_3pct_s"] is None else f"{r['time_to_3pct_s']:.0f}s"
                print(f"{algo:5} {name:4} {seed:4d} {r['initial_eval_cost']:7.3f} "
                      f"{r['test_cost']:7.3f} {r['gap']:7.1%} {r['gap_vs_base_stock']:7.1%} "
                      f"{t3:>7} {r['wall_s']:5.0f}s {r['cpu_ms_per_step']:7.2f}", flush=True)
    print("\nmean gap to optimum (test set):")
    for algo in args.algos:
        for name in args.instances:
            g = [r["gap"] for r in rows if r["algo"] == algo and r["instance"] == name]
            print(f"  {algo:5} ({name}): {np.mean(g):6.1%}  (worst {np.max(g):.1%}, "
                  f"{len(g)} seeds)")
    if args.json:
        store.write_json(args.json, rows)
        print(f"wrote {store.describe(args.json)}")


if __name__ == "__main__":
    main()
