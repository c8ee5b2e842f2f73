r"""DeepStock's decodings for any agent: gymnasium action wrappers.

A DeepStock regularization (None / Base / Coeff / Both, Xie et al. 2026) turns a network
output :math:`u \in [0, 1]^k` and the current observation into an order (see
:class:`deepstock_lite.paper.Regularization`). Wrapping an inventory environment with
:class:`RegularizedAction` moves that decoding into the environment, so an agent from any
library (Stable-Baselines3, CleanRL, RLlib, …) learns in the decoded space without knowing
about it::

    from deepstock_lite.envs import InventoryEnv, RegularizedAction
    from deepstock_lite.rl.instances import get_instance

    inst = get_instance("b")                      # lost sales, L = 2, optimum 4.395
    env = RegularizedAction(InventoryEnv(inst.system(), inst.demand(), 100, 60.0),
                            "base", a_max=50.0)   # action ũ in [-1, 1] -> target 25 (ũ + 1)
    # e.g. stable_baselines3.PPO("MlpPolicy", env).learn(50_000)

:class:`RegularizedVectorAction` does the same for a vector environment
(:class:`~deepstock_lite.envs.BatchInventoryEnv`, the retail environment), one row per SKU.

The wrapper must sit directly on the inventory environment (observation wrappers such as
normalization go *outside* it): the decoding reads the raw inventory position from the
observation. This module imports no torch: a decoder is any object with ``unit_actions =
True``, an integer ``n_outputs`` and ``__call__(u, obs) -> orders`` on numpy arrays; a kind
given by name builds a :class:`~deepstock_lite.core.decoding.Regularization` (the decodings'
one home, below the environments).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import gymnasium as gym
from gymnasium import spaces
from gymnasium.vector import VectorWrapper

from ..core.decoding import Regularization, make_decoder
from .inventory_env import InventoryEnv

__all__ = ["RegularizedAction", "RegularizedVectorAction"]

_RANGES = {(-1.0, 1.0), (0.0, 1.0)}


def _lead_time(env):
    """The L that reads the inventory position from the observation: the system's lead time,
    or ``position_L`` for an environment that declares it (the retail environment)."""
    inner = getattr(env, "unwrapped", env)
    if getattr(inner, "position_L", None) is not None:
        return inner.position_L
    system = getattr(getattr(inner, "core", None), "system", None)
    return getattr(system, "L", None)


def _unit_decoder(regularization, env, kwargs):
    """The wrapper's decoder, from :func:`~deepstock_lite.core.decoding.make_decoder` (the one
    factory), with ``L`` read from ``env`` for a kind name; it must take unit actions
    (``unit_actions = True``, ``n_outputs >= 1``), as :class:`Regularization` does."""
    if isinstance(regularization, str) and "L" not in kwargs:
        kwargs = {**kwargs, "L": _lead_time(env)}
        if kwargs["L"] is None:
            raise ValueError("L is required: the environment has no InventorySystem to read "
                             "the lead time from")
    decoder = regularization
    if isinstance(regularization, (str, dict)) or kwargs:    # kwargs only with a kind name
        decoder = make_decoder(regularization, **kwargs)
    n = getattr(decoder, "n_outputs", None)
    if not callable(decoder) or not getattr(decoder, "unit_actions", False) \
            or isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise TypeError("regularization must be a kind name ('none', 'base', 'coeff', 'both') "
                        "or a decoder taking unit actions (unit_actions = True, n_outputs >= 1,"
                        f" __call__(u, obs)) such as Regularization; got "
                        f"{type(regularization).__name__}")
    return decoder


def _check_range(action_range):
    try:
        r = (float(action_range[0]), float(action_range[1]))
    except (TypeError, ValueError, IndexError, KeyError):
        raise TypeError(f"action_range must be (-1, 1) or (0, 1), got {action_range!r}") \
            from None
    if r not in _RANGES or len(action_range) != 2:
        raise ValueError(f"action_range must be (-1, 1) or (0, 1), got {action_range!r}")
    return r


def _to_unit(action, shape, low, name="action"):
    """Agent action in [low, 1] (clipped) -> u in [0, 1], float64, after checks."""
    if isinstance(action, (str, bytes)) or action is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(action).__name__}")
    a = np.asarray(action)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.floating)
                               or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    if a.shape != shape and not (a.size == int(np.prod(shape)) and a.ndim <= len(shape)):
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    a = a.astype(np.float64).reshape(shape)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    a = np.clip(a, low, 1.0)
    return (a + 1.0) / 2.0 if low < 0 else a


class RegularizedAction(gym.ActionWrapper):
    """An inventory environment whose action is the input of a DeepStock decoding.

    Parameters
    ----------
    env : an inventory environment whose action is the order (one SKU, action shape
        ``(1,)``), e.g. :class:`~deepstock_lite.envs.InventoryEnv`.
    regularization : a kind name (``"none"``, ``"base"``, ``"coeff"``, ``"both"``) or a
        built decoder such as :class:`~deepstock_lite.paper.Regularization` (fixed once
        the wrapper is built).
    action_range : ``(-1, 1)`` (default; what Stable-Baselines3 expects) or ``(0, 1)``; the
        agent's action :math:`a` is clipped to it and mapped to :math:`u \\in [0, 1]`.
    **kwargs : for a kind name, the arguments of ``Regularization`` (``a_max``,
        ``feature_index``, ``days``, ``bias_scale``; ``L`` defaults to the system's).

    ``info["u"]`` holds the decoded unit action of the step (a list of ``k`` floats: a numpy
    array of one or two values would cost a tenth of the whole step) and ``info["order"]`` the
    order.

    On an :class:`~deepstock_lite.envs.InventoryEnv` with a ``Regularization``, a float
    action array of the right shape is decoded in plain Python floats (by
    :meth:`Regularization.scalar_decoder`, built once): for one SKU, numpy's per-call cost on
    arrays of one or two values would exceed the environment's whole step. Both paths
    perform the same floating-point operations in the same order, so their numbers are
    bit-identical.
    """

    def __init__(self, env, regularization, *, action_range=(-1.0, 1.0), **kwargs):
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium Env, got {type(env).__name__}")
        shape = getattr(env.action_space, "shape", None)
        if not isinstance(env.action_space, spaces.Box) or shape not in ((1,), ()):
            raise ValueError(f"env must take one order per step (a Box action of shape (1,)),"
                             f" got {env.action_space}")
        super().__init__(env)
        self._regularization = reg = _unit_decoder(regularization, env, kwargs)
        self.low, _ = _check_range(action_range)
        k = int(reg.n_outputs)
        self.action_space = spaces.Box(np.float32(self.low), np.float32(1.0), shape=(k,),
                                       dtype=np.float32)
        self._shape = (k,)
        self._obs = None    # the last observation, a list of floats
        self._u = None
        # the plain-float path: an InventoryEnv (which takes a float order and returns a
        # float32 observation and a fresh info dict) and a Regularization (not a subclass,
        # which could redefine the decoding) whose columns the observation holds
        self._fast = (type(env) is InventoryEnv and type(reg) is Regularization
                      and reg.n_columns <= env.observation_space.shape[0])
        self._order_one = reg.scalar_decoder() if self._fast else None

    @property
    def regularization(self):
        """The decoder (read-only: the fast path was chosen for it)."""
        return self._regularization

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._obs = np.asarray(obs, np.float64).tolist()
        return obs, info

    def action(self, action):
        """The order, a float64 array ``(1,)``, for an agent's action (the general path)."""
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        u = _to_unit(action, self.action_space.shape, self.low)
        self._u = u
        obs = np.asarray(self._obs, np.float64)
        return np.asarray(self.regularization(u, obs), np.float64).reshape(1)

    def step(self, action):
        if self._fast and type(action) is np.ndarray and action.shape == self._shape \
                and action.dtype.kind == "f" and self._obs is not None:
            # _to_unit and Regularization.__call__ in plain floats: the same operations, a
            # fraction of the cost (numpy spends microseconds per call on one value)
            low, u = self.low, []
            for a in action.tolist():
                if not -math.inf < a < math.inf:
                    return self._general_step(action)       # raises the general error
                a = low if a < low else 1.0 if a > 1.0 else a     # np.clip(a, low, 1.0)
                u.append((a + 1.0) / 2.0 if low < 0 else a)
            q = self._order_one(u, self._obs)
            if not -math.inf < q < math.inf:
                return self._general_step(action)           # raises the general error
            out = self.env.step(q)     # (obs, reward, terminated, truncated, info)
            self._obs = out[0].tolist()
            out[4]["u"] = u
            return out
        return self._general_step(action)

    def _general_step(self, action):
        """Any environment, decoder and action: numpy arrays, every input checked."""
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        self._obs = np.asarray(obs, np.float64).tolist()
        info = dict(info)
        info["u"] = self._u.tolist()
        return obs, reward, terminated, truncated, info


def _all_finite(*arrays):
    """Whether every value of the numpy arrays is finite, one sum per array: a sum is finite
    only if every term is (finite values large enough to overflow answer False, which only
    sends them down the checked path)."""
    total = 0.0
    for x in arrays:
        total += float(np.add.reduce(x, None))
    return -math.inf < total < math.inf


class RegularizedVectorAction(VectorWrapper):
    """:class:`RegularizedAction` for a vector environment of ``n`` SKUs: the action is an
    array ``(n, k)`` in ``action_range``, decoded row by row into orders ``(n,)``.

    With a ``Regularization``, a float action array of the right shape skips the checks of
    :func:`_to_unit` and ``Regularization.__call__`` (:meth:`Regularization.order_array`, the
    same operations): on a few hundred SKUs they would cost more than the environment's
    step. One vectorized test that the actions, the observation and the orders are finite
    stands for them; anything else takes the checked path, which raises the errors.
    """

    def __init__(self, env, regularization, *, action_range=(-1.0, 1.0), **kwargs):
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(f"env must be a gymnasium VectorEnv (e.g. BatchInventoryEnv), got "
                            f"{type(env).__name__}")
        super().__init__(env)
        self.regularization = _unit_decoder(regularization, env, kwargs)
        self.low, _ = _check_range(action_range)
        k = int(self.regularization.n_outputs)
        self.single_action_space = spaces.Box(np.float32(self.low), np.float32(1.0),
                                              shape=(k,), dtype=np.float32)
        self.action_space = spaces.Box(np.float32(self.low), np.float32(1.0),
                                       shape=(self.num_envs, k), dtype=np.float32)
        self._obs = None

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._obs = np.asarray(obs, np.float64)
        return obs, info

    def actions(self, actions):
        """Orders ``(n,)`` for agent actions ``(n, k)`` at the current observations."""
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        obs, reg = self._obs, self.regularization
        # the unchecked path: a Regularization (not a subclass, which could redefine it), a
        # float action array of the right shape, observations with the columns it reads
        if type(reg) is Regularization and type(actions) is np.ndarray \
                and actions.dtype.kind == "f" and actions.shape == self.action_space.shape \
                and obs.ndim == 2 and obs.shape[1] >= reg.n_columns:
            a = actions.astype(np.float64)
            u = a.clip(self.low, 1.0)      # _to_unit's np.clip and map, without its checks
            if self.low < 0:               # (u + 1) / 2 in place: the same values
                u += 1.0
                u /= 2.0
            q = reg.order_array(u, obs)
            if _all_finite(a, obs, q):
                return q
        u = _to_unit(actions, self.action_space.shape, self.low, name="actions")
        return np.asarray(reg(u, obs), np.float64).reshape(-1)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(self.actions(actions))
        self._obs = np.asarray(obs, np.float64)
        return obs, reward, terminated, truncated, info

    def rollout(self, policy_fn, **kwargs):
        """The wrapped environment's ``rollout`` with ``policy_fn(obs) -> actions (n, k)``
        in ``action_range``."""
        inner = self.env

        def orders(obs):
            self._obs = np.asarray(obs, np.float64)
            return self.actions(policy_fn(obs))
        return inner.rollout(orders, **kwargs)
