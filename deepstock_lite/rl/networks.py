"""Small multilayer perceptrons, the only network shape the book's agents need."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ACTIVATIONS", "MAX_OBS_DIM", "MAX_WIDTH", "MLP", "Net", "mlp", "adam", "Adam",
           "polyak_update", "all_finite", "set_initial_action"]

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
    """torch's fused Adam with a short path for the agents' case (one parameter group, every
    gradient present, state initialized): it makes the two kernel calls torch's ``step`` makes
    (step counters, then ``torch._fused_adam_``) without the bookkeeping around them, which
    costs more than the arithmetic for networks this small. Anything else, or a torch whose
    kernel signature differs, takes torch's own ``step``."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr, fused=True)
        self._fast = None          # cached (params, exp_avgs, exp_avg_sqs, steps)
        self._fast_ok = len(self.param_groups) == 1

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._fast = None          # the state tensors were replaced

    def _fast_lists(self):
        g = self.param_groups[0]
        if g["amsgrad"] or g["weight_decay"] or g["maximize"] or g["capturable"] \
                or g["differentiable"] or g.get("decoupled_weight_decay", False):
            return None
        ps = list(g["params"])
        if any(p not in self.state or "exp_avg" not in self.state[p] for p in ps):
            return None            # before the first step: torch initializes the state
        st = [self.state[p] for p in ps]
        return ps, [s["exp_avg"] for s in st], [s["exp_avg_sq"] for s in st], \
            [s["step"] for s in st]

    def step(self, closure=None):
        if closure is None and self._fast_ok:
            if self._fast is None:
                self._fast = self._fast_lists()
            if self._fast is not None:
                ps, m, v, steps = self._fast
                grads = [p.grad for p in ps]
                if all(gr is not None for gr in grads):
                    g = self.param_groups[0]
                    beta1, beta2 = g["betas"]
                    try:
                        torch._foreach_add_(steps, 1)
                        torch._fused_adam_(ps, grads, m, v, [], steps, amsgrad=False,
                                           lr=g["lr"], beta1=beta1, beta2=beta2,
                                           weight_decay=0.0, eps=g["eps"], maximize=False,
                                           grad_scale=None, found_inf=None)
                        return None
                    except (RuntimeError, TypeError, AttributeError):  # pragma: no cover
                        torch._foreach_sub_(steps, 1)     # another torch: its own step
                        self._fast_ok = False
        return super().step(closure)


def adam(params, lr):
    """Adam for the agents: :class:`Adam` (torch's fused CPU kernel with a short path), or
    torch's default implementation on a torch without the fused kernel (before 2.4)."""
    params = list(params)
    try:
        return Adam(params, lr=lr)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - old torch
        return torch.optim.Adam(params, lr=lr)


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
    # one fused call over all tensors (same arithmetic as a per-tensor mul_/add_ loop);
    # a Net's parameter list is cached
    tps = target.param_list() if isinstance(target, Net) else list(target.parameters())
    ps = source.param_list() if isinstance(source, Net) else list(source.parameters())
    torch._foreach_mul_(tps, 1.0 - tau)
    torch._foreach_add_(tps, ps, alpha=tau)


def all_finite(module):
    """Name of the first parameter holding NaN/inf, or ``None`` if all are finite."""
    for name, p in module.named_parameters():
        if not torch.isfinite(p).all():
            return name
    return None
