r"""DDPG's actor trained on the exact critic, on Zipkin's lost-sales cells.

    python -m lab zipkin-rl-critic --budget full --write
    python -m lab zipkin-rl-critic --budget tiny

Chapter 9 finds DDPG + Base above 1% of the optimum on most of Zipkin's cells, and asks which
half of the algorithm falls short: the actor (its network, the Base decoding, the
deterministic policy gradient, the optimizer) or the critic it ascends. This experiment
replaces the learned critic by the exact one and keeps everything else of the table's run:
the actor network and its initial weights (the DDPG agent of the same config and seed), the
Base decoding, Adam with the same learning rate and its linear decay, the minibatch size and
the number of actor updates. The exact critic is the action cost of the discounted problem
DDPG solves (the same :math:`\gamma`; the attributed reward shifts every cost by the lead
time, which leaves the optimal policy unchanged):

.. math:: J_\gamma(s, z) = E\,v_\gamma\big((x_0 - D)^+ + x_1, \dots, z\big), \qquad
          v_\gamma(s) = c(x_0) + \gamma \min_z J_\gamma(s, z),

solved by value iteration on the exact model's states, and made differentiable in the order
by linear interpolation between integer orders. The actor minimizes the mean of
:math:`J_\gamma(s, q_\theta(s))` over minibatches of the states the optimal policy visits (a
simulation, as in ``python -m lab zipkin-rl-structure``); every ``eval_every`` updates its
rounded policy is scored exactly, as ``python -m lab zipkin-rl`` scores the kept one.

Per cell the file also records the exact gap of the :math:`\gamma`-discounted optimal policy:
the floor that the discount alone puts under any agent of that :math:`\gamma`. Then the
table's DDPG runs are repeated (the same configuration and seeds, ``critic="learned"``) with
the policy their critic recommends (:class:`CriticGreedy`) scored at every evaluation, and
run once more with dist. SAC's critics in place of DDPG's (:class:`QuantileCriticDDPG`,
``critic="quantile"``); last, on four times the transitions (zipkin-rl's ``longer`` budget
with the table's minibatch), with DDPG's own critic (``critic="plain_longer"``, every cell)
and with dist. SAC's (``"quantile_longer"``, the cells of the two highest penalties); and
with dist. SAC's critics and every setting of dist. SAC's longer run but its actor
(``"quantile_dsac_settings"``, every cell), then with DDPG's own critic
(``"plain_dsac_settings"``, every cell), and with DDPG's reward rule put back, with either
critic (``"plain_dsac_settings_return"``, ``"quantile_dsac_settings_return"``, b >= 19):
between DDPG with dist. SAC's critics and settings and dist. SAC itself, only the actor is
left.

Rows go to ``zipkin_rl_critic.json`` as each run ends (a killed run resumes): the committed
file only at ``--budget full`` with ``--write`` (or ``--out NAME``), else ``results_tmp/``; a
file of another budget is replaced only with ``--force``.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import time

import numpy as np
import torch

from deepstock_lite.classical import (DiscreteDemand, LookupPolicy, backorder_base_stock_level,
                                     evaluate_policy_exact, solve_lost_sales)
from deepstock_lite.classical.lost_sales.model import LostSalesModel
from deepstock_lite.classical.lost_sales.state_space import StateSpace
from deepstock_lite.classical.lost_sales.value_iteration import argmin_segments
from deepstock_lite.core import results_store as store
from deepstock_lite.core.decoding import inventory_position
from deepstock_lite.core.results_store import add_output_options, output_request
from deepstock_lite.core.seeding import set_seed
from deepstock_lite.core.validation import check_choice
from deepstock_lite.rl import ddpg, dsac
from deepstock_lite.rl.networks import adam, polyak_update

from .budgets import ZIPKIN_RL as RL_BUDGETS, ZIPKIN_RL_CRITIC as BUDGETS
from .zipkin_rl import H, MEAN, _setup, exact_cost, zipkin_rl_run
from .zipkin_rl_structure import optimal_states

__all__ = ["discounted_action_costs", "exact_critic_run", "CriticGreedy", "learned_critic_run",
           "QuantileCriticDDPG", "quantile_critic_run", "longer_run", "dsac_settings_run",
           "target", "run_critic", "main", "EXPERIMENT"]

EXPERIMENT = "DDPG's actor on the exact critic, Zipkin's cells"


def discounted_action_costs(L, b, gamma, tol=1e-9, max_iter=10_000):
    """``(space, starts, J, orders)`` of cell (L, b) at discount ``gamma``: the exact states
    (position at most the backorder base-stock level), where each state's orders 0..room
    start in the flat array ``J`` of action costs, and the discounted-optimal order of each
    state (ties: the smallest). Value iteration stops when an iteration moves no value by
    more than ``tol``."""
    model = LostSalesModel(DiscreteDemand.poisson(MEAN), L=L, h=H, b=b)
    space = StateSpace(model, model.backorder_level())
    room = space.room()
    rows = np.repeat(np.arange(space.n), room + 1)           # every (state, order) pair
    starts = np.concatenate(([0], np.cumsum(room + 1)[:-1]))
    z = np.arange(len(rows)) - np.repeat(starts, room + 1)
    A = space.transitions(rows, z)
    v = np.zeros(space.n)
    for _ in range(max_iter):
        new = space.cost + gamma * np.minimum.reduceat(A @ v, starts)
        done = np.abs(new - v).max() <= tol
        v = new
        if done:
            break
    else:
        raise RuntimeError(f"value iteration did not reach tol={tol:g} in {max_iter} "
                           "iterations")
    J = A @ v
    return space, starts, J, argmin_segments(J, starts, room + 1)


def _interpolated_cost(J, starts, room, idx, q):
    """``J(s, q)`` at the states ``idx`` for real orders ``q`` (torch, differentiable in
    ``q``): linear between the integer orders ``0..room``, and continued linearly beyond
    them along the first and the last unit's slope (a state with ``room`` 0 is flat)."""
    low = q.detach().floor().clamp(min=0.0)
    low = torch.minimum(low, (room[idx] - 1.0).clamp(min=0.0))
    first = starts[idx] + low.long()
    last = starts[idx] + room[idx].long()
    j0, j1 = J[first], J[torch.minimum(first + 1, last)]
    return j0 + (q - low) * (j1 - j0)


