r"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016), minimal and readable.

Symbols as in the chapter:

* actor :math:`\mu_\phi(s) \in [-1, 1]` (tanh), raw action :math:`a = a_{\max}(\mu_\phi(s)+1)/2`,
  order :math:`q = \mathrm{decoder}(a, s)`;
* critic :math:`Q_\theta(s, u)` on normalized actions :math:`u` (or, with
  ``critic_input="order"``, :math:`Q_\theta(s, \tilde q)` on the decoded order
  :math:`\tilde q = 2q/a_{\max} - 1`: the actor's gradient then passes through the decoder and
  is exactly zero where the decoder clamps the order at zero);
* targets :math:`\mu_{\bar\phi}, Q_{\bar\theta}` updated by Polyak averaging
  :math:`\bar\theta \leftarrow \tau\theta + (1-\tau)\bar\theta`;
* TD target :math:`y = r + \gamma\,(1 - d)\,Q_{\bar\theta}(s', \mu_{\bar\phi}(s'))` with
  :math:`d` = *terminated* only (a truncated episode still bootstraps);
* critic loss :math:`\mathbb{E}[(Q_\theta(s,u) - y)^2]`, actor loss
  :math:`-\mathbb{E}[Q_\theta(s, \mu_\phi(s))]`;
* exploration :math:`u = \operatorname{clip}(\mu_\phi(s) + \sigma\varepsilon, -1, 1)`,
  :math:`\varepsilon \sim \mathcal N(0, 1)`, after ``learning_starts`` uniformly random actions.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.validation import MAX_QUANTITY
from .networks import ACTIVATIONS, Net, adam, mlp, polyak_update, set_initial_action
from .training import (OffPolicyAgent, field_bool, field_choice, field_hidden, field_int,
                       field_real, train_agent)

__all__ = ["DDPGConfig", "DDPG", "train", "CRITIC_INPUTS"]

#: what the critic can score: the actor's normalized output u, or the decoded order
CRITIC_INPUTS = ("action", "order")


@dataclass
class DDPGConfig:
    """Every DDPG hyperparameter (steps count transitions, summed over the vector env)."""
    total_steps: int = 25_000        # transitions to collect; also the LR-decay horizon
    learning_starts: int = 2_000     # uniformly random actions before learning
    batch_size: int = 256
    buffer_size: int = 100_000
    gamma: float = 0.9               # discount γ (short horizon: see the chapter)
    tau: float = 0.02                # Polyak coefficient τ
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    lr_decay: bool = True            # linear decay to lr_final_fraction · lr
    lr_final_fraction: float = 0.05
    hidden: tuple = (64, 64)
    activation: str = "relu"
    exploration_noise: float = 0.05  # σ of the Gaussian noise, in units of the half-range
    gradient_steps: int = 1          # updates per vector step
    policy_delay: int = 1            # actor/target update every this many critic updates
    max_grad_norm: float | None = None
    a_max: float | None = None       # top of the raw action range (None: env's q_max)
    initial_action: float | None = None  # initial action bias: start at this share of the range
    normalize_obs: bool = True
    reward_norm: bool = True         # centre/scale rewards by warm-up statistics
    eval_every: int = 2_500          # transitions between evaluations / history rows
    patience: int = 0                # stop after this many evaluations without improvement
    critic_input: str = "action"     # what the critic scores: "action" u or decoded "order"
    seed: int = 0

    def __post_init__(self):
        field_int(self, "total_steps", low=1)
        field_int(self, "learning_starts", low=1)
        field_int(self, "batch_size", low=1)
        field_int(self, "buffer_size", low=1)
        field_real(self, "gamma", low=0.0, high=1.0, high_open=True)
        field_real(self, "tau", low=0.0, high=1.0, low_open=True)
        field_real(self, "actor_lr", low=0.0, low_open=True)
        field_real(self, "critic_lr", low=0.0, low_open=True)
        field_bool(self, "lr_decay")
        field_real(self, "lr_final_fraction", low=0.0, high=1.0)
        field_hidden(self)
        field_choice(self, "activation", ACTIVATIONS)
        field_real(self, "exploration_noise", low=0.0)
        field_int(self, "gradient_steps", low=1)
        field_int(self, "policy_delay", low=1)
        field_real(self, "max_grad_norm", low=0.0, low_open=True, optional=True)
        field_real(self, "a_max", low=0.0, high=MAX_QUANTITY, low_open=True,
                   optional=True)
        field_real(self, "initial_action", low=0.0, high=1.0, low_open=True, high_open=True,
                   optional=True)
        field_bool(self, "normalize_obs")
        field_bool(self, "reward_norm")
        field_int(self, "eval_every", low=1)
        field_int(self, "patience", low=0)
        field_choice(self, "critic_input", CRITIC_INPUTS)
        field_int(self, "seed", low=0, high=2**32 - 1)


