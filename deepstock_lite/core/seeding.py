"""One seed for everything: Python's ``random``, numpy and (if installed) torch."""
from __future__ import annotations

import os
import random

import numpy as np

from .validation import check_int

__all__ = ["set_seed", "make_rng"]


def set_seed(seed: int = 0, *, torch_threads: int | None = 1) -> np.random.Generator:
    """Seed ``random``, numpy's global state and torch; return a fresh numpy ``Generator``.

    Torch is limited to ``torch_threads`` intra-op threads (one by default): on small CPUs
    and small networks one thread is both faster and reproducible. Pass ``None`` to leave
    torch's thread count alone. Torch is imported only if it is installed, so the classical
    part of the book never needs it.
    """
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    if torch_threads is not None:
        check_int("torch_threads", torch_threads, low=1, high=4096)
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional for Part I
        torch = None
    if torch is not None:
        torch.manual_seed(seed)
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
    return np.random.default_rng(seed)


def make_rng(seed) -> np.random.Generator:
    """A numpy ``Generator`` from an int seed, ``None`` (fresh entropy) or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(check_int("seed", seed, low=0, high=2**128 - 1))
