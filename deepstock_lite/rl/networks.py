"""Small multilayer perceptrons, the only network shape the book's agents need."""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "mlp", "adam", "polyak_update", "all_finite", "set_initial_action"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


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
    net = nn.Sequential(*layers)
    if out_gain is not None:
        last = net[-1]
        with torch.no_grad():
            last.weight.mul_(out_gain)
            last.bias.zero_()
    return net


def adam(params, lr):
    """Adam with torch's fused CPU kernel (one call updates every tensor; the off-policy
    agents run one small update per environment step, so per-tensor overhead matters).
    Falls back to the default implementation on a torch without it (before 2.4)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
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
    # one fused call over all tensors (same arithmetic as a per-tensor mul_/add_ loop)
    tps, ps = list(target.parameters()), list(source.parameters())
    torch._foreach_mul_(tps, 1.0 - tau)
    torch._foreach_add_(tps, ps, alpha=tau)


def all_finite(module):
    """Name of the first parameter holding NaN/inf, or ``None`` if all are finite."""
    for name, p in module.named_parameters():
        if not torch.isfinite(p).all():
            return name
    return None
