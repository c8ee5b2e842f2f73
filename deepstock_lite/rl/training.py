"""What every agent shares: configuration checks, the divergence guard, learning-rate decay,
held-out evaluation that keeps the best policy (with optional early stopping), progress bars,
checkpoints and the off-policy training loop used by DDPG and distributional SAC.

Reproducibility contract: an agent owns its random generators (a numpy ``Generator`` for
environment seeds and warm-up actions, a ``torch.Generator`` for noise and minibatches), so a
run is fixed by ``config.seed``; training always stops at an episode boundary, so a checkpoint
saved after :meth:`learn` and resumed continues *exactly* as an uninterrupted run would.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.validation import (MAX_COUNT, MAX_QUANTITY, check_bool, check_int, check_name,
                               check_real)
from .buffers import ReplayBuffer
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .decoders import IdentityDecoder, decoder_from_dict
from .networks import MAX_OBS_DIM, MAX_WIDTH, all_finite
from .normalization import ObsNormalizer

#: a critic whose TD errors exceed this many times the largest discounted return of the
#: warm-up rewards has diverged
DIVERGENCE_FACTOR = 10_000.0

__all__ = ["TrainingDivergedError", "Agent", "OffPolicyAgent", "linear_lr", "check_env",
           "field_int", "field_real", "field_bool", "field_hidden"]


class TrainingDivergedError(RuntimeError):
    """Raised when a loss or a network parameter becomes NaN or infinite."""


# -- configuration checks (ValueError/TypeError naming Config.field) -------------------------
def field_int(cfg, name, low=None, high=None):
    v = check_int(f"{type(cfg).__name__}.{name}", getattr(cfg, name), low=low, high=high)
    setattr(cfg, name, v)


def field_real(cfg, name, low=None, high=None, low_open=False, high_open=False, optional=False):
    value = getattr(cfg, name)
    if optional and value is None:
        return
    v = check_real(f"{type(cfg).__name__}.{name}", value, low=low, high=high,
                   low_open=low_open, high_open=high_open)
    setattr(cfg, name, v)


def field_bool(cfg, name):
    setattr(cfg, name, check_bool(f"{type(cfg).__name__}.{name}", getattr(cfg, name)))


def field_choice(cfg, name, choices):
    """A config field that must be one of the names ``choices`` (a ``TypeError`` for a
    non-string, a ``ValueError`` for an unknown name, each naming ``Config.field``)."""
    check_name(f"{type(cfg).__name__}.{name}", getattr(cfg, name), choices)


def field_hidden(cfg, name="hidden"):
    value = getattr(cfg, name)
    full = f"{type(cfg).__name__}.{name}"
    if not isinstance(value, (list, tuple)) or len(value) == 0:
        raise TypeError(f"{full} must be a non-empty tuple of layer widths, got {value!r}")
    setattr(cfg, name, tuple(check_int(f"{full}[{i}]", h, low=1, high=MAX_WIDTH)
                             for i, h in enumerate(value)))


def linear_lr(lr, step, total_steps, final_fraction):
    """Learning rate decayed linearly from ``lr`` to ``final_fraction * lr`` over training."""
    progress = min(step / max(total_steps, 1), 1.0)
    return lr * (1.0 - progress * (1.0 - final_fraction))


def check_env(env):
    """The agents need a vector env with a 1-D Box action and a flat observation."""
    for attr in ("num_envs", "single_observation_space", "single_action_space", "reset", "step"):
        if not hasattr(env, attr):
            raise TypeError(f"env must be a gymnasium VectorEnv (e.g. BatchInventoryEnv); "
                            f"it has no {attr!r}")
    if tuple(env.single_action_space.shape) != (1,):
        raise ValueError("env's single_action_space must have shape (1,) (one order per SKU)")
    if len(env.single_observation_space.shape) != 1:
        raise ValueError("env's single_observation_space must be flat (1-D)")


class Agent:
    """Base class: policy evaluation, best-policy bookkeeping, guard, checkpoints.

    Subclasses set ``algo``, ``Config``, ``policy_modules`` and implement ``_build`` (networks
    and optimizers), ``_policy(obs_n, deterministic) -> u`` (normalized action in [-1, 1])
    and ``learn``.
    """

    algo = "agent"
    Config = None
    policy_modules = ("actor",)

    def __init__(self, config, obs_dim, a_max, decoder=None):
        if not isinstance(config, self.Config):
            raise TypeError(f"config must be a {self.Config.__name__}, "
                            f"got {type(config).__name__}")
        self.config = config
        self.obs_dim = check_int("obs_dim", obs_dim, low=1, high=MAX_OBS_DIM)
        width = max(getattr(config, "hidden", None) or (1,))
        if (self.obs_dim + 1) * width > MAX_COUNT:
            raise ValueError(f"(obs_dim + 1) * widest hidden layer must be at most {MAX_COUNT} "
                             f"(first-layer weights), got obs_dim={self.obs_dim}, "
                             f"hidden={config.hidden}")
        self.a_max = check_real("a_max", a_max, low=0.0, high=MAX_QUANTITY, low_open=True)
        self.decoder = IdentityDecoder() if decoder is None else decoder
        if not callable(self.decoder):
            raise TypeError("decoder must be callable as decoder(raw_action, obs) -> order")
        # width of the actor's output: 1 for the raw-action decoders of Part II, k for a
        # DeepStock Regularization (Coeff/Both read k = features + 1 coefficients)
        self.act_dim = check_int("decoder.n_outputs", getattr(self.decoder, "n_outputs", 1),
                                 low=1, high=64)
        self.unit_actions = bool(getattr(self.decoder, "unit_actions", False))
        if self.act_dim > 1 and not self.unit_actions:
            raise ValueError("a decoder with n_outputs > 1 must take unit actions "
                             "(set unit_actions = True and accept u in [0, 1]^k)")
        self.rng = np.random.default_rng(config.seed)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.obs_norm = ObsNormalizer(self.obs_dim, enabled=config.normalize_obs)
        with torch.random.fork_rng():
            torch.manual_seed(config.seed)
            self._build()
        self.global_step = 0
        self.n_updates = 0
        self.history = []
        self.best = None            # {"eval_cost", "step", "state"}
        self.stale_evals = 0
        self.stopped_early = False
        self.wall_time = 0.0
        self._next_log = config.eval_every
        self._acc = {}

    # -- to override -------------------------------------------------------------------------
    def _build(self):
        raise NotImplementedError

    def _policy(self, obs_n, deterministic):
        raise NotImplementedError

    def modules(self):
        """``{name: nn.Module}`` of everything trained (for checkpoints and the guard)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, torch.nn.Module)}

    def optimizers(self):
        return {k: v for k, v in vars(self).items() if isinstance(v, torch.optim.Optimizer)}

    def _extra_state(self):
        return {}

    def _load_extra_state(self, d):
        pass

    # -- acting ---------------------------------------------------------------------------
    def to_raw(self, u):
        r"""Normalized action :math:`u \in [-1, 1]` → raw action :math:`a = a_{\max}(u+1)/2`."""
        if torch.is_tensor(u):
            return self.a_max * (u.clamp(-1.0, 1.0) + 1.0) / 2.0
        return self.a_max * (np.clip(u, -1.0, 1.0) + 1.0) / 2.0

    def decoder_input(self, u):
        r"""What the decoder receives for normalized actions ``u`` (n, k) in [-1, 1]:
        the raw action :math:`a = a_{\max}(u+1)/2` of shape (n,) for a one-output decoder, or
        :math:`(u+1)/2 \in [0, 1]^k` of shape (n, k) for a decoder with ``unit_actions``
        (a DeepStock :class:`~deepstock_lite.deepstock.Regularization`)."""
        if torch.is_tensor(u):
            u = u.numpy()
        if self.unit_actions:
            return (np.clip(np.asarray(u, np.float64), -1.0, 1.0) + 1.0) / 2.0
        return np.asarray(self.to_raw(u)[:, 0], np.float64)

    def normalized_action(self, obs, a):
        """Inverse of :meth:`decoder_input` for a one-output actor: decoder input(s) ``a``
        (broadcast against ``obs (n, d)``) → normalized actions ``u`` (n, 1) as a tensor."""
        if self.act_dim != 1:
            raise ValueError(f"this needs a one-output actor; this agent has {self.act_dim}")
        obs = np.atleast_2d(np.asarray(obs, np.float32))
        a = torch.as_tensor(np.atleast_1d(np.asarray(a, np.float32)))
        a = a.reshape(-1).expand(max(obs.shape[0], a.numel()))
        top = 1.0 if self.unit_actions else self.a_max
        return (2.0 * a / top - 1.0)[:, None]

    @torch.no_grad()
    def raw_action(self, obs, deterministic=True):
        """The decoder's input for raw observations ``(n, d)``: ``a`` in ``[0, a_max]``
        (shape (n,)) or unit actions (n, k) (see :meth:`decoder_input`)."""
        obs = np.asarray(obs, np.float32)
        single = obs.ndim == 1
        obs = np.atleast_2d(obs)
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have {self.obs_dim} features, got shape {obs.shape}")
        u = self._policy(self.obs_norm(torch.from_numpy(obs)), deterministic)
        a = self.decoder_input(u)
        return a[0] if single else a

    def act(self, obs, deterministic=True):
        """Orders for raw observations: ``decoder(raw_action(obs), obs)``."""
        a = self.raw_action(obs, deterministic)
        return np.asarray(self.decoder(a, np.asarray(obs, np.float64)), np.float64)

    def evaluate(self, env):
        """Average cost per period of the deterministic policy on ``env`` (``env.rollout``)."""
        return float(env.rollout(lambda o: self.act(o, deterministic=True)))

    # -- bookkeeping ------------------------------------------------------------------------
    def _policy_state(self):
        mods = self.modules()
        return {"modules": {k: copy.deepcopy(mods[k].state_dict()) for k in self.policy_modules},
                "obs_norm": copy.deepcopy(self.obs_norm.state_dict())}

    def _td_error_size(self, losses):
        """Typical size of the critic's TD error implied by ``losses`` (None: not checked)."""
        return None

    def _load_policy_state(self, s):
        mods = self.modules()
        for k, sd in s["modules"].items():
            mods[k].load_state_dict(sd)
        self.obs_norm.load_state_dict(s["obs_norm"])

    def load_best(self):
        """Replace the current policy by the best one seen in held-out evaluation."""
        if self.best is None:
            raise RuntimeError("no evaluation was run: pass eval_env to learn()/train()")
        self._load_policy_state(self.best["state"])
        return self

    def _guard(self, losses):
        for k, v in losses.items():
            if not math.isfinite(v):
                raise TrainingDivergedError(
                    f"{self.algo.upper()} training diverged at step {self.global_step}: "
                    f"{k} = {v}. Lower the learning rates, check the reward scale "
                    f"(normalize rewards), or clip gradients (max_grad_norm).")
        size, bound = self._td_error_size(losses), getattr(self, "_value_bound", None)
        if size is not None and bound is not None and size > bound:
            # a finite but absurd critic: its TD errors exceed 10 000x the largest discounted
            # return the warm-up rewards allow, so its values (and the policy) mean nothing.
            # (A policy that orders wildly can honestly reach costs ~100x the warm-up's; an
            # exploding critic is at 1e10 within a few updates.)
            raise TrainingDivergedError(
                f"{self.algo.upper()} training diverged at step {self.global_step}: the "
                f"critic's TD error is about {size:.3g}, more than {bound:.3g} (10 000 times the "
                f"largest discounted return of the warm-up rewards). Lower the learning "
                f"rates (critic_lr, actor_lr) or clip gradients (max_grad_norm).")
        for k, v in losses.items():
            a = self._acc.setdefault(k, [0.0, 0])
            a[0] += v
            a[1] += 1

    def _guard_parameters(self):
        for name, m in self.modules().items():
            bad = all_finite(m)
            if bad is not None:
                raise TrainingDivergedError(
                    f"{self.algo.upper()} training diverged at step {self.global_step}: "
                    f"parameter {name}.{bad} holds NaN or inf. Lower the learning rates or "
                    f"clip gradients (max_grad_norm).")

    def _log(self, eval_env, t_start, extra=None):
        """One history row; evaluate on held-out demand and keep the best policy."""
        self._guard_parameters()
        row = {"step": self.global_step}
        if eval_env is not None:
            cost = self.evaluate(eval_env)
            if not math.isfinite(cost):
                raise TrainingDivergedError(f"{self.algo.upper()}: evaluation cost is {cost}")
            row["eval_cost"] = cost
            if self.best is None or cost < self.best["eval_cost"]:
                self.best = {"eval_cost": cost, "step": self.global_step,
                             "state": self._policy_state()}
                self.stale_evals = 0
            else:
                self.stale_evals += 1
                if self.config.patience and self.stale_evals >= self.config.patience:
                    self.stopped_early = True
        row.update({k: float(a[0] / max(a[1], 1)) for k, a in self._acc.items()})
        row.update({k: float(v) for k, v in (extra or {}).items()})
        row["wall_time"] = self.wall_time + (time.perf_counter() - t_start)
        self._acc = {}
        self.history.append(row)
        return row

    def _check_learn_args(self, env, until):
        """Validate the env against the agent; return the step to train until."""
        check_env(env)
        if env.single_observation_space.shape[0] != self.obs_dim:
            raise ValueError(f"env observations have {env.single_observation_space.shape[0]} "
                             f"features, the agent expects {self.obs_dim}")
        return self.config.total_steps if until is None else check_int("until", until, low=0)

    def _maybe_log(self, eval_env, t_start, bar, extra):
        """Log (and evaluate) once ``eval_every`` more transitions have passed; ``extra()``
        returns the loop's own statistics for the row (called only when logging). Returns
        whether a row was written, so the caller can reset what it accumulated for it."""
        if self.global_step < self._next_log:
            return False
        every = self.config.eval_every
        self._next_log += every * (1 + (self.global_step - self._next_log) // every)
        row = self._log(eval_env, t_start, extra())
        if not bar.disable and "eval_cost" in row:
            bar.set_postfix(eval_cost=f"{row['eval_cost']:.3f}")
        return True

    def _set_lr(self):
        c = self.config
        if not c.lr_decay:
            return
        for name, opt in self.optimizers().items():
            base = opt.param_groups[0].setdefault("initial_lr", opt.param_groups[0]["lr"])
            for g in opt.param_groups:
                g["lr"] = linear_lr(base, self.global_step, c.total_steps, c.lr_final_fraction)

    # -- checkpoints --------------------------------------------------------------------------
    def state_dict(self, include_buffer=True):
        dec = self.decoder.to_dict() if hasattr(self.decoder, "to_dict") else None
        best = None
        if self.best is not None:
            best = {"eval_cost": float(self.best["eval_cost"]), "step": int(self.best["step"]),
                    "state": self.best["state"]}
        d = {
            "algo": self.algo,
            "config": json.dumps(dataclasses.asdict(self.config)),
            "decoder": json.dumps(dec),
            "obs_dim": self.obs_dim, "a_max": self.a_max,
            "modules": {k: m.state_dict() for k, m in self.modules().items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
            "obs_norm": self.obs_norm.state_dict(),
            "rng": json.dumps(self.rng.bit_generator.state),
            "torch_gen": self.gen.get_state(),
            "progress": {"global_step": self.global_step, "n_updates": self.n_updates,
                         "stale_evals": self.stale_evals, "stopped_early": self.stopped_early,
                         "wall_time": self.wall_time, "next_log": self._next_log},
            "history": json.dumps(self.history),
            "best": best,
            "extra": self._extra_state(),
        }
        if include_buffer and getattr(self, "buffer", None) is not None:
            d["buffer"] = self.buffer.state_dict()
        return d

    def load_state_dict(self, d):
        mods, opts = self.modules(), self.optimizers()
        for k, sd in d["modules"].items():
            mods[k].load_state_dict(sd)
        for k, sd in d["optimizers"].items():
            opts[k].load_state_dict(sd)
        self.obs_norm.load_state_dict(d["obs_norm"])
        self.rng.bit_generator.state = json.loads(d["rng"])
        self.gen.set_state(d["torch_gen"])
        p = d["progress"]
        self.global_step, self.n_updates = int(p["global_step"]), int(p["n_updates"])
        self.stale_evals, self.stopped_early = int(p["stale_evals"]), bool(p["stopped_early"])
        self.wall_time, self._next_log = float(p["wall_time"]), int(p["next_log"])
        self.history = json.loads(d["history"])
        self.best = d["best"]
        if "buffer" in d and getattr(self, "buffer", None) is not None:
            self.buffer.load_state_dict(d["buffer"])
        self._load_extra_state(d["extra"])
        return self

    def save(self, path, include_buffer=True):
        """Write a checkpoint (atomic; see :mod:`deepstock_lite.rl.checkpoint`)."""
        return save_checkpoint(path, self.state_dict(include_buffer=include_buffer))

    @classmethod
    def load(cls, path, decoder=None):
        """Rebuild an agent from :meth:`save`; call :meth:`learn` on it to resume training."""
        d = load_checkpoint(path)
        missing = [k for k in ("algo", "config", "decoder", "obs_dim", "a_max", "modules")
                   if k not in d]
        if missing:
            raise CheckpointError(f"{path!r} is a checkpoint but not of an agent "
                                  f"(missing {missing})")
        if d["algo"] != cls.algo:
            raise ValueError(f"{path!r} holds a {d['algo']!r} agent, not {cls.algo!r}")
        config = cls.Config(**json.loads(d["config"]))
        if decoder is None:
            dec = json.loads(d["decoder"])
            if dec is None:
                raise ValueError("the checkpoint's decoder was not serializable: pass decoder=")
            decoder = decoder_from_dict(dec)
        agent = cls(config, d["obs_dim"], d["a_max"], decoder)
        return agent.load_state_dict(d)


class OffPolicyAgent(Agent):
    """The off-policy loop shared by DDPG and SAC: act, store, sample, update.

    Per vector step: the ``n`` environments take one action each (uniformly random during the
    first ``learning_starts`` transitions, then :meth:`_explore`); the transitions go to the
    replay buffer; after the warm-up, ``gradient_steps`` updates follow. Only ``terminated``
    cuts the bootstrap: a truncated episode (the time limit) still bootstraps from its final
    state. Rewards are centred and scaled by statistics fixed at the end of the warm-up
    (``reward_norm``); because inventory episodes never terminate, a constant shift moves
    every action value by the same amount and leaves the optimal policy unchanged.
    """

    def _build_buffer(self):
        c = self.config
        self.buffer = ReplayBuffer(c.buffer_size, self.obs_dim, self.act_dim)
        self.r_shift, self.r_scale = 0.0, 1.0
        self.reward_stats_fixed = False
        self._obs = None

    def _extra_state(self):
        return {"r_shift": self.r_shift, "r_scale": self.r_scale,
                "reward_stats_fixed": self.reward_stats_fixed}

    def _load_extra_state(self, d):
        self.r_shift, self.r_scale = float(d["r_shift"]), float(d["r_scale"])
        self.reward_stats_fixed = bool(d["reward_stats_fixed"])
        if self.reward_stats_fixed:
            self._set_value_bound()

    def _fix_reward_stats(self):
        r = self.buffer.rewards().astype(np.float64)
        if self.config.reward_norm:
            self.r_shift = float(r.mean())
            self.r_scale = float(1.0 / max(r.std(), 1e-6))
        self.reward_stats_fixed = True
        self._set_value_bound(r)

    def _set_value_bound(self, r=None):
        """Divergence bound on the critic's TD errors: 10 000 x the largest discounted return
        the warm-up rewards allow (in the critic's scaled units)."""
        r = self.buffer.rewards().astype(np.float64) if r is None else r
        if r.size:
            top = float(np.max(np.abs(self.scaled_reward(r)))) + 1.0
            self._value_bound = DIVERGENCE_FACTOR * top / (1.0 - self.config.gamma)

    def scaled_reward(self, r):
        """Reward as the critic sees it: ``(r - r_shift) * r_scale``."""
        return (r - self.r_shift) * self.r_scale

    def unscale_value(self, v):
        """A critic value back in reward units: ``v / r_scale + r_shift / (1 - γ)``."""
        return v / self.r_scale + self.r_shift / (1.0 - self.config.gamma)

    def _explore(self, obs):
        raise NotImplementedError

    def update(self, batch):
        raise NotImplementedError

    def learn(self, env, until=None, *, eval_env=None, quiet=False):
        """Train until ``global_step >= until`` (default ``config.total_steps``), finishing the
        current episode; returns the history (list of dicts)."""
        c = self.config
        until = self._check_learn_args(env, until)
        n = env.num_envs
        t_start = time.perf_counter()
        ep_cost = []
        bar = tqdm(total=until, initial=min(self.global_step, until), disable=quiet,
                   desc=self.algo.upper(), leave=False)
        try:
            while True:
                if self._obs is None:
                    if self.global_step >= until or self.stopped_early:
                        break
                    self._obs, _ = env.reset(seed=int(self.rng.integers(2**31 - 1)))
                obs = self._obs
                if self.global_step < c.learning_starts:
                    u = self.rng.uniform(-1.0, 1.0, size=(n, self.act_dim))
                else:
                    u = self._explore(obs)
                q = self.decoder(self.decoder_input(u), np.asarray(obs, np.float64))
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
                if self.global_step >= c.learning_starts:
                    if not self.reward_stats_fixed:
                        self._fix_reward_stats()
                    self._set_lr()
                    for _ in range(c.gradient_steps):
                        self._guard(self.update(self.buffer.sample(c.batch_size, self.gen)))
                        self.n_updates += 1
                if self._maybe_log(eval_env, t_start, bar,
                                   lambda: {"train_cost_per_step": float(np.mean(ep_cost))}):
                    ep_cost = []
        finally:
            bar.close()
            self.wall_time += time.perf_counter() - t_start
        return self.history


def train_agent(agent_cls, env, config=None, *, eval_env=None, decoder=None, quiet=False,
                restore_best=True):
    """Build an ``agent_cls`` for ``env`` and train it; returns ``(agent, history)``.

    ``eval_env`` (a :class:`~deepstock_lite.envs.BatchInventoryEnv` on held-out demand) is
    evaluated every ``config.eval_every`` transitions; with ``restore_best`` the returned agent
    holds the best evaluated policy. ``config.a_max`` defaults to the env's largest action.
    """
    config = agent_cls.Config() if config is None else config
    check_env(env)
    a_max = config.a_max if config.a_max is not None else float(env.single_action_space.high[0])
    agent = agent_cls(config, env.single_observation_space.shape[0], a_max, decoder)
    agent.learn(env, eval_env=eval_env, quiet=quiet)
    if restore_best and agent.best is not None:
        agent.load_best()
    return agent, agent.history
