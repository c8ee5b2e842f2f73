"""Record what a module's function returns while a block runs: the lab's sweeps keep only
losses and costs, and :func:`capture` keeps the trained objects too (Chapter 10 uses it to
look inside one sweep run)."""
from __future__ import annotations

import contextlib

__all__ = ["capture"]


@contextlib.contextmanager
def capture(module, name):
    """Record what ``module.name`` returns while the block runs (the sweep's code keeps only
    the losses; this keeps the trained object too)."""
    original, seen = getattr(module, name), []

    def wrapped(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out)
        return out

    setattr(module, name, wrapped)
    try:
        yield seen
    finally:
        setattr(module, name, original)
