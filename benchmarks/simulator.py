"""Simulator throughput, one core, in one run:

1. the batched simulator: SKU-periods per second for batches of SKUs, against a plain per-SKU
   Python loop of the same dynamics (backlog, L = 2, base stock, Poisson demand);
2. the single gymnasium environment ``InventoryEnv.step`` (period and attributed rewards)
   against a minimal pure-Python reference lost-sales environment written below, on the
   same instance (b): lost sales, L = 2, Poisson(5), h = 1, b = 4, episodes of 1 000 periods
   (resets included);
3. vector environments: the batched ``BatchInventoryEnv``, its Stable-Baselines3 adapter
   ``BatchVecEnv``, and SB3's ``DummyVecEnv`` over single ``InventoryEnv``s (SB3 part skipped
   when stable-baselines3 is not installed), in SKU-steps per second;
4. the decoding wrappers: ``RegularizedAction`` with each DeepStock decoding (none, base,
   coeff, both) beside the bare reference environment, ``InventoryEnv`` and a minimal Base
   wrapper in plain Python; ``RegularizedVectorAction`` with each decoding beside the bare
   ``BatchInventoryEnv``. Coeff and Both read a demand-rate feature, so they wrap an
   environment with one feature column (its own row: that observation costs more). The rows
   are timed in turn, ``repeats`` times (interleaved, so a change of machine load hits every
   row alike), in CPU time of this process (time the core spends on another process is not
   counted); the tables give median rates and the medians of the per-repetition ratios to
   the bare environment and to the environment each wrapper wraps.

Run:  python benchmarks/simulator.py            (prints a table; --out FILE also writes it)
      (section 4 alone, with a JSON option: python benchmarks/wrapper_speed.py)
Targets: >= 20 million SKU-periods/s at 8 192 SKUs and >= 20x the plain loop;
``InventoryEnv.step`` >= 150 k steps/s (period reward) and >= 100 k (attributed reward);
every wrapper row >= 0.5x the bare environment.
"""
import argparse
import io
import os
import platform
import statistics
import time
from contextlib import redirect_stdout

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from deepstock_lite import InventorySystem, simulate  # noqa: E402
from deepstock_lite.core.demand import Poisson  # noqa: E402
from deepstock_lite.core.policies import BaseStock  # noqa: E402
from deepstock_lite.envs import (BatchInventoryEnv, InventoryEnv, RegularizedAction,  # noqa: E402
                                 RegularizedVectorAction)


def plain_loop(demand, S, L, h, b):
    """The same event order as InventorySystem.step, one SKU at a time, in plain Python."""
    total = 0.0
    for row in demand.tolist():
        on_hand, pipe = 0.0, [0.0] * L
        for d in row:
            position = on_hand + sum(pipe)
            q = max(S - position, 0.0)
            pipe[L - 1] = q
            end = on_hand - d
            total += h * end if end > 0 else -b * end
            on_hand = end + pipe[0]
            pipe = pipe[1:] + [0.0]
    return total


class ReferenceLostSalesEnv:
    """A minimal pure-Python lost-sales environment (the yardstick of the single env).

    Lead time ``L >= 1``, Poisson demand drawn for the whole episode at reset, observation
    ``[on_hand, pipeline (L-1)]`` as a float32 array, reward minus the period's cost. The
    gymnasium step signature, no argument checks, no features, no attributed reward.
    """

    def __init__(self, L=2, h=1.0, b=4.0, mean=5.0, horizon=1000, q_max=60.0, on_hand=0.0):
        self.L, self.h, self.b, self.mean = L, h, b, mean
        self.horizon, self.q_max, self.on_hand0 = horizon, q_max, on_hand
        self.rng = np.random.default_rng()

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.demand = self.rng.poisson(self.mean, self.horizon).astype(float).tolist()
        self.t, self.x, self.pipe = 0, self.on_hand0, [0.0] * (self.L - 1)
        return np.array([self.x, *self.pipe], dtype=np.float32), {}

    def step(self, action):
        q = min(max(float(action[0]), 0.0), self.q_max)
        self.pipe.append(q)
        d = self.demand[self.t]
        sales = min(d, max(self.x, 0.0))
        end = self.x - sales
        cost = self.h * end + self.b * (d - sales)
        self.x = end + self.pipe.pop(0)
        self.t += 1
        obs = np.array([self.x, *self.pipe], dtype=np.float32)
        return obs, -cost, False, self.t >= self.horizon, {"cost": cost}


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def steps_per_second(env, n_steps=200_000, repeats=3):
    """Single-env steps per second, a constant order of 5, resets included."""
    action = np.array([5.0], dtype=np.float32)

    def loop():
        env.reset(seed=0)
        step = env.step
        for _ in range(n_steps):
            if step(action)[3]:
                env.reset()
    return n_steps / best_of(loop, repeats)


