"""Record what a module's function returns while a block runs: the lab's sweeps keep only
losses and costs, and :func:`record_returns` keeps the trained objects too (Chapter 10 uses
it to look inside one sweep run)."""
from __future__ import annotations

import contextlib

__all__ = ["record_returns"]


def record_returns(module, name):
    """Record what ``module.name`` returns while the block runs (the sweep's code keeps only
    the losses; this keeps the trained object too): ``with record_returns(ds, "train_ds") as
    seen:`` gives the list of every return value."""
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"name must be the name of a function of module, got {name!r}")
    if not callable(getattr(module, name, None)):
        raise ValueError(f"name: module {getattr(module, '__name__', module)!r} has no "
                         f"function {name!r}")
    return _recording(module, name)


@contextlib.contextmanager
def _recording(module, name):
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
