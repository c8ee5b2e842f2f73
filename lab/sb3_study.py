"""Stable-Baselines3 beside the book's from-scratch agents, through the DeepStock wrapper.

For each library (``sb3``: Stable-Baselines3; ``book``: :mod:`deepstock_lite.rl` as the
chapters configure it; ``book_ortho``: the book's PPO with orthogonal initial weights,
``PPOConfig(ortho_init=True)``, the initialization SB3's PPO uses), algorithm (PPO, DDPG),
decoding (None: the network outputs the order; Base: it outputs a target
inventory position, :math:`q = (y - \\mathrm{tot}(I))^+`), instance ((a) backorders, (b) lost
sales, :mod:`deepstock_lite.rl.instances`) and seed, train on one CPU thread, then score the
final and the best-on-validation deterministic policies on the long held-out test set of
``benchmarks/agents.py`` (500 paths x 2000 periods, seed 999, common random numbers). Records
the gap to the known optimum and the training CPU seconds (evaluations excluded) until the
validation cost first comes within 5% of the optimum.

Both libraries get the same problem and the chapters' hyperparameters: decodings over
[0, 50] (``Regularization("none"|"base", L=2, a_max=50)``; the untrained midpoint, 25, is not
the answer), attributed rewards, gamma = 0.9, 64x64 networks; PPO on 16 SKUs x 64 periods per
update, learning rate 1e-3 decaying linearly, minibatches of 512, initial log-std -1.6; DDPG
on one SKU, episodes of 100 periods, 2 000 random warm-up steps, batch 256, tau = 0.02,
exploration noise 0.05. SB3 normalizes observations and rewards with its ``VecNormalize``; the
book's agents with their own normalizers. SB3 trains through
:class:`~deepstock_lite.envs.RegularizedAction` (DDPG, one fast
:class:`~deepstock_lite.envs.InventoryEnv`) and through
:class:`~deepstock_lite.integrations.sb3.BatchVecEnv` over
:class:`~deepstock_lite.envs.RegularizedVectorAction` (PPO, 16 SKUs in one batched env).

    python -m lab sb3-study --budget full --write   # ~25 CPU-minutes
    python -m lab sb3-study --budget tiny --out /tmp/sb3_tiny.json

The results file is rewritten after every run (never before the first run ends) and finished
runs are skipped, so a killed study resumes where it stopped. It is the committed
``deepstock_lite/data/results/sb3_study.json`` (:data:`RESULTS`) only at ``--budget full``
with ``--write``; otherwise ``results_tmp/sb3_study.json``, or ``--out PATH``. A file of
another budget, or one that is not a results file of this study, is replaced only with
``--force``.
"""
from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from deepstock_lite.core import results_store as store

from deepstock_lite.integrations.sb3_summary import (ALGOS, LIBS, PAIRS, REGS,
                                                     format_table)

from .budgets import SB3_STUDY as BUDGETS

__all__ = ["BUDGETS", "sb3_model", "run_one", "run_study", "main"]

SCALE = 50.0          # top of the decoded range: largest order (None) or target (Base)
ON_HAND, Q_MAX = 15.0, 60.0



def _key(lib, algo, reg, inst, seed):
    return f"{lib}/{algo}/{reg}/{inst}/{seed}"


class _Clock:
    """Training CPU seconds: process time minus the time spent in evaluations."""

    def __init__(self):
        self.start = time.process_time()
        self.in_eval = 0.0
        self.evals = []          # (step, training cpu s, validation cost)

    def training(self):
        return time.process_time() - self.start - self.in_eval

    def evaluate(self, step, fn):
        cpu = self.training()
        t = time.process_time()
        cost = float(fn())
        self.in_eval += time.process_time() - t
        self.evals.append((int(step), cpu, cost))
        return cost


def _envs(inst, budget):
    from deepstock_lite.envs import BatchInventoryEnv
    val_paths, val_T = budget["val"]
    test_paths, test_T = budget["test"]
    val = BatchInventoryEnv(inst.system(), inst.demand().sample(val_paths, val_T, seed=12345),
                            val_T, Q_MAX, on_hand=ON_HAND)
    test = BatchInventoryEnv(inst.system(), inst.demand().sample(test_paths, test_T, seed=999),
                             test_T, Q_MAX, on_hand=ON_HAND)
    return val, test


def _regularization(reg, inst):
    from deepstock_lite.core.decoding import Regularization
    return Regularization(reg, L=inst.L, a_max=SCALE)


