"""Why the book's DDPG + None collapses to ordering nothing on instance (b), and SB3's mostly not.

Chapter 13's table showed the book's DDPG with the None decoding (order = 50 u) on instance
(b) (lost sales, Poisson(5), h = 1, b = 4, L = 2) ending at the cost of ordering nothing in
every seed, where Stable-Baselines3's DDPG, through the same wrapper and budget, did not in
its first three seeds. This script measures the mechanism and tests its cause by changing
one factor at a time, from the book's DDPG *as it was then* (rewards centred: its earlier
default is pinned, ``ddpg.EARLIER_DEFAULTS``) towards what SB3 does differently, each over
several seeds:

* ``book``: the book's DDPG with its earlier default, as Chapter 13's study ran it then;
* ``sb3``: Stable-Baselines3's DDPG exactly as the study runs it (needs ``[sb3]``);
* ``reward_scale_only``: the book's DDPG, rewards scaled but not centred (SB3's
  ``VecNormalize`` does not subtract a mean);
* ``reward_sb3``: rewards divided by the standard deviation of the discounted warm-up return
  and clipped to [-10, 10], not centred (SB3's ``VecNormalize`` rule, with its statistics
  fixed at the end of the warm-up as the book fixes its own). The book's DDPG adopted this
  rule as its default after this study (``DDPGConfig.reward_norm="return"``): its runs are
  bit for bit the book's current DDPG;
* ``actor_init_default``: PyTorch's default initialization of the actor's last layer instead
  of the book's near-zero one (an untrained SB3 actor does not start at the midpoint);
* ``no_lr_decay``: constant learning rates (SB3's default);
* ``sb3_reward_and_lr``, ``sb3_reward_and_init``, ``sb3_factors``: ``reward_sb3`` with
  ``no_lr_decay``, with ``actor_init_default``, and with both (:data:`COMBINED`);
* ``reward_shift_down``: a test of the centring mechanism, not a difference from SB3: rewards
  shifted by the warm-up mean the other way, ``(r + r_mean) * scale``, so the ordering-nothing
  policy's scaled rewards are about as far below zero as the book's are above it;
* ``preact_penalty``: the book's DDPG plus a penalty ``1e-3 * E[z^2]`` on the actor's
  pre-activation ``z`` (``u = tanh z``), which keeps ``z`` out of tanh's flat tails: a test of
  the saturation mechanism, not a difference from SB3.

Every run trains for the study's budget (12 500 transitions, 2 000 random warm-up actions),
is evaluated on the study's validation paths every 1 250 transitions, and its final policy
is scored on the study's test set. At every evaluation the run also records, on a fixed set
of *short* states (on hand 0..10, one order in transit 0..5, where the optimal order is
positive), the actor's mean pre-activation, the share of those states where the actor is
saturated (``|u| > 0.99``), its mean decoded output (the order under None), and the critic's
slope ``dQ/du`` at the actor's action (positive: the critic asks for more). A run counts as
*collapsed* when its final test cost is within 5% of the cost of never ordering.

With ``--decodings base`` (and ``--instances a``) the same conditions run under the Base
decoding (and on instance (a)): what a change that cures the collapse costs where DDPG works.

    python benchmarks/ddpg_collapse.py --budget full --jobs 2 --write   # ~30 CPU-minutes
    python benchmarks/ddpg_collapse.py --budget full --jobs 2 --write \
        --conditions sb3 sb3_factors reward_sb3 --seeds 5 6 7 8 9       # ~8 CPU-minutes
    python benchmarks/ddpg_collapse.py --budget full --jobs 2 --write --decodings base \
        --instances a b --conditions book reward_scale_only reward_sb3 sb3_factors \
        --seeds $(seq 0 9)                                                # ~40 CPU-minutes
    python benchmarks/ddpg_collapse.py --budget tiny                    # seconds, results_tmp/

Finished runs are kept in the results file as soon as they end, so a killed run resumes.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

# the lab (python -m lab) is a folder of the repository, not an installed package
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from deepstock_lite.core import results_store as store

NAME = "ddpg_collapse"
CONDITIONS = ("book", "sb3", "reward_scale_only", "reward_sb3", "actor_init_default",
              "no_lr_decay", "sb3_reward_and_lr", "sb3_reward_and_init", "sb3_factors",
              "reward_shift_down", "preact_penalty")
#: conditions that change several of the single factors at once
COMBINED = {"sb3_reward_and_lr": ("reward_sb3", "no_lr_decay"),
            "sb3_reward_and_init": ("reward_sb3", "actor_init_default"),
            "sb3_factors": ("reward_sb3", "actor_init_default", "no_lr_decay")}
BUDGETS = {
    "full": dict(steps=12_500, eval_every=1_250, learning_starts=2_000, seeds=(0, 1, 2, 3, 4),
                 study="full"),
    "tiny": dict(steps=300, eval_every=150, learning_starts=100, seeds=(0,), study="tiny"),
}
PREACT_PENALTY = 1e-3
#: |u| above this counts as saturated: tanh'(z) = 1 - u^2 < 0.02
SATURATED = 0.99


def probe_states():
    """Short states (on hand 0..10, in transit 0..5): the optimal order is positive in each."""
    on_hand, transit = np.meshgrid(np.arange(11.0), np.arange(6.0), indexing="ij")
    return np.stack([on_hand.ravel(), transit.ravel()], axis=1).astype(np.float32)


def _probe(actor_pre, critic, obs_n, scale):
    """Mean pre-activation, saturated share, mean decoded output (the order under None, the
    target under Base) and mean dQ/du at the actor's action,
    given the actor's pre-activation function and the critic on normalized observations."""
    import torch
    with torch.no_grad():
        z = actor_pre(obs_n)[:, 0]
    u = torch.tanh(z).unsqueeze(-1).requires_grad_(True)
    critic(obs_n, u).sum().backward()
    u0 = u.detach()[:, 0]
    return {"preact": float(z.mean()), "saturated": float((u0.abs() > SATURATED).float().mean()),
            "decoded": float(((u0 + 1) / 2 * scale).mean()), "dq_du": float(u.grad.mean())}


