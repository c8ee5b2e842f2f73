"""Small multilayer perceptrons, the only network shape the book's agents need."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "mlp", "polyak_update", "all_finite"]

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


@torch.no_grad()
def polyak_update(target, source, tau):
    r"""Polyak averaging :math:`\bar\theta \leftarrow \tau\,\theta + (1-\tau)\,\bar\theta`."""
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}")
    for tp, p in zip(target.parameters(), source.parameters()):
        tp.mul_(1.0 - tau).add_(p, alpha=tau)


def all_finite(module):
    """Name of the first parameter holding NaN/inf, or ``None`` if all are finite."""
    for name, p in module.named_parameters():
        if not torch.isfinite(p).all():
            return name
    return None
