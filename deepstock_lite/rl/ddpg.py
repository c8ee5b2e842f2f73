r"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016), minimal and readable.

Symbols as in the chapter and the book's notation table (the code's ``u`` is the agent's
action :math:`\tilde u`):

* actor :math:`\pi_\theta(s) \in [-1, 1]` (tanh), the agent's action
  :math:`\tilde u = \pi_\theta(s)`, the decoder's unit action :math:`u = (\tilde u + 1)/2`,
  raw action :math:`a = a_{\max} u`, order :math:`q = \mathrm{decoder}(a, s)`;
* critic :math:`Q_\phi(s, \tilde u)` on the agent's actions :math:`\tilde u` (or, with
  ``critic_input="order"``, :math:`Q_\phi(s, \tilde q)` on the decoded order
  :math:`\tilde q = 2q/a_{\max} - 1`: the actor's gradient then passes through the decoder and
  is exactly zero where the decoder clamps the order at zero);
* ``clamp_gradient`` separates that zero from the change of input: ``"zero"`` gives the
  critic on :math:`\tilde u` the same zero (the actor's gradient is masked where the order is
  clamped), ``"pass"`` gives the critic on the order a straight-through clamp (the gradient
  passes as if the order were not clamped);
* targets :math:`\pi_{\bar\theta}, Q_{\bar\phi}` updated by Polyak averaging
  :math:`\bar\phi \leftarrow \tau\phi + (1-\tau)\bar\phi` (the same for :math:`\bar\theta`);
* TD target :math:`\hat R = r + \gamma\,(1 - d)\,Q_{\bar\phi}(s', \pi_{\bar\theta}(s'))` with
  :math:`d` = *terminated* only (a truncated episode still bootstraps);
* critic loss :math:`\mathbb{E}[(Q_\phi(s, \tilde u) - \hat R)^2]`, actor loss
  :math:`-\mathbb{E}[Q_\phi(s, \pi_\theta(s))]`;
* exploration :math:`\tilde u = \operatorname{clip}(\pi_\theta(s) + \sigma\varepsilon, -1, 1)`,
  :math:`\varepsilon \sim \mathcal N(0, 1)`, after ``learning_starts`` uniformly random actions;
* TD3's two changes to the target (Fujimoto et al. 2018), off by default: ``twin_critics``
  trains a second critic :math:`Q_{\phi_2}` on the same target, which takes the smaller target
  critic, :math:`\min_k Q_{\bar\phi_k}`; ``target_noise`` :math:`\sigma'` smooths the target
  action, :math:`\tilde u' = \operatorname{clip}(\pi_{\bar\theta}(s') +
  \operatorname{clip}(\sigma'\varepsilon', \pm c), -1, 1)` with :math:`c` =
  ``target_noise_clip``. With ``policy_delay`` (the third) they make DDPG TD3.

Read it top to bottom: :class:`DDPGConfig` (every hyperparameter), :class:`Actor` and
:class:`Critic`, then :class:`DDPG`: acting, :meth:`DDPG.update` (one gradient step of critic
and actor) and :meth:`DDPG.learn`, the training loop. :func:`train` builds an agent and runs
the loop. The pieces shared with PPO and distributional SAC are small and do not call back
into this file: networks (:mod:`.networks`), the replay buffer, the observation normalizer,
the action mapping (:mod:`.actions`), the divergence guard and keep-best bookkeeping
(:mod:`.evaluation`) and checkpoints (:mod:`.checkpoint`).

