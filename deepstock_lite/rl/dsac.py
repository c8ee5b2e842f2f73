r"""Distributional soft actor-critic with quantile critics, minimal and readable.

Why quantile critics (QR-DQN/TQC style: Dabney et al. 2018; Kuznetsov et al. 2020; Ma et al.
2020) rather than the Gaussian critic of DSAC/DSAC-T (Duan et al. 2021, 2023)? The discounted
cost of an inventory policy is skewed (a stockout costs b = 4–9 times a unit of holding, and
Poisson demand is itself skewed), and the book wants its *tail*: CVaR of cost. A set of
quantiles represents any shape and gives CVaR by averaging the worst quantiles; a Gaussian
critic can only report mean ± a multiple of the standard deviation. The quantile Huber loss
has bounded gradients, which gives the robustness DSAC-T obtains by clipping its TD targets.

Symbols as in the chapter and the book's notation table (the code's ``x`` is the pre-squash
value :math:`\xi`, its ``u`` the agent's action :math:`\tilde u`):

* policy: :math:`\xi = m_\theta(s) + \sigma_\theta(s)\,\varepsilon`,
  :math:`\tilde u = \tanh \xi` (reparameterized), with
  :math:`\log\pi_\theta(\tilde u\mid s) = \log\mathcal N(\xi; m, \sigma^2)
  - \log(1 - \tanh^2 \xi)`; unit action :math:`u = (\tilde u + 1)/2`, raw action
  :math:`a = a_{\max} u`, order :math:`q = \mathrm{decoder}(a, s)`;
* twin critics :math:`Z_{\phi_k}(s, \tilde u) \in \mathbb R^N`, the return quantiles at
  levels :math:`\hat\tau_i = (2i-1)/(2N)`; targets :math:`Z_{\bar\phi_k}` by Polyak
  averaging;
* target atoms: pool the :math:`2N` target quantiles at
  :math:`(s', \tilde u' \sim \pi_\theta(\cdot\mid s'))`, sort, drop the
  ``top_quantiles_to_drop`` largest per critic (TQC's control of overestimation),
  :math:`\hat R_j = r + \gamma(1-d)\,(Z_{(j)}(s', \tilde u')
  - \alpha\log\pi_\theta(\tilde u'\mid s'))`;
* critic loss: quantile Huber :math:`\rho^\kappa_{\hat\tau_i}(\hat R_j - Z_i)`, averaged over
  atoms;
* actor loss: :math:`\mathbb E[\alpha\log\pi_\theta(\tilde u\mid s) - \Phi(Z(s,\tilde u))]` with
  :math:`\Phi` = mean of the quantiles (risk-neutral) or the mean of the lowest
  :math:`\lceil\beta N\rceil` return quantiles, i.e. minus :math:`\mathrm{CVaR}_\beta` of cost
  (risk-averse, ``risk="cvar"``, :math:`\beta` = ``cvar_level``);
* temperature: :math:`\min_\alpha\; \mathbb E[-\alpha(\log\pi_\theta(\tilde u\mid s)
  + \bar{\mathcal H})]`
  (automatic entropy tuning, target entropy :math:`\bar{\mathcal H}`).

Read it top to bottom: :class:`DSACConfig`, the quantile Huber loss, the squashed Gaussian
actor and quantile critics, then :class:`DSAC`: acting, :meth:`DSAC.update` (critics, actor,
temperature) and :meth:`DSAC.learn`, the training loop; :func:`train` builds an agent and
runs the loop. The pieces shared with DDPG and PPO are small and do not call back into this
file (see :mod:`.ddpg`).

The file is longer than the package's 400-line guide on purpose: the whole algorithm, loop
included, reads in one place (CleanRL's habit), which is the point of the file.
"""
# Longer than 400 lines: the whole algorithm (config, quantile critics, actor, update,
# training loop) is one file read top to bottom, by design (CleanRL's habit): split, it would
# send the reader between files.
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..core.validation import MAX_QUANTITY, check_int, check_real
from .actions import check_agent_args, check_env, decoder_input, normalized_action
from .buffers import ReplayBuffer
from .checkpoint import agent_state, load_agent, restore_agent_state, save_checkpoint
from .config_fields import field_bool, field_choice, field_hidden, field_int, field_real
from .evaluation import (DIVERGENCE_FACTOR, EvalSchedule, KeepBest, LossAverages,
                         TrainingResult, check_eval_cost, check_losses, check_parameters,
                         decay_learning_rates)
