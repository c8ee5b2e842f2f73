"""Small multilayer perceptrons, the only network shape the book's agents need."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.adam import adam as adam_update  # torch's functional Adam (public)

__all__ = ["ACTIVATIONS", "MAX_OBS_DIM", "MAX_WIDTH", "MLP", "Net", "mlp", "adam", "Adam",
           "polyak_update", "set_initial_action", "orthogonal_init"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}
#: the largest networks the book's agents and DS policies are built for
MAX_OBS_DIM = 100_000  # widest observation (input layer)
MAX_WIDTH = 4096       # widest hidden layer

# The off-policy agents run one small update per environment step, where Python overhead, not
# arithmetic, dominates. The classes below remove overhead only: every tensor operation is the
# one torch's own modules and optimizer would run, so results are bit for bit the same
# (tests/test_rl_common.py checks it).


class MLP(nn.Sequential):
    """``nn.Sequential`` of Linear and activation layers, with a lean ``forward`` that calls
    each layer's arithmetic directly (no per-layer module dispatch; the book's networks use no
    hooks). Same parameters, state dict keys and results as ``nn.Sequential``."""

    def forward(self, x):
        for layer in self._modules.values():
            if type(layer) is nn.Linear:
                x = F.linear(x, layer.weight, layer.bias)
            else:
                x = layer.forward(x)
        return x


class Net(nn.Module):
    """A module whose ``requires_grad_`` walks a cached list of its parameters (freezing the
    critic for the actor's step happens once per update). Parameters must be updated in place
    (``load_state_dict`` does), not replaced, after the first call."""

    def param_list(self):
        cache = self.__dict__.get("_param_cache")
        if cache is None:
            cache = self.__dict__["_param_cache"] = list(self.parameters())
        return cache

    def requires_grad_(self, requires_grad=True):
        for p in self.param_list():
            p.requires_grad_(requires_grad)
        return self


def mlp(in_dim, out_dim, hidden=(64, 64), activation="relu", out_gain=None):
    """``in_dim → hidden[0] → … → hidden[-1] → out_dim`` with ``activation`` between layers.

    ``out_gain`` (optional) rescales the last layer's initial weights, e.g. ``0.01`` so that an
    untrained policy starts near the middle of its action range.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    sizes = [int(in_dim), *[int(h) for h in hidden], int(out_dim)]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    net = MLP(*layers)
    if out_gain is not None:
        last = net[-1]
        with torch.no_grad():
            last.weight.mul_(out_gain)
            last.bias.zero_()
    return net


class Adam(torch.optim.Adam):
    """torch's fused Adam (``fused=True``) with a short path for the agents' case (one
    parameter group, state initialized): ``step`` calls torch's public functional
    ``torch.optim.adam.adam`` on cached lists of tensors, and ``zero_grad`` sets the cached
    parameters' gradients to ``None``, skipping the bookkeeping around them, which costs more
    than the arithmetic for networks this small. The arithmetic is torch's own, so results
    are bit for bit those of ``torch.optim.Adam(fused=True)`` (tests/test_rl_common.py)."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr, fused=True)
        self._lists = None         # cached (params, exp_avgs, exp_avg_sqs, steps)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._lists = None         # the state tensors were replaced

    def zero_grad(self, set_to_none=True):
        if not set_to_none or len(self.param_groups) != 1:
            return super().zero_grad(set_to_none)
        for p in self.param_groups[0]["params"]:
            p.grad = None

    def step(self, closure=None):
        g = self.param_groups[0]
        if self._lists is None:
            simple = (closure is None and len(self.param_groups) == 1
                      and not (g["amsgrad"] or g["weight_decay"] or g["maximize"]
                               or g["capturable"] or g["differentiable"]
                               or g.get("decoupled_weight_decay", False))
                      and all(p in self.state and "exp_avg" in self.state[p]
                              for p in g["params"]))
            if not simple:         # the first step initializes the state
                return super().step(closure)
            st = [self.state[p] for p in g["params"]]
            self._lists = (list(g["params"]), [s["exp_avg"] for s in st],
                           [s["exp_avg_sq"] for s in st], [s["step"] for s in st])
        ps, m, v, steps = self._lists
        grads = [p.grad for p in ps]
        if any(gr is None for gr in grads):
            return super().step(closure)
        adam_update(ps, grads, m, v, [], steps, fused=True, amsgrad=False,
                    beta1=g["betas"][0], beta2=g["betas"][1], lr=g["lr"], weight_decay=0.0,
                    eps=g["eps"], maximize=False)
        return None


def adam(params, lr):
    """Adam for the agents: :class:`Adam` (torch's fused CPU kernel with a short path), or
    torch's default implementation on a torch without the fused kernel (before 2.4)."""
    params = list(params)
    try:
        return Adam(params, lr=lr)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - old torch
        return torch.optim.Adam(params, lr=lr)


@torch.no_grad()
def orthogonal_init(net, out_gain, hidden_gain=math.sqrt(2.0)):
    r"""Orthogonal initial weights (Saxe et al. 2014) and zero biases for an :func:`mlp`:
    gain ``hidden_gain`` (:math:`\sqrt 2`, for ReLU-like and tanh layers alike) on the hidden
    layers and ``out_gain`` on the last, the initialization CleanRL's and Stable-Baselines3's
    PPO use (0.01 for the policy's mean, so that it starts flat; 1 for the value). Draws from
    torch's global generator."""
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, gain=out_gain if i == len(linears) - 1
                            else hidden_gain)
        layer.bias.zero_()
    return net


@torch.no_grad()
def set_initial_action(linear, fraction, *, squash, n=None):
    r"""The paper's *initial action bias*: set the output bias of a policy head so that an
    untrained policy (near-zero last-layer weights) starts at ``fraction`` of its action range,
    :math:`u = 2f - 1`, i.e. bias :math:`\operatorname{atanh}(2f-1)` behind a tanh
    (``squash``) or :math:`2f - 1` for a Gaussian mean. ``n``: only the first ``n`` outputs
    (a head that also outputs log-σ). ``fraction=None`` leaves the layer alone."""
    if fraction is None:
        return
    u = 2.0 * float(fraction) - 1.0
    value = math.atanh(u) if squash else u
    linear.bias[:n].fill_(value)


@torch.no_grad()
def polyak_update(target, source, tau):
    r"""Polyak averaging :math:`\bar\theta \leftarrow \tau\,\theta + (1-\tau)\,\bar\theta`."""
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}")
    # a Net's parameter list is cached
    tps = target.param_list() if isinstance(target, Net) else list(target.parameters())
    ps = source.param_list() if isinstance(source, Net) else list(source.parameters())
    for tp, p in zip(tps, ps):
        tp.mul_(1.0 - tau).add_(p, alpha=tau)