def exact_critic_run(L, b, seed, *, budget="full", states=None, action_costs=None,
                     optimal=None):
    """One row: the table's DDPG actor (config and seed of ``python -m lab zipkin-rl``)
    trained on the exact critic of cell (L, b), scored exactly at every evaluation.
    ``states`` (the optimal policy's visited states), ``action_costs``
    (:func:`discounted_action_costs`) and ``optimal`` (the cell's optimal cost) are computed
    when not given."""
    from deepstock_lite.rl import BaseStockDecoder
    from deepstock_lite.rl.evaluation import decay_learning_rates

    plan = BUDGETS[budget]
    set_seed(seed)
    _, _, cfg = _setup("ddpg", seed, RL_BUDGETS[plan["train"]]["scale"])
    S = int(backorder_base_stock_level(DiscreteDemand.poisson(MEAN), L=L, h=H, b=b))
    a_max = 2.0 * S
    if states is None:
        states = optimal_states(L, b, *plan["states"])[0]
    if action_costs is None:
        action_costs = discounted_action_costs(L, b, cfg.gamma)
    space, starts, J, _ = action_costs
    opt = float(solve_lost_sales(DiscreteDemand.poisson(MEAN), L=L, h=H, b=b).cost) \
        if optimal is None else optimal
    t0 = time.process_time()
    # the agent of the table's run: its actor's initial weights, Adam, the decoder
    agent = ddpg.DDPG(dataclasses.replace(cfg, a_max=a_max), L, a_max, BaseStockDecoder(L))
    agent.obs_norm.update(states)
    idx_of = space.lookup(states.astype(np.int64))
    if np.any(idx_of < 0):
        raise RuntimeError("a visited state lies outside the exact state space")
    obs = torch.as_tensor(states, dtype=torch.float32)
    J_t, starts_t = torch.as_tensor(J, dtype=torch.float32), torch.as_tensor(starts)
    room_t = torch.as_tensor(space.room(), dtype=torch.float32)
    idx_t = torch.as_tensor(idx_of)
    checkpoints, t_scoring = [], 0.0
    # the updates DDPG makes: one per transition after the warm-up, the same LR schedule
    for step in range(cfg.learning_starts, cfg.total_steps):
        decay_learning_rates([agent.actor_opt], step, cfg.total_steps, cfg.lr_final_fraction)
        pick = torch.randint(len(obs), (cfg.batch_size,), generator=agent.gen)
        o = obs[pick]
        # Base's order before its clamps: target minus position. Where the order is clamped,
        # at zero or at the exact model's bound on the position, the exact cost is flat and
        # would give the actor no gradient (a target at the middle of the range, the actor's
        # start, is that bound); the learned critic, a smooth surface in the action, has a
        # slope there, which the continued first and last units stand for
        q = agent.decoder_action(agent.actor(agent.obs_norm(o))) - inventory_position(o, L)
        loss = _interpolated_cost(J_t, starts_t, room_t, idx_t[pick], q).mean()
        agent.actor_opt.zero_grad()
        loss.backward()
        agent.actor_opt.step()
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.total_steps:
            t = time.process_time()
            gap = exact_cost(agent, L, b, S)[0] / opt - 1
            t_scoring += time.process_time() - t
            checkpoints.append({"step": step + 1, "gap": gap})
    return {"L": L, "b": b, "algo": "ddpg", "critic": "exact", "seed": seed,
            "gamma": cfg.gamma, "optimal": opt, "gap": checkpoints[-1]["gap"],
            "checkpoints": checkpoints, "updates": cfg.total_steps - cfg.learning_starts,
            "batch_size": cfg.batch_size, "n_states": int(len(states)),
            "cpu_seconds": time.process_time() - t0 - t_scoring}


