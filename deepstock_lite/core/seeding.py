"""One seed for everything: Python's ``random``, numpy and (if installed) torch."""
from __future__ import annotations

import os
import platform
import random

import numpy as np

from .validation import check_int

__all__ = ["set_seed", "make_rng", "REPRODUCIBLE_CPU", "cpu_name"]

# Torch's matrix products go through Intel's MKL, which picks its kernels by the make of the
# CPU: the same seed gave different last bits on an Intel Xeon and an AMD EPYC, and training
# grew them into different policies. MKL's COMPATIBLE branch runs the same code on every x86
# CPU, and ATen's AVX2 kernels run on any x86 CPU of the last decade. Both settings are read
# when torch first uses them, so they are made here, as the package is imported (before torch
# is); a value the user already exported is kept.
REPRODUCIBLE_CPU = {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "avx2"}
for _name, _value in REPRODUCIBLE_CPU.items():
    os.environ.setdefault(_name, _value)


def cpu_name() -> str:
    """The CPU's model name, to print beside a result that depends on its kernels (a timing,
    a check of the bits): ``/proc/cpuinfo``'s on Linux, where ``platform.processor()`` is
    empty, else ``platform``'s."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine() or "unknown CPU"


def set_seed(seed: int = 0, *, torch_threads: int | None = 1) -> np.random.Generator:
    """Seed ``random``, numpy's global state and torch; return a fresh numpy ``Generator``.

    Torch is limited to ``torch_threads`` intra-op threads (one by default): on small CPUs
    and small networks one thread is both faster and reproducible. Pass ``None`` to leave
    torch's thread count alone. Torch is imported only if it is installed, so the classical
    part of the book never needs it. Importing the package has already chosen torch's
    CPU-independent kernels (``REPRODUCIBLE_CPU``), so a seed gives the same numbers on any
    x86 machine, provided ``deepstock_lite`` is imported before torch's first matrix product.
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