class Actor(Net):
    r""":math:`\mu_\phi(s) = \tanh(f_\phi(s)) \in [-1, 1]`."""

    def __init__(self, obs_dim, hidden, activation, act_dim=1):
        super().__init__()
        self.net = mlp(obs_dim, act_dim, hidden, activation, out_gain=0.01)

    def forward(self, s):
        return torch.tanh(self.net(s))


class Critic(Net):
    r""":math:`Q_\theta(s, u)`."""

    def __init__(self, obs_dim, hidden, activation, act_dim=1):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, 1, hidden, activation)

    def forward(self, s, u):
        return self.net(torch.cat([s, u], dim=-1)).squeeze(-1)


class DDPG(OffPolicyAgent):
    """A DDPG agent; train it with :func:`train` or :meth:`learn`."""

    algo = "ddpg"
    Config = DDPGConfig
    policy_modules = ("actor",)

    def _build(self):
        c = self.config
        self.actor = Actor(self.obs_dim, c.hidden, c.activation, self.act_dim)
        set_initial_action(self.actor.net[-1], c.initial_action, squash=True)
        width = 1 if c.critic_input == "order" else self.act_dim
        self.critic = Critic(self.obs_dim, c.hidden, c.activation, width)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = adam(self.actor.parameters(), c.actor_lr)
        self.critic_opt = adam(self.critic.parameters(), c.critic_lr)
        self._build_buffer()

    def _policy(self, obs_n, deterministic):
        return self.actor(obs_n)

    @torch.no_grad()
    def _explore(self, obs):
        mu = self.actor(self.obs_norm(torch.from_numpy(np.asarray(obs, np.float32))))
        eps = torch.randn(mu.shape, generator=self.gen)
        return (mu + self.config.exploration_noise * eps).clamp(-1.0, 1.0).numpy()

    def critic_action(self, obs, u):
        r"""What the critic scores for raw observations ``obs`` and normalized actions ``u``
        (tensors): ``u`` itself, or with ``critic_input="order"`` the decoded order
        :math:`2q/a_{\max} - 1`, differentiable in ``u`` through the decoder (torch)."""
        if self.config.critic_input == "action":
            return u
        a = (u.clamp(-1.0, 1.0) + 1.0) / 2.0 if self.unit_actions else self.to_raw(u)[:, 0]
        q = self.decoder(a, obs)
        return (2.0 * q / self.a_max - 1.0).unsqueeze(-1)

    def _step(self, opt, loss, params):
        opt.zero_grad()
        loss.backward()
        if self.config.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        opt.step()

    def update(self, batch):
        """One DDPG update on a replay batch; returns the losses as floats."""
        c = self.config
        o, o2 = batch["obs"], batch["next_obs"]
        s, s2 = self.obs_norm(o), self.obs_norm(o2)
        u, d = batch["u"], batch["terminated"]
        r = self.scaled_reward(batch["r"])
        with torch.no_grad():
            u2 = self.critic_action(o2, self.actor_target(s2))
            y = r + c.gamma * (1.0 - d) * self.critic_target(s2, u2)
        critic_loss = ((self.critic(s, self.critic_action(o, u)) - y) ** 2).mean()
        self._step(self.critic_opt, critic_loss, self.critic.parameters())
        out = {"critic_loss": critic_loss.item()}
        if self.n_updates % c.policy_delay == 0:
            # the actor's gradient flows through the critic, but the critic's own
            # weights need none: freezing them skips a third of the backward pass
            self.critic.requires_grad_(False)
            actor_loss = -self.critic(s, self.critic_action(o, self.actor(s))).mean()
            self._step(self.actor_opt, actor_loss, self.actor.parameters())
            self.critic.requires_grad_(True)
            polyak_update(self.actor_target, self.actor, c.tau)
            polyak_update(self.critic_target, self.critic, c.tau)
            out["actor_loss"] = actor_loss.item()
        return out

    def _td_error_size(self, losses):
        return math.sqrt(losses["critic_loss"])  # mean squared TD error -> its root

    @torch.no_grad()
    def q_value(self, obs, a):
        """Critic's value of raw action(s) ``a`` at raw observation(s) ``obs``, in reward
        units (minus the discounted cost); broadcasts ``obs (n, d)`` against ``a (n,)``."""
        u = self.normalized_action(obs, a)
        obs = torch.as_tensor(np.atleast_2d(np.asarray(obs, np.float32))).expand(len(u), -1)
        v = self.critic(self.obs_norm(obs), self.critic_action(obs, u))
        return self.unscale_value(v).numpy().astype(np.float64)


def train(env, config=None, *, eval_env=None, decoder=None, quiet=False, restore_best=True):
    """Train DDPG on a vector env; returns ``(agent, history)``.

    ``eval_env`` (a :class:`~deepstock_lite.envs.BatchInventoryEnv` on held-out demand) is
    evaluated every ``config.eval_every`` transitions; with ``restore_best`` the returned agent
    holds the best evaluated policy.
    """
    return train_agent(DDPG, env, config, eval_env=eval_env, decoder=decoder, quiet=quiet,
                       restore_best=restore_best)