class CriticGreedy:
    """The policy a DDPG agent's critic recommends under Base decoding: at each state the
    integer order ``z`` in ``0..S - position`` whose target ``position + z`` the critic
    values most (``act`` as an agent's, for :func:`~lab.zipkin_rl.exact_cost`)."""

    def __init__(self, agent, S, chunk=200_000):
        self.agent, self.S, self.chunk = agent, S, chunk

    @torch.no_grad()
    def act(self, states):
        a = self.agent
        position = inventory_position(states, a.obs_dim)
        room = np.maximum(self.S - np.rint(position), 0).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(room + 1)[:-1]))
        rows = np.repeat(np.arange(len(states)), room + 1)
        z = np.arange(len(rows)) - np.repeat(starts, room + 1)
        target_ = position[rows] + z
        q = np.empty(len(rows))
        for i in range(0, len(rows), self.chunk):         # memory: pairs in chunks
            o = torch.as_tensor(states[rows[i:i + self.chunk]], dtype=torch.float32)
            u = torch.as_tensor(2.0 * target_[i:i + self.chunk] / a.a_max - 1.0,
                                dtype=torch.float32).unsqueeze(-1)
            q[i:i + self.chunk] = a.critic(a.obs_norm(o), a.critic_action(o, u)).numpy()
        best = np.maximum.reduceat(q, starts)
        first = np.where(q >= np.repeat(best, room + 1), z, np.iinfo(np.int64).max)
        return np.minimum.reduceat(first, starts).astype(np.float64)


