"""The DeepStock paper's synthetic demand (Xie et al. 2026), with train/validation/test splits.

The generators are those of the authors' released code for the synthetic experiments, run by
us (not the paper's text):

* :func:`make_indep` — Setting 1 (INDEP): a floor ``low_t`` per day shared by all trajectories,
  ``floor(clip(N(10, 4²), 0, 100))``; demand uniform on ``{low_t, …, low_t + 4}``, independent
  over days. With ``seed=42`` the floors are exactly the authors' (their numpy legacy stream).
* :func:`make_ar1` — Settings 2–3: per SKU ``φ ~ U(0.3, 0.9)``, ``base ~ U(5, 10)``,
  ``σ ~ U(2, 8)``; ``D_t = max(0, φ D_{t−1} + (1−φ) base + ε_t)``, ``ε_t ~ N(0, σ²)``, started
  at ``base`` and run through ``burn_in`` days that are dropped.
* :func:`make_iid` — Setting 4: normal demand with mean 100 and a per-SKU ``σ ~ U(5, 20)``, one
  demand per review period (rounded, non-negative).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .seeding import make_rng
from .validation import MAX_COUNT, check_int, check_real

__all__ = ["DemandSplits", "indep_floors", "make_indep", "make_ar1", "make_iid"]


@dataclass
class DemandSplits:
    """Train/validation/test demand arrays of shape ``(n, T)`` plus per-row information
    (``info[key]`` has one entry per row of the split, e.g. a SKU's σ)."""
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    info: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"DemandSplits(train={self.train.shape}, val={self.val.shape}, "
                f"test={self.test.shape}, info={sorted(self.info)})")


_MAX_HORIZON = 1_000_000


def _sizes(horizon, **sizes):
    """Check the split sizes and the horizon, and that the arrays fit in memory."""
    out = [check_int(k, v, low=1, high=MAX_COUNT) for k, v in sizes.items()]
    if sum(out) * horizon > MAX_COUNT:
        raise ValueError(f"{' + '.join(sizes)} times horizon must be at most {MAX_COUNT:,}, "
                         f"got {sum(out) * horizon:,}")
    return out


def indep_floors(horizon=31, seed=42):
    """Setting 1's day-specific floors: ``floor(clip(N(10, 4²), 0, 100))`` per day."""
    horizon = check_int("horizon", horizon, low=1, high=_MAX_HORIZON)
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    rs = np.random.RandomState(seed)  # the legacy stream reproduces the authors' floors
    return np.floor(np.clip(rs.normal(10, 4, horizon), 0, 100)), rs


def make_indep(n_train=10, n_val=10, n_test=100, horizon=31, seed=42):
    """Setting 1 (INDEP): returns :class:`DemandSplits`; ``info['floors']`` is ``low_t``."""
    horizon = check_int("horizon", horizon, low=1, high=_MAX_HORIZON)
    sizes = _sizes(horizon, n_train=n_train, n_val=n_val, n_test=n_test)
    floors, rs = indep_floors(horizon, seed)
    D = floors + rs.randint(0, 5, size=(sum(sizes), floors.size))
    tr, va = sizes[0], sizes[0] + sizes[1]
    return DemandSplits(D[:tr], D[tr:va], D[va:], info={"floors": floors})


def _ar1_paths(n, horizon, burn_in, rng):
    phi = rng.uniform(0.3, 0.9, n)
    base = rng.uniform(5, 10, n)
    sigma = rng.uniform(2, 8, n)
    D = np.empty((n, burn_in + horizon))
    prev = base.copy()
    for t in range(burn_in + horizon):
        prev = np.maximum(0.0, phi * prev + (1 - phi) * base + rng.normal(0, sigma))
        D[:, t] = prev
    return D[:, burn_in:], {"phi": phi, "base": base, "sigma": sigma}


def make_ar1(n_train=20, n_val=20, n_test=100, horizon=31, burn_in=20, seed=0):
    """Settings 2 (``n_train=20``) and 3 (``n_train=10``): one AR(1) SKU per trajectory.

    Splits are by SKU: validation and test SKUs are new draws of (φ, base, σ).
    ``info`` holds each row's ``phi``, ``base`` and ``sigma``.
    """
    horizon = check_int("horizon", horizon, low=1, high=_MAX_HORIZON)
    burn_in = check_int("burn_in", burn_in, low=0, high=_MAX_HORIZON)
    sizes = _sizes(horizon + burn_in, n_train=n_train, n_val=n_val, n_test=n_test)
    rng = make_rng(seed)
    parts = [_ar1_paths(k, horizon, burn_in, rng) for k in sizes]
    return DemandSplits(*(p[0] for p in parts),
                        info={f"{split}_{key}": p[1][key]
                              for split, p in zip(("train", "val", "test"), parts)
                              for key in p[1]})


def make_iid(n_skus=5, n_train=10, n_val=10, n_test=100, horizon=64, mean=100.0,
             sigma_range=(5.0, 20.0), seed=0):
    """Setting 4 (IID): ``n_skus`` SKUs, each with its own σ ~ U(sigma_range); for every SKU
    ``n_train``/``n_val``/``n_test`` trajectories of ``horizon`` review periods.

    Arrays are stacked SKU by SKU: rows ``i*n … (i+1)*n − 1`` of a split belong to SKU ``i``;
    ``info['<split>_sku']`` and ``info['<split>_sigma']`` give each row's SKU and σ.
    """
    n_skus = check_int("n_skus", n_skus, low=1, high=MAX_COUNT)
    horizon = check_int("horizon", horizon, low=1, high=_MAX_HORIZON)
    sizes = _sizes(horizon * n_skus, n_train=n_train, n_val=n_val, n_test=n_test)
    mean = check_real("mean", mean, low=0.0, high=1e9)
    if isinstance(sigma_range, (str, bytes)) or not hasattr(sigma_range, "__len__") \
            or len(sigma_range) != 2:
        raise TypeError(f"sigma_range must be a pair (low, high), got {sigma_range!r}")
    lo, hi = sigma_range
    lo = check_real("sigma_range[0]", lo, low=0.0, low_open=True, high=1e9)
    hi = check_real("sigma_range[1]", hi, low=lo, high=1e9)
    rng = make_rng(seed)
    sigma = rng.uniform(lo, hi, n_skus)
    splits, info = [], {"sigma": sigma}
    for name, n in zip(("train", "val", "test"), sizes):
        z = rng.normal(size=(n_skus, n, horizon))
        D = np.maximum(np.rint(mean + sigma[:, None, None] * z), 0.0).reshape(-1, horizon)
        splits.append(D)
        info[f"{name}_sku"] = np.repeat(np.arange(n_skus), n)
        info[f"{name}_sigma"] = np.repeat(sigma, n)
    return DemandSplits(*splits, info=info)
