r"""Proximal Policy Optimization (Schulman et al. 2017), minimal and readable.

Symbols as in the chapter:

* policy :math:`\pi_\theta(u\mid s) = \mathcal N(\mu_\theta(s), \sigma^2)` with a
  state-independent :math:`\log\sigma` (a learned vector); the environment receives
  :math:`\operatorname{clip}(u, -1, 1)` mapped to :math:`a = a_{\max}(u+1)/2`, then the order
  :math:`q = \mathrm{decoder}(a, s)`; value :math:`V_\phi(s)`;
* one rollout = one episode of every environment of the vector env (inventory episodes are
  time-limited, so rollouts end on a truncation and bootstrap from :math:`V_\phi` of the last
  state); advantages :math:`\hat A_t` by GAE(:math:`\gamma, \lambda`)
  (:func:`~deepstock_lite.rl.buffers.compute_gae`);
* ratio :math:`\rho_t = \pi_\theta(u_t\mid s_t)/\pi_{\theta_\text{old}}(u_t\mid s_t)`, clipped
  surrogate :math:`L^{\text{clip}} = \mathbb E[\min(\rho_t \hat A_t,
  \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\hat A_t)]`;
* loss :math:`-L^{\text{clip}} + c_v\,\mathbb E[(V_\phi(s_t) - \hat R_t)^2]/2
  - c_e\,\mathbb E[\mathcal H(\pi_\theta(\cdot\mid s_t))]`, minimized for ``n_epochs`` epochs
  of minibatches, gradients clipped to ``max_grad_norm``;
* observations normalized by running statistics and rewards divided by the running std of
  the discounted return (without both, PPO does poorly on inventory problems).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..core.validation import MAX_QUANTITY
from .buffers import _gae
from .networks import ACTIVATIONS, mlp, set_initial_action
from .normalization import RewardScaler
from .training import (Agent, field_bool, field_choice, field_hidden, field_int,
                       field_real, train_agent)

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
        for name in ("norm_adv", "normalize_obs", "normalize_reward"):
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
    r""":math:`\mu_\theta(s)` and a state-independent :math:`\log\sigma`."""

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


class PPO(Agent):
    """A PPO agent; train it with :func:`train` or :meth:`learn`."""

    algo = "ppo"
    Config = PPOConfig
    policy_modules = ("actor",)

    def _build(self):
        c = self.config
        self.actor = GaussianActor(self.obs_dim, c.hidden, c.activation, c.log_std_init,
                                   self.act_dim)
        set_initial_action(self.actor.mu[-1], c.initial_action, squash=False)
        self.critic = mlp(self.obs_dim, 1, c.hidden, c.activation, out_gain=1.0)
        self.opt = torch.optim.Adam([*self.actor.parameters(), *self.critic.parameters()],
                                    lr=c.lr, eps=1e-5)
        self.reward_scaler = None

    def _extra_state(self):
        return {"reward_scaler": None if self.reward_scaler is None
                else self.reward_scaler.state_dict()}

    def _load_extra_state(self, d):
        if d["reward_scaler"] is not None:
            n = int(d["reward_scaler"]["ret"].shape[0])
            self.reward_scaler = RewardScaler(n, self.config.gamma)
            self.reward_scaler.load_state_dict(d["reward_scaler"])

    def _policy(self, obs_n, deterministic):
        mu, log_std = self.actor(obs_n)
        if deterministic:
            return mu
        return mu + log_std.exp() * torch.randn(mu.shape, generator=self.gen)

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
            q = self.decoder(self.decoder_input(u), np.asarray(obs, np.float64))
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
        adv, ret = _gae(np.stack(R), V_t.numpy(), next_values.numpy(), np.stack(TERM),
                        np.stack(TRUNC), self.config.gamma, self.config.gae_lambda)
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

    def _guard(self, losses):
        ev = losses.pop("explained_variance", None)
        super()._guard(losses)
        if ev is not None and math.isfinite(ev):
            super()._guard({"explained_variance": ev})

    def learn(self, env, until=None, *, eval_env=None, quiet=False):
        """Train until ``global_step >= until`` (default ``config.total_steps``), one whole
        rollout (an episode of every env) at a time; returns the history."""
        until = self._check_learn_args(env, until)
        t_start = time.perf_counter()
        costs = []
        bar = tqdm(total=until, initial=min(self.global_step, until), disable=quiet,
                   desc="PPO", leave=False)
        try:
            while self.global_step < until and not self.stopped_early:
                self._set_lr()
                batch = self.collect(env)
                costs.append(batch.pop("train_cost_per_step"))
                self._guard(self.update(batch))
                n = batch["obs"].shape[0] * batch["obs"].shape[1]
                self.global_step += n
                bar.update(n)
                if self._maybe_log(eval_env, t_start, bar,
                                   lambda: {"train_cost_per_step": float(np.mean(costs)),
                                            "log_std": float(self.actor.log_std.mean().item())}):
                    costs = []
        finally:
            bar.close()
            self.wall_time += time.perf_counter() - t_start
        return self.history


def train(env, config=None, *, eval_env=None, decoder=None, quiet=False, restore_best=True):
    """Train PPO on a vector env; returns ``(agent, history)`` (see :func:`ddpg.train`)."""
    return train_agent(PPO, env, config, eval_env=eval_env, decoder=decoder, quiet=quiet,
                       restore_best=restore_best)