def learned_critic_run(L, b, seed, *, budget="full"):
    """One row: the table's DDPG run of cell (L, b) (``python -m lab zipkin-rl``'s, scored
    at every evaluation as its ``score_checkpoints`` does), each checkpoint also holding
    ``critic_gap``, the exact gap of :class:`CriticGreedy` at that point of training."""
    plan = BUDGETS[budget]
    S = int(backorder_base_stock_level(DiscreteDemand.poisson(MEAN), L=L, h=H, b=b))
    opt = float(solve_lost_sales(DiscreteDemand.poisson(MEAN), L=L, h=H, b=b).cost)

    def critic_gap(agent):
        return {"critic_gap": exact_cost(CriticGreedy(agent, S), L, b, S)[0] / opt - 1}

    row = zipkin_rl_run(L, b, algo="ddpg", reg="base", seed=seed, budget=plan["train"],
                        score_checkpoints=True, checkpoint_extra=critic_gap)
    return {**row, "critic": "learned"}


class QuantileCriticDDPG(ddpg.DDPG):
    r"""DDPG with dist. SAC's critics in place of its own (the rest is DDPG's, the actor
    deterministic): twin quantile critics :math:`Z_{\phi_k}(s, \tilde u)` of
    ``n_quantiles`` return quantiles, regressed by the quantile Huber loss on the pooled
    target atoms at :math:`(s', \pi_{\bar\theta}(s'))` with each critic's
    ``top_quantiles_to_drop`` largest dropped (TQC); the actor ascends the mean of the two
    critics' quantiles. ``n_quantiles``, ``top_quantiles_to_drop`` and ``kappa`` are dist.
    SAC's defaults (:class:`~deepstock_lite.rl.dsac.DSACConfig`)."""

    def __init__(self, config, obs_dim, a_max, decoder=None):
        super().__init__(config, obs_dim, a_max, decoder)    # DDPG's own critic stays unused
        c, d = self.config, dsac.DSACConfig()
        self.n_drop, self.kappa = d.top_quantiles_to_drop, d.kappa
        self.levels = dsac.quantile_levels(d.n_quantiles)
        with torch.random.fork_rng():          # drawn after DDPG's networks: the same actor
            torch.manual_seed(c.seed + 1)
            self.z = [dsac.QuantileCritic(obs_dim, c.hidden, c.activation, d.n_quantiles,
                                          self.act_dim) for _ in range(2)]
        self.z_target = [copy.deepcopy(z).requires_grad_(False) for z in self.z]
        self.critic_params = [p for z in self.z for p in z.parameters()]
        self.critic_opt = adam(self.critic_params, c.critic_lr)

    def update(self, batch):
        c = self.config
        o, o2 = batch["obs"], batch["next_obs"]
        s, s2 = self.obs_norm(o), self.obs_norm(o2)
        u, d = batch["u"], batch["terminated"]
        r = self.scaled_reward(batch["r"])
        with torch.no_grad():
            u2 = self.actor_target(s2)
            pooled = torch.sort(torch.cat([z(s2, u2) for z in self.z_target], -1), -1).values
            keep = pooled.shape[-1] - len(self.z) * self.n_drop
            y = r[:, None] + c.gamma * (1.0 - d[:, None]) * pooled[:, :keep]
        critic_loss = sum(dsac.quantile_huber_loss(z(s, u), y, self.levels, self.kappa)
                          for z in self.z)
        self.gradient_step(self.critic_opt, critic_loss, self.critic_params)
        for z in self.z:                        # the actor's gradient only
            z.requires_grad_(False)
        a = self.actor(s)
        actor_loss = -torch.stack([z(s, a) for z in self.z]).mean()
        self.gradient_step(self.actor_opt, actor_loss, self.actor.parameters())
        for z, zt in zip(self.z, self.z_target):
            z.requires_grad_(True)
            polyak_update(zt, z, c.tau)
        polyak_update(self.actor_target, self.actor, c.tau)
        return {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item()}