# ---------------------------------------------------------------------------------------------
# the book's DDPG, with the factor under test
# ---------------------------------------------------------------------------------------------
def _run_book(condition, seed, budget, val, test, reg="none", instance="b"):
    import torch

    from deepstock_lite.core.seeding import set_seed
    from lab.sb3_study import SCALE, _regularization
    from deepstock_lite.rl import ddpg
    from deepstock_lite.rl.instances import get_instance, make_envs

    inst = get_instance(instance)
    probes = torch.from_numpy(probe_states())
    trace = []

    factors = set(COMBINED.get(condition, (condition,)))

    class Factor(ddpg.DDPG):
        """The book's DDPG with the ``factors`` changed; ``book`` changes none."""

        def __init__(self, *args):
            super().__init__(*args)
            if "actor_init_default" in factors:
                # torch's default initialization of the actor's last layer, drawn from the
                # random stream that follows the agent's own initialization (config.seed)
                c = self.config
                with torch.random.fork_rng():
                    torch.manual_seed(c.seed)
                    ddpg.Actor(self.obs_dim, c.hidden, c.activation, self.act_dim)
                    ddpg.Critic(self.obs_dim, c.hidden, c.activation, self.act_dim)
                    self.actor.net[-1].reset_parameters()
                self.actor_target.load_state_dict(self.actor.state_dict())
            self._penalty = None

        def fix_reward_stats(self):
            super().fix_reward_stats()
            if factors & {"reward_scale_only", "reward_sb3"}:
                self.r_shift = 0.0
            if "reward_shift_down" in factors:
                self.r_shift = -self.r_shift
            if "reward_sb3" in factors:
                r, ret, rets = self.buffer.rewards().astype(np.float64).ravel(), 0.0, []
                for i, x in enumerate(r):      # VecNormalize's return, reset every episode
                    ret = (0.0 if i % 100 == 0 else ret) * self.config.gamma + x
                    rets.append(ret)
                self.r_scale = float(1.0 / np.sqrt(np.var(rets) + 1e-8))
            self.set_value_bound(self.buffer.rewards().astype(np.float64))

        def scaled_reward(self, r):
            r = super().scaled_reward(r)
            return r.clamp(-10.0, 10.0) if "reward_sb3" in factors and \
                hasattr(r, "clamp") else r

        def update(self, batch):
            if "preact_penalty" in factors and self.n_updates % self.config.policy_delay == 0:
                z = self.actor.net(self.obs_norm(batch["obs"]))
                self._penalty = PREACT_PENALTY * (z ** 2).mean()
            return super().update(batch)

        def gradient_step(self, opt, loss, params):
            if opt is self.actor_opt and self._penalty is not None:
                loss, self._penalty = loss + self._penalty, None
            return super().gradient_step(opt, loss, params)

        def log_row(self, eval_env, t_start, extra):
            row = super().log_row(eval_env, t_start, extra)
            trace.append({"step": self.global_step, "val_cost": row.get("eval_cost"),
                          **_probe(self.actor.net, self.critic, self.obs_norm(probes),
                                   self.a_max)})
            return row

    set_seed(seed)
    torch.set_num_threads(1)
    # every condition changes the book's DDPG as it was before the study (rewards centred)
    cfg = ddpg.DDPGConfig(a_max=SCALE, seed=seed, total_steps=budget["steps"],
                          eval_every=budget["eval_every"],
                          learning_starts=min(budget["learning_starts"], budget["steps"] // 2),
                          lr_decay="no_lr_decay" not in factors, **ddpg.EARLIER_DEFAULTS)
    env, _ = make_envs(inst.name, n_envs=1, horizon=100)
    t = time.process_time()
    agent = Factor(cfg, env.single_observation_space.shape[0], cfg.a_max,
                   _regularization(reg, inst))
    agent.learn(env, eval_env=val, quiet=True)
    cpu = time.process_time() - t
    return agent.evaluate(test), cpu, trace, {"r_shift": agent.r_shift,
                                              "r_scale": agent.r_scale}


# ---------------------------------------------------------------------------------------------
# Stable-Baselines3's DDPG, as Chapter 13's study runs it
# ---------------------------------------------------------------------------------------------
def _run_sb3(seed, budget, val, test, reg="none", instance="b"):
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    from deepstock_lite.envs import RegularizedVectorAction
    from deepstock_lite.integrations.sb3 import policy_fn
    from lab.sb3_study import SCALE, sb3_model
    from deepstock_lite.rl.instances import get_instance

    model, venv, decoder = sb3_model("ddpg", reg, get_instance(instance), seed,
                                     budget["steps"], budget["learning_starts"])
    steps = budget["steps"]
    vval, vtest = RegularizedVectorAction(val, decoder), RegularizedVectorAction(test, decoder)
    probes, trace, every = probe_states(), [], budget["eval_every"]
    spent = [0.0]

    class Every(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next = every

        def _on_step(self):
            if self.num_timesteps >= self.next:
                self.next += every
                t = time.process_time()
                cost = vval.rollout(policy_fn(model, venv))
                obs_n = torch.as_tensor(venv.normalize_obs(probes), dtype=torch.float32)
                trace.append({"step": int(self.num_timesteps), "val_cost": float(cost),
                              **_probe(model.actor.mu[:-1], model.critic.q1_forward, obs_n,
                                       SCALE)})
                spent[0] += time.process_time() - t
            return True

    t = time.process_time()
    model.learn(steps, callback=Every())
    cpu = time.process_time() - t - spent[0]
    return vtest.rollout(policy_fn(model, venv)), cpu, trace, {}


def run_one(condition, seed, budget="full", reg="none", instance="b"):
    """One run of ``condition`` with decoding ``reg`` on ``instance``; returns its results row
    (plain types)."""
    from lab.sb3_study import BUDGETS as STUDY, _envs
    from deepstock_lite.rl.instances import get_instance

    b = BUDGETS[budget]
    inst = get_instance(instance)
    val, test = _envs(inst, STUDY[b["study"]])
    if condition == "sb3":
        final, cpu, trace, extra = _run_sb3(seed, b, val, test, reg, instance)
    else:
        final, cpu, trace, extra = _run_book(condition, seed, b, val, test, reg, instance)
    # the policy that never orders, on the same test paths (lost sales: every demand lost)
    nothing = test.rollout(lambda obs: np.zeros((len(obs), 1)))
    return {"condition": condition, "decoding": reg, "instance": instance, "seed": seed,
            "final_test_cost": float(final), "final_gap": float(final / inst.optimum - 1),
            "collapsed": bool(abs(final / nothing - 1) < 0.05), "cpu_s": round(float(cpu), 2),
            "trace": trace, **extra}


def run_key(condition, seed, reg="none", instance="b"):
    """The key of a run in the results file."""
    return f"{reg}/{instance}/{condition}/{seed}"


def _finished_runs(todo, budget, jobs):
    """Rows of the ``(condition, seed, decoding, instance)`` runs in ``todo`` as they finish
    (in this process when ``jobs`` is 1, else in ``jobs`` worker processes)."""
    if jobs == 1:
        for task in todo:
            yield run_one(task[0], task[1], budget, *task[2:])
        return
    with ProcessPoolExecutor(jobs) as ex:
        futures = [ex.submit(run_one, t[0], t[1], budget, *t[2:]) for t in todo]
        for f in as_completed(futures):
            yield f.result()


def _meta(budget):
    b = BUDGETS[budget]
    return {"experiment": NAME, "budget": budget,
            "steps": b["steps"], "eval_every": b["eval_every"],
            "learning_starts": b["learning_starts"], "preact_penalty": PREACT_PENALTY,
            "saturated_above": SATURATED,
            "command": f"python benchmarks/ddpg_collapse.py --budget {budget} --write"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    p.add_argument("--conditions", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    p.add_argument("--seeds", nargs="+", type=store.int_at_least(0), default=None,
                   help="default: the budget's seeds")
    p.add_argument("--decodings", nargs="+", choices=("none", "base"), default=["none"])
    p.add_argument("--instances", nargs="+", choices=("a", "b"), default=["b"])
    p.add_argument("--jobs", type=store.int_at_least(1, 64), default=1)
    store.add_output_options(p, f"{NAME}.json")
    args = p.parse_args(argv)
    if "sb3" in args.conditions and importlib.util.find_spec("stable_baselines3") is None:
        p.error("--conditions sb3 needs Stable-Baselines3: pip install -e \".[sb3]\"")
    budget = args.budget
    path, old = store.prepare_from_args(p, args, NAME, {"experiment": NAME, "budget": budget})
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = old or {"meta": _meta(budget), "runs": {}}
    seeds = BUDGETS[budget]["seeds"] if args.seeds is None else args.seeds
    todo = [(c, s, r, i) for r in args.decodings for i in args.instances
            for c in args.conditions for s in seeds if run_key(c, s, r, i) not in data["runs"]]
    for row in _finished_runs(todo, budget, args.jobs):
        data["runs"][run_key(row["condition"], row["seed"], row["decoding"],
                             row["instance"])] = row
        store.write_json(path, data)
        print(f"{row['decoding']:4} ({row['instance']}) {row['condition']:20} seed {row['seed']}"
              f"  final gap {row['final_gap']:7.1%}"
              f"  {'collapsed' if row['collapsed'] else '':9}  cpu {row['cpu_s']:.0f} s",
              flush=True)
    if not todo:
        store.write_json(path, data)
    print(store.report(path), file=sys.stderr)
    return data


if __name__ == "__main__":
    main()
