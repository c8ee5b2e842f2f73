r"""From the actor's output to an order, the same for every agent.

An actor outputs the agent's action :math:`\tilde u \in [-1, 1]^k` (``u`` in this package's
code). Every decoder reads the unit action :math:`u = (\tilde u + 1)/2 \in [0, 1]^k`: a
one-output decoder (Part II's :class:`~deepstock_lite.rl.IdentityDecoder`,
:class:`~deepstock_lite.rl.BaseStockDecoder`) receives it as the raw action
:math:`a = a_{\max} u`; a decoder with ``unit_actions`` (a DeepStock
:class:`~deepstock_lite.paper.Regularization`) receives :math:`u` itself. The decoder turns
either into the order :math:`q = \mathrm{decoder}(a, s)`.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.validation import MAX_COUNT, MAX_QUANTITY, check_int, check_real
from ..core.decoding import IdentityDecoder
from .networks import MAX_OBS_DIM

__all__ = ["check_agent_args", "check_env", "to_raw", "decoder_input", "normalized_action"]


def check_agent_args(config, config_type, obs_dim, a_max, decoder):
    """Validate an agent's arguments before any network is built; returns
    ``(obs_dim, a_max, decoder, act_dim, unit_actions)`` (``decoder=None``: the identity)."""
    if not isinstance(config, config_type):
        raise TypeError(f"config must be a {config_type.__name__}, got {type(config).__name__}")
    obs_dim = check_int("obs_dim", obs_dim, low=1, high=MAX_OBS_DIM)
    width = max(getattr(config, "hidden", None) or (1,))
    if (obs_dim + 1) * width > MAX_COUNT:
        raise ValueError(f"(obs_dim + 1) * widest hidden layer must be at most {MAX_COUNT} "
                         f"(first-layer weights), got obs_dim={obs_dim}, "
                         f"hidden={config.hidden}")
    a_max = check_real("a_max", a_max, low=0.0, high=MAX_QUANTITY, low_open=True)
    decoder = IdentityDecoder() if decoder is None else decoder
    if not callable(decoder):
        raise TypeError("decoder must be callable as decoder(raw_action, obs) -> order")
    # width of the actor's output: 1 for the raw-action decoders of Part II, k for a
    # DeepStock Regularization (Coeff/Both read k = features + 1 coefficients u_i)
    act_dim = check_int("decoder.n_outputs", getattr(decoder, "n_outputs", 1), low=1, high=64)
    unit_actions = bool(getattr(decoder, "unit_actions", False))
    if act_dim > 1 and not unit_actions:
        raise ValueError("a decoder with n_outputs > 1 must take unit actions "
                         "(set unit_actions = True and accept u in [0, 1]^k)")
    return obs_dim, a_max, decoder, act_dim, unit_actions


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


def to_raw(u, a_max):
    r"""The agent's action :math:`\tilde u \in [-1, 1]` (``u``) → raw action
    :math:`a = a_{\max}(\tilde u + 1)/2`."""
    if torch.is_tensor(u):
        return a_max * (u.clamp(-1.0, 1.0) + 1.0) / 2.0
    return a_max * (np.clip(u, -1.0, 1.0) + 1.0) / 2.0


def decoder_input(u, a_max, unit_actions):
    r"""What the decoder receives for the agent's actions ``u`` (n, k), :math:`\tilde u \in
    [-1, 1]^k`: the raw action :math:`a = a_{\max}(\tilde u + 1)/2` of shape (n,) for a
    one-output decoder, or the unit actions :math:`u = (\tilde u + 1)/2 \in [0, 1]^k` of shape
    (n, k) for a decoder with ``unit_actions``."""
    if torch.is_tensor(u):
        u = u.numpy()
    if unit_actions:
        return (np.clip(np.asarray(u, np.float64), -1.0, 1.0) + 1.0) / 2.0
    return np.asarray(to_raw(u, a_max)[:, 0], np.float64)


def normalized_action(obs, a, a_max, unit_actions, act_dim):
    r"""Inverse of :func:`decoder_input` for a one-output actor: decoder input(s) ``a``
    (broadcast against ``obs (n, d)``) → the agent's actions ``u`` (:math:`\tilde u`, (n, 1))
    as a tensor."""
    if act_dim != 1:
        raise ValueError(f"this needs a one-output actor; this agent has {act_dim}")
    obs = np.atleast_2d(np.asarray(obs, np.float32))
    a = torch.as_tensor(np.atleast_1d(np.asarray(a, np.float32)))
    a = a.reshape(-1).expand(max(obs.shape[0], a.numel()))
    top = 1.0 if unit_actions else a_max
    return (2.0 * a / top - 1.0)[:, None]