# ---------------------------------------------------------------------------------------------
# Stable-Baselines3
# ---------------------------------------------------------------------------------------------
def sb3_model(algo, reg, inst, seed, steps, learning_starts):
    """``(model, venv, decoder)``: Stable-Baselines3's ``algo`` with decoding ``reg`` on
    instance ``inst``, built exactly as the study trains it (one thread, seeded), for
    ``steps`` transitions with ``learning_starts`` random ones (DDPG)."""
    import torch
    from stable_baselines3 import DDPG, PPO
    from stable_baselines3.common.noise import NormalActionNoise
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from deepstock_lite.envs import (BatchInventoryEnv, InventoryEnv, RegularizedAction,
                        RegularizedVectorAction)
    from deepstock_lite.integrations.sb3 import BatchVecEnv

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    decoder = _regularization(reg, inst)
    if algo == "ppo":
        batch = BatchInventoryEnv(inst.system(), inst.demand(), 64, Q_MAX, n_envs=16,
                                  on_hand=ON_HAND, reward="attributed")
        venv = BatchVecEnv(RegularizedVectorAction(batch, decoder), seed=seed)
    else:
        def make():
            return RegularizedAction(InventoryEnv(inst.system(), inst.demand(), 100, Q_MAX,
                                                  on_hand=ON_HAND, reward="attributed"),
                                     decoder)
        venv = DummyVecEnv([make])
        venv.seed(seed)
    venv = VecNormalize(venv, gamma=0.9)
    net = dict(net_arch=[64, 64])
    if algo == "ppo":
        model = PPO("MlpPolicy", venv, n_steps=64, batch_size=512, n_epochs=10,
                    learning_rate=lambda progress: 1e-3 * progress, gamma=0.9,
                    gae_lambda=0.95, clip_range=0.2, max_grad_norm=0.5,
                    policy_kwargs=dict(log_std_init=-1.6, **net), seed=seed, device="cpu")
    else:
        model = DDPG("MlpPolicy", venv, learning_rate=1e-3, buffer_size=100_000,
                     learning_starts=min(learning_starts, steps // 2),
                     batch_size=256, tau=0.02, gamma=0.9, train_freq=1, gradient_steps=1,
                     action_noise=NormalActionNoise(np.zeros(1), np.full(1, 0.05)),
                     policy_kwargs=net, seed=seed, device="cpu")
    return model, venv, decoder


def _run_sb3(algo, reg, inst, seed, budget, val, test):
    from stable_baselines3.common.callbacks import BaseCallback

    from deepstock_lite.envs import RegularizedVectorAction
    from deepstock_lite.rl.evaluation import KeepBest
    from deepstock_lite.integrations.sb3 import policy_fn

    steps = budget["steps"][algo]
    model, venv, decoder = sb3_model(algo, reg, inst, seed, steps, budget["learning_starts"])
    vval = RegularizedVectorAction(val, decoder)
    vtest = RegularizedVectorAction(test, decoder)
    clock, keep = _Clock(), KeepBest()
    every = budget["eval_every"][algo]

    def snapshot():     # the policy's parameters and the observation normalizer's statistics
        return {"params": {k: v.detach().clone() for k, v in model.policy.state_dict().items()},
                "obs_rms": (venv.obs_rms.mean.copy(), venv.obs_rms.var.copy())}

    def evaluate(step):
        keep.offer(clock.evaluate(step, lambda: vval.rollout(policy_fn(model, venv))), step,
                   snapshot)

    class Every(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next = every

        def _on_step(self):
            if self.num_timesteps >= self.next:
                self.next += every
                evaluate(self.num_timesteps)
            return True

    model.learn(steps, callback=Every())
    cpu = clock.training()
    if not clock.evals or clock.evals[-1][0] != model.num_timesteps:
        evaluate(model.num_timesteps)
    final = vtest.rollout(policy_fn(model, venv))
    model.policy.load_state_dict(keep.best["state"]["params"])
    venv.obs_rms.mean, venv.obs_rms.var = keep.best["state"]["obs_rms"]
    best_cost = vtest.rollout(policy_fn(model, venv))
    best = {"val_cost": keep.best["eval_cost"], "step": keep.best["step"]}
    return final, best_cost, best, cpu, clock.evals, model.num_timesteps


# ---------------------------------------------------------------------------------------------
# the book's agents (as benchmarks/agents.py calls them)
# ---------------------------------------------------------------------------------------------
def _run_book(algo, reg, inst, seed, budget, val, test, ortho=False):
    import torch

    from deepstock_lite.core.seeding import set_seed
    from deepstock_lite.envs import BatchInventoryEnv
    from deepstock_lite.rl import ddpg, ppo
    from deepstock_lite.rl.instances import make_envs

    clock = _Clock()

    class TimedEval(BatchInventoryEnv):
        """The validation env, timing every evaluation out of the training clock."""

        def rollout(self, policy_fn, **kw):
            return clock.evaluate(-1, lambda: BatchInventoryEnv.rollout(self, policy_fn, **kw))

    set_seed(seed)
    torch.set_num_threads(1)
    steps, every = budget["steps"][algo], budget["eval_every"][algo]
    if algo == "ppo":
        env_kw = dict(n_envs=16, horizon=64)
        cfg = ppo.PPOConfig(total_steps=steps, lr=1e-3, minibatch_size=512, log_std_init=-1.6,
                            a_max=SCALE, eval_every=every, ortho_init=ortho, seed=seed)
        module = ppo
    else:
        env_kw = dict(n_envs=1, horizon=100)
        cfg = ddpg.DDPGConfig(a_max=SCALE, seed=seed, total_steps=steps, eval_every=every,
                              learning_starts=min(budget["learning_starts"], steps // 2))
        module = ddpg
    env, _ = make_envs(inst.name, **env_kw)
    tval = TimedEval(inst.system(), val.core.array, val.core.horizon, Q_MAX, on_hand=ON_HAND)
    clock.start = time.process_time()
    agent, hist = module.train(env, cfg, eval_env=tval, decoder=_regularization(reg, inst),
                               quiet=True, restore_best=False)
    cpu = clock.training()
    steps_at = [h["step"] for h in hist if "eval_cost" in h]
    evals = [(s, c, v) for s, (_, c, v) in zip(steps_at, clock.evals[-len(steps_at):])] \
        if steps_at else []
    final = agent.evaluate(test)
    best = {"val_cost": agent.best["eval_cost"], "step": agent.best["step"]}
    agent.load_best()
    best_cost = agent.evaluate(test)
    return final, best_cost, best, cpu, evals, agent.global_step


# ---------------------------------------------------------------------------------------------
def run_one(lib, algo, reg, instance, seed, budget="full"):
    """One run; returns its results row (a dict of plain types)."""
    from deepstock_lite.rl.instances import get_instance
    if (lib, algo) not in PAIRS:
        raise ValueError(f"(lib, algo) must be one of {list(PAIRS)}, got {(lib, algo)}")
    b = BUDGETS[budget] if isinstance(budget, str) else budget
    inst = get_instance(instance)
    val, test = _envs(inst, b)
    fn = _run_sb3 if lib == "sb3" else functools.partial(_run_book,
                                                         ortho=lib == "book_ortho")
    final, best_cost, best, cpu, evals, steps = fn(algo, reg, inst, seed, b, val, test)
    within = [c for _, c, v in evals if v <= 1.05 * inst.optimum]
    return {"lib": lib, "algo": algo, "reg": reg, "instance": instance, "seed": seed,
            "steps": int(steps), "optimum": inst.optimum,
            "final_test_cost": float(final), "final_gap": float(final / inst.optimum - 1),
            "best_test_cost": float(best_cost), "best_gap": float(best_cost / inst.optimum - 1),
            "best_val_cost": float(best["val_cost"]), "best_step": int(best["step"]),
            "cpu_s": float(cpu), "cpu_to_5pct_s": float(within[0]) if within else None,
            "evals": [[int(s), round(float(c), 3), round(float(v), 5)] for s, c, v in evals]}


def _load(path, budget, force=False):
    """The study in ``path`` to resume (``None``: start afresh, when there is no file or with
    ``force``); a :class:`~deepstock_lite.core.results_store.ResultsError` naming the file
    and ``--force`` when it is not a results file of this study or holds another budget."""
    old = store.check_replace(path, {"budget": budget}, force=force,
                              get=lambda d: d.get("meta"))
    if old is not None and not isinstance(old.get("runs"), dict):
        if force:
            return None
        raise store.ResultsError(f"{store.describe(path)} is not a results file of this study "
                                 "(no 'runs' mapping); pass --force to replace it")
    return old


def _save(path, data):
    store.write_json(path, data)


def target(budget="full", out=None, *, write=False, force=False):
    """``(path, old)``: where the study writes (``out`` a results name or path, default
    ``"sb3_study"``: the committed :data:`RESULTS` with ``write=True`` at ``budget="full"``,
    else ``results_tmp/sb3_study.json``) and the study it resumes, checked before anything
    trains; nothing is written."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}, got {budget!r}")
    path = store.resolve("sb3_study" if out is None else out, budget=budget, write=write)
    with _Locked(path):
        old = _load(path, budget, force)
    store.check_writable(path)
    return path, old


class _Locked:
    """An exclusive lock (a file in the temporary directory, named after ``out``), so several
    workers can share one results file."""

    def __init__(self, out):
        import hashlib
        import tempfile
        tag = hashlib.sha1(str(Path(out).resolve()).encode()).hexdigest()[:12]
        self.path = Path(tempfile.gettempdir()) / f"sb3_study_{tag}.lock"

    def __enter__(self):
        import fcntl
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def _fresh(budget):
    b = BUDGETS[budget]
    return {"meta": {"budget": budget, "command": f"python -m lab sb3-study --budget {budget}",
                     "config": {k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in b.items()},
                     "python": platform.python_version(), "threads": 1},
            "runs": {}}


def _subset(name, values, allowed):
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence from {list(allowed)}, got {values!r}")
    values = tuple(values)
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f"{name} must be a non-empty subset of {list(allowed)}, "
                         f"got {list(values)}")
    return values


def run_study(budget="full", out=None, *, libs=LIBS, algos=ALGOS, regs=REGS,
              instances=None, seeds=None, quiet=False, write=False, force=False):
    """Run (or resume) the study and return the results dict written to ``out`` (see
    :func:`target`; ``force``: replace a file of another budget, or a corrupt one).

    Finished runs found in ``out`` are skipped; each run is added to ``out`` as soon as it
    ends, and nothing is written before (under a file lock, so several workers with different
    ``libs``, ``algos``, ``regs``, ``instances`` or ``seeds`` (subsets of the budget's) may
    share one file)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}, got {budget!r}")
    b = BUDGETS[budget]
    libs = _subset("libs", libs, LIBS)
    algos = _subset("algos", algos, ALGOS)
    regs = _subset("regs", regs, REGS)
    instances = b["instances"] if instances is None else _subset("instances", instances,
                                                                  ("a", "b"))
    if seeds is not None:       # these seeds for every algorithm, else the budget's
        seeds = tuple(seeds)
        if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0
                            for s in seeds):
            raise ValueError(f"seeds must be non-negative integers, got {list(seeds)}")
    out, _ = target(budget, out, write=write, force=force)
    # with force, the file is replaced by the first run's save (and read again after it)
    state = {"fresh": force, "written": False}

    def current():
        data = None if state["fresh"] else _load(out, budget)
        return _fresh(budget) if data is None else data

    for lib in libs:
        for algo in algos:
            if (lib, algo) not in PAIRS:      # orthogonal initialization: PPO's option only
                continue
            for reg in regs:
                for inst in instances:
                    for seed in (b["seeds"][algo] if seeds is None else seeds):
                        key = _key(lib, algo, reg, inst, seed)
                        with _Locked(out):
                            if key in current()["runs"]:
                                continue
                        row = run_one(lib, algo, reg, inst, seed, budget)
                        with _Locked(out):
                            data = current()
                            if "sb3" in libs:
                                _versions(data["meta"])
                            data["runs"][key] = row
                            _save(out, data)
                            state.update(fresh=False, written=True)
                        if not quiet:
                            t5 = row["cpu_to_5pct_s"]
                            print(f"{key:24} final {row['final_gap']:7.1%}  best "
                                  f"{row['best_gap']:7.1%}  to 5% "
                                  f"{'never' if t5 is None else f'{t5:.0f} s':>7}  "
                                  f"cpu {row['cpu_s']:.0f} s", flush=True)
    if not quiet:
        print(store.report(out) if state["written"] else
              f"nothing to run: every run is in {store.describe(out)}", flush=True)
    return current()


def _versions(meta):
    import stable_baselines3
    import torch
    meta["stable_baselines3"] = stable_baselines3.__version__
    meta["torch"] = torch.__version__


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab sb3-study",
                                description=__doc__.splitlines()[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    store.add_output_options(p, "sb3_study.json")
    p.add_argument("--libs", nargs="+", choices=LIBS, default=list(LIBS))
    p.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    p.add_argument("--regs", nargs="+", choices=REGS, default=list(REGS))
    p.add_argument("--instances", nargs="+", choices=("a", "b"), default=None,
                   help="a subset of the budget's instances (to split the study over workers)")
    p.add_argument("--seeds", nargs="+", type=store.int_at_least(0), default=None,
                   help="a subset of the budget's seeds (to split the study over workers)")
    args = p.parse_args(argv)
    out, write = store.output_request(args)
    try:       # where it writes and what it resumes, before anything trains
        target(args.budget, out, write=write, force=args.force)
    except store.ResultsError as e:
        p.error(str(e))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t = time.process_time()
    data = run_study(args.budget, args.out, libs=args.libs, algos=args.algos, regs=args.regs,
                     instances=args.instances, seeds=args.seeds, write=write,
                     force=args.force)
    print(format_table(data))
    print(f"CPU time of this invocation: {time.process_time() - t:.0f} s", file=sys.stderr)
    return data


if __name__ == "__main__":
    main()
