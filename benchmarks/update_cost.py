"""What one gradient update of DDPG and dist. SAC costs, under the package's CPU kernels and
under MKL's default ones.

The agents benchmark (``benchmarks/agents.py``) reports CPU milliseconds per environment step
of training; with one update per transition (DDPG) or per two (dist. SAC, two SKUs a vector
step), the update is most of it. This script times the update alone: the chapter's
configuration of each agent (Chapter 6's DDPG, Chapter 8's dist. SAC; instance (b)'s
three-number observation), a replay buffer of random transitions, one fixed minibatch, and
``--blocks`` blocks of ``--updates`` calls to ``agent.update``; it prints the fastest block's
milliseconds per update (the least disturbed by other jobs) and what that alone costs per
environment step. Each setting runs in a fresh process, because MKL reads ``MKL_CBWR`` at its
first call:

* ``pinned``: the package's settings (``MKL_CBWR=COMPATIBLE``, ``ATEN_CPU_CAPABILITY=avx2``;
  ``deepstock_lite.core.seeding``), the same bits on every x86 CPU;
* ``default``: MKL's and torch's own choice for this CPU (``MKL_CBWR=`` empty,
  ``ATEN_CPU_CAPABILITY`` unset), faster, and different bits on different CPUs.

Run:  python benchmarks/update_cost.py [--updates N] [--blocks B] [--algos ddpg dsac]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from deepstock_lite.core.seeding import REPRODUCIBLE_CPU, cpu_name

SETTINGS = {"pinned": dict(REPRODUCIBLE_CPU),
            "default": {"MKL_CBWR": "", "ATEN_CPU_CAPABILITY": None}}
#: updates per environment step in the agents benchmark's configuration
UPDATES_PER_STEP = {"ddpg": 1.0, "dsac": 0.5}


def time_updates(algo, updates, blocks):
    """Fastest block's CPU milliseconds per ``agent.update`` (this process's kernels)."""
    import numpy as np
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from agents import chapter_setup

    from deepstock_lite.rl import BaseStockDecoder, ddpg, dsac

    torch.set_num_threads(1)
    cfg = chapter_setup(algo, 0)[1]
    cls = {"ddpg": ddpg.DDPG, "dsac": dsac.DSAC}[algo]
    agent = cls(cfg, 3, cfg.a_max, BaseStockDecoder(2))
    rng = np.random.default_rng(0)
    for _ in range(20):                       # 2 000 random transitions
        obs = rng.uniform(0.0, 30.0, (100, 3)).astype(np.float32)
        agent.buffer.add(obs, rng.uniform(-1.0, 1.0, (100, 1)), -rng.uniform(0.0, 10.0, 100),
                         obs, np.zeros(100))
    agent.obs_norm.update(obs)
    batch = agent.buffer.sample(cfg.batch_size, agent.gen)
    for _ in range(min(updates, 100)):        # warm up the allocator and the kernels
        agent.update(batch)
    best = float("inf")
    for _ in range(blocks):
        t = time.process_time()
        for _ in range(updates):
            agent.update(batch)
        best = min(best, (time.process_time() - t) / updates)
    return 1000.0 * best


def run_setting(name, algo, updates, blocks):
    """:func:`time_updates` in a fresh process with the environment of setting ``name``."""
    env = dict(os.environ)
    for key, value in SETTINGS[name].items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", algo,
                          "--updates", str(updates), "--blocks", str(blocks)],
                         env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", choices=sorted(UPDATES_PER_STEP),
                   default=sorted(UPDATES_PER_STEP))
    p.add_argument("--updates", type=int, default=500, help="updates per block (>= 1)")
    p.add_argument("--blocks", type=int, default=5, help="timed blocks (>= 1)")
    p.add_argument("--child", choices=sorted(UPDATES_PER_STEP), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.updates < 1 or args.blocks < 1:
        p.error(f"--updates and --blocks must be at least 1, got {args.updates} and "
                f"{args.blocks}")
    if args.child:
        print(time_updates(args.child, args.updates, args.blocks))
        return None
    print(f"# python benchmarks/update_cost.py --updates {args.updates} --blocks "
          f"{args.blocks}  ({cpu_name()}, load average "
          f"{os.getloadavg()[0]:.1f}); fastest block, CPU ms")
    print(f"{'algo':5} {'kernels':8} {'ms/update':>9} {'ms/step, updates alone':>23}")
    rows = []
    for algo in args.algos:
        for name in SETTINGS:
            ms = run_setting(name, algo, args.updates, args.blocks)
            rows.append({"algo": algo, "kernels": name, "ms_per_update": ms,
                         "ms_per_step": ms * UPDATES_PER_STEP[algo]})
            print(f"{algo:5} {name:8} {ms:9.2f} {ms * UPDATES_PER_STEP[algo]:23.2f}",
                  flush=True)
    return rows


if __name__ == "__main__":
    main()
