r"""Proximal Policy Optimization (Schulman et al. 2017), minimal and readable.

Symbols as in the chapter and the book's notation table (the code's ``u`` is the agent's
action :math:`\tilde u`, its ``mu`` the mean :math:`m_\theta(s)`):

* policy :math:`\pi_\theta(\tilde u\mid s) = \mathcal N(m_\theta(s), \sigma^2)` with a
  state-independent :math:`\log\sigma` (a learned vector); the environment receives
  :math:`\operatorname{clip}(\tilde u, -1, 1)` mapped to the unit action
  :math:`u = (\tilde u + 1)/2` and the raw action :math:`a = a_{\max} u`, then the order
  :math:`q = \mathrm{decoder}(a, s)`; value :math:`V_\phi(s)`;
* one rollout = one episode of every environment of the vector env (inventory episodes are
  time-limited, so rollouts end on a truncation and bootstrap from :math:`V_\phi` of the last
  state); advantages :math:`\hat A_t` by GAE(:math:`\gamma, \lambda`)
  (:func:`~deepstock_lite.rl.buffers.compute_gae`);
* ratio :math:`\rho_t = \pi_\theta(\tilde u_t\mid s_t)/\pi_{\theta_\text{old}}(\tilde u_t\mid s_t)`,
  clipped surrogate :math:`L^{\text{clip}} = \mathbb E[\min(\rho_t \hat A_t,
  \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\hat A_t)]`;
* loss :math:`-L^{\text{clip}} + c_v\,\mathbb E[(V_\phi(s_t) - \hat R_t)^2]/2
  - c_e\,\mathbb E[\mathcal H(\pi_\theta(\cdot\mid s_t))]`, minimized for ``n_epochs`` epochs
  of minibatches, gradients clipped to ``max_grad_norm``;
* observations normalized by running statistics and rewards divided by the running std of
  the discounted return (without both, PPO does poorly on inventory problems);
* initial weights torch's default, or with ``ortho_init`` orthogonal with zero biases (gain
  :math:`\sqrt 2` on hidden layers, 0.01 on the mean's output, 1 on the value's), the choice
  of CleanRL and Stable-Baselines3 (Chapter 13 measures what it changes).

Read it top to bottom: :class:`PPOConfig`, the clipped surrogate, :class:`GaussianActor`, then
:class:`PPO`: acting, :meth:`PPO.collect` (one rollout and its GAE advantages),
:meth:`PPO.update` (epochs of minibatch steps) and :meth:`PPO.learn`, the training loop;
:func:`train` builds an agent and runs the loop. The pieces shared with DDPG and
distributional SAC are small and do not call back into this file (see :mod:`.ddpg`).

The file is longer than the package's 400-line guide on purpose: the whole algorithm, loop
included, reads in one place (CleanRL's habit), which is the point of the file.
"""
# Longer than 400 lines: the whole algorithm (config, networks, rollouts, update, training
# loop) is one file read top to bottom, by design (CleanRL's habit): split, it would send the
# reader between files.
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..core.validation import MAX_QUANTITY, check_int
from .actions import check_agent_args, check_env, decoder_input
from .buffers import gae_unchecked
from .checkpoint import agent_state, load_agent, restore_agent_state, save_checkpoint
from .config_fields import field_bool, field_choice, field_hidden, field_int, field_real
from .evaluation import (EvalSchedule, KeepBest, LossAverages, TrainingResult,
                         check_eval_cost, check_losses, check_parameters,
                         decay_learning_rates)
from .networks import ACTIVATIONS, mlp, orthogonal_init, set_initial_action
from .normalization import ObsNormalizer, RewardScaler

__all__ = ["PPOConfig", "PPO", "train", "clipped_surrogate"]

LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class PPOConfig:
    """Every PPO hyperparameter (steps count transitions, summed over the vector env)."""
    total_steps: int = 200_000
    gamma: float = 0.9               # discount γ
    gae_lambda: float = 0.95         # GAE λ
    lr: float = 3e-4
    lr_decay: bool = True
    lr_final_fraction: float = 0.0
    n_epochs: int = 10
    minibatch_size: int = 256
    clip_coef: float = 0.2           # ε of the clipped surrogate
    vf_coef: float = 0.5             # c_v
    ent_coef: float = 0.0            # c_e
    max_grad_norm: float = 0.5
    target_kl: float | None = None   # stop the epochs of an update when approx-KL exceeds it
    log_std_init: float = -0.5
    hidden: tuple = (64, 64)
    activation: str = "tanh"
    ortho_init: bool = False         # orthogonal initial weights (CleanRL's, SB3's); else torch's
    norm_adv: bool = True
    normalize_obs: bool = True
    normalize_reward: bool = True
    a_max: float | None = None
    initial_action: float | None = None  # initial action bias: start at this share of the range
    eval_every: int = 10_000
    patience: int = 0
    seed: int = 0

    def __post_init__(self):
        field_int(self, "total_steps", low=1)
        field_real(self, "gamma", low=0.0, high=1.0)
        field_real(self, "gae_lambda", low=0.0, high=1.0)
        field_real(self, "lr", low=0.0, low_open=True)
        field_bool(self, "lr_decay")
        field_real(self, "lr_final_fraction", low=0.0, high=1.0)
        field_int(self, "n_epochs", low=1)
        field_int(self, "minibatch_size", low=1)
        field_real(self, "clip_coef", low=0.0, low_open=True)
        field_real(self, "vf_coef", low=0.0)
        field_real(self, "ent_coef", low=0.0)
        field_real(self, "max_grad_norm", low=0.0, low_open=True)
        field_real(self, "target_kl", low=0.0, low_open=True, optional=True)
        field_real(self, "log_std_init", low=-10.0, high=2.0)
        field_hidden(self)
        field_choice(self, "activation", ACTIVATIONS)
        for name in ("ortho_init", "norm_adv", "normalize_obs", "normalize_reward"):
            field_bool(self, name)
        field_real(self, "a_max", low=0.0, high=MAX_QUANTITY, low_open=True,
                   optional=True)
        field_real(self, "initial_action", low=0.0, high=1.0, low_open=True, high_open=True,
                   optional=True)
        field_int(self, "eval_every", low=1)
        field_int(self, "patience", low=0)
        field_int(self, "seed", low=0, high=2**32 - 1)


def clipped_surrogate(ratio, A, clip_coef):
    r"""PPO's clipped surrogate objective (to be *maximized*):
    :math:`L^{\text{clip}} = \mathbb E[\min(\rho_t \hat A_t,
    \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\hat A_t)]`."""
    return torch.min(ratio * A, ratio.clamp(1 - clip_coef, 1 + clip_coef) * A).mean()


