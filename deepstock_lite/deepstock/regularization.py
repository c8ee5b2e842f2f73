r"""DeepStock's policy regularizations: four ways to turn a network's output into an order.

The network sees the raw state and outputs :math:`u \in [0, 1]^k` (a sigmoid head). The
regularization is *only* this decoding — not a penalty — so it plugs into any method (DDPG, PPO,
distributional SAC, the differentiable simulator) without changing it {cite}`xie2026deepstock`:

* ``"none"``:  :math:`q = u\,q_{\max}` — the network outputs the order.
* ``"base"``:  :math:`q = (u\,y_{\max} - \mathrm{tot}(I))^+` — the network outputs a target
  inventory position :math:`y`; every order :math:`q \ge 0` is still reachable (take
  :math:`y = \mathrm{tot}(I) + q`), so the policy class is re-shaped, not restricted.
* ``"coeff"``: :math:`q = D\sum_i c_i f_i + c_0\,B` with coefficients :math:`c_i = u_i \in [0,1]`,
  demand features :math:`f_i` (per-period rates) taken from the observation, :math:`D` days of
  cover (28 in the authors' code) and a bias scale :math:`B`.
* ``"both"``:  :math:`q = (D\sum_i c_i f_i + c_0 B - \mathrm{tot}(I))^+`.

Decoders work on numpy arrays and on torch tensors (the differentiable simulator back-propagates
through them). The inventory position is read from the observation layout shared by the
environments: ``[on_hand, pipeline (L−1 values), …]``.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_choice, check_int, check_real
# one definition of the observation layout and of the order-up-to decoding
from ..rl.decoders import inventory_position, order_up_to, register_decoder

__all__ = ["KINDS", "Regularization", "inventory_position", "initial_bias_logit"]

KINDS = ("none", "base", "coeff", "both")


def initial_bias_logit(fraction):
    """Bias of a sigmoid output unit so that an untrained network starts at ``fraction`` of
    its range (the paper's *initial action bias*, searched in [0.2, 0.7])."""
    f = check_real("fraction", fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    return float(np.log(f / (1.0 - f)))


class Regularization:
    r"""One of the four decodings (see the module docstring).

    Parameters
    ----------
    kind : ``"none"``, ``"base"``, ``"coeff"`` or ``"both"``.
    L : lead time, to read the inventory position from the observation.
    scale : :math:`q_{\max}` for ``none``, :math:`y_{\max}` (largest target) for ``base``.
    feature_index : for ``coeff``/``both``, the observation columns holding the demand
        features :math:`f_i` (per-period demand rates).
    days : days of cover :math:`D` multiplying the coefficients (28 in the paper's code).
    bias_scale : :math:`B`, the largest bias term.
    """

    def __init__(self, kind, L=0, scale=None, feature_index=(), days=28.0, bias_scale=0.0):
        self.kind = check_choice("kind", kind, set(KINDS))
        self.L = check_int("L", L, low=0)
        self.feature_index = tuple(check_int("feature_index", i, low=0) for i in feature_index)
        self.days = check_real("days", days, low=0.0, low_open=True)
        self.bias_scale = check_real("bias_scale", bias_scale, low=0.0)
        if kind in ("none", "base"):
            if scale is None:
                raise ValueError(f"scale (the largest {'order' if kind == 'none' else 'target'})"
                                 f" is required for kind={kind!r}")
            self.scale = check_real("scale", scale, low=0.0, low_open=True)
        else:
            self.scale = None
            if not self.feature_index:
                raise ValueError(f"feature_index must name at least one feature for {kind!r}")
        first_free = 1 + max(self.L - 1, 0)
        if any(i < first_free for i in self.feature_index):
            raise ValueError(f"feature_index must point past the inventory columns "
                             f"(>= {first_free}), got {self.feature_index}")

    # the RL agents hand a Regularization u in [0, 1]^k (see rl.decoders)
    unit_actions = True

    @property
    def n_outputs(self):
        """Width of the network's output :math:`u`."""
        return 1 if self.kind in ("none", "base") else len(self.feature_index) + 1

    def target(self, u, obs):
        """The target inventory position (``base``/``both``) or the raw order (``none``/``coeff``)."""
        if self.kind in ("none", "base"):
            return u[..., 0] * self.scale
        f = obs[..., list(self.feature_index)]
        return self.days * (u[..., :-1] * f).sum(-1) + self.bias_scale * u[..., -1]

    def __call__(self, u, obs):
        r"""Order :math:`q \ge 0` for outputs ``u`` (shape ``(..., n_outputs)``) and raw ``obs``."""
        y = self.target(u, obs)
        if self.kind in ("base", "both"):
            return order_up_to(y, inventory_position(obs, self.L))
        return y

    def to_dict(self):
        return {"name": "regularization", "kind": self.kind, "L": self.L, "scale": self.scale,
                "feature_index": list(self.feature_index), "days": self.days,
                "bias_scale": self.bias_scale}

    @classmethod
    def from_dict(cls, d):
        return cls(d["kind"], d["L"], d["scale"], d["feature_index"], d["days"], d["bias_scale"])

    def __repr__(self):
        extra = f"scale={self.scale:g}" if self.scale else f"features={self.feature_index}"
        return f"Regularization({self.kind!r}, L={self.L}, {extra})"


register_decoder("regularization", Regularization.from_dict)