from .networks import ACTIVATIONS, Net, adam, mlp, polyak_update, set_initial_action
from .normalization import ObsNormalizer

__all__ = ["DSACConfig", "DSAC", "train", "quantile_huber_loss", "squashed_log_prob",
           "quantile_levels"]

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


@dataclass
class DSACConfig:
    """Every distributional-SAC hyperparameter (steps count transitions)."""
    total_steps: int = 20_000
    learning_starts: int = 2_000
    batch_size: int = 128
    buffer_size: int = 100_000
    gamma: float = 0.9
    tau: float = 0.02
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    alpha_lr: float = 1e-3
    lr_decay: bool = True
    lr_final_fraction: float = 0.05
    hidden: tuple = (64, 64)
    activation: str = "relu"
    n_quantiles: int = 16            # N quantiles per critic
    top_quantiles_to_drop: int = 1   # per critic (TQC); 0 = plain pooled quantiles
    kappa: float = 1.0               # Huber threshold κ (in normalized reward units)
    init_alpha: float = 0.1
    autotune_alpha: bool = True
    target_entropy: float = -2.0     # entropy target H̄ of the squashed policy
    risk: str = "neutral"            # "neutral" or "cvar"
    cvar_level: float = 0.2          # β: CVaR over the worst β share of outcomes
    gradient_steps: int = 1
    a_max: float | None = None
    initial_action: float | None = None  # initial action bias: start at this share of the range
    normalize_obs: bool = True
    reward_norm: bool = True
    eval_every: int = 2_500
    patience: int = 0
    seed: int = 0

    def __post_init__(self):
        field_int(self, "total_steps", low=1)
        field_int(self, "learning_starts", low=1)
        field_int(self, "batch_size", low=1)
        field_int(self, "buffer_size", low=1)
        field_real(self, "gamma", low=0.0, high=1.0, high_open=True)
        field_real(self, "tau", low=0.0, high=1.0, low_open=True)
        for name in ("actor_lr", "critic_lr", "alpha_lr"):
            field_real(self, name, low=0.0, low_open=True)
        field_bool(self, "lr_decay")
        field_real(self, "lr_final_fraction", low=0.0, high=1.0)
        field_hidden(self)
        field_choice(self, "activation", ACTIVATIONS)
        field_int(self, "n_quantiles", low=2, high=1000)
        field_int(self, "top_quantiles_to_drop", low=0, high=self.n_quantiles - 1)
        field_real(self, "kappa", low=0.0, low_open=True)
        field_real(self, "init_alpha", low=0.0, low_open=True)
        field_bool(self, "autotune_alpha")
        field_real(self, "target_entropy", low=-20.0, high=5.0)
        field_choice(self, "risk", ("neutral", "cvar"))
        field_real(self, "cvar_level", low=0.0, high=1.0, low_open=True)
        field_int(self, "gradient_steps", low=1)
        field_real(self, "a_max", low=0.0, high=MAX_QUANTITY, low_open=True,
                   optional=True)
        field_real(self, "initial_action", low=0.0, high=1.0, low_open=True, high_open=True,
                   optional=True)
        field_bool(self, "normalize_obs")
        field_bool(self, "reward_norm")
        field_int(self, "eval_every", low=1)
        field_int(self, "patience", low=0)
        field_int(self, "seed", low=0, high=2**32 - 1)


def quantile_levels(n):
    r"""Midpoint quantile levels :math:`\hat\tau_i = (2i-1)/(2N)`, :math:`i = 1..N`."""
    return (torch.arange(n, dtype=torch.float32) + 0.5) / n


def quantile_huber_loss(z, y, tau, kappa=1.0):
    r"""QR-DQN's quantile Huber loss of predicted quantiles ``z (B, N)`` (:math:`Z_i`) against
    target atoms ``y (B, M)`` (:math:`\hat R_j`) at levels ``tau`` (:math:`\hat\tau_i`):
    :math:`\frac1M\sum_{i,j}|\hat\tau_i - 1\{\hat R_j < Z_i\}|\,
    H_\kappa(\hat R_j - Z_i)/\kappa`, averaged over the batch (``H`` = Huber). Its minimizer
    is the vector of ``tau``-quantiles of the target distribution (exactly as
    :math:`\kappa \to 0`)."""
    if z.dim() != 2 or y.dim() != 2 or z.shape[0] != y.shape[0]:
        raise ValueError(f"z and y must be (B, N) and (B, M), got {tuple(z.shape)}, "
                         f"{tuple(y.shape)}")
    kappa = check_real("kappa", kappa, low=0.0, low_open=True)
    delta = y[:, None, :] - z[:, :, None]                       # (B, N, M)
    abs_d = delta.abs()
    huber = torch.where(abs_d <= kappa, 0.5 * delta ** 2, kappa * (abs_d - 0.5 * kappa))
    weight = (tau.view(1, -1, 1) - (delta < 0).float()).abs()
    return (weight * huber / kappa).sum(1).mean(1).mean()