class GaussianActor(nn.Module):
    r"""The mean :math:`m_\theta(s)` (``mu``) and a state-independent :math:`\log\sigma` of the
    Gaussian policy :math:`\pi_\theta(\tilde u \mid s)`."""

    def __init__(self, obs_dim, hidden, activation, log_std_init, act_dim=1):
        super().__init__()
        self.mu = mlp(obs_dim, act_dim, hidden, activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def forward(self, s):
        return self.mu(s), self.log_std.expand(s.shape[0], -1)

    def log_prob_entropy(self, s, u):
        mu, log_std = self(s)
        z = (u - mu) / log_std.exp()
        logp = (-0.5 * z ** 2 - log_std - 0.5 * LOG_2PI).sum(-1)
        entropy = (0.5 + 0.5 * LOG_2PI + log_std).sum(-1)
        return logp, entropy


class PPO:
    """A PPO agent: build it with a config, the observation width, the top of the raw action
    range and a decoder; train it with :meth:`learn` (or :func:`train`), act with :meth:`act`.
    """

    algo = "ppo"
    Config = PPOConfig

    def __init__(self, config, obs_dim, a_max, decoder=None):
        (self.obs_dim, self.a_max, self.decoder, self.act_dim,
         self.unit_actions) = check_agent_args(config, PPOConfig, obs_dim, a_max, decoder)
        self.config = c = config
        # the run is fixed by config.seed: numpy for environment seeds, torch for the
        # policy's noise and the minibatches
        self.rng = np.random.default_rng(c.seed)
        self.gen = torch.Generator().manual_seed(c.seed)
        self.obs_norm = ObsNormalizer(self.obs_dim, enabled=c.normalize_obs)
        with torch.random.fork_rng():          # initial weights from config.seed too
            torch.manual_seed(c.seed)
            self.actor = GaussianActor(self.obs_dim, c.hidden, c.activation, c.log_std_init,
                                       self.act_dim)
            self.critic = mlp(self.obs_dim, 1, c.hidden, c.activation, out_gain=1.0)
            if c.ortho_init:                   # CleanRL's and SB3's initialization
                orthogonal_init(self.actor.mu, out_gain=0.01)
                orthogonal_init(self.critic, out_gain=1.0)
            set_initial_action(self.actor.mu[-1], c.initial_action, squash=False)
            self.opt = torch.optim.Adam([*self.actor.parameters(), *self.critic.parameters()],
                                        lr=c.lr, eps=1e-5)
        self.reward_scaler = None              # built for the env's width by collect
        # training progress
        self.global_step = 0                   # transitions collected, summed over the envs
        self.n_updates = 0
        self.wall_time = 0.0
        self.history = []                      # one row per evaluation
        self.keep = KeepBest(c.patience)       # the best evaluated policy
        self.schedule = EvalSchedule(c.eval_every)
        self.losses = LossAverages()

    # -- acting --------------------------------------------------------------------------------
    @torch.no_grad()
    def raw_action(self, obs, deterministic=True):
        """The decoder's input for raw observations ``(n, d)``: ``a`` in ``[0, a_max]``
        (shape (n,)) or unit actions (n, k) (see :func:`.actions.decoder_input`); the
        policy's mean, or a sample when ``deterministic`` is false."""
        obs = np.asarray(obs, np.float32)
        single = obs.ndim == 1
        obs = np.atleast_2d(obs)
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have {self.obs_dim} features, got shape {obs.shape}")
        mu, log_std = self.actor(self.obs_norm(torch.from_numpy(obs)))
        u = mu if deterministic else mu + log_std.exp() * torch.randn(mu.shape,
                                                                      generator=self.gen)
        a = decoder_input(u, self.a_max, self.unit_actions)
        return a[0] if single else a

    def act(self, obs, deterministic=True):
        """Orders for raw observations: ``decoder(raw_action(obs), obs)``."""
        a = self.raw_action(obs, deterministic)
        return np.asarray(self.decoder(a, np.asarray(obs, np.float64)), np.float64)

    def evaluate(self, env):
        """Average cost per period of the deterministic policy on ``env`` (``env.rollout``)."""
        return float(env.rollout(lambda o: self.act(o, deterministic=True)))

    @torch.no_grad()
    def value(self, obs):
        """:math:`V_\\phi(s)` in reward units (undoing the reward scaling), raw observations."""
        s = self.obs_norm(torch.as_tensor(np.atleast_2d(np.asarray(obs, np.float32))))
        scale = 1.0 if self.reward_scaler is None else self.reward_scaler.scale
        return self.critic(s)[:, 0].numpy().astype(np.float64) / scale

    # -- rollout ---------------------------------------------------------------------------
    @torch.no_grad()
    def collect(self, env):
        """One episode of every env: tensors of shape (T, n, ·) plus the last state's value."""
        if self.reward_scaler is None:
            self.reward_scaler = RewardScaler(env.num_envs, self.config.gamma,
                                              enabled=self.config.normalize_reward)
        self.reward_scaler.reset()
        obs, _ = env.reset(seed=int(self.rng.integers(2**31 - 1)))
        S, U, LOGP, V, R, TERM, TRUNC, COST = [], [], [], [], [], [], [], []
        while True:
            self.obs_norm.update(obs)
            s = self.obs_norm(torch.from_numpy(np.asarray(obs, np.float32)))
            mu, log_std = self.actor(s)
            u = mu + log_std.exp() * torch.randn(mu.shape, generator=self.gen)
            logp, _ = self.actor.log_prob_entropy(s, u)
            q = self.decoder(decoder_input(u, self.a_max, self.unit_actions),
                             np.asarray(obs, np.float64))
            next_obs, r, term, trunc, _ = env.step(q)
            S.append(s), U.append(u), LOGP.append(logp), V.append(self.critic(s)[:, 0])
            R.append(self.reward_scaler(r)), TERM.append(term), TRUNC.append(trunc)
            COST.append(-float(np.mean(r)))
            obs = next_obs
            ended = np.logical_or(term, trunc)
            if ended.any():
                if not ended.all():
                    raise RuntimeError("all environments of the vector env must end their "
                                       "episodes together (BatchInventoryEnv does)")
                break
        s_last = self.obs_norm(torch.from_numpy(np.asarray(obs, np.float32)))
        v_last = self.critic(s_last)[:, 0]
        V_t = torch.stack(V)
        next_values = torch.cat([V_t[1:], v_last[None]], 0)
        adv, ret = gae_unchecked(np.stack(R), V_t.numpy(), next_values.numpy(),
                                 np.stack(TERM), np.stack(TRUNC), self.config.gamma,
                                 self.config.gae_lambda)
        return {"obs": torch.stack(S), "u": torch.stack(U), "logp": torch.stack(LOGP),
                "values": V_t, "adv": torch.as_tensor(adv, dtype=torch.float32),
                "ret": torch.as_tensor(ret, dtype=torch.float32),
                "train_cost_per_step": float(np.mean(COST))}

    # -- update ----------------------------------------------------------------------------
    def update(self, batch):
        """``n_epochs`` epochs of clipped-surrogate minibatch updates on one rollout."""
        c = self.config
        obs = batch["obs"].reshape(-1, self.obs_dim)
        u = batch["u"].reshape(-1, self.act_dim)
        logp_old, adv, ret = (batch[k].reshape(-1) for k in ("logp", "adv", "ret"))
        N = obs.shape[0]
        mb = min(c.minibatch_size, N)
        stats = {"policy_loss": [], "value_loss": [], "entropy": [], "approx_kl": [],
                 "clip_fraction": []}
        for _ in range(c.n_epochs):
            perm = torch.randperm(N, generator=self.gen)
            for start in range(0, N, mb):
                i = perm[start:start + mb]
                logp, entropy = self.actor.log_prob_entropy(obs[i], u[i])
                log_ratio = logp - logp_old[i]
                ratio = log_ratio.exp()
                A = adv[i]
                if c.norm_adv and A.numel() > 1:
                    A = (A - A.mean()) / (A.std() + 1e-8)
                policy_loss = -clipped_surrogate(ratio, A, c.clip_coef)
                value_loss = 0.5 * ((self.critic(obs[i])[:, 0] - ret[i]) ** 2).mean()
                loss = policy_loss + c.vf_coef * value_loss - c.ent_coef * entropy.mean()
                self.opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_([*self.actor.parameters(), *self.critic.parameters()],
                                         c.max_grad_norm)
                self.opt.step()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean().item()
                    clip_frac = ((ratio - 1).abs() > c.clip_coef).float().mean().item()
                stats["policy_loss"].append(policy_loss.item())
                stats["value_loss"].append(value_loss.item())
                stats["entropy"].append(entropy.mean().item())
                stats["approx_kl"].append(approx_kl)
                stats["clip_fraction"].append(clip_frac)
                self.n_updates += 1
            if c.target_kl is not None and approx_kl > c.target_kl:
                break
        out = {k: float(np.mean(v)) for k, v in stats.items()}
        y, v = batch["ret"].reshape(-1).numpy(), batch["values"].reshape(-1).numpy()
        var_y = float(np.var(y))
        out["explained_variance"] = float("nan") if var_y == 0 else float(1 - np.var(y - v) / var_y)
        return out

    # -- the training loop -----------------------------------------------------------------
    def learn(self, env, until=None, *, eval_env=None, quiet=False):
        """Train until ``global_step >= until`` (default ``config.total_steps``), one whole
        rollout (an episode of every env) at a time; returns the history."""
        c = self.config
        check_env(env)
        if env.single_observation_space.shape[0] != self.obs_dim:
            raise ValueError(f"env observations have {env.single_observation_space.shape[0]} "
                             f"features, the agent expects {self.obs_dim}")
        until = c.total_steps if until is None else check_int("until", until, low=0)
        t_start = time.perf_counter()
        costs = []
        bar = tqdm(total=until, initial=min(self.global_step, until), disable=quiet,
                   desc="PPO", leave=False)
        try:
            while self.global_step < until and not self.keep.stop:
                # 2.1 the learning rate of this rollout (Algorithm 7.1)
                if c.lr_decay:
                    decay_learning_rates([self.opt], self.global_step, c.total_steps,
                                         c.lr_final_fraction)
                # 2.2-2.3 one episode of every env, with GAE advantages and returns
                batch = self.collect(env)
                costs.append(batch.pop("train_cost_per_step"))
                # 2.4 epochs of clipped-surrogate minibatch steps on it
                losses = self.update(batch)
                # the explained variance is undefined (NaN) when the returns are constant
                explained = losses.pop("explained_variance")
                check_losses("ppo", self.global_step, losses)
                self.losses.add(losses)
                if math.isfinite(explained):
                    self.losses.add({"explained_variance": explained})
                n = batch["obs"].shape[0] * batch["obs"].shape[1]
                self.global_step += n
                bar.update(n)
                # 2.5 every eval_every transitions: a history row, keeping the best policy
                if self.schedule.due(self.global_step):
                    row = self.log_row(eval_env, t_start,
                                       {"train_cost_per_step": float(np.mean(costs)),
                                        "log_std": float(self.actor.log_std.mean().item())})
                    costs = []
                    if not bar.disable and "eval_cost" in row:
                        bar.set_postfix(eval_cost=f"{row['eval_cost']:.3f}")
        finally:
            bar.close()
            self.wall_time += time.perf_counter() - t_start
        return self.history

    def log_row(self, eval_env, t_start, extra):
        """One history row: the held-out cost (keeping the best policy), the mean losses since
        the last row and ``extra``."""
        check_parameters("PPO", f"step {self.global_step}",
                         {"actor": self.actor, "critic": self.critic})
        row = {"step": self.global_step}
        if eval_env is not None:
            cost = self.evaluate(eval_env)
            check_eval_cost("ppo", self.global_step, cost)
            row["eval_cost"] = cost
            self.keep.offer(cost, self.global_step, self.policy_state)
        row.update(self.losses.pop())
        row.update({k: float(v) for k, v in extra.items()})
        row["wall_time"] = self.wall_time + (time.perf_counter() - t_start)
        self.history.append(row)
        return row

    # -- the best policy and checkpoints ----------------------------------------------------
    @property
    def best(self):
        """``{"eval_cost", "step", "state"}`` of the best evaluated policy (or ``None``)."""
        return self.keep.best

    def policy_state(self):
        """A copy of what acting needs: the actor and the observation statistics."""
        return {"modules": {"actor": copy.deepcopy(self.actor.state_dict())},
                "obs_norm": copy.deepcopy(self.obs_norm.state_dict())}

    def load_best(self):
        """Replace the current policy by the best one seen in held-out evaluation."""
        if self.keep.best is None:
            raise RuntimeError("no evaluation was run: pass eval_env to learn()/train()")
        state = self.keep.best["state"]
        self.actor.load_state_dict(state["modules"]["actor"])
        self.obs_norm.load_state_dict(state["obs_norm"])
        return self

    def state_dict(self, include_buffer=True):
        scaler = None if self.reward_scaler is None else self.reward_scaler.state_dict()
        return agent_state(self, {"reward_scaler": scaler}, include_buffer)

    def load_state_dict(self, d):
        extra = restore_agent_state(self, d)
        if extra["reward_scaler"] is not None:
            n = int(extra["reward_scaler"]["ret"].shape[0])
            self.reward_scaler = RewardScaler(n, self.config.gamma)
            self.reward_scaler.load_state_dict(extra["reward_scaler"])
        return self

    def save(self, path, include_buffer=True):
        """Write a checkpoint (atomic; see :mod:`deepstock_lite.rl.checkpoint`)."""
        return save_checkpoint(path, self.state_dict(include_buffer=include_buffer))

    @classmethod
    def load(cls, path, decoder=None):
        """Rebuild an agent from :meth:`save`; call :meth:`learn` on it to resume training."""
        return load_agent(cls, path, decoder)


def train(env, config=None, *, eval_env=None, decoder=None, quiet=False, restore_best=True):
    """Train PPO on a vector env; returns a :class:`~.evaluation.TrainingResult` that unpacks
    as ``agent, history`` (see :func:`.ddpg.train`)."""
    config = PPOConfig() if config is None else config
    if not isinstance(config, PPOConfig):
        raise TypeError(f"config must be a PPOConfig, got {type(config).__name__}")
    check_env(env)
    a_max = config.a_max if config.a_max is not None else float(env.single_action_space.high[0])
    agent = PPO(config, env.single_observation_space.shape[0], a_max, decoder)
    agent.learn(env, eval_env=eval_env, quiet=quiet)
    if restore_best and agent.best is not None:
        agent.load_best()
    return TrainingResult.from_keep(agent, agent.history, agent.keep)
