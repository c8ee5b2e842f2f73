"""What every training loop checks and records: the divergence guard, learning-rate decay,
the evaluation schedule, loss averages, and the best policy seen in held-out evaluation
(with optional early stopping).

Each agent's file calls these from its own loop; none of them calls back into an agent. The
differentiable-simulator trainers (:mod:`deepstock_lite.paper.differentiable_simulator`,
:mod:`deepstock_lite.paper.retail_ds`) and the Stable-Baselines3 study keep their best
policy with :class:`KeepBest` too, and every trainer raises :class:`TrainingDivergedError`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

__all__ = ["TrainingDivergedError", "DIVERGENCE_FACTOR", "check_losses", "check_parameters",
           "check_eval_cost", "linear_lr", "decay_learning_rates", "EvalSchedule",
           "LossAverages", "KeepBest", "TrainingResult"]

#: a critic whose TD errors exceed this many times the largest discounted return of the
#: warm-up rewards has diverged
DIVERGENCE_FACTOR = 10_000.0


class TrainingDivergedError(RuntimeError, FloatingPointError):
    """Raised by every trainer (the RL agents, DS and its catalogue version) when a loss, a
    network parameter or a held-out cost becomes NaN or infinite, or a critic's TD errors grow
    beyond any return the rewards allow.

    Both a ``RuntimeError`` and a ``FloatingPointError``, what the trainers raised before, so
    that code catching either still catches a divergence."""


def check_losses(algo, step, losses, td_error=None, bound=None):
    """Raise :class:`TrainingDivergedError` if a loss is NaN/inf, or if the critic's typical
    TD error ``td_error`` exceeds ``bound`` (``None``: not checked)."""
    for k, v in losses.items():
        if not math.isfinite(v):
            raise TrainingDivergedError(
                f"{algo.upper()} training diverged at step {step}: {k} = {v}. Lower the "
                f"learning rates, check the reward scale (normalize rewards), or clip "
                f"gradients (max_grad_norm).")
    if td_error is not None and bound is not None and td_error > bound:
        # a finite but absurd critic: its TD errors exceed 10 000x the largest discounted
        # return the warm-up rewards allow, so its values (and the policy) mean nothing.
        # (A policy that orders wildly can honestly reach costs ~100x the warm-up's; an
        # exploding critic is at 1e10 within a few updates.)
        raise TrainingDivergedError(
            f"{algo.upper()} training diverged at step {step}: the critic's TD error is "
            f"about {td_error:.3g}, more than {bound:.3g} (10 000 times the largest discounted "
            f"return of the warm-up rewards). Lower the learning rates (critic_lr, actor_lr) "
            f"or clip gradients (max_grad_norm).")


def check_parameters(trainer, when, modules, remedy=None):
    """Raise :class:`TrainingDivergedError` naming the first parameter of the ``{name:
    nn.Module}`` mapping that holds NaN or inf; ``when`` says where training is (e.g.
    ``"step 1200"``, ``"epoch 3"``), ``remedy`` what to change."""
    remedy = remedy or "Lower the learning rates or clip gradients (max_grad_norm)."
    for name, module in modules.items():
        for pname, p in module.named_parameters():
            if not torch.isfinite(p).all():
                full = f"{name}.{pname}" if name else pname
                raise TrainingDivergedError(f"{trainer} training diverged at {when}: "
                                            f"parameter {full} holds NaN or inf. {remedy}")


def check_eval_cost(algo, step, cost):
    """Raise :class:`TrainingDivergedError` if the held-out evaluation cost is NaN/inf."""
    if not math.isfinite(cost):
        raise TrainingDivergedError(
            f"{algo.upper()} training diverged at step {step}: the held-out evaluation cost is "
            f"{cost}. Lower the learning rates or clip gradients (max_grad_norm).")


def linear_lr(lr, step, total_steps, final_fraction):
    """Learning rate decayed linearly from ``lr`` to ``final_fraction * lr`` over training."""
    progress = min(step / max(total_steps, 1), 1.0)
    return lr * (1.0 - progress * (1.0 - final_fraction))


def decay_learning_rates(optimizers, step, total_steps, final_fraction):
    """Set every optimizer's rate to :func:`linear_lr` of its initial rate at ``step``."""
    for opt in optimizers:
        base = opt.param_groups[0].setdefault("initial_lr", opt.param_groups[0]["lr"])
        for g in opt.param_groups:
            g["lr"] = linear_lr(base, step, total_steps, final_fraction)


class EvalSchedule:
    """A history row (and a held-out evaluation) once every ``every`` transitions."""

    def __init__(self, every):
        self.every = every
        self.next = every

    def due(self, step):
        """Whether a row is due at ``step``; if so, the next one is scheduled."""
        if step < self.next:
            return False
        self.next += self.every * (1 + (step - self.next) // self.every)
        return True


class LossAverages:
    """Running means of the losses between two history rows."""

    def __init__(self):
        self.sums = {}

    def add(self, losses):
        for k, v in losses.items():
            a = self.sums.setdefault(k, [0.0, 0])
            a[0] += v
            a[1] += 1

    def pop(self):
        """The means since the last call (insertion order), and start afresh."""
        means = {k: float(a[0] / max(a[1], 1)) for k, a in self.sums.items()}
        self.sums = {}
        return means


@dataclass
class TrainingResult:
    """What every trainer returns (DDPG, PPO, distributional SAC, DS, retail DS).

    ``policy``: the trained policy, restored to its best evaluated state where the trainer
    keeps the best (the agent for the RL algorithms, the ``DSPolicy`` for DS); ``history``:
    one dict per evaluation (RL) or epoch (DS); ``best_val``: the best held-out (validation)
    cost; ``best_step``: when it was seen, the environment step (RL) or the epoch (DS;
    ``-1``: the untrained policy); ``stopped_early``: training stopped before its budget
    (patience or a time limit). It unpacks as ``policy, history = train(...)``."""
    policy: object
    history: list = field(default_factory=list)
    best_val: float = math.inf
    best_step: int = -1
    stopped_early: bool = False

    def __iter__(self):
        return iter((self.policy, self.history))

    @classmethod
    def from_keep(cls, policy, history, keep, stopped_early=None):
        """The result of a trainer that kept its best policy with ``keep`` (a
        :class:`KeepBest`); ``stopped_early`` defaults to ``keep.stop``."""
        best = keep.best or {"eval_cost": math.inf, "step": -1}
        return cls(policy, history, best["eval_cost"], best["step"],
                   keep.stop if stopped_early is None else stopped_early)


class KeepBest:
    """The best policy seen in held-out evaluation, and early stopping.

    An evaluation improves on the best so far when its cost is lower by more than
    ``min_delta`` (the first one offered always does); training stops once ``patience``
    evaluations in a row have not (``0``: never). A trainer that must keep some policy even if
    no evaluation improves offers the starting one first (its cost, or ``math.inf``)."""

    def __init__(self, patience=0, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = None          # {"eval_cost", "step", "state"}
        self.stale = 0            # evaluations since the last improvement

    def offer(self, cost, step, snapshot):
        """Record an evaluation; ``snapshot()`` (the policy's state) is taken only when
        ``cost`` improves on the best so far. Returns whether it did."""
        if self.best is None or cost < self.best["eval_cost"] - self.min_delta:
            self.best = {"eval_cost": cost, "step": step, "state": snapshot()}
            self.stale = 0
            return True
        self.stale += 1
        return False

    @property
    def stop(self):
        return bool(self.patience) and self.stale >= self.patience