def batched_simulator():
    rng = np.random.default_rng(0)
    system = InventorySystem(L=2, h=1.0, b=9.0)
    policy = BaseStock(20)
    print(f"{'batch (SKUs)':>12} {'periods':>8} {'SKU-periods/s':>16}")
    rates = {}
    for n in (1, 64, 1024, 8192):
        T = max(200, 2_000_000 // n) if n > 1 else 20_000
        D = rng.poisson(5, size=(n, T)).astype(float)
        dt = best_of(lambda: simulate(system, policy, D))
        rates[n] = n * T / dt
        print(f"{n:>12} {T:>8} {rates[n]:>16,.0f}")
    n, T = 64, 2000
    D = rng.poisson(5, size=(n, T)).astype(float)
    dt = best_of(lambda: plain_loop(D, 20.0, 2, 1.0, 9.0))
    loop_rate = n * T / dt
    print(f"{'plain loop':>12} {T:>8} {loop_rate:>16,.0f}")
    print(f"speed-up at 8192 SKUs over the plain loop: {rates[8192] / loop_rate:.1f}x")
    # the two implementations agree on the cost
    ref = plain_loop(D[:4], 20.0, 2, 1.0, 9.0)
    vec = simulate(system, policy, D[:4]).cost.sum()
    assert abs(ref - vec) < 1e-6 * abs(ref), (ref, vec)


def single_env():
    system = InventorySystem(L=2, h=1.0, b=4.0, backlog=False)
    rates = {}
    rates["reference env (pure Python)"] = steps_per_second(ReferenceLostSalesEnv())
    for reward in ("period", "attributed"):
        env = InventoryEnv(system, Poisson(5.0), 1000, 60.0, reward=reward)
        rates[f"InventoryEnv, {reward} reward"] = steps_per_second(env)
    print(f"\n{'single environment (instance b, 1 000-period episodes)':56} {'steps/s':>10}")
    for name, r in rates.items():
        print(f"{name:56} {r:>10,.0f}")
    ref = rates["reference env (pure Python)"]
    print(f"InventoryEnv / reference: period {rates['InventoryEnv, period reward'] / ref:.2f}x,"
          f" attributed {rates['InventoryEnv, attributed reward'] / ref:.2f}x "
          "(targets: 150 k and 100 k steps/s)")
    # both give the same rewards on the same demand
    ref_env = ReferenceLostSalesEnv(horizon=200)
    ref_env.reset(seed=3)
    env = InventoryEnv(system, np.array([ref_env.demand]), 200, 60.0)
    env.reset(options={"path": 0})
    for q in np.random.default_rng(4).uniform(0, 12, 200):
        a = np.array([q], dtype=np.float32)
        assert env.step(a)[1] == ref_env.step(a)[1]
    return rates


def vector_envs(sizes=(16, 256, 4096), steps=None):
    system = InventorySystem(L=2, h=1.0, b=4.0, backlog=False)
    rng = np.random.default_rng(0)
    print(f"\n{'vector environments (SKU-steps/s)':40}" + "".join(f"{n:>12,}" for n in sizes))

    def rate(make, n):
        venv = make(n)
        k = steps or max(200, 400_000 // n)
        acts = rng.uniform(0, 12, size=(k, n, 1)).astype(np.float32)
        venv.reset()
        t0 = time.perf_counter()
        for a in acts:
            venv.step(a)
        return n * k / (time.perf_counter() - t0)

    rows = {"BatchInventoryEnv (gymnasium VectorEnv)": lambda n: _GymAsVec(
        BatchInventoryEnv(system, Poisson(5.0), 1000, 60.0, n_envs=n, seed=0))}
    try:
        from stable_baselines3.common.vec_env import DummyVecEnv
        from deepstock_lite.integrations.sb3 import BatchVecEnv
        rows["BatchVecEnv (SB3 VecEnv adapter)"] = lambda n: BatchVecEnv(
            BatchInventoryEnv(system, Poisson(5.0), 1000, 60.0, n_envs=n), seed=0)
        rows["DummyVecEnv of InventoryEnv (SB3)"] = lambda n: DummyVecEnv(
            [lambda: InventoryEnv(system, Poisson(5.0), 1000, 60.0)] * n)
    except ImportError:
        print("(stable-baselines3 not installed: SB3 rows skipped)")
    out = {}
    for name, make in rows.items():
        out[name] = [rate(make, n) for n in sizes]
        print(f"{name:40}" + "".join(f"{r:>12,.0f}" for r in out[name]))
    if "DummyVecEnv of InventoryEnv (SB3)" in out:
        ratio = np.array(out["BatchVecEnv (SB3 VecEnv adapter)"]) / np.array(
            out["DummyVecEnv of InventoryEnv (SB3)"])
        print(f"{'BatchVecEnv / DummyVecEnv':40}" + "".join(f"{r:>11.1f}x" for r in ratio))
    return out


class _GymAsVec:
    """Step a gymnasium VectorEnv with SB3's reset()/step() call pattern (autoreset)."""

    def __init__(self, env):
        self.env = env

    def reset(self):
        return self.env.reset()[0]

    def step(self, a):
        out = self.env.step(a)
        if out[3][0]:
            self.env.reset()
        return out


# -- 4. the decoding wrappers -----------------------------------------------------------------

KINDS = ("none", "base", "coeff", "both")
SCALE = 50.0          # none: the largest order; base: the largest target position
HORIZON, Q_MAX = 1000, 60.0
# coeff and both: one coefficient on the demand-rate column (column 2: on hand, pipeline, rate)
FEATURE = dict(feature_index=(2,), days=2.0, bias_scale=10.0)
LOST_SALES = dict(L=2, h=1.0, b=4.0, backlog=False)          # instance (b)


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


def _kwargs(kind):
    return dict(a_max=SCALE) if kind in ("none", "base") else FEATURE


def single_rows():
    """``{name: (env, k, its env)}``: each single environment, the width of its action (0:
    an order) and, for a wrapper, the row of the environment it wraps."""
    system = InventorySystem(**LOST_SALES)

    def env():
        return InventoryEnv(system, Poisson(5.0), HORIZON, Q_MAX)

    def env_with_rate():             # one feature column: the demand rate, 5 every period
        D = Poisson(5.0).sample(64, HORIZON, seed=1)
        return InventoryEnv(system, D, HORIZON, Q_MAX, features=np.full((64, HORIZON, 1), 5.0))

    rows = {"bare env (pure Python)": (ReferenceLostSalesEnv(horizon=HORIZON, q_max=Q_MAX), 0,
                                       None),
            "InventoryEnv": (env(), 0, None),
            "InventoryEnv + feature": (env_with_rate(), 0, None),
            "bare Python Base wrapper": (BareBaseWrapper(env()), 1, "InventoryEnv")}
    for kind in KINDS:
        plain = kind in ("none", "base")
        wrapped = RegularizedAction(env() if plain else env_with_rate(), kind, **_kwargs(kind))
        rows[f"RegularizedAction {kind}"] = (wrapped, wrapped.action_space.shape[0],
                                             "InventoryEnv" if plain else
                                             "InventoryEnv + feature")
    return rows


def vector_rows(n):
    """``{name: (env, k, its env)}`` for a batch of ``n`` SKUs, as :func:`single_rows`."""
    system = InventorySystem(**LOST_SALES)
    D = Poisson(5.0).sample(n, HORIZON, seed=1)

    def env():
        return BatchInventoryEnv(system, D, HORIZON, Q_MAX)

    def env_with_rate():
        return BatchInventoryEnv(system, D, HORIZON, Q_MAX,
                                 features=np.full((n, HORIZON, 1), 5.0))

    rows = {"BatchInventoryEnv": (env(), 0, None),
            "BatchInventoryEnv + feature": (env_with_rate(), 0, None)}
    for kind in KINDS:
        plain = kind in ("none", "base")
        wrapped = RegularizedVectorAction(env() if plain else env_with_rate(), kind,
                                          **_kwargs(kind))
        rows[f"RegularizedVectorAction {kind}"] = (
            wrapped, wrapped.single_action_space.shape[0],
            "BatchInventoryEnv" if plain else "BatchInventoryEnv + feature")
    return rows


def cpu_rate(env, actions):
    """Steps per CPU second over the list ``actions``, resets included."""
    env.reset(seed=0)
    step = env.step
    t0 = time.process_time()
    if isinstance(env, gym.vector.VectorEnv):     # truncated: one flag per SKU
        for a in actions:
            if step(a)[3][0]:
                env.reset()
    else:
        for a in actions:
            if step(a)[3]:
                env.reset()
    return len(actions) / (time.process_time() - t0)


def interleaved(rows, actions, repeats):
    """``{name: [rate per repetition]}``: every row timed in turn, ``repeats`` times."""
    rates = {name: [] for name in rows}
    for _ in range(repeats):
        for name, (env, k, _) in rows.items():
            rates[name].append(cpu_rate(env, actions[k]))
    return rates


def summarize(rows, rates, bare):
    """``[(name, median rate, median ratio to bare, median ratio to its env or None)]``."""
    def ratio(r, s):
        return statistics.median(x / y for x, y in zip(r, s))
    return [(name, statistics.median(r), ratio(r, rates[bare]),
             ratio(r, rates[rows[name][2]]) if rows[name][2] else None)
            for name, r in rates.items()]


def wrapper_actions(shape, n_steps, seed=0):
    """The same random actions for every row, ``{k: list}``: in [-1, 1] for a wrapper of
    action width k, an order in [0, 12] (k = 0) for a bare environment. A vector row cycles
    through 64 drawn batches."""
    rng = np.random.default_rng(seed)
    n_drawn = n_steps if not shape else min(n_steps, 64)
    u = rng.uniform(-1.0, 1.0, size=(n_drawn, *shape, 2)).astype(np.float32)
    pick = [i % n_drawn for i in range(n_steps)]
    acts = {k: [u[i, ..., :k] for i in pick] for k in (1, 2)}
    acts[0] = [(6.0 * (u[i, ..., :1] + 1.0)).astype(np.float32) for i in pick]
    return acts


def decoding_wrappers(n_steps=100_000, repeats=7, sizes=(16, 256, 4096), vector_steps=2000):
    """Section 4: returns ``{"single": summary rows, n: summary rows for n SKUs}``."""
    out = {}
    rows = single_rows()
    rates = interleaved(rows, wrapper_actions((), n_steps), repeats)
    out["single"] = summarize(rows, rates, "bare env (pure Python)")
    for n in sizes:
        rows = vector_rows(n)
        rates = interleaved(rows, wrapper_actions((n,), vector_steps), repeats)
        out[n] = summarize(rows, rates, "BatchInventoryEnv")
    for key, table in out.items():
        title, unit = (("single environment (instance b)", "steps/s") if key == "single" else
                       (f"vector environment, {key:,} SKUs", "SKU-steps/s"))
        print(f"\n{'decoding wrappers, ' + title:52} {unit:>12} {'x bare env':>11}"
              f" {'x its env':>10}")
        for name, rate, ratio, own in table:
            rate = rate if key == "single" else rate * key
            print(f"{name:52} {rate:>12,.0f} {ratio:>10.2f}x" + (f" {own:>9.2f}x" if own else ""))
    print(f"(medians of {repeats} interleaved repetitions of {n_steps:,} single-environment "
          f"steps and {vector_steps:,} vector steps, CPU time; x bare env: the ratio to the "
          "reference env, or to BatchInventoryEnv; x its env: to the environment wrapped)")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="also write the printed table to this file")
    args = p.parse_args(argv)
    buf = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, s):
            buf.write(s)
            return os.sys.__stdout__.write(s)

    with redirect_stdout(Tee()):
        print(f"# python benchmarks/simulator.py  ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
              f", Python {platform.python_version()}, one thread, load average "
              f"{os.getloadavg()[0]:.1f})")
        batched_simulator()
        single_env()
        vector_envs()
        decoding_wrappers()
        print(f"# load average at the end: {os.getloadavg()[0]:.1f} (1 min), "
              f"{os.getloadavg()[1]:.1f} (5 min)")
    if args.out:
        with open(args.out, "w") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main()