def quantile_critic_run(L, b, seed, *, budget="full"):
    """One row: the table's DDPG run of cell (L, b) with :class:`QuantileCriticDDPG` in place
    of DDPG (the same configuration and seed), scored exactly at every evaluation."""
    row = zipkin_rl_run(L, b, algo="ddpg", reg="base", seed=seed,
                        budget=BUDGETS[budget]["train"], score_checkpoints=True,
                        agent_type=QuantileCriticDDPG)
    return {**row, "critic": "quantile"}


def longer_run(L, b, seed, *, budget="full", critic="quantile"):
    """One row: DDPG on cell (L, b) at the budget's ``longer`` training budget and
    configuration (``full``: zipkin-rl's longer budget, four times the table's transitions,
    with the table's minibatch of 256 kept), with dist. SAC's critics
    (``critic="quantile"``, :class:`QuantileCriticDDPG`) or its own (``"plain"``, the
    control), scored exactly at every evaluation."""
    check_choice("critic", critic, {"quantile", "plain"})
    plan = BUDGETS[budget]["longer"]
    row = zipkin_rl_run(L, b, algo="ddpg", reg="base", seed=seed, budget=plan["train"],
                        score_checkpoints=True, overrides=dict(plan["config"]),
                        agent_type=QuantileCriticDDPG if critic == "quantile" else None)
    return {**row, "critic": f"{critic}_longer"}


def dsac_settings_run(L, b, seed, *, budget="full", critic="quantile", variant=None):
    """One row: DDPG with every setting of dist. SAC's longer run but its actor (``full``:
    its 80 000 transitions, two SKUs a vector step so one update per two transitions,
    minibatch 128, rewards centred and scaled by the warm-up's, dist. SAC's rule and DDPG's
    ``reward_norm="reward"``), with dist. SAC's critics (``critic="quantile"``,
    :class:`QuantileCriticDDPG`) or its own (``"plain"``); the actor stays DDPG's,
    deterministic with Gaussian exploration noise. ``variant``: one of the budget's
    ``variants``, config fields that put one of those settings back to DDPG's. Scored
    exactly at every evaluation."""
    check_choice("critic", critic, {"quantile", "plain"})
    plan = BUDGETS[budget]["dsac_settings"]
    config, kind = dict(plan["config"]), f"{critic}_dsac_settings"
    if variant is not None:
        check_choice("variant", variant, set(plan["variants"]))
        config.update(plan["variants"][variant])
        kind = f"{kind}_{variant}"
    row = zipkin_rl_run(L, b, algo="ddpg", reg="base", seed=seed, budget=plan["train"],
                        score_checkpoints=True, overrides=config, n_envs=plan["n_envs"],
                        agent_type=QuantileCriticDDPG if critic == "quantile" else None)
    return {**row, "critic": kind}


