r"""Experience storage: a replay buffer (DDPG, SAC) and generalized advantage estimation (PPO).

GAE (Schulman et al. 2016) with the two kinds of episode end kept apart:

.. math::
    \delta_t = r_t + \gamma\,(1 - d^{\text{term}}_t)\,V(s_{t+1}) - V(s_t), \qquad
    A_t = \delta_t + \gamma\lambda\,(1 - d^{\text{end}}_t)\,A_{t+1},

where :math:`d^{\text{term}}_t` marks a true terminal state (no future: no bootstrap) and
:math:`d^{\text{end}}_t = d^{\text{term}}_t \lor d^{\text{trunc}}_t` marks any episode end (the
next row of the buffer belongs to a new episode, so the recursion stops). On a truncation the
bootstrap :math:`V(s_{t+1})` uses the *final* observation of the cut episode.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.validation import MAX_COUNT, check_array, check_int, check_real

__all__ = ["ReplayBuffer", "compute_gae", "gae_unchecked"]

_MAX_FLOATS = 10 * MAX_COUNT  # largest replay buffer: 4 GB of float32


class ReplayBuffer:
    """A ring buffer of transitions ``(s, u, r, s', terminated)`` with uniform sampling.

    Observations are stored raw (unnormalized) so that normalization statistics can change
    while the stored data stays valid; actions ``u`` are the agent's actions ũ in
    ``[-1, 1]``.
    """

    def __init__(self, capacity, obs_dim, act_dim=1):
        self.capacity = check_int("capacity (buffer_size)", capacity, low=1, high=MAX_COUNT)
        obs_dim = check_int("obs_dim", obs_dim, low=1, high=MAX_COUNT)
        act_dim = check_int("act_dim", act_dim, low=1, high=MAX_COUNT)
        if self.capacity * (2 * obs_dim + act_dim + 2) > _MAX_FLOATS:
            raise ValueError(f"capacity * (2 * obs_dim + act_dim + 2) (float32 numbers stored) "
                             f"must be at most {_MAX_FLOATS}, got capacity={self.capacity}, "
                             f"obs_dim={obs_dim}, act_dim={act_dim}")
        self.obs = np.zeros((self.capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((self.capacity, obs_dim), np.float32)
        self.u = np.zeros((self.capacity, act_dim), np.float32)
        self.r = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.pos, self.size = 0, 0

    def __len__(self):
        return self.size

    def add(self, obs, u, r, next_obs, terminated):
        """Add a batch of ``n`` transitions (arrays with leading dimension ``n``)."""
        n = len(r)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = obs
        self.u[idx] = np.asarray(u, np.float32).reshape(n, -1)
        self.r[idx] = r
        self.next_obs[idx] = next_obs
        self.terminated[idx] = terminated
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample(self, batch_size, generator):
        """A dict of float32 tensors ``obs, u, r, next_obs, terminated`` (uniform indices)."""
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        idx = torch.randint(0, self.size, (batch_size,), generator=generator).numpy()
        return {"obs": torch.from_numpy(self.obs[idx]), "u": torch.from_numpy(self.u[idx]),
                "r": torch.from_numpy(self.r[idx]),
                "next_obs": torch.from_numpy(self.next_obs[idx]),
                "terminated": torch.from_numpy(self.terminated[idx])}

    def rewards(self):
        return self.r[: self.size]

    def state_dict(self):
        s = self.size
        return {"obs": torch.from_numpy(self.obs[:s].copy()),
                "next_obs": torch.from_numpy(self.next_obs[:s].copy()),
                "u": torch.from_numpy(self.u[:s].copy()), "r": torch.from_numpy(self.r[:s].copy()),
                "terminated": torch.from_numpy(self.terminated[:s].copy()),
                "pos": self.pos, "size": s}

    def load_state_dict(self, d):
        s = int(d["size"])
        if s > self.capacity:
            raise ValueError(f"buffer state holds {s} transitions, capacity is {self.capacity}")
        for k in ("obs", "next_obs", "u", "r", "terminated"):
            getattr(self, k)[:s] = d[k].numpy()
        self.pos, self.size = int(d["pos"]), s


_MAX_VALUE = 1e100  # rewards and values beyond this overflow the discounted sums


def _like(name, value, shape, flags=False):
    """A finite float array of ``shape`` (the shape of the rewards, same number of
    elements); ``flags`` (episode-end markers) may be bool and must lie in [0, 1]."""
    if flags and isinstance(value, (np.ndarray, list, tuple)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):  # ragged: check_array names it
            arr = None
        if arr is not None and arr.dtype == bool:
            value = arr.astype(np.float64)
    arr = check_array(name, value, nonnegative=flags, max_abs=1.0 if flags else _MAX_VALUE)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{name} must have the shape of rewards {shape} (time x envs), "
                         f"got shape {arr.shape}")
    return arr.reshape(shape)


def compute_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Advantages and returns by GAE(γ, λ); arrays of shape ``(T, n)`` (time × envs).

    ``values[t] = V(s_t)``; ``next_values[t] = V(s_{t+1})``, the value of the
    observation the environment returned at step ``t`` (for a truncated step, the final
    observation of the episode). Returns ``(advantages, returns)`` with
    ``returns = advantages + values``.
    """
    gamma = check_real("gamma", gamma, low=0.0, high=1.0)
    lam = check_real("lam", lam, low=0.0, high=1.0)
    r = check_array("rewards", rewards, ndim=(1, 2), max_abs=_MAX_VALUE)
    shape = r.shape if r.ndim == 2 else (r.shape[0], 1)
    _like("values", values, shape)
    _like("next_values", next_values, shape)
    _like("terminated", terminated, shape, flags=True)
    _like("truncated", truncated, shape, flags=True)
    return gae_unchecked(rewards, values, next_values, terminated, truncated, gamma, lam)


def gae_unchecked(rewards, values, next_values, terminated, truncated, gamma, lam):
    """:func:`compute_gae` on arguments already checked (PPO's rollouts: a NaN value there
    is left for the training guard to report as a divergence)."""
    r = np.asarray(rewards, np.float64)
    if r.ndim == 1:
        r = r[:, None]
    shape = r.shape
    v = np.asarray(values, np.float64).reshape(shape)
    nv = np.asarray(next_values, np.float64).reshape(shape)
    term = np.asarray(terminated, np.float64).reshape(shape)
    end = np.maximum(term, np.asarray(truncated, np.float64).reshape(shape))
    adv = np.zeros(shape)
    last = np.zeros(shape[1])
    for t in range(shape[0] - 1, -1, -1):
        delta = r[t] + gamma * (1.0 - term[t]) * nv[t] - v[t]
        last = delta + gamma * lam * (1.0 - end[t]) * last
        adv[t] = last
    adv = adv.reshape(np.shape(rewards)) if np.ndim(rewards) == 1 else adv
    ret = adv + v.reshape(adv.shape)
    return adv, ret