The file is longer than the package's 400-line guide on purpose: the whole algorithm, loop
included, reads in one place (CleanRL's habit), which is the point of the file.
"""
# Longer than 400 lines: the whole algorithm (config, networks, acting, update, training
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
from .actions import check_agent_args, check_env, decoder_input, normalized_action, to_raw
from .buffers import ReplayBuffer
from .checkpoint import agent_state, load_agent, restore_agent_state, save_checkpoint
from .config_fields import field_bool, field_choice, field_hidden, field_int, field_real
from .evaluation import (DIVERGENCE_FACTOR, EvalSchedule, KeepBest, LossAverages,
                         TrainingResult, check_eval_cost, check_losses, check_parameters,
                         decay_learning_rates)
from .networks import ACTIVATIONS, Net, adam, mlp, polyak_update, set_initial_action
from .normalization import ObsNormalizer

__all__ = ["DDPGConfig", "DDPG", "train", "CRITIC_INPUTS", "CLAMP_GRADIENTS", "REWARD_NORMS",
           "EARLIER_DEFAULTS"]

#: what the critic can score: the agent's action ũ (the actor's output), or the decoded order
CRITIC_INPUTS = ("action", "order")
#: the actor's gradient at states where the decoder clamps the order at zero, when it is not
#: the critic input's own: "zero" masks it (for the critic on ũ), "pass" lets it through the
#: clamp as if the order were not clamped (for the critic on the order, a straight-through
#: clamp); None keeps each critic's own (ũ: passes, the order: zero)
CLAMP_GRADIENTS = ("zero", "pass")
#: how the critic's rewards are normalized (fixed at the end of the warm-up):
#: ``"return"`` divides by the standard deviation of the discounted warm-up return and clips
#: to ``±reward_clip``, without centring (Stable-Baselines3's ``VecNormalize`` rule);
#: ``"reward"`` centres and scales by the warm-up rewards' mean and standard deviation;
#: ``"off"`` leaves them alone
REWARD_NORMS = ("return", "reward", "off")
#: the book's DDPG defaults before Chapter 13's collapse study: rewards centred. Centred, the
#: rewards of ordering nothing sit above the mean and DDPG + None collapsed to ordering
#: nothing in every seed; runs made before the change pin this field
#: (``DDPGConfig(**EARLIER_DEFAULTS, ...)``) and stay reproducible.
EARLIER_DEFAULTS = {"reward_norm": "reward"}


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
    twin_critics: bool = False       # TD3: a second critic; the target takes the smaller
    target_noise: float = 0.0        # TD3: σ' of the target action's smoothing noise
    target_noise_clip: float = 0.5   # TD3: that noise is clipped to ±this
    max_grad_norm: float | None = None
    a_max: float | None = None       # top of the raw action range (None: env's q_max)
    initial_action: float | None = None  # initial action bias: start at this share of the range
    normalize_obs: bool = True
    reward_norm: str = "return"      # one of REWARD_NORMS, fixed by warm-up statistics
    reward_clip: float = 10.0        # |scaled reward| cap under reward_norm="return"
    eval_every: int = 2_500          # transitions between evaluations / history rows
    patience: int = 0                # stop after this many evaluations without improvement
    critic_input: str = "action"     # what the critic scores: "action" ũ or decoded "order"
    clamp_gradient: str | None = None  # actor's gradient where the order is clamped (above)
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
        field_bool(self, "twin_critics")
        field_real(self, "target_noise", low=0.0)
        field_real(self, "target_noise_clip", low=0.0, low_open=True)
        field_real(self, "max_grad_norm", low=0.0, low_open=True, optional=True)
        field_real(self, "a_max", low=0.0, high=MAX_QUANTITY, low_open=True,
                   optional=True)
        field_real(self, "initial_action", low=0.0, high=1.0, low_open=True, high_open=True,
                   optional=True)
        field_bool(self, "normalize_obs")
        field_choice(self, "reward_norm", REWARD_NORMS)
        field_real(self, "reward_clip", low=0.0, low_open=True)
        field_int(self, "eval_every", low=1)
        field_int(self, "patience", low=0)
        field_choice(self, "critic_input", CRITIC_INPUTS)
        if self.clamp_gradient is not None:
            field_choice(self, "clamp_gradient", CLAMP_GRADIENTS)
        field_int(self, "seed", low=0, high=2**32 - 1)


class Actor(Net):
    r"""The actor :math:`\pi_\theta(s) = \tanh(f_\theta(s)) \in [-1, 1]`: the agent's action
    :math:`\tilde u`."""

    def __init__(self, obs_dim, hidden, activation, act_dim=1):
        super().__init__()
        self.net = mlp(obs_dim, act_dim, hidden, activation, out_gain=0.01)

    def forward(self, s):
        return torch.tanh(self.net(s))


class Critic(Net):
    r"""The critic :math:`Q_\phi(s, \tilde u)`."""

    def __init__(self, obs_dim, hidden, activation, act_dim=1):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, 1, hidden, activation)

    def forward(self, s, u):
        return self.net(torch.cat([s, u], dim=-1)).squeeze(-1)


class DDPG:
    """A DDPG agent: build it with a config, the observation width, the top of the raw action
    range and a decoder; train it with :meth:`learn` (or :func:`train`), act with :meth:`act`.
    """

    algo = "ddpg"
    Config = DDPGConfig

    def __init__(self, config, obs_dim, a_max, decoder=None):
        (self.obs_dim, self.a_max, self.decoder, self.act_dim,
         self.unit_actions) = check_agent_args(config, DDPGConfig, obs_dim, a_max, decoder)
        self.config = c = config
        if c.clamp_gradient is not None and not hasattr(self.decoder, "target"):
            raise ValueError(f"DDPGConfig.clamp_gradient={c.clamp_gradient!r} needs a "
                             f"decoding that clamps a target (a Regularization), got "
                             f"{type(self.decoder).__name__}")
        # the run is fixed by config.seed: numpy for environment seeds and warm-up actions,
        # torch for the exploration noise and the minibatches
        self.rng = np.random.default_rng(c.seed)
        self.gen = torch.Generator().manual_seed(c.seed)
        self.obs_norm = ObsNormalizer(self.obs_dim, enabled=c.normalize_obs)
        with torch.random.fork_rng():          # initial weights from config.seed too
            torch.manual_seed(c.seed)
            self.actor = Actor(self.obs_dim, c.hidden, c.activation, self.act_dim)
            set_initial_action(self.actor.net[-1], c.initial_action, squash=True)
            width = 1 if c.critic_input == "order" else self.act_dim
            self.critic = Critic(self.obs_dim, c.hidden, c.activation, width)
            self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
            self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
            # TD3's second critic, drawn after everything else so that the other
            # networks start from the same weights with it or without it
            self.critic2 = self.critic2_target = None
            self.critic_params = list(self.critic.parameters())
            if c.twin_critics:
                self.critic2 = Critic(self.obs_dim, c.hidden, c.activation, width)
                self.critic2_target = copy.deepcopy(self.critic2).requires_grad_(False)
                self.critic_params += list(self.critic2.parameters())
            self.actor_opt = adam(self.actor.parameters(), c.actor_lr)
            self.critic_opt = adam(self.critic_params, c.critic_lr)
        self.buffer = ReplayBuffer(c.buffer_size, self.obs_dim, self.act_dim)
        # reward normalization, fixed from the warm-up's rewards (see fix_reward_stats):
        # the discounted return of each env, and every value it took during the warm-up
        self.r_shift, self.r_scale = 0.0, 1.0
        self.reward_stats_fixed = False
        self.warmup_return, self.warmup_returns = None, []
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

    # -- acting --------------------------------------------------------------------------------
    @torch.no_grad()
    def raw_action(self, obs, deterministic=True):
        """The decoder's input for raw observations ``(n, d)``: ``a`` in ``[0, a_max]``
        (shape (n,)) or unit actions (n, k) (see :func:`.actions.decoder_input`)."""
        obs = np.asarray(obs, np.float32)
        single = obs.ndim == 1
        obs = np.atleast_2d(obs)
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have {self.obs_dim} features, got shape {obs.shape}")
        u = self.actor(self.obs_norm(torch.from_numpy(obs)))     # deterministic: π_θ(s)
        a = decoder_input(u, self.a_max, self.unit_actions)
        return a[0] if single else a

    def act(self, obs, deterministic=True):
        """Orders for raw observations: ``decoder(raw_action(obs), obs)``."""
        a = self.raw_action(obs, deterministic)
        return np.asarray(self.decoder(a, np.asarray(obs, np.float64)), np.float64)

    def evaluate(self, env):
        """Average cost per period of the policy on ``env`` (``env.rollout``)."""
        return float(env.rollout(lambda o: self.act(o, deterministic=True)))

    @torch.no_grad()
    def explore(self, obs):
        r"""Exploration: :math:`\tilde u = \operatorname{clip}(\pi_\theta(s) + \sigma\varepsilon,
        -1, 1)` for raw observations ``obs``."""
        mu = self.actor(self.obs_norm(torch.from_numpy(np.asarray(obs, np.float32))))
        eps = torch.randn(mu.shape, generator=self.gen)
        return (mu + self.config.exploration_noise * eps).clamp(-1.0, 1.0).numpy()

    # -- the critic's view -----------------------------------------------------------------
    def critic_action(self, obs, u):
        r"""What the critic scores for raw observations ``obs`` and the agent's actions ``u``
        (:math:`\tilde u`, tensors): ``u`` itself, or with ``critic_input="order"`` the
        decoded order :math:`2q/a_{\max} - 1`, differentiable in ``u`` through the decoder (torch).
        ``clamp_gradient`` changes only the gradient, never the value: ``"zero"`` masks
        ``u``'s gradient where the decoded order is clamped at zero, ``"pass"`` decodes
        through a straight-through clamp."""
        c = self.config
        if c.critic_input == "action":
            if c.clamp_gradient == "zero" and u.requires_grad:
                with torch.no_grad():
                    clamped = self.decoder(self.decoder_action(u), obs) <= 0.0
                return torch.where(clamped.unsqueeze(-1), u.detach(), u)
            return u
        if c.clamp_gradient == "pass":
            q = self.decoder(self.decoder_action(u), obs, surrogate="straight-through")
        else:
            q = self.decoder(self.decoder_action(u), obs)
        return (2.0 * q / self.a_max - 1.0).unsqueeze(-1)

    def decoder_action(self, u):
        """The decoder's input for the agent's actions ``u`` (ũ; tensors,
        differentiable)."""
        return (u.clamp(-1.0, 1.0) + 1.0) / 2.0 if self.unit_actions \
            else to_raw(u, self.a_max)[:, 0]

    def track_return(self, r):
        """During the warm-up: the discounted return of each env, ``G <- γ G + r`` (restarted
        at every episode), recorded for ``reward_norm="return"``."""
        if self.warmup_return is None:                  # a new episode
            self.warmup_return = np.zeros(len(r))
        self.warmup_return = self.warmup_return * self.config.gamma \
            + np.asarray(r, np.float32).astype(np.float64)   # as the buffer stores it
        self.warmup_returns.append(self.warmup_return)

    def fix_reward_stats(self):
        """At the end of the warm-up: the reward shift and scale the critic learns in
        (``reward_norm``), and the divergence guard's bound.

        ``"return"`` (the default) divides rewards by the standard deviation of the
        discounted return and does not centre them. ``"reward"`` (the earlier default)
        centres and scales them by the warm-up rewards; inventory episodes never terminate,
        so the shift leaves the optimal policy unchanged, but the critic must learn it: after
        a warm-up that overstocks, the rewards of ordering nothing sit far above the mean,
        and DDPG + None collapsed to ordering nothing in every seed (Chapter 13)."""
        r = self.buffer.rewards().astype(np.float64)
        if self.config.reward_norm == "reward":
            self.r_shift = float(r.mean())
            self.r_scale = float(1.0 / max(r.std(), 1e-6))
        elif self.config.reward_norm == "return":
            returns = np.concatenate(self.warmup_returns)
            self.r_scale = float(1.0 / np.sqrt(np.var(returns) + 1e-8))
        self.reward_stats_fixed = True
        self.warmup_returns = []
        self.set_value_bound(r)

    def set_value_bound(self, r=None):
        """Divergence bound on the critic's TD errors: 10 000 x the largest discounted return
        the warm-up rewards allow (in the critic's scaled units)."""
        r = self.buffer.rewards().astype(np.float64) if r is None else r
        if r.size:
            top = float(np.max(np.abs(self.scaled_reward(r)))) + 1.0
            self.value_bound = DIVERGENCE_FACTOR * top / (1.0 - self.config.gamma)

    def scaled_reward(self, r):
        """Reward as the critic sees it: ``(r - r_shift) * r_scale``, clipped to
        ``±reward_clip`` under ``reward_norm="return"`` (numpy or torch)."""
        x = (r - self.r_shift) * self.r_scale
        if self.config.reward_norm == "return":
            x = x.clip(-self.config.reward_clip, self.config.reward_clip)
        return x

    def unscale_value(self, v):
        """A critic value back in reward units: ``v / r_scale + r_shift / (1 - γ)``."""
        return v / self.r_scale + self.r_shift / (1.0 - self.config.gamma)

    @torch.no_grad()
    def q_value(self, obs, a):
        """Critic's value of raw action(s) ``a`` at raw observation(s) ``obs``, in reward
        units (minus the discounted cost); broadcasts ``obs (n, d)`` against ``a (n,)``."""
        u = normalized_action(obs, a, self.a_max, self.unit_actions, self.act_dim)
        obs = torch.as_tensor(np.atleast_2d(np.asarray(obs, np.float32))).expand(len(u), -1)
        v = self.critic(self.obs_norm(obs), self.critic_action(obs, u))
        return self.unscale_value(v).numpy().astype(np.float64)

    # -- one update ------------------------------------------------------------------------
    def gradient_step(self, opt, loss, params):
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
            u2 = self.actor_target(s2)
            if c.target_noise > 0.0:           # TD3: target policy smoothing
                eps = torch.randn(u2.shape, generator=self.gen) * c.target_noise
                u2 = (u2 + eps.clamp(-c.target_noise_clip, c.target_noise_clip)).clamp(-1, 1)
            x2 = self.critic_action(o2, u2)
            q2 = self.critic_target(s2, x2)
            if c.twin_critics:                 # TD3: the smaller of the two target critics
                q2 = torch.minimum(q2, self.critic2_target(s2, x2))
            y = r + c.gamma * (1.0 - d) * q2
        x = self.critic_action(o, u)
        critic_loss = ((self.critic(s, x) - y) ** 2).mean()
        if c.twin_critics:                     # both critics regress on the one target
            critic_loss = critic_loss + ((self.critic2(s, x) - y) ** 2).mean()
        self.gradient_step(self.critic_opt, critic_loss, self.critic_params)
        out = {"critic_loss": critic_loss.item()}
        if self.n_updates % c.policy_delay == 0:
            # the actor's gradient flows through the critic, but the critic's own
            # weights need none: freezing them skips a third of the backward pass
            self.critic.requires_grad_(False)
            actor_loss = -self.critic(s, self.critic_action(o, self.actor(s))).mean()
            self.gradient_step(self.actor_opt, actor_loss, self.actor.parameters())
            self.critic.requires_grad_(True)
            polyak_update(self.actor_target, self.actor, c.tau)
            polyak_update(self.critic_target, self.critic, c.tau)
            if c.twin_critics:
                polyak_update(self.critic2_target, self.critic2, c.tau)
            out["actor_loss"] = actor_loss.item()
        return out

    # -- the training loop -----------------------------------------------------------------
    def learn(self, env, until=None, *, eval_env=None, quiet=False):
        """Train until ``global_step >= until`` (default ``config.total_steps``), finishing the
        current episode; returns the history (list of dicts).

        Per vector step the ``n`` environments take one action each (uniformly random during
        the first ``learning_starts`` transitions, then :meth:`explore`); the transitions go to
        the replay buffer; after the warm-up, ``gradient_steps`` updates follow. Only
        ``terminated`` cuts the bootstrap: a truncated episode (the time limit) still
        bootstraps from its final state. Training stops only at an episode boundary, so a
        checkpoint saved after ``learn`` resumes exactly as an uninterrupted run continues.
        """
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
                   desc="DDPG", leave=False)
        try:
            while True:
                if self._obs is None:                          # a new episode
                    if self.global_step >= until or self.keep.stop:
                        break
                    self._obs, _ = env.reset(seed=int(self.rng.integers(2**31 - 1)))
                obs = self._obs
                # 2.1 act: random warm-up, then the actor plus Gaussian noise (Algorithm 6.1)
                if self.global_step < c.learning_starts:
                    u = self.rng.uniform(-1.0, 1.0, size=(n, self.act_dim))
                else:
                    u = self.explore(obs)
                # 2.2 decode, order, store the transitions
                q = self.decoder(decoder_input(u, self.a_max, self.unit_actions),
                                 np.asarray(obs, np.float64))
                next_obs, r, term, trunc, _ = env.step(q)
                self.buffer.add(obs, u, r, next_obs, term)
                if not self.reward_stats_fixed:
                    self.track_return(r)
                self.obs_norm.update(obs)
                ep_cost.append(-float(np.mean(r)))
                self.global_step += n
                bar.update(n)
                ended = np.logical_or(term, trunc)
                if ended.any():
                    if not ended.all():
                        raise RuntimeError("all environments of the vector env must end their "
                                           "episodes together (BatchInventoryEnv does)")
                    self._obs, self.warmup_return = None, None
                else:
                    self._obs = next_obs
                # 2.3 learn from replayed minibatches (after the warm-up)
                if self.global_step >= c.learning_starts:
                    if not self.reward_stats_fixed:
                        self.fix_reward_stats()
                    if c.lr_decay:
                        decay_learning_rates([self.actor_opt, self.critic_opt],
                                             self.global_step, c.total_steps,
                                             c.lr_final_fraction)
                    for _ in range(c.gradient_steps):
                        losses = self.update(self.buffer.sample(c.batch_size, self.gen))
                        check_losses("ddpg", self.global_step, losses,
                                     math.sqrt(losses["critic_loss"]), self.value_bound)
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
        check_parameters("DDPG", f"step {self.global_step}",
                         {"actor": self.actor, "critic": self.critic,
                          "actor_target": self.actor_target,
                          "critic_target": self.critic_target})
        row = {"step": self.global_step}
        if eval_env is not None:
            cost = self.evaluate(eval_env)
            check_eval_cost("ddpg", self.global_step, cost)
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
        # a checkpoint falls between episodes, so the running return is 0 there; the returns
        # of an unfinished warm-up travel with it
        return agent_state(self, {"r_shift": self.r_shift, "r_scale": self.r_scale,
                                  "reward_stats_fixed": self.reward_stats_fixed,
                                  "warmup_returns": torch.from_numpy(
                                      np.concatenate(self.warmup_returns or [np.zeros(0)]))},
                           include_buffer)

    def load_state_dict(self, d):
        extra = restore_agent_state(self, d)
        self.r_shift, self.r_scale = float(extra["r_shift"]), float(extra["r_scale"])
        self.reward_stats_fixed = bool(extra["reward_stats_fixed"])
        returns = extra.get("warmup_returns")
        self.warmup_returns = [] if returns is None or len(returns) == 0 \
            else [returns.numpy().astype(np.float64)]
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


def train(env, config=None, *, eval_env=None, decoder=None, quiet=False, restore_best=True):
    """Train DDPG on a vector env; returns a :class:`~.evaluation.TrainingResult` (the agent as
    its ``policy``), which unpacks as ``agent, history``.

    ``eval_env`` (a :class:`~deepstock_lite.envs.BatchInventoryEnv` on held-out demand) is
    evaluated every ``config.eval_every`` transitions; with ``restore_best`` the returned agent
    holds the best evaluated policy. ``config.a_max`` defaults to the env's largest action.
    """
    config = DDPGConfig() if config is None else config
    if not isinstance(config, DDPGConfig):
        raise TypeError(f"config must be a DDPGConfig, got {type(config).__name__}")
    check_env(env)
    a_max = config.a_max if config.a_max is not None else float(env.single_action_space.high[0])
    agent = DDPG(config, env.single_observation_space.shape[0], a_max, decoder)
    agent.learn(env, eval_env=eval_env, quiet=quiet)
    if restore_best and agent.best is not None:
        agent.load_best()
    return TrainingResult.from_keep(agent, agent.history, agent.keep)