def squashed_log_prob(x, mean, log_std):
    r""":math:`\log\pi(\tilde u)` of the agent's action :math:`\tilde u = \tanh \xi`, with
    the pre-squash value :math:`\xi \sim \mathcal N(m, \sigma^2)` (``x``):
    :math:`\log\mathcal N(\xi; m, \sigma^2) - \log(1 - \tanh^2 \xi)`, with the stable
    identity
    :math:`\log(1 - \tanh^2 \xi) = 2(\log 2 - \xi - \operatorname{softplus}(-2\xi))`."""
    std = log_std.exp()
    logn = -0.5 * ((x - mean) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    return (logn - 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))).sum(-1)


class SquashedGaussianActor(Net):
    def __init__(self, obs_dim, hidden, activation, act_dim=1):
        super().__init__()
        self.net = mlp(obs_dim, 2 * act_dim, hidden, activation, out_gain=0.01)

    def forward(self, s):
        mean, log_std = self.net(s).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, s, generator):
        """Reparameterized ``u = tanh(m + σ ε)`` (the agent's action ũ) and its
        log-probability."""
        mean, log_std = self(s)
        x = mean + log_std.exp() * torch.randn(mean.shape, generator=generator)
        return torch.tanh(x), squashed_log_prob(x, mean, log_std)


class QuantileCritic(Net):
    r""":math:`Z_\phi(s, \tilde u)`: N return quantiles."""

    def __init__(self, obs_dim, hidden, activation, n_quantiles, act_dim=1):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, n_quantiles, hidden, activation)

    def forward(self, s, u):
        return self.net(torch.cat([s, u], dim=-1))


class Temperature(nn.Module):
    def __init__(self, init_alpha):
        super().__init__()
        self.log_alpha = nn.Parameter(torch.tensor([math.log(init_alpha)]))


