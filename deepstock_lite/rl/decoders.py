r"""Action decoding: how the actor's output :math:`a \in [0, a_{\max}]` becomes an order.

The seam between an algorithm and the inventory structure: every agent calls
``decoder(a, obs) -> q`` on *raw* (unnormalized) observations, and learns over :math:`a`; the
critic never sees :math:`q`. DeepStock's regularizations (None / Base / Coeff / Both) are
decoders, so they plug in without touching an algorithm.

* :class:`IdentityDecoder` (DeepStock's *None*): :math:`q = a`.
* :class:`BaseStockDecoder` (DeepStock's *Base*): :math:`q = \max(a - \mathrm{tot}(I), 0)`, the
  output is a target inventory position and
  :math:`\mathrm{tot}(I) = x_0 + \sum_{l=1}^{L-1} x_l` = ``obs[..., 0] + obs[..., 1:L].sum(-1)``.

A decoder is any callable with that signature; to be saved in a checkpoint it also needs
``to_dict()`` returning plain types, understood by :func:`decoder_from_dict`.

A decoder may instead declare ``unit_actions = True`` and ``n_outputs = k``: the agent then
gives it :math:`u \in [0, 1]^k` of shape ``(n, k)`` (its actor has ``k`` outputs). That is how
DeepStock's :class:`~deepstock_lite.deepstock.Regularization` (None, Base, Coeff, Both) plugs
into DDPG, PPO and distributional SAC unchanged.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.validation import check_int

__all__ = ["IdentityDecoder", "BaseStockDecoder", "decoder_from_dict", "inventory_position",
           "order_up_to"]


def inventory_position(obs, L):
    """``on_hand + sum(pipeline)`` from raw observations ``[..., on_hand, pipeline(L-1), …]``."""
    m = max(L - 1, 0)
    if torch.is_tensor(obs):
        return obs[..., 0] + obs[..., 1:1 + m].sum(-1)
    obs = np.asarray(obs, np.float64)
    return obs[..., 0] + obs[..., 1:1 + m].sum(-1)


def order_up_to(target, position):
    r"""The base-stock decoding :math:`q = (y - \mathrm{tot}(I))^+` (numpy or torch)."""
    if torch.is_tensor(target) or torch.is_tensor(position):
        return torch.clamp(target - position, min=0.0)
    return np.maximum(np.asarray(target, np.float64) - position, 0.0)


class IdentityDecoder:
    """Order what the actor outputs: ``q = a``."""

    name = "identity"

    def __call__(self, a, obs):
        return a

    def to_dict(self):
        return {"name": self.name}

    def __repr__(self):
        return "IdentityDecoder()"


class BaseStockDecoder:
    """Order up to the actor's output: ``q = max(a - position(obs), 0)`` (lead time ``L``)."""

    name = "base"

    def __init__(self, L):
        self.L = check_int("L", L, low=0)

    def __call__(self, a, obs):
        return order_up_to(a, inventory_position(obs, self.L))

    def to_dict(self):
        return {"name": self.name, "L": self.L}

    def __repr__(self):
        return f"BaseStockDecoder(L={self.L})"


_REGISTRY = {"identity": lambda d: IdentityDecoder(), "base": lambda d: BaseStockDecoder(d["L"])}


def register_decoder(name, factory):
    """Let :func:`decoder_from_dict` rebuild decoders saved under ``name``."""
    _REGISTRY[name] = factory


def decoder_from_dict(d):
    """Rebuild a decoder saved with ``to_dict()``."""
    if isinstance(d, dict) and d.get("name") == "regularization" and "regularization" \
            not in _REGISTRY:
        from ..deepstock import regularization  # noqa: F401  (registers itself)
    if not isinstance(d, dict) or d.get("name") not in _REGISTRY:
        raise ValueError(f"unknown decoder description {d!r}; known: {sorted(_REGISTRY)} "
                         "(pass decoder= when loading a checkpoint with a custom decoder)")
    return _REGISTRY[d["name"]](d)
