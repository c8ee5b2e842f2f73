"""What the decoding wrapper costs: steps per second of ``RegularizedAction`` against the
environment it wraps and against a bare pure-Python environment, in one process.

Rows (instance (b): lost sales, L = 2, Poisson(5), h = 1, b = 4, episodes of 1 000 periods,
resets included, random actions drawn beforehand):

* the bare environment: ``ReferenceLostSalesEnv`` of ``benchmarks/simulator.py`` (30 lines of
  plain Python, no checks), the yardstick;
* ``InventoryEnv`` alone, and a minimal Base wrapper in plain Python (no checks, no info), the
  least a wrapper can cost;
* ``RegularizedAction(InventoryEnv, kind)`` for ``none`` and ``base``; ``coeff`` and ``both``
  read a demand-rate feature, so they wrap an ``InventoryEnv`` with one feature column (its
  own row, since building that observation costs more).

The rows are timed in turn, ``--repeats`` times (interleaved, so a change of machine load hits
every row alike); the table gives the median steps/s and the medians of the per-repetition
ratios to the bare environment and, for a wrapper, to the environment it wraps.

Run:  python benchmarks/wrapper_speed.py [--steps N] [--repeats R] [--json PATH]
      (the committed table: ``> benchmarks/results/wrapper_speed.txt``)
Target: every ``RegularizedAction`` row >= 0.5x the bare environment.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulator import ReferenceLostSalesEnv  # noqa: E402

from deepstock_lite import InventorySystem  # noqa: E402
from deepstock_lite.core.demand import Poisson  # noqa: E402
from deepstock_lite.envs import InventoryEnv, RegularizedAction  # noqa: E402

SCALE = 50.0          # none: the largest order; base: the largest target position
HORIZON, Q_MAX = 1000, 60.0


class BareBaseWrapper(gym.ActionWrapper):
    """The least a Base decoding can cost: order up to 25 (u + 1), no checks, no info."""

    def action(self, action):
        obs = self._obs
        return np.array([max(SCALE * (float(action[0]) + 1.0) / 2.0 - obs[0] - obs[1], 0.0)])

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._obs = obs.tolist()
        return obs, info

    def step(self, action):
        out = self.env.step(self.action(action))
        self._obs = out[0].tolist()
        return out


def rows():
    """``{name: (env, k)}``: each environment and the width of its action."""
    system = InventorySystem(L=2, h=1.0, b=4.0, backlog=False)

    def env():
        return InventoryEnv(system, Poisson(5.0), HORIZON, Q_MAX)

    def env_with_rate():             # one feature column: the demand rate, 5 every period
        D = Poisson(5.0).sample(64, HORIZON, seed=1)
        return InventoryEnv(system, D, HORIZON, Q_MAX, features=np.full((64, HORIZON, 1), 5.0))

    feature = dict(feature_index=(2,), days=2.0, bias_scale=10.0)
    return {
        "bare env (pure Python)": (ReferenceLostSalesEnv(horizon=HORIZON, q_max=Q_MAX), 1),
        "bare Python Base wrapper": (BareBaseWrapper(env()), 1),
        "InventoryEnv": (env(), 1),
        "RegularizedAction none": (RegularizedAction(env(), "none", scale=SCALE), 1),
        "RegularizedAction base": (RegularizedAction(env(), "base", scale=SCALE), 1),
        "InventoryEnv + feature": (env_with_rate(), 1),
        "RegularizedAction coeff": (RegularizedAction(env_with_rate(), "coeff", **feature), 2),
        "RegularizedAction both": (RegularizedAction(env_with_rate(), "both", **feature), 2),
    }


def steps_per_second(env, actions):
    """Steps per second over the list ``actions``, resets included."""
    env.reset(seed=0)
    step = env.step
    t0 = time.perf_counter()
    for a in actions:
        if step(a)[3]:
            env.reset()
    return len(actions) / (time.perf_counter() - t0)


def measure(n_steps=100_000, repeats=7, seed=0):
    """``{name: [steps/s per repetition]}``, the rows timed in turn in each repetition."""
    envs = rows()
    rng = np.random.default_rng(seed)
    # the same random actions for every row: in [-1, 1] for the wrappers, an order in
    # [0, 12] for the bare environments
    u = rng.uniform(-1.0, 1.0, size=(n_steps, 2)).astype(np.float32)
    acts = {1: list(u[:, :1]), 2: list(u)}
    orders = list((6.0 * (u[:, :1] + 1.0)).astype(np.float32))
    rates = {name: [] for name in envs}
    for _ in range(repeats):
        for name, (env, k) in envs.items():
            wrapped = isinstance(env, gym.ActionWrapper)
            rates[name].append(steps_per_second(env, acts[k] if wrapped else orders))
    return rates


# the environment under each wrapper, for the wrapper's share of a step
OWN_ENV = {"bare Python Base wrapper": "InventoryEnv", "RegularizedAction none": "InventoryEnv",
           "RegularizedAction base": "InventoryEnv",
           "RegularizedAction coeff": "InventoryEnv + feature",
           "RegularizedAction both": "InventoryEnv + feature"}


def summarize(rates):
    """Rows ``(name, median steps/s, median ratio to the bare env, median ratio to the
    environment it wraps or None)``, ratios taken within each repetition."""
    def ratio(r, s):
        return statistics.median(x / y for x, y in zip(r, s))
    bare = rates["bare env (pure Python)"]
    return [(name, statistics.median(r), ratio(r, bare),
             ratio(r, rates[OWN_ENV[name]]) if name in OWN_ENV else None)
            for name, r in rates.items()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100_000, help="steps per row and repetition")
    p.add_argument("--repeats", type=int, default=7, help="interleaved repetitions")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        p.error("--steps and --repeats must be at least 1")
    table = summarize(measure(args.steps, args.repeats))
    print(f"# python benchmarks/wrapper_speed.py --steps {args.steps} --repeats {args.repeats}"
          f"  (Python {platform.python_version()}, numpy {np.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}; medians of {args.repeats} interleaved repetitions)")
    print(f"{'single environment, instance (b)':28} {'steps/s':>10} {'x bare env':>11}"
          f" {'x its env':>10}")
    for name, rate, ratio, own in table:
        print(f"{name:28} {rate:>10,.0f} {ratio:>10.2f}x" + (f" {own:>9.2f}x" if own else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"row": n, "steps_per_s": r, "ratio_to_bare": x, "ratio_to_its_env": o}
                       for n, r, x, o in table], f, indent=1)
    return table


if __name__ == "__main__":
    main()