class DSAC:
    """A distributional SAC agent: build it with a config, the observation width, the top of
    the raw action range and a decoder; train it with :meth:`learn` (or :func:`train`)."""

    algo = "dsac"
    Config = DSACConfig

    def __init__(self, config, obs_dim, a_max, decoder=None):
        (self.obs_dim, self.a_max, self.decoder, self.act_dim,
         self.unit_actions) = check_agent_args(config, DSACConfig, obs_dim, a_max, decoder)
        self.config = c = config
        # the run is fixed by config.seed: numpy for environment seeds and warm-up actions,
        # torch for the policy's noise and the minibatches
        self.rng = np.random.default_rng(c.seed)
        self.gen = torch.Generator().manual_seed(c.seed)
        self.obs_norm = ObsNormalizer(self.obs_dim, enabled=c.normalize_obs)
        N, k = c.n_quantiles, self.act_dim
        with torch.random.fork_rng():          # initial weights from config.seed too
            torch.manual_seed(c.seed)
            self.actor = SquashedGaussianActor(self.obs_dim, c.hidden, c.activation, k)
            set_initial_action(self.actor.net[-1], c.initial_action, squash=True, n=k)
            self.z1 = QuantileCritic(self.obs_dim, c.hidden, c.activation, N, k)
            self.z2 = QuantileCritic(self.obs_dim, c.hidden, c.activation, N, k)
            self.z1_target = copy.deepcopy(self.z1).requires_grad_(False)
            self.z2_target = copy.deepcopy(self.z2).requires_grad_(False)
            self.temperature = Temperature(c.init_alpha)
            self.actor_opt = adam(self.actor.parameters(), c.actor_lr)
            self.critic_opt = adam([*self.z1.parameters(), *self.z2.parameters()],
                                   c.critic_lr)
            self.alpha_opt = adam(self.temperature.parameters(), c.alpha_lr)
        self.tau_levels = quantile_levels(N)
        self.buffer = ReplayBuffer(c.buffer_size, self.obs_dim, self.act_dim)
        # reward normalization, fixed from the warm-up's rewards (see fix_reward_stats)
        self.r_shift, self.r_scale = 0.0, 1.0
        self.reward_stats_fixed = False
        self.value_bound = None                # the divergence guard's bound on TD errors
        # training progress
        self.global_step = 0                   # transitions collected, summed over the envs
        self.n_updates = 0
        self.wall_time = 0.0
        self.history = []                      # one row per evaluation
        self.keep = KeepBest(c.patience)       # the best evaluated policy
        self.schedule = EvalSchedule(c.eval_every)
        self.losses = LossAverages()
        self._obs = None                       # the current observation between calls

    @property
    def alpha(self):
        return self.temperature.log_alpha.exp().detach()

    # -- acting --------------------------------------------------------------------------------
    @torch.no_grad()
    def raw_action(self, obs, deterministic=True):
        """The decoder's input for raw observations ``(n, d)``: ``a`` in ``[0, a_max]``
        (shape (n,)) or unit actions (n, k) (see :func:`.actions.decoder_input`); the
        squashed mean :math:`\\tanh m_\\theta(s)`, or a sample when ``deterministic`` is false."""
        obs = np.asarray(obs, np.float32)
        single = obs.ndim == 1
        obs = np.atleast_2d(obs)
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have {self.obs_dim} features, got shape {obs.shape}")
        s = self.obs_norm(torch.from_numpy(obs))
        u = torch.tanh(self.actor(s)[0]) if deterministic else self.actor.sample(s, self.gen)[0]
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
    def explore(self, obs):
        """Exploration: a sample of the policy for raw observations ``obs``."""
        s = self.obs_norm(torch.from_numpy(np.asarray(obs, np.float32)))
        return self.actor.sample(s, self.gen)[0].numpy()

    # -- rewards as the critics see them (as in DDPG) ----------------------------------------
    def fix_reward_stats(self):
        """At the end of the warm-up: the reward shift and scale the critics learn in
        (``reward_norm``), and the divergence guard's bound. Because inventory episodes never
        terminate, a constant shift moves every action value by the same amount and leaves
        the optimal policy unchanged."""
        r = self.buffer.rewards().astype(np.float64)
        if self.config.reward_norm:
            self.r_shift = float(r.mean())
            self.r_scale = float(1.0 / max(r.std(), 1e-6))
        self.reward_stats_fixed = True
        self.set_value_bound(r)

    def set_value_bound(self, r=None):
        """Divergence bound on the critics' TD errors: 10 000 x the largest discounted return
        the warm-up rewards allow (in the critics' scaled units)."""
        r = self.buffer.rewards().astype(np.float64) if r is None else r
        if r.size:
            top = float(np.max(np.abs(self.scaled_reward(r)))) + 1.0
            self.value_bound = DIVERGENCE_FACTOR * top / (1.0 - self.config.gamma)

    def scaled_reward(self, r):
        """Reward as the critics see it: ``(r - r_shift) * r_scale``."""
        return (r - self.r_shift) * self.r_scale

    def unscale_value(self, v):
        """A critic value back in reward units: ``v / r_scale + r_shift / (1 - γ)``."""
        return v / self.r_scale + self.r_shift / (1.0 - self.config.gamma)

    def objective(self, z):
        """Φ(Z): the mean of the return quantiles, or their lower tail mean (minus the
        CVaR of cost) when ``risk="cvar"``."""
        if self.config.risk == "neutral":
            return z.mean(-1)
        k = max(1, math.ceil(self.config.cvar_level * z.shape[-1] - 1e-9))
        return torch.sort(z, dim=-1).values[..., :k].mean(-1)

    def update(self, batch):
        c = self.config
        s, s2 = self.obs_norm(batch["obs"]), self.obs_norm(batch["next_obs"])
        u, d = batch["u"], batch["terminated"]
        r = self.scaled_reward(batch["r"])
        alpha = self.alpha
        # critic: quantile regression on truncated pooled target atoms
        with torch.no_grad():
            u2, logp2 = self.actor.sample(s2, self.gen)
            pooled = torch.cat([self.z1_target(s2, u2), self.z2_target(s2, u2)], dim=-1)
            pooled = torch.sort(pooled, dim=-1).values
            keep = pooled.shape[-1] - 2 * c.top_quantiles_to_drop
            y = r[:, None] + c.gamma * (1.0 - d[:, None]) * (pooled[:, :keep]
                                                             - alpha * logp2[:, None])
        critic_loss = (quantile_huber_loss(self.z1(s, u), y, self.tau_levels, c.kappa)
                       + quantile_huber_loss(self.z2(s, u), y, self.tau_levels, c.kappa))
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        # actor: maximize Φ(Z) + entropy
        # actor (critics frozen: their weights need no gradient from the actor's loss)
        self.z1.requires_grad_(False)
        self.z2.requires_grad_(False)
        u_new, logp = self.actor.sample(s, self.gen)
        z_new = 0.5 * (self.z1(s, u_new) + self.z2(s, u_new))
        actor_loss = (alpha * logp - self.objective(z_new)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        self.z1.requires_grad_(True)
        self.z2.requires_grad_(True)
        out = {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item(),
               "alpha": alpha.item(), "entropy": -logp.mean().item()}
        # temperature
        if c.autotune_alpha:
            alpha_loss = -(self.temperature.log_alpha * (logp.detach()
                                                         + c.target_entropy)).mean()
            self.alpha_opt.zero_grad()
            alpha_loss.backward()
            self.alpha_opt.step()
            out["alpha_loss"] = alpha_loss.item()
        polyak_update(self.z1_target, self.z1, c.tau)
        polyak_update(self.z2_target, self.z2, c.tau)
        return out

    @torch.no_grad()
    def cost_distribution(self, obs, a):
        """Learned distribution of the discounted cost of raw action(s) ``a`` at ``obs``.

        Returns ``(levels, quantiles)``: ``levels`` (N,) ascending in (0, 1) and
        ``quantiles`` (n, N) the cost quantiles at those levels, in cost units (average of the
        twin critics, reward normalization undone). The soft values include the entropy
        bonus of the policy followed afterwards (small once α has decayed).
        """
        u = normalized_action(obs, a, self.a_max, self.unit_actions, self.act_dim)
        obs = torch.as_tensor(np.atleast_2d(np.asarray(obs, np.float32))).expand(len(u), -1)
        s = self.obs_norm(obs)
        z = 0.5 * (torch.sort(self.z1(s, u), -1).values + torch.sort(self.z2(s, u), -1).values)
        returns = self.unscale_value(z.numpy().astype(np.float64))
        costs = -returns[:, ::-1]          # cost quantile at τ = -(return quantile at 1-τ)
        return self.tau_levels.numpy().astype(np.float64), np.ascontiguousarray(costs)

    # -- the training loop -----------------------------------------------------------------
    def learn(self, env, until=None, *, eval_env=None, quiet=False):
        """Train until ``global_step >= until`` (default ``config.total_steps``), finishing the
        current episode; returns the history (list of dicts). The loop is DDPG's (see
        :meth:`.ddpg.DDPG.learn`): act (random warm-up, then policy samples), store, update."""
        c = self.config
        check_env(env)
        if env.single_observation_space.shape[0] != self.obs_dim:
            raise ValueError(f"env observations have {env.single_observation_space.shape[0]} "
                             f"features, the agent expects {self.obs_dim}")
        until = c.total_steps if until is None else check_int("until", until, low=0)
        n = env.num_envs
        t_start = time.perf_counter()
        ep_cost = []
        bar = tqdm(total=until, initial=min(self.global_step, until), disable=quiet,
                   desc="DSAC", leave=False)
        try:
            while True:
                if self._obs is None:                          # a new episode
                    if self.global_step >= until or self.keep.stop:
                        break
                    self._obs, _ = env.reset(seed=int(self.rng.integers(2**31 - 1)))
                obs = self._obs
                # 2.1 act: random warm-up, then samples of the policy (Algorithm 8.1)
                if self.global_step < c.learning_starts:
                    u = self.rng.uniform(-1.0, 1.0, size=(n, self.act_dim))
                else:
                    u = self.explore(obs)
                # 2.2 decode, order, store the transitions
                q = self.decoder(decoder_input(u, self.a_max, self.unit_actions),
                                 np.asarray(obs, np.float64))
                next_obs, r, term, trunc, _ = env.step(q)
                self.buffer.add(obs, u, r, next_obs, term)
                self.obs_norm.update(obs)
                ep_cost.append(-float(np.mean(r)))
                self.global_step += n
                bar.update(n)
                ended = np.logical_or(term, trunc)
                if ended.any():
                    if not ended.all():
                        raise RuntimeError("all environments of the vector env must end their "
                                           "episodes together (BatchInventoryEnv does)")
                    self._obs = None
                else:
                    self._obs = next_obs
                # 2.3 learn from replayed minibatches (after the warm-up)
                if self.global_step >= c.learning_starts:
                    if not self.reward_stats_fixed:
                        self.fix_reward_stats()
                    if c.lr_decay:
                        decay_learning_rates([self.actor_opt, self.critic_opt, self.alpha_opt],
                                             self.global_step, c.total_steps,
                                             c.lr_final_fraction)
                    for _ in range(c.gradient_steps):
                        losses = self.update(self.buffer.sample(c.batch_size, self.gen))
                        # for large errors the loss (two critics, summed over N quantiles,
                        # Huber/kappa) grows like N * |error|
                        check_losses("dsac", self.global_step, losses,
                                     losses["critic_loss"] / c.n_quantiles, self.value_bound)
                        self.losses.add(losses)
                        self.n_updates += 1
                # 2.4 every eval_every transitions: a history row, keeping the best policy
                if self.schedule.due(self.global_step):
                    row = self.log_row(eval_env, t_start,
                                       {"train_cost_per_step": float(np.mean(ep_cost))})
                    ep_cost = []
                    if not bar.disable and "eval_cost" in row:
                        bar.set_postfix(eval_cost=f"{row['eval_cost']:.3f}")
        finally:
            bar.close()
            self.wall_time += time.perf_counter() - t_start
        return self.history

    def log_row(self, eval_env, t_start, extra):
        """One history row: the held-out cost (keeping the best policy), the mean losses since
        the last row and ``extra``."""
        check_parameters("DSAC", f"step {self.global_step}",
                         {"actor": self.actor, "z1": self.z1, "z2": self.z2,
                          "z1_target": self.z1_target, "z2_target": self.z2_target,
                          "temperature": self.temperature})
        row = {"step": self.global_step}
        if eval_env is not None:
            cost = self.evaluate(eval_env)
            check_eval_cost("dsac", self.global_step, cost)
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
        return agent_state(self, {"r_shift": self.r_shift, "r_scale": self.r_scale,
                                  "reward_stats_fixed": self.reward_stats_fixed},
                           include_buffer)

    def load_state_dict(self, d):
        extra = restore_agent_state(self, d)
        self.r_shift, self.r_scale = float(extra["r_shift"]), float(extra["r_scale"])
        self.reward_stats_fixed = bool(extra["reward_stats_fixed"])
        if self.reward_stats_fixed:
            self.set_value_bound()
        return self

    def save(self, path, include_buffer=True):
        """Write a checkpoint (atomic; see :mod:`deepstock_lite.rl.checkpoint`)."""
        return save_checkpoint(path, self.state_dict(include_buffer=include_buffer))

    @classmethod
    def load(cls, path, decoder=None):
        """Rebuild an agent from :meth:`save`; call :meth:`learn` on it to resume training."""
        return load_agent(cls, path, decoder)


def cvar(quantiles, level):
    """CVaR at ``level`` (mean of the worst ``level`` share) of costs given as equally
    weighted quantiles (last axis, ascending)."""
    q = np.asarray(quantiles, np.float64)
    k = max(1, math.ceil(level * q.shape[-1] - 1e-9))
    return np.sort(q, axis=-1)[..., -k:].mean(-1)


def train(env, config=None, *, eval_env=None, decoder=None, quiet=False, restore_best=True):
    """Train distributional SAC on a vector env; returns a
    :class:`~.evaluation.TrainingResult` that unpacks as ``agent, history`` (see
    :func:`.ddpg.train`)."""
    config = DSACConfig() if config is None else config
    if not isinstance(config, DSACConfig):
        raise TypeError(f"config must be a DSACConfig, got {type(config).__name__}")
    check_env(env)
    a_max = config.a_max if config.a_max is not None else float(env.single_action_space.high[0])
    agent = DSAC(config, env.single_observation_space.shape[0], a_max, decoder)
    agent.learn(env, eval_env=eval_env, quiet=quiet)
    if restore_best and agent.best is not None:
        agent.load_best()
    return TrainingResult.from_keep(agent, agent.history, agent.keep)