def target(out="zipkin_rl_critic", *, budget="full", write=False, force=False):
    """``(path, old)``: where the experiment writes and the rows it resumes from, checked
    before anything trains (:func:`deepstock_lite.core.results_store.prepare`)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}, got {budget!r}")
    return store.prepare(out, budget=budget, write=write, force=force,
                         identity={"experiment": EXPERIMENT, "budget": budget})


def run_critic(budget="full", out="zipkin_rl_critic", *, write=False, force=False,
               quiet=False):
    """Every cell x seed of ``budget``, and each cell's discounted optimum; resumable
    (finished rows are kept)."""
    path, old = target(out, budget=budget, write=write, force=force)
    plan = BUDGETS[budget]
    data = old or {"experiment": EXPERIMENT, "budget": budget,
                   "command": f"python -m lab zipkin-rl-critic --budget {budget}",
                   "discounted_optimum": {}, "rows": []}
    done = {(r["L"], r["b"], r["seed"], r["critic"]) for r in data["rows"]}
    law = DiscreteDemand.poisson(MEAN)
    for L, b in plan["cells"]:
        key = f"{L},{b}"
        if all((L, b, s, "exact") in done for s in plan["seeds"]) \
                and key in data["discounted_optimum"]:
            continue
        gamma = _setup("ddpg", 0, RL_BUDGETS[plan["train"]]["scale"])[2].gamma
        costs = discounted_action_costs(L, b, gamma)
        space, orders = costs[0], costs[3]
        opt = float(solve_lost_sales(law, L=L, h=H, b=b).cost)
        disc = float(evaluate_policy_exact(law, policy=LookupPolicy(space, orders), L=L, h=H,
                                           b=b, tol=1e-8, max_iter=200_000).cost)
        data["discounted_optimum"][key] = {"gamma": gamma, "cost": disc,
                                          "gap": disc / opt - 1}
        states = optimal_states(L, b, *plan["states"])[0]
        for seed in plan["seeds"]:
            if (L, b, seed, "exact") in done:
                continue
            row = exact_critic_run(L, b, seed, budget=budget, states=states,
                                   action_costs=costs, optimal=opt)
            data["rows"].append(row)
            if path is not None:
                store.write_json(path, data)
            if not quiet:
                print(f"L={L} b={b:>2} seed {seed}: exact critic gap {row['gap']:+.2%} "
                      f"({row['cpu_seconds']:.0f} CPU s); gamma={gamma} optimum "
                      f"{disc / opt - 1:+.3%}", flush=True)
        if path is not None:
            store.write_json(path, data)
    # the table's DDPG runs again, their critics' own recommendations scored beside them;
    # then DDPG with dist. SAC's critics; then four times the transitions, with DDPG's own
    # critic and with dist. SAC's; last, dist. SAC's critics and settings with DDPG's actor
    runs = [(kind, plan[kind]["cells"], plan[kind]["seeds"], run)
            for kind, run in (("learned", learned_critic_run), ("quantile", quantile_critic_run))]
    runs += [(f"{critic}_longer", cells, plan["longer"]["seeds"],
              functools.partial(longer_run, critic=critic))
             for critic, cells in plan["longer"]["cells"].items()]
    runs += [(f"{critic}_dsac_settings", cells, plan["dsac_settings"]["seeds"],
              functools.partial(dsac_settings_run, critic=critic))
             for critic, cells in plan["dsac_settings"]["cells"].items()]
    runs += [(f"{critic}_dsac_settings_{variant}", cells, plan["dsac_settings"]["seeds"],
              functools.partial(dsac_settings_run, critic=critic, variant=variant))
             for critic, cells in plan["dsac_settings"]["variant_cells"].items()
             for variant in plan["dsac_settings"]["variants"]]
    for kind, cells, seeds, run in runs:
        for L, b in cells:
            for seed in seeds:
                if (L, b, seed, kind) in done:
                    continue
                row = run(L, b, seed, budget=budget)
                data["rows"].append(row)
                if path is not None:
                    store.write_json(path, data)
                if not quiet:
                    extra = (f", its critic's greedy policy "
                             f"{row['checkpoints'][-1]['critic_gap']:+.2%} at the end"
                             if kind == "learned" else "")
                    print(f"L={L} b={b:>2} seed {seed}: DDPG ({kind} critic) gap "
                          f"{row['gap']:+.2%}{extra} ({row['cpu_seconds']:.0f} CPU s)",
                          flush=True)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab zipkin-rl-critic",
                                description=__doc__.splitlines()[0])
    p.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    add_output_options(p, "zipkin_rl_critic.json")
    a = p.parse_args(argv)
    out, write = output_request(a)
    kw = dict(out=out or "zipkin_rl_critic", budget=a.budget, write=write, force=a.force)
    store.check_then_run(p, lambda: target(**kw), lambda: run_critic(**kw))


if __name__ == "__main__":
    main()
