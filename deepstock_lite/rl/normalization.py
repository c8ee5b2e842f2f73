r"""Running normalization of observations and rewards.

Inventory states are in units (tens of units of stock), costs per period are in money: both
are far from the unit scale that networks learn fastest on. :class:`RunningMeanStd` keeps a
running mean :math:`\mu` and variance :math:`\sigma^2` (the parallel algorithm of Chan et al.);
:class:`ObsNormalizer` maps :math:`s \mapsto \operatorname{clip}((s-\mu)/\sigma, \pm c)`;
:class:`RewardScaler` divides rewards by the running standard deviation of the discounted
return, as Stable-Baselines3's ``VecNormalize`` does (the rewards are scaled, not shifted).
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from ..core.validation import MAX_COUNT, check_bool, check_int, check_real

__all__ = ["RunningMeanStd", "ObsNormalizer", "RewardScaler"]

# largest clip of ObsNormalizer: torch clamps its float32 tensors only to float32 bounds
_MAX_CLIP = float(np.finfo(np.float32).max)


def _check_shape(shape):
    """A shape: an integer >= 0 or a tuple of them, at most ``MAX_COUNT`` elements."""
    if isinstance(shape, (numbers.Integral,)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape must be a tuple of integers >= 0, got {type(shape).__name__}")
    dims = tuple(check_int("shape", d, low=0, high=MAX_COUNT) for d in shape)
    if int(np.prod(dims, dtype=object)) > MAX_COUNT:
        raise ValueError(f"shape must have at most {MAX_COUNT} elements, got {dims}")
    return dims


class RunningMeanStd:
    """Running mean and variance of vectors of shape ``shape`` (float64).

    ``epsilon``: the initial pseudo-count, in ``[0, MAX_COUNT]`` (1e8)."""

    def __init__(self, shape=(), epsilon=1e-4):
        shape = _check_shape(shape)
        epsilon = check_real("epsilon", epsilon, low=0.0, high=MAX_COUNT)
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = float(epsilon)

    def update(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1, *self.mean.shape)
        b_mean, b_var, b_count = x.mean(0), x.var(0), x.shape[0]
        delta = b_mean - self.mean
        tot = self.count + b_count
        self.mean = self.mean + delta * b_count / tot
        m2 = self.var * self.count + b_var * b_count + delta ** 2 * self.count * b_count / tot
        self.var = m2 / tot
        self.count = tot

    def state_dict(self):
        return {"mean": torch.as_tensor(self.mean), "var": torch.as_tensor(self.var),
                "count": float(self.count)}

    def load_state_dict(self, d):
        self.mean = d["mean"].numpy().astype(np.float64).copy()
        self.var = d["var"].numpy().astype(np.float64).copy()
        self.count = float(d["count"])


class ObsNormalizer:
    """``(obs - mean) / sqrt(var + eps)`` clipped to ``[-clip, clip]``; identity if disabled.

    ``clip`` is in ``(0, 3.4e38]``, the float32 range of the normalized observations."""

    def __init__(self, dim, enabled=True, clip=10.0, eps=1e-8):
        self.dim = check_int("dim", dim, low=1, high=MAX_COUNT)
        self.enabled = check_bool("enabled", enabled)
        self.clip = check_real("clip", clip, low=0.0, low_open=True)
        if self.clip > _MAX_CLIP:
            raise ValueError(f"clip must be in (0, {_MAX_CLIP!r}] (the float32 range of the "
                             f"normalized observations), got {clip!r}")
        self.eps = check_real("eps", eps, low=0.0, low_open=True)
        self.rms = RunningMeanStd((self.dim,))

    def update(self, obs):
        if self.enabled:
            self.rms.update(obs)
            self._torch_stats = None

    def _stats(self):
        # float32 mean and std as tensors, cached until the next update (called every batch)
        if getattr(self, "_torch_stats", None) is None:
            self._torch_stats = (torch.as_tensor(self.rms.mean, dtype=torch.float32),
                                 torch.as_tensor(np.sqrt(self.rms.var + self.eps),
                                                 dtype=torch.float32))
        return self._torch_stats

    def __call__(self, obs):
        """Normalize a numpy array or a torch tensor (returns the same kind, float32)."""
        if not self.enabled:
            return obs.float() if torch.is_tensor(obs) else np.asarray(obs, np.float32)
        if torch.is_tensor(obs):
            mean, std = self._stats()
            return ((obs.float() - mean) / std).clamp(-self.clip, self.clip)
        out = (np.asarray(obs, np.float64) - self.rms.mean) / np.sqrt(self.rms.var + self.eps)
        return np.clip(out, -self.clip, self.clip).astype(np.float32)

    def state_dict(self):
        return {"enabled": self.enabled, **self.rms.state_dict()}

    def load_state_dict(self, d):
        self.enabled = bool(d["enabled"])
        self.rms.load_state_dict(d)
        self._torch_stats = None


class RewardScaler:
    r"""Divide rewards by the running std of the discounted return :math:`G \leftarrow \gamma G + r`.

    Keeps one return per environment; call :meth:`reset` at episode ends.
    """

    def __init__(self, n_envs, gamma, enabled=True, clip=10.0, eps=1e-8):
        self.n_envs = check_int("n_envs", n_envs, low=1, high=MAX_COUNT)
        self.gamma = check_real("gamma", gamma, low=0.0, high=1.0)
        self.enabled = check_bool("enabled", enabled)
        self.clip = check_real("clip", clip, low=0.0, low_open=True)
        self.eps = check_real("eps", eps, low=0.0, low_open=True)
        self.rms = RunningMeanStd(())
        self.ret = np.zeros(self.n_envs)

    def __call__(self, reward, update=True):
        reward = np.asarray(reward, np.float64)
        if not self.enabled:
            return reward
        if update:
            self.ret = self.gamma * self.ret + reward
            self.rms.update(self.ret)
        return np.clip(reward / np.sqrt(self.rms.var + self.eps), -self.clip, self.clip)

    @property
    def scale(self):
        """The factor rewards are currently multiplied by."""
        return 1.0 / np.sqrt(self.rms.var + self.eps) if self.enabled else 1.0

    def reset(self):
        self.ret[:] = 0.0

    def state_dict(self):
        return {"enabled": self.enabled, "ret": torch.as_tensor(self.ret), **self.rms.state_dict()}

    def load_state_dict(self, d):
        self.enabled = bool(d["enabled"])
        self.ret = d["ret"].numpy().astype(np.float64).copy()
        self.rms.load_state_dict(d)
